package tkey7test

import (
	"encoding/json"
	"testing"
	"unicode/utf8"
)

// FuzzAcceptsJSON: any Accept header is read without panicking, and the plain JSON
// media type is always accepted.
func FuzzAcceptsJSON(f *testing.F) {
	for _, s := range []string{"", "application/json", "text/html", "*/*;q=0", "application/json;q=0, text/plain",
		"application/problem+json", "a;b;c=d;q=", ";;;", "application/json;q=abc"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, v string) {
		_ = acceptsJSON([]string{v})
		if !acceptsJSON([]string{v, "application/json"}) {
			t.Fatal("application/json refused")
		}
	})
}

// FuzzWithID: any document becomes a JSON object carrying the id.
func FuzzWithID(f *testing.F) {
	f.Add([]byte(`{"name":"x"}`), "da-1")
	f.Add([]byte(`[1,2]`), "")
	f.Add([]byte(`{"id":7}`), "a/b")
	f.Add([]byte(`null`), "\u0000")
	f.Fuzz(func(t *testing.T, doc []byte, id string) {
		var m map[string]json.RawMessage
		if err := json.Unmarshal(withID(doc, id), &m); err != nil {
			t.Fatalf("not an object: %v", err)
		}
		var got string
		if err := json.Unmarshal(m["id"], &got); err != nil {
			t.Fatal(err)
		}
		if got != id && utf8.ValidString(id) {
			t.Fatalf("id %q became %q", id, got)
		}
	})
}

package tpv

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// mapAnswer reads an answer the plain way, for comparison with readAnswer: validate,
// then decode the object into a map.
func mapAnswer(raw []byte) (a answer, ok bool) {
	if !json.Valid(raw) {
		return answer{}, false
	}
	t := bytes.TrimSpace(raw)
	if t[0] != '{' {
		return answer{}, true
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(t, &m); err != nil {
		panic(err)
	}
	a.object = true
	a.success, a.err = m["success"], m["error"]
	return a, true
}

// The answer reader's uses, one body at a time, for the fuzz tests.

// parseConfirmation reads {"success": "<code>"}.
func parseConfirmation(raw []byte) (string, error) {
	a, _ := readAnswer(raw)
	return a.confirmation()
}

// isJSONObject reports whether raw is a JSON object.
func isJSONObject(raw []byte) bool {
	a, ok := readAnswer(raw)
	return ok && a.object
}

// errorOnly reports the message of a 2xx answer that follows the failure convention:
// a JSON object with a non-empty "error" string and no "success" member.
func errorOnly(raw []byte) (string, bool) {
	a, _ := readAnswer(raw)
	return a.errorOnly()
}

func TestReadAnswer(t *testing.T) {
	for _, raw := range []string{
		`{"success":"00090894407"}`,
		` { "error" : "duplicate." , "success" : null } `,
		`{"success":[{"program_code":"555","n":[1,{"x":"}"}]}],"error":"x"}`,
		`{"succ\u0065ss":"escaped key","error":{"btn":["required"]}}`,
		`{"Success":"case matters","success":1,"success":2}`,
		`{"a":"\"}\\","success":true}`,
		`{}`, `[{"success":1}]`, `"text"`, `12`, `null`,
	} {
		want, wantOK := mapAnswer([]byte(raw))
		got, ok := readAnswer([]byte(raw))
		require.Equal(t, wantOK, ok, raw)
		assert.Equal(t, want.object, got.object, raw)
		assert.Equal(t, string(want.success), string(got.success), raw)
		assert.Equal(t, string(want.err), string(got.err), raw)
	}
	_, ok := readAnswer([]byte(`{"success":`))
	assert.False(t, ok)
}

// FuzzReadAnswer compares the one-pass reader with validating and decoding into a
// map, on any body.
func FuzzReadAnswer(f *testing.F) {
	for _, s := range []string{
		`{"success":"00090894407"}`, `{"error":"x","success":null}`, `{"success":[1,{"a":"]"}]}`,
		`{"succ\u0065ss":1}`, `[1]`, `{"a":"\\"}`, `{`, ` {"success" : { } } `,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		want, wantOK := mapAnswer(raw)
		got, ok := readAnswer(raw)
		if ok != wantOK || got.object != want.object {
			t.Fatalf("ok %v object %v, want %v %v", ok, got.object, wantOK, want.object)
		}
		if !bytes.Equal(got.success, want.success) || (got.success == nil) != (want.success == nil) {
			t.Fatalf("success %q, want %q", got.success, want.success)
		}
		if !bytes.Equal(got.err, want.err) || (got.err == nil) != (want.err == nil) {
			t.Fatalf("error %q, want %q", got.err, want.err)
		}
	})
}

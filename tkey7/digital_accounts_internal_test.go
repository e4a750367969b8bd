package tkey7

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// accountsOf collects what list.All yields, checking the indexes.
func accountsOf(t testing.TB, list *DigitalAccountList) []json.RawMessage {
	t.Helper()
	var got []json.RawMessage
	for i, doc := range list.All() {
		if i != len(got) {
			t.Fatalf("index %d after %d documents", i, len(got))
		}
		got = append(got, doc)
	}
	return got
}

// A list finds the same documents as json.Unmarshal into []json.RawMessage, as parts
// of the body, and counts them.
func TestDigitalAccountListArray(t *testing.T) {
	for _, raw := range []string{
		`[]`, ` [ ] `, `[1]`, `[ {"id":"a"} , {"id":"b"} ]`,
		`[{"s":"a,]}\"\\"},["x",[1,2]],null,true,-1.5e3,"q\"]"]`,
		"[\n\t{\"id\": \"da-1\", \"tags\": [\"a\", \"b\"]}\r\n]\n",
	} {
		var want []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(raw), &want), raw)
		list, err := newDigitalAccountList([]byte(raw))
		require.NoError(t, err, raw)
		assert.True(t, list.IsArray(), raw)
		assert.Equal(t, len(want), list.Len(), raw)
		assert.Equal(t, raw, string(list.Raw))
		got := accountsOf(t, list)
		if len(want) == 0 {
			assert.Empty(t, got, raw)
			continue
		}
		assert.Equal(t, want, got, raw)
	}
}

// An answer that is not an array is kept whole, with no documents; one that starts as
// an array but is not a well-formed one is an error.
func TestDigitalAccountListNotArray(t *testing.T) {
	for _, raw := range []string{``, `{}`, ` {"items":[1,2]}`, `"["`, `null`, `12`} {
		list, err := newDigitalAccountList([]byte(raw))
		require.NoError(t, err, raw)
		assert.False(t, list.IsArray(), raw)
		assert.Zero(t, list.Len(), raw)
		assert.Empty(t, accountsOf(t, list), raw)
		assert.Equal(t, raw, string(list.Raw))
	}
	for _, raw := range []string{`[1,]`, `[,1]`, `[1,,2]`, `[1`, `["a]`, `[1]x`, `[1}`, ` [{"a":1}`} {
		list, err := newDigitalAccountList([]byte(raw))
		require.Error(t, err, raw)
		assert.Contains(t, err.Error(), "not a well-formed JSON array")
		assert.Nil(t, list, raw)
	}
}

// A list not made by List holds no accounts.
func TestDigitalAccountListZero(t *testing.T) {
	list := &DigitalAccountList{Raw: json.RawMessage(`[1,2]`)}
	assert.False(t, list.IsArray())
	assert.Zero(t, list.Len())
	assert.Empty(t, accountsOf(t, list))
}

// The documents share the body's memory, and appending to one leaves the next alone.
func TestDigitalAccountListSharesTheBody(t *testing.T) {
	raw := []byte(`[{"id":"a"},{"id":"b"}]`)
	list, err := newDigitalAccountList(raw)
	require.NoError(t, err)
	got := accountsOf(t, list)
	require.Len(t, got, 2)
	assert.Same(t, &raw[1], &got[0][0])
	_ = append(got[0], 'X')
	assert.Equal(t, `{"id":"b"}`, string(got[1]))
	assert.Equal(t, `[{"id":"a"},{"id":"b"}]`, string(raw))
}

// Breaking out of All stops the walk there, and the next All walks from the start.
func TestDigitalAccountListAllBreak(t *testing.T) {
	list, err := newDigitalAccountList([]byte(`[{"id":"a"},{"id":"b"},{"id":"c"}]`))
	require.NoError(t, err)
	var seen []string
	for i, doc := range list.All() {
		seen = append(seen, string(doc))
		if i == 1 {
			break
		}
	}
	assert.Equal(t, []string{`{"id":"a"}`, `{"id":"b"}`}, seen)
	assert.Len(t, accountsOf(t, list), 3)

	// Stopping early leaves the rest unchecked: the scan reports what it saw.
	calls := 0
	assert.True(t, scanArray([]byte(`[1, 2, oops`), func(int, int) bool { calls++; return false }))
	assert.Equal(t, 1, calls)
}

// FuzzScanArray compares the list with json.Unmarshal on every valid array, and feeds
// it anything else: it never panics, its documents are always parts of the input, and
// Len counts what All yields.
func FuzzScanArray(f *testing.F) {
	for _, s := range []string{`[]`, `[1,2]`, `[{"a":"]"},"\\\"",[[]]]`, `[1,]`, `["a`, `{"items":[]}`, ` [ null ] `, `[1]x`, `"\u005b"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		list, err := newDigitalAccountList(raw)
		var got []json.RawMessage
		if err == nil {
			got = accountsOf(t, list)
			if len(got) != list.Len() {
				t.Fatalf("Len %d, All yielded %d", list.Len(), len(got))
			}
		}
		for _, e := range got {
			if len(e) == 0 || !bytes.Contains(raw, e) {
				t.Fatalf("element %q is not a part of the input", e)
			}
		}
		t0 := bytes.TrimSpace(raw)
		if !json.Valid(raw) || len(t0) == 0 || t0[0] != '[' {
			return
		}
		var want []json.RawMessage
		if err := json.Unmarshal(raw, &want); err != nil {
			t.Fatal(err)
		}
		if err != nil {
			t.Fatalf("a valid array was refused: %q: %v", raw, err)
		}
		if !list.IsArray() || len(got) != len(want) {
			t.Fatalf("IsArray %v, %d elements, want %d", list.IsArray(), len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("element %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}

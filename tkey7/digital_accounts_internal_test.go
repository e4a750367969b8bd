package tkey7

import (
	"bytes"
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// arrayElements finds the same elements as json.Unmarshal into []json.RawMessage,
// as parts of the body.
func TestArrayElements(t *testing.T) {
	for _, raw := range []string{
		`[]`, ` [ ] `, `[1]`, `[ {"id":"a"} , {"id":"b"} ]`,
		`[{"s":"a,]}\"\\"},["x",[1,2]],null,true,-1.5e3,"q\"]"]`,
		"[\n\t{\"id\": \"da-1\", \"tags\": [\"a\", \"b\"]}\r\n]\n",
	} {
		var want []json.RawMessage
		require.NoError(t, json.Unmarshal([]byte(raw), &want), raw)
		got, ok := arrayElements([]byte(raw))
		require.True(t, ok, raw)
		require.NotNil(t, got, "an empty array gives an empty, non-nil list")
		assert.Equal(t, want, got, raw)
	}
	for _, raw := range []string{``, `{}`, `"["`, `[1,]`, `[,1]`, `[1,,2]`, `[1`, `["a]`, `[1]x`, `[1}`} {
		_, ok := arrayElements([]byte(raw))
		assert.False(t, ok, raw)
	}
}

// The elements share the body's memory, and appending to one leaves the next alone.
func TestArrayElementsShareTheBody(t *testing.T) {
	raw := []byte(`[{"id":"a"},{"id":"b"}]`)
	got, ok := arrayElements(raw)
	require.True(t, ok)
	require.Len(t, got, 2)
	assert.Same(t, &raw[1], &got[0][0])
	_ = append(got[0], 'X')
	assert.Equal(t, `{"id":"b"}`, string(got[1]))
	assert.Equal(t, `[{"id":"a"},{"id":"b"}]`, string(raw))
}

// FuzzArrayElements compares the scan with json.Unmarshal on every valid array, and
// feeds it anything else: it never panics and its elements are always parts of the
// input.
func FuzzArrayElements(f *testing.F) {
	for _, s := range []string{`[]`, `[1,2]`, `[{"a":"]"},"\\\"",[[]]]`, `[1,]`, `["a`, `{"items":[]}`, ` [ null ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, raw []byte) {
		got, ok := arrayElements(raw)
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
		if !ok {
			t.Fatalf("a valid array was refused: %q", raw)
		}
		if len(got) != len(want) {
			t.Fatalf("%d elements, want %d", len(got), len(want))
		}
		for i := range want {
			if !bytes.Equal(got[i], want[i]) {
				t.Fatalf("element %d: %q, want %q", i, got[i], want[i])
			}
		}
	})
}

package testkit

import (
	"context"
	"io"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSameHeaders(t *testing.T) {
	h := func(kv ...string) http.Header {
		out := http.Header{}
		for i := 0; i < len(kv); i += 2 {
			out.Add(kv[i], kv[i+1])
		}
		return out
	}
	require.NoError(t, sameHeaders([]http.Header{h("A", "1", "X-Request-Id", "r1"), h("A", "1", "X-Request-Id", "r2")}, []string{"X-Request-Id"}))
	assert.Error(t, sameHeaders([]http.Header{h("A", "1", "X-Request-Id", "r1"), h("A", "1", "X-Request-Id", "r2")}, nil),
		"a fresh header not named differs")
	assert.Error(t, sameHeaders([]http.Header{h("A", "1"), h("A", "2")}, nil), "values differ")
	assert.Error(t, sameHeaders([]http.Header{h("A", "1"), h("A", "1", "B", "1")}, nil), "one has one more")
	assert.Error(t, sameHeaders([]http.Header{h("A", "1"), h("A", "1", "X-Request-Id", "r2")}, []string{"X-Request-Id"}),
		"a fresh header missing from one")
}

func TestBenchServerAndGetJSON(t *testing.T) {
	body := []byte(`{"n":2} `)
	s := NewBenchServer(t, body, nil, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer ok" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{}`)
			return false
		}
		return true
	})
	c := &http.Client{Transport: NewTransport(t)}
	type answer struct{ N int }
	get := func(token string) func(context.Context) (answer, error) {
		return func(ctx context.Context) (answer, error) {
			return GetJSON[answer](ctx, c, s.URL+"/x", func(h http.Header) { h["Authorization"] = []string{"Bearer " + token} })
		}
	}
	got, err := get("ok")(context.Background())
	require.NoError(t, err)
	assert.Equal(t, 2, got.N)
	_, err = get("bad")(context.Background())
	require.EqualError(t, err, "status 401")

	// Two ways of sending the same headers pass the check, and the server stops
	// recording after it.
	impls := []Impl[answer]{{Name: "a", Call: get("ok")}, {Name: "b", Call: get("ok")}}
	CheckSameHeaders(t, s, impls, func(a answer) error { return nil })
	_, err = get("ok")(context.Background())
	require.NoError(t, err)
	s.mu.Lock()
	defer s.mu.Unlock()
	assert.False(t, s.recording)
	assert.Empty(t, s.seen)
}

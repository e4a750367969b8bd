package rest

import (
	"context"
	"net/http"
	"testing"

	"github.com/banksdk/banksdk/internal/fake"
	"github.com/stretchr/testify/require"
)

func TestSmoke(t *testing.T) {
	srv := fake.Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"ok":true,"path":"` + r.URL.EscapedPath() + `"}`))
	}))
	defer srv.Close()
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL(srv.URL()+"/api"))
	c, err := New(cfg)
	require.NoError(t, err)
	var out struct {
		OK   bool
		Path string
	}
	p, err := Path("a/b", "c")
	require.NoError(t, err)
	_, err = c.Do(context.Background(), &Request{Method: "GET", Path: p}, &out)
	require.NoError(t, err)
	require.True(t, out.OK)
	require.Equal(t, "/api/a%2Fb/c", out.Path)
}

package kh_test

import (
	"context"
	"crypto/x509"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/banksdk/banksdk/kh"
)

// TestMain fails the package's tests if any goroutine outlives them: a client and a
// fake bank leave nothing running once closed.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// Close closes the connection the client kept alive (the server sees it close), is
// idempotent, and a call after Close fails with ErrClosed without a new connection.
func TestClientCloseReleasesConnections(t *testing.T) {
	closedConns := make(chan struct{}, 8)
	var served atomic.Int32
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"ok":true}`)
	}))
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closedConns <- struct{}{}
		}
	}
	ts.StartTLS()
	t.Cleanup(ts.Close)
	roots := x509.NewCertPool()
	roots.AddCert(ts.Certificate())
	c, err := kh.NewClient(kh.WithBaseURL(ts.URL), kh.WithRootCAs(roots), kh.WithAppToken("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhcHAifQ.c2ln"))
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	call := func() error {
		out, err := kh.Do[map[string]bool](ctx, c, http.MethodGet, "v1/anything", nil)
		if err == nil && !out["ok"] {
			t.Errorf("answer not decoded: %v", out)
		}
		return err
	}
	waitClosed := func(what string) {
		t.Helper()
		select {
		case <-closedConns:
		case <-time.After(10 * time.Second):
			t.Fatalf("%s was not closed by Close", what)
		}
	}

	require.NoError(t, call())
	require.NoError(t, c.Close())
	waitClosed("the client's idle connection")
	require.NoError(t, c.Close(), "Close is idempotent")

	require.ErrorIs(t, call(), kh.ErrClosed, "a call after Close is refused")
	assert.Equal(t, int32(1), served.Load(), "only the call before Close reached the server")
}

package conformance_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge/conformance"
	"github.com/banksdk/banksdk/saltedge/conformance/conformancetest"
)

// Keys are slow to generate under -race: one pair for Salt Edge and one for the
// connector serve every test.
var (
	keysOnce             sync.Once
	saltEdgeKey, bankKey *rsa.PrivateKey
	errSaltEdge, errBank error
)

func keys(t *testing.T) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keysOnce.Do(func() {
		saltEdgeKey, errSaltEdge = rsa.GenerateKey(rand.Reader, 2048)
		bankKey, errBank = rsa.GenerateKey(rand.Reader, 2048)
	})
	require.NoError(t, errSaltEdge)
	require.NoError(t, errBank)
	return saltEdgeKey, bankKey
}

const (
	appID     = "conformance-app"
	appSecret = "conformance-app-secret-Vq3x"
)

// setup starts a reference bank (wrapped by wrap, if any) and returns the runner's
// Config for it.
func setup(t *testing.T, bank conformancetest.Config) conformance.Config {
	t.Helper()
	seKey, bKey := keys(t)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	bank.SaltEdgeKey = &seKey.PublicKey
	bank.CallbackURL = "http://" + ln.Addr().String()
	bank.AppID, bank.AppSecret, bank.ProviderKey = appID, appSecret, bKey
	srv, err := conformancetest.Start(bank)
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	return conformance.Config{
		BaseURL:            srv.URL(),
		SigningKey:         seKey,
		Callbacks:          ln,
		AppID:              appID,
		AppSecret:          appSecret,
		ConnectorPublicKey: &bKey.PublicKey,
		Timeout:            20 * time.Second,
	}
}

// run runs the runner with a deadline that fails the test rather than hang it.
func run(t *testing.T, cfg conformance.Config) conformance.Report {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	rep, err := conformance.Run(ctx, cfg)
	require.NoError(t, err)
	return rep
}

// failedIDs lists the IDs of the failed checks.
func failedIDs(rep conformance.Report) []string {
	ids := []string{}
	for _, c := range rep.Failed() {
		ids = append(ids, c.ID)
	}
	return ids
}

// middleware adapts a function to the Wrap of the reference bank.
func middleware(fn func(next http.Handler, w http.ResponseWriter, r *http.Request)) func(http.Handler) http.Handler {
	return func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { fn(next, w, r) })
	}
}

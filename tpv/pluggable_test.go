package tpv_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// remoteSigner is an HMAC signer whose key the client never sees (as with a KMS or a
// Vault transit key): a closure over a key only the test holds. It counts its calls
// and records the messages and contexts it was given.
type remoteSigner struct {
	calls atomic.Int32
	fail  atomic.Pointer[error] // when set, every call fails with it

	mu   sync.Mutex
	msgs []string
	ctxs []context.Context
}

func (s *remoteSigner) signer(key string) auth.HMACSigner {
	return auth.HMACSignerFunc(func(ctx context.Context, msg []byte) ([]byte, error) {
		s.calls.Add(1)
		s.mu.Lock()
		s.msgs = append(s.msgs, string(msg))
		s.ctxs = append(s.ctxs, ctx)
		s.mu.Unlock()
		if err := s.fail.Load(); err != nil {
			return nil, *err
		}
		m := hmac.New(sha256.New, []byte(key))
		m.Write(msg)
		return m.Sum(nil), nil
	})
}

func (s *remoteSigner) messages() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.msgs...)
}

// countingSource is an application token source (a secret manager) that counts its
// reads.
type countingSource struct {
	reads atomic.Int32
	token string
	err   error
}

func (s *countingSource) Token(context.Context) (auth.Token, error) {
	s.reads.Add(1)
	if s.err != nil {
		return auth.Token{}, s.err
	}
	return auth.Token{Value: s.token}, nil
}

type ctxKey struct{}

func TestPluggableCredentialsRunTheMainFlow(t *testing.T) {
	srv := tpvtest.NewServer()
	t.Cleanup(srv.Close)
	rs := &remoteSigner{}
	src := &countingSource{token: srv.AppToken()}
	c, err := tpv.NewClient(
		tpv.WithBaseURL(srv.URL()),
		tpv.WithAppTokenSource(src),
		tpv.WithHMACSigner(rs.signer(srv.AppSecret())),
		tpv.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	)
	require.NoError(t, err)
	closeWhenDone(t, c)
	ctx, cancel := context.WithTimeout(context.WithValue(context.Background(), ctxKey{}, "caller"), 30*time.Second)
	defer cancel()

	require.NoError(t, c.Login(ctx))
	conf, err := c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	products, err := c.Products(ctx)
	require.NoError(t, err)
	sent, err := c.SendDigital(ctx, conf.Code)
	require.NoError(t, err)
	queued, err := c.QueueCall(ctx, conf.Code)
	require.NoError(t, err)

	// The fake checked the login HMAC and every Signature, and acted on each call.
	assert.Equal(t, 1, srv.Logins())
	assert.Equal(t, 0, srv.FailedLogins())
	assert.Equal(t, 0, srv.RejectedAuthTokens())
	require.Len(t, srv.Submissions(), 1)
	assert.Equal(t, tpvtest.FirstConfirmationCode, conf.Code)
	assert.Equal(t, []string{conf.Code}, srv.DigitalSends())
	assert.Equal(t, []string{conf.Code}, srv.QueuedCalls())
	assert.Equal(t, 200, products.StatusCode)
	assert.Equal(t, 200, sent.StatusCode)
	assert.Equal(t, 200, queued.StatusCode)

	// The token was read for the one login; the signer signed the login and each of
	// the four requests, exactly what went over the wire.
	assert.Equal(t, int32(1), src.reads.Load())
	assert.Equal(t, int32(5), rs.calls.Load())
	reqs := srv.Requests()
	require.Len(t, reqs, 5)
	msgs := rs.messages()
	require.Len(t, msgs, 5)
	login, err := url.ParseQuery(reqs[0].RawQuery)
	require.NoError(t, err)
	assert.Equal(t, "/api/v1/auth", reqs[0].Path)
	assert.Equal(t, srv.AppToken(), login.Get("token"))
	assert.Equal(t, "token="+srv.AppToken()+"&timestamp="+login.Get("timestamp"), msgs[0])
	assert.Equal(t, hmacHex(srv.AppSecret(), msgs[0]), login.Get("_signature"))
	assert.Equal(t, "/api/v1/tpv", reqs[1].Path)
	assert.JSONEq(t, seedBody, msgs[1], "the submission's Signature signs its body")
	for i, r := range reqs[1:] {
		assert.Equal(t, []string{hmacHex(srv.AppSecret(), msgs[i+1])}, r.RawHeader("Signature"), r.Path)
		assert.NotEmpty(t, r.RawHeader("Authorization"), r.Path)
	}
	// Each request's signature was asked for under the caller's context.
	rs.mu.Lock()
	for i, sctx := range rs.ctxs[1:] {
		assert.Equal(t, "caller", sctx.Value(ctxKey{}), "signature %d", i+1)
	}
	rs.mu.Unlock()

	// The portal voids the token: the call is refused once, the client reads the
	// application token again for the new login, signs it, and replays the call.
	srv.ExpireAuthTokens()
	_, err = c.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, srv.Logins())
	assert.Equal(t, 1, srv.RejectedAuthTokens())
	assert.Equal(t, int32(2), src.reads.Load(), "the application token is read on every login, never kept")
	assert.Equal(t, int32(8), rs.calls.Load(), "the refused call, the login and the replay")
	assert.Equal(t, 3, srv.Count("", "/api/v1/products"))
}

func TestFailingHMACSignerSendsNothing(t *testing.T) {
	srv := tpvtest.NewServer()
	t.Cleanup(srv.Close)
	rs := &remoteSigner{}
	newClient := func() *tpv.Client {
		c, err := tpv.NewClient(tpv.WithBaseURL(srv.URL()),
			tpv.WithAppTokenSource(&countingSource{token: srv.AppToken()}),
			tpv.WithHMACSigner(rs.signer(srv.AppSecret())),
			tpv.WithRetry(2, time.Millisecond, 5*time.Millisecond))
		require.NoError(t, err)
		closeWhenDone(t, c)
		return c
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()

	// The login cannot be signed: it is not sent, and the error says why without the
	// application token, which the message to sign carried (here echoed by the signer).
	kmsDown := errors.New("kms: key unavailable")
	echo := fmt.Errorf("kms: cannot sign %q: %w", "token="+srv.AppToken()+"&timestamp=1", kmsDown)
	rs.fail.Store(&echo)
	c := newClient()
	_, err := c.Products(ctx)
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrLoginFailed)
	assert.ErrorIs(t, err, kmsDown)
	assert.Contains(t, err.Error(), "signing the login")
	assert.NotContains(t, err.Error(), srv.AppToken())
	assert.NotContains(t, fmt.Sprintf("%v %+v", err, err), srv.AppToken())
	assert.Empty(t, srv.Requests(), "nothing reaches the portal")
	assert.Equal(t, int32(1), rs.calls.Load(), "a signing failure is not retried")

	// With a signer that works for the login, then fails for the submission: nothing
	// is submitted, and the error is not an unknown outcome. (A new client: the first
	// one's token cache backs off after the failed login.)
	rs.fail.Store(nil)
	c = newClient()
	require.NoError(t, c.Login(ctx))
	require.Equal(t, 1, srv.Logins())
	rs.fail.Store(&kmsDown)
	_, err = c.SubmitTPV(ctx, seedSale())
	require.Error(t, err)
	assert.ErrorIs(t, err, kmsDown)
	assert.NotErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "signing request")
	assert.Equal(t, 0, srv.Count("", "/api/v1/tpv"))
	assert.Empty(t, srv.Submissions())
	for _, call := range []func() error{
		func() error { _, err := c.Products(ctx); return err },
		func() error { _, err := c.SendDigital(ctx, tpvtest.FirstConfirmationCode); return err },
		func() error { _, err := c.QueueCall(ctx, tpvtest.FirstConfirmationCode); return err },
	} {
		assert.ErrorIs(t, call(), kmsDown)
	}
	assert.Len(t, srv.Requests(), 1, "the login only")
}

func TestFailingAppTokenSource(t *testing.T) {
	srv := tpvtest.NewServer()
	t.Cleanup(srv.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	rs := &remoteSigner{}
	vaultDown := errors.New("vault: sealed")
	for _, tt := range []struct {
		name string
		src  *countingSource
		want string
	}{
		{"source error", &countingSource{err: vaultDown}, "reading the application token"},
		{"empty token", &countingSource{token: ""}, "empty token"},
		{"token the query cannot carry", &countingSource{token: srv.AppToken() + "&x=1"}, "query string"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tpv.NewClient(tpv.WithBaseURL(srv.URL()), tpv.WithAppTokenSource(tt.src),
				tpv.WithHMACSigner(rs.signer(srv.AppSecret())))
			require.NoError(t, err)
			closeWhenDone(t, c)
			err = c.Login(ctx)
			require.Error(t, err)
			assert.ErrorIs(t, err, tpv.ErrLoginFailed)
			assert.Contains(t, err.Error(), tt.want)
			if tt.src.err != nil {
				assert.ErrorIs(t, err, tt.src.err)
			}
			if tt.src.token != "" {
				assert.NotContains(t, err.Error(), tt.src.token)
			}
			assert.Equal(t, int32(1), tt.src.reads.Load())
		})
	}
	assert.Empty(t, srv.Requests(), "nothing reaches the portal")
	assert.Equal(t, int32(0), rs.calls.Load(), "nothing is signed")
}

func TestCredentialOptionsOneWayEach(t *testing.T) {
	base := tpv.WithBaseURL("https://clients.tpvhub.com")
	src := auth.StaticSource(auth.Token{Value: "APtoken"})
	signer, err := auth.NewHMACSHA256(auth.NewSecret("secret"))
	require.NoError(t, err)
	creds := tpv.WithCredentials("APtoken", "secret")
	tests := []struct {
		name string
		opts []tpv.Option
		want []string
	}{
		{"credentials and token source", []tpv.Option{creds, tpv.WithAppTokenSource(src), tpv.WithHMACSigner(signer)},
			[]string{"WithAppTokenSource", "WithCredentials", "application token"}},
		{"token source and credentials", []tpv.Option{tpv.WithAppTokenSource(src), creds},
			[]string{"WithAppTokenSource", "WithCredentials", "application token"}},
		{"credentials and signer", []tpv.Option{creds, tpv.WithHMACSigner(signer)},
			[]string{"WithHMACSigner", "WithCredentials"}},
		{"token source alone", []tpv.Option{tpv.WithAppTokenSource(src)}, []string{"WithAppTokenSource needs WithHMACSigner"}},
		{"signer alone", []tpv.Option{tpv.WithHMACSigner(signer)}, []string{"WithHMACSigner needs WithAppTokenSource"}},
		{"nothing", nil, []string{"WithCredentials", "WithAppTokenSource", "WithHMACSigner"}},
		{"nil source", []tpv.Option{tpv.WithAppTokenSource(nil), tpv.WithHMACSigner(signer)}, []string{"WithAppTokenSource: source must not be nil"}},
		{"nil signer", []tpv.Option{tpv.WithAppTokenSource(src), tpv.WithHMACSigner(nil)}, []string{"WithHMACSigner: signer must not be nil"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tpv.NewClient(append([]tpv.Option{base}, tt.opts...)...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.True(t, strings.HasPrefix(err.Error(), "tpv: "), err.Error())
			for _, w := range tt.want {
				assert.Contains(t, err.Error(), w)
			}
			assert.NotContains(t, err.Error(), "secret\"")
		})
	}

	for _, opts := range [][]tpv.Option{
		{creds},
		{creds, creds}, // the same option twice: the last one counts
		{tpv.WithAppTokenSource(src), tpv.WithHMACSigner(signer)},
	} {
		c, err := tpv.NewClient(append([]tpv.Option{base}, opts...)...)
		require.NoError(t, err)
		assert.NoError(t, c.Close())
	}
}

// A RequestSigner decides what the Signature signs; the key stays with the client's
// HMAC signer, which it receives.
func TestRequestSignerUsesTheHMACSigner(t *testing.T) {
	methodPath := func(r *http.Request, _ []byte, secret string) string {
		return hmacHex(secret, r.Method+" "+r.URL.EscapedPath())
	}
	srv := tpvtest.NewServer(tpvtest.WithSignatureFunc(methodPath))
	t.Cleanup(srv.Close)
	rs := &remoteSigner{}
	c, err := tpv.NewClient(tpv.WithBaseURL(srv.URL()),
		tpv.WithAppTokenSource(&countingSource{token: srv.AppToken()}),
		tpv.WithHMACSigner(rs.signer(srv.AppSecret())),
		tpv.WithRequestSigner(func(ctx context.Context, r *http.Request, _ []byte, s auth.HMACSigner) (string, error) {
			mac, err := s.SignHMAC(ctx, []byte(r.Method+" "+r.URL.EscapedPath()))
			return hex.EncodeToString(mac), err
		}))
	require.NoError(t, err)
	closeWhenDone(t, c)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	conf, err := c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	_, err = c.QueueCall(ctx, conf.Code)
	require.NoError(t, err)
	assert.Equal(t, []string{conf.Code}, srv.QueuedCalls())
	msgs := rs.messages()
	require.Len(t, msgs, 3)
	assert.Equal(t, []string{"POST /api/v1/tpv", "POST /api/v1/queue/call/" + conf.Code}, msgs[1:])
}

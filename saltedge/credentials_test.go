package saltedge_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// hsmSigner is a crypto.Signer that is not an *rsa.PrivateKey: the connector's key as
// an HSM or a cloud KMS holds it, reachable only through Sign. It counts its calls and
// remembers every signature it made, so a test can tell that an attempt was signed by
// it and by nothing else.
type hsmSigner struct {
	key   *rsa.PrivateKey // the test's; the client only ever sees Public and Sign
	calls atomic.Int64
	fail  atomic.Pointer[error]

	mu   sync.Mutex
	sigs map[string]bool // base64url signatures made
}

func newHSMSigner(key *rsa.PrivateKey) *hsmSigner {
	return &hsmSigner{key: key, sigs: map[string]bool{}}
}

func (s *hsmSigner) Public() crypto.PublicKey { return &s.key.PublicKey }

func (s *hsmSigner) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	s.calls.Add(1)
	if err := s.fail.Load(); err != nil {
		return nil, *err
	}
	if opts.HashFunc() != crypto.SHA256 || len(digest) != crypto.SHA256.Size() {
		return nil, fmt.Errorf("hsm: want a SHA-256 digest, got %v with %d bytes", opts.HashFunc(), len(digest))
	}
	sig, err := rsa.SignPKCS1v15(r, s.key, crypto.SHA256, digest)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	s.sigs[base64.RawURLEncoding.EncodeToString(sig)] = true
	s.mu.Unlock()
	return sig, nil
}

func (s *hsmSigner) made(sig string) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.sigs[sig]
}

// vaultSecret is an auth.Source of the app secret, as a secret manager gives it: the
// test sets the value (or an error) and counts the reads.
type vaultSecret struct {
	calls atomic.Int64
	value atomic.Pointer[string]
	err   atomic.Pointer[error]
}

func newVaultSecret(v string) *vaultSecret {
	s := &vaultSecret{}
	s.value.Store(&v)
	return s
}

func (s *vaultSecret) Token(context.Context) (auth.Token, error) {
	s.calls.Add(1)
	if err := s.err.Load(); err != nil {
		return auth.Token{}, *err
	}
	return auth.Token{Value: *s.value.Load()}, nil
}

func (s *vaultSecret) set(v string) { s.value.Store(&v) }

func (s *vaultSecret) failWith(err error) { s.err.Store(&err) }

// callbackRequests returns the attempts the fake received below the callback prefix.
func callbackRequests(fk *saltedgetest.Server) []fake.Request {
	var out []fake.Request
	for _, r := range fk.Requests() {
		if strings.HasPrefix(r.Path, saltedgetest.CallbackPrefix) {
			out = append(out, r)
		}
	}
	return out
}

// The token flow end to end with the connector's key behind a crypto.Signer that is
// not an *rsa.PrivateKey and the app secret from a source: every attempt, the one
// refused with 503 and its retry included, carries a JWT the fake verifies with the
// provider's public key and whose signature the signer made, and the source's
// secret; the signer and the source are asked once per attempt. (A retry within the
// same second mints the same claims, so its JWT may equal the first attempt's.)
func TestCallbacksSignedByPluggableSignerWithSecretFromSource(t *testing.T) {
	signer := newHSMSigner(keys()[1])
	secret := newVaultSecret(testAppSecret)
	e := setup(t, func(o *setupOpts) {
		o.clientOpts = append(o.clientOpts, saltedge.WithPrivateKey(signer), saltedge.WithAppSecretSource(secret))
	})
	ctx := ctxT(t)
	e.fake.Inject(1, fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0").
		On(http.MethodPost, saltedgetest.CallbackPrefix+"sessions/success"))

	resp, err := e.driver.CreateToken(ctx, saltedgetest.TokenRequest{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, string(resp.Body))
	sess, err := e.fake.WaitSession(ctx, resp.SessionSecret)
	require.NoError(t, err)
	e.bank.wait()
	require.Empty(t, e.bank.backgroundErrors())
	assert.Equal(t, saltedgetest.SessionSuccess, sess.Status)
	assert.Equal(t, "sessions/success", sess.ResultCallback)

	page, err := e.client.Tokens.Index(ctx, saltedge.TokensQuery{})
	require.NoError(t, err)
	assert.Len(t, page.Tokens, 1, "the token sessions/success issued")
	info, err := e.client.Clients.Info(ctx, saltedgetest.DefaultClientID)
	require.NoError(t, err)
	assert.Equal(t, "Example TPP", info.Name)

	reqs := callbackRequests(e.fake)
	var paths []string
	for _, r := range reqs {
		paths = append(paths, r.Method+" "+strings.TrimPrefix(r.Path, saltedgetest.CallbackPrefix))
		assert.Equal(t, []string{testAppID}, r.RawHeader("App-Id"))
		assert.Equal(t, []string{testAppSecret}, r.RawHeader("App-Secret"), "the source's secret")
		require.Len(t, r.RawHeader("Authorization"), 1)
		authz := r.RawHeader("Authorization")[0]
		decodeCallbackJWT(t, e.fake.ProviderPublicKey(), authz)
		sig := authz[strings.LastIndexByte(authz, '.')+1:]
		assert.True(t, signer.made(sig), "%s: signed by the pluggable signer", r.Path)
	}
	assert.Equal(t, []string{"POST sessions/update", "POST sessions/success", "POST sessions/success",
		"GET tokens/index", "GET clients/info"}, paths, "the 503 was retried once")
	assert.Equal(t, int64(len(reqs)), signer.calls.Load(), "a JWT minted (signed) for every attempt")
	assert.Equal(t, int64(len(reqs)), secret.calls.Load(), "the secret is read per attempt")

	cbs := e.fake.Callbacks()
	require.Len(t, cbs, 4, "the 503 was answered before the fake's judge")
	for _, cb := range cbs {
		assert.True(t, cb.Verified, cb.Name)
		assert.Equal(t, http.StatusOK, cb.Status, cb.Name)
	}
	assert.NotContains(t, e.client.String(), testAppSecret)
}

// The source is read on every attempt, so a secret rotated in the secret manager is
// sent from the next call on. A refused secret is not renewed nor replayed: Salt Edge
// documents no answer that singles it out.
func TestAppSecretSourceRotation(t *testing.T) {
	secret := newVaultSecret("the-retired-secret")
	e := setup(t, func(o *setupOpts) { o.clientOpts = append(o.clientOpts, saltedge.WithAppSecretSource(secret)) })
	ctx := ctxT(t)

	_, err := e.client.Clients.Info(ctx, saltedgetest.DefaultClientID)
	assert.True(t, hasClass(err, saltedge.ClassProviderNotFound), "%v", err)
	assert.NotContains(t, err.Error(), "the-retired-secret")
	reqs := callbackRequests(e.fake)
	require.Len(t, reqs, 1, "no replay")
	assert.Equal(t, []string{"the-retired-secret"}, reqs[0].RawHeader("App-Secret"))
	assert.Equal(t, int64(1), secret.calls.Load())

	secret.set(testAppSecret)
	_, err = e.client.Clients.Info(ctx, saltedgetest.DefaultClientID)
	require.NoError(t, err)
	reqs = callbackRequests(e.fake)
	require.Len(t, reqs, 2)
	assert.Equal(t, []string{testAppSecret}, reqs[1].RawHeader("App-Secret"))
	assert.Equal(t, int64(2), secret.calls.Load())
}

// A source that fails, or gives a value no header can carry, fails the call before
// anything is sent; so does a signer that fails. The errors say which credential and
// wrap the cause.
func TestPluggableCredentialFailuresSendNothing(t *testing.T) {
	secret := newVaultSecret(testAppSecret)
	signer := newHSMSigner(keys()[1])
	e := setup(t, func(o *setupOpts) {
		o.clientOpts = append(o.clientOpts, saltedge.WithPrivateKey(signer), saltedge.WithAppSecretSource(secret),
			saltedge.WithRetry(3, 1, 1))
	})
	ctx := ctxT(t)
	e.fake.OpenSession("s-1")
	update := saltedge.SessionUpdate{SessionSecret: "s-1", Status: saltedge.SessionWaitingConfirmationCode}

	sealed := errors.New("vault: sealed")
	secret.failWith(sealed)
	_, err := e.client.Sessions.Update(ctx, update)
	require.Error(t, err)
	assert.ErrorIs(t, err, sealed)
	var ae *banksdk.AuthorizeError
	assert.ErrorAs(t, err, &ae)
	assert.Contains(t, err.Error(), "app secret source")
	assert.Equal(t, int64(1), secret.calls.Load(), "an authorisation failure is not retried")

	secret.err.Store(nil)
	for value, want := range map[string]string{"": "must not be empty", "s3cret\r\nX-Evil: 1": "control characters"} {
		secret.set(value)
		_, err = e.client.Sessions.Update(ctx, update)
		assert.ErrorContains(t, err, want)
		assert.NotContains(t, err.Error(), "s3cret")
	}

	secret.set(testAppSecret)
	hsmDown := errors.New("hsm: session closed")
	signer.fail.Store(&hsmDown)
	_, err = e.client.Sessions.Update(ctx, update)
	assert.ErrorIs(t, err, hsmDown)
	assert.ErrorAs(t, err, &ae)

	assert.Empty(t, callbackRequests(e.fake), "nothing reached Salt Edge")

	signer.fail.Store(nil)
	res, err := e.client.Sessions.Update(ctx, update)
	require.NoError(t, err)
	assert.Equal(t, 1, res.Attempts)
	assert.Len(t, callbackRequests(e.fake), 1)
}

func TestPluggableCredentialOptionsValidate(t *testing.T) {
	ecKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	base := []saltedge.Option{saltedge.WithAppID("a"), saltedge.WithAppSecret("s")}
	for _, tc := range []struct {
		opts []saltedge.Option
		want string
	}{
		{append(base, saltedge.WithPrivateKey(nil)), "private key: must not be nil"},
		{append(base, saltedge.WithPrivateKey((*rsa.PrivateKey)(nil))), "private key is required"},
		{append(base, saltedge.WithPrivateKey(ecKey)), "RSA"},
		{append(base, saltedge.WithPrivateKey(newHSMSigner(small))), "2048"},
		{append(base, saltedge.WithPrivateKey(keys()[1]), saltedge.WithAppSecretSource(nil)), "app secret source: must not be nil"},
		{[]saltedge.Option{saltedge.WithAppID("a"), saltedge.WithPrivateKey(keys()[1])}, "WithAppSecretSource"},
	} {
		_, err := saltedge.NewClient(tc.opts...)
		assert.ErrorContains(t, err, tc.want)
	}
	c, err := saltedge.NewClient(saltedge.WithAppID("a"), saltedge.WithPrivateKey(newHSMSigner(keys()[1])),
		saltedge.WithAppSecretSource(newVaultSecret("s")))
	require.NoError(t, err)
	assert.NoError(t, c.Close())
}

// rotatedKey is Salt Edge's next key in the rotation tests.
var rotatedKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := saltedgetest.GenerateKey()
	if err != nil {
		panic(err)
	}
	return k
})

// Salt Edge rotates its key: a handler whose KeySet holds the old and the new key
// serves the flow across the rotation (requests signed by either); requests signed by
// a third key are refused before the bank sees them. A handler that knows only the
// old key refuses the new key's requests.
func TestHandlerKeySetAcrossSaltEdgeKeyRotation(t *testing.T) {
	oldKey, newKey, stranger := keys()[0], rotatedKey(), keys()[3]
	e := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) {
			c.PublicKey = nil
			c.KeySet = auth.StaticKeySet(&oldKey.PublicKey, &newKey.PublicKey)
		}
	})
	ctx := ctxT(t)

	resp, err := e.driver.CreateToken(ctx, saltedgetest.TokenRequest{})
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "signed by the old key: %s", resp.Body)
	_, err = e.fake.WaitSession(ctx, resp.SessionSecret)
	require.NoError(t, err)
	access := "access-" + resp.SessionSecret

	e.fake.RotateSigningKey(newKey, "")
	r, err := e.driver.Accounts(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, r.StatusCode, "signed by the new key: %s", r.Body)
	var accounts []saltedge.Account
	require.NoError(t, r.DecodeData(&accounts))
	assert.Equal(t, testAccounts, accounts)
	calls := e.bank.callCount()
	assert.Equal(t, 2, calls)

	e.fake.RotateSigningKey(stranger, "")
	r, err = e.driver.Accounts(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, r.StatusCode)
	assert.Equal(t, saltedge.ClassJWTVerificationError, r.ErrorClass)
	assert.Contains(t, r.ErrorMessage, "signature")
	assert.Equal(t, calls, e.bank.callCount(), "the bank is not called for a third key")

	// The single-key convenience knows the old key only.
	oldOnly, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: e.bank, PublicKey: &oldKey.PublicKey})
	require.NoError(t, err)
	ts := httptest.NewServer(oldOnly)
	t.Cleanup(ts.Close)
	e.fake.RotateSigningKey(newKey, "")
	r, err = e.fake.Connector(ts.URL).Accounts(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadRequest, r.StatusCode)
	assert.Equal(t, saltedge.ClassJWTVerificationError, r.ErrorClass)
	assert.Equal(t, calls, e.bank.callCount())
}

// A KeySetFunc picks the key by the JWT's kid: each kid verifies with its own key
// only; a token signed by a third key, a key under another kid, an unknown kid or no
// kid are refused, and the bank is never called for them.
func TestHandlerKeySetFuncSelectsByKid(t *testing.T) {
	oldKey, newKey, stranger := keys()[0], rotatedKey(), keys()[3]
	var mu sync.Mutex
	var asked []string
	ks := auth.KeySetFunc(func(kid string) ([]*rsa.PublicKey, error) {
		mu.Lock()
		asked = append(asked, kid)
		mu.Unlock()
		switch kid {
		case "se-2024":
			return []*rsa.PublicKey{&oldKey.PublicKey}, nil
		case "se-2025":
			return []*rsa.PublicKey{&newKey.PublicKey}, nil
		}
		return nil, nil
	})
	b := &nopBank{}
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b, KeySet: ks, Issuer: saltedge.DefaultIssuer})
	require.NoError(t, err)
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	fk := saltedgetest.NewServer(append(fakeOptions(), saltedgetest.WithSigningKeyID("se-2024"),
		saltedgetest.WithSigningKey(stranger))...)
	t.Cleanup(fk.Close)
	driver := fk.Connector(ts.URL)
	ctx := ctxT(t)

	for _, tc := range []struct {
		name string
		key  *rsa.PrivateKey
		kid  string
		msg  string
	}{
		{"a third key under a known kid", stranger, "se-2024", "signature is invalid"},
		{"a third key under the other kid", stranger, "se-2025", "signature is invalid"},
		{"the new key under the old kid", newKey, "se-2024", "signature is invalid"},
		{"an unknown kid", oldKey, "se-2023", "no key"},
		{"no kid", oldKey, "", "no key"},
	} {
		fk.RotateSigningKey(tc.key, tc.kid)
		resp, err := driver.CreateToken(ctx, saltedgetest.TokenRequest{})
		require.NoError(t, err, tc.name)
		assert.Equal(t, http.StatusBadRequest, resp.StatusCode, tc.name)
		assert.Equal(t, saltedge.ClassJWTVerificationError, resp.ErrorClass, tc.name)
		assert.Contains(t, resp.ErrorMessage, tc.msg, tc.name)
	}
	assert.Zero(t, b.calls.Load(), "the connector is never called for a refused key")

	for _, tc := range []struct {
		key *rsa.PrivateKey
		kid string
	}{{oldKey, "se-2024"}, {newKey, "se-2025"}} {
		fk.RotateSigningKey(tc.key, tc.kid)
		resp, err := driver.CreateToken(ctx, saltedgetest.TokenRequest{})
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, resp.StatusCode, "kid %s: %s", tc.kid, resp.Body)
	}
	assert.Equal(t, int64(2), b.calls.Load())
	mu.Lock()
	assert.Equal(t, []string{"se-2024", "se-2025", "se-2024", "se-2023", "", "se-2024", "se-2025"}, asked)
	mu.Unlock()
}

// A KeySet that fails (its endpoint is down) is the connector's fault, not the
// request's: 500 InternalServerError with a generic message, the cause logged, the
// bank not called.
func TestHandlerKeySetFailure(t *testing.T) {
	var logs bytes.Buffer
	b := &nopBank{}
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b,
		KeySet: auth.KeySetFunc(func(string) ([]*rsa.PublicKey, error) {
			return nil, errors.New("jwks endpoint: connection refused")
		}),
		Logger: slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))})
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "/api/priora/v1/errors", nil)
	req.Header.Set("Authorization", "Bearer "+saltEdgeJWT(t, map[string]any{"exp": time.Now().Add(time.Minute).Unix()}))
	req.Header.Set("Client-Id", "771")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	body := checkAnswer(t, rec)
	assert.Equal(t, http.StatusInternalServerError, rec.Code)
	assert.Equal(t, saltedge.ClassInternalServerError, body["error_class"])
	assert.NotContains(t, rec.Body.String(), "jwks")
	assert.Contains(t, logs.String(), "jwks endpoint: connection refused")
	assert.Zero(t, b.calls.Load())
}

func TestHandlerConfigKeys(t *testing.T) {
	pub := &keys()[0].PublicKey
	_, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}})
	assert.ErrorContains(t, err, "PublicKey or KeySet")
	_, err = saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}, PublicKey: pub, KeySet: auth.StaticKeySet(pub)})
	assert.ErrorContains(t, err, "not both")
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}, KeySet: auth.StaticKeySet(pub)})
	require.NoError(t, err)
	assert.NotNil(t, h)
}

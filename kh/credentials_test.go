package kh_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"errors"
	"io"
	"log/slog"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// hsmKey stands for a key held in an HSM or a cloud KMS: a crypto.Signer that is not
// an *rsa.PrivateKey and never hands out its key, counting what it signs.
type hsmKey struct {
	key   crypto.Signer
	signs atomic.Int32
}

func (k *hsmKey) Public() crypto.PublicKey { return k.key.Public() }

func (k *hsmKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	k.signs.Add(1)
	return k.key.Sign(r, digest, opts)
}

// consentService stands for a token service of the TPP's own that hands out consent
// tokens (here issued by the fake bank without a status call), counting its calls.
type consentService struct {
	srv *khtest.Server
	mu  sync.Mutex
	ids []string // the consent ids asked for, in order
}

func (s *consentService) Token(_ context.Context, consentID string) (auth.Token, error) {
	s.mu.Lock()
	s.ids = append(s.ids, consentID)
	s.mu.Unlock()
	tok, err := s.srv.IssueConsentToken(consentID)
	return auth.Token{Value: tok}, err
}

func (s *consentService) asked() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.ids)
}

// The TPP's certificate key is a crypto.Signer of its own (an HSM's), given through
// WithGetClientCertificate or as WithClientCertificate's PrivateKey, and the consent
// tokens come from a source of its own: the fake bank, which requires the client
// certificate and checks every token, serves a consent and account flow, and a
// rejected consent token is renewed from that source once and the call replayed once.
func TestHSMKeyAndConsentTokenSource(t *testing.T) {
	for _, mode := range []string{"WithGetClientCertificate", "WithClientCertificate"} {
		t.Run(mode, func(t *testing.T) {
			srv := khtest.NewServer()
			t.Cleanup(srv.Close)
			cert := srv.ClientCertificate()
			key := &hsmKey{key: cert.PrivateKey.(crypto.Signer)}
			cert.PrivateKey = key
			_, isRSA := any(cert.PrivateKey).(*rsa.PrivateKey)
			require.False(t, isRSA)

			var gets atomic.Int32
			certOpt := kh.WithClientCertificate(cert)
			if mode == "WithGetClientCertificate" {
				certOpt = kh.WithGetClientCertificate(func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
					gets.Add(1)
					return &cert, nil
				})
			}
			consents := &consentService{srv: srv}
			log := &fake.LogBuffer{}
			c, err := kh.NewClient(kh.WithBaseURL(srv.URL()), certOpt, kh.WithRootCAs(srv.RootCAs()),
				kh.WithAppToken(srv.AppToken()), kh.WithApplicationID(srv.ApplicationID()),
				kh.WithConsentTokenSource(consents), fastRetry,
				kh.WithLogger(slog.New(slog.NewTextHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))))
			require.NoError(t, err)
			t.Cleanup(func() { _ = c.Close() })
			e := &env{t: t, ctx: context.Background(), srv: srv, c: c, log: log}

			// A PSU identification consent, authorised by embedded SCA; its token
			// comes from the source on the first account read, not from a status call.
			cr, err := c.Consents.Create(e.ctx, kh.PSUIdentificationConsent("2999-12-31"), kh.PSUIPAddress(psuIP))
			require.NoError(t, err)
			psu := cr.ConsentID
			e.embedded(c.Consents.Authorisations, psu)
			srv.ResetRequests()
			list, err := c.Accounts.List(e.ctx, psu)
			require.NoError(t, err)
			require.Len(t, list.Accounts, 2)
			assert.Equal(t, []string{psu}, consents.asked())
			assert.Zero(t, srv.StatusCalls(psu), "the consent token did not come from a status call")
			toks := srv.ConsentTokens(psu)
			require.Len(t, toks, 1)
			reqs := srv.Requests()
			require.Len(t, reqs, 1)
			assert.Equal(t, "Bearer "+toks[0], reqs[0].Header.Get("Authorization"), "the bank got the source's token")

			// An account balance consent: its token too, cached after the first call.
			cr, err = c.Consents.Create(e.ctx, kh.BalanceConsent("2999-12-31", e.ref(0)), kh.PSUIPAddress(psuIP))
			require.NoError(t, err)
			bal := cr.ConsentID
			e.embedded(c.Consents.Authorisations, bal)
			for range 2 {
				res, err := c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
				require.NoError(t, err)
				assert.Len(t, res.Balances, 2)
			}
			assert.Equal(t, []string{psu, bal}, consents.asked(), "one source call per consent")

			// The bank no longer accepts the token: the source is asked once, the call
			// replayed once with its new token.
			old := srv.ConsentTokens(bal)
			require.Len(t, old, 1)
			srv.ExpireToken(old[0])
			srv.ResetRequests()
			res, err := c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
			require.NoError(t, err)
			assert.Len(t, res.Balances, 2)
			now := srv.ConsentTokens(bal)
			require.Len(t, now, 2)
			reqs = srv.Requests()
			require.Len(t, reqs, 2, "the rejected call and one replay, nothing in between")
			assert.Equal(t, "Bearer "+old[0], reqs[0].Header.Get("Authorization"))
			assert.Equal(t, "Bearer "+now[1], reqs[1].Header.Get("Authorization"))
			assert.Equal(t, reqs[0].Header.Get("X-Request-ID"), reqs[1].Header.Get("X-Request-ID"))
			assert.Equal(t, []string{psu, bal, bal}, consents.asked())

			// TOKEN_EXPIRED from the bank: the same, once.
			srv.Inject(1, fake.Status(401, `{"tppMessages":[{"category":"ERROR","code":"TOKEN_EXPIRED"}]}`).On("GET", "/v1/accounts"))
			srv.ResetRequests()
			list, err = c.Accounts.List(e.ctx, psu)
			require.NoError(t, err)
			assert.Len(t, list.Accounts, 2)
			assert.Equal(t, 2, srv.Count("GET", "/v1/accounts"), "the rejected call and one replay")
			assert.Equal(t, []string{psu, bal, bal, psu}, consents.asked())
			assert.Zero(t, srv.StatusCalls(psu)+srv.StatusCalls(bal), "never a status call")

			assert.Positive(t, key.signs.Load(), "the handshakes were signed by the HSM key")
			if mode == "WithGetClientCertificate" {
				assert.Positive(t, gets.Load(), "the certificate came from the callback")
			}
			for _, tok := range append(now, srv.ConsentTokens(psu)...) {
				assert.NotContains(t, log.String(), tok[len(tok)-20:], "no token in the log")
			}
		})
	}
}

// Concurrent calls that find their consent token rejected ask the source once, and
// every one of them is replayed with the new token.
func TestConsentTokenSourceRenewalsCoalesce(t *testing.T) {
	e := setup(t, nil)
	bal := e.validConsent(kh.BalanceConsent("2999-12-31", e.ref(0)))
	var calls atomic.Int32
	src := auth.KeyedSourceFunc(func(_ context.Context, id string) (auth.Token, error) {
		calls.Add(1)
		tok, err := e.srv.IssueConsentToken(id)
		return auth.Token{Value: tok}, err
	})
	c := e.newClient(t, kh.WithAppToken(e.srv.AppToken()), kh.WithConsentTokenSource(src))
	require.NoError(t, c.Consents.Track(bal, kh.TokenAccountBalance))
	_, err := c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
	require.NoError(t, err)
	require.Equal(t, int32(1), calls.Load())
	toks := e.srv.ConsentTokens(bal)
	e.srv.ExpireToken(toks[len(toks)-1])

	var wg sync.WaitGroup
	errs := make(chan error, 16)
	for range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, int32(2), calls.Load(), "one renewal for all callers")
	assert.Len(t, e.srv.ConsentTokens(bal), len(toks)+1)
}

// A source whose token the bank keeps rejecting is asked once per call: the call is
// replayed once and then fails with the bank's answer. A source's error fails the call.
func TestConsentTokenSourceRejectedOrFailing(t *testing.T) {
	e := setup(t, nil)
	bal := e.validConsent(kh.BalanceConsent("2999-12-31", e.ref(0)))
	var calls atomic.Int32
	fail := errors.New("token service down")
	var failing atomic.Bool
	src := auth.KeyedSourceFunc(func(_ context.Context, id string) (auth.Token, error) {
		calls.Add(1)
		if failing.Load() {
			return auth.Token{}, fail
		}
		tok, err := e.srv.IssueConsentToken(id)
		return auth.Token{Value: tok}, err
	})
	c := e.newClient(t, kh.WithAppToken(e.srv.AppToken()), kh.WithConsentTokenSource(src))
	require.NoError(t, c.Consents.Track(bal, kh.TokenAccountBalance))

	e.srv.Inject(5, fake.Status(401, `{"tppMessages":[{"code":"TOKEN_INVALID"}]}`).On("GET", "/v1/accounts/"))
	e.srv.ResetRequests()
	_, err := c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
	var ae *kh.APIError
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.Has(kh.CodeTokenInvalid))
	assert.Equal(t, 2, e.srv.Count("GET", "/v1/accounts/acc-huf-1/balances"), "one call, one replay")
	assert.Equal(t, int32(2), calls.Load(), "the first token and one renewal")
	e.srv.ClearFaults()

	failing.Store(true)
	toks := e.srv.ConsentTokens(bal)
	e.srv.ExpireToken(toks[len(toks)-1])
	e.srv.ResetRequests()
	_, err = c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
	require.ErrorIs(t, err, fail)
	assert.Equal(t, 1, e.srv.Count("GET", "/v1/accounts/acc-huf-1/balances"), "no replay without a token")
}

// A certificate callback that fails fails the handshake: nothing reaches the bank.
func TestGetClientCertificateError(t *testing.T) {
	srv := khtest.NewServer()
	t.Cleanup(srv.Close)
	hsmDown := errors.New("hsm unreachable")
	var gets atomic.Int32
	c, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithRootCAs(srv.RootCAs()), kh.WithAppToken(srv.AppToken()),
		kh.WithRetry(0, time.Millisecond, time.Millisecond),
		kh.WithGetClientCertificate(func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			gets.Add(1)
			return nil, hsmDown
		}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	_, err = c.Payments.Status(context.Background(), "pay-1")
	require.Error(t, err)
	assert.Contains(t, err.Error(), hsmDown.Error())
	var ae *kh.APIError
	assert.False(t, errors.As(err, &ae))
	assert.Empty(t, srv.Requests())
	assert.Equal(t, int32(1), gets.Load())
}

func TestCertificateOptionsValidate(t *testing.T) {
	srv := khtest.NewServer()
	t.Cleanup(srv.Close)
	good := srv.ClientCertificate()
	certPEM, keyPEM := srv.PKI().ClientCertificatePEM()
	get := func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &good, nil }

	other, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	mismatched := good
	mismatched.PrivateKey = other
	notSigner := good
	notSigner.PrivateKey = struct{}{}

	base := kh.WithBaseURL("https://bank.example")
	for name, tc := range map[string]struct {
		opts []kh.Option
		msg  string
	}{
		"callback and certificate": {[]kh.Option{kh.WithGetClientCertificate(get), kh.WithClientCertificate(good)},
			"WithGetClientCertificate and WithClientCertificate"},
		"certificate and PEM": {[]kh.Option{kh.WithClientCertificate(good), kh.WithClientCertificatePEM(certPEM, keyPEM)},
			"one option only"},
		"nil callback":         {[]kh.Option{kh.WithGetClientCertificate(nil)}, "callback is nil"},
		"key of another":       {[]kh.Option{kh.WithClientCertificate(mismatched)}, "does not match"},
		"key not a signer":     {[]kh.Option{kh.WithClientCertificate(notSigner)}, "crypto.Signer"},
		"nil consent source":   {[]kh.Option{kh.WithConsentTokenSource(nil)}, "source is nil"},
		"damaged leaf":         {[]kh.Option{kh.WithClientCertificate(tls.Certificate{Certificate: [][]byte{[]byte("x")}, PrivateKey: other})}, "leaf certificate"},
		"empty certificate":    {[]kh.Option{kh.WithClientCertificate(tls.Certificate{})}, "chain and private key"},
		"two certificate sets": {[]kh.Option{kh.WithClientCertificate(good), kh.WithClientCertificate(good)}, "one option only"},
	} {
		_, err := kh.NewClient(append([]kh.Option{base}, tc.opts...)...)
		require.Error(t, err, name)
		assert.True(t, strings.HasPrefix(err.Error(), "kh: "), "%s: %v", name, err)
		assert.Contains(t, err.Error(), tc.msg, name)
	}

	// One certificate option alone is accepted, a crypto.Signer key included.
	for _, opt := range []kh.Option{kh.WithGetClientCertificate(get), kh.WithClientCertificate(good),
		kh.WithClientCertificatePEM(certPEM, keyPEM)} {
		c, err := kh.NewClient(base, opt)
		require.NoError(t, err)
		require.NoError(t, c.Close())
	}
}

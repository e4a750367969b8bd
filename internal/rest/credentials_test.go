package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/banksdk/banksdk/auth"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renewerFunc is a test Authorizer whose Renew is a function.
type renewerFunc struct {
	HeaderToken
	renew func(ctx context.Context, req *http.Request, apiErr error) (bool, error)
}

func (r renewerFunc) Renew(ctx context.Context, req *http.Request, apiErr error) (bool, error) {
	return r.renew(ctx, req, apiErr)
}

func rejectedOn401(resp *http.Response, _ error) bool {
	return resp.StatusCode == http.StatusUnauthorized
}

// unauthorizedFirst answers 401 to the first n requests, then echoes.
func unauthorizedFirst(n int32) http.Handler {
	var calls atomic.Int32
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) <= n {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"token expired"}`)
			return
		}
		echoHandler(w, r)
	})
}

func TestRenewerIsToldTheRejectedAttemptAndTheProviderError(t *testing.T) {
	src := newCountingSource()
	var sawToken string
	var sawErr error
	h := setup(t, unauthorizedFirst(1), func(c *Config) {
		c.CredentialRejected = rejectedOn401
		c.Authorizer = renewerFunc{
			HeaderToken: HeaderToken{Source: src.cache, Prefix: "Bearer "},
			renew: func(_ context.Context, req *http.Request, apiErr error) (bool, error) {
				sawToken = req.Header.Get("Authorization")
				sawErr = apiErr
				src.cache.Invalidate(auth.Token{Value: strings.TrimPrefix(sawToken, "Bearer ")})
				return true, nil
			},
		}
	})
	var out echo
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "pay", Body: []byte(`{}`)}, &out)
	require.NoError(t, err)
	assert.Equal(t, "Bearer tok-1", sawToken, "Renew sees the attempt as sent")
	var ae *apiError
	require.ErrorAs(t, sawErr, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.Status)
	assert.Equal(t, "Bearer tok-2", out.Auth, "the replay carries the renewed token")
	assert.Len(t, h.srv.Requests(), 2)
}

func TestRenewerDecliningReturnsTheProviderError(t *testing.T) {
	h := setup(t, unauthorizedFirst(1), func(c *Config) {
		c.CredentialRejected = rejectedOn401
		c.Authorizer = renewerFunc{
			HeaderToken: HeaderToken{Source: auth.StaticSource(auth.Token{Value: "static-token"}), Prefix: "Bearer "},
			renew:       func(context.Context, *http.Request, error) (bool, error) { return false, nil },
		}
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.Status)
	assert.Len(t, h.srv.Requests(), 1, "no replay")
}

var errSessionOver = errors.New("session over")

func TestRenewerErrorReplacesTheProviderError(t *testing.T) {
	h := setup(t, unauthorizedFirst(1), func(c *Config) {
		c.CredentialRejected = rejectedOn401
		c.Authorizer = renewerFunc{
			HeaderToken: HeaderToken{Source: auth.StaticSource(auth.Token{Value: "static-token"}), Prefix: "Bearer "},
			renew: func(_ context.Context, _ *http.Request, apiErr error) (bool, error) {
				return false, fmt.Errorf("%w: %w", errSessionOver, apiErr)
			},
		}
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	require.ErrorIs(t, err, errSessionOver)
	var ae *apiError
	require.ErrorAs(t, err, &ae, "the provider's error stays reachable")
	assert.Len(t, h.srv.Requests(), 1)
}

func TestNotClassifiedAsRejectedNeverReachesRenew(t *testing.T) {
	var renewed atomic.Int32
	h := setup(t, unauthorizedFirst(1), func(c *Config) {
		c.CredentialRejected = func(*http.Response, error) bool { return false }
		c.Authorizer = renewerFunc{
			HeaderToken: HeaderToken{Source: auth.StaticSource(auth.Token{Value: "static-token"})},
			renew: func(context.Context, *http.Request, error) (bool, error) {
				renewed.Add(1)
				return true, nil
			},
		}
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	require.Error(t, err)
	assert.Zero(t, renewed.Load())
	assert.Len(t, h.srv.Requests(), 1)
}

func TestHeaderTokenWithoutInvalidatingSourceDoesNotReplay(t *testing.T) {
	h := setup(t, unauthorizedFirst(1), func(c *Config) {
		c.CredentialRejected = rejectedOn401
		c.Authorizer = HeaderToken{Source: auth.StaticSource(auth.Token{Value: "static-token"}), Prefix: "Bearer "}
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Len(t, h.srv.Requests(), 1, "a static token cannot be renewed: no replay")
}

func TestChainSetsEveryHeaderAndRenewsItsRenewer(t *testing.T) {
	src := newCountingSource()
	h := setup(t, unauthorizedFirst(1), func(c *Config) {
		c.CredentialRejected = rejectedOn401
		c.Authorizer = Chain{
			StaticHeader{Header: "App-Id", Value: auth.NewSecret("app-id-1")},
			StaticHeader{Header: "App-Secret", Value: auth.NewSecret("app-secret-1")},
			HeaderToken{Source: src.cache, Prefix: "Bearer "},
		}
	})
	var out echo
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, &out)
	require.NoError(t, err)
	reqs := h.srv.Requests()
	require.Len(t, reqs, 2)
	for _, r := range reqs {
		assert.Equal(t, []string{"app-id-1"}, r.RawHeader("App-Id"))
		assert.Equal(t, []string{"app-secret-1"}, r.RawHeader("App-Secret"))
	}
	assert.Equal(t, "Bearer tok-1", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok-2", reqs[1].Header.Get("Authorization"))
}

// leasingSource counts leases held.
type leasingSource struct {
	held atomic.Int32
}

func (l *leasingSource) Token(context.Context) (auth.Token, error) {
	return auth.Token{Value: "leased-token"}, nil
}

func (l *leasingSource) Acquire(context.Context) (auth.Token, func(), error) {
	l.held.Add(1)
	return auth.Token{Value: "leased-token"}, func() { l.held.Add(-1) }, nil
}

func TestChainHoldsLeasesUntilTheAnswerAndReleasesOnFailure(t *testing.T) {
	src := &leasingSource{}
	var heldDuring atomic.Int32
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		heldDuring.Store(src.held.Load())
		echoHandler(w, r)
	}), func(c *Config) {
		c.Authorizer = Chain{HeaderToken{Source: src, Prefix: "Bearer "}}
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, int32(1), heldDuring.Load(), "the lease is held while the request is in flight")
	assert.Zero(t, src.held.Load(), "and released after")

	failing := Chain{HeaderToken{Source: src}, StaticHeader{}}
	_, err = failing.AuthorizeLease(context.Background(), mustRequest(t), nil)
	require.Error(t, err)
	assert.Zero(t, src.held.Load(), "a failing member releases the leases taken before it")
}

func mustRequest(t *testing.T) *http.Request {
	t.Helper()
	r, err := http.NewRequest(http.MethodGet, "http://127.0.0.1/", nil)
	require.NoError(t, err)
	return r
}

func TestStaticHeaderKeepsCaseAndPrintsNoSecret(t *testing.T) {
	r := mustRequest(t)
	s := StaticHeader{Header: "App-Secret", Value: auth.NewSecret("very-secret-value")}
	require.NoError(t, s.Authorize(context.Background(), r, nil))
	assert.Equal(t, []string{"very-secret-value"}, r.Header["App-Secret"])
	for _, out := range []string{fmt.Sprintf("%v", s), fmt.Sprintf("%+v", s), fmt.Sprintf("%#v", s)} {
		assert.NotContains(t, out, "very-secret-value")
	}
	require.Error(t, StaticHeader{}.Authorize(context.Background(), r, nil), "a header name is required")
}

func TestRedactorRemovesEveryForm(t *testing.T) {
	jwt := "eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ4In0.c2lnbmF0dXJlLXBhcnQ"
	r := NewRedactor("pa$$ word/\"x\"", "ab") // "ab" is too short to remove
	r.Add("obtained-token-1")
	cases := map[string]string{
		"fixed":             `wrong password pa$$ word/"x"`,
		"json escaped":      `{"error":"pa$$ word/\"x\""}`,
		"query escaped":     "password=" + "pa%24%24+word%2F%22x%22",
		"obtained":          "token obtained-token-1 is not valid",
		"extra":             "bearer one-request-secret",
		"jwt":               "got " + jwt,
		"jwt signature":     "signature c2lnbmF0dXJlLXBhcnQ mismatch",
		"token param":       "url ?token=abc123&x=1",
		"quoted tokenparam": `token="zzz999"`,
	}
	for name, in := range cases {
		t.Run(name, func(t *testing.T) {
			out := r.Redact(in, "one-request-secret", jwt)
			assert.Contains(t, out, Redacted)
			for _, secret := range []string{`pa$$ word/"x"`, `pa$$ word/\"x\"`, "pa%24%24+word%2F%22x%22", "obtained-token-1",
				"one-request-secret", jwt, "c2lnbmF0dXJlLXBhcnQ", "abc123", "zzz999"} {
				assert.NotContains(t, out, secret)
			}
		})
	}
	assert.Equal(t, "about tab", r.Redact("about tab"), "short secrets are not removed from ordinary words")
	var nilR *Redactor
	assert.Equal(t, "x "+Redacted, nilR.Redact("x secret-value", "secret-value"))
	body := []byte(`{"msg":"fine"}`)
	assert.Same(t, &body[0], &r.RedactBytes(body)[0], "an unchanged body is not copied")
}

func TestRedactorRemembersABoundedNumberOfTokens(t *testing.T) {
	r := NewRedactor()
	for i := range maxRecent + 1 {
		r.Add(fmt.Sprintf("token-number-%03d", i))
	}
	assert.Equal(t, "token-number-000", r.Redact("token-number-000"), "the oldest is forgotten")
	assert.Equal(t, Redacted, r.Redact(fmt.Sprintf("token-number-%03d", maxRecent)))
}

func TestClip(t *testing.T) {
	assert.Equal(t, "a b c", Clip("a\n\tb\x00 c", 10))
	assert.Equal(t, "héll…", Clip("héllo wörld", 4))
	assert.Equal(t, "short", Clip("short", 5))
	assert.Equal(t, "no limit", Clip("no  limit", 0))
}

func TestCallTimeoutCoversEveryAttemptAndBackoff(t *testing.T) {
	cfg := DefaultConfig("x")
	require.NoError(t, cfg.SetTimeout(2e9))
	require.NoError(t, cfg.SetRetry(3, 1e8, 5e9))
	assert.Equal(t, int64(4*2e9+3*5e9), int64(cfg.CallTimeout()))
}

func FuzzRedactor(f *testing.F) {
	f.Add("token=abc&x=1", "secret-1")
	f.Add(`{"e":"eyJa.eyJb.c2ln"}`, "pa\"ss")
	f.Fuzz(func(t *testing.T, s, secret string) {
		r := NewRedactor(secret)
		out := r.Redact(s)
		if len(secret) >= MinSecretLen && !strings.Contains(Redacted, secret) && strings.Contains(out, secret) {
			// The only way a secret survives is as a part created by the replacement
			// text itself, e.g. a secret that overlaps "[REDACTED]" at a boundary.
			if !strings.Contains(strings.ReplaceAll(out, Redacted, ""), secret) {
				return
			}
			t.Fatalf("secret %q survives in %q", secret, out)
		}
	})
}

package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// apiError is a provider-style typed error used by the tests' DecodeError.
type apiError struct {
	Status  int
	Message string
}

func (e *apiError) Error() string { return fmt.Sprintf("api error %d: %s", e.Status, e.Message) }

func decodeAPIError(resp *http.Response, body []byte) error {
	var b struct {
		Error string `json:"error"`
	}
	_ = json.Unmarshal(body, &b)
	return &apiError{Status: resp.StatusCode, Message: b.Error}
}

type harness struct {
	srv    *fake.Server
	client *Client
}

type echo struct {
	Method string `json:"method"`
	Path   string `json:"path"`
	Query  string `json:"query"`
	Body   string `json:"body"`
	Auth   string `json:"auth"`
}

// echoHandler answers every request with what it received.
func echoHandler(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Header().Set("Content-Type", "application/json")
	_ = json.NewEncoder(w).Encode(echo{Method: r.Method, Path: r.URL.EscapedPath(), Query: r.URL.RawQuery, Body: string(b), Auth: r.Header.Get("Authorization")})
}

// setup starts a fake with handler (echo when nil) and a pipeline pointed at it with
// fast retries. mutate adjusts the config before New.
func setup(t *testing.T, handler http.Handler, mutate func(*Config)) *harness {
	t.Helper()
	if handler == nil {
		handler = http.HandlerFunc(echoHandler)
	}
	srv := fake.Start(handler)
	t.Cleanup(srv.Close)
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL(srv.URL()+"/api/v1"))
	require.NoError(t, cfg.SetRetry(3, time.Millisecond, 5*time.Millisecond))
	require.NoError(t, cfg.SetTimeout(2*time.Second))
	cfg.DecodeError = decodeAPIError
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	return &harness{srv: srv, client: c}
}

func TestPostAnswerLostIsSentOnceAndOutcomeUnknown(t *testing.T) {
	h := setup(t, nil, nil)
	h.srv.Inject(1, fake.DropAfter())

	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "payments", Body: map[string]string{"amount": "10.00"}}, nil)

	require.Error(t, err)
	assert.ErrorIs(t, err, ErrOutcomeUnknown)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.OutcomeUnknown)
	assert.Equal(t, 1, te.Attempts)
	assert.Equal(t, 1, h.srv.Count(http.MethodPost, "/api/v1/payments"), "a POST whose answer was lost must reach the server exactly once")
	assert.Contains(t, err.Error(), "check its state before retrying")
}

func TestGetAnswerLostIsRetried(t *testing.T) {
	h := setup(t, nil, nil)
	h.srv.Inject(1, fake.DropAfter())

	var out echo
	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "accounts"}, &out)

	require.NoError(t, err)
	assert.Equal(t, "/api/v1/accounts", out.Path)
	assert.Equal(t, 2, resp.Attempts)
	assert.Equal(t, 2, h.srv.Count(http.MethodGet, "/api/v1/accounts"))
}

func TestPostRefusedAtDialIsRetried(t *testing.T) {
	var dials atomic.Int32
	h := setup(t, nil, func(c *Config) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		d := &net.Dialer{}
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			if dials.Add(1) <= 2 {
				return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
			}
			return d.DialContext(ctx, network, addr)
		}
		require.NoError(t, c.SetHTTPClient(&http.Client{Transport: tr}))
	})

	var out echo
	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "tpv", Body: map[string]int{"n": 1}}, &out)

	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	assert.Equal(t, `{"n":1}`, out.Body, "the retried POST carries the same body")
	assert.Equal(t, 1, h.srv.Count(http.MethodPost, "/api/v1/tpv"), "refused dials never reached the server")
}

func TestPostDialFailuresExhaustedIsNotOutcomeUnknown(t *testing.T) {
	h := setup(t, nil, func(c *Config) {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		tr.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
			return nil, &net.OpError{Op: "dial", Net: network, Err: syscall.ECONNREFUSED}
		}
		require.NoError(t, c.SetHTTPClient(&http.Client{Transport: tr}))
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "tpv"}, nil)
	require.Error(t, err)
	assert.NotErrorIs(t, err, ErrOutcomeUnknown, "the request provably never left")
	assert.ErrorIs(t, err, syscall.ECONNREFUSED)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, 4, te.Attempts)
	assert.Equal(t, 0, len(h.srv.Requests()))
}

func TestPostRetriedOn429And503WithRetryAfter(t *testing.T) {
	for name, f := range map[string]fake.Fault{
		"429":                  fake.Status(http.StatusTooManyRequests, `{"error":"busy"}`),
		"429 with Retry-After": fake.Status(http.StatusTooManyRequests, `{"error":"busy"}`).WithRetryAfter("0"),
		"503 with Retry-After": fake.Status(http.StatusServiceUnavailable, `{"error":"busy"}`).WithRetryAfter("0"),
	} {
		t.Run(name, func(t *testing.T) {
			h := setup(t, nil, nil)
			h.srv.Inject(2, f)
			var out echo
			resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "tpv", Body: []byte(`{"a":1}`)}, &out)
			require.NoError(t, err)
			assert.Equal(t, 3, resp.Attempts)
			assert.Equal(t, `{"a":1}`, out.Body)
			assert.Equal(t, 3, h.srv.Count(http.MethodPost, "/api/v1/tpv"))
		})
	}
}

func TestPostNotRetriedOn5xx(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusServiceUnavailable, http.StatusGatewayTimeout} {
		t.Run(fmt.Sprint(status), func(t *testing.T) {
			h := setup(t, nil, nil)
			h.srv.Inject(1, fake.Status(status, `{"error":"boom"}`))
			_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "tpv"}, nil)
			var ae *apiError
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, status, ae.Status)
			assert.ErrorIs(t, err, ErrOutcomeUnknown, "a 5xx does not say whether the server acted")
			assert.Equal(t, 1, h.srv.Count(http.MethodPost, "/api/v1/tpv"))
		})
	}
}

func TestGetRetriedOn502And504(t *testing.T) {
	h := setup(t, nil, nil)
	h.srv.Inject(1, fake.Status(http.StatusBadGateway, ""))
	h.srv.Inject(1, fake.Status(http.StatusGatewayTimeout, ""))
	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
}

func TestIdempotentOverride(t *testing.T) {
	h := setup(t, nil, nil)
	h.srv.Inject(1, fake.DropAfter())
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "safe", Idempotent: Idempotent(true)}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, h.srv.Count(http.MethodPost, "/api/v1/safe"))

	for _, m := range []string{http.MethodDelete, http.MethodGet} {
		h.srv.ResetRequests()
		// A kept-alive connection first, so that net/http could resend on it.
		_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "warm"}, nil)
		require.NoError(t, err)
		h.srv.Inject(1, fake.DropAfter())
		_, err = h.client.Do(context.Background(), &Request{Method: m, Path: "unsafe", Idempotent: Idempotent(false)}, nil)
		assert.ErrorIs(t, err, ErrOutcomeUnknown, m)
		assert.Equal(t, 1, h.srv.Count(m, "/api/v1/unsafe"), "%s marked non-idempotent is sent once, by us and by net/http", m)
	}
}

func TestPostTimeoutAfterWriteIsOutcomeUnknown(t *testing.T) {
	h := setup(t, nil, func(c *Config) { require.NoError(t, c.SetTimeout(50*time.Millisecond)) })
	h.srv.Inject(1, fake.Delay(500*time.Millisecond))
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "slow"}, nil)
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	assert.Equal(t, 1, h.srv.Count(http.MethodPost, "/api/v1/slow"))
}

func TestCancelledContextDuringPostIsOutcomeUnknown(t *testing.T) {
	h := setup(t, nil, nil)
	h.srv.Inject(1, fake.Delay(time.Second))
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := h.client.Do(ctx, &Request{Method: http.MethodPost, Path: "slow"}, nil)
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.Equal(t, 1, h.srv.Count(http.MethodPost, "/api/v1/slow"))
}

// recordWaits makes the client's waits between attempts return at once, and returns
// what they were asked to wait.
func recordWaits(c *Client) *[]time.Duration {
	var waits []time.Duration
	c.wait = func(ctx context.Context, d time.Duration) error {
		waits = append(waits, d)
		return ctx.Err()
	}
	return &waits
}

func TestRetryAfterHonoured(t *testing.T) {
	h := setup(t, nil, func(c *Config) { require.NoError(t, c.SetRetry(2, time.Millisecond, 2*time.Second)) })
	waits := recordWaits(h.client)
	h.srv.Inject(1, fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("1"))
	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	assert.Equal(t, []time.Duration{time.Second}, *waits, "Retry-After: 1 is waited, not the backoff")
}

func TestRetryAfterLongerThanMaxIsReturned(t *testing.T) {
	h := setup(t, nil, func(c *Config) { require.NoError(t, c.SetRetry(3, time.Millisecond, 2*time.Second)) })
	waits := recordWaits(h.client)
	h.srv.Inject(1, fake.Status(http.StatusTooManyRequests, `{"error":"slow down"}`).WithRetryAfter("3600"))
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "x"}, nil)
	assert.Empty(t, *waits, "must not sleep an hour")
	var ra *RetryAfterError
	require.ErrorAs(t, err, &ra)
	assert.Equal(t, time.Hour, ra.RetryAfter)
	var ae *apiError
	require.ErrorAs(t, err, &ae, "the provider's error for the answer is kept")
	assert.Equal(t, "slow down", ae.Message)
	assert.Contains(t, err.Error(), "1h0m0s")
	assert.Equal(t, 1, len(h.srv.Requests()))
}

func TestFinalAttemptErrorBodyReachesDecoder(t *testing.T) {
	var n atomic.Int32
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
		fmt.Fprintf(w, `{"error":"attempt %d"}`, n.Add(1))
	}), nil)
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusServiceUnavailable, ae.Status)
	assert.Equal(t, "attempt 4", ae.Message, "the last attempt's body is decoded")
	assert.Equal(t, 4, len(h.srv.Requests()))
}

func TestErrorBodyReadIsBounded(t *testing.T) {
	var got int
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(bytes.Repeat([]byte("x"), 3<<20))
	}), func(c *Config) {
		c.DecodeError = func(resp *http.Response, body []byte) error { got = len(body); return nil }
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var he *HTTPError
	require.ErrorAs(t, err, &he)
	assert.Equal(t, MaxErrorBodyBytes, got)
}

// countingSource is an auth.Source + Invalidate that hands out numbered tokens.
type countingSource struct {
	cache *auth.Cache
	n     atomic.Int32
}

func newCountingSource() *countingSource {
	s := &countingSource{}
	s.cache = auth.NewCache(auth.SourceFunc(func(context.Context) (auth.Token, error) {
		return auth.Token{Value: fmt.Sprintf("tok-%d", s.n.Add(1))}, nil
	}))
	return s
}

func TestAuthExpiredReplaysOnceWithNewCredential(t *testing.T) {
	src := newCountingSource()
	var calls atomic.Int32
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if calls.Add(1) == 1 {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"error":"token expired"}`)
			return
		}
		echoHandler(w, r)
	}), func(c *Config) {
		c.Authorizer = HeaderToken{Source: src.cache, Header: "Authorization", Prefix: "Bearer "}
		c.CredentialRejected = func(resp *http.Response, _ error) bool { return resp.StatusCode == http.StatusUnauthorized }
	})
	var out echo
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "tpv", Body: []byte(`{}`)}, &out)
	require.NoError(t, err)
	reqs := h.srv.Requests()
	require.Len(t, reqs, 2, "one replay")
	assert.Equal(t, "Bearer tok-1", reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer tok-2", reqs[1].Header.Get("Authorization"), "the rejected credential was invalidated")
	assert.Equal(t, "Bearer tok-2", out.Auth)
}

func TestAuthExpiredTwiceIsAnErrorNotALoop(t *testing.T) {
	src := newCountingSource()
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusUnauthorized)
		_, _ = io.WriteString(w, `{"error":"nope"}`)
	}), func(c *Config) {
		c.Authorizer = HeaderToken{Source: src.cache, Prefix: "Bearer "}
		c.CredentialRejected = func(resp *http.Response, _ error) bool { return resp.StatusCode == http.StatusUnauthorized }
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusUnauthorized, ae.Status)
	assert.Len(t, h.srv.Requests(), 2)
	assert.Equal(t, int32(2), src.n.Load())
}

func TestAuthorizerRunsOnEveryAttempt(t *testing.T) {
	var n atomic.Int32
	h := setup(t, nil, func(c *Config) {
		c.Authorizer = AuthorizerFunc(func(ctx context.Context, req *http.Request, body []byte) error {
			req.Header["X-Signature"] = []string{fmt.Sprintf("sig-%d-%s", n.Add(1), body)}
			q := req.URL.Query()
			q.Set("timestamp", fmt.Sprint(n.Load()))
			req.URL.RawQuery = q.Encode()
			return nil
		})
	})
	h.srv.Inject(2, fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0"))
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "x", Body: []byte("B")}, nil)
	require.NoError(t, err)
	reqs := h.srv.Requests()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Equal(t, fmt.Sprintf("sig-%d-B", i+1), r.RawHeader("X-Signature")[0])
		assert.Equal(t, fmt.Sprintf("timestamp=%d", i+1), r.RawQuery)
	}
}

func TestAuthorizerErrorIsNotRetried(t *testing.T) {
	var n atomic.Int32
	h := setup(t, nil, func(c *Config) {
		c.Authorizer = AuthorizerFunc(func(context.Context, *http.Request, []byte) error {
			n.Add(1)
			return errors.New("login refused")
		})
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var ae *AuthorizeError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, int32(1), n.Load())
	assert.Empty(t, h.srv.Requests())
}

func TestHeaderNameCaseIsKeptOnTheWire(t *testing.T) {
	h := setup(t, nil, func(c *Config) {
		c.Authorizer = AuthorizerFunc(func(ctx context.Context, req *http.Request, body []byte) error {
			req.Header["DAuth"] = []string{"jwt"}
			return nil
		})
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x", Header: http.Header{"Consent-JWT": {"c"}}}, nil)
	require.NoError(t, err)
	r := h.srv.Requests()[0]
	assert.Equal(t, []string{"jwt"}, r.RawHeader("DAuth"))
	assert.Equal(t, []string{"c"}, r.RawHeader("Consent-JWT"))
	assert.Empty(t, r.RawHeader("Dauth"))
}

func TestPathSegmentsCannotEscape(t *testing.T) {
	h := setup(t, nil, nil)
	for _, seg := range []string{"a/b", "a?x=1", "a#frag", "..%2F..", "%2F", "x/../../admin", "?", "#"} {
		t.Run(seg, func(t *testing.T) {
			p, err := Path("banks", seg, "accounts")
			require.NoError(t, err)
			var out echo
			_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: p}, &out)
			require.NoError(t, err)
			assert.Empty(t, out.Query, "no query may be added")
			parts := strings.Split(strings.TrimPrefix(out.Path, "/"), "/")
			require.Len(t, parts, 5, out.Path)
			assert.Equal(t, []string{"api", "v1", "banks"}, parts[:3])
			assert.Equal(t, "accounts", parts[4])
			un, err := url.PathUnescape(parts[3])
			require.NoError(t, err)
			assert.Equal(t, seg, un, "the segment arrives as one segment, unchanged")
		})
	}
	for _, bad := range []string{"", ".", ".."} {
		_, err := Path("banks", bad)
		assert.Error(t, err, "%q", bad)
	}
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "a/../b"}, nil)
	assert.Error(t, err)
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "a?b=1"}, nil)
	assert.Error(t, err)
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "a/%2e%2e/b"}, nil)
	assert.Error(t, err)
}

func TestResolveLinkStaysOnHost(t *testing.T) {
	h := setup(t, nil, nil)
	u, err := h.client.ResolveLink("/api/v1/accounts/1/transactions?page=2")
	require.NoError(t, err)
	assert.Equal(t, h.srv.URL()+"/api/v1/accounts/1/transactions?page=2", u.String())
	_, err = h.client.ResolveLink("https://evil.example/steal")
	assert.Error(t, err)
	_, err = h.client.ResolveLink("//evil.example/steal")
	assert.Error(t, err)
	_, err = h.client.Do(context.Background(), &Request{URL: &url.URL{Scheme: "http", Host: "evil.example", Path: "/"}}, nil)
	assert.Error(t, err)
}

func TestDoJSONGeneric(t *testing.T) {
	h := setup(t, nil, nil)
	out, err := DoJSON[echo](context.Background(), h.client, "post", "objects/42?expand=1", map[string]int{"a": 1})
	require.NoError(t, err)
	assert.Equal(t, "POST", out.Method)
	assert.Equal(t, "/api/v1/objects/42", out.Path)
	assert.Equal(t, "expand=1", out.Query)
	assert.Equal(t, `{"a":1}`, out.Body)
	_, err = DoJSON[echo](context.Background(), h.client, "GET", "https://other.example/x", nil)
	assert.Error(t, err)
	_, err = DoJSON[echo](context.Background(), h.client, "GET", "../x", nil)
	assert.Error(t, err)
}

func TestSuccessBodyLimitAndRaw(t *testing.T) {
	h := setup(t, nil, func(c *Config) { require.NoError(t, c.SetMaxResponseBytes(1024)) })
	h.srv.Inject(1, fake.Oversized(4096))
	var out map[string]any
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "big"}, &out)
	assert.ErrorIs(t, err, ErrResponseTooLarge)

	h.srv.Inject(1, fake.Malformed())
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "bad"}, &out)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decoding response")

	var raw json.RawMessage
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "raw"}, &raw)
	require.NoError(t, err)
	assert.Contains(t, string(raw), `"path":"/api/v1/raw"`)
}

func TestStreamReturnsOpenBody(t *testing.T) {
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "text/csv")
		_, _ = io.WriteString(w, "a,b\n1,2\n")
	}), nil)
	resp, err := h.client.Stream(context.Background(), &Request{Method: http.MethodGet, Path: "download/1"})
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	assert.Equal(t, "a,b\n1,2\n", string(b))
	assert.Equal(t, "text/csv", resp.Header.Get("Content-Type"))
}

func TestRedirectsAreNotFollowed(t *testing.T) {
	other := fake.Start(http.HandlerFunc(echoHandler))
	t.Cleanup(other.Close)
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.URL()+"/steal", http.StatusFound)
	}), func(c *Config) {
		c.Authorizer = HeaderToken{Source: auth.StaticSource(auth.Token{Value: "s3cret"}), Prefix: "Bearer "}
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusFound, ae.Status)
	assert.Empty(t, other.Requests(), "the credential never travels to another location")
}

func TestConfigValidation(t *testing.T) {
	cfg := DefaultConfig("x")
	_, err := New(cfg)
	assert.ErrorContains(t, err, "base URL: required")
	assert.Error(t, cfg.SetBaseURL("ftp://example.com"))
	assert.Error(t, cfg.SetBaseURL("https://user:pw@example.com"))
	assert.Error(t, cfg.SetBaseURL("https://example.com/?token=x"))
	assert.Error(t, cfg.SetBaseURL("/relative"))
	require.NoError(t, cfg.SetBaseURL("http://bank.example.com/api"))
	_, err = New(cfg)
	assert.ErrorContains(t, err, "plain http")
	cfg.AllowInsecureHTTP = true
	_, err = New(cfg)
	assert.NoError(t, err)
	require.NoError(t, cfg.SetBaseURL("http://127.0.0.1:8080"))
	cfg.AllowInsecureHTTP = false
	_, err = New(cfg)
	assert.NoError(t, err, "loopback may use http")
	assert.Error(t, cfg.SetTimeout(0))
	assert.Error(t, cfg.SetRetry(-1, time.Second, time.Second))
	assert.Error(t, cfg.SetRetry(1, 2*time.Second, time.Second))
	assert.Error(t, cfg.SetLogger(nil))
	assert.Error(t, cfg.SetHTTPClient(nil))
	assert.Error(t, cfg.SetUserAgent("bad\nagent"))
	require.NoError(t, cfg.SetUserAgent("myapp/1.0"))
	assert.Equal(t, "banksdk-go/"+Version+" myapp/1.0", cfg.UserAgent)
}

func TestHTTPClientIsCopiedNotMutated(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	hc := &http.Client{Transport: tr, Timeout: time.Minute}
	srv := fake.Start(http.HandlerFunc(echoHandler))
	t.Cleanup(srv.Close)
	cfg := DefaultConfig("x")
	require.NoError(t, cfg.SetBaseURL(srv.URL()))
	require.NoError(t, cfg.SetHTTPClient(hc))
	c, err := New(cfg)
	require.NoError(t, err)
	_, err = c.Do(context.Background(), &Request{Path: "a"}, nil)
	require.NoError(t, err)
	assert.Same(t, tr, hc.Transport)
	assert.Equal(t, time.Minute, hc.Timeout)
	assert.Nil(t, hc.CheckRedirect)
}

// TestHTTPClientTimeoutAndCheckRedirectAreNotUsed: of the configured HTTP client only
// the Transport and the Jar are used (what every provider's WithHTTPClient says): its
// Timeout does not cut calls (the per-attempt timeout bounds them), and its
// CheckRedirect is never asked (redirects are never followed).
func TestHTTPClientTimeoutAndCheckRedirectAreNotUsed(t *testing.T) {
	var asked atomic.Int32
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	hc := &http.Client{Transport: tr, Timeout: time.Nanosecond,
		CheckRedirect: func(*http.Request, []*http.Request) error { asked.Add(1); return nil }}
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/api/v1/moved" {
			http.Redirect(w, r, "/api/v1/x", http.StatusFound)
			return
		}
		echoHandler(w, r)
	}), func(c *Config) { require.NoError(t, c.SetHTTPClient(hc)) })

	var out echo
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, &out)
	require.NoError(t, err, "a 1 ns http.Client.Timeout does not apply")
	assert.Equal(t, "/api/v1/x", out.Path)

	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "moved"}, nil)
	var ae *apiError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, http.StatusFound, ae.Status)
	assert.Zero(t, asked.Load(), "CheckRedirect was not asked")
	assert.Equal(t, 1, h.srv.Count(http.MethodGet, "/api/v1/moved"))
	assert.Equal(t, 1, h.srv.Count(http.MethodGet, "/api/v1/x"), "only the first call reached /x")
}

func TestUserAgentAndContentType(t *testing.T) {
	h := setup(t, nil, func(c *Config) { require.NoError(t, c.SetUserAgent("shop/2")) })
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "x", Body: map[string]string{"a": "<b>"}}, nil)
	require.NoError(t, err)
	r := h.srv.Requests()[0]
	assert.Equal(t, "banksdk-go/"+Version+" shop/2", r.Header.Get("User-Agent"))
	assert.Equal(t, "application/json", r.Header.Get("Content-Type"))
	assert.Equal(t, "application/json", r.Header.Get("Accept"))
	assert.Equal(t, `{"a":"<b>"}`, string(r.Body), "HTML is not escaped")
}

// TestSecretsNeverLeak sends a login URL carrying token= and _signature=, an
// Authorization header and a secret in the body, through success, API-error and
// transport-error paths, with a debug logger.
func TestSecretsNeverLeak(t *testing.T) {
	const (
		appToken  = "APPTOKEN-9f8e7d"
		signature = "SIGNATURE-1a2b3c"
		bearer    = "BEARER-SECRET-777"
		bodySec   = "BODY-SECRET-555"
	)
	secrets := []string{appToken, signature, bearer, bodySec}
	var logs bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	mode := atomic.Value{}
	mode.Store("ok")
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		switch mode.Load() {
		case "api":
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"bad request"}`)
		default:
			_, _ = io.WriteString(w, `{}`)
		}
	}), func(c *Config) {
		require.NoError(t, c.SetLogger(logger))
		require.NoError(t, c.SetTimeout(100*time.Millisecond))
		c.RequestIDHeaders = []string{"X-Request-ID"}
		c.Authorizer = AuthorizerFunc(func(ctx context.Context, req *http.Request, body []byte) error {
			req.URL.RawQuery = url.Values{"token": {appToken}, "timestamp": {"1700000000"}, "_signature": {signature}}.Encode()
			req.Header["Authorization"] = []string{bearer}
			return nil
		})
	})
	req := func() *Request {
		return &Request{Method: http.MethodPost, Path: "api/v1/auth", Body: map[string]string{"secret": bodySec}}
	}
	var errs []error
	_, err := h.client.Do(context.Background(), req(), nil)
	require.NoError(t, err)
	mode.Store("api")
	_, err = h.client.Do(context.Background(), req(), nil)
	require.Error(t, err)
	errs = append(errs, err)
	h.srv.Inject(1, fake.DropAfter())
	_, err = h.client.Do(context.Background(), req(), nil)
	require.ErrorIs(t, err, ErrOutcomeUnknown)
	errs = append(errs, err)
	h.srv.Inject(1, fake.Delay(time.Second))
	_, err = h.client.Do(context.Background(), req(), nil)
	require.Error(t, err)
	errs = append(errs, err)
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x", Query: url.Values{"token": {appToken}}}, nil)
	require.Error(t, err) // "api" mode
	errs = append(errs, err)

	require.NotEmpty(t, logs.String(), "the debug logger saw the attempts")
	assert.Contains(t, logs.String(), "path=/api/v1/api/v1/auth")
	for _, s := range secrets {
		assert.NotContains(t, logs.String(), s)
		for _, e := range errs {
			assert.NotContains(t, e.Error(), s)
			assert.NotContains(t, fmt.Sprintf("%v %+v", e, e), s)
		}
	}
	// The server did receive them: the test would catch an authorizer that sent nothing.
	assert.Contains(t, h.srv.Requests()[0].RawQuery, "_signature="+signature)
}

func TestRequestIDInResponseAndErrors(t *testing.T) {
	h := setup(t, nil, func(c *Config) { c.RequestIDHeaders = []string{"X-Request-ID"} })
	resp, err := h.client.Do(context.Background(), &Request{Path: "x", Header: http.Header{"X-Request-ID": {"rid-1"}}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "rid-1", resp.RequestID)
	h.srv.Inject(1, fake.DropAfter())
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "x", Header: http.Header{"X-Request-ID": {"rid-2"}}}, nil)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.Equal(t, "rid-2", te.RequestID)
	assert.Contains(t, err.Error(), "rid-2")
	assert.Equal(t, []string{"rid-2"}, h.srv.Requests()[1].Header.Values("X-Request-Id"))
}

func TestNewRequestIDIsUUIDv4(t *testing.T) {
	seen := map[string]bool{}
	for range 100 {
		id := NewRequestID()
		require.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id)
		require.False(t, seen[id])
		seen[id] = true
	}
}

func TestParseRetryAfter(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	cases := []struct {
		in   string
		want time.Duration
		ok   bool
	}{
		{"1", time.Second, true},
		{" 120 ", 2 * time.Minute, true},
		{"0", 0, true},
		{"-1", 0, false},
		{"", 0, false},
		{"soon", 0, false},
		{"1.5", 0, false},
		{now.Add(90 * time.Second).Format(http.TimeFormat), 90 * time.Second, true},
		{now.Add(-time.Hour).Format(http.TimeFormat), 0, true},
		{"99999999999999999999", 0, false},
	}
	for _, c := range cases {
		got, ok := ParseRetryAfter(c.in, now)
		assert.Equal(t, c.ok, ok, c.in)
		assert.Equal(t, c.want, got, c.in)
	}
}

func TestBackoffBounds(t *testing.T) {
	for attempt := range 40 {
		d := Backoff(100*time.Millisecond, 2*time.Second, attempt)
		assert.GreaterOrEqual(t, d, 100*time.Millisecond)
		assert.LessOrEqual(t, d, 2*time.Second)
		if attempt == 0 {
			assert.Equal(t, 100*time.Millisecond, d)
		}
	}
}

func FuzzParseRetryAfter(f *testing.F) {
	for _, s := range []string{"1", "0", "3600", "-5", "", " 7 ", "Wed, 21 Oct 2015 07:28:00 GMT", "Sun, 06 Nov 1994 08:49:37 GMT", "999999999999999999999", "1e3", "\x00"} {
		f.Add(s)
	}
	now := time.Now()
	f.Fuzz(func(t *testing.T, s string) {
		d, ok := ParseRetryAfter(s, now)
		if d < 0 {
			t.Fatalf("negative duration %v for %q", d, s)
		}
		if !ok && d != 0 {
			t.Fatalf("not ok but duration %v for %q", d, s)
		}
	})
}

func TestAttemptTimeoutStartsAfterAuthorization(t *testing.T) {
	// The authorizer takes longer than the per-attempt timeout (a slow login); the
	// attempt still gets its whole timeout afterwards. The timeout is long enough for a
	// loopback request on a loaded machine, so only the rule decides the outcome.
	const timeout = time.Second
	var authorized atomic.Int32
	h := setup(t, nil, func(c *Config) {
		require.NoError(t, c.SetTimeout(timeout))
		c.Authorizer = AuthorizerFunc(func(ctx context.Context, req *http.Request, body []byte) error {
			if authorized.Add(1) == 1 {
				time.Sleep(timeout + timeout/2) // a slow login inside the first authorization
			}
			return nil
		})
	})
	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 1, resp.Attempts)

	h.srv.Inject(1, fake.Delay(time.Minute)) // ends when the client gives up
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "slow"}, nil)
	require.NoError(t, err, "the timed-out GET attempt was retried")
	var ne interface{ Timeout() bool }
	h.srv.Inject(1, fake.Delay(time.Minute))
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "slow"}, nil)
	require.ErrorAs(t, err, &ne)
	assert.True(t, ne.Timeout())
	assert.Contains(t, err.Error(), "attempt timed out after 1s")
}

// TestRejectionWithAnOutcomeUnknownStatusIsNotReplayed: a POST answered 500, 502 or
// 504 whose body the provider's classifier would read as a rejected credential is sent
// once and reported with an unknown outcome; the Authorizer is not asked to renew.
func TestRejectionWithAnOutcomeUnknownStatusIsNotReplayed(t *testing.T) {
	for _, status := range []int{http.StatusInternalServerError, http.StatusBadGateway, http.StatusGatewayTimeout} {
		t.Run(strconv.Itoa(status), func(t *testing.T) {
			var renews atomic.Int32
			h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				w.WriteHeader(status)
				_, _ = io.WriteString(w, `{"error":"token expired"}`)
			}), func(c *Config) {
				c.Authorizer = renewingHeader{renews: &renews}
				c.CredentialRejected = func(*http.Response, error) bool { return true } // classifies by body alone
			})
			_, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "pay", Body: []byte(`{}`)}, nil)
			require.ErrorIs(t, err, ErrOutcomeUnknown)
			assert.Equal(t, 1, h.srv.Count(http.MethodPost, "/api/v1/pay"), "sent once")
			assert.Zero(t, renews.Load(), "no renewal asked")

			// The same rejection to a GET is renewed and replayed once.
			_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "read"}, nil)
			require.Error(t, err)
			assert.Equal(t, int32(1), renews.Load())
		})
	}
}

// renewingHeader sets a header and always asks for a replay, counting the renewals.
type renewingHeader struct{ renews *atomic.Int32 }

func (a renewingHeader) Authorize(_ context.Context, req *http.Request, _ []byte) error {
	req.Header.Set("Authorization", "Bearer t")
	return nil
}

func (a renewingHeader) Renew(context.Context, *http.Request, error) (bool, error) {
	a.renews.Add(1)
	return true, nil
}

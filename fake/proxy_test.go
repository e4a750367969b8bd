package fake

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// backend is a server that counts the requests its handler acted on.
type backend struct {
	*Server
	acted atomic.Int32
}

func startBackend(t *testing.T, opts ...Option) *backend {
	t.Helper()
	b := &backend{}
	b.Server = Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b.acted.Add(1)
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("X-Backend", "yes")
		w.WriteHeader(http.StatusCreated)
		_, _ = io.WriteString(w, `{"id":"pay-1","host":"`+r.Host+`","dauth":"`+strings.Join(RawHeaderNames(r), ",")+`"}`)
	}), opts...)
	t.Cleanup(b.Close)
	return b
}

func startProxy(t *testing.T, target string, opts ...Option) *Server {
	t.Helper()
	p, err := NewBreakingProxy(target, opts...)
	require.NoError(t, err)
	t.Cleanup(p.Close)
	return p
}

func post(t *testing.T, c *http.Client, url string) (*http.Response, []byte, error) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(`{"amount":"10.00"}`))
	require.NoError(t, err)
	req.Header["DAuth"] = []string{"jwt"}
	resp, err := c.Do(req)
	if err != nil {
		return nil, nil, err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	return resp, body, err
}

func TestProxyPassesThrough(t *testing.T) {
	b := startBackend(t)
	p := startProxy(t, b.URL()+"/base")

	resp, body, err := post(t, http.DefaultClient, p.URL()+"/payments?x=1")

	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Equal(t, "yes", resp.Header.Get("X-Backend"))
	var got struct{ ID, Host, DAuth string }
	require.NoError(t, json.Unmarshal(body, &got))
	assert.Equal(t, "pay-1", got.ID)
	assert.Equal(t, strings.TrimPrefix(p.URL(), "http://"), got.Host, "the client's Host is kept")
	assert.Contains(t, strings.Split(got.DAuth, ","), "DAuth", "header names keep their case through the proxy")
	reqs := b.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "/base/payments", reqs[0].Path)
	assert.Equal(t, "x=1", reqs[0].RawQuery)
	assert.Equal(t, `{"amount":"10.00"}`, string(reqs[0].Body))
	assert.Equal(t, []string{"jwt"}, reqs[0].RawHeader("DAuth"))
	assert.Equal(t, 1, p.Count(http.MethodPost, "/payments"))
}

func TestProxyActThenBreaks(t *testing.T) {
	cases := []struct {
		name  string
		fault Fault
		check func(t *testing.T, resp *http.Response, body []byte, err error)
	}{
		{"act-then-status", ActThen(http.StatusGatewayTimeout, `{"error":"upstream timed out"}`), func(t *testing.T, resp *http.Response, body []byte, err error) {
			require.NoError(t, err)
			assert.Equal(t, http.StatusGatewayTimeout, resp.StatusCode)
			assert.Empty(t, resp.Header.Get("X-Backend"), "the server's answer is discarded")
			assert.JSONEq(t, `{"error":"upstream timed out"}`, string(body))
		}},
		{"act-then-status", ActThen(http.StatusServiceUnavailable, "").WithRetryAfter("7"), func(t *testing.T, resp *http.Response, body []byte, err error) {
			require.NoError(t, err)
			assert.Equal(t, http.StatusServiceUnavailable, resp.StatusCode)
			assert.Equal(t, "7", resp.Header.Get("Retry-After"))
			assert.Empty(t, body)
		}},
		{"cut-body", CutBody(), func(t *testing.T, resp *http.Response, body []byte, err error) {
			require.ErrorIs(t, err, io.ErrUnexpectedEOF, "the body breaks off")
			assert.Equal(t, http.StatusCreated, resp.StatusCode, "the server's status arrives")
			assert.Equal(t, "yes", resp.Header.Get("X-Backend"))
			assert.Positive(t, resp.ContentLength)
			assert.Equal(t, int(resp.ContentLength)/2, len(body), "half of the body arrives")
			assert.True(t, strings.HasPrefix(string(body), `{"id":"pay-1"`), string(body))
		}},
		{"act-then-malformed", ActThenMalformed(), func(t *testing.T, resp *http.Response, body []byte, err error) {
			require.NoError(t, err)
			assert.Equal(t, http.StatusCreated, resp.StatusCode)
			assert.Equal(t, "yes", resp.Header.Get("X-Backend"))
			assert.False(t, json.Valid(body), string(body))
		}},
		{"act-then-oversized", ActThenOversized(100 << 10), func(t *testing.T, resp *http.Response, body []byte, err error) {
			require.NoError(t, err)
			assert.Equal(t, http.StatusCreated, resp.StatusCode)
			assert.GreaterOrEqual(t, len(body), 100<<10)
			assert.True(t, json.Valid(body))
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b := startBackend(t)
			p := startProxy(t, b.URL())
			p.Inject(1, c.fault.On(http.MethodPost, "/payments"))

			resp, body, err := post(t, http.DefaultClient, p.URL()+"/payments")

			c.check(t, resp, body, err)
			assert.Equal(t, int32(1), b.acted.Load(), "the server acted once")
			require.Len(t, p.Requests(), 1)
			assert.Equal(t, c.name, p.Requests()[0].Fault)

			// The fault was taken: the next request passes through.
			resp, _, err = post(t, http.DefaultClient, p.URL()+"/payments")
			require.NoError(t, err)
			assert.Equal(t, http.StatusCreated, resp.StatusCode)
			assert.Equal(t, int32(2), b.acted.Load())
		})
	}
}

func TestProxyAnswersWithoutForwarding(t *testing.T) {
	b := startBackend(t)
	p := startProxy(t, b.URL())
	p.Inject(1, Status(http.StatusTooManyRequests, `{"error":"slow down"}`).WithRetryAfter("1"))
	p.Inject(1, DropBefore())

	resp, body, err := post(t, http.DefaultClient, p.URL()+"/payments")
	require.NoError(t, err)
	assert.Equal(t, http.StatusTooManyRequests, resp.StatusCode)
	assert.Equal(t, "1", resp.Header.Get("Retry-After"))
	assert.JSONEq(t, `{"error":"slow down"}`, string(body))

	_, _, err = post(t, http.DefaultClient, p.URL()+"/payments")
	require.Error(t, err)

	assert.Equal(t, int32(0), b.acted.Load(), "the server never saw either request")
	assert.Empty(t, b.Requests())
	assert.Len(t, p.Requests(), 2)
}

func TestProxyOverTLS(t *testing.T) {
	b := startBackend(t, WithTLS(&tls.Config{MinVersion: tls.VersionTLS12}))
	p := startProxy(t, b.URL(), WithTLS(&tls.Config{MinVersion: tls.VersionTLS12}), WithUpstreamTransport(b.Client().Transport))
	p.Inject(1, ActThen(http.StatusBadGateway, ""))

	resp, _, err := post(t, p.Client(), p.URL()+"/payments")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
	resp, body, err := post(t, p.Client(), p.URL()+"/payments")
	require.NoError(t, err)
	assert.Equal(t, http.StatusCreated, resp.StatusCode)
	assert.Contains(t, string(body), "pay-1")
	assert.Equal(t, int32(2), b.acted.Load())
	assert.True(t, strings.HasPrefix(p.URL(), "https://"))
}

func TestProxyUnreachableTargetIs502(t *testing.T) {
	b := Start(http.HandlerFunc(okHandler))
	target := b.URL()
	b.Close()
	p := startProxy(t, target)
	resp, _, err := post(t, http.DefaultClient, p.URL()+"/x")
	require.NoError(t, err)
	assert.Equal(t, http.StatusBadGateway, resp.StatusCode)
}

func TestProxyRejectsBadTargets(t *testing.T) {
	for _, target := range []string{"", "ftp://example.com", "/relative", "http://", "http://u:p@example.com", "http://example.com/?q=1", "http://example.com/#f", "http://[::1"} {
		p, err := NewBreakingProxy(target)
		assert.Error(t, err, target)
		assert.Nil(t, p)
	}
}

// The act-then faults work on a plain fake server too: the handler acts, the answer
// breaks.
func TestServerActThenFaults(t *testing.T) {
	b := startBackend(t)
	b.Inject(1, CutBody())
	_, _, err := post(t, http.DefaultClient, b.URL()+"/payments")
	require.Error(t, err)
	assert.True(t, errors.Is(err, io.ErrUnexpectedEOF), err)
	b.Inject(1, ActThen(http.StatusInternalServerError, ""))
	resp, _, err := post(t, http.DefaultClient, b.URL()+"/payments")
	require.NoError(t, err)
	assert.Equal(t, http.StatusInternalServerError, resp.StatusCode)
	assert.Equal(t, int32(2), b.acted.Load())
	assert.Equal(t, []string{"cut-body", "act-then-status"}, []string{b.Requests()[0].Fault, b.Requests()[1].Fault})
}

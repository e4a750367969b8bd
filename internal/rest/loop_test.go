package rest

import (
	"context"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banksdk/banksdk/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The tests below hold the retry loop (roundTrips) and the attempt transport to what
// http.Client would have done for them: cookies, rewound bodies, drained answers, a
// RoundTripper breaking its contract.

// TestCookieJarOfTheHTTPClient: the configured HTTP client's Jar gets the cookies an
// answer sets and sends them on the next attempt and the next call.
func TestCookieJarOfTheHTTPClient(t *testing.T) {
	jar, err := cookiejar.New(nil)
	require.NoError(t, err)
	var n atomic.Int32
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) == 1 {
			http.SetCookie(w, &http.Cookie{Name: "route", Value: "node-7", Path: "/"})
			w.WriteHeader(http.StatusBadGateway) // a GET: retried
			return
		}
		echoHandler(w, r)
	}), func(c *Config) { require.NoError(t, c.SetHTTPClient(&http.Client{Jar: jar})) })

	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "a"}, nil)
	require.NoError(t, err)
	assert.Equal(t, 2, resp.Attempts)
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "b"}, nil)
	require.NoError(t, err)

	reqs := h.srv.Requests()
	require.Len(t, reqs, 3)
	assert.Empty(t, reqs[0].Header.Get("Cookie"))
	assert.Equal(t, "route=node-7", reqs[1].Header.Get("Cookie"), "the retry carries the cookie")
	assert.Equal(t, "route=node-7", reqs[2].Header.Get("Cookie"), "and so does the next call")
}

// TestEveryAttemptSendsTheWholeBody: a retried POST sends the same bytes with their
// length on every attempt, an empty body is sent as an empty body (not chunked), and
// the attempt's GetBody (net/http's way to resend on a new connection) gives the
// bytes again.
func TestEveryAttemptSendsTheWholeBody(t *testing.T) {
	var rewound []string
	h := setup(t, nil, func(c *Config) {
		c.Authorizer = AuthorizerFunc(func(_ context.Context, req *http.Request, _ []byte) error {
			if req.GetBody == nil {
				return errors.New("no GetBody")
			}
			b, err := req.GetBody()
			if err != nil {
				return err
			}
			data, err := io.ReadAll(b)
			rewound = append(rewound, string(data))
			return err
		})
	})
	h.srv.Inject(2, fake.Status(http.StatusTooManyRequests, `{"error":"busy"}`))

	var out echo
	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "p", Body: []byte(`{"amount":"10.00"}`)}, &out)
	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	for i, r := range h.srv.Requests() {
		assert.Equal(t, `{"amount":"10.00"}`, string(r.Body), "attempt %d", i+1)
		assert.Equal(t, "18", r.Header.Get("Content-Length"), "attempt %d", i+1)
	}
	assert.Equal(t, []string{`{"amount":"10.00"}`, `{"amount":"10.00"}`, `{"amount":"10.00"}`}, rewound)

	h.srv.ResetRequests()
	rewound = nil
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "empty", Body: []byte{}}, nil)
	require.NoError(t, err)
	reqs := h.srv.Requests()
	require.Len(t, reqs, 1)
	assert.Empty(t, reqs[0].Body)
	assert.Equal(t, "0", reqs[0].Header.Get("Content-Length"))
	assert.Empty(t, reqs[0].Header.Get("Transfer-Encoding"))
	assert.Equal(t, []string{""}, rewound)
}

// TestRetriedAnswersLeaveTheirConnectionReusable: the loop reads an answer it lets go,
// so that the retries of a GET answered 503 three times go over one connection.
func TestRetriedAnswersLeaveTheirConnectionReusable(t *testing.T) {
	var n atomic.Int32
	c, conns := countingConnections(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1) <= 3 {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"error":"`+strings.Repeat("busy ", 200)+`"}`)
			return
		}
		echoHandler(w, r)
	}), func(cfg *Config) { require.NoError(t, cfg.SetRetry(3, time.Millisecond, 5*time.Millisecond)) })

	var out echo
	resp, err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, &out)
	require.NoError(t, err)
	assert.Equal(t, 4, resp.Attempts)
	assert.Equal(t, "/x", out.Path)
	assert.Equal(t, int32(1), conns.Load(), "every attempt on the first connection")
}

// closeSignal is a transport that tells when an answer's body is closed.
type closeSignal struct {
	base   http.RoundTripper
	closed chan struct{}
}

func (t *closeSignal) RoundTrip(req *http.Request) (*http.Response, error) {
	resp, err := t.base.RoundTrip(req)
	if resp != nil {
		resp.Body = &signalBody{ReadCloser: resp.Body, closed: t.closed}
	}
	return resp, err
}

type signalBody struct {
	io.ReadCloser
	closed chan struct{}
}

func (b *signalBody) Close() error {
	err := b.ReadCloser.Close()
	select {
	case b.closed <- struct{}{}:
	default:
	}
	return err
}

// countingConnections starts a loopback server with handler and a pipeline pointed at
// it (mutate adjusts its config), and counts the connections the server accepts.
func countingConnections(t *testing.T, handler http.Handler, mutate func(*Config)) (*Client, *atomic.Int32) {
	t.Helper()
	var conns atomic.Int32
	srv := httptest.NewUnstartedServer(handler)
	srv.Config.ConnState = func(_ net.Conn, s http.ConnState) {
		if s == http.StateNew {
			conns.Add(1)
		}
	}
	srv.Start()
	t.Cleanup(srv.Close)
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL(srv.URL))
	if mutate != nil {
		mutate(&cfg)
	}
	c, err := New(cfg)
	require.NoError(t, err)
	t.Cleanup(c.CloseIdleConnections)
	return c, &conns
}

// TestCancelDuringBackoffEndsTheCall: the caller's context ending while the loop waits
// to retry ends the call at once with the context's error, after one attempt.
func TestCancelDuringBackoffEndsTheCall(t *testing.T) {
	tr := &closeSignal{base: http.DefaultTransport.(*http.Transport).Clone(), closed: make(chan struct{}, 1)}
	t.Cleanup(tr.base.(*http.Transport).CloseIdleConnections)
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.WriteHeader(http.StatusServiceUnavailable)
	}), func(c *Config) {
		require.NoError(t, c.SetRetry(3, time.Hour, time.Hour))
		require.NoError(t, c.SetHTTPClient(&http.Client{Transport: tr}))
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.client.Do(ctx, &Request{Method: http.MethodGet, Path: "x"}, nil)
		done <- err
	}()
	select {
	case <-tr.closed: // the loop let the first answer go: it waits to retry
	case <-time.After(10 * time.Second):
		t.Fatal("the first answer was never let go")
	}
	cancel()
	select {
	case err := <-done:
		var te *TransportError
		require.ErrorAs(t, err, &te)
		assert.ErrorIs(t, err, context.Canceled)
		assert.Equal(t, 1, te.Attempts)
	case <-time.After(10 * time.Second):
		t.Fatal("the call went on waiting to retry after its context was cancelled")
	}
	assert.Len(t, h.srv.Requests(), 1)
}

// answerAndError is a RoundTripper breaking its contract: it returns an answer and an
// error.
type answerAndError struct{ closed atomic.Bool }

func (t *answerAndError) RoundTrip(req *http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Header: http.Header{},
		Body: &closeFlag{Reader: strings.NewReader(`{}`), closed: &t.closed}, Request: req}, errors.New("broken transport")
}

type closeFlag struct {
	io.Reader
	closed *atomic.Bool
}

func (c *closeFlag) Close() error { c.closed.Store(true); return nil }

// TestRoundTripperWithAnswerAndError: the error wins and the answer is closed, as
// http.Client does; a POST that got no connection is not reported as outcome unknown.
func TestRoundTripperWithAnswerAndError(t *testing.T) {
	tr := &answerAndError{}
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL("https://bank.example"))
	require.NoError(t, cfg.SetHTTPClient(&http.Client{Transport: tr}))
	require.NoError(t, cfg.SetRetry(0, time.Millisecond, time.Millisecond))
	c, err := New(cfg)
	require.NoError(t, err)

	_, err = c.Do(context.Background(), &Request{Method: http.MethodPost, Path: "x", Body: []byte(`{}`)}, nil)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.ErrorContains(t, err, "broken transport")
	assert.True(t, tr.closed.Load(), "the answer that came with the error is closed")
}

// TestCallWithADoneContextSendsNothing: a call whose context is already done fails
// with the context's error before anything is sent or authorised (no login, no token
// taken), whatever its method.
func TestCallWithADoneContextSendsNothing(t *testing.T) {
	var authorised atomic.Int32
	h := setup(t, nil, func(c *Config) {
		c.Authorizer = AuthorizerFunc(func(context.Context, *http.Request, []byte) error {
			authorised.Add(1)
			return nil
		})
	})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	for _, m := range []string{http.MethodGet, http.MethodPost} {
		for i := 0; i < 50; i++ {
			_, err := h.client.Do(ctx, &Request{Method: m, Path: "x", Body: []byte(`{}`)}, nil)
			var te *TransportError
			require.ErrorAs(t, err, &te, "%s, call %d", m, i)
			assert.ErrorIs(t, err, context.Canceled)
			assert.False(t, te.OutcomeUnknown, "nothing was sent")
		}
	}
	assert.Empty(t, h.srv.Requests(), "nothing reached the server")
	assert.Zero(t, authorised.Load(), "nothing was authorised")
}

// TestFailedCallLeavesTheCallersTransportAlone: a call that ends with a transport error
// does not close the idle connections of a transport that came with the caller's HTTP
// client (others may share it); another client on it keeps its connection.
func TestFailedCallLeavesTheCallersTransportAlone(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	shared := &http.Client{Transport: tr}
	c, conns := countingConnections(t, http.HandlerFunc(echoHandler), func(cfg *Config) { require.NoError(t, cfg.SetHTTPClient(shared)) })
	_, err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "a"}, nil)
	require.NoError(t, err)

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	dead := "http://" + ln.Addr().String()
	require.NoError(t, ln.Close()) // nothing listens there: every dial is refused
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL(dead))
	require.NoError(t, cfg.SetHTTPClient(shared))
	require.NoError(t, cfg.SetRetry(0, time.Millisecond, time.Millisecond))
	other, err := New(cfg)
	require.NoError(t, err)
	_, err = other.Do(context.Background(), &Request{Method: http.MethodGet, Path: "b"}, nil)
	var te *TransportError
	require.ErrorAs(t, err, &te)

	_, err = c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "c"}, nil)
	require.NoError(t, err)
	assert.Equal(t, int32(1), conns.Load(), "the first client's idle connection was kept")
}

// TestEmptyPortIsNotSentInTheHost: a base URL with an empty port ("host:") sends the
// Host header without it, as http.NewRequest does.
func TestEmptyPortIsNotSentInTheHost(t *testing.T) {
	var hosts []string
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL("https://api.example:/v1"))
	require.NoError(t, cfg.SetHTTPClient(&http.Client{Transport: roundTripFunc(func(r *http.Request) (*http.Response, error) {
		hosts = append(hosts, r.Host)
		return &http.Response{StatusCode: http.StatusNoContent, Body: http.NoBody, Header: http.Header{}, Request: r}, nil
	})}))
	c, err := New(cfg)
	require.NoError(t, err)
	_, err = c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	require.NoError(t, err)
	assert.Equal(t, []string{"api.example"}, hosts)
}

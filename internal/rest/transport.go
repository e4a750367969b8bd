package rest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"sync/atomic"
	"time"
)

// Authorizer adds credentials to one attempt of a request. It runs inside the retry
// loop, so every attempt is signed afresh (new timestamp, new JWT, new nonce). body is
// the exact request body. Set header names that servers match case-sensitively by
// direct map assignment (req.Header["DAuth"] = ...), never with Header.Set.
type Authorizer interface {
	Authorize(ctx context.Context, req *http.Request, body []byte) error
}

// AuthorizerFunc adapts a function to Authorizer.
type AuthorizerFunc func(ctx context.Context, req *http.Request, body []byte) error

// Authorize calls f.
func (f AuthorizerFunc) Authorize(ctx context.Context, req *http.Request, body []byte) error {
	return f(ctx, req, body)
}

// Renewer is implemented by an Authorizer that owns what the provider's rejection of
// its credential means. It is the one place a rejected credential is handled: the
// provider's Config.CredentialRejected only classifies an answer (a pure function), and
// the pipeline asks the Authorizer of the request, at most once per call, whether to
// replay it.
//
// Renew is told that the provider refused the credential that req (the attempt as
// sent, headers included) carried; apiErr is the provider's decoded error. It renews
// that credential if it can (a compare-and-swap on exactly the credential sent, so
// that concurrent rejections renew once) and reports whether the pipeline should
// replay the request once with a fresh attempt. A rejected credential means the
// provider did not process the request, so the replay is safe for every method. A
// non-nil err becomes the call's error in place of apiErr (it should wrap apiErr), so
// that an Authorizer can tell the caller that a session is over.
type Renewer interface {
	Renew(ctx context.Context, req *http.Request, apiErr error) (replay bool, err error)
}

// Leaser is implemented by an Authorizer that must hold its credential while an
// attempt is in flight, e.g. so that a token is not rotated while a request carrying
// it is on its way. release is called once the answer's headers arrived or the
// attempt failed.
type Leaser interface {
	AuthorizeLease(ctx context.Context, req *http.Request, body []byte) (release func(), err error)
}

type stateKey struct{}

// callState follows one logical request (all its attempts) through retryablehttp,
// which hands CheckRetry only the request's context.
type callState struct {
	idempotent bool
	authz      Authorizer
	body       []byte
	method     string

	attempts  atomic.Int32
	gotConn   atomic.Bool            // the current attempt obtained a connection
	lastQuery atomic.Pointer[string] // the query as sent (an Authorizer may add secrets)

	// Set by checkRetry, read after Do returns (same goroutine chain, ordered by Do).
	outcomeUnknown bool
	retryAfter     time.Duration
}

func stateFrom(ctx context.Context) *callState {
	st, _ := ctx.Value(stateKey{}).(*callState)
	return st
}

// attemptTransport runs under retryablehttp: it authorises, traces and logs each
// attempt.
type attemptTransport struct {
	base http.RoundTripper
	// fresh is base without keep-alives, for non-idempotent requests with a method
	// net/http considers replayable (nil when base is not an *http.Transport).
	fresh  http.RoundTripper
	client *Client
}

func (t *attemptTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	st := stateFrom(ctx)
	r := req
	attempt := 1
	release := func() {}
	if st != nil {
		attempt = int(st.attempts.Add(1))
		st.gotConn.Store(false)
		if st.authz != nil {
			r = req.Clone(ctx) // a RoundTripper must not modify the caller's request
			var err error
			if l, ok := st.authz.(Leaser); ok {
				release, err = l.AuthorizeLease(ctx, r, st.body)
			} else {
				err = st.authz.Authorize(ctx, r, st.body)
			}
			if err != nil {
				if req.Body != nil {
					_ = req.Body.Close()
				}
				return nil, &AuthorizeError{Err: err}
			}
		}
		if !st.idempotent {
			// Whether a connection was made decides if a failed POST may be retried.
			trace := &httptrace.ClientTrace{
				GotConn: func(httptrace.GotConnInfo) { st.gotConn.Store(true) },
			}
			r = r.WithContext(httptrace.WithClientTrace(ctx, trace))
		}
	}
	if st != nil {
		st.lastQuery.Store(&r.URL.RawQuery)
	}
	// The per-attempt timeout starts after authorisation (a login inside Authorize
	// has its own), and covers the answer's body until it is closed.
	actx, cancel := context.WithTimeout(r.Context(), t.client.cfg.Timeout)
	r = r.WithContext(actx)
	rt := t.base
	if st != nil && !st.idempotent && t.fresh != nil && replayedByNetHTTP(r.Method) {
		rt = t.fresh
	}
	start := time.Now()
	resp, err := rt.RoundTrip(r)
	release()
	if err != nil {
		if actx.Err() != nil && ctx.Err() == nil {
			err = &attemptTimeoutError{d: t.client.cfg.Timeout, err: err}
		}
		cancel()
	} else {
		resp.Body = &cancelBody{ReadCloser: resp.Body, cancel: cancel}
	}
	t.client.logAttempt(ctx, r, resp, err, attempt, time.Since(start))
	if resp != nil && resp.Request == nil {
		resp.Request = r
	}
	return resp, err
}

// cancelBody releases the attempt's timeout when the body is closed.
type cancelBody struct {
	io.ReadCloser
	cancel context.CancelFunc
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	b.cancel()
	return err
}

// attemptTimeoutError is an attempt that ran out of its per-attempt timeout while the
// caller's context was still live.
type attemptTimeoutError struct {
	d   time.Duration
	err error
}

func (e *attemptTimeoutError) Error() string {
	return "attempt timed out after " + e.d.String() + ": " + e.err.Error()
}
func (e *attemptTimeoutError) Unwrap() error { return e.err }
func (e *attemptTimeoutError) Timeout() bool { return true }

// CloseIdleConnections forwards to the base transport.
func (t *attemptTransport) CloseIdleConnections() {
	for _, rt := range []http.RoundTripper{t.base, t.fresh} {
		if c, ok := rt.(interface{ CloseIdleConnections() }); ok {
			c.CloseIdleConnections()
		}
	}
}

// replayedByNetHTTP reports the methods net/http itself resends after a failure on a
// reused connection.
func replayedByNetHTTP(method string) bool {
	switch method {
	case http.MethodGet, http.MethodHead, http.MethodOptions, http.MethodTrace:
		return true
	}
	return false
}

func (c *Client) logAttempt(ctx context.Context, r *http.Request, resp *http.Response, err error, attempt int, d time.Duration) {
	level := slog.LevelDebug
	if err != nil {
		level = slog.LevelWarn
	}
	if !c.log.Enabled(ctx, level) {
		return
	}
	attrs := make([]slog.Attr, 0, 9)
	attrs = append(attrs,
		slog.String("provider", c.cfg.Provider),
		slog.String("method", r.Method),
		slog.String("host", r.URL.Host),
		slog.String("path", r.URL.EscapedPath()),
		slog.Int("attempt", attempt),
		slog.Duration("duration", d),
	)
	if resp != nil {
		attrs = append(attrs, slog.Int("status", resp.StatusCode))
	}
	if id := c.requestID(r, resp); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", scrub(unwrapURLError(err), r.URL.RawQuery).Error()))
	}
	c.log.LogAttrs(ctx, level, "banksdk http attempt", attrs...)
}

// requestID returns the first configured request-id header found in the answer,
// then in the request.
func (c *Client) requestID(r *http.Request, resp *http.Response) string {
	for _, h := range c.cfg.RequestIDHeaders {
		if resp != nil {
			if v := resp.Header.Get(h); v != "" {
				return v
			}
		}
		if r != nil {
			if v := HeaderValue(r.Header, h); v != "" {
				return v
			}
		}
	}
	return ""
}

// HeaderValue reads a header set either canonically (Header.Set) or by direct map
// assignment under a non-canonical name (OBP's "DAuth"), whichever is present.
func HeaderValue(h http.Header, name string) string {
	if v := h.Get(name); v != "" {
		return v
	}
	if vs := h[name]; len(vs) > 0 {
		return vs[0]
	}
	return ""
}

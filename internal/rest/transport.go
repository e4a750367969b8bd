package rest

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"slices"
	"strings"
	"sync"
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

// callState follows one logical request through its attempts: what every attempt
// sends, and what the retry policy learns from them.
type callState struct {
	ctx        context.Context // the caller's
	idempotent bool
	authz      Authorizer
	body       []byte
	method     string
	url        *url.URL // as built (not formatted and parsed again); every attempt sends a copy

	// What every attempt's header holds besides the caller's header (read-only).
	header      http.Header
	addAccept   bool
	contentType []string

	attempts  atomic.Int32
	gotConn   atomic.Bool            // the current attempt obtained a connection
	lastQuery atomic.Pointer[string] // the query as sent (an Authorizer may add secrets)
	trace     *httptrace.ClientTrace // for requests that are not idempotent; made once

	// Set by checkRetry, read after roundTrips returns (same goroutine).
	outcomeUnknown bool
	retryAfter     time.Duration
}

// getBody is the request's GetBody: net/http rewinds a body with it when it resends a
// request on a new connection.
func (st *callState) getBody() (io.ReadCloser, error) {
	return st.bodyFrom(new(bodyReader)), nil
}

// bodyFrom returns the call's body read from the start through r, or http.NoBody for
// an empty one.
func (st *callState) bodyFrom(r *bodyReader) io.ReadCloser {
	if len(st.body) == 0 {
		return http.NoBody
	}
	r.Reset(st.body)
	return r
}

// bodyReader is an attempt's request body: the call's bytes, read from the start.
type bodyReader struct{ bytes.Reader }

func (*bodyReader) Close() error { return nil }

// attemptHeader composes one attempt's header in a map of its own, sized for the
// caller's headers, the pipeline's and a few from the Authorizer. Values are shared
// with the caller's header and between attempts, clipped so that appending to one
// (Header.Add) copies it.
func (st *callState) attemptHeader(c *Client) http.Header {
	h := make(http.Header, len(st.header)+4)
	for k, vs := range st.header {
		h[k] = slices.Clip(vs)
	}
	if st.addAccept {
		h["Accept"] = c.jsonType
	}
	h["User-Agent"] = c.userAgent
	if st.contentType != nil {
		h["Content-Type"] = st.contentType
	}
	return h
}

// clientTrace records whether the current attempt obtained a connection, which decides
// if a failed request that is not idempotent may be retried.
func (st *callState) clientTrace() *httptrace.ClientTrace {
	if st.trace == nil {
		st.trace = &httptrace.ClientTrace{GotConn: func(httptrace.GotConnInfo) { st.gotConn.Store(true) }}
	}
	return st.trace
}

// attemptTransport sends one attempt of a call: it authorises, traces and logs it.
type attemptTransport struct {
	base http.RoundTripper
	// fresh is base without keep-alives, for non-idempotent requests with a method
	// net/http considers replayable (nil when base is not an *http.Transport).
	fresh  http.RoundTripper
	jar    http.CookieJar // the configured HTTP client's, or nil
	client *Client
}

// attempt is what one attempt owns besides its copy of the request: the URL (the
// Authorizer may change the request's header and URL, and the next attempt starts
// from the call's again), the request body's reader, the attempt's context under the
// per-attempt timeout and the answer body's wrapper that ends it.
type attempt struct {
	url     url.URL
	reqBody bodyReader
	ctx     attemptCtx
	body    cancelBody
}

func noRelease() {}

// roundTrip sends the next attempt of the call st.
func (t *attemptTransport) roundTrip(st *callState) (*http.Response, error) {
	n := int(st.attempts.Add(1))
	st.gotConn.Store(false)
	ctx := st.ctx
	// The attempt's request is made with its context, which follows ctx until sendVia
	// starts the timeout (the request literal stays on the stack: WithContext copies
	// it). Its Host has no empty port, as with http.NewRequest.
	a := &attempt{url: *st.url, ctx: attemptCtx{parent: ctx}}
	r := (&http.Request{Method: st.method, URL: &a.url, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header: st.attemptHeader(t.client), Host: strings.TrimSuffix(a.url.Host, ":")}).WithContext(&a.ctx)
	if st.body != nil {
		r.Body = st.bodyFrom(&a.reqBody)
		r.ContentLength = int64(len(st.body))
		r.GetBody = st.getBody
	}
	release := noRelease
	if st.authz != nil {
		var err error
		if l, ok := st.authz.(Leaser); ok {
			release, err = l.AuthorizeLease(ctx, r, st.body)
		} else {
			err = st.authz.Authorize(ctx, r, st.body)
		}
		if err != nil {
			return nil, &AuthorizeError{Err: err}
		}
	}
	if t.jar != nil {
		for _, ck := range t.jar.Cookies(r.URL) {
			r.AddCookie(ck)
		}
	}
	st.lastQuery.Store(&r.URL.RawQuery)
	sctx := ctx
	if !st.idempotent {
		sctx = httptrace.WithClientTrace(ctx, st.clientTrace())
	}
	rt := t.base
	if !st.idempotent && t.fresh != nil && replayedByNetHTTP(r.Method) {
		rt = t.fresh
	}
	resp, err := t.sendVia(sctx, rt, r, a, n, release)
	if t.jar != nil && resp != nil {
		if cks := resp.Cookies(); len(cks) > 0 {
			t.jar.SetCookies(r.URL, cks)
		}
	}
	return resp, err
}

// sendVia sends the authorised attempt r, whose context is a.ctx, with ctx under the
// per-attempt timeout, which starts now (after authorisation: a login inside Authorize
// has its own) and covers the answer's body until it is closed. a.body is the body
// wrapper that ends the timeout.
func (t *attemptTransport) sendVia(ctx context.Context, rt http.RoundTripper, r *http.Request, a *attempt, n int, release func()) (*http.Response, error) {
	start := time.Now()
	timeout := t.client.cfg.Timeout
	var pool *sync.Pool
	if releasesContext(rt) {
		pool = &t.client.attemptTimers
	}
	timed := false
	if dl, ok := ctx.Deadline(); !ok || dl.After(start.Add(timeout)) {
		// Only when the caller's own deadline does not come first.
		a.ctx.start(pool, ctx, start.Add(timeout), timeout)
		timed = true
	} else {
		a.ctx.parent = ctx
	}
	resp, err := rt.RoundTrip(r)
	release()
	switch {
	case resp == nil && err == nil:
		// A RoundTripper breaking its contract (a caller's transport): an error, as
		// http.Client reports it, rather than a nil answer the pipeline would read.
		err = fmt.Errorf("RoundTripper %T returned a nil *http.Response with a nil error", rt)
	case resp != nil && err != nil:
		// The other breach: the error wins, as in http.Client, and the answer is let go.
		if resp.Body != nil {
			_ = resp.Body.Close()
		}
		resp = nil
	}
	if err != nil {
		if timed {
			if a.ctx.Err() != nil && ctx.Err() == nil {
				err = &attemptTimeoutError{d: timeout, err: err}
			}
			a.ctx.finish(pool)
		}
	} else if timed {
		a.body = cancelBody{ReadCloser: resp.Body, pool: pool}
		a.body.attempt.Store(&a.ctx)
		resp.Body = &a.body
	}
	t.client.logAttempt(ctx, r, resp, err, n, time.Since(start))
	if resp != nil && resp.Request == nil {
		resp.Request = r
	}
	return resp, err
}

// contextReleaser is a RoundTripper that, like *http.Transport, keeps nothing of a
// request's context once the request is over (answer body closed, or error returned).
type contextReleaser interface {
	releasesRequestContext()
}

// releasesContext reports whether rt lets go of a request's context when the request
// ends, so that an attempt's timer may be reused (see attemptCtx).
func releasesContext(rt http.RoundTripper) bool {
	switch rt.(type) {
	case *http.Transport, contextReleaser:
		return true
	}
	return false
}

// cancelBody ends the attempt's timeout when the body is closed.
type cancelBody struct {
	io.ReadCloser
	attempt atomic.Pointer[attemptCtx] // nil once closed
	pool    *sync.Pool
}

func (b *cancelBody) Close() error {
	err := b.ReadCloser.Close()
	if a := b.attempt.Swap(nil); a != nil {
		a.finish(b.pool)
	}
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
	if id := c.requestID(r.Header, resp); id != "" {
		attrs = append(attrs, slog.String("request_id", id))
	}
	if err != nil {
		attrs = append(attrs, slog.String("error", scrub(unwrapURLError(err), r.URL.RawQuery).Error()))
	}
	c.log.LogAttrs(ctx, level, "banksdk http attempt", attrs...)
}

// requestID returns the first configured request-id header found in the answer,
// then in the request's header.
func (c *Client) requestID(reqHeader http.Header, resp *http.Response) string {
	for _, h := range c.requestIDHeaders {
		if resp != nil {
			if v := headerValue(resp.Header, h.canonical, h.name, false); v != "" {
				return v
			}
		}
		if v := headerValue(reqHeader, h.canonical, h.name, true); v != "" {
			return v
		}
	}
	return ""
}

// headerName is a header name as configured and in its canonical form, which
// Header.Get would compute (and allocate) on every call.
type headerName struct {
	name, canonical string
}

func headerNames(names []string) []headerName {
	out := make([]headerName, len(names))
	for i, n := range names {
		out[i] = headerName{name: n, canonical: http.CanonicalHeaderKey(n)}
	}
	return out
}

// HeaderValue reads a header set either canonically (Header.Set) or by direct map
// assignment under a non-canonical name (OBP's "DAuth"), whichever is present.
func HeaderValue(h http.Header, name string) string {
	var buf [64]byte
	if c, ok := canonicalKey(buf[:0], name); ok {
		// A map index by string(bytes) does not allocate.
		if vs := h[string(c)]; len(vs) > 0 && vs[0] != "" {
			return vs[0]
		}
		if vs := h[name]; len(vs) > 0 {
			return vs[0]
		}
		return ""
	}
	return headerValue(h, http.CanonicalHeaderKey(name), name, true)
}

// canonicalKey appends to buf the canonical form of a header name made of letters,
// digits and '-' (what http.CanonicalHeaderKey returns for it), without allocating
// when buf has room; ok is false for any other name.
func canonicalKey(buf []byte, name string) (key []byte, ok bool) {
	upper := true
	for i := 0; i < len(name); i++ {
		c := name[i]
		switch {
		case 'a' <= c && c <= 'z':
			if upper {
				c -= 'a' - 'A'
			}
		case 'A' <= c && c <= 'Z':
			if !upper {
				c += 'a' - 'A'
			}
		case '0' <= c && c <= '9', c == '-':
		default:
			return nil, false
		}
		buf = append(buf, c)
		upper = c == '-'
	}
	return buf, len(name) > 0
}

// headerValue is HeaderValue (or Header.Get, without direct) with the canonical name
// given.
func headerValue(h http.Header, canonical, name string, direct bool) string {
	if vs := h[canonical]; len(vs) > 0 && vs[0] != "" {
		return vs[0]
	}
	if vs := h[name]; direct && len(vs) > 0 {
		return vs[0]
	}
	return ""
}

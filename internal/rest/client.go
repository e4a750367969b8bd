package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

// Client is one provider client's request pipeline. It is safe for concurrent use.
type Client struct {
	cfg          Config
	base         *url.URL
	basePath     string // base's escaped path without its trailing slash
	log          *slog.Logger
	at           *attemptTransport // sends each attempt (see roundTrips for the loop)
	ownTransport bool              // the base transport is a clone this client made

	// Header values every attempt carries, shared by all of them: an attempt's
	// header map is its own, and its values are replaced, never written in place.
	userAgent []string
	jsonType  []string // "application/json", for Accept and Content-Type

	requestIDHeaders []headerName // cfg.RequestIDHeaders

	attemptTimers sync.Pool // of *attemptTimer: the per-attempt timeout's parts, reused
	bodyBuffers   sync.Pool // of *[]byte: what Do reads a JSON body of known length into (see decode)

	// wait waits d before a retry, or until ctx ends (then it returns ctx's error);
	// sleepCtx unless a test replaced it.
	wait func(ctx context.Context, d time.Duration) error
}

// New validates cfg and builds the pipeline.
func New(cfg Config) (*Client, error) {
	base, err := cfg.validate()
	if err != nil {
		return nil, err
	}
	c := &Client{cfg: cfg, base: base, basePath: strings.TrimSuffix(base.EscapedPath(), "/"), log: cfg.Logger,
		userAgent: []string{cfg.UserAgent}, jsonType: []string{"application/json"},
		requestIDHeaders: headerNames(cfg.RequestIDHeaders)}
	c.at = &attemptTransport{client: c}
	c.wait = sleepCtx
	if c.ownTransport, err = cfg.buildTransport(c.at); err != nil {
		return nil, err
	}
	return c, nil
}

// CloseIdleConnections closes the idle connections of the transport the pipeline
// created itself; a transport that came with the caller's HTTP client is left alone,
// since others may share it.
func (c *Client) CloseIdleConnections() {
	if c.ownTransport {
		c.at.CloseIdleConnections()
	}
}

// BaseURL returns a copy of the base URL.
func (c *Client) BaseURL() *url.URL {
	u := *c.base
	return &u
}

// Config returns a copy of the configuration the client was built with.
func (c *Client) Config() Config { return c.cfg }

// Logger returns the client's logger.
func (c *Client) Logger() *slog.Logger { return c.log }

// ResolveLink resolves a link from a response (an absolute URL, an absolute path or a
// relative reference) against the base URL. It refuses links to another scheme or
// host, so credentials never travel elsewhere.
func (c *Client) ResolveLink(href string) (*url.URL, error) {
	ref, err := url.Parse(strings.TrimSpace(href))
	if err != nil {
		return nil, fmt.Errorf("link: %w", err)
	}
	if ref.User != nil {
		return nil, errors.New("link: must not contain user information")
	}
	u := c.base.ResolveReference(ref)
	if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
		return nil, fmt.Errorf("link %q: points to another host than the base URL", redactURL(u))
	}
	u.Fragment = ""
	return u, nil
}

// Request is one logical API call.
type Request struct {
	Method string
	// Path is an escaped path relative to the base URL; build it with Path.
	Path string
	// URL, when set, is used instead of Path (a link from ResolveLink).
	URL *url.URL
	// Query is added to the URL.
	Query url.Values
	// Header is sent as is on every attempt; its keys are not canonicalised.
	Header http.Header
	// Body is sent as is when it is a []byte (with ContentType) and encoded as JSON
	// once otherwise; nil sends no body.
	Body        any
	ContentType string
	// Authorizer overrides the client's Authorizer for this call.
	Authorizer Authorizer
	// Idempotent overrides the classification by method (see Idempotent). A GET,
	// HEAD or OPTIONS marked false also takes a fresh connection, because net/http
	// itself resends those once when a kept-alive connection turns out to be dead
	// (this needs the transport to be an *http.Transport).
	Idempotent *bool
	// NoAuthReplay disables the single replay after an auth-expired answer.
	NoAuthReplay bool
}

// Response describes a successful answer.
type Response struct {
	StatusCode int
	Header     http.Header
	Attempts   int
	RequestID  string
	// NonIdempotent reports that the request was sent as one that changes state (see
	// Request.Idempotent): if its body cannot be used, the outcome is unknown, and a
	// caller that decodes the body itself reports that through UndecodableSuccess.
	NonIdempotent bool
	// Body is the open answer body for Stream; nil for Do.
	Body io.ReadCloser

	provider, method string      // for UndecodableSuccess
	url              *url.URL    // as built by the pipeline, before any Authorizer; redacted when reported
	body             limitedBody // what Do reads the body through, made with the Response
}

// UndecodableSuccess is the error for a 2xx answer whose body the caller could not use
// (not JSON, a missing field, ...), for provider code that decodes bodies itself after
// Do. For a request that changes state the server acted but the caller cannot tell the
// result: err is wrapped in an *OutcomeUnknownError, which matches ErrOutcomeUnknown.
// For an idempotent request, or a nil resp, err is returned as is. err must not carry
// secrets.
func UndecodableSuccess(resp *Response, err error) error {
	if err == nil || resp == nil || !resp.NonIdempotent {
		return err
	}
	return &OutcomeUnknownError{Provider: resp.provider, Method: resp.method, URL: redactURL(resp.url),
		RequestID: resp.RequestID, StatusCode: resp.StatusCode, Err: err}
}

// Do sends req and decodes a 2xx JSON answer into out: a pointer to any JSON type,
// *json.RawMessage or *[]byte for the raw bytes, or nil to discard. An empty body
// leaves out untouched. A non-2xx answer returns the provider's error. For a request
// that changes state, a 2xx body that breaks off, is not valid JSON for out or exceeds
// the size limit, and an error status that does not say whether the server acted
// (see ErrOutcomeUnknown), return an error matching ErrOutcomeUnknown.
func (c *Client) Do(ctx context.Context, req *Request, out any) (*Response, error) {
	resp, meta, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if err := c.decode(resp, meta, out); err != nil {
		return nil, err
	}
	return meta, nil
}

// Stream sends req and returns the open body of a 2xx answer in Response.Body, for
// downloads. The caller must close it. The per-attempt timeout also bounds reading it.
func (c *Client) Stream(ctx context.Context, req *Request) (*Response, error) {
	resp, meta, err := c.send(ctx, req)
	if err != nil {
		return nil, err
	}
	meta.Body = resp.Body
	return meta, nil
}

// DoJSON is the generic escape hatch behind every provider's Do[T]: method and a
// relative reference such as "objects/42?expand=1", with the client's authorisation,
// retries and errors.
func DoJSON[T any](ctx context.Context, c *Client, method, ref string, body any) (T, error) {
	var out T
	if c == nil {
		return out, errors.New("nil client")
	}
	p, q, err := SplitRelative(ref)
	if err != nil {
		return out, err
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		return out, errors.New("method: must not be empty")
	}
	_, err = c.Do(ctx, &Request{Method: method, Path: p, Query: q, Body: body}, &out)
	return out, err
}

func (c *Client) buildURL(req *Request) (*url.URL, error) {
	var u *url.URL
	if req.URL != nil {
		cp := *req.URL
		u = &cp
		if u.Scheme != c.base.Scheme || u.Host != c.base.Host {
			return nil, fmt.Errorf("URL %q: points to another host than the base URL", redactURL(u))
		}
	} else {
		var err error
		if u, err = joinPath(c.base, c.basePath, req.Path); err != nil {
			return nil, err
		}
	}
	if len(req.Query) > 0 {
		q := u.Query()
		for k, vs := range req.Query {
			for _, v := range vs {
				q.Add(k, v)
			}
		}
		u.RawQuery = q.Encode()
	}
	return u, nil
}

func (c *Client) encodeBody(req *Request) ([]byte, string, error) {
	switch b := req.Body.(type) {
	case nil:
		return nil, "", nil
	case []byte:
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		return b, ct, nil
	case json.RawMessage:
		return b, "application/json", nil
	default:
		var buf bytes.Buffer
		enc := json.NewEncoder(&buf)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(b); err != nil {
			return nil, "", fmt.Errorf("encoding request body: %w", err)
		}
		ct := req.ContentType
		if ct == "" {
			ct = "application/json"
		}
		return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), ct, nil
	}
}

// send runs the retry loop and at most one auth-expired replay. On success the
// answer's body is open.
func (c *Client) send(ctx context.Context, req *Request) (*http.Response, *Response, error) {
	if req == nil {
		return nil, nil, errors.New("nil request")
	}
	method := req.Method
	if method == "" {
		method = http.MethodGet
	}
	if !validMethod(method) {
		return nil, nil, fmt.Errorf("%s: invalid method %q", c.cfg.Provider, method)
	}
	u, err := c.buildURL(req)
	if err != nil {
		return nil, nil, err
	}
	body, ct, err := c.encodeBody(req)
	if err != nil {
		return nil, nil, err
	}
	authz := req.Authorizer
	if authz == nil {
		authz = c.cfg.Authorizer
	}
	idem := idempotentMethod(method)
	if req.Idempotent != nil {
		idem = *req.Idempotent
	}
	// The headers every attempt sends besides the caller's, composed per attempt into
	// one fresh map (see callState.attemptHeader): the caller's Header is never
	// modified and never copied as a whole.
	var contentType []string
	noHeader := len(req.Header) == 0
	if ct != "" && (noHeader || req.Header.Get("Content-Type") == "") {
		if ct == c.jsonType[0] {
			contentType = c.jsonType
		} else {
			contentType = []string{ct}
		}
	}
	addAccept := noHeader || req.Header.Get("Accept") == ""

	for replay := 0; ; replay++ {
		st := &callState{ctx: ctx, idempotent: idem, authz: authz, body: body, method: method,
			header: req.Header, addAccept: addAccept, contentType: contentType, url: u}
		resp, err := c.roundTrips(st)
		attempts := int(st.attempts.Load())
		if err != nil {
			secrets := []string{u.RawQuery}
			if q := st.lastQuery.Load(); q != nil {
				secrets = append(secrets, *q)
			}
			return nil, nil, &TransportError{
				Provider:       c.cfg.Provider,
				Method:         method,
				URL:            redactURL(u),
				RequestID:      c.requestID(req.Header, nil),
				Attempts:       attempts,
				OutcomeUnknown: st.outcomeUnknown,
				Err:            scrub(unwrapURLError(err), secrets...),
			}
		}
		meta := &Response{
			StatusCode:    resp.StatusCode,
			Header:        resp.Header,
			Attempts:      attempts,
			RequestID:     c.requestID(req.Header, resp),
			NonIdempotent: !idem,
			provider:      c.cfg.Provider,
			method:        method,
			url:           u,
		}
		if resp.StatusCode >= 200 && resp.StatusCode < 300 && st.retryAfter == 0 {
			return resp, meta, nil
		}
		errBody, _ := io.ReadAll(io.LimitReader(resp.Body, MaxErrorBodyBytes))
		resp.Body.Close()
		apiErr := c.decodeError(resp, errBody)
		if st.retryAfter > 0 {
			return nil, nil, &RetryAfterError{RetryAfter: st.retryAfter, MaxWait: c.cfg.RetryWaitMax, Err: apiErr}
		}
		// A status that leaves the outcome of a request that changes state unknown (a
		// gateway's 502 or 504, a 500) is never taken for a rejected credential, whatever
		// its body says: the server may have acted, so the request is not replayed.
		mayHaveActed := !idem && outcomeUnknownStatus(resp)
		if replay == 0 && !req.NoAuthReplay && !mayHaveActed && c.cfg.CredentialRejected != nil && c.cfg.CredentialRejected(resp, apiErr) {
			// The one place that decides renew-and-replay: the Authorizer that attached
			// the credential renews it, and the request is replayed at most once.
			if rn, ok := authz.(Renewer); ok {
				again, rerr := rn.Renew(ctx, resp.Request, apiErr)
				if rerr != nil {
					return nil, nil, rerr
				}
				if again {
					c.log.LogAttrs(ctx, slog.LevelInfo, "banksdk credential rejected; renewed, replaying once",
						slog.String("provider", c.cfg.Provider), slog.String("method", method), slog.String("path", u.EscapedPath()),
						slog.Int("status", resp.StatusCode))
					continue
				}
			}
		}
		if mayHaveActed {
			// A gateway can answer 502 or 504, and a server 500, after the request was
			// carried out: the caller must look before sending it again.
			return nil, nil, &OutcomeUnknownError{Provider: c.cfg.Provider, Method: method, URL: redactURL(u),
				RequestID: meta.RequestID, StatusCode: resp.StatusCode, Err: apiErr}
		}
		return nil, nil, apiErr
	}
}

// validMethod reports whether m is an HTTP token, as net/http requires of a method.
func validMethod(m string) bool {
	if m == "" {
		return false
	}
	for i := 0; i < len(m); i++ {
		switch b := m[i]; {
		case 'a' <= b && b <= 'z', 'A' <= b && b <= 'Z', '0' <= b && b <= '9':
		case strings.IndexByte("!#$%&'*+-.^_`|~", b) >= 0:
		default:
			return false
		}
	}
	return true
}

func (c *Client) decodeError(resp *http.Response, body []byte) error {
	if c.cfg.DecodeError != nil {
		if err := c.cfg.DecodeError(resp, body); err != nil {
			return err
		}
	}
	return &HTTPError{StatusCode: resp.StatusCode, Raw: body}
}

// decode reads a 2xx body into out, once: a JSON value is decoded through a size
// limit, from a reused buffer holding the body when its length was announced and as
// it arrives when not; raw bytes are kept only for *[]byte and *json.RawMessage. For
// a request that changes state, a body that cannot be used leaves the outcome
// unknown: the server answered success, but the caller cannot tell what it did.
func (c *Client) decode(resp *http.Response, meta *Response, out any) error {
	limit := c.cfg.MaxResponseBytes
	if out == nil {
		// The status alone is the answer: the body does not matter.
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, limit))
		return nil
	}
	body := &meta.body
	*body = limitedBody{r: resp.Body, left: limit}
	switch o := out.(type) {
	case *[]byte:
		data, _ := body.readAll(resp.ContentLength)
		if err := c.bodyError(resp, meta, body); err != nil {
			return err
		}
		*o = data
		return nil
	case *json.RawMessage:
		data, _ := body.readAll(resp.ContentLength)
		if err := c.bodyError(resp, meta, body); err != nil {
			return err
		}
		if blankJSON(data) {
			return nil // an empty body leaves out untouched
		}
		if !json.Valid(data) {
			return c.undecodable(meta, errors.New("decoding response: body is not valid JSON"))
		}
		*o = data
		return nil
	}
	if n := resp.ContentLength; n >= 0 && n < body.left {
		return c.decodeKnownLength(resp, meta, body, out)
	}
	dec := json.NewDecoder(body)
	err := dec.Decode(out)
	if err == nil && dec.Decode(new(struct{})) != io.EOF {
		// Only white space may follow the value. The second Decode also reads the
		// body to its end, so that the connection can be reused.
		err = errTrailingData
	}
	if err != nil && err != io.EOF {
		// Read the rest within the limit, as if the body had been read whole first: a
		// body that also breaks off or is too large is reported as such.
		_, _ = io.Copy(io.Discard, body)
	}
	if berr := c.bodyError(resp, meta, body); berr != nil {
		return berr
	}
	switch err {
	case nil:
		return nil
	case io.EOF:
		return nil // an empty body leaves out untouched
	}
	return c.undecodable(meta, fmt.Errorf("decoding response: %w", err))
}

// maxPooledBody is the largest body buffer decode keeps for the next answer.
const maxPooledBody = 256 << 10

// decodeKnownLength is decode for a body whose length the answer announced (within
// the limit): the body is read whole into a buffer reused between calls, and decoded
// from it with json.Unmarshal. That reads and scans the bytes as
// json.Decoder would (it too holds the whole value before decoding it), without the
// decoder, its growing buffer and the second Decode that finds the body's end.
// Nothing decoded keeps the buffer: encoding/json copies what it stores, and an
// UnmarshalJSON method must copy what it keeps (json.Unmarshaler's contract).
func (c *Client) decodeKnownLength(resp *http.Response, meta *Response, body *limitedBody, out any) error {
	size := body.sizeFor(resp.ContentLength)
	bp, _ := c.bodyBuffers.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	if int64(cap(*bp)) < size {
		*bp = make([]byte, 0, size)
	}
	data, _ := body.readInto((*bp)[:0])
	defer func() {
		if cap(data) <= maxPooledBody {
			*bp = data[:0]
			c.bodyBuffers.Put(bp)
		}
	}()
	if err := c.bodyError(resp, meta, body); err != nil {
		return err
	}
	if blankJSON(data) {
		return nil // an empty body leaves out untouched
	}
	if err := json.Unmarshal(data, out); err != nil {
		return c.undecodable(meta, fmt.Errorf("decoding response: %w", err))
	}
	return nil
}

// jsonSpace is the white space JSON allows around a value. A body of nothing else is
// empty; any other character (\v, U+00A0 ...) makes it undecodable, as it makes a JSON
// text invalid.
const jsonSpace = " \t\r\n"

// blankJSON reports whether a body holds nothing but JSON white space: an empty body.
func blankJSON(b []byte) bool { return len(bytes.TrimLeft(b, jsonSpace)) == 0 }

// errTrailingData is a body holding more than one JSON value.
var errTrailingData = errors.New("invalid data after the JSON value")

// bodyError reports what went wrong reading a success body, if anything: a read error
// (a body that broke off) or a body over the size limit.
func (c *Client) bodyError(resp *http.Response, meta *Response, body *limitedBody) error {
	switch {
	case body.err != nil:
		return &TransportError{Provider: c.cfg.Provider, Method: meta.method, URL: redactURL(meta.url),
			RequestID: meta.RequestID, Attempts: meta.Attempts, OutcomeUnknown: meta.NonIdempotent,
			Err: fmt.Errorf("reading response body: %w", scrub(unwrapURLError(body.err), resp.Request.URL.RawQuery))}
	case body.over:
		return c.undecodable(meta, fmt.Errorf("%w (%d bytes)", ErrResponseTooLarge, c.cfg.MaxResponseBytes))
	}
	return nil
}

// limitedBody reads a body up to a size limit and records how reading ended: a body
// longer than the limit (found by reading one byte past it, never more) or a read
// error other than io.EOF. Both stop further reads.
type limitedBody struct {
	r    io.Reader
	left int64 // bytes that may still be read within the limit
	over bool  // the body is longer than the limit
	err  error // the first read error other than io.EOF
}

func (b *limitedBody) Read(p []byte) (int, error) {
	switch {
	case b.over:
		return 0, ErrResponseTooLarge
	case b.err != nil:
		return 0, b.err
	}
	if int64(len(p)) > b.left {
		p = p[:b.left+1] // one byte past the limit tells a body that is too long
	}
	n, err := b.r.Read(p)
	if int64(n) > b.left {
		n = int(b.left)
		b.left, b.over = 0, true
		return n, ErrResponseTooLarge
	}
	b.left -= int64(n)
	if err != nil && err != io.EOF {
		b.err = err
	}
	return n, err
}

// readAll reads the rest of the body within the limit, sized from the announced
// length when there is one.
func (b *limitedBody) readAll(length int64) ([]byte, error) {
	return b.readInto(make([]byte, 0, b.sizeFor(length)))
}

// sizeFor is the room to make for a body of the announced length (-1: not announced)
// before any of it arrived: one byte more than the length, for the read that meets
// the end, but at most maxInitialRoom (an announcement is not a body: the room grows
// as bytes arrive).
func (b *limitedBody) sizeFor(length int64) int64 {
	if length >= 0 && length < b.left {
		return min(length+1, maxInitialRoom)
	}
	return 512
}

// maxInitialRoom is the most sizeFor makes room for before a body's bytes arrive.
const maxInitialRoom = 1 << 20

// readInto appends the rest of the body within the limit to data, growing it when
// the body is longer than its room.
func (b *limitedBody) readInto(data []byte) ([]byte, error) {
	for {
		if len(data) == cap(data) {
			data = append(data, 0)[:len(data)]
		}
		n, err := b.Read(data[len(data):cap(data)])
		data = data[:len(data)+n]
		if err == io.EOF {
			return data, nil
		}
		if err != nil {
			return data, err
		}
	}
}

// undecodable is the error for a 2xx body Do could not use.
func (c *Client) undecodable(meta *Response, err error) error {
	if meta.NonIdempotent {
		return UndecodableSuccess(meta, err)
	}
	return fmt.Errorf("%s: %w", c.cfg.Provider, err)
}

package fake

import (
	"bytes"
	"context"
	"crypto/tls"
	"fmt"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"strconv"
	"strings"
	"sync"
	"time"
)

// Server is an httptest server with a request log and fault injection in front of a
// provider's handler. It is safe for concurrent use.
type Server struct {
	ts *httptest.Server

	mu       sync.Mutex
	requests []Request
	faults   []*pending

	closers []func() // run by Close, after the server stopped
}

// Option configures a Server.
type Option func(*serverConfig)

type serverConfig struct {
	tls      *tls.Config
	upstream http.RoundTripper
	listener net.Listener
}

// WithTLS serves HTTPS with the given configuration (certificates, client
// authentication). Over TLS the raw header capture is not available: Request.RawHeaders
// is nil and Request.Header holds the canonicalised names.
func WithTLS(cfg *tls.Config) Option {
	return func(c *serverConfig) { c.tls = cfg }
}

// WithListener serves on ln instead of a fresh loopback listener on a free port, e.g.
// to serve a fake on a fixed address: the caller listens (and handles the error of an
// address in use) and the server takes ln over, closing it on Close. The server's URL
// is built from ln's address.
func WithListener(ln net.Listener) Option {
	return func(c *serverConfig) { c.listener = ln }
}

// Start serves h behind the request log and the fault injector.
func Start(h http.Handler, opts ...Option) *Server {
	var cfg serverConfig
	for _, o := range opts {
		o(&cfg)
	}
	s := &Server{}
	ts := httptest.NewUnstartedServer(s.middleware(h))
	if cfg.listener != nil {
		_ = ts.Listener.Close()
		ts.Listener = cfg.listener
	}
	// Refused handshakes (a client without a certificate, in mTLS tests) are expected:
	// keep them out of the test output; everything else still goes to stderr.
	ts.Config.ErrorLog = log.New(dropLines{w: os.Stderr, contains: "TLS handshake error"}, "", log.LstdFlags)
	if cfg.tls != nil {
		ts.TLS = cfg.tls
		ts.StartTLS()
	} else {
		ts.Listener = &recordingListener{Listener: ts.Listener}
		ts.Config.ConnContext = func(ctx context.Context, c net.Conn) context.Context {
			if rc, ok := c.(*recordingConn); ok {
				return context.WithValue(ctx, connKey{}, rc)
			}
			return ctx
		}
		ts.Start()
	}
	s.ts = ts
	return s
}

// URL is the server's base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.ts.URL }

// Client returns an *http.Client configured for the server (it trusts the server's
// certificate when serving TLS).
func (s *Server) Client() *http.Client { return s.ts.Client() }

// Certificate returns the server's TLS certificate, or nil for plain HTTP.
func (s *Server) Certificate() *tls.Certificate {
	if s.ts.TLS == nil || len(s.ts.TLS.Certificates) == 0 {
		return nil
	}
	return &s.ts.TLS.Certificates[0]
}

// Close shuts the server down and closes its connections.
func (s *Server) Close() {
	s.ts.CloseClientConnections()
	s.ts.Close()
	for _, f := range s.closers {
		f()
	}
}

// Requests returns a copy of every request received so far, in arrival order,
// including requests that a fault answered or dropped.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Request, len(s.requests))
	copy(out, s.requests)
	return out
}

// Count returns how many requests matched method and path exactly ("" matches any
// method).
func (s *Server) Count(method, path string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, r := range s.requests {
		if (method == "" || r.Method == method) && r.Path == path {
			n++
		}
	}
	return n
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() {
	s.mu.Lock()
	s.requests = nil
	s.mu.Unlock()
}

// Inject makes the next n requests that match f take fault f. Faults queue up in the
// order they were injected; each request takes at most one.
func (s *Server) Inject(n int, f Fault) {
	if n <= 0 {
		return
	}
	s.mu.Lock()
	s.faults = append(s.faults, &pending{f: f, left: n})
	s.mu.Unlock()
}

// ClearFaults drops every fault not yet taken.
func (s *Server) ClearFaults() {
	s.mu.Lock()
	s.faults = nil
	s.mu.Unlock()
}

// Reset drops every fault not yet taken and empties the request log, in one step.
func (s *Server) Reset() {
	s.mu.Lock()
	s.faults = nil
	s.requests = nil
	s.mu.Unlock()
}

type pending struct {
	f    Fault
	left int
}

func (s *Server) take(r *http.Request) (Fault, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, p := range s.faults {
		if p.f.matches(r) {
			p.left--
			if p.left == 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			return p.f, true
		}
	}
	return Fault{}, false
}

func (s *Server) record(rec Request) {
	s.mu.Lock()
	s.requests = append(s.requests, rec)
	s.mu.Unlock()
}

func (s *Server) middleware(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := Request{
			Proto:    r.Proto,
			Method:   r.Method,
			Path:     r.URL.Path,
			RawPath:  r.URL.EscapedPath(),
			RawQuery: r.URL.RawQuery,
			Header:   r.Header.Clone(),
			Time:     time.Now(),
		}
		if rc, ok := r.Context().Value(connKey{}).(*recordingConn); ok {
			rec.RawHeaders = rc.takeHead(r)
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 64<<20))
		_ = r.Body.Close()
		rec.Body = body
		r.Body = io.NopCloser(bytes.NewReader(body))

		f, faulted := s.take(r)
		if faulted {
			rec.Fault = f.kind.String()
		}
		s.record(rec)
		if !faulted {
			h.ServeHTTP(w, r)
			return
		}
		f.apply(w, r, h)
	})
}

// Request is one request as the server received it.
type Request struct {
	Proto    string // "HTTP/1.1", "HTTP/2.0"
	Method   string
	Path     string // decoded path
	RawPath  string // path as escaped on the wire
	RawQuery string
	// Header is the header as net/http parsed it (canonical names).
	Header http.Header
	// RawHeaders are the header lines exactly as they arrived (name case preserved, in
	// order, duplicates kept). Nil over TLS.
	RawHeaders []HeaderField
	Body       []byte
	Time       time.Time
	// Fault names the injected fault that answered this request, or "".
	Fault string
}

// HeaderField is one header line as received.
type HeaderField struct {
	Name, Value string
}

// RawHeader returns the values of every header line whose name is exactly name
// (case-sensitive), in order.
func (r Request) RawHeader(name string) []string {
	var out []string
	for _, f := range r.RawHeaders {
		if f.Name == name {
			out = append(out, f.Value)
		}
	}
	return out
}

// HeaderNames returns every header name exactly as received, in order.
func (r Request) HeaderNames() []string {
	out := make([]string, 0, len(r.RawHeaders))
	for _, f := range r.RawHeaders {
		out = append(out, f.Name)
	}
	return out
}

// DuplicateHeaderNames reports header names that arrived more than once, compared
// case-insensitively, as received on the wire.
func DuplicateHeaderNames(r *http.Request) []string {
	rc, ok := r.Context().Value(connKey{}).(*recordingConn)
	if !ok {
		return nil
	}
	return duplicates(rc.lastHeadFor(r))
}

// RawHeaderNames returns the header names of r exactly as they arrived on the wire,
// in order, or nil when the server cannot see them (TLS). Handlers of the provider
// fakes use it to enforce case-sensitive header names.
func RawHeaderNames(r *http.Request) []string {
	rc, ok := r.Context().Value(connKey{}).(*recordingConn)
	if !ok {
		return nil
	}
	fields := rc.lastHeadFor(r)
	out := make([]string, 0, len(fields))
	for _, f := range fields {
		out = append(out, f.Name)
	}
	return out
}

func duplicates(fields []HeaderField) []string {
	seen := map[string]int{}
	var out []string
	for _, f := range fields {
		k := strings.ToLower(f.Name)
		seen[k]++
		if seen[k] == 2 {
			out = append(out, f.Name)
		}
	}
	return out
}

// FaultKind says what a fault does.
type FaultKind int

// The fault kinds.
const (
	// KindStatus answers with a status (and optional Retry-After and body) without
	// running the handler.
	KindStatus FaultKind = iota + 1
	// KindDropBefore closes the connection before the handler runs: the request was
	// not processed, and the client sees a transport error.
	KindDropBefore
	// KindDropAfter runs the handler and then closes the connection without sending
	// its answer: the request was processed, and the client never learns the outcome.
	KindDropAfter
	// KindDelay waits before running the handler.
	KindDelay
	// KindMalformed answers 200 with a truncated JSON body without running the handler.
	KindMalformed
	// KindOversized answers with a valid JSON body of at least Size bytes without
	// running the handler.
	KindOversized
	// KindActThenStatus runs the handler, discards its answer and answers a status
	// instead, as a gateway that gave up on a backend that did act.
	KindActThenStatus
	// KindCutBody runs the handler and sends its status, its headers and half of its
	// body, announcing the full length, then closes the connection.
	KindCutBody
	// KindActThenMalformed runs the handler and sends its status and headers with a
	// truncated JSON body instead of its own.
	KindActThenMalformed
	// KindActThenOversized runs the handler and sends its status and headers with a
	// valid JSON body of at least Size bytes instead of its own.
	KindActThenOversized
)

func (k FaultKind) String() string {
	switch k {
	case KindStatus:
		return "status"
	case KindDropBefore:
		return "drop-before"
	case KindDropAfter:
		return "drop-after"
	case KindDelay:
		return "delay"
	case KindMalformed:
		return "malformed"
	case KindOversized:
		return "oversized"
	case KindActThenStatus:
		return "act-then-status"
	case KindCutBody:
		return "cut-body"
	case KindActThenMalformed:
		return "act-then-malformed"
	case KindActThenOversized:
		return "act-then-oversized"
	}
	return fmt.Sprintf("FaultKind(%d)", int(k))
}

// Fault is one injected misbehaviour. Build it with Status, DropBefore, DropAfter,
// Delay, Malformed or Oversized (which answer in place of the handler, or drop), or
// with ActThen, CutBody, ActThenMalformed or ActThenOversized (which let the handler
// act and then break its answer), then narrow it with On.
type Fault struct {
	kind       FaultKind
	status     int
	retryAfter string
	body       string
	delay      time.Duration
	size       int
	method     string
	pathPrefix string
}

// Status answers with status (and body, if given) without running the handler.
func Status(status int, body string) Fault {
	return Fault{kind: KindStatus, status: status, body: body}
}

// DropBefore closes the connection before the handler runs.
func DropBefore() Fault { return Fault{kind: KindDropBefore} }

// DropAfter runs the handler, then closes the connection without answering.
func DropAfter() Fault { return Fault{kind: KindDropAfter} }

// Delay waits d (or until the client gives up) before running the handler.
func Delay(d time.Duration) Fault { return Fault{kind: KindDelay, delay: d} }

// Malformed answers 200 with a body that is not valid JSON.
func Malformed() Fault { return Fault{kind: KindMalformed} }

// Oversized answers 200 with a JSON document of at least size bytes.
func Oversized(size int) Fault { return Fault{kind: KindOversized, size: size} }

// ActThen runs the handler (the server acts), discards its answer and answers status
// with body instead, as a gateway that timed out or failed after the backend acted
// (502, 504) or a server that failed after committing (500). WithRetryAfter adds a
// Retry-After header.
func ActThen(status int, body string) Fault {
	return Fault{kind: KindActThenStatus, status: status, body: body}
}

// CutBody runs the handler (the server acts) and sends its status, its headers and
// half of its body with a Content-Length announcing all of it, then closes the
// connection: the client gets the status and a body that breaks off. For answers that
// carry a body.
func CutBody() Fault { return Fault{kind: KindCutBody} }

// ActThenMalformed runs the handler (the server acts) and sends its status and
// headers with a truncated JSON body in place of its own.
func ActThenMalformed() Fault { return Fault{kind: KindActThenMalformed} }

// ActThenOversized runs the handler (the server acts) and sends its status and
// headers with a valid JSON document of at least size bytes in place of its own body.
func ActThenOversized(size int) Fault { return Fault{kind: KindActThenOversized, size: size} }

// WithRetryAfter adds a Retry-After header to a Status or ActThen fault.
func (f Fault) WithRetryAfter(v string) Fault { f.retryAfter = v; return f }

// On limits the fault to requests with this method ("" for any) whose path starts
// with pathPrefix.
func (f Fault) On(method, pathPrefix string) Fault {
	f.method, f.pathPrefix = method, pathPrefix
	return f
}

func (f Fault) matches(r *http.Request) bool {
	if f.method != "" && f.method != r.Method {
		return false
	}
	return strings.HasPrefix(r.URL.Path, f.pathPrefix)
}

func (f Fault) apply(w http.ResponseWriter, r *http.Request, h http.Handler) {
	switch f.kind {
	case KindStatus:
		f.writeStatus(w)
	case KindDropBefore:
		drop(w)
	case KindDropAfter:
		act(h, r)
		drop(w)
	case KindDelay:
		t := time.NewTimer(f.delay)
		defer t.Stop()
		select {
		case <-t.C:
		case <-r.Context().Done():
			return
		}
		h.ServeHTTP(w, r)
	case KindMalformed:
		w.Header().Set("Content-Type", "application/json")
		writeMalformed(w)
	case KindOversized:
		w.Header().Set("Content-Type", "application/json")
		writeOversized(w, f.size)
	case KindActThenStatus:
		act(h, r)
		f.writeStatus(w)
	case KindCutBody:
		rec := act(h, r)
		body := rec.Body.Bytes()
		copyHeader(w.Header(), rec.Header())
		// Promise the whole body (at least one byte), send half of it, and hang up.
		w.Header().Set("Content-Length", strconv.Itoa(max(len(body), 1)))
		w.WriteHeader(rec.Code)
		_, _ = w.Write(body[:len(body)/2])
		_ = http.NewResponseController(w).Flush()
		hangUp(w)
	case KindActThenMalformed:
		rec := act(h, r)
		copyHeader(w.Header(), rec.Header())
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		writeMalformed(w)
	case KindActThenOversized:
		rec := act(h, r)
		copyHeader(w.Header(), rec.Header())
		w.Header().Del("Content-Length")
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(rec.Code)
		writeOversized(w, f.size)
	}
}

// act runs the handler with its answer going to a recorder: the server acts, the
// client does not hear about it.
func act(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, r)
	return rec
}

func (f Fault) writeStatus(w http.ResponseWriter) {
	if f.retryAfter != "" {
		w.Header().Set("Retry-After", f.retryAfter)
	}
	if f.body != "" {
		w.Header().Set("Content-Type", "application/json")
	}
	w.WriteHeader(f.status)
	_, _ = io.WriteString(w, f.body)
}

func writeMalformed(w io.Writer) {
	_, _ = io.WriteString(w, `{"malformed": [1, 2,`)
}

func writeOversized(w io.Writer, size int) {
	_, _ = io.WriteString(w, `{"padding":"`)
	chunk := strings.Repeat("x", 32<<10)
	for n := 0; n < size; n += len(chunk) {
		if _, err := io.WriteString(w, chunk); err != nil {
			return
		}
	}
	_, _ = io.WriteString(w, `"}`)
}

func copyHeader(dst, src http.Header) {
	for k, vs := range src {
		dst[k] = append([]string(nil), vs...)
	}
}

// hangUp closes the connection after what was written so far, in order (no reset, so
// the client reads what was sent before it sees the end). Over HTTP/2 the stream is
// reset instead.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func drop(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	raw := conn
	if tc, ok := conn.(*tls.Conn); ok {
		raw = tc.NetConn()
	}
	if l, ok := raw.(interface{ SetLinger(int) error }); ok {
		_ = l.SetLinger(0) // reset, so the client sees the failure at once
	}
	_ = conn.Close()
}

// dropLines forwards log lines that do not contain a given text.
type dropLines struct {
	w        io.Writer
	contains string
}

func (d dropLines) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte(d.contains)) {
		return len(p), nil
	}
	return d.w.Write(p)
}

type connKey struct{}

type recordingListener struct{ net.Listener }

func (l *recordingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &recordingConn{Conn: c}, nil
}

// recordingConn keeps the bytes read from the connection so that the header block of
// the current request can be read back with its original name casing. HTTP/1.1
// clients do not pipeline, so when a handler runs, the buffer holds that request's
// head (possibly preceded by the previous request's unread body bytes).
type recordingConn struct {
	net.Conn
	mu   sync.Mutex
	buf  []byte
	last []HeaderField
	lreq *http.Request
}

func (c *recordingConn) Read(p []byte) (int, error) {
	n, err := c.Conn.Read(p)
	if n > 0 {
		c.mu.Lock()
		if len(c.buf) < 1<<20 {
			c.buf = append(c.buf, p[:n]...)
		}
		c.mu.Unlock()
	}
	return n, err
}

// SetLinger forwards to the TCP connection so drop() can reset it.
func (c *recordingConn) SetLinger(sec int) error {
	if tc, ok := c.Conn.(*net.TCPConn); ok {
		return tc.SetLinger(sec)
	}
	return nil
}

func (c *recordingConn) takeHead(r *http.Request) []HeaderField {
	c.mu.Lock()
	defer c.mu.Unlock()
	line := []byte(r.Method + " " + r.RequestURI + " " + r.Proto + "\r\n")
	i := bytes.LastIndex(c.buf, line)
	if i < 0 {
		return nil
	}
	rest := c.buf[i+len(line):]
	end := bytes.Index(rest, []byte("\r\n\r\n"))
	if end < 0 {
		return nil
	}
	var fields []HeaderField
	for _, l := range strings.Split(string(rest[:end]), "\r\n") {
		name, value, ok := strings.Cut(l, ":")
		if !ok {
			continue
		}
		fields = append(fields, HeaderField{Name: name, Value: strings.TrimSpace(value)})
	}
	c.buf = append(c.buf[:0], rest[end+4:]...)
	c.last, c.lreq = fields, r
	return fields
}

func (c *recordingConn) lastHeadFor(r *http.Request) []HeaderField {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.lreq != nil && c.lreq.Method == r.Method && c.lreq.RequestURI == r.RequestURI {
		return c.last
	}
	return nil
}

package tpvtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"log/slog"
	"mime"
	"net"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/fake"
)

// Endpoint names one of the portal's endpoints, for WithEndpointMethod.
type Endpoint string

// The endpoints whose method the documentation leaves ambiguous.
const (
	EndpointProducts    Endpoint = "products"     // /api/v1/products
	EndpointDigitalSend Endpoint = "digital/send" // /api/v1/digital/send/{code}
	EndpointQueueCall   Endpoint = "queue/call"   // /api/v1/queue/call/{code}
)

// The paths the fake serves.
const (
	PathAuth     = "/api/v1/auth"
	PathTPV      = "/api/v1/tpv"
	PathProducts = "/api/v1/products"
	// PathDigitalSend and PathQueueCall are followed by "/{confirmation code}".
	PathDigitalSend = "/api/v1/digital/send"
	PathQueueCall   = "/api/v1/queue/call"
	PathTestAPI     = "/api/v1/test/api"
)

// Defaults of the time-based rules.
const (
	DefaultTokenTTL = 30 * time.Minute
	DefaultMaxSkew  = 5 * time.Minute
)

// FirstConfirmationCode is the confirmation code of the first submission a new
// server accepts; later ones count up from it.
const FirstConfirmationCode = "00090894407"

// SignatureFunc computes the Signature header the fake expects for a request whose
// raw body is body.
type SignatureFunc func(r *http.Request, body []byte, appSecret string) string

// Option configures a Server.
type Option func(*config)

type config struct {
	appToken, appSecret string
	tokenTTL, maxSkew   time.Duration
	now                 func() time.Time
	methods             map[Endpoint][]string
	products            json.RawMessage
	sign                SignatureFunc
	concurrentTokens    bool
	fakeOpts            []fake.Option
}

// WithCredentials makes the fake issue these application credentials instead of
// random ones.
func WithCredentials(appToken, appSecret string) Option {
	return func(c *config) { c.appToken, c.appSecret = appToken, appSecret }
}

// WithTokenTTL sets how long an auth token is valid (default 30 minutes).
func WithTokenTTL(d time.Duration) Option { return func(c *config) { c.tokenTTL = d } }

// WithMaxSkew sets how far a login timestamp may be from the fake's clock (default 5
// minutes).
func WithMaxSkew(d time.Duration) Option { return func(c *config) { c.maxSkew = d } }

// WithClock replaces the fake's clock (token expiry and timestamp checks).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithEndpointMethod sets the methods an endpoint accepts (default POST); other
// methods get 405 Method Not Allowed.
func WithEndpointMethod(e Endpoint, methods ...string) Option {
	return func(c *config) { c.methods[e] = slices.Clone(methods) }
}

// WithProducts sets the "success" value /api/v1/products answers with. The
// documentation does not describe the products list; the default is an
// illustrative array with program code "555".
func WithProducts(success json.RawMessage) Option {
	return func(c *config) { c.products = slices.Clone(success) }
}

// WithSignatureFunc replaces the rule that computes the expected Signature header.
func WithSignatureFunc(f SignatureFunc) Option { return func(c *config) { c.sign = f } }

// WithoutSignatureCheck accepts any Signature header, or none.
func WithoutSignatureCheck() Option { return func(c *config) { c.sign = nil } }

// WithConcurrentAuthTokens keeps the auth tokens issued before a login valid until
// they expire. By default a login invalidates them, as the portal (which stores one
// auth token per application credential) is expected to: a request carrying such a
// token gets 400 {"error": "auth token is invalid: ..."}.
func WithConcurrentAuthTokens() Option { return func(c *config) { c.concurrentTokens = true } }

// WithListener serves on ln (e.g. a listener on a fixed port) instead of a fresh
// loopback listener; the server closes it on Close.
func WithListener(ln net.Listener) Option {
	return func(c *config) { c.fakeOpts = append(c.fakeOpts, fake.WithListener(ln)) }
}

// WithTLS serves HTTPS with the given certificate configuration (use Client for an
// *http.Client that trusts it).
func WithTLS(cfg *tls.Config) Option {
	return func(c *config) { c.fakeOpts = append(c.fakeOpts, fake.WithTLS(cfg)) }
}

// DefaultSignature is the fake's default Signature rule: the lowercase hex
// HMAC-SHA256, keyed by the application secret, of the raw query string, or of the
// raw body when the request has no query.
func DefaultSignature(r *http.Request, body []byte, appSecret string) string {
	msg := body
	if r.URL.RawQuery != "" {
		msg = []byte(r.URL.RawQuery)
	}
	m := hmac.New(sha256.New, []byte(appSecret))
	m.Write(msg)
	return hex.EncodeToString(m.Sum(nil))
}

// Submission is one TPV submission the fake accepted.
type Submission struct {
	ConfirmationCode string
	Enrollment       Enrollment
	// Body is the request body as received.
	Body     []byte
	Received time.Time
}

// Server is a running fake portal. It is safe for concurrent use.
type Server struct {
	fs  *fake.Server
	cfg config

	mu             sync.Mutex
	tokens         map[string]authToken
	logins         int
	failedLogins   int
	rejectedTokens int
	submissions    []Submission
	nextCode       int64
	digital        []string
	calls          []string
}

// authToken is an auth token the fake issued.
type authToken struct {
	expires    time.Time
	superseded bool // a later login with the same application credentials replaced it
}

// NewServer starts a fake portal. Close it when done.
func NewServer(opts ...Option) *Server {
	cfg := config{
		tokenTTL: DefaultTokenTTL,
		maxSkew:  DefaultMaxSkew,
		now:      time.Now,
		methods:  map[Endpoint][]string{},
		products: json.RawMessage(`[{"program_code":"555","name":"TPV Test"}]`),
		sign:     DefaultSignature,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.appToken == "" {
		cfg.appToken = "AP" + randomAlnum(46)
	}
	if cfg.appSecret == "" {
		b := make([]byte, 32)
		_, _ = rand.Read(b)
		cfg.appSecret = base64.StdEncoding.EncodeToString(b)
	}
	s := &Server{cfg: cfg}
	s.resetLocked()
	s.fs = fake.Start(http.HandlerFunc(s.serve), cfg.fakeOpts...)
	return s
}

// resetLocked puts the auth tokens, submissions and counters back where a new server
// has them.
func (s *Server) resetLocked() {
	first, _ := strconv.ParseInt(FirstConfirmationCode, 10, 64)
	s.tokens = map[string]authToken{}
	s.logins, s.failedLogins, s.rejectedTokens = 0, 0, 0
	s.submissions, s.digital, s.calls = nil, nil, nil
	s.nextCode = first
}

// Reset puts the portal back where NewServer left it, with the same application
// credentials: no auth token is valid (the next call needs a login), no submission
// is stored (confirmation codes start again at FirstConfirmationCode), the counters
// are zero, and injected faults and the request log are gone.
func (s *Server) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	s.fs.Reset()
}

// String describes the server without its credentials.
func (s *Server) String() string {
	if s == nil || s.fs == nil {
		return "tpvtest.Server{}"
	}
	return "tpvtest.Server{URL: " + s.URL() + ", AppToken: [REDACTED], AppSecret: [REDACTED]}"
}

// GoString describes the server without its credentials.
func (s *Server) GoString() string { return s.String() }

// Format describes the server without its credentials, whatever the verb (a %d or
// %x would otherwise print the fields).
func (s *Server) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue describes the server without its credentials in slog output.
func (s *Server) LogValue() slog.Value { return slog.StringValue(s.String()) }

// URL is the clients portal base URL, e.g. http://127.0.0.1:41234.
func (s *Server) URL() string { return s.fs.URL() }

// Client returns an *http.Client that trusts the server (needed with WithTLS).
func (s *Server) Client() *http.Client { return s.fs.Client() }

// Close shuts the server down.
func (s *Server) Close() { s.fs.Close() }

// AppToken is the application token the fake issued.
func (s *Server) AppToken() string { return s.cfg.appToken }

// AppSecret is the application secret the fake issued.
func (s *Server) AppSecret() string { return s.cfg.appSecret }

// Requests returns every request received so far, in arrival order.
func (s *Server) Requests() []fake.Request { return s.fs.Requests() }

// Count returns how many requests had this method ("" for any) and exact path.
func (s *Server) Count(method, path string) int { return s.fs.Count(method, path) }

// ResetRequests empties the request log.
func (s *Server) ResetRequests() { s.fs.ResetRequests() }

// Inject makes the next n matching requests take fault f (see Fault.On).
func (s *Server) Inject(n int, f fake.Fault) { s.fs.Inject(n, f) }

// ClearFaults drops every injected fault not yet taken.
func (s *Server) ClearFaults() { s.fs.ClearFaults() }

// Logins returns how many logins succeeded.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// FailedLogins returns how many login attempts were rejected.
func (s *Server) FailedLogins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.failedLogins
}

// RejectedAuthTokens returns how many requests were refused because of their auth
// token (missing, unknown, replaced by a newer login, or expired).
func (s *Server) RejectedAuthTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rejectedTokens
}

// ExpireAuthTokens makes every auth token issued so far expired.
func (s *Server) ExpireAuthTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for t, a := range s.tokens {
		a.expires = time.Time{}
		s.tokens[t] = a
	}
}

// AuthTokens returns how many auth tokens are currently valid.
func (s *Server) AuthTokens() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.cfg.now()
	n := 0
	for _, a := range s.tokens {
		if !a.superseded && now.Before(a.expires) {
			n++
		}
	}
	return n
}

// Submissions returns the stored submissions, oldest first.
func (s *Server) Submissions() []Submission {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.submissions)
}

// DigitalSends returns the confirmation codes digital links were sent for, in order.
func (s *Server) DigitalSends() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.digital)
}

// QueuedCalls returns the confirmation codes calls were queued for, in order.
func (s *Server) QueuedCalls() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	p := r.URL.Path
	switch {
	case p == PathAuth:
		if !allowMethod(w, r, []string{http.MethodPost}) {
			return
		}
		s.login(w, r)
	case p == PathTPV:
		if !allowMethod(w, r, []string{http.MethodPost}) {
			return
		}
		body, ok := s.authorize(w, r)
		if ok {
			s.submit(w, r, body)
		}
	case p == PathProducts:
		if !allowMethod(w, r, s.methodsFor(EndpointProducts)) {
			return
		}
		if _, ok := s.authorize(w, r); ok {
			writeJSON(w, http.StatusOK, map[string]json.RawMessage{"success": s.cfg.products})
		}
	case strings.HasPrefix(p, PathDigitalSend+"/"):
		s.perCode(w, r, EndpointDigitalSend, strings.TrimPrefix(p, PathDigitalSend+"/"))
	case strings.HasPrefix(p, PathQueueCall+"/"):
		s.perCode(w, r, EndpointQueueCall, strings.TrimPrefix(p, PathQueueCall+"/"))
	case p == PathTestAPI:
		if _, ok := s.authorize(w, r); ok {
			writeJSON(w, http.StatusOK, map[string]string{"success": "authenticated"})
		}
	default:
		writeError(w, http.StatusNotFound, "not found.")
	}
}

func (s *Server) methodsFor(e Endpoint) []string {
	if m, ok := s.cfg.methods[e]; ok {
		return m
	}
	return []string{http.MethodPost}
}

func allowMethod(w http.ResponseWriter, r *http.Request, methods []string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, "method not allowed.")
	return false
}

func (s *Server) login(w http.ResponseWriter, r *http.Request) {
	q := r.URL.Query()
	token, ts, sig := q.Get("token"), q.Get("timestamp"), q.Get("_signature")
	fail := func(status int, msg string) {
		s.mu.Lock()
		s.failedLogins++
		s.mu.Unlock()
		writeError(w, status, msg)
	}
	if token == "" || ts == "" || sig == "" {
		fail(http.StatusBadRequest, "token, timestamp and _signature are required.")
		return
	}
	unix, err := strconv.ParseInt(ts, 10, 64)
	if err != nil {
		fail(http.StatusBadRequest, "timestamp must be a unix timestamp in seconds.")
		return
	}
	if !hmac.Equal([]byte(token), []byte(s.cfg.appToken)) {
		fail(http.StatusUnauthorized, "invalid application token.")
		return
	}
	want := hmacHex(s.cfg.appSecret, "token="+s.cfg.appToken+"&timestamp="+ts)
	if !hmac.Equal([]byte(sig), []byte(want)) {
		fail(http.StatusUnauthorized, "invalid signature.")
		return
	}
	now := s.cfg.now()
	if d := now.Sub(time.Unix(unix, 0)); d > s.cfg.maxSkew || d < -s.cfg.maxSkew {
		fail(http.StatusUnauthorized, "timestamp is too far from the current time.")
		return
	}
	auth := randomAlnum(48)
	s.mu.Lock()
	if !s.cfg.concurrentTokens {
		for t, a := range s.tokens {
			a.superseded = true
			s.tokens[t] = a
		}
	}
	s.tokens[auth] = authToken{expires: now.Add(s.cfg.tokenTTL)}
	s.logins++
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"auth_token": auth})
}

// authorize checks the Authorization and Signature headers. It returns the request
// body, or false after writing the rejection. Every failure is a 400, as the
// documentation says of all failures.
func (s *Server) authorize(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	var buf bytes.Buffer
	_, _ = buf.ReadFrom(r.Body)
	body := buf.Bytes()

	vals := r.Header.Values("Authorization")
	if len(vals) > 1 {
		writeError(w, http.StatusBadRequest, "more than one Authorization header.")
		return nil, false
	}
	if len(vals) == 1 && strings.HasPrefix(strings.ToLower(vals[0]), "bearer ") {
		writeError(w, http.StatusBadRequest, "auth token must be sent without a Bearer prefix.")
		return nil, false
	}
	if msg := s.checkAuthToken(vals); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return nil, false
	}
	if s.cfg.sign != nil {
		got := r.Header.Get("Signature")
		if got == "" {
			writeError(w, http.StatusForbidden, "missing signature.")
			return nil, false
		}
		want := s.cfg.sign(r, body, s.cfg.appSecret)
		if !hmac.Equal([]byte(got), []byte(want)) {
			writeError(w, http.StatusForbidden, "invalid signature.")
			return nil, false
		}
	}
	return body, true
}

// checkAuthToken returns why the auth token in vals (the Authorization values) is
// refused, or "".
func (s *Server) checkAuthToken(vals []string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	var a authToken
	known := len(vals) == 1 && vals[0] != ""
	if known {
		a, known = s.tokens[vals[0]]
	}
	msg := ""
	switch {
	case len(vals) == 0 || vals[0] == "":
		msg = "missing auth token."
	case !known:
		msg = "invalid auth token."
	case a.superseded:
		msg = "auth token is invalid: a newer login with the same application token replaced it."
	case !s.cfg.now().Before(a.expires):
		msg = "auth token expired."
	}
	if msg != "" {
		s.rejectedTokens++
	}
	return msg
}

func (s *Server) submit(w http.ResponseWriter, r *http.Request, body []byte) {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	if err != nil || mt != "application/json" {
		writeError(w, http.StatusBadRequest, "Content-Type must be application/json.")
		return
	}
	var e Enrollment
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&e); err != nil {
		writeError(w, http.StatusBadRequest, "invalid JSON body: "+err.Error())
		return
	}
	if dec.More() {
		writeError(w, http.StatusBadRequest, "invalid JSON body: trailing data.")
		return
	}
	if msg := e.validate(); msg != "" {
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	s.mu.Lock()
	code := fmt.Sprintf("%011d", s.nextCode)
	s.nextCode++
	s.submissions = append(s.submissions, Submission{
		ConfirmationCode: code,
		Enrollment:       e,
		Body:             slices.Clone(body),
		Received:         s.cfg.now(),
	})
	s.mu.Unlock()
	writeJSON(w, http.StatusOK, map[string]string{"success": code})
}

func (s *Server) perCode(w http.ResponseWriter, r *http.Request, e Endpoint, code string) {
	if !allowMethod(w, r, s.methodsFor(e)) {
		return
	}
	if _, ok := s.authorize(w, r); !ok {
		return
	}
	s.mu.Lock()
	known := slices.ContainsFunc(s.submissions, func(sub Submission) bool { return sub.ConfirmationCode == code })
	if known {
		if e == EndpointDigitalSend {
			s.digital = append(s.digital, code)
		} else {
			s.calls = append(s.calls, code)
		}
	}
	s.mu.Unlock()
	if !known {
		writeError(w, http.StatusBadRequest, "confirmation code not found.")
		return
	}
	msg := "digital link sent."
	if e == EndpointQueueCall {
		msg = "call queued."
	}
	writeJSON(w, http.StatusOK, map[string]string{"success": msg})
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

const alnum = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"

func randomAlnum(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // never fails (Go 1.24+)
	for i := range b {
		b[i] = alnum[int(b[i])%len(alnum)]
	}
	return string(b)
}

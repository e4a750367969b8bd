package khtest

import (
	"bytes"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"mime"
	"net"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/fake"
)

// Server is a fake K&H PSD2 bank: an HTTPS server that requires a client certificate
// from its PKI, enforces the endpoint-token table and the exact `Bearer <JWT>` form,
// issues application and consent tokens, and runs consents, payments and signing
// baskets through redirect or embedded SCA. It is safe for concurrent use.
type Server struct {
	fs     *fake.Server
	page   *fake.Server // the redirect SCA screen (scapage.go)
	pki    *PKI
	routes []route
	cfg    config
	secret []byte

	mu          sync.Mutex
	seq         int
	tokens      map[string]*tokenInfo
	issued      map[string][]string // "app:<id>" or "consent:<id>" -> tokens in issue order
	tpps        map[string]*tpp
	apps        map[string]*app
	payments    map[string]*payment
	consents    map[string]*consent
	baskets     map[string]*basket
	auths       map[string]*authorisation
	byRequestID map[string]string
	downloads   map[string]string // download id -> account resource id
	statusCalls map[string]int
	defaultApp  *app
	defaultTok  string
}

// Option configures a Server.
type Option func(*config)

type config struct {
	pki              *PKI
	appTTL           time.Duration
	consentTTL       time.Duration
	now              func() time.Time
	pageSize         int
	txCount          int
	psuID            string
	password         string
	otp              string
	methods          []ScaMethod
	expiredCode      string
	defaultApproach  string
	loopFrom         int
	loopTo           int
	requireConsentID bool
	downloadBytes    int
	redirectHost     string
	appToken         string
	listener         net.Listener
	scaListener      net.Listener
}

// WithListener serves the bank's API on ln (e.g. a listener on a fixed port) instead
// of a fresh loopback listener; the server closes it on Close.
func WithListener(ln net.Listener) Option { return func(c *config) { c.listener = ln } }

// WithSCAListener serves the redirect SCA screen (SCAURL) on ln instead of a fresh
// loopback listener; the server closes it on Close.
func WithSCAListener(ln net.Listener) Option { return func(c *config) { c.scaListener = ln } }

// WithAppToken makes the application token issued at start for DefaultAppID (AppToken)
// this value instead of a new JWT, so that a configuration holding it stays the same
// from one run to the next. It must have a JWT's shape (three base64url parts
// separated by dots), as every token the fake accepts; another value is ignored. It
// expires like any application token (WithAppTokenTTL).
func WithAppToken(token string) Option {
	return func(c *config) {
		if jwtRE.MatchString(token) {
			c.appToken = token
		}
	}
}

// ScaMethod is an SCA method the fake offers after the PSU's password was accepted.
type ScaMethod struct {
	Type string // authenticationType, e.g. SMS_OTP
	ID   string // authenticationMethodId
	Name string
}

// WithPKI serves with the certificates of p instead of a freshly generated PKI, e.g.
// to share one client certificate between several fakes.
func WithPKI(p *PKI) Option { return func(c *config) { c.pki = p } }

// WithTokenTTL sets how long application and consent tokens stay valid (default one
// hour). An expired token is answered with 401 TOKEN_UNKNOWN.
func WithTokenTTL(d time.Duration) Option {
	return func(c *config) { c.appTTL, c.consentTTL = d, d }
}

// WithAppTokenTTL sets how long application tokens stay valid.
func WithAppTokenTTL(d time.Duration) Option { return func(c *config) { c.appTTL = d } }

// WithConsentTokenTTL sets how long consent tokens stay valid.
func WithConsentTokenTTL(d time.Duration) Option { return func(c *config) { c.consentTTL = d } }

// WithExpiredTokenCode sets the code answered for an expired token (default
// TOKEN_UNKNOWN, as the K&H token page suggests; TOKEN_EXPIRED is the Berlin Group's).
func WithExpiredTokenCode(code string) Option { return func(c *config) { c.expiredCode = code } }

// WithClock replaces the fake's clock (token expiry, dates).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// WithPageSize sets how many transactions one page holds (default 10).
func WithPageSize(n int) Option { return func(c *config) { c.pageSize = n } }

// WithTransactionCount sets how many transactions each account has (default 25: 23
// booked and 2 pending).
func WithTransactionCount(n int) Option { return func(c *config) { c.txCount = n } }

// WithPSU sets the one PSU of the fake: its id, its password for embedded SCA and the
// OTP every challenge expects.
func WithPSU(id, password, otp string) Option {
	return func(c *config) { c.psuID, c.password, c.otp = id, password, otp }
}

// WithScaMethods sets the SCA methods offered after the password step. With one
// method the fake selects it itself and sends the challenge at once.
func WithScaMethods(m ...ScaMethod) Option {
	return func(c *config) { c.methods = append([]ScaMethod(nil), m...) }
}

// WithDefaultApproach sets the SCA approach used when the TPP sends no
// TPP-Redirect-Preferred header: "EMBEDDED" (default) or "REDIRECT".
func WithDefaultApproach(a string) Option { return func(c *config) { c.defaultApproach = a } }

// WithTransactionLinkLoop makes page `from` (0-based) of every transaction listing
// carry a next link back to page `to`, as a broken bank would.
func WithTransactionLinkLoop(from, to int) Option {
	return func(c *config) { c.loopFrom, c.loopTo = from, to }
}

// WithConsentIDRequired makes the account endpoints answer 400 when the Consent-ID
// header is missing (the Berlin Group makes it mandatory there; K&H's consent token
// already names the consent).
func WithConsentIDRequired() Option { return func(c *config) { c.requireConsentID = true } }

// WithDownloadSize pads the transaction download to at least n bytes.
func WithDownloadSize(n int) Option { return func(c *config) { c.downloadBytes = n } }

// WithRedirectHost sets the redirect URL host registered for the pre-registered
// application (default "tpp.example.com").
func WithRedirectHost(h string) Option { return func(c *config) { c.redirectHost = h } }

// The pre-registered TPP and application.
const (
	// DefaultTPP is the common name of the PKI's client certificate.
	DefaultTPP = "khtest-tpp"
	// DefaultAppID is the application id registered for DefaultTPP at start.
	DefaultAppID = "app-0001"
)

// NewServer starts a fake bank. It panics only when the certificates cannot be
// generated (as httptest does when it cannot listen).
func NewServer(opts ...Option) *Server {
	cfg := config{
		appTTL:          time.Hour,
		consentTTL:      time.Hour,
		now:             time.Now,
		pageSize:        10,
		txCount:         25,
		psuID:           "psu-1",
		password:        "correct horse",
		otp:             "123456",
		expiredCode:     "TOKEN_UNKNOWN",
		defaultApproach: "EMBEDDED",
		loopFrom:        -1,
		redirectHost:    "tpp.example.com",
		methods: []ScaMethod{
			{Type: "SMS_OTP", ID: "sms", Name: "SMS"},
			{Type: "PUSH_OTP", ID: "mtoken", Name: "Mobile token"},
		},
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.pageSize <= 0 {
		cfg.pageSize = 10
	}
	if cfg.pki == nil {
		p, err := NewPKI()
		if err != nil {
			panic(err)
		}
		cfg.pki = p
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	s := &Server{
		pki:    cfg.pki,
		routes: routes(),
		cfg:    cfg,
		secret: secret,
	}
	s.resetLocked()
	fopts := []fake.Option{fake.WithTLS(cfg.pki.ServerTLSConfig())}
	if cfg.listener != nil {
		fopts = append(fopts, fake.WithListener(cfg.listener))
	}
	s.fs = fake.Start(http.HandlerFunc(s.serve), fopts...)
	s.page = s.startPage()
	return s
}

// resetLocked puts the bank's state back where a new server has it: the
// pre-registered TPP and application with a new application token (the WithAppToken
// value when given), and no consent, payment, basket or authorisation.
func (s *Server) resetLocked() {
	s.tokens = map[string]*tokenInfo{}
	s.issued = map[string][]string{}
	s.tpps = map[string]*tpp{}
	s.apps = map[string]*app{}
	s.payments = map[string]*payment{}
	s.consents = map[string]*consent{}
	s.baskets = map[string]*basket{}
	s.auths = map[string]*authorisation{}
	s.byRequestID = map[string]string{}
	s.downloads = map[string]string{}
	s.statusCalls = map[string]int{}
	s.tpps[DefaultTPP] = &tpp{name: DefaultTPP, roles: []string{"AISP", "PISP", "PIISP"},
		contact: &contactBody{Name: "khtest", Phone: "+3610000000", Email: "tpp@example.com"}}
	a := &app{id: DefaultAppID, tpp: DefaultTPP, name: "khtest app",
		roles: []string{"AISP", "PISP", "PIISP"}, redirectHost: s.cfg.redirectHost}
	s.apps[a.id] = a
	s.seq = 1
	s.defaultApp = a
	s.defaultTok = s.issueLocked(KindApp, a, "")
	if v := s.cfg.appToken; v != "" {
		// Register the given value in place of the minted one, with its expiry.
		ti := s.tokens[s.defaultTok]
		delete(s.tokens, s.defaultTok)
		ti.value = v
		s.tokens[v] = ti
		s.issued["app:"+a.id] = []string{v}
		s.defaultTok = v
	}
}

// Reset puts the bank back where NewServer left it, with the same PKI, PSU and
// options: only the pre-registered TPP and application exist, with a new application
// token (AppToken; the same value with WithAppToken), every other token, consent,
// payment, signing basket and authorisation is gone, and injected faults and the
// request logs of the API and the SCA screen are empty.
func (s *Server) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	s.fs.Reset()
	s.page.Reset()
}

// URL is the bank's base URL, e.g. https://127.0.0.1:41234.
func (s *Server) URL() string { return s.fs.URL() }

// Close shuts the bank down.
func (s *Server) Close() {
	s.fs.Close()
	s.page.Close()
}

// PKI returns the certificates the bank serves with and trusts.
func (s *Server) PKI() *PKI { return s.pki }

// ClientCertificate returns a client certificate the bank accepts.
func (s *Server) ClientCertificate() tls.Certificate { return s.pki.ClientCertificate() }

// RootCAs returns a pool that trusts the bank's server certificate.
func (s *Server) RootCAs() *x509.CertPool { return s.pki.RootCAs() }

// Client returns a plain *http.Client that presents the client certificate and
// trusts the bank, for requests sent to the fake directly. It does not follow
// redirects.
func (s *Server) Client() *http.Client {
	return &http.Client{
		Transport: &http.Transport{TLSClientConfig: &tls.Config{
			Certificates: []tls.Certificate{s.pki.ClientCertificate()},
			RootCAs:      s.pki.RootCAs(),
			MinVersion:   tls.VersionTLS12,
		}},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
		Timeout:       10 * time.Second,
	}
}

// ApplicationID is the id of the application registered at start, the value
// kh.WithApplicationID takes.
func (s *Server) ApplicationID() string { return DefaultAppID }

// AppToken is the application token issued at start (or by the last Reset) for
// ApplicationID (the token the K&H portal hands out after registration).
func (s *Server) AppToken() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.defaultTok
}

// PSU returns the PSU's id, password and the OTP its challenges expect.
func (s *Server) PSU() (id, password, otp string) {
	return s.cfg.psuID, s.cfg.password, s.cfg.otp
}

// Requests returns every request received so far (see fake.Request).
func (s *Server) Requests() []fake.Request { return s.fs.Requests() }

// Count returns how many requests had this method ("" for any) and path.
func (s *Server) Count(method, path string) int { return s.fs.Count(method, path) }

// ResetRequests empties the request log.
func (s *Server) ResetRequests() { s.fs.ResetRequests() }

// Inject makes the next n matching requests take fault f (see package fake).
func (s *Server) Inject(n int, f fake.Fault) { s.fs.Inject(n, f) }

// ClearFaults drops faults not yet taken.
func (s *Server) ClearFaults() { s.fs.ClearFaults() }

// ---------------------------------------------------------------------------
// tokens

type tokenInfo struct {
	value     string
	kind      TokenKind
	tpp       string
	appID     string
	consentID string
	expires   time.Time
	revoked   bool
}

// issueLocked mints a JWT-shaped token. The fake signs it with HS256 under its own
// secret, but recognises tokens by lookup: clients must treat them as opaque.
func (s *Server) issueLocked(kind TokenKind, a *app, consentID string) string {
	now := s.cfg.now()
	ttl := s.cfg.appTTL
	if kind != KindApp {
		ttl = s.cfg.consentTTL
	}
	jti := make([]byte, 12)
	_, _ = rand.Read(jti)
	claims := map[string]any{
		"iss": "khtest",
		"jti": hex.EncodeToString(jti),
		"sub": a.id,
		"typ": string(kind),
		"iat": now.Unix(),
		"exp": now.Add(ttl).Unix(),
	}
	if consentID != "" {
		claims["cid"] = consentID
	}
	hdr := base64.RawURLEncoding.EncodeToString([]byte(`{"typ":"JWT","alg":"HS256"}`))
	body, _ := json.Marshal(claims)
	signing := hdr + "." + base64.RawURLEncoding.EncodeToString(body)
	m := hmac.New(sha256.New, s.secret)
	m.Write([]byte(signing))
	tok := signing + "." + base64.RawURLEncoding.EncodeToString(m.Sum(nil))
	s.tokens[tok] = &tokenInfo{value: tok, kind: kind, tpp: a.tpp, appID: a.id,
		consentID: consentID, expires: now.Add(ttl)}
	key := "app:" + a.id
	if consentID != "" {
		key = "consent:" + consentID
	}
	s.issued[key] = append(s.issued[key], tok)
	return tok
}

// TokenKind reports the kind of a token the fake issued.
func (s *Server) TokenKind(token string) (TokenKind, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ti, ok := s.tokens[token]
	if !ok {
		return "", false
	}
	return ti.kind, true
}

// TokenConsent returns the consent a consent token belongs to ("" for app tokens).
func (s *Server) TokenConsent(token string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti, ok := s.tokens[token]; ok {
		return ti.consentID
	}
	return ""
}

// AppTokens returns the tokens issued for an application, oldest first.
func (s *Server) AppTokens(appID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued["app:"+appID]...)
}

// ConsentTokens returns the tokens issued for a consent, oldest first.
func (s *Server) ConsentTokens(consentID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.issued["consent:"+consentID]...)
}

// ExpireToken makes one token expired now.
func (s *Server) ExpireToken(token string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if ti, ok := s.tokens[token]; ok {
		ti.expires = s.cfg.now().Add(-time.Second)
	}
}

// ExpireTokens makes every token issued so far expired.
func (s *Server) ExpireTokens() {
	s.mu.Lock()
	defer s.mu.Unlock()
	past := s.cfg.now().Add(-time.Second)
	for _, ti := range s.tokens {
		ti.expires = past
	}
}

// IssueAppToken issues a new application token for appID, as the sandbox token
// generator does.
func (s *Server) IssueAppToken(appID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.apps[appID]
	if !ok {
		return "", fmt.Errorf("khtest: unknown application %q", appID)
	}
	return s.issueLocked(KindApp, a, ""), nil
}

// IssueConsentToken issues a new token for a valid consent without a status call (it
// does not count in StatusCalls), as a TPP's own token service would hand one out:
// tests of a client whose consent tokens come from elsewhere use it. Like the status
// call, it issues only while the consent is valid.
func (s *Server) IssueConsentToken(consentID string) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.consents[consentID]
	if !ok {
		return "", fmt.Errorf("khtest: unknown consent %q", consentID)
	}
	if cs.status == "valid" && cs.expired(s.cfg.now()) {
		cs.status = "expired"
	}
	if cs.status != "valid" {
		return "", fmt.Errorf("khtest: consent %q is %s, not valid", consentID, cs.status)
	}
	return s.issueLocked(cs.kind, s.apps[cs.appID], cs.id), nil
}

// ---------------------------------------------------------------------------
// dispatch

type call struct {
	w      http.ResponseWriter
	r      *http.Request
	route  *route
	params map[string]string
	reqID  string
	tpp    string
	tok    *tokenInfo
	body   []byte
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// jwtRE is the shape of a JWT: three base64url parts.
var jwtRE = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`)

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	tppName := ""
	if r.TLS != nil && len(r.TLS.PeerCertificates) > 0 {
		tppName = r.TLS.PeerCertificates[0].Subject.CommonName
	}
	body, _ := io.ReadAll(r.Body)
	c := &call{w: w, r: r, tpp: tppName, body: body}

	ids := r.Header.Values("X-Request-ID")
	if len(ids) == 1 {
		w.Header().Set("X-Request-ID", ids[0])
	}
	if len(ids) != 1 || !uuidRE.MatchString(ids[0]) {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "X-Request-ID",
			"X-Request-ID is required once per request and must be a 36-character UUID")
		return
	}
	c.reqID = ids[0]
	if tppName == "" {
		c.fail(http.StatusUnauthorized, "CERTIFICATE_MISSING", "", "no client certificate")
		return
	}

	segs := splitPath(r.URL.Path)
	var rt *route
	methodKnown := false
	for i := range s.routes {
		params, ok := s.routes[i].match(segs)
		if !ok {
			continue
		}
		if s.routes[i].Method != r.Method {
			methodKnown = true
			continue
		}
		rt, c.params = &s.routes[i], params
		break
	}
	if rt == nil {
		if methodKnown {
			c.fail(http.StatusMethodNotAllowed, "SERVICE_INVALID", "", "method not allowed on "+r.URL.Path)
			return
		}
		c.fail(http.StatusNotFound, "RESOURCE_UNKNOWN", "", "no such endpoint: "+r.URL.Path)
		return
	}
	c.route = rt
	if (r.Method == http.MethodPost || r.Method == http.MethodPut) && len(bytes.TrimSpace(body)) > 0 {
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" {
			c.fail(http.StatusBadRequest, "FORMAT_ERROR", "Content-Type", "the body must be application/json")
			return
		}
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.authorize(c) {
		return
	}
	rt.handler(s, c)
}

// authorize enforces the exact bearer form and the endpoint-token table. It runs with
// s.mu held.
func (s *Server) authorize(c *call) bool {
	authz := c.r.Header.Values("Authorization")
	if len(c.route.Kinds) == 0 {
		if len(authz) > 0 {
			c.fail(http.StatusUnauthorized, "TOKEN_INVALID", "Authorization",
				c.route.Method+" "+c.route.Pattern+" accepts no token")
			return false
		}
		return true
	}
	if len(authz) == 0 {
		c.fail(http.StatusUnauthorized, "TOKEN_UNKNOWN", "Authorization", "no token sent")
		return false
	}
	if len(authz) > 1 {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "Authorization", "more than one Authorization header")
		return false
	}
	tok, ok := strings.CutPrefix(authz[0], "Bearer ")
	if !ok || !jwtRE.MatchString(tok) {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "Authorization",
			`Authorization must be exactly "Bearer " followed by a JWT`)
		return false
	}
	ti, ok := s.tokens[tok]
	if !ok || ti.tpp != c.tpp {
		c.fail(http.StatusUnauthorized, "TOKEN_UNKNOWN", "Authorization", "token unknown")
		return false
	}
	if !s.cfg.now().Before(ti.expires) {
		c.fail(http.StatusUnauthorized, s.cfg.expiredCode, "Authorization", "token expired")
		return false
	}
	if !c.route.accepts(ti.kind) {
		c.fail(http.StatusUnauthorized, "TOKEN_INVALID", "Authorization",
			fmt.Sprintf("a %s token is not valid for %s %s", ti.kind, c.route.Method, c.route.Pattern))
		return false
	}
	if ti.consentID != "" {
		cs := s.consents[ti.consentID]
		if cs == nil || ti.revoked {
			c.fail(http.StatusUnauthorized, "TOKEN_UNKNOWN", "Authorization", "token unknown")
			return false
		}
		if cs.expired(s.cfg.now()) {
			c.fail(http.StatusUnauthorized, "CONSENT_EXPIRED", "", "the consent has expired")
			return false
		}
		if cs.status != "valid" {
			c.fail(http.StatusUnauthorized, "CONSENT_INVALID", "", "the consent is "+cs.status)
			return false
		}
	}
	c.tok = ti
	return true
}

func (c *call) app(s *Server) *app { return s.apps[c.tok.appID] }

// ---------------------------------------------------------------------------
// answers

type tppMessage struct {
	Category string `json:"category"`
	Code     string `json:"code"`
	Path     string `json:"path,omitempty"`
	Text     string `json:"text,omitempty"`
}

func (c *call) fail(status int, code, path, text string) {
	writeJSON(c.w, status, map[string]any{
		"tppMessages": []tppMessage{{Category: "ERROR", Code: code, Path: path, Text: text}},
	})
}

func (c *call) json(status int, v any) { writeJSON(c.w, status, v) }

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"tppMessages":[{"category":"ERROR","code":"INTERNAL_SERVER_ERROR"}]}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// decode reads the JSON body strictly: unknown fields are a FORMAT_ERROR, so a client
// that invents fields fails against the fake.
func (c *call) decode(v any) bool {
	dec := json.NewDecoder(bytes.NewReader(c.body))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "", "invalid JSON body: "+err.Error())
		return false
	}
	if dec.More() {
		c.fail(http.StatusBadRequest, "FORMAT_ERROR", "", "trailing data after the JSON body")
		return false
	}
	return true
}

func (s *Server) nextID(prefix string) string {
	s.seq++
	return prefix + "-" + strconv.Itoa(s.seq)
}

type href struct {
	Href string `json:"href"`
}

type links map[string]href

// ---------------------------------------------------------------------------
// inspection

// Lookup returns the id of the resource (payment, consent, basket, authorisation)
// that the request with this X-Request-ID created.
func (s *Server) Lookup(requestID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byRequestID[requestID]
	return id, ok
}

// PaymentCount is how many payments the bank holds.
func (s *Server) PaymentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.payments)
}

// PaymentStatus returns a payment's transaction status.
func (s *Server) PaymentStatus(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	p, ok := s.payments[id]
	if !ok {
		return "", false
	}
	return p.status, true
}

// ConsentCount is how many consents the bank holds.
func (s *Server) ConsentCount() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.consents)
}

// ConsentStatus returns a consent's status.
func (s *Server) ConsentStatus(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.consents[id]
	if !ok {
		return "", false
	}
	return cs.status, true
}

// ConsentKind returns the token kind a consent's tokens have (from its purpose).
func (s *Server) ConsentKind(id string) (TokenKind, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cs, ok := s.consents[id]
	if !ok {
		return "", false
	}
	return cs.kind, true
}

// StatusCalls is how many consent status calls the bank answered for a consent.
func (s *Server) StatusCalls(consentID string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.statusCalls[consentID]
}

// BasketStatus returns a signing basket's transaction status.
func (s *Server) BasketStatus(id string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	b, ok := s.baskets[id]
	if !ok {
		return "", false
	}
	return b.status, true
}

// ScaStatus returns an authorisation's SCA status.
func (s *Server) ScaStatus(authorisationID string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[authorisationID]
	if !ok {
		return "", false
	}
	return a.scaStatus, true
}

// CompleteSCA finishes an authorisation as if the PSU had approved it on the redirect
// screen: it becomes finalised and its payment, consent or basket is authorised.
func (s *Server) CompleteSCA(authorisationID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.auths[authorisationID]
	if !ok {
		return fmt.Errorf("khtest: unknown authorisation %q", authorisationID)
	}
	if final(a.scaStatus) {
		return fmt.Errorf("khtest: authorisation %q is already %s", authorisationID, a.scaStatus)
	}
	s.finalise(a)
	return nil
}

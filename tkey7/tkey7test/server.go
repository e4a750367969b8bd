package tkey7test

import (
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/fake"
)

// BasePath is the path of the API under the server's root, as in
// https://us.bankname.payments.tkey7.com/client/v1/api. [Server.URL] includes it.
const BasePath = "/client/v1/api"

// Defaults of the time-based rules, as documented.
const (
	DefaultRevokeAfter   = 15 * time.Minute
	DefaultSessionLength = 24 * time.Hour
)

// DefaultRefreshPath is the refresh endpoint, relative to the base URL.
const DefaultRefreshPath = "oauth-token/refresh"

// DefaultMember is the member identifier the fake reports in errors and tokens when a
// token names none.
const DefaultMember = "bankName"

// Error codes the fake puts in the "code" field of its error answers. They are the
// fake's own: the TKEY7 documentation lists no codes.
const (
	CodeUnauthorized     = "UNAUTHORIZED"       // 401: no or malformed Authorization header
	CodeTokenUnknown     = "TOKEN_UNKNOWN"      // 401: a token the fake never issued
	CodeTokenRetired     = "TOKEN_RETIRED"      // 401: a token replaced by a rotating refresh
	CodeTokenRevoked     = "TOKEN_REVOKED"      // 401: not refreshed within its window, or Revoke
	CodeSessionExpired   = "SESSION_EXPIRED"    // 401: the session reached its cap
	CodeForbiddenIP      = "FORBIDDEN_IP"       // 403: request from an address the token does not allow
	CodeForbiddenRoute   = "FORBIDDEN_ENDPOINT" // 403: endpoint not permitted for the token
	CodeForbiddenAccount = "FORBIDDEN_ACCOUNT"  // 403: digital account not permitted for the token
	CodeForbiddenRole    = "FORBIDDEN_ROLE"     // 403: a Viewer token tried to change something
	CodeBadRequest       = "BAD_REQUEST"        // 400
	CodeNotFound         = "NOT_FOUND"          // 404
	CodeMethodNotAllowed = "METHOD_NOT_ALLOWED" // 405
	CodeNotAcceptable    = "NOT_ACCEPTABLE"     // 406: Accept excludes application/json
	CodeConflict         = "CONFLICT"           // 409: digital account id already exists
	CodeInternal         = "INTERNAL_ERROR"     // 500 (injected with InjectError)
)

// Values of the fixed error fields.
const (
	BuildVersion = "tkey7test-1.0.0"
	ServiceName  = "tkey7test"
)

// State is what the fake thinks of a token at a given moment.
type State int

// The token states.
const (
	StateUnknown        State = iota // never issued by this server
	StateActive                      // accepted
	StateRetired                     // replaced by a rotating refresh
	StateRevoked                     // not refreshed in time, or revoked with Revoke
	StateSessionExpired              // its session reached the cap
)

func (s State) String() string {
	switch s {
	case StateUnknown:
		return "unknown"
	case StateActive:
		return "active"
	case StateRetired:
		return "retired"
	case StateRevoked:
		return "revoked"
	case StateSessionExpired:
		return "session-expired"
	}
	return "State(" + strconv.Itoa(int(s)) + ")"
}

// Option configures a Server.
type Option func(*config)

type config struct {
	revokeAfter   time.Duration
	sessionLength time.Duration
	rotate        bool
	tokenField    string
	refreshMethod string
	refreshPath   string
	opaque        bool
	accounts      []account
	accountsSet   bool
	member        string
	now           func() time.Time
	onRefresh     func(RefreshEvent)
	echoToken     bool
	fakeOpts      []fake.Option
}

// WithListener serves on ln (e.g. a listener on a fixed port) instead of a fresh
// loopback listener; the server closes it on Close.
func WithListener(ln net.Listener) Option {
	return func(c *config) { c.fakeOpts = append(c.fakeOpts, fake.WithListener(ln)) }
}

// WithClock makes the server read the time from now instead of time.Now: its revoke
// window, session cap, refresh times and error timestamps then follow a clock the test
// moves, so a test can cross a 15-minute window or a 24-hour cap without sleeping and
// without depending on how fast the machine runs. now must be safe for concurrent
// use. A nil now is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// RefreshEvent describes one call to the refresh endpoint that the server answered
// itself (not one an injected fault answered or dropped before it ran).
type RefreshEvent struct {
	// At is when the server handled the call, by its clock (see WithClock).
	At time.Time
	// Token is the token the call carried.
	Token string
	// NewToken is the token valid after the call: Token itself when the refresh was in
	// place, a new one with WithRotation, "" when the call was refused.
	NewToken string
	// Status is the HTTP status of the answer: 200, or 401 when the token was no
	// longer valid.
	Status int
}

// OnRefresh registers fn, called after the server answered each refresh call (from the
// request's goroutine, after the answer was written; with fake.DropAfter the client
// never sees that answer). Tests use it to wait for refreshes as events instead of
// sleeping. fn must not block for long.
func OnRefresh(fn func(RefreshEvent)) Option {
	return func(c *config) { c.onRefresh = fn }
}

// WithTokenEcho makes every error answer quote the token the request carried in each
// of its text fields (long_message, short_message, code, endpoint_url as a query,
// member_identification, service_name, troubleshooting_id, build_version), as a
// careless server or proxy might. It is for testing that a client keeps tokens out of
// its errors; TKEY7 is not documented to do this.
func WithTokenEcho() Option {
	return func(c *config) { c.echoToken = true }
}

// WithRevokeAfter sets how long a token stays valid without a refresh (default 15
// minutes). Non-positive values are ignored.
func WithRevokeAfter(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.revokeAfter = d
		}
	}
}

// WithSessionLength sets the session cap, counted from the issuance of the first token
// of the session (default 24 hours). Non-positive values are ignored.
func WithSessionLength(d time.Duration) Option {
	return func(c *config) {
		if d > 0 {
			c.sessionLength = d
		}
	}
}

// WithRotation makes every refresh issue a new token and retire the old one at once.
// It has no effect when the refresh answer carries no token (WithRefreshTokenField("")).
func WithRotation() Option {
	return func(c *config) { c.rotate = true }
}

// WithRefreshTokenField names the JSON field of the refresh answer that carries the
// token (default "access_token"). An empty name makes the answer {}: the token stays the
// same and its window restarts.
func WithRefreshTokenField(name string) Option {
	return func(c *config) { c.tokenField = name }
}

// WithRefreshEndpoint sets the method and path (relative to the base URL) of the refresh
// endpoint (default POST oauth-token/refresh). Empty values keep the defaults.
func WithRefreshEndpoint(method, path string) Option {
	return func(c *config) {
		if method != "" {
			c.refreshMethod = method
		}
		if p := strings.Trim(path, "/"); p != "" {
			c.refreshPath = p
		}
	}
}

// WithOpaqueTokens issues random opaque strings instead of JWTs.
func WithOpaqueTokens() Option {
	return func(c *config) { c.opaque = true }
}

// WithMember sets the member identifier reported in errors (default "bankName").
func WithMember(id string) Option {
	return func(c *config) {
		if id != "" {
			c.member = id
		}
	}
}

// WithDigitalAccount adds a digital account served as doc, which must be a JSON object;
// its "id" field is set to id. The first use replaces the default accounts. An invalid
// doc is served as {"id": id}.
func WithDigitalAccount(id string, doc json.RawMessage) Option {
	return func(c *config) {
		if !c.accountsSet {
			c.accounts, c.accountsSet = nil, true
		}
		c.accounts = append(c.accounts, account{id: id, doc: withID(doc, id)})
	}
}

type account struct {
	id  string
	doc json.RawMessage
}

func withID(doc json.RawMessage, id string) json.RawMessage {
	m := map[string]json.RawMessage{}
	if err := json.Unmarshal(doc, &m); err != nil || m == nil {
		m = map[string]json.RawMessage{}
	}
	idJSON, _ := json.Marshal(id)
	m["id"] = idJSON
	out, _ := json.Marshal(m)
	return out
}

// DefaultAccountIDs are the ids of the digital accounts a server has unless
// WithDigitalAccount is used.
var defaultAccountIDs = []string{"da-0001", "da-0002", "da-0003"}

// DefaultAccountIDs returns the ids of the digital accounts a server has unless told
// otherwise.
func DefaultAccountIDs() []string { return append([]string(nil), defaultAccountIDs...) }

func defaultAccounts() []account {
	docs := []string{
		`{"id":"da-0001","name":"Operating account","currency":"USD"}`,
		`{"id":"da-0002","name":"Settlement account","currency":"USD"}`,
		`{"id":"da-0003","name":"Reserve account","currency":"EUR"}`,
	}
	out := make([]account, len(docs))
	for i, d := range docs {
		out[i] = account{id: defaultAccountIDs[i], doc: json.RawMessage(d)}
	}
	return out
}

// Server is a fake TKEY7 API. It is safe for concurrent use.
type Server struct {
	fs  *fake.Server
	cfg config
	key []byte
	now func() time.Time

	mu           sync.Mutex
	tokens       map[string]*token
	accounts     map[string]json.RawMessage
	order        []string
	seq          int
	refreshes    int
	refreshTimes []time.Time
	retiredUses  int
	unauthorized int
	forbidden    int
}

type session struct {
	start   time.Time
	end     time.Time
	user    string
	current string
	grant   grant
}

type token struct {
	sess        *session
	lastRefresh time.Time
	retired     bool
	revoked     bool // explicit (Revoke) or observed late
}

type grant struct {
	endpoints []string
	accounts  []string
	ips       []string
	viewer    bool
	member    string
}

// NewServer starts a fake TKEY7 server. Close it when done.
func NewServer(opts ...Option) *Server {
	cfg := config{
		revokeAfter:   DefaultRevokeAfter,
		sessionLength: DefaultSessionLength,
		tokenField:    "access_token",
		refreshMethod: http.MethodPost,
		refreshPath:   DefaultRefreshPath,
		member:        DefaultMember,
		now:           time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if !cfg.accountsSet {
		cfg.accounts = defaultAccounts()
	}
	s := &Server{
		cfg: cfg,
		key: make([]byte, 32),
		now: cfg.now,
	}
	_, _ = rand.Read(s.key)
	s.resetLocked()
	s.fs = fake.Start(http.HandlerFunc(s.serve), cfg.fakeOpts...)
	return s
}

// resetLocked puts the tokens, the digital accounts and the counters back where a
// new server has them.
func (s *Server) resetLocked() {
	s.tokens = map[string]*token{}
	s.accounts = map[string]json.RawMessage{}
	s.order = nil
	s.seq, s.refreshes, s.retiredUses, s.unauthorized, s.forbidden = 0, 0, 0, 0, 0
	s.refreshTimes = nil
	for _, a := range s.cfg.accounts {
		if _, dup := s.accounts[a.id]; !dup {
			s.order = append(s.order, a.id)
		}
		s.accounts[a.id] = a.doc
	}
}

// Reset puts the server back where NewServer left it, with the same options: no
// token is valid any more (issue new ones with IssueToken), the digital accounts are
// the initial ones, the counters are zero, and injected faults and the request log
// are gone.
func (s *Server) Reset() {
	s.mu.Lock()
	s.resetLocked()
	s.mu.Unlock()
	s.fs.Reset()
}

// URL is the API base URL (the server's root plus BasePath), the value a client takes
// as its base URL.
func (s *Server) URL() string { return s.fs.URL() + BasePath }

// Origin is the server's scheme, host and port (e.g. http://127.0.0.1:41234), without
// BasePath: the address a proxy placed in front of the fake forwards to.
func (s *Server) Origin() string { return s.fs.URL() }

// Client returns an *http.Client that trusts the server.
func (s *Server) Client() *http.Client { return s.fs.Client() }

// Close shuts the server down.
func (s *Server) Close() { s.fs.Close() }

// Requests returns every request received so far, in arrival order, including those a
// fault answered or dropped. Paths are full paths (with BasePath).
func (s *Server) Requests() []fake.Request { return s.fs.Requests() }

// Count returns how many requests arrived with this method ("" for any) on path, which
// is relative to the base URL (e.g. "digital-accounts").
func (s *Server) Count(method, path string) int {
	return s.fs.Count(method, BasePath+"/"+strings.TrimLeft(path, "/"))
}

// ResetRequests empties the request log.
func (s *Server) ResetRequests() { s.fs.ResetRequests() }

// Inject makes the next n requests matching f take fault f (see package fake: Status,
// DropBefore, DropAfter, Delay, Malformed, Oversized, and Fault.On). Paths given to
// Fault.On are full paths: use Path.
func (s *Server) Inject(n int, f fake.Fault) { s.fs.Inject(n, f) }

// ClearFaults drops every injected fault not yet taken.
func (s *Server) ClearFaults() { s.fs.ClearFaults() }

// InjectError makes the next n requests with this method ("" for any) whose path starts
// with pathPrefix (relative to the base URL; "" for any) answer status with a
// documented error body (all nine fields) without reaching the API.
func (s *Server) InjectError(n, status int, method, pathPrefix string) {
	full := BasePath + "/" + strings.TrimLeft(pathPrefix, "/")
	if pathPrefix == "" {
		full = ""
	}
	body := s.errorBody(codeForStatus(status), http.StatusText(status),
		"Injected failure.", s.fs.URL()+full, s.cfg.member, "")
	s.fs.Inject(n, fake.Status(status, string(body)).On(method, full))
}

// Path returns the full server path of a path relative to the base URL, for
// fake.Fault.On and for comparing with Requests.
func Path(rel string) string { return BasePath + "/" + strings.TrimLeft(rel, "/") }

// RefreshPath is the full server path of the refresh endpoint.
func (s *Server) RefreshPath() string { return Path(s.cfg.refreshPath) }

// RevokeAfter is the refresh window in force. With SessionLength it makes the Server
// a tkey7.TimeRules: tkey7.WithTimeRules(srv) gives a client the same rules.
func (s *Server) RevokeAfter() time.Duration { return s.cfg.revokeAfter }

// SessionLength is the session cap in force (see RevokeAfter).
func (s *Server) SessionLength() time.Duration { return s.cfg.sessionLength }

// TokenOption restricts or shapes a token issued with IssueToken, like the settings of
// the Web Office's "Access Token Management".
type TokenOption func(*issueConfig)

type issueConfig struct {
	grant    grant
	issuedAt time.Time
	value    string
}

// TokenValue issues v itself as the token instead of a new JWT, as when an
// administrator's token is copied into a configuration that must stay the same from
// one run to the next. A value already issued by the server, or an empty one, is
// ignored and a new token is minted. A rotating refresh (WithRotation) still replaces
// it with a minted token.
func TokenValue(v string) TokenOption {
	return func(c *issueConfig) { c.value = v }
}

// ForEndpoints permits the token only on these endpoints, given as paths relative to the
// base URL ("digital-accounts" also permits "digital-accounts/{id}"). The refresh
// endpoint is always permitted.
func ForEndpoints(paths ...string) TokenOption {
	return func(c *issueConfig) {
		for _, p := range paths {
			c.grant.endpoints = append(c.grant.endpoints, strings.Trim(p, "/"))
		}
	}
}

// ForAccounts permits the token only on these digital accounts: the list shows only
// them and any other account answers 403.
func ForAccounts(ids ...string) TokenOption {
	return func(c *issueConfig) { c.grant.accounts = append(c.grant.accounts, ids...) }
}

// FromIPs permits requests only from these IP addresses.
func FromIPs(ips ...string) TokenOption {
	return func(c *issueConfig) { c.grant.ips = append(c.grant.ips, ips...) }
}

// AsViewer issues a token for a user with Viewer access rights: GET only (and the
// refresh). The default is Manager.
func AsViewer() TokenOption {
	return func(c *issueConfig) { c.grant.viewer = true }
}

// ForMember sets the member identifier of the token.
func ForMember(id string) TokenOption {
	return func(c *issueConfig) { c.grant.member = id }
}

// IssuedAt backdates (or postdates) the token's issuance, and so its session and its
// first refresh window.
func IssuedAt(t time.Time) TokenOption {
	return func(c *issueConfig) { c.issuedAt = t }
}

// IssueToken creates a new access token and session, as an administrator does in the
// Web Office.
func (s *Server) IssueToken(opts ...TokenOption) string {
	ic := issueConfig{}
	for _, o := range opts {
		o(&ic)
	}
	now := s.now()
	if ic.issuedAt.IsZero() {
		ic.issuedAt = now
	}
	if ic.grant.member == "" {
		ic.grant.member = s.cfg.member
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.seq++
	sess := &session{
		start: ic.issuedAt,
		end:   ic.issuedAt.Add(s.cfg.sessionLength),
		user:  "user-" + strconv.Itoa(s.seq),
		grant: ic.grant,
	}
	v := ic.value
	if _, taken := s.tokens[v]; v == "" || taken {
		v = s.mintLocked(sess, ic.issuedAt)
	}
	s.tokens[v] = &token{sess: sess, lastRefresh: ic.issuedAt}
	sess.current = v
	return v
}

func (s *Server) mintLocked(sess *session, iat time.Time) string {
	s.seq++
	jti := strconv.Itoa(s.seq) + "-" + randHex(6)
	if s.cfg.opaque {
		return "tk7_" + randHex(16) + jti
	}
	enc := base64.RawURLEncoding
	header := enc.EncodeToString([]byte(`{"alg":"HS256","typ":"JWT"}`))
	claims := map[string]any{
		"iss":    ServiceName,
		"sub":    sess.user,
		"jti":    jti,
		"iat":    iat.Unix(),
		"exp":    json.Number(numericDate(sess.end)),
		"member": sess.grant.member,
	}
	payload, _ := json.Marshal(claims)
	signing := header + "." + enc.EncodeToString(payload)
	mac := hmac.New(sha256.New, s.key)
	mac.Write([]byte(signing))
	return signing + "." + enc.EncodeToString(mac.Sum(nil))
}

// numericDate renders t as a JWT NumericDate with millisecond precision.
func numericDate(t time.Time) string {
	ms := t.UnixMilli()
	if ms%1000 == 0 {
		return strconv.FormatInt(ms/1000, 10)
	}
	return strconv.FormatFloat(float64(ms)/1000, 'f', 3, 64)
}

func randHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// Revoke revokes token (and so its session) at once, as an administrator can.
func (s *Server) Revoke(tok string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tok]; ok {
		t.revoked = true
	}
}

// State reports what the server thinks of tok now.
func (s *Server) State(tok string) State {
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok {
		return StateUnknown
	}
	return s.stateLocked(t, s.now())
}

func (s *Server) stateLocked(t *token, now time.Time) State {
	if t.retired {
		return StateRetired
	}
	if t.revoked {
		return StateRevoked
	}
	revokeAt := t.lastRefresh.Add(s.cfg.revokeAfter)
	if now.After(revokeAt) && revokeAt.Before(t.sess.end) {
		t.revoked = true // a revoked token never comes back
		return StateRevoked
	}
	if !now.Before(t.sess.end) {
		return StateSessionExpired
	}
	return StateActive
}

// CurrentToken returns the token now valid for the session that tok belongs to (tok
// itself unless a rotating refresh replaced it), or "" if tok is unknown.
func (s *Server) CurrentToken(tok string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	if t, ok := s.tokens[tok]; ok {
		return t.sess.current
	}
	return ""
}

// Refreshes counts successful refresh calls.
func (s *Server) Refreshes() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.refreshes
}

// RefreshTimes returns when each successful refresh happened, in order.
func (s *Server) RefreshTimes() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.refreshTimes...)
}

// RetiredTokenUses counts requests that carried a token already retired by a rotating
// refresh. A client that never sends a replaced token keeps it at zero.
func (s *Server) RetiredTokenUses() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.retiredUses
}

// Unauthorized counts 401 answers.
func (s *Server) Unauthorized() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.unauthorized
}

// Forbidden counts 403 answers.
func (s *Server) Forbidden() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.forbidden
}

// AddDigitalAccount adds (or replaces) a digital account; doc must be a JSON object and
// its "id" is set to id.
func (s *Server) AddDigitalAccount(id string, doc json.RawMessage) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.accounts[id]; !ok {
		s.order = append(s.order, id)
	}
	s.accounts[id] = withID(doc, id)
}

// DigitalAccountIDs returns the ids of the digital accounts, in creation order.
func (s *Server) DigitalAccountIDs() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.order...)
}

// --- HTTP ---

// apiError is the documented error body.
type apiError struct {
	BuildVersion         string `json:"build_version"`
	Code                 string `json:"code"`
	EndpointURL          string `json:"endpoint_url"`
	LongMessage          string `json:"long_message"`
	MemberIdentification string `json:"member_identification"`
	ServiceName          string `json:"service_name"`
	ShortMessage         string `json:"short_message"`
	Timestamp            int64  `json:"timestamp"`
	TroubleshootingID    string `json:"troubleshooting_id"`
}

// errorBody is the documented error body. With echo set (WithTokenEcho), each text
// field also quotes echo, the token the request carried.
func (s *Server) errorBody(code, short, long, endpoint, member, echo string) []byte {
	e := apiError{
		BuildVersion:         BuildVersion,
		Code:                 code,
		EndpointURL:          endpoint,
		LongMessage:          long,
		MemberIdentification: member,
		ServiceName:          ServiceName,
		ShortMessage:         short,
		Timestamp:            s.now().UnixMilli(),
		TroubleshootingID:    "ts-" + randHex(8),
	}
	if echo != "" {
		e.BuildVersion += "+" + echo
		e.Code += ":" + echo
		e.EndpointURL += "?access_token=" + echo
		e.LongMessage += " The request carried the token " + echo + "."
		e.MemberIdentification += "/" + echo
		e.ServiceName += "/" + echo
		e.ShortMessage += " (" + echo + ")"
		e.TroubleshootingID += "-" + echo
	}
	b, _ := json.Marshal(e)
	return b
}

// bearerToken returns the token of exactly one "Authorization: Bearer <token>"
// header, or "" when the request has no such header, several, or another form.
func bearerToken(r *http.Request) string {
	vals := r.Header.Values("Authorization")
	if len(vals) != 1 || !strings.HasPrefix(vals[0], "Bearer ") {
		return ""
	}
	tok := strings.TrimPrefix(vals[0], "Bearer ")
	if strings.TrimSpace(tok) == "" {
		return ""
	}
	return tok
}

// refreshed reports a refresh call to the OnRefresh hook.
func (s *Server) refreshed(ev RefreshEvent) {
	if s.cfg.onRefresh != nil {
		s.cfg.onRefresh(ev)
	}
}

func codeForStatus(status int) string {
	switch status {
	case http.StatusBadRequest:
		return CodeBadRequest
	case http.StatusUnauthorized:
		return CodeUnauthorized
	case http.StatusForbidden:
		return CodeForbiddenRoute
	case http.StatusNotFound:
		return CodeNotFound
	case http.StatusMethodNotAllowed:
		return CodeMethodNotAllowed
	case http.StatusNotAcceptable:
		return CodeNotAcceptable
	case http.StatusConflict:
		return CodeConflict
	}
	return CodeInternal
}

type reqCtx struct {
	w      http.ResponseWriter
	r      *http.Request
	rel    string // path relative to BasePath, without leading slash
	member string
}

func (s *Server) fail(c *reqCtx, status int, code, short, long string) {
	s.mu.Lock()
	switch status {
	case http.StatusUnauthorized:
		s.unauthorized++
	case http.StatusForbidden:
		s.forbidden++
	}
	s.mu.Unlock()
	member := c.member
	if member == "" {
		member = s.cfg.member
	}
	endpoint := s.fs.URL() + c.r.URL.Path
	var echo string
	if s.cfg.echoToken {
		echo = bearerToken(c.r)
	}
	body := s.errorBody(code, short, long, endpoint, member, echo)
	if status == http.StatusUnauthorized {
		c.w.Header().Set("WWW-Authenticate", `Bearer realm="tkey7"`)
	}
	writeJSON(c.w, status, body)
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	c := &reqCtx{w: w, r: r}
	if r.URL.Path != BasePath && !strings.HasPrefix(r.URL.Path, BasePath+"/") {
		s.fail(c, http.StatusNotFound, CodeNotFound, "Not found",
			"No API at this path; the API lives under "+BasePath+".")
		return
	}
	c.rel = strings.Trim(strings.TrimPrefix(r.URL.Path, BasePath), "/")
	if !acceptsJSON(r.Header.Values("Accept")) {
		s.fail(c, http.StatusNotAcceptable, CodeNotAcceptable, "Not acceptable",
			"The API only answers application/json; the Accept header excludes it.")
		return
	}
	tok, t, ok := s.authenticate(c)
	if !ok {
		if c.rel == s.cfg.refreshPath && r.Method == s.cfg.refreshMethod {
			s.refreshed(RefreshEvent{At: s.now(), Token: bearerToken(r), Status: http.StatusUnauthorized})
		}
		return
	}
	g := t.sess.grant
	c.member = g.member
	if len(g.ips) > 0 && !ipAllowed(r.RemoteAddr, g.ips) {
		s.fail(c, http.StatusForbidden, CodeForbiddenIP, "Forbidden",
			"Requests from this IP address are not allowed for the access token.")
		return
	}
	if c.rel == s.cfg.refreshPath {
		if r.Method != s.cfg.refreshMethod {
			w.Header().Set("Allow", s.cfg.refreshMethod)
			s.fail(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed",
				"The token refresh endpoint accepts "+s.cfg.refreshMethod+" only.")
			return
		}
		s.refresh(c, tok, t)
		return
	}
	if !endpointAllowed(c.rel, g.endpoints) {
		s.fail(c, http.StatusForbidden, CodeForbiddenRoute, "Forbidden",
			"The access token does not permit the endpoint "+c.rel+".")
		return
	}
	if g.viewer && r.Method != http.MethodGet && r.Method != http.MethodHead {
		s.fail(c, http.StatusForbidden, CodeForbiddenRole, "Forbidden",
			"A user with Viewer access rights cannot "+r.Method+" objects.")
		return
	}
	segs := strings.Split(c.rel, "/")
	switch {
	case len(segs) == 1 && segs[0] == "digital-accounts":
		switch r.Method {
		case http.MethodGet:
			s.listAccounts(c, g)
		case http.MethodPost:
			s.createAccount(c, g)
		default:
			w.Header().Set("Allow", "GET, POST")
			s.fail(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed",
				r.Method+" is not supported on digital-accounts.")
		}
	case len(segs) == 2 && segs[0] == "digital-accounts" && segs[1] != "":
		id := segs[1]
		if !accountAllowed(id, g.accounts) {
			s.fail(c, http.StatusForbidden, CodeForbiddenAccount, "Forbidden",
				"The access token does not permit the digital account "+id+".")
			return
		}
		switch r.Method {
		case http.MethodGet:
			s.getAccount(c, id, false)
		case http.MethodDelete:
			s.getAccount(c, id, true)
		default:
			w.Header().Set("Allow", "GET, DELETE")
			s.fail(c, http.StatusMethodNotAllowed, CodeMethodNotAllowed, "Method not allowed",
				r.Method+" is not supported on a digital account.")
		}
	default:
		s.fail(c, http.StatusNotFound, CodeNotFound, "Not found",
			"No endpoint "+r.Method+" "+c.rel+".")
	}
}

// authenticate checks the bearer token and answers 401 itself when it fails.
func (s *Server) authenticate(c *reqCtx) (string, *token, bool) {
	tok := bearerToken(c.r)
	if tok == "" {
		s.fail(c, http.StatusUnauthorized, CodeUnauthorized, "Unauthorized",
			"Pass the OAuth token with each request as exactly one header 'Authorization: Bearer <OAuth-token>'.")
		return "", nil, false
	}
	now := s.now()
	s.mu.Lock()
	t, ok := s.tokens[tok]
	st := StateUnknown
	if ok {
		st = s.stateLocked(t, now)
		c.member = t.sess.grant.member
	}
	if st == StateRetired {
		s.retiredUses++
	}
	s.mu.Unlock()
	switch st {
	case StateActive:
		return tok, t, true
	case StateUnknown:
		s.fail(c, http.StatusUnauthorized, CodeTokenUnknown, "Invalid token",
			"The access token is not valid.")
	case StateRetired:
		s.fail(c, http.StatusUnauthorized, CodeTokenRetired, "Token replaced",
			"The access token was replaced by a refresh and is no longer valid.")
	case StateRevoked:
		s.fail(c, http.StatusUnauthorized, CodeTokenRevoked, "Token revoked",
			fmt.Sprintf("The access token was revoked: it was not refreshed within %v. An administrator must create a new access token in the Web Office.", s.cfg.revokeAfter))
	case StateSessionExpired:
		s.fail(c, http.StatusUnauthorized, CodeSessionExpired, "Session expired",
			fmt.Sprintf("The access token session of %v has ended. An administrator must create a new access token in the Web Office.", s.cfg.sessionLength))
	}
	return "", nil, false
}

func (s *Server) refresh(c *reqCtx, tok string, t *token) {
	now := s.now()
	s.mu.Lock()
	// Re-check under the lock: a concurrent refresh may have retired tok.
	if st := s.stateLocked(t, now); st != StateActive {
		code := CodeTokenRevoked
		switch st {
		case StateRetired:
			s.retiredUses++
			code = CodeTokenRetired
		case StateSessionExpired:
			code = CodeSessionExpired
		}
		s.mu.Unlock()
		s.fail(c, http.StatusUnauthorized, code, "Token no longer valid",
			"The access token is no longer valid.")
		s.refreshed(RefreshEvent{At: now, Token: tok, Status: http.StatusUnauthorized})
		return
	}
	newTok := tok
	if s.cfg.rotate && s.cfg.tokenField != "" {
		newTok = s.mintLocked(t.sess, now)
		s.tokens[newTok] = &token{sess: t.sess, lastRefresh: now}
		t.retired = true
		t.sess.current = newTok
	} else {
		t.lastRefresh = now
	}
	s.refreshes++
	s.refreshTimes = append(s.refreshTimes, now)
	left := s.cfg.revokeAfter
	if rem := t.sess.end.Sub(now); rem < left {
		left = rem
	}
	s.mu.Unlock()

	ans := map[string]any{}
	if s.cfg.tokenField != "" {
		ans[s.cfg.tokenField] = newTok
		ans["token_type"] = "Bearer"
		ans["expires_in"] = int64(left.Round(time.Second) / time.Second)
	}
	b, _ := json.Marshal(ans)
	writeJSON(c.w, http.StatusOK, b)
	s.refreshed(RefreshEvent{At: now, Token: tok, NewToken: newTok, Status: http.StatusOK})
}

func (s *Server) listAccounts(c *reqCtx, g grant) {
	s.mu.Lock()
	list := make([]json.RawMessage, 0, len(s.order))
	for _, id := range s.order {
		if accountAllowed(id, g.accounts) {
			list = append(list, s.accounts[id])
		}
	}
	s.mu.Unlock()
	b, _ := json.Marshal(list)
	writeJSON(c.w, http.StatusOK, b)
}

func (s *Server) getAccount(c *reqCtx, id string, del bool) {
	s.mu.Lock()
	doc, ok := s.accounts[id]
	if ok && del {
		delete(s.accounts, id)
		for i, v := range s.order {
			if v == id {
				s.order = append(s.order[:i:i], s.order[i+1:]...)
				break
			}
		}
	}
	s.mu.Unlock()
	if !ok {
		s.fail(c, http.StatusNotFound, CodeNotFound, "Not found",
			"No digital account with id "+id+".")
		return
	}
	writeJSON(c.w, http.StatusOK, doc)
}

func (s *Server) createAccount(c *reqCtx, g grant) {
	ct := c.r.Header.Get("Content-Type")
	if mt, _, _ := strings.Cut(ct, ";"); strings.TrimSpace(strings.ToLower(mt)) != "application/json" {
		s.fail(c, http.StatusBadRequest, CodeBadRequest, "Bad request",
			"The request body must be JSON (Content-Type: application/json).")
		return
	}
	var body map[string]json.RawMessage
	if err := json.NewDecoder(c.r.Body).Decode(&body); err != nil || body == nil {
		s.fail(c, http.StatusBadRequest, CodeBadRequest, "Bad request",
			"The request body must be a JSON object.")
		return
	}
	var id string
	if raw, ok := body["id"]; ok {
		if err := json.Unmarshal(raw, &id); err != nil || id == "" || strings.Contains(id, "/") {
			s.fail(c, http.StatusBadRequest, CodeBadRequest, "Bad request",
				"Field id must be a non-empty string without '/'.")
			return
		}
	}
	if id != "" && !accountAllowed(id, g.accounts) {
		s.fail(c, http.StatusForbidden, CodeForbiddenAccount, "Forbidden",
			"The access token does not permit the digital account "+id+".")
		return
	}
	s.mu.Lock()
	if id == "" {
		s.seq++
		id = fmt.Sprintf("da-%04d", len(s.order)+s.seq)
	}
	if _, exists := s.accounts[id]; exists {
		s.mu.Unlock()
		s.fail(c, http.StatusConflict, CodeConflict, "Conflict",
			"A digital account with id "+id+" already exists.")
		return
	}
	raw, _ := json.Marshal(body)
	doc := withID(raw, id)
	s.accounts[id] = doc
	s.order = append(s.order, id)
	s.mu.Unlock()
	writeJSON(c.w, http.StatusCreated, doc)
}

func acceptsJSON(vals []string) bool {
	if len(vals) == 0 {
		return true
	}
	for _, v := range vals {
		for _, part := range strings.Split(v, ",") {
			fields := strings.Split(part, ";")
			mt := strings.ToLower(strings.TrimSpace(fields[0]))
			refused := false
			for _, p := range fields[1:] {
				k, val, _ := strings.Cut(strings.TrimSpace(p), "=")
				if strings.EqualFold(k, "q") {
					if q, err := strconv.ParseFloat(val, 64); err == nil && q == 0 {
						refused = true
					}
				}
			}
			if refused {
				continue
			}
			switch {
			case mt == "application/json", mt == "application/*", mt == "*/*", mt == "":
				return true
			case strings.HasPrefix(mt, "application/") && strings.HasSuffix(mt, "+json"):
				return true
			}
		}
	}
	return false
}

func endpointAllowed(rel string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if rel == a || strings.HasPrefix(rel, a+"/") {
			return true
		}
	}
	return false
}

func accountAllowed(id string, allowed []string) bool {
	if len(allowed) == 0 {
		return true
	}
	for _, a := range allowed {
		if a == id {
			return true
		}
	}
	return false
}

func ipAllowed(remote string, allowed []string) bool {
	host, _, err := net.SplitHostPort(remote)
	if err != nil {
		host = remote
	}
	ip := net.ParseIP(host)
	for _, a := range allowed {
		if p := net.ParseIP(a); p != nil && ip != nil && p.Equal(ip) {
			return true
		}
	}
	return false
}

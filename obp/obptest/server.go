package obptest

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/fake"
)

// The accounts, users and DAuth claims a new Server starts with. They are the values
// of the OBP API Explorer's examples.
const (
	DefaultBankID    = "gh.29.uk"
	DefaultAccountID = "8ca8a7e4-6d02-40e3-a129-0b2bf89de9f0"
	// DefaultUsername is a DirectLogin user who holds the owner view on the default
	// account and the CanCreateEntitlementAtAnyBank role. Its password is Password().
	DefaultUsername = "felixsmith"

	DefaultSmartContractAddress = "0xe123425E7734CE288F8367e1Bb143E90bb3F051224"
	DefaultNetworkName          = "AIRNODE.TESTNET.ETHEREUM"
	DefaultMsgSender            = "0xe12340927f1725E7734CE288F8367e1Bb143E90fhku767"

	// RoleCanCreateEntitlementAtAnyBank lets its holder give any role to any user.
	RoleCanCreateEntitlementAtAnyBank = "CanCreateEntitlementAtAnyBank"

	// DAuthProviderPrefix prefixes the provider of every user DAuth creates: a JWT with
	// network_name N acts as the user whose provider is "dauth.N".
	DAuthProviderPrefix = "dauth."
)

// HeaderField is one header line as received.
type HeaderField = fake.HeaderField

// Option configures a Server.
type Option func(*config)

type config struct {
	priv          *rsa.PrivateKey
	pub           *rsa.PublicKey
	dauthDisabled bool
	hosts         []string
	lenient       bool
	maxSkew       time.Duration
	tokenTTL      time.Duration
	loginStatus   int
	legacyErrors  bool
	extraView     map[string]any
	echoCreds     bool
	now           func() time.Time
	password      string
	consumerKey   string
	listener      net.Listener
}

// WithListener serves on ln (e.g. a listener on a fixed port) instead of a fresh
// loopback listener; the server closes it on Close.
func WithListener(ln net.Listener) Option { return func(c *config) { c.listener = ln } }

// WithPassword sets DefaultUsername's DirectLogin password (Password) instead of a
// random one, so that a configuration holding it stays the same from one run to the
// next. An empty password is ignored.
func WithPassword(password string) Option { return func(c *config) { c.password = password } }

// WithConsumerKey sets the consumer key a new server registers (ConsumerKey) instead
// of a random one. An empty key is ignored.
func WithConsumerKey(key string) Option { return func(c *config) { c.consumerKey = key } }

// WithDAuthPublicKey makes the fake verify DAuth JWTs with pub (OBP's
// jwt.public_key_rsa) instead of the key pair it generates. DAuthPrivateKey then
// returns nil.
func WithDAuthPublicKey(pub *rsa.PublicKey) Option {
	return func(c *config) { c.priv, c.pub = nil, pub }
}

// WithDAuthPrivateKey makes the fake trust priv's public half for DAuth instead of
// generating a key pair (generating one costs tens of milliseconds: tests that start
// many servers can share one key). DAuthPrivateKey returns priv.
func WithDAuthPrivateKey(priv *rsa.PrivateKey) Option {
	return func(c *config) { c.priv, c.pub = priv, &priv.PublicKey }
}

// WithDAuthDisabled turns DAuth off (OBP's allow_dauth=false): a DAuth header is then
// ignored, so the request is anonymous.
func WithDAuthDisabled() Option { return func(c *config) { c.dauthDisabled = true } }

// WithDAuthHosts sets the IP addresses DAuth calls may come from (OBP's dauth.host).
// The default admits loopback only (127.0.0.1 and ::1). With no address at all, every
// DAuth call fails with OBP-20068, as OBP does when the property is missing.
func WithDAuthHosts(addrs ...string) Option {
	return func(c *config) { c.hosts = append([]string{}, addrs...) }
}

// WithLenientDAuth accepts DAuth JWTs exactly as OBP does: only the signature and the
// three required claims are checked. By default the fake is stricter and also requires
// a timestamp claim in RFC 3339 within the allowed skew and a request_id claim that it
// has not seen before, so that a client reusing a JWT across requests or retries fails.
func WithLenientDAuth() Option { return func(c *config) { c.lenient = true } }

// WithDAuthMaxSkew sets how far a DAuth timestamp may be from the fake's clock
// (default 5 minutes).
func WithDAuthMaxSkew(d time.Duration) Option { return func(c *config) { c.maxSkew = d } }

// WithDirectLoginTokenTTL sets how long a DirectLogin token stays valid (OBP's
// token_expiration_weeks; default 4 weeks). See also ExpireDirectLoginTokens.
func WithDirectLoginTokenTTL(d time.Duration) Option {
	return func(c *config) { c.tokenTTL = d }
}

// WithDirectLoginStatus sets the status of a successful DirectLogin: 201 (OBP's
// answer, the default) or 200 (newer API versions' documented answer).
func WithDirectLoginStatus(status int) Option { return func(c *config) { c.loginStatus = status } }

// WithLegacyErrors answers errors as very old OBP builds did: {"error": "..."}.
func WithLegacyErrors() Option { return func(c *config) { c.legacyErrors = true } }

// WithExtraViewFields adds fields to every view the fake returns, e.g. a permission
// flag a newer OBP version has added ("can_see_transaction_status": true) or
// "is_firehose".
func WithExtraViewFields(fields map[string]any) Option {
	return func(c *config) {
		if c.extraView == nil {
			c.extraView = map[string]any{}
		}
		for k, v := range fields {
			c.extraView[k] = v
		}
	}
}

// WithEchoCredentials makes every error answer repeat the credentials the request
// carried, after the message: " (received Authorization: ..., DAuth: ...,
// DirectLogin: ..., Consent-JWT: ..., Consent-Id: ...)", as a careless server or
// gateway might. It tests that a client keeps them out of its errors.
func WithEchoCredentials() Option { return func(c *config) { c.echoCreds = true } }

// WithClock sets the fake's clock (DAuth timestamp skew, DirectLogin token expiry).
func WithClock(now func() time.Time) Option { return func(c *config) { c.now = now } }

// Server is a fake OBP instance: DAuth, DirectLogin, Bearer and Consent-JWT
// authentication, the current user, and the v4.0.0 account-access and user-entitlement
// calls, with OBP's status codes and error messages. It is safe for concurrent use.
type Server struct {
	srv  *fake.Server
	cfg  config
	priv *rsa.PrivateKey

	mu          sync.Mutex
	consumers   map[string]bool
	users       map[string]*user   // by user id
	byName      map[userKey]string // (username, provider) -> user id
	banks       map[string]bool
	accounts    map[accountKey]*account
	system      map[string]*View
	tokens      map[string]dlToken
	bearers     map[string]string
	consents    map[string]string
	password    string
	consumerKey string
	logins      int
	dauthCalls  []DAuthCall
	seenIDs     map[string]bool
}

type userKey struct{ username, provider string }

type user struct {
	id, username, provider, email string
	password                      string
	locked                        bool
	entitlements                  []Entitlement
}

type accountKey struct{ bank, account string }

type account struct {
	custom map[string]*View
	access map[string]map[string]bool // user id -> view ids
}

type dlToken struct {
	userID  string
	expires time.Time
}

// Entitlement is a role held by a user (bank id "" for system roles).
type Entitlement struct {
	EntitlementID string `json:"entitlement_id"`
	RoleName      string `json:"role_name"`
	BankID        string `json:"bank_id"`
	UserID        string `json:"user_id"`
}

// DAuthCall records one DAuth JWT the fake accepted.
type DAuthCall struct {
	Algorithm            string
	SmartContractAddress string
	NetworkName          string
	MsgSender            string
	ConsumerKey          string
	Timestamp            string
	RequestID            string
}

// NewServer starts a fake OBP instance. Close it when done.
func NewServer(opts ...Option) *Server {
	cfg := config{
		hosts:       []string{"127.0.0.1", "::1"},
		maxSkew:     5 * time.Minute,
		tokenTTL:    4 * 7 * 24 * time.Hour,
		loginStatus: http.StatusCreated,
		now:         time.Now,
	}
	for _, o := range opts {
		o(&cfg)
	}
	if cfg.password == "" {
		cfg.password = "pw-" + randomHex(12)
	}
	if cfg.consumerKey == "" {
		cfg.consumerKey = randomHex(20)
	}
	s := &Server{
		cfg:         cfg,
		password:    cfg.password,
		consumerKey: cfg.consumerKey,
	}
	if cfg.priv != nil {
		s.priv = cfg.priv
	}
	if cfg.pub == nil {
		key, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic("obptest: generating the DAuth key pair: " + err.Error())
		}
		s.priv = key
		s.cfg.pub = &key.PublicKey
	}
	s.reset()
	var fopts []fake.Option
	if cfg.listener != nil {
		fopts = append(fopts, fake.WithListener(cfg.listener))
	}
	s.srv = fake.Start(http.HandlerFunc(s.serve), fopts...)
	return s
}

// reset puts the users, banks, accounts, views and tokens back where a new server has
// them.
func (s *Server) reset() {
	s.mu.Lock()
	s.consumers = map[string]bool{s.consumerKey: true}
	s.users = map[string]*user{}
	s.byName = map[userKey]string{}
	s.banks = map[string]bool{}
	s.accounts = map[accountKey]*account{}
	s.system = systemViews()
	s.tokens = map[string]dlToken{}
	s.bearers = map[string]string{}
	s.consents = map[string]string{}
	s.seenIDs = map[string]bool{}
	s.logins = 0
	s.dauthCalls = nil
	// The defaults go in under the same lock: a request never sees an empty instance.
	u := s.addDirectLoginUserLocked(DefaultUsername, s.password)
	s.addAccountLocked(DefaultBankID, DefaultAccountID).grant(u.id, ViewOwner)
	s.addEntitlementLocked(u, "", RoleCanCreateEntitlementAtAnyBank)
	s.mu.Unlock()
}

// Reset puts the instance back where NewServer left it, with the same DAuth key,
// password and consumer key: only the default bank, account and DirectLogin user
// exist (the user gets a new id), every other user, view, grant, entitlement,
// consumer key, DirectLogin token, bearer token and consent is gone, DAuth request
// ids may be used again, and injected faults and the request log are empty.
func (s *Server) Reset() {
	s.reset()
	s.srv.Reset()
}

// String describes the server without its credentials (DAuth private key, password,
// tokens).
func (s *Server) String() string {
	if s == nil || s.srv == nil {
		return "obptest.Server{}"
	}
	return "obptest.Server{URL: " + s.URL() + ", DAuthPrivateKey: [REDACTED], Password: [REDACTED]}"
}

// GoString describes the server without its credentials.
func (s *Server) GoString() string { return s.String() }

// Format describes the server without its credentials, whatever the verb (a %d or %x
// would otherwise print the fields).
func (s *Server) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(s.String())) }

// LogValue describes the server without its credentials in slog output.
func (s *Server) LogValue() slog.Value { return slog.StringValue(s.String()) }

// URL is the instance's base URL (e.g. http://127.0.0.1:41234); API paths are below
// /obp/<version>/, DirectLogin is at /my/logins/direct.
func (s *Server) URL() string { return s.srv.URL() }

// Close shuts the server down.
func (s *Server) Close() { s.srv.Close() }

// Requests returns every request received so far, in arrival order, with header names
// as they arrived on the wire.
func (s *Server) Requests() []fake.Request { return s.srv.Requests() }

// Count returns how many requests had this method ("" for any) and exact path.
func (s *Server) Count(method, path string) int { return s.srv.Count(method, path) }

// ResetRequests empties the request log.
func (s *Server) ResetRequests() { s.srv.ResetRequests() }

// Inject makes the next n matching requests take fault f (see Fault.On).
func (s *Server) Inject(n int, f fake.Fault) { s.srv.Inject(n, f) }

// ClearFaults drops the faults not yet taken.
func (s *Server) ClearFaults() { s.srv.ClearFaults() }

// Client returns an *http.Client that trusts the server, for requests sent to the
// fake directly (an obp.Client takes it with WithHTTPClient, or builds its own).
func (s *Server) Client() *http.Client { return s.srv.Client() }

// DAuthPrivateKey returns the private half of the DAuth key pair (generated, or given
// with WithDAuthPrivateKey), or nil when WithDAuthPublicKey was given.
func (s *Server) DAuthPrivateKey() *rsa.PrivateKey { return s.priv }

// DAuthPrivateKeyPEM returns DAuthPrivateKey as a PKCS#8 PEM block, or nil.
func (s *Server) DAuthPrivateKeyPEM() []byte {
	if s.priv == nil {
		return nil
	}
	der, err := x509.MarshalPKCS8PrivateKey(s.priv)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// ConsumerKey returns the consumer key DirectLogin requires.
func (s *Server) ConsumerKey() string { return s.consumerKey }

// AddConsumerKey registers one more consumer key.
func (s *Server) AddConsumerKey(key string) {
	s.mu.Lock()
	s.consumers[key] = true
	s.mu.Unlock()
}

// Password returns DefaultUsername's DirectLogin password.
func (s *Server) Password() string { return s.password }

// LocalProvider is the provider of the users that log in with DirectLogin.
func (s *Server) LocalProvider() string { return "obptest" }

// EnsureUser gets or creates the user (username, provider) and returns its id. For a
// DAuth user, username is the smart contract address and provider is
// DAuthProviderPrefix + network name.
func (s *Server) EnsureUser(username, provider string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.ensureUserLocked(username, provider).id
}

func (s *Server) ensureUserLocked(username, provider string) *user {
	if id, ok := s.byName[userKey{username, provider}]; ok {
		return s.users[id]
	}
	u := &user{id: newUUID(), username: username, provider: provider}
	s.users[u.id] = u
	s.byName[userKey{username, provider}] = u.id
	return u
}

// AddDirectLoginUser creates (or updates the password of) a local user who can log in
// with DirectLogin, and returns its id.
func (s *Server) AddDirectLoginUser(username, password string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addDirectLoginUserLocked(username, password).id
}

func (s *Server) addDirectLoginUserLocked(username, password string) *user {
	u := s.ensureUserLocked(username, s.LocalProvider())
	u.password = password
	u.email = username + "@example.com"
	return u
}

// LockUser locks a user: DirectLogin then fails with OBP-20013.
func (s *Server) LockUser(userID string) {
	s.mu.Lock()
	if u, ok := s.users[userID]; ok {
		u.locked = true
	}
	s.mu.Unlock()
}

// UserID returns the id of (username, provider), if that user exists.
func (s *Server) UserID(username, provider string) (string, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	id, ok := s.byName[userKey{username, provider}]
	return id, ok
}

// Users returns the number of users.
func (s *Server) Users() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.users)
}

// AddBank creates a bank.
func (s *Server) AddBank(bankID string) {
	s.mu.Lock()
	s.banks[bankID] = true
	s.mu.Unlock()
}

// AddAccount creates an account (and its bank).
func (s *Server) AddAccount(bankID, accountID string) {
	s.mu.Lock()
	s.addAccountLocked(bankID, accountID)
	s.mu.Unlock()
}

func (s *Server) addAccountLocked(bankID, accountID string) *account {
	s.banks[bankID] = true
	k := accountKey{bankID, accountID}
	a, ok := s.accounts[k]
	if !ok {
		a = &account{custom: map[string]*View{}, access: map[string]map[string]bool{}}
		s.accounts[k] = a
	}
	return a
}

// AddCustomView adds a custom view to an account. Its id must start with "_".
func (s *Server) AddCustomView(bankID, accountID string, v View) error {
	if IsSystemViewID(v.ID) {
		return fmt.Errorf("obptest: custom view id %q must start with \"_\"", v.ID)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountKey{bankID, accountID}]
	if !ok {
		return fmt.Errorf("obptest: no account %s/%s", bankID, accountID)
	}
	c := cloneView(&v)
	if c.MetadataView == "" {
		c.MetadataView = c.ID
	}
	a.custom[v.ID] = c
	return nil
}

// GrantAccess gives a user a view (system or custom) on an account.
func (s *Server) GrantAccess(bankID, accountID, userID, viewID string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountKey{bankID, accountID}]
	if !ok {
		return fmt.Errorf("obptest: no account %s/%s", bankID, accountID)
	}
	if _, ok := s.users[userID]; !ok {
		return fmt.Errorf("obptest: no user %s", userID)
	}
	if _, _, ok := s.lookupView(a, viewID); !ok {
		return fmt.Errorf("obptest: no view %s", viewID)
	}
	a.grant(userID, viewID)
	return nil
}

// Access returns the ids of the views a user holds on an account, sorted.
func (s *Server) Access(bankID, accountID, userID string) []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, ok := s.accounts[accountKey{bankID, accountID}]
	if !ok {
		return nil
	}
	return sortedKeys(a.access[userID])
}

// AddEntitlement gives a user a role (bankID "" for a system role) and returns the
// entitlement id.
func (s *Server) AddEntitlement(userID, bankID, roleName string) string {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return ""
	}
	return s.addEntitlementLocked(u, bankID, roleName).EntitlementID
}

func (s *Server) addEntitlementLocked(u *user, bankID, roleName string) Entitlement {
	for _, e := range u.entitlements {
		if e.BankID == bankID && e.RoleName == roleName {
			return e
		}
	}
	e := Entitlement{EntitlementID: newUUID(), RoleName: roleName, BankID: bankID, UserID: u.id}
	u.entitlements = append(u.entitlements, e)
	return e
}

// Entitlements returns a user's roles.
func (s *Server) Entitlements(userID string) []Entitlement {
	s.mu.Lock()
	defer s.mu.Unlock()
	u, ok := s.users[userID]
	if !ok {
		return nil
	}
	return append([]Entitlement(nil), u.entitlements...)
}

// AddBearerToken makes "Authorization: Bearer <token>" act as the user.
func (s *Server) AddBearerToken(token, userID string) {
	s.mu.Lock()
	s.bearers[token] = userID
	s.mu.Unlock()
}

// AddConsent makes a "Consent-JWT: <consent>" header (the consent JWT or its id) act as
// the user.
func (s *Server) AddConsent(consent, userID string) {
	s.mu.Lock()
	s.consents[consent] = userID
	s.mu.Unlock()
}

// ExpireDirectLoginTokens makes every DirectLogin token issued so far invalid: the
// next call with one of them fails with OBP-20003.
func (s *Server) ExpireDirectLoginTokens() {
	s.mu.Lock()
	s.tokens = map[string]dlToken{}
	s.mu.Unlock()
}

// Logins returns how many DirectLogin logins succeeded.
func (s *Server) Logins() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.logins
}

// DAuthCalls returns the DAuth JWTs the fake accepted, in order.
func (s *Server) DAuthCalls() []DAuthCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]DAuthCall(nil), s.dauthCalls...)
}

// ErrorBody renders an OBP error body, {"code": status, "message": message}, for use
// with Status.
func ErrorBody(status int, message string) string {
	return fmt.Sprintf(`{"code":%d,"message":%s}`, status, quoteJSON(message))
}

func (a *account) grant(userID, viewID string) {
	if a.access[userID] == nil {
		a.access[userID] = map[string]bool{}
	}
	a.access[userID][viewID] = true
}

// lookupView finds a view by id: system views for ids without "_", the account's
// custom views otherwise.
func (s *Server) lookupView(a *account, viewID string) (*View, bool, bool) {
	if IsSystemViewID(viewID) {
		v, ok := s.system[viewID]
		return v, true, ok
	}
	v, ok := a.custom[viewID]
	return v, false, ok
}

func sortedKeys(m map[string]bool) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func newUUID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	h := hex.EncodeToString(b)
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func hostEqual(a, b string) bool { return strings.EqualFold(a, b) }

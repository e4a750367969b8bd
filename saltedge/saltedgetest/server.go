package saltedgetest

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net"
	"net/http"
	"sort"
	"sync"
	"sync/atomic"
	"time"

	"github.com/banksdk/banksdk/fake"
)

// Defaults used by NewServer.
const (
	// DefaultIssuer is the iss claim of the JWTs the fake signs, as in the seed's samples.
	DefaultIssuer = "priora.saltedge.com"
	// DefaultClientID is the id of the TPP client application every Server starts with.
	DefaultClientID int64 = 771
	// DefaultRequestTTL is the lifetime of the JWTs the fake sends to a connector.
	DefaultRequestTTL = time.Minute
	// DefaultSessionTTL is how long a session stays open for callbacks.
	DefaultSessionTTL = 15 * time.Minute
	// DefaultLeeway is the clock skew the fake tolerates on a callback's exp.
	DefaultLeeway = 5 * time.Second
	// DefaultPerPage is the tokens/index page size when the query gives none.
	DefaultPerPage = 50
	// MaxPerPage caps the tokens/index page size.
	MaxPerPage = 1000
)

// Path prefixes.
const (
	// CallbackPrefix is where the fake serves the connector's callbacks.
	CallbackPrefix = "/api/connectors/v1/"
	// ConnectorPrefix is where a connector serves Salt Edge's requests.
	ConnectorPrefix = "/api/priora/v1/"
)

// Server is a fake Salt Edge PSD2 Compliance service. It serves the callback API a
// connector calls (sessions, payments, funds availability, tokens index and revoke,
// clients info) and drives a connector under test with signed requests (see
// Server.Connector). It is safe for concurrent use.
type Server struct {
	fs *fake.Server
	// transport carries the requests of every Connector driver the server hands out;
	// Close closes its idle connections.
	transport *http.Transport

	// signing is Salt Edge's key (and its kid), which signs requests to a connector;
	// RotateSigningKey replaces it.
	signing     atomic.Pointer[signingKey]
	providerKey *rsa.PrivateKey // nil when only the public key was registered
	providerPub *rsa.PublicKey  // verifies callbacks
	appID       string
	appSecret   string
	issuer      string
	requestTTL  time.Duration
	sessionTTL  time.Duration
	leeway      time.Duration
	now         func() time.Time
	// initial is what Reset goes back to: the signing key and the clients at start.
	initialSigning *signingKey
	initialClients []Client

	mu          sync.Mutex
	changed     chan struct{} // closed and replaced on every state change
	sessions    map[string]*session
	tokens      []*tokenRecord
	nextTokenID int64
	clients     map[int64]*Client
	callbacks   []Callback
}

// Option configures a Server.
type Option func(*config)

type config struct {
	signingKey  *rsa.PrivateKey
	signingKID  string
	providerKey *rsa.PrivateKey
	providerPub *rsa.PublicKey
	appID       string
	appSecret   string
	issuer      *string
	requestTTL  time.Duration
	sessionTTL  time.Duration
	leeway      *time.Duration
	clients     []Client
	noDefault   bool
	now         func() time.Time
	listener    net.Listener
}

// WithClock makes the server read the time from now instead of time.Now: session
// expiry (WithSessionTTL), token expiry, the exp it checks on callbacks (with
// WithLeeway) and the exp of the JWTs it signs then follow a clock the caller moves.
// now must be safe for concurrent use. A nil now is ignored.
func WithClock(now func() time.Time) Option {
	return func(c *config) {
		if now != nil {
			c.now = now
		}
	}
}

// WithListener serves the callback API on ln (e.g. a listener on a fixed port)
// instead of a fresh loopback listener; the server closes it on Close.
func WithListener(ln net.Listener) Option { return func(c *config) { c.listener = ln } }

// WithSigningKey sets Salt Edge's own key pair, which signs every request the fake
// sends to a connector. By default a fresh RSA-2048 key is generated.
func WithSigningKey(k *rsa.PrivateKey) Option { return func(c *config) { c.signingKey = k } }

// WithSigningKeyID puts kid in the header of every JWT the fake signs. By default the
// header is {"alg":"RS256"} only, as in the seed's samples.
func WithSigningKeyID(kid string) Option { return func(c *config) { c.signingKID = kid } }

// signingKey is the key the fake signs its requests with, and the kid it names.
type signingKey struct {
	key *rsa.PrivateKey
	kid string
}

// WithProviderKey sets the connector's (provider's) key pair. The fake verifies
// callbacks with its public half and hands out the private half through
// PrivateKey, so a test can configure the client under test with it. By
// default a fresh RSA-2048 key pair is generated.
func WithProviderKey(k *rsa.PrivateKey) Option { return func(c *config) { c.providerKey = k } }

// WithProviderPublicKey registers only the connector's public key, as an operator
// does in Salt Edge's dashboard. PrivateKey then returns nil.
func WithProviderPublicKey(k *rsa.PublicKey) Option {
	return func(c *config) { c.providerPub = k }
}

// WithAppCredentials sets the App-Id and App-Secret pair every callback must carry.
// By default both are random.
func WithAppCredentials(appID, appSecret string) Option {
	return func(c *config) { c.appID, c.appSecret = appID, appSecret }
}

// WithIssuer sets the iss claim of the JWTs the fake signs; "" leaves it out (older
// samples carry none). Default DefaultIssuer.
func WithIssuer(iss string) Option { return func(c *config) { c.issuer = &iss } }

// WithRequestTTL sets the lifetime (exp - now) of the JWTs the fake sends. Default
// DefaultRequestTTL.
func WithRequestTTL(d time.Duration) Option { return func(c *config) { c.requestTTL = d } }

// WithSessionTTL sets how long a session accepts callbacks after it was opened;
// later callbacks get 401 SessionExpired. Default DefaultSessionTTL.
func WithSessionTTL(d time.Duration) Option { return func(c *config) { c.sessionTTL = d } }

// WithLeeway sets the clock skew tolerated on a callback's exp. Default DefaultLeeway.
func WithLeeway(d time.Duration) Option { return func(c *config) { c.leeway = &d } }

// WithClient registers a TPP client application (served by clients/info). A client
// without a Key gets a fresh RSA-2048 key.
func WithClient(cl Client) Option { return func(c *config) { c.clients = append(c.clients, cl) } }

// WithoutDefaultClient starts the server without the DefaultClientID application.
func WithoutDefaultClient() Option { return func(c *config) { c.noDefault = true } }

// Client is a TPP client application known to the fake: the Client-Id the fake sends
// to a connector, and what clients/info answers for it. Key signs the client_jwt of
// the original requests the fake relays.
type Client struct {
	ID     int64
	Name   string
	Scopes []string
	Key    *rsa.PrivateKey
}

// NewServer starts a fake Salt Edge. Close it when done.
func NewServer(opts ...Option) *Server {
	var c config
	for _, o := range opts {
		o(&c)
	}
	s := &Server{
		providerKey: c.providerKey,
		providerPub: c.providerPub,
		appID:       c.appID,
		appSecret:   c.appSecret,
		issuer:      DefaultIssuer,
		requestTTL:  c.requestTTL,
		sessionTTL:  c.sessionTTL,
		leeway:      DefaultLeeway,
		now:         time.Now,
		changed:     make(chan struct{}),
		sessions:    map[string]*session{},
		clients:     map[int64]*Client{},
	}
	if c.now != nil {
		s.now = c.now
	}
	if c.issuer != nil {
		s.issuer = *c.issuer
	}
	if c.leeway != nil {
		s.leeway = *c.leeway
	}
	if s.requestTTL <= 0 {
		s.requestTTL = DefaultRequestTTL
	}
	if s.sessionTTL <= 0 {
		s.sessionTTL = DefaultSessionTTL
	}
	if c.signingKey == nil {
		c.signingKey = mustKey()
	}
	s.initialSigning = &signingKey{key: c.signingKey, kid: c.signingKID}
	s.signing.Store(s.initialSigning)
	if s.providerPub == nil {
		if s.providerKey == nil {
			s.providerKey = mustKey()
		}
		s.providerPub = &s.providerKey.PublicKey
	}
	if s.appID == "" {
		s.appID = randomString(16)
	}
	if s.appSecret == "" {
		s.appSecret = randomString(16)
	}
	clients := c.clients
	if !c.noDefault {
		clients = append([]Client{{ID: DefaultClientID, Name: "Example TPP",
			Scopes: []string{"accounts", "transactions", "kyc"}}}, clients...)
	}
	for _, cl := range clients {
		s.AddClient(cl)
		app, _ := s.ClientApp(cl.ID)
		s.initialClients = append(s.initialClients, app)
	}
	s.transport = http.DefaultTransport.(*http.Transport).Clone()
	var fopts []fake.Option
	if c.listener != nil {
		fopts = append(fopts, fake.WithListener(c.listener))
	}
	s.fs = fake.Start(http.HandlerFunc(s.serveCallback), fopts...)
	return s
}

// Reset puts the server back where NewServer left it, with the same keys and App-Id
// and App-Secret: no session is open, no token is known (token ids start again at
// 1), the callback log is empty, the TPP client applications are the ones it started
// with (with their keys), a RotateSigningKey is undone, and injected faults and the
// request log are gone. Goroutines in WaitSession or WaitCallbacks keep waiting.
func (s *Server) Reset() {
	s.signing.Store(s.initialSigning)
	s.mu.Lock()
	s.sessions = map[string]*session{}
	s.tokens = nil
	s.nextTokenID = 0
	s.callbacks = nil
	s.clients = map[int64]*Client{}
	for _, cl := range s.initialClients {
		cl.Scopes = append([]string(nil), cl.Scopes...)
		s.clients[cl.ID] = &cl
	}
	s.notifyLocked()
	s.mu.Unlock()
	s.fs.Reset()
}

// URL is the fake's base URL: the connector's client uses it as its base URL
// (callbacks live under URL()+CallbackPrefix).
func (s *Server) URL() string { return s.fs.URL() }

// Close shuts the server down and closes the idle connections of the Connector
// drivers it handed out (their requests to a connector under test).
func (s *Server) Close() {
	s.fs.Close()
	s.transport.CloseIdleConnections()
}

// AppID is the App-Id every callback must carry.
func (s *Server) AppID() string { return s.appID }

// AppSecret is the App-Secret every callback must carry.
func (s *Server) AppSecret() string { return s.appSecret }

// PrivateKey is the connector's private key, the one saltedge.WithPrivateKey takes:
// the fake verifies callbacks against its public half. It is nil when only a public
// key was registered (WithProviderPublicKey).
func (s *Server) PrivateKey() *rsa.PrivateKey { return s.providerKey }

// ProviderPublicKey is the public key the fake verifies callbacks with.
func (s *Server) ProviderPublicKey() *rsa.PublicKey { return s.providerPub }

// PublicKey is Salt Edge's public key, the one saltedge.HandlerConfig.PublicKey
// takes: a connector verifies the fake's requests with it. After RotateSigningKey it is the new key's.
func (s *Server) PublicKey() *rsa.PublicKey { return &s.signing.Load().key.PublicKey }

// PublicKeyPEM is PublicKey as a PKIX "PUBLIC KEY" PEM block.
func (s *Server) PublicKeyPEM() []byte { return publicPEM(s.PublicKey()) }

// RotateSigningKey makes the fake sign every later request with k, naming kid in the
// JWT header ("" names none), as Salt Edge does when it rotates its key: a connector
// whose handler knows both keys (HandlerConfig.KeySet) keeps serving, one that knows
// only the old key refuses every request. A nil k is ignored.
func (s *Server) RotateSigningKey(k *rsa.PrivateKey, kid string) {
	if k == nil {
		return
	}
	s.signing.Store(&signingKey{key: k, kid: kid})
}

// Issuer is the iss claim of the fake's JWTs ("" when left out).
func (s *Server) Issuer() string { return s.issuer }

// Requests returns every request the fake received (callbacks), in order.
func (s *Server) Requests() []fake.Request { return s.fs.Requests() }

// Count returns how many requests matched method ("" for any) and path exactly.
func (s *Server) Count(method, path string) int { return s.fs.Count(method, path) }

// Inject makes the next n callback requests matching f take fault f.
func (s *Server) Inject(n int, f fake.Fault) { s.fs.Inject(n, f) }

// ClearFaults drops every injected fault not yet taken.
func (s *Server) ClearFaults() { s.fs.ClearFaults() }

// ResetRequests empties the request log.
func (s *Server) ResetRequests() { s.fs.ResetRequests() }

// Client returns an *http.Client that trusts the server, for requests to the fake's
// own endpoints (the saltedge.Client builds its own transport).
func (s *Server) Client() *http.Client { return s.fs.Client() }

// AddClient registers (or replaces) a TPP client application. A client without a Key
// gets a fresh RSA-2048 key.
func (s *Server) AddClient(cl Client) {
	if cl.Key == nil {
		cl.Key = mustKey()
	}
	cl.Scopes = append([]string(nil), cl.Scopes...)
	s.mu.Lock()
	s.clients[cl.ID] = &cl
	s.mu.Unlock()
}

// ClientApp returns the registered TPP client application with this id.
func (s *Server) ClientApp(id int64) (Client, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	cl, ok := s.clients[id]
	if !ok {
		return Client{}, false
	}
	return *cl, true
}

// Callbacks returns every callback received so far (verified or not), in order.
func (s *Server) Callbacks() []Callback {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Callback(nil), s.callbacks...)
}

// CallbackCount returns how many callbacks named name (e.g. "sessions/update") the
// fake accepted (answered 200).
func (s *Server) CallbackCount(name string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	n := 0
	for _, c := range s.callbacks {
		if c.Name == name && c.Status == http.StatusOK {
			n++
		}
	}
	return n
}

// Callback is one callback request as the fake received and judged it.
type Callback struct {
	Method string
	// Name is the path below CallbackPrefix, e.g. "sessions/success".
	Name string
	// Data is the JWT's data claim (nil when the JWT could not be read).
	Data json.RawMessage
	// ExpiresAt is the JWT's exp; ReceivedAt is when the fake received the callback.
	ExpiresAt  time.Time
	ReceivedAt time.Time
	// Algorithm is the alg of the JWT header.
	Algorithm string
	// Verified is true when App-Id, App-Secret, the JWT signature (RS256, provider
	// key) and exp all checked out.
	Verified bool
	// Status, ErrorClass and ErrorMessage are what the fake answered.
	Status       int
	ErrorClass   string
	ErrorMessage string
}

// SessionStatus is where a session stands.
type SessionStatus string

// Session statuses.
const (
	SessionOpen    SessionStatus = "open"
	SessionSuccess SessionStatus = "success"
	SessionFail    SessionStatus = "fail"
)

// Session is a session the fake opened (by sending a request with a session_secret
// to a connector, or with OpenSession), with the callbacks that moved it.
type Session struct {
	Secret    string
	Status    SessionStatus
	OpenedAt  time.Time
	ExpiresAt time.Time
	// Updates holds the data of every accepted update callback (sessions/update or
	// payments/update), in order.
	Updates []json.RawMessage
	// Result is the data of the success or fail callback that closed the session.
	Result json.RawMessage
	// ResultCallback names that callback, e.g. "sessions/success".
	ResultCallback string
}

type session struct {
	Session
}

// OpenSession opens a session that accepts callbacks, as if the fake had sent a
// request carrying this session_secret to a connector. Opening an existing session
// does nothing.
func (s *Server) OpenSession(secret string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.openLocked(secret)
}

func (s *Server) openLocked(secret string) {
	if secret == "" {
		return
	}
	if _, ok := s.sessions[secret]; ok {
		return
	}
	now := s.now()
	s.sessions[secret] = &session{Session{Secret: secret, Status: SessionOpen,
		OpenedAt: now, ExpiresAt: now.Add(s.sessionTTL)}}
	s.notifyLocked()
}

// Session returns the session with this secret.
func (s *Server) Session(secret string) (Session, bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ss, ok := s.sessions[secret]
	if !ok {
		return Session{}, false
	}
	return ss.copy(), true
}

func (ss *session) copy() Session {
	out := ss.Session
	out.Updates = append([]json.RawMessage(nil), ss.Updates...)
	return out
}

// WaitSession waits until the session with this secret is closed by a success or
// fail callback, or ctx is done.
func (s *Server) WaitSession(ctx context.Context, secret string) (Session, error) {
	for {
		s.mu.Lock()
		ss, ok := s.sessions[secret]
		ch := s.changed
		if ok && ss.Status != SessionOpen {
			out := ss.copy()
			s.mu.Unlock()
			return out, nil
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Session{}, fmt.Errorf("saltedgetest: waiting for session %q: %w", secret, ctx.Err())
		}
	}
}

// WaitCallbacks waits until at least n callbacks were received (verified or not) and
// returns them all, or gives up when ctx is done.
func (s *Server) WaitCallbacks(ctx context.Context, n int) ([]Callback, error) {
	for {
		s.mu.Lock()
		ch := s.changed
		if len(s.callbacks) >= n {
			out := append([]Callback(nil), s.callbacks...)
			s.mu.Unlock()
			return out, nil
		}
		s.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return nil, fmt.Errorf("saltedgetest: waiting for %d callbacks: %w", n, ctx.Err())
		}
	}
}

func (s *Server) notifyLocked() {
	close(s.changed)
	s.changed = make(chan struct{})
}

// TokenStatus is the state of an access token the fake knows.
type TokenStatus string

// Token statuses.
const (
	TokenActive  TokenStatus = "active"
	TokenRevoked TokenStatus = "revoked"
)

// Token is an access token the connector issued, as the fake records it: from a
// sessions/success callback's "token", or added with AddToken.
type Token struct {
	ID         int64
	Token      string
	Status     TokenStatus
	CustomerID string
	CreatedAt  time.Time
	ExpiresAt  time.Time // zero: does not expire
}

type tokenRecord struct{ Token }

// AddToken records an access token as issued to customerID and returns its id.
func (s *Server) AddToken(token, customerID string, expiresAt time.Time) int64 {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.addTokenLocked(token, customerID, expiresAt)
}

func (s *Server) addTokenLocked(token, customerID string, expiresAt time.Time) int64 {
	s.nextTokenID++
	s.tokens = append(s.tokens, &tokenRecord{Token{ID: s.nextTokenID, Token: token,
		Status: TokenActive, CustomerID: customerID, CreatedAt: s.now(), ExpiresAt: expiresAt}})
	s.notifyLocked()
	return s.nextTokenID
}

// Tokens returns every token the fake knows, by id.
func (s *Server) Tokens() []Token {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Token, 0, len(s.tokens))
	for _, t := range s.tokens {
		out = append(out, t.Token)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].ID < out[j].ID })
	return out
}

func mustKey() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic("saltedgetest: generating an RSA key: " + err.Error())
	}
	return k
}

// GenerateKey returns a fresh RSA-2048 key pair, for WithSigningKey, WithProviderKey
// and Client.Key (tests that start many servers can share keys).
func GenerateKey() (*rsa.PrivateKey, error) { return rsa.GenerateKey(rand.Reader, 2048) }

// PrivateKeyPEM encodes k as a PKCS#8 "PRIVATE KEY" PEM block.
func PrivateKeyPEM(k *rsa.PrivateKey) []byte {
	der, err := x509.MarshalPKCS8PrivateKey(k)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

// PublicKeyPEM encodes k as a PKIX "PUBLIC KEY" PEM block.
func PublicKeyPEM(k *rsa.PublicKey) []byte { return publicPEM(k) }

func publicPEM(k *rsa.PublicKey) []byte {
	der, err := x509.MarshalPKIXPublicKey(k)
	if err != nil {
		return nil
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func randomString(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

// NewSessionSecret returns a random session secret shaped like the seed's samples
// (20 URL-safe characters).
func NewSessionSecret() string { return randomString(15) }

package tpv

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// AuthTokenLifetime is how long the portal's auth token is valid. The client logs in
// again a little before it runs out (AuthTokenRenewBefore), and when the portal
// rejects the token (see the package documentation).
const AuthTokenLifetime = 30 * time.Minute

// AuthTokenRenewBefore is how long before the end of AuthTokenLifetime the client
// starts logging in again (shortened by a small random jitter).
const AuthTokenRenewBefore = 2 * time.Minute

// Paths of the documented endpoints, relative to the clients portal URL.
const (
	pathAuth        = "api/v1/auth"
	pathTPV         = "api/v1/tpv"
	pathProducts    = "api/v1/products"
	pathDigitalSend = "api/v1/digital/send"
	pathQueueCall   = "api/v1/queue/call"
)

// Endpoint names an endpoint whose HTTP method the documentation leaves ambiguous
// (its heading says GET, its example uses POST), for WithEndpointMethod.
type Endpoint string

// The endpoints with an ambiguous method.
const (
	EndpointProducts    Endpoint = "products"     // /api/v1/products
	EndpointDigitalSend Endpoint = "digital/send" // /api/v1/digital/send/{code}
	EndpointQueueCall   Endpoint = "queue/call"   // /api/v1/queue/call/{code}
)

// RequestSigner computes the Signature header of one request attempt. req is the
// attempt as it will be sent (its URL carries the final query string and its
// Authorization header the auth token) and body its exact body. signer is the
// client's HMAC signer (WithHMACSigner, or the secret of WithCredentials): a
// RequestSigner chooses what is signed and how it is encoded, the key stays with the
// signer. ctx is the attempt's context; pass it to signer, which may be remote. An
// empty signature sends no Signature header.
type RequestSigner func(ctx context.Context, req *http.Request, body []byte, signer auth.HMACSigner) (string, error)

// Client is a TPV clients-portal API client. It is safe for concurrent use. Close
// it when done with it.
type Client struct {
	rc       *rest.Client
	tokens   *auth.Cache
	appToken auth.Source     // read on every login, never kept beyond it
	hmac     auth.HMACSigner // keys the login signature and the default Signature
	now      func() time.Time
	methods  *endpointMethods
	loginTTL time.Duration
	life     *rest.Lifecycle
}

// Option configures a Client. Options that get bad values make NewClient fail.
type Option func(*options) error

type options struct {
	cfg        rest.Config
	appToken   auth.Source
	appTokenBy string // the option that gave appToken
	hmac       auth.HMACSigner
	hmacBy     string // the option that gave hmac
	signer     RequestSigner
	methods    map[Endpoint]string
	clock      func() time.Time // nil: time.Now
	store      auth.Store
	storeKey   string
}

// setAppToken records the application token source given by option by; a second
// option giving it too is an error (one way to give each credential).
func (o *options) setAppToken(by string, src auth.Source) error {
	if o.appTokenBy != "" && o.appTokenBy != by {
		return fmt.Errorf("%s: the application token is already given by %s: use one of them", by, o.appTokenBy)
	}
	o.appToken, o.appTokenBy = src, by
	return nil
}

// setHMAC records the HMAC signer given by option by, as setAppToken.
func (o *options) setHMAC(by string, s auth.HMACSigner) error {
	if o.hmacBy != "" && o.hmacBy != by {
		return fmt.Errorf("%s: the HMAC key (application secret) is already given by %s: use one of them", by, o.hmacBy)
	}
	o.hmac, o.hmacBy = s, by
	return nil
}

// WithBaseURL sets the clients portal URL, e.g. https://clients.tpvhub.com (the
// staging portal is https://clients.staging.tpvhub.com). Required.
func WithBaseURL(u string) Option { return func(o *options) error { return o.cfg.SetBaseURL(u) } }

// WithCredentials sets the application token and secret issued in the management
// portal (Brands, API Access), held in memory. The secret never goes over the wire:
// it keys the login signature and, by default, the request signatures. It is the
// same as WithAppTokenSource with a fixed token and WithHMACSigner with
// auth.NewHMACSHA256 of the secret; give the credentials either way, not both.
func WithCredentials(appToken, appSecret string) Option {
	return func(o *options) error {
		if strings.TrimSpace(appToken) == "" || strings.TrimSpace(appSecret) == "" {
			return errors.New("WithCredentials: the application token and the application secret are both required")
		}
		if !queryToken(appToken) {
			return errors.New("WithCredentials: the application token contains characters a query string cannot carry as is")
		}
		signer, err := auth.NewHMACSHA256(auth.NewSecret(appSecret))
		if err != nil {
			return fmt.Errorf("WithCredentials: %w", err)
		}
		if err := o.setAppToken("WithCredentials", auth.StaticSource(auth.Token{Value: appToken})); err != nil {
			return err
		}
		return o.setHMAC("WithCredentials", signer)
	}
}

// WithAppTokenSource reads the application token from src (a secret manager, for
// example) instead of holding it in memory. The client reads it afresh for every
// login and keeps it no longer than that login. Use it with WithHMACSigner, instead
// of WithCredentials.
func WithAppTokenSource(src auth.Source) Option {
	return func(o *options) error {
		if src == nil {
			return errors.New("WithAppTokenSource: source must not be nil")
		}
		return o.setAppToken("WithAppTokenSource", src)
	}
}

// WithHMACSigner sets the HMAC-SHA256 signer keyed by the application secret, for a
// secret the process must not hold (a KMS or a Vault transit key behind an
// auth.HMACSigner). It signs the login signature and the default Signature header,
// and is handed to a RequestSigner; its MACs are sent as lowercase hex. Each call
// gets the context of the login or request it signs. Use it with WithAppTokenSource,
// instead of WithCredentials.
func WithHMACSigner(signer auth.HMACSigner) Option {
	return func(o *options) error {
		if signer == nil {
			return errors.New("WithHMACSigner: signer must not be nil")
		}
		return o.setHMAC("WithHMACSigner", signer)
	}
}

// queryToken reports whether an application token can go into the login query as is.
func queryToken(s string) bool { return !strings.ContainsAny(s, "&=#?% \t\r\n") }

// WithRequestSigner replaces what the Signature header signs (see the package
// documentation for the default); the key stays with the client's HMAC signer,
// which the RequestSigner receives.
func WithRequestSigner(signer RequestSigner) Option {
	return func(o *options) error {
		if signer == nil {
			return errors.New("WithRequestSigner: signer must not be nil")
		}
		o.signer = signer
		return nil
	}
}

// WithEndpointMethod sets the HTTP method (GET or POST; default POST) used first for
// an endpoint whose method the documentation leaves ambiguous. After a 405 answer
// the other method is tried once.
func WithEndpointMethod(endpoint Endpoint, method string) Option {
	return func(o *options) error {
		switch endpoint {
		case EndpointProducts, EndpointDigitalSend, EndpointQueueCall:
		default:
			return fmt.Errorf("WithEndpointMethod: unknown endpoint %q (want %q, %q or %q)",
				endpoint, EndpointProducts, EndpointDigitalSend, EndpointQueueCall)
		}
		m := strings.ToUpper(strings.TrimSpace(method))
		if m != http.MethodGet && m != http.MethodPost {
			return fmt.Errorf("WithEndpointMethod: method %q for %s: must be GET or POST", method, endpoint)
		}
		o.methods[endpoint] = m
		return nil
	}
}

// WithHTTPClient sets the HTTP client to use; it is copied, never mutated.
// Its Transport carries every attempt and its Jar, if any, keeps cookies; its Timeout
// and CheckRedirect are not used (WithTimeout bounds each attempt, and redirects are
// never followed).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error { return o.cfg.SetHTTPClient(hc) }
}

// WithTimeout bounds each attempt of a request (default 30 s). The caller's context
// bounds the whole call.
func WithTimeout(d time.Duration) Option {
	return func(o *options) error { return o.cfg.SetTimeout(d) }
}

// WithRetry sets how many times a request that provably did not reach the portal (or
// that is safe to repeat) is retried, and the bounds of the jittered backoff
// (default 3 retries, 200 ms to 10 s).
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(o *options) error { return o.cfg.SetRetry(max, waitMin, waitMax) }
}

// WithLogger sets the logger (default: discard). It receives one debug line per
// attempt (method, host, path, status, duration), never credentials or bodies.
func WithLogger(l *slog.Logger) Option { return func(o *options) error { return o.cfg.SetLogger(l) } }

// WithUserAgent appends app (e.g. "myapp/1.2") to the SDK's User-Agent.
func WithUserAgent(app string) Option {
	return func(o *options) error { return o.cfg.SetUserAgent(app) }
}

// WithStore shares the auth token with the other replicas of a service through store
// (for example redisstore) under key: the portal keeps one current auth token per
// application credential, so replicas that log in on their own void each other's
// tokens. With a store one replica logs in (holding the store's lease) and the
// others use its token. Use one key per application credential.
func WithStore(store auth.Store, key string) Option {
	return func(o *options) error {
		if store == nil {
			return errors.New("store: must not be nil")
		}
		if key == "" {
			return errors.New("store key: must not be empty")
		}
		o.store, o.storeKey = store, key
		return nil
	}
}

// WithInsecureHTTP allows a plain-http portal URL that is not loopback.
func WithInsecureHTTP() Option {
	return func(o *options) error { o.cfg.AllowInsecureHTTP = true; return nil }
}

// NewClient returns a client for the clients portal. WithBaseURL is required, and
// the credentials: WithCredentials, or WithAppTokenSource with WithHMACSigner. No
// request is sent until the first call.
func NewClient(opts ...Option) (*Client, error) {
	o := &options{cfg: rest.DefaultConfig("tpv"), methods: map[Endpoint]string{}}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			return nil, fmt.Errorf("tpv: %w", err)
		}
	}
	switch {
	case o.appToken == nil && o.hmac == nil:
		return nil, errors.New("tpv: WithCredentials is required (the application token and secret), " +
			"or WithAppTokenSource with WithHMACSigner")
	case o.appToken == nil:
		return nil, errors.New("tpv: WithHMACSigner needs WithAppTokenSource (the application token)")
	case o.hmac == nil:
		return nil, errors.New("tpv: WithAppTokenSource needs WithHMACSigner (the application secret's HMAC key)")
	}
	c := &Client{
		appToken: o.appToken,
		hmac:     o.hmac,
		now:      time.Now,
		methods:  &endpointMethods{m: map[Endpoint]string{}},
		loginTTL: AuthTokenLifetime,
		life:     rest.NewLifecycle(),
	}
	for e, m := range o.methods {
		c.methods.m[e] = m
	}
	signer := o.signer
	if signer == nil {
		signer = defaultSignature
	}

	cfg := o.cfg
	cfg.DecodeError = DecodeError
	cfg.CredentialRejected = authTokenRejected
	refreshTimeout := cfg.CallTimeout()
	cacheOpts := []auth.CacheOption{
		auth.WithRefreshWindow(AuthTokenRenewBefore),
		auth.WithRefreshJitter(0.25),
		auth.WithRefreshTimeout(refreshTimeout),
	}
	if o.clock != nil {
		c.now = o.clock
		cacheOpts = append(cacheOpts, auth.WithClock(o.clock))
	}
	if o.store != nil {
		cacheOpts = append(cacheOpts, auth.WithStore(o.store, o.storeKey), auth.WithLease(refreshTimeout, 50*time.Millisecond))
	}
	c.tokens = auth.NewCache(auth.SourceFunc(c.login), cacheOpts...)
	cfg.Authorizer = c.requestAuthorizer(signer)
	rc, err := rest.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("tpv: %w", err)
	}
	c.rc = rc
	return c, nil
}

// Close releases what the client holds: it cancels a login in flight (a renewal
// runs in the background while the current token is still served) and waits for it
// to end, forgets the auth token, and closes the idle connections of the transport
// the client created (a transport that came with WithHTTPClient is left alone, since
// others may share it). Calls made after Close fail with ErrClosed; a call already in
// flight finishes. Close is safe to call more than once and from several goroutines;
// it always returns nil.
func (c *Client) Close() error {
	if c == nil || c.rc == nil || !c.life.Close() {
		return nil
	}
	if tok, ok := c.tokens.Peek(); ok {
		c.tokens.Invalidate(tok) // also stops its renewal timer
	}
	c.rc.CloseIdleConnections()
	return nil
}

// String describes the client without credentials.
func (c *Client) String() string {
	if c == nil || c.rc == nil {
		return "tpv.Client{}"
	}
	return "tpv.Client{BaseURL: " + rest.RedactURL(c.rc.BaseURL()) + "}"
}

// GoString describes the client without credentials.
func (c *Client) GoString() string { return c.String() }

// LogValue describes the client without credentials in slog output.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Login makes sure the client holds a valid auth token, logging in if it has none.
// Calls log in by themselves when needed; Login lets a program check its
// credentials up front. Its error wraps ErrLoginFailed.
func (c *Client) Login(ctx context.Context) error {
	_, err := c.tokens.Token(ctx)
	return err
}

// Do sends a request to an endpoint this package does not type, with the client's
// login, Authorization and Signature headers, retries and errors, and decodes a 2xx
// JSON answer into T. path is relative to the portal URL and may carry a query, e.g.
// "api/v1/test/api?your=Parameters&here=1"; body is JSON-encoded (a []byte is sent as
// is). POST is never re-sent once it may have reached the portal.
func Do[T any](ctx context.Context, c *Client, method, path string, body any) (T, error) {
	if c == nil {
		var zero T
		return zero, errors.New("tpv: Do: nil client")
	}
	return rest.DoJSON[T](ctx, c.rc, method, path, body)
}

// endpointMethods remembers, per endpoint, the method to try first: the configured
// one, or the other one after it answered 405 and the other one worked.
type endpointMethods struct {
	mu sync.Mutex
	m  map[Endpoint]string
}

func (em *endpointMethods) get(e Endpoint) string {
	em.mu.Lock()
	defer em.mu.Unlock()
	if m, ok := em.m[e]; ok {
		return m
	}
	return http.MethodPost
}

func (em *endpointMethods) set(e Endpoint, m string) {
	em.mu.Lock()
	em.m[e] = m
	em.mu.Unlock()
}

package saltedge

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// DefaultBaseURL is Salt Edge PSD2 Compliance's production root.
const DefaultBaseURL = "https://priora.saltedge.com"

// DefaultTokenTTL is the lifetime of a callback's JWT (exp = now + TTL), as in Salt
// Edge's SDKs.
const DefaultTokenTTL = time.Minute

// maxTokenTTL bounds WithTokenTTL.
const maxTokenTTL = time.Hour

// callbackBase is the path of the callback API below the base URL.
var callbackBase = []string{"api", "connectors", "v1"}

// Client calls Salt Edge PSD2 Compliance back from a connector (the bank's side):
// sessions, payments and funds-availability callbacks, the tokens index and revoke,
// clients info. Every attempt carries App-Id, App-Secret and
// "Authorization: Bearer <JWT>", an RS256 JWT signed with the connector's private key
// whose claims are {"data": <payload>, "exp": now+TTL}, minted afresh for each
// attempt. It is safe for concurrent use.
type Client struct {
	rest *rest.Client
	life *rest.Lifecycle
	// app sets App-Id and App-Secret on every attempt.
	app    rest.Chain
	minter *auth.JWTMinter
	appID  string
	ttl    time.Duration
	base   string

	common service

	// Sessions sends the token-flow callbacks (sessions/update, success, fail).
	Sessions *SessionsService
	// Tokens lists and revokes the access tokens the connector issued.
	Tokens *TokensService
	// Clients reads TPP client applications (clients/info).
	Clients *ClientsService
	// Payments sends the payment callbacks (payments/update, success, fail).
	Payments *PaymentsService
	// FundsAvailability sends the funds-check callbacks.
	FundsAvailability *FundsAvailabilityService
}

type service struct{ client *Client }

// Option configures a Client.
type Option func(*options) error

type options struct {
	cfg       rest.Config
	appID     string
	appSecret rest.Authorizer // App-Secret: a StaticHeader or a source-backed HeaderToken
	key       crypto.Signer
	ttl       time.Duration
}

// WithBaseURL sets Salt Edge's root URL (default DefaultBaseURL).
func WithBaseURL(u string) Option { return func(o *options) error { return o.cfg.SetBaseURL(u) } }

// WithHTTPClient sets the HTTP client to copy (never mutated).
// Its Transport carries every attempt and its Jar, if any, keeps cookies; its Timeout
// and CheckRedirect are not used (WithTimeout bounds each attempt, and redirects are
// never followed).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error { return o.cfg.SetHTTPClient(hc) }
}

// WithTimeout bounds each attempt (default 30 s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error { return o.cfg.SetTimeout(d) }
}

// WithRetry sets the retry budget and backoff bounds (default 3, 200 ms .. 10 s).
// Callbacks are POSTs: they are retried only when Salt Edge provably did not process
// them (connection refused, 429, 503).
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(o *options) error { return o.cfg.SetRetry(max, waitMin, waitMax) }
}

// WithLogger sets the logger (default: discard). Lines carry method, host, path,
// status, attempt and duration only: never headers, JWTs or payloads.
func WithLogger(l *slog.Logger) Option { return func(o *options) error { return o.cfg.SetLogger(l) } }

// WithUserAgent appends app to the User-Agent.
func WithUserAgent(app string) Option {
	return func(o *options) error { return o.cfg.SetUserAgent(app) }
}

// WithInsecureHTTP allows a plain-http base URL that is not loopback.
func WithInsecureHTTP() Option {
	return func(o *options) error { o.cfg.AllowInsecureHTTP = true; return nil }
}

// WithAppID sets the provider's app_id (dashboard, connection details). Required.
func WithAppID(id string) Option {
	return func(o *options) error {
		if err := headerValue("app ID", id); err != nil {
			return err
		}
		o.appID = id
		return nil
	}
}

// WithAppSecret sets the provider's app_secret (dashboard, connection details). It,
// or WithAppSecretSource, is required; the last one given applies.
func WithAppSecret(secret string) Option {
	return func(o *options) error {
		if err := headerValue("app secret", secret); err != nil {
			return err
		}
		o.appSecret = rest.StaticHeader{Header: "App-Secret", Value: auth.NewSecret(secret)}
		return nil
	}
}

// WithAppSecretSource reads the provider's app_secret from src (a secret manager, a
// vault) instead of holding it in memory: the Token's Value is the secret, and src is
// asked on every attempt of every callback, so a secret rotated in src is sent from
// the next attempt on. Wrap src in an auth.Cache to ask it less often. A value that is
// empty or carries control characters fails the attempt before it is sent; an error
// of src fails the call (wrapped in a *banksdk.AuthorizeError) without anything being
// sent. Salt Edge documents no answer that singles out a wrong app secret, so a
// refusal is returned to the caller and never triggers a renewal.
func WithAppSecretSource(src auth.Source) Option {
	return func(o *options) error {
		if src == nil {
			return errors.New("app secret source: must not be nil")
		}
		o.appSecret = rest.NewHeaderToken(appSecretSource{src}, "App-Secret", "")
		return nil
	}
}

// appSecretSource checks what the user's source gives before it becomes a header.
type appSecretSource struct{ src auth.Source }

// Token implements auth.Source.
func (s appSecretSource) Token(ctx context.Context) (auth.Token, error) {
	tok, err := s.src.Token(ctx)
	if err != nil {
		return auth.Token{}, fmt.Errorf("app secret source: %w", err)
	}
	if err := headerValue("app secret from the source", tok.Value); err != nil {
		return auth.Token{}, err
	}
	return tok, nil
}

// WithPrivateKey sets the connector's RSA private key (at least 2048 bits), whose
// public half is registered in Salt Edge's dashboard. It is any crypto.Signer whose
// Public() is an *rsa.PublicKey: an *rsa.PrivateKey, or a key whose private half stays
// in an HSM, a cloud KMS or a PKCS#11 token (it is handed a SHA-256 digest with
// crypto.SHA256 and must return a PKCS#1 v1.5 signature). It signs the JWT of every
// attempt, so it must be safe for concurrent use. This or WithPrivateKeyPEM is
// required.
func WithPrivateKey(k crypto.Signer) Option {
	return func(o *options) error {
		if k == nil {
			return errors.New("private key: must not be nil")
		}
		o.key = k
		return nil
	}
}

// WithPrivateKeyPEM reads the connector's private key from PEM (PKCS#1 "RSA PRIVATE
// KEY" or PKCS#8 "PRIVATE KEY").
func WithPrivateKeyPEM(pemData []byte) Option {
	return func(o *options) error {
		k, err := auth.LoadRSAPrivateKey(pemData)
		if err != nil {
			return fmt.Errorf("private key: %w", err)
		}
		o.key = k
		return nil
	}
}

// WithTokenTTL sets the callbacks' JWT lifetime (exp = now + d; default 60 s, at most
// one hour).
func WithTokenTTL(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 || d > maxTokenTTL {
			return fmt.Errorf("token TTL: must be between 0 and %v, got %v", maxTokenTTL, d)
		}
		o.ttl = d
		return nil
	}
}

func headerValue(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("%s: must not be empty", name)
	}
	if strings.ContainsAny(v, "\r\n\x00") {
		return fmt.Errorf("%s: must not contain control characters", name)
	}
	return nil
}

// NewClient returns a Client. WithAppID, an app secret (WithAppSecret or
// WithAppSecretSource) and a private key (WithPrivateKey or WithPrivateKeyPEM) are
// required.
func NewClient(opts ...Option) (*Client, error) {
	o := options{cfg: rest.DefaultConfig("saltedge"), ttl: DefaultTokenTTL}
	if err := o.cfg.SetBaseURL(DefaultBaseURL); err != nil {
		return nil, fmt.Errorf("saltedge: %w", err)
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("saltedge: %w", err)
		}
	}
	switch {
	case o.appID == "":
		return nil, errors.New("saltedge: app ID is required (WithAppID)")
	case o.appSecret == nil:
		return nil, errors.New("saltedge: app secret is required (WithAppSecret or WithAppSecretSource)")
	case o.key == nil:
		return nil, errors.New("saltedge: private key is required (WithPrivateKey or WithPrivateKeyPEM)")
	}
	minter, err := auth.NewJWTMinter(o.key, auth.WithTTL(o.ttl))
	if err != nil {
		return nil, fmt.Errorf("saltedge: %w", err)
	}
	o.cfg.DecodeError = DecodeError
	rc, err := rest.New(o.cfg)
	if err != nil {
		return nil, fmt.Errorf("saltedge: %w", err)
	}
	c := &Client{rest: rc, life: rest.NewLifecycle(), minter: minter, appID: o.appID, ttl: o.ttl, base: rc.BaseURL().String(),
		app: rest.Chain{rest.StaticHeader{Header: "App-Id", Value: auth.NewSecret(o.appID)}, o.appSecret}}
	c.common.client = c
	c.Sessions = (*SessionsService)(&c.common)
	c.Tokens = (*TokensService)(&c.common)
	c.Clients = (*ClientsService)(&c.common)
	c.Payments = (*PaymentsService)(&c.common)
	c.FundsAvailability = (*FundsAvailabilityService)(&c.common)
	return c, nil
}

// String describes the client without its credentials.
func (c *Client) String() string {
	return fmt.Sprintf("saltedge.Client{base: %s, app_id: %s, app_secret: [REDACTED], key: [REDACTED], ttl: %v}",
		c.base, c.appID, c.ttl)
}

// GoString is String.
func (c *Client) GoString() string { return c.String() }

// Close closes the idle connections of the transport the client created, so that a
// client no longer needed leaves no connection or goroutine behind; a transport that
// came with WithHTTPClient is left alone, since others may share it. The client runs
// no background work. Calls made after Close fail with ErrClosed before anything is
// signed or sent; a call already in flight finishes. Close is idempotent and returns
// nil.
func (c *Client) Close() error {
	if c == nil || c.rest == nil || !c.life.Close() {
		return nil
	}
	c.rest.CloseIdleConnections()
	return nil
}

// authorizer signs one call: every attempt carries App-Id and App-Secret and a fresh
// JWT {"data": data, "exp": now+TTL}.
func (c *Client) authorizer(data json.RawMessage) rest.Authorizer {
	a := &callAuthorizer{jwt: jwtAuthorizer{minter: c.minter, data: data}}
	a.members = [2]rest.Authorizer{c.app, &a.jwt}
	a.chain = a.members[:]
	return &a.chain
}

// callAuthorizer holds one call's rest.Chain (the application's headers, then the
// JWT) and its members in one allocation; the pipeline gets &chain.
type callAuthorizer struct {
	chain   rest.Chain
	members [2]rest.Authorizer
	jwt     jwtAuthorizer
}

// jwtAuthorizer is Salt Edge's per-call credential: "Authorization: Bearer <JWT>"
// whose data claim is the call's payload, minted for every attempt by the connector's
// crypto.Signer. There is nothing to renew: a JWT is never sent twice.
type jwtAuthorizer struct {
	minter *auth.JWTMinter
	data   json.RawMessage
}

// Authorize implements rest.Authorizer. The claims {"data": <payload>, "exp": <now +
// TTL>} are appended to a buffer on the stack (the payload is JSON already, encoded
// once per call) and signed as they are; the header value "Bearer <JWT>" is built in
// another, so that the value sent is the one string made per attempt (a buffer grows
// onto the heap when a large payload needs it).
func (a jwtAuthorizer) Authorize(_ context.Context, req *http.Request, _ []byte) error {
	var claimsBuf [256]byte
	claims := append(claimsBuf[:0], `{"data":`...)
	claims = append(claims, a.data...)
	claims = append(claims, `,"exp":`...)
	claims = strconv.AppendInt(claims, a.minter.Expiry().Unix(), 10)
	claims = append(claims, '}')
	var valueBuf [1024]byte // a 2048- or 4096-bit key's token with a small payload
	value, err := a.minter.AppendJWT(append(valueBuf[:0], "Bearer "...), claims)
	if err != nil {
		return err
	}
	req.Header["Authorization"] = []string{string(value)}
	return nil
}

// Meta is the "meta" member of Salt Edge's answers.
type Meta struct {
	// Time is Salt Edge's timestamp of the answer.
	Time time.Time
	// NextID is the id to ask for next (tokens index); 0 when absent.
	NextID int64
}

// UnmarshalJSON reads meta leniently: an unreadable time or next_id is left zero.
func (m *Meta) UnmarshalJSON(b []byte) error {
	var raw struct {
		Time   string          `json:"time"`
		NextID json.RawMessage `json:"next_id"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return nil //nolint:nilerr // meta is informative; never fail a call over it
	}
	if t, err := time.Parse(time.RFC3339Nano, raw.Time); err == nil {
		m.Time = t
	}
	// raw.NextID is absent or one valid JSON value: ID reads it without a second pass
	// of json.Unmarshal over it.
	var id ID
	if len(raw.NextID) > 0 && id.UnmarshalJSON(raw.NextID) == nil {
		if n, err := strconv.ParseInt(string(id), 10, 64); err == nil && n > 0 {
			m.NextID = n
		}
	}
	return nil
}

// envelope is Salt Edge's answer {"data": ..., "meta": ...}, decoded in one pass with
// its data member straight into T.
type envelope[T any] struct {
	Data T    `json:"data"`
	Meta Meta `json:"meta"`
}

// send sends one callback: payload travels in the JWT's data claim (no body, as in
// Salt Edge's own examples); Salt Edge's answer {"data", "meta"} is returned, its data
// decoded into T. A success answer that does not fit T is an error of the pipeline's
// decoding, which leaves a request that changes state with an unknown outcome.
func send[T any](ctx context.Context, c *Client, method string, segs []string, payload any, hdr http.Header, idem *bool) (*envelope[T], *rest.Response, error) {
	var buf [8]string // room for every callback path without allocating
	path, err := rest.Path(append(append(buf[:0], callbackBase...), segs...)...)
	if err != nil {
		return nil, nil, fmt.Errorf("saltedge: %w", err)
	}
	return sendPath[T](ctx, c, method, path, payload, hdr, idem)
}

func sendPath[T any](ctx context.Context, c *Client, method, path string, payload any, hdr http.Header, idem *bool) (*envelope[T], *rest.Response, error) {
	if ctx == nil {
		return nil, nil, errors.New("saltedge: nil context")
	}
	if err := c.life.Err(); err != nil {
		return nil, nil, err
	}
	switch p := payload.(type) {
	case nil:
		payload = struct{}{}
	case SessionSuccess:
		// SessionSuccess encodes its tokens as [REDACTED] for logs; the callback
		// carries them.
		payload = sessionSuccessWire(p)
	case *SessionSuccess:
		if p != nil {
			payload = (*sessionSuccessWire)(p)
		}
	}
	data, err := json.Marshal(payload)
	if err != nil {
		return nil, nil, fmt.Errorf("saltedge: encoding the payload: %w", err)
	}
	var env envelope[T]
	resp, err := c.rest.Do(ctx, &rest.Request{Method: method, Path: path, Header: hdr,
		Authorizer: c.authorizer(data), Idempotent: idem}, &env)
	if err != nil {
		return nil, nil, err
	}
	return &env, resp, nil
}

// Do sends a callback the package does not type: method and a path relative to the
// base URL (e.g. "api/connectors/v1/sessions/update"), with payload as the JWT's data
// claim (a SessionSuccess is sent with its tokens, which it shows as [REDACTED]
// everywhere else). The "data" member of the answer is decoded into T (zero when it
// is absent or null); an answer that does not fit T is an error, which for a request
// that changes state matches ErrOutcomeUnknown.
func Do[T any](ctx context.Context, c *Client, method, path string, payload any) (T, error) {
	var out T
	if c == nil {
		return out, errors.New("saltedge: nil client")
	}
	p, q, err := rest.SplitRelative(path)
	if err != nil {
		return out, fmt.Errorf("saltedge: %w", err)
	}
	if len(q) > 0 {
		return out, errors.New("saltedge: path: must not carry a query (the payload travels in the JWT)")
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		return out, errors.New("saltedge: method: must not be empty")
	}
	env, _, err := sendPath[T](ctx, c, method, p, payload, nil, nil)
	if err != nil {
		return out, err
	}
	return env.Data, nil
}

// CallbackResult is Salt Edge's acknowledgement of a callback.
type CallbackResult struct {
	// Time is meta.time of the answer.
	Time time.Time
	// Data is the answer's data member (documented as an empty object).
	Data json.RawMessage
	// Attempts is how many attempts the call took.
	Attempts int
}

func result(env *envelope[json.RawMessage], resp *rest.Response) *CallbackResult {
	return &CallbackResult{Time: env.Meta.Time, Data: env.Data, Attempts: resp.Attempts}
}

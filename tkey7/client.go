package tkey7

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"reflect"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// Documented defaults of the token rules.
const (
	// DefaultRefreshInterval is how often the keep-alive refreshes the token.
	DefaultRefreshInterval = 10 * time.Minute
	// DefaultRevokeAfter is TKEY7's window: a token not refreshed within it is revoked.
	DefaultRevokeAfter = 15 * time.Minute
	// DefaultSessionLength is TKEY7's session cap, counted from the token's issuance.
	DefaultSessionLength = 24 * time.Hour
	// DefaultSessionWarning is how long before the cap OnSessionExpiring is called.
	DefaultSessionWarning = 30 * time.Minute
	// DefaultRefreshPath is the refresh endpoint, relative to the base URL.
	DefaultRefreshPath = "oauth-token/refresh"
)

// maxClockSkew is how far in the future an issuance time may be.
const maxClockSkew = time.Minute

// Client is a TKEY7 API client. It keeps its access token alive in the background
// (see the package documentation) until Close. It is safe for concurrent use.
type Client struct {
	rc       *rest.Client
	sessions *sessions
	authz    *authorizer
	// redactor removes the client's tokens from errors and logs.
	redactor *rest.Redactor

	refreshMethod string
	refreshPath   string

	common service

	// DigitalAccounts lists and reads digital accounts.
	DigitalAccounts *DigitalAccountsService
}

type service struct{ client *Client }

// Option configures a Client. Options that get bad values make NewClient fail.
type Option func(*options) error

type options struct {
	store          auth.Store
	storeKey       string
	cfg            rest.Config
	token          string
	tokenSet       bool
	issuedAt       time.Time
	source         auth.Source
	interval       time.Duration
	revokeAfter    time.Duration
	sessionLength  time.Duration
	sessionWarning time.Duration
	onExpiring     func(time.Duration)
	refreshMethod  string
	refreshPath    string
}

// WithBaseURL sets the API base URL of the bank and region, e.g.
// https://us.bankname.payments.tkey7.com/client/v1/api. Required.
func WithBaseURL(u string) Option { return func(o *options) error { return o.cfg.SetBaseURL(u) } }

// WithHTTPClient sets the HTTP client to use; it is copied, never mutated.
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

// WithRetry sets the retry budget and backoff bounds (default 3 retries, 200 ms .. 10 s).
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(o *options) error { return o.cfg.SetRetry(max, waitMin, waitMax) }
}

// WithLogger sets the logger (default: discards). Tokens never appear in its lines.
func WithLogger(l *slog.Logger) Option { return func(o *options) error { return o.cfg.SetLogger(l) } }

// WithUserAgent appends app (e.g. "myapp/1.2") to the User-Agent.
func WithUserAgent(app string) Option {
	return func(o *options) error { return o.cfg.SetUserAgent(app) }
}

// WithInsecureHTTP allows a plain-http base URL that is not loopback.
func WithInsecureHTTP() Option {
	return func(o *options) error { o.cfg.AllowInsecureHTTP = true; return nil }
}

// WithAccessToken sets the OAuth access token an administrator created in the Web
// Office, and when it was created (the zero time means now). The 24-hour session is
// counted from issuedAt. WithAccessToken or WithAccessTokenSource is required.
func WithAccessToken(token string, issuedAt time.Time) Option {
	return func(o *options) error {
		if err := checkToken(token); err != nil {
			return fmt.Errorf("access token: %w", err)
		}
		o.token, o.tokenSet, o.issuedAt = token, true, issuedAt
		return nil
	}
}

// WithAccessTokenSource sets where the access token an administrator created in the
// Web Office comes from: a secret manager, say. NewClient reads the first token from
// src (its session counted from then) unless WithAccessToken gives it. When the
// token's life ends (TKEY7 refused it, its session cap passed, or the keep-alive could
// not refresh it in time), the client asks src for a token before it gives up: if src
// answers with another token than the one that died, the client starts a new session
// with it (counted from then) and goes on, and the call that found the old token dead
// is sent once more with the new one. An operator who puts a new Web Office token into
// the secret store thus heals running clients without a restart. While src has
// nothing new (the same token, or an error), calls fail as they would without it, and
// each asks src again. src must be safe for concurrent use; its token's Expiry is not
// used.
func WithAccessTokenSource(src auth.Source) Option {
	return func(o *options) error {
		if src == nil {
			return errors.New("access token source: must not be nil")
		}
		o.source = src
		return nil
	}
}

// WithRefreshInterval sets how often the token is refreshed (default 10 minutes). It
// must be below the revoke window (15 minutes).
func WithRefreshInterval(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("refresh interval: must be positive, got %v", d)
		}
		o.interval = d
		return nil
	}
}

// WithStore shares the token with the other replicas of a service through store (for
// example redisstore) under key: one replica refreshes in each window (the holder of
// the store's lease) and the others adopt its result, instead of every replica
// refreshing (and, if TKEY7 rotates tokens, retiring each other's). Every replica must
// be given the same token and issuance time, or the same access token source. A replica whose token TKEY7 rejects
// first looks for a newer one in the store and, if it finds one, replays the call
// once with it; otherwise it confirms the token with one refresh under the store's
// lease, publishes the result and replays the call once (see the package
// documentation).
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

// WithRevokeAfter sets the revoke window: how long TKEY7 keeps a token that was not
// refreshed (default 15 minutes, as documented). Change it only for a deployment that
// documents another window, or for tests against tkey7test with short durations.
func WithRevokeAfter(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("revoke window: must be positive, got %v", d)
		}
		o.revokeAfter = d
		return nil
	}
}

// WithSessionLength sets the session cap counted from the token's issuance (default
// 24 hours).
func WithSessionLength(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("session length: must be positive, got %v", d)
		}
		o.sessionLength = d
		return nil
	}
}

// TimeRules are the time-based rules of a TKEY7 deployment: the revoke window and the
// session cap. *tkey7test.Server satisfies it, so that a test configures the fake's
// rules once and hands the same rules to the client:
//
//	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(time.Second))
//	client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithTimeRules(srv), ...)
type TimeRules interface {
	// RevokeAfter is how long a token that was not refreshed stays valid.
	RevokeAfter() time.Duration
	// SessionLength is the session cap, counted from the token's issuance.
	SessionLength() time.Duration
}

// WithTimeRules sets the revoke window and the session cap from r, as WithRevokeAfter
// and WithSessionLength do (r is read once, when the client is built).
func WithTimeRules(r TimeRules) Option {
	return func(o *options) error {
		if r == nil {
			return errors.New("time rules: must not be nil")
		}
		if v := reflect.ValueOf(r); v.Kind() == reflect.Pointer && v.IsNil() {
			return errors.New("time rules: must not be a nil pointer")
		}
		if err := WithRevokeAfter(r.RevokeAfter())(o); err != nil {
			return err
		}
		return WithSessionLength(r.SessionLength())(o)
	}
}

// WithSessionWarning sets how long before the session cap OnSessionExpiring is called
// (default 30 minutes, at most the session length).
func WithSessionWarning(d time.Duration) Option {
	return func(o *options) error {
		if d <= 0 {
			return fmt.Errorf("session warning: must be positive, got %v", d)
		}
		o.sessionWarning = d
		return nil
	}
}

// OnSessionExpiring registers fn, called once from the keep-alive's goroutine some
// time before the session cap (WithSessionWarning) with the time remaining: the moment
// to ask an administrator for a new token. fn must not block for long.
func OnSessionExpiring(fn func(remaining time.Duration)) Option {
	return func(o *options) error {
		if fn == nil {
			return errors.New("OnSessionExpiring: function must not be nil")
		}
		o.onExpiring = fn
		return nil
	}
}

// WithRefreshEndpoint sets the refresh call's method and path relative to the base URL
// (default POST oauth-token/refresh). The documentation names the endpoint only.
func WithRefreshEndpoint(method, path string) Option {
	return func(o *options) error {
		m := strings.ToUpper(strings.TrimSpace(method))
		switch m {
		case http.MethodPost, http.MethodGet, http.MethodPut, http.MethodPatch:
		default:
			return fmt.Errorf("refresh endpoint: method must be POST, GET, PUT or PATCH, got %q", method)
		}
		p, err := relativePath(path)
		if err != nil {
			return fmt.Errorf("refresh endpoint: %w", err)
		}
		o.refreshMethod, o.refreshPath = m, p
		return nil
	}
}

// relativePath validates a slash-separated path relative to the base URL and escapes
// each segment.
func relativePath(p string) (string, error) {
	if strings.ContainsAny(p, "?#") || strings.Contains(p, "://") {
		return "", fmt.Errorf("path %q: must be a plain path relative to the base URL", p)
	}
	trimmed := strings.Trim(p, "/")
	if trimmed == "" {
		return "", errors.New("path: must not be empty")
	}
	esc, err := rest.Path(strings.Split(trimmed, "/")...)
	if err != nil {
		return "", fmt.Errorf("path %q: %w", p, err)
	}
	return esc, nil
}

// NewClient builds a client and starts its token keep-alive. WithBaseURL, and
// WithAccessToken or WithAccessTokenSource, are required. Call Close when done.
func NewClient(opts ...Option) (*Client, error) {
	o := options{
		cfg:            rest.DefaultConfig("tkey7"),
		interval:       DefaultRefreshInterval,
		revokeAfter:    DefaultRevokeAfter,
		sessionLength:  DefaultSessionLength,
		sessionWarning: DefaultSessionWarning,
		refreshMethod:  http.MethodPost,
		refreshPath:    DefaultRefreshPath,
	}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("tkey7: %w", err)
		}
	}
	if o.cfg.BaseURL == "" {
		return nil, errors.New("tkey7: base URL: required (WithBaseURL), e.g. https://us.bankname.payments.tkey7.com/client/v1/api")
	}
	if !o.tokenSet && o.source == nil {
		return nil, errors.New("tkey7: access token: required (WithAccessToken or WithAccessTokenSource with the token created in the Web Office)")
	}
	if o.interval >= o.revokeAfter {
		return nil, fmt.Errorf("tkey7: refresh interval %v: must be below the revoke window of %v", o.interval, o.revokeAfter)
	}
	if !o.tokenSet {
		ctx, cancel := context.WithTimeout(context.Background(), confirmTimeout)
		tok, err := o.source.Token(ctx)
		cancel()
		if err != nil {
			return nil, fmt.Errorf("tkey7: access token source: %w", err)
		}
		if err := checkToken(tok.Value); err != nil {
			return nil, fmt.Errorf("tkey7: access token source: %w", err)
		}
		o.token = tok.Value
	}
	now := time.Now()
	if o.issuedAt.IsZero() {
		o.issuedAt = now
	}
	if o.issuedAt.After(now.Add(maxClockSkew)) {
		return nil, fmt.Errorf("tkey7: access token: issuance time %s is in the future", o.issuedAt.Format(time.RFC3339))
	}
	if end := o.issuedAt.Add(o.sessionLength); !now.Before(end) {
		return nil, fmt.Errorf("tkey7: access token: its %v session ended at %s: %w; %s", o.sessionLength,
			end.Format(time.RFC3339), ErrSessionExpired, webOfficeHint)
	}

	c := &Client{refreshMethod: o.refreshMethod, refreshPath: o.refreshPath, redactor: rest.NewRedactor()}
	// Everything a keep-alive's goroutine uses is built before the first one starts:
	// the pipeline, the sessions (whose refresh function it calls) and the redactor
	// the error decoder uses.
	c.sessions = &sessions{c: c, source: o.source, log: o.cfg.Logger, tmpl: auth.KeepAliveConfig{
		Interval:          o.interval,
		RevokeAfter:       o.revokeAfter,
		SessionLength:     o.sessionLength,
		SessionWarning:    o.sessionWarning,
		OnSessionExpiring: o.onExpiring,
		// A failed refresh is retried after a tenth of the interval at first (at most
		// the keep-alive's default of 1 s), doubling each time, always well before
		// the revoke deadline.
		RetryMin:  min(time.Second, o.interval/10),
		Logger:    o.cfg.Logger,
		Store:     o.store,
		StoreKey:  o.storeKey,
		StorePoll: o.interval / 20,
	}}
	c.authz = newAuthorizer(c.sessions)
	o.cfg.Authorizer = c.authz
	o.cfg.DecodeError = c.decodeError
	o.cfg.CredentialRejected = credentialRejected
	rc, err := rest.New(o.cfg)
	if err != nil {
		return nil, fmt.Errorf("tkey7: %w", err)
	}
	c.rc = rc
	c.common.client = c
	c.DigitalAccounts = (*DigitalAccountsService)(&c.common)

	ss, err := c.sessions.start(o.token, o.issuedAt)
	if err != nil {
		return nil, fmt.Errorf("tkey7: %w", err)
	}
	c.sessions.cur.Store(ss)
	return c, nil
}

// Close stops the keep-alive (cancelling a refresh in flight) and closes the idle
// connections of the transport the client created (not those of a client given to
// WithHTTPClient). The token is no longer refreshed: TKEY7 revokes it after its
// window. Later calls fail with ErrClosed. Close is safe to call more than once.
func (c *Client) Close() error {
	err := c.sessions.close()
	c.rc.CloseIdleConnections()
	return err
}

// String describes the client without credentials.
func (c *Client) String() string {
	return "tkey7.Client{BaseURL: " + rest.RedactURL(c.rc.BaseURL()) +
		", SessionEnd: " + c.SessionEnd().UTC().Format(time.RFC3339) + "}"
}

// GoString describes the client without credentials.
func (c *Client) GoString() string { return c.String() }

// Refreshes reports how many times the client refreshed its tokens: the keep-alive's
// refreshes, and those that confirmed a token TKEY7 had answered 401 for.
func (c *Client) Refreshes() int64 {
	ss := c.sessions.cur.Load()
	return ss.before + ss.ka.Refreshes()
}

// SessionEnd reports when the current token's session reaches its cap. A new token
// from the access token source starts a new session.
func (c *Client) SessionEnd() time.Time { return c.sessions.cur.Load().sessionEnd }

// credentialRejected is the pipeline's classifier: a 401 answer refused the token the
// attempt carried. What that means for the token is the authorizer's decision (see
// authorizer.Renew).
func credentialRejected(resp *http.Response, _ error) bool {
	return resp != nil && resp.StatusCode == http.StatusUnauthorized
}

// decodeError is the pipeline's error decoder: the documented error, without the
// token the request carried or any other the client holds.
func (c *Client) decodeError(resp *http.Response, body []byte) error {
	e := parseAPIError(resp.StatusCode, body)
	var sent []string
	if tok, ok := bearer.Sent(resp.Request); ok {
		sent = append(sent, tok.Value)
	}
	e.redact(c.redactor, sent...)
	return e
}

// do sends req with the client's token and decodes the answer into out.
func (c *Client) do(ctx context.Context, req *rest.Request, out any) (*rest.Response, error) {
	if _, err := c.sessions.live(ctx); err != nil {
		return nil, err
	}
	resp, err := c.rc.Do(ctx, req, out)
	return resp, c.explain(err)
}

// explain adds the way out to errors that mean the token can no longer be used, and
// says why a 401 the authorizer did not judge ended nothing.
func (c *Client) explain(err error) error {
	if err == nil {
		return nil
	}
	var te *tokenEnded
	var ue *unconfirmedError
	if errors.As(err, &te) || errors.As(err, &ue) {
		return err // the authorizer's verdict on a 401
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
		var authErr *rest.AuthorizeError
		if apiErr.StatusCode == http.StatusUnauthorized && !errors.As(err, &authErr) {
			// The authorizer's Renew answers every first 401 with a verdict or a
			// replay, so this is the replay's answer: the token had just been renewed
			// (TKEY7 accepted its refresh, or a new token replaced it).
			return &unconfirmedError{api: apiErr, why: "refused again right after the client renewed the token; the client keeps it"}
		}
		return err
	}
	switch {
	case errors.Is(err, ErrClosed):
		return fmt.Errorf("tkey7: client is closed: %w", err)
	case errors.Is(err, ErrTokenRevoked), errors.Is(err, ErrSessionExpired):
		return fmt.Errorf("%w; %s", err, webOfficeHint)
	}
	return err
}

// Do calls an endpoint the package does not type (the create/get/delete object calls
// of the TKEY7 introduction) with the client's token, retries and errors, and decodes
// the JSON answer into T (use json.RawMessage to keep it raw). path is relative to the
// base URL and may carry a query: "digital-accounts/42?expand=1". body, if not nil, is
// sent as JSON.
func Do[T any](ctx context.Context, c *Client, method, path string, body any) (T, error) {
	var zero T
	if c == nil {
		return zero, errors.New("tkey7: Do: nil client")
	}
	if strings.TrimSpace(path) == "" {
		return zero, errors.New("tkey7: Do: path must not be empty")
	}
	p, q, err := rest.SplitRelative(path)
	if err != nil {
		return zero, fmt.Errorf("tkey7: Do: %w", err)
	}
	m := strings.ToUpper(strings.TrimSpace(method))
	if m == "" {
		return zero, errors.New("tkey7: Do: method must not be empty")
	}
	var out T
	_, err = c.do(ctx, &rest.Request{Method: m, Path: p, Query: q, Body: body}, &out)
	if err != nil {
		return zero, err
	}
	return out, nil
}

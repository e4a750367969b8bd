package tkey7

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"strings"
	"sync/atomic"
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
	rc    *rest.Client
	ka    *auth.KeepAlive
	authz *authorizer

	refreshMethod string
	refreshPath   string
	sessionEnd    time.Time

	// rejected holds the 401 that ended the token's life: later calls fail at once
	// with it, and the keep-alive stops.
	rejected atomic.Pointer[APIError]

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
// counted from issuedAt. Required.
func WithAccessToken(token string, issuedAt time.Time) Option {
	return func(o *options) error {
		if err := checkToken(token); err != nil {
			return fmt.Errorf("access token: %w", err)
		}
		o.token, o.tokenSet, o.issuedAt = token, true, issuedAt
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
// be given the same token and issuance time. A replica whose token TKEY7 rejects
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

// NewClient builds a client and starts its token keep-alive. WithBaseURL and
// WithAccessToken are required. Call Close when done.
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
	if !o.tokenSet {
		return nil, errors.New("tkey7: access token: required (WithAccessToken with the token created in the Web Office)")
	}
	if o.interval >= o.revokeAfter {
		return nil, fmt.Errorf("tkey7: refresh interval %v: must be below the revoke window of %v", o.interval, o.revokeAfter)
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

	c := &Client{refreshMethod: o.refreshMethod, refreshPath: o.refreshPath,
		sessionEnd: o.issuedAt.Add(o.sessionLength)}
	// Everything the keep-alive's goroutine uses is built before it starts: the
	// pipeline, the authorizer (whose scheduled method is the refresh function) and
	// the token set the error decoder scrubs. Only requests read c.ka and a.ka.
	a := &authorizer{c: c, store: o.store, storeKey: o.storeKey}
	a.tokens.add(o.token)
	c.authz = a
	o.cfg.Authorizer = a
	o.cfg.DecodeError = c.decodeError
	o.cfg.IsAuthExpired = a.rejected
	rc, err := rest.New(o.cfg)
	if err != nil {
		return nil, fmt.Errorf("tkey7: %w", err)
	}
	c.rc = rc
	c.common.client = c
	c.DigitalAccounts = (*DigitalAccountsService)(&c.common)

	ka, err := auth.NewKeepAlive(auth.KeepAliveConfig{
		Initial:           auth.Token{Value: o.token, Expiry: jwtExpiry(o.token, now)},
		IssuedAt:          o.issuedAt,
		Refresh:           a.scheduled,
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
	})
	if err != nil {
		return nil, fmt.Errorf("tkey7: %w", err)
	}
	c.ka, a.ka = ka, ka
	return c, nil
}

// Close stops the keep-alive (cancelling a refresh in flight) and closes the idle
// connections of the transport the client created (not those of a client given to
// WithHTTPClient). The token is no longer refreshed: TKEY7 revokes it after its
// window. Later calls fail with ErrClosed. Close is safe to call more than once.
func (c *Client) Close() error {
	err := c.ka.Close()
	c.rc.CloseIdleConnections()
	return err
}

// String describes the client without credentials.
func (c *Client) String() string {
	return "tkey7.Client{BaseURL: " + rest.RedactURL(c.rc.BaseURL()) +
		", SessionEnd: " + c.sessionEnd.UTC().Format(time.RFC3339) + "}"
}

// GoString describes the client without credentials.
func (c *Client) GoString() string { return c.String() }

// Refreshes reports how many times the client refreshed the token: the keep-alive's
// refreshes, and those that confirmed a token TKEY7 had answered 401 for.
func (c *Client) Refreshes() int64 { return c.ka.Refreshes() + c.authz.confirms.Load() }

// SessionEnd reports when the token's session reaches its cap.
func (c *Client) SessionEnd() time.Time { return c.sessionEnd }

// decodeError is the pipeline's error decoder: the documented error, without any of
// the client's tokens, and for a 401 the reason a token stops working. It only reads
// the answer: what a 401 means for the token is the authorizer's decision (see
// authorizer.rejected).
func (c *Client) decodeError(resp *http.Response, body []byte) error {
	e := parseAPIError(resp.StatusCode, body)
	e.scrub(c.secrets(resp))
	if resp.StatusCode == http.StatusUnauthorized {
		e.reason = ErrTokenRevoked
		if !time.Now().Before(c.sessionEnd) {
			e.reason = ErrSessionExpired
		}
	}
	return e
}

// secrets lists the tokens errors must not quote: the one the request carried and the
// client's latest ones.
func (c *Client) secrets(resp *http.Response) []string {
	out := c.authz.tokens.list()
	if resp != nil {
		if t := sentToken(resp.Request); t != "" {
			out = append(out, t)
		}
	}
	return out
}

// scrub removes the client's tokens from s.
func (c *Client) scrub(s string) string { return scrubText(s, c.secrets(nil)) }

// do sends req with the client's token and decodes the answer into out.
func (c *Client) do(ctx context.Context, req *rest.Request, out any) (*rest.Response, error) {
	if err := c.usable(); err != nil {
		return nil, err
	}
	resp, err := c.rc.Do(ctx, req, out)
	var e *APIError
	var authErr *rest.AuthorizeError
	if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized && !e.judged && !errors.As(err, &authErr) {
		// The replay's answer: TKEY7 had just accepted a refresh of the token, so
		// this 401 does not end its life.
		e.reason = nil
		e.unconfirmed = "refused again right after a refresh confirmed the token; the client keeps it"
	}
	return resp, c.explain(err)
}

// usable fails when TKEY7 already rejected the token.
func (c *Client) usable() error {
	if e := c.rejected.Load(); e != nil {
		return fmt.Errorf("tkey7: request not sent: the access token was rejected earlier: %w", e)
	}
	return nil
}

// explain adds the way out to errors that mean the token can no longer be used.
func (c *Client) explain(err error) error {
	if err == nil {
		return nil
	}
	var apiErr *APIError
	if errors.As(err, &apiErr) {
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
	if err := c.usable(); err != nil {
		return zero, err
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

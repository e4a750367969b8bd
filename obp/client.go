package obp

import (
	"context"
	"crypto"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// DefaultVersion is the OBP API version a client calls unless WithVersion says
// otherwise.
const DefaultVersion = "v4.0.0"

// Client calls one OBP instance with one authentication mode. It is safe for
// concurrent use. Close it when done with it.
type Client struct {
	rest    *rest.Client
	version string
	mode    string
	dl      *directLogin
	red     *rest.Redactor
	life    *rest.Lifecycle

	common service

	// Users: the current user, and DAuth users created with roles.
	Users *UsersService
	// AccountAccess: the v4.0.0 account-access calls (grant, revoke, DAuth users).
	AccountAccess *AccountAccessService
}

type service struct{ client *Client }

// Option configures a Client. Options validate their arguments; NewClient returns the
// first error.
type Option func(*options) error

type options struct {
	cfg     rest.Config
	version string
	auths   []string // names of the auth options given, in order

	dauth       *DAuthConfig
	dlLogin     auth.Secret // the DirectLogin login header
	dlToken     auth.Source
	accessToken auth.Source
	consent     auth.Source
	consumerKey auth.Secret
	secrets     []string // credentials given in memory, removed from error bodies
}

// WithBaseURL sets the OBP instance's root URL, e.g. https://apisandbox.openbankproject.com
// (without /obp/<version>: see WithVersion). Required. Plain http is accepted only for
// loopback hosts unless WithInsecureHTTP is given.
func WithBaseURL(u string) Option {
	return func(o *options) error {
		if p, err := url.Parse(u); err == nil && strings.Contains(p.Path+"/", "/obp/v") {
			return fmt.Errorf("base URL: must be the instance root, without the /obp/<version> path (use WithVersion)")
		}
		return o.cfg.SetBaseURL(u)
	}
}

// WithHTTPClient sets the HTTP client to copy (never mutated). With DAuth or
// Consent-JWT its transport must be an *http.Transport, so that HTTP/2 can be turned off.
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

// WithRetry sets the retry budget and backoff bounds (default 3 retries, 200 ms to
// 10 s). Calls that change state are never re-sent once they may have reached OBP.
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(o *options) error { return o.cfg.SetRetry(max, waitMin, waitMax) }
}

// WithLogger sets the logger (default: discards). Log lines never carry headers,
// bodies or query strings.
func WithLogger(l *slog.Logger) Option {
	return func(o *options) error { return o.cfg.SetLogger(l) }
}

// WithUserAgent appends app (e.g. "myapp/1.2") to the User-Agent header.
func WithUserAgent(app string) Option {
	return func(o *options) error { return o.cfg.SetUserAgent(app) }
}

// WithInsecureHTTP allows a plain-http base URL that is not loopback.
func WithInsecureHTTP() Option {
	return func(o *options) error { o.cfg.AllowInsecureHTTP = true; return nil }
}

var versionRe = regexp.MustCompile(`^v[0-9]+\.[0-9]+\.[0-9]+$`)

// WithVersion sets the API version in paths (/obp/<version>/...), default
// DefaultVersion. The account-access calls use v4.0.0 paths when the version is
// v5.1.0 or later, which no longer serve them.
func WithVersion(v string) Option {
	return func(o *options) error {
		if !versionRe.MatchString(v) {
			return fmt.Errorf("version %q: must look like v4.0.0", v)
		}
		o.version = v
		return nil
	}
}

// DAuthConfig holds what a DAuth JWT needs. It never shows its private key: fmt (every
// verb), json.Marshal and slog print "[REDACTED]" in its place.
type DAuthConfig struct {
	// PrivateKey signs the RS256 JWTs; OBP verifies them with the matching public key
	// (its jwt.public_key_rsa). It is any crypto.Signer with an RSA public key of at
	// least 2048 bits: an *rsa.PrivateKey (see auth.LoadRSAPrivateKey), or a key held
	// in an HSM, a cloud KMS or a PKCS#11 token, which signs a SHA-256 digest with
	// PKCS#1 v1.5 and never leaves it. Required.
	PrivateKey crypto.Signer
	// SmartContractAddress becomes the OBP username. Required.
	SmartContractAddress string
	// NetworkName gives the OBP provider DAuthProvider(NetworkName). Required.
	NetworkName string
	// MsgSender is the actor within the smart contract. Optional.
	MsgSender string
	// ConsumerKey identifies the OBP consumer. Required.
	ConsumerKey string
}

// String describes the configuration without its key.
func (c DAuthConfig) String() string {
	return fmt.Sprintf("obp.DAuthConfig{PrivateKey: %s, SmartContractAddress: %q, NetworkName: %q, MsgSender: %q, ConsumerKey: %q}",
		rest.Redacted, c.SmartContractAddress, c.NetworkName, c.MsgSender, c.ConsumerKey)
}

// GoString describes the configuration without its key.
func (c DAuthConfig) GoString() string { return c.String() }

// Format describes the configuration without its key, whatever the verb (a %d or %x
// would otherwise print the fields).
func (c DAuthConfig) Format(f fmt.State, verb rune) {
	if verb == 'v' && f.Flag('#') {
		_, _ = f.Write([]byte(c.GoString()))
		return
	}
	_, _ = f.Write([]byte(c.String()))
}

// LogValue describes the configuration without its key in slog output.
func (c DAuthConfig) LogValue() slog.Value {
	return slog.GroupValue(
		slog.String("PrivateKey", redactedIfSet(c.PrivateKey != nil)),
		slog.String("SmartContractAddress", c.SmartContractAddress),
		slog.String("NetworkName", c.NetworkName),
		slog.String("MsgSender", c.MsgSender),
		slog.String("ConsumerKey", c.ConsumerKey),
	)
}

// MarshalJSON encodes the configuration without its key: "PrivateKey" is
// "[REDACTED]" (or "" when there is none).
func (c DAuthConfig) MarshalJSON() ([]byte, error) {
	return json.Marshal(struct {
		PrivateKey           string
		SmartContractAddress string
		NetworkName          string
		MsgSender            string
		ConsumerKey          string
	}{redactedIfSet(c.PrivateKey != nil), c.SmartContractAddress, c.NetworkName, c.MsgSender, c.ConsumerKey})
}

func redactedIfSet(set bool) string {
	if set {
		return rest.Redacted
	}
	return ""
}

// DAuthProvider returns the OBP provider of the user a DAuth JWT with this
// network_name acts as: "dauth." + network. Use it (with the smart contract address as
// username) to create that user beforehand with CreateUserWithAccountAccess or
// Users.CreateWithRoles.
func DAuthProvider(network string) string { return dauthProviderPrefix + network }

const dauthProviderPrefix = "dauth."

// WithDAuth authenticates every request with a DAuth header: a fresh RS256 JWT per
// attempt (new timestamp and request_id), sent over HTTP/1.1 in a header named
// exactly "DAuth".
func WithDAuth(cfg DAuthConfig) Option {
	return func(o *options) error {
		o.auths = append(o.auths, "WithDAuth")
		switch {
		case cfg.PrivateKey == nil:
			return errors.New("DAuth PrivateKey: required")
		case strings.TrimSpace(cfg.SmartContractAddress) == "":
			return errors.New("DAuth SmartContractAddress: required")
		case strings.TrimSpace(cfg.NetworkName) == "":
			return errors.New("DAuth NetworkName: required")
		case strings.TrimSpace(cfg.ConsumerKey) == "":
			return errors.New("DAuth ConsumerKey: required")
		}
		c := cfg
		o.dauth = &c
		return nil
	}
}

// WithDirectLogin logs in with OBP DirectLogin (POST /my/logins/direct) on first use
// or when Client.DirectLogin is called, then sends "DirectLogin: token=<token>". When
// OBP answers OBP-20003 (token invalid or expired) the client logs in again and
// replays the call once. OBP splits the login header on commas and strips quotes, so
// values containing a comma or a double quote are rejected here.
func WithDirectLogin(username, password, consumerKey string) Option {
	return func(o *options) error {
		o.auths = append(o.auths, "WithDirectLogin")
		for _, f := range []struct{ name, v string }{
			{"username", username}, {"password", password}, {"consumer key", consumerKey},
		} {
			if err := checkDirectLoginValue(f.name, f.v); err != nil {
				return err
			}
		}
		o.dlLogin = auth.NewSecret("username=" + username + ", password=" + password + ", consumer_key=" + consumerKey)
		o.secrets = append(o.secrets, password)
		return nil
	}
}

// checkDirectLoginValue applies OBP's DirectLogin header parsing rules. The error
// names the field, never its value.
func checkDirectLoginValue(name, v string) error {
	switch {
	case v == "":
		return fmt.Errorf("DirectLogin %s: required", name)
	case strings.Contains(v, ","):
		return fmt.Errorf("DirectLogin %s: must not contain a comma (OBP splits the DirectLogin header on commas)", name)
	case strings.Contains(v, `"`):
		return fmt.Errorf("DirectLogin %s: must not contain a double quote (OBP strips quotes from DirectLogin values)", name)
	case strings.TrimSpace(v) != v:
		return fmt.Errorf("DirectLogin %s: must not start or end with white space (OBP trims it)", name)
	case strings.IndexFunc(v, func(r rune) bool { return r < 0x20 || r == 0x7f }) >= 0:
		return fmt.Errorf("DirectLogin %s: must not contain control characters", name)
	}
	return nil
}

// WithDirectLoginToken sends a DirectLogin token obtained elsewhere ("DirectLogin:
// token=<token>"). It cannot be renewed: an OBP-20003 answer is returned as is. For a
// token that can be renewed, use WithDirectLoginTokenSource.
func WithDirectLoginToken(token string) Option {
	return func(o *options) error {
		o.auths = append(o.auths, "WithDirectLoginToken")
		if err := checkDirectLoginValue("token", token); err != nil {
			return err
		}
		o.dlToken = auth.StaticSource(auth.Token{Value: token})
		o.secrets = append(o.secrets, token)
		return nil
	}
}

// WithDirectLoginTokenSource sends "DirectLogin: token=<token>" with tokens from src
// (a secret manager, another service's login). If src can forget a token (it has
// Invalidate(auth.Token), as auth.Cache has), an OBP-20003 answer invalidates the
// token the call carried and the call is replayed once with the next one; otherwise
// the answer is returned as is. A token OBP would misread (with a comma, a double
// quote, surrounding white space or control characters) fails the call before it is
// sent. If src has Acquire (auth.KeepAlive), each token is held while a request
// carrying it is in flight. The source is the caller's to stop.
func WithDirectLoginTokenSource(src auth.Source) Option {
	return func(o *options) error {
		o.auths = append(o.auths, "WithDirectLoginTokenSource")
		if src == nil {
			return errors.New("DirectLogin token source: required")
		}
		o.dlToken = src
		return nil
	}
}

// WithAccessTokenSource sends "Authorization: Bearer <token>" (OBP's OAuth2/OIDC
// mode) with access tokens from src. If src can forget a token (it has
// Invalidate(auth.Token), as auth.Cache has), a 401 answer invalidates the token the
// call carried and the call is replayed once with the next one; otherwise the 401 is
// returned as is. If src has Acquire (auth.KeepAlive), each token is held while a
// request carrying it is in flight. The source is the caller's to stop.
func WithAccessTokenSource(src auth.Source) Option {
	return func(o *options) error {
		o.auths = append(o.auths, "WithAccessTokenSource")
		if src == nil {
			return errors.New("access token source: required")
		}
		o.accessToken = src
		return nil
	}
}

// WithConsentJWT sends "Consent-JWT: <jwt>" (an OBP consent JWT, or a consent id) over
// HTTP/1.1, in a header named exactly "Consent-JWT". It cannot be renewed: for a
// consent that can, use WithConsentJWTSource.
func WithConsentJWT(jwt string) Option {
	return func(o *options) error {
		o.auths = append(o.auths, "WithConsentJWT")
		if strings.TrimSpace(jwt) == "" {
			return errors.New("consent JWT: required")
		}
		if strings.ContainsAny(jwt, "\r\n") {
			return errors.New("consent JWT: must not contain line breaks")
		}
		o.consent = auth.StaticSource(auth.Token{Value: jwt})
		o.secrets = append(o.secrets, jwt)
		return nil
	}
}

// WithConsentJWTSource sends "Consent-JWT: <jwt>" over HTTP/1.1, in a header named
// exactly "Consent-JWT", with consent JWTs (or consent ids) from src. If src can
// forget one (it has Invalidate(auth.Token), as auth.Cache has), a 401 answer
// invalidates the consent the call carried and the call is replayed once with the
// next one; otherwise the 401 is returned as is. The source is the caller's to stop.
func WithConsentJWTSource(src auth.Source) Option {
	return func(o *options) error {
		o.auths = append(o.auths, "WithConsentJWTSource")
		if src == nil {
			return errors.New("consent JWT source: required")
		}
		o.consent = src
		return nil
	}
}

// WithConsumerKey adds "Consumer-Key: <key>" to every call, as OBP instances that bind
// consents to consumers by key (consumer_validation_method_for_consent =
// CONSUMER_KEY_VALUE) require with Consent-JWT.
func WithConsumerKey(key string) Option {
	return func(o *options) error {
		if strings.TrimSpace(key) == "" || strings.ContainsAny(key, "\r\n") {
			return errors.New("consumer key: required, on one line")
		}
		o.consumerKey = auth.NewSecret(key)
		return nil
	}
}

// authOptions names the authentication options, one of which NewClient needs.
const authOptions = "WithDAuth, WithDirectLogin, WithDirectLoginToken, WithDirectLoginTokenSource, " +
	"WithAccessTokenSource, WithConsentJWT, WithConsentJWTSource"

// NewClient builds a client. It needs WithBaseURL and exactly one authentication
// option: WithDAuth, WithDirectLogin, WithDirectLoginToken, WithDirectLoginTokenSource,
// WithAccessTokenSource, WithConsentJWT or WithConsentJWTSource.
func NewClient(opts ...Option) (*Client, error) {
	o := options{cfg: rest.DefaultConfig("obp"), version: DefaultVersion}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(&o); err != nil {
			return nil, fmt.Errorf("obp: %w", err)
		}
	}
	switch len(o.auths) {
	case 0:
		return nil, errors.New("obp: an authentication option is required: one of " + authOptions)
	case 1:
	default:
		return nil, fmt.Errorf("obp: exactly one authentication option is allowed, got %s", strings.Join(o.auths, " and "))
	}

	c := &Client{version: o.version, mode: strings.TrimPrefix(o.auths[0], "With"), life: rest.NewLifecycle()}
	c.red = rest.NewRedactor(o.secrets...)
	cfg := o.cfg
	cfg.RequestIDHeaders = []string{"Correlation-Id"}
	cfg.DecodeError = func(resp *http.Response, body []byte) error { return decodeError(resp, body, c.red) }

	// Every attempt is refused once the client is closed; then the mode's credential;
	// then the Consumer-Key, if any. The chain is the rest.Renewer of a rejected
	// credential: only the token modes' rest.HeaderToken renews, and only with a
	// source that can forget the token it sent.
	authz := rest.Chain{rest.AuthorizerFunc(func(context.Context, *http.Request, []byte) error { return c.life.Err() })}
	switch {
	case o.dauth != nil:
		a, err := newDAuthAuthorizer(*o.dauth)
		if err != nil {
			return nil, fmt.Errorf("obp: DAuth PrivateKey: %w", err)
		}
		authz = append(authz, a)
		cfg.HTTP1Only = true
	case !o.dlLogin.IsZero():
		c.dl = &directLogin{client: c, header: o.dlLogin}
		c.dl.cache = auth.NewCache(auth.SourceFunc(c.dl.login), auth.WithRefreshTimeout(cfg.CallTimeout()))
		authz = append(authz, directLoginToken(c.dl.cache))
		cfg.CredentialRejected = directLoginRejected
	case o.dlToken != nil:
		authz = append(authz, directLoginToken(o.dlToken), checkDirectLoginToken)
		cfg.CredentialRejected = directLoginRejected
	case o.accessToken != nil:
		authz = append(authz, rest.NewHeaderToken(o.accessToken, "Authorization", "Bearer "))
		cfg.CredentialRejected = unauthorized
	case o.consent != nil:
		authz = append(authz, rest.NewHeaderToken(o.consent, consentJWTHeader, ""))
		cfg.CredentialRejected = unauthorized
		cfg.HTTP1Only = true
	}
	if !o.consumerKey.IsZero() {
		authz = append(authz, rest.StaticHeader{Header: "Consumer-Key", Value: o.consumerKey})
	}
	cfg.Authorizer = authz

	rc, err := rest.New(cfg)
	if err != nil {
		return nil, fmt.Errorf("obp: %w", err)
	}
	c.rest = rc
	c.common.client = c
	c.Users = (*UsersService)(&c.common)
	c.AccountAccess = (*AccountAccessService)(&c.common)
	return c, nil
}

// String describes the client without credentials.
func (c *Client) String() string {
	if c == nil || c.rest == nil {
		return "obp.Client{}"
	}
	return fmt.Sprintf("obp.Client{BaseURL: %s, Version: %s, Auth: %s}", rest.RedactURL(c.rest.BaseURL()), c.version, c.mode)
}

// GoString describes the client without credentials.
func (c *Client) GoString() string { return c.String() }

// LogValue describes the client without credentials in slog output.
func (c *Client) LogValue() slog.Value { return slog.StringValue(c.String()) }

// Close releases what the client holds: it cancels a DirectLogin login in flight (a
// login outlives the call that started it, so that other callers waiting for it are
// not failed by one impatient caller) and waits for it to end, and closes the idle
// connections of the transport the client created (a transport that came with
// WithHTTPClient is left alone, since others may share it). Calls made after Close
// fail with ErrClosed before any credential is taken or sent; a call already in
// flight finishes. Close is safe to call more than once and from several goroutines;
// it always returns nil. A source given to WithAccessTokenSource,
// WithDirectLoginTokenSource or WithConsentJWTSource is the caller's to stop.
func (c *Client) Close() error {
	if c == nil || c.rest == nil || !c.life.Close() {
		return nil
	}
	c.rest.CloseIdleConnections()
	return nil
}

// Version returns the API version in the client's paths.
func (c *Client) Version() string { return c.version }

// DirectLogin logs in now (POST /my/logins/direct) and keeps the token for the calls
// that follow; without it the client logs in on first use. It needs WithDirectLogin.
// The token is returned so that it can be stored and reused with
// WithDirectLoginToken; it prints as [REDACTED].
func (c *Client) DirectLogin(ctx context.Context) (auth.Token, error) {
	if c.dl == nil {
		return auth.Token{}, errors.New("obp: DirectLogin needs a client built WithDirectLogin")
	}
	tok, err := c.dl.login(ctx)
	if err != nil {
		return auth.Token{}, err
	}
	_ = c.dl.cache.Set(ctx, tok) // no shared store: cannot fail
	return tok, nil
}

// Do calls any OBP endpoint with the client's authentication, retries and errors:
// path is relative to /obp/<version>/ (e.g. "banks" or "banks/gh.29.uk/accounts/private"),
// may carry a query, and body (if not nil) is sent as JSON. The answer is decoded into
// T (json.RawMessage keeps it raw).
func Do[T any](ctx context.Context, c *Client, method, path string, body any) (T, error) {
	var zero T
	if c == nil || c.rest == nil {
		return zero, errors.New("obp: nil client")
	}
	return rest.DoJSON[T](ctx, c.rest, method, "obp/"+c.version+"/"+strings.TrimLeft(path, "/"), body)
}

// apiPath builds /obp/<version>/<segs...>, each segment escaped.
func (c *Client) apiPath(version string, segs ...string) (string, error) {
	var buf [8]string // room for every path of the API without allocating
	return rest.Path(append(append(buf[:0], "obp", version), segs...)...)
}

// accessVersion is the version of the v4.0.0 account-access paths: the client's,
// unless that is v5.1.0 or later, which dropped them.
func (c *Client) accessVersion() string {
	var major, minor, patch int
	if _, err := fmt.Sscanf(c.version, "v%d.%d.%d", &major, &minor, &patch); err != nil {
		return DefaultVersion
	}
	if major < 4 || major > 5 || (major == 5 && minor >= 1) {
		return DefaultVersion
	}
	return c.version
}

// requireID checks a path identifier before anything is sent.
func requireID(name, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("obp: %s: required", name)
	}
	if v == "." || v == ".." {
		return fmt.Errorf("obp: %s: %q is not a valid identifier", name, v)
	}
	return nil
}

package conformance

import (
	"context"
	"crypto"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/banksdk/banksdk/saltedge"
)

// Defaults used by Run.
const (
	// DefaultClientID is the Client-Id sent when Config.ClientID is 0 (the seed's
	// first sample).
	DefaultClientID int64 = 771
	// DefaultProviderCode is the provider_code sent when Config.ProviderCode is ""
	// (the seed's samples).
	DefaultProviderCode = "demobank"
	// DefaultTimeout bounds each request and each wait for a callback.
	DefaultTimeout = 30 * time.Second
	// RequestTTL is the lifetime of the JWTs the runner signs (exp = now + 60 s, as
	// Salt Edge signs its requests).
	RequestTTL = time.Minute
	// CallbackPrefix is the path under which the runner serves Salt Edge's callback
	// API on Config.Callbacks.
	CallbackPrefix = "/api/connectors/v1/"
	// TPPRedirectURL is the TPP's redirect_url sent in tokens/create and accounts
	// refresh (the seed's sample).
	TPPRedirectURL = "https://user.will.be/redirected/here"
)

// ErrInvalidConfig is matched (errors.Is) by Run's error for a Config it cannot use.
var ErrInvalidConfig = errors.New("conformance: invalid config")

// Config says how to reach the connector under test and how to act as Salt Edge
// towards it. A Config prints, logs and encodes as JSON without its key and App-Secret.
type Config struct {
	// BaseURL is the connector's URL: either its root (https://bank.example) or the
	// API's base (https://bank.example/api/priora/v1). Requests go to
	// <root>/api/priora/v1/<endpoint>, as in the seed. Required.
	BaseURL string
	// SigningKey is Salt Edge's test private key (RSA, at least 2048 bits): every
	// request is an RS256 JWT signed with it, and the connector under test must trust
	// its public half. Any crypto.Signer whose Public() is an *rsa.PublicKey (an
	// *rsa.PrivateKey, or a key held in an HSM). Required.
	SigningKey crypto.Signer
	// ClientID is the Client-Id header value (0: DefaultClientID).
	ClientID int64
	// Issuer is the JWTs' iss claim ("": saltedge.DefaultIssuer, as in the seed).
	Issuer string
	// ProviderCode is the provider_code of the payloads ("": DefaultProviderCode).
	ProviderCode string

	// Callbacks is where the runner serves Salt Edge's callback API (under
	// CallbackPrefix: sessions, payments and funds availability callbacks,
	// tokens/index, tokens/revoke, clients/info) while it runs: the connector under
	// test must send its callbacks to this listener's URL. Run closes it before
	// returning. Required: the access token the flow needs arrives by
	// sessions/success.
	Callbacks net.Listener
	// AppID is the App-Id the connector's callbacks must carry. Required.
	AppID string
	// AppSecret, when set, is the App-Secret the connector's callbacks must carry;
	// otherwise any non-empty App-Secret is accepted.
	AppSecret string
	// ConnectorPublicKey, when set, verifies the RS256 signature of every callback's
	// JWT; otherwise only their algorithm and exp are checked.
	ConnectorPublicKey *rsa.PublicKey

	// Scopes are the scopes the TPP asks for in tokens/create (nil: accounts,
	// transactions, kyc).
	Scopes []string
	// Credentials is client_payload.data.credentials of tokens/create: the PSU's
	// choice of flow and login fields (nil: {"authorization_type": "oauth"}).
	Credentials saltedge.Credentials
	// Confirmation is client_payload.data.credentials of tokens/confirm, sent when the
	// connector asks for an interactive step (sessions/update with status
	// waiting_confirmation_code), e.g. {"sms_pincode": "4896"}. With a single value
	// under "" the value is sent under the interactive_field the connector named.
	Confirmation saltedge.Credentials
	// Authorize plays the PSU approving access at the bank when the connector answers
	// tokens/create with a redirect (sessions/update with extra.redirect_url). Nil:
	// GET redirectURL with the HTTP client, without following redirects, and expect a
	// 2xx or 3xx answer.
	Authorize func(ctx context.Context, redirectURL string) error
	// AccountID is the account whose transactions are fetched ("": the first account
	// the connector lists).
	AccountID string

	// HTTPClient sends the requests (nil: a client of the runner's own, whose idle
	// connections are closed when Run returns). Its own Timeout, if any, applies too.
	HTTPClient *http.Client
	// Timeout bounds each request and each wait for a callback (0: DefaultTimeout).
	Timeout time.Duration
}

// String describes c without its key and App-Secret.
func (c Config) String() string {
	key := "<nil>"
	if c.SigningKey != nil {
		key = "[REDACTED]"
	}
	secret := ""
	if c.AppSecret != "" {
		secret = "[REDACTED]"
	}
	creds := "<nil>"
	if c.Credentials != nil {
		creds = fmt.Sprint(c.Credentials)
	}
	return fmt.Sprintf("conformance.Config{BaseURL: %q, SigningKey: %s, ClientID: %d, AppID: %q, AppSecret: %q, Credentials: %s}",
		redactURL(c.BaseURL), key, c.ClientID, c.AppID, secret, creds)
}

// GoString is String.
func (c Config) GoString() string { return c.String() }

// Format prints String for every verb.
func (c Config) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(c.String())) }

// LogValue logs String.
func (c Config) LogValue() slog.Value { return slog.StringValue(c.String()) }

// MarshalJSON encodes String: a Config is never sent anywhere, so one encoded as JSON
// is being logged.
func (c Config) MarshalJSON() ([]byte, error) { return json.Marshal(c.String()) }

func redactURL(s string) string {
	u, err := url.Parse(s)
	if err != nil {
		return "(unparsable URL)"
	}
	return u.Redacted()
}

// settings is a validated Config with its defaults applied.
type settings struct {
	Config
	apiBase string // <root>/api/priora/v1
}

func invalid(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalidConfig, fmt.Sprintf(format, args...))
}

func (c Config) settings() (*settings, error) {
	s := &settings{Config: c}
	u, err := url.Parse(strings.TrimSpace(c.BaseURL))
	switch {
	case c.BaseURL == "":
		return nil, invalid("BaseURL is required")
	case err != nil:
		return nil, invalid("BaseURL cannot be parsed")
	case u.Scheme != "http" && u.Scheme != "https", u.Host == "":
		return nil, invalid("BaseURL must be an absolute http or https URL")
	case u.RawQuery != "" || u.Fragment != "":
		return nil, invalid("BaseURL must have no query or fragment")
	}
	path := strings.TrimRight(u.Path, "/")
	path = strings.TrimSuffix(path, saltedge.DefaultBasePath)
	u.Path, u.RawPath = path+saltedge.DefaultBasePath, ""
	s.apiBase = u.String()

	if c.SigningKey == nil {
		return nil, invalid("SigningKey is required")
	}
	if c.Callbacks == nil {
		return nil, invalid("Callbacks is required: the connector's callbacks carry the access token")
	}
	if strings.TrimSpace(c.AppID) == "" {
		return nil, invalid("AppID is required")
	}
	if c.ClientID < 0 {
		return nil, invalid("ClientID must not be negative")
	}
	if c.ClientID == 0 {
		s.ClientID = DefaultClientID
	}
	if c.Timeout < 0 {
		return nil, invalid("Timeout must not be negative")
	}
	if c.Timeout == 0 {
		s.Timeout = DefaultTimeout
	}
	if s.Issuer == "" {
		s.Issuer = saltedge.DefaultIssuer
	}
	if s.ProviderCode == "" {
		s.ProviderCode = DefaultProviderCode
	}
	if s.Scopes == nil {
		s.Scopes = []string{saltedge.ScopeAccounts, saltedge.ScopeTransactions, saltedge.ScopeKYC}
	}
	if s.Credentials == nil {
		s.Credentials = saltedge.Credentials{"authorization_type": "oauth"}
	}
	return s, nil
}

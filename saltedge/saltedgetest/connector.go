package saltedgetest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// Endpoint is one connector endpoint of the seed: a method and a path below
// ConnectorPrefix.
type Endpoint struct {
	Method string
	Path   string
}

// The connector endpoints Salt Edge calls (the seed's, plus the payments endpoints of
// the reference).
var (
	TokensCreate    = Endpoint{http.MethodPost, "tokens/create"}
	TokensRevoke    = Endpoint{http.MethodPost, "tokens/revoke"}
	TokensReconnect = Endpoint{http.MethodPost, "tokens/reconnect"}
	TokensConfirm   = Endpoint{http.MethodPost, "tokens/confirm"}
	TokensCancel    = Endpoint{http.MethodPost, "tokens/cancel"}
	AccountsFetch   = Endpoint{http.MethodGet, "accounts"}
	AccountsRefresh = Endpoint{http.MethodPut, "accounts"}
	AccountsConfirm = Endpoint{http.MethodPost, "accounts/confirm"}
	Transactions    = Endpoint{http.MethodGet, "transactions"}
	KYC             = Endpoint{http.MethodGet, "kyc"}
	Errors          = Endpoint{http.MethodPost, "errors"}
	PaymentsCreate  = Endpoint{http.MethodPost, "payments/create"}
	PaymentsConfirm = Endpoint{http.MethodPost, "payments/confirm"}
	PaymentsCancel  = Endpoint{http.MethodPost, "payments/cancel"}
	PaymentsShow    = Endpoint{http.MethodGet, "payments/show"}
	PaymentsFunds   = Endpoint{http.MethodPost, "payments/check_funds"}
)

// Connector sends Salt Edge's requests to a connector under test: each request
// carries "Authorization: Bearer <JWT>" (RS256, signed with the fake's key, claims
// {"data": payload, "exp": now+TTL, "iss": issuer}), Accept and Content-Type
// application/json, Client-Id, and Access-Token / Consent-Id when given. Sending a
// request whose data has a session_secret opens that session on the fake, so the
// connector's callbacks for it are accepted.
type Connector struct {
	s       *Server
	baseURL string
	// ClientID is the Client-Id header value (default DefaultClientID); it also picks
	// the TPP key that signs client_jwt.
	ClientID int64
	// HTTPClient sends the requests (default: a client with a 10 s timeout over a
	// transport the Server owns, whose idle connections Server.Close closes).
	HTTPClient *http.Client
}

// Connector returns a driver for the connector served at baseURL (its root: the
// driver adds ConnectorPrefix).
func (s *Server) Connector(baseURL string) *Connector {
	return &Connector{s: s, baseURL: strings.TrimRight(baseURL, "/"), ClientID: DefaultClientID,
		HTTPClient: &http.Client{Timeout: 10 * time.Second, Transport: s.transport}}
}

// Call is one request to the connector.
type Call struct {
	Endpoint Endpoint
	// Data is the JWT's data claim (nil sends {}).
	Data any
	// AccessToken and ConsentID become the Access-Token and Consent-Id headers when set.
	AccessToken string
	ConsentID   string
	// ClientID overrides the driver's Client-Id header value; NoClientID leaves the
	// header out.
	ClientID   string
	NoClientID bool
	// Authorization, when set, is sent verbatim as the Authorization header instead of
	// a freshly signed JWT; NoAuthorization leaves the header out.
	Authorization   string
	NoAuthorization bool
	// TTL overrides the JWT lifetime (negative: already expired).
	TTL time.Duration
	// Header adds headers; Body is sent as the request body (the seed sends none).
	Header http.Header
	Body   []byte
}

// Response is the connector's answer.
type Response struct {
	StatusCode int
	Header     http.Header
	Body       []byte
	// Data is the "data" member of a JSON answer, if any.
	Data json.RawMessage
	// ErrorClass and ErrorMessage are read from a {"error_class","error_message"} answer.
	ErrorClass   string
	ErrorMessage string
	// SessionSecret is the session_secret the request carried, if any.
	SessionSecret string
}

// DecodeData decodes Data into v.
func (r *Response) DecodeData(v any) error {
	if len(r.Data) == 0 {
		return errors.New("saltedgetest: response has no data")
	}
	return json.Unmarshal(r.Data, v)
}

// OK reports a 200 answer.
func (r *Response) OK() bool { return r.StatusCode == http.StatusOK }

// Sign returns a JWT with these claims, RS256-signed with the fake's key and a header
// of {"alg":"RS256"} only, as in the seed's samples (plus the kid of WithSigningKeyID
// or RotateSigningKey, when one is set).
func (s *Server) Sign(claims map[string]any) (string, error) {
	sk := s.signing.Load()
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	delete(t.Header, "typ")
	if sk.kid != "" {
		t.Header["kid"] = sk.kid
	}
	return t.SignedString(sk.key)
}

// RequestJWT returns the JWT the fake would send for data: claims {"data": data,
// "exp": now+ttl (the server's request TTL when ttl is 0), "iss": issuer}.
func (s *Server) RequestJWT(data any, ttl time.Duration) (string, error) {
	if ttl == 0 {
		ttl = s.requestTTL
	}
	if data == nil {
		data = map[string]any{}
	}
	claims := map[string]any{"data": data, "exp": s.now().Add(ttl).Unix()}
	if s.issuer != "" {
		claims["iss"] = s.issuer
	}
	return s.Sign(claims)
}

func signRS256(key any, claims map[string]any, typ bool) (string, error) {
	t := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
	if !typ {
		delete(t.Header, "typ")
	}
	return t.SignedString(key)
}

// Send signs and sends one request.
func (c *Connector) Send(ctx context.Context, call Call) (*Response, error) {
	if call.Endpoint.Method == "" || call.Endpoint.Path == "" {
		return nil, errors.New("saltedgetest: Call.Endpoint is required")
	}
	secret := sessionSecretOf(call.Data)
	var body io.Reader
	if call.Body != nil {
		body = bytes.NewReader(call.Body)
	}
	req, err := http.NewRequestWithContext(ctx, call.Endpoint.Method,
		c.baseURL+ConnectorPrefix+call.Endpoint.Path, body)
	if err != nil {
		return nil, fmt.Errorf("saltedgetest: %w", err)
	}
	switch {
	case call.NoAuthorization:
	case call.Authorization != "":
		req.Header.Set("Authorization", call.Authorization)
	default:
		tok, err := c.s.RequestJWT(call.Data, call.TTL)
		if err != nil {
			return nil, fmt.Errorf("saltedgetest: signing: %w", err)
		}
		req.Header.Set("Authorization", "Bearer "+tok)
	}
	req.Header.Set("Accept", "application/json")
	req.Header.Set("Content-Type", "application/json")
	if !call.NoClientID {
		id := call.ClientID
		if id == "" {
			id = strconv.FormatInt(c.ClientID, 10)
		}
		req.Header.Set("Client-Id", id)
	}
	if call.AccessToken != "" {
		req.Header.Set("Access-Token", call.AccessToken)
	}
	if call.ConsentID != "" {
		req.Header.Set("Consent-Id", call.ConsentID)
	}
	for k, vs := range call.Header {
		for _, v := range vs {
			req.Header.Add(k, v)
		}
	}
	if secret != "" {
		c.s.OpenSession(secret)
	}
	resp, err := c.HTTPClient.Do(req)
	if err != nil {
		return nil, fmt.Errorf("saltedgetest: %s %s: %w", call.Endpoint.Method, call.Endpoint.Path, err)
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(io.LimitReader(resp.Body, 64<<20))
	if err != nil {
		return nil, fmt.Errorf("saltedgetest: reading the answer: %w", err)
	}
	out := &Response{StatusCode: resp.StatusCode, Header: resp.Header, Body: raw, SessionSecret: secret}
	var env struct {
		Data         json.RawMessage `json:"data"`
		ErrorClass   string          `json:"error_class"`
		ErrorMessage string          `json:"error_message"`
	}
	if json.Unmarshal(raw, &env) == nil {
		out.Data, out.ErrorClass, out.ErrorMessage = env.Data, env.ErrorClass, env.ErrorMessage
	}
	return out, nil
}

// sessionSecretOf finds data.session_secret whatever Go type data is.
func sessionSecretOf(data any) string {
	if data == nil {
		return ""
	}
	if m, ok := data.(map[string]any); ok {
		s, _ := m["session_secret"].(string)
		return s
	}
	b, err := json.Marshal(data)
	if err != nil {
		return ""
	}
	var d struct {
		SessionSecret string `json:"session_secret"`
	}
	_ = json.Unmarshal(b, &d)
	return d.SessionSecret
}

// ClientJWT returns "Bearer <JWT>" as a TPP client application would have signed its
// original request: claims {"data": data, "exp": now+ttl}, header {"typ":"JWT",
// "alg":"RS256"}, signed with the client's key (see AddClient).
func (s *Server) ClientJWT(clientID int64, data any, ttl time.Duration) (string, error) {
	cl, ok := s.ClientApp(clientID)
	if !ok {
		return "", fmt.Errorf("saltedgetest: no client %d", clientID)
	}
	if ttl == 0 {
		ttl = s.requestTTL
	}
	tok, err := signRS256(cl.Key, map[string]any{"data": data, "exp": s.now().Add(ttl).Unix()}, true)
	if err != nil {
		return "", err
	}
	return "Bearer " + tok, nil
}

// originalRequest builds {"client_jwt": "Bearer ...", "client_payload": {"data": data,
// "exp": ...}}, the TPP's request relayed by Salt Edge.
func (c *Connector) originalRequest(data map[string]any) (map[string]any, error) {
	exp := c.s.now().Add(c.s.requestTTL).Unix()
	jwtStr, err := c.s.ClientJWT(c.ClientID, data, c.s.requestTTL)
	if err != nil {
		return nil, err
	}
	return map[string]any{"client_jwt": jwtStr,
		"client_payload": map[string]any{"data": data, "exp": exp}}, nil
}

// TokenRequest describes a tokens/create request. Empty fields take the seed's
// sample values (SessionSecret: a fresh random one).
type TokenRequest struct {
	SessionSecret     string
	ProviderCode      string
	AppName           string
	Scopes            []string
	ConsentPeriodDays int
	ForceSCA          bool
	// Credentials is client_payload.data.credentials (default
	// {"authorization_type":"oauth"}).
	Credentials map[string]any
	RedirectURL string
	ConsentID   string
}

// CreateToken sends tokens/create, with an original_request whose client_jwt is
// signed by the client application's key. The session it opens is in
// Response.SessionSecret.
func (c *Connector) CreateToken(ctx context.Context, t TokenRequest) (*Response, error) {
	if t.SessionSecret == "" {
		t.SessionSecret = NewSessionSecret()
	}
	if t.ProviderCode == "" {
		t.ProviderCode = "demobank"
	}
	if t.AppName == "" {
		t.AppName = "Example Name"
	}
	if t.Scopes == nil {
		t.Scopes = []string{"accounts", "transactions", "kyc"}
	}
	if t.ConsentPeriodDays == 0 {
		t.ConsentPeriodDays = 90
	}
	if t.Credentials == nil {
		t.Credentials = map[string]any{"authorization_type": "oauth"}
	}
	if t.RedirectURL == "" {
		t.RedirectURL = "https://user.will.be/redirected/here"
	}
	payload := map[string]any{"credentials": t.Credentials, "provider_code": t.ProviderCode,
		"redirect_url": t.RedirectURL, "scopes": t.Scopes, "consent_period_days": t.ConsentPeriodDays}
	if t.ForceSCA {
		payload["force_sca"] = true
	}
	orig, err := c.originalRequest(payload)
	if err != nil {
		return nil, err
	}
	return c.Send(ctx, Call{Endpoint: TokensCreate, ConsentID: t.ConsentID, Data: map[string]any{
		"app_name": t.AppName, "provider_code": t.ProviderCode, "original_request": orig,
		"session_secret": t.SessionSecret}})
}

// ConfirmToken sends tokens/confirm with the PSU's interactive credentials (e.g.
// {"sms_pincode": "4896"}).
func (c *Connector) ConfirmToken(ctx context.Context, sessionSecret string, credentials map[string]any) (*Response, error) {
	orig, err := c.originalRequest(map[string]any{"credentials": credentials})
	if err != nil {
		return nil, err
	}
	return c.Send(ctx, Call{Endpoint: TokensConfirm, Data: map[string]any{
		"session_secret": sessionSecret, "provider_code": "demobank", "original_request": orig}})
}

// ReconnectToken sends tokens/reconnect for an active access token.
func (c *Connector) ReconnectToken(ctx context.Context, accessToken, sessionSecret string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: TokensReconnect, AccessToken: accessToken,
		Data: map[string]any{"provider_code": "demobank", "session_secret": sessionSecret}})
}

// RevokeToken sends tokens/revoke for an access token.
func (c *Connector) RevokeToken(ctx context.Context, accessToken, sessionSecret string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: TokensRevoke, AccessToken: accessToken,
		Data: map[string]any{"provider_code": "demobank", "session_secret": sessionSecret}})
}

// CancelToken sends tokens/cancel for a token still in enrollment.
func (c *Connector) CancelToken(ctx context.Context, sessionSecret string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: TokensCancel, Data: map[string]any{"session_secret": sessionSecret}})
}

// Accounts sends GET accounts.
func (c *Connector) Accounts(ctx context.Context, accessToken, sessionSecret string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: AccountsFetch, AccessToken: accessToken,
		Data: map[string]any{"session_secret": sessionSecret}})
}

// RefreshAccounts sends PUT accounts with a date range (dates as YYYY-MM-DD, as in
// the seed).
func (c *Connector) RefreshAccounts(ctx context.Context, accessToken, sessionSecret string, from, to time.Time, redirectURL string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: AccountsRefresh, AccessToken: accessToken, Data: map[string]any{
		"session_secret": sessionSecret, "from_date": from.Format("2006-01-02"),
		"to_date": to.Format("2006-01-02"), "redirect_url": redirectURL}})
}

// ConfirmAccounts sends accounts/confirm with the PSU's interactive credentials.
func (c *Connector) ConfirmAccounts(ctx context.Context, accessToken, sessionSecret string, credentials map[string]any) (*Response, error) {
	orig, err := c.originalRequest(map[string]any{"credentials": credentials})
	if err != nil {
		return nil, err
	}
	return c.Send(ctx, Call{Endpoint: AccountsConfirm, AccessToken: accessToken, Data: map[string]any{
		"session_secret": sessionSecret, "provider_code": "demobank", "original_request": orig}})
}

// TransactionsFor sends GET transactions for one account over [from, to] (date-times
// in ISO 8601 with milliseconds, as in the seed).
func (c *Connector) TransactionsFor(ctx context.Context, accessToken, sessionSecret, accountID string, from, to time.Time) (*Response, error) {
	const layout = "2006-01-02T15:04:05.000Z"
	return c.Send(ctx, Call{Endpoint: Transactions, AccessToken: accessToken, Data: map[string]any{
		"session_secret": sessionSecret, "account_id": accountID,
		"from_date": from.UTC().Format(layout), "to_date": to.UTC().Format(layout)}})
}

// KYCFor sends GET kyc.
func (c *Connector) KYCFor(ctx context.Context, accessToken, sessionSecret string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: KYC, AccessToken: accessToken,
		Data: map[string]any{"session_secret": sessionSecret}})
}

// NotifyError sends POST errors: Salt Edge reporting that it rejected one of the
// connector's answers.
func (c *Connector) NotifyError(ctx context.Context, accessToken, errorClass, errorMessage, method, url string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: Errors, AccessToken: accessToken, Data: map[string]any{
		"request": map[string]any{"method": method, "url": url, "headers": map[string]any{}},
		"error":   map[string]any{"error_message": errorMessage, "error_class": errorClass}}})
}

// PaymentRequest describes a payments/create request (fields from the reference).
type PaymentRequest struct {
	SessionSecret   string
	PrioraPaymentID int64
	PaymentType     string
	RedirectURL     string
	// Attributes is client_payload.data.payment_attributes (from_account, to_account,
	// amount, description, ...).
	Attributes map[string]any
}

// CreatePayment sends payments/create.
func (c *Connector) CreatePayment(ctx context.Context, accessToken string, p PaymentRequest) (*Response, error) {
	if p.SessionSecret == "" {
		p.SessionSecret = NewSessionSecret()
	}
	orig, err := c.originalRequest(map[string]any{"provider_code": "demobank",
		"redirect_url": p.RedirectURL, "payment_attributes": p.Attributes})
	if err != nil {
		return nil, err
	}
	return c.Send(ctx, Call{Endpoint: PaymentsCreate, AccessToken: accessToken, Data: map[string]any{
		"session_secret": p.SessionSecret, "provider_code": "demobank",
		"priora_payment_id": p.PrioraPaymentID, "payment_type": p.PaymentType,
		"redirect_url": p.RedirectURL, "original_request": orig}})
}

// ConfirmPayment sends payments/confirm with the PSU's interactive credentials.
func (c *Connector) ConfirmPayment(ctx context.Context, accessToken, sessionSecret, paymentID string, prioraPaymentID int64, credentials map[string]any) (*Response, error) {
	orig, err := c.originalRequest(map[string]any{"credentials": credentials})
	if err != nil {
		return nil, err
	}
	return c.Send(ctx, Call{Endpoint: PaymentsConfirm, AccessToken: accessToken, Data: map[string]any{
		"session_secret": sessionSecret, "payment_id": paymentID,
		"priora_payment_id": prioraPaymentID, "original_request": orig}})
}

// CancelPayment sends payments/cancel.
func (c *Connector) CancelPayment(ctx context.Context, accessToken, sessionSecret, paymentID string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: PaymentsCancel, AccessToken: accessToken, Data: map[string]any{
		"session_secret": sessionSecret, "payment_id": paymentID}})
}

// ShowPayment sends GET payments/show.
func (c *Connector) ShowPayment(ctx context.Context, accessToken, paymentID string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: PaymentsShow, AccessToken: accessToken,
		Data: map[string]any{"payment_id": paymentID}})
}

// CheckFunds sends payments/check_funds (amount as a JSON number, as in the reference).
func (c *Connector) CheckFunds(ctx context.Context, accessToken, sessionSecret, account string, amount float64, currency string) (*Response, error) {
	return c.Send(ctx, Call{Endpoint: PaymentsFunds, AccessToken: accessToken, Data: map[string]any{
		"session_secret": sessionSecret, "account": account, "amount": amount, "currency_code": currency}})
}

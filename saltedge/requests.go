package saltedge

import (
	"time"

	"github.com/banksdk/banksdk/auth"
)

// Call is what the handler read from one request of Salt Edge besides its payload.
// Every typed request embeds it.
type Call struct {
	// Endpoint is the path below /api/priora/v1/, e.g. "tokens/create".
	Endpoint string
	// ClientID is the Client-Id header: the TPP client application's id in Salt Edge
	// (use it with ClientJWTVerifier or Client.Clients.Info).
	ClientID int64
	// AccessToken is the Access-Token header: the token the connector issued. It is
	// empty on endpoints that carry none (tokens/create, confirm, cancel).
	AccessToken auth.Secret
	// ConsentID is the optional Consent-Id header, as received (documented as an
	// integer).
	ConsentID string
	// ExpiresAt and Issuer are the verified JWT's exp and iss claims.
	ExpiresAt time.Time
	Issuer    string
}

func (c *Call) setCall(v Call) { *c = v }

// OriginalRequest is the TPP's own request, relayed by Salt Edge: ClientJWT is
// "Bearer <JWT>" as the TPP signed it (verify it with ClientJWTVerifier or
// OriginalRequest.Verify), ClientPayload its payload as decoded by Salt Edge.
type OriginalRequest[T any] struct {
	ClientJWT     string           `json:"client_jwt"`
	ClientPayload ClientPayload[T] `json:"client_payload"`
}

// ClientPayload is the decoded claims of a client_jwt.
type ClientPayload[T any] struct {
	Data T     `json:"data"`
	Exp  int64 `json:"exp,omitempty"`
	// ID appears in payments/confirm client payloads.
	ID ID `json:"id,omitempty"`
}

// TokenPayload is client_payload.data of tokens/create: what the TPP asked for.
type TokenPayload struct {
	ProviderCode      string      `json:"provider_code,omitempty"`
	Scopes            []string    `json:"scopes"`
	ConsentPeriodDays int         `json:"consent_period_days,omitempty"`
	ForceSCA          bool        `json:"force_sca,omitempty"`
	Credentials       Credentials `json:"credentials,omitempty"`
	RedirectURL       string      `json:"redirect_url,omitempty"`
}

// ConfirmPayload is client_payload.data of the confirm endpoints: the PSU's answer to
// an interactive step, e.g. {"credentials": {"sms_pincode": "4896"}}.
type ConfirmPayload struct {
	Credentials Credentials `json:"credentials,omitempty"`
}

// CreateTokenRequest is tokens/create: the PSU granted a consent to a TPP; the
// connector authenticates the PSU and answers with sessions/update (redirect or
// interactive step), sessions/success or sessions/fail.
type CreateTokenRequest struct {
	Call            `json:"-"`
	SessionSecret   string                        `json:"session_secret"`
	ProviderCode    string                        `json:"provider_code,omitempty"`
	AppName         string                        `json:"app_name,omitempty"`
	OriginalRequest OriginalRequest[TokenPayload] `json:"original_request"`
}

// ConfirmTokenRequest is tokens/confirm: an interactive step of token creation (e.g.
// an SMS code); the connector answers with sessions/success or sessions/fail.
type ConfirmTokenRequest struct {
	Call            `json:"-"`
	SessionSecret   string                          `json:"session_secret"`
	ProviderCode    string                          `json:"provider_code,omitempty"`
	OriginalRequest OriginalRequest[ConfirmPayload] `json:"original_request"`
}

// ReconnectTokenRequest is tokens/reconnect (deprecated by Salt Edge): a TPP asks to
// refresh the active token in Call.AccessToken; the connector answers with
// sessions/success (new token), sessions/update (MFA) or sessions/fail.
type ReconnectTokenRequest struct {
	Call          `json:"-"`
	SessionSecret string `json:"session_secret"`
	ProviderCode  string `json:"provider_code,omitempty"`
}

// RevokeTokenRequest is tokens/revoke: revoke the token in Call.AccessToken.
type RevokeTokenRequest struct {
	Call          `json:"-"`
	SessionSecret string `json:"session_secret,omitempty"`
	ProviderCode  string `json:"provider_code,omitempty"`
}

// CancelTokenRequest is tokens/cancel: cancel a token still in enrollment (not yet
// confirmed) for this session.
type CancelTokenRequest struct {
	Call          `json:"-"`
	SessionSecret string `json:"session_secret"`
}

// AccountsRequest is accounts (GET): list the PSU's accounts.
type AccountsRequest struct {
	Call          `json:"-"`
	SessionSecret string `json:"session_secret,omitempty"`
}

// RefreshAccountsRequest is accounts (PUT): refresh the connector's copy of accounts
// and transactions from core banking.
type RefreshAccountsRequest struct {
	Call          `json:"-"`
	SessionSecret string   `json:"session_secret,omitempty"`
	FromDate      DateTime `json:"from_date,omitzero"`
	ToDate        DateTime `json:"to_date,omitzero"`
	RedirectURL   string   `json:"redirect_url,omitempty"`
}

// ConfirmAccountsRequest is accounts/confirm: an interactive step of an accounts
// refresh; the connector answers with sessions/success or sessions/fail.
type ConfirmAccountsRequest struct {
	Call            `json:"-"`
	SessionSecret   string                          `json:"session_secret"`
	ProviderCode    string                          `json:"provider_code,omitempty"`
	OriginalRequest OriginalRequest[ConfirmPayload] `json:"original_request"`
}

// TransactionsRequest is transactions (GET): the transactions of one account between
// two dates.
type TransactionsRequest struct {
	Call          `json:"-"`
	SessionSecret string   `json:"session_secret,omitempty"`
	AccountID     string   `json:"account_id"`
	FromDate      DateTime `json:"from_date,omitzero"`
	ToDate        DateTime `json:"to_date,omitzero"`
}

// KYCRequest is kyc (GET): the PSU's personal data.
type KYCRequest struct {
	Call          `json:"-"`
	SessionSecret string `json:"session_secret,omitempty"`
}

// ErrorReport is errors (POST): Salt Edge rejected one of the connector's answers.
type ErrorReport struct {
	Call    `json:"-"`
	Request ReportedRequest `json:"request"`
	Error   ReportedError   `json:"error"`
}

// ReportedRequest is the request whose answer Salt Edge rejected.
type ReportedRequest struct {
	Method  string         `json:"method"`
	URL     string         `json:"url"`
	Headers map[string]any `json:"headers,omitzero"`
}

// ReportedError is why Salt Edge rejected the answer.
type ReportedError struct {
	ErrorClass   string `json:"error_class"`
	ErrorMessage string `json:"error_message"`
}

// PaymentPayload is client_payload.data of payments/create (fields from Salt Edge's
// SDK).
type PaymentPayload struct {
	ProviderCode      string         `json:"provider_code,omitempty"`
	TemplateID        ID             `json:"template_id,omitempty"`
	BeneficiaryID     ID             `json:"beneficiary_id,omitempty"`
	ForceSCA          bool           `json:"force_sca,omitempty"`
	RedirectURL       string         `json:"redirect_url,omitempty"`
	Extra             map[string]any `json:"extra,omitzero"`
	PaymentAttributes map[string]any `json:"payment_attributes"`
}

// CreatePaymentRequest is payments/create: initiate a payment; the connector answers
// with payments/update, payments/success or payments/fail.
type CreatePaymentRequest struct {
	Call            `json:"-"`
	SessionSecret   string                          `json:"session_secret"`
	ProviderCode    string                          `json:"provider_code,omitempty"`
	PrioraPaymentID int64                           `json:"priora_payment_id"`
	PaymentType     string                          `json:"payment_type"`
	RedirectURL     string                          `json:"redirect_url,omitempty"`
	OriginalRequest OriginalRequest[PaymentPayload] `json:"original_request"`
}

// ConfirmPaymentRequest is payments/confirm: an interactive step of a payment; the
// connector answers with payments/success or payments/fail.
type ConfirmPaymentRequest struct {
	Call            `json:"-"`
	SessionSecret   string                          `json:"session_secret"`
	PaymentID       ID                              `json:"payment_id"`
	PrioraPaymentID int64                           `json:"priora_payment_id"`
	OriginalRequest OriginalRequest[ConfirmPayload] `json:"original_request"`
}

// CancelPaymentRequest is payments/cancel.
type CancelPaymentRequest struct {
	Call          `json:"-"`
	SessionSecret string `json:"session_secret,omitempty"`
	PaymentID     ID     `json:"payment_id"`
}

// ShowPaymentRequest is payments/show (GET).
type ShowPaymentRequest struct {
	Call      `json:"-"`
	PaymentID ID `json:"payment_id"`
}

// CheckFundsRequest is payments/check_funds: are funds available on an account (an
// IBAN, number, sort code or SWIFT code)? The connector answers with
// funds_availability/success or funds_availability/fail.
type CheckFundsRequest struct {
	Call          `json:"-"`
	SessionSecret string `json:"session_secret"`
	Account       string `json:"account"`
	Amount        Amount `json:"amount"`
	CurrencyCode  string `json:"currency_code"`
}

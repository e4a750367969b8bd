package kh

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/internal/rest"
)

// ErrOutcomeUnknown means a request that changes state (a payment initiation, a consent
// creation, ...) may have reached the bank, but no answer came back. The SDK did not
// send it again. The error also carries the X-Request-ID of the call (see
// RequestIDOf); check the resource's state before sending it again.
var ErrOutcomeUnknown = banksdk.ErrOutcomeUnknown

// ErrClosed is returned by the calls of a Client after its Close, before anything is
// sent.
var ErrClosed = banksdk.ErrClosed

// ErrNoAllowedToken is matched (errors.Is) by the error of a call the client refused
// before sending because it holds no token of a kind the endpoint accepts (see
// RoutingError).
var ErrNoAllowedToken = errors.New("no token of a kind the endpoint accepts")

// ErrInvalidRequest is matched (errors.Is) by every client-side validation error (see
// ValidationError). Nothing was sent.
var ErrInvalidRequest = errors.New("invalid request")

// ErrPageLoop is matched (errors.Is) when a transaction listing's next link points
// back to a page already read.
var ErrPageLoop = errors.New("next link points back to a page already read")

// Berlin Group NextGenPSD2 message codes (tppMessages[].code). APIError.Has compares
// against them; codes not listed here are kept as they come.
const (
	// 400
	CodeFormatError            = "FORMAT_ERROR"
	CodeParameterNotConsistent = "PARAMETER_NOT_CONSISTENT"
	CodeParameterNotSupported  = "PARAMETER_NOT_SUPPORTED"
	CodeServiceInvalid         = "SERVICE_INVALID"
	CodeResourceUnknown        = "RESOURCE_UNKNOWN"
	CodeResourceExpired        = "RESOURCE_EXPIRED"
	CodeResourceBlocked        = "RESOURCE_BLOCKED"
	CodeTimestampInvalid       = "TIMESTAMP_INVALID"
	CodePeriodInvalid          = "PERIOD_INVALID"
	CodeScaMethodUnknown       = "SCA_METHOD_UNKNOWN"
	CodeScaInvalid             = "SCA_INVALID"
	CodeConsentUnknown         = "CONSENT_UNKNOWN"
	CodeSessionsNotSupported   = "SESSIONS_NOT_SUPPORTED"
	CodePaymentFailed          = "PAYMENT_FAILED"
	CodeExecutionDateInvalid   = "EXECUTION_DATE_INVALID"
	CodeCardInvalid            = "CARD_INVALID"
	CodeNoPIISActivation       = "NO_PIIS_ACTIVATION"
	CodeReferenceMixInvalid    = "REFERENCE_MIX_INVALID"
	// 401
	CodeCertificateInvalid    = "CERTIFICATE_INVALID"
	CodeRoleInvalid           = "ROLE_INVALID"
	CodeCertificateExpired    = "CERTIFICATE_EXPIRED"
	CodeCertificateBlocked    = "CERTIFICATE_BLOCKED"
	CodeCertificateRevoked    = "CERTIFICATE_REVOKED"
	CodeCertificateMissing    = "CERTIFICATE_MISSING"
	CodeSignatureInvalid      = "SIGNATURE_INVALID"
	CodeSignatureMissing      = "SIGNATURE_MISSING"
	CodeCorporateIDInvalid    = "CORPORATE_ID_INVALID"
	CodePSUCredentialsInvalid = "PSU_CREDENTIALS_INVALID"
	CodeConsentInvalid        = "CONSENT_INVALID"
	CodeConsentExpired        = "CONSENT_EXPIRED"
	CodeTokenUnknown          = "TOKEN_UNKNOWN"
	CodeTokenInvalid          = "TOKEN_INVALID"
	CodeTokenExpired          = "TOKEN_EXPIRED"
	CodeRequiredKIDMissing    = "REQUIRED_KID_MISSING"
	// 403
	CodeServiceBlocked = "SERVICE_BLOCKED"
	CodeProductInvalid = "PRODUCT_INVALID"
	// 404
	CodeProductUnknown = "PRODUCT_UNKNOWN"
	// 405
	CodeCancellationInvalid = "CANCELLATION_INVALID"
	// 406
	CodeRequestedFormatsInvalid = "REQUESTED_FORMATS_INVALID"
	// 409
	CodeStatusInvalid          = "STATUS_INVALID"
	CodeReferenceStatusInvalid = "REFERENCE_STATUS_INVALID"
	// 429
	CodeAccessExceeded = "ACCESS_EXCEEDED"
	// 2xx warnings
	CodeWarning                         = "WARNING"
	CodeBeneficiaryWhitelistingRequired = "BENEFICIARY_WHITELISTING_REQUIRED"
	CodeFundsNotAvailable               = "FUNDS_NOT_AVAILABLE"
)

// TPPMessage is one entry of a Berlin Group tppMessages list (or of an RFC 7807
// body's additionalErrors).
type TPPMessage struct {
	// Category is ERROR or WARNING.
	Category string `json:"category,omitempty"`
	// Code is a Berlin Group message code (the Code... constants) or a bank's own.
	Code string `json:"code"`
	// Path names the offending field or header, when the bank says.
	Path string `json:"path,omitempty"`
	// Text is the bank's explanation.
	Text string `json:"text,omitempty"`
}

// UnmarshalJSON accepts null and non-string values for path (seen in bank answers).
func (m *TPPMessage) UnmarshalJSON(b []byte) error {
	var raw struct {
		Category json.RawMessage `json:"category"`
		Code     json.RawMessage `json:"code"`
		Path     json.RawMessage `json:"path"`
		Text     json.RawMessage `json:"text"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*m = TPPMessage{Category: looseString(raw.Category), Code: looseString(raw.Code),
		Path: looseString(raw.Path), Text: looseString(raw.Text)}
	if m.Path == "null" {
		m.Path = ""
	}
	return nil
}

// looseString reads a JSON string, number or bool as a string; null and anything else
// give "".
func looseString(b json.RawMessage) string {
	b = bytes.TrimSpace(b)
	if len(b) == 0 || string(b) == "null" {
		return ""
	}
	var s string
	if json.Unmarshal(b, &s) == nil {
		return s
	}
	if b[0] == '-' || (b[0] >= '0' && b[0] <= '9') || string(b) == "true" || string(b) == "false" {
		return string(b)
	}
	return ""
}

// tppMessageList decodes a single message object or a list of them.
type tppMessageList []TPPMessage

func (l *tppMessageList) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	switch {
	case len(b) == 0 || string(b) == "null":
		*l = nil
	case b[0] == '[':
		var ms []TPPMessage
		if err := json.Unmarshal(b, &ms); err != nil {
			return err
		}
		*l = ms
	case b[0] == '{':
		var m TPPMessage
		if err := json.Unmarshal(b, &m); err != nil {
			return err
		}
		*l = []TPPMessage{m}
	}
	return nil
}

// APIError is a non-2xx answer from the bank. Messages holds the Berlin Group
// tppMessages (or tppMessage, or an RFC 7807 body's code and additionalErrors); Raw
// keeps the body as it came (at most 1 MiB), also when it is not JSON.
type APIError struct {
	StatusCode int
	// RequestID is the X-Request-ID of the call (the bank echoes it).
	RequestID string
	Messages  []TPPMessage
	Links     Links
	// Title and Detail come from an RFC 7807 (application/problem+json) body.
	Title  string
	Detail string
	Raw    []byte
}

// Error reads like "kh: 401 Unauthorized: TOKEN_UNKNOWN (Authorization): token unknown
// [request id 3f0c...]". It never includes the raw body.
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("kh: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	for i, m := range e.Messages {
		if i == 0 {
			b.WriteString(": ")
		} else {
			b.WriteString("; ")
		}
		b.WriteString(rest.Clip(m.Code, 64))
		if m.Path != "" {
			b.WriteString(" (" + rest.Clip(m.Path, 64) + ")")
		}
		if m.Text != "" {
			b.WriteString(": " + rest.Clip(m.Text, 200))
		}
		if i == 4 && len(e.Messages) > 5 {
			fmt.Fprintf(&b, "; and %d more", len(e.Messages)-5)
			break
		}
	}
	if len(e.Messages) == 0 {
		if e.Title != "" {
			b.WriteString(": " + rest.Clip(e.Title, 100))
		}
		if e.Detail != "" {
			b.WriteString(": " + rest.Clip(e.Detail, 200))
		}
	}
	if e.RequestID != "" {
		b.WriteString(" [request id " + rest.Clip(e.RequestID, 64) + "]")
	}
	return b.String()
}

// Has reports whether the bank answered with the message code.
func (e *APIError) Has(code string) bool {
	for _, m := range e.Messages {
		if m.Code == code {
			return true
		}
	}
	return false
}

// Codes returns the message codes in the order the bank sent them.
func (e *APIError) Codes() []string {
	out := make([]string, 0, len(e.Messages))
	for _, m := range e.Messages {
		out = append(out, m.Code)
	}
	return out
}

// tokenRejected reports whether the answer means "renew the token and try again".
func (e *APIError) tokenRejected() bool {
	return e.StatusCode == http.StatusUnauthorized &&
		(e.Has(CodeTokenUnknown) || e.Has(CodeTokenExpired) || e.Has(CodeTokenInvalid))
}

// DecodeError turns a non-2xx answer into an *APIError. It reads Berlin Group NextGen
// bodies ({"tppMessages":[...], "_links":{...}}, also with a single "tppMessage") and
// RFC 7807 bodies ({"type","title","detail","code","additionalErrors"}); any other
// body is kept in Raw only. It never fails.
func DecodeError(resp *http.Response, body []byte) error {
	e := &APIError{Raw: append([]byte(nil), body...)}
	if resp != nil {
		e.StatusCode = resp.StatusCode
		e.RequestID = resp.Header.Get(headerRequestID)
		if e.RequestID == "" && resp.Request != nil {
			e.RequestID = rest.HeaderValue(resp.Request.Header, headerRequestID)
		}
	}
	parseErrorBody(e, body)
	return e
}

func parseErrorBody(e *APIError, body []byte) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 || trimmed[0] != '{' {
		return
	}
	var raw struct {
		TPPMessages      tppMessageList  `json:"tppMessages"`
		TPPMessage       tppMessageList  `json:"tppMessage"`
		Links            json.RawMessage `json:"_links"`
		Type             json.RawMessage `json:"type"`
		Title            json.RawMessage `json:"title"`
		Detail           json.RawMessage `json:"detail"`
		Code             json.RawMessage `json:"code"`
		AdditionalErrors []struct {
			Title  json.RawMessage `json:"title"`
			Detail json.RawMessage `json:"detail"`
			Code   json.RawMessage `json:"code"`
		} `json:"additionalErrors"`
		// A plain framework error ({"timestamp","status","error","message","path"}).
		Error   json.RawMessage `json:"error"`
		Message json.RawMessage `json:"message"`
	}
	if json.Unmarshal(trimmed, &raw) != nil {
		// Decode field by field so one odd field does not lose the others.
		var m map[string]json.RawMessage
		if json.Unmarshal(trimmed, &m) != nil {
			return
		}
		_ = json.Unmarshal(m["tppMessages"], &raw.TPPMessages)
		_ = json.Unmarshal(m["tppMessage"], &raw.TPPMessage)
		raw.Links = m["_links"]
		raw.Title, raw.Detail, raw.Code = m["title"], m["detail"], m["code"]
		raw.Error, raw.Message = m["error"], m["message"]
	}
	e.Messages = append(append(e.Messages, raw.TPPMessages...), raw.TPPMessage...)
	if code := looseString(raw.Code); code != "" {
		e.Messages = append(e.Messages, TPPMessage{Category: "ERROR", Code: code, Text: looseString(raw.Detail)})
	}
	for _, ae := range raw.AdditionalErrors {
		if code := looseString(ae.Code); code != "" {
			e.Messages = append(e.Messages, TPPMessage{Category: "ERROR", Code: code, Text: looseString(ae.Detail)})
		}
	}
	e.Title, e.Detail = looseString(raw.Title), looseString(raw.Detail)
	if e.Title == "" && len(e.Messages) == 0 {
		e.Title = looseString(raw.Error)
		e.Detail = looseString(raw.Message)
	}
	var links Links
	if json.Unmarshal(raw.Links, &links) == nil {
		e.Links = links
	}
}

// ValidationError is a request the client refused before sending: Field names the
// offending field (JSON name, or a header or parameter), Rule says what is wrong.
type ValidationError struct {
	Field string
	Rule  string
}

func (e *ValidationError) Error() string {
	return "kh: invalid request: " + e.Field + ": " + e.Rule
}

// Is matches ErrInvalidRequest.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidRequest }

func invalid(field, format string, args ...any) *ValidationError {
	return &ValidationError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// RoutingError is a call the client refused before sending: Endpoint accepts only the
// token kinds in Accepts, and the client holds none of them for this call (Held lists
// what it holds, if anything).
type RoutingError struct {
	Endpoint string // e.g. "GET /v1/payments/payment-order/{paymentId}"
	Accepts  []TokenKind
	Held     []TokenKind
	// Reason adds detail, e.g. why a consent's token could not be used.
	Reason string
}

func (e *RoutingError) Error() string {
	var b strings.Builder
	b.WriteString("kh: " + e.Endpoint + " accepts ")
	b.WriteString(kindList(e.Accepts))
	b.WriteString("; the call holds ")
	if len(e.Held) == 0 {
		b.WriteString("no token")
	} else {
		b.WriteString(strings.TrimPrefix(kindList(e.Held), "only "))
	}
	if e.Reason != "" {
		b.WriteString(" (" + e.Reason + ")")
	}
	return b.String()
}

// Is matches ErrNoAllowedToken.
func (e *RoutingError) Is(target error) bool { return target == ErrNoAllowedToken }

// RequestIDOf returns the X-Request-ID of the call an error belongs to, or "": for an
// *APIError, a transport error, an outcome-unknown answer (every ErrOutcomeUnknown) and
// errors wrapping them.
func RequestIDOf(err error) string {
	var ae *APIError
	if errors.As(err, &ae) {
		return ae.RequestID
	}
	var te *rest.TransportError
	if errors.As(err, &te) {
		return te.RequestID
	}
	var oe *rest.OutcomeUnknownError
	if errors.As(err, &oe) {
		return oe.RequestID
	}
	return ""
}

package saltedge

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/internal/rest"
)

// ErrOutcomeUnknown is matched (errors.Is) by the error of a callback that may have
// reached Salt Edge but got no answer (timeout, reset). It was not sent again: check
// the session's state before repeating it.
var ErrOutcomeUnknown = banksdk.ErrOutcomeUnknown

// ErrClosed is returned by the calls of a Client after its Close, before anything is
// sent.
var ErrClosed = banksdk.ErrClosed

// Error classes. Salt Edge answers callbacks with the classes of the seed's "Related
// Errors" tables (APIError.Class); a connector answers Salt Edge with the classes of
// Salt Edge's connector SDK (ConnectorError.Class, status from ConnectorStatus); fail
// callbacks (sessions/fail, payments/fail, funds_availability/fail) carry any of
// them. Classes are an open set: unknown ones pass through unchanged.
const (
	// Salt Edge's answers to callbacks (seed).
	ClassSessionClosed        = "SessionClosed"        // 400
	ClassConfigurationError   = "ConfigurationError"   // 400
	ClassTokenMissing         = "TokenMissing"         // 400
	ClassSessionExpired       = "SessionExpired"       // 401
	ClassAuthorizationMissing = "AuthorizationMissing" // 401 from Salt Edge; 400 from a connector
	ClassTokenNotFound        = "TokenNotFound"        // 401 from Salt Edge; 404 from a connector
	ClassTokenRevoked         = "TokenRevoked"         // 401
	ClassTokenExpired         = "TokenExpired"         // 401
	ClassSessionNotFound      = "SessionNotFound"      // 404
	ClassProviderNotFound     = "ProviderNotFound"     // 404
	ClassCustomerNotFound     = "CustomerNotFound"     // 404
	ClassActionNotAllowed     = "ActionNotAllowed"     // 406
	ClassProviderDisabled     = "ProviderDisabled"     // 406

	// A connector's answers to Salt Edge: 400.
	ClassWrongRequestFormat       = "WrongRequestFormat"
	ClassJWTExpiredSignature      = "JWTExpiredSignature"
	ClassJWTDecodeError           = "JWTDecodeError"
	ClassJWTVerificationError     = "JWTVerificationError"
	ClassJWTIncorrectAlgorithm    = "JWTIncorrectAlgorithm"
	ClassAccessTokenMissing       = "AccessTokenMissing"
	ClassInvalidAuthorizationType = "InvalidAuthorizationType"
	ClassInvalidConfirmationCode  = "InvalidConfirmationCode"
	ClassInvalidAttributeValue    = "InvalidAttributeValue"
	ClassInvalidPaymentType       = "InvalidPaymentType"
	ClassInvalidEncoding          = "InvalidEncoding"
	ClassValueOutOfRange          = "ValueOutOfRange"
	ClassInvalidPaymentAttributes = "InvalidPaymentAttributes"
	ClassUnknownConfirmationFlow  = "UnknownConfirmationFlow"
	ClassInvalidPaymentAccount    = "InvalidPaymentAccount"
	ClassInsufficientFunds        = "InsufficientFunds"
	// A connector's answers to Salt Edge: 401.
	ClassInvalidClientID    = "InvalidClientId"
	ClassInvalidCredentials = "InvalidCredentials"
	ClassAccessDenied       = "AccessDenied"
	// A connector's answers to Salt Edge: 404.
	ClassUserNotFound        = "UserNotFound"
	ClassAccountNotFound     = "AccountNotFound"
	ClassPaymentNotFound     = "PaymentNotFound"
	ClassPaymentNotCreated   = "PaymentNotCreated"
	ClassPaymentNotConfirmed = "PaymentNotConfirmed"
	ClassPaymentNotCanceled  = "PaymentNotCanceled"
	// A connector's answers to Salt Edge: 500.
	ClassInternalServerError = "InternalServerError"

	// Classes seen in fail callbacks.
	ClassInternalProviderError = "InternalProviderError"
	ClassCannotReconnectToken  = "CannotReconnectToken"
)

// connectorStatus is the HTTP status of each class a connector answers with (Salt
// Edge's connector SDK). ClassActionNotAllowed answers what UnimplementedConnector
// cannot serve; the seed documents it at 406.
var connectorStatus = map[string]int{
	ClassWrongRequestFormat:       http.StatusBadRequest,
	ClassJWTExpiredSignature:      http.StatusBadRequest,
	ClassJWTDecodeError:           http.StatusBadRequest,
	ClassJWTVerificationError:     http.StatusBadRequest,
	ClassJWTIncorrectAlgorithm:    http.StatusBadRequest,
	ClassAuthorizationMissing:     http.StatusBadRequest,
	ClassAccessTokenMissing:       http.StatusBadRequest,
	ClassInvalidAuthorizationType: http.StatusBadRequest,
	ClassInvalidConfirmationCode:  http.StatusBadRequest,
	ClassInvalidAttributeValue:    http.StatusBadRequest,
	ClassInvalidPaymentType:       http.StatusBadRequest,
	ClassInvalidEncoding:          http.StatusBadRequest,
	ClassValueOutOfRange:          http.StatusBadRequest,
	ClassInvalidPaymentAttributes: http.StatusBadRequest,
	ClassUnknownConfirmationFlow:  http.StatusBadRequest,
	ClassInvalidPaymentAccount:    http.StatusBadRequest,
	ClassInsufficientFunds:        http.StatusBadRequest,
	ClassTokenExpired:             http.StatusUnauthorized,
	ClassInvalidClientID:          http.StatusUnauthorized,
	ClassInvalidCredentials:       http.StatusUnauthorized,
	ClassAccessDenied:             http.StatusUnauthorized,
	ClassTokenNotFound:            http.StatusNotFound,
	ClassUserNotFound:             http.StatusNotFound,
	ClassAccountNotFound:          http.StatusNotFound,
	ClassPaymentNotFound:          http.StatusNotFound,
	ClassPaymentNotCreated:        http.StatusNotFound,
	ClassPaymentNotConfirmed:      http.StatusNotFound,
	ClassPaymentNotCanceled:       http.StatusNotFound,
	ClassActionNotAllowed:         http.StatusNotAcceptable,
	ClassInternalServerError:      http.StatusInternalServerError,
}

// ConnectorStatus returns the HTTP status a connector answers with for class: 400,
// 401, 404, 406 or 500 per the documented families, 400 for a class it does not know.
func ConnectorStatus(class string) int {
	if s, ok := connectorStatus[class]; ok {
		return s
	}
	return http.StatusBadRequest
}

// ConnectorError is an error a Connector returns to answer Salt Edge with
// {"error_class": Class, "error_message": Message}. Status 0 takes the class's
// documented status (ConnectorStatus). RetryAfter > 0 adds a Retry-After header
// (whole seconds, rounded up): Salt Edge resends the request after that long.
//
// Any other error a Connector returns is answered 500 InternalServerError with a
// generic message (the error itself is only logged).
type ConnectorError struct {
	Class      string
	Message    string
	Status     int
	RetryAfter time.Duration
}

// NewConnectorError returns a ConnectorError with the class's documented status.
func NewConnectorError(class, message string) *ConnectorError {
	return &ConnectorError{Class: class, Message: message}
}

// StatusCode is the HTTP status the handler answers with.
func (e *ConnectorError) StatusCode() int {
	if e.Status >= 400 && e.Status <= 599 {
		return e.Status
	}
	return ConnectorStatus(e.Class)
}

// Has reports whether the error is of this class.
func (e *ConnectorError) Has(class string) bool { return e != nil && class != "" && e.Class == class }

// Error reads "saltedge: <class>: <message>".
func (e *ConnectorError) Error() string {
	if e.Message == "" {
		return "saltedge: " + e.Class
	}
	return "saltedge: " + e.Class + ": " + e.Message
}

// errNotImplemented is what UnimplementedConnector answers.
func errNotImplemented(endpoint string) error {
	return &ConnectorError{Class: ClassActionNotAllowed,
		Message: endpoint + " is not supported by this connector"}
}

// APIError is an error answer of Salt Edge to a callback.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Class is the error class (ClassSessionNotFound, ...); "" when the body had none.
	Class string
	// Message is Salt Edge's description.
	Message string
	// Raw is the raw answer body (at most 1 MiB).
	Raw []byte
}

// Error reads "saltedge: <status> <class>: <message>" (the message clipped to 300
// characters).
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "saltedge: %d", e.StatusCode)
	if e.Class != "" {
		b.WriteString(" " + e.Class)
	}
	if e.Message != "" {
		b.WriteString(": " + rest.Clip(e.Message, 300))
	}
	return b.String()
}

// Has reports whether Salt Edge answered with this error class (ClassSessionNotFound,
// ...). Find the *APIError with errors.As first.
func (e *APIError) Has(class string) bool { return e != nil && class != "" && e.Class == class }

// DecodeError turns an error answer of Salt Edge into an *APIError. It reads
// {"error_class", "error_message"} (the connector API's format) and also
// {"error": {"class", "message"}} and {"error": "..."}; other bodies keep only the
// status.
func DecodeError(resp *http.Response, body []byte) error {
	e := &APIError{Raw: body}
	if resp != nil {
		e.StatusCode = resp.StatusCode
	}
	e.Class, e.Message = parseErrorBody(body)
	if e.Message == "" && e.Class == "" && e.StatusCode != 0 {
		e.Message = http.StatusText(e.StatusCode)
	}
	return e
}

func parseErrorBody(body []byte) (class, message string) {
	var flat struct {
		ErrorClass   string          `json:"error_class"`
		ErrorMessage string          `json:"error_message"`
		Error        json.RawMessage `json:"error"`
	}
	if json.Unmarshal(body, &flat) != nil {
		return "", ""
	}
	if flat.ErrorClass != "" || flat.ErrorMessage != "" {
		return rest.Clip(flat.ErrorClass, 100), rest.Clip(flat.ErrorMessage, 1000)
	}
	var nested struct {
		Class   string `json:"class"`
		Message string `json:"message"`
	}
	if json.Unmarshal(flat.Error, &nested) == nil {
		return rest.Clip(nested.Class, 100), rest.Clip(nested.Message, 1000)
	}
	var s string
	if json.Unmarshal(flat.Error, &s) == nil {
		return "", rest.Clip(s, 1000)
	}
	return "", ""
}

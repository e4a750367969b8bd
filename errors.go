package banksdk

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"
)

// ErrOutcomeUnknown means a request that changes state (POST, PUT, PATCH, unless
// marked idempotent) may have been carried out by the server, but the SDK cannot tell
// whether it was: no answer came back (timeout, reset, cancelled context: a
// *TransportError), or the answer does not say (a 500, 502, 504 or other 5xx except
// 501 and 505, a 503 without Retry-After, or a 2xx whose body could not be read or
// decoded: an *OutcomeUnknownError, which also unwraps to the provider's *APIError when
// there was an error status). The SDK did not send it again. Check the resource's state
// before sending it again, or the operation may happen twice. Only "never connected",
// 429 and 503 with Retry-After prove that the server did not act; those are retried.
// Every provider package re-exports this value as its own ErrOutcomeUnknown.
var ErrOutcomeUnknown = errors.New("outcome unknown: the request may have reached the server and was not sent again; check its state before retrying")

// ErrClosed is returned by every call of a provider client (and of an
// auth.KeepAlive) made after its Close, before anything is sent. Every provider
// package re-exports this value as its own ErrClosed.
var ErrClosed = errors.New("banksdk: client closed")

// ErrResponseTooLarge is returned when a success body exceeds the configured limit.
var ErrResponseTooLarge = errors.New("response body exceeds the configured size limit")

// TransportError is a call that got no usable HTTP answer: a connection failure, a
// timeout, a cancelled context, a success answer whose body broke off while it was
// read, or a failing Authorizer. Its URL has no query string.
type TransportError struct {
	Provider  string
	Method    string
	URL       string // scheme, host and path only
	RequestID string
	Attempts  int
	// OutcomeUnknown is set when the request may have reached the server and was not
	// sent again (see ErrOutcomeUnknown).
	OutcomeUnknown bool
	Err            error
}

func (e *TransportError) Error() string {
	var b strings.Builder
	writeCall(&b, e.Provider, e.Method, e.URL, e.RequestID)
	if e.Attempts > 1 {
		fmt.Fprintf(&b, " after %d attempts", e.Attempts)
	}
	if e.OutcomeUnknown {
		b.WriteString(": ")
		b.WriteString(ErrOutcomeUnknown.Error())
	}
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// writeCall writes the start shared by the messages of TransportError and
// OutcomeUnknownError: "provider: METHOD url (request id ID)", the provider and the
// request id left out when empty.
func writeCall(b *strings.Builder, provider, method, url, requestID string) {
	if provider != "" {
		b.WriteString(provider)
		b.WriteString(": ")
	}
	b.WriteString(method)
	b.WriteByte(' ')
	b.WriteString(url)
	if requestID != "" {
		b.WriteString(" (request id ")
		b.WriteString(requestID)
		b.WriteByte(')')
	}
}

// Unwrap returns the underlying cause (a net error, context.Canceled, ...).
func (e *TransportError) Unwrap() error { return e.Err }

// Is reports a match with ErrOutcomeUnknown when the outcome is unknown.
func (e *TransportError) Is(target error) bool {
	return target == ErrOutcomeUnknown && e.OutcomeUnknown
}

// OutcomeUnknownError is an answer that does not say whether a request that changes
// state was carried out (see ErrOutcomeUnknown): an error status a gateway may send
// after the backend acted (5xx other than 501, 505 and 503 with Retry-After), or a
// success status whose body could not be decoded or exceeded the size limit. The
// request was not sent again. It matches ErrOutcomeUnknown; Err is the provider's error
// for an error status (its *APIError, found by errors.As through this error) or the
// decoding error for a success status.
type OutcomeUnknownError struct {
	Provider   string
	Method     string
	URL        string // scheme, host and path only
	RequestID  string
	StatusCode int
	Err        error
}

func (e *OutcomeUnknownError) Error() string {
	var b strings.Builder
	writeCall(&b, e.Provider, e.Method, e.URL, e.RequestID)
	fmt.Fprintf(&b, ": answered %d %s: ", e.StatusCode, http.StatusText(e.StatusCode))
	b.WriteString(ErrOutcomeUnknown.Error())
	if e.Err != nil {
		b.WriteString(": ")
		b.WriteString(e.Err.Error())
	}
	return b.String()
}

// Unwrap returns the provider's error for the answer, or the decoding error.
func (e *OutcomeUnknownError) Unwrap() error { return e.Err }

// Is reports a match with ErrOutcomeUnknown.
func (e *OutcomeUnknownError) Is(target error) bool { return target == ErrOutcomeUnknown }

// RetryAfterError is returned instead of sleeping when the server asks for a wait
// (Retry-After on 429 or 503) longer than the configured maximum wait. Err is the
// provider's error for the answer. Such an answer means the server did not process the
// request, so it never matches ErrOutcomeUnknown, whatever the method.
type RetryAfterError struct {
	RetryAfter time.Duration
	MaxWait    time.Duration
	Err        error
}

func (e *RetryAfterError) Error() string {
	msg := fmt.Sprintf("server asked to retry after %v, longer than the maximum wait of %v; not retried", e.RetryAfter, e.MaxWait)
	if e.Err != nil {
		msg += ": " + e.Err.Error()
	}
	return msg
}

// Unwrap returns the provider's error for the answer.
func (e *RetryAfterError) Unwrap() error { return e.Err }

// HTTPError is the error for a non-2xx answer when the provider has no decoder.
type HTTPError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Raw is the answer body as received (within the configured error body limit).
	Raw []byte
}

func (e *HTTPError) Error() string {
	return fmt.Sprintf("unexpected HTTP status %d %s", e.StatusCode, http.StatusText(e.StatusCode))
}

// AuthorizeError wraps an error returned by an Authorizer. The pipeline never retries
// it: the credential source has its own retry policy.
type AuthorizeError struct{ Err error }

func (e *AuthorizeError) Error() string { return "authorizing request: " + e.Err.Error() }

// Unwrap returns the Authorizer's error.
func (e *AuthorizeError) Unwrap() error { return e.Err }

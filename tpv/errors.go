package tpv

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/internal/rest"
)

// ErrOutcomeUnknown is wrapped by the error of a call that may have reached the
// portal but whose answer was lost or unreadable (a timeout, a reset connection, a
// cancelled context, a garbled 2xx body). The SDK never sends such a call again:
// check the portal (for a submission: look for the sale) before repeating it.
// It is the same value as the shared pipeline's, so errors.Is works across
// providers.
var ErrOutcomeUnknown = banksdk.ErrOutcomeUnknown

// ErrLoginFailed is wrapped by every error of the login (POST /api/v1/auth): the
// portal rejected the application token, the signature or the timestamp, or could
// not be reached. The portal's answer, if any, is an *APIError in the chain.
var ErrLoginFailed = errors.New("tpv: login failed")

// ErrClosed is returned by the calls of a Client after its Close.
var ErrClosed = banksdk.ErrClosed

// ErrInvalidEnrollment is matched (errors.Is) by the *ValidationError that
// Enrollment.Validate and SubmitTPV return.
var ErrInvalidEnrollment = errors.New("tpv: invalid enrollment")

// APIError is a non-2xx answer from the portal, or a 2xx answer that carries only
// {"error": "..."}. The documented failure shape is HTTP 400 {"error": "..."}.
type APIError struct {
	// StatusCode is the HTTP status of the answer.
	StatusCode int
	// Message is the portal's "error" text (or, failing that, its "message" text).
	// For a body that is not JSON it is a short excerpt of the body.
	Message string
	// Raw is the answer body as received (at most 1 MiB).
	Raw []byte
}

func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "tpv: HTTP %d", e.StatusCode)
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" " + t)
	}
	if e.Message != "" {
		b.WriteString(": " + e.Message)
	}
	return b.String()
}

// DecodeError turns a non-2xx answer into an *APIError. It reads {"error": "..."}
// first, then {"message": "..."}, and otherwise keeps a short excerpt of the body.
// Any credential the request carried (auth token, Signature, login query values)
// is removed from the message. It is the decoder the client installs; it is exported
// for callers who handle portal answers themselves. It depends only on its
// arguments.
func DecodeError(resp *http.Response, body []byte) error {
	e := &APIError{Raw: body}
	if resp != nil {
		e.StatusCode = resp.StatusCode
	}
	msg, n := errorMessage(body)
	e.Message = clip(rest.NewRedactor().Redact(msg, requestSecrets(resp)...), n)
	return e
}

// authTokenRejected is the client's rest.Config.CredentialRejected: it reports
// whether an answer says that the portal no longer honours the auth token the
// request carried: a 401, or a 400 whose message names the token (TokenRejected).
// The portal documents every failure as a 400, so a token it stops honouring early
// (after another login with the same application credentials) is answered with one.
// Such an answer means the request was not processed, so the replay that follows
// (the request authorizer forgets the token, and the pipeline replays once) is safe
// for a submission too.
func authTokenRejected(resp *http.Response, apiErr error) bool {
	switch resp.StatusCode {
	case http.StatusUnauthorized:
		return true
	case http.StatusBadRequest:
		var e *APIError
		return errors.As(apiErr, &e) && TokenRejected(e.Message)
	}
	return false
}

var (
	tokenWordRe  = regexp.MustCompile(`(?i)token`)
	rejectWordRe = regexp.MustCompile(`(?i)\b(invalid|expir|missing|unauthori[sz]ed|unauthenticated|revoked|not found)`)
)

// TokenRejected reports whether a portal error message says that the auth token is
// missing, invalid or expired: it contains "token" and a word starting with invalid,
// expir (expired, expiry), missing, unauthorized (or unauthorised), unauthenticated,
// revoked or "not found", in any case and order: "Invalid auth token.", "auth token
// expired.", "The token has been invalidated". The client logs in again and replays
// the call once after a 400 answer whose message matches, as after a 401; a message
// about anything else (a validation error, a bad signature) is returned as it is.
func TokenRejected(message string) bool {
	return tokenWordRe.MatchString(message) && rejectWordRe.MatchString(message)
}

// errorMessage extracts the portal's message from an answer body, and the number of
// runes to keep of it.
func errorMessage(body []byte) (string, int) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return "", 0
	}
	var obj map[string]json.RawMessage
	if trimmed[0] == '{' && json.Unmarshal(trimmed, &obj) == nil {
		for _, key := range []string{"error", "message"} {
			if raw, ok := obj[key]; ok {
				var s string
				if json.Unmarshal(raw, &s) == nil && strings.TrimSpace(s) != "" {
					return s, 500
				}
				if len(raw) > 0 && string(raw) != "null" {
					return string(raw), 500 // an object or array: keep it as JSON
				}
			}
		}
		return "", 0
	}
	return string(trimmed), 200
}

// clip is rest.Clip of server text that may not be valid UTF-8.
func clip(s string, n int) string { return rest.Clip(strings.ToValidUTF8(s, "\uFFFD"), n) }

// requestSecrets lists the credentials the request of resp carried.
func requestSecrets(resp *http.Response) []string {
	if resp == nil || resp.Request == nil {
		return nil
	}
	req := resp.Request
	var out []string
	for _, name := range []string{"Authorization", "Signature"} {
		if v := rest.HeaderValue(req.Header, name); v != "" {
			out = append(out, v)
		}
	}
	if req.URL != nil && req.URL.RawQuery != "" {
		q := req.URL.Query()
		out = append(out, q["token"]...)
		out = append(out, q["_signature"]...)
		out = append(out, req.URL.RawQuery)
	}
	return out
}

// FieldError is one broken rule of an Enrollment.
type FieldError struct {
	// Field is the JSON name of the field, e.g. "btn" or
	// "products[0].account_numbers[1].account_number".
	Field string
	// Rule says what the field must be.
	Rule string
}

func (f FieldError) String() string { return f.Field + ": " + f.Rule }

// ValidationError lists every broken rule of an Enrollment. Nothing was sent.
type ValidationError struct {
	Fields []FieldError
}

func (e *ValidationError) Error() string {
	parts := make([]string, len(e.Fields))
	for i, f := range e.Fields {
		parts[i] = f.String()
	}
	return "tpv: invalid enrollment (nothing was sent): " + strings.Join(parts, "; ")
}

// Is makes errors.Is(err, ErrInvalidEnrollment) true.
func (e *ValidationError) Is(target error) bool { return target == ErrInvalidEnrollment }

// Has reports whether field is among the broken fields.
func (e *ValidationError) Has(field string) bool {
	for _, f := range e.Fields {
		if f.Field == field {
			return true
		}
	}
	return false
}

package tkey7

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// ErrOutcomeUnknown means a request that changes state (POST) may have reached TKEY7
// but no answer came back; it was not sent again. Check the object's state before
// sending it again. Match it with errors.Is.
var ErrOutcomeUnknown = banksdk.ErrOutcomeUnknown

// Errors that mean the access token can no longer be used. Only an administrator can
// help: they must create a new access token in the Web Office ("Access Token
// Management"), and the application must start a new Client with it. Match them with
// errors.Is; they are never retried.
var (
	// ErrTokenRevoked: the token was not refreshed within the revoke window (15
	// minutes), or TKEY7 answered 401 for another reason.
	ErrTokenRevoked = auth.ErrTokenRevoked
	// ErrSessionExpired: the token's session reached its cap (24 hours).
	ErrSessionExpired = auth.ErrSessionExpired
	// ErrClosed: the Client was closed (banksdk.ErrClosed, as for every client).
	ErrClosed = banksdk.ErrClosed
)

// webOfficeHint ends every error that means a new token is needed.
const webOfficeHint = "an administrator must create a new access token in the Web Office"

// APIError is an error answer from TKEY7. The documentation gives the body for 400,
// 401, 403, 404, 406, 409 and 500; every field is kept as sent. For other statuses, or
// a body that is not the documented JSON, the fields stay empty and Body holds what
// came back.
//
// A 401 that a Client confirmed with a refresh (TKEY7 refused the refresh too) means
// the token was revoked (not refreshed in time), its session ended, or it was never
// valid: the Client's error wraps the *APIError and matches ErrTokenRevoked or
// ErrSessionExpired, the client sends nothing more with that token, and an
// administrator must create a new one in the Web Office. A 401 the client could not
// confirm matches neither. An APIError itself only describes the answer.
//
// The client's tokens never appear in an APIError: a token the server quotes back is
// replaced by [REDACTED] in every field and in Body.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// The nine documented fields.
	BuildVersion         string // build_version: service build version
	Code                 string // code: error code
	EndpointURL          string // endpoint_url: URL of the endpoint that failed
	LongMessage          string // long_message: detailed description
	MemberIdentification string // member_identification: member identifier, e.g. bankName
	ServiceName          string // service_name
	ShortMessage         string // short_message: short description
	Timestamp            int64  // timestamp: event time, milliseconds since the Unix epoch
	TroubleshootingID    string // troubleshooting_id: identifies the error source; quote it to support
	// Raw is the raw answer body (at most 1 MiB), with the credentials it echoed
	// removed.
	Raw []byte
}

// Has reports whether TKEY7 answered with this error code (the "code" field).
func (e *APIError) Has(code string) bool { return e != nil && code != "" && e.Code == code }

// Time returns Timestamp as a time.Time, or the zero time when it is absent.
func (e *APIError) Time() time.Time {
	if e.Timestamp == 0 {
		return time.Time{}
	}
	return time.UnixMilli(e.Timestamp)
}

// Documented reports whether the body had the documented error shape (at least one of
// its fields was present).
func (e *APIError) Documented() bool {
	return e.ShortMessage != "" || e.LongMessage != "" || e.Code != "" || e.Timestamp != 0 ||
		e.TroubleshootingID != "" || e.BuildVersion != "" || e.EndpointURL != "" ||
		e.MemberIdentification != "" || e.ServiceName != ""
}

// Error reads: tkey7: 404 Not Found: <short message>: <long message> (code X,
// troubleshooting id Y).
func (e *APIError) Error() string {
	var b strings.Builder
	b.WriteString("tkey7: ")
	b.WriteString(strconv.Itoa(e.StatusCode))
	if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteByte(' ')
		b.WriteString(t)
	}
	if e.ShortMessage != "" {
		b.WriteString(": ")
		b.WriteString(e.ShortMessage)
	}
	if e.LongMessage != "" && e.LongMessage != e.ShortMessage {
		b.WriteString(": ")
		b.WriteString(e.LongMessage)
	}
	var meta []string
	if e.Code != "" {
		meta = append(meta, "code "+e.Code)
	}
	if e.TroubleshootingID != "" {
		meta = append(meta, "troubleshooting id "+e.TroubleshootingID)
	}
	if !e.Documented() {
		if len(bytes.TrimSpace(e.Raw)) == 0 {
			meta = append(meta, "empty body")
		} else {
			meta = append(meta, fmt.Sprintf("undocumented error body, %d bytes", len(e.Raw)))
		}
	}
	if len(meta) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(meta, ", "))
		b.WriteByte(')')
	}
	return b.String()
}

// DecodeError turns a non-2xx answer into an *APIError. It never fails: a body that is
// not the documented JSON still gives an *APIError with the status and the raw body.
// It only describes the answer: what a 401 means for the token (a stray answer, or the
// end of its life) is for a Client to find out, by confirming it with a refresh. The
// bearer token the request carried (resp.Request) is removed from every field and from
// Body, in case the server quotes it back, and so is anything shaped like a JWT.
func DecodeError(resp *http.Response, body []byte) error {
	status := 0
	var sent []string
	if resp != nil {
		status = resp.StatusCode
		if tok, ok := bearer.Sent(resp.Request); ok {
			sent = append(sent, tok.Value)
		}
	}
	e := parseAPIError(status, body)
	e.redact(nil, sent...)
	return e
}

// redact removes the secrets r knows and the extra ones from every text field of e
// and from Raw.
func (e *APIError) redact(r *rest.Redactor, extra ...string) {
	for _, f := range []*string{&e.BuildVersion, &e.Code, &e.EndpointURL, &e.LongMessage,
		&e.MemberIdentification, &e.ServiceName, &e.ShortMessage, &e.TroubleshootingID} {
		*f = r.Redact(*f, extra...)
	}
	e.Raw = r.RedactBytes(e.Raw, extra...)
}

// tokenEnded is a Client's error for a 401 that ended the token's life: TKEY7 refused
// the refresh that confirmed it, or the session cap had passed. It wraps the call's
// *APIError and ErrTokenRevoked or ErrSessionExpired.
type tokenEnded struct {
	api    *APIError
	reason error
	// note says why the access token source gave no new token.
	note string
}

func (e *tokenEnded) Error() string {
	msg := e.api.Error() + "; the token was revoked or is not valid: " + webOfficeHint
	if errors.Is(e.reason, ErrSessionExpired) {
		msg = e.api.Error() + "; the token's session ended: " + webOfficeHint
	}
	if e.note != "" {
		msg += " (" + e.note + ")"
	}
	return msg
}

// Unwrap returns the *APIError and the reason.
func (e *tokenEnded) Unwrap() []error { return []error{e.api, e.reason} }

// with returns e noting why the access token source gave no new token.
func (e *tokenEnded) with(err error) *tokenEnded {
	cp := *e
	cp.note = err.Error()
	return &cp
}

// unconfirmedError is a Client's error for a 401 that did not end the token's life:
// the refresh that was to confirm it failed in another way than TKEY7 refusing it, or
// the request was refused again right after the token was renewed. It wraps the
// *APIError, and the *auth.StoreError when the shared store could not be reached.
type unconfirmedError struct {
	api   *APIError
	why   string // without secrets
	cause error  // a *auth.StoreError or ErrClosed; nil otherwise
}

func (e *unconfirmedError) Error() string {
	return e.api.Error() + "; the token was not found dead: " + e.why
}

// Unwrap returns the *APIError and the cause that callers may match.
func (e *unconfirmedError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.api}
	}
	return []error{e.api, e.cause}
}

func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status, Raw: body}
	var m map[string]json.RawMessage
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil || m == nil {
		return e
	}
	e.BuildVersion = looseString(m["build_version"])
	e.Code = looseString(m["code"])
	e.EndpointURL = looseString(m["endpoint_url"])
	e.LongMessage = looseString(m["long_message"])
	e.MemberIdentification = looseString(m["member_identification"])
	e.ServiceName = looseString(m["service_name"])
	e.ShortMessage = looseString(m["short_message"])
	e.Timestamp = looseInt64(m["timestamp"])
	e.TroubleshootingID = looseString(m["troubleshooting_id"])
	return e
}

// looseString reads a JSON string, or the text of a number or boolean; anything else
// gives "".
func looseString(raw json.RawMessage) string {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 {
		return ""
	}
	var s string
	if err := json.Unmarshal(raw, &s); err == nil {
		return s
	}
	var n json.Number
	if err := json.Unmarshal(raw, &n); err == nil {
		return n.String()
	}
	var b bool
	if err := json.Unmarshal(raw, &b); err == nil {
		return strconv.FormatBool(b)
	}
	return ""
}

// looseInt64 reads an integer timestamp, also written as a float (1.651224866578e12)
// or a numeric string; anything else gives 0.
func looseInt64(raw json.RawMessage) int64 {
	s := looseString(raw)
	if s == "" {
		return 0
	}
	if n, err := strconv.ParseInt(s, 10, 64); err == nil {
		return n
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || math.IsNaN(f) || f >= math.Exp2(63) || f < -math.Exp2(63) {
		return 0
	}
	return int64(f)
}

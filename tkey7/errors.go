package tkey7

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// ErrOutcomeUnknown means a request that changes state (POST) may have reached TKEY7
// but no answer came back; it was not sent again. Check the object's state before
// sending it again. Match it with errors.Is.
var ErrOutcomeUnknown = rest.ErrOutcomeUnknown

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
	// ErrClosed: the Client was closed.
	ErrClosed = auth.ErrClosed
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
// valid: errors.Is(err, ErrTokenRevoked) or errors.Is(err, ErrSessionExpired) is true,
// the client sends nothing more with that token, and an administrator must create a
// new one in the Web Office. A 401 the client could not confirm matches neither.
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
	// Body is the raw answer body (at most 1 MiB).
	Body []byte

	reason error // ErrTokenRevoked or ErrSessionExpired for a 401 that ended the token
	// judged: the client's authorizer decided what this 401 means for the token.
	judged bool
	// unconfirmed says why a 401 did not end the token's life.
	unconfirmed string
}

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
		if len(bytes.TrimSpace(e.Body)) == 0 {
			meta = append(meta, "empty body")
		} else {
			meta = append(meta, fmt.Sprintf("undocumented error body, %d bytes", len(e.Body)))
		}
	}
	if len(meta) > 0 {
		b.WriteString(" (")
		b.WriteString(strings.Join(meta, ", "))
		b.WriteByte(')')
	}
	switch {
	case e.unconfirmed != "":
		b.WriteString("; the token was not found dead: " + e.unconfirmed)
	case errors.Is(e.reason, ErrSessionExpired):
		b.WriteString("; the token's session ended: " + webOfficeHint)
	case e.reason != nil:
		b.WriteString("; the token was revoked or is not valid: " + webOfficeHint)
	}
	return b.String()
}

// Unwrap returns ErrTokenRevoked or ErrSessionExpired for a 401 that ended the token's
// life, nil otherwise.
func (e *APIError) Unwrap() error { return e.reason }

// DecodeError turns a non-2xx answer into an *APIError. It never fails: a body that is
// not the documented JSON still gives an *APIError with the status and the raw body. A
// 401 matches ErrTokenRevoked (a Client first confirms it with a refresh, and reports
// ErrSessionExpired once the session cap has passed). The bearer token the request
// carried (resp.Request) is removed from every field and from Body, in case the server
// quotes it back.
func DecodeError(resp *http.Response, body []byte) error {
	status := 0
	var secrets []string
	if resp != nil {
		status = resp.StatusCode
		if t := sentToken(resp.Request); t != "" {
			secrets = append(secrets, t)
		}
	}
	e := parseAPIError(status, body)
	e.scrub(secrets)
	if status == http.StatusUnauthorized {
		e.reason = ErrTokenRevoked
	}
	return e
}

// redacted replaces a token quoted in an error.
const redacted = "[REDACTED]"

// minSecret is the shortest text scrubbed: shorter values would blank out ordinary
// words.
const minSecret = 8

// scrub removes secrets from every text field of e and from Body.
func (e *APIError) scrub(secrets []string) {
	secrets = secretForms(secrets)
	if len(secrets) == 0 {
		return
	}
	for _, f := range []*string{&e.BuildVersion, &e.Code, &e.EndpointURL, &e.LongMessage,
		&e.MemberIdentification, &e.ServiceName, &e.ShortMessage, &e.TroubleshootingID} {
		*f = replaceAll(*f, secrets)
	}
	if len(e.Body) > 0 {
		body := string(e.Body)
		if clean := replaceAll(body, secrets); clean != body {
			e.Body = []byte(clean)
		}
	}
}

// scrubText removes secrets from s.
func scrubText(s string, secrets []string) string { return replaceAll(s, secretForms(secrets)) }

// secretForms lists what to remove for each token: the token, and for a JWT its
// signature alone (as secret as the whole), longest first so that a token is removed
// before its signature.
func secretForms(secrets []string) []string {
	var out []string
	for _, s := range secrets {
		if len(s) < minSecret {
			continue
		}
		out = append(out, s)
		if i := strings.LastIndexByte(s, '.'); i >= 0 && len(s)-i-1 >= minSecret && strings.Count(s, ".") == 2 {
			out = append(out, s[i+1:])
		}
	}
	slices.SortFunc(out, func(a, b string) int {
		if d := len(b) - len(a); d != 0 {
			return d
		}
		return strings.Compare(a, b)
	})
	return slices.Compact(out)
}

func replaceAll(s string, secrets []string) string {
	for _, sec := range secrets {
		if strings.Contains(s, sec) {
			s = strings.ReplaceAll(s, sec, redacted)
		}
	}
	return s
}

func parseAPIError(status int, body []byte) *APIError {
	e := &APIError{StatusCode: status, Body: body}
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

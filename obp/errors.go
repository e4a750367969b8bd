package obp

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strconv"
	"strings"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/internal/rest"
)

// ErrOutcomeUnknown matches (errors.Is) the error of a call that changes state and may
// have reached OBP without its answer arriving (timeout, reset connection). The
// client did not send it again: check the state (e.g. the user's views) before
// repeating it.
var ErrOutcomeUnknown = banksdk.ErrOutcomeUnknown

// ErrClosed is returned by the calls of a Client after its Close.
var ErrClosed = banksdk.ErrClosed

// Code is an OBP error code such as "OBP-20001". Codes are errors, so that
//
//	errors.Is(err, obp.ErrUserNotLoggedIn)
//
// reports whether err is an *APIError whose primary code is OBP-20001.
type Code string

// Error returns the code.
func (c Code) Error() string { return "obp: " + string(c) }

// The OBP error codes the SDK names. The message text after the code varies (servers
// add context, chain causes and translate it), so compare codes, never text.
const (
	// Request and resources.
	ErrDuplicateHeaderKeys Code = "OBP-09017" // a header name was sent twice
	ErrInvalidJSONFormat   Code = "OBP-10001" // body is not the expected JSON
	ErrBankNotFound        Code = "OBP-30001"
	ErrViewNotFound        Code = "OBP-30005" // custom view not found for the account
	ErrBankAccountNotFound Code = "OBP-30018"
	ErrSystemViewNotFound  Code = "OBP-30252"

	// Login and users.
	ErrUserNotLoggedIn              Code = "OBP-20001" // authentication is required
	ErrDirectLoginMissingParameters Code = "OBP-20002"
	ErrDirectLoginInvalidToken      Code = "OBP-20003" // DirectLogin token invalid or expired
	ErrInvalidLoginCredentials      Code = "OBP-20004"
	ErrUserNotFoundByID             Code = "OBP-20005"
	ErrUserHasMissingRoles          Code = "OBP-20006"
	ErrInvalidConsumerKey           Code = "OBP-20008"
	ErrUsernameLocked               Code = "OBP-20013"
	ErrDirectLoginMissingHeader     Code = "OBP-20082"

	// Views and account access.
	ErrCannotGrantAccessToView   Code = "OBP-20047" // caller's views may not grant the target view
	ErrCannotRevokeAccessToView  Code = "OBP-20048" // caller's views may not revoke the target view
	ErrCannotGrantAccountAccess  Code = "OBP-30063"
	ErrCannotRevokeAccountAccess Code = "OBP-30064"
	ErrCannotFindAccountAccess   Code = "OBP-30065"

	// DAuth and authorisation headers.
	ErrDAuthCannotGetOrCreateUser      Code = "OBP-20065"
	ErrDAuthMissingParameters          Code = "OBP-20066"
	ErrDAuthUnknownError               Code = "OBP-20067"
	ErrDAuthHostNotDefined             Code = "OBP-20068" // the instance has no dauth.host
	ErrDAuthAddressNotAllowed          Code = "OBP-20069" // caller's IP is not in dauth.host
	ErrDAuthJWTCorrupted               Code = "OBP-20071" // signature or claims rejected
	ErrDAuthHeaderNotSingleString      Code = "OBP-20072"
	ErrAuthorizationHeaderNotSupported Code = "OBP-20080"
	ErrInvalidDAuthUserProvider        Code = "OBP-20103" // provider must start with "dauth."

	// Server.
	ErrUnknownError  Code = "OBP-50000"
	ErrInternalError Code = "OBP-50005" // masked internal error
)

// APIError is a non-2xx answer from OBP.
type APIError struct {
	// StatusCode is the HTTP status.
	StatusCode int
	// Code is the "code" field of the body (OBP repeats the HTTP status there), or 0.
	Code int
	// Message is the body's message, e.g. "OBP-20001: User not logged in.
	// Authentication is required!", with any credential it echoes removed.
	Message string
	// OBPCode is the first OBP-<digits> code in Message ("" if none): the primary one.
	OBPCode string
	// OBPCodes holds every distinct code found in Message, in order (OBP chains
	// causes with " <- ").
	OBPCodes []string
	// CorrelationID is the Correlation-Id response header, for OBP's support.
	CorrelationID string
	// Raw is the body as received (credentials removed), for diagnosis.
	Raw []byte
}

// Error reads "obp: HTTP 401: OBP-20001: User not logged in. ... (Correlation-Id x)".
func (e *APIError) Error() string {
	var b strings.Builder
	fmt.Fprintf(&b, "obp: HTTP %d", e.StatusCode)
	if e.Message != "" {
		b.WriteString(": ")
		b.WriteString(e.Message)
	} else if t := http.StatusText(e.StatusCode); t != "" {
		b.WriteString(" ")
		b.WriteString(t)
	}
	if e.CorrelationID != "" {
		b.WriteString(" (Correlation-Id ")
		b.WriteString(e.CorrelationID)
		b.WriteString(")")
	}
	return b.String()
}

// Is reports whether target is a Code equal to the error's primary code (OBPCode),
// or an *APIError with the same OBPCode (or, without one, the same status).
func (e *APIError) Is(target error) bool {
	switch t := target.(type) {
	case Code:
		return e.OBPCode != "" && string(t) == e.OBPCode
	case *APIError:
		if t.OBPCode != "" {
			return t.OBPCode == e.OBPCode
		}
		return t.StatusCode != 0 && t.StatusCode == e.StatusCode
	}
	return false
}

// Has reports whether code appears anywhere in the message, primary or chained.
func (e *APIError) Has(code Code) bool {
	for _, c := range e.OBPCodes {
		if c == string(code) {
			return true
		}
	}
	return false
}

var obpCodeRe = regexp.MustCompile(`OBP-\d+`)

// maxMessage bounds, in runes, the message kept from a body that is not OBP JSON.
const maxMessage = 2000

// DecodeError turns an OBP error answer into an *APIError. It reads
// {"code": 401, "message": "OBP-20001: ..."}, the legacy {"error": "..."}, Berlin
// Group {"tppMessages": [...]} and, failing those, the body as text. It never fails:
// a body it cannot read still gives an *APIError with the status. Every credential
// the request (resp.Request) carried is removed from Message and Raw: the DAuth JWT,
// the DirectLogin token, password and whole header, the Authorization value (a
// bearer token), the Consent-JWT and Consent-Id values, as well as anything shaped
// like a JWT or a "token=" parameter.
func DecodeError(resp *http.Response, body []byte) error {
	return decodeError(resp, body, nil)
}

func decodeError(resp *http.Response, body []byte, red *rest.Redactor) error {
	e := &APIError{}
	var sent []string
	if resp != nil {
		e.StatusCode = resp.StatusCode
		e.CorrelationID = resp.Header.Get("Correlation-Id")
		sent = requestSecrets(resp.Request)
	}
	e.Code, e.Message = parseErrorBody(body)
	e.Message = red.Redact(e.Message, sent...)
	e.Raw = []byte(red.Redact(string(body), sent...))
	for _, c := range obpCodeRe.FindAllString(e.Message, -1) {
		if !slices.Contains(e.OBPCodes, c) {
			e.OBPCodes = append(e.OBPCodes, c)
		}
	}
	if len(e.OBPCodes) > 0 {
		e.OBPCode = e.OBPCodes[0]
	}
	return e
}

// parseErrorBody extracts the code field and the message from an error body.
func parseErrorBody(body []byte) (int, string) {
	trimmed := bytes.TrimSpace(body)
	if len(trimmed) == 0 {
		return 0, ""
	}
	var m map[string]json.RawMessage
	if trimmed[0] == '{' && json.Unmarshal(trimmed, &m) == nil {
		code := jsonInt(m["code"])
		if msg, ok := jsonString(m["message"]); ok {
			return code, msg
		}
		if msg, ok := jsonString(m["error"]); ok {
			return code, msg
		}
		if msgs := tppMessages(m); msgs != "" {
			return code, msgs
		}
	}
	return 0, textMessage(trimmed)
}

func jsonString(raw json.RawMessage) (string, bool) {
	var s string
	if len(raw) == 0 || json.Unmarshal(raw, &s) != nil {
		return "", false
	}
	return s, true
}

func jsonInt(raw json.RawMessage) int {
	if len(raw) == 0 {
		return 0
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		if i, err := strconv.Atoi(n.String()); err == nil {
			return i
		}
	}
	if s, ok := jsonString(raw); ok {
		if i, err := strconv.Atoi(strings.TrimSpace(s)); err == nil {
			return i
		}
	}
	return 0
}

// tppMessages joins the texts of a Berlin Group error body ("code: text").
func tppMessages(m map[string]json.RawMessage) string {
	raw, ok := m["tppMessages"]
	if !ok {
		return ""
	}
	var msgs []struct {
		Code string `json:"code"`
		Text string `json:"text"`
	}
	if json.Unmarshal(raw, &msgs) != nil {
		return ""
	}
	parts := make([]string, 0, len(msgs))
	for _, t := range msgs {
		switch {
		case t.Code != "" && t.Text != "":
			parts = append(parts, t.Code+": "+t.Text)
		case t.Text != "":
			parts = append(parts, t.Text)
		case t.Code != "":
			parts = append(parts, t.Code)
		}
	}
	return strings.Join(parts, "; ")
}

// textMessage keeps a printable, bounded prefix of a body that is not OBP JSON.
func textMessage(b []byte) string {
	return strings.TrimSpace(rest.Clip(strings.ToValidUTF8(string(b), "\uFFFD"), maxMessage))
}

// requestSecrets lists the credentials req carried, whatever the case of the header
// names: the DAuth JWT, the Authorization value (and the token after "Bearer "), the
// DirectLogin header and its token and password, the Consent-JWT and Consent-Id.
func requestSecrets(req *http.Request) []string {
	if req == nil {
		return nil
	}
	var out []string
	for name, values := range req.Header {
		switch strings.ToLower(name) {
		case "dauth", "consent-jwt", "consent-id":
			out = append(out, values...)
		case "authorization", "directlogin":
			for _, v := range values {
				out = append(out, v)
				if tok, ok := strings.CutPrefix(strings.TrimSpace(v), "Bearer "); ok {
					out = append(out, strings.TrimSpace(tok))
				}
				out = append(out, directLoginSecrets(v)...)
			}
		}
	}
	return out
}

// directLoginSecrets returns the token and password of a DirectLogin header value,
// parsed as OBP parses it (comma-separated name=value pairs, quotes stripped).
func directLoginSecrets(v string) []string {
	v = strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(v), "DirectLogin"))
	var out []string
	for _, part := range strings.Split(v, ",") {
		name, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		switch strings.ToLower(strings.TrimSpace(name)) {
		case "token", "password":
			out = append(out, strings.Trim(strings.TrimSpace(val), `"`))
		}
	}
	return out
}

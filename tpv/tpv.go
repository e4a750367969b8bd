package tpv

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/mail"
	"strings"

	"github.com/banksdk/banksdk/internal/rest"
)

// Channel is the sales channel of a TPV submission.
type Channel string

// The documented channels ("channel must be defined as one of dtd, tm, or retail.").
const (
	ChannelDTD    Channel = "dtd"    // door to door
	ChannelTM     Channel = "tm"     // telemarketing
	ChannelRetail Channel = "retail" // retail
)

// Market is the customer market (premise type) of a TPV submission. The documentation
// does not list the markets: any non-empty value is sent as given, and the portal
// decides.
type Market string

// Known markets (the documentation's example uses residential).
const (
	MarketResidential Market = "residential"
	MarketCommercial  Market = "commercial"
)

// Language is the language the customer is verified in. The documentation does not
// list the languages: any non-empty value is sent as given, and the portal decides.
type Language string

// Known languages (the documentation's example uses english).
const (
	LanguageEnglish Language = "english"
	LanguageSpanish Language = "spanish"
)

// DigitalDelivery is how the customer receives the digital verification link. The
// documentation lists no values besides its example's: the field is sent as given.
type DigitalDelivery string

// DigitalDeliveryEmail is the digital delivery of the documentation's example.
const DigitalDeliveryEmail DigitalDelivery = "email"

// Enrollment is one sale to verify: every field of the documented example body of
// POST /api/v1/tpv. All fields are always sent; ExternalID and CompanyName are sent
// as null when nil.
type Enrollment struct {
	DigitalDelivery      DigitalDelivery `json:"digital_delivery"`
	Channel              Channel         `json:"channel"`
	Language             Language        `json:"language"`
	ExternalID           *string         `json:"external_id"`
	Market               Market          `json:"market"`
	CompanyName          *string         `json:"company_name"`
	AuthorizingFirstName string          `json:"authorizing_first_name"`
	AuthorizingLastName  string          `json:"authorizing_last_name"`
	BillingFirstName     string          `json:"billing_first_name"`
	BillingLastName      string          `json:"billing_last_name"`
	BTN                  string          `json:"btn"` // billing telephone number, sent as given
	EmailAddress         string          `json:"email_address"`
	ServiceAddress       string          `json:"service_address"`
	ServiceCity          string          `json:"service_city"`
	ServiceState         string          `json:"service_state"`
	ServiceZip           string          `json:"service_zip"`
	BillingAddress       string          `json:"billing_address"`
	BillingCity          string          `json:"billing_city"`
	BillingState         string          `json:"billing_state"`
	BillingZip           string          `json:"billing_zip"`
	Vendor               string          `json:"vendor"`
	SalesAgentID         string          `json:"sales_agent_id"`
	Products             []Product       `json:"products"`
}

// Product is one product sold, with the customer's utility account numbers.
type Product struct {
	ProgramCode    string          `json:"program_code"`
	AccountNumbers []AccountNumber `json:"account_numbers"`
}

// AccountNumber is one utility account number and its label (e.g. "Account Number").
type AccountNumber struct {
	AccountNumber      string `json:"account_number"`
	AccountNumberLabel string `json:"account_number_label"`
}

// String returns p, for the nullable fields: ExternalID: tpv.String("crm-42").
func String(p string) *string { return &p }

// Validate checks the enrollment before anything is sent and reports every broken
// rule at once in a *ValidationError (errors.Is(err, ErrInvalidEnrollment)). It
// enforces what the TPV documentation states, and nothing more:
//
//   - channel: dtd, tm or retail, the documented list ("channel must be defined as
//     one of dtd, tm, or retail.");
//   - authorizing_first_name, authorizing_last_name, billing_first_name,
//     billing_last_name, btn, service_address, service_city, service_state,
//     service_zip, language and market: required (not blank);
//   - email_address: an email address (name@example.com) when given;
//   - products: at least one, each with a program_code and at least one
//     account_numbers entry with a non-empty account_number.
//
// Values the documentation does not restrict are sent as given: any language or
// market (the constants name the known ones), any state or province code, any ZIP
// or postal code format ("K1A 0B1"), any phone number format. The portal's 400
// answer (an *APIError) remains the authority on them.
func (e Enrollment) Validate() error {
	var errs []FieldError
	bad := func(field, rule string) { errs = append(errs, FieldError{Field: field, Rule: rule}) }
	switch e.Channel {
	case ChannelDTD, ChannelTM, ChannelRetail:
	default:
		bad("channel", "must be one of dtd, tm, retail")
	}
	required := []struct{ name, value string }{
		{"authorizing_first_name", e.AuthorizingFirstName},
		{"authorizing_last_name", e.AuthorizingLastName},
		{"billing_first_name", e.BillingFirstName},
		{"billing_last_name", e.BillingLastName},
		{"btn", e.BTN},
		{"service_address", e.ServiceAddress},
		{"service_city", e.ServiceCity},
		{"service_state", e.ServiceState},
		{"service_zip", e.ServiceZip},
		{"language", string(e.Language)},
		{"market", string(e.Market)},
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			bad(f.name, "is required")
		}
	}
	if e.EmailAddress != "" && !validEmail(e.EmailAddress) {
		bad("email_address", "must be an email address such as name@example.com")
	}
	if len(e.Products) == 0 {
		bad("products", "must contain at least one product")
	}
	for i, p := range e.Products {
		if strings.TrimSpace(p.ProgramCode) == "" {
			bad(fmt.Sprintf("products[%d].program_code", i), "is required")
		}
		if len(p.AccountNumbers) == 0 {
			bad(fmt.Sprintf("products[%d].account_numbers", i), "must contain at least one account number")
		}
		for j, a := range p.AccountNumbers {
			if strings.TrimSpace(a.AccountNumber) == "" {
				bad(fmt.Sprintf("products[%d].account_numbers[%d].account_number", i, j), "is required")
			}
		}
	}
	if len(errs) > 0 {
		return &ValidationError{Fields: errs}
	}
	return nil
}

// Confirmation is the portal's answer to a TPV submission.
type Confirmation struct {
	// Code is the confirmation code, the sale's unique identifier in the portal. It is
	// a string of digits whose leading zeros matter ("00090894407").
	Code string
	// Raw is the answer body.
	Raw json.RawMessage
}

// SubmitTPV validates e (see Enrollment.Validate; nothing is sent when it fails) and
// submits it with POST /api/v1/tpv.
//
// A submission records a customer's consent to a sale, and sending it twice creates
// two verifications. It is therefore never re-sent once it may have reached the
// portal: when the answer is lost (timeout, reset, cancelled context) or unreadable,
// the error wraps ErrOutcomeUnknown, and the sale must be looked up in the portal
// before it is submitted again. It is retried only when the portal provably did not
// process it (no connection, 429, 503 with Retry-After) and replayed once after the
// portal rejected the auth token (a 401, or a 400 naming the token: see the package
// documentation). Any other 400 answer is an *APIError carrying the portal's message.
func (c *Client) SubmitTPV(ctx context.Context, e Enrollment) (Confirmation, error) {
	if err := e.Validate(); err != nil {
		return Confirmation{}, err
	}
	var raw []byte
	resp, err := c.rc.Do(ctx, &rest.Request{
		Method:     http.MethodPost,
		Path:       pathTPV,
		Body:       e,
		Idempotent: rest.Idempotent(false),
	}, &raw)
	if err != nil {
		if errors.Is(err, ErrOutcomeUnknown) {
			return Confirmation{}, fmt.Errorf("tpv: SubmitTPV: the submission may have been recorded; "+
				"look the sale up in the portal before submitting it again, or the customer gets two verifications: %w", err)
		}
		return Confirmation{}, c.clean(err)
	}
	a, _ := readAnswer(raw)
	if msg, ok := a.errorOnly(); ok {
		return Confirmation{}, &APIError{StatusCode: resp.StatusCode, Message: msg, Raw: raw}
	}
	code, err := a.confirmation()
	if err != nil {
		return Confirmation{}, rest.UndecodableSuccess(resp, fmt.Errorf("tpv: SubmitTPV: the portal accepted the submission but %w; "+
			"look the sale up in the portal before submitting it again", err))
	}
	return Confirmation{Code: code, Raw: raw}, nil
}

// confirmation reads the code of {"success": "<code>"}.
func (a answer) confirmation() (string, error) {
	if !a.object {
		return "", errors.New("its answer is not a JSON object")
	}
	if len(a.success) == 0 || string(a.success) == "null" {
		return "", errors.New("its answer has no confirmation code")
	}
	var code string
	if err := json.Unmarshal(a.success, &code); err != nil {
		// A number would have lost its leading zeros: refuse to guess.
		return "", errors.New("its confirmation code is not a string")
	}
	code = strings.TrimSpace(code)
	if code == "" {
		return "", errors.New("its confirmation code is empty")
	}
	return code, nil
}

// validEmail reports whether s is one plain address (name@domain, no display name).
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

// answer is a 2xx answer body, read once: whether it is a JSON object and, if so,
// its "success" and "error" members (parts of the body, nil when absent).
type answer struct {
	object  bool
	success json.RawMessage
	err     json.RawMessage
}

// readAnswer reads a 2xx body in one pass after json.Valid: ok is false when raw is
// not JSON (or empty). Member names match exactly, as in a map; the last of
// duplicate members wins, as in encoding/json.
func readAnswer(raw []byte) (a answer, ok bool) {
	if !json.Valid(raw) {
		return answer{}, false
	}
	i := skipSpace(raw, 0)
	if raw[i] != '{' {
		return answer{}, true
	}
	a.object = true
	for i = skipSpace(raw, i+1); raw[i] != '}'; {
		keyEnd := valueEnd(raw, i) // a valid object: a string key
		key := raw[i:keyEnd]
		i = skipSpace(raw, keyEnd)
		i = skipSpace(raw, i+1) // the colon
		end := valueEnd(raw, i)
		switch memberName(key) {
		case "success":
			a.success = raw[i:end:end]
		case "error":
			a.err = raw[i:end:end]
		}
		if i = skipSpace(raw, end); raw[i] == ',' {
			i = skipSpace(raw, i+1)
		}
	}
	return a, true
}

// memberName returns the name of a member's key (a JSON string, quotes included) when
// it may be one the answer reader looks for, and "" otherwise.
func memberName(key []byte) string {
	switch string(key) { // no allocation
	case `"success"`:
		return "success"
	case `"error"`:
		return "error"
	}
	if bytes.IndexByte(key, '\\') < 0 {
		return ""
	}
	var name string
	if json.Unmarshal(key, &name) != nil {
		return ""
	}
	return name
}

// valueEnd returns the end of the JSON value that starts at raw[i]; raw is valid
// JSON.
func valueEnd(raw []byte, i int) int {
	depth := 0
	for ; i < len(raw); i++ {
		switch raw[i] {
		case '"':
			for i++; raw[i] != '"'; i++ {
				if raw[i] == '\\' {
					i++
				}
			}
			if depth == 0 {
				return i + 1
			}
		case '[', '{':
			depth++
		case ']', '}':
			depth--
			if depth == 0 {
				return i + 1
			}
			if depth < 0 { // the end of the enclosing value
				return i
			}
		case ',', ' ', '\t', '\n', '\r', ':':
			if depth == 0 {
				return i
			}
		}
	}
	return i
}

func skipSpace(raw []byte, i int) int {
	for i < len(raw) && (raw[i] == ' ' || raw[i] == '\t' || raw[i] == '\n' || raw[i] == '\r') {
		i++
	}
	return i
}

// errorOnly reports the message of an answer that follows the failure convention: a
// JSON object with a non-empty "error" string and no "success" member (or a null
// one).
func (a answer) errorOnly() (string, bool) {
	if !a.object || (a.success != nil && string(a.success) != "null") || len(a.err) == 0 || a.err[0] != '"' {
		return "", false
	}
	var msg string
	if json.Unmarshal(a.err, &msg) != nil || strings.TrimSpace(msg) == "" {
		return "", false
	}
	return clip(msg, 500), true
}

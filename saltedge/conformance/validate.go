package conformance

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"time"

	"github.com/banksdk/banksdk/internal/rest"
	"github.com/banksdk/banksdk/saltedge"
)

// answer is what the connector sent back.
type answer struct {
	status int
	header http.Header
	body   []byte
}

// documentedClasses are the error classes a connector answers Salt Edge with (Salt
// Edge's connector SDK, see saltedge.ConnectorStatus for their statuses), plus
// ActionNotAllowed for an action the connector does not support.
var documentedClasses = []string{
	saltedge.ClassWrongRequestFormat, saltedge.ClassJWTExpiredSignature, saltedge.ClassJWTDecodeError,
	saltedge.ClassJWTVerificationError, saltedge.ClassJWTIncorrectAlgorithm, saltedge.ClassAuthorizationMissing,
	saltedge.ClassAccessTokenMissing, saltedge.ClassInvalidAuthorizationType, saltedge.ClassInvalidConfirmationCode,
	saltedge.ClassInvalidAttributeValue, saltedge.ClassInvalidPaymentType, saltedge.ClassInvalidEncoding,
	saltedge.ClassValueOutOfRange, saltedge.ClassTokenExpired, saltedge.ClassInvalidClientID,
	saltedge.ClassInvalidCredentials, saltedge.ClassAccessDenied, saltedge.ClassTokenNotFound,
	saltedge.ClassUserNotFound, saltedge.ClassAccountNotFound, saltedge.ClassPaymentNotFound,
	saltedge.ClassPaymentNotCreated, saltedge.ClassPaymentNotConfirmed, saltedge.ClassPaymentNotCanceled,
	saltedge.ClassActionNotAllowed, saltedge.ClassInternalServerError,
}

// expectError checks that a is a documented error answer: a non-2xx status, a JSON
// object {"error_class": string, "error_message": string}, a class among allowed and
// the status documented for that class. It returns what was seen.
func expectError(a *answer, allowed ...string) (string, bool) {
	if a.status >= 200 && a.status < 300 {
		return fmt.Sprintf("accepted: answered %d", a.status), false
	}
	class, msgOK, shape := errorShape(a.body)
	if shape != "" {
		return fmt.Sprintf("answered %d, %s", a.status, shape), false
	}
	if !msgOK {
		return fmt.Sprintf("answered %d %s without a string error_message", a.status, class), false
	}
	if !slices.Contains(allowed, class) {
		return fmt.Sprintf("answered %d with error_class %s, want %s", a.status, class, strings.Join(allowed, " or ")), false
	}
	if want := saltedge.ConnectorStatus(class); a.status != want {
		return fmt.Sprintf("answered %s with status %d, documented %d", class, a.status, want), false
	}
	return fmt.Sprintf("%d %s", a.status, class), true
}

// errorShape reads {"error_class", "error_message"}: the class (clipped for
// display), whether error_message is a string, and a description of what is wrong
// with the shape ("" when it is right).
func errorShape(body []byte) (class string, msgOK bool, problem string) {
	var obj map[string]json.RawMessage
	if err := json.Unmarshal(body, &obj); err != nil || obj == nil {
		return "", false, "not a JSON object"
	}
	raw, ok := obj["error_class"]
	if !ok {
		return "", false, "no error_class"
	}
	if err := json.Unmarshal(raw, &class); err != nil || strings.TrimSpace(class) == "" {
		return "", false, "error_class is not a non-empty string"
	}
	var msg string
	msgOK = json.Unmarshal(obj["error_message"], &msg) == nil && obj["error_message"] != nil
	return clip(class, 60), msgOK, ""
}

// okAnswer checks a 2xx answer of an asynchronous endpoint: the seed documents 200;
// the body is an empty JSON object in Salt Edge's SDK, and anything is accepted.
func okAnswer(a *answer) (string, bool) {
	if a.status == http.StatusOK {
		return "200", true
	}
	return describeFailure(a), false
}

// optionalAnswer accepts 200 or a documented 406 ActionNotAllowed (the connector does
// not support the endpoint).
func optionalAnswer(a *answer) (string, bool) {
	if a.status == http.StatusOK {
		return "200", true
	}
	if d, ok := expectError(a, saltedge.ClassActionNotAllowed); ok {
		return "not supported by the connector: " + d, true
	}
	return describeFailure(a) + "; want 200, or 406 ActionNotAllowed when not supported", false
}

// describeFailure says what a non-200 answer was, without quoting its message.
func describeFailure(a *answer) string {
	if class, _, shape := errorShape(a.body); shape == "" {
		return fmt.Sprintf("answered %d %s", a.status, class)
	}
	return fmt.Sprintf("answered %d", a.status)
}

// dataAnswer checks a 200 JSON answer {"data": ...} and returns the data.
func dataAnswer(a *answer) (json.RawMessage, string, bool) {
	if a.status != http.StatusOK {
		return nil, describeFailure(a) + ", want 200", false
	}
	if mt, _, err := mime.ParseMediaType(a.header.Get("Content-Type")); err != nil || mt != "application/json" {
		return nil, "Content-Type is not application/json", false
	}
	var env map[string]json.RawMessage
	if err := json.Unmarshal(a.body, &env); err != nil || env == nil {
		return nil, "answer is not a JSON object", false
	}
	data, ok := env["data"]
	if !ok {
		return nil, `answer has no "data"`, false
	}
	return data, "", true
}

// objects decodes a JSON array of objects, numbers kept as json.Number.
func objects(data json.RawMessage) ([]map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var list []any
	if err := dec.Decode(&list); err != nil || list == nil {
		return nil, fmt.Errorf("data is not an array")
	}
	out := make([]map[string]any, len(list))
	for i, v := range list {
		m, ok := v.(map[string]any)
		if !ok {
			return nil, fmt.Errorf("data[%d] is not an object", i)
		}
		out[i] = m
	}
	return out, nil
}

func object(data json.RawMessage) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var v any
	if err := dec.Decode(&v); err != nil {
		return nil, fmt.Errorf("data is not JSON")
	}
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("data is not an object")
	}
	return m, nil
}

// fields checks the members of one object against a schema.
type fields struct {
	obj      map[string]any
	where    string
	problems *[]string
}

func (f fields) bad(format string, args ...any) {
	*f.problems = append(*f.problems, f.where+": "+fmt.Sprintf(format, args...))
}

// str checks a string member; required ones must be present and non-empty.
func (f fields) str(name string, required bool) (string, bool) {
	v, ok := f.obj[name]
	if !ok || (v == nil && !required) {
		if required {
			f.bad("%s missing", name)
		}
		return "", false
	}
	s, isStr := v.(string)
	if !isStr {
		f.bad("%s is %s, want a string", name, jsonType(v))
		return "", false
	}
	if required && strings.TrimSpace(s) == "" {
		f.bad("%s is empty", name)
		return "", false
	}
	return s, true
}

// amount checks a decimal string ("5000.00", as the seed shows amounts).
func (f fields) amount(name string, required bool) {
	v, ok := f.obj[name]
	if !ok || (v == nil && !required) {
		if required {
			f.bad("%s missing", name)
		}
		return
	}
	s, isStr := v.(string)
	if !isStr {
		f.bad("%s is %s, want a decimal string as the seed shows", name, jsonType(v))
		return
	}
	if _, err := saltedge.ParseAmount(s); err != nil {
		f.bad("%s is not a decimal number", name)
	}
}

func (f fields) boolean(name string) {
	if v, ok := f.obj[name]; ok && v != nil {
		if _, isBool := v.(bool); !isBool {
			f.bad("%s is %s, want a boolean", name, jsonType(v))
		}
	}
}

func (f fields) nested(name string) {
	if v, ok := f.obj[name]; ok && v != nil {
		if _, isObj := v.(map[string]any); !isObj {
			f.bad("%s is %s, want an object", name, jsonType(v))
		}
	}
}

var currencyRe = regexp.MustCompile(`^[A-Z]{3}$`)

func (f fields) currency(name string) {
	if s, ok := f.str(name, true); ok && !currencyRe.MatchString(s) {
		f.bad("%s is not an ISO 4217 code", name)
	}
}

func (f fields) oneOf(name string, required bool, allowed ...string) {
	if s, ok := f.str(name, required); ok && !slices.Contains(allowed, s) {
		f.bad("%s is not one of %s", name, strings.Join(allowed, ", "))
	}
}

func jsonType(v any) string {
	switch v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case json.Number, float64:
		return "a number"
	case bool:
		return "a boolean"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return "unknown"
}

// validateAccounts checks each account of GET accounts: id, name, nature,
// currency_code and balance are required; the seed's other fields must have its types
// when present. It returns the accounts' ids.
func validateAccounts(list []map[string]any) (ids []string, problems []string) {
	seen := map[string]bool{}
	for i, acc := range list {
		f := fields{obj: acc, where: fmt.Sprintf("account %d", i), problems: &problems}
		if id, ok := f.str("id", true); ok {
			if seen[id] {
				f.bad("id repeats an earlier account's")
			}
			seen[id] = true
			ids = append(ids, id)
		}
		f.str("name", true)
		f.str("nature", true)
		f.currency("currency_code")
		f.amount("balance", true)
		f.amount("available_amount", false)
		f.amount("credit_limit", false)
		for _, n := range []string{"iban", "number", "sort_code", "swift_code"} {
			f.str(n, false)
		}
		f.boolean("payment_account")
		f.oneOf("status", false, string(saltedge.AccountActive), string(saltedge.AccountInactive))
		f.nested("extra")
	}
	return ids, problems
}

// validateTransactions checks each transaction: id, account_id (the account asked
// for), amount, currency_code, made_on and status are required.
func validateTransactions(list []map[string]any, accountID string) (problems []string) {
	for i, tx := range list {
		f := fields{obj: tx, where: fmt.Sprintf("transaction %d", i), problems: &problems}
		f.str("id", true)
		if id, ok := f.str("account_id", true); ok && id != accountID {
			f.bad("account_id is not the account asked for")
		}
		f.amount("amount", true)
		f.currency("currency_code")
		f.str("description", false)
		if s, ok := f.str("made_on", true); ok && !isDateOrDateTime(s) {
			f.bad("made_on is neither a date (YYYY-MM-DD) nor an ISO 8601 date-time")
		}
		f.oneOf("status", true, string(saltedge.TransactionPosted), string(saltedge.TransactionPending))
		f.nested("extra")
		if v, ok := tx["fees"]; ok && v != nil {
			fees, isArr := v.([]any)
			if !isArr {
				f.bad("fees is %s, want an array", jsonType(v))
				continue
			}
			for j, fee := range fees {
				m, isObj := fee.(map[string]any)
				if !isObj {
					f.bad("fees[%d] is %s, want an object", j, jsonType(fee))
					continue
				}
				ff := fields{obj: m, where: fmt.Sprintf("%s fees[%d]", f.where, j), problems: &problems}
				ff.str("description", false)
				ff.amount("amount", false)
				ff.str("currency_code", false)
			}
		}
	}
	return problems
}

// validateKYC checks the PSU's data: an object whose documented fields, all
// optional, are strings.
func validateKYC(obj map[string]any) (problems []string) {
	f := fields{obj: obj, where: "kyc", problems: &problems}
	for _, n := range []string{"name", "email", "phone", "address", "date_of_birth"} {
		f.str(n, false)
	}
	return problems
}

func isDateOrDateTime(s string) bool {
	if _, err := time.Parse(time.DateOnly, s); err == nil {
		return true
	}
	_, err := time.Parse(time.RFC3339Nano, s)
	return err == nil
}

// summarize joins the first problems.
func summarize(problems []string) string {
	const show = 3
	if len(problems) <= show {
		return strings.Join(problems, "; ")
	}
	return strings.Join(problems[:show], "; ") + fmt.Sprintf("; and %d more", len(problems)-show)
}

// clip makes the connector's text safe to show in one line of a report: bytes that
// are not UTF-8 become spaces, then rest.Clip (control characters to spaces, white
// space folded, at most n runes).
func clip(s string, n int) string { return rest.Clip(strings.ToValidUTF8(s, " "), n) }

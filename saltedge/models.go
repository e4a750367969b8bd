package saltedge

import (
	"encoding/json"
	"fmt"
	"log/slog"
	"sort"
	"strings"
	"time"

	"github.com/banksdk/banksdk/internal/rest"
)

// AccountNature is an account's kind. It is an open set: the constants are the values
// the sources list.
type AccountNature string

// Account natures.
const (
	NatureAccount    AccountNature = "account"
	NatureCard       AccountNature = "card"
	NatureDebitCard  AccountNature = "debit_card"
	NatureCreditCard AccountNature = "credit_card"
	NatureChecking   AccountNature = "checking"
	NatureSavings    AccountNature = "savings"
	NatureInvestment AccountNature = "investment"
	NatureBonus      AccountNature = "bonus"
	NatureLoan       AccountNature = "loan"
	NatureCredit     AccountNature = "credit"
	NatureInsurance  AccountNature = "insurance"
	NatureEwallet    AccountNature = "ewallet"
	NatureMortgage   AccountNature = "mortgage"
)

// AccountStatus says whether an account is usable.
type AccountStatus string

// Account statuses.
const (
	AccountActive   AccountStatus = "active"
	AccountInactive AccountStatus = "inactive"
)

// Account is one PSU account, as the connector returns it from accounts (the seed's
// sample answer, plus credit_limit and the identifiers Salt Edge's SDK documents).
type Account struct {
	ID              string        `json:"id"`
	Name            string        `json:"name"`
	Nature          AccountNature `json:"nature"`
	CurrencyCode    string        `json:"currency_code"`
	Balance         Amount        `json:"balance"`
	AvailableAmount Amount        `json:"available_amount,omitempty"`
	CreditLimit     Amount        `json:"credit_limit,omitempty"`
	IBAN            string        `json:"iban,omitempty"`
	Number          string        `json:"number,omitempty"`
	SwiftCode       string        `json:"swift_code,omitempty"`
	SortCode        string        `json:"sort_code,omitempty"`
	// PaymentAccount flags accounts that can initiate payments.
	PaymentAccount bool           `json:"payment_account"`
	Status         AccountStatus  `json:"status,omitempty"`
	Extra          map[string]any `json:"extra,omitzero"`
}

// TransactionStatus is a transaction's booking state.
type TransactionStatus string

// Transaction statuses.
const (
	TransactionPosted  TransactionStatus = "posted"
	TransactionPending TransactionStatus = "pending"
)

// Transaction is one account transaction, as the connector returns it from
// transactions.
type Transaction struct {
	ID           string `json:"id"`
	AccountID    string `json:"account_id"`
	Amount       Amount `json:"amount"`
	CurrencyCode string `json:"currency_code"`
	Description  string `json:"description"`
	// MadeOn is the booking date. The seed's sample is an ISO 8601 date-time
	// ("2019-11-18T16:04:49.573Z"); other sources use YYYY-MM-DD. It is sent as given;
	// MadeOnDate and MadeOnTime format it.
	MadeOn string            `json:"made_on"`
	Status TransactionStatus `json:"status"`
	Fees   []Fee             `json:"fees,omitempty"`
	Extra  map[string]any    `json:"extra,omitzero"`
}

// MadeOnDate formats t as a date (YYYY-MM-DD) for Transaction.MadeOn.
func MadeOnDate(t time.Time) string { return t.Format("2006-01-02") }

// MadeOnTime formats t as the seed's date-time (UTC, milliseconds) for Transaction.MadeOn.
func MadeOnTime(t time.Time) string { return t.UTC().Format(dateTimeLayout) }

// Fee is a fee charged on a transaction or a payment.
type Fee struct {
	Description  string `json:"description,omitempty"`
	Amount       Amount `json:"amount,omitempty"`
	CurrencyCode string `json:"currency_code,omitempty"`
}

// KYC is the PSU's personal data, as the connector returns it from kyc. Every field
// is optional.
type KYC struct {
	Name        string `json:"name,omitempty"`
	Email       string `json:"email,omitempty"`
	Phone       string `json:"phone,omitempty"`
	Address     string `json:"address,omitempty"`
	DateOfBirth string `json:"date_of_birth,omitempty"`
}

// Scopes (access rights) a TPP asks for in tokens/create, as the seed's sample lists
// them.
const (
	ScopeAccounts             = "accounts"
	ScopeTransactions         = "transactions"
	ScopeKYC                  = "kyc"
	ScopePayments             = "payments"
	ScopeFundsAvailability    = "funds_availability"
	ScopeTrustedBeneficiaries = "trusted_beneficiaries"
)

// ConsentAccess is one entry of the consent a connector reports in sessions/success:
// which account ("all" for every account) and which scopes of it.
type ConsentAccess struct {
	AccountID string   `json:"account_id"`
	Scopes    []string `json:"scopes"`
}

// ConsentAllAccounts is ConsentAccess.AccountID for every account.
const ConsentAllAccounts = "all"

// PaymentStatus is a payment's state (open set; the constants are the values Salt
// Edge's SDK allows).
type PaymentStatus string

// Payment statuses.
const (
	PaymentProcessing              PaymentStatus = "processing"
	PaymentPending                 PaymentStatus = "pending"
	PaymentRedirect                PaymentStatus = "redirect"
	PaymentWaitingConfirmation     PaymentStatus = "waiting_confirmation"
	PaymentWaitingConfirmationCode PaymentStatus = "waiting_confirmation_code"
	PaymentSuccessful              PaymentStatus = "successful"
	PaymentClosed                  PaymentStatus = "closed"
	PaymentFailed                  PaymentStatus = "failed"
	PaymentConfirmed               PaymentStatus = "confirmed"
	PaymentExecuting               PaymentStatus = "executing"
)

// Payment is what the connector returns from payments/show.
type Payment struct {
	ID              string         `json:"id"`
	PrioraPaymentID int64          `json:"priora_payment_id"`
	Description     string         `json:"description,omitempty"`
	Status          PaymentStatus  `json:"status"`
	Amount          Amount         `json:"amount,omitempty"`
	Total           Amount         `json:"total,omitempty"`
	Fees            []Fee          `json:"fees,omitempty"`
	Attributes      map[string]any `json:"payment_attributes,omitzero"`
	Extra           map[string]any `json:"extra,omitzero"`
}

// Credentials are what the PSU typed or chose (credentials in a client payload):
// authorization_type, an interactive field such as sms_pincode, login fields. The
// values may be secrets: a Credentials prints its keys only, never its values.
type Credentials map[string]any

// Get returns the value under key as a string ("" when absent or not a string).
func (c Credentials) Get(key string) string {
	s, _ := c[key].(string)
	return s
}

// AuthorizationType returns credentials.authorization_type.
func (c Credentials) AuthorizationType() string { return c.Get("authorization_type") }

func (c Credentials) keys() []string {
	ks := make([]string, 0, len(c))
	for k := range c {
		ks = append(ks, k)
	}
	sort.Strings(ks)
	return ks
}

// Format prints the keys only.
func (c Credentials) Format(f fmt.State, _ rune) {
	_, _ = fmt.Fprintf(f, "Credentials{%s: [REDACTED]}", strings.Join(c.keys(), ", "))
}

// LogValue logs the keys only.
func (c Credentials) LogValue() slog.Value {
	return slog.StringValue("Credentials{" + strings.Join(c.keys(), ", ") + ": [REDACTED]}")
}

// MarshalJSON encodes the keys with every value "[REDACTED]": credentials are only
// ever read from Salt Edge's requests, so a Credentials encoded as JSON is one being
// logged or stored, never one being sent.
func (c Credentials) MarshalJSON() ([]byte, error) {
	if c == nil {
		return []byte("null"), nil
	}
	m := make(map[string]string, len(c))
	for k := range c {
		m[k] = rest.Redacted
	}
	return json.Marshal(m)
}

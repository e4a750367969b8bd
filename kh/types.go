package kh

import (
	"bytes"
	"encoding/json"
	"errors"
	"strconv"

	"github.com/banksdk/banksdk/internal/rest"
)

// Amount is a Berlin Group amount: an ISO 4217 currency and a decimal string
// ("-?[0-9]{1,14}(.[0-9]{1,3})?"). Amounts are never floats.
type Amount struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

// UnmarshalJSON also accepts a JSON number for amount (some banks send one).
func (a *Amount) UnmarshalJSON(b []byte) error {
	var raw struct {
		Currency json.RawMessage `json:"currency"`
		Amount   json.RawMessage `json:"amount"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*a = Amount{Currency: looseString(raw.Currency), Amount: looseString(raw.Amount)}
	return nil
}

// AccountReference identifies an account: exactly one of IBAN, BBAN, PAN, MaskedPAN,
// MSISDN, optionally with a currency (for multi-currency accounts).
type AccountReference struct {
	IBAN      string `json:"iban,omitempty"`
	BBAN      string `json:"bban,omitempty"`
	PAN       string `json:"pan,omitempty"`
	MaskedPAN string `json:"maskedPan,omitempty"`
	MSISDN    string `json:"msisdn,omitempty"`
	Currency  string `json:"currency,omitempty"`
}

// Address is a Berlin Group postal address.
type Address struct {
	StreetName     string `json:"streetName,omitempty"`
	BuildingNumber string `json:"buildingNumber,omitempty"`
	TownName       string `json:"townName,omitempty"`
	PostCode       string `json:"postCode,omitempty"`
	Country        string `json:"country"`
}

// Href is a link target.
type Href struct {
	Href string `json:"href"`
}

// UnmarshalJSON accepts {"href": "..."} and a bare string.
func (h *Href) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		return json.Unmarshal(b, &h.Href)
	}
	var raw struct {
		Href json.RawMessage `json:"href"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	h.Href = looseString(raw.Href)
	return nil
}

// Links are a response's _links by name (scaRedirect, startAuthorisation..., self,
// status, scaStatus, next, download, ...). Link names vary between banks and spec
// versions (the Berlin Group's own example misspells
// startAuthenticationWithPsuAuthentication): look them up by name, never assume a
// closed set.
type Links map[string]Href

// Get returns the href of a link, or "".
func (l Links) Get(name string) string { return l[name].Href }

// UnmarshalJSON skips entries that are not links (null, numbers) instead of failing.
func (l *Links) UnmarshalJSON(b []byte) error {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(b, &m); err != nil {
		return err
	}
	if m == nil {
		*l = nil
		return nil
	}
	out := make(Links, len(m))
	for k, v := range m {
		var h Href
		if json.Unmarshal(v, &h) == nil && h.Href != "" {
			out[k] = h
		}
	}
	*l = out
	return nil
}

// Link names used by the SCA flows (Berlin Group _linksAll).
const (
	LinkSCARedirect                              = "scaRedirect"
	LinkSCAOAuth                                 = "scaOAuth"
	LinkConfirmation                             = "confirmation"
	LinkStartAuthorisation                       = "startAuthorisation"
	LinkStartAuthorisationWithPSUIdentification  = "startAuthorisationWithPsuIdentification"
	LinkStartAuthorisationWithPSUAuthentication  = "startAuthorisationWithPsuAuthentication"
	LinkStartAuthorisationWithAuthMethodSelect   = "startAuthorisationWithAuthenticationMethodSelection"
	LinkStartAuthorisationWithTransactionAuth    = "startAuthorisationWithTransactionAuthorisation"
	LinkUpdatePSUIdentification                  = "updatePsuIdentification"
	LinkUpdatePSUAuthentication                  = "updatePsuAuthentication"
	LinkSelectAuthenticationMethod               = "selectAuthenticationMethod"
	LinkAuthoriseTransaction                     = "authoriseTransaction"
	LinkSelf                                     = "self"
	LinkStatus                                   = "status"
	LinkSCAStatus                                = "scaStatus"
	LinkAccount                                  = "account"
	LinkBalances                                 = "balances"
	LinkTransactions                             = "transactions"
	LinkFirst                                    = "first"
	LinkNext                                     = "next"
	LinkPrevious                                 = "previous"
	LinkLast                                     = "last"
	LinkDownload                                 = "download"
	linkStartAuthenticationWithPSUAuthentication = "startAuthenticationWithPsuAuthentication" // BG 1.3.9 example typo
)

// TransactionStatus is a payment's ISO 20022 status. The type is open: codes beyond
// the constants are kept as they come.
type TransactionStatus string

// The documented transaction statuses.
const (
	TransactionAccepted                   TransactionStatus = "ACCP" // customer profile OK
	TransactionSettlementCompleted        TransactionStatus = "ACCC" // settled on the creditor's account
	TransactionSettlementCompletedDebtor  TransactionStatus = "ACSC" // settled on the debtor's account
	TransactionSettlementInProcess        TransactionStatus = "ACSP" // accepted, settlement in process
	TransactionTechnicalValidation        TransactionStatus = "ACTC" // authenticated and technically valid
	TransactionAcceptedWithChange         TransactionStatus = "ACWC"
	TransactionAcceptedWithoutPosting     TransactionStatus = "ACWP"
	TransactionReceived                   TransactionStatus = "RCVD"
	TransactionPending                    TransactionStatus = "PDNG"
	TransactionRejected                   TransactionStatus = "RJCT"
	TransactionCancelled                  TransactionStatus = "CANC"
	TransactionAcceptedFundsChecked       TransactionStatus = "ACFC"
	TransactionPartiallyAcceptedTechnical TransactionStatus = "PATC" // partially authorised (multi-level SCA)
	TransactionPartiallyAccepted          TransactionStatus = "PART" // bulk with some items rejected
)

// TransactionStatuses lists the documented transaction statuses.
func TransactionStatuses() []TransactionStatus {
	return []TransactionStatus{"ACCC", "ACCP", "ACSC", "ACSP", "ACTC", "ACWC", "ACWP", "RCVD", "PDNG", "RJCT", "CANC", "ACFC", "PATC", "PART"}
}

// Final reports whether the status will not change any more (settled, rejected or
// cancelled).
func (s TransactionStatus) Final() bool {
	switch s {
	case "ACCC", "ACSC", "RJCT", "CANC":
		return true
	}
	return false
}

// ConsentStatus is a consent's status (open type).
type ConsentStatus string

// The documented consent statuses.
const (
	ConsentReceived            ConsentStatus = "received"
	ConsentRejected            ConsentStatus = "rejected"
	ConsentValid               ConsentStatus = "valid"
	ConsentRevokedByPSU        ConsentStatus = "revokedByPsu"
	ConsentExpired             ConsentStatus = "expired"
	ConsentTerminatedByTPP     ConsentStatus = "terminatedByTpp"
	ConsentPartiallyAuthorised ConsentStatus = "partiallyAuthorised"
)

// ConsentStatuses lists the documented consent statuses.
func ConsentStatuses() []ConsentStatus {
	return []ConsentStatus{"received", "rejected", "valid", "revokedByPsu", "expired", "terminatedByTpp", "partiallyAuthorised"}
}

// ScaStatus is an authorisation's SCA status (open type).
type ScaStatus string

// The documented SCA statuses.
const (
	ScaReceived         ScaStatus = "received"
	ScaPSUIdentified    ScaStatus = "psuIdentified"
	ScaPSUAuthenticated ScaStatus = "psuAuthenticated"
	ScaMethodSelected   ScaStatus = "scaMethodSelected"
	ScaStarted          ScaStatus = "started"
	ScaUnconfirmed      ScaStatus = "unconfirmed"
	ScaFinalised        ScaStatus = "finalised"
	ScaFailed           ScaStatus = "failed"
	ScaExempted         ScaStatus = "exempted"
)

// ScaStatuses lists the documented SCA statuses.
func ScaStatuses() []ScaStatus {
	return []ScaStatus{"received", "psuIdentified", "psuAuthenticated", "scaMethodSelected", "started", "unconfirmed", "finalised", "failed", "exempted"}
}

// Final reports whether SCA is over (finalised, failed or exempted).
func (s ScaStatus) Final() bool { return s == ScaFinalised || s == ScaFailed || s == ScaExempted }

// SCAApproach is the ASPSP-SCA-Approach response header (open type).
type SCAApproach string

// The documented SCA approaches.
const (
	SCAEmbedded  SCAApproach = "EMBEDDED"
	SCADecoupled SCAApproach = "DECOUPLED"
	SCARedirect  SCAApproach = "REDIRECT"
)

// SCAApproaches lists the documented SCA approaches.
func SCAApproaches() []SCAApproach { return []SCAApproach{"EMBEDDED", "DECOUPLED", "REDIRECT"} }

// BalanceType is a balance's type (open type; "authorised" was removed in Berlin
// Group 1.3.6 but some banks still send it).
type BalanceType string

// The documented balance types.
const (
	BalanceClosingBooked    BalanceType = "closingBooked"
	BalanceExpected         BalanceType = "expected"
	BalanceOpeningBooked    BalanceType = "openingBooked"
	BalanceInterimAvailable BalanceType = "interimAvailable"
	BalanceInterimBooked    BalanceType = "interimBooked"
	BalanceForwardAvailable BalanceType = "forwardAvailable"
	BalanceNonInvoiced      BalanceType = "nonInvoiced"
)

// BalanceTypes lists the documented balance types.
func BalanceTypes() []BalanceType {
	return []BalanceType{"closingBooked", "expected", "openingBooked", "interimAvailable", "interimBooked", "forwardAvailable", "nonInvoiced"}
}

// BookingStatus selects transactions by booking status.
type BookingStatus string

// The documented booking statuses. Only booked is mandatory for banks.
const (
	BookingInformation BookingStatus = "information"
	BookingBooked      BookingStatus = "booked"
	BookingPending     BookingStatus = "pending"
	BookingBoth        BookingStatus = "both"
	BookingAll         BookingStatus = "all"
)

// BookingStatuses lists the documented booking statuses.
func BookingStatuses() []BookingStatus {
	return []BookingStatus{"information", "booked", "pending", "both", "all"}
}

// Frequency is a periodic payment's frequency code.
type Frequency string

// The documented frequency codes.
const (
	FrequencyDaily           Frequency = "Daily"
	FrequencyWeekly          Frequency = "Weekly"
	FrequencyEveryTwoWeeks   Frequency = "EveryTwoWeeks"
	FrequencyMonthly         Frequency = "Monthly"
	FrequencyEveryTwoMonths  Frequency = "EveryTwoMonths"
	FrequencyQuarterly       Frequency = "Quarterly"
	FrequencySemiAnnual      Frequency = "SemiAnnual"
	FrequencyAnnual          Frequency = "Annual"
	FrequencyMonthlyVariable Frequency = "MonthlyVariable"
)

// Frequencies lists the documented frequency codes.
func Frequencies() []Frequency {
	return []Frequency{"Daily", "Weekly", "EveryTwoWeeks", "Monthly", "EveryTwoMonths", "Quarterly", "SemiAnnual", "Annual", "MonthlyVariable"}
}

// ExecutionRule moves a periodic payment's execution date off a non-working day.
type ExecutionRule string

// The documented execution rules.
const (
	ExecutionFollowing ExecutionRule = "following"
	ExecutionPreceding ExecutionRule = "preceding"
)

// ChargeBearer says who pays the charges.
type ChargeBearer string

// The documented charge bearers.
const (
	ChargeDebtor    ChargeBearer = "DEBT"
	ChargeCreditor  ChargeBearer = "CRED"
	ChargeShared    ChargeBearer = "SHAR"
	ChargeFollowing ChargeBearer = "SLEV"
)

// AccountStatus is an account's status (open type).
type AccountStatus string

// The documented account statuses.
const (
	AccountEnabled AccountStatus = "enabled"
	AccountDeleted AccountStatus = "deleted"
	AccountBlocked AccountStatus = "blocked"
)

// AccessScope is the value of a consent's availableAccounts, availableAccountsWithBalance
// or allPsd2.
type AccessScope string

// The documented access scopes.
const (
	AllAccounts              AccessScope = "allAccounts"
	AllAccountsWithOwnerName AccessScope = "allAccountsWithOwnerName"
)

// AuthenticationObject is an SCA method offered by the bank.
type AuthenticationObject struct {
	// AuthenticationType is e.g. SMS_OTP, CHIP_OTP, PHOTO_OTP, PUSH_OTP, SMTP_OTP (open).
	AuthenticationType     string `json:"authenticationType"`
	AuthenticationVersion  string `json:"authenticationVersion,omitempty"`
	AuthenticationMethodID string `json:"authenticationMethodId"`
	Name                   string `json:"name,omitempty"`
	Explanation            string `json:"explanation,omitempty"`
}

// ChallengeData is what the PSU needs to produce the OTP.
type ChallengeData struct {
	Image                 string   `json:"image,omitempty"` // base64
	Data                  []string `json:"data,omitempty"`
	ImageLink             string   `json:"imageLink,omitempty"`
	OTPMaxLength          int      `json:"otpMaxLength,omitempty"`
	OTPFormat             string   `json:"otpFormat,omitempty"` // characters or integer
	AdditionalInformation string   `json:"additionalInformation,omitempty"`
}

// UnmarshalJSON accepts otpMaxLength as a number or a numeric string, and data as a
// string or a list.
func (c *ChallengeData) UnmarshalJSON(b []byte) error {
	var raw struct {
		Image                 json.RawMessage `json:"image"`
		Data                  json.RawMessage `json:"data"`
		ImageLink             json.RawMessage `json:"imageLink"`
		OTPMaxLength          json.RawMessage `json:"otpMaxLength"`
		OTPFormat             json.RawMessage `json:"otpFormat"`
		AdditionalInformation json.RawMessage `json:"additionalInformation"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*c = ChallengeData{Image: looseString(raw.Image), ImageLink: looseString(raw.ImageLink),
		OTPFormat: looseString(raw.OTPFormat), AdditionalInformation: looseString(raw.AdditionalInformation)}
	c.OTPMaxLength, _ = looseInt(raw.OTPMaxLength)
	if d := bytes.TrimSpace(raw.Data); len(d) > 0 && d[0] == '[' {
		_ = json.Unmarshal(d, &c.Data)
	} else if s := looseString(raw.Data); s != "" {
		c.Data = []string{s}
	}
	return nil
}

// looseInt reads a JSON number or a numeric string.
func looseInt(b json.RawMessage) (int, bool) {
	s := looseString(b)
	if s == "" {
		return 0, false
	}
	n, err := strconv.Atoi(s)
	return n, err == nil
}

// looseBool reads a JSON bool or "true"/"false".
func looseBool(b json.RawMessage) (bool, bool) {
	switch looseString(b) {
	case "true":
		return true, true
	case "false":
		return false, true
	}
	return false, false
}

// Bool is a boolean that also decodes from "true" and "false" (Berlin Group examples
// quote booleans). It encodes as a JSON bool.
type Bool bool

// UnmarshalJSON implements json.Unmarshaler.
func (v *Bool) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	x, ok := looseBool(b)
	if !ok {
		return errors.New("kh: not a boolean: " + rest.Clip(string(b), 20))
	}
	*v = Bool(x)
	return nil
}

// Int is an integer that also decodes from a numeric string ("4"). It encodes as a
// JSON number.
type Int int

// UnmarshalJSON implements json.Unmarshaler.
func (v *Int) UnmarshalJSON(b []byte) error {
	if string(bytes.TrimSpace(b)) == "null" {
		return nil
	}
	x, ok := looseInt(b)
	if !ok {
		return errors.New("kh: not an integer: " + rest.Clip(string(b), 20))
	}
	*v = Int(x)
	return nil
}

// RemittanceStructured is remittanceInformationStructured, which Berlin Group 1.3.6
// defines as an object {reference, referenceType, referenceIssuer} and 1.3.8+ as a
// string (decoded into Reference).
type RemittanceStructured struct {
	Reference       string `json:"reference"`
	ReferenceType   string `json:"referenceType,omitempty"`
	ReferenceIssuer string `json:"referenceIssuer,omitempty"`
}

// UnmarshalJSON accepts a string or an object.
func (r *RemittanceStructured) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if len(b) > 0 && b[0] == '"' {
		*r = RemittanceStructured{}
		return json.Unmarshal(b, &r.Reference)
	}
	var raw struct {
		Reference       json.RawMessage `json:"reference"`
		ReferenceType   json.RawMessage `json:"referenceType"`
		ReferenceIssuer json.RawMessage `json:"referenceIssuer"`
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		return err
	}
	*r = RemittanceStructured{Reference: looseString(raw.Reference), ReferenceType: looseString(raw.ReferenceType),
		ReferenceIssuer: looseString(raw.ReferenceIssuer)}
	return nil
}

// extraMessages reads a body's tppMessage and tppMessages (either may be an object or
// a list), for answers that use one or the other.
func extraMessages(body []byte) []TPPMessage {
	var raw struct {
		Many tppMessageList `json:"tppMessages"`
		One  tppMessageList `json:"tppMessage"`
	}
	if json.Unmarshal(body, &raw) != nil {
		return nil
	}
	return append(raw.Many, raw.One...)
}

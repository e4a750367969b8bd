package khtest

import (
	"encoding/json"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"
)

// Request and response bodies of the Berlin Group NextGenPSD2 1.3 schemas, as the fake
// reads them. Only the documented fields: an unknown field in a request is a
// FORMAT_ERROR.

type amount struct {
	Currency string `json:"currency"`
	Amount   string `json:"amount"`
}

type accountRef struct {
	IBAN                       string `json:"iban,omitempty"`
	BBAN                       string `json:"bban,omitempty"`
	PAN                        string `json:"pan,omitempty"`
	MaskedPAN                  string `json:"maskedPan,omitempty"`
	MSISDN                     string `json:"msisdn,omitempty"`
	OtherAccountIdentification any    `json:"otherAccountIdentification,omitempty"`
	Currency                   string `json:"currency,omitempty"`
}

type address struct {
	StreetName     string `json:"streetName,omitempty"`
	BuildingNumber string `json:"buildingNumber,omitempty"`
	TownName       string `json:"townName,omitempty"`
	PostCode       string `json:"postCode,omitempty"`
	Country        string `json:"country"`
}

// paymentFields are the single-payment fields shared by single, periodic and bulk
// element bodies.
type paymentFields struct {
	EndToEndIdentification               string          `json:"endToEndIdentification,omitempty"`
	InstructionIdentification            string          `json:"instructionIdentification,omitempty"`
	DebtorName                           string          `json:"debtorName,omitempty"`
	DebtorAccount                        *accountRef     `json:"debtorAccount,omitempty"`
	UltimateDebtor                       string          `json:"ultimateDebtor,omitempty"`
	InstructedAmount                     *amount         `json:"instructedAmount,omitempty"`
	CreditorAccount                      *accountRef     `json:"creditorAccount,omitempty"`
	CreditorAgent                        string          `json:"creditorAgent,omitempty"`
	CreditorAgentName                    string          `json:"creditorAgentName,omitempty"`
	CreditorName                         string          `json:"creditorName,omitempty"`
	CreditorAddress                      *address        `json:"creditorAddress,omitempty"`
	CreditorID                           string          `json:"creditorId,omitempty"`
	UltimateCreditor                     string          `json:"ultimateCreditor,omitempty"`
	PurposeCode                          string          `json:"purposeCode,omitempty"`
	ChargeBearer                         string          `json:"chargeBearer,omitempty"`
	RemittanceInformationUnstructured    string          `json:"remittanceInformationUnstructured,omitempty"`
	RemittanceInformationStructured      json.RawMessage `json:"remittanceInformationStructured,omitempty"`
	RemittanceInformationStructuredArray json.RawMessage `json:"remittanceInformationStructuredArray,omitempty"`
	RequestedExecutionDate               string          `json:"requestedExecutionDate,omitempty"`
}

type periodicFields struct {
	StartDate      string `json:"startDate,omitempty"`
	EndDate        string `json:"endDate,omitempty"`
	ExecutionRule  string `json:"executionRule,omitempty"`
	Frequency      string `json:"frequency,omitempty"`
	DayOfExecution string `json:"dayOfExecution,omitempty"`
}

type paymentBody struct {
	paymentFields
	periodicFields
	// bulk
	BatchBookingPreferred  *bool           `json:"batchBookingPreferred,omitempty"`
	RequestedExecutionTime string          `json:"requestedExecutionTime,omitempty"`
	Payments               []paymentFields `json:"payments,omitempty"`
}

type consentAccess struct {
	Accounts                     []accountRef    `json:"accounts,omitempty"`
	Balances                     []accountRef    `json:"balances,omitempty"`
	Transactions                 []accountRef    `json:"transactions,omitempty"`
	AdditionalInformation        json.RawMessage `json:"additionalInformation,omitempty"`
	AvailableAccounts            string          `json:"availableAccounts,omitempty"`
	AvailableAccountsWithBalance string          `json:"availableAccountsWithBalance,omitempty"`
	AllPsd2                      string          `json:"allPsd2,omitempty"`
	RestrictedTo                 []string        `json:"restrictedTo,omitempty"`
}

type consentBody struct {
	Access                   *consentAccess `json:"access"`
	RecurringIndicator       *bool          `json:"recurringIndicator"`
	ValidUntil               string         `json:"validUntil"`
	FrequencyPerDay          *int           `json:"frequencyPerDay"`
	CombinedServiceIndicator *bool          `json:"combinedServiceIndicator"`
}

type basketBody struct {
	PaymentIDs []string `json:"paymentIds,omitempty"`
	ConsentIDs []string `json:"consentIds,omitempty"`
}

type psuData struct {
	Password                    string `json:"password,omitempty"`
	EncryptedPassword           string `json:"encryptedPassword,omitempty"`
	AdditionalPassword          string `json:"additionalPassword,omitempty"`
	AdditionalEncryptedPassword string `json:"additionalEncryptedPassword,omitempty"`
}

type authBody struct {
	PSUData                *psuData `json:"psuData,omitempty"`
	AuthenticationMethodID string   `json:"authenticationMethodId,omitempty"`
	ScaAuthenticationData  string   `json:"scaAuthenticationData,omitempty"`
	ConfirmationCode       string   `json:"confirmationCode,omitempty"`
}

type fundsBody struct {
	Account          *accountRef `json:"account"`
	InstructedAmount *amount     `json:"instructedAmount"`
	CardNumber       string      `json:"cardNumber,omitempty"`
	Payee            string      `json:"payee,omitempty"`
}

// ---------------------------------------------------------------------------
// validation (patterns of the Berlin Group 1.3.9 schemas)

var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	amountRE   = regexp.MustCompile(`^-?[0-9]{1,14}(\.[0-9]{1,3})?$`)
	ibanRE     = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$`)
	bbanRE     = regexp.MustCompile(`^[a-zA-Z0-9]{1,30}$`)
	bicRE      = regexp.MustCompile(`^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$`)
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
)

type fieldError struct{ path, text string }

func (e *fieldError) Error() string { return e.path + ": " + e.text }

func ferr(path, format string, args ...any) *fieldError {
	return &fieldError{path: path, text: fmt.Sprintf(format, args...)}
}

func checkAmount(path string, a *amount, positive bool) *fieldError {
	if a == nil {
		return ferr(path, "required")
	}
	if !currencyRE.MatchString(a.Currency) {
		return ferr(path+".currency", "must be three capital letters")
	}
	if !amountRE.MatchString(a.Amount) {
		return ferr(path+".amount", "must match -?[0-9]{1,14}(.[0-9]{1,3})?")
	}
	if positive {
		r, ok := new(big.Rat).SetString(a.Amount)
		if !ok || r.Sign() <= 0 {
			return ferr(path+".amount", "must be greater than zero")
		}
	}
	return nil
}

func checkAccount(path string, a *accountRef) *fieldError {
	if a == nil {
		return ferr(path, "required")
	}
	n := 0
	for _, v := range []string{a.IBAN, a.BBAN, a.PAN, a.MaskedPAN, a.MSISDN} {
		if v != "" {
			n++
		}
	}
	if a.OtherAccountIdentification != nil {
		n++
	}
	if n != 1 {
		return ferr(path, "exactly one account identifier is required")
	}
	if a.IBAN != "" && (!ibanRE.MatchString(a.IBAN) || !ibanChecksumOK(a.IBAN)) {
		return ferr(path+".iban", "not a valid IBAN")
	}
	if a.BBAN != "" && !bbanRE.MatchString(a.BBAN) {
		return ferr(path+".bban", "must be 1 to 30 letters or digits")
	}
	if a.Currency != "" && !currencyRE.MatchString(a.Currency) {
		return ferr(path+".currency", "must be three capital letters")
	}
	return nil
}

func ibanChecksumOK(iban string) bool {
	s := iban[4:] + iban[:4]
	var sb strings.Builder
	for _, r := range s {
		switch {
		case r >= '0' && r <= '9':
			sb.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			fmt.Fprintf(&sb, "%d", r-'A'+10)
		case r >= 'a' && r <= 'z':
			fmt.Fprintf(&sb, "%d", r-'a'+10)
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(sb.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

// ibanFor builds a valid IBAN from a country code and a BBAN.
func ibanFor(country, bban string) string {
	base := country + "00" + bban
	for cd := 2; cd <= 98; cd++ {
		iban := fmt.Sprintf("%s%02d%s", country, cd, bban)
		if ibanChecksumOK(iban) {
			return iban
		}
	}
	return base
}

func checkLen(path, v string, max int) *fieldError {
	if utf8.RuneCountInString(v) > max {
		return ferr(path, "at most %d characters", max)
	}
	return nil
}

func checkDate(path, v string, required bool) *fieldError {
	if v == "" {
		if required {
			return ferr(path, "required")
		}
		return nil
	}
	if _, err := time.Parse("2006-01-02", v); err != nil {
		return ferr(path, "must be a date YYYY-MM-DD")
	}
	return nil
}

func checkPaymentFields(prefix string, p *paymentFields, needDebtor bool) *fieldError {
	if needDebtor {
		if e := checkAccount(prefix+"debtorAccount", p.DebtorAccount); e != nil {
			return e
		}
	} else if p.DebtorAccount != nil {
		return ferr(prefix+"debtorAccount", "not allowed in a bulk element")
	}
	if e := checkAmount(prefix+"instructedAmount", p.InstructedAmount, true); e != nil {
		return e
	}
	if e := checkAccount(prefix+"creditorAccount", p.CreditorAccount); e != nil {
		return e
	}
	if strings.TrimSpace(p.CreditorName) == "" {
		return ferr(prefix+"creditorName", "required")
	}
	for _, l := range []struct {
		path, v string
		max     int
	}{
		{"creditorName", p.CreditorName, 70},
		{"debtorName", p.DebtorName, 70},
		{"ultimateDebtor", p.UltimateDebtor, 70},
		{"ultimateCreditor", p.UltimateCreditor, 70},
		{"creditorAgentName", p.CreditorAgentName, 140},
		{"remittanceInformationUnstructured", p.RemittanceInformationUnstructured, 140},
		{"endToEndIdentification", p.EndToEndIdentification, 35},
		{"instructionIdentification", p.InstructionIdentification, 35},
	} {
		if e := checkLen(prefix+l.path, l.v, l.max); e != nil {
			return e
		}
	}
	if p.CreditorAgent != "" && !bicRE.MatchString(p.CreditorAgent) {
		return ferr(prefix+"creditorAgent", "not a BIC")
	}
	if p.CreditorAddress != nil && !countryRE.MatchString(p.CreditorAddress.Country) {
		return ferr(prefix+"creditorAddress.country", "must be two capital letters")
	}
	switch p.ChargeBearer {
	case "", "DEBT", "CRED", "SHAR", "SLEV":
	default:
		return ferr(prefix+"chargeBearer", "must be DEBT, CRED, SHAR or SLEV")
	}
	return checkDate(prefix+"requestedExecutionDate", p.RequestedExecutionDate, false)
}

var frequencies = map[string]bool{
	"Daily": true, "Weekly": true, "EveryTwoWeeks": true, "Monthly": true, "EveryTwoMonths": true,
	"Quarterly": true, "SemiAnnual": true, "Annual": true, "MonthlyVariable": true,
}

var dayRE = regexp.MustCompile(`^(0?[1-9]|[12][0-9]|3[01])$`)

func checkPayment(service string, b *paymentBody) *fieldError {
	switch service {
	case "bulk-payments":
		if e := checkAccount("debtorAccount", b.DebtorAccount); e != nil {
			return e
		}
		if b.InstructedAmount != nil || b.CreditorAccount != nil || b.CreditorName != "" {
			return ferr("payments", "a bulk payment carries its transfers in payments")
		}
		if len(b.Payments) == 0 {
			return ferr("payments", "at least one payment is required")
		}
		for i := range b.Payments {
			if e := checkPaymentFields(fmt.Sprintf("payments[%d].", i), &b.Payments[i], false); e != nil {
				return e
			}
		}
		if e := checkLen("debtorName", b.DebtorName, 70); e != nil {
			return e
		}
		return checkDate("requestedExecutionDate", b.RequestedExecutionDate, false)
	case "periodic-payments":
		if len(b.Payments) > 0 || b.BatchBookingPreferred != nil {
			return ferr("payments", "not allowed in a periodic payment")
		}
		if e := checkPaymentFields("", &b.paymentFields, true); e != nil {
			return e
		}
		if e := checkDate("startDate", b.StartDate, true); e != nil {
			return e
		}
		if e := checkDate("endDate", b.EndDate, false); e != nil {
			return e
		}
		if !frequencies[b.Frequency] {
			return ferr("frequency", "required; one of the Berlin Group frequency codes")
		}
		switch b.ExecutionRule {
		case "", "following", "preceding":
		default:
			return ferr("executionRule", "must be following or preceding")
		}
		if b.DayOfExecution != "" && !dayRE.MatchString(b.DayOfExecution) {
			return ferr("dayOfExecution", "must be a day of the month 1..31")
		}
		return nil
	default:
		if len(b.Payments) > 0 || b.BatchBookingPreferred != nil {
			return ferr("payments", "not allowed in a single payment")
		}
		if b.StartDate != "" || b.Frequency != "" {
			return ferr("frequency", "not allowed in a single payment")
		}
		return checkPaymentFields("", &b.paymentFields, true)
	}
}

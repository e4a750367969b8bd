package kh

import (
	"fmt"
	"math/big"
	"net/mail"
	"regexp"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// Patterns of the Berlin Group 1.3.9 schemas.
var (
	currencyRE = regexp.MustCompile(`^[A-Z]{3}$`)
	amountRE   = regexp.MustCompile(`^-?[0-9]{1,14}(\.[0-9]{1,3})?$`)
	ibanRE     = regexp.MustCompile(`^[A-Z]{2}[0-9]{2}[a-zA-Z0-9]{1,30}$`)
	bbanRE     = regexp.MustCompile(`^[a-zA-Z0-9]{1,30}$`)
	bicRE      = regexp.MustCompile(`^[A-Z]{6}[A-Z2-9][A-NP-Z0-9]([A-Z0-9]{3})?$`)
	countryRE  = regexp.MustCompile(`^[A-Z]{2}$`)
	dayRE      = regexp.MustCompile(`^(0?[1-9]|[12][0-9]|3[01])$`)
	hostRE     = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$`)
)

// ibanLengths are the IBAN lengths of the SEPA countries (ISO 13616 registry).
var ibanLengths = map[string]int{
	"AD": 24, "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20,
	"ES": 24, "FI": 18, "FO": 18, "FR": 27, "GB": 22, "GI": 23, "GL": 18, "GR": 27, "HR": 21, "HU": 28,
	"IE": 22, "IS": 26, "IT": 27, "LI": 21, "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18,
	"NO": 15, "PL": 28, "PT": 25, "RO": 24, "SE": 24, "SI": 19, "SK": 24, "SM": 27, "VA": 22,
}

// ValidIBAN reports whether s has the IBAN shape, the length of its country (for SEPA
// countries) and a correct ISO 13616 check digit.
func ValidIBAN(s string) bool {
	if !ibanRE.MatchString(s) {
		return false
	}
	if n, ok := ibanLengths[s[:2]]; ok && len(s) != n {
		return false
	}
	rearranged := strings.ToUpper(s[4:] + s[:4])
	var sb strings.Builder
	for _, r := range rearranged {
		switch {
		case r >= '0' && r <= '9':
			sb.WriteRune(r)
		case r >= 'A' && r <= 'Z':
			fmt.Fprintf(&sb, "%d", r-'A'+10)
		default:
			return false
		}
	}
	n, ok := new(big.Int).SetString(sb.String(), 10)
	return ok && new(big.Int).Mod(n, big.NewInt(97)).Int64() == 1
}

func (a Amount) validate(field string, positive bool) error {
	if !currencyRE.MatchString(a.Currency) {
		return invalid(field+".currency", "required, an ISO 4217 code of three capital letters")
	}
	if !amountRE.MatchString(a.Amount) {
		return invalid(field+".amount", "required, a decimal string matching -?[0-9]{1,14}(.[0-9]{1,3})?")
	}
	if positive {
		if r, ok := new(big.Rat).SetString(a.Amount); !ok || r.Sign() <= 0 {
			return invalid(field+".amount", "must be greater than zero")
		}
	}
	return nil
}

func (r AccountReference) validate(field string) error {
	n := 0
	for _, v := range []string{r.IBAN, r.BBAN, r.PAN, r.MaskedPAN, r.MSISDN} {
		if v != "" {
			n++
		}
	}
	if n != 1 {
		return invalid(field, "exactly one of iban, bban, pan, maskedPan, msisdn is required")
	}
	switch {
	case r.IBAN != "" && !ibanRE.MatchString(r.IBAN):
		return invalid(field+".iban", "not an IBAN (two letters, two check digits, up to 30 letters or digits)")
	case r.IBAN != "" && ibanLengths[r.IBAN[:2]] != 0 && len(r.IBAN) != ibanLengths[r.IBAN[:2]]:
		return invalid(field+".iban", "a %s IBAN has %d characters", r.IBAN[:2], ibanLengths[r.IBAN[:2]])
	case r.IBAN != "" && !ValidIBAN(r.IBAN):
		return invalid(field+".iban", "wrong IBAN check digits")
	case r.BBAN != "" && !bbanRE.MatchString(r.BBAN):
		return invalid(field+".bban", "must be 1 to 30 letters or digits")
	case len(r.PAN) > 35:
		return invalid(field+".pan", "at most 35 characters")
	case len(r.MaskedPAN) > 35:
		return invalid(field+".maskedPan", "at most 35 characters")
	case len(r.MSISDN) > 35:
		return invalid(field+".msisdn", "at most 35 characters")
	case r.Currency != "" && !currencyRE.MatchString(r.Currency):
		return invalid(field+".currency", "an ISO 4217 code of three capital letters")
	}
	return nil
}

func maxLen(field, v string, n int) error {
	if utf8.RuneCountInString(v) > n {
		return invalid(field, "at most %d characters", n)
	}
	return nil
}

func checkDate(field, v string) error {
	if _, err := time.Parse("2006-01-02", v); err != nil {
		return invalid(field, "must be a date YYYY-MM-DD")
	}
	return nil
}

func (t Transfer) validate(prefix string) error {
	if err := t.InstructedAmount.validate(prefix+"instructedAmount", true); err != nil {
		return err
	}
	if err := t.CreditorAccount.validate(prefix + "creditorAccount"); err != nil {
		return err
	}
	if strings.TrimSpace(t.CreditorName) == "" {
		return invalid(prefix+"creditorName", "required")
	}
	for _, l := range []struct {
		f, v string
		n    int
	}{
		{"creditorName", t.CreditorName, 70},
		{"ultimateCreditor", t.UltimateCreditor, 70},
		{"creditorAgentName", t.CreditorAgentName, 140},
		{"remittanceInformationUnstructured", t.RemittanceInformationUnstructured, 140},
		{"endToEndIdentification", t.EndToEndIdentification, 35},
		{"instructionIdentification", t.InstructionIdentification, 35},
	} {
		if err := maxLen(prefix+l.f, l.v, l.n); err != nil {
			return err
		}
	}
	if t.CreditorAgent != "" && !bicRE.MatchString(t.CreditorAgent) {
		return invalid(prefix+"creditorAgent", "not a BIC")
	}
	if t.CreditorAddress != nil && !countryRE.MatchString(t.CreditorAddress.Country) {
		return invalid(prefix+"creditorAddress.country", "required, two capital letters")
	}
	if s := t.RemittanceInformationStructured; s != nil {
		if strings.TrimSpace(s.Reference) == "" {
			return invalid(prefix+"remittanceInformationStructured.reference", "required")
		}
		if err := maxLen(prefix+"remittanceInformationStructured", s.Reference, 140); err != nil {
			return err
		}
	}
	switch t.ChargeBearer {
	case "", ChargeDebtor, ChargeCreditor, ChargeShared, ChargeFollowing:
	default:
		return invalid(prefix+"chargeBearer", "must be DEBT, CRED, SHAR or SLEV")
	}
	return nil
}

func validateDebtor(acc AccountReference, name, ultimate string) error {
	if err := acc.validate("debtorAccount"); err != nil {
		return err
	}
	if err := maxLen("debtorName", name, 70); err != nil {
		return err
	}
	return maxLen("ultimateDebtor", ultimate, 70)
}

func (p SinglePayment) validate() error {
	if err := validateDebtor(p.DebtorAccount, p.DebtorName, p.UltimateDebtor); err != nil {
		return err
	}
	if err := p.Transfer.validate(""); err != nil {
		return err
	}
	if p.RequestedExecutionDate != "" {
		return checkDate("requestedExecutionDate", p.RequestedExecutionDate)
	}
	return nil
}

func (p PeriodicPayment) validate() error {
	if err := validateDebtor(p.DebtorAccount, p.DebtorName, p.UltimateDebtor); err != nil {
		return err
	}
	if err := p.Transfer.validate(""); err != nil {
		return err
	}
	if p.StartDate == "" {
		return invalid("startDate", "required")
	}
	if err := checkDate("startDate", p.StartDate); err != nil {
		return err
	}
	if p.EndDate != "" {
		if err := checkDate("endDate", p.EndDate); err != nil {
			return err
		}
		if p.EndDate < p.StartDate {
			return invalid("endDate", "before startDate")
		}
	}
	ok := false
	for _, f := range Frequencies() {
		ok = ok || p.Frequency == f
	}
	if !ok {
		return invalid("frequency", "required, one of Daily, Weekly, EveryTwoWeeks, Monthly, EveryTwoMonths, Quarterly, SemiAnnual, Annual, MonthlyVariable")
	}
	switch p.ExecutionRule {
	case "", ExecutionFollowing, ExecutionPreceding:
	default:
		return invalid("executionRule", "must be following or preceding")
	}
	if p.DayOfExecution != "" && !dayRE.MatchString(p.DayOfExecution) {
		return invalid("dayOfExecution", "must be a day of the month, 1 to 31")
	}
	return nil
}

func (p BulkPayment) validate() error {
	if err := validateDebtor(p.DebtorAccount, p.DebtorName, ""); err != nil {
		return err
	}
	if len(p.Payments) == 0 {
		return invalid("payments", "at least one payment is required")
	}
	for i, t := range p.Payments {
		if err := t.validate(fmt.Sprintf("payments[%d].", i)); err != nil {
			return err
		}
	}
	if p.RequestedExecutionDate != "" {
		if err := checkDate("requestedExecutionDate", p.RequestedExecutionDate); err != nil {
			return err
		}
	}
	if p.RequestedExecutionTime != "" {
		if _, err := time.Parse(time.RFC3339, p.RequestedExecutionTime); err != nil {
			return invalid("requestedExecutionTime", "must be an RFC 3339 date-time")
		}
	}
	return nil
}

func (r ConsentRequest) validate() error {
	for _, l := range []struct {
		name string
		refs []AccountReference
	}{{"accounts", r.Access.Accounts}, {"balances", r.Access.Balances}, {"transactions", r.Access.Transactions}} {
		for i, ref := range l.refs {
			if err := ref.validate(fmt.Sprintf("access.%s[%d]", l.name, i)); err != nil {
				return err
			}
		}
	}
	for _, s := range []struct {
		name string
		v    AccessScope
	}{{"availableAccounts", r.Access.AvailableAccounts}, {"availableAccountsWithBalance", r.Access.AvailableAccountsWithBalance}} {
		if s.v != "" && s.v != AllAccounts && s.v != AllAccountsWithOwnerName {
			return invalid("access."+s.name, "must be allAccounts or allAccountsWithOwnerName")
		}
	}
	if r.ValidUntil == "" {
		return invalid("validUntil", "required")
	}
	if err := checkDate("validUntil", r.ValidUntil); err != nil {
		return err
	}
	if r.FrequencyPerDay < 1 {
		return invalid("frequencyPerDay", "required, at least 1")
	}
	if !r.RecurringIndicator && r.FrequencyPerDay != 1 {
		return invalid("frequencyPerDay", "must be 1 when recurringIndicator is false")
	}
	return nil
}

func (r SigningBasketRequest) validate() error {
	if len(r.PaymentIDs)+len(r.ConsentIDs) == 0 {
		return invalid("paymentIds", "a basket needs at least one payment or consent")
	}
	seen := map[string]bool{}
	for _, l := range []struct {
		name string
		ids  []string
	}{{"paymentIds", r.PaymentIDs}, {"consentIds", r.ConsentIDs}} {
		for i, id := range l.ids {
			if strings.TrimSpace(id) == "" {
				return invalid(fmt.Sprintf("%s[%d]", l.name, i), "empty id")
			}
			if seen[id] {
				return invalid(fmt.Sprintf("%s[%d]", l.name, i), "listed twice")
			}
			seen[id] = true
		}
	}
	return nil
}

func (r FundsConfirmationRequest) validate() error {
	if err := r.Account.validate("account"); err != nil {
		return err
	}
	if err := r.InstructedAmount.validate("instructedAmount", true); err != nil {
		return err
	}
	if err := maxLen("cardNumber", r.CardNumber, 35); err != nil {
		return err
	}
	return maxLen("payee", r.Payee, 70)
}

func (c Contact) validate() error {
	if strings.TrimSpace(c.Name) == "" {
		return invalid("name", "required")
	}
	if strings.TrimSpace(c.Phone) == "" {
		return invalid("phone", "required")
	}
	if a, err := mail.ParseAddress(c.Email); err != nil || a.Address != c.Email {
		return invalid("email", "required, an e-mail address")
	}
	return nil
}

func (r AppRegistration) validate() error {
	if strings.TrimSpace(r.Name) == "" {
		return invalid("name", "required")
	}
	if err := maxLen("name", r.Name, 70); err != nil {
		return err
	}
	if len(r.Roles) == 0 {
		return invalid("roles", "at least one of AISP, PISP, PIISP")
	}
	seen := map[Role]bool{}
	for i, role := range r.Roles {
		switch role {
		case RoleAISP, RolePISP, RolePIISP:
		default:
			return invalid(fmt.Sprintf("roles[%d]", i), "must be AISP, PISP or PIISP")
		}
		if seen[role] {
			return invalid(fmt.Sprintf("roles[%d]", i), "listed twice")
		}
		seen[role] = true
	}
	if !hostRE.MatchString(r.RedirectHost) || len(r.RedirectHost) > 253 {
		return invalid("redirectHost", "required, a host name without scheme, port or path")
	}
	return nil
}

// jwtExpiry reads the exp claim of a JWT without verifying it (the bank verifies its
// tokens; the client only wants to renew before expiry). Zero when absent or unreadable.
func jwtExpiry(tok string) time.Time { return auth.UnverifiedExpiry(tok) }

// invalidAnswer is the error for a 2xx answer the client cannot use. For a call that
// changes state (a payment, a consent, a registration) the bank acted, so the error
// matches ErrOutcomeUnknown (see rest.UndecodableSuccess).
func invalidAnswer(endpoint string, resp *rest.Response, err error) error {
	id := ""
	if resp != nil {
		id = resp.RequestID
	}
	return rest.UndecodableSuccess(resp, fmt.Errorf("kh: unexpected answer to %s (request id %s): %w", endpoint, id, err))
}

package tpvtest

import (
	"fmt"
	"net/mail"
	"strings"
)

// Enrollment is a TPV submission as the documentation's example body shows it.
type Enrollment struct {
	DigitalDelivery      string    `json:"digital_delivery"`
	Channel              string    `json:"channel"`
	Language             string    `json:"language"`
	ExternalID           *string   `json:"external_id"`
	Market               string    `json:"market"`
	CompanyName          *string   `json:"company_name"`
	AuthorizingFirstName string    `json:"authorizing_first_name"`
	AuthorizingLastName  string    `json:"authorizing_last_name"`
	BillingFirstName     string    `json:"billing_first_name"`
	BillingLastName      string    `json:"billing_last_name"`
	BTN                  string    `json:"btn"`
	EmailAddress         string    `json:"email_address"`
	ServiceAddress       string    `json:"service_address"`
	ServiceCity          string    `json:"service_city"`
	ServiceState         string    `json:"service_state"`
	ServiceZip           string    `json:"service_zip"`
	BillingAddress       string    `json:"billing_address"`
	BillingCity          string    `json:"billing_city"`
	BillingState         string    `json:"billing_state"`
	BillingZip           string    `json:"billing_zip"`
	Vendor               string    `json:"vendor"`
	SalesAgentID         string    `json:"sales_agent_id"`
	Products             []Product `json:"products"`
}

// Product is one product of a submission.
type Product struct {
	ProgramCode    string          `json:"program_code"`
	AccountNumbers []AccountNumber `json:"account_numbers"`
}

// AccountNumber is one utility account number of a product.
type AccountNumber struct {
	AccountNumber      string `json:"account_number"`
	AccountNumberLabel string `json:"account_number_label"`
}

// validate returns the portal's message for the first rule the submission breaks,
// or "". The wording follows the documented example ("channel must be defined as one
// of dtd, tm, or retail.").
func (e *Enrollment) validate() string {
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
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return f.name + " is required."
		}
	}
	switch e.Channel {
	case "dtd", "tm", "retail":
	default:
		return "channel must be defined as one of dtd, tm, or retail."
	}
	switch e.Market {
	case "residential", "commercial":
	default:
		return "market must be defined as one of residential or commercial."
	}
	switch e.Language {
	case "english", "spanish":
	default:
		return "language must be defined as one of english or spanish."
	}
	if !allDigits(e.BTN) || (len(e.BTN) != 10 && len(e.BTN) != 11) {
		return "btn must be 10 or 11 digits."
	}
	if e.EmailAddress != "" && !validEmail(e.EmailAddress) {
		return "email_address must be a valid email address."
	}
	if !stateCodes[e.ServiceState] {
		return "service_state must be a valid state code."
	}
	if !validZip(e.ServiceZip) {
		return "service_zip must be a valid zip code."
	}
	if e.BillingState != "" && !stateCodes[e.BillingState] {
		return "billing_state must be a valid state code."
	}
	if e.BillingZip != "" && !validZip(e.BillingZip) {
		return "billing_zip must be a valid zip code."
	}
	if len(e.Products) == 0 {
		return "products must contain at least one product."
	}
	for i, p := range e.Products {
		if strings.TrimSpace(p.ProgramCode) == "" {
			return fmt.Sprintf("products.%d.program_code is required.", i)
		}
		if len(p.AccountNumbers) == 0 {
			return fmt.Sprintf("products.%d.account_numbers must contain at least one account number.", i)
		}
		for j, a := range p.AccountNumbers {
			if strings.TrimSpace(a.AccountNumber) == "" {
				return fmt.Sprintf("products.%d.account_numbers.%d.account_number is required.", i, j)
			}
		}
	}
	return ""
}

func allDigits(s string) bool {
	for _, r := range s {
		if r < '0' || r > '9' {
			return false
		}
	}
	return s != ""
}

func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return false
	}
	_, domain, ok := strings.Cut(s, "@")
	return ok && strings.Contains(domain, ".")
}

func validZip(s string) bool {
	switch len(s) {
	case 5:
		return allDigits(s)
	case 10:
		return allDigits(s[:5]) && s[5] == '-' && allDigits(s[6:])
	}
	return false
}

// stateCodes are the USPS codes of the states, DC and the inhabited territories.
var stateCodes = func() map[string]bool {
	m := map[string]bool{}
	for _, c := range strings.Fields(`AL AK AZ AR CA CO CT DE FL GA HI ID IL IN IA KS KY LA ME MD
		MA MI MN MS MO MT NE NV NH NJ NM NY NC ND OH OK OR PA RI SC SD TN TX UT VT VA WA WV WI WY
		DC AS GU MP PR VI`) {
		m[c] = true
	}
	return m
}()

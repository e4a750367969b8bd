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
// of dtd, tm, or retail."). It enforces what the documentation states: the channel
// list, the fields every sale carries and the shape of products. Language, market,
// state and ZIP or postal code, and the phone number's format are not restricted by
// the documentation and are accepted as given (e.g. "french", "ON", "K1A 0B1").
func (e *Enrollment) validate() string {
	switch e.Channel {
	case "dtd", "tm", "retail":
	default:
		return "channel must be defined as one of dtd, tm, or retail."
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
		{"language", e.Language},
		{"market", e.Market},
	}
	for _, f := range required {
		if strings.TrimSpace(f.value) == "" {
			return f.name + " is required."
		}
	}
	if e.EmailAddress != "" && !validEmail(e.EmailAddress) {
		return "email_address must be a valid email address."
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

// validEmail reports whether s is one plain address (name@domain, no display name).
func validEmail(s string) bool {
	a, err := mail.ParseAddress(s)
	return err == nil && a.Name == "" && a.Address == s
}

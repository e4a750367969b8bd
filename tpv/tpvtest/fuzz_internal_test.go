package tpvtest

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzValidate feeds arbitrary submission bodies to the fake's decoder and
// validator: it must never panic, and an accepted body must satisfy the documented
// rules.
func FuzzValidate(f *testing.F) {
	f.Add([]byte(`{"channel":"dtd","market":"residential","language":"english","authorizing_first_name":"B","authorizing_last_name":"J","billing_first_name":"B","billing_last_name":"J","btn":"19181112222","email_address":"bill@jones.com","service_address":"1 Main","service_city":"NY","service_state":"NY","service_zip":"10001","products":[{"program_code":"555","account_numbers":[{"account_number":"1"}]}]}`))
	f.Add([]byte(`{"email_address":"@","btn":"1"}`))
	f.Add([]byte(`{"products":[{"account_numbers":[{}]}]}`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, body []byte) {
		var e Enrollment
		if json.Unmarshal(body, &e) != nil {
			return
		}
		if e.validate() != "" {
			return
		}
		// The rules the documentation states (the phone number's format is not one of
		// them: the fake accepts it as given).
		ok := (e.Channel == "dtd" || e.Channel == "tm" || e.Channel == "retail") &&
			strings.TrimSpace(e.BTN) != "" && len(e.Products) > 0
		for _, p := range e.Products {
			ok = ok && strings.TrimSpace(p.ProgramCode) != "" && len(p.AccountNumbers) > 0
			for _, a := range p.AccountNumbers {
				ok = ok && strings.TrimSpace(a.AccountNumber) != ""
			}
		}
		if !ok {
			t.Fatalf("accepted an invalid enrollment: %s", body)
		}
	})
}

package tpvtest

import (
	"encoding/json"
	"testing"
)

// FuzzValidate feeds arbitrary submission bodies to the fake's decoder and
// validator: it must never panic, and an accepted body must satisfy the basic rules.
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
		if e.validate() == "" {
			if len(e.Products) == 0 || (len(e.BTN) != 10 && len(e.BTN) != 11) {
				t.Fatalf("accepted an invalid enrollment: %s", body)
			}
		}
	})
}

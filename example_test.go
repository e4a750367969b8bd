package banksdk_test

import (
	"errors"
	"fmt"
	"time"

	"github.com/banksdk/banksdk"
)

// Telling the errors of a call apart: a state-changing request whose outcome is
// unknown (never sent again by the SDK), and a server that asked to wait too long.
func Example_errors() {
	check := func(err error) {
		var ra *banksdk.RetryAfterError
		switch {
		case errors.Is(err, banksdk.ErrOutcomeUnknown):
			fmt.Println("may have been processed: look it up before sending again")
		case errors.As(err, &ra):
			fmt.Println("come back in", ra.RetryAfter)
		}
	}
	check(fmt.Errorf("submit: %w", &banksdk.TransportError{Method: "POST", URL: "https://portal.example/api/v1/tpv", OutcomeUnknown: true}))
	check(&banksdk.RetryAfterError{RetryAfter: time.Hour, MaxWait: 10 * time.Second})
	// Output:
	// may have been processed: look it up before sending again
	// come back in 1h0m0s
}

// A gateway answered 504 to a payment: the bank may have booked it. The error matches
// ErrOutcomeUnknown and is also the provider's error for the answer.
func ExampleOutcomeUnknownError() {
	apiErr := &banksdk.HTTPError{StatusCode: 504} // a provider's *APIError in practice
	var err error = &banksdk.OutcomeUnknownError{Provider: "kh", Method: "POST",
		URL: "https://api.bank.example/v1/payments/sepa-credit-transfers", StatusCode: 504, Err: apiErr}

	var he *banksdk.HTTPError
	fmt.Println(errors.Is(err, banksdk.ErrOutcomeUnknown), errors.As(err, &he), he.StatusCode)
	// Output: true true 504
}

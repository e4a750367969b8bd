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

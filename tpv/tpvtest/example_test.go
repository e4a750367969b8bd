package tpvtest_test

import (
	"context"
	"errors"
	"fmt"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// Testing code that submits a sale: the portal stores it but the answer is lost, and
// the test checks that the sale was submitted exactly once.
func ExampleNewServer() {
	portal := tpvtest.NewServer()
	defer portal.Close()
	c, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()), tpv.WithCredentials(portal.AppToken(), portal.AppSecret()))
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()
	if _, err := c.Products(context.Background()); err != nil { // logs in
		fmt.Println(err)
		return
	}
	portal.Inject(1, fake.DropAfter().On("POST", tpvtest.PathTPV))
	_, err = c.SubmitTPV(context.Background(), tpv.Enrollment{
		Channel: tpv.ChannelDTD, Language: tpv.LanguageEnglish, Market: tpv.MarketResidential,
		AuthorizingFirstName: "Bill", AuthorizingLastName: "Jones", BillingFirstName: "Bill", BillingLastName: "Jones",
		BTN: "19181112222", ServiceAddress: "123 Main St.", ServiceCity: "New York", ServiceState: "NY", ServiceZip: "10001",
		Products: []tpv.Product{{ProgramCode: "555", AccountNumbers: []tpv.AccountNumber{{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"}}}},
	})
	fmt.Println("outcome unknown:", errors.Is(err, tpv.ErrOutcomeUnknown))
	fmt.Println("stored submissions:", len(portal.Submissions()))
	// Output:
	// outcome unknown: true
	// stored submissions: 1
}

package tpv_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"log"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// exampleSale is the documentation's example sale.
func exampleSale() tpv.Enrollment {
	return tpv.Enrollment{
		DigitalDelivery:      tpv.DigitalDeliveryEmail,
		Channel:              tpv.ChannelDTD,
		Language:             tpv.LanguageEnglish,
		Market:               tpv.MarketResidential,
		AuthorizingFirstName: "Bill",
		AuthorizingLastName:  "Jones",
		BillingFirstName:     "Bill",
		BillingLastName:      "Jones",
		BTN:                  "19181112222",
		EmailAddress:         "bill@jones.com",
		ServiceAddress:       "123 Main St.",
		ServiceCity:          "New York",
		ServiceState:         "NY",
		ServiceZip:           "10001",
		BillingAddress:       "123 Main St.",
		BillingCity:          "New York",
		BillingState:         "NY",
		BillingZip:           "10001",
		Vendor:               "TPV Test",
		SalesAgentID:         "testest",
		Products: []tpv.Product{{
			ProgramCode: "555",
			AccountNumbers: []tpv.AccountNumber{
				{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"},
			},
		}},
	}
}

// Submit a sale for verification, then send the customer the digital link and
// queue the verification call. The fake portal stands in for the clients portal.
func ExampleClient_SubmitTPV() {
	portal := tpvtest.NewServer()
	defer portal.Close()

	c, err := tpv.NewClient(
		tpv.WithBaseURL(portal.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()
	ctx := context.Background()

	conf, err := c.SubmitTPV(ctx, exampleSale())
	switch {
	case errors.Is(err, tpv.ErrOutcomeUnknown):
		log.Fatal("the sale may be recorded: look it up before submitting it again")
	case err != nil:
		log.Fatal(err)
	}
	fmt.Println("confirmation code:", conf.Code)

	res, err := c.SendDigital(ctx, conf.Code)
	if err != nil {
		log.Fatal(err)
	}
	msg, _ := res.SuccessText()
	fmt.Println("digital:", msg)

	res, err = c.QueueCall(ctx, conf.Code)
	if err != nil {
		log.Fatal(err)
	}
	msg, _ = res.SuccessText()
	fmt.Println("call:", msg)
	// Output:
	// confirmation code: 00090894407
	// digital: digital link sent.
	// call: call queued.
}

// Validation reports every bad field at once, before anything is sent.
func ExampleEnrollment_Validate() {
	sale := exampleSale()
	sale.Channel = "web"
	sale.BTN = ""
	sale.Language = "french" // not restricted by the documentation: accepted
	sale.Products[0].AccountNumbers = nil

	var ve *tpv.ValidationError
	if errors.As(sale.Validate(), &ve) {
		for _, f := range ve.Fields {
			fmt.Println(f)
		}
	}
	// Output:
	// channel: must be one of dtd, tm, retail
	// btn: is required
	// products[0].account_numbers: must contain at least one account number
}

// A 400 from the portal is an *APIError carrying its message.
func ExampleAPIError() {
	portal := tpvtest.NewServer()
	defer portal.Close()
	c, err := tpv.NewClient(
		tpv.WithBaseURL(portal.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	_, err = c.QueueCall(context.Background(), "00000000001")
	var apiErr *tpv.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Message)
	}
	// Output:
	// 400 confirmation code not found.
}

// The portal's methods for products, digital send and queue call are ambiguous:
// the client starts with POST (or the method set with WithEndpointMethod) and, after
// a 405, tries the other method once.
func ExampleWithEndpointMethod() {
	portal := tpvtest.NewServer(tpvtest.WithEndpointMethod(tpvtest.EndpointProducts, "GET"))
	defer portal.Close()
	c, err := tpv.NewClient(
		tpv.WithBaseURL(portal.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, err := c.Products(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.Method, string(res.Success))
	// Output:
	// GET [{"program_code":"555","name":"TPV Test"}]
}

// Do reaches endpoints this package does not type, with the same login, headers,
// retries and errors. Here: the documentation's "testing auth" endpoint.
func ExampleDo() {
	portal := tpvtest.NewServer()
	defer portal.Close()
	c, err := tpv.NewClient(
		tpv.WithBaseURL(portal.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	out, err := tpv.Do[map[string]string](context.Background(), c, "POST", "api/v1/test/api?your=Parameters&here=1", nil)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(out["success"])
	// Output:
	// authenticated
}

// The login signature, as the portal's PHP example computes it.
func ExampleLoginSignature() {
	fmt.Println(tpv.LoginSignature("APk3v9QzR2mXw7", "c2VjcmV0LWZvci10ZXN0cw==", 1700000000))
	// Output:
	// eee32f27440ad26e03838e50fd2bd1e1de3d6bfdd1ec299646ae06f7a9d51a2a
}

// Credentials the process does not hold: the application token comes from a secret
// manager on every login, and the HMAC is computed where the secret lives (a KMS or
// a Vault transit key). The closures here stand in for those services.
func ExampleWithHMACSigner() {
	portal := tpvtest.NewServer()
	defer portal.Close()
	secretManager := func(context.Context) (auth.Token, error) {
		return auth.Token{Value: portal.AppToken()}, nil
	}
	kms := func(_ context.Context, msg []byte) ([]byte, error) {
		m := hmac.New(sha256.New, []byte(portal.AppSecret())) // the key stays in the KMS
		m.Write(msg)
		return m.Sum(nil), nil
	}
	c, err := tpv.NewClient(
		tpv.WithBaseURL(portal.URL()),
		tpv.WithAppTokenSource(auth.SourceFunc(secretManager)),
		tpv.WithHMACSigner(auth.HMACSignerFunc(kms)),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	res, err := c.Products(context.Background())
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(res.StatusCode, portal.Logins())
	// Output:
	// 200 1
}

// Command tpv runs the TPV flow: log in, list products, submit the documentation's
// example sale, send the digital verification link and queue the verification call.
//
// With TPV_BASE_URL, TPV_APP_TOKEN and TPV_APP_SECRET set it talks to that clients
// portal; otherwise it starts the fake portal from package tpvtest. Against a real
// portal the sale is submitted (and the customer contacted) only when
// TPV_SUBMIT_EXAMPLE_SALE=yes, because a submission creates a real verification.
//
//	go run ./examples/tpv
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	baseURL, appToken, appSecret := os.Getenv("TPV_BASE_URL"), os.Getenv("TPV_APP_TOKEN"), os.Getenv("TPV_APP_SECRET")
	live := baseURL != "" && appToken != "" && appSecret != ""
	submit := !live || os.Getenv("TPV_SUBMIT_EXAMPLE_SALE") == "yes"
	if !live {
		if baseURL != "" || appToken != "" || appSecret != "" {
			return errors.New("set all of TPV_BASE_URL, TPV_APP_TOKEN and TPV_APP_SECRET, or none to use the fake portal")
		}
		portal := tpvtest.NewServer()
		defer portal.Close()
		baseURL, appToken, appSecret = portal.URL(), portal.AppToken(), portal.AppSecret()
		fmt.Println("using the fake portal at", baseURL)
	} else {
		fmt.Println("using the clients portal at", baseURL)
	}

	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	c, err := tpv.NewClient(
		tpv.WithBaseURL(baseURL),
		tpv.WithCredentials(appToken, appSecret),
		tpv.WithLogger(logger),
		tpv.WithUserAgent("banksdk-example-tpv"),
	)
	if err != nil {
		return err
	}

	if err := c.Login(ctx); err != nil {
		return err
	}
	fmt.Println("logged in (auth token cached for 30 minutes)")

	products, err := c.Products(ctx)
	if err != nil {
		return fmt.Errorf("products: %w", err)
	}
	fmt.Printf("products (%s): %s\n", products.Method, shorten(string(products.Raw), 300))

	if !submit {
		fmt.Println("not submitting the example sale to a real portal; set TPV_SUBMIT_EXAMPLE_SALE=yes to do so")
		return nil
	}

	conf, err := c.SubmitTPV(ctx, exampleSale())
	if errors.Is(err, tpv.ErrOutcomeUnknown) {
		return fmt.Errorf("the sale may have been recorded; look it up in the portal before submitting it again: %w", err)
	}
	if err != nil {
		return fmt.Errorf("submit: %w", err)
	}
	fmt.Println("TPV submitted, confirmation code", conf.Code)

	digital, err := c.SendDigital(ctx, conf.Code)
	if err != nil {
		return fmt.Errorf("digital send: %w", err)
	}
	fmt.Printf("digital link (%s): %s\n", digital.Method, successText(digital))

	call, err := c.QueueCall(ctx, conf.Code)
	if err != nil {
		return fmt.Errorf("queue call: %w", err)
	}
	fmt.Printf("call queued (%s): %s\n", call.Method, successText(call))
	return nil
}

// exampleSale is the documentation's example sale.
func exampleSale() tpv.Enrollment {
	return tpv.Enrollment{
		DigitalDelivery:      tpv.DigitalDeliveryEmail,
		Channel:              tpv.ChannelDTD,
		Language:             tpv.LanguageEnglish,
		ExternalID:           nil,
		Market:               tpv.MarketResidential,
		CompanyName:          nil,
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

func successText(r tpv.Result) string {
	if s, ok := r.SuccessText(); ok {
		return s
	}
	return shorten(string(r.Raw), 300)
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

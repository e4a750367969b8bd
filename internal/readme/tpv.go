package main

import (
	"context"
	"errors"
	"fmt"
	"log"

	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// sale is the TPV documentation's example submission.
func sale() tpv.Enrollment {
	return tpv.Enrollment{
		DigitalDelivery: tpv.DigitalDeliveryEmail, Channel: tpv.ChannelDTD,
		Language: tpv.LanguageEnglish, Market: tpv.MarketResidential,
		AuthorizingFirstName: "Bill", AuthorizingLastName: "Jones",
		BillingFirstName: "Bill", BillingLastName: "Jones",
		BTN: "19181112222", EmailAddress: "bill@jones.com",
		ServiceAddress: "123 Main St.", ServiceCity: "New York", ServiceState: "NY", ServiceZip: "10001",
		BillingAddress: "123 Main St.", BillingCity: "New York", BillingState: "NY", BillingZip: "10001",
		Vendor: "TPV Test", SalesAgentID: "testest",
		Products: []tpv.Product{{ProgramCode: "555", AccountNumbers: []tpv.AccountNumber{
			{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"}}}},
	}
}

func runTPV(ctx context.Context) error {
	portal := tpvtest.NewServer()
	defer portal.Close()
	portalURL, appToken, appSecret, enrollment := portal.URL(), portal.AppToken(), portal.AppSecret(), sale()

	// readme:begin tpv
	c, err := tpv.NewClient(tpv.WithBaseURL(portalURL), tpv.WithCredentials(appToken, appSecret))
	if err != nil {
		return err
	}
	defer c.Close()
	conf, err := c.SubmitTPV(ctx, enrollment) // logs in (HMAC) on first use
	var invalid *tpv.ValidationError
	switch {
	case errors.Is(err, tpv.ErrOutcomeUnknown):
		return fmt.Errorf("the sale may be recorded, look it up before submitting again: %w", err)
	case errors.As(err, &invalid): // names every bad field; nothing was sent
		return err
	case err != nil:
		return err
	}
	if _, err := c.SendDigital(ctx, conf.Code); err != nil { // contacts the customer: never re-sent
		return err
	}
	// readme:end tpv

	if n := len(portal.Submissions()); n != 1 {
		return fmt.Errorf("tpv: %d submissions stored, want 1", n)
	}
	log.Printf("tpv: confirmation %s", conf.Code)
	return nil
}

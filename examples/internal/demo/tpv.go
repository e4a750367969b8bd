package demo

import (
	"context"
	"errors"
	"fmt"

	"github.com/banksdk/banksdk/tpv"
)

// TPVOptions tunes the TPV flow.
type TPVOptions struct {
	// Submit sends the example sale (and contacts the customer): always against the
	// fake, only on request against a real portal.
	Submit bool
}

// TPV logs in, lists products, submits the documentation's example sale, sends the
// digital verification link and queues the verification call.
func TPV(ctx context.Context, s Stepper, c *tpv.Client, o TPVOptions) error {
	if err := s.Step("log in (HMAC-signed, token cached 30 min)", func() (string, error) {
		return "auth token cached", c.Login(ctx)
	}); err != nil {
		return err
	}
	if err := s.Step("list products", func() (string, error) {
		p, err := c.Products(ctx)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s %s", p.Method, Shorten(string(p.Raw), 60)), nil
	}); err != nil {
		return err
	}
	if !o.Submit {
		return nil
	}
	var code string
	if err := s.Step("submit the example sale", func() (string, error) {
		conf, err := c.SubmitTPV(ctx, ExampleSale())
		if errors.Is(err, tpv.ErrOutcomeUnknown) {
			return "", fmt.Errorf("the sale may have been recorded; look it up before submitting again: %w", err)
		}
		if err != nil {
			return "", err
		}
		code = conf.Code
		return "confirmation code " + code, nil
	}); err != nil {
		return err
	}
	if err := s.Step("send the digital verification link", func() (string, error) {
		r, err := c.SendDigital(ctx, code)
		return resultText(r), err
	}); err != nil {
		return err
	}
	return s.Step("queue the verification call", func() (string, error) {
		r, err := c.QueueCall(ctx, code)
		return resultText(r), err
	})
}

func resultText(r tpv.Result) string {
	if s, ok := r.SuccessText(); ok {
		return r.Method + " " + Shorten(s, 60)
	}
	return r.Method + " " + Shorten(string(r.Raw), 60)
}

// ExampleSale is the example sale from the TPV documentation.
func ExampleSale() tpv.Enrollment {
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
			ProgramCode:    "555",
			AccountNumbers: []tpv.AccountNumber{{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"}},
		}},
	}
}

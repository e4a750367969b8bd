package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func init() {
	register("tpv", func(ctx context.Context, steps *exampleutil.Steps, logger *slog.Logger) error {
		portal := tpvtest.NewServer()
		defer portal.Close()
		c, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()),
			tpv.WithCredentials(portal.AppToken(), portal.AppSecret()), tpv.WithLogger(logger))
		if err != nil {
			return err
		}
		defer c.Close()

		steps.Begin("list products (logs in first, HMAC-signed)")
		products, err := c.Products(ctx)
		if err != nil {
			return steps.Fail(err)
		}
		steps.Done("%s, %d bytes", products.Method, len(products.Raw))

		steps.Begin("submit a sale")
		sale := tpv.Enrollment{Channel: tpv.ChannelTM, Language: tpv.LanguageEnglish, Market: tpv.MarketCommercial,
			AuthorizingFirstName: "Ada", AuthorizingLastName: "Byron", BillingFirstName: "Ada", BillingLastName: "Byron",
			BTN: "12125550100", ServiceAddress: "1 Example Ave.", ServiceCity: "Albany", ServiceState: "NY", ServiceZip: "12207",
			Products: []tpv.Product{{ProgramCode: "555", AccountNumbers: []tpv.AccountNumber{{AccountNumber: "42"}}}}}
		conf, err := c.SubmitTPV(ctx, sale)
		if errors.Is(err, tpv.ErrOutcomeUnknown) {
			return steps.Fail(fmt.Errorf("look the sale up before submitting it again: %w", err)) // never sent twice
		}
		if err != nil {
			return steps.Fail(err) // a *tpv.ValidationError names every bad field; nothing was sent
		}
		steps.Done("confirmation code %s", conf.Code)

		steps.Begin("send the digital verification link")
		if _, err := c.SendDigital(ctx, conf.Code); err != nil {
			return steps.Fail(err) // ErrOutcomeUnknown: the customer may have the link
		}
		steps.Done("%d link(s) sent by the fake portal", len(portal.DigitalSends()))
		return nil
	})
}

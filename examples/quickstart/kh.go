package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

func init() {
	register("kh", func(ctx context.Context, steps *exampleutil.Steps, logger *slog.Logger) error {
		srv := khtest.NewServer()
		defer srv.Close()
		c, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithClientCertificate(srv.ClientCertificate()),
			kh.WithRootCAs(srv.RootCAs()), kh.WithLogger(logger))
		if err != nil {
			return err
		}
		defer c.Close()
		psuID, password, otp := srv.PSU()
		psu := []kh.RequestOption{kh.PSUID(psuID), kh.PSUIPAddress("192.0.2.10"), kh.RedirectPreferred(false)}

		steps.Begin("register a TPP application (mutual TLS)")
		app, err := c.TPP.RegisterApp(ctx, kh.AppRegistration{Name: "banksdk quickstart",
			Roles: []kh.Role{kh.RoleAISP, kh.RolePISP}, RedirectHost: "tpp.example.com"})
		if err != nil {
			return steps.Fail(err)
		}
		if err := c.UseApplication(app.ID, app.Token.Reveal()); err != nil {
			return steps.Fail(err)
		}
		steps.Done("application %s", app.ID)

		steps.Begin("PSU identification consent, embedded SCA")
		consent, err := c.Consents.Create(ctx, kh.PSUIdentificationConsent(time.Now().AddDate(0, 1, 0).Format("2006-01-02")), psu...)
		if err != nil {
			return steps.Fail(err)
		}
		a, err := c.Consents.Authorisations.Start(ctx, consent.ConsentID, kh.AuthorisationRequest{}, psu...)
		if err != nil {
			return steps.Fail(err)
		}
		// The fake offers one SCA method: password, method, OTP.
		up, err := c.Consents.Authorisations.Update(ctx, consent.ConsentID, a.AuthorisationID, kh.PSUPassword(password))
		if err == nil && len(up.ScaMethods) > 0 {
			up, err = c.Consents.Authorisations.Update(ctx, consent.ConsentID, a.AuthorisationID, kh.SelectMethod(up.ScaMethods[0].AuthenticationMethodID))
		}
		if err == nil {
			up, err = c.Consents.Authorisations.Update(ctx, consent.ConsentID, a.AuthorisationID, kh.OTP(otp))
		}
		if err != nil {
			return steps.Fail(err)
		}
		steps.Done("%s: SCA %s", consent.ConsentID, up.ScaStatus)

		steps.Begin("list the PSU's accounts (consent token picked by the client)")
		list, err := c.Accounts.List(ctx, consent.ConsentID)
		if err != nil {
			return steps.Fail(err)
		}
		if len(list.Accounts) == 0 {
			return steps.Fail(errors.New("no accounts"))
		}
		steps.Done("%d account(s), first %s", len(list.Accounts), list.Accounts[0].IBAN)

		steps.Begin("initiate a payment (sent once)")
		acc := list.Accounts[0]
		pay, err := c.Payments.Initiate(ctx, kh.SinglePayment{DebtorAccount: acc.Reference(), Transfer: kh.Transfer{
			InstructedAmount: kh.Amount{Currency: acc.Currency, Amount: "10.00"},
			CreditorAccount:  kh.AccountReference{IBAN: "HU42117730161111101800000000"}, CreditorName: "Example Kft.",
		}}, psu...)
		if errors.Is(err, kh.ErrOutcomeUnknown) {
			return steps.Fail(fmt.Errorf("look it up with X-Request-ID %s before initiating it again: %w", kh.RequestIDOf(err), err))
		}
		if err != nil {
			return steps.Fail(err)
		}
		steps.Done("%s %s", pay.PaymentID, pay.TransactionStatus)
		return nil
	})
}

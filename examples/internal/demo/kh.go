package demo

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/banksdk/banksdk/kh"
)

// KHOptions describes the PSU and the TPP for the K&H flow.
type KHOptions struct {
	// RegisterApp registers a new TPP application first (the fake bank; a real TPP
	// registers once).
	RegisterApp bool
	// PSUID, Password and OTP answer embedded SCA.
	PSUID, Password string
	OTP             func() (string, error)
	// IP is the PSU's IP address (PSU-IP-Address).
	IP string
	// CreditorIBAN receives the example payment; empty skips the payment.
	CreditorIBAN string
	// PollWait is the pause between payment status polls.
	PollWait time.Duration
}

// KH registers an application, creates a PSU identification consent and authorises
// it with embedded SCA, lists accounts, authorises balance and transaction consents
// in one signing basket, reads balances and every page of transactions, initiates a
// payment, authorises it and polls its status.
func KH(ctx context.Context, s Stepper, c *kh.Client, o KHOptions) error {
	f := &khFlow{ctx: ctx, s: s, c: c, o: o}
	return f.run()
}

type khFlow struct {
	ctx context.Context
	s   Stepper
	c   *kh.Client
	o   KHOptions
}

func (f *khFlow) run() error {
	ctx, c, s := f.ctx, f.c, f.s
	if f.o.RegisterApp {
		if err := s.Step("register a TPP application", func() (string, error) {
			app, err := c.TPP.RegisterApp(ctx, kh.AppRegistration{Name: "banksdk example",
				Roles: []kh.Role{kh.RoleAISP, kh.RolePISP}, RedirectHost: "tpp.example.com"})
			if err != nil {
				return "", err
			}
			return "application " + app.ID, c.UseApplication(app.ID, app.Token.Reveal())
		}); err != nil {
			return err
		}
	}

	validUntil := time.Now().AddDate(0, 3, 0).Format("2006-01-02")
	var pc *kh.ConsentCreated
	if err := s.Step("create a PSU identification consent", func() (string, error) {
		var err error
		pc, err = c.Consents.Create(ctx, kh.PSUIdentificationConsent(validUntil), f.psuHeaders()...)
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (%s, SCA %s)", pc.ConsentID, pc.ConsentStatus, pc.SCAApproach), nil
	}); err != nil {
		return err
	}
	if err := s.Step("authorise it with embedded SCA", func() (string, error) {
		return f.embedded(c.Consents.Authorisations, pc.ConsentID, nil)
	}); err != nil {
		return err
	}
	if err := s.Step("consent status (issues the consent token)", func() (string, error) {
		st, err := c.Consents.Status(ctx, pc.ConsentID)
		if err != nil {
			return "", err
		}
		if st.ConsentStatus != kh.ConsentValid {
			return "", fmt.Errorf("consent %s is %s", pc.ConsentID, st.ConsentStatus)
		}
		return fmt.Sprintf("%s, token received: %v", st.ConsentStatus, st.TokenIssued), nil
	}); err != nil {
		return err
	}

	var acc kh.AccountDetails
	if err := s.Step("list the PSU's accounts", func() (string, error) {
		list, err := c.Accounts.List(ctx, pc.ConsentID)
		if err != nil {
			return "", err
		}
		if len(list.Accounts) == 0 {
			return "", errors.New("the PSU has no accounts")
		}
		acc = list.Accounts[0]
		return fmt.Sprintf("%d account(s), first %s %s", len(list.Accounts), acc.IBAN, acc.Currency), nil
	}); err != nil {
		return err
	}

	var bal, txc *kh.ConsentCreated
	if err := s.Step("balance and transaction consents in a signing basket", func() (string, error) {
		explicit := append(f.psuHeaders(), kh.ExplicitAuthorisationPreferred(true))
		var err error
		if bal, err = c.Consents.Create(ctx, kh.BalanceConsent(validUntil, acc.Reference()), explicit...); err != nil {
			return "", fmt.Errorf("balance consent: %w", err)
		}
		if txc, err = c.Consents.Create(ctx, kh.TransactionConsent(validUntil, acc.Reference()), explicit...); err != nil {
			return "", fmt.Errorf("transaction consent: %w", err)
		}
		basket, err := c.SigningBaskets.Create(ctx, kh.SigningBasketRequest{ConsentIDs: []string{bal.ConsentID, txc.ConsentID}}, f.psuHeaders()...)
		if err != nil {
			return "", fmt.Errorf("signing basket: %w", err)
		}
		authID := basket.Links.AuthorisationID()
		if authID == "" {
			ids, err := c.SigningBaskets.Authorisations.List(ctx, basket.BasketID)
			if err != nil || len(ids.AuthorisationIDs) == 0 {
				return "", fmt.Errorf("find the basket's authorisation: %v", err)
			}
			authID = ids.AuthorisationIDs[0]
		}
		sca, err := f.update(func(r kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error) {
			return c.SigningBaskets.Authorisations.Update(ctx, basket.BasketID, authID, r, kh.UseConsent(pc.ConsentID))
		})
		return fmt.Sprintf("basket %s: %s", basket.BasketID, sca), err
	}); err != nil {
		return err
	}

	if err := s.Step("read balances", func() (string, error) {
		b, err := c.Accounts.Balances(ctx, bal.ConsentID, acc.ResourceID, kh.PSUIPAddress(f.o.IP))
		if err != nil {
			return "", err
		}
		if len(b.Balances) == 0 {
			return "no balances", nil
		}
		first := b.Balances[0]
		return fmt.Sprintf("%d balance(s), %s %s %s", len(b.Balances), first.BalanceType, first.BalanceAmount.Amount, first.BalanceAmount.Currency), nil
	}); err != nil {
		return err
	}
	if err := s.Step("read every page of transactions", func() (string, error) {
		from := time.Now().AddDate(0, -3, 0).Format("2006-01-02")
		n := 0
		for _, err := range c.Accounts.Transactions(ctx, txc.ConsentID, acc.ResourceID,
			kh.TransactionQuery{BookingStatus: kh.BookingBoth, DateFrom: from}, kh.PSUIPAddress(f.o.IP)) {
			if err != nil {
				return "", err
			}
			n++
		}
		return fmt.Sprintf("%d transactions since %s", n, from), nil
	}); err != nil {
		return err
	}

	if f.o.CreditorIBAN == "" {
		return nil
	}
	var pay *kh.PaymentInitiation
	if err := s.Step("initiate a payment", func() (string, error) {
		var err error
		pay, err = c.Payments.Initiate(ctx, kh.SinglePayment{
			DebtorAccount: acc.Reference(),
			Transfer: kh.Transfer{
				InstructedAmount:                  kh.Amount{Currency: acc.Currency, Amount: "1000.00"},
				CreditorAccount:                   kh.AccountReference{IBAN: f.o.CreditorIBAN},
				CreditorName:                      "Example Creditor Kft.",
				RemittanceInformationUnstructured: "banksdk example",
			},
		}, f.psuHeaders()...)
		if errors.Is(err, kh.ErrOutcomeUnknown) {
			return "", fmt.Errorf("payment outcome unknown; look it up with X-Request-ID %s: %w", kh.RequestIDOf(err), err)
		}
		if err != nil {
			return "", err
		}
		return fmt.Sprintf("%s (%s, request id %s)", pay.PaymentID, pay.TransactionStatus, pay.RequestID), nil
	}); err != nil {
		return err
	}
	if err := s.Step("authorise the payment with embedded SCA", func() (string, error) {
		return f.embedded(c.Payments.Authorisations, pay.PaymentID, []kh.RequestOption{kh.UseConsent(pc.ConsentID)})
	}); err != nil {
		return err
	}
	return s.Step("poll the payment's status until final", func() (string, error) {
		for range 10 {
			ps, err := c.Payments.Status(ctx, pay.PaymentID)
			if err != nil {
				return "", err
			}
			if ps.TransactionStatus.Final() {
				return string(ps.TransactionStatus), nil
			}
			select {
			case <-ctx.Done():
				return "", ctx.Err()
			case <-time.After(f.o.PollWait):
			}
		}
		return "not final yet; stopped polling", nil
	})
}

func (f *khFlow) psuHeaders() []kh.RequestOption {
	opts := []kh.RequestOption{kh.PSUIPAddress(f.o.IP), kh.RedirectPreferred(false)}
	if f.o.PSUID != "" {
		opts = append(opts, kh.PSUID(f.o.PSUID))
	}
	return opts
}

// embedded starts an authorisation and runs it to the end.
func (f *khFlow) embedded(auths *kh.Authorisations, parentID string, updateOpts []kh.RequestOption) (string, error) {
	a, err := auths.Start(f.ctx, parentID, kh.AuthorisationRequest{}, f.psuHeaders()...)
	if err != nil {
		return "", err
	}
	return f.update(func(r kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error) {
		return auths.Update(f.ctx, parentID, a.AuthorisationID, r, updateOpts...)
	})
}

// update drives embedded SCA: password, method choice (the first offered), OTP.
func (f *khFlow) update(put func(kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error)) (string, error) {
	up, err := put(kh.PSUPassword(f.o.Password))
	if err != nil {
		return "", err
	}
	method := ""
	if up.ScaStatus == kh.ScaPSUAuthenticated && len(up.ScaMethods) > 0 {
		m := up.ScaMethods[0]
		method = fmt.Sprintf("%s (%s)", m.Name, m.AuthenticationType)
		if up, err = put(kh.SelectMethod(m.AuthenticationMethodID)); err != nil {
			return "", err
		}
	}
	if up.ScaStatus == kh.ScaMethodSelected {
		otp, err := f.o.OTP()
		if err != nil {
			return "", err
		}
		if up, err = put(kh.OTP(otp)); err != nil {
			return "", err
		}
	}
	if up.ScaStatus != kh.ScaFinalised {
		return "", fmt.Errorf("SCA ended %s", up.ScaStatus)
	}
	return fmt.Sprintf("password, %s, OTP: SCA %s", method, up.ScaStatus), nil
}

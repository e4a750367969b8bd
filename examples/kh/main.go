// Command kh runs the K&H PSD2 flow: register an application, create a PSU
// identification consent and authorise it with embedded SCA, list the PSU's accounts,
// create a balance and a transaction consent and authorise both in one signing basket,
// read balances and every page of transactions, then initiate a payment, authorise it
// and poll its status.
//
// With KH_BASE_URL, KH_CERT_FILE, KH_KEY_FILE and KH_APP_TOKEN set it talks to that
// bank (optional: KH_APP_ID to renew the application token, KH_PSU_ID,
// KH_PSU_PASSWORD, KH_OTP (else read from standard input), KH_PSU_IP,
// KH_CREDITOR_IBAN to also initiate a payment); otherwise it starts the fake bank of
// package khtest. It prints what it does, never a token or password, and exits
// non-zero on failure.
package main

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kh example:", err)
		os.Exit(1)
	}
}

// psu holds what embedded SCA needs from the PSU.
type psu struct {
	id, password string
	otp          func() (string, error)
}

type flow struct {
	ctx      context.Context
	c        *kh.Client
	psu      psu
	ip       string
	fake     bool
	creditor string
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	f := &flow{ctx: ctx, ip: envOr("KH_PSU_IP", "192.0.2.10")}
	var opts []kh.Option
	base := os.Getenv("KH_BASE_URL")
	if base != "" {
		for _, v := range []string{"KH_CERT_FILE", "KH_KEY_FILE", "KH_APP_TOKEN", "KH_PSU_PASSWORD"} {
			if os.Getenv(v) == "" {
				return fmt.Errorf("%s is required with KH_BASE_URL", v)
			}
		}
		opts = append(opts, kh.WithBaseURL(base),
			kh.WithClientCertificateFiles(os.Getenv("KH_CERT_FILE"), os.Getenv("KH_KEY_FILE")),
			kh.WithAppToken(os.Getenv("KH_APP_TOKEN")))
		if id := os.Getenv("KH_APP_ID"); id != "" {
			opts = append(opts, kh.WithApplicationID(id))
		}
		f.psu = psu{id: os.Getenv("KH_PSU_ID"), password: os.Getenv("KH_PSU_PASSWORD"), otp: otpFromEnvOrStdin}
		f.creditor = os.Getenv("KH_CREDITOR_IBAN")
		fmt.Println("bank:", base)
	} else {
		srv := khtest.NewServer()
		defer srv.Close()
		id, pw, otp := srv.PSU()
		f.psu = psu{id: id, password: pw, otp: func() (string, error) { return otp, nil }}
		f.fake, f.creditor = true, "HU42117730161111101800000000"
		opts = append(opts, kh.WithBaseURL(srv.URL()), kh.WithClientCertificate(srv.ClientCertificate()),
			kh.WithRootCAs(srv.RootCAs()))
		fmt.Println("bank: the fake K&H bank (set KH_BASE_URL, KH_CERT_FILE, KH_KEY_FILE and KH_APP_TOKEN for a real one)")
	}
	opts = append(opts, kh.WithLogger(logger), kh.WithUserAgent("banksdk-example-kh/1"))
	c, err := kh.NewClient(opts...)
	if err != nil {
		return err
	}
	f.c = c
	return f.run()
}

func (f *flow) run() error {
	ctx, c := f.ctx, f.c
	if f.fake {
		// A new application; a real TPP registers once, not on every run.
		app, err := c.TPP.RegisterApp(ctx, kh.AppRegistration{Name: "banksdk example",
			Roles: []kh.Role{kh.RoleAISP, kh.RolePISP}, RedirectHost: "tpp.example.com"})
		if err != nil {
			return fmt.Errorf("register application: %w", err)
		}
		if err := c.UseApplication(app.ID, app.Token.Reveal()); err != nil {
			return err
		}
		fmt.Println("registered application", app.ID)
	}

	// 1. PSU identification consent, embedded SCA.
	validUntil := time.Now().AddDate(0, 3, 0).Format("2006-01-02")
	pc, err := c.Consents.Create(ctx, kh.PSUIdentificationConsent(validUntil), f.psuHeaders()...)
	if err != nil {
		return fmt.Errorf("create PSU identification consent: %w", err)
	}
	fmt.Printf("created PSU identification consent %s (%s, SCA %s)\n", pc.ConsentID, pc.ConsentStatus, pc.SCAApproach)
	if err := f.embedded(c.Consents.Authorisations, pc.ConsentID, nil); err != nil {
		return fmt.Errorf("authorise consent %s: %w", pc.ConsentID, err)
	}
	st, err := c.Consents.Status(ctx, pc.ConsentID)
	if err != nil {
		return err
	}
	fmt.Printf("consent %s is %s (token received: %v)\n", pc.ConsentID, st.ConsentStatus, st.TokenIssued)
	if st.ConsentStatus != kh.ConsentValid {
		return fmt.Errorf("consent %s is %s", pc.ConsentID, st.ConsentStatus)
	}

	// 2. The PSU's accounts.
	list, err := c.Accounts.List(ctx, pc.ConsentID)
	if err != nil {
		return fmt.Errorf("list accounts: %w", err)
	}
	if len(list.Accounts) == 0 {
		return errors.New("the PSU has no accounts")
	}
	for _, a := range list.Accounts {
		fmt.Printf("account %s %s %s %q\n", a.ResourceID, a.IBAN, a.Currency, a.Name)
	}
	acc := list.Accounts[0]

	// 3. Balance and transaction consents, authorised together in a signing basket.
	explicit := append(f.psuHeaders(), kh.ExplicitAuthorisationPreferred(true))
	bal, err := c.Consents.Create(ctx, kh.BalanceConsent(validUntil, acc.Reference()), explicit...)
	if err != nil {
		return fmt.Errorf("create balance consent: %w", err)
	}
	txc, err := c.Consents.Create(ctx, kh.TransactionConsent(validUntil, acc.Reference()), explicit...)
	if err != nil {
		return fmt.Errorf("create transaction consent: %w", err)
	}
	basket, err := c.SigningBaskets.Create(ctx, kh.SigningBasketRequest{ConsentIDs: []string{bal.ConsentID, txc.ConsentID}}, f.psuHeaders()...)
	if err != nil {
		return fmt.Errorf("create signing basket: %w", err)
	}
	fmt.Printf("signing basket %s holds consents %s and %s\n", basket.BasketID, bal.ConsentID, txc.ConsentID)
	authID := basket.Links.AuthorisationID()
	if authID == "" {
		ids, err := c.SigningBaskets.Authorisations.List(ctx, basket.BasketID)
		if err != nil || len(ids.AuthorisationIDs) == 0 {
			return fmt.Errorf("find the basket's authorisation: %v", err)
		}
		authID = ids.AuthorisationIDs[0]
	}
	if err := f.update(func(r kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error) {
		return c.SigningBaskets.Authorisations.Update(ctx, basket.BasketID, authID, r, kh.UseConsent(pc.ConsentID))
	}); err != nil {
		return fmt.Errorf("authorise basket %s: %w", basket.BasketID, err)
	}
	fmt.Println("signing basket authorised")

	// 4. Balances and every page of transactions.
	balances, err := c.Accounts.Balances(ctx, bal.ConsentID, acc.ResourceID, kh.PSUIPAddress(f.ip))
	if err != nil {
		return fmt.Errorf("balances: %w", err)
	}
	for _, b := range balances.Balances {
		fmt.Printf("balance %s: %s %s\n", b.BalanceType, b.BalanceAmount.Amount, b.BalanceAmount.Currency)
	}
	from := time.Now().AddDate(0, -3, 0).Format("2006-01-02")
	n := 0
	for tx, err := range c.Accounts.Transactions(ctx, txc.ConsentID, acc.ResourceID,
		kh.TransactionQuery{BookingStatus: kh.BookingBoth, DateFrom: from}, kh.PSUIPAddress(f.ip)) {
		if err != nil {
			return fmt.Errorf("transactions: %w", err)
		}
		n++
		if n <= 3 {
			fmt.Printf("transaction %s %s %s %s %s\n", tx.TransactionID, tx.BookingStatus, tx.BookingDate,
				tx.TransactionAmount.Amount, tx.TransactionAmount.Currency)
		}
	}
	fmt.Printf("read %d transactions since %s\n", n, from)

	// 5. A payment, authorised with embedded SCA, then its status.
	if f.creditor == "" {
		fmt.Println("no KH_CREDITOR_IBAN: payment skipped")
		return nil
	}
	pay, err := c.Payments.Initiate(ctx, kh.SinglePayment{
		DebtorAccount: acc.Reference(),
		Transfer: kh.Transfer{
			InstructedAmount:                  kh.Amount{Currency: acc.Currency, Amount: "1000.00"},
			CreditorAccount:                   kh.AccountReference{IBAN: f.creditor},
			CreditorName:                      "Example Creditor Kft.",
			RemittanceInformationUnstructured: "banksdk example",
		},
	}, f.psuHeaders()...)
	if err != nil {
		if errors.Is(err, kh.ErrOutcomeUnknown) {
			return fmt.Errorf("payment outcome unknown; look it up with X-Request-ID %s: %w", kh.RequestIDOf(err), err)
		}
		return fmt.Errorf("initiate payment: %w", err)
	}
	fmt.Printf("initiated payment %s (%s, request id %s)\n", pay.PaymentID, pay.TransactionStatus, pay.RequestID)
	if err := f.embedded(c.Payments.Authorisations, pay.PaymentID, []kh.RequestOption{kh.UseConsent(pc.ConsentID)}); err != nil {
		return fmt.Errorf("authorise payment %s: %w", pay.PaymentID, err)
	}
	for i := 0; i < 10; i++ {
		ps, err := c.Payments.Status(ctx, pay.PaymentID)
		if err != nil {
			return err
		}
		fmt.Printf("payment %s status %s\n", pay.PaymentID, ps.TransactionStatus)
		if ps.TransactionStatus.Final() {
			return nil
		}
		if !f.fake {
			time.Sleep(2 * time.Second)
		}
	}
	fmt.Println("payment not final yet; stopped polling")
	return nil
}

func (f *flow) psuHeaders() []kh.RequestOption {
	opts := []kh.RequestOption{kh.PSUIPAddress(f.ip), kh.RedirectPreferred(false)}
	if f.psu.id != "" {
		opts = append(opts, kh.PSUID(f.psu.id))
	}
	return opts
}

// embedded starts an authorisation and runs it to the end.
func (f *flow) embedded(auths *kh.Authorisations, parentID string, updateOpts []kh.RequestOption) error {
	a, err := auths.Start(f.ctx, parentID, kh.AuthorisationRequest{}, f.psuHeaders()...)
	if err != nil {
		return err
	}
	return f.update(func(r kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error) {
		return auths.Update(f.ctx, parentID, a.AuthorisationID, r, updateOpts...)
	})
}

// update drives embedded SCA: password, method choice (the first offered), OTP.
func (f *flow) update(put func(kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error)) error {
	up, err := put(kh.PSUPassword(f.psu.password))
	if err != nil {
		return err
	}
	if up.ScaStatus == kh.ScaPSUAuthenticated && len(up.ScaMethods) > 0 {
		m := up.ScaMethods[0]
		fmt.Printf("  SCA method: %s (%s)\n", m.Name, m.AuthenticationType)
		if up, err = put(kh.SelectMethod(m.AuthenticationMethodID)); err != nil {
			return err
		}
	}
	if up.ScaStatus == kh.ScaMethodSelected {
		otp, err := f.psu.otp()
		if err != nil {
			return err
		}
		if up, err = put(kh.OTP(otp)); err != nil {
			return err
		}
	}
	fmt.Printf("  SCA %s\n", up.ScaStatus)
	if up.ScaStatus != kh.ScaFinalised {
		return fmt.Errorf("SCA ended %s", up.ScaStatus)
	}
	return nil
}

func otpFromEnvOrStdin() (string, error) {
	if v := os.Getenv("KH_OTP"); v != "" {
		return v, nil
	}
	fmt.Print("OTP: ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	return strings.TrimSpace(line), err
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

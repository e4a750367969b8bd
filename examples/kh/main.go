// Command kh runs the K&H PSD2 flow: register an application, create a PSU
// identification consent and authorise it with embedded SCA, list the PSU's accounts,
// create a balance and a transaction consent and authorise both in one signing basket,
// read balances and every page of transactions, then initiate a payment, authorise it
// and poll its status.
//
// Run it with -h for the environment variables that point it at the bank. It prints
// what it does, never a token or password, and exits 1 when a step fails, 2 on bad
// usage.
package main

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

const usage = `Usage: go run ./examples/kh [flags]

Runs the K&H PSD2 flow with embedded SCA: a PSU identification consent, the PSU's
accounts, balance and transaction consents authorised in one signing basket, balances,
every page of transactions, and a payment initiated, authorised and polled. With
KH_BASE_URL unset it runs against the fake bank (package khtest), registering a TPP
application first.

Environment, for the bank (KH_BASE_URL with the next four, all required):
  KH_BASE_URL       the API root, e.g. https://api.kh.hu/psd2
  KH_CERT_FILE      the TPP's QWAC certificate (PEM), for mutual TLS
  KH_KEY_FILE       its private key (PEM)
  KH_APP_TOKEN      the registered application's token
  KH_PSU_PASSWORD   the PSU's password, for embedded SCA
Optional:
  KH_APP_ID         the application's id, so the client renews its token
  KH_PSU_ID         the PSU's id (PSU-ID header)
  KH_OTP            the one-time password; without it the program asks on standard input
  KH_PSU_IP         the PSU's IP address (PSU-IP-Address; default 192.0.2.10)
  KH_CREDITOR_IBAN  receives the example payment of 1000.00; unset: no payment
`

// fakeCreditorIBAN receives the example payment against the fake bank.
const fakeCreditorIBAN = "HU42117730161111101800000000"

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the example and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("kh", flag.ContinueOnError)
	flags := exampleutil.AddFlags(fs, stderr, 2*time.Minute)
	pollWait := fs.Duration("poll", 2*time.Second, "pause between two polls of the payment's status (the bank)")
	if code, ok := exampleutil.Parse(fs, args, usage); !ok {
		return code
	}
	ctx, cancel := flags.Context()
	defer cancel()
	return exampleutil.ExitCode(stderr, "kh example", example(ctx, stdout, flags.Logger(), *pollWait))
}

// example builds the client from the environment, or for the fake bank, and runs the
// flow.
func example(ctx context.Context, stdout io.Writer, logger *slog.Logger, pollWait time.Duration) error {
	f := &flow{steps: exampleutil.NewSteps(stdout, ""), ip: cmp.Or(os.Getenv("KH_PSU_IP"), "192.0.2.10"), pollWait: pollWait}
	opts := []kh.Option{kh.WithLogger(logger), kh.WithUserAgent("banksdk-example-kh/1")}
	if base := os.Getenv("KH_BASE_URL"); base != "" {
		for _, v := range [][2]string{{"KH_CERT_FILE", os.Getenv("KH_CERT_FILE")}, {"KH_KEY_FILE", os.Getenv("KH_KEY_FILE")},
			{"KH_APP_TOKEN", os.Getenv("KH_APP_TOKEN")}, {"KH_PSU_PASSWORD", os.Getenv("KH_PSU_PASSWORD")}} {
			if v[1] == "" {
				return exampleutil.UsageError("%s is required with KH_BASE_URL", v[0])
			}
		}
		opts = append(opts, kh.WithBaseURL(base),
			kh.WithClientCertificateFiles(os.Getenv("KH_CERT_FILE"), os.Getenv("KH_KEY_FILE")),
			kh.WithAppToken(os.Getenv("KH_APP_TOKEN")))
		if id := os.Getenv("KH_APP_ID"); id != "" {
			opts = append(opts, kh.WithApplicationID(id))
		}
		f.psuID, f.password, f.creditorIBAN = os.Getenv("KH_PSU_ID"), os.Getenv("KH_PSU_PASSWORD"), os.Getenv("KH_CREDITOR_IBAN")
		f.otp = func() (string, error) {
			if v := os.Getenv("KH_OTP"); v != "" {
				return v, nil
			}
			fmt.Fprint(stdout, "OTP: ")
			line, err := bufio.NewReader(os.Stdin).ReadString('\n')
			return strings.TrimSpace(line), err
		}
		fmt.Fprintln(stdout, "mode: the bank at", base)
	} else {
		srv := khtest.NewServer()
		defer srv.Close()
		id, pw, otp := srv.PSU()
		f.psuID, f.password, f.otp = id, pw, func() (string, error) { return otp, nil }
		f.registerApp, f.creditorIBAN, f.pollWait = true, fakeCreditorIBAN, 0
		opts = append(opts, kh.WithBaseURL(srv.URL()), kh.WithClientCertificate(srv.ClientCertificate()),
			kh.WithRootCAs(srv.RootCAs()))
		fmt.Fprintln(stdout, "mode: fake K&H bank at", srv.URL())
	}

	c, err := kh.NewClient(opts...)
	if err != nil {
		return exampleutil.UsageError("%w", err)
	}
	defer c.Close()
	f.c = c
	return f.run(ctx)
}

// flow is the K&H flow for one PSU.
type flow struct {
	c     *kh.Client
	steps *exampleutil.Steps
	// registerApp registers a new TPP application first (a real TPP registers once).
	registerApp bool
	// psuID, password and otp answer embedded SCA.
	psuID, password string
	otp             func() (string, error)
	ip              string // the PSU's IP address
	// creditorIBAN receives the example payment; empty: no payment.
	creditorIBAN string
	pollWait     time.Duration
}

func (f *flow) run(ctx context.Context) error {
	c, steps := f.c, f.steps
	if f.registerApp {
		steps.Begin("register a TPP application")
		app, err := c.TPP.RegisterApp(ctx, kh.AppRegistration{Name: "banksdk example",
			Roles: []kh.Role{kh.RoleAISP, kh.RolePISP}, RedirectHost: "tpp.example.com"})
		if err != nil {
			return steps.Fail(explain(err))
		}
		if err := c.UseApplication(app.ID, app.Token.Reveal()); err != nil {
			return steps.Fail(err)
		}
		steps.Done("application %s", app.ID)
	}

	// A consent whose creation ended with ErrOutcomeUnknown may exist at the bank, but
	// nobody can use it without its authorisation: creating a new one is safe.
	validUntil := time.Now().AddDate(0, 3, 0).Format("2006-01-02")
	steps.Begin("create a PSU identification consent")
	psu, err := c.Consents.Create(ctx, kh.PSUIdentificationConsent(validUntil), f.psuHeaders()...)
	if err != nil {
		return steps.Fail(explain(err))
	}
	steps.Done("%s (%s, SCA %s)", psu.ConsentID, psu.ConsentStatus, psu.SCAApproach)

	steps.Begin("authorise it with embedded SCA")
	auth, err := c.Consents.Authorisations.Start(ctx, psu.ConsentID, kh.AuthorisationRequest{}, f.psuHeaders()...)
	if err != nil {
		return steps.Fail(explain(err))
	}
	sca, err := f.sca(func(r kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error) {
		return c.Consents.Authorisations.Update(ctx, psu.ConsentID, auth.AuthorisationID, r)
	})
	if err != nil {
		return steps.Fail(err)
	}
	steps.Done("%s", sca)

	steps.Begin("consent status (issues the consent token)")
	st, err := c.Consents.Status(ctx, psu.ConsentID)
	if err != nil {
		return steps.Fail(explain(err))
	}
	if st.ConsentStatus != kh.ConsentValid {
		return steps.Fail(fmt.Errorf("consent %s is %s", psu.ConsentID, st.ConsentStatus))
	}
	steps.Done("%s, token received: %v", st.ConsentStatus, st.TokenIssued)

	steps.Begin("list the PSU's accounts")
	list, err := c.Accounts.List(ctx, psu.ConsentID)
	if err != nil {
		return steps.Fail(explain(err))
	}
	if len(list.Accounts) == 0 {
		return steps.Fail(errors.New("the PSU has no accounts"))
	}
	acc := list.Accounts[0]
	steps.Done("%d account(s), first %s %s", len(list.Accounts), acc.IBAN, acc.Currency)

	steps.Begin("balance and transaction consents in a signing basket")
	explicit := append(f.psuHeaders(), kh.ExplicitAuthorisationPreferred(true))
	bal, err := c.Consents.Create(ctx, kh.BalanceConsent(validUntil, acc.Reference()), explicit...)
	if err != nil {
		return steps.Fail(fmt.Errorf("balance consent: %w", explain(err)))
	}
	txc, err := c.Consents.Create(ctx, kh.TransactionConsent(validUntil, acc.Reference()), explicit...)
	if err != nil {
		return steps.Fail(fmt.Errorf("transaction consent: %w", explain(err)))
	}
	basket, err := c.SigningBaskets.Create(ctx, kh.SigningBasketRequest{ConsentIDs: []string{bal.ConsentID, txc.ConsentID}}, f.psuHeaders()...)
	if err != nil {
		return steps.Fail(fmt.Errorf("signing basket: %w", explain(err)))
	}
	basketAuth := basket.Links.AuthorisationID()
	if basketAuth == "" { // not in the answer's links: ask the bank
		ids, err := c.SigningBaskets.Authorisations.List(ctx, basket.BasketID)
		if err != nil {
			return steps.Fail(fmt.Errorf("the basket's authorisation: %w", explain(err)))
		}
		if len(ids.AuthorisationIDs) == 0 {
			return steps.Fail(errors.New("the basket has no authorisation"))
		}
		basketAuth = ids.AuthorisationIDs[0]
	}
	sca, err = f.sca(func(r kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error) {
		return c.SigningBaskets.Authorisations.Update(ctx, basket.BasketID, basketAuth, r, kh.UseConsent(psu.ConsentID))
	})
	if err != nil {
		return steps.Fail(err)
	}
	steps.Done("basket %s: %s", basket.BasketID, sca)

	steps.Begin("read balances")
	balances, err := c.Accounts.Balances(ctx, bal.ConsentID, acc.ResourceID, kh.PSUIPAddress(f.ip))
	if err != nil {
		return steps.Fail(explain(err))
	}
	if len(balances.Balances) == 0 {
		steps.Done("no balances")
	} else {
		first := balances.Balances[0]
		steps.Done("%d balance(s), %s %s %s", len(balances.Balances), first.BalanceType, first.BalanceAmount.Amount, first.BalanceAmount.Currency)
	}

	steps.Begin("read every page of transactions")
	from := time.Now().AddDate(0, -3, 0).Format("2006-01-02")
	n := 0
	// The iterator follows the bank's next links; a link back to a page already read
	// ends it with ErrPageLoop.
	for _, err := range c.Accounts.Transactions(ctx, txc.ConsentID, acc.ResourceID,
		kh.TransactionQuery{BookingStatus: kh.BookingBoth, DateFrom: from}, kh.PSUIPAddress(f.ip)) {
		if err != nil {
			return steps.Fail(explain(err))
		}
		n++
	}
	steps.Done("%d transactions since %s", n, from)

	if f.creditorIBAN == "" {
		return nil
	}
	steps.Begin("initiate a payment")
	pay, err := c.Payments.Initiate(ctx, kh.SinglePayment{
		DebtorAccount: acc.Reference(),
		Transfer: kh.Transfer{
			InstructedAmount:                  kh.Amount{Currency: acc.Currency, Amount: "1000.00"},
			CreditorAccount:                   kh.AccountReference{IBAN: f.creditorIBAN},
			CreditorName:                      "Example Creditor Kft.",
			RemittanceInformationUnstructured: "banksdk example",
		},
	}, f.psuHeaders()...)
	if errors.Is(err, kh.ErrOutcomeUnknown) {
		// The bank may have created the payment: initiating it again could pay twice.
		// Ask the bank about the request by its X-Request-ID before doing anything.
		return steps.Fail(fmt.Errorf("the payment may exist; look it up with X-Request-ID %s before initiating it again: %w",
			kh.RequestIDOf(err), err))
	}
	if err != nil {
		return steps.Fail(explain(err))
	}
	steps.Done("%s (%s, request id %s)", pay.PaymentID, pay.TransactionStatus, pay.RequestID)

	steps.Begin("authorise the payment with embedded SCA")
	payAuth, err := c.Payments.Authorisations.Start(ctx, pay.PaymentID, kh.AuthorisationRequest{}, f.psuHeaders()...)
	if err != nil {
		return steps.Fail(explain(err))
	}
	sca, err = f.sca(func(r kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error) {
		return c.Payments.Authorisations.Update(ctx, pay.PaymentID, payAuth.AuthorisationID, r, kh.UseConsent(psu.ConsentID))
	})
	if err != nil {
		return steps.Fail(err)
	}
	steps.Done("%s", sca)

	steps.Begin("poll the payment's status until final")
	for range 10 {
		ps, err := c.Payments.Status(ctx, pay.PaymentID)
		if err != nil {
			return steps.Fail(explain(err))
		}
		if ps.TransactionStatus.Final() {
			steps.Done("%s", ps.TransactionStatus)
			return nil
		}
		select {
		case <-ctx.Done():
			return steps.Fail(ctx.Err())
		case <-time.After(f.pollWait):
		}
	}
	steps.Done("not final yet; stopped polling")
	return nil
}

// psuHeaders are the PSU's headers for the calls that take them, asking for embedded
// SCA (no redirect).
func (f *flow) psuHeaders() []kh.RequestOption {
	opts := []kh.RequestOption{kh.PSUIPAddress(f.ip), kh.RedirectPreferred(false)}
	if f.psuID != "" {
		opts = append(opts, kh.PSUID(f.psuID))
	}
	return opts
}

// sca drives embedded SCA through put, one authorisation's update: the password, the
// choice of the first SCA method offered, the OTP.
func (f *flow) sca(put func(kh.AuthorisationRequest) (*kh.AuthorisationUpdate, error)) (string, error) {
	up, err := put(kh.PSUPassword(f.password))
	if err != nil {
		return "", scaError(err)
	}
	method := "no method choice"
	if up.ScaStatus == kh.ScaPSUAuthenticated && len(up.ScaMethods) > 0 {
		m := up.ScaMethods[0]
		method = fmt.Sprintf("%s (%s)", m.Name, m.AuthenticationType)
		if up, err = put(kh.SelectMethod(m.AuthenticationMethodID)); err != nil {
			return "", scaError(err)
		}
	}
	if up.ScaStatus == kh.ScaMethodSelected {
		otp, err := f.otp()
		if err != nil {
			return "", fmt.Errorf("reading the OTP: %w", err)
		}
		if up, err = put(kh.OTP(otp)); err != nil {
			return "", scaError(err)
		}
	}
	if up.ScaStatus != kh.ScaFinalised {
		return "", fmt.Errorf("SCA ended %s", up.ScaStatus)
	}
	return fmt.Sprintf("password, %s, OTP: SCA %s", method, up.ScaStatus), nil
}

// scaError says what to do after a failed SCA step.
func scaError(err error) error {
	if errors.Is(err, kh.ErrOutcomeUnknown) {
		// The bank may have taken the step: read the authorisation's status
		// (Authorisations.Status) before sending it again.
		return fmt.Errorf("the SCA step may have been taken; read the authorisation's status before repeating it: %w", err)
	}
	var apiErr *kh.APIError
	if errors.As(err, &apiErr) && (apiErr.Has(kh.CodePSUCredentialsInvalid) || apiErr.Has(kh.CodeScaInvalid)) {
		return fmt.Errorf("the bank refused the PSU's password or OTP (check KH_PSU_PASSWORD and KH_OTP): %w", err)
	}
	return explain(err)
}

// explain adds to an error of a K&H call what to do about it.
func explain(err error) error {
	var apiErr *kh.APIError
	switch {
	case errors.Is(err, kh.ErrOutcomeUnknown):
		return fmt.Errorf("%w (check the resource's state before repeating the call; X-Request-ID %s)", err, kh.RequestIDOf(err))
	case errors.Is(err, kh.ErrNoAllowedToken):
		return fmt.Errorf("%w (authorise a consent of the kind the endpoint takes first)", err)
	case errors.As(err, &apiErr) && (apiErr.Has(kh.CodeCertificateInvalid) || apiErr.Has(kh.CodeCertificateExpired) ||
		apiErr.Has(kh.CodeCertificateMissing) || apiErr.Has(kh.CodeRoleInvalid)):
		return fmt.Errorf("%w (the bank refused the TPP certificate: check KH_CERT_FILE and its PSD2 roles)", err)
	case errors.As(err, &apiErr) && (apiErr.Has(kh.CodeConsentExpired) || apiErr.Has(kh.CodeConsentInvalid)):
		return fmt.Errorf("%w (the PSU must authorise a new consent)", err)
	}
	return err
}

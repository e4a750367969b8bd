package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"net/http"
	"os"
	"path/filepath"
	"time"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// bankFake is the K&H fake with a client configured for it; the README's K&H code runs
// against it.
type bankFake struct {
	srv *khtest.Server
	c   *kh.Client
}

func startKH() (*bankFake, error) {
	srv := khtest.NewServer()
	dir, err := os.MkdirTemp("", "readme-kh")
	if err != nil {
		srv.Close()
		return nil, err
	}
	defer os.RemoveAll(dir) // the client reads the files in NewClient
	certPEM, keyPEM := srv.PKI().ClientCertificatePEM()
	certFile, keyFile := filepath.Join(dir, "qwac.crt"), filepath.Join(dir, "qwac.key")
	if err := errors.Join(os.WriteFile(certFile, certPEM, 0o600), os.WriteFile(keyFile, keyPEM, 0o600)); err != nil {
		srv.Close()
		return nil, err
	}
	apiRoot, bankCAs, appToken, appID := srv.URL(), srv.RootCAs(), srv.AppToken(), srv.ApplicationID()

	// readme:begin kh
	c, err := kh.NewClient(
		kh.WithBaseURL(apiRoot),
		kh.WithClientCertificateFiles(certFile, keyFile), // or WithClientCertificatePKCS12, WithGetClientCertificate (HSM)
		kh.WithRootCAs(bankCAs),
		kh.WithAppToken(appToken), kh.WithApplicationID(appID),
	)
	// readme:end kh
	if err != nil {
		srv.Close()
		return nil, err
	}
	return &bankFake{srv: srv, c: c}, nil
}

func (b *bankFake) Close() {
	_ = b.c.Close()
	b.srv.Close()
}

func runKH(ctx context.Context) error {
	bank, err := startKH()
	if err != nil {
		return err
	}
	defer bank.Close()
	c, srv, ip := bank.c, bank.srv, "192.0.2.10"
	psuID, password, otp := srv.PSU()
	// The PSU's browser: the fake bank's SCA screen, walked as the PSU would.
	sendPSUTo := func(url string) error { _, err := srv.ApproveRedirect(ctx, url); return err }

	// readme:begin kh-redirect
	// Redirect SCA: the bank authenticates the PSU on its own screen.
	consent, err := c.Consents.Create(ctx, kh.PSUIdentificationConsent("2027-12-31"),
		kh.PSUIPAddress(ip), kh.RedirectPreferred(true),
		kh.RedirectURI("https://tpp.example.com/sca/done"), kh.NokRedirectURI("https://tpp.example.com/sca/failed"))
	if err != nil {
		return err
	}
	url, err := c.SCARedirectURL(ctx, consent.Links.Get(kh.LinkSCARedirect)) // carries a token: browser only
	if err != nil {
		return err
	}
	if err := sendPSUTo(url); err != nil { // the bank redirects back to TPP-Redirect-URI
		return err
	}
	st, err := c.Consents.Status(ctx, consent.ConsentID) // issues the consent's token
	if err != nil {
		return err
	}
	if st.ConsentStatus != kh.ConsentValid {
		return fmt.Errorf("consent %s", st.ConsentStatus)
	}
	// readme:end kh-redirect

	accounts, err := c.Accounts.List(ctx, consent.ConsentID)
	if err != nil {
		return err
	}
	if len(accounts.Accounts) == 0 {
		return errors.New("kh: no accounts")
	}
	account := accounts.Accounts[0]

	// readme:begin kh-embedded
	// Embedded SCA: the TPP collects the PSU's password and one-time code.
	txc, err := c.Consents.Create(ctx, kh.TransactionConsent("2027-12-31", account.Reference()),
		kh.PSUIPAddress(ip), kh.PSUID(psuID), kh.RedirectPreferred(false))
	if err != nil {
		return err
	}
	a, err := c.Consents.Authorisations.Start(ctx, txc.ConsentID, kh.AuthorisationRequest{}, kh.PSUIPAddress(ip))
	if err != nil {
		return err
	}
	up, err := c.Consents.Authorisations.Update(ctx, txc.ConsentID, a.AuthorisationID, kh.PSUPassword(password))
	if err != nil {
		return err
	}
	if up.ScaStatus == kh.ScaPSUAuthenticated { // the PSU picks one of up.ScaMethods
		up, err = c.Consents.Authorisations.Update(ctx, txc.ConsentID, a.AuthorisationID,
			kh.SelectMethod(up.ScaMethods[0].AuthenticationMethodID))
		if err != nil {
			return err
		}
	}
	if up.ScaStatus != kh.ScaMethodSelected {
		return fmt.Errorf("SCA %s", up.ScaStatus)
	}
	up, err = c.Consents.Authorisations.Update(ctx, txc.ConsentID, a.AuthorisationID, kh.OTP(otp)) // the code the PSU received
	if err != nil {
		return err
	}
	if up.ScaStatus != kh.ScaFinalised {
		return fmt.Errorf("SCA %s", up.ScaStatus)
	}
	if _, err := c.Consents.Status(ctx, txc.ConsentID); err != nil { // issues its token
		return err
	}
	query := kh.TransactionQuery{BookingStatus: kh.BookingBoth, DateFrom: time.Now().AddDate(0, -3, 0).Format(time.DateOnly)}
	for tx, err := range c.Accounts.Transactions(ctx, txc.ConsentID, account.ResourceID, query, kh.PSUIPAddress(ip)) {
		if err != nil { // every page, following _links.next, loop-guarded
			return err
		}
		log.Println(tx.BookingDate, tx.TransactionAmount.Amount, tx.TransactionAmount.Currency)
	}
	// readme:end kh-embedded
	return nil
}

func runKHOutcome(ctx context.Context) error {
	bank, err := startKH()
	if err != nil {
		return err
	}
	defer bank.Close()
	c, ip := bank.c, "192.0.2.10"
	debtor := bank.srv.Accounts()[0]
	payment := kh.SinglePayment{
		DebtorAccount: kh.AccountReference{IBAN: debtor.IBAN},
		Transfer: kh.Transfer{
			InstructedAmount: kh.Amount{Currency: debtor.Currency, Amount: "1000.00"},
			CreditorAccount:  kh.AccountReference{IBAN: "HU93116000060000000012345676"},
			CreditorName:     "Example Creditor Kft.",
		},
	}
	// A gateway answers 504 after the bank booked the payment.
	bank.srv.Inject(1, fake.ActThen(http.StatusGatewayTimeout, "").On(http.MethodPost, "/v1/payments/"))
	booked := false

	// readme:begin kh-outcome
	_, err = c.Payments.Initiate(ctx, payment, kh.PSUIPAddress(ip))
	var apiErr *kh.APIError
	switch {
	case errors.Is(err, kh.ErrOutcomeUnknown): // 5xx from a gateway, lost or unreadable answer
		log.Printf("payment %s may be booked; look it up first", kh.RequestIDOf(err))
		if errors.As(err, &apiErr) {
			log.Printf("the answer was %d", apiErr.StatusCode)
		}
		booked = true // until the lookup says otherwise
	case errors.As(err, &apiErr): // refused, nothing was booked
		return err
	case err != nil:
		return err
	}
	// readme:end kh-outcome

	if !booked || bank.srv.PaymentCount() != 1 {
		return fmt.Errorf("kh: want one payment with an unknown outcome, got %d (err %v)", bank.srv.PaymentCount(), err)
	}
	return nil
}

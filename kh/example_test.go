package kh_test

import (
	"context"
	"crypto"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"log"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// newExampleClient starts the fake bank and a client for it.
func newExampleClient() (*khtest.Server, *kh.Client) {
	srv := khtest.NewServer()
	client, err := kh.NewClient(
		kh.WithBaseURL(srv.URL()),
		kh.WithClientCertificate(srv.ClientCertificate()),
		kh.WithRootCAs(srv.RootCAs()),
		kh.WithAppToken(srv.AppToken()),
		kh.WithApplicationID(srv.ApplicationID()),
	)
	if err != nil {
		log.Fatal(err)
	}
	return srv, client
}

// authorise runs embedded SCA: the PSU's password, the first SCA method, the OTP.
func authorise(ctx context.Context, srv *khtest.Server, auths *kh.Authorisations, id string, opts ...kh.RequestOption) error {
	_, password, otp := srv.PSU()
	a, err := auths.Start(ctx, id, kh.AuthorisationRequest{})
	if err != nil {
		return err
	}
	up, err := auths.Update(ctx, id, a.AuthorisationID, kh.PSUPassword(password), opts...)
	if err != nil {
		return err
	}
	if _, err = auths.Update(ctx, id, a.AuthorisationID, kh.SelectMethod(up.ScaMethods[0].AuthenticationMethodID), opts...); err != nil {
		return err
	}
	up, err = auths.Update(ctx, id, a.AuthorisationID, kh.OTP(otp), opts...)
	if err != nil {
		return err
	}
	fmt.Println("SCA:", up.ScaStatus)
	return nil
}

// A PSU identification consent, authorised with embedded SCA, lists the PSU's accounts.
func Example() {
	ctx := context.Background()
	srv, client := newExampleClient()
	defer srv.Close()

	consent, err := client.Consents.Create(ctx, kh.PSUIdentificationConsent("2999-12-31"), kh.PSUIPAddress("192.0.2.10"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(consent.ConsentStatus, consent.Purpose)
	if err := authorise(ctx, srv, client.Consents.Authorisations, consent.ConsentID); err != nil {
		log.Fatal(err)
	}
	status, err := client.Consents.Status(ctx, consent.ConsentID) // stores the consent's token
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(status.ConsentStatus, status.TokenIssued)
	accounts, err := client.Accounts.List(ctx, consent.ConsentID)
	if err != nil {
		log.Fatal(err)
	}
	for _, a := range accounts.Accounts {
		fmt.Println(a.ResourceID, a.Currency, a.Name)
	}
	// Output:
	// received PSU identification token
	// SCA: finalised
	// valid true
	// acc-huf-1 HUF Main HUF account
	// acc-eur-1 EUR EUR account
}

func ExampleAccountsService_Transactions() {
	ctx := context.Background()
	srv, client := newExampleClient()
	defer srv.Close()
	iban := srv.Accounts()[0].IBAN
	consent, err := client.Consents.Create(ctx, kh.TransactionConsent("2999-12-31", kh.AccountReference{IBAN: iban}),
		kh.PSUIPAddress("192.0.2.10"))
	if err != nil {
		log.Fatal(err)
	}
	if err := authorise(ctx, srv, client.Consents.Authorisations, consent.ConsentID); err != nil {
		log.Fatal(err)
	}
	booked, pending := 0, 0
	for tx, err := range client.Accounts.Transactions(ctx, consent.ConsentID, "acc-huf-1",
		kh.TransactionQuery{BookingStatus: kh.BookingBoth, DateFrom: "2000-01-01"}) {
		if err != nil {
			log.Fatal(err)
		}
		if tx.BookingStatus == kh.BookingBooked {
			booked++
		} else {
			pending++
		}
	}
	fmt.Println("booked:", booked, "pending:", pending)
	// Output:
	// SCA: finalised
	// booked: 23 pending: 2
}

// Payment details accept only a PSU identification token: without one the call is
// refused before sending; UseConsent names the consent to use.
func ExamplePaymentService_Get() {
	ctx := context.Background()
	srv, client := newExampleClient()
	defer srv.Close()
	payment, err := client.Payments.Initiate(ctx, kh.SinglePayment{
		DebtorAccount: kh.AccountReference{IBAN: srv.Accounts()[0].IBAN},
		Transfer: kh.Transfer{
			InstructedAmount: kh.Amount{Currency: "HUF", Amount: "2500.00"},
			CreditorAccount:  kh.AccountReference{IBAN: "HU42117730161111101800000000"},
			CreditorName:     "Example Kft.",
		},
	}, kh.PSUIPAddress("192.0.2.10"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(payment.TransactionStatus)

	_, err = client.Payments.Get(ctx, payment.PaymentID)
	fmt.Println(errors.Is(err, kh.ErrNoAllowedToken))
	fmt.Println(err)

	psu, err := client.Consents.Create(ctx, kh.PSUIdentificationConsent("2999-12-31"), kh.PSUIPAddress("192.0.2.10"))
	if err != nil {
		log.Fatal(err)
	}
	if err := authorise(ctx, srv, client.Consents.Authorisations, psu.ConsentID); err != nil {
		log.Fatal(err)
	}
	details, err := client.Payments.Get(ctx, payment.PaymentID, kh.UseConsent(psu.ConsentID))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(details.Payment.CreditorName, details.Payment.InstructedAmount.Amount, details.TransactionStatus)
	// Output:
	// RCVD
	// true
	// kh: GET /v1/payments/payment-order/{paymentId} accepts only a PSU identification token; the call holds a TPP application authentication token
	// SCA: finalised
	// Example Kft. 2500.00 RCVD
}

func ExampleSCARedirectURL() {
	u, err := kh.SCARedirectURL("https://sca.bank.example/authorise/auth-7?lang=hu",
		"eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJleGFtcGxlIn0.c2ln")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(u)
	// Output:
	// https://sca.bank.example/authorise/auth-7?lang=hu&token=eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJleGFtcGxlIn0.c2ln
}

func ExampleEndpoints() {
	for _, e := range kh.Endpoints()[:3] {
		fmt.Println(e, e.Accepts)
	}
	// Output:
	// POST /v1/payments/payment-order [TPP application authentication token PSU identification token]
	// GET /v1/payments/payment-order/{paymentId} [PSU identification token]
	// GET /v1/payments/payment-order/{paymentId}/status [TPP application authentication token PSU identification token]
}

func ExampleAPIError() {
	ctx := context.Background()
	srv, client := newExampleClient()
	defer srv.Close()
	_, err := client.Payments.Status(ctx, "no-such-payment", kh.RequestID("6f1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"))
	var apiErr *kh.APIError
	if errors.As(err, &apiErr) {
		fmt.Println(apiErr.StatusCode, apiErr.Has(kh.CodeResourceUnknown), apiErr.RequestID)
		fmt.Println(err)
	}
	// Output:
	// 404 true 6f1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d
	// kh: 404 Not Found: RESOURCE_UNKNOWN (paymentId): no such payment [request id 6f1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d]
}

func ExampleLoadPKCS12File() {
	cert, err := kh.LoadPKCS12File("testdata/pkcs12/modern.p12", "test-pass")
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(cert.Leaf.Subject.CommonName, len(cert.Certificate))
	// Output:
	// kh pkcs12 test TPP 2
}

// kmsKey stands for a private key in an HSM or a cloud KMS: Sign sends the digest to
// the key's service, and the key never leaves it. Here it wraps the fake's key.
type kmsKey struct{ signer crypto.Signer }

func (k kmsKey) Public() crypto.PublicKey { return k.signer.Public() }

func (k kmsKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return k.signer.Sign(r, digest, opts) // a KMS: an API call with the key's name
}

// The QWAC's key is in an HSM: the certificate comes from a callback on each TLS
// handshake, with a crypto.Signer as its private key. (A tls.Certificate with such a
// key can also be given to WithClientCertificate.)
func ExampleWithGetClientCertificate() {
	ctx := context.Background()
	srv := khtest.NewServer()
	defer srv.Close()
	cert := srv.ClientCertificate()                           // the chain, from the HSM or a file
	cert.PrivateKey = kmsKey{cert.PrivateKey.(crypto.Signer)} // the key stays in the HSM

	client, err := kh.NewClient(
		kh.WithBaseURL(srv.URL()),
		kh.WithGetClientCertificate(func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			return &cert, nil
		}),
		kh.WithRootCAs(srv.RootCAs()),
		kh.WithAppToken(srv.AppToken()),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	st, err := client.Payments.Initiate(ctx, kh.SinglePayment{
		DebtorAccount: kh.AccountReference{IBAN: srv.Accounts()[0].IBAN},
		Transfer: kh.Transfer{
			InstructedAmount: kh.Amount{Currency: "HUF", Amount: "2500.00"},
			CreditorAccount:  kh.AccountReference{IBAN: "HU42117730161111101800000000"},
			CreditorName:     "Example Kft.",
		},
	}, kh.PSUIPAddress("192.0.2.10"))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(st.TransactionStatus)
	// Output:
	// RCVD
}

// Consent tokens come from a service of the TPP's own (one that holds the consents of
// several applications, say) instead of the consent status call. The client caches
// each consent's token and asks again only when the bank rejects it.
func ExampleWithConsentTokenSource() {
	ctx := context.Background()
	srv, setupClient := newExampleClient()
	defer srv.Close()
	consent, err := setupClient.Consents.Create(ctx, kh.PSUIdentificationConsent("2999-12-31"), kh.PSUIPAddress("192.0.2.10"))
	if err != nil {
		log.Fatal(err)
	}
	if err := authorise(ctx, srv, setupClient.Consents.Authorisations, consent.ConsentID); err != nil {
		log.Fatal(err)
	}

	tokenService := auth.KeyedSourceFunc(func(ctx context.Context, consentID string) (auth.Token, error) {
		tok, err := srv.IssueConsentToken(consentID) // in production: a call to the service
		return auth.Token{Value: tok}, err
	})
	client, err := kh.NewClient(
		kh.WithBaseURL(srv.URL()),
		kh.WithClientCertificate(srv.ClientCertificate()),
		kh.WithRootCAs(srv.RootCAs()),
		kh.WithConsentTokenSource(tokenService),
	)
	if err != nil {
		log.Fatal(err)
	}
	defer client.Close()
	if err := client.Consents.Track(consent.ConsentID, kh.TokenPSUIdentification); err != nil {
		log.Fatal(err)
	}
	accounts, err := client.Accounts.List(ctx, consent.ConsentID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(len(accounts.Accounts), "accounts;", srv.StatusCalls(consent.ConsentID), "status calls")
	// Output:
	// SCA: finalised
	// 2 accounts; 0 status calls
}

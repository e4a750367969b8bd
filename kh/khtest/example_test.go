package khtest_test

import (
	"context"
	"fmt"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// The fake bank speaks mutual TLS: a client with the fake's client certificate and
// root CAs reaches it, and the fake enforces K&H's endpoint-token table.
func ExampleNewServer() {
	bank := khtest.NewServer()
	defer bank.Close()
	c, err := kh.NewClient(kh.WithBaseURL(bank.URL()), kh.WithClientCertificate(bank.ClientCertificate()),
		kh.WithRootCAs(bank.RootCAs()), kh.WithAppToken(bank.AppToken()))
	if err != nil {
		fmt.Println(err)
		return
	}
	consent, err := c.Consents.Create(context.Background(), kh.PSUIdentificationConsent("2999-12-31"),
		kh.PSUIPAddress("192.0.2.10"))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(consent.ConsentStatus, consent.SCAApproach)
	// An account list needs the consent's own token, which the bank issues only
	// once the PSU authorised the consent: without it the list is never sent.
	_, err = c.Accounts.List(context.Background(), consent.ConsentID)
	fmt.Println(err != nil, bank.Count("GET", "/v1/accounts"))
	// Output:
	// received EMBEDDED
	// true 0
}

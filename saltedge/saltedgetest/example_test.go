package saltedgetest_test

import (
	"context"
	"fmt"
	"net/http/httptest"

	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

type bank struct {
	saltedge.UnimplementedConnector
}

func (bank) Accounts(context.Context, *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	return []saltedge.Account{{ID: "acc-1", Name: "Current", Nature: saltedge.NatureChecking, CurrencyCode: "EUR",
		Balance: "10.00", Status: saltedge.AccountActive}}, nil
}

// The fake Salt Edge drives a bank's connector with signed requests, as Salt Edge
// would; here it reads the accounts.
func ExampleServer_Connector() {
	se := saltedgetest.NewServer()
	defer se.Close()
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: bank{}, PublicKey: se.PublicKey()})
	if err != nil {
		fmt.Println(err)
		return
	}
	connector := httptest.NewServer(h)
	defer connector.Close()

	resp, err := se.Connector(connector.URL).Accounts(context.Background(), "access-token", "session-secret")
	if err != nil {
		fmt.Println(err)
		return
	}
	var accounts []saltedge.Account
	if err := resp.DecodeData(&accounts); err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(resp.StatusCode, accounts[0].ID, accounts[0].Balance, accounts[0].CurrencyCode)
	// Output: 200 acc-1 10.00 EUR
}

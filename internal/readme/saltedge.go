package main

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"

	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// readme:begin saltedge
type bank struct {
	saltedge.UnimplementedConnector                   // new endpoints answer "not supported", never break you
	client                          *saltedge.Client  // callbacks to Salt Edge
	tokens                          map[string]string // access token -> customer, issued in your token flow
}

func (b *bank) Accounts(ctx context.Context, req *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	customer, ok := b.tokens[req.AccessToken.Reveal()]
	if !ok {
		return nil, saltedge.NewConnectorError(saltedge.ClassTokenNotFound, "unknown access token")
	}
	return []saltedge.Account{{ID: customer + "-current", Name: "Current account", Nature: saltedge.NatureAccount,
		CurrencyCode: "EUR", Balance: "1024.50", IBAN: "DE89370400440532013000"}}, nil
}

// readme:end saltedge

func runSaltEdge(ctx context.Context) error {
	se := saltedgetest.NewServer() // plays Salt Edge: signs its requests with its key
	defer se.Close()
	saltEdgeKey := se.PublicKey()
	client, err := saltedge.NewClient(saltedge.WithBaseURL(se.URL()), saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()), saltedge.WithPrivateKey(se.PrivateKey()))
	if err != nil {
		return err
	}
	defer client.Close()
	mux := http.NewServeMux()

	// readme:begin saltedge-handler
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{
		Connector: &bank{client: client, tokens: map[string]string{"token-of-jane": "jane"}},
		PublicKey: saltEdgeKey, // or KeySet: auth.StaticKeySet(current, next) across a key rotation
		Issuer:    saltedge.DefaultIssuer,
	})
	if err != nil {
		return err
	}
	mux.Handle("/api/priora/v1/", h) // verifies every request's RS256 JWT before your code runs
	// readme:end saltedge-handler

	connector := httptest.NewServer(mux)
	defer connector.Close()
	resp, err := se.Connector(connector.URL).Accounts(ctx, "token-of-jane", "")
	if err != nil {
		return err
	}
	var accounts []saltedge.Account
	if err := resp.DecodeData(&accounts); err != nil || len(accounts) != 1 || accounts[0].ID != "jane-current" {
		return fmt.Errorf("saltedge: accounts %v, %v (status %d)", accounts, err, resp.StatusCode)
	}
	resp, err = se.Connector(connector.URL).Accounts(ctx, "token-of-nobody", "")
	if err != nil {
		return err
	}
	if resp.StatusCode != http.StatusNotFound {
		return fmt.Errorf("saltedge: an unknown token got %d", resp.StatusCode)
	}
	return nil
}

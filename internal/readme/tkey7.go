package main

import (
	"context"
	"encoding/json"
	"fmt"
	"log"
	"time"

	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

func alert(msg string, left time.Duration) { log.Println(msg, left) }

func runTKEY7(ctx context.Context) error {
	srv := tkey7test.NewServer()
	defer srv.Close()
	baseURL, token, issuedAt := srv.URL(), srv.IssueToken(), time.Now()
	var accounts []json.RawMessage
	save := func(doc json.RawMessage) { accounts = append(accounts, doc) }

	// readme:begin tkey7
	c, err := tkey7.NewClient(
		tkey7.WithBaseURL(baseURL),             // e.g. https://us.bankname.payments.tkey7.com/client/v1/api
		tkey7.WithAccessToken(token, issuedAt), // created by an administrator in the Web Office
		tkey7.OnSessionExpiring(func(left time.Duration) { alert("new TKEY7 token needed in", left) }),
	)
	if err != nil {
		return err
	}
	defer c.Close()
	list, err := c.DigitalAccounts.List(ctx)
	if err != nil {
		return err
	}
	for _, account := range list.All() { // json.RawMessage: the schema is not documented
		save(account) // or every account at once: json.Unmarshal(list.Raw, &yourAccounts)
	}
	// readme:end tkey7

	if len(accounts) == 0 || len(accounts) != list.Len() {
		return fmt.Errorf("tkey7: %d accounts walked, %d listed", len(accounts), list.Len())
	}
	return nil
}

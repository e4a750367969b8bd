// Command obp shows the Open Bank Project client: the current user via DAuth, a DAuth
// user created with account access, and a view granted to it and revoked.
//
// Against a real OBP instance set OBP_BASE_URL and either
//
//	OBP_DAUTH_KEY_FILE (PEM RSA private key whose public half the instance trusts),
//	OBP_DAUTH_SMART_CONTRACT, OBP_DAUTH_NETWORK, OBP_DAUTH_CONSUMER_KEY and optionally
//	OBP_DAUTH_MSG_SENDER
//
// or OBP_USERNAME, OBP_PASSWORD and OBP_CONSUMER_KEY (DirectLogin; the user to grant a
// view to is then OBP_GRANT_USER_ID). The account steps need OBP_BANK_ID and
// OBP_ACCOUNT_ID, on which the caller must hold the owner view; OBP_VERSION overrides
// v4.0.0. Without OBP_BASE_URL the program runs against the
// fake instance of package obptest.
package main

import (
	"context"
	"fmt"
	"os"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

type setup struct {
	base       string
	dauth      *obp.DAuthConfig
	login      []string // username, password, consumer key
	bank, acct string
	version    string
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	st, cleanup, err := configure()
	if err != nil {
		return err
	}
	defer cleanup()

	opts := []obp.Option{obp.WithBaseURL(st.base), obp.WithUserAgent("banksdk-example-obp")}
	if st.version != "" {
		opts = append(opts, obp.WithVersion(st.version))
	}
	var c *obp.Client
	if st.dauth != nil {
		c, err = obp.NewClient(append(opts, obp.WithDAuth(*st.dauth))...)
	} else {
		c, err = obp.NewClient(append(opts, obp.WithDirectLogin(st.login[0], st.login[1], st.login[2]))...)
	}
	if err != nil {
		return err
	}
	defer c.Close()
	fmt.Println("client:", c)
	return demo.OBP(ctx, demo.Printer{Out: os.Stdout}, c, demo.OBPOptions{
		BankID: st.bank, AccountID: st.acct, DAuth: st.dauth,
		ClientOptions: opts, GrantUserID: os.Getenv("OBP_GRANT_USER_ID"),
	})
}

// configure reads the environment, or starts the fake instance.
func configure() (setup, func(), error) {
	st := setup{
		base: os.Getenv("OBP_BASE_URL"), bank: os.Getenv("OBP_BANK_ID"),
		acct: os.Getenv("OBP_ACCOUNT_ID"), version: os.Getenv("OBP_VERSION"),
	}
	if st.base != "" {
		if keyFile := os.Getenv("OBP_DAUTH_KEY_FILE"); keyFile != "" {
			pemBytes, err := os.ReadFile(keyFile)
			if err != nil {
				return st, nil, fmt.Errorf("OBP_DAUTH_KEY_FILE: %w", err)
			}
			key, err := auth.LoadRSAPrivateKey(pemBytes)
			if err != nil {
				return st, nil, fmt.Errorf("OBP_DAUTH_KEY_FILE: %w", err)
			}
			st.dauth = &obp.DAuthConfig{
				PrivateKey:           key,
				SmartContractAddress: os.Getenv("OBP_DAUTH_SMART_CONTRACT"),
				NetworkName:          os.Getenv("OBP_DAUTH_NETWORK"),
				MsgSender:            os.Getenv("OBP_DAUTH_MSG_SENDER"),
				ConsumerKey:          os.Getenv("OBP_DAUTH_CONSUMER_KEY"),
			}
			fmt.Println("using OBP at", st.base, "with DAuth")
			return st, func() {}, nil
		}
		st.login = []string{os.Getenv("OBP_USERNAME"), os.Getenv("OBP_PASSWORD"), os.Getenv("OBP_CONSUMER_KEY")}
		fmt.Println("using OBP at", st.base, "with DirectLogin")
		return st, func() {}, nil
	}

	srv := obptest.NewServer()
	fmt.Println("OBP_BASE_URL not set: using a fake OBP instance at", srv.URL())
	st.base = srv.URL()
	st.bank, st.acct = obptest.DefaultBankID, obptest.DefaultAccountID
	st.dauth = &obp.DAuthConfig{
		PrivateKey:           srv.DAuthPrivateKey(),
		SmartContractAddress: obptest.DefaultSmartContractAddress,
		NetworkName:          obptest.DefaultNetworkName,
		MsgSender:            obptest.DefaultMsgSender,
		ConsumerKey:          srv.ConsumerKey(),
	}
	// The DAuth identity holds the owner view of the account (an account holder set
	// this up beforehand on a real instance).
	id := srv.EnsureUser(st.dauth.SmartContractAddress, obp.DAuthProvider(st.dauth.NetworkName))
	if err := srv.GrantAccess(st.bank, st.acct, id, obptest.ViewOwner); err != nil {
		srv.Close()
		return st, nil, err
	}
	return st, srv.Close, nil
}

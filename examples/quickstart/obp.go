package main

import (
	"context"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func init() {
	register("obp", func(ctx context.Context, r *runner) error {
		srv := obptest.NewServer()
		defer srv.Close()
		dauth := obp.DAuthConfig{
			PrivateKey:           srv.DAuthPrivateKey(),
			SmartContractAddress: obptest.DefaultSmartContractAddress,
			NetworkName:          obptest.DefaultNetworkName,
			MsgSender:            obptest.DefaultMsgSender,
			ConsumerKey:          srv.ConsumerKey(),
		}
		// The DAuth identity holds the owner view of the fake's account.
		id := srv.EnsureUser(dauth.SmartContractAddress, obp.DAuthProvider(dauth.NetworkName))
		if err := srv.GrantAccess(obptest.DefaultBankID, obptest.DefaultAccountID, id, obptest.ViewOwner); err != nil {
			return err
		}
		opts := []obp.Option{obp.WithBaseURL(srv.URL()), obp.WithLogger(r.logger)}
		c, err := obp.NewClient(append(opts, obp.WithDAuth(dauth))...)
		if err != nil {
			return err
		}
		return demo.OBP(ctx, r, c, demo.OBPOptions{
			BankID: obptest.DefaultBankID, AccountID: obptest.DefaultAccountID,
			DAuth: &dauth, ClientOptions: opts,
		})
	})
}

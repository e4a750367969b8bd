package main

import (
	"context"
	"errors"
	"fmt"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func runOBP(ctx context.Context) error {
	srv := obptest.NewServer()
	defer srv.Close()
	instance, pemBytes, consumerKey := srv.URL(), srv.DAuthPrivateKeyPEM(), srv.ConsumerKey()
	addr, network := obptest.DefaultSmartContractAddress, obptest.DefaultNetworkName
	bankID, accountID := obptest.DefaultBankID, obptest.DefaultAccountID
	// The DAuth identity owns the fake's account; id is another user to grant a view to.
	owner := srv.EnsureUser(addr, obp.DAuthProvider(network))
	if err := srv.GrantAccess(bankID, accountID, owner, obptest.ViewOwner); err != nil {
		return err
	}
	id := srv.EnsureUser("0x00000000000000000000000000000000000000b0", obp.DAuthProvider(network))
	var granted *obp.View

	// readme:begin obp
	key, err := auth.LoadRSAPrivateKey(pemBytes) // or any crypto.Signer: a key in an HSM or KMS
	if err != nil {
		return err
	}
	c, err := obp.NewClient(obp.WithBaseURL(instance), obp.WithDAuth(obp.DAuthConfig{
		PrivateKey: key, SmartContractAddress: addr, NetworkName: network, ConsumerKey: consumerKey,
	}))
	if err != nil {
		return err
	}
	defer c.Close()
	if _, err := c.Users.Current(ctx); errors.Is(err, obp.ErrUserNotLoggedIn) {
		return fmt.Errorf("DAuth was refused: %w", err)
	} else if err != nil {
		return err
	}
	view, err := c.AccountAccess.Grant(ctx, bankID, accountID, obp.AccountAccessRequest{UserID: id,
		View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}})
	if err != nil {
		return err // errors.Is(err, obp.ErrOutcomeUnknown): the grant may have happened
	}
	// readme:end obp

	granted = view
	if granted.ID != "ReadBalances" {
		return fmt.Errorf("obp: granted %q", granted.ID)
	}
	return nil
}

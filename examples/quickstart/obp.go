package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func init() {
	register("obp", func(ctx context.Context, steps *exampleutil.Steps, logger *slog.Logger) error {
		srv, dauth, err := exampleutil.OBPFake()
		if err != nil {
			return err
		}
		defer srv.Close()
		c, err := obp.NewClient(obp.WithBaseURL(srv.URL()), obp.WithDAuth(dauth), obp.WithLogger(logger))
		if err != nil {
			return err
		}
		defer c.Close()
		bank, account := obptest.DefaultBankID, obptest.DefaultAccountID

		steps.Begin("current user (an RS256 DAuth JWT per request)")
		me, err := c.Users.Current(ctx)
		if err != nil {
			return steps.Fail(err)
		}
		steps.Done("user %s", me.UserID)

		req := obp.AccountAccessRequest{UserID: srv.EnsureUser("0xfeed", obp.DAuthProvider(dauth.NetworkName)),
			View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}}
		steps.Begin("grant a user a view of the account")
		view, err := c.AccountAccess.Grant(ctx, bank, account, req)
		if err != nil {
			return steps.Fail(err) // ErrOutcomeUnknown: check the user's views first
		}
		steps.Done("%s", view.ID)

		steps.Begin("revoke it twice: the second is OBP-30065")
		if _, err := c.AccountAccess.Revoke(ctx, bank, account, req); err != nil {
			return steps.Fail(err)
		}
		_, err = c.AccountAccess.Revoke(ctx, bank, account, req)
		if !errors.Is(err, obp.ErrCannotFindAccountAccess) {
			return steps.Fail(fmt.Errorf("expected obp.ErrCannotFindAccountAccess, got %v", err))
		}
		steps.Done("errors.Is(err, obp.ErrCannotFindAccountAccess)")
		return nil
	})
}

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/tkey7"
)

func init() {
	register("tkey7", func(ctx context.Context, steps *exampleutil.Steps, logger *slog.Logger) error {
		// The fake's 15-minute revoke window runs on a clock the idle step moves; the
		// keep-alive refreshes every 20 ms instead of every 10 minutes.
		srv, clock := exampleutil.TKEY7Fake()
		defer srv.Close()
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(srv.IssueToken(), time.Time{}),
			tkey7.WithRefreshInterval(20*time.Millisecond), tkey7.WithLogger(logger))
		if err != nil {
			return err
		}
		defer c.Close()

		steps.Begin("list digital accounts")
		list, err := c.DigitalAccounts.List(ctx)
		if err != nil {
			return steps.Fail(err)
		}
		steps.Done("%d account documents (raw JSON: the schema is not documented)", list.Len())

		steps.Begin("an unknown account: *tkey7.APIError")
		_, err = c.DigitalAccounts.Get(ctx, "no-such-account")
		var apiErr *tkey7.APIError
		if !errors.As(err, &apiErr) {
			return steps.Fail(fmt.Errorf("expected an *tkey7.APIError, got %v", err))
		}
		steps.Done("%d %s (troubleshooting id %s)", apiErr.StatusCode, apiErr.Code, apiErr.TroubleshootingID)

		steps.Begin("stay idle for 3.5 revoke windows (fake clock)")
		if err := exampleutil.IdleRevokeWindows(ctx, srv, clock, 7); err != nil {
			return steps.Fail(err)
		}
		if _, err := c.DigitalAccounts.List(ctx); err != nil {
			return steps.Fail(err) // ErrTokenRevoked had the keep-alive missed a window
		}
		steps.Done("%d refreshes in the background; token still valid", c.Refreshes())
		return nil
	})
}

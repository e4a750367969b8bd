package main

import (
	"context"
	"time"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// tkey7Window stands in for TKEY7's 15-minute revoke window.
const tkey7Window = 300 * time.Millisecond

func init() {
	register("tkey7", func(ctx context.Context, r *runner) error {
		srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(tkey7Window), tkey7test.WithRotation())
		defer srv.Close()
		issued := srv.IssueToken()
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(issued, time.Now()),
			tkey7.WithRevokeAfter(tkey7Window), tkey7.WithRefreshInterval(tkey7Window/4), tkey7.WithLogger(r.logger))
		if err != nil {
			return err
		}
		defer c.Close()
		if err := demo.TKEY7(ctx, r, c); err != nil {
			return err
		}
		return demo.TKEY7KeepAlive(ctx, r, c, srv, tkey7Window, issued)
	})
}

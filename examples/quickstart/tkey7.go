package main

import (
	"context"
	"time"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// tkey7Interval stands in for the keep-alive's 10-minute refresh interval.
const tkey7Interval = 20 * time.Millisecond

func init() {
	register("tkey7", func(ctx context.Context, r *runner) error {
		// The fake's 15-minute revoke window runs on a clock the idle step moves.
		clock := tkey7test.NewClock(time.Time{})
		srv := tkey7test.NewServer(tkey7test.WithClock(clock.Now), tkey7test.WithRotation())
		defer srv.Close()
		issued := srv.IssueToken()
		// The token comes from a source an operator updates (a secret manager in
		// production), so a revoked one is replaced without a new client.
		box := &demo.TokenBox{}
		box.Put(issued)
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessTokenSource(box),
			tkey7.WithRefreshInterval(tkey7Interval), tkey7.WithLogger(r.logger))
		if err != nil {
			return err
		}
		defer c.Close()
		if err := demo.TKEY7(ctx, r, c); err != nil {
			return err
		}
		if err := demo.TKEY7KeepAlive(ctx, r, c, srv, clock, issued); err != nil {
			return err
		}
		return demo.TKEY7NewToken(ctx, r, c, srv, box)
	})
}

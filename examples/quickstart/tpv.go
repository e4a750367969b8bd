package main

import (
	"context"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func init() {
	register("tpv", func(ctx context.Context, r *runner) error {
		portal := tpvtest.NewServer()
		defer portal.Close()
		c, err := tpv.NewClient(
			tpv.WithBaseURL(portal.URL()),
			tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
			tpv.WithLogger(r.logger),
		)
		if err != nil {
			return err
		}
		return demo.TPV(ctx, r, c, demo.TPVOptions{Submit: true})
	})
}

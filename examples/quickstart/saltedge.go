package main

import (
	"context"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

func init() {
	register("saltedge", func(ctx context.Context, r *runner) error {
		se := saltedgetest.NewServer()
		defer se.Close()
		return demo.SaltEdge(ctx, r, se, r.logger)
	})
}

// Command tkey7 shows the TKEY7 client: it lists the digital accounts, reads one, and
// handles an API error; against the fake it also stays idle across several revoke
// windows of the fake's clock while the keep-alive refreshes the token, and shows how
// a revoked token is reported.
//
// Against the real API set TKEY7_BASE_URL (e.g.
// https://us.bankname.payments.tkey7.com/client/v1/api) and TKEY7_ACCESS_TOKEN (the
// token an administrator created in the Web Office), and TKEY7_ISSUED_AT (RFC 3339)
// when the token was not created just now. Without them the program runs against the
// fake server of package tkey7test, whose clock moves only when the program moves it,
// with the keep-alive's 10-minute refresh interval shortened to 20 ms. It prints what
// it did, never the token, and exits non-zero on failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// interval is the keep-alive's refresh interval against the fake, in place of 10
// minutes.
const interval = 20 * time.Millisecond

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	opts := []tkey7.Option{
		tkey7.WithUserAgent("banksdk-example-tkey7"),
		tkey7.OnSessionExpiring(func(left time.Duration) {
			fmt.Printf("note  the session ends in %v: ask an administrator for a new token\n", left.Round(time.Second))
		}),
	}
	var srv *tkey7test.Server
	var clock *tkey7test.Clock
	var issuedToken string // the fake's first token of the session
	if base, token := os.Getenv("TKEY7_BASE_URL"), os.Getenv("TKEY7_ACCESS_TOKEN"); base != "" || token != "" {
		if base == "" || token == "" {
			return errors.New("set both TKEY7_BASE_URL and TKEY7_ACCESS_TOKEN, or neither to use the fake")
		}
		var issued time.Time
		if v := os.Getenv("TKEY7_ISSUED_AT"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return fmt.Errorf("TKEY7_ISSUED_AT: %w", err)
			}
			issued = t
		}
		fmt.Println("mode: real API")
		opts = append(opts, tkey7.WithBaseURL(base), tkey7.WithAccessToken(token, issued))
	} else {
		clock = tkey7test.NewClock(time.Time{})
		srv = tkey7test.NewServer(tkey7test.WithClock(clock.Now), tkey7test.WithRotation())
		defer srv.Close()
		fmt.Printf("mode: fake TKEY7 (its clock moves on demand, refresh every %v instead of 10m, tokens rotate on refresh)\n", interval)
		issuedToken = srv.IssueToken()
		opts = append(opts, tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(issuedToken, time.Now()),
			tkey7.WithRefreshInterval(interval))
	}

	client, err := tkey7.NewClient(opts...)
	if err != nil {
		return err
	}
	defer client.Close()
	fmt.Println("client:", client)
	p := demo.Printer{Out: os.Stdout}

	if err := demo.TKEY7(ctx, p, client); err != nil {
		return err
	}
	if srv == nil {
		return nil
	}
	return demo.TKEY7KeepAlive(ctx, p, client, srv, clock, issuedToken)
}

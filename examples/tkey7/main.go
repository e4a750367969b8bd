// Command tkey7 shows the TKEY7 client: it lists the digital accounts, reads one, and
// handles an API error; against the fake it also stays idle across several revoke
// windows of the fake's clock while the keep-alive refreshes the token, and shows how
// a revoked token is reported.
//
// Against the real API set TKEY7_BASE_URL (e.g.
// https://us.bankname.payments.tkey7.com/client/v1/api) and TKEY7_ACCESS_TOKEN (the
// token an administrator created in the Web Office), and TKEY7_ISSUED_AT (RFC 3339)
// when the token was not created just now. Or, in place of TKEY7_ACCESS_TOKEN, set
// TKEY7_ACCESS_TOKEN_FILE to a file holding the token: the client reads it there, and
// reads it again when the token is revoked, so writing a new token into the file heals
// the running program. Without them the program runs against the
// fake server of package tkey7test, whose clock moves only when the program moves it,
// with the keep-alive's 10-minute refresh interval shortened to 20 ms, and takes its
// token from a source the program updates after the revocation. It prints what it did,
// never the token, and exits non-zero on failure.
package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
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
	var box *demo.TokenBox
	var issuedToken string // the fake's first token of the session
	base, token, file := os.Getenv("TKEY7_BASE_URL"), os.Getenv("TKEY7_ACCESS_TOKEN"), os.Getenv("TKEY7_ACCESS_TOKEN_FILE")
	if base != "" || token != "" || file != "" {
		if base == "" || (token == "") == (file == "") {
			return errors.New("set TKEY7_BASE_URL and one of TKEY7_ACCESS_TOKEN and TKEY7_ACCESS_TOKEN_FILE, or none to use the fake")
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
		opts = append(opts, tkey7.WithBaseURL(base))
		if file != "" {
			src := auth.SourceFunc(func(context.Context) (auth.Token, error) {
				b, err := os.ReadFile(file)
				if err != nil {
					return auth.Token{}, err
				}
				return auth.Token{Value: strings.TrimSpace(string(b))}, nil
			})
			opts = append(opts, tkey7.WithAccessTokenSource(src))
			if !issued.IsZero() { // the first token's creation time
				first, err := src.Token(ctx)
				if err != nil {
					return fmt.Errorf("TKEY7_ACCESS_TOKEN_FILE: %w", err)
				}
				opts = append(opts, tkey7.WithAccessToken(first.Value, issued))
			}
		} else {
			opts = append(opts, tkey7.WithAccessToken(token, issued))
		}
	} else {
		clock = tkey7test.NewClock(time.Time{})
		srv = tkey7test.NewServer(tkey7test.WithClock(clock.Now), tkey7test.WithRotation())
		defer srv.Close()
		fmt.Printf("mode: fake TKEY7 (its clock moves on demand, refresh every %v instead of 10m, tokens rotate on refresh)\n", interval)
		issuedToken = srv.IssueToken()
		box = &demo.TokenBox{}
		box.Put(issuedToken)
		opts = append(opts, tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessTokenSource(box),
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
	if err := demo.TKEY7KeepAlive(ctx, p, client, srv, clock, issuedToken); err != nil {
		return err
	}
	return demo.TKEY7NewToken(ctx, p, client, srv, box)
}

// Command tkey7 shows the TKEY7 client: it lists the digital accounts, reads one, and
// handles an API error. Against the fake it also stays idle across several revoke
// windows of the fake's clock while the keep-alive refreshes the token, shows how a
// revoked token is reported, and heals the client with a new token.
//
// Run it with -h for the environment variables that point it at the real API. It
// prints what it did, never a token, and exits 1 when a step fails, 2 on bad usage.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

const usage = `Usage: go run ./examples/tkey7 [flags]

Lists the TKEY7 digital accounts, reads one and handles an API error. With none of
the variables below set it runs against the fake TKEY7 (package tkey7test), on a clock
the program moves: the client stays idle for 3.5 revoke windows while its keep-alive
refreshes the token, the fake then revokes the token, and a new token written into
the token file heals the client.

Environment, for the real API:
  TKEY7_BASE_URL           the API's base URL, e.g.
                           https://us.bankname.payments.tkey7.com/client/v1/api
  TKEY7_ACCESS_TOKEN       the access token an administrator created in the Web Office
  TKEY7_ACCESS_TOKEN_FILE  or, in place of TKEY7_ACCESS_TOKEN: a file holding the
                           token, read again when the token is revoked (write a new
                           token there and the running program goes on with it)
  TKEY7_ISSUED_AT          optional: when the token was created (RFC 3339), if not
                           just now; the client warns before its 24-hour session ends
TKEY7_BASE_URL goes with exactly one of TKEY7_ACCESS_TOKEN and TKEY7_ACCESS_TOKEN_FILE.
`

// fakeRefreshInterval is the keep-alive's refresh interval against the fake, in place
// of 10 minutes: the fake's clock moves by half a revoke window at a time.
const fakeRefreshInterval = 20 * time.Millisecond

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the example and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tkey7", flag.ContinueOnError)
	flags := exampleutil.AddFlags(fs, stderr, time.Minute)
	if code, ok := exampleutil.Parse(fs, args, usage); !ok {
		return code
	}
	ctx, cancel := flags.Context()
	defer cancel()
	return exampleutil.ExitCode(stderr, "tkey7 example", example(ctx, stdout, flags.Logger()))
}

// example builds the client from the environment, or for the fake, and runs the flow.
func example(ctx context.Context, stdout io.Writer, logger *slog.Logger) error {
	opts := []tkey7.Option{
		tkey7.WithUserAgent("banksdk-example-tkey7"),
		tkey7.WithLogger(logger),
		tkey7.OnSessionExpiring(func(left time.Duration) {
			fmt.Fprintf(stdout, "note  the session ends in %v: ask an administrator for a new token\n", left.Round(time.Second))
		}),
	}
	var srv *tkey7test.Server // the fake, when no real API is configured
	var clock *tkey7test.Clock
	base, token, file := os.Getenv("TKEY7_BASE_URL"), os.Getenv("TKEY7_ACCESS_TOKEN"), os.Getenv("TKEY7_ACCESS_TOKEN_FILE")
	if base != "" || token != "" || file != "" {
		if base == "" || (token == "") == (file == "") {
			return exampleutil.UsageError("set TKEY7_BASE_URL and one of TKEY7_ACCESS_TOKEN and TKEY7_ACCESS_TOKEN_FILE, or none of them to use the fake")
		}
		var issued time.Time // zero: created just now
		if v := os.Getenv("TKEY7_ISSUED_AT"); v != "" {
			t, err := time.Parse(time.RFC3339, v)
			if err != nil {
				return exampleutil.UsageError("TKEY7_ISSUED_AT: %w", err)
			}
			issued = t
		}
		opts = append(opts, tkey7.WithBaseURL(base))
		if token != "" {
			opts = append(opts, tkey7.WithAccessToken(token, issued))
		} else {
			opts = append(opts, tkey7.WithAccessTokenSource(tokenFile(file)))
			if !issued.IsZero() {
				// The first token's creation time goes with the first token.
				first, err := tokenFile(file).Token(ctx)
				if err != nil {
					return exampleutil.UsageError("TKEY7_ACCESS_TOKEN_FILE: %w", err)
				}
				opts = append(opts, tkey7.WithAccessToken(first.Value, issued))
			}
		}
		fmt.Fprintln(stdout, "mode: real API at", base)
	} else {
		srv, clock = exampleutil.TKEY7Fake()
		defer srv.Close()
		// The token lives in a file, as a secret manager would keep it: the client
		// reads it there, and again once the token is revoked.
		dir, err := os.MkdirTemp("", "banksdk-example-tkey7-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(dir)
		file = filepath.Join(dir, "token")
		if err := os.WriteFile(file, []byte(srv.IssueToken()), 0o600); err != nil {
			return err
		}
		opts = append(opts, tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessTokenSource(tokenFile(file)),
			tkey7.WithRefreshInterval(fakeRefreshInterval))
		fmt.Fprintf(stdout, "mode: fake TKEY7 (its clock moves on demand; refresh every %v instead of 10m)\n", fakeRefreshInterval)
	}

	client, err := tkey7.NewClient(opts...)
	if err != nil {
		return exampleutil.UsageError("%w", err)
	}
	defer client.Close()
	fmt.Fprintln(stdout, "client:", client)

	steps := exampleutil.NewSteps(stdout, "")
	if err := mainFlow(ctx, steps, client); err != nil || srv == nil {
		return err
	}
	return fakeOnlyFlow(ctx, steps, client, srv, clock, file)
}

// mainFlow lists the digital accounts, reads the first, and reads an account that does
// not exist to show TKEY7's error. Every call here is a read: the client retries
// reads itself, so none of them can end with ErrOutcomeUnknown.
func mainFlow(ctx context.Context, steps *exampleutil.Steps, client *tkey7.Client) error {
	steps.Begin("list digital accounts")
	list, err := client.DigitalAccounts.List(ctx)
	if err != nil {
		return steps.Fail(explain(err))
	}
	// The account documents' schema is not documented: each is kept as raw JSON.
	var ids []string
	for _, raw := range list.All() {
		var doc struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(raw, &doc) == nil && doc.ID != "" {
			ids = append(ids, doc.ID)
		}
	}
	if !list.IsArray() {
		steps.Done("answer is not a JSON array (%d bytes, kept raw)", len(list.Raw))
	} else {
		steps.Done("%d accounts: %s", list.Len(), exampleutil.Shorten(strings.Join(ids, ", "), 60))
	}

	if len(ids) > 0 {
		steps.Begin("get digital account " + ids[0])
		doc, err := client.DigitalAccounts.Get(ctx, ids[0])
		if err != nil {
			return steps.Fail(explain(err))
		}
		steps.Done("%d bytes of JSON", len(doc))
	}

	steps.Begin("handle an API error (unknown account)")
	_, err = client.DigitalAccounts.Get(ctx, "banksdk-example-no-such-account")
	var apiErr *tkey7.APIError
	switch {
	case err == nil:
		return steps.Fail(errors.New("expected an error for an unknown account"))
	case errors.Is(err, tkey7.ErrTokenRevoked), errors.Is(err, tkey7.ErrSessionExpired):
		return steps.Fail(explain(err)) // the token, not the account
	case !errors.As(err, &apiErr):
		return steps.Fail(err) // no answer from TKEY7 (a *banksdk.TransportError)
	}
	steps.Done("%d %s %q (troubleshooting id %s)", apiErr.StatusCode, apiErr.Code, apiErr.ShortMessage, apiErr.TroubleshootingID)
	return nil
}

// fakeOnlyFlow runs against the fake only, whose clock moves when the program moves
// it: the client stays idle while the clock crosses three and a half revoke windows,
// then the fake revokes the token, and a new token in the token file heals the client.
func fakeOnlyFlow(ctx context.Context, steps *exampleutil.Steps, client *tkey7.Client, srv *tkey7test.Server, clock *tkey7test.Clock, file string) error {
	steps.Begin("stay idle for 3.5 revoke windows (fake clock)")
	if err := exampleutil.IdleRevokeWindows(ctx, srv, clock, 7); err != nil {
		return steps.Fail(err)
	}
	if _, err := client.DigitalAccounts.List(ctx); err != nil {
		return steps.Fail(explain(err))
	}
	steps.Done("%d refreshes in the background, %d retired tokens sent; token still valid",
		client.Refreshes(), srv.RetiredTokenUses())

	steps.Begin("a revoked token is reported, not retried")
	// The keep-alive goes on refreshing in the background meanwhile: count the calls'
	// own requests.
	before := srv.Count(http.MethodGet, "digital-accounts")
	// As TKEY7 does after 15 minutes without a refresh. The keep-alive may rotate the
	// token meanwhile: revoke until the token in use is revoked.
	current, err := tokenFile(file).Token(ctx)
	if err != nil {
		return steps.Fail(err)
	}
	for srv.State(srv.CurrentToken(current.Value)) != tkey7test.StateRevoked {
		srv.Revoke(srv.CurrentToken(current.Value))
	}
	_, err = client.DigitalAccounts.List(ctx)
	if !errors.Is(err, tkey7.ErrTokenRevoked) {
		return steps.Fail(fmt.Errorf("expected ErrTokenRevoked, got %v", err))
	}
	var apiErr *tkey7.APIError
	if !errors.As(err, &apiErr) {
		return steps.Fail(fmt.Errorf("expected an *APIError, got %v", err))
	}
	if _, err := client.DigitalAccounts.List(ctx); !errors.Is(err, tkey7.ErrTokenRevoked) {
		return steps.Fail(fmt.Errorf("expected ErrTokenRevoked again, got %v", err))
	}
	steps.Done("%d %s; 2 calls, %d reached TKEY7 (the second failed without being sent)",
		apiErr.StatusCode, apiErr.Code, srv.Count(http.MethodGet, "digital-accounts")-before)

	steps.Begin("a new token in the token file heals the client")
	// What an operator does once an administrator created a new token.
	if err := os.WriteFile(file, []byte(srv.IssueToken()), 0o600); err != nil {
		return steps.Fail(err)
	}
	list, err := client.DigitalAccounts.List(ctx)
	if err != nil {
		return steps.Fail(explain(err))
	}
	steps.Done("%d accounts with the new token, same client; its session ends %s",
		list.Len(), client.SessionEnd().UTC().Format(time.RFC3339))
	return nil
}

// explain adds to an error of a TKEY7 call what to do about it.
func explain(err error) error {
	var apiErr *tkey7.APIError
	switch {
	case errors.Is(err, tkey7.ErrTokenRevoked):
		return fmt.Errorf("%w (an administrator creates a new token in the Web Office; with TKEY7_ACCESS_TOKEN_FILE, writing it there heals the running program)", err)
	case errors.Is(err, tkey7.ErrSessionExpired):
		return fmt.Errorf("%w (the token's 24-hour session ended: an administrator creates a new token in the Web Office)", err)
	case errors.As(err, &apiErr) && apiErr.TroubleshootingID != "":
		return fmt.Errorf("%w (quote troubleshooting id %s to TKEY7's support)", err, apiErr.TroubleshootingID)
	}
	return err
}

// tokenFile is an access token source reading the token from a file on every call
// the client makes to it: at start and after a revocation.
func tokenFile(path string) auth.Source {
	return auth.SourceFunc(func(context.Context) (auth.Token, error) {
		b, err := os.ReadFile(path)
		if err != nil {
			return auth.Token{}, err
		}
		return auth.Token{Value: strings.TrimSpace(string(b))}, nil
	})
}

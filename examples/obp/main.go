// Command obp shows the Open Bank Project client: the current user, a DAuth user
// created with access to an account, and a view granted to a user, revoked, and
// revoked again for OBP's typed error.
//
// Run it with -h for the environment variables that point it at a real OBP instance.
// It prints what it did, never a key, password or token, and exits 1 when a step
// fails, 2 on bad usage.
package main

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

const usage = `Usage: go run ./examples/obp [flags]

Reads the current user, creates a DAuth user with access to an account, grants a user a
view of that account, revokes it, and revokes it again to show OBP's typed error. With
OBP_BASE_URL unset it runs against the fake instance (package obptest) with DAuth.

Environment, for a real OBP instance: OBP_BASE_URL with either DAuth
  OBP_BASE_URL              the instance's URL, e.g. https://apisandbox.openbankproject.com
  OBP_DAUTH_KEY_FILE        the RSA private key (PEM) whose public half the instance trusts
  OBP_DAUTH_SMART_CONTRACT  the smart contract address (the OBP username)
  OBP_DAUTH_NETWORK         the network name (the provider is dauth.<network>)
  OBP_DAUTH_CONSUMER_KEY    the consumer key
  OBP_DAUTH_MSG_SENDER      optional: the actor within the smart contract
or DirectLogin (when OBP_DAUTH_KEY_FILE is unset)
  OBP_USERNAME              the user's name
  OBP_PASSWORD              the user's password
  OBP_CONSUMER_KEY          the consumer key
  OBP_GRANT_USER_ID         optional: the user to grant a view to (with DAuth the
                            program grants it to the user it created)
For the account steps (both, on an account the caller holds the owner view of):
  OBP_BANK_ID               the bank's id
  OBP_ACCOUNT_ID            the account's id
  OBP_VERSION               optional: the API version (default v4.0.0)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the example and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("obp", flag.ContinueOnError)
	flags := exampleutil.AddFlags(fs, stderr, time.Minute)
	if code, ok := exampleutil.Parse(fs, args, usage); !ok {
		return code
	}
	ctx, cancel := flags.Context()
	defer cancel()
	return exampleutil.ExitCode(stderr, "obp example", example(ctx, stdout, flags.Logger()))
}

// example builds the client from the environment, or for the fake instance, and runs
// the flow.
func example(ctx context.Context, stdout io.Writer, logger *slog.Logger) error {
	opts := []obp.Option{obp.WithUserAgent("banksdk-example-obp"), obp.WithLogger(logger)}
	if v := os.Getenv("OBP_VERSION"); v != "" {
		opts = append(opts, obp.WithVersion(v))
	}
	bankID, accountID := os.Getenv("OBP_BANK_ID"), os.Getenv("OBP_ACCOUNT_ID")
	var dauth *obp.DAuthConfig // nil: DirectLogin
	var login obp.Option
	if base := os.Getenv("OBP_BASE_URL"); base != "" {
		opts = append(opts, obp.WithBaseURL(base))
		if keyFile := os.Getenv("OBP_DAUTH_KEY_FILE"); keyFile != "" {
			pemBytes, err := os.ReadFile(keyFile)
			if err != nil {
				return exampleutil.UsageError("OBP_DAUTH_KEY_FILE: %w", err)
			}
			key, err := auth.LoadRSAPrivateKey(pemBytes)
			if err != nil {
				return exampleutil.UsageError("OBP_DAUTH_KEY_FILE: %w", err)
			}
			dauth = &obp.DAuthConfig{
				PrivateKey:           key,
				SmartContractAddress: os.Getenv("OBP_DAUTH_SMART_CONTRACT"),
				NetworkName:          os.Getenv("OBP_DAUTH_NETWORK"),
				MsgSender:            os.Getenv("OBP_DAUTH_MSG_SENDER"),
				ConsumerKey:          os.Getenv("OBP_DAUTH_CONSUMER_KEY"),
			}
			fmt.Fprintln(stdout, "mode: OBP at", base, "with DAuth")
		} else {
			login = obp.WithDirectLogin(os.Getenv("OBP_USERNAME"), os.Getenv("OBP_PASSWORD"), os.Getenv("OBP_CONSUMER_KEY"))
			fmt.Fprintln(stdout, "mode: OBP at", base, "with DirectLogin")
		}
	} else {
		srv, cfg, err := exampleutil.OBPFake()
		if err != nil {
			return err
		}
		defer srv.Close()
		opts = append(opts, obp.WithBaseURL(srv.URL()))
		dauth, bankID, accountID = &cfg, obptest.DefaultBankID, obptest.DefaultAccountID
		fmt.Fprintln(stdout, "mode: fake OBP instance at", srv.URL(), "with DAuth")
	}
	if dauth != nil {
		login = obp.WithDAuth(*dauth) // NewClient checks that every required field is set
	}

	c, err := obp.NewClient(append(opts, login)...)
	if err != nil {
		return exampleutil.UsageError("%w", err)
	}
	defer c.Close()
	fmt.Fprintln(stdout, "client:", c)

	f := flow{c: c, steps: exampleutil.NewSteps(stdout, ""), opts: opts, dauth: dauth,
		bankID: bankID, accountID: accountID, grantUserID: os.Getenv("OBP_GRANT_USER_ID")}
	return f.run(ctx)
}

// flow is the OBP flow of one caller.
type flow struct {
	c     *obp.Client
	steps *exampleutil.Steps
	// opts are the client's options but its credentials, for a client of another user.
	opts []obp.Option
	// dauth, with DAuth, lets the flow act as the user it creates (the same key signs
	// for any smart contract address).
	dauth *obp.DAuthConfig
	// bankID and accountID name an account the caller holds the owner view of; empty:
	// no account steps.
	bankID, accountID string
	// grantUserID is the user to grant a view to without DAuth.
	grantUserID string
}

func (f flow) run(ctx context.Context) error {
	c, steps := f.c, f.steps
	steps.Begin("current user")
	me, err := c.Users.Current(ctx)
	if err != nil {
		return steps.Fail(explain(err))
	}
	provider := "(null)"
	if me.Provider != nil {
		provider = *me.Provider
	}
	steps.Done("user %s, provider %s, %d entitlement(s)", me.UserID, provider, len(me.Entitlements))
	if f.bankID == "" || f.accountID == "" {
		return nil
	}

	// A new DAuth identity: a random smart contract address on the caller's network.
	contract := make([]byte, 20)
	_, _ = rand.Read(contract)
	network := "ETHEREUM"
	if f.dauth != nil {
		network = f.dauth.NetworkName
	}
	username := "0x" + hex.EncodeToString(contract)
	steps.Begin("create a DAuth user with account access")
	views, err := c.AccountAccess.CreateUserWithAccountAccess(ctx, f.bankID, f.accountID, obp.CreateUserAccountAccessRequest{
		Username: username,
		Provider: obp.DAuthProvider(network),
		Views:    []obp.ViewSelector{{ViewID: "ReadAccountsBasic", IsSystem: true}},
	})
	if errors.Is(err, obp.ErrOutcomeUnknown) {
		// OBP may have created the user and granted the view: a second call could
		// fail or grant twice. Look the user up first (as that user: Users.Current).
		return steps.Fail(fmt.Errorf("user %s may have been created; look it up before creating it again: %w", username, err))
	}
	if err != nil {
		return steps.Fail(explain(err))
	}
	ids := make([]string, 0, len(views))
	for _, v := range views {
		ids = append(ids, v.ID)
	}
	steps.Done("%s with view(s) %s", exampleutil.Shorten(username, 12), strings.Join(ids, ", "))

	userID := f.grantUserID
	if f.dauth != nil {
		steps.Begin("read the new user's id as that user")
		as := *f.dauth
		as.SmartContractAddress = username
		nc, err := obp.NewClient(append(f.opts, obp.WithDAuth(as))...)
		if err != nil {
			return steps.Fail(err)
		}
		defer nc.Close()
		if userID, err = nc.Users.CurrentID(ctx); err != nil {
			return steps.Fail(explain(err))
		}
		steps.Done("%s", userID)
	}
	if userID == "" {
		return nil
	}

	req := obp.AccountAccessRequest{UserID: userID, View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}}
	steps.Begin("grant a view")
	v, err := c.AccountAccess.Grant(ctx, f.bankID, f.accountID, req)
	if errors.Is(err, obp.ErrOutcomeUnknown) {
		return steps.Fail(fmt.Errorf("the view may have been granted; check the user's views before granting it again: %w", err))
	}
	if err != nil {
		return steps.Fail(explain(err))
	}
	steps.Done("%s (can see balance: %v)", v.ID, v.CanSeeBankAccountBalance)

	steps.Begin("revoke the view")
	revoked, err := c.AccountAccess.Revoke(ctx, f.bankID, f.accountID, req)
	if errors.Is(err, obp.ErrOutcomeUnknown) {
		return steps.Fail(fmt.Errorf("the view may have been revoked; check the user's views before revoking it again: %w", err))
	}
	if err != nil {
		return steps.Fail(explain(err))
	}
	steps.Done("revoked: %v", revoked)

	steps.Begin("revoke it again: a typed OBP error")
	_, err = c.AccountAccess.Revoke(ctx, f.bankID, f.accountID, req)
	var apiErr *obp.APIError
	if !errors.As(err, &apiErr) {
		return steps.Fail(fmt.Errorf("expected an *obp.APIError, got %v", err))
	}
	// OBP codes are errors: errors.Is(err, obp.ErrCannotFindAccountAccess) and the
	// like compare the primary code, never the message text.
	steps.Done("HTTP %d %s", apiErr.StatusCode, apiErr.OBPCode)
	return nil
}

// explain adds to an error of an OBP call what to do about it.
func explain(err error) error {
	switch {
	case errors.Is(err, obp.ErrInvalidLoginCredentials), errors.Is(err, obp.ErrInvalidConsumerKey):
		return fmt.Errorf("%w (check OBP_USERNAME, OBP_PASSWORD and OBP_CONSUMER_KEY)", err)
	case errors.Is(err, obp.ErrDAuthJWTCorrupted), errors.Is(err, obp.ErrDAuthHostNotDefined), errors.Is(err, obp.ErrDAuthAddressNotAllowed):
		return fmt.Errorf("%w (the instance refused DAuth: its public key, dauth.host and this machine's address must match)", err)
	case errors.Is(err, obp.ErrUserHasMissingRoles):
		return fmt.Errorf("%w (the caller needs an entitlement for this call)", err)
	case errors.Is(err, obp.ErrBankAccountNotFound), errors.Is(err, obp.ErrBankNotFound):
		return fmt.Errorf("%w (check OBP_BANK_ID and OBP_ACCOUNT_ID)", err)
	}
	return err
}

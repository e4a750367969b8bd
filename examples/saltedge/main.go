// Command saltedge is a small bank's connector for Salt Edge PSD2 Compliance: the
// Connector in bank.go serves Salt Edge's requests through saltedge.NewHandler and
// answers with the saltedge.Client's callbacks.
//
// Without configuration it runs the whole flow locally: a fake Salt Edge sends
// tokens/create to the connector, the connector redirects the PSU to its /authorize
// page (visited by the program, standing in for the PSU), confirms with
// sessions/success, and the fake then reads accounts, transactions and KYC. Run it
// with -h for the environment variables that serve the connector to the real Salt
// Edge instead. It exits 1 when a step fails, 2 on bad usage.
package main

import (
	"context"
	"crypto/rsa"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

const usage = `Usage: go run ./examples/saltedge [flags]

A bank's connector for Salt Edge PSD2 Compliance. With SALTEDGE_APP_ID unset it runs
the whole flow against the fake Salt Edge (package saltedgetest): tokens/create, the
PSU sent to the bank's /authorize page, sessions/success, accounts, transactions, KYC,
tokens/index and tokens/revoke. With SALTEDGE_APP_ID set it serves the connector to
Salt Edge until interrupted.

Environment, to serve the real Salt Edge (SALTEDGE_APP_ID with one of the two secrets
and both key files, all required):
  SALTEDGE_APP_ID            the connector's application id
  SALTEDGE_APP_SECRET        its application secret
  SALTEDGE_APP_SECRET_FILE   or, in place of SALTEDGE_APP_SECRET: a file holding it, read
                             for every callback (a secret manager keeps it current)
  SALTEDGE_PRIVATE_KEY_FILE  the connector's RSA private key (PEM), signing callbacks
  SALTEDGE_PUBLIC_KEY_FILE   Salt Edge's RSA public key (PEM); during a key rotation
                             the old and the new key, one PEM block each
Optional:
  SALTEDGE_LISTEN_ADDR       where to listen (default :8080; put it behind TLS)
  SALTEDGE_BASE_URL          Salt Edge's URL for the callbacks (default
                             https://priora.saltedge.com)
  SALTEDGE_PUBLIC_URL        where the PSU reaches the bank's /authorize page
                             (default http://localhost plus the listen address)
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the example and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("saltedge", flag.ContinueOnError)
	flags := exampleutil.AddFlags(fs, stderr, 30*time.Second) // -timeout: against the fake
	if code, ok := exampleutil.Parse(fs, args, usage); !ok {
		return code
	}
	if os.Getenv("SALTEDGE_APP_ID") != "" {
		return exampleutil.ExitCode(stderr, "saltedge example", serve(stdout, flags.Logger()))
	}
	ctx, cancel := flags.Context()
	defer cancel()
	return exampleutil.ExitCode(stderr, "saltedge example", againstFake(ctx, stdout, flags.Logger()))
}

// serve serves the connector to the real Salt Edge until interrupted.
func serve(stdout io.Writer, logger *slog.Logger) error {
	secret, secretFile := os.Getenv("SALTEDGE_APP_SECRET"), os.Getenv("SALTEDGE_APP_SECRET_FILE")
	privFile, pubFile := os.Getenv("SALTEDGE_PRIVATE_KEY_FILE"), os.Getenv("SALTEDGE_PUBLIC_KEY_FILE")
	if (secret == "") == (secretFile == "") || privFile == "" || pubFile == "" {
		return exampleutil.UsageError("SALTEDGE_APP_ID needs one of SALTEDGE_APP_SECRET and SALTEDGE_APP_SECRET_FILE, " +
			"SALTEDGE_PRIVATE_KEY_FILE and SALTEDGE_PUBLIC_KEY_FILE")
	}
	appSecret := saltedge.WithAppSecret(secret)
	if secretFile != "" {
		// Read for every attempt, so a secret rotated in the file is sent from then on.
		appSecret = saltedge.WithAppSecretSource(auth.SourceFunc(func(context.Context) (auth.Token, error) {
			b, err := os.ReadFile(secretFile)
			if err != nil {
				return auth.Token{}, err
			}
			return auth.Token{Value: strings.TrimSpace(string(b))}, nil
		}))
	}
	privPEM, err := os.ReadFile(privFile)
	if err != nil {
		return exampleutil.UsageError("SALTEDGE_PRIVATE_KEY_FILE: %w", err)
	}
	pubPEM, err := os.ReadFile(pubFile)
	if err != nil {
		return exampleutil.UsageError("SALTEDGE_PUBLIC_KEY_FILE: %w", err)
	}
	keys, err := publicKeys(pubPEM)
	if err != nil {
		return exampleutil.UsageError("SALTEDGE_PUBLIC_KEY_FILE: %w", err)
	}
	opts := []saltedge.Option{
		saltedge.WithAppID(os.Getenv("SALTEDGE_APP_ID")),
		appSecret,
		saltedge.WithPrivateKeyPEM(privPEM),
		saltedge.WithLogger(logger),
		saltedge.WithUserAgent("banksdk-example-saltedge"),
	}
	if u := os.Getenv("SALTEDGE_BASE_URL"); u != "" {
		opts = append(opts, saltedge.WithBaseURL(u))
	}
	client, err := saltedge.NewClient(opts...)
	if err != nil {
		return exampleutil.UsageError("%w", err)
	}
	defer client.Close()
	addr := os.Getenv("SALTEDGE_LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	public := os.Getenv("SALTEDGE_PUBLIC_URL")
	if public == "" {
		public = "http://localhost" + addr
	}
	b := newBank(client, public, logger)
	// Salt Edge's keys as a set: a JWT signed by any of them is accepted, so the
	// connector keeps serving while Salt Edge rolls over to a new key. One process:
	// an in-memory replay store serves each of Salt Edge's JWTs once (replicas would
	// share one, e.g. in Redis).
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b, KeySet: auth.StaticKeySet(keys...),
		Issuer: saltedge.DefaultIssuer, Logger: logger, ReplayStore: saltedge.NewMemoryReplayStore(0)})
	if err != nil {
		return exampleutil.UsageError("%w", err)
	}
	srv := &http.Server{Addr: addr, Handler: b.routes(h), ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes: saltedge.DefaultMaxHeaderBytes}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Fprintf(stdout, "serving the connector on %s (callbacks to %s)\n", addr, client)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	b.wait()
	return nil
}

// publicKeys reads every RSA public key of a PEM file (one block per key).
func publicKeys(data []byte) ([]*rsa.PublicKey, error) {
	var keys []*rsa.PublicKey
	for {
		var block *pem.Block
		if block, data = pem.Decode(data); block == nil {
			break
		}
		k, err := auth.LoadRSAPublicKey(pem.EncodeToMemory(block))
		if err != nil {
			return nil, err
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("no PEM block found")
	}
	return keys, nil
}

// againstFake serves the connector on a loopback port and lets the fake Salt Edge
// drive it, printing a line per step.
func againstFake(ctx context.Context, stdout io.Writer, logger *slog.Logger) error {
	se := saltedgetest.NewServer()
	defer se.Close()
	fmt.Fprintln(stdout, "mode: fake Salt Edge at", se.URL())
	client, err := saltedge.NewClient(
		saltedge.WithBaseURL(se.URL()),
		saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()),
		saltedge.WithPrivateKey(se.PrivateKey()),
		saltedge.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	defer client.Close()
	var b *bank
	bankURL, stop, err := exampleutil.ServeLoopback(func(bankURL string) (http.Handler, error) {
		b = newBank(client, bankURL, logger)
		h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b, PublicKey: se.PublicKey(),
			Issuer: saltedge.DefaultIssuer, Logger: logger})
		if err != nil {
			return nil, err
		}
		return b.routes(h), nil
	})
	if err != nil {
		return err
	}
	defer func() {
		stop()
		b.wait()
	}()
	saltEdge := se.Connector(bankURL) // Salt Edge's requests to the connector
	steps := exampleutil.NewSteps(stdout, "")

	steps.Begin("tokens/create: Salt Edge asks the bank for access")
	resp, err := saltEdge.CreateToken(ctx, saltedgetest.TokenRequest{Scopes: []string{"accounts", "transactions", "kyc"}})
	if err := exampleutil.SaltEdgeAnswer(resp, err, nil); err != nil {
		return steps.Fail(err)
	}
	secret := resp.SessionSecret
	steps.Done("HTTP %d", resp.StatusCode)

	steps.Begin("sessions/update callback: redirect the PSU")
	redirect, err := waitRedirect(ctx, se, secret)
	if err != nil {
		return steps.Fail(err)
	}
	steps.Done("to the bank's /authorize page")

	steps.Begin("the PSU approves; sessions/success callback")
	if err := visit(ctx, redirect); err != nil {
		return steps.Fail(err)
	}
	sess, err := se.WaitSession(ctx, secret)
	if err != nil {
		return steps.Fail(err)
	}
	if sess.Status != saltedgetest.SessionSuccess {
		return steps.Fail(fmt.Errorf("session ended with %s: %s", sess.Status, sess.Result))
	}
	var success struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(sess.Result, &success); err != nil || success.Token == "" {
		return steps.Fail(errors.New("sessions/success carried no token"))
	}
	token := success.Token
	steps.Done("access token issued ([REDACTED])")

	steps.Begin("the fake verified every callback's RS256 JWT")
	cbs := se.Callbacks()
	for _, cb := range cbs {
		if !cb.Verified {
			return steps.Fail(fmt.Errorf("callback %s was not verified: %s", cb.Name, cb.ErrorMessage))
		}
	}
	steps.Done("%d callback(s) verified", len(cbs))

	steps.Begin("accounts")
	var accounts []saltedge.Account
	resp, err = saltEdge.Accounts(ctx, token, secret)
	if err := exampleutil.SaltEdgeAnswer(resp, err, &accounts); err != nil {
		return steps.Fail(err)
	}
	if len(accounts) == 0 {
		return steps.Fail(errors.New("no accounts"))
	}
	steps.Done("%d account(s), %s %s %s", len(accounts), accounts[0].Name, accounts[0].Balance, accounts[0].CurrencyCode)

	steps.Begin("transactions")
	var txs []saltedge.Transaction
	now := time.Now()
	resp, err = saltEdge.TransactionsFor(ctx, token, secret, accounts[0].ID, now.AddDate(0, -3, 0), now)
	if err := exampleutil.SaltEdgeAnswer(resp, err, &txs); err != nil {
		return steps.Fail(err)
	}
	steps.Done("%d transaction(s)", len(txs))

	steps.Begin("kyc")
	var kyc saltedge.KYC
	resp, err = saltEdge.KYCFor(ctx, token, secret)
	if err := exampleutil.SaltEdgeAnswer(resp, err, &kyc); err != nil {
		return steps.Fail(err)
	}
	steps.Done("%s", kyc.Name)

	steps.Begin("tokens/index: the connector lists its tokens")
	page, err := client.Tokens.Index(ctx, saltedge.TokensQuery{})
	if err != nil {
		// Salt Edge's answer, when there is one, is an *APIError: compare its
		// class with Has (ClassTokenMissing, ClassConfigurationError, ...).
		var apiErr *saltedge.APIError
		if errors.As(err, &apiErr) {
			return steps.Fail(fmt.Errorf("refused with class %s: %w", apiErr.Class, err))
		}
		return steps.Fail(err)
	}
	steps.Done("%d token(s)", len(page.Tokens))

	steps.Begin("an unknown token is refused with a documented class")
	resp, err = saltEdge.Accounts(ctx, "forged-token", secret)
	if err != nil {
		return steps.Fail(err)
	}
	if resp.OK() {
		return steps.Fail(errors.New("a forged token was accepted"))
	}
	steps.Done("HTTP %d %s", resp.StatusCode, resp.ErrorClass)

	steps.Begin("tokens/revoke")
	resp, err = saltEdge.RevokeToken(ctx, token, secret)
	if err := exampleutil.SaltEdgeAnswer(resp, err, nil); err != nil {
		return steps.Fail(err)
	}
	steps.Done("HTTP %d", resp.StatusCode)
	return nil
}

// waitRedirect waits for the connector's sessions/update to reach the fake and
// returns its redirect_url.
func waitRedirect(ctx context.Context, se *saltedgetest.Server, secret string) (string, error) {
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		if s, ok := se.Session(secret); ok && len(s.Updates) > 0 {
			var u saltedge.SessionUpdate
			if err := json.Unmarshal(s.Updates[0], &u); err != nil {
				return "", err
			}
			redirect, _ := u.Extra["redirect_url"].(string)
			if u.Status != saltedge.SessionRedirect || redirect == "" {
				return "", fmt.Errorf("unexpected update: %s", s.Updates[0])
			}
			return redirect, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for sessions/update: %w", ctx.Err())
		case <-tick.C:
		}
	}
}

// visit opens the redirect URL as the PSU's browser would.
func visit(ctx context.Context, u string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("authorize page: %d %s", resp.StatusCode, body)
	}
	return nil
}

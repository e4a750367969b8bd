// Command saltedge runs a small demo bank connector for Salt Edge PSD2 Compliance.
//
// Without configuration it runs the whole flow locally: a fake Salt Edge sends
// tokens/create to the connector, the connector redirects the PSU to its /authorize
// page (visited by the program, standing in for the PSU), confirms with
// sessions/success, and the fake then reads accounts, transactions and KYC.
//
// With SALTEDGE_APP_ID, SALTEDGE_APP_SECRET, SALTEDGE_PRIVATE_KEY_FILE (the
// connector's RSA private key, PEM) and SALTEDGE_PUBLIC_KEY_FILE (Salt Edge's public
// key, PEM) set, it serves the connector for real on SALTEDGE_LISTEN_ADDR (default
// :8080; put it behind TLS) with callbacks to SALTEDGE_BASE_URL (default
// https://priora.saltedge.com), and SALTEDGE_PUBLIC_URL naming where the PSU reaches
// the /authorize page.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	if os.Getenv("SALTEDGE_APP_ID") != "" {
		err = serve(logger)
	} else {
		err = demo(logger)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "saltedge example:", err)
		os.Exit(1)
	}
}

// serve runs the connector against the real Salt Edge until interrupted.
func serve(logger *slog.Logger) error {
	for _, v := range []string{"SALTEDGE_APP_SECRET", "SALTEDGE_PRIVATE_KEY_FILE", "SALTEDGE_PUBLIC_KEY_FILE"} {
		if os.Getenv(v) == "" {
			return fmt.Errorf("%s is required with SALTEDGE_APP_ID", v)
		}
	}
	privPEM, err := os.ReadFile(os.Getenv("SALTEDGE_PRIVATE_KEY_FILE"))
	if err != nil {
		return fmt.Errorf("reading the private key: %w", err)
	}
	pubPEM, err := os.ReadFile(os.Getenv("SALTEDGE_PUBLIC_KEY_FILE"))
	if err != nil {
		return fmt.Errorf("reading Salt Edge's public key: %w", err)
	}
	pub, err := auth.LoadRSAPublicKey(pubPEM)
	if err != nil {
		return err
	}
	opts := []saltedge.Option{
		saltedge.WithAppID(os.Getenv("SALTEDGE_APP_ID")),
		saltedge.WithAppSecret(os.Getenv("SALTEDGE_APP_SECRET")),
		saltedge.WithPrivateKeyPEM(privPEM),
		saltedge.WithLogger(logger),
		saltedge.WithUserAgent("banksdk-example-saltedge"),
	}
	if u := os.Getenv("SALTEDGE_BASE_URL"); u != "" {
		opts = append(opts, saltedge.WithBaseURL(u))
	}
	client, err := saltedge.NewClient(opts...)
	if err != nil {
		return err
	}
	addr := os.Getenv("SALTEDGE_LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	public := os.Getenv("SALTEDGE_PUBLIC_URL")
	if public == "" {
		public = "http://localhost" + addr
	}
	bank := newDemoBank(client, public, logger)
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: bank, PublicKey: pub,
		Issuer: saltedge.DefaultIssuer, Logger: logger})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: routes(h, bank), ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes: saltedge.DefaultMaxHeaderBytes}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		_ = srv.Shutdown(sctx)
	}()
	fmt.Printf("serving the demo connector on %s (callbacks to %s)\n", addr, client)
	if err := srv.ListenAndServe(); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	bank.wait()
	return nil
}

func routes(h http.Handler, bank *demoBank) http.Handler {
	mux := http.NewServeMux()
	mux.Handle(saltedge.DefaultBasePath+"/", h)
	mux.HandleFunc("GET /authorize", bank.authorize)
	return mux
}

// demo runs the whole flow against the fake Salt Edge.
func demo(logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	se := saltedgetest.NewServer()
	defer se.Close()
	fmt.Println("fake Salt Edge at", se.URL())

	client, err := saltedge.NewClient(
		saltedge.WithBaseURL(se.URL()),
		saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()),
		saltedge.WithPrivateKey(se.ProviderPrivateKey()),
		saltedge.WithLogger(logger),
	)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	bankURL := "http://" + ln.Addr().String()
	bank := newDemoBank(client, bankURL, logger)
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: bank, PublicKey: se.PublicKey(),
		Issuer: saltedge.DefaultIssuer, Logger: logger})
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: routes(h, bank), ReadHeaderTimeout: 5 * time.Second}
	go func() { _ = srv.Serve(ln) }()
	defer func() {
		_ = srv.Close()
		bank.wait()
	}()
	fmt.Println("demo connector at", bankURL)

	saltEdge := se.Connector(bankURL)

	// 1. A TPP asks for access: Salt Edge sends tokens/create.
	resp, err := saltEdge.CreateToken(ctx, saltedgetest.TokenRequest{Scopes: []string{"accounts", "transactions", "kyc"}})
	if err != nil {
		return err
	}
	if !resp.OK() {
		return fmt.Errorf("tokens/create: %d %s", resp.StatusCode, resp.ErrorClass)
	}
	secret := resp.SessionSecret
	fmt.Println("tokens/create:", resp.StatusCode)

	// 2. The connector answers with sessions/update (redirect).
	redirect, err := waitRedirect(ctx, se, secret)
	if err != nil {
		return err
	}
	fmt.Println("sessions/update: redirect to the bank's /authorize page")

	// 3. The PSU approves on the bank's page; the connector sends sessions/success.
	if err := visit(ctx, redirect); err != nil {
		return err
	}
	sess, err := se.WaitSession(ctx, secret)
	if err != nil {
		return err
	}
	if sess.Status != saltedgetest.SessionSuccess {
		return fmt.Errorf("session ended with %s: %s", sess.Status, sess.Result)
	}
	var success struct {
		Token string `json:"token"`
	}
	if err := json.Unmarshal(sess.Result, &success); err != nil || success.Token == "" {
		return errors.New("sessions/success carried no token")
	}
	for _, cb := range se.Callbacks() {
		fmt.Printf("callback %s: verified=%v (RS256 JWT by the connector's key, App-Id/App-Secret)\n", cb.Name, cb.Verified)
		if !cb.Verified {
			return fmt.Errorf("callback %s was not verified: %s", cb.Name, cb.ErrorMessage)
		}
	}
	fmt.Println("access token issued ([REDACTED])")

	// 4. Salt Edge reads accounts, transactions and KYC with the token.
	resp, err = saltEdge.Accounts(ctx, success.Token, secret)
	var accounts []saltedge.Account
	if err := decode(resp, err, "accounts", &accounts); err != nil {
		return err
	}
	for _, a := range accounts {
		fmt.Printf("account %s %q %s %s %s\n", a.ID, a.Name, a.Nature, a.Balance, a.CurrencyCode)
	}
	now := time.Now()
	resp, err = saltEdge.TransactionsFor(ctx, success.Token, secret, accounts[0].ID, now.AddDate(0, -3, 0), now)
	var txs []saltedge.Transaction
	if err := decode(resp, err, "transactions", &txs); err != nil {
		return err
	}
	for _, tx := range txs {
		fmt.Printf("transaction %s %s %s %s %q\n", tx.ID, tx.MadeOn, tx.Amount, tx.Status, tx.Description)
	}
	resp, err = saltEdge.KYCFor(ctx, success.Token, secret)
	var kyc saltedge.KYC
	if err := decode(resp, err, "kyc", &kyc); err != nil {
		return err
	}
	fmt.Printf("kyc: %s <%s>\n", kyc.Name, kyc.Email)

	// 5. Unknown tokens and unsupported endpoints are refused with documented classes.
	resp, err = saltEdge.Accounts(ctx, "forged-token", secret)
	if err != nil {
		return err
	}
	fmt.Printf("accounts with an unknown token: %d %s\n", resp.StatusCode, resp.ErrorClass)
	resp, err = saltEdge.CreatePayment(ctx, success.Token, saltedgetest.PaymentRequest{PrioraPaymentID: 1, PaymentType: "SEPA"})
	if err != nil {
		return err
	}
	fmt.Printf("payments/create (not supported by the demo): %d %s\n", resp.StatusCode, resp.ErrorClass)

	// 6. Salt Edge revokes the token.
	resp, err = saltEdge.RevokeToken(ctx, success.Token, secret)
	if err := decode(resp, err, "tokens/revoke", nil); err != nil {
		return err
	}
	fmt.Println("tokens/revoke:", resp.StatusCode)
	return nil
}

func decode(resp *saltedgetest.Response, err error, what string, v any) error {
	if err != nil {
		return fmt.Errorf("%s: %w", what, err)
	}
	if !resp.OK() {
		return fmt.Errorf("%s: %d %s: %s", what, resp.StatusCode, resp.ErrorClass, resp.ErrorMessage)
	}
	if v == nil {
		return nil
	}
	return resp.DecodeData(v)
}

// waitRedirect waits for the connector's sessions/update and returns its redirect_url.
func waitRedirect(ctx context.Context, se *saltedgetest.Server, secret string) (string, error) {
	t := time.NewTicker(5 * time.Millisecond)
	defer t.Stop()
	for {
		if s, ok := se.Session(secret); ok && len(s.Updates) > 0 {
			var u saltedge.SessionUpdate
			if err := json.Unmarshal(s.Updates[0], &u); err != nil {
				return "", err
			}
			url, _ := u.Extra["redirect_url"].(string)
			if u.Status != saltedge.SessionRedirect || url == "" {
				return "", fmt.Errorf("unexpected update: %s", s.Updates[0])
			}
			return url, nil
		}
		select {
		case <-ctx.Done():
			return "", fmt.Errorf("waiting for sessions/update: %w", ctx.Err())
		case <-t.C:
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

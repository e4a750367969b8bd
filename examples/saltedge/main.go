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
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

func main() {
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	var err error
	if os.Getenv("SALTEDGE_APP_ID") != "" {
		err = serve(logger)
	} else {
		err = runDemo(logger)
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
	defer client.Close()
	addr := os.Getenv("SALTEDGE_LISTEN_ADDR")
	if addr == "" {
		addr = ":8080"
	}
	public := os.Getenv("SALTEDGE_PUBLIC_URL")
	if public == "" {
		public = "http://localhost" + addr
	}
	bank := demo.NewSaltEdgeBank(client, public, logger)
	// One process: an in-memory replay store serves each of Salt Edge's JWTs once
	// (replicas would share one, e.g. in Redis).
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: bank, PublicKey: pub,
		Issuer: saltedge.DefaultIssuer, Logger: logger, ReplayStore: saltedge.NewMemoryReplayStore(0)})
	if err != nil {
		return err
	}
	srv := &http.Server{Addr: addr, Handler: demo.SaltEdgeRoutes(h, bank), ReadHeaderTimeout: 10 * time.Second,
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
	bank.Wait()
	return nil
}

// runDemo runs the whole flow against the fake Salt Edge.
func runDemo(logger *slog.Logger) error {
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	se := saltedgetest.NewServer()
	defer se.Close()
	fmt.Println("fake Salt Edge at", se.URL())
	return demo.SaltEdge(ctx, demo.Printer{Out: os.Stdout}, se, logger)
}

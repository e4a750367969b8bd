// Command saltedge runs a small demo bank connector for Salt Edge PSD2 Compliance.
//
// Without configuration it runs the whole flow locally: a fake Salt Edge sends
// tokens/create to the connector, the connector redirects the PSU to its /authorize
// page (visited by the program, standing in for the PSU), confirms with
// sessions/success, and the fake then reads accounts, transactions and KYC.
//
// With SALTEDGE_APP_ID, SALTEDGE_APP_SECRET (or SALTEDGE_APP_SECRET_FILE, a file a
// secret manager keeps current: it is read for every callback),
// SALTEDGE_PRIVATE_KEY_FILE (the connector's RSA private key, PEM) and
// SALTEDGE_PUBLIC_KEY_FILE (Salt Edge's public key, PEM; during a key rotation the
// old and the new key, one PEM block each) set, it serves the connector for real on
// SALTEDGE_LISTEN_ADDR (default :8080; put it behind TLS) with callbacks to
// SALTEDGE_BASE_URL (default https://priora.saltedge.com), and SALTEDGE_PUBLIC_URL
// naming where the PSU reaches the /authorize page.
package main

import (
	"context"
	"crypto/rsa"
	"encoding/pem"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"os/signal"
	"strings"
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
	for _, v := range []string{"SALTEDGE_PRIVATE_KEY_FILE", "SALTEDGE_PUBLIC_KEY_FILE"} {
		if os.Getenv(v) == "" {
			return fmt.Errorf("%s is required with SALTEDGE_APP_ID", v)
		}
	}
	appSecret := saltedge.WithAppSecret(os.Getenv("SALTEDGE_APP_SECRET"))
	if file := os.Getenv("SALTEDGE_APP_SECRET_FILE"); file != "" {
		// Read for every attempt, so a secret rotated in the file is sent from then on.
		appSecret = saltedge.WithAppSecretSource(auth.SourceFunc(func(context.Context) (auth.Token, error) {
			b, err := os.ReadFile(file)
			if err != nil {
				return auth.Token{}, err
			}
			return auth.Token{Value: strings.TrimSpace(string(b))}, nil
		}))
	}
	privPEM, err := os.ReadFile(os.Getenv("SALTEDGE_PRIVATE_KEY_FILE"))
	if err != nil {
		return fmt.Errorf("reading the private key: %w", err)
	}
	pubPEM, err := os.ReadFile(os.Getenv("SALTEDGE_PUBLIC_KEY_FILE"))
	if err != nil {
		return fmt.Errorf("reading Salt Edge's public key: %w", err)
	}
	keys, err := publicKeys(pubPEM)
	if err != nil {
		return err
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
	// Salt Edge's keys as a set: a JWT signed by any of them is accepted, so the
	// connector keeps serving while Salt Edge rolls over to a new key.
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: bank, KeySet: auth.StaticKeySet(keys...),
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
			return nil, fmt.Errorf("reading Salt Edge's public key: %w", err)
		}
		keys = append(keys, k)
	}
	if len(keys) == 0 {
		return nil, errors.New("reading Salt Edge's public key: no PEM block found")
	}
	return keys, nil
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

// Command kh runs the K&H PSD2 flow: register an application, create a PSU
// identification consent and authorise it with embedded SCA, list the PSU's accounts,
// create a balance and a transaction consent and authorise both in one signing basket,
// read balances and every page of transactions, then initiate a payment, authorise it
// and poll its status.
//
// With KH_BASE_URL, KH_CERT_FILE, KH_KEY_FILE and KH_APP_TOKEN set it talks to that
// bank (optional: KH_APP_ID to renew the application token, KH_PSU_ID,
// KH_PSU_PASSWORD, KH_OTP (else read from standard input), KH_PSU_IP,
// KH_CREDITOR_IBAN to also initiate a payment); otherwise it starts the fake bank of
// package khtest. It prints what it does, never a token or password, and exits
// non-zero on failure.
package main

import (
	"bufio"
	"context"
	"fmt"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "kh example:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))

	o := demo.KHOptions{IP: envOr("KH_PSU_IP", "192.0.2.10"), PollWait: 2 * time.Second}
	var opts []kh.Option
	if base := os.Getenv("KH_BASE_URL"); base != "" {
		for _, v := range []string{"KH_CERT_FILE", "KH_KEY_FILE", "KH_APP_TOKEN", "KH_PSU_PASSWORD"} {
			if os.Getenv(v) == "" {
				return fmt.Errorf("%s is required with KH_BASE_URL", v)
			}
		}
		opts = append(opts, kh.WithBaseURL(base),
			kh.WithClientCertificateFiles(os.Getenv("KH_CERT_FILE"), os.Getenv("KH_KEY_FILE")),
			kh.WithAppToken(os.Getenv("KH_APP_TOKEN")))
		if id := os.Getenv("KH_APP_ID"); id != "" {
			opts = append(opts, kh.WithApplicationID(id))
		}
		o.PSUID, o.Password, o.OTP = os.Getenv("KH_PSU_ID"), os.Getenv("KH_PSU_PASSWORD"), otpFromEnvOrStdin
		o.CreditorIBAN = os.Getenv("KH_CREDITOR_IBAN")
		fmt.Println("bank:", base)
	} else {
		srv := khtest.NewServer()
		defer srv.Close()
		id, pw, otp := srv.PSU()
		o.PSUID, o.Password, o.OTP = id, pw, func() (string, error) { return otp, nil }
		o.RegisterApp, o.CreditorIBAN, o.PollWait = true, "HU42117730161111101800000000", 0
		opts = append(opts, kh.WithBaseURL(srv.URL()), kh.WithClientCertificate(srv.ClientCertificate()),
			kh.WithRootCAs(srv.RootCAs()))
		fmt.Println("bank: the fake K&H bank (set KH_BASE_URL, KH_CERT_FILE, KH_KEY_FILE and KH_APP_TOKEN for a real one)")
	}
	opts = append(opts, kh.WithLogger(logger), kh.WithUserAgent("banksdk-example-kh/1"))
	c, err := kh.NewClient(opts...)
	if err != nil {
		return err
	}
	return demo.KH(ctx, demo.Printer{Out: os.Stdout}, c, o)
}

func otpFromEnvOrStdin() (string, error) {
	if v := os.Getenv("KH_OTP"); v != "" {
		return v, nil
	}
	fmt.Print("OTP: ")
	line, err := bufio.NewReader(os.Stdin).ReadString('\n')
	return strings.TrimSpace(line), err
}

func envOr(k, def string) string {
	if v := os.Getenv(k); v != "" {
		return v
	}
	return def
}

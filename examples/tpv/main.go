// Command tpv runs the TPV flow: log in, list products, submit the documentation's
// example sale, send the digital verification link and queue the verification call.
//
// With TPV_BASE_URL, TPV_APP_TOKEN and TPV_APP_SECRET set it talks to that clients
// portal; otherwise it starts the fake portal from package tpvtest. Against a real
// portal the sale is submitted (and the customer contacted) only when
// TPV_SUBMIT_EXAMPLE_SALE=yes, because a submission creates a real verification.
//
//	go run ./examples/tpv
package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/banksdk/banksdk/examples/internal/demo"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		os.Exit(1)
	}
}

func run() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()

	baseURL, appToken, appSecret := os.Getenv("TPV_BASE_URL"), os.Getenv("TPV_APP_TOKEN"), os.Getenv("TPV_APP_SECRET")
	live := baseURL != "" && appToken != "" && appSecret != ""
	if !live {
		if baseURL != "" || appToken != "" || appSecret != "" {
			return errors.New("set all of TPV_BASE_URL, TPV_APP_TOKEN and TPV_APP_SECRET, or none to use the fake portal")
		}
		portal := tpvtest.NewServer()
		defer portal.Close()
		baseURL, appToken, appSecret = portal.URL(), portal.AppToken(), portal.AppSecret()
		fmt.Println("using the fake portal at", baseURL)
	} else {
		fmt.Println("using the clients portal at", baseURL)
	}

	c, err := tpv.NewClient(
		tpv.WithBaseURL(baseURL),
		tpv.WithCredentials(appToken, appSecret),
		tpv.WithLogger(slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))),
		tpv.WithUserAgent("banksdk-example-tpv"),
	)
	if err != nil {
		return err
	}
	defer c.Close()
	submit := !live || os.Getenv("TPV_SUBMIT_EXAMPLE_SALE") == "yes"
	if !submit {
		fmt.Println("not submitting the example sale to a real portal; set TPV_SUBMIT_EXAMPLE_SALE=yes to do so")
	}
	return demo.TPV(ctx, demo.Printer{Out: os.Stdout}, c, demo.TPVOptions{Submit: submit})
}

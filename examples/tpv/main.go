// Command tpv runs the TPV flow: log in, list products, submit the documentation's
// example sale, send the digital verification link and queue the verification call.
//
// Run it with -h for the environment variables that point it at a real clients portal.
// It prints what it did, never a credential, and exits 1 when a step fails, 2 on bad
// usage.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"strings"
	"time"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

const usage = `Usage: go run ./examples/tpv [flags]

Logs in to the TPV clients portal (HMAC-signed), lists the products, submits the
documentation's example sale, sends its digital verification link and queues its
verification call. With none of the variables below set it runs against the fake
portal (package tpvtest).

Environment, for a real clients portal (the first three together):
  TPV_BASE_URL             the portal's URL
  TPV_APP_TOKEN            the application token the portal issued
  TPV_APP_SECRET           the application secret that signs the login
  TPV_SUBMIT_EXAMPLE_SALE  "yes" to submit the example sale to that portal: a
                           submission creates a real verification and contacts the
                           customer; without it the program stops after the products
`

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// run runs the example and returns its exit code.
func run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("tpv", flag.ContinueOnError)
	flags := exampleutil.AddFlags(fs, stderr, time.Minute)
	if code, ok := exampleutil.Parse(fs, args, usage); !ok {
		return code
	}
	ctx, cancel := flags.Context()
	defer cancel()
	return exampleutil.ExitCode(stderr, "tpv example", example(ctx, stdout, flags.Logger()))
}

// example builds the client from the environment, or for the fake portal, and runs
// the flow.
func example(ctx context.Context, stdout io.Writer, logger *slog.Logger) error {
	baseURL, appToken, appSecret := os.Getenv("TPV_BASE_URL"), os.Getenv("TPV_APP_TOKEN"), os.Getenv("TPV_APP_SECRET")
	submit := true // always against the fake
	if baseURL != "" || appToken != "" || appSecret != "" {
		if baseURL == "" || appToken == "" || appSecret == "" {
			return exampleutil.UsageError("set all of TPV_BASE_URL, TPV_APP_TOKEN and TPV_APP_SECRET, or none of them to use the fake portal")
		}
		submit = os.Getenv("TPV_SUBMIT_EXAMPLE_SALE") == "yes"
		fmt.Fprintln(stdout, "mode: the clients portal at", baseURL)
	} else {
		portal := tpvtest.NewServer()
		defer portal.Close()
		baseURL, appToken, appSecret = portal.URL(), portal.AppToken(), portal.AppSecret()
		fmt.Fprintln(stdout, "mode: fake TPV portal at", baseURL)
	}

	c, err := tpv.NewClient(
		tpv.WithBaseURL(baseURL),
		tpv.WithCredentials(appToken, appSecret),
		tpv.WithLogger(logger),
		tpv.WithUserAgent("banksdk-example-tpv"),
	)
	if err != nil {
		return exampleutil.UsageError("%w", err)
	}
	defer c.Close()

	if err := flow(ctx, exampleutil.NewSteps(stdout, ""), c, submit); err != nil {
		return err
	}
	if !submit {
		fmt.Fprintln(stdout, "not submitting the example sale to a real portal; set TPV_SUBMIT_EXAMPLE_SALE=yes to do so")
	}
	return nil
}

// flow logs in, lists the products and, when submit is set, submits the example sale
// and contacts its customer.
func flow(ctx context.Context, steps *exampleutil.Steps, c *tpv.Client, submit bool) error {
	// Every call logs in when it needs to; logging in first reports bad credentials
	// before anything else is sent.
	steps.Begin("log in (HMAC-signed, token cached 30 min)")
	if err := c.Login(ctx); err != nil {
		if errors.Is(err, tpv.ErrLoginFailed) {
			return steps.Fail(fmt.Errorf("%w (check TPV_APP_TOKEN, TPV_APP_SECRET and this machine's clock)", err))
		}
		return steps.Fail(err)
	}
	steps.Done("auth token cached")

	steps.Begin("list products")
	products, err := c.Products(ctx)
	if err != nil {
		return steps.Fail(err)
	}
	steps.Done("%s %s", products.Method, exampleutil.Shorten(string(products.Raw), 60))
	if !submit {
		return nil
	}

	steps.Begin("submit the example sale")
	conf, err := c.SubmitTPV(ctx, exampleSale())
	var invalid *tpv.ValidationError
	var apiErr *tpv.APIError
	switch {
	case errors.Is(err, tpv.ErrOutcomeUnknown):
		// The portal may have recorded the sale: submitting it again could create a
		// second verification. Look it up in the portal first.
		return steps.Fail(fmt.Errorf("the sale may have been recorded; look it up in the portal before submitting it again: %w", err))
	case errors.As(err, &invalid):
		// Nothing was sent: every broken rule is named.
		fields := make([]string, 0, len(invalid.Fields))
		for _, f := range invalid.Fields {
			fields = append(fields, f.String())
		}
		return steps.Fail(fmt.Errorf("fix the sale, nothing was sent: %s", strings.Join(fields, "; ")))
	case errors.As(err, &apiErr):
		return steps.Fail(fmt.Errorf("the portal refused the sale (HTTP %d): %s", apiErr.StatusCode, apiErr.Message))
	case err != nil:
		return steps.Fail(err)
	}
	steps.Done("confirmation code %s", conf.Code)

	steps.Begin("send the digital verification link")
	sent, err := c.SendDigital(ctx, conf.Code)
	if errors.Is(err, tpv.ErrOutcomeUnknown) {
		// The customer may have been sent the link: do not send it again blindly.
		return steps.Fail(fmt.Errorf("the link may have been sent; ask the customer before sending it again: %w", err))
	}
	if err != nil {
		return steps.Fail(err)
	}
	steps.Done("%s", resultText(sent))

	steps.Begin("queue the verification call")
	queued, err := c.QueueCall(ctx, conf.Code)
	if errors.Is(err, tpv.ErrOutcomeUnknown) {
		return steps.Fail(fmt.Errorf("the call may have been queued; check the sale in the portal before queueing it again: %w", err))
	}
	if err != nil {
		return steps.Fail(err)
	}
	steps.Done("%s", resultText(queued))
	return nil
}

// resultText describes an answer whose shape the documentation leaves open.
func resultText(r tpv.Result) string {
	if s, ok := r.SuccessText(); ok {
		return r.Method + " " + exampleutil.Shorten(s, 60)
	}
	return r.Method + " " + exampleutil.Shorten(string(r.Raw), 60)
}

// exampleSale is the example sale of the TPV documentation.
func exampleSale() tpv.Enrollment {
	return tpv.Enrollment{
		DigitalDelivery:      tpv.DigitalDeliveryEmail,
		Channel:              tpv.ChannelDTD,
		Language:             tpv.LanguageEnglish,
		Market:               tpv.MarketResidential,
		AuthorizingFirstName: "Bill",
		AuthorizingLastName:  "Jones",
		BillingFirstName:     "Bill",
		BillingLastName:      "Jones",
		BTN:                  "19181112222",
		EmailAddress:         "bill@jones.com",
		ServiceAddress:       "123 Main St.",
		ServiceCity:          "New York",
		ServiceState:         "NY",
		ServiceZip:           "10001",
		BillingAddress:       "123 Main St.",
		BillingCity:          "New York",
		BillingState:         "NY",
		BillingZip:           "10001",
		Vendor:               "TPV Test",
		SalesAgentID:         "testest",
		Products: []tpv.Product{{
			ProgramCode:    "555",
			AccountNumbers: []tpv.AccountNumber{{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"}},
		}},
	}
}

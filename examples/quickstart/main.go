// Command quickstart runs every provider's main flow with the real banksdk clients
// against the built-in fake servers, offline, and prints one line per step.
//
//	go run ./examples/quickstart              # every provider
//	go run ./examples/quickstart -provider kh # one provider
//	go run ./examples/quickstart -v           # also show the HTTP exchanges (secrets redacted)
//
// Its flows are short versions of the example programs' (examples/<provider>), which
// also talk to the real APIs; -h names them and their environment variables. It
// exits 1 if any step fails, 2 on bad usage.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/banksdk/banksdk/examples/internal/exampleutil"
)

const usage = `Usage: go run ./examples/quickstart [flags]

Runs every provider's main flow with the banksdk clients against the built-in fake
servers, offline, printing one line per step with its duration, then a summary. It
exits 1 if a step fails.

Each provider has an example program with the whole flow, which talks to the real API
when its environment variables are set and to the fake otherwise
(go run ./examples/<provider> -h describes them):
  go run ./examples/tkey7     TKEY7_BASE_URL with one of TKEY7_ACCESS_TOKEN and
                              TKEY7_ACCESS_TOKEN_FILE; optional TKEY7_ISSUED_AT
  go run ./examples/tpv       TPV_BASE_URL, TPV_APP_TOKEN and TPV_APP_SECRET; the example
                              sale is submitted only with TPV_SUBMIT_EXAMPLE_SALE=yes
  go run ./examples/kh        KH_BASE_URL, KH_CERT_FILE, KH_KEY_FILE, KH_APP_TOKEN and
                              KH_PSU_PASSWORD; optional KH_APP_ID, KH_PSU_ID, KH_OTP,
                              KH_PSU_IP and KH_CREDITOR_IBAN
  go run ./examples/obp       OBP_BASE_URL with DAuth (OBP_DAUTH_KEY_FILE,
                              OBP_DAUTH_SMART_CONTRACT, OBP_DAUTH_NETWORK,
                              OBP_DAUTH_CONSUMER_KEY, optional OBP_DAUTH_MSG_SENDER) or
                              DirectLogin (OBP_USERNAME, OBP_PASSWORD, OBP_CONSUMER_KEY,
                              optional OBP_GRANT_USER_ID); OBP_BANK_ID and OBP_ACCOUNT_ID
                              for the account steps; optional OBP_VERSION
  go run ./examples/saltedge  serves the connector with SALTEDGE_APP_ID, one of
                              SALTEDGE_APP_SECRET and SALTEDGE_APP_SECRET_FILE,
                              SALTEDGE_PRIVATE_KEY_FILE and SALTEDGE_PUBLIC_KEY_FILE;
                              optional SALTEDGE_LISTEN_ADDR, SALTEDGE_BASE_URL and
                              SALTEDGE_PUBLIC_URL
`

// flow is one provider's main flow against its fake: it prints its steps with steps
// and gives its clients logger.
type flow struct {
	name string
	run  func(ctx context.Context, steps *exampleutil.Steps, logger *slog.Logger) error
}

// flows lists every provider, in the order they run (see order).
var flows []flow

// order is the order the providers run in.
var order = []string{"tkey7", "tpv", "kh", "obp", "saltedge"}

func register(name string, run func(ctx context.Context, steps *exampleutil.Steps, logger *slog.Logger) error) {
	flows = append(flows, flow{name: name, run: run})
	slices.SortStableFunc(flows, func(a, b flow) int {
		return slices.Index(order, a.name) - slices.Index(order, b.name)
	})
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, flows))
}

// run runs the selected flows and returns the exit code.
func run(args []string, stdout, stderr io.Writer, flows []flow) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	flags := exampleutil.AddFlags(fs, stderr, time.Minute)
	only := fs.String("provider", "", "run one provider: "+names(flows))
	if code, ok := exampleutil.Parse(fs, args, usage); !ok {
		return code
	}
	logger := flags.Logger()
	selected := flows
	if *only != "" {
		selected = nil
		for _, f := range flows {
			if f.name == *only {
				selected = append(selected, f)
			}
		}
		if len(selected) == 0 {
			fmt.Fprintf(stderr, "unknown provider %q; one of: %s\n", *only, names(flows))
			return 2
		}
	}
	if len(selected) == 0 {
		fmt.Fprintln(stderr, "no provider flows are built in")
		return 1
	}
	ctx, cancel := flags.Context()
	defer cancel()
	start := time.Now()
	count := 0
	var failed []string
	fmt.Fprintln(stdout, "banksdk quickstart: every flow runs against the built-in fake servers")
	for _, f := range selected {
		fmt.Fprintf(stdout, "\n%s\n", f.name)
		steps := exampleutil.NewSteps(stdout, f.name)
		err := f.run(ctx, steps, logger)
		count += steps.Count()
		failed = append(failed, steps.Failed()...)
		if err != nil && len(steps.Failed()) == 0 { // failed outside a step, e.g. starting its fake
			failed = append(failed, f.name+": "+err.Error())
			fmt.Fprintf(stdout, "  FAIL  %-8s %v\n", f.name, err)
		}
	}
	fmt.Fprintf(stdout, "\n%d steps across %d providers in %v: ", count, len(selected), time.Since(start).Round(time.Millisecond))
	if len(failed) > 0 {
		fmt.Fprintf(stdout, "%d failed\n", len(failed))
		for _, f := range failed {
			fmt.Fprintf(stdout, "  - %s\n", f)
		}
		return 1
	}
	fmt.Fprintln(stdout, "all succeeded")
	return 0
}

func names(flows []flow) string {
	var n []string
	for _, f := range flows {
		n = append(n, f.name)
	}
	return strings.Join(n, ", ")
}

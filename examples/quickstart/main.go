// Command quickstart runs every provider's main flow with the real banksdk clients
// against the built-in fake servers, offline, and prints one line per step.
//
//	go run ./examples/quickstart              # every provider
//	go run ./examples/quickstart -provider kh # one provider
//	go run ./examples/quickstart -v           # also show the HTTP exchanges (secrets redacted)
//
// It exits non-zero if any step fails.
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
)

// flow is one provider's main flow.
type flow struct {
	name string
	run  func(ctx context.Context, r *runner) error
}

// flows lists every provider, in the order they run (see order).
var flows []flow

// order is the order the providers run in.
var order = []string{"tkey7", "tpv", "kh", "obp", "saltedge"}

func register(name string, run func(ctx context.Context, r *runner) error) {
	flows = append(flows, flow{name: name, run: run})
	slices.SortStableFunc(flows, func(a, b flow) int {
		return slices.Index(order, a.name) - slices.Index(order, b.name)
	})
}

// runner prints steps and remembers failures.
type runner struct {
	out      io.Writer
	logger   *slog.Logger
	provider string
	steps    int
	failed   []string
}

// Step runs fn, prints its outcome and duration, and returns its error.
func (r *runner) Step(name string, fn func() (string, error)) error {
	r.steps++
	start := time.Now()
	detail, err := fn()
	d := time.Since(start).Round(100 * time.Microsecond)
	if err != nil {
		r.failed = append(r.failed, r.provider+": "+name)
		fmt.Fprintf(r.out, "  FAIL  %-8s %-54s %9v  %v\n", r.provider, name, d, err)
		return fmt.Errorf("%s: %w", name, err)
	}
	fmt.Fprintf(r.out, "  ok    %-8s %-54s %9v  %s\n", r.provider, name, d, detail)
	return nil
}

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr, flows))
}

// run runs the selected flows and returns the exit code.
func run(args []string, stdout, stderr io.Writer, flows []flow) int {
	fs := flag.NewFlagSet("quickstart", flag.ContinueOnError)
	fs.SetOutput(stderr)
	only := fs.String("provider", "", "run one provider: "+names(flows))
	verbose := fs.Bool("v", false, "log every HTTP attempt (method, host, path, status; never secrets)")
	if err := fs.Parse(args); err != nil {
		return 2
	}
	logger := slog.New(slog.DiscardHandler)
	if *verbose {
		logger = slog.New(slog.NewTextHandler(stderr, &slog.HandlerOptions{Level: slog.LevelDebug}))
	}
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
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	r := &runner{out: stdout, logger: logger}
	start := time.Now()
	fmt.Fprintln(stdout, "banksdk quickstart: every flow runs against the built-in fake servers")
	for _, f := range selected {
		r.provider = f.name
		fmt.Fprintf(stdout, "\n%s\n", f.name)
		if err := f.run(ctx, r); err != nil && !strings.Contains(strings.Join(r.failed, "\n"), f.name+":") {
			r.failed = append(r.failed, f.name+": "+err.Error())
			fmt.Fprintf(stdout, "  FAIL  %-8s %v\n", f.name, err)
		}
	}
	fmt.Fprintf(stdout, "\n%d steps across %d providers in %v: ", r.steps, len(selected), time.Since(start).Round(time.Millisecond))
	if len(r.failed) > 0 {
		fmt.Fprintf(stdout, "%d failed\n", len(r.failed))
		for _, f := range r.failed {
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

// Command fakebank runs banksdk's five fake provider servers (TKEY7, TPV, K&H, OBP and
// Salt Edge) as one standalone process, so that a program in any language, a staging
// environment or a docker-compose setup can use them: each fake enforces its
// provider's documented contract, and a small JSON control API injects faults, reads
// the request log, resets the state and moves the fakes' clocks.
//
//	go run github.com/banksdk/banksdk/cmd/fakebank@latest
//	go run ./cmd/fakebank -seed demo -ports 8081 -control 127.0.0.1:8080
//
// At start it prints, for each provider, the base URL and the test credentials a
// client needs (names follow the banksdk client options they feed; key and certificate
// material is written as PEM files to -certs-dir), and the control API's address;
// -json prints the same as one JSON document, which GET / on the control API also
// answers. The same -seed gives the same tokens, secrets and passwords on every run,
// and with -certs-dir the key files keep their paths, so an application's
// configuration can stay the same; keys and certificates are generated anew at every
// start and written to those paths.
//
// The control API, on -control (each provider is tkey7, tpv, kh, obp or saltedge):
//
//	GET    /                     the startup information as JSON
//	GET    /healthz              {"status":"ok"}
//	POST   /{provider}/faults    inject a fault into the next requests (see below)
//	DELETE /{provider}/faults    drop the faults not yet taken
//	GET    /{provider}/requests  the request log: time, method, path, query (the values
//	                             of credential parameters such as TPV's token and
//	                             _signature redacted), header names (never their
//	                             values), body size, fault
//	DELETE /{provider}/requests  empty the request log
//	POST   /{provider}/reset     state, faults, log and clock back to the start,
//	                             with the same credentials
//	GET    /{provider}/clock     {"now": ..., "offset_ms": ...}
//	POST   /{provider}/clock     {"advance_ms": 900000} moves the fake's clock
//	POST   /saltedge/sessions    {"session_secret": "..."} opens a session for a
//	                             connector's callbacks
//
// A fault is {"kind": K, "count": N, "method": M, "path": P, ...}: the next N
// requests (default 1) whose method is M ("" for any) and whose path starts with P
// (the full path as the request log shows it; "" for any) take it. K is status
// (with "status", optional "retry_after" and "body"), drop-before, drop-after, delay
// (with "delay_ms"), malformed, oversized (with "size"), act-then (the fake acts, then
// answers "status" instead), cut-body, act-then-malformed or act-then-oversized (with
// "size"); see package github.com/banksdk/banksdk/fake for what each does.
//
// Each fake's clock is the wall clock moved forward by every advance: TKEY7's revoke
// window and session cap, the token lifetimes of TPV, K&H and OBP, and Salt Edge's
// session lifetime and callback expiry follow it. The fakes also check timestamps a
// client sends against it (TPV's login, OBP's DAuth), so after an advance beyond
// their tolerance (5 minutes) those fail until a reset.
//
// Errors of the control API are {"error": "..."} with a 4xx status; request bodies
// are limited to 64 KiB and unknown fields are refused. SIGINT or SIGTERM stops every
// server and exits 0.
package main

import (
	"context"
	"crypto/rand"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"text/tabwriter"
	"time"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitOK    = 0
	exitError = 1
	exitUsage = 2
)

// options are the command-line flags.
type options struct {
	addr     string
	base     int
	ports    map[string]*int // by provider name and "kh-sca"
	control  string
	seed     string
	certsDir string
	json     bool
}

// portNames are the listeners -ports numbers, in order: base, base+1, ...
var portNames = []string{"tkey7", "tpv", "kh", "kh-sca", "obp", "saltedge"}

func parseFlags(args []string, stderr io.Writer) (*options, error) {
	fs := flag.NewFlagSet("fakebank", flag.ContinueOnError)
	fs.SetOutput(stderr)
	o := &options{ports: map[string]*int{}}
	fs.StringVar(&o.addr, "addr", "127.0.0.1", "host or IP address the fakes listen on")
	fs.IntVar(&o.base, "ports", 0, "first of seven consecutive ports: tkey7, tpv, kh, kh-sca, obp, saltedge and the control API\n(0: a free port each); a -<provider>-port or -control flag overrides its share")
	for _, name := range portNames {
		what := name + " fake"
		if name == "kh-sca" {
			what = "K&H redirect SCA screen"
		}
		o.ports[name] = fs.Int(name+"-port", 0, "port of the "+what+" (0: from -ports, or a free port)")
	}
	fs.StringVar(&o.control, "control", "", "address of the control API (default: -addr with a port from -ports, or a free port)")
	fs.StringVar(&o.seed, "seed", "", "value the test credentials are derived from, the same on every run (default: random)")
	fs.StringVar(&o.certsDir, "certs-dir", "", "directory for the key and certificate PEM files (default: a temporary\ndirectory removed at exit)")
	fs.BoolVar(&o.json, "json", false, "print the startup information as one JSON document")
	fs.Usage = func() {
		out := fs.Output()
		fmt.Fprint(out, `Usage: fakebank [flags]

Runs the fake TKEY7, TPV, K&H, OBP and Salt Edge servers of banksdk, prints their
URLs and test credentials, and serves a JSON control API.

Flags:
`)
		fs.PrintDefaults()
		fmt.Fprint(out, "\nControl API ({provider}: "+strings.Join(providerNames, ", ")+"):\n")
		for _, e := range controlEndpoints {
			fmt.Fprintln(out, "  "+e)
		}
		fmt.Fprint(out, `
Fault kinds: status (status, retry_after, body), drop-before, drop-after, delay (delay_ms),
malformed, oversized (size), act-then (status, retry_after, body), cut-body,
act-then-malformed, act-then-oversized (size); every kind takes count, method, path.

SIGINT or SIGTERM stops every server; the exit status is 0, 1 when a server could not
start, 2 on a usage error.
`)
	}
	if err := fs.Parse(args); err != nil {
		return nil, err
	}
	if fs.NArg() > 0 {
		return nil, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if o.addr == "" {
		return nil, errors.New("-addr must not be empty")
	}
	if o.base < 0 || o.base+len(portNames) > 65535 {
		return nil, fmt.Errorf("-ports %d: want 0, or a first port that leaves room for %d more", o.base, len(portNames))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for i, name := range portNames {
		p := o.ports[name]
		if *p < 0 || *p > 65535 {
			return nil, fmt.Errorf("-%s-port %d: want 0 to 65535", name, *p)
		}
		if !set[name+"-port"] && o.base > 0 {
			*p = o.base + i
		}
	}
	if o.control == "" {
		port := 0
		if o.base > 0 {
			port = o.base + len(portNames)
		}
		o.control = net.JoinHostPort(o.addr, strconv.Itoa(port))
	}
	return o, nil
}

// run is the command: it starts the servers, prints where they are, and serves until
// ctx is done. It returns the exit status.
func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	o, err := parseFlags(args, stderr)
	if errors.Is(err, flag.ErrHelp) {
		return exitOK
	}
	if err != nil {
		fmt.Fprintln(stderr, "fakebank:", err)
		return exitUsage
	}

	certsDir := o.certsDir
	if certsDir == "" {
		if certsDir, err = os.MkdirTemp("", "fakebank-"); err != nil {
			fmt.Fprintln(stderr, "fakebank:", err)
			return exitError
		}
		defer os.RemoveAll(certsDir)
	} else if err := os.MkdirAll(certsDir, 0o700); err != nil {
		fmt.Fprintln(stderr, "fakebank:", err)
		return exitError
	}

	listeners := map[string]net.Listener{}
	closeListeners := func() {
		for _, ln := range listeners {
			_ = ln.Close()
		}
	}
	for _, name := range portNames {
		ln, err := net.Listen("tcp", net.JoinHostPort(o.addr, strconv.Itoa(*o.ports[name])))
		if err != nil {
			closeListeners()
			fmt.Fprintf(stderr, "fakebank: %s: %v\n", name, err)
			return exitError
		}
		listeners[name] = ln
	}
	controlLn, err := net.Listen("tcp", o.control)
	if err != nil {
		closeListeners()
		fmt.Fprintf(stderr, "fakebank: control API: %v\n", err)
		return exitError
	}

	seed := []byte(o.seed)
	if o.seed == "" {
		seed = make([]byte, 32)
		_, _ = rand.Read(seed)
	}
	providers, err := startProviders(startConfig{listeners: listeners, certsDir: certsDir, seed: deriver{key: seed}})
	if err != nil {
		closeListeners()
		_ = controlLn.Close()
		fmt.Fprintln(stderr, "fakebank: starting the fakes:", err)
		return exitError
	}
	c := &control{providers: map[string]*provider{}, base: "http://" + controlLn.Addr().String(), certsDir: certsDir}
	for _, p := range providers {
		c.providers[p.name] = p
		c.order = append(c.order, p.name)
	}
	srv := &http.Server{Handler: c.handler(), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(controlLn) }()

	if o.json {
		b, _ := json.Marshal(c.info())
		fmt.Fprintf(stdout, "%s\n", b)
	} else {
		printInfo(stdout, c.info())
	}

	status := exitOK
	select {
	case <-ctx.Done():
	case err := <-served:
		fmt.Fprintln(stderr, "fakebank: control API:", err)
		status = exitError
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil {
		_ = srv.Close()
	}
	for _, p := range providers {
		p.srv.Close()
	}
	fmt.Fprintln(stderr, "fakebank: stopped")
	return status
}

// printInfo writes the startup information for a reader.
func printInfo(w io.Writer, info startupInfo) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "fakebank: banksdk's fake provider servers (test credentials only)")
	for _, name := range providerNames {
		p, ok := info.Providers[name]
		if !ok {
			continue
		}
		fmt.Fprintf(tw, "\n%s\t%s\n", name, p.URL)
		if p.SCAURL != "" {
			fmt.Fprintf(tw, "  sca_url\t%s\n", p.SCAURL)
		}
		for _, f := range p.Credentials {
			fmt.Fprintf(tw, "  %s\t%s\n", f.Name, f.Value)
		}
		fmt.Fprintf(tw, "  control\t%s\n", p.Control)
	}
	fmt.Fprintf(tw, "\ncontrol API\t%s (GET / answers all of the above as JSON)\n", info.Control)
	fmt.Fprintf(tw, "key files\t%s\n", info.CertsDir)
	_ = tw.Flush()
}

// Command saltedge-conformance checks a Salt Edge PSD2 Compliance connector (a bank's
// implementation of the Priora connector API v1, in any language) against Salt
// Edge's documentation, acting as Salt Edge: see package
// github.com/banksdk/banksdk/saltedge/conformance for the flow and every check.
//
// Set the connector up first: write a test key pair with
//
//	saltedge-conformance -gen-key saltedge-test.pem
//
// configure the connector to trust saltedge-test.pem.pub as Salt Edge's public key
// and to send its callbacks to http://<this host>:8099 (see -callback-addr), then run
//
//	saltedge-conformance -url https://bank.test.example -key saltedge-test.pem -app-id APP_ID
//
// It prints one line per check ("PASS  <id>  <name>" or "FAIL  <id>  <name>:
// <detail>") and "N passed, M failed" last; -json prints the report as JSON for CI.
// The exit status is 0 when every check passed, 1 when one failed or the run could
// not complete, and 2 on a usage error.
package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/url"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/conformance"
)

func main() {
	os.Exit(run(os.Args[1:], os.Stdout, os.Stderr))
}

// Exit statuses.
const (
	exitPass  = 0
	exitFail  = 1
	exitUsage = 2
)

// run is the command: it parses args, runs the checks and returns the exit status.
func run(args []string, stdout, stderr io.Writer) int {
	return command{listen: net.Listen}.run(args, stdout, stderr)
}

// command holds what tests replace: how the callback listener is opened.
type command struct {
	listen func(network, addr string) (net.Listener, error)
}

// psuFile is the -psu file: the test PSU's data.
type psuFile struct {
	Scopes       []string       `json:"scopes"`
	Credentials  map[string]any `json:"credentials"`
	Confirmation map[string]any `json:"confirmation"`
	AccountID    string         `json:"account_id"`
}

// jsonReport is what -json prints.
type jsonReport struct {
	Checks []conformance.Check `json:"checks"`
	Passed int                 `json:"passed"`
	Failed int                 `json:"failed"`
}

type usageError struct{ msg string }

func (e usageError) Error() string { return e.msg }

func usagef(format string, args ...any) error { return usageError{fmt.Sprintf(format, args...)} }

func (c command) run(args []string, stdout, stderr io.Writer) int {
	fs := flag.NewFlagSet("saltedge-conformance", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var (
		baseURL      = fs.String("url", "", "the connector's `URL`: its root (https://bank.example) or its API base (.../api/priora/v1); required")
		keyFile      = fs.String("key", "", "PEM `file` of Salt Edge's test private key (PKCS#1 or PKCS#8), whose public half the connector trusts; required")
		genKey       = fs.String("gen-key", "", "write a fresh RSA-2048 test key pair to `file` (private, mode 0600) and file.pub (public), then exit")
		callbackAddr = fs.String("callback-addr", "127.0.0.1:8099", "`address` to serve Salt Edge's callback API on (/api/connectors/v1/...): the connector's Salt Edge URL must reach it")
		clientID     = fs.Int64("client-id", conformance.DefaultClientID, "Client-Id header `value` (a TPP client application id)")
		appID        = fs.String("app-id", "", "App-Id the connector's callbacks must carry; required")
		secretFile   = fs.String("app-secret-file", "", "`file` holding the App-Secret the connector's callbacks must carry (default: any non-empty one)")
		connKey      = fs.String("connector-key", "", "PEM `file` of the connector's public key, to verify its callbacks' signatures (default: not verified)")
		provider     = fs.String("provider-code", conformance.DefaultProviderCode, "provider_code sent in the payloads")
		psuPath      = fs.String("psu", "", `JSON `+"`file`"+` with the test PSU's data: {"scopes": [...], "credentials": {...} for tokens/create, "confirmation": {...} for tokens/confirm, "account_id": "..."}`)
		asJSON       = fs.Bool("json", false, "print the report as JSON (for CI) instead of one line per check")
		timeout      = fs.Duration("timeout", conformance.DefaultTimeout, "how long each request and each wait for a callback may take")
	)
	fs.Usage = func() {
		fmt.Fprintf(fs.Output(), `Usage:
  saltedge-conformance -url URL -key FILE -app-id ID [flags]
  saltedge-conformance -gen-key FILE

Checks a Salt Edge connector against Salt Edge's documentation, acting as Salt Edge.
Prints "PASS  <id>  <name>" or "FAIL  <id>  <name>: <detail>" per check, then
"N passed, M failed". Exit status: 0 all passed, 1 a check failed or the run could
not complete, 2 usage error.

Flags:
`)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			fs.SetOutput(stdout)
			fs.Usage()
			return exitPass
		}
		return exitUsage // the flag package printed the error and the usage
	}
	if fs.NArg() > 0 {
		return c.usage(fs, usagef("unexpected argument %q", fs.Arg(0)))
	}
	if *genKey != "" {
		if err := writeKeyPair(*genKey); err != nil {
			fmt.Fprintln(stderr, "saltedge-conformance:", err)
			return exitFail
		}
		fmt.Fprintf(stdout, "wrote %s (private key: -key) and %s.pub (public key: configure the connector to trust it)\n", *genKey, *genKey)
		return exitPass
	}

	cfg, err := configure(*baseURL, *keyFile, *appID, *secretFile, *connKey, *psuPath, *clientID, *timeout)
	if err != nil {
		return c.usage(fs, err)
	}
	cfg.ProviderCode = *provider
	ln, err := c.listen("tcp", *callbackAddr)
	if err != nil {
		fmt.Fprintln(stderr, "saltedge-conformance: serving callbacks:", err)
		return exitFail
	}
	cfg.Callbacks = ln
	fmt.Fprintf(stderr, "saltedge-conformance: serving Salt Edge's callback API on %s\n", ln.Addr())

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	rep, err := conformance.Run(ctx, cfg)
	if err != nil {
		if errors.Is(err, conformance.ErrInvalidConfig) {
			return c.usage(fs, err)
		}
		fmt.Fprintln(stderr, "saltedge-conformance:", err)
	}
	failed := len(rep.Failed())
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if werr := enc.Encode(jsonReport{Checks: rep.Checks, Passed: rep.Passed(), Failed: failed}); werr != nil {
			fmt.Fprintln(stderr, "saltedge-conformance:", werr)
			return exitFail
		}
	} else {
		for _, ch := range rep.Checks {
			if ch.Passed {
				fmt.Fprintf(stdout, "PASS  %s  %s\n", ch.ID, ch.Name)
			} else {
				fmt.Fprintf(stdout, "FAIL  %s  %s: %s\n", ch.ID, ch.Name, ch.Detail)
			}
		}
		fmt.Fprintf(stdout, "%d passed, %d failed\n", rep.Passed(), failed)
	}
	if err != nil || failed > 0 || len(rep.Checks) == 0 {
		return exitFail
	}
	return exitPass
}

func (c command) usage(fs *flag.FlagSet, err error) int {
	fmt.Fprintln(fs.Output(), "saltedge-conformance:", err)
	fmt.Fprintln(fs.Output(), `Run "saltedge-conformance -h" for the flags.`)
	return exitUsage
}

// configure builds the runner's Config from the flags; every error is a usage error.
func configure(baseURL, keyFile, appID, secretFile, connKey, psuPath string, clientID int64, timeout time.Duration) (conformance.Config, error) {
	var cfg conformance.Config
	switch {
	case baseURL == "":
		return cfg, usagef("-url is required")
	case keyFile == "":
		return cfg, usagef("-key is required (write a test key pair with -gen-key)")
	case strings.TrimSpace(appID) == "":
		return cfg, usagef("-app-id is required")
	case clientID <= 0:
		return cfg, usagef("-client-id must be a positive integer")
	case timeout <= 0:
		return cfg, usagef("-timeout must be positive")
	}
	if u, err := url.Parse(baseURL); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return cfg, usagef("-url must be an absolute http or https URL")
	}
	raw, err := os.ReadFile(keyFile)
	if err != nil {
		return cfg, usagef("-key: %v", err)
	}
	key, err := auth.LoadRSAPrivateKey(raw)
	if err != nil {
		return cfg, usagef("-key: %v", err)
	}
	cfg = conformance.Config{BaseURL: baseURL, SigningKey: key, AppID: appID, ClientID: clientID, Timeout: timeout}
	if secretFile != "" {
		raw, err := os.ReadFile(secretFile)
		if err != nil {
			return cfg, usagef("-app-secret-file: %v", err)
		}
		cfg.AppSecret = strings.TrimSpace(string(raw))
		if cfg.AppSecret == "" {
			return cfg, usagef("-app-secret-file: the file is empty")
		}
	}
	if connKey != "" {
		raw, err := os.ReadFile(connKey)
		if err != nil {
			return cfg, usagef("-connector-key: %v", err)
		}
		if cfg.ConnectorPublicKey, err = auth.LoadRSAPublicKey(raw); err != nil {
			return cfg, usagef("-connector-key: %v", err)
		}
	}
	if psuPath != "" {
		raw, err := os.ReadFile(psuPath)
		if err != nil {
			return cfg, usagef("-psu: %v", err)
		}
		var p psuFile
		dec := json.NewDecoder(bytes.NewReader(raw))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&p); err != nil {
			return cfg, usagef("-psu: not the documented JSON object") // the error could quote a credential
		}
		cfg.Scopes, cfg.AccountID = p.Scopes, p.AccountID
		if p.Credentials != nil {
			cfg.Credentials = saltedge.Credentials(p.Credentials)
		}
		if p.Confirmation != nil {
			cfg.Confirmation = saltedge.Credentials(p.Confirmation)
		}
	}
	return cfg, nil
}

// writeKeyPair writes a fresh RSA-2048 key pair: path (PKCS#8 PEM, mode 0600) and
// path.pub (PKIX PEM). Existing files are not overwritten.
func writeKeyPair(path string) error {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return fmt.Errorf("generating the key: %w", err)
	}
	priv, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return fmt.Errorf("encoding the key: %w", err)
	}
	pub, err := x509.MarshalPKIXPublicKey(&key.PublicKey)
	if err != nil {
		return fmt.Errorf("encoding the public key: %w", err)
	}
	if err := create(path+".pub", 0o644, pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pub})); err != nil {
		return err
	}
	if err := create(path, 0o600, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: priv})); err != nil {
		_ = os.Remove(path + ".pub")
		return err
	}
	return nil
}

// create writes a new file; it fails if the file exists.
func create(path string, mode os.FileMode, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := f.Write(data); err != nil {
		_ = f.Close()
		_ = os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		_ = os.Remove(path)
		return fmt.Errorf("writing %s: %w", path, err)
	}
	return nil
}

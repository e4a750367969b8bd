package main

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/examples/internal/exampletest"
	"github.com/banksdk/banksdk/examples/internal/exampleutil"
)

// Every provider's steps print an ok line with a duration, then the summary.
func TestQuickstartRunsEveryProvider(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(nil, &out, &errOut, flows)
	require.Equal(t, 0, code, out.String()+errOut.String())
	want := map[string][]string{
		"tkey7": {"list digital accounts", "an unknown account: *tkey7.APIError", "stay idle for 3.5 revoke windows (fake clock)"},
		"tpv":   {"list products (logs in first, HMAC-signed)", "submit a sale", "send the digital verification link"},
		"kh": {"register a TPP application (mutual TLS)", "PSU identification consent, embedded SCA",
			"list the PSU's accounts (consent token picked by the client)", "initiate a payment (sent once)"},
		"obp": {"current user (an RS256 DAuth JWT per request)", "grant a user a view of the account",
			"revoke it twice: the second is OBP-30065"},
		"saltedge": {"tokens/create: the fake Salt Edge's RS256 JWT, verified", "sessions/success callback, signed by the connector",
			"accounts with the token issued", "tokens/index: the connector asks Salt Edge"},
	}
	require.Len(t, flows, len(want))
	total := 0
	for _, f := range flows {
		assert.Contains(t, out.String(), "\n"+f.name+"\n")
		for _, step := range want[f.name] {
			assert.Regexp(t, `(?m)^  ok    `+regexp.QuoteMeta(f.name)+` +`+regexp.QuoteMeta(step)+` +\d[\d.]*[µnm]?s  \S`, out.String())
		}
		total += len(want[f.name])
	}
	assert.NotContains(t, out.String(), "FAIL")
	assert.Regexp(t, `\n`+strconv.Itoa(total)+` steps across 5 providers in \S+: all succeeded\n$`, out.String())
	assert.Contains(t, out.String(), "SCA finalised")
	assert.Contains(t, out.String(), "errors.Is(err, obp.ErrCannotFindAccountAccess)")
	assert.Empty(t, errOut.String(), "nothing logged without -v")
}

func TestQuickstartBrokenStepExitsNonZero(t *testing.T) {
	broken := append(append([]flow(nil), flows...), flow{name: "broken", run: func(ctx context.Context, steps *exampleutil.Steps, _ *slog.Logger) error {
		steps.Begin("a step that works")
		steps.Done("fine")
		steps.Begin("a step whose fake fails")
		return steps.Fail(errors.New("HTTP 500 from the fake"))
	}})
	var out, errOut bytes.Buffer
	code := run(nil, &out, &errOut, broken)
	assert.Equal(t, 1, code)
	assert.Regexp(t, `(?m)^  ok    broken   a step that works`, out.String())
	assert.Regexp(t, `(?m)^  FAIL  broken   a step whose fake fails +\S+  HTTP 500 from the fake$`, out.String())
	assert.Contains(t, out.String(), ": 1 failed")
	assert.Contains(t, out.String(), "  - broken: a step whose fake fails")
}

// A flow failing before its first step (e.g. its fake does not start) fails the run.
func TestQuickstartFlowFailingOutsideAStep(t *testing.T) {
	only := []flow{{name: "nofake", run: func(context.Context, *exampleutil.Steps, *slog.Logger) error {
		return errors.New("the fake did not start")
	}}}
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(nil, &out, &errOut, only))
	assert.Contains(t, out.String(), "FAIL  nofake   the fake did not start")
	assert.Contains(t, out.String(), "  - nofake: the fake did not start")
}

func TestQuickstartProviderFlagAndVerbose(t *testing.T) {
	require.NotEmpty(t, flows)
	name := flows[0].name
	var out, errOut bytes.Buffer
	code := run([]string{"-provider", name, "-v"}, &out, &errOut, flows)
	require.Equal(t, 0, code, out.String()+errOut.String())
	for _, f := range flows[1:] {
		assert.NotContains(t, out.String(), "\n"+f.name+"\n")
	}
	assert.Contains(t, out.String(), "across 1 providers")
	assert.Contains(t, errOut.String(), "banksdk http attempt", "-v shows the HTTP exchanges")
	assert.NotContains(t, strings.ToLower(errOut.String()), "authorization:")

	out.Reset()
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"-provider", "nope"}, &out, &errOut, flows))
	assert.Contains(t, errOut.String(), "unknown provider")
}

// -h names every example program and every environment variable it reads.
func TestQuickstartUsageNamesTheExamplesAndTheirVariables(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run([]string{"-h"}, &out, &errOut, flows))
	assert.Empty(t, out.String())
	usage := errOut.String()
	for _, p := range order {
		assert.Contains(t, usage, "go run ./examples/"+p+" ", "the usage names examples/%s", p)
		vars := exampletest.EnvVars(t, "../"+p)
		require.NotEmpty(t, vars, p)
		for _, v := range vars {
			assert.Regexp(t, `\b`+regexp.QuoteMeta(v)+`\b`, usage, "the usage names %s (read by examples/%s)", v, p)
		}
	}
	for _, f := range []string{"provider", "v", "timeout"} {
		assert.Contains(t, usage, "\n  -"+f)
	}

	errOut.Reset()
	assert.Equal(t, 2, run([]string{"-no-such-flag"}, &out, &errOut, flows))
	assert.Equal(t, 2, run([]string{"stray"}, &out, &errOut, flows))
	assert.Empty(t, out.String())
}

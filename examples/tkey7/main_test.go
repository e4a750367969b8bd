package main

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/examples/internal/exampletest"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

func TestUsage(t *testing.T) {
	exampletest.CheckUsage(t, run, ".", "v", "timeout")
}

// Against the fake every step runs, the revoked token is reported and a new one heals
// the client.
func TestRunAgainstFake(t *testing.T) {
	out, _ := exampletest.RunAgainstFake(t, run, ".")
	assert.Contains(t, out, "mode: fake TKEY7")
	details := exampletest.AssertSteps(t, out,
		"list digital accounts",
		"get digital account da-0001",
		"handle an API error (unknown account)",
		"stay idle for 3.5 revoke windows (fake clock)",
		"a revoked token is reported, not retried",
		"a new token in the token file heals the client",
	)
	require.Len(t, details, 6)
	assert.Regexp(t, `^\d+ accounts: da-0001, `, details[0])
	assert.Regexp(t, `^404 NOT_FOUND `, details[2])
	// At least one refresh per half window (the keep-alive may refresh more often).
	var refreshes int
	_, err := fmt.Sscanf(details[3], "%d refreshes in the background, 0 retired tokens sent", &refreshes)
	require.NoError(t, err, details[3])
	assert.GreaterOrEqual(t, refreshes, 7)
	// The first call reaches TKEY7 unless a background refresh learnt of the revocation
	// first; the second never does.
	assert.Regexp(t, `^401 TOKEN_REVOKED; 2 calls, [01] reached TKEY7 \(the second failed without being sent\)`, details[4])
	assert.Regexp(t, `^\d+ accounts with the new token`, details[5])
}

// With the variables set the program talks to that server with that token.
func TestRunAgainstConfiguredServer(t *testing.T) {
	srv := tkey7test.NewServer()
	t.Cleanup(srv.Close)
	exampletest.ClearEnv(t, ".")
	file := filepath.Join(t.TempDir(), "token")
	require.NoError(t, os.WriteFile(file, []byte(srv.IssueToken()+"\n"), 0o600))
	t.Setenv("TKEY7_BASE_URL", srv.URL())
	t.Setenv("TKEY7_ACCESS_TOKEN_FILE", file)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(nil, &out, &errOut), out.String()+errOut.String())
	assert.Contains(t, out.String(), "mode: real API at "+srv.URL())
	exampletest.AssertSteps(t, out.String(), "list digital accounts", "get digital account da-0001",
		"handle an API error (unknown account)")
	assert.NotContains(t, out.String(), "revoke windows", "the fake-only steps need the fake's clock")
	assert.Equal(t, 1, srv.Count("GET", "digital-accounts"))
	assert.Equal(t, 1, srv.Count("GET", "digital-accounts/da-0001"))
	assert.Equal(t, 1, srv.Count("GET", "digital-accounts/banksdk-example-no-such-account"))
}

func TestRunNeedsConsistentVariables(t *testing.T) {
	for name, env := range map[string]map[string]string{
		"base URL alone":        {"TKEY7_BASE_URL": "https://us.bankname.payments.tkey7.com/client/v1/api"},
		"token without the URL": {"TKEY7_ACCESS_TOKEN": "tok"},
		"token and token file": {"TKEY7_BASE_URL": "https://us.bankname.payments.tkey7.com/client/v1/api",
			"TKEY7_ACCESS_TOKEN": "tok", "TKEY7_ACCESS_TOKEN_FILE": "/nonexistent"},
		"bad issue time": {"TKEY7_BASE_URL": "https://us.bankname.payments.tkey7.com/client/v1/api",
			"TKEY7_ACCESS_TOKEN": "tok", "TKEY7_ISSUED_AT": "yesterday"},
	} {
		t.Run(name, func(t *testing.T) {
			exampletest.ClearEnv(t, ".")
			for k, v := range env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(nil, &out, &errOut))
			assert.NotEmpty(t, errOut.String())
			assert.Empty(t, out.String(), "nothing was run")
		})
	}
}

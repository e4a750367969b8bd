package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/examples/internal/exampletest"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

func TestUsage(t *testing.T) {
	exampletest.CheckUsage(t, run, ".", "v", "timeout")
}

func TestRunAgainstFake(t *testing.T) {
	out, errOut := exampletest.RunAgainstFake(t, run, ".")
	assert.Contains(t, out, "mode: fake Salt Edge")
	details := exampletest.AssertSteps(t, out,
		"tokens/create: Salt Edge asks the bank for access",
		"sessions/update callback: redirect the PSU",
		"the PSU approves; sessions/success callback",
		"the fake verified every callback's RS256 JWT",
		"accounts",
		"transactions",
		"kyc",
		"tokens/index: the connector lists its tokens",
		"an unknown token is refused with a documented class",
		"tokens/revoke",
	)
	require.Len(t, details, 10)
	assert.Equal(t, "HTTP 200", details[0])
	assert.Equal(t, "2 callback(s) verified", details[3], "sessions/update and sessions/success")
	assert.Equal(t, "2 account(s), Current account 1520.35 EUR", details[4])
	assert.Equal(t, "3 transaction(s)", details[5])
	assert.Equal(t, "Jane Doe", details[6])
	assert.Equal(t, "HTTP 404 TokenNotFound", details[8])
	assert.Empty(t, errOut, "no warning or error logged")
}

// Serving the real Salt Edge needs a secret and both keys, and refuses unreadable keys
// before it listens.
func TestServeNeedsItsVariables(t *testing.T) {
	dir := t.TempDir()
	priv := filepath.Join(dir, "connector.pem")
	key, err := saltedgetest.GenerateKey()
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(priv, saltedgetest.PrivateKeyPEM(key), 0o600))
	notPEM := filepath.Join(dir, "saltedge.pem")
	require.NoError(t, os.WriteFile(notPEM, []byte("not a key"), 0o600))
	for name, tc := range map[string]struct {
		env  map[string]string
		want string
	}{
		"no secret": {map[string]string{"SALTEDGE_PRIVATE_KEY_FILE": priv, "SALTEDGE_PUBLIC_KEY_FILE": notPEM},
			"SALTEDGE_APP_ID needs one of SALTEDGE_APP_SECRET and SALTEDGE_APP_SECRET_FILE"},
		"both secrets": {map[string]string{"SALTEDGE_APP_SECRET": "s", "SALTEDGE_APP_SECRET_FILE": "f",
			"SALTEDGE_PRIVATE_KEY_FILE": priv, "SALTEDGE_PUBLIC_KEY_FILE": notPEM}, "SALTEDGE_APP_ID needs one of"},
		"no public key": {map[string]string{"SALTEDGE_APP_SECRET": "s", "SALTEDGE_PRIVATE_KEY_FILE": priv},
			"SALTEDGE_PUBLIC_KEY_FILE"},
		"public key not PEM": {map[string]string{"SALTEDGE_APP_SECRET": "s", "SALTEDGE_PRIVATE_KEY_FILE": priv,
			"SALTEDGE_PUBLIC_KEY_FILE": notPEM}, "SALTEDGE_PUBLIC_KEY_FILE: no PEM block found"},
	} {
		t.Run(name, func(t *testing.T) {
			exampletest.ClearEnv(t, ".")
			t.Setenv("SALTEDGE_APP_ID", "app-1")
			for k, v := range tc.env {
				t.Setenv(k, v)
			}
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(nil, &out, &errOut))
			assert.Contains(t, errOut.String(), tc.want)
			assert.Empty(t, out.String(), "nothing served")
		})
	}
}

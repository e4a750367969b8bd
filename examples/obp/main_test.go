package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/examples/internal/exampletest"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func TestUsage(t *testing.T) {
	exampletest.CheckUsage(t, run, ".", "v", "timeout")
}

var allSteps = []string{
	"current user",
	"create a DAuth user with account access",
	"read the new user's id as that user",
	"grant a view",
	"revoke the view",
	"revoke it again: a typed OBP error",
}

func TestRunAgainstBuiltInFake(t *testing.T) {
	out, _ := exampletest.RunAgainstFake(t, run, ".")
	assert.Contains(t, out, "mode: fake OBP instance")
	details := exampletest.AssertSteps(t, out, allSteps...)
	require.Len(t, details, 6)
	assert.Contains(t, details[0], "provider dauth.")
	assert.Contains(t, details[1], "with view(s) ReadAccountsBasic")
	assert.Equal(t, "ReadBalances (can see balance: true)", details[3])
	assert.Equal(t, "revoked: true", details[4])
	assert.Equal(t, "HTTP 400 "+string(obp.ErrCannotFindAccountAccess), details[5])
}

func TestRunWithDAuthEnvironment(t *testing.T) {
	srv := obptest.NewServer()
	t.Cleanup(srv.Close)
	keyFile := filepath.Join(t.TempDir(), "dauth.pem")
	require.NoError(t, os.WriteFile(keyFile, srv.DAuthPrivateKeyPEM(), 0o600))
	id := srv.EnsureUser("0xabc123", obp.DAuthProvider("TESTNET"))
	require.NoError(t, srv.GrantAccess(obptest.DefaultBankID, obptest.DefaultAccountID, id, obptest.ViewOwner))

	exampletest.ClearEnv(t, ".")
	t.Setenv("OBP_BASE_URL", srv.URL())
	t.Setenv("OBP_DAUTH_KEY_FILE", keyFile)
	t.Setenv("OBP_DAUTH_SMART_CONTRACT", "0xabc123")
	t.Setenv("OBP_DAUTH_NETWORK", "TESTNET")
	t.Setenv("OBP_DAUTH_CONSUMER_KEY", srv.ConsumerKey())
	t.Setenv("OBP_BANK_ID", obptest.DefaultBankID)
	t.Setenv("OBP_ACCOUNT_ID", obptest.DefaultAccountID)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(nil, &out, &errOut), out.String()+errOut.String())
	assert.Contains(t, out.String(), "with DAuth")
	exampletest.AssertSteps(t, out.String(), allSteps...)
	require.Len(t, srv.DAuthCalls(), 6) // current, create, new user id, grant, revoke, revoke again
	assert.NotContains(t, out.String()+errOut.String(), "PRIVATE KEY")
}

func TestRunWithDirectLoginEnvironment(t *testing.T) {
	srv := obptest.NewServer()
	t.Cleanup(srv.Close)
	target := srv.EnsureUser("0xdef", "dauth.ETH")
	exampletest.ClearEnv(t, ".")
	t.Setenv("OBP_BASE_URL", srv.URL())
	t.Setenv("OBP_USERNAME", obptest.DefaultUsername)
	t.Setenv("OBP_PASSWORD", srv.Password())
	t.Setenv("OBP_CONSUMER_KEY", srv.ConsumerKey())
	t.Setenv("OBP_BANK_ID", obptest.DefaultBankID)
	t.Setenv("OBP_ACCOUNT_ID", obptest.DefaultAccountID)
	t.Setenv("OBP_GRANT_USER_ID", target)
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(nil, &out, &errOut), out.String()+errOut.String())
	assert.Contains(t, out.String(), "with DirectLogin")
	exampletest.AssertSteps(t, out.String(), "current user", "create a DAuth user with account access",
		"grant a view", "revoke the view", "revoke it again: a typed OBP error")
	assert.NotContains(t, out.String(), "read the new user's id", "DirectLogin cannot act as the new user")
	assert.Equal(t, 1, srv.Logins(), "one DirectLogin for the whole flow")
	assert.NotContains(t, out.String()+errOut.String(), srv.Password())
}

func TestRunFailsOnBadCredentials(t *testing.T) {
	srv := obptest.NewServer()
	t.Cleanup(srv.Close)
	exampletest.ClearEnv(t, ".")
	t.Setenv("OBP_BASE_URL", srv.URL())
	t.Setenv("OBP_USERNAME", obptest.DefaultUsername)
	t.Setenv("OBP_PASSWORD", "wrong")
	t.Setenv("OBP_CONSUMER_KEY", srv.ConsumerKey())
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(nil, &out, &errOut))
	assert.Regexp(t, `(?m)^FAIL  current user `, out.String())
	assert.Contains(t, errOut.String(), string(obp.ErrInvalidLoginCredentials))
	assert.Contains(t, errOut.String(), "check OBP_USERNAME, OBP_PASSWORD and OBP_CONSUMER_KEY")
}

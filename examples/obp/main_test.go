package main

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func TestRunAgainstBuiltInFake(t *testing.T) {
	t.Setenv("OBP_BASE_URL", "")
	require.NoError(t, run())
}

func TestRunWithDAuthEnvironment(t *testing.T) {
	srv := obptest.NewServer()
	t.Cleanup(srv.Close)
	keyFile := filepath.Join(t.TempDir(), "dauth.pem")
	require.NoError(t, os.WriteFile(keyFile, srv.DAuthPrivateKeyPEM(), 0o600))
	id := srv.EnsureUser("0xabc123", obp.DAuthProvider("TESTNET"))
	require.NoError(t, srv.GrantAccess(obptest.DefaultBankID, obptest.DefaultAccountID, id, obptest.ViewOwner))

	t.Setenv("OBP_BASE_URL", srv.URL())
	t.Setenv("OBP_DAUTH_KEY_FILE", keyFile)
	t.Setenv("OBP_DAUTH_SMART_CONTRACT", "0xabc123")
	t.Setenv("OBP_DAUTH_NETWORK", "TESTNET")
	t.Setenv("OBP_DAUTH_CONSUMER_KEY", srv.ConsumerKey())
	t.Setenv("OBP_BANK_ID", obptest.DefaultBankID)
	t.Setenv("OBP_ACCOUNT_ID", obptest.DefaultAccountID)
	require.NoError(t, run())
	require.Len(t, srv.DAuthCalls(), 6) // current, create, new user id, grant, revoke, revoke again
}

func TestRunWithDirectLoginEnvironment(t *testing.T) {
	srv := obptest.NewServer()
	t.Cleanup(srv.Close)
	target := srv.EnsureUser("0xdef", "dauth.ETH")
	t.Setenv("OBP_BASE_URL", srv.URL())
	t.Setenv("OBP_DAUTH_KEY_FILE", "")
	t.Setenv("OBP_USERNAME", obptest.DefaultUsername)
	t.Setenv("OBP_PASSWORD", srv.Password())
	t.Setenv("OBP_CONSUMER_KEY", srv.ConsumerKey())
	t.Setenv("OBP_BANK_ID", obptest.DefaultBankID)
	t.Setenv("OBP_ACCOUNT_ID", obptest.DefaultAccountID)
	t.Setenv("OBP_GRANT_USER_ID", target)
	require.NoError(t, run())
	require.Equal(t, 1, srv.Logins())
}

func TestRunFailsOnBadCredentials(t *testing.T) {
	srv := obptest.NewServer()
	t.Cleanup(srv.Close)
	t.Setenv("OBP_BASE_URL", srv.URL())
	t.Setenv("OBP_DAUTH_KEY_FILE", "")
	t.Setenv("OBP_USERNAME", obptest.DefaultUsername)
	t.Setenv("OBP_PASSWORD", "wrong")
	t.Setenv("OBP_CONSUMER_KEY", srv.ConsumerKey())
	require.ErrorIs(t, run(), obp.ErrInvalidLoginCredentials)
}

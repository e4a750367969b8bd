package obp_test

import (
	"crypto/x509"
	"encoding/base64"
	"fmt"
	"github.com/banksdk/banksdk/fake"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

// TestSecretsNeverLeak runs DAuth and DirectLogin clients with a debug logger over the
// success, API-error and transport-error paths, and checks that no credential appears
// in any log line, error string or printed client.
func TestSecretsNeverLeak(t *testing.T) {
	s := setup(t)
	var logs fake.LogBuffer
	var printed []string
	record := func(err error) {
		if err != nil {
			printed = append(printed, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}

	// DAuth: success, API error (a key the server does not trust), transport error.
	dc := dauthClient(t, s, obp.WithLogger(logs.Logger()))
	_, err := dc.Users.Current(ctx(t))
	require.NoError(t, err)
	untrusted := obptest.NewServer()
	t.Cleanup(untrusted.Close)
	bad := dauthConfig(untrusted)
	badClient := newClient(t, s, obp.WithDAuth(bad), obp.WithLogger(logs.Logger()))
	_, err = badClient.Users.Current(ctx(t))
	require.Error(t, err)
	record(err)
	// Go's transport may itself re-send a GET whose reused connection dropped, so
	// queue more faults than attempts and clear the rest.
	s.Inject(50, fake.DropBefore().On(http.MethodGet, currentPath))
	_, err = dc.Users.Current(ctx(t))
	require.Error(t, err)
	s.ClearFaults()
	record(err)
	s.Inject(1, fake.DropAfter().On(http.MethodPost, "/obp/"))
	_, err = dc.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq("x", "owner", true))
	require.ErrorIs(t, err, obp.ErrOutcomeUnknown)
	record(err)
	printed = append(printed, fmt.Sprintf("%v %+v %#v %s", dc, dc, dc, dc))
	cfg := dauthConfig(s)
	printed = append(printed, fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, cfg))

	// DirectLogin: success, renewal, API errors, transport error.
	lc := loginClient(t, s, obp.WithLogger(logs.Logger()))
	tok, err := lc.DirectLogin(ctx(t))
	require.NoError(t, err)
	printed = append(printed, fmt.Sprintf("%v %+v %#v %s", tok, tok, tok, tok))
	s.ExpireDirectLoginTokens()
	_, err = lc.Users.Current(ctx(t))
	require.NoError(t, err)
	wrong := newClient(t, s, obp.WithDirectLogin(obptest.DefaultUsername, "Wrong-Secret-Password", s.ConsumerKey()), obp.WithLogger(logs.Logger()))
	_, err = wrong.Users.Current(ctx(t))
	require.Error(t, err)
	record(err)
	static := newClient(t, s, obp.WithDirectLoginToken(tok.Value), obp.WithLogger(logs.Logger()))
	_, err = static.Users.Current(ctx(t)) // expired: the fake echoes the token
	require.ErrorIs(t, err, obp.ErrDirectLoginInvalidToken)
	record(err)
	s.Inject(50, fake.DropBefore().On(http.MethodGet, currentPath))
	_, err = lc.Users.Current(ctx(t))
	require.Error(t, err)
	s.ClearFaults()
	record(err)
	fresh := loginClient(t, s, obp.WithLogger(logs.Logger()))
	s.Inject(1, fake.DropAfter().On(http.MethodPost, "/my/logins/direct"))
	_, err = fresh.Users.Current(ctx(t))
	require.Error(t, err)
	record(err)
	printed = append(printed, fmt.Sprintf("%v %+v %#v %s", lc, lc, lc, lc), fmt.Sprintf("%v %+v %#v", static, static, static))

	// Consent-JWT client.
	cc := newClient(t, s, obp.WithConsentJWT("consent-jwt-secret-value"), obp.WithLogger(logs.Logger()))
	_, err = cc.Users.Current(ctx(t))
	record(err)
	printed = append(printed, fmt.Sprintf("%v %+v %#v", cc, cc, cc))

	// Everything the credentials could be.
	secrets := []string{s.Password(), "Wrong-Secret-Password", tok.Value, "consent-jwt-secret-value"}
	for _, r := range s.Requests() {
		secrets = append(secrets, r.RawHeader("DAuth")...)
		for _, v := range r.RawHeader("DirectLogin") {
			secrets = append(secrets, strings.TrimPrefix(v, "token="))
		}
	}
	for _, k := range []*obptest.Server{s, untrusted} {
		secrets = append(secrets, keyFragments(k.DAuthPrivateKey())...)
		der, err := x509.MarshalPKCS8PrivateKey(k.DAuthPrivateKey())
		require.NoError(t, err)
		secrets = append(secrets, base64.StdEncoding.EncodeToString(der)[100:160])
	}
	require.Greater(t, len(secrets), 20)

	logText := logs.String()
	require.Contains(t, logText, "banksdk http attempt", "the logger was used")
	all := logText + "\n" + strings.Join(printed, "\n")
	for _, sec := range secrets {
		require.NotEmpty(t, sec)
		assert.NotContains(t, all, sec)
	}
	assert.Contains(t, strings.Join(printed, "\n"), "[REDACTED]")
}

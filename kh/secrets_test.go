package kh_test

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/kh"
)

// printAll renders vs every way a secret could leak (testkit.Renderings: fmt's verbs,
// json.Marshal, slog's text and JSON handlers); each value must marshal to JSON.
func printAll(t *testing.T, vs ...any) string {
	t.Helper()
	var b strings.Builder
	for _, v := range vs {
		for how, text := range testkit.Renderings(v) {
			require.NotEqual(t, "json.Marshal error", how, "%T does not marshal: %s", v, text)
			b.WriteString(text + "\n")
		}
	}
	return b.String()
}

// The SCA credentials reach the bank in the request body, and only there: printed,
// marshalled or logged, PSUData and AuthorisationRequest show [REDACTED].
func TestSCACredentialsOnlyInTheRequestBody(t *testing.T) {
	e := setup(t, nil)
	cr, err := e.c.Consents.Create(e.ctx, kh.PSUIdentificationConsent("2999-12-31"), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	_, pw, otp := e.srv.PSU()
	a, err := e.c.Consents.Authorisations.Start(e.ctx, cr.ConsentID, kh.AuthorisationRequest{})
	require.NoError(t, err)
	e.srv.ResetRequests()
	up, err := e.c.Consents.Authorisations.Update(e.ctx, cr.ConsentID, a.AuthorisationID, kh.PSUPassword(pw))
	require.NoError(t, err)
	require.Equal(t, kh.ScaPSUAuthenticated, up.ScaStatus, "the bank read the password")
	reqs := e.srv.Requests()
	require.Len(t, reqs, 1)
	assert.JSONEq(t, `{"psuData":{"password":"`+pw+`"}}`, string(reqs[0].Body))

	// Through Do as well: the body is encoded with its secrets for the bank.
	up2, err := kh.Do[kh.AuthorisationUpdate](e.ctx, e.c, "PUT", "v1/consents/"+cr.ConsentID+"/authorisations/"+a.AuthorisationID,
		kh.SelectMethod(up.ScaMethods[0].AuthenticationMethodID))
	require.NoError(t, err)
	require.Equal(t, kh.ScaMethodSelected, up2.ScaStatus)
	e.srv.ResetRequests()
	otpReq := kh.OTP(otp)
	up3, err := kh.Do[kh.AuthorisationUpdate](e.ctx, e.c, "PUT", "v1/consents/"+cr.ConsentID+"/authorisations/"+a.AuthorisationID, &otpReq)
	require.NoError(t, err)
	assert.Equal(t, kh.ScaFinalised, up3.ScaStatus)
	assert.JSONEq(t, `{"scaAuthenticationData":"`+otp+`"}`, string(e.srv.Requests()[0].Body))

	full := kh.PSUData{Password: auth.NewSecret(pw), EncryptedPassword: auth.NewSecret(pw + "-enc"),
		AdditionalPassword: auth.NewSecret(pw + "-add"), AdditionalEncryptedPassword: auth.NewSecret(pw + "-addenc")}
	printed := printAll(t, kh.PSUPassword(pw), otpReq, &otpReq, kh.Confirm(otp), full, &full,
		kh.AuthorisationRequest{PSUData: &full})
	assert.NotContains(t, printed, pw)
	assert.NotContains(t, printed, otp)
	assert.Contains(t, printed, "[REDACTED]")

	js, err := json.Marshal(kh.AuthorisationRequest{PSUData: &full})
	require.NoError(t, err)
	assert.JSONEq(t, `{"psuData":{"password":"[REDACTED]","encryptedPassword":"[REDACTED]",`+
		`"additionalPassword":"[REDACTED]","additionalEncryptedPassword":"[REDACTED]"}}`, string(js),
		"the shape shows which credentials are set")
	js, err = json.Marshal(kh.SelectMethod("m1"))
	require.NoError(t, err)
	assert.JSONEq(t, `{"authenticationMethodId":"m1"}`, string(js), "what is not secret is shown")
}

// TestNoSecretsInLogsOrErrors runs success, API-error, token-renewal and transport-error
// paths with a debug logger and checks that no token, key, password or OTP appears in
// the log, in an error or in a printed client or result.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	e := setup(t, nil)
	var outputs []string
	keep := func(err error) {
		if err != nil {
			outputs = append(outputs, err.Error(), fmt.Sprintf("%+v %#v", err, err))
		}
	}

	psu := e.psuConsent()
	bal := e.validConsent(kh.BalanceConsent("2999-12-31", e.ref(0)))
	res, err := e.c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
	require.NoError(t, err)
	outputs = append(outputs, printAll(t, e.c, res, e.c.Consents, e.c.Payments))

	// Token renewal (consent and app), then API errors.
	e.srv.ExpireTokens()
	_, err = e.c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
	require.NoError(t, err)
	_, err = e.c.Accounts.Balances(e.ctx, bal, "acc-eur-1")
	require.Error(t, err)
	keep(err)
	_, pw, otp := e.srv.PSU()
	p, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	a, err := e.c.Payments.Authorisations.Start(e.ctx, p.PaymentID, kh.AuthorisationRequest{})
	require.NoError(t, err)
	_, err = e.c.Payments.Authorisations.Update(e.ctx, p.PaymentID, a.AuthorisationID, kh.PSUPassword("wrong-"+pw), kh.UseConsent(psu))
	keep(err)
	req := kh.PSUPassword(pw)
	otpReq := kh.OTP(otp)
	outputs = append(outputs, printAll(t, req, otpReq, *req.PSUData))

	// Redirect URL (which does carry the token) is not logged.
	_, err = e.c.SCARedirectURL(e.ctx, "https://bank.example/sca/1")
	require.NoError(t, err)

	// Transport errors, including outcome unknown.
	e.srv.Inject(1, fake.DropAfter().On("POST", "/v1/payments/payment-order"))
	_, err = e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.ErrorIs(t, err, kh.ErrOutcomeUnknown)
	keep(err)
	e.srv.Inject(5, fake.DropBefore().On("GET", "/v1/accounts"))
	_, err = e.c.Accounts.List(e.ctx, psu)
	require.Error(t, err)
	keep(err)
	// A renewal that fails.
	e.srv.ExpireTokens()
	e.srv.Inject(5, fake.Status(500, `{"tppMessages":[{"code":"INTERNAL"}]}`).On("POST", "/v1/tpp/app/token"))
	_, err = e.c.Accounts.Balances(e.ctx, bal, "acc-huf-1")
	require.Error(t, err)
	keep(err)
	e.srv.ClearFaults()

	var secrets []string
	secrets = append(secrets, e.srv.AppTokens(e.srv.ApplicationID())...)
	for _, id := range []string{psu, bal} {
		secrets = append(secrets, e.srv.ConsentTokens(id)...)
	}
	require.Greater(t, len(secrets), 4)
	for i, s := range secrets {
		secrets[i] = s[len(s)-20:] // the signature part is enough to recognise a token
	}
	_, keyPEM := e.srv.PKI().ClientCertificatePEM()
	keyBody := strings.Join(strings.Split(string(keyPEM), "\n")[1:3], "")
	secrets = append(secrets, keyBody[:40], pw, otp, "PRIVATE KEY")

	all := e.log.String() + strings.Join(outputs, "\n")
	require.Contains(t, e.log.String(), "banksdk http attempt", "the logger saw the calls")
	for _, s := range secrets {
		assert.NotContains(t, all, s)
	}
}

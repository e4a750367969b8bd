package saltedge_test

import (
	"bytes"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// The embedded flow: tokens/create asks for an SMS code (sessions/update
// waiting_confirmation_code), tokens/confirm with the right code succeeds, with a
// wrong code fails.
func TestEmbeddedFlowWithConfirmation(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	for _, tc := range []struct {
		code   string
		status saltedgetest.SessionStatus
		class  string
	}{{"1234", saltedgetest.SessionSuccess, ""}, {"0000", saltedgetest.SessionFail, saltedge.ClassInvalidConfirmationCode}} {
		resp, err := e.driver.CreateToken(ctx, saltedgetest.TokenRequest{
			Credentials: map[string]any{"authorization_type": "embedded", "login": "jane"}})
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode)
		secret := resp.SessionSecret
		require.Eventually(t, func() bool {
			s, _ := e.fake.Session(secret)
			return len(s.Updates) == 1
		}, 5*time.Second, 5*time.Millisecond)
		s, _ := e.fake.Session(secret)
		assert.Contains(t, string(s.Updates[0]), `"status":"waiting_confirmation_code"`)
		assert.Contains(t, string(s.Updates[0]), `"interactive_field":"sms_pincode"`)

		resp, err = e.driver.ConfirmToken(ctx, secret, map[string]any{"sms_pincode": tc.code})
		require.NoError(t, err)
		require.Equal(t, 200, resp.StatusCode, string(resp.Body))
		req := e.bank.lastRequest().(*saltedge.ConfirmTokenRequest)
		assert.Equal(t, tc.code, req.OriginalRequest.ClientPayload.Data.Credentials.Get("sms_pincode"))

		s, err = e.fake.WaitSession(ctx, secret)
		require.NoError(t, err)
		assert.Equal(t, tc.status, s.Status)
		if tc.class != "" {
			var fail saltedge.SessionFail
			require.NoError(t, json.Unmarshal(s.Result, &fail))
			assert.Equal(t, tc.class, fail.ErrorClass)
		}
	}
	assert.Empty(t, e.bank.backgroundErrors())
}

// Payments through the handler: create answers with payments/success, check_funds
// with funds_availability/success, show returns the typed payment.
func TestPaymentFlowsThroughHandler(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	e.bank.mu.Lock()
	e.bank.tokens["pay-token"] = "user-1"
	e.bank.mu.Unlock()

	resp, err := e.driver.CreatePayment(ctx, "pay-token", saltedgetest.PaymentRequest{PrioraPaymentID: 77,
		PaymentType: "SEPA", Attributes: map[string]any{"amount": "10.00", "to_account": "DE89370400440532013000"}})
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(resp.Body))
	req := e.bank.lastRequest().(*saltedge.CreatePaymentRequest)
	assert.Equal(t, int64(77), req.PrioraPaymentID)
	assert.Equal(t, "SEPA", req.PaymentType)
	assert.Equal(t, "10.00", req.OriginalRequest.ClientPayload.Data.PaymentAttributes["amount"])
	s, err := e.fake.WaitSession(ctx, resp.SessionSecret)
	require.NoError(t, err)
	assert.Equal(t, "payments/success", s.ResultCallback)
	assert.JSONEq(t, `{"session_secret":"`+resp.SessionSecret+`","payment_id":"pay-1","priora_payment_id":77}`, string(s.Result))

	resp, err = e.driver.CheckFunds(ctx, "pay-token", "funds-1", "FK54RAND61068421435452", 12.5, "USD")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(resp.Body))
	cf := e.bank.lastRequest().(*saltedge.CheckFundsRequest)
	assert.Equal(t, saltedge.Amount("12.5"), cf.Amount, "a JSON number amount is accepted")
	s, err = e.fake.WaitSession(ctx, "funds-1")
	require.NoError(t, err)
	assert.JSONEq(t, `{"session_secret":"funds-1","funds_available":true}`, string(s.Result))

	resp, err = e.driver.ShowPayment(ctx, "pay-token", "pay-1")
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(resp.Body))
	var p saltedge.Payment
	require.NoError(t, resp.DecodeData(&p))
	assert.Equal(t, saltedge.PaymentSuccessful, p.Status)
	assert.Equal(t, saltedge.Amount("10.50"), p.Total)

	resp, err = e.driver.ShowPayment(ctx, "pay-token", "nope")
	require.NoError(t, err)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, saltedge.ClassPaymentNotFound, resp.ErrorClass)

	// Numeric payment ids are accepted too.
	resp, err = e.driver.Send(ctx, saltedgetest.Call{Endpoint: saltedgetest.PaymentsShow, AccessToken: "pay-token",
		Data: map[string]any{"payment_id": 42}})
	require.NoError(t, err)
	assert.Equal(t, 404, resp.StatusCode, "payment 42 does not exist either")
	assert.Equal(t, saltedge.ID("42"), e.bank.lastRequest().(*saltedge.ShowPaymentRequest).PaymentID)
	assert.Empty(t, e.bank.backgroundErrors())
}

// The private key, the App-Secret, access tokens and JWTs never appear in logs or
// errors: a debug logger on both the client and the handler, over success, API-error
// and transport-error paths, and the client printed every way.
func TestNoSecretsInLogsOrErrors(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	e := setup(t, func(o *setupOpts) {
		o.clientOpts = append(o.clientOpts, saltedge.WithLogger(logger))
		o.handlerCfg = func(c *saltedge.HandlerConfig) { c.Logger = logger }
	})
	ctx := ctxT(t)
	var errs []string
	note := func(err error) {
		if err != nil {
			errs = append(errs, err.Error(), fmtAll(err))
		}
	}

	// Success paths, both directions.
	resp, err := e.driver.CreateToken(ctx, saltedgetest.TokenRequest{})
	require.NoError(t, err)
	_, err = e.fake.WaitSession(ctx, resp.SessionSecret)
	require.NoError(t, err)
	access := "access-" + resp.SessionSecret
	_, err = e.driver.Accounts(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	_, err = e.driver.NotifyError(ctx, access, "InternalProviderError", "bad answer", "get",
		"https://bank.example/api/priora/v1/accounts?token="+access)
	require.NoError(t, err)

	// Error paths: Salt Edge refuses, the bank fails, the bank panics, transport fails.
	_, err = e.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "unknown", Token: access})
	note(err)
	_, err = e.client.Tokens.Revoke(ctx, access)
	note(err)
	e.bank.setFailure(errBoom, nil)
	_, err = e.driver.Accounts(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	e.bank.setFailure(nil, "boom")
	_, _ = e.driver.Accounts(ctx, access, resp.SessionSecret)
	e.bank.setFailure(nil, nil)
	closed, err := saltedge.NewClient(saltedge.WithBaseURL("http://127.0.0.1:1"), saltedge.WithAppID(testAppID),
		saltedge.WithAppSecret(testAppSecret), saltedge.WithPrivateKey(keys()[1]), saltedge.WithLogger(logger),
		saltedge.WithRetry(1, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	defer closed.Close()
	_, err = closed.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "s", Token: access})
	require.Error(t, err)
	note(err)
	_, err = closed.Tokens.Revoke(ctx, access)
	note(err)

	printed := fmtAll(e.client) + fmtAll(*e.client) + fmtAll(saltedge.SessionSuccess{SessionSecret: "s", Token: access, RefreshToken: access})
	req := e.bank.lastRequest()
	printed += fmtAll(req)
	printed += fmtAll(e.bank.lastCall())

	secrets := map[string]string{"app secret": testAppSecret, "access token": access}
	pemBody := string(saltedgetest.PrivateKeyPEM(keys()[1]))
	for i, line := range strings.Split(pemBody, "\n") {
		if len(line) > 40 && !strings.HasPrefix(line, "-----") {
			secrets["private key line "+string(rune('a'+i%26))] = line
		}
	}
	secrets["private exponent"] = keys()[1].D.String()
	for _, r := range e.fake.Requests() {
		for _, a := range r.RawHeader("Authorization") {
			secrets["callback JWT"] = strings.TrimPrefix(a, "Bearer ")
		}
	}
	require.NotEmpty(t, buf.String(), "the debug logger saw the calls")
	assert.Contains(t, buf.String(), "connector panicked")
	assert.Contains(t, buf.String(), "Salt Edge rejected an answer")
	for name, s := range secrets {
		assert.NotContains(t, buf.String(), s, "log leaks the %s", name)
		assert.NotContains(t, printed, s, "printing leaks the %s", name)
		for _, e := range errs {
			assert.NotContains(t, e, s, "an error leaks the %s", name)
		}
	}
	// The bank's own error text is logged for the operator (never sent to Salt Edge).
	assert.Contains(t, buf.String(), "core banking down")
}

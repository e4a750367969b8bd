package saltedge_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// decodeCallbackJWT verifies a recorded callback's Authorization with the provider's
// public key and returns its claims.
func decodeCallbackJWT(t *testing.T, pub *rsa.PublicKey, authz string) jwt.MapClaims {
	t.Helper()
	tok, ok := strings.CutPrefix(authz, "Bearer ")
	require.True(t, ok, "Authorization is a Bearer token")
	claims := jwt.MapClaims{}
	_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired()).
		ParseWithClaims(tok, claims, func(*jwt.Token) (any, error) { return pub, nil })
	require.NoError(t, err)
	return claims
}

func TestCallbackCarriesJWTAndAppCredentials(t *testing.T) {
	e := setup(t, func(o *setupOpts) { o.clientOpts = append(o.clientOpts, saltedge.WithTokenTTL(90*time.Second)) })
	e.fake.OpenSession("sess-1")
	before := time.Now()
	res, err := e.client.Sessions.Update(ctxT(t), saltedge.SessionUpdate{SessionSecret: "sess-1",
		Status:                     saltedge.SessionWaitingConfirmationCode,
		InteractiveStepInstruction: &saltedge.InteractiveStep{Instruction: "Enter the SMS code", InteractiveField: "sms_pincode"}})
	require.NoError(t, err)
	assert.Equal(t, 1, res.Attempts)
	assert.WithinDuration(t, time.Now(), res.Time, 5*time.Second, "meta.time is decoded")

	reqs := e.fake.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/api/connectors/v1/sessions/update", r.Path)
	assert.Empty(t, r.Body, "the payload travels in the JWT only")
	assert.Equal(t, []string{testAppID}, r.RawHeader("App-Id"))
	assert.Equal(t, []string{testAppSecret}, r.RawHeader("App-Secret"))
	require.Len(t, r.RawHeader("Authorization"), 1)

	claims := decodeCallbackJWT(t, &keys()[1].PublicKey, r.RawHeader("Authorization")[0])
	assert.ElementsMatch(t, []string{"data", "exp"}, mapKeys(claims), "claims are exactly data and exp")
	exp, err := claims.GetExpirationTime()
	require.NoError(t, err)
	assert.WithinDuration(t, before.Add(90*time.Second), exp.Time, 2*time.Second, "exp = now + TTL")
	data, _ := json.Marshal(claims["data"])
	assert.JSONEq(t, `{"session_secret":"sess-1","status":"waiting_confirmation_code",
		"interactive_step_instruction":{"instruction":"Enter the SMS code","interactive_field":"sms_pincode"}}`, string(data))
}

func mapKeys(m map[string]any) []string {
	var ks []string
	for k := range m {
		ks = append(ks, k)
	}
	return ks
}

// Every attempt carries a JWT minted for it: after a 503 with Retry-After: 1, the
// second attempt's exp is later.
func TestJWTMintedPerAttempt(t *testing.T) {
	e := setup(t, func(o *setupOpts) {
		o.clientOpts = append(o.clientOpts, saltedge.WithRetry(1, 10*time.Millisecond, 2*time.Second))
	})
	e.fake.OpenSession("sess-2")
	e.fake.Inject(1, fake.Status(503, "").WithRetryAfter("1"))
	res, err := e.client.Sessions.Success(ctxT(t), saltedge.SessionSuccess{SessionSecret: "sess-2", Token: "tok"})
	require.NoError(t, err)
	assert.Equal(t, 2, res.Attempts)
	reqs := e.fake.Requests()
	require.Len(t, reqs, 2)
	a1, a2 := reqs[0].RawHeader("Authorization")[0], reqs[1].RawHeader("Authorization")[0]
	assert.NotEqual(t, a1, a2)
	e1, _ := decodeCallbackJWT(t, &keys()[1].PublicKey, a1).GetExpirationTime()
	e2, _ := decodeCallbackJWT(t, &keys()[1].PublicKey, a2).GetExpirationTime()
	assert.True(t, e2.After(e1.Time), "the retry carries a fresh exp")
	assert.Equal(t, 1, e.fake.CallbackCount("sessions/success"))
}

// A callback whose answer was lost is not sent again; 503 with Retry-After (not
// processed) is retried.
func TestCallbackRetryRules(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)

	e.fake.OpenSession("s-drop")
	e.fake.Inject(1, fake.DropAfter().On("POST", "/api/connectors/v1/sessions/success"))
	_, err := e.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "s-drop", Token: "t1"})
	require.Error(t, err)
	assert.ErrorIs(t, err, saltedge.ErrOutcomeUnknown)
	assert.Equal(t, 1, e.fake.Count("POST", "/api/connectors/v1/sessions/success"), "sent exactly once")
	sess, _ := e.fake.Session("s-drop")
	assert.Equal(t, saltedgetest.SessionSuccess, sess.Status, "the lost call did reach Salt Edge")

	e.fake.OpenSession("s-503")
	e.fake.Inject(1, fake.Status(503, `{"error_class":"X","error_message":"busy"}`).WithRetryAfter("0"))
	_, err = e.client.Sessions.Fail(ctx, saltedge.SessionFail{SessionSecret: "s-503",
		ErrorClass: saltedge.ClassInvalidCredentials, ErrorMessage: "wrong PIN"})
	require.NoError(t, err)
	assert.Equal(t, 2, e.fake.Count("POST", "/api/connectors/v1/sessions/fail"))

	e.fake.OpenSession("s-502")
	e.fake.Inject(1, fake.Status(502, ""))
	_, err = e.client.Sessions.Update(ctx, saltedge.RedirectUpdate("s-502", "https://bank.example/x"))
	var ae *saltedge.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 502, ae.StatusCode)
	assert.Equal(t, 1, e.fake.Count("POST", "/api/connectors/v1/sessions/update"), "a POST is not retried on 502")

	// GET is retried on 502.
	e.fake.Inject(1, fake.Status(502, ""))
	_, err = e.client.Clients.Info(ctx, saltedgetest.DefaultClientID)
	require.NoError(t, err)
	assert.Equal(t, 2, e.fake.Count("GET", "/api/connectors/v1/clients/info"))
}

func TestAPIErrors(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	_, err := e.client.Sessions.Update(ctx, saltedge.RedirectUpdate("unknown", "https://bank.example/x"))
	var ae *saltedge.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 404, ae.StatusCode)
	assert.Equal(t, saltedge.ClassSessionNotFound, ae.Class)
	assert.NotEmpty(t, ae.Message)
	assert.True(t, hasClass(err, saltedge.ClassSessionNotFound))
	assert.Contains(t, err.Error(), "saltedge: 404 SessionNotFound: ")

	e.fake.OpenSession("closed")
	_, err = e.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "closed"})
	require.NoError(t, err)
	_, err = e.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "closed"})
	assert.True(t, hasClass(err, saltedge.ClassSessionClosed), "%v", err)

	wrong, err := saltedge.NewClient(saltedge.WithBaseURL(e.fake.URL()), saltedge.WithAppID(testAppID),
		saltedge.WithAppSecret("not-the-secret"), saltedge.WithPrivateKey(keys()[1]))
	require.NoError(t, err)
	t.Cleanup(func() { _ = wrong.Close() })
	_, err = wrong.Clients.Info(ctx, 771)
	assert.True(t, hasClass(err, saltedge.ClassProviderNotFound), "%v", err)

	stranger, err := saltedge.NewClient(saltedge.WithBaseURL(e.fake.URL()), saltedge.WithAppID(testAppID),
		saltedge.WithAppSecret(testAppSecret), saltedge.WithPrivateKey(keys()[3]))
	require.NoError(t, err)
	t.Cleanup(func() { _ = stranger.Close() })
	_, err = stranger.Clients.Info(ctx, 771)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.StatusCode)
	assert.Equal(t, saltedge.ClassAuthorizationMissing, ae.Class, "a JWT signed by another key is refused")
}

func TestDecodeErrorFormats(t *testing.T) {
	resp := &http.Response{StatusCode: 400}
	cases := map[string][2]string{
		`{"error_class":"SessionClosed","error_message":"closed"}`:    {"SessionClosed", "closed"},
		`{"error":{"class":"ProviderDisabled","message":"disabled"}}`: {"ProviderDisabled", "disabled"},
		`{"error":"plain text"}`:                                      {"", "plain text"},
		`<html>oops</html>`:                                           {"", "Bad Request"},
		``:                                                            {"", "Bad Request"},
		`{"error_class":"A\nB","error_message":"` + strings.Repeat("x", 3000) + `"}`: {"A B", strings.Repeat("x", 1000) + "…"},
	}
	for body, want := range cases {
		err := saltedge.DecodeError(resp, []byte(body))
		var ae *saltedge.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 400, ae.StatusCode)
		assert.Equal(t, want[0], ae.Class, body)
		assert.Equal(t, want[1], ae.Message)
		assert.Equal(t, body, string(ae.Raw))
		assert.Less(t, len(err.Error()), 400)
	}
}

// Bad input is refused before anything is sent.
func TestValidationBeforeNetwork(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	c := e.client
	checks := []struct {
		name string
		err  error
		want string
	}{
		{"update without secret", second(c.Sessions.Update(ctx, saltedge.SessionUpdate{})), "session_secret: required"},
		{"redirect without url", second(c.Sessions.Update(ctx, saltedge.SessionUpdate{SessionSecret: "s", Status: saltedge.SessionRedirect})), "extra.redirect_url"},
		{"success without secret", second(c.Sessions.Success(ctx, saltedge.SessionSuccess{Token: "t"})), "session_secret"},
		{"fail without class", second(c.Sessions.Fail(ctx, saltedge.SessionFail{SessionSecret: "s"})), "error_class: required"},
		{"payment without priora id", second(c.Payments.Success(ctx, saltedge.PaymentSuccess{SessionSecret: "s"})), "priora_payment_id"},
		{"payment fail without class", second(c.Payments.Fail(ctx, saltedge.PaymentFail{SessionSecret: "s", PrioraPaymentID: 1})), "error_class"},
		{"payment redirect without url", second(c.Payments.Update(ctx, saltedge.PaymentUpdate{SessionSecret: "s", PrioraPaymentID: 1, Status: saltedge.PaymentRedirect})), "redirect_url"},
		{"funds without secret", second(c.FundsAvailability.Success(ctx, saltedge.FundsSuccess{})), "session_secret"},
		{"funds fail without class", second(c.FundsAvailability.Fail(ctx, saltedge.FundsFail{SessionSecret: "s"})), "error_class"},
		{"revoke without token", second(c.Tokens.Revoke(ctx, "")), "token: required"},
		{"revoke with newline", second(c.Tokens.Revoke(ctx, "a\nb")), "control characters"},
		{"index with negative page", second(c.Tokens.Index(ctx, saltedge.TokensQuery{PerPage: -1})), "per_page"},
		{"info for client 0", second(c.Clients.Info(ctx, 0)), "client_id"},
		{"Do with absolute URL", second(saltedge.Do[any](ctx, c, "GET", "https://evil.example/x", nil)), "saltedge:"},
		{"Do with a query", second(saltedge.Do[any](ctx, c, "GET", "api/connectors/v1/tokens/index?x=1", nil)), "query"},
	}
	for _, ch := range checks {
		assert.ErrorContains(t, ch.err, ch.want, ch.name)
	}
	assert.Empty(t, e.fake.Requests(), "nothing reached the server")
}

func second[T any](_ T, err error) error { return err }

func TestNewClientValidation(t *testing.T) {
	k := keys()[1]
	base := []saltedge.Option{saltedge.WithAppID("a"), saltedge.WithAppSecret("s"), saltedge.WithPrivateKey(k)}
	_, err := saltedge.NewClient(base...)
	require.NoError(t, err, "defaults to %s", saltedge.DefaultBaseURL)

	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	cases := []struct {
		opts []saltedge.Option
		want string
	}{
		{[]saltedge.Option{saltedge.WithAppSecret("s"), saltedge.WithPrivateKey(k)}, "app ID is required"},
		{[]saltedge.Option{saltedge.WithAppID("a"), saltedge.WithPrivateKey(k)}, "app secret is required"},
		{[]saltedge.Option{saltedge.WithAppID("a"), saltedge.WithAppSecret("s")}, "private key is required"},
		{append(base, saltedge.WithTokenTTL(0)), "token TTL"},
		{append(base, saltedge.WithTokenTTL(2*time.Hour)), "token TTL"},
		{append(base, saltedge.WithBaseURL("http://priora.example.com")), "saltedge:"},
		{append(base, saltedge.WithPrivateKey(small)), "2048"},
		{append(base, saltedge.WithPrivateKeyPEM([]byte("junk"))), "private key"},
		{append(base, saltedge.WithAppID("a\r\nX: y")), "control characters"},
		{append(base, saltedge.WithTimeout(-1)), "saltedge:"},
	}
	for _, tc := range cases {
		_, err := saltedge.NewClient(tc.opts...)
		assert.ErrorContains(t, err, tc.want)
	}
	_, err = saltedge.NewClient(append(base, saltedge.WithBaseURL("http://priora.example.com"), saltedge.WithInsecureHTTP())...)
	assert.NoError(t, err)
	_, err = saltedge.NewClient(append(base, saltedge.WithPrivateKeyPEM(saltedgetest.PrivateKeyPEM(k)))...)
	assert.NoError(t, err)
}

func TestTokensIndexPagesAndIterates(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	for _, tok := range []string{"t1", "t2", "t3", "t4", "t5"} {
		e.fake.AddToken(tok, "821", time.Time{})
	}
	e.fake.AddToken("other", "900", time.Time{})

	page, err := e.client.Tokens.Index(ctx, saltedge.TokensQuery{PerPage: 2, CustomerID: 821})
	require.NoError(t, err)
	assert.Len(t, page.Tokens, 2)
	assert.Equal(t, int64(3), page.NextID)
	claims := decodeCallbackJWT(t, &keys()[1].PublicKey, e.fake.Requests()[0].RawHeader("Authorization")[0])
	assert.Equal(t, map[string]any{"per_page": 2.0, "customer_id": 821.0}, claims["data"])
	assert.Equal(t, "GET", e.fake.Requests()[0].Method)

	var got []string
	for tok, err := range e.client.Tokens.All(ctx, saltedge.TokensQuery{PerPage: 2, CustomerID: 821}) {
		require.NoError(t, err)
		var v struct {
			Token string `json:"token"`
		}
		require.NoError(t, json.Unmarshal(tok, &v))
		got = append(got, v.Token)
	}
	assert.Equal(t, []string{"t1", "t2", "t3", "t4", "t5"}, got)
	assert.Equal(t, 1+3, e.fake.Count("GET", "/api/connectors/v1/tokens/index"))

	// Stopping early sends no more requests.
	n := 0
	for range e.client.Tokens.All(ctx, saltedge.TokensQuery{PerPage: 1}) {
		n++
		if n == 2 {
			break
		}
	}
	assert.Equal(t, 4+2, e.fake.Count("GET", "/api/connectors/v1/tokens/index"))

	_, err = e.client.Tokens.Index(ctx, saltedge.TokensQuery{CustomerID: 7})
	assert.True(t, hasClass(err, saltedge.ClassCustomerNotFound), "%v", err)
	for _, err := range e.client.Tokens.All(ctx, saltedge.TokensQuery{CustomerID: 7}) {
		assert.True(t, hasClass(err, saltedge.ClassCustomerNotFound))
	}
}

// A server that never advances next_id cannot make All loop.
func TestTokensAllLoopGuard(t *testing.T) {
	var mu sync.Mutex
	calls := 0
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		calls++
		mu.Unlock()
		_, _ = io.WriteString(w, `{"data":{"tokens":[{"id":1}]},"meta":{"next_id":1,"time":"2019-11-18T16:04:49.001Z"}}`)
	}))
	c, err := saltedge.NewClient(saltedge.WithBaseURL(srv), saltedge.WithAppID("a"), saltedge.WithAppSecret("s"),
		saltedge.WithPrivateKey(keys()[1]))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	n := 0
	for _, err := range c.Tokens.All(ctxT(t), saltedge.TokensQuery{}) {
		require.NoError(t, err)
		n++
	}
	assert.Equal(t, 2, n)
	assert.Equal(t, 2, calls)
}

func TestTokensRevoke(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	e.fake.AddToken("tok-to-revoke", "1", time.Time{})
	res, err := e.client.Tokens.Revoke(ctx, "tok-to-revoke")
	require.NoError(t, err)
	assert.True(t, res.Revoked)
	r := e.fake.Requests()[0]
	assert.Equal(t, "DELETE", r.Method)
	assert.Equal(t, "/api/connectors/v1/tokens/revoke", r.Path)
	assert.Equal(t, []string{"tok-to-revoke"}, r.RawHeader("Token"))
	claims := decodeCallbackJWT(t, &keys()[1].PublicKey, r.RawHeader("Authorization")[0])
	assert.Equal(t, map[string]any{}, claims["data"], "revoke sends an empty data object")
	assert.Equal(t, saltedgetest.TokenRevoked, e.fake.Tokens()[0].Status)

	_, err = e.client.Tokens.Revoke(ctx, "tok-to-revoke")
	assert.True(t, hasClass(err, saltedge.ClassTokenRevoked), "%v", err)
	_, err = e.client.Tokens.Revoke(ctx, "ghost")
	assert.True(t, hasClass(err, saltedge.ClassTokenNotFound), "%v", err)
}

func TestClientsInfo(t *testing.T) {
	e := setup(t)
	info, err := e.client.Clients.Info(ctxT(t), saltedgetest.DefaultClientID)
	require.NoError(t, err)
	assert.Equal(t, "Example TPP", info.Name)
	assert.Equal(t, []string{"accounts", "transactions", "kyc"}, info.Scopes)
	assert.True(t, keys()[2].PublicKey.Equal(info.PublicKey))
	assert.Contains(t, info.PublicKeyPEM, "BEGIN PUBLIC KEY")
	claims := decodeCallbackJWT(t, &keys()[1].PublicKey, e.fake.Requests()[0].RawHeader("Authorization")[0])
	assert.Equal(t, map[string]any{"client_id": 771.0}, claims["data"])

	_, err = e.client.Clients.Info(ctxT(t), 5)
	var ae *saltedge.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 404, ae.StatusCode)
}

// The seed's clients/info sample (a 1024-bit PKIX key) parses.
func TestClientsInfoSeedSample(t *testing.T) {
	srv := newTestServer(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, `{"data":{"name":"Fentury","scopes":["accounts","transactions","kyc"],"public_key":"-----BEGIN PUBLIC KEY-----\nMIGfMA0GCSqGSIb3DQEBAQUAA4GNADCBiQKBgQCqGKukO1De7zhZj6+H0qtjTkVxwTCpvKe4eCZ0\nFPqri0cb2JZfXJ/DgYSF6vUpwmJG8wVQZKjeGcjDOL5UlsuusFncCzWBQ7RKNUSesmQRMSGkVb1/\n3j+skZ6UtW+5u09lHNsj6tQ51s1SPrCBkedbNf0Tp0GbMJDyR4e9T04ZZwIDAQAB\n-----END PUBLIC KEY-----"},"meta":{"time":"2019-11-18T16:04:48.271Z"}}`)
	}))
	c, err := saltedge.NewClient(saltedge.WithBaseURL(srv), saltedge.WithAppID("a"), saltedge.WithAppSecret("s"),
		saltedge.WithPrivateKey(keys()[1]))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	info, err := c.Clients.Info(ctxT(t), 517)
	require.NoError(t, err)
	assert.Equal(t, "Fentury", info.Name)
	assert.Equal(t, 1024, info.PublicKey.N.BitLen())
	assert.Equal(t, time.Date(2019, 11, 18, 16, 4, 48, 271e6, time.UTC), info.Time)
}

func TestClientJWTVerifier(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	resp, err := e.driver.CreateToken(ctx, saltedgetest.TokenRequest{})
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode)
	_, err = e.fake.WaitSession(ctx, resp.SessionSecret)
	require.NoError(t, err)
	req := e.bank.lastRequest().(*saltedge.CreateTokenRequest)

	v, err := saltedge.NewClientJWTVerifier(e.client)
	require.NoError(t, err)
	payload, err := req.OriginalRequest.Verify(ctx, v, req.ClientID)
	require.NoError(t, err)
	assert.Equal(t, req.OriginalRequest.ClientPayload.Data, payload, "the signed request matches Salt Edge's decoded copy")
	_, err = req.OriginalRequest.Verify(ctx, v, req.ClientID)
	require.NoError(t, err)
	assert.Equal(t, 1, e.fake.Count("GET", "/api/connectors/v1/clients/info"), "the key is cached by client id")

	// Concurrent verifications on a fresh verifier share one fetch.
	v2, err := saltedge.NewClientJWTVerifier(e.client)
	require.NoError(t, err)
	var wg sync.WaitGroup
	errs := make([]error, 20)
	for i := range errs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, errs[i] = v2.Verify(ctx, req.ClientID, req.OriginalRequest.ClientJWT)
		}()
	}
	wg.Wait()
	for _, err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 2, e.fake.Count("GET", "/api/connectors/v1/clients/info"))

	// Forged, tampered, foreign and expired client JWTs fail.
	stranger := sign(t, jwt.SigningMethodRS256, keys()[3], jwt.MapClaims{"data": map[string]any{}, "exp": time.Now().Add(time.Minute).Unix()})
	_, err = v.Verify(ctx, req.ClientID, "Bearer "+stranger)
	assert.ErrorIs(t, err, saltedge.ErrInvalidClientJWT)
	_, err = v.Verify(ctx, req.ClientID, tamper(t, strings.TrimPrefix(req.OriginalRequest.ClientJWT, "Bearer ")))
	assert.ErrorIs(t, err, saltedge.ErrInvalidClientJWT)
	seedCreate := seedRequests(t)["POST /api/priora/v1/tokens/create"]
	var seedReq saltedge.CreateTokenRequest
	require.NoError(t, json.Unmarshal(seedCreate.claims["data"], &seedReq))
	_, err = v.Verify(ctx, req.ClientID, seedReq.OriginalRequest.ClientJWT)
	assert.ErrorIs(t, err, saltedge.ErrInvalidClientJWT, "the seed's client_jwt is expired and signed by another key")
	_, err = v.Verify(ctx, req.ClientID, "")
	assert.ErrorIs(t, err, saltedge.ErrInvalidClientJWT)

	// An unknown client: the key fetch fails with Salt Edge's error, and is not cached.
	_, err = v.Verify(ctx, 5, req.OriginalRequest.ClientJWT)
	var ae *saltedge.APIError
	require.ErrorAs(t, err, &ae)
	assert.False(t, errors.Is(err, saltedge.ErrInvalidClientJWT))
	_, _ = v.Verify(ctx, 5, req.OriginalRequest.ClientJWT)
	assert.Equal(t, 4, e.fake.Count("GET", "/api/connectors/v1/clients/info"))
}

func TestPaymentsAndFundsCallbacks(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	e.fake.OpenSession("pay-1")
	_, err := e.client.Payments.Update(ctx, saltedge.PaymentUpdate{SessionSecret: "pay-1", PaymentID: "p-9",
		PrioraPaymentID: 123, Status: saltedge.PaymentRedirect, Extra: map[string]any{"redirect_url": "https://bank.example/pay"}})
	require.NoError(t, err)
	_, err = e.client.Payments.Success(ctx, saltedge.PaymentSuccess{SessionSecret: "pay-1", PaymentID: "p-9", PrioraPaymentID: 123})
	require.NoError(t, err)
	sess, _ := e.fake.Session("pay-1")
	assert.Equal(t, saltedgetest.SessionSuccess, sess.Status)
	assert.Equal(t, "payments/success", sess.ResultCallback)
	assert.JSONEq(t, `{"session_secret":"pay-1","payment_id":"p-9","priora_payment_id":123}`, string(sess.Result))

	e.fake.OpenSession("funds-1")
	_, err = e.client.FundsAvailability.Success(ctx, saltedge.FundsSuccess{SessionSecret: "funds-1", FundsAvailable: false})
	require.NoError(t, err)
	sess, _ = e.fake.Session("funds-1")
	assert.JSONEq(t, `{"session_secret":"funds-1","funds_available":false}`, string(sess.Result))

	e.fake.OpenSession("funds-2")
	_, err = e.client.FundsAvailability.Fail(ctx, saltedge.FundsFail{SessionSecret: "funds-2",
		ErrorClass: saltedge.ClassAccountNotFound, ErrorMessage: "no such account"})
	require.NoError(t, err)
	e.fake.OpenSession("pay-2")
	_, err = e.client.Payments.Fail(ctx, saltedge.PaymentFail{SessionSecret: "pay-2", PrioraPaymentID: 5,
		ErrorClass: saltedge.ClassInsufficientFunds, ErrorMessage: "no"})
	require.NoError(t, err)
	for _, cb := range e.fake.Callbacks() {
		assert.True(t, cb.Verified, cb.Name)
	}
	assert.Equal(t, 1, e.fake.CallbackCount("funds_availability/fail"))
	assert.Equal(t, 1, e.fake.CallbackCount("payments/fail"))
}

func TestDoEscapeHatch(t *testing.T) {
	e := setup(t)
	e.fake.OpenSession("s-do")
	out, err := saltedge.Do[map[string]any](ctxT(t), e.client, "post", "api/connectors/v1/sessions/update",
		map[string]any{"session_secret": "s-do", "status": "custom"})
	require.NoError(t, err)
	assert.Equal(t, map[string]any{}, out)
	sess, _ := e.fake.Session("s-do")
	require.Len(t, sess.Updates, 1)
	assert.JSONEq(t, `{"session_secret":"s-do","status":"custom"}`, string(sess.Updates[0]))
}

// A SessionSuccess shows its tokens as [REDACTED] when it is logged or encoded, but
// the callback carries them, whether it goes through Sessions.Success or through Do
// (by value or by pointer): Salt Edge sends the token back in Access-Token.
func TestSessionSuccessCarriesItsTokens(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	send := map[string]func(saltedge.SessionSuccess) error{
		"Sessions.Success": func(p saltedge.SessionSuccess) error {
			_, err := e.client.Sessions.Success(ctx, p)
			return err
		},
		"Do": func(p saltedge.SessionSuccess) error {
			_, err := saltedge.Do[json.RawMessage](ctx, e.client, http.MethodPost, "api/connectors/v1/sessions/success", p)
			return err
		},
		"Do with a pointer": func(p saltedge.SessionSuccess) error {
			_, err := saltedge.Do[json.RawMessage](ctx, e.client, http.MethodPost, "api/connectors/v1/sessions/success", &p)
			return err
		},
	}
	for name, call := range send {
		secret := "sess-wire-" + strings.ReplaceAll(name, " ", "-")
		e.fake.OpenSession(secret)
		p := saltedge.SessionSuccess{SessionSecret: secret, Token: "access-" + secret, RefreshToken: "refresh-" + secret}
		logged, err := json.Marshal(p)
		require.NoError(t, err)
		require.NotContains(t, string(logged), p.Token, "json.Marshal redacts")

		require.NoError(t, call(p), name)
		sess, ok := e.fake.Session(secret)
		require.True(t, ok, name)
		var got struct {
			Token        string `json:"token"`
			RefreshToken string `json:"refresh_token"`
		}
		require.NoError(t, json.Unmarshal(sess.Result, &got), name)
		assert.Equal(t, p.Token, got.Token, name)
		assert.Equal(t, p.RefreshToken, got.RefreshToken, name)
	}
}

func TestClientConcurrentCallbacks(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	var wg sync.WaitGroup
	for i := range 16 {
		secret := "c-" + string(rune('a'+i))
		e.fake.OpenSession(secret)
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: secret})
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 16, e.fake.CallbackCount("sessions/success"))
}

// Close closes the connection the client kept alive (the server sees it close), is
// idempotent, and a call after Close fails with ErrClosed without reaching the server.
func TestClientCloseReleasesConnections(t *testing.T) {
	closedConns := make(chan struct{}, 8)
	var served atomic.Int32
	ts := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		served.Add(1)
		_, _ = io.WriteString(w, `{"data":{"ok":true},"meta":{}}`)
	}))
	ts.Config.ConnState = func(_ net.Conn, st http.ConnState) {
		if st == http.StateClosed {
			closedConns <- struct{}{}
		}
	}
	ts.Start()
	t.Cleanup(ts.Close)
	c, err := saltedge.NewClient(saltedge.WithBaseURL(ts.URL), saltedge.WithAppID("a"), saltedge.WithAppSecret("s"),
		saltedge.WithPrivateKey(keys()[1]))
	require.NoError(t, err)
	call := func() error {
		_, err := saltedge.Do[map[string]bool](ctxT(t), c, http.MethodGet, "api/connectors/v1/tokens/index", nil)
		return err
	}
	require.NoError(t, call())

	require.NoError(t, c.Close())
	select {
	case <-closedConns:
	case <-time.After(10 * time.Second):
		t.Fatal("the client's idle connection was not closed by Close")
	}
	require.NoError(t, c.Close(), "Close is idempotent")

	require.ErrorIs(t, call(), saltedge.ErrClosed, "a call after Close is refused")
	assert.Equal(t, int32(1), served.Load(), "only the call before Close reached the server")
}

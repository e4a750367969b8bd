package saltedge_test

import (
	"bytes"
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

func fmtAll(v any) string { return fmt.Sprintf("%v %+v %#v", v, v, v) }

func ctxT(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// End to end: the fake Salt Edge sends tokens/create to the handler; the bank answers
// with sessions/update (redirect) then sessions/success, both verified by the fake;
// accounts, transactions and kyc come back typed.
func TestEndToEndTokenFlow(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)

	resp, err := e.driver.CreateToken(ctx, saltedgetest.TokenRequest{ConsentID: "4242"})
	require.NoError(t, err)
	require.Equal(t, 200, resp.StatusCode, string(resp.Body))
	assert.JSONEq(t, `{}`, string(resp.Body))

	sess, err := e.fake.WaitSession(ctx, resp.SessionSecret)
	require.NoError(t, err)
	require.Empty(t, e.bank.backgroundErrors())
	assert.Equal(t, saltedgetest.SessionSuccess, sess.Status)
	require.Len(t, sess.Updates, 1)
	assert.JSONEq(t, fmt.Sprintf(`{"session_secret":%q,"status":"redirect","extra":{"redirect_url":"https://bank.example/oauth?s=%s"}}`,
		resp.SessionSecret, resp.SessionSecret), string(sess.Updates[0]))
	assert.Equal(t, "sessions/success", sess.ResultCallback)

	// The bank saw the typed request with the headers.
	req, ok := e.bank.lastRequest().(*saltedge.CreateTokenRequest)
	require.True(t, ok)
	assert.Equal(t, resp.SessionSecret, req.SessionSecret)
	assert.Equal(t, "tokens/create", req.Endpoint)
	assert.Equal(t, saltedgetest.DefaultClientID, req.ClientID)
	assert.Equal(t, "4242", req.ConsentID)
	assert.Equal(t, saltedge.DefaultIssuer, req.Issuer)
	assert.WithinDuration(t, time.Now().Add(time.Minute), req.ExpiresAt, 5*time.Second)
	assert.Equal(t, []string{"accounts", "transactions", "kyc"}, req.OriginalRequest.ClientPayload.Data.Scopes)

	// The fake verified both callbacks (signature by the provider key, App-Id/App-Secret, exp).
	cbs := e.fake.Callbacks()
	require.Len(t, cbs, 2)
	for i, name := range []string{"sessions/update", "sessions/success"} {
		assert.Equal(t, name, cbs[i].Name)
		assert.True(t, cbs[i].Verified, name)
		assert.Equal(t, 200, cbs[i].Status, name)
		assert.Equal(t, "RS256", cbs[i].Algorithm)
		assert.WithinDuration(t, cbs[i].ReceivedAt.Add(saltedge.DefaultTokenTTL), cbs[i].ExpiresAt, 2*time.Second,
			"callbacks carry exp = now + TTL")
	}
	toks := e.fake.Tokens()
	require.Len(t, toks, 1)
	access := toks[0].Token
	assert.Equal(t, "access-"+resp.SessionSecret, access)

	// Accounts, transactions, kyc with the issued token, typed on both sides.
	r, err := e.driver.Accounts(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	require.Equal(t, 200, r.StatusCode, string(r.Body))
	var accounts []saltedge.Account
	require.NoError(t, r.DecodeData(&accounts))
	assert.Equal(t, testAccounts, accounts)
	assert.Contains(t, string(r.Body), `"balance":"5000.00"`)
	assert.Equal(t, access, e.bank.lastCall().AccessToken.Reveal())

	from := time.Date(2019, 11, 1, 0, 0, 0, 0, time.UTC)
	r, err = e.driver.TransactionsFor(ctx, access, resp.SessionSecret, "724", from, from.AddDate(0, 1, 0))
	require.NoError(t, err)
	require.Equal(t, 200, r.StatusCode, string(r.Body))
	var txs []saltedge.Transaction
	require.NoError(t, r.DecodeData(&txs))
	assert.Equal(t, testTransactions, txs)
	treq := e.bank.lastRequest().(*saltedge.TransactionsRequest)
	assert.Equal(t, from, treq.FromDate.Time.UTC())
	assert.Equal(t, "724", treq.AccountID)

	r, err = e.driver.KYCFor(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	require.Equal(t, 200, r.StatusCode, string(r.Body))
	var kyc saltedge.KYC
	require.NoError(t, r.DecodeData(&kyc))
	assert.Equal(t, saltedge.KYC{Name: "Example Name", Email: "psu@example.com"}, kyc)

	// A ConnectorError from the bank reaches Salt Edge with its class and status.
	r, err = e.driver.TransactionsFor(ctx, access, resp.SessionSecret, "999", from, from)
	require.NoError(t, err)
	assert.Equal(t, 404, r.StatusCode)
	assert.Equal(t, saltedge.ClassAccountNotFound, r.ErrorClass)
	r, err = e.driver.Accounts(ctx, "not-a-token", resp.SessionSecret)
	require.NoError(t, err)
	assert.Equal(t, 404, r.StatusCode)
	assert.Equal(t, saltedge.ClassTokenNotFound, r.ErrorClass)

	// Revoke on the connector side.
	r, err = e.driver.RevokeToken(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	assert.Equal(t, 200, r.StatusCode)
	r, err = e.driver.KYCFor(ctx, access, resp.SessionSecret)
	require.NoError(t, err)
	assert.Equal(t, saltedge.ClassTokenNotFound, r.ErrorClass)
}

type rawCall struct {
	method, path string
	auth         *string // nil: a valid token
	clientID     *string // nil: "771"
	accessToken  string
	noAccess     bool // send no Access-Token (default: "tok-1")
	body         io.Reader
	header       map[string]string
}

func str(s string) *string { return &s }

// send sends a request to the handler directly.
func (e *env) send(t *testing.T, c rawCall, data any) (int, map[string]any, http.Header) {
	t.Helper()
	if c.method == "" {
		c.method = http.MethodGet
	}
	if c.path == "" {
		c.path = "kyc"
	}
	req, err := http.NewRequest(c.method, e.handler.URL+"/api/priora/v1/"+c.path, c.body)
	require.NoError(t, err)
	if c.auth == nil {
		tok, err := e.fake.RequestJWT(data, 0)
		require.NoError(t, err)
		req.Header.Set("Authorization", "Bearer "+tok)
	} else if *c.auth != "" {
		req.Header.Set("Authorization", *c.auth)
	}
	if c.clientID == nil {
		req.Header.Set("Client-Id", "771")
	} else if *c.clientID != "" {
		req.Header.Set("Client-Id", *c.clientID)
	}
	if c.accessToken == "" {
		c.accessToken = "tok-1"
	}
	if !c.noAccess {
		req.Header.Set("Access-Token", c.accessToken)
	}
	for k, v := range c.header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &out), string(raw))
	return resp.StatusCode, out, resp.Header
}

func sign(t *testing.T, method jwt.SigningMethod, key any, claims jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(method, claims).SignedString(key)
	require.NoError(t, err)
	return tok
}

// The handler rejects forged, expired and incomplete requests with the documented
// class and status, without calling the bank.
func TestHandlerRejectsWithoutCallingTheBank(t *testing.T) {
	e := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) { c.MaxBodyBytes = 1024 }
	})
	k := keys()
	saltEdge, stranger := k[0], k[3]
	data := map[string]any{"session_secret": "s-1"}
	future := time.Now().Add(time.Minute).Unix()
	good := jwt.MapClaims{"data": data, "exp": future, "iss": saltedge.DefaultIssuer}
	noExp := jwt.MapClaims{"data": data, "iss": saltedge.DefaultIssuer}
	expired := jwt.MapClaims{"data": data, "exp": time.Now().Add(-time.Hour).Unix(), "iss": saltedge.DefaultIssuer}
	wrongIss := jwt.MapClaims{"data": data, "exp": future, "iss": "evil.example"}
	noIss := jwt.MapClaims{"data": data, "exp": future}
	pubBytes := x509.MarshalPKCS1PublicKey(&saltEdge.PublicKey)
	pkix, err := x509.MarshalPKIXPublicKey(&saltEdge.PublicKey)
	require.NoError(t, err)
	none := sign(t, jwt.SigningMethodNone, jwt.UnsafeAllowNoneSignatureType, good)
	bearer := func(tok string) *string { return str("Bearer " + tok) }

	cases := []struct {
		name   string
		call   rawCall
		status int
		class  string
	}{
		{"missing authorization", rawCall{auth: str("")}, 400, saltedge.ClassAuthorizationMissing},
		{"basic scheme", rawCall{auth: str("Basic dXNlcjpwYXNz")}, 400, saltedge.ClassAuthorizationMissing},
		{"bearer without token", rawCall{auth: str("Bearer ")}, 400, saltedge.ClassAuthorizationMissing},
		{"not a JWT", rawCall{auth: bearer("abc")}, 400, saltedge.ClassJWTDecodeError},
		{"garbage header segment", rawCall{auth: bearer("!!!.e30.sig")}, 400, saltedge.ClassJWTDecodeError},
		{"alg none", rawCall{auth: bearer(none)}, 400, saltedge.ClassJWTIncorrectAlgorithm},
		{"alg none, stripped signature", rawCall{auth: bearer(strings.TrimSuffix(none, "."))}, 400, saltedge.ClassJWTDecodeError},
		{"HS256 with the public key's PKCS#1 bytes", rawCall{auth: bearer(sign(t, jwt.SigningMethodHS256, pubBytes, good))}, 400, saltedge.ClassJWTIncorrectAlgorithm},
		{"HS256 with the public key's PKIX bytes", rawCall{auth: bearer(sign(t, jwt.SigningMethodHS256, pkix, good))}, 400, saltedge.ClassJWTIncorrectAlgorithm},
		{"RS512 by Salt Edge's key", rawCall{auth: bearer(sign(t, jwt.SigningMethodRS512, saltEdge, good))}, 400, saltedge.ClassJWTIncorrectAlgorithm},
		{"another key", rawCall{auth: bearer(sign(t, jwt.SigningMethodRS256, stranger, good))}, 400, saltedge.ClassJWTVerificationError},
		{"tampered payload", rawCall{auth: bearer(tamper(t, sign(t, jwt.SigningMethodRS256, saltEdge, good)))}, 400, saltedge.ClassJWTVerificationError},
		{"expired", rawCall{auth: bearer(sign(t, jwt.SigningMethodRS256, saltEdge, expired))}, 400, saltedge.ClassJWTExpiredSignature},
		{"missing exp", rawCall{auth: bearer(sign(t, jwt.SigningMethodRS256, saltEdge, noExp))}, 400, saltedge.ClassJWTVerificationError},
		{"wrong issuer", rawCall{auth: bearer(sign(t, jwt.SigningMethodRS256, saltEdge, wrongIss))}, 400, saltedge.ClassJWTVerificationError},
		{"missing issuer when one is configured", rawCall{auth: bearer(sign(t, jwt.SigningMethodRS256, saltEdge, noIss))}, 400, saltedge.ClassJWTVerificationError},
		{"no data claim", rawCall{auth: bearer(sign(t, jwt.SigningMethodRS256, saltEdge, jwt.MapClaims{"exp": future, "iss": saltedge.DefaultIssuer}))}, 400, saltedge.ClassWrongRequestFormat},
		{"missing Client-Id", rawCall{clientID: str("")}, 401, saltedge.ClassInvalidClientID},
		{"non-numeric Client-Id", rawCall{clientID: str("abc")}, 401, saltedge.ClassInvalidClientID},
		{"missing Access-Token", rawCall{path: "accounts", noAccess: true}, 400, saltedge.ClassAccessTokenMissing},
		{"oversized body (Content-Length)", rawCall{body: bytes.NewReader(make([]byte, 2048))}, 400, saltedge.ClassWrongRequestFormat},
		{"oversized body (chunked)", rawCall{body: io.MultiReader(strings.NewReader(strings.Repeat("x", 2048)))}, 400, saltedge.ClassWrongRequestFormat},
		{"oversized headers", rawCall{header: map[string]string{"X-Pad": strings.Repeat("p", 70<<10)}}, 400, saltedge.ClassWrongRequestFormat},
		{"wrong method", rawCall{method: "DELETE", path: "accounts"}, 405, saltedge.ClassWrongRequestFormat},
		{"unknown endpoint", rawCall{path: "nope"}, 404, saltedge.ClassWrongRequestFormat},
		{"missing session_secret", rawCall{method: "POST", path: "tokens/cancel",
			auth: bearer(sign(t, jwt.SigningMethodRS256, saltEdge, jwt.MapClaims{"data": map[string]any{}, "exp": future, "iss": saltedge.DefaultIssuer}))},
			400, saltedge.ClassWrongRequestFormat},
		{"wrongly typed field", rawCall{method: "GET", path: "transactions", accessToken: "t",
			auth: bearer(sign(t, jwt.SigningMethodRS256, saltEdge, jwt.MapClaims{"data": map[string]any{"account_id": 87}, "exp": future, "iss": saltedge.DefaultIssuer}))},
			400, saltedge.ClassWrongRequestFormat},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			st, body, hdr := e.send(t, tc.call, data)
			assert.Equal(t, tc.status, st)
			assert.Equal(t, tc.class, body["error_class"])
			assert.NotEmpty(t, body["error_message"])
			assert.Equal(t, "application/json", hdr.Get("Content-Type"))
		})
	}
	assert.Zero(t, e.bank.callCount(), "the bank must not be called for a rejected request")

	// The same request, correctly signed, does reach the bank.
	st, body, _ := e.send(t, rawCall{method: "POST", path: "errors"}, map[string]any{
		"error": map[string]any{"error_class": "X", "error_message": "y"}})
	assert.Equal(t, 200, st, body)
	assert.Equal(t, 1, e.bank.callCount())
}

// tamper replaces the payload of a signed token (keeping its signature).
func tamper(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	payload, err := json.Marshal(map[string]any{"data": map[string]any{"session_secret": "other"},
		"exp": time.Now().Add(time.Hour).Unix(), "iss": saltedge.DefaultIssuer})
	require.NoError(t, err)
	parts[1] = base64.RawURLEncoding.EncodeToString(payload)
	return strings.Join(parts, ".")
}

func newTestServer(t *testing.T, h http.Handler) string {
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	return ts.URL
}

func TestHandlerIssuerNotCheckedWhenNotConfigured(t *testing.T) {
	e := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) { c.Issuer = "" }
		o.fakeOpts = append(o.fakeOpts, saltedgetest.WithIssuer(""))
	})
	st, body, _ := e.send(t, rawCall{method: "POST", path: "errors"}, map[string]any{})
	assert.Equal(t, 200, st, body)
	assert.Equal(t, 1, e.bank.callCount())
	assert.Empty(t, e.bank.lastCall().Issuer)
}

func TestHandlerLeeway(t *testing.T) {
	now := time.Now()
	e := setup(t, func(o *setupOpts) {
		o.handlerCfg = func(c *saltedge.HandlerConfig) {
			c.Leeway = 30 * time.Second
			c.Now = func() time.Time { return now.Add(20 * time.Second) }
		}
	})
	k := keys()
	tok := sign(t, jwt.SigningMethodRS256, k[0], jwt.MapClaims{"data": map[string]any{}, "exp": now.Unix(), "iss": saltedge.DefaultIssuer})
	st, body, _ := e.send(t, rawCall{method: "POST", path: "errors", auth: str("Bearer " + tok)}, nil)
	assert.Equal(t, 200, st, "20 s past exp is inside a 30 s leeway: %v", body)
	tok = sign(t, jwt.SigningMethodRS256, k[0], jwt.MapClaims{"data": map[string]any{}, "exp": now.Add(-15 * time.Second).Unix(), "iss": saltedge.DefaultIssuer})
	st, body, _ = e.send(t, rawCall{method: "POST", path: "errors", auth: str("Bearer " + tok)}, nil)
	assert.Equal(t, 400, st)
	assert.Equal(t, saltedge.ClassJWTExpiredSignature, body["error_class"])
}

// Errors of the bank: a ConnectorError keeps its class, status and Retry-After; any
// other error, and a panic, become 500 InternalServerError without their text.
func TestHandlerConnectorErrors(t *testing.T) {
	e := setup(t)
	post := rawCall{method: "POST", path: "tokens/create"}
	data := map[string]any{"session_secret": "s-9"}

	e.bank.setFailure(&saltedge.ConnectorError{Class: saltedge.ClassInvalidCredentials, Message: "bad PIN", RetryAfter: 1500 * time.Millisecond}, nil)
	st, body, hdr := e.send(t, post, data)
	assert.Equal(t, 401, st)
	assert.Equal(t, map[string]any{"error_class": "InvalidCredentials", "error_message": "bad PIN"}, body)
	assert.Equal(t, "2", hdr.Get("Retry-After"))

	e.bank.setFailure(fmt.Errorf("wrapped: %w", &saltedge.ConnectorError{Class: saltedge.ClassUserNotFound, Status: 410}), nil)
	st, body, _ = e.send(t, post, data)
	assert.Equal(t, 410, st)
	assert.Equal(t, saltedge.ClassUserNotFound, body["error_class"])

	e.bank.setFailure(errBoom, nil)
	st, body, _ = e.send(t, post, data)
	assert.Equal(t, 500, st)
	assert.Equal(t, map[string]any{"error_class": "InternalServerError", "error_message": "internal error"}, body)

	e.bank.setFailure(nil, "nil map write in bank code")
	st, body, _ = e.send(t, post, data)
	assert.Equal(t, 500, st)
	assert.Equal(t, "InternalServerError", body["error_class"])
	e.bank.setFailure(nil, nil)

	// The server survived the panic.
	st, _, _ = e.send(t, rawCall{method: "POST", path: "errors"}, map[string]any{})
	assert.Equal(t, 200, st)
	assert.Equal(t, 5, e.bank.callCount())
}

type minimalBank struct {
	saltedge.UnimplementedConnector
}

func TestUnimplementedConnectorAnswersNotSupported(t *testing.T) {
	fk := saltedgetest.NewServer(fakeOptions()...)
	t.Cleanup(fk.Close)
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}, PublicKey: fk.PublicKey()})
	require.NoError(t, err)
	ts := newTestServer(t, h)
	d := fk.Connector(ts)
	ctx := ctxT(t)

	for _, ep := range []saltedgetest.Endpoint{saltedgetest.TokensCreate, saltedgetest.AccountsFetch,
		saltedgetest.AccountsRefresh, saltedgetest.Transactions, saltedgetest.KYC, saltedgetest.PaymentsCancel} {
		r, err := d.Send(ctx, saltedgetest.Call{Endpoint: ep, AccessToken: "t", Data: map[string]any{
			"session_secret": "s", "account_id": "1", "payment_id": "p"}})
		require.NoError(t, err)
		assert.Equal(t, 406, r.StatusCode, ep.Path)
		assert.Equal(t, saltedge.ClassActionNotAllowed, r.ErrorClass, ep.Path)
		assert.Contains(t, r.ErrorMessage, "not supported")
	}
	r, err := d.NotifyError(ctx, "t", "InternalProviderError", "x", "get", "https://bank.example/a?x=1")
	require.NoError(t, err)
	assert.Equal(t, 200, r.StatusCode, "error reports are accepted")
}

func TestNewHandlerValidation(t *testing.T) {
	k := keys()
	_, err := saltedge.NewHandler(saltedge.HandlerConfig{PublicKey: &k[0].PublicKey})
	assert.ErrorContains(t, err, "Connector")
	_, err = saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}})
	assert.ErrorContains(t, err, "PublicKey")
	_, err = saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}, PublicKey: &k[0].PublicKey, Leeway: time.Hour})
	assert.ErrorContains(t, err, "Leeway")
}

func TestHandlerBasePath(t *testing.T) {
	fk := saltedgetest.NewServer(fakeOptions()...)
	t.Cleanup(fk.Close)
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}, PublicKey: fk.PublicKey(),
		BasePath: "/bank/api/priora/v1/"})
	require.NoError(t, err)
	mux := http.NewServeMux()
	mux.Handle("/bank/", http.StripPrefix("/bank", h))
	ts := newTestServer(t, mux)
	r, err := fk.Connector(ts+"/bank").NotifyError(ctxT(t), "t", "X", "y", "get", "u")
	require.NoError(t, err)
	assert.Equal(t, 404, r.StatusCode, "StripPrefix removed /bank: the handler sees /api/priora/v1/errors")

	h, err = saltedge.NewHandler(saltedge.HandlerConfig{Connector: minimalBank{}, PublicKey: fk.PublicKey(),
		BasePath: "/bank/api/priora/v1/"})
	require.NoError(t, err)
	ts = newTestServer(t, h)
	r, err = fk.Connector(ts+"/bank").NotifyError(ctxT(t), "t", "X", "y", "get", "u")
	require.NoError(t, err)
	assert.Equal(t, 200, r.StatusCode)
}

package conformance_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/conformance"
	"github.com/banksdk/banksdk/saltedge/conformance/conformancetest"
)

// allIDs are the checks of a run, in order.
var allIDs = []string{
	"tokens.create", "tokens.confirm", "tokens.flow",
	"accounts.fetch", "accounts.fields", "transactions.fetch", "transactions.fields", "kyc.fetch", "kyc.fields",
	"auth.no-authorization", "auth.alg-none", "auth.hs256-pem", "auth.hs256-der", "auth.expired", "auth.no-exp",
	"auth.wrong-key", "auth.tampered", "auth.no-client-id", "auth.bad-client-id", "access.missing", "access.unknown",
	"accounts.refresh", "accounts.confirm", "tokens.reconnect", "errors.notify",
	"tokens.create-second", "tokens.cancel", "tokens.revoke", "access.revoked", "callbacks.auth",
}

func ids(rep conformance.Report) []string {
	out := make([]string, len(rep.Checks))
	for i, c := range rep.Checks {
		out[i] = c.ID
	}
	return out
}

func TestReferenceBankPassesEveryCheck(t *testing.T) {
	rep := run(t, setup(t, conformancetest.Config{}))
	assert.Equal(t, allIDs, ids(rep))
	assert.Empty(t, failedIDs(rep), "%+v", rep.Failed())
	assert.Equal(t, len(allIDs), rep.Passed())

	flow, ok := rep.Find("tokens.flow")
	require.True(t, ok)
	assert.Equal(t, "sessions/update (redirect) -> PSU authorised -> sessions/success with an access token", flow.Detail)
	c, _ := rep.Find("auth.alg-none")
	assert.Equal(t, "400 JWTIncorrectAlgorithm", c.Detail)
	c, _ = rep.Find("accounts.refresh")
	assert.Equal(t, "not supported by the connector: 406 ActionNotAllowed", c.Detail)
	c, _ = rep.Find("callbacks.auth")
	assert.Contains(t, c.Detail, "signatures verified")
}

// The embedded flow: the connector asks for a confirmation code, the runner sends
// tokens/confirm with the one configured under the field the connector named. The
// base URL may name the API's path.
func TestEmbeddedFlowSendsTokensConfirm(t *testing.T) {
	cfg := setup(t, conformancetest.Config{ConfirmationCode: "4896"})
	cfg.BaseURL += "/api/priora/v1/"
	cfg.Confirmation = saltedge.Credentials{"": "4896"}
	rep := run(t, cfg)
	assert.Empty(t, failedIDs(rep), "%+v", rep.Failed())
	c, _ := rep.Find("tokens.confirm")
	assert.Equal(t, "200", c.Detail)
	c, _ = rep.Find("tokens.flow")
	assert.Equal(t, "sessions/update (waiting_confirmation_code) -> tokens/confirm -> sessions/success with an access token", c.Detail)
}

func TestEmbeddedFlowWrongCodeFailsTheFlow(t *testing.T) {
	cfg := setup(t, conformancetest.Config{ConfirmationCode: "4896"})
	cfg.Confirmation = saltedge.Credentials{"sms_pincode": "0000"}
	cfg.Timeout = 2 * time.Second
	rep := run(t, cfg)
	failed := failedIDs(rep)
	require.NotEmpty(t, failed)
	assert.Equal(t, "tokens.flow", failed[0])
	c, _ := rep.Find("tokens.flow")
	assert.Equal(t, "sessions/update (waiting_confirmation_code) -> tokens/confirm -> sessions/fail with error_class InvalidConfirmationCode", c.Detail)
	c, _ = rep.Find("accounts.fetch")
	assert.Equal(t, "not run: the token flow produced no access token", c.Detail)
	c, _ = rep.Find("tokens.confirm")
	assert.True(t, c.Passed, "the connector answered tokens/confirm 200")
}

// reSign replaces the JWT of the request with an RS256 one of the same claims, as a
// connector that does not check what it is handed would see it.
func reSign(t *testing.T, r *http.Request) {
	seKey, _ := keys(t)
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	claims := jwt.MapClaims{}
	_, _, err := jwt.NewParser().ParseUnverified(tok, claims)
	if err != nil {
		return
	}
	signed, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(seKey)
	require.NoError(t, err)
	r.Header.Set("Authorization", "Bearer "+signed)
}

func jwtAlg(r *http.Request) string {
	tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
	t, _, err := jwt.NewParser().ParseUnverified(tok, jwt.MapClaims{})
	if err != nil {
		return ""
	}
	alg, _ := t.Header["alg"].(string)
	return alg
}

// rewrite serves the request with next and lets edit change the answer.
func rewrite(next http.Handler, w http.ResponseWriter, r *http.Request, edit func(status int, body []byte) (int, []byte)) {
	rec := httptest.NewRecorder()
	next.ServeHTTP(rec, r)
	status, body := edit(rec.Code, rec.Body.Bytes())
	for k, vs := range rec.Header() {
		w.Header()[k] = vs
	}
	w.Header().Del("Content-Length")
	w.WriteHeader(status)
	_, _ = w.Write(body)
}

func TestBrokenConnectors(t *testing.T) {
	cases := []struct {
		name   string
		wrap   func(next http.Handler, w http.ResponseWriter, r *http.Request)
		failed []string
		detail map[string]string
	}{
		{
			name: "accepts alg none",
			wrap: func(next http.Handler, w http.ResponseWriter, r *http.Request) {
				if jwtAlg(r) == "none" {
					reSign(t, r)
				}
				next.ServeHTTP(w, r)
			},
			failed: []string{"auth.alg-none"},
			detail: map[string]string{"auth.alg-none": "accepted: answered 200"},
		},
		{
			name: "accepts HS256 keyed with the public key",
			wrap: func(next http.Handler, w http.ResponseWriter, r *http.Request) {
				if jwtAlg(r) == "HS256" {
					reSign(t, r)
				}
				next.ServeHTTP(w, r)
			},
			failed: []string{"auth.hs256-pem", "auth.hs256-der"},
		},
		{
			name: "answers an expired JWT with the wrong error_class",
			wrap: func(next http.Handler, w http.ResponseWriter, r *http.Request) {
				rewrite(next, w, r, func(status int, body []byte) (int, []byte) {
					if bytes.Contains(body, []byte(saltedge.ClassJWTExpiredSignature)) {
						return http.StatusUnauthorized, []byte(`{"error_class":"TokenExpired","error_message":"expired"}`)
					}
					return status, body
				})
			},
			failed: []string{"auth.expired"},
			detail: map[string]string{"auth.expired": "answered 401 with error_class TokenExpired, want JWTExpiredSignature"},
		},
		{
			name: "answers a documented class with the wrong status",
			wrap: func(next http.Handler, w http.ResponseWriter, r *http.Request) {
				rewrite(next, w, r, func(status int, body []byte) (int, []byte) {
					if bytes.Contains(body, []byte(saltedge.ClassInvalidClientID)) {
						return http.StatusBadRequest, body
					}
					return status, body
				})
			},
			failed: []string{"auth.no-client-id", "auth.bad-client-id"},
			detail: map[string]string{"auth.no-client-id": "answered InvalidClientId with status 400, documented 401"},
		},
		{
			name: "answers errors in another shape",
			wrap: func(next http.Handler, w http.ResponseWriter, r *http.Request) {
				rewrite(next, w, r, func(status int, body []byte) (int, []byte) {
					if bytes.Contains(body, []byte(saltedge.ClassAccessTokenMissing)) {
						return status, []byte(`{"error":{"class":"AccessTokenMissing","message":"no token"}}`)
					}
					return status, body
				})
			},
			failed: []string{"access.missing"},
			detail: map[string]string{"access.missing": "answered 400, no error_class"},
		},
		{
			name: "drops a required account field and sends amounts as numbers",
			wrap: func(next http.Handler, w http.ResponseWriter, r *http.Request) {
				if r.Method != http.MethodGet || !strings.HasSuffix(r.URL.Path, "/accounts") {
					next.ServeHTTP(w, r)
					return
				}
				rewrite(next, w, r, func(status int, body []byte) (int, []byte) {
					var env struct {
						Data []map[string]any `json:"data"`
					}
					if status != http.StatusOK || json.Unmarshal(body, &env) != nil {
						return status, body
					}
					delete(env.Data[0], "currency_code")
					env.Data[1]["balance"] = 10000.0
					out, err := json.Marshal(env)
					require.NoError(t, err)
					return status, out
				})
			},
			failed: []string{"accounts.fields"},
			detail: map[string]string{"accounts.fields": "account 0: currency_code missing; account 1: balance is a number, want a decimal string as the seed shows"},
		},
		{
			name: "keeps serving a revoked token",
			wrap: func(next http.Handler, w http.ResponseWriter, r *http.Request) {
				if strings.HasSuffix(r.URL.Path, "/tokens/revoke") {
					w.Header().Set("Content-Type", "application/json")
					_, _ = io.WriteString(w, "{}")
					return
				}
				next.ServeHTTP(w, r)
			},
			failed: []string{"access.revoked"},
			detail: map[string]string{"access.revoked": "accepted: answered 200"},
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			rep := run(t, setup(t, conformancetest.Config{Wrap: middleware(tc.wrap)}))
			assert.Equal(t, allIDs, ids(rep))
			assert.Equal(t, tc.failed, failedIDs(rep))
			for id, want := range tc.detail {
				c, ok := rep.Find(id)
				require.True(t, ok, id)
				assert.Equal(t, want, c.Detail, id)
			}
		})
	}
}

// A connector whose callbacks are signed with a key other than the registered one
// gets every callback refused: its clients/info fails, so it cannot verify the TPP's
// client_jwt and refuses tokens/create; nothing that needs an access token can run.
func TestCallbacksSignedWithAnotherKey(t *testing.T) {
	cfg := setup(t, conformancetest.Config{})
	seKey, _ := keys(t)
	cfg.ConnectorPublicKey = &seKey.PublicKey // not the bank's
	rep := run(t, cfg)
	want := []string{}
	for _, id := range allIDs {
		if id != "errors.notify" {
			want = append(want, id)
		}
	}
	assert.Equal(t, want, failedIDs(rep))
	c, _ := rep.Find("tokens.create")
	assert.Equal(t, "answered 400 WrongRequestFormat", c.Detail)
	c, _ = rep.Find("tokens.flow")
	assert.Equal(t, "not run: tokens/create failed", c.Detail)
	c, _ = rep.Find("callbacks.auth")
	assert.Equal(t, "clients/info: JWT does not verify with the connector's public key, or lacks a valid exp (2 callbacks)", c.Detail)
}

func TestCallbacksWithTheWrongAppSecret(t *testing.T) {
	cfg := setup(t, conformancetest.Config{})
	cfg.AppSecret = "another-secret"
	cfg.ConnectorPublicKey = nil
	cfg.Timeout = time.Second
	rep := run(t, cfg)
	c, _ := rep.Find("callbacks.auth")
	assert.False(t, c.Passed)
	assert.Contains(t, c.Detail, "App-Secret is not the configured one")
	assert.NotContains(t, c.Detail, appSecret)
}

// received is what the connector was sent.
type received struct {
	method, path string
	header       http.Header
	body         []byte
	alg          string
	claims       jwt.MapClaims
	verified     bool
}

// What the connector receives is the seed's: headers, no body, an RS256 JWT signed
// with Salt Edge's key carrying {"data", "exp" = now+60 s, "iss"}, and every endpoint.
func TestRequestsAreTheSeeds(t *testing.T) {
	seKey, _ := keys(t)
	var mu sync.Mutex
	var got []received
	cfg := setup(t, conformancetest.Config{Wrap: middleware(func(next http.Handler, w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		rec := received{method: r.Method, path: r.URL.Path, header: r.Header.Clone(), body: body, alg: jwtAlg(r), claims: jwt.MapClaims{}}
		tok := strings.TrimPrefix(r.Header.Get("Authorization"), "Bearer ")
		_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"})).ParseWithClaims(tok, rec.claims,
			func(*jwt.Token) (any, error) { return &seKey.PublicKey, nil })
		rec.verified = err == nil
		mu.Lock()
		got = append(got, rec)
		mu.Unlock()
		next.ServeHTTP(w, r)
	})})
	cfg.ClientID = 843
	start := time.Now()
	rep := run(t, cfg)
	require.Empty(t, failedIDs(rep))

	mu.Lock()
	defer mu.Unlock()
	endpoints := map[string]int{}
	for _, g := range got {
		assert.Empty(t, g.body, "the seed sends no body")
		assert.Equal(t, "application/json", g.header.Get("Accept"))
		assert.Equal(t, "application/json", g.header.Get("Content-Type"))
		assert.Contains(t, []string{"843", "", "not-a-number"}, g.header.Get("Client-Id"))
		exp, err := g.claims.GetExpirationTime()
		require.NoError(t, err)
		if !g.verified || exp == nil || g.header.Get("Client-Id") != "843" {
			continue // a forged or incomplete request
		}
		endpoints[g.method+" "+strings.TrimPrefix(g.path, "/api/priora/v1/")]++
		assert.Equal(t, saltedge.DefaultIssuer, g.claims["iss"])
		assert.WithinDuration(t, start.Add(time.Minute), exp.Time, time.Minute+5*time.Second)
		assert.True(t, exp.After(start.Add(55*time.Second)), "exp = now + 60 s")
		assert.IsType(t, map[string]any{}, g.claims["data"])
	}
	for _, ep := range []string{"POST tokens/create", "POST tokens/reconnect", "POST tokens/revoke", "POST tokens/cancel",
		"GET accounts", "PUT accounts", "POST accounts/confirm", "GET transactions", "GET kyc", "POST errors"} {
		assert.Positive(t, endpoints[ep], "no verified request to %s", ep)
	}
	var algs []string
	for _, g := range got {
		if !g.verified {
			algs = append(algs, g.alg)
		}
	}
	assert.Contains(t, algs, "none")
	assert.Contains(t, algs, "HS256")

	// tokens/create carries the seed's payload, its client_jwt signed by the TPP.
	for _, g := range got {
		if g.verified && strings.HasSuffix(g.path, "/tokens/create") {
			data := g.claims["data"].(map[string]any)
			assert.Equal(t, "demobank", data["provider_code"])
			assert.NotEmpty(t, data["session_secret"])
			orig := data["original_request"].(map[string]any)
			assert.True(t, strings.HasPrefix(orig["client_jwt"].(string), "Bearer ey"))
			payload := orig["client_payload"].(map[string]any)["data"].(map[string]any)
			assert.Equal(t, []any{"accounts", "transactions", "kyc"}, payload["scopes"])
			assert.Equal(t, map[string]any{"authorization_type": "oauth"}, payload["credentials"])
		}
		if g.verified && strings.HasSuffix(g.path, "/transactions") {
			data := g.claims["data"].(map[string]any)
			assert.Equal(t, "acc-1", data["account_id"], "the first account listed")
			_, err := time.Parse("2006-01-02T15:04:05.000Z", data["from_date"].(string))
			assert.NoError(t, err)
		}
	}
}

// The report never shows the access token, the App-Secret, a JWT or the key.
func TestReportHoldsNoSecret(t *testing.T) {
	var mu sync.Mutex
	var tokens []string
	cfg := setup(t, conformancetest.Config{Wrap: middleware(func(next http.Handler, w http.ResponseWriter, r *http.Request) {
		if tok := r.Header.Get("Access-Token"); tok != "" {
			mu.Lock()
			tokens = append(tokens, tok)
			mu.Unlock()
		}
		next.ServeHTTP(w, r)
	})})
	rep := run(t, cfg)
	out, err := json.Marshal(rep)
	require.NoError(t, err)
	text := string(out) + fmt.Sprintf("%+v", rep)
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, tokens)
	for _, tok := range tokens {
		assert.NotContains(t, text, tok)
	}
	assert.NotContains(t, text, appSecret)
	assert.NotContains(t, text, "eyJ", "no JWT")
	assert.NotContains(t, text, "PRIVATE KEY")
}

func TestConfigPrintsNoSecret(t *testing.T) {
	seKey, _ := keys(t)
	cfg := conformance.Config{BaseURL: "https://user:pw@bank.example", SigningKey: seKey, AppID: "app", AppSecret: appSecret,
		Credentials: saltedge.Credentials{"password": "hunter2-Zq"}, Confirmation: saltedge.Credentials{"sms_pincode": "4896"}}
	var logged bytes.Buffer
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("cfg", "cfg", cfg)
	js, err := json.Marshal(cfg)
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprintf("%v", cfg), fmt.Sprintf("%+v", cfg), fmt.Sprintf("%#v", &cfg), fmt.Sprint(cfg),
		string(js), logged.String()} {
		assert.Contains(t, s, "[REDACTED]")
		for _, secret := range []string{appSecret, "hunter2-Zq", "4896", ":pw@", seKey.D.String(), seKey.N.Text(16)} {
			assert.NotContains(t, s, secret)
		}
	}
}

func TestInvalidConfig(t *testing.T) {
	seKey, _ := keys(t)
	valid := func() conformance.Config {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		t.Cleanup(func() { _ = ln.Close() })
		return conformance.Config{BaseURL: "https://bank.example", SigningKey: seKey, Callbacks: ln, AppID: "app"}
	}
	cases := map[string]func(*conformance.Config){
		"no BaseURL":        func(c *conformance.Config) { c.BaseURL = "" },
		"relative BaseURL":  func(c *conformance.Config) { c.BaseURL = "/api/priora/v1" },
		"ftp BaseURL":       func(c *conformance.Config) { c.BaseURL = "ftp://bank.example" },
		"BaseURL query":     func(c *conformance.Config) { c.BaseURL = "https://bank.example/?x=1" },
		"no SigningKey":     func(c *conformance.Config) { c.SigningKey = nil },
		"no Callbacks":      func(c *conformance.Config) { c.Callbacks = nil },
		"no AppID":          func(c *conformance.Config) { c.AppID = " " },
		"negative ClientID": func(c *conformance.Config) { c.ClientID = -1 },
		"negative Timeout":  func(c *conformance.Config) { c.Timeout = -time.Second },
	}
	for name, mod := range cases {
		t.Run(name, func(t *testing.T) {
			cfg := valid()
			mod(&cfg)
			rep, err := conformance.Run(context.Background(), cfg)
			require.ErrorIs(t, err, conformance.ErrInvalidConfig)
			assert.Empty(t, rep.Checks)
			if cfg.Callbacks != nil {
				_, err := cfg.Callbacks.Accept()
				assert.ErrorIs(t, err, net.ErrClosed, "Run closes the listener it was handed")
			}
		})
	}
}

func TestRunStopsWithItsContext(t *testing.T) {
	cfg := setup(t, conformancetest.Config{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	rep, err := conformance.Run(ctx, cfg)
	require.ErrorIs(t, err, context.Canceled)
	assert.Empty(t, rep.Checks)
}

// An unreachable connector fails its checks with a description, not a panic.
func TestUnreachableConnector(t *testing.T) {
	seKey, _ := keys(t)
	dead, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	url := "http://" + dead.Addr().String()
	require.NoError(t, dead.Close())
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	rep := run(t, conformance.Config{BaseURL: url, SigningKey: seKey, Callbacks: ln, AppID: appID, Timeout: 5 * time.Second})
	c, ok := rep.Find("tokens.create")
	require.True(t, ok)
	assert.False(t, c.Passed)
	assert.Contains(t, c.Detail, "POST tokens/create: ")
	assert.NotContains(t, c.Detail, url, "transport errors do not repeat the URL")
	assert.Equal(t, len(rep.Checks), len(rep.Failed()), "nothing passes against no connector")
}

// Config.Authorize plays the PSU: it gets the bank's redirect URL, and its failure
// fails the flow.
func TestAuthorizeHook(t *testing.T) {
	cfg := setup(t, conformancetest.Config{})
	var urls []string
	cfg.Authorize = func(ctx context.Context, redirectURL string) error {
		urls = append(urls, redirectURL)
		return fmt.Errorf("the PSU declined")
	}
	cfg.Timeout = 5 * time.Second
	rep := run(t, cfg)
	require.Len(t, urls, 1)
	assert.True(t, strings.HasPrefix(urls[0], strings.TrimSuffix(cfg.BaseURL, "/")+"/authorize?session_secret="), urls[0])
	c, _ := rep.Find("tokens.flow")
	assert.False(t, c.Passed)
	assert.Equal(t, "sessions/update (redirect) -> the PSU's authorisation failed: the PSU declined", c.Detail)
	assert.Equal(t, "tokens.flow", failedIDs(rep)[0])
}

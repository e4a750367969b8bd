package saltedgetest_test

import (
	"context"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// Keys are generated once for the whole package: RSA generation is the slow part.
var testKeys = sync.OnceValue(func() [4]*rsa.PrivateKey {
	var ks [4]*rsa.PrivateKey
	for i := range ks {
		k, err := saltedgetest.GenerateKey()
		if err != nil {
			panic(err)
		}
		ks[i] = k
	}
	return ks
})

func setup(t *testing.T, opts ...saltedgetest.Option) *saltedgetest.Server {
	t.Helper()
	k := testKeys()
	base := []saltedgetest.Option{
		saltedgetest.WithSigningKey(k[0]),
		saltedgetest.WithProviderKey(k[1]),
		saltedgetest.WithAppCredentials("app-id-1", "app-secret-1"),
		saltedgetest.WithClient(saltedgetest.Client{ID: 900, Name: "Other TPP", Scopes: []string{"accounts"}, Key: k[3]}),
		saltedgetest.WithoutDefaultClient(),
		saltedgetest.WithClient(saltedgetest.Client{ID: saltedgetest.DefaultClientID, Name: "Example TPP",
			Scopes: []string{"accounts", "transactions", "kyc"}, Key: k[2]}),
	}
	s := saltedgetest.NewServer(append(base, opts...)...)
	t.Cleanup(s.Close)
	return s
}

type callback struct {
	method, name string
	data         any
	key          *rsa.PrivateKey
	exp          *time.Time
	alg          jwt.SigningMethod
	appID        string
	appSecret    string
	token        string
	auth         string
}

// send sends a callback as a connector would, with the fake's credentials unless
// overridden.
func send(t *testing.T, s *saltedgetest.Server, c callback) (int, map[string]any) {
	t.Helper()
	if c.key == nil {
		c.key = s.PrivateKey()
	}
	if c.appID == "" {
		c.appID = s.AppID()
	}
	if c.appSecret == "" {
		c.appSecret = s.AppSecret()
	}
	if c.data == nil {
		c.data = map[string]any{}
	}
	claims := jwt.MapClaims{"data": c.data}
	if c.exp == nil {
		claims["exp"] = time.Now().Add(time.Minute).Unix()
	} else if !c.exp.IsZero() {
		claims["exp"] = c.exp.Unix()
	}
	auth := c.auth
	if auth == "" {
		alg := c.alg
		if alg == nil {
			alg = jwt.SigningMethodRS256
		}
		var key any = c.key
		if alg == jwt.SigningMethodHS256 {
			key = x509.MarshalPKCS1PublicKey(&c.key.PublicKey)
		}
		if alg == jwt.SigningMethodNone {
			key = jwt.UnsafeAllowNoneSignatureType
		}
		tok, err := jwt.NewWithClaims(alg, claims).SignedString(key)
		require.NoError(t, err)
		auth = "Bearer " + tok
	}
	req, err := http.NewRequest(c.method, s.URL()+saltedgetest.CallbackPrefix+c.name, nil)
	require.NoError(t, err)
	req.Header.Set("Authorization", auth)
	req.Header.Set("App-Id", c.appID)
	req.Header.Set("App-Secret", c.appSecret)
	if c.token != "" {
		req.Header.Set("Token", c.token)
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&out))
	return resp.StatusCode, out
}

func TestSessionCallbacksVerifiedAndRecorded(t *testing.T) {
	s := setup(t)
	s.OpenSession("sess-1")

	st, body := send(t, s, callback{method: "POST", name: "sessions/update", data: map[string]any{
		"session_secret": "sess-1", "status": "redirect", "extra": map[string]any{"redirect_url": "https://bank/x"}}})
	require.Equal(t, 200, st, body)
	assert.Equal(t, map[string]any{}, body["data"])
	assert.Contains(t, body["meta"], "time")

	st, body = send(t, s, callback{method: "POST", name: "sessions/success", data: map[string]any{
		"session_secret": "sess-1", "token": "tok-A", "user_id": "u-1"}})
	require.Equal(t, 200, st, body)

	sess, ok := s.Session("sess-1")
	require.True(t, ok)
	assert.Equal(t, saltedgetest.SessionSuccess, sess.Status)
	assert.Len(t, sess.Updates, 1)
	assert.Equal(t, "sessions/success", sess.ResultCallback)
	assert.JSONEq(t, `{"session_secret":"sess-1","token":"tok-A","user_id":"u-1"}`, string(sess.Result))

	cbs := s.Callbacks()
	require.Len(t, cbs, 2)
	for _, cb := range cbs {
		assert.True(t, cb.Verified)
		assert.Equal(t, "RS256", cb.Algorithm)
		assert.WithinDuration(t, time.Now().Add(time.Minute), cb.ExpiresAt, 5*time.Second)
	}
	assert.Equal(t, 1, s.CallbackCount("sessions/update"))
	assert.Equal(t, 1, s.CallbackCount("sessions/success"))

	toks := s.Tokens()
	require.Len(t, toks, 1)
	assert.Equal(t, "tok-A", toks[0].Token)
	assert.Equal(t, "u-1", toks[0].CustomerID)

	// The session is closed now.
	st, body = send(t, s, callback{method: "POST", name: "sessions/fail", data: map[string]any{"session_secret": "sess-1"}})
	assert.Equal(t, 400, st)
	assert.Equal(t, "SessionClosed", body["error_class"])
}

func TestCallbackRejections(t *testing.T) {
	s := setup(t)
	s.OpenSession("sess-2")
	other := testKeys()[3]
	past := time.Now().Add(-time.Hour)
	zero := time.Time{}
	data := map[string]any{"session_secret": "sess-2"}
	cases := []struct {
		name   string
		cb     callback
		status int
		class  string
	}{
		{"wrong app id", callback{appID: "nope"}, 404, "ProviderNotFound"},
		{"wrong app secret", callback{appSecret: "nope"}, 404, "ProviderNotFound"},
		{"not bearer", callback{auth: "Basic abc"}, 401, "AuthorizationMissing"},
		{"other key", callback{key: other}, 401, "AuthorizationMissing"},
		{"expired", callback{exp: &past}, 401, "AuthorizationMissing"},
		{"no exp", callback{exp: &zero}, 401, "AuthorizationMissing"},
		{"hs256 with public key bytes", callback{alg: jwt.SigningMethodHS256}, 401, "AuthorizationMissing"},
		{"alg none", callback{alg: jwt.SigningMethodNone}, 401, "AuthorizationMissing"},
		{"unknown session", callback{data: map[string]any{"session_secret": "nope"}}, 404, "SessionNotFound"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tc.cb.method, tc.cb.name = "POST", "sessions/update"
			if tc.cb.data == nil {
				tc.cb.data = data
			}
			st, body := send(t, s, tc.cb)
			assert.Equal(t, tc.status, st)
			assert.Equal(t, tc.class, body["error_class"])
			assert.NotEmpty(t, body["error_message"])
		})
	}
	for _, cb := range s.Callbacks() {
		assert.False(t, cb.Verified && cb.Status != 404, "a rejected callback was marked verified: %+v", cb)
	}
	sess, _ := s.Session("sess-2")
	assert.Empty(t, sess.Updates, "no rejected callback may move the session")
}

func TestSessionExpires(t *testing.T) {
	s := setup(t, saltedgetest.WithSessionTTL(20*time.Millisecond))
	s.OpenSession("sess-3")
	require.Eventually(t, func() bool {
		st, _ := send(t, s, callback{method: "POST", name: "sessions/update", data: map[string]any{"session_secret": "sess-3"}})
		return st == 401
	}, 2*time.Second, 25*time.Millisecond)
	cbs := s.Callbacks()
	assert.Equal(t, "SessionExpired", cbs[len(cbs)-1].ErrorClass)
}

func TestWrongMethod(t *testing.T) {
	s := setup(t)
	st, body := send(t, s, callback{method: "GET", name: "sessions/success"})
	assert.Equal(t, 406, st)
	assert.Equal(t, "ActionNotAllowed", body["error_class"])
}

func TestTokensIndexPagesAndFilters(t *testing.T) {
	s := setup(t)
	for i := 1; i <= 5; i++ {
		s.AddToken(fmt.Sprintf("tok-%d", i), fmt.Sprint(800+i%2), time.Time{})
	}
	st, body := send(t, s, callback{method: "POST", name: "tokens/revoke"})
	require.Equal(t, 406, st, body)

	st, body = send(t, s, callback{method: "DELETE", name: "tokens/revoke", token: "tok-2"})
	require.Equal(t, 200, st, body)
	assert.Equal(t, map[string]any{"revoked": true}, body["data"])

	page := func(data map[string]any) ([]any, any) {
		st, body := send(t, s, callback{method: "GET", name: "tokens/index", data: data})
		require.Equal(t, 200, st, body)
		return body["data"].(map[string]any)["tokens"].([]any), body["meta"].(map[string]any)["next_id"]
	}
	toks, next := page(map[string]any{"per_page": 2})
	assert.Len(t, toks, 2)
	assert.EqualValues(t, 3, next)
	toks, next = page(map[string]any{"per_page": 2, "from_id": 3})
	assert.Len(t, toks, 2)
	assert.EqualValues(t, 5, next)
	toks, next = page(map[string]any{"per_page": 2, "from_id": 5})
	assert.Len(t, toks, 1)
	assert.Nil(t, next)

	toks, _ = page(map[string]any{"kind": "revoked"})
	require.Len(t, toks, 1)
	assert.Equal(t, "tok-2", toks[0].(map[string]any)["token"])
	toks, _ = page(map[string]any{"customer_id": 801})
	assert.Len(t, toks, 3)

	st, body = send(t, s, callback{method: "GET", name: "tokens/index", data: map[string]any{"customer_id": 7}})
	assert.Equal(t, 404, st)
	assert.Equal(t, "CustomerNotFound", body["error_class"])
}

func TestTokensRevokeErrors(t *testing.T) {
	s := setup(t)
	s.AddToken("live", "1", time.Time{})
	s.AddToken("old", "1", time.Now().Add(-time.Minute))
	cases := []struct {
		token, class string
		status       int
	}{
		{"", "TokenMissing", 400},
		{"ghost", "TokenNotFound", 401},
		{"old", "TokenExpired", 401},
		{"live", "", 200},
		{"live", "TokenRevoked", 401},
	}
	for _, tc := range cases {
		st, body := send(t, s, callback{method: "DELETE", name: "tokens/revoke", token: tc.token})
		assert.Equal(t, tc.status, st, tc.token)
		if tc.class != "" {
			assert.Equal(t, tc.class, body["error_class"], tc.token)
		}
	}
}

func TestClientsInfo(t *testing.T) {
	s := setup(t)
	st, body := send(t, s, callback{method: "GET", name: "clients/info", data: map[string]any{"client_id": 771}})
	require.Equal(t, 200, st, body)
	data := body["data"].(map[string]any)
	assert.Equal(t, "Example TPP", data["name"])
	assert.Equal(t, []any{"accounts", "transactions", "kyc"}, data["scopes"])
	blk, _ := pem.Decode([]byte(data["public_key"].(string)))
	require.NotNil(t, blk)
	pub, err := x509.ParsePKIXPublicKey(blk.Bytes)
	require.NoError(t, err)
	assert.True(t, testKeys()[2].PublicKey.Equal(pub))

	st, body = send(t, s, callback{method: "GET", name: "clients/info", data: map[string]any{"client_id": 5}})
	assert.Equal(t, 404, st)
	assert.Equal(t, "ClientNotFound", body["error_class"])
}

func TestInjectedFault(t *testing.T) {
	s := setup(t)
	s.Inject(1, fake.Status(503, "").WithRetryAfter("1"))
	st, _ := func() (int, string) {
		resp, err := http.Get(s.URL() + saltedgetest.CallbackPrefix + "clients/info")
		require.NoError(t, err)
		defer resp.Body.Close()
		return resp.StatusCode, resp.Header.Get("Retry-After")
	}()
	assert.Equal(t, 503, st)
	assert.Equal(t, 1, len(s.Requests()))
}

// The driver side: what a connector receives from the fake.
func TestConnectorDriverSignsRequests(t *testing.T) {
	s := setup(t)
	type seen struct {
		method, path string
		header       http.Header
		body         []byte
	}
	var got []seen
	var mu sync.Mutex
	conn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		mu.Lock()
		got = append(got, seen{r.Method, r.URL.Path, r.Header.Clone(), b})
		mu.Unlock()
		w.Header().Set("Content-Type", "application/json")
		if r.URL.Path == "/api/priora/v1/kyc" {
			_, _ = io.WriteString(w, `{"data":{"name":"Jane"}}`)
			return
		}
		w.WriteHeader(404)
		_, _ = io.WriteString(w, `{"error_class":"TokenNotFound","error_message":"no"}`)
	}))
	t.Cleanup(conn.Close)
	d := s.Connector(conn.URL)
	ctx := context.Background()

	resp, err := d.CreateToken(ctx, saltedgetest.TokenRequest{SessionSecret: "sess-x", ConsentID: "42"})
	require.NoError(t, err)
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, "TokenNotFound", resp.ErrorClass)
	assert.Equal(t, "sess-x", resp.SessionSecret)
	_, open := s.Session("sess-x")
	assert.True(t, open, "sending a session_secret opens the session")

	resp, err = d.KYCFor(ctx, "access-1", "sess-y")
	require.NoError(t, err)
	require.True(t, resp.OK())
	var kyc map[string]string
	require.NoError(t, resp.DecodeData(&kyc))
	assert.Equal(t, "Jane", kyc["name"])

	require.Len(t, got, 2)
	create := got[0]
	assert.Equal(t, "POST", create.method)
	assert.Equal(t, "/api/priora/v1/tokens/create", create.path)
	assert.Empty(t, create.body, "the seed sends no body")
	assert.Equal(t, "771", create.header.Get("Client-Id"))
	assert.Equal(t, "42", create.header.Get("Consent-Id"))
	assert.Equal(t, "application/json", create.header.Get("Accept"))
	assert.Equal(t, "application/json", create.header.Get("Content-Type"))
	assert.Empty(t, create.header.Get("Access-Token"))

	tok := strings.TrimPrefix(create.header.Get("Authorization"), "Bearer ")
	head, _, _ := strings.Cut(tok, ".")
	rawHead, _ := base64.RawURLEncoding.DecodeString(head)
	assert.JSONEq(t, `{"alg":"RS256"}`, string(rawHead))

	var claims struct {
		Data struct {
			AppName         string `json:"app_name"`
			ProviderCode    string `json:"provider_code"`
			SessionSecret   string `json:"session_secret"`
			OriginalRequest struct {
				ClientJWT     string `json:"client_jwt"`
				ClientPayload struct {
					Data map[string]any `json:"data"`
					Exp  int64          `json:"exp"`
				} `json:"client_payload"`
			} `json:"original_request"`
		} `json:"data"`
		jwt.RegisteredClaims
	}
	_, err = jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer("priora.saltedge.com")).ParseWithClaims(tok, &claims,
		func(*jwt.Token) (any, error) { return s.PublicKey(), nil })
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Minute), claims.ExpiresAt.Time, 5*time.Second)
	assert.Equal(t, "sess-x", claims.Data.SessionSecret)
	assert.Equal(t, "demobank", claims.Data.ProviderCode)
	orig := claims.Data.OriginalRequest
	require.True(t, strings.HasPrefix(orig.ClientJWT, "Bearer "))
	cj, err := jwt.Parse(strings.TrimPrefix(orig.ClientJWT, "Bearer "),
		func(*jwt.Token) (any, error) { return &testKeys()[2].PublicKey, nil },
		jwt.WithValidMethods([]string{"RS256"}))
	require.NoError(t, err, "client_jwt is signed by the TPP's key")
	assert.Equal(t, orig.ClientPayload.Data, cj.Claims.(jwt.MapClaims)["data"])

	kycReq := got[1]
	assert.Equal(t, "GET", kycReq.method)
	assert.Equal(t, "access-1", kycReq.header.Get("Access-Token"))
}

func TestConnectorDriverOverrides(t *testing.T) {
	s := setup(t)
	var hdr http.Header
	conn := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hdr = r.Header.Clone()
		_, _ = io.WriteString(w, `{}`)
	}))
	t.Cleanup(conn.Close)
	d := s.Connector(conn.URL)
	_, err := d.Send(context.Background(), saltedgetest.Call{Endpoint: saltedgetest.KYC,
		NoClientID: true, Authorization: "Bearer forged"})
	require.NoError(t, err)
	assert.Empty(t, hdr.Values("Client-Id"))
	assert.Equal(t, "Bearer forged", hdr.Get("Authorization"))

	_, err = d.Send(context.Background(), saltedgetest.Call{})
	assert.Error(t, err)
}

func TestDefaultServerGeneratesCredentials(t *testing.T) {
	s := saltedgetest.NewServer()
	t.Cleanup(s.Close)
	assert.NotEmpty(t, s.AppID())
	assert.NotEmpty(t, s.AppSecret())
	require.NotNil(t, s.PrivateKey())
	_, ok := s.ClientApp(saltedgetest.DefaultClientID)
	assert.True(t, ok)
	blk, _ := pem.Decode(s.PublicKeyPEM())
	require.NotNil(t, blk)
	assert.Equal(t, "PUBLIC KEY", blk.Type)
	blk, _ = pem.Decode(saltedgetest.PrivateKeyPEM(s.PrivateKey()))
	require.NotNil(t, blk)
	assert.Equal(t, "PRIVATE KEY", blk.Type)
}

// The fake names no kid by default, the kid of WithSigningKeyID when set, and after
// RotateSigningKey signs with the new key (and its kid): PublicKey follows, and the
// old key no longer verifies what it sends.
func TestSigningKeyIDAndRotation(t *testing.T) {
	k := testKeys()
	header := func(tok string) map[string]any {
		raw, err := base64.RawURLEncoding.DecodeString(strings.Split(tok, ".")[0])
		require.NoError(t, err)
		var h map[string]any
		require.NoError(t, json.Unmarshal(raw, &h))
		return h
	}
	verify := func(tok string, pub *rsa.PublicKey) error {
		_, err := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"})).Parse(tok,
			func(*jwt.Token) (any, error) { return pub, nil })
		return err
	}

	s := setup(t)
	tok, err := s.RequestJWT(nil, 0)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"alg": "RS256"}, header(tok), "as in the seed's samples")

	s = setup(t, saltedgetest.WithSigningKeyID("se-1"))
	tok, err = s.RequestJWT(nil, 0)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"alg": "RS256", "kid": "se-1"}, header(tok))
	require.NoError(t, verify(tok, &k[0].PublicKey))

	s.RotateSigningKey(k[3], "se-2")
	assert.Equal(t, &k[3].PublicKey, s.PublicKey())
	pub, err := x509.ParsePKIXPublicKey(func() []byte { b, _ := pem.Decode(s.PublicKeyPEM()); return b.Bytes }())
	require.NoError(t, err)
	assert.True(t, k[3].PublicKey.Equal(pub))
	tok, err = s.RequestJWT(nil, 0)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"alg": "RS256", "kid": "se-2"}, header(tok))
	require.NoError(t, verify(tok, &k[3].PublicKey))
	assert.ErrorIs(t, verify(tok, &k[0].PublicKey), jwt.ErrTokenSignatureInvalid)

	s.RotateSigningKey(nil, "ignored")
	assert.Equal(t, &k[3].PublicKey, s.PublicKey(), "a nil key is ignored")
}

// The accessors every fake shares: Client trusts the server, ClearFaults drops the
// faults not yet taken, ResetRequests empties the log.
func TestClientClearFaultsResetRequests(t *testing.T) {
	s := saltedgetest.NewServer()
	t.Cleanup(s.Close)
	s.Inject(2, fake.Status(http.StatusTeapot, `{"error_class":"Teapot"}`))
	get := func() int {
		t.Helper()
		resp, err := s.Client().Get(s.URL() + "/api/connectors/v1/tokens/index")
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		require.NoError(t, resp.Body.Close())
		return resp.StatusCode
	}
	assert.Equal(t, http.StatusTeapot, get(), "the first fault is taken")
	s.ClearFaults()
	assert.NotEqual(t, http.StatusTeapot, get(), "the second fault was dropped")
	assert.Len(t, s.Requests(), 2)
	s.ResetRequests()
	assert.Empty(t, s.Requests())
	assert.Zero(t, s.Count("", "/api/connectors/v1/tokens/index"))
}

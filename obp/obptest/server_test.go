package obptest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"encoding/json"
	"github.com/banksdk/banksdk/fake"
	"io"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp/obptest"
)

const v4 = "/obp/v4.0.0"

var (
	keyOnce sync.Once
	testKey *rsa.PrivateKey
)

func setup(t *testing.T, opts ...obptest.Option) *obptest.Server {
	t.Helper()
	keyOnce.Do(func() {
		k, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			panic(err)
		}
		testKey = k
	})
	s := obptest.NewServer(append([]obptest.Option{obptest.WithDAuthPrivateKey(testKey)}, opts...)...)
	t.Cleanup(s.Close)
	return s
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (a answer) message() string { m, _ := a.body["message"].(string); return m }

// call sends a request whose header names are written exactly as given (direct map
// assignment, no canonicalisation).
func call(t *testing.T, s *obptest.Server, method, path string, hdr map[string]string, body string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, s.URL()+path, rd)
	require.NoError(t, err)
	for k, v := range hdr {
		req.Header[k] = []string{v}
	}
	if body != "" {
		req.Header["Content-Type"] = []string{"application/json"}
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func claims() jwt.MapClaims {
	return jwt.MapClaims{
		"smart_contract_address": obptest.DefaultSmartContractAddress,
		"network_name":           obptest.DefaultNetworkName,
		"msg_sender":             obptest.DefaultMsgSender,
		"consumer_key":           "0x1234",
		"timestamp":              time.Now().UTC().Format(time.RFC3339),
		"request_id":             randomID(),
	}
}

func randomID() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func sign(t *testing.T, key *rsa.PrivateKey, c jwt.MapClaims) string {
	t.Helper()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(key)
	require.NoError(t, err)
	return tok
}

func login(t *testing.T, s *obptest.Server) string {
	t.Helper()
	a := call(t, s, "POST", "/my/logins/direct", map[string]string{
		"DirectLogin": "username=" + obptest.DefaultUsername + ", password=" + s.Password() + ", consumer_key=" + s.ConsumerKey(),
	}, "")
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	tok, _ := a.body["token"].(string)
	require.NotEmpty(t, tok)
	return tok
}

func dl(tok string) map[string]string { return map[string]string{"DirectLogin": "token=" + tok} }

func TestDAuthHeaderNameIsCaseSensitive(t *testing.T) {
	s := setup(t)
	a := call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": sign(t, s.DAuthPrivateKey(), claims())}, "")
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	assert.Equal(t, obptest.DefaultSmartContractAddress, a.body["username"])
	assert.Equal(t, "dauth."+obptest.DefaultNetworkName, a.body["provider"])
	assert.NotEmpty(t, a.header.Get("Correlation-Id"))
	require.Len(t, s.DAuthCalls(), 1)
	assert.Equal(t, "RS256", s.DAuthCalls()[0].Algorithm)

	// Go's canonical form "Dauth" is not the DAuth header: the call is anonymous.
	a = call(t, s, "GET", v4+"/users/current", map[string]string{"Dauth": sign(t, s.DAuthPrivateKey(), claims())}, "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20001"), a.message())
	assert.Contains(t, a.header.Get("WWW-Authenticate"), "DirectLogin realm")
	assert.Len(t, s.DAuthCalls(), 1)
}

func TestDAuthGetsOrCreatesOneUser(t *testing.T) {
	s := setup(t)
	before := s.Users()
	for i := 0; i < 3; i++ {
		a := call(t, s, "GET", v4+"/users/current/user_id", map[string]string{"DAuth": sign(t, s.DAuthPrivateKey(), claims())}, "")
		require.Equal(t, http.StatusOK, a.status)
	}
	assert.Equal(t, before+1, s.Users())
	id, ok := s.UserID(obptest.DefaultSmartContractAddress, "dauth."+obptest.DefaultNetworkName)
	require.True(t, ok)
	a := call(t, s, "GET", v4+"/users/current/user_id", map[string]string{"DAuth": sign(t, s.DAuthPrivateKey(), claims())}, "")
	assert.Equal(t, id, a.body["user_id"])
}

func TestDAuthRejections(t *testing.T) {
	other, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	s := setup(t)
	key := s.DAuthPrivateKey()
	reused := claims()

	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, claims()).SignedString([]byte("secret"))
	require.NoError(t, err)
	rs512, err := jwt.NewWithClaims(jwt.SigningMethodRS512, claims()).SignedString(key)
	require.NoError(t, err)
	noKey := claims()
	delete(noKey, "consumer_key")
	noTS := claims()
	delete(noTS, "timestamp")
	oldTS := claims()
	oldTS["timestamp"] = time.Now().Add(-time.Hour).UTC().Format(time.RFC3339)
	badTS := claims()
	badTS["timestamp"] = "04/11/2021 14:13"
	noID := claims()
	delete(noID, "request_id")
	tampered := sign(t, key, claims())
	tampered = tampered[:len(tampered)-4] + "AAAA"

	first := call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": sign(t, key, reused)}, "")
	require.Equal(t, http.StatusOK, first.status)

	cases := map[string]string{
		"wrong key":      sign(t, other, claims()),
		"HS256":          hs,
		"RS512":          rs512,
		"tampered":       tampered,
		"no consumer":    sign(t, key, noKey),
		"no timestamp":   sign(t, key, noTS),
		"old timestamp":  sign(t, key, oldTS),
		"bad timestamp":  sign(t, key, badTS),
		"no request_id":  sign(t, key, noID),
		"reused request": sign(t, key, reused),
		"not a JWT":      "hello",
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			a := call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": tok}, "")
			assert.Equal(t, http.StatusUnauthorized, a.status)
			assert.True(t, strings.HasPrefix(a.message(), "OBP-20071"), a.message())
		})
	}
	a := call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": " "}, "")
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20072"), a.message())
}

func TestDAuthLenientAcceptsReuse(t *testing.T) {
	s := setup(t, obptest.WithLenientDAuth())
	c := claims()
	delete(c, "timestamp")
	tok := sign(t, s.DAuthPrivateKey(), c)
	for i := 0; i < 2; i++ {
		assert.Equal(t, http.StatusOK, call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": tok}, "").status)
	}
}

func TestDAuthAllowList(t *testing.T) {
	s := setup(t, obptest.WithDAuthHosts("192.0.2.1"))
	a := call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": sign(t, s.DAuthPrivateKey(), claims())}, "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20069"), a.message())

	s = setup(t, obptest.WithDAuthHosts())
	a = call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": sign(t, s.DAuthPrivateKey(), claims())}, "")
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20068"), a.message())
}

func TestDAuthConfiguredKeyAndDisabled(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	s := setup(t, obptest.WithDAuthPublicKey(&key.PublicKey))
	assert.Nil(t, s.DAuthPrivateKey())
	assert.Equal(t, http.StatusOK, call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": sign(t, key, claims())}, "").status)

	s = setup(t, obptest.WithDAuthDisabled())
	a := call(t, s, "GET", v4+"/users/current", map[string]string{"DAuth": sign(t, s.DAuthPrivateKey(), claims())}, "")
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20001"), a.message())
}

func TestDuplicateHeaderNamesRejected(t *testing.T) {
	s := setup(t)
	req, err := http.NewRequest("GET", s.URL()+v4+"/users/current", nil)
	require.NoError(t, err)
	req.Header["DAuth"] = []string{sign(t, s.DAuthPrivateKey(), claims())}
	req.Header["Dauth"] = []string{sign(t, s.DAuthPrivateKey(), claims())}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	var body struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	}
	require.NoError(t, json.NewDecoder(resp.Body).Decode(&body))
	assert.Equal(t, http.StatusBadRequest, resp.StatusCode)
	assert.Equal(t, 400, body.Code)
	assert.True(t, strings.HasPrefix(body.Message, "OBP-09017"), body.Message)
	assert.NotEmpty(t, resp.Header.Get("Correlation-Id"))
	assert.Empty(t, s.DAuthCalls())
}

func TestDirectLogin(t *testing.T) {
	s := setup(t)
	tok := login(t, s)
	assert.Equal(t, 1, s.Logins())
	a := call(t, s, "GET", v4+"/users/current", dl(tok), "")
	require.Equal(t, http.StatusOK, a.status, string(a.raw))
	assert.Equal(t, obptest.DefaultUsername, a.body["username"])
	// The deprecated Authorization form and quotes work too.
	a = call(t, s, "GET", v4+"/users/current", map[string]string{"Authorization": `DirectLogin token="` + tok + `"`}, "")
	assert.Equal(t, http.StatusOK, a.status)

	s.ExpireDirectLoginTokens()
	a = call(t, s, "GET", v4+"/users/current", dl(tok), "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20003"), a.message())
}

func TestDirectLoginErrors(t *testing.T) {
	s := setup(t)
	s.AddDirectLoginUser("commas", "p,w")
	uid := s.AddDirectLoginUser("locked", "pw")
	s.LockUser(uid)
	ck := s.ConsumerKey()
	cases := []struct {
		name, header string
		status       int
		code         string
	}{
		{"bad password", "username=felixsmith, password=nope, consumer_key=" + ck, 401, "OBP-20004"},
		{"comma in password", "username=commas, password=p,w, consumer_key=" + ck, 401, "OBP-20004"},
		{"bad consumer", "username=felixsmith, password=" + s.Password() + ", consumer_key=nope", 401, "OBP-20008"},
		{"missing password", "username=felixsmith, consumer_key=" + ck, 400, "OBP-20002"},
		{"locked", "username=locked, password=pw, consumer_key=" + ck, 401, "OBP-20013"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, s, "POST", "/my/logins/direct", map[string]string{"DirectLogin": c.header}, "")
			assert.Equal(t, c.status, a.status)
			assert.True(t, strings.HasPrefix(a.message(), c.code), a.message())
		})
	}
	a := call(t, s, "POST", "/my/logins/direct", nil, "")
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20082"), a.message())
	assert.Equal(t, 0, s.Logins())
}

func TestDirectLoginStatusOptionAndTTL(t *testing.T) {
	now := time.Now()
	clock := func() time.Time { return now }
	s := setup(t, obptest.WithDirectLoginStatus(http.StatusOK), obptest.WithDirectLoginTokenTTL(time.Minute), obptest.WithClock(clock))
	a := call(t, s, "POST", "/my/logins/direct", map[string]string{
		"DirectLogin": "username=felixsmith, password=" + s.Password() + ", consumer_key=" + s.ConsumerKey(),
	}, "")
	require.Equal(t, http.StatusOK, a.status)
	tok := a.body["token"].(string)
	assert.Equal(t, http.StatusOK, call(t, s, "GET", v4+"/users/current", dl(tok), "").status)
	now = now.Add(2 * time.Minute)
	assert.Equal(t, http.StatusUnauthorized, call(t, s, "GET", v4+"/users/current", dl(tok), "").status)
}

func TestBearerAndConsent(t *testing.T) {
	s := setup(t)
	uid, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	s.AddBearerToken("abc", uid)
	s.AddConsent("consent-jwt", uid)
	assert.Equal(t, http.StatusOK, call(t, s, "GET", v4+"/users/current", map[string]string{"Authorization": "Bearer abc"}, "").status)
	assert.Equal(t, http.StatusOK, call(t, s, "GET", v4+"/users/current", map[string]string{"Consent-JWT": "consent-jwt"}, "").status)
	// Consent-Jwt (canonical form) is not recognised.
	assert.Equal(t, http.StatusUnauthorized, call(t, s, "GET", v4+"/users/current", map[string]string{"Consent-Jwt": "consent-jwt"}, "").status)
	a := call(t, s, "GET", v4+"/users/current", map[string]string{"Authorization": "Basic Zm9vOmJhcg=="}, "")
	assert.True(t, strings.HasPrefix(a.message(), "OBP-20080"), a.message())
}

func TestLegacyErrors(t *testing.T) {
	s := setup(t, obptest.WithLegacyErrors())
	a := call(t, s, "GET", v4+"/users/current", nil, "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.True(t, strings.HasPrefix(a.body["error"].(string), "OBP-20001"))
}

func accessPath(parts ...string) string {
	return v4 + "/banks/" + obptest.DefaultBankID + "/accounts/" + obptest.DefaultAccountID + "/" + strings.Join(parts, "/")
}

func grantBody(userID, viewID string, system bool) string {
	b, _ := json.Marshal(map[string]any{"user_id": userID, "view": map[string]any{"view_id": viewID, "is_system": system}})
	return string(b)
}

func TestGrantAndRevoke(t *testing.T) {
	s := setup(t, obptest.WithExtraViewFields(map[string]any{"can_see_transaction_status": true}))
	require.NoError(t, s.AddCustomView(obptest.DefaultBankID, obptest.DefaultAccountID, obptest.View{ID: "_partner", Flags: map[string]bool{"can_see_bank_account_balance": true}}))
	tok := login(t, s)
	bob := s.EnsureUser("bob", "dauth.ETHEREUM")

	a := call(t, s, "POST", accessPath("account-access", "grant"), dl(tok), grantBody(bob, "ReadBalances", true))
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	assert.Equal(t, "ReadBalances", a.body["id"])
	assert.Equal(t, true, a.body["is_system"])
	assert.Equal(t, true, a.body["can_see_bank_account_balance"])
	assert.Equal(t, false, a.body["can_add_comment"])
	assert.Equal(t, true, a.body["can_see_transaction_status"])
	for _, f := range obptest.ViewFlags() {
		assert.Contains(t, a.body, f)
	}
	a = call(t, s, "POST", accessPath("account-access", "grant"), dl(tok), grantBody(bob, "_partner", false))
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	assert.Nil(t, a.body["short_name"])
	assert.Equal(t, []string{"ReadBalances", "_partner"}, s.Access(obptest.DefaultBankID, obptest.DefaultAccountID, bob))

	a = call(t, s, "POST", accessPath("account-access", "revoke"), dl(tok), grantBody(bob, "ReadBalances", true))
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	assert.Equal(t, true, a.body["revoked"])
	assert.Equal(t, []string{"_partner"}, s.Access(obptest.DefaultBankID, obptest.DefaultAccountID, bob))
}

func TestAccountAccessErrors(t *testing.T) {
	s := setup(t)
	tok := login(t, s)
	me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	bob := s.EnsureUser("bob", "dauth.ETHEREUM")
	require.NoError(t, s.GrantAccess(obptest.DefaultBankID, obptest.DefaultAccountID, bob, "auditor"))
	bobTok := "bob-token"
	s.AddBearerToken(bobTok, bob)
	bobAuth := map[string]string{"Authorization": "Bearer " + bobTok}

	cases := []struct {
		name, method, path string
		hdr                map[string]string
		body               string
		status             int
		code               string
	}{
		{"grant anonymous", "POST", accessPath("account-access", "grant"), nil, grantBody(bob, "owner", true), 401, "OBP-20001"},
		{"grant no bank", "POST", v4 + "/banks/nope/accounts/x/account-access/grant", dl(tok), grantBody(bob, "owner", true), 404, "OBP-30001"},
		{"grant no account", "POST", v4 + "/banks/" + obptest.DefaultBankID + "/accounts/x/account-access/grant", dl(tok), grantBody(bob, "owner", true), 404, "OBP-30018"},
		{"grant bad json", "POST", accessPath("account-access", "grant"), dl(tok), `{"user_id":1}`, 400, "OBP-10001"},
		{"grant missing view", "POST", accessPath("account-access", "grant"), dl(tok), `{"user_id":"x"}`, 400, "OBP-10001"},
		{"grant no permission", "POST", accessPath("account-access", "grant"), bobAuth, grantBody(me, "owner", true), 400, "OBP-20047"},
		{"grant unknown user", "POST", accessPath("account-access", "grant"), dl(tok), grantBody("nobody", "owner", true), 404, "OBP-20005"},
		{"grant unknown system view", "POST", accessPath("account-access", "grant"), dl(tok), grantBody(bob, "_nope", true), 400, "OBP-30252"},
		{"grant unknown custom view", "POST", accessPath("account-access", "grant"), dl(tok), grantBody(bob, "_nope", false), 400, "OBP-30005"},
		{"revoke no permission", "POST", accessPath("account-access", "revoke"), bobAuth, grantBody(me, "owner", true), 400, "OBP-20048"},
		{"revoke unknown user", "POST", accessPath("account-access", "revoke"), dl(tok), grantBody("nobody", "owner", true), 404, "OBP-20005"},
		{"revoke no access", "POST", accessPath("account-access", "revoke"), dl(tok), grantBody(bob, "ReadBalances", true), 400, "OBP-30065"},
		{"revoke last owner", "POST", accessPath("account-access", "revoke"), dl(tok), grantBody(me, "owner", true), 400, "OBP-30064"},
		{"user access bad provider", "POST", accessPath("user-account-access"), dl(tok), `{"username":"0xabc","provider":"ETHEREUM","views":[]}`, 400, "OBP-20103"},
		{"user access no permission", "POST", accessPath("user-account-access"), bobAuth, `{"username":"0xabc","provider":"dauth.ETHEREUM","views":[{"view_id":"owner","is_system":true}]}`, 403, "OBP-20047"},
		{"user access unknown view", "POST", accessPath("user-account-access"), dl(tok), `{"username":"0xabc","provider":"dauth.ETHEREUM","views":[{"view_id":"_nope","is_system":true}]}`, 400, "OBP-30252"},
		{"user access bad json", "POST", accessPath("user-account-access"), dl(tok), `{"username":"0xabc"}`, 400, "OBP-10001"},
		{"revoke-grant no permission", "PUT", accessPath("account-access"), bobAuth, `{"views":["auditor"]}`, 400, "OBP-20047"},
		{"revoke-grant bad json", "PUT", accessPath("account-access"), dl(tok), `{"views":[{"view_id":"owner"}]}`, 400, "OBP-10001"},
		{"revoke-grant unknown view", "PUT", accessPath("account-access"), dl(tok), `{"views":["owner","_nope"]}`, 400, "OBP-30005"},
		{"revoke-grant last owner", "PUT", accessPath("account-access"), dl(tok), `{"views":["auditor"]}`, 400, "OBP-30064"},
		{"roles missing role", "POST", v4 + "/user-entitlements", bobAuth, `{"username":"0xabc","provider":"dauth.ETHEREUM","roles":[{"bank_id":"","role_name":"CanGetAnyUser"}]}`, 403, "OBP-20006"},
		{"roles bad provider", "POST", v4 + "/user-entitlements", dl(tok), `{"username":"0xabc","provider":"x","roles":[]}`, 400, "OBP-20103"},
		{"roles unknown bank", "POST", v4 + "/user-entitlements", dl(tok), `{"username":"0xabc","provider":"dauth.x","roles":[{"bank_id":"nope","role_name":"CanGetAnyUser"}]}`, 404, "OBP-30001"},
		{"v5.1.0 has no v4 grant", "POST", "/obp/v5.1.0/banks/" + obptest.DefaultBankID + "/accounts/" + obptest.DefaultAccountID + "/account-access/grant", dl(tok), grantBody(bob, "owner", true), 404, "OBP-10404"},
		{"unknown version", "GET", "/obp/v9.9.9/users/current", dl(tok), "", 404, "OBP-10404"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			a := call(t, s, c.method, c.path, c.hdr, c.body)
			assert.Equal(t, c.status, a.status, string(a.raw))
			assert.Equal(t, float64(c.status), a.body["code"])
			assert.True(t, strings.HasPrefix(a.message(), c.code), a.message())
			assert.NotEmpty(t, a.header.Get("Correlation-Id"))
		})
	}
	// Nothing changed.
	assert.Equal(t, []string{"owner"}, s.Access(obptest.DefaultBankID, obptest.DefaultAccountID, me))
	assert.Equal(t, []string{"auditor"}, s.Access(obptest.DefaultBankID, obptest.DefaultAccountID, bob))
}

func TestPostNeedsJSONContentType(t *testing.T) {
	s := setup(t)
	tok := login(t, s)
	req, err := http.NewRequest("POST", s.URL()+accessPath("account-access", "grant"), strings.NewReader(grantBody("x", "owner", true)))
	require.NoError(t, err)
	req.Header["DirectLogin"] = []string{"token=" + tok}
	req.Header["Content-Type"] = []string{"text/plain"}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, http.StatusNotFound, resp.StatusCode)
}

func TestCreateUserWithAccountAccessAndRevokeGrant(t *testing.T) {
	s := setup(t)
	tok := login(t, s)
	a := call(t, s, "POST", accessPath("user-account-access"), dl(tok),
		`{"username":"0xabc","provider":"dauth.ETHEREUM","views":[{"view_id":"ReadAccountsBasic","is_system":true},{"view_id":"owner","is_system":true}]}`)
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	var views []map[string]any
	require.NoError(t, json.Unmarshal(a.raw, &views))
	require.Len(t, views, 2)
	assert.Equal(t, "ReadAccountsBasic", views[0]["id"])
	uid, ok := s.UserID("0xabc", "dauth.ETHEREUM")
	require.True(t, ok)
	assert.Equal(t, []string{"ReadAccountsBasic", "owner"}, s.Access(obptest.DefaultBankID, obptest.DefaultAccountID, uid))

	// Now the account has two owners: the caller may drop its own owner view.
	me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	a = call(t, s, "PUT", accessPath("account-access"), dl(tok), `{"views":["auditor","ReadBalances"]}`)
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	assert.Equal(t, true, a.body["revoked"])
	assert.Equal(t, []string{"ReadBalances", "auditor"}, s.Access(obptest.DefaultBankID, obptest.DefaultAccountID, me))
}

func TestCreateUserWithRoles(t *testing.T) {
	s := setup(t)
	tok := login(t, s)
	a := call(t, s, "POST", v4+"/user-entitlements", dl(tok),
		`{"username":"0xabc","provider":"dauth.ETHEREUM","roles":[{"bank_id":"","role_name":"CanGetAnyUser"},{"bank_id":"gh.29.uk","role_name":"CanGetAccountsHeldAtOneBank"}]}`)
	require.Equal(t, http.StatusCreated, a.status, string(a.raw))
	list := a.body["list"].([]any)
	require.Len(t, list, 2)
	first := list[0].(map[string]any)
	assert.Equal(t, "CanGetAnyUser", first["role_name"])
	assert.NotEmpty(t, first["entitlement_id"])
	uid, _ := s.UserID("0xabc", "dauth.ETHEREUM")
	assert.Len(t, s.Entitlements(uid), 2)
}

func TestCurrentUserShape(t *testing.T) {
	s := setup(t)
	tok := login(t, s)
	a := call(t, s, "GET", v4+"/users/current", dl(tok), "")
	require.Equal(t, http.StatusOK, a.status)
	for _, k := range []string{"user_id", "email", "provider_id", "provider", "username", "entitlements", "views"} {
		assert.Contains(t, a.body, k)
	}
	views := a.body["views"].(map[string]any)["list"].([]any)
	require.Len(t, views, 1)
	assert.Equal(t, map[string]any{"bank_id": obptest.DefaultBankID, "account_id": obptest.DefaultAccountID, "view_id": "owner"}, views[0])
}

func TestInjectedError(t *testing.T) {
	s := setup(t)
	s.Inject(1, fake.Status(400, obptest.ErrorBody(400, obptest.MsgCannotGrantAccountAccess)).On("POST", v4+"/banks/"))
	tok := login(t, s)
	a := call(t, s, "POST", accessPath("account-access", "grant"), dl(tok), grantBody("x", "owner", true))
	assert.Equal(t, 400, a.status)
	assert.True(t, strings.HasPrefix(a.message(), "OBP-30063"))
	require.Len(t, s.Requests(), 2)
	assert.Equal(t, "status", s.Requests()[1].Fault)
	assert.Equal(t, []string{"token=" + tok}, s.Requests()[1].RawHeader("DirectLogin"))
}

func TestEchoCredentials(t *testing.T) {
	s := setup(t, obptest.WithEchoCredentials())
	a := call(t, s, "GET", v4+"/users/current", map[string]string{"Authorization": "Bearer unknown-bearer"}, "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, obptest.MsgUserNotLoggedIn+" (received Authorization: Bearer unknown-bearer)", a.message())

	a = call(t, s, "POST", "/my/logins/direct", map[string]string{"DirectLogin": "username=u, password=pw-secret, consumer_key=nope"}, "{}")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, obptest.MsgInvalidConsumerKey+" (received DirectLogin: username=u, password=pw-secret, consumer_key=nope)", a.message())

	a = call(t, s, "GET", v4+"/users/current", map[string]string{"Consent-JWT": "c1", "DAuth": "eyJx.y.z"}, "")
	assert.Equal(t, obptest.MsgUserNotLoggedIn+" (received DAuth: eyJx.y.z, Consent-JWT: c1)", a.message())

	a = call(t, s, "GET", v4+"/users/current", nil, "")
	assert.Equal(t, obptest.MsgUserNotLoggedIn, a.message(), "nothing to echo")

	plain := setup(t)
	a = call(t, plain, "GET", v4+"/users/current", map[string]string{"Authorization": "Bearer unknown-bearer"}, "")
	assert.Equal(t, obptest.MsgUserNotLoggedIn, a.message(), "no echo by default")
}

// Client trusts the server, as every fake's Client does.
func TestClientReachesTheFake(t *testing.T) {
	s := setup(t)
	resp, err := s.Client().Get(s.URL() + v4 + "/banks")
	require.NoError(t, err)
	_, _ = io.Copy(io.Discard, resp.Body)
	require.NoError(t, resp.Body.Close())
	assert.Equal(t, 1, s.Count("GET", v4+"/banks"), "the request reached the fake")
}

package tkey7test_test

import (
	"encoding/base64"
	"encoding/json"
	"io"
	"net/http"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

func setup(t *testing.T, opts ...tkey7test.Option) *tkey7test.Server {
	t.Helper()
	srv := tkey7test.NewServer(opts...)
	t.Cleanup(srv.Close)
	return srv
}

type answer struct {
	status int
	header http.Header
	body   []byte
}

func (a answer) json(t *testing.T) map[string]json.RawMessage {
	t.Helper()
	var m map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(a.body, &m), "body: %s", a.body)
	return m
}

// errorFields decodes a documented error body and checks all nine fields are present.
func (a answer) errorFields(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(a.body, &m), "body: %s", a.body)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	assert.Equal(t, []string{"build_version", "code", "endpoint_url", "long_message",
		"member_identification", "service_name", "short_message", "timestamp",
		"troubleshooting_id"}, keys)
	for _, k := range keys {
		assert.NotEmpty(t, m[k], k)
	}
	ts, ok := m["timestamp"].(float64)
	require.True(t, ok, "timestamp is a number")
	// Milliseconds since the epoch (a fake clock may run some hours ahead).
	assert.InDelta(t, float64(time.Now().UnixMilli()), ts, float64(24*time.Hour/time.Millisecond), "timestamp is ms since the epoch")
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))
	return m
}

func call(t *testing.T, method, url, token string, body string, hdr ...string) answer {
	t.Helper()
	var rd io.Reader
	if body != "" {
		rd = strings.NewReader(body)
	}
	req, err := http.NewRequest(method, url, rd)
	require.NoError(t, err)
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	if body != "" {
		req.Header.Set("Content-Type", "application/json")
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Add(hdr[i], hdr[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	return answer{status: resp.StatusCode, header: resp.Header, body: b}
}

func refresh(t *testing.T, srv *tkey7test.Server, token string) answer {
	t.Helper()
	return call(t, http.MethodPost, srv.URL()+"/oauth-token/refresh", token, "")
}

func code(t *testing.T, a answer) string {
	t.Helper()
	return a.errorFields(t)["code"].(string)
}

func TestIssueTokenIsJWTWithSessionExp(t *testing.T) {
	srv := setup(t, tkey7test.WithSessionLength(1500*time.Millisecond))
	before := time.Now()
	tok := srv.IssueToken(tkey7test.ForMember("member-7"))
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	payload, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	var claims struct {
		Exp    float64 `json:"exp"`
		Member string  `json:"member"`
	}
	require.NoError(t, json.Unmarshal(payload, &claims))
	exp := time.UnixMilli(int64(claims.Exp * 1000))
	assert.WithinDuration(t, before.Add(1500*time.Millisecond), exp, 100*time.Millisecond)
	assert.Equal(t, "member-7", claims.Member)
	assert.Equal(t, tkey7test.StateActive, srv.State(tok))
	assert.NotEqual(t, tok, srv.IssueToken(), "every issuance is a new token")
}

func TestOpaqueTokens(t *testing.T) {
	srv := setup(t, tkey7test.WithOpaqueTokens())
	tok := srv.IssueToken()
	assert.NotContains(t, tok, ".")
	assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts", tok, "").status)
}

func TestBearerAuthIsEnforced(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	url := srv.URL() + "/digital-accounts"
	cases := map[string]struct {
		headers []string
		code    string
	}{
		"missing":         {nil, tkey7test.CodeUnauthorized},
		"no scheme":       {[]string{"Authorization", tok}, tkey7test.CodeUnauthorized},
		"lowercase":       {[]string{"Authorization", "bearer " + tok}, tkey7test.CodeUnauthorized},
		"other scheme":    {[]string{"Authorization", "Token " + tok}, tkey7test.CodeUnauthorized},
		"empty token":     {[]string{"Authorization", "Bearer "}, tkey7test.CodeUnauthorized},
		"twice":           {[]string{"Authorization", "Bearer " + tok, "Authorization", "Bearer " + tok}, tkey7test.CodeUnauthorized},
		"unknown token":   {[]string{"Authorization", "Bearer nope"}, tkey7test.CodeTokenUnknown},
		"token with junk": {[]string{"Authorization", "Bearer " + tok + "x"}, tkey7test.CodeTokenUnknown},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			a := call(t, "GET", url, "", "", tc.headers...)
			require.Equal(t, http.StatusUnauthorized, a.status)
			assert.Equal(t, tc.code, code(t, a))
			assert.NotEmpty(t, a.header.Get("WWW-Authenticate"))
		})
	}
	assert.Equal(t, len(cases), srv.Unauthorized())
	assert.Equal(t, http.StatusOK, call(t, "GET", url, tok, "").status)
}

func TestDigitalAccounts(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()

	a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
	require.Equal(t, http.StatusOK, a.status)
	var list []map[string]any
	require.NoError(t, json.Unmarshal(a.body, &list))
	require.Len(t, list, len(tkey7test.DefaultAccountIDs()))
	for i, id := range tkey7test.DefaultAccountIDs() {
		assert.Equal(t, id, list[i]["id"])
	}

	a = call(t, "GET", srv.URL()+"/digital-accounts/da-0002", tok, "")
	require.Equal(t, http.StatusOK, a.status)
	assert.JSONEq(t, `"da-0002"`, string(a.json(t)["id"]))

	a = call(t, "GET", srv.URL()+"/digital-accounts/nope", tok, "")
	require.Equal(t, http.StatusNotFound, a.status)
	f := a.errorFields(t)
	assert.Equal(t, tkey7test.CodeNotFound, f["code"])
	assert.Equal(t, srv.URL()+"/digital-accounts/nope", f["endpoint_url"])
	assert.Equal(t, tkey7test.DefaultMember, f["member_identification"])

	assert.Equal(t, 3, srv.Count("GET", "digital-accounts")+srv.Count("GET", "digital-accounts/da-0002")+srv.Count("GET", "digital-accounts/nope"))
}

func TestWithDigitalAccountReplacesDefaults(t *testing.T) {
	srv := setup(t,
		tkey7test.WithDigitalAccount("x-1", json.RawMessage(`{"label":"one","id":"ignored"}`)),
		tkey7test.WithDigitalAccount("x-2", json.RawMessage(`not json`)))
	tok := srv.IssueToken()
	a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
	assert.JSONEq(t, `[{"id":"x-1","label":"one"},{"id":"x-2"}]`, string(a.body))
	srv.AddDigitalAccount("x-3", json.RawMessage(`{}`))
	assert.Equal(t, []string{"x-1", "x-2", "x-3"}, srv.DigitalAccountIDs())
}

func TestCreateConflictDelete(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	url := srv.URL() + "/digital-accounts"

	a := call(t, "POST", url, tok, `{"id":"new-1","name":"n"}`)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	assert.JSONEq(t, `{"id":"new-1","name":"n"}`, string(a.body))

	a = call(t, "POST", url, tok, `{"id":"new-1"}`)
	require.Equal(t, http.StatusConflict, a.status)
	assert.Equal(t, tkey7test.CodeConflict, code(t, a))

	a = call(t, "POST", url, tok, `{"id":`)
	require.Equal(t, http.StatusBadRequest, a.status)
	assert.Equal(t, tkey7test.CodeBadRequest, code(t, a))

	a = call(t, "POST", url, tok, `{"id":7}`)
	require.Equal(t, http.StatusBadRequest, a.status)

	a = call(t, "POST", url, tok, `{"name":"auto"}`)
	require.Equal(t, http.StatusCreated, a.status)
	assert.NotEmpty(t, string(a.json(t)["id"]))

	a = call(t, "DELETE", url+"/new-1", tok, "")
	require.Equal(t, http.StatusOK, a.status)
	a = call(t, "GET", url+"/new-1", tok, "")
	require.Equal(t, http.StatusNotFound, a.status)

	a = call(t, "PUT", url+"/da-0001", tok, "")
	require.Equal(t, http.StatusMethodNotAllowed, a.status)
	a.errorFields(t)
}

func TestNotAcceptable(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	url := srv.URL() + "/digital-accounts"
	a := call(t, "GET", url, tok, "", "Accept", "text/html")
	require.Equal(t, http.StatusNotAcceptable, a.status)
	assert.Equal(t, tkey7test.CodeNotAcceptable, code(t, a))
	a = call(t, "GET", url, tok, "", "Accept", "application/json;q=0, text/plain")
	require.Equal(t, http.StatusNotAcceptable, a.status)
	for _, ok := range []string{"application/json", "*/*", "text/html, application/json;q=0.5", "application/problem+json"} {
		assert.Equal(t, http.StatusOK, call(t, "GET", url, tok, "", "Accept", ok).status, ok)
	}
}

func TestUnknownPathAndOutsideBase(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	a := call(t, "GET", srv.URL()+"/nothing-here", tok, "")
	require.Equal(t, http.StatusNotFound, a.status)
	a.errorFields(t)
	a = call(t, "GET", srv.Origin()+"/digital-accounts", tok, "")
	require.Equal(t, http.StatusNotFound, a.status)
	a.errorFields(t)
}

func TestRevokedWhenNotRefreshedInTime(t *testing.T) {
	clock := tkey7test.NewClock(time.Time{})
	srv := setup(t, tkey7test.WithClock(clock.Now))
	tok := srv.IssueToken()
	require.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts", tok, "").status)

	clock.Advance(tkey7test.DefaultRevokeAfter)
	assert.Equal(t, tkey7test.StateActive, srv.State(tok), "valid up to the end of its window")
	clock.Advance(time.Millisecond)
	require.Equal(t, tkey7test.StateRevoked, srv.State(tok))
	a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
	require.Equal(t, http.StatusUnauthorized, a.status)
	f := a.errorFields(t)
	assert.Equal(t, tkey7test.CodeTokenRevoked, f["code"])
	assert.Contains(t, f["long_message"], "Web Office")
	assert.Equal(t, float64(clock.Now().UnixMilli()), f["timestamp"], "timestamps follow the clock")

	// A late refresh does not bring it back.
	a = refresh(t, srv, tok)
	require.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, tkey7test.CodeTokenRevoked, code(t, a))
	assert.Equal(t, 0, srv.Refreshes())
}

func TestRefreshKeepsTokenAliveAcrossWindows(t *testing.T) {
	clock := tkey7test.NewClock(time.Time{})
	var events []tkey7test.RefreshEvent
	srv := setup(t, tkey7test.WithClock(clock.Now),
		tkey7test.OnRefresh(func(ev tkey7test.RefreshEvent) { events = append(events, ev) }))
	tok := srv.IssueToken()
	const n = 6
	for range n { // four windows, a refresh every two thirds of one
		clock.Advance(tkey7test.DefaultRevokeAfter * 2 / 3)
		a := refresh(t, srv, tok)
		require.Equal(t, http.StatusOK, a.status, "%s", a.body)
		var ans map[string]any
		require.NoError(t, json.Unmarshal(a.body, &ans))
		assert.Equal(t, tok, ans["access_token"], "no rotation by default")
		assert.Equal(t, "Bearer", ans["token_type"])
		assert.Equal(t, float64(15*60), ans["expires_in"])
	}
	assert.Equal(t, n, srv.Refreshes())
	times := srv.RefreshTimes()
	require.Len(t, times, n)
	assert.Equal(t, clock.Now(), times[n-1], "refresh times follow the clock")
	require.Len(t, events, n, "OnRefresh saw every refresh (each answered before the next was sent)")
	for _, ev := range events {
		assert.Equal(t, tkey7test.RefreshEvent{At: ev.At, Token: tok, NewToken: tok, Status: 200}, ev)
	}
	assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts", tok, "").status)
}

func TestSessionCap(t *testing.T) {
	clock := tkey7test.NewClock(time.Time{})
	srv := setup(t, tkey7test.WithClock(clock.Now), tkey7test.WithSessionLength(time.Hour))
	tok := srv.IssueToken()
	refreshes := 0
	for srv.State(tok) == tkey7test.StateActive {
		clock.Advance(10 * time.Minute)
		a := refresh(t, srv, tok)
		if a.status != http.StatusOK {
			assert.Equal(t, tkey7test.CodeSessionExpired, code(t, a))
			break
		}
		refreshes++
	}
	assert.Equal(t, 5, refreshes, "refreshed at 10, 20, 30, 40 and 50 minutes; refused at 60")
	assert.Equal(t, tkey7test.StateSessionExpired, srv.State(tok))
	a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
	require.Equal(t, http.StatusUnauthorized, a.status)
	f := a.errorFields(t)
	assert.Equal(t, tkey7test.CodeSessionExpired, f["code"])
	assert.Contains(t, f["long_message"], "Web Office")
	assert.Equal(t, refreshes, srv.Refreshes())
}

func TestIssuedAtBackdatesTheSession(t *testing.T) {
	srv := setup(t, tkey7test.WithRevokeAfter(time.Hour), tkey7test.WithSessionLength(2*time.Hour))
	old := srv.IssueToken(tkey7test.IssuedAt(time.Now().Add(-3 * time.Hour)))
	assert.Equal(t, tkey7test.StateRevoked, srv.State(old), "never refreshed, so revoked first")
	srv2 := setup(t, tkey7test.WithRevokeAfter(time.Hour), tkey7test.WithSessionLength(30*time.Minute))
	old2 := srv2.IssueToken(tkey7test.IssuedAt(time.Now().Add(-time.Hour)))
	assert.Equal(t, tkey7test.StateSessionExpired, srv2.State(old2))
}

func TestRotationRetiresOldTokenAtOnce(t *testing.T) {
	srv := setup(t, tkey7test.WithRotation())
	t1 := srv.IssueToken()
	a := refresh(t, srv, t1)
	require.Equal(t, http.StatusOK, a.status)
	var ans struct {
		AccessToken string `json:"access_token"`
	}
	require.NoError(t, json.Unmarshal(a.body, &ans))
	t2 := ans.AccessToken
	require.NotEmpty(t, t2)
	require.NotEqual(t, t1, t2)
	assert.Equal(t, t2, srv.CurrentToken(t1))
	assert.Equal(t, tkey7test.StateRetired, srv.State(t1))
	assert.Equal(t, tkey7test.StateActive, srv.State(t2))

	a = call(t, "GET", srv.URL()+"/digital-accounts", t1, "")
	require.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, tkey7test.CodeTokenRetired, code(t, a))
	assert.Equal(t, 1, srv.RetiredTokenUses())
	a = refresh(t, srv, t1)
	require.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, 2, srv.RetiredTokenUses())

	assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts", t2, "").status)
	assert.Equal(t, 1, srv.Refreshes())
}

func TestRotationConcurrentRefreshesOnlyOneWins(t *testing.T) {
	srv := setup(t, tkey7test.WithRotation())
	tok := srv.IssueToken()
	var wg sync.WaitGroup
	statuses := make([]int, 8)
	for i := range statuses {
		wg.Add(1)
		go func() {
			defer wg.Done()
			req, _ := http.NewRequest("POST", srv.URL()+"/oauth-token/refresh", nil)
			req.Header.Set("Authorization", "Bearer "+tok)
			resp, err := http.DefaultClient.Do(req)
			if err == nil {
				statuses[i] = resp.StatusCode
				_ = resp.Body.Close()
			}
		}()
	}
	wg.Wait()
	ok := 0
	for _, st := range statuses {
		if st == http.StatusOK {
			ok++
		}
	}
	assert.Equal(t, 1, ok)
	assert.Equal(t, 1, srv.Refreshes())
	assert.Equal(t, len(statuses)-1, srv.RetiredTokenUses())
}

func TestRefreshTokenField(t *testing.T) {
	for _, field := range []string{"token", "accessToken"} {
		srv := setup(t, tkey7test.WithRefreshTokenField(field), tkey7test.WithRotation())
		tok := srv.IssueToken()
		a := refresh(t, srv, tok)
		require.Equal(t, http.StatusOK, a.status)
		m := a.json(t)
		require.Contains(t, m, field)
		assert.NotContains(t, m, "access_token")
		assert.JSONEq(t, `"`+srv.CurrentToken(tok)+`"`, string(m[field]))
	}

	// No token field: the answer is {}, rotation is off and the window restarts.
	clock := tkey7test.NewClock(time.Time{})
	srv := setup(t, tkey7test.WithRefreshTokenField(""), tkey7test.WithRotation(), tkey7test.WithClock(clock.Now))
	tok := srv.IssueToken()
	for range 4 {
		clock.Advance(tkey7test.DefaultRevokeAfter * 2 / 3)
		a := refresh(t, srv, tok)
		require.Equal(t, http.StatusOK, a.status)
		assert.JSONEq(t, `{}`, string(a.body))
	}
	assert.Equal(t, tkey7test.StateActive, srv.State(tok))
	assert.Equal(t, tok, srv.CurrentToken(tok))
}

func TestRefreshEndpointOption(t *testing.T) {
	srv := setup(t, tkey7test.WithRefreshEndpoint("PUT", "/auth/renew/"))
	tok := srv.IssueToken()
	assert.Equal(t, tkey7test.Path("auth/renew"), srv.RefreshPath())
	assert.Equal(t, http.StatusOK, call(t, "PUT", srv.URL()+"/auth/renew", tok, "").status)
	a := call(t, "POST", srv.URL()+"/auth/renew", tok, "")
	require.Equal(t, http.StatusMethodNotAllowed, a.status)
	assert.Equal(t, "PUT", a.header.Get("Allow"))
	a.errorFields(t)
	assert.Equal(t, http.StatusNotFound, refresh(t, srv, tok).status)
	assert.Equal(t, 1, srv.Refreshes())
}

func TestDefaultRefreshIsPOST(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	assert.Equal(t, http.StatusMethodNotAllowed, call(t, "GET", srv.URL()+"/oauth-token/refresh", tok, "").status)
	assert.Equal(t, http.StatusOK, refresh(t, srv, tok).status)
	assert.Equal(t, 1, srv.Count("POST", "oauth-token/refresh"))
}

func TestTokenRestrictions(t *testing.T) {
	srv := setup(t)
	t.Run("endpoints", func(t *testing.T) {
		tok := srv.IssueToken(tkey7test.ForEndpoints("payments"))
		a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
		require.Equal(t, http.StatusForbidden, a.status)
		assert.Equal(t, tkey7test.CodeForbiddenRoute, code(t, a))
		assert.Equal(t, http.StatusOK, refresh(t, srv, tok).status, "refresh is always permitted")
		ok := srv.IssueToken(tkey7test.ForEndpoints("digital-accounts"))
		assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts/da-0001", ok, "").status)
	})
	t.Run("accounts", func(t *testing.T) {
		tok := srv.IssueToken(tkey7test.ForAccounts("da-0002"))
		a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
		require.Equal(t, http.StatusOK, a.status)
		assert.JSONEq(t, `[{"id":"da-0002","name":"Settlement account","currency":"USD"}]`, string(a.body))
		a = call(t, "GET", srv.URL()+"/digital-accounts/da-0001", tok, "")
		require.Equal(t, http.StatusForbidden, a.status)
		assert.Equal(t, tkey7test.CodeForbiddenAccount, code(t, a))
		assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts/da-0002", tok, "").status)
	})
	t.Run("ips", func(t *testing.T) {
		tok := srv.IssueToken(tkey7test.FromIPs("192.0.2.1"))
		a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
		require.Equal(t, http.StatusForbidden, a.status)
		assert.Equal(t, tkey7test.CodeForbiddenIP, code(t, a))
		ok := srv.IssueToken(tkey7test.FromIPs("127.0.0.1", "::1"))
		assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts", ok, "").status)
	})
	t.Run("viewer", func(t *testing.T) {
		tok := srv.IssueToken(tkey7test.AsViewer(), tkey7test.ForMember("m-9"))
		a := call(t, "POST", srv.URL()+"/digital-accounts", tok, `{"id":"v"}`)
		require.Equal(t, http.StatusForbidden, a.status)
		f := a.errorFields(t)
		assert.Equal(t, tkey7test.CodeForbiddenRole, f["code"])
		assert.Equal(t, "m-9", f["member_identification"])
		assert.Equal(t, http.StatusOK, call(t, "GET", srv.URL()+"/digital-accounts", tok, "").status)
		assert.Equal(t, http.StatusOK, refresh(t, srv, tok).status)
	})
	assert.Equal(t, 4, srv.Forbidden())
}

func TestExplicitRevoke(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	srv.Revoke(tok)
	a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
	require.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, tkey7test.CodeTokenRevoked, code(t, a))
	assert.Equal(t, tkey7test.StateUnknown, srv.State("never"))
}

// Every documented error status comes with the nine fields.
func TestEveryDocumentedStatusHasTheDocumentedShape(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	viewer := srv.IssueToken(tkey7test.AsViewer())
	u := srv.URL()
	got := map[int]answer{
		400: call(t, "POST", u+"/digital-accounts", tok, `[]`),
		401: call(t, "GET", u+"/digital-accounts", "bad", ""),
		403: call(t, "DELETE", u+"/digital-accounts/da-0001", viewer, ""),
		404: call(t, "GET", u+"/digital-accounts/none", tok, ""),
		406: call(t, "GET", u+"/digital-accounts", tok, "", "Accept", "text/csv"),
		409: call(t, "POST", u+"/digital-accounts", tok, `{"id":"da-0001"}`),
	}
	srv.InjectError(1, 500, "GET", "digital-accounts")
	got[500] = call(t, "GET", u+"/digital-accounts", tok, "")
	for status, a := range got {
		require.Equal(t, status, a.status, "%s", a.body)
		a.errorFields(t)
	}
	assert.Equal(t, "status", srv.Requests()[len(srv.Requests())-1].Fault)
}

func TestInjectedFaultsPassThrough(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	srv.Inject(1, fake.DropBefore().On("POST", srv.RefreshPath()))
	req, _ := http.NewRequest("POST", srv.URL()+"/oauth-token/refresh", nil)
	req.Header.Set("Authorization", "Bearer "+tok)
	_, err := http.DefaultClient.Do(req)
	require.Error(t, err)
	assert.Equal(t, 0, srv.Refreshes())
	assert.Equal(t, http.StatusOK, refresh(t, srv, tok).status)
	assert.Equal(t, 1, srv.Refreshes())
	assert.Equal(t, 2, srv.Count("POST", "oauth-token/refresh"))

	srv.InjectError(1, 503, "", "")
	a := call(t, "GET", srv.URL()+"/digital-accounts", tok, "")
	assert.Equal(t, http.StatusServiceUnavailable, a.status)
	srv.ClearFaults()
	srv.ResetRequests()
	assert.Empty(t, srv.Requests())
}

// WithTokenEcho quotes the request's token in every text field of an error answer, so
// that a client's scrubbing is tested on each of them; without it, none quotes it.
func TestTokenEchoQuotesTheTokenInEveryTextField(t *testing.T) {
	for _, echo := range []bool{false, true} {
		var opts []tkey7test.Option
		if echo {
			opts = append(opts, tkey7test.WithTokenEcho())
		}
		srv := setup(t, opts...)
		tok := srv.IssueToken()
		a := call(t, "GET", srv.URL()+"/digital-accounts/nope", tok, "")
		require.Equal(t, http.StatusNotFound, a.status)
		f := a.errorFields(t)
		for _, k := range []string{"build_version", "code", "endpoint_url", "long_message",
			"member_identification", "service_name", "short_message", "troubleshooting_id"} {
			assert.Equal(t, echo, strings.Contains(f[k].(string), tok), "echo %v: %s", echo, k)
		}
	}
}

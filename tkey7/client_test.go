package tkey7_test

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

type env struct {
	srv      *tkey7test.Server
	client   *tkey7.Client
	token    string
	issuedAt time.Time
}

// setup starts a fake, issues a token and builds a client on it with fast retries.
// srvOpts configure the fake, opts are appended to the client's defaults.
func setup(t *testing.T, srvOpts []tkey7test.Option, opts ...tkey7.Option) *env {
	t.Helper()
	srv := tkey7test.NewServer(srvOpts...)
	t.Cleanup(srv.Close)
	issuedAt := time.Now()
	tok := srv.IssueToken(tkey7test.IssuedAt(issuedAt))
	base := []tkey7.Option{
		tkey7.WithBaseURL(srv.URL()),
		tkey7.WithAccessToken(tok, issuedAt),
		tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond),
	}
	client, err := tkey7.NewClient(append(base, opts...)...)
	require.NoError(t, err)
	t.Cleanup(func() { _ = client.Close() })
	return &env{srv: srv, client: client, token: tok, issuedAt: issuedAt}
}

func ctx(t *testing.T) context.Context {
	c, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	t.Cleanup(cancel)
	return c
}

func TestNewClientRejectsBadConfiguration(t *testing.T) {
	good := tkey7.WithAccessToken("tok", time.Time{})
	base := tkey7.WithBaseURL("https://us.bankname.payments.tkey7.com/client/v1/api")
	cases := map[string]struct {
		opts []tkey7.Option
		want string
	}{
		"no base URL":            {[]tkey7.Option{good}, "base URL: required"},
		"no token":               {[]tkey7.Option{base}, "access token: required"},
		"empty token":            {[]tkey7.Option{base, tkey7.WithAccessToken("", time.Time{})}, "access token: token is empty"},
		"token with space":       {[]tkey7.Option{base, tkey7.WithAccessToken("a b", time.Time{})}, "spaces or control characters"},
		"token with newline":     {[]tkey7.Option{base, tkey7.WithAccessToken("a\r\nX-Evil: 1", time.Time{})}, "control characters"},
		"plain http":             {[]tkey7.Option{good, tkey7.WithBaseURL("http://bank.example.com/api")}, "plain http"},
		"base URL with query":    {[]tkey7.Option{good, tkey7.WithBaseURL("https://bank.example.com/api?x=1")}, "query"},
		"interval at window":     {[]tkey7.Option{base, good, tkey7.WithRefreshInterval(15 * time.Minute)}, "must be below the revoke window of 15m0s"},
		"interval above window":  {[]tkey7.Option{base, good, tkey7.WithRefreshInterval(20 * time.Minute)}, "refresh interval 20m0s"},
		"interval vs own window": {[]tkey7.Option{base, good, tkey7.WithRevokeAfter(time.Second), tkey7.WithRefreshInterval(time.Second)}, "below the revoke window"},
		"zero interval":          {[]tkey7.Option{base, good, tkey7.WithRefreshInterval(0)}, "refresh interval: must be positive"},
		"zero session":           {[]tkey7.Option{base, good, tkey7.WithSessionLength(0)}, "session length: must be positive"},
		"session over":           {[]tkey7.Option{base, tkey7.WithAccessToken("t", time.Now().Add(-25*time.Hour))}, "session ended"},
		"issued in future":       {[]tkey7.Option{base, tkey7.WithAccessToken("t", time.Now().Add(time.Hour))}, "in the future"},
		"refresh method":         {[]tkey7.Option{base, good, tkey7.WithRefreshEndpoint("DELETE", "oauth-token/refresh")}, "method must be POST, GET, PUT or PATCH"},
		"refresh path query":     {[]tkey7.Option{base, good, tkey7.WithRefreshEndpoint("POST", "oauth-token/refresh?x=1")}, "plain path"},
		"refresh path dots":      {[]tkey7.Option{base, good, tkey7.WithRefreshEndpoint("POST", "../refresh")}, "refresh endpoint"},
		"refresh path absolute":  {[]tkey7.Option{base, good, tkey7.WithRefreshEndpoint("POST", "https://evil.example/r")}, "plain path"},
		"refresh path empty":     {[]tkey7.Option{base, good, tkey7.WithRefreshEndpoint("POST", "/")}, "must not be empty"},
		"nil expiring hook":      {[]tkey7.Option{base, good, tkey7.OnSessionExpiring(nil)}, "must not be nil"},
		"nil logger":             {[]tkey7.Option{base, good, tkey7.WithLogger(nil)}, "logger"},
		"bad retry":              {[]tkey7.Option{base, good, tkey7.WithRetry(-1, time.Second, time.Second)}, "retry"},
	}
	for name, tc := range cases {
		t.Run(name, func(t *testing.T) {
			c, err := tkey7.NewClient(tc.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "tkey7: "), err.Error())
		})
	}
}

func TestSessionOverErrorMatches(t *testing.T) {
	_, err := tkey7.NewClient(tkey7.WithBaseURL("https://bank.example.com/api"),
		tkey7.WithAccessToken("t", time.Now().Add(-2*time.Hour)), tkey7.WithSessionLength(time.Hour))
	require.ErrorIs(t, err, tkey7.ErrSessionExpired)
	assert.Contains(t, err.Error(), "Web Office")
}

func TestListAndGetDigitalAccounts(t *testing.T) {
	e := setup(t, nil)
	list, err := e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	require.True(t, list.IsArray())
	require.Equal(t, len(tkey7test.DefaultAccountIDs()), list.Len())
	var ids []string
	for i, raw := range list.All() {
		var doc struct{ ID string }
		require.NoError(t, json.Unmarshal(raw, &doc), i)
		assert.Equal(t, len(ids), i)
		ids = append(ids, doc.ID)
	}
	assert.Equal(t, tkey7test.DefaultAccountIDs(), ids)
	// Every account decoded at once into the caller's own type, from Raw.
	var mine []struct{ ID, Currency string }
	require.NoError(t, json.Unmarshal(list.Raw, &mine))
	require.Len(t, mine, list.Len())
	for i, id := range tkey7test.DefaultAccountIDs() {
		assert.Equal(t, id, mine[i].ID)
	}
	assert.Equal(t, []string{"USD", "USD", "EUR"}, []string{mine[0].Currency, mine[1].Currency, mine[2].Currency})

	doc, err := e.client.DigitalAccounts.Get(ctx(t), "da-0002")
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"da-0002","name":"Settlement account","currency":"USD"}`, string(doc))

	// What the fake received: bearer auth, JSON accepted, the documented paths.
	reqs := e.srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, tkey7test.Path("digital-accounts"), reqs[0].Path)
	assert.Equal(t, tkey7test.Path("digital-accounts/da-0002"), reqs[1].Path)
	for _, r := range reqs {
		assert.Equal(t, []string{"Bearer " + e.token}, r.RawHeader("Authorization"))
		assert.Equal(t, "application/json", r.Header.Get("Accept"))
	}
}

func TestListKeepsAnUndocumentedShapeRaw(t *testing.T) {
	srv := tkey7test.NewServer()
	t.Cleanup(srv.Close)
	tok := srv.IssueToken()
	c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, time.Time{}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })
	srv.Inject(1, fake.Status(200, `{"items":[{"id":"x"}],"next":null}`).On("GET", tkey7test.Path("digital-accounts")))
	list, err := c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	assert.False(t, list.IsArray())
	assert.Zero(t, list.Len())
	for range list.All() {
		t.Fatal("All yielded a document of an answer that is not an array")
	}
	assert.JSONEq(t, `{"items":[{"id":"x"}],"next":null}`, string(list.Raw))
}

func TestGetEscapesAndValidatesID(t *testing.T) {
	e := setup(t, nil)
	_, err := e.client.DigitalAccounts.Get(ctx(t), "")
	require.ErrorContains(t, err, "digital account id: must not be empty")
	_, err = e.client.DigitalAccounts.Get(ctx(t), "..")
	require.ErrorContains(t, err, "digital account id")
	assert.Empty(t, e.srv.Requests(), "bad ids are rejected before any call")

	_, err = e.client.DigitalAccounts.Get(ctx(t), "a/b?c")
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusNotFound, apiErr.StatusCode)
	reqs := e.srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, tkey7test.Path("digital-accounts/a%2Fb%3Fc"), reqs[0].RawPath)
	assert.Empty(t, reqs[0].RawQuery)
}

func TestDoCreatesReadsDeletes(t *testing.T) {
	e := setup(t, nil)
	created, err := tkey7.Do[map[string]any](ctx(t), e.client, "post", "digital-accounts", map[string]string{"id": "obj-1", "name": "n"})
	require.NoError(t, err)
	assert.Equal(t, "obj-1", created["id"])

	raw, err := tkey7.Do[json.RawMessage](ctx(t), e.client, "GET", "digital-accounts/obj-1?expand=1", nil)
	require.NoError(t, err)
	assert.JSONEq(t, `{"id":"obj-1","name":"n"}`, string(raw))

	_, err = tkey7.Do[json.RawMessage](ctx(t), e.client, "DELETE", "digital-accounts/obj-1", nil)
	require.NoError(t, err)

	_, err = tkey7.Do[json.RawMessage](ctx(t), e.client, "GET", "digital-accounts/obj-1", nil)
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 404, apiErr.StatusCode)

	reqs := e.srv.Requests()
	require.Len(t, reqs, 4)
	assert.Equal(t, "POST", reqs[0].Method)
	assert.JSONEq(t, `{"id":"obj-1","name":"n"}`, string(reqs[0].Body))
	assert.Equal(t, "application/json", reqs[0].Header.Get("Content-Type"))
	assert.Equal(t, "expand=1", reqs[1].RawQuery)

	for _, bad := range []string{"https://evil.example/x", "../x", ""} {
		_, err = tkey7.Do[json.RawMessage](ctx(t), e.client, "GET", bad, nil)
		assert.Error(t, err, bad)
	}
	_, err = tkey7.Do[json.RawMessage](ctx(t), e.client, " ", "digital-accounts", nil)
	assert.ErrorContains(t, err, "method")
	_, err = tkey7.Do[json.RawMessage](ctx(t), nil, "GET", "digital-accounts", nil)
	assert.ErrorContains(t, err, "nil client")
	assert.Equal(t, 4, len(e.srv.Requests()), "bad calls never reach the server")
}

func TestGetRetriedOn503(t *testing.T) {
	e := setup(t, nil)
	e.srv.InjectError(2, 503, "GET", "digital-accounts")
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, 3, e.srv.Count("GET", "digital-accounts"))
}

func TestPostWithLostAnswerIsSentOnce(t *testing.T) {
	e := setup(t, nil)
	e.srv.Inject(1, fake.DropAfter().On("POST", tkey7test.Path("digital-accounts")))
	_, err := tkey7.Do[json.RawMessage](ctx(t), e.client, "POST", "digital-accounts", map[string]string{"id": "once"})
	require.ErrorIs(t, err, tkey7.ErrOutcomeUnknown)
	assert.Equal(t, 1, e.srv.Count("POST", "digital-accounts"))
	assert.Contains(t, e.srv.DigitalAccountIDs(), "once", "the server did process it")
}

func TestPostNotRetriedOn500(t *testing.T) {
	e := setup(t, nil)
	e.srv.InjectError(1, 500, "POST", "digital-accounts")
	_, err := tkey7.Do[json.RawMessage](ctx(t), e.client, "POST", "digital-accounts", map[string]string{"id": "x"})
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 500, apiErr.StatusCode)
	assert.Equal(t, 1, e.srv.Count("POST", "digital-accounts"))
}

func TestForbiddenRestrictionsAreAPIErrorsAndKeepTheToken(t *testing.T) {
	srv := tkey7test.NewServer()
	t.Cleanup(srv.Close)
	tok := srv.IssueToken(tkey7test.ForAccounts("da-0001"))
	c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, time.Time{}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	_, err = c.DigitalAccounts.Get(ctx(t), "da-0002")
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, http.StatusForbidden, apiErr.StatusCode)
	assert.Equal(t, tkey7test.CodeForbiddenAccount, apiErr.Code)
	assert.NotErrorIs(t, err, tkey7.ErrTokenRevoked)

	// A 403 does not end the token's life.
	list, err := c.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	require.Equal(t, 1, list.Len())
	for _, raw := range list.All() {
		assert.Contains(t, string(raw), `"da-0001"`)
	}
}

func TestUserAgent(t *testing.T) {
	e := setup(t, nil, tkey7.WithUserAgent("myapp/1.0"))
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.NoError(t, err)
	ua := e.srv.Requests()[0].Header.Get("User-Agent")
	assert.True(t, strings.HasPrefix(ua, "banksdk-go/"), ua)
	assert.True(t, strings.HasSuffix(ua, " myapp/1.0"), ua)
}

func TestContextCancelled(t *testing.T) {
	e := setup(t, nil)
	c, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := e.client.DigitalAccounts.List(c)
	require.Error(t, err)
	assert.True(t, errors.Is(err, context.Canceled), err.Error())
}

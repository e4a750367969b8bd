package obp_test

import (
	"crypto/rand"
	"crypto/rsa"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func TestNewClientOptions(t *testing.T) {
	s := setup(t)
	dauth := obp.WithDAuth(dauthConfig(s))
	login := obp.WithDirectLogin("u", "p", "k")
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	noKey := dauthConfig(s)
	noKey.PrivateKey = nil
	noNetwork := dauthConfig(s)
	noNetwork.NetworkName = ""
	noContract := dauthConfig(s)
	noContract.SmartContractAddress = " "
	noConsumer := dauthConfig(s)
	noConsumer.ConsumerKey = ""
	smallKey := dauthConfig(s)
	smallKey.PrivateKey = small

	cases := []struct {
		name string
		opts []obp.Option
		want string
	}{
		{"no auth", []obp.Option{obp.WithBaseURL(s.URL())}, "authentication option is required"},
		{"two auths", []obp.Option{obp.WithBaseURL(s.URL()), dauth, login}, "exactly one authentication option is allowed, got WithDAuth and WithDirectLogin"},
		{"token and bearer", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithDirectLoginToken("t1234"), obp.WithAccessTokenSource(auth.StaticSource(auth.Token{Value: "x"}))}, "got WithDirectLoginToken and WithAccessTokenSource"},
		{"no base URL", []obp.Option{dauth}, "base URL: required"},
		{"http not loopback", []obp.Option{obp.WithBaseURL("http://obp.example.com"), dauth}, "plain http"},
		{"versioned base URL", []obp.Option{obp.WithBaseURL("https://obp.example.com/obp/v4.0.0"), dauth}, "without the /obp/<version>"},
		{"bad version", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithVersion("4.0"), dauth}, `version "4.0"`},
		{"no key", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithDAuth(noKey)}, "DAuth PrivateKey: required"},
		{"small key", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithDAuth(smallKey)}, "DAuth PrivateKey"},
		{"no network", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithDAuth(noNetwork)}, "DAuth NetworkName: required"},
		{"no contract", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithDAuth(noContract)}, "DAuth SmartContractAddress: required"},
		{"no consumer", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithDAuth(noConsumer)}, "DAuth ConsumerKey: required"},
		{"nil access token source", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithAccessTokenSource(nil)}, "access token source: required"},
		{"empty consent", []obp.Option{obp.WithBaseURL(s.URL()), obp.WithConsentJWT(" ")}, "consent JWT: required"},
		{"bad timeout", []obp.Option{obp.WithBaseURL(s.URL()), dauth, obp.WithTimeout(0)}, "timeout"},
		{"bad retry", []obp.Option{obp.WithBaseURL(s.URL()), dauth, obp.WithRetry(-1, time.Millisecond, time.Second)}, "retry"},
		{"nil logger", []obp.Option{obp.WithBaseURL(s.URL()), dauth, obp.WithLogger(nil)}, "logger"},
		{"nil http client", []obp.Option{obp.WithBaseURL(s.URL()), dauth, obp.WithHTTPClient(nil)}, "HTTP client"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c, err := obp.NewClient(tc.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, err.Error(), tc.want)
			assert.True(t, strings.HasPrefix(err.Error(), "obp: "), err.Error())
		})
	}
	assert.Empty(t, s.Requests())

	c, err := obp.NewClient(obp.WithBaseURL("http://obp.internal:8080"), obp.WithInsecureHTTP(), dauth,
		obp.WithTimeout(time.Second), obp.WithUserAgent("tests/1.0"), obp.WithVersion("v5.0.0"), nil)
	require.NoError(t, err)
	closeWhenDone(t, c)
	assert.Equal(t, "v5.0.0", c.Version())
	assert.Equal(t, "obp.Client{BaseURL: http://obp.internal:8080, Version: v5.0.0, Auth: DAuth}", c.String())
}

func TestUserAgentAndAccept(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s, obp.WithUserAgent("myapp/1.2"))
	_, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	r := s.Requests()[0]
	ua := r.RawHeader("User-Agent")
	require.Len(t, ua, 1)
	assert.True(t, strings.HasPrefix(ua[0], "banksdk-go/"))
	assert.True(t, strings.HasSuffix(ua[0], " myapp/1.2"))
	assert.Equal(t, []string{"application/json"}, r.RawHeader("Accept"))
}

func TestBearerRenewedOnceOn401(t *testing.T) {
	s := setup(t)
	me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	s.AddBearerToken("good-token", me)
	cache := auth.NewCache(auth.SourceFunc(tokensInTurn("stale-token", "good-token")))
	c := newClient(t, s, obp.WithAccessTokenSource(cache))
	u, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, me, u.UserID)
	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, []string{"Bearer stale-token"}, reqs[0].RawHeader("Authorization"))
	assert.Equal(t, []string{"Bearer good-token"}, reqs[1].RawHeader("Authorization"))

	// A static source cannot be renewed: no replay.
	static := newClient(t, s, obp.WithAccessTokenSource(auth.StaticSource(auth.Token{Value: "unknown"})))
	_, err = static.Users.Current(ctx(t))
	assert.ErrorIs(t, err, obp.ErrUserNotLoggedIn)
	assert.Len(t, s.Requests(), 3)
}

func TestConsentJWTHeaderOnTheWire(t *testing.T) {
	s := setup(t)
	me, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	s.AddConsent("eyJconsent.jwt.value", me)
	c := newClient(t, s, obp.WithConsentJWT("eyJconsent.jwt.value"), obp.WithConsumerKey(s.ConsumerKey()))
	id, err := c.Users.CurrentID(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, me, id)
	r := s.Requests()[0]
	assert.Equal(t, []string{"eyJconsent.jwt.value"}, r.RawHeader("Consent-JWT"))
	assert.Equal(t, []string{s.ConsumerKey()}, r.RawHeader("Consumer-Key"))
	assert.False(t, has(r.HeaderNames(), "Authorization"))
}

func TestHTTPClientIsNotMutated(t *testing.T) {
	s := setup(t)
	hc := &http.Client{Timeout: time.Hour}
	c := dauthClient(t, s, obp.WithHTTPClient(hc))
	_, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Nil(t, hc.Transport)
	assert.Equal(t, time.Hour, hc.Timeout)
	assert.Nil(t, hc.CheckRedirect)
}

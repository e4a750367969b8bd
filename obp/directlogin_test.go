package obp_test

import (
	"errors"
	"github.com/banksdk/banksdk/fake"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

const currentPath = "/obp/v4.0.0/users/current"

func TestDirectLoginOnTheWire(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)

	tok, err := c.DirectLogin(ctx(t))
	require.NoError(t, err)
	require.NotEmpty(t, tok.Value)
	assert.Equal(t, "Token([REDACTED])", tok.String())

	u, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, obptest.DefaultUsername, *u.Username)

	reqs := s.Requests()
	require.Len(t, reqs, 2)
	login := reqs[0]
	assert.Equal(t, http.MethodPost, login.Method)
	assert.Equal(t, "/my/logins/direct", login.Path)
	assert.Equal(t, []string{"username=" + obptest.DefaultUsername + ", password=" + s.Password() + ", consumer_key=" + s.ConsumerKey()}, login.RawHeader("DirectLogin"))
	assert.Equal(t, []string{"application/json"}, login.RawHeader("Content-Type"))
	assert.Empty(t, login.Body)

	call := reqs[1]
	assert.Equal(t, []string{"token=" + tok.Value}, call.RawHeader("DirectLogin"))
	assert.False(t, has(call.HeaderNames(), "Authorization"))
	assert.False(t, has(call.HeaderNames(), "DAuth"))
	assert.Equal(t, 1, s.Logins())
}

func TestDirectLoginLazilyAndOnce(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	var wg sync.WaitGroup
	for i := 0; i < 10; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Users.CurrentID(ctx(t))
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, s.Logins(), "concurrent first calls share one login")
	assert.Equal(t, 1, s.Count(http.MethodPost, "/my/logins/direct"))
}

func TestDirectLoginAccepts200(t *testing.T) {
	s := setup(t, obptest.WithDirectLoginStatus(http.StatusOK))
	c := loginClient(t, s)
	_, err := c.DirectLogin(ctx(t))
	require.NoError(t, err)
	_, err = c.Users.Current(ctx(t))
	require.NoError(t, err)
}

func TestDirectLoginRejectsCommasAndQuotesBeforeSending(t *testing.T) {
	s := setup(t)
	cases := []struct {
		name                 string
		user, pass, consumer string
		field, rule          string
	}{
		{"comma in password", "felixsmith", "pass,word", "ck12", "password", "comma"},
		{"quote in password", "felixsmith", `pass"word`, "ck12", "password", "double quote"},
		{"comma in username", "felix,smith", "password1", "ck12", "username", "comma"},
		{"comma in consumer key", "felixsmith", "password1", "ck,12", "consumer key", "comma"},
		{"empty password", "felixsmith", "", "ck12", "password", "required"},
		{"trailing space", "felixsmith", "password1 ", "ck12", "password", "white space"},
		{"line break", "felixsmith", "pass\r\nX-Evil: 1", "ck12", "password", "control"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := obp.NewClient(obp.WithBaseURL(s.URL()), obp.WithDirectLogin(tc.user, tc.pass, tc.consumer))
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.field)
			assert.Contains(t, err.Error(), tc.rule)
			if tc.pass != "" {
				assert.NotContains(t, err.Error(), tc.pass)
			}
		})
	}
	_, err := obp.NewClient(obp.WithBaseURL(s.URL()), obp.WithDirectLoginToken("a,b"))
	require.Error(t, err)
	assert.Empty(t, s.Requests(), "nothing was sent")
}

func TestDirectLoginExpiredTokenRenewedOnce(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	first, err := c.DirectLogin(ctx(t))
	require.NoError(t, err)
	s.ExpireDirectLoginTokens()
	s.ResetRequests()

	u, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, obptest.DefaultUsername, *u.Username)

	reqs := s.Requests()
	require.Len(t, reqs, 3, "rejected call, login, replay")
	assert.Equal(t, currentPath, reqs[0].Path)
	assert.Equal(t, []string{"token=" + first.Value}, reqs[0].RawHeader("DirectLogin"))
	assert.Equal(t, "/my/logins/direct", reqs[1].Path)
	assert.Equal(t, currentPath, reqs[2].Path)
	second := strings.TrimPrefix(reqs[2].RawHeader("DirectLogin")[0], "token=")
	assert.NotEqual(t, first.Value, second)
	assert.Equal(t, 2, s.Logins())

	// The new token is kept: the next call needs no login.
	_, err = c.Users.CurrentID(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, 2, s.Logins())
}

func TestDirectLoginRenewalIsNotALoop(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	expired := obptest.ErrorBody(401, obptest.MsgDirectLoginInvalidToken)
	s.Inject(5, fake.Status(401, expired).On(http.MethodGet, currentPath))

	_, err := c.Users.Current(ctx(t))
	require.Error(t, err)
	assert.True(t, errors.Is(err, obp.ErrDirectLoginInvalidToken))
	assert.Equal(t, 2, s.Count(http.MethodGet, currentPath), "one call, one replay")
	assert.Equal(t, 2, s.Logins(), "first login, one renewal")
}

func TestDirectLoginStaticTokenIsNotRenewed(t *testing.T) {
	s := setup(t)
	tok, err := loginClient(t, s).DirectLogin(ctx(t))
	require.NoError(t, err)

	c := newClient(t, s, obp.WithDirectLoginToken(tok.Value))
	_, err = c.Users.Current(ctx(t))
	require.NoError(t, err)
	s.ExpireDirectLoginTokens()
	_, err = c.Users.Current(ctx(t))
	var apiErr *obp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, string(obp.ErrDirectLoginInvalidToken), apiErr.OBPCode)
	assert.Equal(t, 401, apiErr.StatusCode)
	// The fake echoes the rejected token; the error must not.
	assert.NotContains(t, err.Error(), tok.Value)
	assert.NotContains(t, string(apiErr.Raw), tok.Value)
	assert.Equal(t, 2, s.Count(http.MethodGet, currentPath))
	assert.Equal(t, 1, s.Logins())

	_, err = c.DirectLogin(ctx(t))
	assert.Error(t, err, "a token client cannot log in")
}

func TestDirectLoginErrors(t *testing.T) {
	s := setup(t)
	locked := s.AddDirectLoginUser("locked", "pw-locked")
	s.LockUser(locked)
	cases := []struct {
		name                 string
		user, pass, consumer string
		status               int
		code                 obp.Code
	}{
		{"wrong password", obptest.DefaultUsername, "wrong-password", s.ConsumerKey(), 401, obp.ErrInvalidLoginCredentials},
		{"unknown consumer", obptest.DefaultUsername, s.Password(), "unknown-consumer", 401, obp.ErrInvalidConsumerKey},
		{"locked user", "locked", "pw-locked", s.ConsumerKey(), 401, obp.ErrUsernameLocked},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			s.ResetRequests()
			c := newClient(t, s, obp.WithDirectLogin(tc.user, tc.pass, tc.consumer))
			_, err := c.Users.Current(ctx(t))
			var apiErr *obp.APIError
			require.ErrorAs(t, err, &apiErr)
			assert.Equal(t, tc.status, apiErr.StatusCode)
			assert.True(t, errors.Is(err, tc.code), err.Error())
			assert.NotContains(t, err.Error(), tc.pass)
			assert.Equal(t, 0, s.Count(http.MethodGet, currentPath), "the call is not sent without a token")
			assert.Equal(t, 1, s.Count(http.MethodPost, "/my/logins/direct"))

			_, err = c.DirectLogin(ctx(t))
			assert.True(t, errors.Is(err, tc.code))
		})
	}
	// A missing-parameter answer (OBP-20002) decodes too.
	s.Inject(1, fake.Status(400, obptest.ErrorBody(400, obptest.MsgDirectLoginMissingParameters+" consumer_key")).On(http.MethodPost, "/my/logins/direct"))
	_, err := loginClient(t, s).DirectLogin(ctx(t))
	assert.True(t, errors.Is(err, obp.ErrDirectLoginMissingParameters))
}

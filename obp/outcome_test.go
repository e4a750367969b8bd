package obp_test

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

// The outcome model against the fake OBP instance, with a proxy in front of it that
// lets OBP act and then breaks the answer. The client authenticates with DAuth, whose
// header name the proxy must forward as sent.

var outcomeBreaking = []struct {
	name   string
	fault  fake.Fault
	status int // the status of the *obp.APIError; 0 for a 2xx whose body cannot be used
}{
	{"cut 2xx body", fake.CutBody(), 0},
	{"malformed 2xx body", fake.ActThenMalformed(), 0},
	{"500", fake.ActThen(http.StatusInternalServerError, obptest.ErrorBody(500, obptest.MsgUnknownError)), http.StatusInternalServerError},
	{"502", fake.ActThen(http.StatusBadGateway, "<html>bad gateway</html>"), http.StatusBadGateway},
	{"503 without Retry-After", fake.ActThen(http.StatusServiceUnavailable, ""), http.StatusServiceUnavailable},
	{"504", fake.ActThen(http.StatusGatewayTimeout, ""), http.StatusGatewayTimeout},
}

var outcomeRefusals = map[string]fake.Fault{
	"429":                  fake.Status(http.StatusTooManyRequests, ""),
	"503 with Retry-After": fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0"),
}

// outcomeSetup starts the fake, a breaking proxy in front of it and a DAuth client of
// the proxy whose user owns the default account.
func outcomeSetup(t *testing.T) (*obptest.Server, *fake.Server, *obp.Client) {
	t.Helper()
	s := setup(t)
	dauthHolder(t, s)
	proxy, err := fake.NewBreakingProxy(s.URL())
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	c, err := obp.NewClient(obp.WithBaseURL(proxy.URL()), fast, obp.WithDAuth(dauthConfig(s)))
	require.NoError(t, err)
	closeWhenDone(t, c)
	return s, proxy, c
}

func requireOutcomeUnknown(t *testing.T, err error, status int) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, obp.ErrOutcomeUnknown)
	var ae *obp.APIError
	if status == 0 {
		assert.False(t, errors.As(err, &ae), "a 2xx is not an API error: %v", err)
		return
	}
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, status, ae.StatusCode)
}

func TestGrantBrokenAfterOBPActed(t *testing.T) {
	path := accessPrefix() + "account-access/grant"
	for _, b := range outcomeBreaking {
		t.Run(b.name, func(t *testing.T) {
			s, proxy, c := outcomeSetup(t)
			bob := s.EnsureUser("0xb0b", obp.DAuthProvider("ETH"))
			proxy.Inject(1, b.fault.On(http.MethodPost, path))

			_, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, obp.AccountAccessRequest{UserID: bob,
				View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}})

			requireOutcomeUnknown(t, err, b.status)
			assert.Equal(t, []string{"ReadBalances"}, s.Access(bankID, accountID, bob), "OBP granted the view")
			assert.Equal(t, 1, s.Count(http.MethodPost, path), "OBP received the grant once")
			assert.Equal(t, 1, proxy.Count(http.MethodPost, path))
			assert.Equal(t, []string{"DAuth"}, headerNamesLike(s.Requests(), "dauth"), "the header name arrived as sent")
		})
	}
	for name, f := range outcomeRefusals {
		t.Run(name, func(t *testing.T) {
			s, proxy, c := outcomeSetup(t)
			bob := s.EnsureUser("0xb0b", obp.DAuthProvider("ETH"))
			proxy.Inject(1, f.On(http.MethodPost, path))

			v, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, obp.AccountAccessRequest{UserID: bob,
				View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}})

			require.NoError(t, err)
			assert.Equal(t, "ReadBalances", v.ID)
			assert.Equal(t, 1, s.Count(http.MethodPost, path), "OBP acted once")
			assert.Equal(t, 2, proxy.Count(http.MethodPost, path), "re-sent after the refusal")
		})
	}
}

func TestCreateUserWithAccessBrokenAfterOBPActed(t *testing.T) {
	path := accessPrefix() + "user-account-access"
	req := obp.CreateUserAccountAccessRequest{Username: "0xfeed", Provider: obp.DAuthProvider("ETHEREUM"),
		Views: []obp.ViewSelector{{ViewID: "ReadBalances", IsSystem: true}}}
	for _, b := range outcomeBreaking {
		t.Run(b.name, func(t *testing.T) {
			s, proxy, c := outcomeSetup(t)
			users := s.Users()
			proxy.Inject(1, b.fault.On(http.MethodPost, path))

			_, err := c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, req)

			requireOutcomeUnknown(t, err, b.status)
			assert.Equal(t, users+1, s.Users(), "OBP created the user once")
			uid, ok := s.UserID("0xfeed", "dauth.ETHEREUM")
			require.True(t, ok)
			assert.Equal(t, []string{"ReadBalances"}, s.Access(bankID, accountID, uid))
			assert.Equal(t, 1, s.Count(http.MethodPost, path))
			assert.Equal(t, 1, proxy.Count(http.MethodPost, path))
		})
	}
	for name, f := range outcomeRefusals {
		t.Run(name, func(t *testing.T) {
			s, proxy, c := outcomeSetup(t)
			users := s.Users()
			proxy.Inject(1, f.On(http.MethodPost, path))

			views, err := c.AccountAccess.CreateUserWithAccountAccess(ctx(t), bankID, accountID, req)

			require.NoError(t, err)
			require.Len(t, views, 1)
			assert.Equal(t, users+1, s.Users(), "OBP acted once")
			assert.Equal(t, 1, s.Count(http.MethodPost, path))
			assert.Equal(t, 2, proxy.Count(http.MethodPost, path))
		})
	}
}

// headerNamesLike returns the distinct header names, as received, equal to name
// ignoring case.
func headerNamesLike(reqs []fake.Request, name string) []string {
	seen := map[string]bool{}
	var out []string
	for _, r := range reqs {
		for _, n := range r.HeaderNames() {
			if strings.EqualFold(n, name) && !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
		}
	}
	return out
}

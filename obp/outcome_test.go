package obp_test

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

// The outcome model against the fake OBP instance, with a proxy in front of it that
// lets OBP act and then breaks the answer (fake.OutcomeFaults). The client
// authenticates with DAuth, whose header name the proxy must forward as sent.

var outcomeAPIStatus = testkit.StatusOf(func(e *obp.APIError) int { return e.StatusCode })

// outcomeSetup starts the fake, a breaking proxy in front of it and a DAuth client of
// the proxy whose user owns the default account.
func outcomeSetup(t *testing.T) (*obptest.Server, *fake.Server, *obp.Client) {
	t.Helper()
	s := setup(t)
	dauthHolder(t, s)
	proxy := testkit.BreakingProxy(t, s.URL())
	c, err := obp.NewClient(obp.WithBaseURL(proxy.URL()), fast, obp.WithDAuth(dauthConfig(s)))
	require.NoError(t, err)
	closeWhenDone(t, c)
	return s, proxy, c
}

func TestGrantOutcome(t *testing.T) {
	path := accessPrefix() + "account-access/grant"
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[*obp.View]{
		ErrorBody: obptest.ErrorBody(500, obptest.MsgUnknownError),
		APIStatus: outcomeAPIStatus,
		Start: func(t *testing.T) testkit.OutcomeRun[*obp.View] {
			s, proxy, c := outcomeSetup(t)
			bob := s.EnsureUser("0xb0b", obp.DAuthProvider("ETH"))
			return testkit.OutcomeRun[*obp.View]{
				Proxy: proxy, Method: http.MethodPost, Path: path,
				Call: func(ctx context.Context) (*obp.View, error) {
					return c.AccountAccess.Grant(ctx, bankID, accountID, obp.AccountAccessRequest{UserID: bob,
						View: obp.ViewSelector{ViewID: "ReadBalances", IsSystem: true}})
				},
				Acted:    func() int { return len(s.Access(bankID, accountID, bob)) },
				Received: func() int { return s.Count(http.MethodPost, path) },
				Unknown: func(t *testing.T, _ error) {
					assert.Equal(t, []string{"ReadBalances"}, s.Access(bankID, accountID, bob), "OBP granted the view")
					assert.Equal(t, []string{"DAuth"}, headerNamesLike(s.Requests(), "dauth"), "the header name arrived as sent")
				},
				Resent: func(t *testing.T, v *obp.View) {
					require.NotNil(t, v)
					assert.Equal(t, "ReadBalances", v.ID)
				},
			}
		},
	})
}

func TestCreateUserWithAccessOutcome(t *testing.T) {
	path := accessPrefix() + "user-account-access"
	req := obp.CreateUserAccountAccessRequest{Username: "0xfeed", Provider: obp.DAuthProvider("ETHEREUM"),
		Views: []obp.ViewSelector{{ViewID: "ReadBalances", IsSystem: true}}}
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[[]obp.View]{
		ErrorBody: obptest.ErrorBody(500, obptest.MsgUnknownError),
		APIStatus: outcomeAPIStatus,
		Start: func(t *testing.T) testkit.OutcomeRun[[]obp.View] {
			s, proxy, c := outcomeSetup(t)
			return testkit.OutcomeRun[[]obp.View]{
				Proxy: proxy, Method: http.MethodPost, Path: path,
				Call: func(ctx context.Context) ([]obp.View, error) {
					return c.AccountAccess.CreateUserWithAccountAccess(ctx, bankID, accountID, req)
				},
				Acted:    s.Users,
				Received: func() int { return s.Count(http.MethodPost, path) },
				Unknown: func(t *testing.T, _ error) {
					uid, ok := s.UserID("0xfeed", "dauth.ETHEREUM")
					require.True(t, ok, "OBP created the user")
					assert.Equal(t, []string{"ReadBalances"}, s.Access(bankID, accountID, uid))
				},
				Resent: func(t *testing.T, views []obp.View) {
					require.Len(t, views, 1)
				},
			}
		},
	})
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

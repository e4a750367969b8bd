package obp_test

import (
	"errors"
	"github.com/banksdk/banksdk/fake"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/internal/rest"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func TestPostWithLostAnswerIsSentOnce(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s)
	dauthHolder(t, s)
	bob := s.EnsureUser("0xb0b", "dauth.ETH")
	path := accessPrefix() + "account-access/grant"
	s.Inject(1, fake.DropAfter().On(http.MethodPost, path))

	_, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq(bob, "ReadBalances", true))
	require.Error(t, err)
	assert.True(t, errors.Is(err, obp.ErrOutcomeUnknown))
	var te *rest.TransportError
	require.ErrorAs(t, err, &te)
	assert.True(t, te.OutcomeUnknown)
	assert.Equal(t, 1, s.Count(http.MethodPost, path), "never re-sent")
	assert.Equal(t, []string{"ReadBalances"}, s.Access(bankID, accountID, bob), "the server did act on it")
}

func TestPutWithLostAnswerIsSentOnce(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	_, err := c.DirectLogin(ctx(t))
	require.NoError(t, err)
	bob := s.EnsureUser("0xb0b", "dauth.ETH")
	require.NoError(t, s.GrantAccess(bankID, accountID, bob, "owner"))
	path := accessPrefix() + "account-access"
	s.Inject(1, fake.DropAfter().On(http.MethodPut, path))

	_, err = c.AccountAccess.RevokeGrant(ctx(t), bankID, accountID, []string{"auditor"})
	assert.True(t, errors.Is(err, obp.ErrOutcomeUnknown))
	assert.Equal(t, 1, s.Count(http.MethodPut, path))
}

func TestGetRetriedOnTransportErrorsAnd5xx(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s)
	s.Inject(1, fake.Status(http.StatusBadGateway, "").On(http.MethodGet, currentPath))
	s.Inject(1, fake.Status(http.StatusTooManyRequests, "").WithRetryAfter("0").On(http.MethodGet, currentPath))
	_, err := c.Users.Current(ctx(t))
	require.NoError(t, err)
	assert.Equal(t, 3, s.Count(http.MethodGet, currentPath))
}

func TestRetryAfterLongerThanMaxWait(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s)
	s.Inject(1, fake.Status(http.StatusServiceUnavailable, obptest.ErrorBody(503, obptest.MsgUnknownError)).WithRetryAfter("120").On(http.MethodGet, currentPath))
	start := time.Now()
	_, err := c.Users.Current(ctx(t))
	var ra *rest.RetryAfterError
	require.ErrorAs(t, err, &ra)
	assert.Equal(t, 120*time.Second, ra.RetryAfter)
	assert.True(t, errors.Is(err, obp.ErrUnknownError))
	assert.Less(t, time.Since(start), 5*time.Second)
	assert.Equal(t, 1, s.Count(http.MethodGet, currentPath))
}

func TestAPIErrorsAreNotRetried(t *testing.T) {
	s := setup(t)
	c := loginClient(t, s)
	_, err := c.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq("nobody", "owner", true))
	assert.True(t, errors.Is(err, obp.ErrUserNotFoundByID))
	assert.Equal(t, 1, s.Count(http.MethodPost, accessPrefix()+"account-access/grant"))
}

func TestMalformedAnswer(t *testing.T) {
	s := setup(t)
	c := dauthClient(t, s)
	s.Inject(1, fake.Malformed().On(http.MethodGet, currentPath))
	_, err := c.Users.Current(ctx(t))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "decoding response")
}

package tkey7test_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

func TestTokenValueIssuesTheGivenToken(t *testing.T) {
	clock := tkey7test.NewClock(time.Time{})
	srv := setup(t, tkey7test.WithClock(clock.Now))
	tok := srv.IssueToken(tkey7test.TokenValue("tk7-static-demo"))
	assert.Equal(t, "tk7-static-demo", tok)
	assert.Equal(t, tkey7test.StateActive, srv.State(tok))
	a := call(t, http.MethodGet, srv.URL()+"/digital-accounts", tok, "")
	assert.Equal(t, http.StatusOK, a.status, "%s", a.body)
	assert.Equal(t, http.StatusOK, refresh(t, srv, tok).status)

	again := srv.IssueToken(tkey7test.TokenValue("tk7-static-demo"))
	assert.NotEqual(t, tok, again, "a value already issued is not issued twice")
	assert.NotEmpty(t, srv.IssueToken(tkey7test.TokenValue("")), "an empty value mints a token")

	clock.Advance(tkey7test.DefaultRevokeAfter + time.Second)
	assert.Equal(t, tkey7test.StateRevoked, srv.State(tok), "the given token follows the revoke window")
}

func TestResetStartsOver(t *testing.T) {
	srv := setup(t)
	tok := srv.IssueToken()
	a := call(t, http.MethodPost, srv.URL()+"/digital-accounts", tok, `{"id":"da-new"}`)
	require.Equal(t, http.StatusCreated, a.status, "%s", a.body)
	require.Equal(t, http.StatusOK, refresh(t, srv, tok).status)
	srv.Inject(1, fake.Status(503, ""))
	require.Contains(t, srv.DigitalAccountIDs(), "da-new")

	srv.Reset()
	assert.Equal(t, tkey7test.DefaultAccountIDs(), srv.DigitalAccountIDs())
	assert.Equal(t, tkey7test.StateUnknown, srv.State(tok), "tokens issued before Reset are gone")
	assert.Zero(t, srv.Refreshes())
	assert.Empty(t, srv.Requests())

	fresh := srv.IssueToken()
	a = call(t, http.MethodGet, srv.URL()+"/digital-accounts/da-0001", fresh, "")
	assert.Equal(t, http.StatusOK, a.status, "the injected fault is gone: %s", a.body)
	a = call(t, http.MethodGet, srv.URL()+"/digital-accounts", tok, "")
	assert.Equal(t, http.StatusUnauthorized, a.status)
	assert.Equal(t, tkey7test.CodeTokenUnknown, code(t, a))
	assert.Equal(t, 1, srv.Unauthorized())
}

func TestWithListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := setup(t, tkey7test.WithListener(ln))
	assert.Equal(t, "http://"+ln.Addr().String(), srv.Origin())
	a := call(t, http.MethodGet, "http://"+ln.Addr().String()+tkey7test.BasePath+"/digital-accounts", srv.IssueToken(), "")
	assert.Equal(t, http.StatusOK, a.status, "%s", a.body)
}

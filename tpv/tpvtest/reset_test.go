package tpvtest_test

import (
	"net"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func TestResetStartsOver(t *testing.T) {
	c := &clock{now: time.Unix(fixedTimestamp, 0)}
	s := setup(t, tpvtest.WithCredentials(fixedToken, fixedSecret), tpvtest.WithClock(c.Now))
	auth := login(t, s, c.Now())
	a := call(t, s, auth, http.MethodPost, tpvtest.PathTPV, "", []byte(seedExample))
	require.Equal(t, http.StatusOK, a.status, a.raw)
	require.Equal(t, tpvtest.FirstConfirmationCode, a.body["success"])
	s.Inject(1, fake.Status(503, ""))

	s.Reset()
	assert.Equal(t, fixedToken, s.AppToken(), "the credentials stay")
	assert.Equal(t, fixedSecret, s.AppSecret())
	assert.Empty(t, s.Submissions())
	assert.Zero(t, s.Logins())
	assert.Zero(t, s.AuthTokens())
	assert.Empty(t, s.Requests())

	a = call(t, s, auth, http.MethodPost, tpvtest.PathTPV, "", []byte(seedExample))
	assert.Equal(t, http.StatusBadRequest, a.status, "an auth token from before Reset is unknown, and the fault is gone: %s", a.raw)
	assert.Equal(t, "invalid auth token.", a.body["error"])

	auth = login(t, s, c.Now())
	a = call(t, s, auth, http.MethodPost, tpvtest.PathTPV, "", []byte(seedExample))
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Equal(t, tpvtest.FirstConfirmationCode, a.body["success"], "confirmation codes start again")
}

func TestWithListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := setup(t, tpvtest.WithListener(ln))
	assert.Equal(t, "http://"+ln.Addr().String(), s.URL())
	login(t, s, time.Now())
	assert.Equal(t, 1, s.Logins())
}

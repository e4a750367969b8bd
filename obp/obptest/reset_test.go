package obptest_test

import (
	"net"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/obp/obptest"
)

func TestFixedDirectLoginCredentials(t *testing.T) {
	s := setup(t, obptest.WithPassword("pw-demo"), obptest.WithConsumerKey("ck-demo"))
	assert.Equal(t, "pw-demo", s.Password())
	assert.Equal(t, "ck-demo", s.ConsumerKey())
	a := call(t, s, "POST", "/my/logins/direct", map[string]string{
		"DirectLogin": "username=" + obptest.DefaultUsername + ", password=pw-demo, consumer_key=ck-demo"}, "")
	assert.Equal(t, http.StatusCreated, a.status, string(a.raw))
	assert.NotEmpty(t, a.body["token"])

	random := setup(t, obptest.WithPassword(""), obptest.WithConsumerKey(""))
	assert.NotEmpty(t, random.Password(), "empty values are ignored")
	assert.NotEmpty(t, random.ConsumerKey())
}

func TestResetStartsOver(t *testing.T) {
	s := setup(t)
	tok := login(t, s)
	uid := s.AddDirectLoginUser("alice", "pw-alice")
	s.AddConsumerKey("extra-key")
	s.Inject(1, fake.Status(503, ""))
	before, ok := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	require.True(t, ok)
	require.Equal(t, 1, s.Logins())

	s.Reset()
	assert.Equal(t, 1, s.Users(), "only the default user is left")
	_, ok = s.UserID("alice", s.LocalProvider())
	assert.False(t, ok, "user %s is gone", uid)
	after, ok := s.UserID(obptest.DefaultUsername, s.LocalProvider())
	require.True(t, ok)
	assert.NotEqual(t, before, after)
	assert.Equal(t, []string{obptest.ViewOwner}, s.Access(obptest.DefaultBankID, obptest.DefaultAccountID, after))
	assert.Zero(t, s.Logins())
	assert.Empty(t, s.Requests())

	a := call(t, s, "GET", v4+"/users/current", map[string]string{"DirectLogin": "token=" + tok}, "")
	assert.Equal(t, http.StatusUnauthorized, a.status, "a DirectLogin token from before Reset is unknown, and the fault is gone: %s", a.raw)
	a = call(t, s, "POST", "/my/logins/direct", map[string]string{
		"DirectLogin": "username=u, password=p, consumer_key=extra-key"}, "")
	assert.Equal(t, http.StatusUnauthorized, a.status, "the extra consumer key is gone: %s", a.raw)
	tok = login(t, s)
	a = call(t, s, "GET", v4+"/users/current", map[string]string{"DirectLogin": "token=" + tok}, "")
	assert.Equal(t, http.StatusOK, a.status, string(a.raw))
	assert.Equal(t, after, a.body["user_id"])
}

func TestWithListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := setup(t, obptest.WithListener(ln))
	assert.Equal(t, "http://"+ln.Addr().String(), s.URL())
	login(t, s)
	assert.Equal(t, 1, s.Logins())
}

// TestResetNeverShowsAnEmptyInstance: a request (here the Users count, read under the
// same lock) made while Reset runs sees the instance before or after it, never one
// without its default user.
func TestResetNeverShowsAnEmptyInstance(t *testing.T) {
	s := setup(t)
	stop := make(chan struct{})
	done := make(chan int)
	go func() {
		empty := 0
		for {
			select {
			case <-stop:
				done <- empty
				return
			default:
			}
			if s.Users() == 0 {
				empty++
			}
		}
	}()
	for i := 0; i < 2000; i++ {
		s.Reset()
	}
	close(stop)
	assert.Zero(t, <-done, "reads that found no user while Reset ran")
}

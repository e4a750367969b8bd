package saltedgetest_test

import (
	"net"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

type testClock struct {
	mu  sync.Mutex
	now time.Time
}

func (c *testClock) Now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.now }
func (c *testClock) Add(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

func TestWithClockDrivesSessionAndTokenExpiry(t *testing.T) {
	clk := &testClock{now: time.Now()}
	s := setup(t, saltedgetest.WithClock(clk.Now), saltedgetest.WithSessionTTL(15*time.Minute))
	s.OpenSession("sess-clock")
	sess, ok := s.Session("sess-clock")
	require.True(t, ok)
	assert.Equal(t, clk.Now(), sess.OpenedAt, "the session opens at the fake's time")
	s.AddToken("tok-exp", "u-1", clk.Now().Add(time.Hour))

	clk.Add(16 * time.Minute)
	// The callback's own exp is a minute past the fake's time, so only the session's
	// age refuses it.
	exp := clk.Now().Add(time.Minute)
	st, body := send(t, s, callback{method: "POST", name: "sessions/update", exp: &exp,
		data: map[string]any{"session_secret": "sess-clock", "status": "redirect", "extra": map[string]any{"redirect_url": "https://bank/x"}}})
	assert.Equal(t, 401, st, body)
	assert.Equal(t, "SessionExpired", body["error_class"])

	// A callback whose exp is right by the wall clock is expired by the fake's.
	st, body = send(t, s, callback{method: "GET", name: "tokens/index"})
	assert.Equal(t, 401, st, "exp is checked against the fake's clock: %v", body)
	cbs := s.Callbacks()
	assert.Equal(t, clk.Now(), cbs[len(cbs)-1].ReceivedAt)

	clk.Add(time.Hour)
	exp = clk.Now().Add(time.Minute)
	st, body = send(t, s, callback{method: "DELETE", name: "tokens/revoke", exp: &exp, token: "tok-exp"})
	assert.Equal(t, 401, st, body)
	assert.Equal(t, "TokenExpired", body["error_class"], "the token is past its expiry by the fake's clock")
}

func TestResetStartsOver(t *testing.T) {
	s := setup(t)
	pub := s.PublicKey()
	s.OpenSession("sess-1")
	st, body := send(t, s, callback{method: "POST", name: "sessions/success", data: map[string]any{
		"session_secret": "sess-1", "token": "tok-A", "user_id": "u-1"}})
	require.Equal(t, 200, st, body)
	require.Len(t, s.Tokens(), 1)
	s.RotateSigningKey(testKeys()[3], "k2")
	s.AddClient(saltedgetest.Client{ID: 5, Name: "Later", Key: testKeys()[3]})
	s.Inject(1, fake.Status(503, ""))

	s.Reset()
	assert.Empty(t, s.Tokens())
	assert.Empty(t, s.Callbacks())
	assert.Empty(t, s.Requests())
	_, ok := s.Session("sess-1")
	assert.False(t, ok)
	assert.True(t, pub.Equal(s.PublicKey()), "the signing key rotation is undone")
	_, ok = s.ClientApp(5)
	assert.False(t, ok, "clients added later are gone")
	cl, ok := s.ClientApp(saltedgetest.DefaultClientID)
	require.True(t, ok)
	assert.True(t, testKeys()[2].Equal(cl.Key), "the initial clients keep their keys")

	st, body = send(t, s, callback{method: "POST", name: "sessions/update", data: map[string]any{
		"session_secret": "sess-1", "status": "redirect", "extra": map[string]any{"redirect_url": "https://bank/x"}}})
	assert.Equal(t, 404, st, "the session is gone, and the fault too: %v", body)
	s.OpenSession("sess-2")
	st, body = send(t, s, callback{method: "POST", name: "sessions/success", data: map[string]any{
		"session_secret": "sess-2", "token": "tok-B", "user_id": "u-1"}})
	require.Equal(t, 200, st, body)
	toks := s.Tokens()
	require.Len(t, toks, 1)
	assert.Equal(t, int64(1), toks[0].ID, "token ids start again")
}

func TestWithListener(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	s := setup(t, saltedgetest.WithListener(ln))
	assert.Equal(t, "http://"+ln.Addr().String(), s.URL())
	st, body := send(t, s, callback{method: "GET", name: "tokens/index"})
	assert.Equal(t, 200, st, body)
}

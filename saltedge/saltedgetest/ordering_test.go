package saltedgetest_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// Whatever a test waits on (WaitSession, WaitCallbacks, the callback's answer), the
// callback that moved the state is already in Callbacks: the fake records a callback
// before it wakes a waiter or answers. Run many times, since a lagging log shows up
// only in some interleavings.
func TestCallbackRecordedBeforeStateIsObservable(t *testing.T) {
	s := setup(t)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	for i := range 50 {
		secret := fmt.Sprintf("sess-order-%d", i)
		s.OpenSession(secret)
		errc := make(chan error, 1)
		go func() {
			st, body := sendNoT(s, "sessions/success", map[string]any{"session_secret": secret, "token": "tok-" + secret})
			if st != 200 {
				errc <- fmt.Errorf("answered %d %v", st, body)
				return
			}
			// The connector has its answer: the callback must be in the log.
			if !hasCallback(s.Callbacks(), secret) {
				errc <- fmt.Errorf("answered before the callback was recorded")
				return
			}
			errc <- nil
		}()
		sess, err := s.WaitSession(ctx, secret)
		require.NoError(t, err)
		require.Equal(t, saltedgetest.SessionSuccess, sess.Status)
		require.True(t, hasCallback(s.Callbacks(), secret), "session %d closed but its callback is not in the log", i)
		require.Equal(t, 1, s.CallbackCount("sessions/success")-i, "every accepted success is counted once the session closed")
		select {
		case err := <-errc:
			require.NoError(t, err)
		case <-ctx.Done():
			t.Fatal("the callback was not answered in time")
		}
	}
	toks := s.Tokens()
	assert.Len(t, toks, 50, "each success recorded its token")
}

func hasCallback(cbs []saltedgetest.Callback, secret string) bool {
	for _, c := range cbs {
		if c.Name == "sessions/success" && c.Status == 200 && strings.Contains(string(c.Data), `"`+secret+`"`) {
			return true
		}
	}
	return false
}

// sendNoT sends a signed callback from a goroutine (no *testing.T).
func sendNoT(s *saltedgetest.Server, name string, data map[string]any) (int, string) {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"data": data,
		"exp": time.Now().Add(time.Minute).Unix()}).SignedString(s.PrivateKey())
	if err != nil {
		return 0, err.Error()
	}
	req, err := http.NewRequest(http.MethodPost, s.URL()+saltedgetest.CallbackPrefix+name, nil)
	if err != nil {
		return 0, err.Error()
	}
	req.Header.Set("Authorization", "Bearer "+tok)
	req.Header.Set("App-Id", s.AppID())
	req.Header.Set("App-Secret", s.AppSecret())
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err.Error()
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, string(b)
}

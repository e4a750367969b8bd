package obp_test

import (
	"context"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func TestCallsAfterCloseFail(t *testing.T) {
	s := setup(t)
	dauthHolder(t, s)
	for name, c := range map[string]*obp.Client{
		"DAuth":       dauthClient(t, s),
		"DirectLogin": loginClient(t, s),
		"Consent-JWT": newClient(t, s, obp.WithConsentJWT("consent-value"), obp.WithConsumerKey(s.ConsumerKey())),
	} {
		s.ResetRequests()
		_, err := c.Users.Current(ctx(t))
		if name != "Consent-JWT" {
			require.NoError(t, err, name)
		}
		sent := len(s.Requests())
		require.NotZero(t, sent)

		var wg sync.WaitGroup
		for range 4 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				assert.NoError(t, c.Close())
			}()
		}
		wg.Wait()
		require.NoError(t, c.Close(), "Close is idempotent")

		_, err = c.Users.Current(ctx(t))
		assert.ErrorIs(t, err, obp.ErrClosed, name)
		assert.ErrorIs(t, err, banksdk.ErrClosed, "%s: the one error of every closed client", name)
		_, err = c.AccountAccess.Grant(ctx(t), bankID, accountID, grantReq("u", "owner", true))
		assert.ErrorIs(t, err, obp.ErrClosed, name)
		assert.NotErrorIs(t, err, obp.ErrOutcomeUnknown, "%s: nothing was sent", name)
		_, err = obp.Do[map[string]any](ctx(t), c, "GET", "banks", nil)
		assert.ErrorIs(t, err, obp.ErrClosed, name)
		assert.Len(t, s.Requests(), sent, "%s: a closed client sends nothing", name)
	}

	c := loginClient(t, s)
	require.NoError(t, c.Close())
	_, err := c.DirectLogin(ctx(t))
	assert.ErrorIs(t, err, obp.ErrClosed)
}

// A DirectLogin login outlives the call that started it (other callers may be waiting
// for it); Close cancels it and waits for it to end.
func TestCloseStopsDirectLoginInFlight(t *testing.T) {
	s := setup(t)
	// A long attempt timeout: without Close, the stuck login would last the minute.
	c := loginClient(t, s, obp.WithTimeout(time.Minute))
	s.Inject(1, fake.Delay(time.Minute).On(http.MethodPost, "/my/logins/direct"))

	callCtx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := c.Users.Current(callCtx)
		done <- err
	}()
	require.Eventually(t, func() bool { return s.Count(http.MethodPost, "/my/logins/direct") == 1 }, 10*time.Second, time.Millisecond,
		"the login reached the server")
	cancel() // the caller gives up; the login goes on for other callers
	select {
	case err := <-done:
		require.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("the call did not return when its context was cancelled")
	}

	closed := make(chan error, 1)
	go func() { closed <- c.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the login in flight")
	}
	assert.Zero(t, s.Logins(), "the login was cancelled, not completed")
}

// Close closes the idle connection the client keeps to OBP, and with it the
// transport's goroutines; the server keeps running.
func TestCloseClosesIdleConnections(t *testing.T) {
	s := obptest.NewServer(obptest.WithDAuthPrivateKey(sharedKey(t)))
	t.Cleanup(s.Close)
	before := goleak.IgnoreCurrent()

	c, err := obp.NewClient(obp.WithBaseURL(s.URL()), obp.WithDAuth(dauthConfig(s)))
	require.NoError(t, err)
	_, err = c.Users.Current(ctx(t))
	require.NoError(t, err)
	require.Error(t, goleak.Find(before), "a kept-alive connection has goroutines on both ends")

	require.NoError(t, c.Close())
	assert.NoError(t, goleak.Find(before), "after Close no goroutine of the client or its connection is left")
}

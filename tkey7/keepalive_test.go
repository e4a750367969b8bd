package tkey7_test

import (
	"errors"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// window is the revoke window the tests that need the client's own deadline run with,
// in place of 15 minutes.
const window = 300 * time.Millisecond

// slack is the revoke window of tests where the window is not what is tested: no
// loaded machine stalls that long, so the keep-alive's real-time schedule never decides
// the outcome, and the tests wait for refreshes as events.
const slack = 10 * time.Second

// interval is the refresh interval those tests use.
const interval = 20 * time.Millisecond

// An idle client keeps its token valid across three and a half revoke windows with no
// calls from the user. The fake runs on a clock the test moves: half a window at a
// time, each time only after the keep-alive refreshed, so the fake revokes the token
// if two half windows pass without a refresh; the refreshes form one chain from the
// issued token.
func TestIdleClientKeepsTokenAliveAcrossWindows(t *testing.T) {
	cases := map[string][]tkey7test.Option{
		"in place, access_token": nil,
		"rotation, access_token": {tkey7test.WithRotation()},
		"rotation, token":        {tkey7test.WithRotation(), tkey7test.WithRefreshTokenField("token")},
		"rotation, accessToken":  {tkey7test.WithRotation(), tkey7test.WithRefreshTokenField("accessToken")},
		"empty answer":           {tkey7test.WithRefreshTokenField("")},
		"opaque tokens":          {tkey7test.WithRotation(), tkey7test.WithOpaqueTokens()},
	}
	for name, srvOpts := range cases {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := tkey7test.NewClock(time.Time{})
			rec, hook := recordRefreshes()
			e := setup(t, append(srvOpts, tkey7test.WithClock(clock.Now), hook),
				tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))

			// Idle (the point of the test): 7 half windows of the fake's 15 minutes.
			for i := range 7 {
				now := clock.Advance(tkey7test.DefaultRevokeAfter / 2)
				// A refresh the fake handled at the new time: one it handled before the
				// move may report only now, and must not count.
				rec.waitFor(t, "a refresh after the clock moved", func(evs []tkey7test.RefreshEvent) bool {
					for _, ev := range evs {
						if ev.Status == 200 && !ev.At.Before(now) {
							return true
						}
					}
					return false
				})
				require.Equal(t, tkey7test.StateActive, e.srv.State(e.srv.CurrentToken(e.token)), "after half window %d", i+1)
			}
			evs := rec.all()
			assertChain(t, e.token, evs)
			prev := e.issuedAt
			for _, ev := range evs {
				assert.Equal(t, 200, ev.Status, "no refresh was refused")
				assert.LessOrEqual(t, ev.At.Sub(prev), tkey7test.DefaultRevokeAfter/2+time.Second,
					"refreshed within half a window of the fake's clock")
				prev = ev.At
			}

			// The token works, and the client sends the current one.
			list, err := e.client.DigitalAccounts.List(ctx(t))
			require.NoError(t, err)
			assert.Equal(t, 3, list.Len())
			assert.Zero(t, e.srv.RetiredTokenUses())
			assert.Zero(t, e.srv.Unauthorized())
			assert.Equal(t, 1, e.srv.Count("GET", "digital-accounts"), "the user made one call")
		})
	}
}

// The refresh call is what the contract says: POST <base>/oauth-token/refresh with the
// current token as bearer.
func TestRefreshRequestShape(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{tkey7test.WithRotation(), hook},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))
	rec.waitOK(t, 2)
	reqs := e.srv.Requests()
	require.GreaterOrEqual(t, len(reqs), 2)
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, tkey7test.Path("oauth-token/refresh"), reqs[0].Path)
	assert.Equal(t, []string{"Bearer " + e.token}, reqs[0].RawHeader("Authorization"))
	assert.Empty(t, reqs[0].Body)
	assert.NotEqual(t, reqs[0].RawHeader("Authorization"), reqs[1].RawHeader("Authorization"),
		"the second refresh carries the rotated token")
}

func TestCustomRefreshEndpoint(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{tkey7test.WithRefreshEndpoint("PUT", "auth/renew"), hook},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval), tkey7.WithRefreshEndpoint("put", "/auth/renew/"))
	rec.waitOK(t, 2)
	assert.Zero(t, e.srv.Count("POST", "oauth-token/refresh"))
	assert.GreaterOrEqual(t, e.srv.Count("PUT", "auth/renew"), 2)
}

// A refresh that fails (5xx, dropped connection before or after the server ran, an
// answer slower than the attempt timeout) is retried, and a retry succeeds: the client
// refreshed the same token again and keeps working. The fake's clock stands still, so
// only the client's handling of the faults decides the outcome.
func TestFailingRefreshIsRetriedBeforeTheDeadline(t *testing.T) {
	faults := map[string]struct {
		n      int
		inject func(srv *tkey7test.Server)
	}{
		"500 twice":       {2, func(srv *tkey7test.Server) { srv.InjectError(2, 500, "POST", "oauth-token/refresh") }},
		"503 three times": {3, func(srv *tkey7test.Server) { srv.InjectError(3, 503, "POST", "oauth-token/refresh") }},
		"dropped before": {2, func(srv *tkey7test.Server) {
			srv.Inject(2, fake.DropBefore().On("POST", srv.RefreshPath()))
		}},
		"dropped after": {2, func(srv *tkey7test.Server) {
			srv.Inject(2, fake.DropAfter().On("POST", srv.RefreshPath()))
		}},
		"slow answer": {1, func(srv *tkey7test.Server) {
			srv.Inject(1, fake.Delay(time.Minute).On("POST", srv.RefreshPath()))
		}},
	}
	for name, tc := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			clock := tkey7test.NewClock(time.Time{})
			rec, hook := recordRefreshes()
			srv := tkey7test.NewServer(tkey7test.WithClock(clock.Now), hook)
			t.Cleanup(srv.Close)
			tc.inject(srv) // before the client exists: its first refreshes take the faults
			issuedAt := time.Now()
			tok := srv.IssueToken()
			client, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issuedAt),
				tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond),
				tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval), tkey7.WithTimeout(time.Second))
			require.NoError(t, err)
			t.Cleanup(func() { _ = client.Close() })

			faulted := func() int {
				n := 0
				for _, r := range srv.Requests() {
					if r.Fault != "" {
						n++
					}
				}
				return n
			}
			// Every fault taken, then a refresh that went through.
			evs := rec.waitFor(t, "the faults to be taken", func([]tkey7test.RefreshEvent) bool { return faulted() == tc.n })
			rec.waitOK(t, countOK(evs)+1)
			// A refresh the fake ran but whose answer was dropped counts as a refresh
			// at the fake and not at the client: the client sent the same token again.
			assertChain(t, tok, rec.all())
			assert.Equal(t, tc.n, faulted(), "each fault was taken once")
			assert.GreaterOrEqual(t, srv.Count("POST", "oauth-token/refresh"), tc.n+1, "the failed refreshes were retried")
			assert.Equal(t, tkey7test.StateActive, srv.State(tok))
			_, err = client.DigitalAccounts.List(ctx(t))
			require.NoError(t, err)
			for _, ev := range rec.all() {
				assert.Equal(t, 200, ev.Status, "no refresh was refused")
			}
		})
	}
}

// A client whose refreshes keep failing reports the revocation itself once its
// deadline has passed, without sending the dead token, and stops refreshing.
func TestRefreshFailingPastTheDeadline(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window)},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/2))
	e.srv.InjectError(1000, 500, "POST", "oauth-token/refresh")
	deadline := e.issuedAt.Add(window) // no refresh ever succeeds
	waitUntil(t, deadline)

	// Past the deadline the keep-alive no longer hands out the token, whatever its
	// goroutine is doing: nothing is sent.
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "Web Office")
	assert.Zero(t, e.srv.Count("GET", "digital-accounts"), "the revoked token was not sent")
	require.NoError(t, e.client.Close())
	attempts := e.srv.Count("POST", "oauth-token/refresh")
	assert.Positive(t, attempts, "refreshes were tried")
	assert.Less(t, attempts, 40, "backoff, not a storm")
	assert.Zero(t, e.srv.Refreshes())
}

// waitUntil blocks until the wall clock passes at: for rules whose time the client
// itself measures (its revoke deadline, its session cap).
func waitUntil(t *testing.T, at time.Time) {
	t.Helper()
	d := time.Until(at) + time.Millisecond
	if d > waitTimeout {
		t.Fatalf("waitUntil: %v is too far ahead", d)
	}
	if d > 0 {
		time.Sleep(d)
	}
}

// 100 goroutines calling during rotations never send a token the fake has retired.
func TestConcurrentCallsDuringRotationNeverSendRetiredToken(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{tkey7test.WithRotation(), hook},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(10*time.Millisecond))

	const wantRotations = 5
	var calls, failures atomic.Int64
	var firstErr atomic.Value
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				_, err := e.client.DigitalAccounts.Get(ctx(t), "da-0001")
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	// Keep calling until enough rotations happened under load.
	rec.waitOK(t, wantRotations)
	close(stop)
	wg.Wait()
	t.Logf("%d calls during %d rotations", calls.Load(), e.srv.Refreshes())
	assert.Zero(t, failures.Load(), "first error: %v", firstErr.Load())
	assert.Zero(t, e.srv.RetiredTokenUses())
	assert.Zero(t, e.srv.Unauthorized())
	assertChain(t, e.token, rec.all())
	assert.Equal(t, int(calls.Load()), e.srv.Count("GET", "digital-accounts/da-0001"))
}

// A token revoked by TKEY7: the 401 is confirmed with one refresh, which TKEY7 refuses
// too; the error carries every documented field, the call is not sent again, later
// calls are not sent, and the keep-alive stops.
func TestRevokedTokenIsAClearFinalError(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{hook}, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
	e.srv.Revoke(e.token)

	_, err := e.client.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, tkey7test.CodeTokenRevoked, apiErr.Code)
	assert.Equal(t, tkey7test.BuildVersion, apiErr.BuildVersion)
	assert.Equal(t, e.srv.URL()+"/digital-accounts", apiErr.EndpointURL, "the error is the call's, not the refresh's")
	assert.Contains(t, apiErr.LongMessage, "Web Office")
	assert.Equal(t, tkey7test.DefaultMember, apiErr.MemberIdentification)
	assert.Equal(t, tkey7test.ServiceName, apiErr.ServiceName)
	assert.Equal(t, "Token revoked", apiErr.ShortMessage)
	assert.WithinDuration(t, time.Now(), apiErr.Time(), 5*time.Second)
	assert.NotEmpty(t, apiErr.TroubleshootingID)
	assert.Contains(t, err.Error(), "an administrator must create a new access token in the Web Office")
	assert.Contains(t, err.Error(), apiErr.TroubleshootingID)

	// What reached TKEY7: the call, then one refresh to confirm, refused.
	reqs := e.srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, tkey7test.Path("digital-accounts"), reqs[0].Path)
	assert.Equal(t, e.srv.RefreshPath(), reqs[1].Path)
	assert.Equal(t, []string{"Bearer " + e.token}, reqs[1].RawHeader("Authorization"))
	evs := rec.all()
	require.Len(t, evs, 1)
	assert.Equal(t, http.StatusUnauthorized, evs[0].Status)

	for range 5 {
		_, err = e.client.DigitalAccounts.Get(ctx(t), "da-0001")
		require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
		require.ErrorAs(t, err, &apiErr)
		assert.Contains(t, err.Error(), "not sent")
	}
	_, err = tkey7.Do[map[string]any](ctx(t), e.client, "GET", "digital-accounts", nil)
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)

	// Close waits for the keep-alive's goroutine: nothing can be sent after it.
	require.NoError(t, e.client.Close())
	assert.Len(t, e.srv.Requests(), 2, "no retry storm: nothing else reached TKEY7")
	assert.Zero(t, e.srv.Refreshes())
}

// A 401 on the refresh itself stops the keep-alive at once.
func TestRefreshRejectedStopsKeepAlive(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{hook}, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))
	e.srv.Revoke(e.token)
	rec.waitFor(t, "the refused refresh", func(evs []tkey7test.RefreshEvent) bool { return len(evs) == 1 })
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	// The call may leave in the instant between TKEY7's answer and the keep-alive
	// stopping; its 401 is then final at once, or after one refresh refused too.
	gets := e.srv.Count("GET", "digital-accounts")
	assert.LessOrEqual(t, gets, 1)
	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "Web Office")
	require.NoError(t, e.client.Close())
	assert.Equal(t, gets, e.srv.Count("GET", "digital-accounts"), "later calls are not sent")
	refreshes := e.srv.Count("POST", "oauth-token/refresh")
	assert.GreaterOrEqual(t, refreshes, 1)
	assert.LessOrEqual(t, refreshes, 1+gets, "refused once, never again")
}

// The 24-hour cap, known to the client: OnSessionExpiring fires before the cap, the
// keep-alive stops at the cap, calls fail with ErrSessionExpired without reaching
// TKEY7. The cap is the client's own, measured on the wall clock; the warning comes
// long enough before it that no scheduling delay can push it past the cap.
func TestSessionCap(t *testing.T) {
	const session, warning = 800 * time.Millisecond, 600 * time.Millisecond
	warned := make(chan time.Duration, 1)
	e := setup(t, nil,
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(session/8),
		tkey7.WithSessionLength(session), tkey7.WithSessionWarning(warning),
		tkey7.OnSessionExpiring(func(left time.Duration) { warned <- left }))
	end := e.issuedAt.Add(session)
	assert.Equal(t, end, e.client.SessionEnd())

	left := waitChan(t, warned, "OnSessionExpiring")
	assert.Positive(t, left, "fired before the cap")
	assert.LessOrEqual(t, left, warning)

	waitUntil(t, end)
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrSessionExpired)
	assert.Contains(t, err.Error(), "Web Office")
	assert.Zero(t, e.srv.Count("GET", "digital-accounts"))
	require.NoError(t, e.client.Close())
	// The keep-alive ended at the cap with no refresh in flight: every refresh TKEY7
	// saw is one the client completed.
	assert.Equal(t, int64(e.srv.Refreshes()), e.client.Refreshes())
	assert.Empty(t, warned, "OnSessionExpiring fired once")
}

// The cap as TKEY7 enforces it, earlier than the client was told: the 401 is confirmed
// with a refresh, which TKEY7 refuses too; final, and not retried.
func TestSessionCapEnforcedByServer(t *testing.T) {
	clock := tkey7test.NewClock(time.Time{})
	e := setup(t, []tkey7test.Option{tkey7test.WithClock(clock.Now), tkey7test.WithSessionLength(10 * time.Minute)},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(slack/2))
	clock.Advance(11 * time.Minute) // within the revoke window: the session cap decides
	require.Equal(t, tkey7test.StateSessionExpired, e.srv.State(e.token))

	_, err := e.client.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, tkey7test.CodeSessionExpired, apiErr.Code)
	assert.NotEmpty(t, apiErr.TroubleshootingID)
	assert.True(t, errors.Is(err, tkey7.ErrTokenRevoked) || errors.Is(err, tkey7.ErrSessionExpired))
	assert.Contains(t, err.Error(), "Web Office")
	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.Error(t, err)
	assert.Equal(t, 1, e.srv.Count("GET", "digital-accounts"))
	assert.Equal(t, 1, e.srv.Count("POST", "oauth-token/refresh"))
}

// Rotation whose answer is lost: the new token never reached the client, TKEY7
// retired the old one. The outcome is a clear error, not a loop.
func TestRotationWithLostAnswer(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{tkey7test.WithRotation(), hook},
		tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))
	e.srv.Inject(1, fake.DropAfter().On("POST", e.srv.RefreshPath()))
	rec.waitFor(t, "the retry with the retired token", func(evs []tkey7test.RefreshEvent) bool { return len(evs) == 2 })
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "Web Office")
	require.NoError(t, e.client.Close())
	// The call may leave in the instant between TKEY7's refusal and the keep-alive
	// stopping (see TestRefreshRejectedStopsKeepAlive).
	gets := e.srv.Count("GET", "digital-accounts")
	assert.LessOrEqual(t, gets, 1)
	refreshes := e.srv.Count("POST", "oauth-token/refresh")
	assert.GreaterOrEqual(t, refreshes, 2, "lost answer, one retry refused")
	assert.LessOrEqual(t, refreshes, 2+gets, "then stop")
	assert.Equal(t, refreshes-1+gets, e.srv.RetiredTokenUses(), "only the retired token was sent after the lost answer")
}

func TestCloseStopsRefreshing(t *testing.T) {
	rec, hook := recordRefreshes()
	e := setup(t, []tkey7test.Option{hook}, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))
	rec.waitOK(t, 1)
	require.NoError(t, e.client.Close())
	require.NoError(t, e.client.Close(), "Close is idempotent")
	n := len(e.srv.Requests())
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrClosed)
	assert.Contains(t, err.Error(), "closed")
	assert.Equal(t, n, len(e.srv.Requests()), "nothing is sent after Close")
}

// Close returns promptly even while a refresh is waiting for a slow answer.
func TestCloseDuringSlowRefresh(t *testing.T) {
	e := setup(t, nil, tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(interval))
	e.srv.Inject(1, fake.Delay(time.Minute).On("POST", e.srv.RefreshPath()))
	require.Eventually(t, func() bool { return e.srv.Count("POST", "oauth-token/refresh") == 1 },
		waitTimeout, 2*time.Millisecond, "the slow refresh arrives")
	start := time.Now()
	require.NoError(t, e.client.Close())
	assert.Less(t, time.Since(start), 5*time.Second)
}

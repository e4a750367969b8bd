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

// window is the revoke window the keep-alive tests run with, in place of 15 minutes.
// It leaves room for a loaded machine's scheduling delays.
const window = 300 * time.Millisecond

// assertRefreshGaps checks that no two consecutive successful refreshes (nor the
// issuance and the first refresh) are further apart than the revoke window.
func assertRefreshGaps(t *testing.T, issuedAt time.Time, times []time.Time) {
	t.Helper()
	prev := issuedAt
	for i, at := range times {
		assert.Less(t, at.Sub(prev), window, "gap before refresh %d", i+1)
		prev = at
	}
}

// An idle client keeps its token valid across at least three revoke windows with no
// calls from the user; the fake saw the refreshes.
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
			e := setup(t, append(srvOpts, tkey7test.WithRevokeAfter(window)),
				tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4))

			time.Sleep(3*window + window/2) // idle: the point of the test

			refreshes := e.srv.Refreshes()
			assert.GreaterOrEqual(t, refreshes, 6, "about four refreshes per window")
			assert.Equal(t, int64(refreshes), e.client.Refreshes())
			assertRefreshGaps(t, e.issuedAt, e.srv.RefreshTimes())
			assert.Equal(t, tkey7test.StateActive, e.srv.State(e.srv.CurrentToken(e.token)))

			// The token works, and the client sends the current one.
			list, err := e.client.DigitalAccounts.List(ctx(t))
			require.NoError(t, err)
			assert.Len(t, list.Accounts, 3)
			assert.Zero(t, e.srv.RetiredTokenUses())
			assert.Zero(t, e.srv.Unauthorized())
			assert.Equal(t, 1, e.srv.Count("GET", "digital-accounts"), "the user made one call")
		})
	}
}

// The refresh call is what the contract says: POST <base>/oauth-token/refresh with the
// current token as bearer.
func TestRefreshRequestShape(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window), tkey7test.WithRotation()},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4))
	require.Eventually(t, func() bool { return e.srv.Refreshes() >= 2 }, 2*time.Second, 5*time.Millisecond)
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
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window), tkey7test.WithRefreshEndpoint("PUT", "auth/renew")},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4), tkey7.WithRefreshEndpoint("put", "/auth/renew/"))
	require.Eventually(t, func() bool { return e.srv.Refreshes() >= 2 }, 2*time.Second, 5*time.Millisecond)
	assert.Equal(t, e.srv.Refreshes(), e.srv.Count("PUT", "auth/renew"))
}

// A refresh that fails (5xx, dropped connection before or after the server ran) is
// retried, and succeeds before the revoke deadline.
func TestFailingRefreshIsRetriedBeforeTheDeadline(t *testing.T) {
	faults := map[string]func(srv *tkey7test.Server){
		"500 twice": func(srv *tkey7test.Server) { srv.InjectError(2, 500, "POST", "oauth-token/refresh") },
		"503 three times": func(srv *tkey7test.Server) {
			srv.InjectError(3, 503, "POST", "oauth-token/refresh")
		},
		"dropped before": func(srv *tkey7test.Server) {
			srv.Inject(2, fake.DropBefore().On("POST", srv.RefreshPath()))
		},
		"dropped after": func(srv *tkey7test.Server) {
			srv.Inject(2, fake.DropAfter().On("POST", srv.RefreshPath()))
		},
		"slow answer": func(srv *tkey7test.Server) {
			srv.Inject(1, fake.Delay(window).On("POST", srv.RefreshPath()))
		},
	}
	for name, inject := range faults {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window)},
				tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/2),
				tkey7.WithTimeout(window/4))
			inject(e.srv)

			time.Sleep(3 * window)

			faulted := 0
			for _, r := range e.srv.Requests() {
				if r.Fault != "" {
					faulted++
				}
			}
			assert.Positive(t, faulted, "the faults were hit")
			assert.GreaterOrEqual(t, e.srv.Refreshes(), 3)
			assertRefreshGaps(t, e.issuedAt, e.srv.RefreshTimes())
			assert.Equal(t, tkey7test.StateActive, e.srv.State(e.token))
			_, err := e.client.DigitalAccounts.List(ctx(t))
			require.NoError(t, err)
		})
	}
}

// A client whose refreshes keep failing reports the revocation itself, once the
// deadline has passed, without sending the dead token.
func TestRefreshFailingPastTheDeadline(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window)},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/2))
	e.srv.InjectError(1000, 500, "POST", "oauth-token/refresh")
	require.Eventually(t, func() bool { return e.srv.State(e.token) == tkey7test.StateRevoked },
		2*time.Second, 5*time.Millisecond)
	time.Sleep(window / 4)
	attempts := e.srv.Count("POST", "oauth-token/refresh")
	assert.Less(t, attempts, 20, "backoff, not a storm")

	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "Web Office")
	assert.Zero(t, e.srv.Count("GET", "digital-accounts"), "the revoked token was not sent")
	time.Sleep(window)
	assert.Equal(t, attempts, e.srv.Count("POST", "oauth-token/refresh"), "the keep-alive stopped")
}

// 100 goroutines calling during rotations never send a token the fake has retired.
func TestConcurrentCallsDuringRotationNeverSendRetiredToken(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(10 * window), tkey7test.WithRotation()},
		tkey7.WithRevokeAfter(10*window), tkey7.WithRefreshInterval(10*time.Millisecond))

	const wantRotations = 5
	var calls, failures atomic.Int64
	var firstErr atomic.Value
	var done atomic.Bool
	start := time.Now()
	var wg sync.WaitGroup
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for !done.Load() {
				_, err := e.client.DigitalAccounts.Get(ctx(t), "da-0001")
				calls.Add(1)
				if err != nil {
					failures.Add(1)
					firstErr.CompareAndSwap(nil, err.Error())
				}
			}
		}()
	}
	// Keep calling until enough rotations happened under load (or give up).
	for e.srv.Refreshes() < wantRotations && time.Since(start) < 5*time.Second && failures.Load() == 0 {
		time.Sleep(5 * time.Millisecond)
	}
	done.Store(true)
	wg.Wait()
	t.Logf("%d calls, %d rotations in %v", calls.Load(), e.srv.Refreshes(), time.Since(start).Round(time.Millisecond))
	assert.Zero(t, failures.Load(), "first error: %v", firstErr.Load())
	assert.Zero(t, e.srv.RetiredTokenUses())
	assert.Zero(t, e.srv.Unauthorized())
	assert.GreaterOrEqual(t, e.srv.Refreshes(), wantRotations, "rotations happened during the calls")
	assert.Equal(t, int(calls.Load()), e.srv.Count("GET", "digital-accounts/da-0001"))
}

// A token revoked by TKEY7: the 401 carries every documented field, it is not retried,
// later calls are not sent, and the keep-alive stops.
func TestRevokedTokenIsAClearFinalError(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window)},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4))
	e.srv.Revoke(e.token)

	_, err := e.client.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Equal(t, http.StatusUnauthorized, apiErr.StatusCode)
	assert.Equal(t, tkey7test.CodeTokenRevoked, apiErr.Code)
	assert.Equal(t, tkey7test.BuildVersion, apiErr.BuildVersion)
	assert.Equal(t, e.srv.URL()+"/digital-accounts", apiErr.EndpointURL)
	assert.Contains(t, apiErr.LongMessage, "Web Office")
	assert.Equal(t, tkey7test.DefaultMember, apiErr.MemberIdentification)
	assert.Equal(t, tkey7test.ServiceName, apiErr.ServiceName)
	assert.Equal(t, "Token revoked", apiErr.ShortMessage)
	assert.WithinDuration(t, time.Now(), apiErr.Time(), 5*time.Second)
	assert.NotEmpty(t, apiErr.TroubleshootingID)
	assert.Contains(t, err.Error(), "an administrator must create a new access token in the Web Office")
	assert.Contains(t, err.Error(), apiErr.TroubleshootingID)
	assert.Equal(t, 1, e.srv.Count("GET", "digital-accounts"), "a 401 is not retried")

	for range 5 {
		_, err = e.client.DigitalAccounts.Get(ctx(t), "da-0001")
		require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
		require.ErrorAs(t, err, &apiErr)
		assert.Contains(t, err.Error(), "not sent")
	}
	_, err = tkey7.Do[map[string]any](ctx(t), e.client, "GET", "digital-accounts", nil)
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)

	time.Sleep(window)
	assert.Equal(t, 1, len(e.srv.Requests()), "no retry storm: nothing else reached TKEY7")
	assert.Zero(t, e.srv.Refreshes())
}

// A 401 on the refresh itself stops the keep-alive at once.
func TestRefreshRejectedStopsKeepAlive(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window)},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4))
	e.srv.Revoke(e.token)
	require.Eventually(t, func() bool { return e.srv.Count("POST", "oauth-token/refresh") == 1 },
		2*time.Second, 2*time.Millisecond)
	time.Sleep(window)
	assert.Equal(t, 1, e.srv.Count("POST", "oauth-token/refresh"), "refused once, never again")
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Zero(t, e.srv.Count("GET", "digital-accounts"))
}

// The 24-hour cap, known to the client: OnSessionExpiring fires before the cap, the
// keep-alive stops at the cap, calls fail with ErrSessionExpired without reaching
// TKEY7.
func TestSessionCap(t *testing.T) {
	const session = 5 * window / 2
	var warnedAt atomic.Int64
	var remaining atomic.Int64
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window), tkey7test.WithSessionLength(session)},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/3),
		tkey7.WithSessionLength(session), tkey7.WithSessionWarning(window),
		tkey7.OnSessionExpiring(func(left time.Duration) {
			warnedAt.Store(time.Now().UnixNano())
			remaining.Store(int64(left))
		}))
	end := e.issuedAt.Add(session)
	assert.Equal(t, end, e.client.SessionEnd())

	require.Eventually(t, func() bool { return time.Now().After(end.Add(window / 4)) }, 2*session, 5*time.Millisecond)
	require.NotZero(t, warnedAt.Load(), "OnSessionExpiring fired")
	assert.True(t, time.Unix(0, warnedAt.Load()).Before(end), "fired before the cap")
	assert.InDelta(t, float64(window), float64(remaining.Load()), float64(window/2))

	refreshes := e.srv.Count("POST", "oauth-token/refresh")
	assert.GreaterOrEqual(t, refreshes, 4)
	assertRefreshGaps(t, e.issuedAt, e.srv.RefreshTimes())
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrSessionExpired)
	assert.Contains(t, err.Error(), "Web Office")
	time.Sleep(window / 2)
	assert.Equal(t, refreshes, e.srv.Count("POST", "oauth-token/refresh"), "no refresh after the cap")
	assert.Zero(t, e.srv.Count("GET", "digital-accounts"))
}

// The cap as TKEY7 enforces it, earlier than the client was told: the 401 is parsed,
// final, and not retried.
func TestSessionCapEnforcedByServer(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(10 * window), tkey7test.WithSessionLength(window)},
		tkey7.WithRevokeAfter(10*window), tkey7.WithRefreshInterval(5*window))
	require.Eventually(t, func() bool { return e.srv.State(e.token) == tkey7test.StateSessionExpired },
		2*time.Second, 5*time.Millisecond)

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
}

// Rotation whose answer is lost: the new token never reached the client, TKEY7
// retired the old one. The outcome is a clear error, not a loop.
func TestRotationWithLostAnswer(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window), tkey7test.WithRotation()},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4))
	e.srv.Inject(1, fake.DropAfter().On("POST", e.srv.RefreshPath()))
	require.Eventually(t, func() bool { return e.srv.RetiredTokenUses() == 1 }, 2*time.Second, 2*time.Millisecond)
	time.Sleep(window / 2)
	assert.Equal(t, 2, e.srv.Count("POST", "oauth-token/refresh"), "lost answer, one retry refused, stop")
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.Contains(t, err.Error(), "Web Office")
	assert.Zero(t, e.srv.Count("GET", "digital-accounts"))
}

func TestCloseStopsRefreshing(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(window)},
		tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4))
	require.Eventually(t, func() bool { return e.srv.Refreshes() >= 1 }, 2*time.Second, 2*time.Millisecond)
	require.NoError(t, e.client.Close())
	require.NoError(t, e.client.Close(), "Close is idempotent")
	n := len(e.srv.Requests())
	time.Sleep(window / 2)
	assert.Equal(t, n, len(e.srv.Requests()))
	_, err := e.client.DigitalAccounts.List(ctx(t))
	require.ErrorIs(t, err, tkey7.ErrClosed)
	assert.Contains(t, err.Error(), "closed")
}

// Close returns promptly even while a refresh is waiting for a slow answer.
func TestCloseDuringSlowRefresh(t *testing.T) {
	e := setup(t, []tkey7test.Option{tkey7test.WithRevokeAfter(10 * window)},
		tkey7.WithRevokeAfter(10*window), tkey7.WithRefreshInterval(window/4))
	e.srv.Inject(1, fake.Delay(time.Minute).On("POST", e.srv.RefreshPath()))
	require.Eventually(t, func() bool { return e.srv.Count("POST", "oauth-token/refresh") == 1 },
		2*time.Second, 2*time.Millisecond)
	start := time.Now()
	require.NoError(t, e.client.Close())
	assert.Less(t, time.Since(start), time.Second)
}

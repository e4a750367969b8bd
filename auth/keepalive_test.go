package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// provider simulates a token issuer that revokes tokens not refreshed within its
// window and (optionally) rotates them.
type provider struct {
	now         func() time.Time
	mu          sync.Mutex
	window      time.Duration
	rotate      bool
	current     string
	refreshedAt time.Time
	n           int
	refreshes   []time.Time
	failNext    int
	revoked     bool
	lenient     bool // a retired token's refresh is refused without revoking the session
	rejected    int  // refreshes refused for a retired token (lenient)
}

func (p *provider) alive(now time.Time) bool {
	return !p.revoked && now.Sub(p.refreshedAt) < p.window
}

func (p *provider) refresh(_ context.Context, cur Token) (Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.now()
	if cur.Value != p.current && p.lenient && p.alive(now) {
		p.rejected++ // a retired token: refused, the session lives on (as TKEY7 does)
		return Token{}, fmt.Errorf("refresh rejected: %w", ErrTokenRevoked)
	}
	if cur.Value != p.current || !p.alive(now) {
		p.revoked = true
		return Token{}, fmt.Errorf("refresh rejected: %w", ErrTokenRevoked)
	}
	if p.failNext > 0 {
		p.failNext--
		return Token{}, errors.New("503 from refresh endpoint")
	}
	p.refreshes = append(p.refreshes, now)
	p.refreshedAt = now
	if p.rotate {
		p.n++
		p.current = fmt.Sprintf("tok-%d", p.n)
		return Token{Value: p.current}, nil
	}
	return Token{}, nil // refreshed in place
}

func (p *provider) check(tok string) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	return tok == p.current && p.alive(p.now())
}

func (p *provider) refreshTimes() []time.Time {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]time.Time(nil), p.refreshes...)
}

func newProvider(window time.Duration, rotate bool) *provider {
	return newProviderAt(time.Now, window, rotate)
}

func newProviderAt(now func() time.Time, window time.Duration, rotate bool) *provider {
	return &provider{now: now, window: window, rotate: rotate, current: "tok-0", refreshedAt: now()}
}

// fakeTime is a KeepAlive clock that moves only when a test advances it. Every
// goroutine under test that waits for time waits on one of its timers, so
// awaitTimers(n) tells when n of them are asleep, and next moves to the earliest
// timer: time rules run in order, however loaded the machine.
type fakeTime struct {
	mu     sync.Mutex
	now    time.Time
	timers map[*fakeTimer]struct{}
	armed  chan struct{} // closed and replaced whenever a timer is armed
}

type fakeTimer struct {
	at time.Time
	c  chan time.Time
}

func newFakeTime() *fakeTime {
	return &fakeTime{now: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC), timers: map[*fakeTimer]struct{}{}, armed: make(chan struct{})}
}

func (f *fakeTime) Now() time.Time {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.now
}

func (f *fakeTime) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	t := &fakeTimer{at: f.now.Add(d), c: make(chan time.Time, 1)}
	if d <= 0 {
		t.c <- f.now
		return t.c, func() bool { return false }
	}
	f.timers[t] = struct{}{}
	close(f.armed)
	f.armed = make(chan struct{})
	return t.c, func() bool {
		f.mu.Lock()
		defer f.mu.Unlock()
		_, ok := f.timers[t]
		delete(f.timers, t)
		return ok
	}
}

// Advance moves the clock by d and fires the timers due by then.
func (f *fakeTime) Advance(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.now = f.now.Add(d)
	for t := range f.timers {
		if !t.at.After(f.now) {
			t.c <- f.now
			delete(f.timers, t)
		}
	}
}

// next moves the clock to the earliest armed timer and fires it (and any due with it).
func (f *fakeTime) next(t *testing.T) {
	t.Helper()
	f.mu.Lock()
	var at time.Time
	for tm := range f.timers {
		if at.IsZero() || tm.at.Before(at) {
			at = tm.at
		}
	}
	d := at.Sub(f.now)
	f.mu.Unlock()
	require.False(t, at.IsZero(), "no timer armed")
	f.Advance(d)
}

// awaitTimers waits until n timers are armed, or done reports true; it fails the
// test after 10 s.
func (f *fakeTime) awaitTimers(t *testing.T, n int, done func() bool) {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		f.mu.Lock()
		armed, ch := len(f.timers), f.armed
		f.mu.Unlock()
		if armed >= n || (done != nil && done()) {
			return
		}
		select {
		case <-ch:
		case <-time.After(time.Millisecond): // done may turn true without a timer
		case <-timeout:
			t.Fatalf("timed out waiting for %d goroutines to sleep on the clock (%d are)", n, armed)
		}
	}
}

// runUntil moves the clock from timer to timer, each time once n goroutines sleep
// on it, until done reports true; it fails the test when the clock passes limit.
func (f *fakeTime) runUntil(t *testing.T, n int, limit time.Time, done func() bool) {
	t.Helper()
	for {
		f.awaitTimers(t, n, done)
		if done() {
			return
		}
		require.False(t, f.Now().After(limit), "still waiting at %v on the test clock", f.Now().Sub(limit))
		f.next(t)
	}
}

// newMemoryStoreAt is a MemoryStore on the test clock.
func newMemoryStoreAt(now func() time.Time) *MemoryStore {
	s := NewMemoryStore()
	s.now = now
	return s
}

func TestKeepAliveRefreshesWithNoCallers(t *testing.T) {
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, 150*time.Millisecond, false)
	k, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 50 * time.Millisecond, RevokeAfter: 150 * time.Millisecond,
	}, clk)
	require.NoError(t, err)
	defer k.Close()

	// More than three revoke windows, no calls.
	clk.runUntil(t, 1, start.Add(time.Second), func() bool { return len(p.refreshTimes()) >= 10 })
	clk.awaitTimers(t, 1, nil)
	assert.Equal(t, 500*time.Millisecond, clk.Now().Sub(start))

	tok, err := k.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok-0", tok.Value, "a refresh without a new token keeps the current one")
	assert.True(t, p.check(tok.Value), "the provider still accepts the token")
	times := p.refreshTimes()
	require.Len(t, times, 10, "refreshed every interval: 50 ms ... 500 ms")
	for i, at := range times {
		assert.Equal(t, time.Duration(i+1)*50*time.Millisecond, at.Sub(start))
	}
	assert.Equal(t, int64(10), k.Refreshes())
}

func TestKeepAliveRetriesFailedRefreshBeforeDeadline(t *testing.T) {
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, 300*time.Millisecond, true)
	p.failNext = 3
	var refreshed atomic.Int32
	k, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 100 * time.Millisecond, RevokeAfter: 300 * time.Millisecond,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		OnRefresh: func(Token) { refreshed.Add(1) },
	}, clk)
	require.NoError(t, err)
	defer k.Close()
	clk.runUntil(t, 1, start.Add(time.Second), func() bool { return refreshed.Load() >= 1 })
	tok, err := k.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
	assert.True(t, p.check(tok.Value))
	times := p.refreshTimes()
	require.Len(t, times, 1)
	assert.Less(t, times[0].Sub(start), 300*time.Millisecond, "succeeded before the revoke deadline")
	assert.Greater(t, times[0].Sub(start), 100*time.Millisecond, "after three failed attempts")
}

func TestKeepAliveStopsWhenRevoked(t *testing.T) {
	p := newProvider(time.Hour, false)
	p.current = "other" // the provider no longer knows our token
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 10 * time.Millisecond, RevokeAfter: time.Second,
	})
	require.NoError(t, err)
	defer k.Close()
	await(t, k.done, "the keep-alive did not stop")
	_, err = k.Token(context.Background())
	assert.ErrorIs(t, err, ErrTokenRevoked)
}

func TestKeepAliveSessionCap(t *testing.T) {
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, time.Hour, false)
	var warnings []time.Duration
	var mu sync.Mutex
	k, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 20 * time.Millisecond, RevokeAfter: time.Second,
		SessionLength: 200 * time.Millisecond, SessionWarning: 80 * time.Millisecond,
		OnSessionExpiring: func(remaining time.Duration) {
			mu.Lock()
			warnings = append(warnings, remaining)
			mu.Unlock()
		},
	}, clk)
	require.NoError(t, err)
	defer k.Close()
	warned := func() bool { mu.Lock(); defer mu.Unlock(); return len(warnings) > 0 }
	clk.runUntil(t, 1, start.Add(time.Second), warned)
	assert.Equal(t, start.Add(120*time.Millisecond), clk.Now(), "the warning comes SessionWarning before the cap")
	mu.Lock()
	assert.Equal(t, []time.Duration{80 * time.Millisecond}, warnings)
	mu.Unlock()
	_, err = k.Token(context.Background())
	assert.NoError(t, err, "still usable after the warning")

	clk.runUntil(t, 1, start.Add(time.Second), func() bool { return stopped(k) })
	assert.Equal(t, start.Add(200*time.Millisecond), clk.Now(), "stopped at the cap")
	_, err = k.Token(context.Background())
	assert.ErrorIs(t, err, ErrSessionExpired)
	refreshes := p.refreshTimes()
	assert.Len(t, refreshes, 9, "one refresh every 20 ms until the cap (20 ms ... 180 ms)")
	assert.Equal(t, int64(9), k.Refreshes())
	clk.Advance(time.Hour)
	assert.Len(t, p.refreshTimes(), 9, "no refreshes after the cap")
	mu.Lock()
	assert.Len(t, warnings, 1, "warned once")
	mu.Unlock()
}

func TestKeepAliveCloseStopsGoroutine(t *testing.T) {
	before := runtime.NumGoroutine()
	var ks []*KeepAlive
	for range 20 {
		k, err := NewKeepAlive(KeepAliveConfig{
			Initial: Token{Value: "x"}, Refresh: func(context.Context, Token) (Token, error) { return Token{}, nil },
			Interval: time.Millisecond, RevokeAfter: time.Second,
		})
		require.NoError(t, err)
		ks = append(ks, k)
	}
	assert.GreaterOrEqual(t, runtime.NumGoroutine(), before+20)
	for _, k := range ks {
		require.NoError(t, k.Close())
		require.NoError(t, k.Close(), "Close is idempotent")
	}
	// Close waits for the goroutine to exit, so the count is back at once (polled
	// here without require.Eventually, which runs its own goroutine).
	after := runtime.NumGoroutine()
	for i := 0; i < 100 && after > before; i++ {
		time.Sleep(5 * time.Millisecond)
		after = runtime.NumGoroutine()
	}
	assert.LessOrEqual(t, after, before, "goroutines: before %d, after %d", before, after)
	_, err := ks[0].Token(context.Background())
	assert.ErrorIs(t, err, ErrClosed)
}

func TestKeepAliveRotationNeverExposesRetiredToken(t *testing.T) {
	p := newProvider(time.Second, true)
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 5 * time.Millisecond, RevokeAfter: time.Second,
	})
	require.NoError(t, err)
	defer k.Close()
	var bad, good atomic.Int32
	var wg sync.WaitGroup
	stop := make(chan struct{})
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
				tok, release, err := k.Acquire(context.Background())
				if err != nil {
					bad.Add(1)
					return
				}
				// "Send" the request: the provider checks the token while we hold it.
				if p.check(tok.Value) {
					good.Add(1)
				} else {
					bad.Add(1)
				}
				release()
			}
		}()
	}
	deadline := time.After(10 * time.Second)
	for k.Refreshes() < 5 || good.Load() < 100 {
		select {
		case <-deadline:
			close(stop)
			wg.Wait()
			t.Fatalf("5 rotations under load did not happen: %d", k.Refreshes())
		case <-time.After(time.Millisecond):
		}
	}
	close(stop)
	wg.Wait()
	assert.Zero(t, bad.Load(), "no request carried a retired token")
}

func TestKeepAliveValidation(t *testing.T) {
	ok := func(context.Context, Token) (Token, error) { return Token{}, nil }
	for name, cfg := range map[string]KeepAliveConfig{
		"no token":          {Refresh: ok},
		"no refresh":        {Initial: Token{Value: "x"}},
		"interval too long": {Initial: Token{Value: "x"}, Refresh: ok, Interval: 15 * time.Minute},
		"negative":          {Initial: Token{Value: "x"}, Refresh: ok, Interval: -time.Second},
		"retry bounds":      {Initial: Token{Value: "x"}, Refresh: ok, RetryMin: time.Second, RetryMax: time.Millisecond},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewKeepAlive(cfg)
			assert.Error(t, err)
		})
	}
}

func TestKeepAliveAcquireHonoursContextDuringRefresh(t *testing.T) {
	entered := make(chan struct{})
	unblock := make(chan struct{})
	var once sync.Once
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "x"},
		Refresh: func(ctx context.Context, _ Token) (Token, error) {
			once.Do(func() { close(entered) })
			select {
			case <-unblock:
			case <-ctx.Done():
			}
			return Token{}, nil
		},
		Interval: 50 * time.Millisecond, RevokeAfter: 10 * time.Second,
	})
	require.NoError(t, err)
	defer func() { close(unblock); k.Close() }()
	await(t, entered, "no refresh started")
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err = k.Acquire(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a request waiting for a rotation gives up with its context")
}

func TestKeepAliveStop(t *testing.T) {
	clk := newFakeTime()
	var n atomic.Int32
	k, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "x"}, Interval: 10 * time.Millisecond, RevokeAfter: time.Second,
		Refresh: func(context.Context, Token) (Token, error) { n.Add(1); return Token{}, nil },
	}, clk)
	require.NoError(t, err)
	defer k.Close()
	clk.runUntil(t, 1, clk.Now().Add(time.Second), func() bool { return n.Load() >= 1 })
	rejected := errors.New("401 from an ordinary call")
	k.Stop(rejected)
	_, err = k.Token(context.Background())
	assert.ErrorIs(t, err, rejected)
	_, _, err = k.Acquire(context.Background())
	assert.ErrorIs(t, err, rejected)
	await(t, k.done, "the refresher did not exit after Stop")
	clk.Advance(time.Hour)
	assert.Equal(t, int32(1), n.Load(), "no refresh after Stop")
}

func TestKeepAliveSlowRefreshIsNotAbandoned(t *testing.T) {
	p := newProvider(time.Second, true)
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Interval: 20 * time.Millisecond, RevokeAfter: time.Second,
		Refresh: func(ctx context.Context, cur Token) (Token, error) {
			select { // slower than the interval; the answer still arrives
			case <-time.After(100 * time.Millisecond):
			case <-ctx.Done():
				return Token{}, ctx.Err()
			}
			return p.refresh(ctx, cur)
		},
	})
	require.NoError(t, err)
	defer k.Close()
	require.Eventually(t, func() bool { return k.Refreshes() >= 1 }, 10*time.Second, 5*time.Millisecond)
	tok, err := k.Token(context.Background())
	require.NoError(t, err)
	assert.True(t, p.check(tok.Value), "the rotated token arrived")
}

func TestKeepAliveExpiryAtSessionCapCausesNoStorm(t *testing.T) {
	clk := newFakeTime()
	issued := clk.Now()
	var n atomic.Int32
	k, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "x"}, IssuedAt: issued, Interval: 100 * time.Millisecond, RevokeAfter: time.Second,
		SessionLength: 400 * time.Millisecond, SessionWarning: time.Millisecond,
		Refresh: func(context.Context, Token) (Token, error) {
			n.Add(1)
			// A token whose exp is the session cap itself.
			return Token{Value: "x", Expiry: issued.Add(400 * time.Millisecond)}, nil
		},
	}, clk)
	require.NoError(t, err)
	defer k.Close()
	clk.runUntil(t, 1, issued.Add(time.Second), func() bool { return stopped(k) })
	assert.Equal(t, int32(3), n.Load(), "one refresh per interval until the cap (100, 200, 300 ms), not a storm")
}

// On the wall clock, Token serves a token it has checked without reading the wall
// clock again until the revoke deadline or the session cap, whichever comes first:
// past it, Token fails even while the background refresh hangs (so nothing stops the
// keep-alive), and however often Token was called before.
func TestKeepAliveTokenEndsAtTheDeadlineOnTheWallClock(t *testing.T) {
	for name, tc := range map[string]struct {
		revokeAfter, sessionLength time.Duration
		want                       error
	}{
		"revoke deadline": {time.Second, time.Hour, ErrTokenRevoked},
		"session cap":     {10 * time.Second, time.Second, ErrSessionExpired},
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			entered := make(chan struct{})
			unblock := make(chan struct{})
			issued := time.Now()
			k, err := NewKeepAlive(KeepAliveConfig{
				Initial: Token{Value: "tok-0"}, IssuedAt: issued, Interval: 100 * time.Millisecond,
				RevokeAfter: tc.revokeAfter, SessionLength: tc.sessionLength,
				Refresh: func(context.Context, Token) (Token, error) {
					close(entered)
					<-unblock // hangs, deaf to its context, until the test ends
					return Token{}, errors.New("refresh abandoned")
				},
			})
			require.NoError(t, err)
			defer func() { close(unblock); _ = k.Close() }()
			for range 3 {
				tok, err := k.Token(context.Background())
				require.NoError(t, err, "a second before the deadline")
				require.Equal(t, "tok-0", tok.Value)
			}
			await(t, entered, "no refresh started")
			time.Sleep(time.Until(issued.Add(time.Second)) + 10*time.Millisecond)
			_, err = k.Token(context.Background())
			assert.ErrorIs(t, err, tc.want)
			assert.False(t, stopped(k), "the refresh still hangs: the keep-alive did not stop itself")
		})
	}
}

// stopped reports whether k's refresher has exited.
func stopped(k *KeepAlive) bool {
	select {
	case <-k.done:
		return true
	default:
		return false
	}
}

// await returns what ch delivers (the zero value once it is closed), failing the
// test with msg when nothing arrives within 10 s.
func await[T any](t *testing.T, ch <-chan T, msg string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(10 * time.Second):
		t.Fatal(msg)
		var zero T
		return zero
	}
}

// renewKeepAlive is a keep-alive of tok-0 on clk, refreshed by p every 20 s (its
// revoke window: one minute), closed when the test ends: what the Renew tests start
// from.
func renewKeepAlive(t *testing.T, clk *fakeTime, p *provider) *KeepAlive {
	t.Helper()
	k, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Interval: 20 * time.Second, RevokeAfter: time.Minute,
		Refresh: p.refresh,
	}, clk)
	require.NoError(t, err)
	t.Cleanup(func() { _ = k.Close() })
	return k
}

// Renew refreshes the rejected token at once, once for any number of concurrent
// rejections of it; a rejection of a token the keep-alive has moved on from refreshes
// nothing; the scheduled refreshes go on from the renewed token.
func TestKeepAliveRenewRefreshesTheRejectedTokenOnce(t *testing.T) {
	clk := newFakeTime()
	p := newProviderAt(clk.Now, time.Minute, true)
	k := renewKeepAlive(t, clk, p)
	ctx := context.Background()

	const n = 10
	got := make(chan string, n)
	for range n {
		go func() {
			tok, err := k.Renew(ctx, Token{Value: "tok-0"})
			if err != nil {
				got <- "error: " + err.Error()
				return
			}
			got <- tok.Value
		}()
	}
	for range n {
		assert.Equal(t, "tok-1", await(t, got, "timed out waiting for Renew"))
	}
	assert.Len(t, p.refreshTimes(), 1, "one refresh for every rejection of tok-0")
	assert.Equal(t, int64(1), k.Refreshes())

	// A rejection of a token already replaced: the current one, no refresh.
	tok, err := k.Renew(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
	assert.Len(t, p.refreshTimes(), 1)

	// The schedule refreshes the renewed token.
	clk.runUntil(t, 1, clk.Now().Add(time.Minute), func() bool { return k.Refreshes() >= 2 })
	tok, err = k.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tok-2", tok.Value)
	assert.True(t, p.check("tok-2"))
}

// A Renew the provider refuses ends the keep-alive: Renew, Token and Acquire return
// the refusal, and the background goroutine exits.
func TestKeepAliveRenewRefusedStops(t *testing.T) {
	clk := newFakeTime()
	p := newProviderAt(clk.Now, time.Minute, true)
	p.revoked = true
	k := renewKeepAlive(t, clk, p)
	ctx := context.Background()

	_, err := k.Renew(ctx, Token{Value: "tok-0"})
	require.ErrorIs(t, err, ErrTokenRevoked)
	_, err = k.Token(ctx)
	assert.ErrorIs(t, err, ErrTokenRevoked)
	_, _, err = k.Acquire(ctx)
	assert.ErrorIs(t, err, ErrTokenRevoked)
	_, err = k.Renew(ctx, Token{Value: "tok-0"})
	assert.ErrorIs(t, err, ErrTokenRevoked)
	await(t, k.done, "the refresher did not exit after a refused Renew")
	assert.Zero(t, k.Refreshes())
}

// A Renew that fails otherwise (the provider did not answer) changes nothing: the
// token stays, and the next Renew refreshes it.
func TestKeepAliveRenewFailureKeepsTheToken(t *testing.T) {
	clk := newFakeTime()
	p := newProviderAt(clk.Now, time.Minute, true)
	p.failNext = 1
	k := renewKeepAlive(t, clk, p)
	ctx := context.Background()

	_, err := k.Renew(ctx, Token{Value: "tok-0"})
	require.ErrorContains(t, err, "503")
	assert.NotErrorIs(t, err, ErrTokenRevoked)
	tok, err := k.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tok-0", tok.Value)

	tok, err = k.Renew(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
}

// blockingHandler is a slog handler that, on the record whose message contains
// match, waits for release (at most 10 s) before returning.
type blockingHandler struct {
	match   string
	release <-chan struct{}
}

func (h blockingHandler) Enabled(context.Context, slog.Level) bool { return true }
func (h blockingHandler) WithAttrs([]slog.Attr) slog.Handler       { return h }
func (h blockingHandler) WithGroup(string) slog.Handler            { return h }
func (h blockingHandler) Handle(_ context.Context, r slog.Record) error {
	if strings.Contains(r.Message, h.match) {
		select {
		case <-h.release:
		case <-time.After(10 * time.Second):
		}
	}
	return nil
}

// When the provider refuses a scheduled refresh, the keep-alive records the end of the
// token before a request waiting for the refresh goes on: that request gets the
// refusal and never carries the refused token. (The background goroutine's log line
// about the refusal blocks until the request has its answer, so a keep-alive that let
// requests go on before recording the refusal would hand out the token here.)
func TestKeepAliveRefusedRefreshStopsBeforeRequestsGoOn(t *testing.T) {
	entered := make(chan struct{})
	answer := make(chan struct{})
	acquired := make(chan struct{})
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Interval: 10 * time.Millisecond, RevokeAfter: 10 * time.Second,
		Refresh: func(ctx context.Context, _ Token) (Token, error) {
			close(entered)
			select {
			case <-answer:
			case <-ctx.Done():
				return Token{}, ctx.Err()
			}
			return Token{}, fmt.Errorf("401 from the refresh endpoint: %w", ErrTokenRevoked)
		},
		Logger: slog.New(blockingHandler{match: "refused", release: acquired}),
	})
	require.NoError(t, err)
	defer k.Close()
	await(t, entered, "no refresh started")
	type result struct {
		tok Token
		err error
	}
	res := make(chan result, 1)
	go func() { // waits for the refresh to end
		tok, release, err := k.Acquire(context.Background())
		if err == nil {
			release()
		}
		res <- result{tok, err}
		close(acquired)
	}()
	close(answer)
	r := await(t, res, "timed out waiting for the request")
	assert.ErrorIs(t, r.err, ErrTokenRevoked, "the request got the refusal")
	assert.Empty(t, r.tok.Value, "the refused token was not handed out")
}

// With a Store, Renew refreshes under the store's lease and publishes the result;
// another replica rejected with the same token adopts it without refreshing.
func TestKeepAliveRenewShared(t *testing.T) {
	mem := NewMemoryStore()
	p := newProvider(2*time.Minute, true)
	newReplica := func() *KeepAlive {
		k, err := NewKeepAlive(KeepAliveConfig{
			Initial: Token{Value: "tok-0"}, IssuedAt: time.Now(), Interval: time.Minute, RevokeAfter: 2 * time.Minute,
			Refresh: p.refresh, Store: mem, StoreKey: "k", StorePoll: 5 * time.Millisecond,
		})
		require.NoError(t, err)
		t.Cleanup(func() { _ = k.Close() })
		return k
	}
	a, b := newReplica(), newReplica()
	ctx := context.Background()

	tok, err := a.Renew(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
	rec, err := mem.Load(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "tok-1", rec.Token.Value, "published")

	tok, err = b.Renew(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value, "adopted")
	assert.Len(t, p.refreshTimes(), 1, "one refresh for both replicas")
	assert.Zero(t, b.Refreshes())
}

// With a Store that cannot be reached, Renew returns a *StoreError and the keep-alive
// goes on: once the store answers, the next Renew refreshes.
func TestKeepAliveRenewStoreDown(t *testing.T) {
	fs := &faultyStore{Store: NewMemoryStore()}
	p := newProvider(2*time.Minute, true)
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: time.Now(), Interval: time.Minute, RevokeAfter: 2 * time.Minute,
		Refresh: p.refresh, Store: fs, StoreKey: "k", StorePoll: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	defer k.Close()
	ctx := context.Background()

	fs.down.Store(true)
	_, err = k.Renew(ctx, Token{Value: "tok-0"})
	var se *StoreError
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, errDown)
	assert.NotErrorIs(t, err, ErrTokenRevoked)
	assert.Empty(t, p.refreshTimes(), "nothing refreshed without the store")
	tok, err := k.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tok-0", tok.Value)

	fs.down.Store(false)
	tok, err = k.Renew(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
}

// A writer waiting for the gate gives up with its context, and holds nothing then.
func TestGateLockHonoursContext(t *testing.T) {
	var g gate
	g.init()
	release, err := g.rlock(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- g.lockCtx(ctx) }()
	cancel()
	assert.ErrorIs(t, await(t, errc, "lockCtx did not give up"), context.Canceled)
	release()
	// Nothing is held: a writer and then a reader get the gate.
	g.lock()
	g.unlock()
	release, err = g.rlock(context.Background())
	require.NoError(t, err)
	release()
}

// A reader that holds the gate across a writer that gave up still holds back the
// next writer, though it counted itself in an older generation.
func TestGateWriterWaitsForReadersOfAnAbandonedGeneration(t *testing.T) {
	var g gate
	g.init()
	oldReader, err := g.rlock(context.Background())
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, g.lockCtx(ctx), context.Canceled)

	newReader, err := g.rlock(context.Background())
	require.NoError(t, err, "a reader gets the generation opened when the writer gave up")
	locked := make(chan struct{})
	go func() {
		g.lock()
		close(locked)
	}()
	closing := time.After(10 * time.Second)
	for g.gen.Load().n.Load() >= 0 { // the writer closes the generation
		select {
		case <-closing:
			t.Fatal("the writer did not close the generation")
		case <-time.After(time.Millisecond):
		}
	}
	newReader()
	select {
	case <-locked:
		t.Fatal("the writer took the gate while a reader of the abandoned generation held it")
	case <-time.After(20 * time.Millisecond):
	}
	// New readers wait for the writer.
	waitCtx, waitCancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer waitCancel()
	_, err = g.rlock(waitCtx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "a new reader waits while a writer is taking the gate")
	oldReader()
	await(t, locked, "the writer did not get the gate once the last reader left")
	g.unlock()
	release, err := g.rlock(context.Background())
	require.NoError(t, err)
	release()
}

// Readers and writers in a crowd: a writer never holds the gate while a reader
// does, and every reader and writer gets through.
func TestGateExcludesReadersFromWriters(t *testing.T) {
	var g gate
	g.init()
	var readers, writers atomic.Int32
	var broken atomic.Bool
	var wg sync.WaitGroup
	for range 8 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 2000 {
				release, err := g.rlock(context.Background())
				if err != nil {
					broken.Store(true)
					return
				}
				readers.Add(1)
				if writers.Load() != 0 {
					broken.Store(true)
				}
				readers.Add(-1)
				release()
			}
		}()
	}
	for i := range 2 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range 200 {
				if (i+j)%3 == 0 { // some writers give up at once
					ctx, cancel := context.WithCancel(context.Background())
					cancel()
					if g.lockCtx(ctx) != nil {
						continue
					}
				} else {
					g.lock()
				}
				if writers.Add(1) != 1 || readers.Load() != 0 {
					broken.Store(true)
				}
				writers.Add(-1)
				g.unlock()
			}
		}()
	}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(30 * time.Second):
		t.Fatal("readers and writers did not get through")
	}
	assert.False(t, broken.Load(), "a writer and a reader held the gate together")
}

// Acquire and its release allocate nothing while no refresh is under way.
func TestKeepAliveAcquireAllocatesNothing(t *testing.T) {
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: func(context.Context, Token) (Token, error) { return Token{}, nil },
		Interval: time.Hour, RevokeAfter: 2 * time.Hour,
	})
	require.NoError(t, err)
	defer k.Close()
	ctx := context.Background()
	var got string
	allocs := testing.AllocsPerRun(1000, func() {
		tok, release, err := k.Acquire(ctx)
		if err != nil {
			t.Fatal(err)
		}
		got = tok.Value
		release()
	})
	assert.Equal(t, "tok-0", got)
	assert.Zero(t, allocs, "allocations per Acquire and release")
}

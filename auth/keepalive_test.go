package auth

import (
	"context"
	"errors"
	"fmt"
	"runtime"
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
	mu          sync.Mutex
	window      time.Duration
	rotate      bool
	current     string
	refreshedAt time.Time
	n           int
	refreshes   []time.Time
	failNext    int
	revoked     bool
}

func (p *provider) alive(now time.Time) bool {
	return !p.revoked && now.Sub(p.refreshedAt) < p.window
}

func (p *provider) refresh(_ context.Context, cur Token) (Token, error) {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := time.Now()
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
	return tok == p.current && p.alive(time.Now())
}

func newProvider(window time.Duration, rotate bool) *provider {
	return &provider{window: window, rotate: rotate, current: "tok-0", refreshedAt: time.Now()}
}

func TestKeepAliveRefreshesWithNoCallers(t *testing.T) {
	p := newProvider(150*time.Millisecond, false)
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 50 * time.Millisecond, RevokeAfter: 150 * time.Millisecond,
	})
	require.NoError(t, err)
	defer k.Close()

	time.Sleep(520 * time.Millisecond) // more than three revoke windows, no calls

	tok, err := k.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok-0", tok.Value, "a refresh without a new token keeps the current one")
	assert.True(t, p.check(tok.Value), "the provider still accepts the token")
	p.mu.Lock()
	n := len(p.refreshes)
	p.mu.Unlock()
	assert.GreaterOrEqual(t, n, 4, "refreshed on schedule: at least once per revoke window")
	assert.LessOrEqual(t, n, 11)
	assert.Equal(t, int64(n), k.Refreshes())
}

func TestKeepAliveRetriesFailedRefreshBeforeDeadline(t *testing.T) {
	p := newProvider(300*time.Millisecond, true)
	p.failNext = 3
	var refreshed atomic.Int32
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 100 * time.Millisecond, RevokeAfter: 300 * time.Millisecond,
		RetryMin: 5 * time.Millisecond, RetryMax: 20 * time.Millisecond,
		OnRefresh: func(Token) { refreshed.Add(1) },
	})
	require.NoError(t, err)
	defer k.Close()
	require.Eventually(t, func() bool { return refreshed.Load() >= 1 }, time.Second, 5*time.Millisecond)
	tok, err := k.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
	assert.True(t, p.check(tok.Value))
	p.mu.Lock()
	first := p.refreshes[0]
	p.mu.Unlock()
	assert.Less(t, first.Sub(k.SessionEnd().Add(-24*time.Hour)), 300*time.Millisecond, "succeeded before the revoke deadline")
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
	require.Eventually(t, func() bool {
		_, err := k.Token(context.Background())
		return errors.Is(err, ErrTokenRevoked)
	}, time.Second, 5*time.Millisecond)
}

func TestKeepAliveSessionCap(t *testing.T) {
	p := newProvider(time.Hour, false)
	var warned atomic.Int64
	warnedAt := make(chan time.Duration, 1)
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh,
		Interval: 20 * time.Millisecond, RevokeAfter: time.Second,
		SessionLength: 200 * time.Millisecond, SessionWarning: 80 * time.Millisecond,
		OnSessionExpiring: func(remaining time.Duration) {
			warned.Add(1)
			warnedAt <- remaining
		},
	})
	require.NoError(t, err)
	defer k.Close()
	select {
	case rem := <-warnedAt:
		assert.Greater(t, rem, time.Duration(0))
		assert.LessOrEqual(t, rem, 80*time.Millisecond)
		_, err := k.Token(context.Background())
		assert.NoError(t, err, "still usable after the warning")
	case <-time.After(time.Second):
		t.Fatal("OnSessionExpiring did not fire")
	}
	require.Eventually(t, func() bool {
		_, err := k.Token(context.Background())
		return errors.Is(err, ErrSessionExpired)
	}, time.Second, 5*time.Millisecond)
	n := k.Refreshes()
	time.Sleep(60 * time.Millisecond)
	assert.Equal(t, n, k.Refreshes(), "no refreshes after the cap")
	assert.Equal(t, int64(1), warned.Load())
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
	deadline := time.Now().Add(150 * time.Millisecond)
	for range 100 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
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
	wg.Wait()
	assert.Zero(t, bad.Load(), "no request carried a retired token")
	assert.Greater(t, good.Load(), int32(100))
	assert.Greater(t, k.Refreshes(), int64(3), "rotations happened during the run")
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
	<-entered
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	_, _, err = k.Acquire(ctx)
	assert.ErrorIs(t, err, context.DeadlineExceeded, "a request waiting for a rotation gives up with its context")
}

func TestKeepAliveStop(t *testing.T) {
	var n atomic.Int32
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "x"}, Interval: 10 * time.Millisecond, RevokeAfter: time.Second,
		Refresh: func(context.Context, Token) (Token, error) { n.Add(1); return Token{}, nil },
	})
	require.NoError(t, err)
	defer k.Close()
	require.Eventually(t, func() bool { return n.Load() >= 1 }, time.Second, time.Millisecond)
	rejected := errors.New("401 from an ordinary call")
	k.Stop(rejected)
	_, err = k.Token(context.Background())
	assert.ErrorIs(t, err, rejected)
	_, _, err = k.Acquire(context.Background())
	assert.ErrorIs(t, err, rejected)
	before := n.Load()
	time.Sleep(50 * time.Millisecond)
	assert.Equal(t, before, n.Load(), "no refresh after Stop")
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
	require.Eventually(t, func() bool { return k.Refreshes() >= 1 }, time.Second, 5*time.Millisecond)
	tok, err := k.Token(context.Background())
	require.NoError(t, err)
	assert.True(t, p.check(tok.Value), "the rotated token arrived")
}

func TestKeepAliveExpiryAtSessionCapCausesNoStorm(t *testing.T) {
	issued := time.Now()
	var n atomic.Int32
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "x"}, IssuedAt: issued, Interval: 100 * time.Millisecond, RevokeAfter: time.Second,
		SessionLength: 400 * time.Millisecond, SessionWarning: time.Millisecond,
		Refresh: func(context.Context, Token) (Token, error) {
			n.Add(1)
			// A token whose exp is the session cap itself.
			return Token{Value: "x", Expiry: issued.Add(400 * time.Millisecond)}, nil
		},
	})
	require.NoError(t, err)
	defer k.Close()
	time.Sleep(450 * time.Millisecond)
	assert.LessOrEqual(t, n.Load(), int32(4), "about one refresh per interval until the cap, not a storm")
	assert.GreaterOrEqual(t, n.Load(), int32(2))
}

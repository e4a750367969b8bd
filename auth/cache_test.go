package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// settableClock is a test clock for Cache (WithClock), safe for concurrent use and
// cheap to read from many goroutines.
type settableClock struct{ ns atomic.Int64 }

func newClock() *settableClock {
	c := &settableClock{}
	c.ns.Store(time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC).UnixNano())
	return c
}

func (c *settableClock) Now() time.Time { return time.Unix(0, c.ns.Load()).UTC() }

func (c *settableClock) Advance(d time.Duration) { c.ns.Add(int64(d)) }

func (c *settableClock) Set(t time.Time) { c.ns.Store(t.UnixNano()) }

// waitGroup waits for wg, failing the test with what after a timeout.
func waitGroup(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(20 * time.Second):
		t.Fatal(what)
	}
}

func TestCacheServesCachedTokenUntilRefreshWindow(t *testing.T) {
	clk := newClock()
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		n := calls.Add(1)
		return Token{Value: fmt.Sprintf("t%d", n), Expiry: clk.Now().Add(10 * time.Minute)}, nil
	}), WithClock(clk.Now), WithRefreshWindow(time.Minute), WithRefreshJitter(0))

	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t1", tok.Value)
	clk.Advance(8 * time.Minute)
	tok, err = c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t1", tok.Value)
	assert.Equal(t, int32(1), calls.Load())

	// Inside the window: the current token is served while one refresh runs.
	clk.Advance(90 * time.Second)
	tok, err = c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t1", tok.Value)
	require.Eventually(t, func() bool {
		tok, _ := c.Peek()
		return tok.Value == "t2"
	}, 10*time.Second, time.Millisecond)
	assert.Equal(t, int32(2), calls.Load())
}

func TestCacheThousandGoroutinesAtExpiryCauseOneRefresh(t *testing.T) {
	clk := newClock()
	var calls atomic.Int32
	release := make(chan struct{})
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		n := calls.Add(1)
		if n > 1 {
			<-release
		}
		return Token{Value: fmt.Sprintf("t%d", n), Expiry: clk.Now().Add(time.Hour)}, nil
	}), WithClock(clk.Now))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	clk.Advance(2 * time.Hour) // expired: every caller must wait for the refresh

	var wg sync.WaitGroup
	got := make([]string, 1000)
	errs := make([]error, 1000)
	for i := range 1000 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background())
			got[i], errs[i] = tok.Value, err
		}()
	}
	time.Sleep(20 * time.Millisecond) // let them pile up on the flight
	close(release)
	wg.Wait()
	assert.Equal(t, int32(2), calls.Load(), "one initial fetch + exactly one refresh")
	for i := range got {
		require.NoError(t, errs[i])
		require.Equal(t, "t2", got[i])
	}
}

func TestCacheCancelledWaiterReturnsAtOnce(t *testing.T) {
	release := make(chan struct{})
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(ctx context.Context) (Token, error) {
		calls.Add(1)
		select {
		case <-release:
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
		return Token{Value: "fresh"}, nil
	}))
	ctx, cancel := context.WithCancel(context.Background())
	impatient := make(chan error, 1)
	go func() {
		_, err := c.Token(ctx)
		impatient <- err
	}()
	patient := make(chan Token, 1)
	go func() {
		tok, err := c.Token(context.Background())
		assert.NoError(t, err)
		patient <- tok
	}()
	time.Sleep(10 * time.Millisecond)
	cancel()
	select {
	case err := <-impatient:
		assert.ErrorIs(t, err, context.Canceled)
	case <-time.After(10 * time.Second):
		t.Fatal("cancelled waiter did not return")
	}
	close(release)
	select {
	case tok := <-patient:
		assert.Equal(t, "fresh", tok.Value, "the shared refresh was not cancelled by the impatient caller")
	case <-time.After(10 * time.Second):
		t.Fatal("patient waiter did not get the token")
	}
	assert.Equal(t, int32(1), calls.Load())
}

func TestCacheFailedRefreshKeepsServingValidToken(t *testing.T) {
	clk := newClock()
	var calls atomic.Int32
	fail := atomic.Bool{}
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		calls.Add(1)
		if fail.Load() {
			return Token{}, errors.New("token endpoint down")
		}
		return Token{Value: "good", Expiry: clk.Now().Add(10 * time.Minute)}, nil
	}), WithClock(clk.Now), WithRefreshWindow(2*time.Minute), WithRefreshJitter(0), WithFailureBackoff(time.Minute, time.Minute))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	fail.Store(true)
	clk.Advance(9 * time.Minute) // in the window, still valid
	for range 50 {
		tok, err := c.Token(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "good", tok.Value)
	}
	require.Eventually(t, func() bool { return calls.Load() == 2 }, 10*time.Second, time.Millisecond)
	for range 50 { // backing off: no new refresh attempts
		_, _ = c.Token(context.Background())
	}
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, int32(2), calls.Load(), "failed refresh backs off instead of hammering")

	clk.Advance(2 * time.Minute) // expired now; the failure surfaces
	_, err = c.Token(context.Background())
	assert.ErrorContains(t, err, "token endpoint down")
}

// 1,000 goroutines call Token while the clock passes a token's expiry (refresh
// window 0), trial after trial: none is ever handed an expired token, and each trial
// makes exactly one refresh that every caller receives.
func TestCacheNeverServesExpiredTokenAtExpiry(t *testing.T) {
	const goroutines, trials, life = 1000, 30, time.Minute
	clk := newClock()
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		n := calls.Add(1)
		return Token{Value: fmt.Sprintf("t%d", n), Expiry: clk.Now().Add(life)}, nil
	}), WithClock(clk.Now), WithRefreshWindow(0))
	ctx := context.Background()
	cur, err := c.Token(ctx)
	require.NoError(t, err)
	var stop atomic.Bool
	t.Cleanup(func() { stop.Store(true) })

	for trial := range trials {
		clk.Set(cur.Expiry.Add(-time.Nanosecond)) // the last instant cur is valid
		var started, finished sync.WaitGroup
		started.Add(goroutines)
		finished.Add(goroutines)
		var expiredServed, failed atomic.Int32
		got := make([]Token, goroutines)
		for i := range goroutines {
			go func() {
				defer finished.Done()
				first := true
				for !stop.Load() {
					before := clk.Now()
					tok, err := c.Token(ctx)
					after := clk.Now()
					if first {
						first = false
						started.Done()
					}
					if err != nil {
						failed.Add(1)
						return
					}
					// The clock only moves forward, so the cache read it somewhere in
					// [before, after]. tok was expired when served if it expired by
					// before, or by after when the clock did not move during the call.
					// Neither can flag a token that was valid when the cache read it.
					if !tok.Expiry.After(before) || (before.Equal(after) && !tok.Expiry.After(after)) {
						expiredServed.Add(1)
					}
					if tok.Value != cur.Value {
						got[i] = tok
						return
					}
					runtime.Gosched() // let the other callers start
				}
			}()
		}
		waitGroup(t, &started, "callers did not all make a first call")
		clk.Set(cur.Expiry) // at Expiry the token is no longer valid
		waitGroup(t, &finished, "callers did not all receive a refreshed token")

		require.Zero(t, failed.Load(), "trial %d: Token failed", trial)
		require.Zero(t, expiredServed.Load(), "trial %d: expired token served", trial)
		require.Equal(t, int32(trial+2), calls.Load(), "trial %d: exactly one refresh", trial)
		for _, tok := range got {
			require.Equal(t, fmt.Sprintf("t%d", trial+2), tok.Value, "trial %d", trial)
		}
		cur = got[0]
	}
}

// The same on the real clock: tokens live 20 ms and 1,000 goroutines keep calling
// until they see the next one. A token's Expiry must be after a clock reading taken
// before the call (a reading taken after it could be past a token that was valid when
// served, so it would prove nothing).
func TestCacheNeverServesExpiredTokenRealClock(t *testing.T) {
	const goroutines, trials, life = 1000, 5, 20 * time.Millisecond
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		n := calls.Add(1)
		return Token{Value: fmt.Sprintf("t%d", n), Expiry: time.Now().Add(life)}, nil
	}), WithRefreshWindow(0))
	ctx := context.Background()
	var stop atomic.Bool
	t.Cleanup(func() { stop.Store(true) })
	for trial := range trials {
		cur, err := c.Token(ctx)
		require.NoError(t, err)
		refreshes := calls.Load()
		var finished sync.WaitGroup
		finished.Add(goroutines)
		var expiredServed, failed, renewed atomic.Int32
		for range goroutines {
			go func() {
				defer finished.Done()
				for !stop.Load() {
					before := time.Now()
					tok, err := c.Token(ctx)
					if err != nil {
						failed.Add(1)
						return
					}
					if !tok.Expiry.After(before) {
						expiredServed.Add(1)
					}
					if tok.Value != cur.Value {
						renewed.Add(1)
						return
					}
					runtime.Gosched()
				}
			}()
		}
		waitGroup(t, &finished, "callers did not all receive a refreshed token")
		require.Zero(t, failed.Load(), "trial %d: Token failed", trial)
		require.Zero(t, expiredServed.Load(), "trial %d: expired token served", trial)
		require.Equal(t, int32(goroutines), renewed.Load(), "trial %d", trial)
		require.Greater(t, calls.Load(), refreshes, "trial %d: a refresh happened", trial)
	}
}

// A caller waiting for a refresh whose token has expired by the time it is released
// does not receive it: it waits for the next one.
func TestCacheWaiterNeverGetsTokenExpiredWhileWaiting(t *testing.T) {
	clk := newClock()
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		n := calls.Add(1)
		return Token{Value: fmt.Sprintf("t%d", n), Expiry: clk.Now().Add(time.Minute)}, nil
	}), WithClock(clk.Now), OnRefresh(func(tok Token) {
		if tok.Value == "t1" {
			clk.Advance(2 * time.Minute) // t1 expires before its waiter runs again
		}
	}))
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t2", tok.Value)
	assert.True(t, tok.Expiry.After(clk.Now()))
	assert.Equal(t, int32(2), calls.Load())
}

// sourceError is a typed error from a Source, to check that errors.As reaches it.
type sourceError struct{ status int }

func (e *sourceError) Error() string { return fmt.Sprintf("token endpoint: status %d", e.status) }

// With no token, a failing Source is left alone during the backoff: callers get its
// last error at once; after the backoff one call reaches it; waits grow
// exponentially within the documented bounds; a success resets them.
func TestCacheBacksOffFailingSourceWithoutToken(t *testing.T) {
	const minWait, maxWait = time.Second, time.Minute
	clk := newClock()
	var calls atomic.Int32
	var fail atomic.Bool
	fail.Store(true)
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		n := calls.Add(1)
		if fail.Load() {
			return Token{}, &sourceError{status: 503}
		}
		return Token{Value: fmt.Sprintf("t%d", n), Expiry: clk.Now().Add(time.Hour)}, nil
	}), WithClock(clk.Now), WithFailureBackoff(minWait, maxWait))
	ctx := context.Background()

	// callMany makes 200 concurrent calls and returns their errors.
	callMany := func() []error {
		errs := make([]error, 200)
		var wg sync.WaitGroup
		wg.Add(len(errs))
		for i := range errs {
			go func() {
				defer wg.Done()
				tok, err := c.Token(ctx)
				assert.Empty(t, tok.Value)
				errs[i] = err
			}()
		}
		waitGroup(t, &wg, "calls did not return")
		return errs
	}
	requireSourceErr := func(err error) {
		t.Helper()
		var se *sourceError
		require.ErrorAs(t, err, &se)
		require.Equal(t, 503, se.status)
	}
	requireBackoff := func(err error) {
		t.Helper()
		require.ErrorIs(t, err, ErrRefreshBackoff)
		requireSourceErr(err)
	}

	_, err := c.Token(ctx)
	requireSourceErr(err)
	require.NotErrorIs(t, err, ErrRefreshBackoff, "the first failure comes from the source")
	require.Equal(t, int32(1), calls.Load())

	// First backoff: a wait in [1 s, 1.5 s].
	for _, err := range callMany() {
		requireBackoff(err)
	}
	clk.Advance(minWait - time.Nanosecond)
	_, err = c.Token(ctx)
	requireBackoff(err)
	assert.ErrorContains(t, err, "(1 in a row)")
	require.Equal(t, int32(1), calls.Load(), "200 calls during the backoff, no source call")

	clk.Advance(minWait/2 + time.Nanosecond)
	_, err = c.Token(ctx)
	requireSourceErr(err)
	require.NotErrorIs(t, err, ErrRefreshBackoff)
	require.Equal(t, int32(2), calls.Load(), "after the backoff the next call reaches the source")

	// Second backoff: twice as long, in [2 s, 3 s].
	clk.Advance(2*minWait - time.Nanosecond)
	_, err = c.Token(ctx)
	requireBackoff(err)
	assert.ErrorContains(t, err, "(2 in a row)")
	require.Equal(t, int32(2), calls.Load())
	clk.Advance(minWait + time.Nanosecond)
	for _, err := range callMany() { // one refresh in flight however many ask
		requireSourceErr(err)
	}
	require.Equal(t, int32(3), calls.Load(), "200 calls after the backoff, one source call")

	// Third backoff, [4 s, 6 s]; then the source recovers.
	fail.Store(false)
	clk.Advance(6 * minWait)
	tok, err := c.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "t4", tok.Value)

	// The success reset the backoff: the next failure waits at most 1.5 s again.
	fail.Store(true)
	clk.Advance(2 * time.Hour)
	_, err = c.Token(ctx)
	requireSourceErr(err)
	require.Equal(t, int32(5), calls.Load())
	clk.Advance(minWait * 3 / 2)
	_, err = c.Token(ctx)
	requireSourceErr(err)
	require.NotErrorIs(t, err, ErrRefreshBackoff)
	require.Equal(t, int32(6), calls.Load())
}

// An expired token's failed refresh: the error surfaces and backs off like with no
// token at all, and the expired token is never served.
func TestCacheBackoffAfterTokenExpires(t *testing.T) {
	clk := newClock()
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		if calls.Add(1) > 1 {
			return Token{}, &sourceError{status: 500}
		}
		return Token{Value: "t1", Expiry: clk.Now().Add(time.Hour)}, nil
	}), WithClock(clk.Now), WithFailureBackoff(time.Minute, time.Hour))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	clk.Advance(time.Hour)
	for range 50 {
		tok, err := c.Token(context.Background())
		var se *sourceError
		require.ErrorAs(t, err, &se)
		require.Empty(t, tok.Value)
	}
	assert.Equal(t, int32(2), calls.Load())
}

func TestBackoffWaitIsExponentialWithBoundedJitter(t *testing.T) {
	const lo, hi = time.Second, time.Minute
	for _, tc := range []struct {
		n    int
		r    float64
		want time.Duration
	}{
		{1, 0, time.Second},
		{1, 0.5, 1250 * time.Millisecond},
		{1, 0.999999, 1499999500 * time.Nanosecond},
		{2, 0, 2 * time.Second},
		{3, 0.5, 5 * time.Second},
		{6, 0, 32 * time.Second},
		{6, 0.99, 47840 * time.Millisecond}, // 32 s + 0.99 × 16 s
		{7, 0, time.Minute},                 // 64 s, capped
		{40, 0.3, time.Minute},
		{1 << 30, 0.3, time.Minute},
	} {
		assert.Equal(t, tc.want, backoffWait(lo, hi, tc.n, tc.r), "failure %d, r %v", tc.n, tc.r)
	}
	// Waits stay within [minWait, maxWait] for any failure count and jitter, even
	// where minWait·2^(n-1) overflows.
	assert.Equal(t, time.Duration(1<<62), backoffWait(1, 1<<62, 100, 0), "past 2^63 the wait is the maximum")
	for _, bounds := range [][2]time.Duration{{time.Second, time.Minute}, {time.Hour, 1 << 62}, {1, 1}, {1, 1 << 62}} {
		for n := 1; n < 130; n++ {
			for _, r := range []float64{0, 0.25, 0.5, 0.75, 0.999999} {
				w := backoffWait(bounds[0], bounds[1], n, r)
				require.GreaterOrEqual(t, w, bounds[0], "n=%d r=%v", n, r)
				require.LessOrEqual(t, w, bounds[1], "n=%d r=%v", n, r)
			}
		}
	}
}

func TestCacheBackoffUsesJitter(t *testing.T) {
	clk := newClock()
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		calls.Add(1)
		return Token{}, errors.New("down")
	}), WithClock(clk.Now), WithFailureBackoff(time.Second, time.Minute))
	c.opts.random = func() float64 { return 0.5 } // a wait of 1.25 s
	_, err := c.Token(context.Background())
	require.Error(t, err)
	clk.Advance(1250*time.Millisecond - time.Nanosecond)
	_, err = c.Token(context.Background())
	require.ErrorIs(t, err, ErrRefreshBackoff)
	clk.Advance(time.Nanosecond)
	_, err = c.Token(context.Background())
	require.NotErrorIs(t, err, ErrRefreshBackoff)
	assert.Equal(t, int32(2), calls.Load())
}

func TestWithFailureBackoffIgnoresInvalidBounds(t *testing.T) {
	for _, b := range [][2]time.Duration{{0, time.Second}, {-time.Second, time.Second}, {time.Minute, time.Second}} {
		c := NewCache(StaticSource(Token{Value: "v"}), WithFailureBackoff(b[0], b[1]))
		assert.Equal(t, time.Second, c.opts.backoffMin, "%v", b)
		assert.Equal(t, time.Minute, c.opts.backoffMax, "%v", b)
	}
}

func TestCacheNeverServesEmptyOrExpiredSetToken(t *testing.T) {
	clk := newClock()
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		return Token{Value: fmt.Sprintf("t%d", calls.Add(1)), Expiry: clk.Now().Add(time.Hour)}, nil
	}), WithClock(clk.Now))
	require.NoError(t, c.Set(context.Background(), Token{Value: "old", Expiry: clk.Now().Add(-time.Second)}))
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t1", tok.Value)
	require.NoError(t, c.Set(context.Background(), Token{}))
	tok, err = c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t2", tok.Value)
}

func TestCacheInvalidateDropsOnlyNamedToken(t *testing.T) {
	var calls atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		return Token{Value: fmt.Sprintf("t%d", calls.Add(1))}, nil
	}))
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	c.Invalidate(Token{Value: "someone-else"})
	again, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, tok.Value, again.Value)

	c.Invalidate(tok)
	fresh, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t2", fresh.Value)

	c.Invalidate(tok) // stale rejection after the refresh: no effect
	still, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t2", still.Value)
	assert.Equal(t, int32(2), calls.Load())
}

func TestCacheRejectsEmptyAndExpiredTokensAndRecoversPanics(t *testing.T) {
	for name, src := range map[string]SourceFunc{
		"empty":   func(context.Context) (Token, error) { return Token{}, nil },
		"expired": func(context.Context) (Token, error) { return Token{Value: "x", Expiry: time.Unix(1, 0)}, nil },
		"panic":   func(context.Context) (Token, error) { panic("boom") },
	} {
		t.Run(name, func(t *testing.T) {
			_, err := NewCache(src).Token(context.Background())
			assert.Error(t, err)
		})
	}
}

func TestCacheOnRefreshHook(t *testing.T) {
	var seen []string
	c := NewCache(StaticSource(Token{Value: "v"}), OnRefresh(func(t Token) { seen = append(seen, t.Value) }))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, []string{"v"}, seen)
}

func TestKeyedCacheCoalescesPerKey(t *testing.T) {
	var mu sync.Mutex
	calls := map[string]int{}
	gate := make(chan struct{})
	k := NewKeyedCache(KeyedSourceFunc(func(ctx context.Context, key string) (Token, error) {
		mu.Lock()
		calls[key]++
		mu.Unlock()
		<-gate
		return Token{Value: "tok-" + key}, nil
	}))
	var wg sync.WaitGroup
	for i := range 100 {
		key := fmt.Sprintf("consent-%d", i%2)
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := k.Token(context.Background(), key)
			assert.NoError(t, err)
			assert.Equal(t, "tok-"+key, tok.Value)
		}()
	}
	time.Sleep(20 * time.Millisecond)
	close(gate)
	wg.Wait()
	assert.Equal(t, map[string]int{"consent-0": 1, "consent-1": 1}, calls)
	assert.True(t, k.Has("consent-0"))
	require.NoError(t, k.Set(context.Background(), "consent-2", Token{Value: "given"}))
	tok, err := k.Token(context.Background(), "consent-2")
	require.NoError(t, err)
	assert.Equal(t, "given", tok.Value)
	k.Invalidate("consent-2", Token{Value: "given"})
	assert.False(t, k.Has("consent-2"))
	k.Delete("consent-0")
	assert.False(t, k.Has("consent-0"))
}

func TestTokenAndSecretRedactEverywhere(t *testing.T) {
	const val = "super-secret-value"
	tok := Token{Value: val, Expiry: time.Now().Add(time.Hour)}
	sec := NewSecret(val)
	type holder struct {
		Tok    Token
		tok    *Token
		Sec    Secret
		sec    Secret
		plain  string
		nested struct{ s Secret }
	}
	h := holder{Tok: tok, tok: &tok, Sec: sec, sec: sec, plain: "visible"}
	h.nested.s = sec
	outs := []string{
		fmt.Sprintf("%v %+v %#v %s %q", tok, tok, tok, tok, tok),
		fmt.Sprintf("%v %+v %#v %s", sec, sec, sec, sec),
		fmt.Sprintf("%v %+v %#v", h, h, h),
		fmt.Sprintf("%v %+v", &h, &h),
	}
	var buf bytes.Buffer
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "tok", tok, "sec", sec, "h", h)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "tok", tok, "sec", sec)
	outs = append(outs, buf.String())
	for _, o := range outs {
		assert.NotContains(t, o, val)
	}
	assert.Contains(t, outs[2], "visible", "sanity: the holder was printed")
	assert.Contains(t, outs[0], "[REDACTED]")
	assert.Equal(t, val, sec.Reveal())
	assert.True(t, Secret{}.IsZero())
}

func BenchmarkCacheTokenFresh(b *testing.B) {
	c := NewCache(StaticSource(Token{Value: "v", Expiry: time.Now().Add(time.Hour)}))
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		if _, err := c.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkCacheTokenFreshParallel(b *testing.B) {
	c := NewCache(StaticSource(Token{Value: "v", Expiry: time.Now().Add(time.Hour)}))
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.Token(ctx); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

func BenchmarkCacheTokenNoExpiry(b *testing.B) {
	c := NewCache(StaticSource(Token{Value: "v"}))
	ctx := context.Background()
	if _, err := c.Token(ctx); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.Token(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

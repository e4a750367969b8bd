package auth

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// clock is a settable test clock.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func newClock() *clock { return &clock{t: time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
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
	}, time.Second, time.Millisecond)
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
	case <-time.After(time.Second):
		t.Fatal("cancelled waiter did not return")
	}
	close(release)
	select {
	case tok := <-patient:
		assert.Equal(t, "fresh", tok.Value, "the shared refresh was not cancelled by the impatient caller")
	case <-time.After(time.Second):
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
	require.Eventually(t, func() bool { return calls.Load() == 2 }, time.Second, time.Millisecond)
	for range 50 { // backing off: no new refresh attempts
		_, _ = c.Token(context.Background())
	}
	time.Sleep(10 * time.Millisecond)
	assert.Equal(t, int32(2), calls.Load(), "failed refresh backs off instead of hammering")

	clk.Advance(2 * time.Minute) // expired now; the failure surfaces
	_, err = c.Token(context.Background())
	assert.ErrorContains(t, err, "token endpoint down")
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
	k := NewKeyedCache(func(ctx context.Context, key string) (Token, error) {
		mu.Lock()
		calls[key]++
		mu.Unlock()
		<-gate
		return Token{Value: "tok-" + key}, nil
	})
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

package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banksdk/banksdk/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestSharedCacheEightReplicasOneFetch(t *testing.T) {
	store := NewMemoryStore()
	var fetches atomic.Int32
	src := SourceFunc(func(context.Context) (Token, error) {
		fetches.Add(1)
		time.Sleep(30 * time.Millisecond) // a login takes a while
		return Token{Value: fmt.Sprintf("login-%d", fetches.Load()), Expiry: time.Now().Add(30 * time.Minute)}, nil
	})
	replicas := make([]*Cache, 8)
	for i := range replicas {
		replicas[i] = NewCache(src, WithStore(store, "tpv:app"), WithLease(time.Second, 5*time.Millisecond))
	}
	var wg sync.WaitGroup
	got := make([]string, len(replicas))
	for i, c := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			tok, err := c.Token(context.Background())
			assert.NoError(t, err)
			got[i] = tok.Value
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), fetches.Load(), "one login for eight replicas")
	for _, v := range got {
		assert.Equal(t, "login-1", v)
	}
}

func TestSharedCacheDoesNotReadoptRejectedToken(t *testing.T) {
	store := NewMemoryStore()
	var n atomic.Int32
	src := SourceFunc(func(context.Context) (Token, error) {
		return Token{Value: fmt.Sprintf("t%d", n.Add(1)), Expiry: time.Now().Add(time.Hour)}, nil
	})
	a := NewCache(src, WithStore(store, "k"))
	b := NewCache(src, WithStore(store, "k"))
	ta, err := a.Token(context.Background())
	require.NoError(t, err)
	tb, err := b.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, ta.Value, tb.Value, "b adopted a's token")
	b.Invalidate(tb) // the server rejected it
	tb2, err := b.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "t2", tb2.Value)
	rec, err := store.Load(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "t2", rec.Token.Value, "the new token was published")
}

// allLive reports whether every replica holds the provider's live token.
func allLive(p *provider, kas []*KeepAlive) bool {
	for _, k := range kas {
		tok, err := k.Token(context.Background())
		if err != nil || !p.check(tok.Value) {
			return false
		}
	}
	return true
}

// sharedReplicas starts n keep-alives on the test clock sharing store.
func sharedReplicas(t *testing.T, clk *fakeTime, n int, store Store, cfg KeepAliveConfig) []*KeepAlive {
	t.Helper()
	var kas []*KeepAlive
	for range n {
		k, err := newKeepAlive(cfg, clk)
		require.NoError(t, err)
		t.Cleanup(func() { k.Close() })
		kas = append(kas, k)
	}
	return kas
}

func TestSharedKeepAliveOneRefreshPerWindow(t *testing.T) {
	const (
		interval = 80 * time.Millisecond
		window   = 200 * time.Millisecond
		grace    = interval / 10
	)
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, window, true)
	store := newMemoryStoreAt(clk.Now)
	kas := sharedReplicas(t, clk, 8, store, KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: start, Refresh: p.refresh,
		Interval: interval, RevokeAfter: window,
		Store: store, StoreKey: "tkey7:session", StorePoll: 5 * time.Millisecond,
	})
	clk.runUntil(t, len(kas), start.Add(time.Second), func() bool { return len(p.refreshTimes()) >= 5 && allLive(p, kas) })

	refreshes := p.refreshTimes()
	require.Len(t, refreshes, 5)
	var total int64
	for _, k := range kas {
		tok, err := k.Token(context.Background())
		require.NoError(t, err)
		assert.True(t, p.check(tok.Value), "every replica holds the live token")
		total += k.Refreshes()
	}
	assert.Equal(t, int64(5), total, "one refresh per window in total, not one per replica")
	// The lease holder refreshes a grace after the shared time, Interval after the last.
	for i, at := range refreshes {
		assert.Equal(t, time.Duration(i+1)*(interval+grace), at.Sub(start), "refresh %d", i)
	}
	rec, err := store.Load(context.Background(), "tkey7:session")
	require.NoError(t, err)
	assert.Equal(t, "tok-5", rec.Token.Value)
}

// deadStore never releases a lease: the holder "died".
type deadStore struct{ Store }

func (d deadStore) TryLease(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	_, ok, err := d.Store.TryLease(ctx, key, ttl)
	return func(context.Context) error { return nil }, ok, err
}

func TestSharedKeepAliveTakesOverFromDeadLeaseHolder(t *testing.T) {
	const (
		interval = 60 * time.Millisecond
		window   = 300 * time.Millisecond
	)
	clk := newFakeTime()
	issued := clk.Now()
	p := newProviderAt(clk.Now, window, true)
	mem := newMemoryStoreAt(clk.Now)
	stuck := make(chan struct{})
	var leaderCalls atomic.Int32
	leader, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: issued,
		Refresh: func(ctx context.Context, cur Token) (Token, error) {
			leaderCalls.Add(1)
			close(stuck)
			<-ctx.Done() // hangs until its context is cancelled: it dies mid-refresh
			return Token{}, ctx.Err()
		},
		Interval: interval, RevokeAfter: window, LeaseTTL: 40 * time.Millisecond,
		Store: deadStore{mem}, StoreKey: "k", StorePoll: 5 * time.Millisecond,
	}, clk)
	require.NoError(t, err)
	isStuck := func() bool {
		select {
		case <-stuck:
			return true
		default:
			return false
		}
	}
	clk.runUntil(t, 1, issued.Add(window), isStuck) // the leader holds the lease and hangs
	follower, err := newKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: issued, Refresh: p.refresh,
		Interval: interval, RevokeAfter: window, LeaseTTL: 40 * time.Millisecond,
		Store: mem, StoreKey: "k", StorePoll: 5 * time.Millisecond,
	}, clk)
	require.NoError(t, err)
	defer follower.Close()
	require.NoError(t, leader.Close())

	clk.runUntil(t, 1, issued.Add(window), func() bool { return follower.Refreshes() >= 1 })
	assert.Less(t, clk.Now().Sub(issued), window, "the follower refreshed before the revoke deadline")
	tok, err := follower.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
	assert.True(t, p.check(tok.Value))
	assert.Equal(t, int32(1), leaderCalls.Load())
	clk.awaitTimers(t, 1, nil) // published
	rec, err := mem.Load(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "tok-1", rec.Token.Value, "published for the other replicas")
}

// faultyStore injects store faults: down (every call fails), hang (every call blocks
// until resumed, ignoring its context, as go-redis does by default), unreadable (Load
// reports the record unreadable). It counts calls.
type faultyStore struct {
	Store
	down, unreadable atomic.Bool
	mu               sync.Mutex
	hang             chan struct{} // non-nil: calls block until it is closed
	calls            atomic.Int32
}

var errDown = errors.New("connection refused")

func (f *faultyStore) fault() error {
	f.calls.Add(1)
	f.mu.Lock()
	hang := f.hang
	f.mu.Unlock()
	if hang != nil {
		<-hang
	}
	if f.down.Load() {
		return errDown
	}
	return nil
}

func (f *faultyStore) pause() {
	f.mu.Lock()
	f.hang = make(chan struct{})
	f.mu.Unlock()
}

func (f *faultyStore) resume() {
	f.mu.Lock()
	if f.hang != nil {
		close(f.hang)
		f.hang = nil
	}
	f.mu.Unlock()
}

func (f *faultyStore) Load(ctx context.Context, key string) (Record, error) {
	if err := f.fault(); err != nil {
		return Record{}, err
	}
	rec, err := f.Store.Load(ctx, key)
	if err == nil && f.unreadable.Load() {
		return Record{Version: rec.Version}, fmt.Errorf("faulty: record %q failed authentication: %w", key, ErrUnreadable)
	}
	return rec, err
}

func (f *faultyStore) CompareAndSwap(ctx context.Context, key string, version int64, tok Token) (Record, error) {
	if err := f.fault(); err != nil {
		return Record{}, err
	}
	rec, err := f.Store.CompareAndSwap(ctx, key, version, tok)
	if err == nil {
		f.unreadable.Store(false) // replaced
	}
	return rec, err
}

func (f *faultyStore) TryLease(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if err := f.fault(); err != nil {
		return nil, false, err
	}
	return f.Store.TryLease(ctx, key, ttl)
}

func TestSharedCacheStoreDownServesValidTokenThenNamesStore(t *testing.T) {
	clk := newClock()
	fs := &faultyStore{Store: NewMemoryStore()}
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		return Token{Value: "v", Expiry: clk.Now().Add(10 * time.Minute)}, nil
	}), WithStore(fs, "k"), WithClock(clk.Now), WithRefreshJitter(0))
	_, err := c.Token(context.Background())
	require.NoError(t, err)
	fs.down.Store(true)
	clk.Advance(9*time.Minute + 30*time.Second) // in the refresh window
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "v", tok.Value, "still-valid token served while the store is down")
	clk.Advance(time.Minute) // expired
	require.Eventually(t, func() bool {
		_, err := c.Token(context.Background())
		var se *StoreError
		return errors.As(err, &se) && errors.Is(err, errDown)
	}, 10*time.Second, 5*time.Millisecond)
	_, err = c.Token(context.Background())
	assert.ErrorContains(t, err, "credential store")
}

func TestSharedCacheReplacesUnreadableRecord(t *testing.T) {
	fs := &faultyStore{Store: NewMemoryStore()}
	_, err := fs.Save(context.Background(), "k", Token{Value: "sealed-with-another-key"})
	require.NoError(t, err)
	fs.unreadable.Store(true)
	var logins atomic.Int32
	c := NewCache(SourceFunc(func(context.Context) (Token, error) {
		return Token{Value: fmt.Sprintf("login-%d", logins.Add(1)), Expiry: time.Now().Add(time.Hour)}, nil
	}), WithStore(fs, "k"))
	tok, err := c.Token(context.Background())
	require.NoError(t, err, "an unreadable record is no outage")
	assert.Equal(t, "login-1", tok.Value)
	rec, err := fs.Load(context.Background(), "k")
	require.NoError(t, err, "the record was replaced")
	assert.Equal(t, "login-1", rec.Token.Value)
	assert.Equal(t, int64(2), rec.Version)
}

// sharedConfig is a TKEY7-like shared keep-alive: 1 s interval, so a 100 ms grace.
func sharedConfig(p *provider, store Store, start time.Time, log *slog.Logger) KeepAliveConfig {
	return KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: start, Refresh: p.refresh,
		Interval: time.Second, RevokeAfter: 3 * time.Second, RetryMin: 100 * time.Millisecond, RetryMax: 300 * time.Millisecond,
		Store: store, StoreKey: "tkey7", StorePoll: 50 * time.Millisecond, Logger: log,
	}
}

// A store outage longer than RevokeAfter - Interval: the replicas refresh on their
// own before the deadline; the provider rotates, so one wins and the others report a
// *StoreError naming the store (not "token revoked") until it is back, then adopt
// the winner's token. Nobody's session is revoked.
func TestSharedKeepAliveStoreOutageNearRevokeDeadline(t *testing.T) {
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, 3*time.Second, true)
	p.lenient = true
	fs := &faultyStore{Store: newMemoryStoreAt(clk.Now)}
	logs := &fake.LogBuffer{}
	log := slog.New(slog.NewTextHandler(logs, nil))
	kas := sharedReplicas(t, clk, 3, fs, sharedConfig(p, fs, start, log))
	clk.runUntil(t, 3, start.Add(10*time.Second), func() bool { return len(p.refreshTimes()) >= 1 && allLive(p, kas) })
	settled := p.refreshTimes()[0] // the first window's refresh, adopted everywhere
	fs.down.Store(true)

	// Past Interval, within the revoke window: the token keeps being served.
	clk.runUntil(t, 3, settled.Add(10*time.Second), func() bool { return !clk.Now().Before(settled.Add(1500 * time.Millisecond)) })
	for _, k := range kas {
		tok, err := k.Token(context.Background())
		require.NoError(t, err)
		assert.Equal(t, "tok-1", tok.Value)
	}
	// Halfway from Interval to the deadline, each refreshes on its own.
	clk.runUntil(t, 3, settled.Add(3*time.Second), func() bool { return len(p.refreshTimes()) >= 2 })
	clk.awaitTimers(t, 3, nil)
	assert.Equal(t, 2*time.Second+100*time.Millisecond, p.refreshTimes()[1].Sub(settled), "a grace after the solo point, before the deadline")
	assert.Contains(t, logs.String(), "the store is unreachable close to the revoke deadline; refreshing without it")

	var live, stranded int
	for _, k := range kas {
		tok, err := k.Token(context.Background())
		if err == nil {
			live++
			assert.True(t, p.check(tok.Value))
			continue
		}
		stranded++
		var se *StoreError
		require.ErrorAs(t, err, &se)
		assert.ErrorIs(t, err, errDown)
		assert.NotErrorIs(t, err, ErrTokenRevoked)
		assert.Contains(t, err.Error(), "credential store")
	}
	assert.Equal(t, 1, live, "the provider rotates: the first refresh wins")
	assert.Equal(t, 2, stranded)
	clk.runUntil(t, 3, settled.Add(2900*time.Millisecond), func() bool { return !clk.Now().Before(settled.Add(2800 * time.Millisecond)) })

	fs.down.Store(false) // back before the winner's next deadline
	clk.runUntil(t, 3, settled.Add(10*time.Second), func() bool { return allLive(p, kas) })
	for _, k := range kas {
		tok, err := k.Token(context.Background())
		require.NoError(t, err)
		assert.True(t, p.check(tok.Value), "every replica holds the live token again")
	}
	rec, err := fs.Load(context.Background(), "tkey7")
	require.NoError(t, err)
	assert.True(t, p.check(rec.Token.Value), "the live token was published")
	p.mu.Lock()
	assert.False(t, p.revoked)
	assert.Equal(t, 2, p.rejected, "only the two losers' own refreshes carried a retired token")
	p.mu.Unlock()
	assert.Contains(t, logs.String(), "adopted the token another replica published")
}

// With the store gone for good, a replica whose token died reports the store, and
// one that kept the token alive serves it.
func TestSharedKeepAliveStoreGoneErrorNamesStore(t *testing.T) {
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, 3*time.Second, false)
	p.failNext = 1000 // the provider is down too: no refresh can succeed
	fs := &faultyStore{Store: newMemoryStoreAt(clk.Now)}
	cfg := sharedConfig(p, fs, start, nil)
	k := sharedReplicas(t, clk, 1, fs, cfg)[0]
	fs.down.Store(true)
	clk.runUntil(t, 1, start.Add(10*time.Second), func() bool {
		_, err := k.Token(context.Background())
		return err != nil
	})
	_, err := k.Token(context.Background())
	var se *StoreError
	require.ErrorAs(t, err, &se)
	assert.ErrorIs(t, err, errDown)
	assert.NotContains(t, err.Error(), "token revoked")
	assert.False(t, clk.Now().Before(start.Add(3*time.Second)), "served until the revoke deadline")
	assert.Less(t, clk.Now().Sub(start), 3*time.Second+200*time.Millisecond)
}

// A record no replica can read (corrupted, or sealed with a key nobody has) is
// replaced by the lease holder, with a warning, instead of stopping every refresh.
func TestSharedKeepAliveReplacesUnreadableRecord(t *testing.T) {
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, 3*time.Second, true)
	fs := &faultyStore{Store: newMemoryStoreAt(clk.Now)}
	logs := &fake.LogBuffer{}
	kas := sharedReplicas(t, clk, 2, fs, sharedConfig(p, fs, start, slog.New(slog.NewTextHandler(logs, nil))))
	fs.unreadable.Store(true)
	clk.runUntil(t, 2, start.Add(10*time.Second), func() bool { return len(p.refreshTimes()) >= 3 && allLive(p, kas) })
	assert.False(t, fs.unreadable.Load(), "replaced")
	assert.Contains(t, logs.String(), "replacing the stored token, which cannot be read")
	assert.NotContains(t, logs.String(), "tok-", "no token in the logs")
	for _, k := range kas {
		tok, err := k.Token(context.Background())
		require.NoError(t, err)
		assert.True(t, p.check(tok.Value))
	}
	times := p.refreshTimes()
	for i := 1; i < len(times); i++ {
		assert.Equal(t, time.Second+100*time.Millisecond, times[i].Sub(times[i-1]), "one refresh per window")
	}
}

// A record stamped in the future (a replica's clock ahead) does not stop the
// refreshes: it is not trusted as this window's refresh.
func TestSharedKeepAliveIgnoresFutureStampedRecord(t *testing.T) {
	clk := newFakeTime()
	start := clk.Now()
	p := newProviderAt(clk.Now, 3*time.Second, false)
	mem := NewMemoryStore()
	ahead := func() time.Time { return clk.Now().Add(time.Hour) }
	mem.now = ahead // every write is stamped an hour ahead
	k := sharedReplicas(t, clk, 1, mem, sharedConfig(p, mem, start, nil))[0]
	clk.runUntil(t, 1, start.Add(20*time.Second), func() bool { return len(p.refreshTimes()) >= 5 })
	tok, err := k.Token(context.Background())
	require.NoError(t, err)
	assert.True(t, p.check(tok.Value), "refreshed every window")
}

// While the store hangs (a paused Redis), requests are held no longer than the grace
// before going on with the current token.
func TestSharedKeepAliveHangingStoreHoldsRequestsAtMostTheGrace(t *testing.T) {
	p := newProvider(time.Hour, false)
	fs := &faultyStore{Store: NewMemoryStore()}
	logs := &fake.LogBuffer{}
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, Refresh: p.refresh, Interval: time.Second, RevokeAfter: time.Hour,
		Store: fs, StoreKey: "k", Logger: slog.New(slog.NewTextHandler(logs, nil)),
	})
	require.NoError(t, err)
	defer k.Close()
	defer fs.resume()
	before := fs.calls.Load()
	fs.pause()
	// The hold starts a grace before the first refresh (1 s after start): keep
	// acquiring until a store call has hung and the hold has ended.
	var longest time.Duration
	deadline := time.After(10 * time.Second)
	for !strings.Contains(logs.String(), "did not answer within the grace") {
		select {
		case <-deadline:
			t.Fatal("the keep-alive never reached the store")
		default:
		}
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		t0 := time.Now()
		tok, release, err := k.Acquire(ctx)
		held := time.Since(t0)
		cancel()
		require.NoError(t, err)
		release()
		assert.Equal(t, "tok-0", tok.Value)
		longest = max(longest, held)
		time.Sleep(5 * time.Millisecond)
	}
	assert.Greater(t, fs.calls.Load(), before, "a store call hung")
	assert.Less(t, longest, 100*time.Millisecond+time.Second, "held at most the grace (100 ms) plus scheduling slack")
	assert.Contains(t, logs.String(), "requests go on with the current token")
}

func TestKeepAliveStoreNeedsKey(t *testing.T) {
	_, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "x"}, Refresh: func(context.Context, Token) (Token, error) { return Token{}, nil },
		Store: NewMemoryStore(),
	})
	assert.ErrorContains(t, err, "StoreKey")
}

func TestKeepAliveSyncWaitsForTheLeaseHolder(t *testing.T) {
	mem := NewMemoryStore()
	issued := time.Now()
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: issued, Interval: time.Minute, RevokeAfter: 2 * time.Minute,
		Refresh: func(context.Context, Token) (Token, error) { return Token{}, nil },
		Store:   mem, StoreKey: "k", StorePoll: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	defer k.Close()
	ctx := context.Background()

	// Nobody is refreshing and nothing newer is stored: the rejected token stays.
	cur, err := k.Sync(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	assert.Equal(t, "tok-0", cur.Value)

	// Another replica holds the lease, has rotated the token and publishes a moment later.
	release, ok, err := mem.TryLease(ctx, "k", time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	go func() {
		time.Sleep(30 * time.Millisecond)
		rec, _ := mem.Load(ctx, "k")
		_, _ = mem.CompareAndSwap(ctx, "k", rec.Version, Token{Value: "tok-1"})
		_ = release(ctx)
	}()
	cur, err = k.Sync(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	assert.Equal(t, "tok-1", cur.Value, "waited for the lease holder's result")
	tok, err := k.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
}

// retryGrid is a schedule every replica derives from the shared refresh time alone:
// RetryMin after the missed refresh, the step doubling up to RetryMax and to at most a
// quarter of RevokeAfter - Interval; a replica retries at its first point after now,
// so replicas that failed at different moments within one step retry together.
func TestSharedKeepAliveRetryGrid(t *testing.T) {
	issued := time.Date(2026, 11, 21, 12, 0, 0, 0, time.UTC)
	due := issued.Add(time.Second)
	for name, tc := range map[string]struct {
		retryMax time.Duration
		grid     []time.Duration // after due
	}{
		"capped by RetryMax":                   {300 * time.Millisecond, []time.Duration{100, 300, 600, 900, 1200}},
		"capped by a quarter of the remainder": {10 * time.Second, []time.Duration{100, 300, 700, 1200, 1700}},
	} {
		k := &KeepAlive{cfg: KeepAliveConfig{Interval: time.Second, RevokeAfter: 3 * time.Second,
			RetryMin: 100 * time.Millisecond, RetryMax: tc.retryMax}}
		k.cur.Store(&kaState{refreshedAt: issued})
		prev := due
		for _, ms := range tc.grid {
			point := due.Add(ms * time.Millisecond)
			for _, now := range []time.Time{prev, prev.Add(time.Millisecond), point.Add(-time.Nanosecond)} {
				assert.Equal(t, point, k.retryGrid(now), "%s: at due%+v", name, now.Sub(due))
			}
			prev = point
		}
	}
}

// publishBeforeLease is a Store on which, the first time a lease is asked for once
// armed, another replica publishes tok and releases its lease just before: the
// lease is free, and the record newer than what the asker loaded a moment ago.
type publishBeforeLease struct {
	Store
	armed atomic.Bool
	tok   Token
}

func (s *publishBeforeLease) TryLease(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if s.armed.CompareAndSwap(true, false) {
		rec, err := s.Load(ctx, key)
		if err != nil {
			return nil, false, err
		}
		if _, err := s.CompareAndSwap(ctx, key, rec.Version, s.tok); err != nil {
			return nil, false, err
		}
	}
	return s.Store.TryLease(ctx, key, ttl)
}

// Sync that finds the lease free looks at the store once more: a holder may have
// published and released between its load and its lease, and Sync returns that token,
// not the rejected one.
func TestKeepAliveSyncSeesATokenPublishedJustBeforeTheLease(t *testing.T) {
	store := &publishBeforeLease{Store: NewMemoryStore(), tok: Token{Value: "tok-1"}}
	k, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: time.Now(), Interval: time.Minute, RevokeAfter: 2 * time.Minute,
		Refresh: func(context.Context, Token) (Token, error) { return Token{}, nil },
		Store:   store, StoreKey: "k", StorePoll: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	defer k.Close()
	ctx := context.Background()

	store.armed.Store(true)
	cur, err := k.Sync(ctx, Token{Value: "tok-0"})
	require.NoError(t, err)
	require.False(t, store.armed.Load(), "Sync asked for the lease")
	assert.Equal(t, "tok-1", cur.Value)
	tok, err := k.Token(ctx)
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
}

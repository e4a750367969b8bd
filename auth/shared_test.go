package auth

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"sync/atomic"
	"testing"
	"time"

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

// failingStore fails every call while down is set.
type failingStore struct {
	Store
	down atomic.Bool
}

var errDown = errors.New("connection refused")

func (f *failingStore) Load(ctx context.Context, key string) (Record, error) {
	if f.down.Load() {
		return Record{}, errDown
	}
	return f.Store.Load(ctx, key)
}

func (f *failingStore) TryLease(ctx context.Context, key string, ttl time.Duration) (func(context.Context) error, bool, error) {
	if f.down.Load() {
		return nil, false, errDown
	}
	return f.Store.TryLease(ctx, key, ttl)
}

func TestSharedCacheStoreDownServesValidTokenThenNamesStore(t *testing.T) {
	clk := newClock()
	fs := &failingStore{Store: NewMemoryStore()}
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
	}, time.Second, 5*time.Millisecond)
	_, err = c.Token(context.Background())
	assert.ErrorContains(t, err, "credential store")
}

func TestSharedKeepAliveOneRefreshPerWindow(t *testing.T) {
	const (
		interval = 80 * time.Millisecond
		window   = 200 * time.Millisecond
	)
	p := newProvider(window, false)
	store := NewMemoryStore()
	issued := time.Now()
	var kas []*KeepAlive
	for range 8 {
		k, err := NewKeepAlive(KeepAliveConfig{
			Initial: Token{Value: "tok-0"}, IssuedAt: issued, Refresh: p.refresh,
			Interval: interval, RevokeAfter: window,
			Store: store, StoreKey: "tkey7:session", StorePoll: 5 * time.Millisecond,
		})
		require.NoError(t, err)
		kas = append(kas, k)
	}
	defer func() {
		for _, k := range kas {
			k.Close()
		}
	}()
	time.Sleep(5*interval + interval/2)
	p.mu.Lock()
	refreshes := append([]time.Time(nil), p.refreshes...)
	p.mu.Unlock()
	var total int64
	for _, k := range kas {
		tok, err := k.Token(context.Background())
		require.NoError(t, err)
		assert.True(t, p.check(tok.Value))
		total += k.Refreshes()
	}
	assert.Equal(t, int64(len(refreshes)), total)
	assert.GreaterOrEqual(t, len(refreshes), 4, "about one refresh per interval in total")
	assert.LessOrEqual(t, len(refreshes), 6, "not one per replica")
	for i := 1; i < len(refreshes); i++ {
		assert.Greater(t, refreshes[i].Sub(refreshes[i-1]), interval/2, "refreshes are a window apart, not clustered")
	}
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
	p := newProvider(window, true)
	mem := NewMemoryStore()
	issued := time.Now()
	stuck := make(chan struct{})
	var leaderCalls atomic.Int32
	leader, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: issued,
		Refresh: func(ctx context.Context, cur Token) (Token, error) {
			leaderCalls.Add(1)
			close(stuck)
			<-ctx.Done() // hangs until its context is cancelled: it dies mid-refresh
			return Token{}, ctx.Err()
		},
		Interval: interval, RevokeAfter: window, RefreshTimeout: interval, LeaseTTL: 40 * time.Millisecond,
		Store: deadStore{mem}, StoreKey: "k", StorePoll: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	<-stuck // the leader holds the lease and hangs
	follower, err := NewKeepAlive(KeepAliveConfig{
		Initial: Token{Value: "tok-0"}, IssuedAt: issued, Refresh: p.refresh,
		Interval: interval, RevokeAfter: window, LeaseTTL: 40 * time.Millisecond,
		Store: mem, StoreKey: "k", StorePoll: 5 * time.Millisecond,
	})
	require.NoError(t, err)
	defer follower.Close()
	leader.Close()

	require.Eventually(t, func() bool { return follower.Refreshes() >= 1 }, window, 2*time.Millisecond,
		"the follower refreshed before the revoke deadline")
	tok, err := follower.Token(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "tok-1", tok.Value)
	assert.True(t, p.check(tok.Value))
	assert.Equal(t, int32(1), leaderCalls.Load())
	rec, err := mem.Load(context.Background(), "k")
	require.NoError(t, err)
	assert.Equal(t, "tok-1", rec.Token.Value, "published for the other replicas")
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

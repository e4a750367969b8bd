package redisstore

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// redisAddr returns the Redis server the tests use, or skips: these tests need a real
// server. .ci/run starts one and sets BANKSDK_REDIS_ADDR.
func redisAddr(t testing.TB) string {
	t.Helper()
	addr := os.Getenv("BANKSDK_REDIS_ADDR")
	if addr == "" {
		t.Skip("needs a Redis server: run `redis-server --port 6390` and set BANKSDK_REDIS_ADDR=127.0.0.1:6390 (CI does this)")
	}
	return addr
}

func newKey(t testing.TB) []byte {
	k := make([]byte, 32)
	_, err := rand.Read(k)
	require.NoError(t, err)
	return k
}

// setup returns a store with a unique prefix on the test server, and the raw client.
func setup(t testing.TB, opts ...Option) (*Store, *redis.Client) {
	t.Helper()
	s, rdb, _ := setupReplicas(t, opts...)
	return s, rdb
}

// setupReplicas also returns a constructor for more replicas: each a Store with the
// same prefix and key on its own Redis connection pool, as separate processes have.
func setupReplicas(t testing.TB, opts ...Option) (*Store, *redis.Client, func() *Store) {
	t.Helper()
	addr := redisAddr(t)
	rdb := redis.NewClient(&redis.Options{Addr: addr})
	t.Cleanup(func() { rdb.Close() })
	require.NoError(t, rdb.Ping(context.Background()).Err())
	prefix := fmt.Sprintf("banksdk-test:%s:%d:", t.Name(), time.Now().UnixNano())
	t.Cleanup(func() {
		keys, _ := rdb.Keys(context.Background(), prefix+"*").Result()
		if len(keys) > 0 {
			rdb.Del(context.Background(), keys...)
		}
	})
	key := newKey(t)
	all := append([]Option{WithPrefix(prefix), WithEncryptionKey("k1", key)}, opts...)
	s, err := New(rdb, all...)
	require.NoError(t, err)
	replica := func() *Store {
		c := redis.NewClient(&redis.Options{Addr: addr})
		t.Cleanup(func() { c.Close() })
		r, err := New(c, all...)
		require.NoError(t, err)
		return r
	}
	return s, rdb, replica
}

func TestStoreLoadCompareAndSwapSave(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	_, err := s.Load(ctx, "cred")
	assert.ErrorIs(t, err, auth.ErrNotFound)

	exp := time.Now().Add(time.Hour).Truncate(time.Millisecond)
	r, err := s.CompareAndSwap(ctx, "cred", 0, auth.Token{Value: "tok-1", Expiry: exp})
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Version)
	_, err = s.CompareAndSwap(ctx, "cred", 0, auth.Token{Value: "tok-x"})
	assert.ErrorIs(t, err, auth.ErrVersionConflict)

	got, err := s.Load(ctx, "cred")
	require.NoError(t, err)
	assert.Equal(t, "tok-1", got.Token.Value)
	assert.True(t, exp.Equal(got.Token.Expiry))
	assert.Equal(t, int64(1), got.Version)
	assert.WithinDuration(t, time.Now(), got.Updated, 5*time.Second)

	r, err = s.Save(ctx, "cred", auth.Token{Value: "tok-2"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), r.Version)
	got, err = s.Load(ctx, "cred")
	require.NoError(t, err)
	assert.Equal(t, "tok-2", got.Token.Value)
}

func TestStoreConcurrentCompareAndSwapOneWinner(t *testing.T) {
	s, _ := setup(t)
	ctx := context.Background()
	var wins atomic.Int32
	var wg sync.WaitGroup
	for i := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if _, err := s.CompareAndSwap(ctx, "c", 0, auth.Token{Value: fmt.Sprint(i)}); err == nil {
				wins.Add(1)
			} else {
				assert.ErrorIs(t, err, auth.ErrVersionConflict)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, int32(1), wins.Load())
}

func TestTokenNeverStoredInClear(t *testing.T) {
	s, rdb := setup(t)
	ctx := context.Background()
	const secret = "eyJhbGciOiJSUzI1NiJ9.TOKEN-IN-CLEAR-CHECK.sig"
	_, err := s.Save(ctx, "tkey7:session", auth.Token{Value: secret})
	require.NoError(t, err)
	keys, err := rdb.Keys(ctx, s.prefix+"*").Result()
	require.NoError(t, err)
	require.NotEmpty(t, keys)
	for _, k := range keys {
		raw, err := rdb.Get(ctx, k).Bytes()
		require.NoError(t, err)
		assert.NotContains(t, string(raw), "TOKEN-IN-CLEAR-CHECK", k)
		assert.False(t, bytes.Contains(raw, []byte(secret)))
	}
	raw, err := rdb.Get(ctx, s.recordKey("tkey7:session")).Result()
	require.NoError(t, err)
	assert.Contains(t, raw, `"kid":"k1"`, "the key id is stored beside the record")
}

func TestWrongKeyTamperingAndMovedRecordsFail(t *testing.T) {
	s, rdb := setup(t)
	ctx := context.Background()
	_, err := s.Save(ctx, "a", auth.Token{Value: "secret-a"})
	require.NoError(t, err)

	other, err := New(rdb, WithPrefix(s.prefix), WithEncryptionKey("k1", newKey(t)))
	require.NoError(t, err)
	_, err = other.Load(ctx, "a")
	assert.ErrorContains(t, err, "failed authentication")

	// Move the record to another key: the ciphertext is bound to its key.
	raw, err := rdb.Get(ctx, s.recordKey("a")).Bytes()
	require.NoError(t, err)
	require.NoError(t, rdb.Set(ctx, s.recordKey("b"), raw, 0).Err())
	_, err = s.Load(ctx, "b")
	assert.ErrorContains(t, err, "failed authentication")

	// Flip one byte of the ciphertext.
	tampered := bytes.Replace(raw, []byte(`"c":"`), []byte(`"c":"A`), 1)
	require.NoError(t, rdb.Set(ctx, s.recordKey("c"), tampered, 0).Err())
	_, err = s.Load(ctx, "c")
	assert.Error(t, err)
	for _, e := range []error{err} {
		assert.NotContains(t, e.Error(), "secret-a")
	}
}

func TestKeyRotation(t *testing.T) {
	old := newKey(t)
	s1, rdb := setup(t)
	s1.aeads = nil
	s1, err := New(rdb, WithPrefix(s1.prefix), WithEncryptionKey("2025", old))
	require.NoError(t, err)
	ctx := context.Background()
	_, err = s1.Save(ctx, "k", auth.Token{Value: "v1"})
	require.NoError(t, err)

	s2, err := New(rdb, WithPrefix(s1.prefix), WithEncryptionKey("2026", newKey(t)), WithDecryptionKey("2025", old))
	require.NoError(t, err)
	r, err := s2.Load(ctx, "k")
	require.NoError(t, err, "records sealed with the old key stay readable")
	assert.Equal(t, "v1", r.Token.Value)
	_, err = s2.CompareAndSwap(ctx, "k", r.Version, auth.Token{Value: "v2"})
	require.NoError(t, err)
	raw, err := rdb.Get(ctx, s2.recordKey("k")).Result()
	require.NoError(t, err)
	assert.Contains(t, raw, `"kid":"2026"`, "new writes use the new key")
	_, err = s1.Load(ctx, "k")
	assert.ErrorContains(t, err, "unknown key id")
}

func TestOptionsValidate(t *testing.T) {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	defer rdb.Close()
	_, err := New(nil, WithEncryptionKey("k", make([]byte, 32)))
	assert.Error(t, err)
	_, err = New(rdb)
	assert.ErrorContains(t, err, "encryption key is required")
	_, err = New(rdb, WithEncryptionKey("k", make([]byte, 16)))
	assert.ErrorContains(t, err, "32 bytes")
	_, err = New(rdb, WithEncryptionKey("", make([]byte, 32)))
	assert.Error(t, err)
	_, err = New(rdb, WithEncryptionKey("k", make([]byte, 32)), WithPrefix(""))
	assert.Error(t, err)
	key := bytes.Repeat([]byte{7}, 32)
	s, err := New(rdb, WithEncryptionKey("k", key))
	require.NoError(t, err)
	assert.NotContains(t, fmt.Sprintf("%v %+v %#v", s, s, s), string(key))
}

func TestLeaseExclusiveFencedAndExpires(t *testing.T) {
	s, rdb := setup(t)
	ctx := context.Background()
	release, ok, err := s.TryLease(ctx, "k", 200*time.Millisecond)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = s.TryLease(ctx, "k", time.Second)
	require.NoError(t, err)
	assert.False(t, ok, "one holder at a time")

	time.Sleep(250 * time.Millisecond) // the first holder's lease expired
	release2, ok, err := s.TryLease(ctx, "k", time.Second)
	require.NoError(t, err)
	require.True(t, ok)
	require.NoError(t, release(ctx), "a stale holder's release")
	held, err := rdb.Exists(ctx, s.leaseKey("k")).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(1), held, "does not delete its successor's lease")
	require.NoError(t, release2(ctx))
	held, err = rdb.Exists(ctx, s.leaseKey("k")).Result()
	require.NoError(t, err)
	assert.Equal(t, int64(0), held)
	fence, err := rdb.Get(ctx, s.fenceKey("k")).Int()
	require.NoError(t, err)
	assert.GreaterOrEqual(t, fence, 3, "every attempt draws an increasing fencing token")
}

// proxy forwards TCP to Redis until stopped, to simulate Redis going away mid-run.
type proxy struct {
	ln    net.Listener
	mu    sync.Mutex
	conns []net.Conn
}

func startProxy(t *testing.T, target string) *proxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	p := &proxy{ln: ln}
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns = append(p.conns, c, up)
			p.mu.Unlock()
			go func() { _, _ = io.Copy(up, c); up.Close() }()
			go func() { _, _ = io.Copy(c, up); c.Close() }()
		}
	}()
	t.Cleanup(p.stop)
	return p
}

func (p *proxy) stop() {
	p.ln.Close()
	p.mu.Lock()
	defer p.mu.Unlock()
	for _, c := range p.conns {
		c.Close()
	}
}

func TestRedisStoppedMidRunCacheServesThenFailsNamingStore(t *testing.T) {
	p := startProxy(t, redisAddr(t))
	rdb := redis.NewClient(&redis.Options{Addr: p.ln.Addr().String(), MaxRetries: -1, DialTimeout: 200 * time.Millisecond})
	defer rdb.Close()
	s, err := New(rdb, WithPrefix(fmt.Sprintf("banksdk-test:%d:", time.Now().UnixNano())), WithEncryptionKey("k1", newKey(t)))
	require.NoError(t, err)

	var logins atomic.Int32
	c := auth.NewCache(auth.SourceFunc(func(context.Context) (auth.Token, error) {
		logins.Add(1)
		return auth.Token{Value: "tok", Expiry: time.Now().Add(400 * time.Millisecond)}, nil
	}), auth.WithStore(s, "tpv:app"), auth.WithRefreshWindow(100*time.Millisecond), auth.WithRefreshJitter(0),
		auth.WithFailureBackoff(10*time.Millisecond, 20*time.Millisecond), auth.WithRefreshTimeout(time.Second))
	tok, err := c.Token(context.Background())
	require.NoError(t, err)
	require.Equal(t, "tok", tok.Value)

	p.stop() // Redis goes away
	for range 20 {
		tok, err := c.Token(context.Background())
		require.NoError(t, err, "the cached token keeps being served")
		require.Equal(t, "tok", tok.Value)
	}
	var last error
	require.Eventually(t, func() bool {
		_, last = c.Token(context.Background())
		return last != nil
	}, 2*time.Second, 10*time.Millisecond, "once the token expires, calls fail")
	var se *auth.StoreError
	require.ErrorAs(t, last, &se)
	assert.Contains(t, last.Error(), "credential store")
	assert.Contains(t, last.Error(), "redisstore")
	assert.NotContains(t, last.Error(), "tok\"")
	assert.Equal(t, int32(1), logins.Load(), "no login without the store's lease")
}

func TestSharedKeepAliveOverRedisOneRefreshPerWindow(t *testing.T) {
	s, _ := setup(t)
	// A 1 s interval gives the production grace (100 ms): with a shorter one the grace
	// shrinks to a tenth of it, less than a loaded machine's scheduling delays.
	const (
		interval = time.Second
		window   = 3 * time.Second
	)
	var mu sync.Mutex
	var refreshes []time.Time
	current := "tok-0"
	refresh := func(_ context.Context, cur auth.Token) (auth.Token, error) {
		mu.Lock()
		defer mu.Unlock()
		if cur.Value != current {
			return auth.Token{}, fmt.Errorf("stale token: %w", auth.ErrTokenRevoked)
		}
		refreshes = append(refreshes, time.Now())
		current = fmt.Sprintf("tok-%d", len(refreshes))
		return auth.Token{Value: current}, nil
	}
	count := func() int { mu.Lock(); defer mu.Unlock(); return len(refreshes) }
	issued := time.Now()
	var kas []*auth.KeepAlive
	for range 8 {
		k, err := auth.NewKeepAlive(auth.KeepAliveConfig{
			Initial: auth.Token{Value: "tok-0"}, IssuedAt: issued, Refresh: refresh,
			Interval: interval, RevokeAfter: window, Store: s, StoreKey: "tkey7", StorePoll: 5 * time.Millisecond,
		})
		require.NoError(t, err)
		kas = append(kas, k)
	}
	require.Eventually(t, func() bool { return count() >= 5 }, 30*time.Second, 5*time.Millisecond, "five refreshes")
	elapsed := time.Since(issued)
	for _, k := range kas {
		require.NoError(t, k.Close())
	}
	mu.Lock()
	defer mu.Unlock()
	assert.LessOrEqual(t, len(refreshes), int(elapsed/interval)+1, "one refresh per window in total, not one per replica")
	for i := 1; i < len(refreshes); i++ {
		assert.Greater(t, refreshes[i].Sub(refreshes[i-1]), interval/2, "refreshes a window apart")
	}
	var total int64
	for _, k := range kas {
		total += k.Refreshes()
	}
	assert.Equal(t, int64(len(refreshes)), total)
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Cache wraps a Source: it keeps the current token, refreshes it before it expires
// and makes sure only one refresh is in flight however many goroutines ask.
//
//   - An expired token is never returned. The fast path (a fresh token) is one
//     atomic load and one read of the monotonic clock compared with a precomputed
//     deadline (none for a token without Expiry), no lock and no allocation; no timer
//     is trusted to notice expiry.
//   - Inside the refresh window (before Expiry, shortened by a random jitter so that
//     replicas do not refresh in lockstep) the current token is served at once while
//     one background refresh runs.
//   - Without a valid token, callers wait for the single refresh; each waiter honours
//     its own ctx. The refresh runs under context.WithoutCancel plus a timeout, so one
//     impatient caller cannot fail the others.
//   - After a failed refresh the Source is left alone for a backoff that grows
//     exponentially with consecutive failures, with jitter (see WithFailureBackoff).
//     Meanwhile a still-valid token keeps being served; without one, Token returns
//     at once an error wrapping ErrRefreshBackoff and the last refresh error. Once
//     the backoff has elapsed, the next caller starts one refresh; a success ends the
//     backoff.
//   - Invalidate forgets a token the server rejected, only if it is still current.
//
// Deadlines follow the monotonic clock, which on some systems stops while the
// machine is suspended: after a resume a token may be served until the server
// rejects it, when Invalidate and the pipeline's replay renew it.
//
// A Cache is safe for concurrent use.
type Cache struct {
	src  Source
	opts cacheOptions
	// clock is the WithClock function, nil for the monotonic clock. Times are kept as
	// durations since epoch on the cache's clock (see elapsed).
	clock func() time.Time
	epoch time.Time
	cur   atomic.Pointer[cacheEntry]
	// rejected is the last token value a server rejected: a shared store may still
	// hold it, and it must not be adopted again.
	rejected atomic.Pointer[string]

	mu       sync.Mutex
	flight   *flight
	failures int     // consecutive failed refreshes
	lastErr  error   // the last refresh's error while failures > 0
	backoff  instant // no refresh is started before this
}

// instant is a point on a Cache's clock: the time since its epoch.
type instant = time.Duration

const (
	never instant = math.MaxInt64 // a token with no expiry
	past  instant = math.MinInt64 // a token that must never be served
)

type cacheEntry struct {
	tok Token
	// refreshAt is where the fast path stops serving tok; it is never after expireAt,
	// from which tok is not served at all.
	refreshAt instant
	expireAt  instant
}

type flight struct {
	done chan struct{}
	e    *cacheEntry // the new token, when err is nil
	err  error
}

type cacheOptions struct {
	window     time.Duration
	jitter     float64
	timeout    time.Duration
	backoffMin time.Duration
	backoffMax time.Duration
	onRefresh  []func(Token)
	now        func() time.Time
	initial    *Token
	store      Store
	storeKey   string
	leaseTTL   time.Duration
	poll       time.Duration
	// random returns a number in [0, 1) for the refresh and backoff jitter; tests
	// replace it.
	random func() float64
}

// CacheOption configures a Cache.
type CacheOption func(*cacheOptions)

// WithRefreshWindow starts refreshing this long before a token expires (default 1
// minute; never more than half of the token's remaining lifetime). With 0 the token
// is served until its expiry, and the first call at or after it waits for the refresh.
func WithRefreshWindow(d time.Duration) CacheOption {
	return func(o *cacheOptions) {
		if d >= 0 {
			o.window = d
		}
	}
}

// WithRefreshJitter shortens the refresh window by a random fraction in [0, frac)
// (default 0.2; clamped to [0, 1]).
func WithRefreshJitter(frac float64) CacheOption {
	return func(o *cacheOptions) { o.jitter = min(max(frac, 0), 1) }
}

// WithRefreshTimeout bounds one refresh (default 30 s).
func WithRefreshTimeout(d time.Duration) CacheOption {
	return func(o *cacheOptions) {
		if d > 0 {
			o.timeout = d
		}
	}
}

// WithFailureBackoff bounds how long the Cache leaves a failing Source alone (default
// 1 s to 1 min). After the n-th consecutive failed refresh no refresh starts for
// minWait·2^(n-1) plus a random jitter of up to half that, capped at maxWait: every
// wait lies in [minWait, maxWait]. During the wait a still-valid token is served;
// without one, Token fails at once with ErrRefreshBackoff wrapping the last error.
// Values with minWait <= 0 or maxWait < minWait are ignored.
func WithFailureBackoff(minWait, maxWait time.Duration) CacheOption {
	return func(o *cacheOptions) {
		if minWait > 0 && maxWait >= minWait {
			o.backoffMin, o.backoffMax = minWait, maxWait
		}
	}
}

// OnRefresh registers a hook called with every new token fetched from the source,
// after it is cached and before waiting callers receive it.
func OnRefresh(fn func(Token)) CacheOption {
	return func(o *cacheOptions) {
		if fn != nil {
			o.onRefresh = append(o.onRefresh, fn)
		}
	}
}

// WithClock replaces time.Now (for tests): every Token call reads it, and the refresh
// points, expiries and backoffs are measured on it. Without it, the Cache reads the
// monotonic clock, which costs about half as much as time.Now.
func WithClock(now func() time.Time) CacheOption {
	return func(o *cacheOptions) {
		if now != nil {
			o.now = now
		}
	}
}

// WithInitialToken seeds the cache with a token obtained elsewhere.
func WithInitialToken(t Token) CacheOption {
	return func(o *cacheOptions) { o.initial = &t }
}

// NewCache returns a Cache over src.
func NewCache(src Source, opts ...CacheOption) *Cache {
	o := cacheOptions{
		window:     time.Minute,
		jitter:     0.2,
		timeout:    30 * time.Second,
		backoffMin: time.Second,
		backoffMax: time.Minute,
		random:     rand.Float64,
	}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Cache{src: src, opts: o, clock: o.now}
	if o.now == nil {
		c.opts.now = time.Now
	}
	c.epoch = c.opts.now() // from time.Now it carries a monotonic reading
	if o.initial != nil && o.initial.Value != "" {
		c.store(*o.initial, c.epoch)
	}
	return c
}

// ErrEmptyToken is returned when a Source answers without error but with no token.
var ErrEmptyToken = errors.New("auth: source returned an empty token")

// ErrRefreshBackoff is wrapped, together with the last refresh error, by the error
// Cache.Token returns without calling the Source while it backs off after failed
// refreshes and holds no valid token (see WithFailureBackoff). errors.Is and
// errors.As reach both.
var ErrRefreshBackoff = errors.New("auth: token refresh backing off after a failure")

// Token returns a valid token, refreshing it if needed. It never returns a token
// whose Expiry has passed.
func (c *Cache) Token(ctx context.Context) (Token, error) {
	if e := c.cur.Load(); e != nil && (e.refreshAt == never || c.elapsed() < e.refreshAt) {
		return e.tok, nil // a token that never expires needs no clock read
	}
	return c.slow(ctx)
}

// elapsed reads the cache's clock. Without WithClock it is one monotonic clock read
// (time.Since of a monotonic time reads no wall clock).
func (c *Cache) elapsed() instant {
	if c.clock != nil {
		return c.clock().Sub(c.epoch)
	}
	return time.Since(c.epoch)
}

func (c *Cache) slow(ctx context.Context) (Token, error) {
	for {
		c.mu.Lock()
		n := c.elapsed()
		e := c.cur.Load()
		if e != nil && n < e.refreshAt {
			c.mu.Unlock()
			return e.tok, nil
		}
		valid := e != nil && n < e.expireAt
		if c.failures > 0 && n < c.backoff {
			if valid {
				c.mu.Unlock()
				return e.tok, nil
			}
			err := fmt.Errorf("%w (%d in a row): %w", ErrRefreshBackoff, c.failures, c.lastErr)
			c.mu.Unlock()
			return Token{}, err
		}
		f := c.flight
		if f == nil {
			f = &flight{done: make(chan struct{})}
			c.flight = f
			go c.refresh(context.WithoutCancel(ctx), f)
		}
		c.mu.Unlock()
		if valid {
			// In the refresh window: serve the current token while the refresh runs.
			return e.tok, nil
		}
		select {
		case <-f.done:
		case <-ctx.Done():
			return Token{}, ctx.Err()
		}
		if f.err != nil {
			return Token{}, f.err
		}
		if c.elapsed() < f.e.expireAt {
			return f.e.tok, nil
		}
		// The new token expired while this caller waited to be scheduled: look again.
	}
}

func (c *Cache) refresh(ctx context.Context, f *flight) {
	ctx, cancel := context.WithTimeout(ctx, c.opts.timeout)
	defer cancel()
	var tok Token
	var err error
	if c.opts.store != nil {
		tok, err = c.fetchShared(ctx)
	} else {
		tok, err = c.fetch(ctx)
	}
	now := c.opts.now()
	if err == nil {
		switch {
		case tok.Value == "":
			err = ErrEmptyToken
		case !tok.Valid(now):
			err = errors.New("auth: source returned an already expired token")
		}
	}
	c.mu.Lock()
	if err == nil {
		f.e = c.store(tok, now)
		c.failures, c.lastErr, c.backoff = 0, nil, 0
	} else {
		c.failures++
		c.lastErr = err
		c.backoff = c.at(now.Add(backoffWait(c.opts.backoffMin, c.opts.backoffMax, c.failures, c.opts.random())), now)
	}
	c.flight = nil
	c.mu.Unlock()
	if err == nil {
		// Hooks run before waiters are released, so a hook that persists the token
		// finishes before anyone uses it.
		for _, h := range c.opts.onRefresh {
			h(tok)
		}
	}
	f.err = err
	close(f.done)
}

// backoffWait is the wait after the n-th consecutive failure (n >= 1), for a random r
// in [0, 1): minWait·2^(n-1), plus r times half of that, capped at maxWait.
func backoffWait(minWait, maxWait time.Duration, n int, r float64) time.Duration {
	s := n - 1
	if s >= 63 {
		return maxWait
	}
	d := minWait << s
	if d <= 0 || d>>s != minWait || d >= maxWait {
		return maxWait // capped, or overflowed
	}
	return min(d+time.Duration(r*float64(d/2)), maxWait)
}

func (c *Cache) fetch(ctx context.Context) (tok Token, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("auth: token source panicked: %v", r)
		}
	}()
	return c.src.Token(ctx)
}

// at places t on the cache's clock, measuring from now (a reading of that clock):
// the monotonic readings of two time.Now values, otherwise their wall times.
func (c *Cache) at(t, now time.Time) instant {
	return addSat(now.Sub(c.epoch), t.Sub(now))
}

// addSat adds without overflowing: the sum saturates at never and past.
func addSat(a, b time.Duration) time.Duration {
	s := a + b
	switch {
	case a > 0 && b > 0 && s < 0:
		return never
	case a < 0 && b < 0 && s >= 0:
		return past
	}
	return s
}

// refreshAt is when a token obtained at now should be refreshed.
func (c *Cache) refreshAt(t Token, now time.Time) time.Time {
	w := min(c.opts.window, t.Expiry.Sub(now)/2)
	if c.opts.jitter > 0 && w > 0 {
		w -= time.Duration(c.opts.random() * c.opts.jitter * float64(w))
	}
	return t.Expiry.Add(-max(w, 0))
}

// Set stores t as the current token (obtained elsewhere, e.g. from a response
// header). With a shared store (WithStore) it is published there too, so the other
// replicas use it instead of fetching their own; the error reports a failed publish
// (the token is cached here all the same).
func (c *Cache) Set(ctx context.Context, t Token) error {
	c.store(t, c.opts.now())
	if c.opts.store == nil {
		return nil
	}
	if _, err := c.opts.store.Save(ctx, c.opts.storeKey, t); err != nil {
		return storeErr("save", err)
	}
	return nil
}

// store makes t, obtained at now, the current token.
func (c *Cache) store(t Token, now time.Time) *cacheEntry {
	e := &cacheEntry{tok: t, refreshAt: never, expireAt: never}
	switch {
	case t.Value == "":
		e.refreshAt, e.expireAt = past, past
	case !t.Expiry.IsZero():
		e.expireAt = c.at(t.Expiry, now)
		e.refreshAt = min(c.at(c.refreshAt(t, now), now), e.expireAt)
	}
	c.cur.Store(e)
	return e
}

// Peek returns the cached token without refreshing, and whether there is one. The
// token may be expired.
func (c *Cache) Peek() (Token, bool) {
	if e := c.cur.Load(); e != nil {
		return e.tok, true
	}
	return Token{}, false
}

// Invalidate forgets t if it is still the cached token (compared by value), so the
// next Token call fetches a new one (unless the cache is backing off after failed
// refreshes). A token already replaced is left alone, so many requests rejected with
// the same old token cause a single refresh.
func (c *Cache) Invalidate(t Token) {
	if t.Value != "" {
		v := t.Value
		c.rejected.Store(&v)
	}
	for {
		e := c.cur.Load()
		if e == nil || e.tok.Value != t.Value {
			return
		}
		if c.cur.CompareAndSwap(e, nil) {
			return
		}
	}
}

// KeyedCache keeps one Cache per key (K&H: one token per consent). Renewals of one key
// coalesce; different keys renew independently. It is safe for concurrent use.
type KeyedCache struct {
	src  KeyedSource
	opts []CacheOption

	mu     sync.RWMutex
	caches map[string]*Cache
}

// NewKeyedCache returns a KeyedCache whose tokens come from src, one refresh in flight
// per key. opts apply to every key's Cache; WithStore(store, prefix) shares key's token
// under prefix+key.
func NewKeyedCache(src KeyedSource, opts ...CacheOption) *KeyedCache {
	return &KeyedCache{src: src, opts: opts, caches: map[string]*Cache{}}
}

func (k *KeyedCache) cache(key string) *Cache {
	k.mu.RLock()
	c := k.caches[key]
	k.mu.RUnlock()
	if c != nil {
		return c
	}
	k.mu.Lock()
	defer k.mu.Unlock()
	if c = k.caches[key]; c == nil {
		// With WithStore(store, prefix), key's token is shared under prefix+key.
		opts := append(k.opts[:len(k.opts):len(k.opts)], func(o *cacheOptions) {
			if o.store != nil {
				o.storeKey += key
			}
		})
		c = NewCache(SourceFunc(func(ctx context.Context) (Token, error) { return k.src.Token(ctx, key) }), opts...)
		k.caches[key] = c
	}
	return c
}

// Token returns key's token, renewing it when needed.
func (k *KeyedCache) Token(ctx context.Context, key string) (Token, error) {
	return k.cache(key).Token(ctx)
}

// Set stores key's current token (and publishes it with a shared store).
func (k *KeyedCache) Set(ctx context.Context, key string, t Token) error {
	return k.cache(key).Set(ctx, t)
}

// Invalidate forgets key's token if it is still t.
func (k *KeyedCache) Invalidate(key string, t Token) {
	k.mu.RLock()
	c := k.caches[key]
	k.mu.RUnlock()
	if c != nil {
		c.Invalidate(t)
	}
}

// Has reports whether a token is cached for key.
func (k *KeyedCache) Has(key string) bool {
	k.mu.RLock()
	c := k.caches[key]
	k.mu.RUnlock()
	if c == nil {
		return false
	}
	_, ok := c.Peek()
	return ok
}

// Delete forgets key entirely.
func (k *KeyedCache) Delete(key string) {
	k.mu.Lock()
	delete(k.caches, key)
	k.mu.Unlock()
}

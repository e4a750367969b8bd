package auth

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Cache wraps a Source: it keeps the current token, refreshes it before it expires
// and makes sure only one refresh is in flight however many goroutines ask.
//
//   - The fast path (a fresh token) is one atomic load and a clock read, no lock.
//   - Inside the refresh window (before Expiry, shortened by a random jitter so that
//     replicas do not refresh in lockstep) the current token is served at once while
//     one background refresh runs.
//   - Without a valid token, callers wait for the single refresh; each waiter honours
//     its own ctx. The refresh runs under context.WithoutCancel plus a timeout, so one
//     impatient caller cannot fail the others.
//   - After a failed refresh a still-valid token keeps being served, and refreshes
//     back off exponentially.
//   - Invalidate forgets a token the server rejected, only if it is still current.
//
// A Cache is safe for concurrent use.
type Cache struct {
	src       Source
	opts      cacheOptions
	realClock bool
	cur       atomic.Pointer[cacheEntry]
	// rejected is the last token value a server rejected: a shared store may still
	// hold it, and it must not be adopted again.
	rejected atomic.Pointer[string]

	mu           sync.Mutex
	flight       *flight
	failures     int
	backoffUntil time.Time
}

type cacheEntry struct {
	tok       Token
	refreshAt time.Time
	// due is set by a timer when refreshAt passes, so the fast path needs no clock
	// read (time.Now costs more than the rest of the fast path on many VMs). With a
	// custom clock (tests) the clock is read instead.
	due   atomic.Bool
	timer *time.Timer
}

type flight struct {
	done chan struct{}
	tok  Token
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
}

// CacheOption configures a Cache.
type CacheOption func(*cacheOptions)

// WithRefreshWindow starts refreshing this long before a token expires (default 1
// minute; never more than half of the token's remaining lifetime).
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

// WithFailureBackoff bounds the wait between refresh attempts after failures while a
// valid token is still served (default 1 s to 1 min).
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

// WithClock replaces time.Now (for tests). Without it, the refresh point is tracked
// by a timer on the monotonic clock; after a machine suspend a token may be served
// until the server rejects it, when Invalidate and the pipeline's replay renew it.
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
	}
	for _, opt := range opts {
		opt(&o)
	}
	c := &Cache{src: src, opts: o, realClock: o.now == nil}
	if o.now == nil {
		c.opts.now = time.Now
	}
	if o.initial != nil && o.initial.Value != "" {
		c.store(*o.initial, c.opts.now())
	}
	return c
}

// ErrEmptyToken is returned when a Source answers without error but with no token.
var ErrEmptyToken = errors.New("auth: source returned an empty token")

// Token returns a valid token, refreshing it if needed.
func (c *Cache) Token(ctx context.Context) (Token, error) {
	if e := c.cur.Load(); e != nil {
		if c.realClock {
			if !e.due.Load() {
				return e.tok, nil
			}
		} else if c.opts.now().Before(e.refreshAt) {
			return e.tok, nil
		}
	}
	return c.slow(ctx)
}

func (c *Cache) slow(ctx context.Context) (Token, error) {
	c.mu.Lock()
	now := c.opts.now()
	e := c.cur.Load()
	if e != nil && now.Before(e.refreshAt) {
		c.mu.Unlock()
		return e.tok, nil
	}
	valid := e != nil && e.tok.Valid(now)
	if valid && now.Before(c.backoffUntil) {
		c.mu.Unlock()
		return e.tok, nil
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
	return f.tok, nil
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
		c.store(tok, now)
		c.failures = 0
		c.backoffUntil = time.Time{}
	} else {
		c.failures++
		d := c.opts.backoffMin << min(c.failures-1, 20)
		if d <= 0 || d > c.opts.backoffMax {
			d = c.opts.backoffMax
		}
		c.backoffUntil = now.Add(d)
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
	f.tok, f.err = tok, err
	close(f.done)
}

func (c *Cache) fetch(ctx context.Context) (tok Token, err error) {
	defer func() {
		if r := recover(); r != nil {
			err = fmt.Errorf("auth: token source panicked: %v", r)
		}
	}()
	return c.src.Token(ctx)
}

var farFuture = time.Unix(1<<62, 0)

// refreshAt is when a token obtained at now should be refreshed.
func (c *Cache) refreshAt(t Token, now time.Time) time.Time {
	if t.Expiry.IsZero() {
		return farFuture
	}
	w := min(c.opts.window, t.Expiry.Sub(now)/2)
	if c.opts.jitter > 0 && w > 0 {
		w -= time.Duration(rand.Float64() * c.opts.jitter * float64(w))
	}
	return t.Expiry.Add(-w)
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

func (c *Cache) store(t Token, now time.Time) {
	e := &cacheEntry{tok: t, refreshAt: c.refreshAt(t, now)}
	if c.realClock && !t.Expiry.IsZero() {
		if d := e.refreshAt.Sub(now); d > 0 {
			e.timer = time.AfterFunc(d, func() { e.due.Store(true) })
		} else {
			e.due.Store(true)
		}
	}
	if old := c.cur.Swap(e); old != nil {
		old.stop()
	}
}

func (e *cacheEntry) stop() {
	if e.timer != nil {
		e.timer.Stop()
	}
}

// Peek returns the cached token without refreshing, and whether there is one.
func (c *Cache) Peek() (Token, bool) {
	if e := c.cur.Load(); e != nil {
		return e.tok, true
	}
	return Token{}, false
}

// Invalidate forgets t if it is still the cached token (compared by value), so the
// next Token call fetches a new one. A token already replaced is left alone, so many
// requests rejected with the same old token cause a single refresh.
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
			e.stop()
			return
		}
	}
}

// KeyedCache keeps one Cache per key (K&H: one token per consent). Renewals of one key
// coalesce; different keys renew independently. It is safe for concurrent use.
type KeyedCache struct {
	renew func(ctx context.Context, key string) (Token, error)
	opts  []CacheOption

	mu     sync.RWMutex
	caches map[string]*Cache
}

// NewKeyedCache returns a KeyedCache whose tokens are renewed by renew. opts apply to
// every key's Cache; WithStore(store, prefix) shares key's token under prefix+key.
func NewKeyedCache(renew func(ctx context.Context, key string) (Token, error), opts ...CacheOption) *KeyedCache {
	return &KeyedCache{renew: renew, opts: opts, caches: map[string]*Cache{}}
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
		c = NewCache(SourceFunc(func(ctx context.Context) (Token, error) { return k.renew(ctx, key) }), opts...)
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

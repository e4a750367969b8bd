package auth

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// StoreError wraps a failure of the credential Store, so callers can tell "the
// shared store is unreachable" from "the provider refused".
type StoreError struct {
	Op  string
	Err error
}

func (e *StoreError) Error() string { return "auth: credential store: " + e.Op + ": " + e.Err.Error() }

// Unwrap returns the store's error.
func (e *StoreError) Unwrap() error { return e.Err }

func storeErr(op string, err error) error {
	if err == nil {
		return nil
	}
	var se *StoreError
	if errors.As(err, &se) {
		return err
	}
	return &StoreError{Op: op, Err: err}
}

// WithStore shares the cache's token with other replicas through store under key: a
// replica that finds a fresh token in the store uses it without calling the Source;
// otherwise one replica takes the store's refresh lease, calls the Source and
// publishes the result while the others wait for it (serving their still-valid
// token meanwhile). If the lease holder dies, its lease expires and another replica
// takes over. When the store is unreachable, a still-valid token keeps being served
// and refreshes fail with a *StoreError once it expires.
func WithStore(store Store, key string) CacheOption {
	return func(o *cacheOptions) {
		if store != nil && key != "" {
			o.store, o.storeKey = store, key
		}
	}
}

// WithLease sets the store lease's lifetime (default: the refresh timeout) and how
// often a replica waiting for another's refresh looks at the store (default 100 ms).
func WithLease(ttl, poll time.Duration) CacheOption {
	return func(o *cacheOptions) {
		if ttl > 0 {
			o.leaseTTL = ttl
		}
		if poll > 0 {
			o.poll = poll
		}
	}
}

// fresh reports whether a stored token can be used instead of refreshing: valid,
// outside the refresh window and not the token a server just rejected.
func (c *Cache) fresh(t Token, now time.Time) bool {
	if !t.Valid(now) {
		return false
	}
	if r := c.rejected.Load(); r != nil && *r == t.Value {
		return false
	}
	return t.Expiry.IsZero() || now.Before(t.Expiry.Add(-min(c.opts.window, t.Expiry.Sub(now)/2)))
}

func (c *Cache) leaseTTL() time.Duration {
	if c.opts.leaseTTL > 0 {
		return c.opts.leaseTTL
	}
	return c.opts.timeout
}

func (c *Cache) pollEvery() time.Duration {
	if c.opts.poll > 0 {
		return c.opts.poll
	}
	return 100 * time.Millisecond
}

// fetchShared gets a token through the store (see WithStore).
func (c *Cache) fetchShared(ctx context.Context) (Token, error) {
	s, key := c.opts.store, c.opts.storeKey
	for {
		rec, err := s.Load(ctx, key)
		switch {
		case err == nil && c.fresh(rec.Token, c.opts.now()):
			return rec.Token, nil
		case err != nil && !errors.Is(err, ErrNotFound):
			return Token{}, storeErr("load", err)
		}
		release, ok, err := s.TryLease(ctx, key, c.leaseTTL())
		if err != nil {
			return Token{}, storeErr("lease", err)
		}
		if ok {
			return c.refreshUnderLease(ctx, release)
		}
		t := time.NewTimer(c.pollEvery())
		select {
		case <-ctx.Done():
			t.Stop()
			return Token{}, fmt.Errorf("auth: waiting for another replica's refresh: %w", ctx.Err())
		case <-t.C:
		}
	}
}

func (c *Cache) refreshUnderLease(ctx context.Context, release func(context.Context) error) (Token, error) {
	s, key := c.opts.store, c.opts.storeKey
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = release(rctx)
	}()
	var version int64
	rec, err := s.Load(ctx, key)
	switch {
	case err == nil:
		if c.fresh(rec.Token, c.opts.now()) {
			return rec.Token, nil // published while we took the lease
		}
		version = rec.Version
	case !errors.Is(err, ErrNotFound):
		return Token{}, storeErr("load", err)
	}
	tok, err := c.fetch(ctx)
	if err != nil || tok.Value == "" {
		return tok, err
	}
	if _, err := s.CompareAndSwap(ctx, key, version, tok); err != nil {
		if errors.Is(err, ErrVersionConflict) {
			// Our lease expired and another replica published: prefer the shared one.
			if rec, lerr := s.Load(ctx, key); lerr == nil && c.fresh(rec.Token, c.opts.now()) {
				return rec.Token, nil
			}
		}
		// The new token is valid; use it here even if the others cannot see it yet.
		return tok, nil
	}
	return tok, nil
}

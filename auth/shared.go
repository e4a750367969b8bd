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
// and refreshes fail with a *StoreError once it expires. A stored record that cannot
// be read (ErrUnreadable) is replaced by the lease holder's new token.
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
		case err != nil && !errors.Is(err, ErrNotFound) && !errors.Is(err, ErrUnreadable):
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
	case errors.Is(err, ErrUnreadable):
		version = rec.Version // replaced by the token fetched below
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

// The keep-alive's side of the store (see KeepAliveConfig.Store).

// errStoreBack: the store answered again just before a refresh without it.
var errStoreBack = errors.New("auth: the store answers again")

// strandedErr is the error callers of a stranded keep-alive get.
func strandedErr(se *StoreError) *StoreError {
	return &StoreError{Op: se.Op, Err: fmt.Errorf("token not kept alive while the store was unreachable; waiting for another replica's token: %w", se.Err)}
}

// within runs call with a context bounded by d, and returns by then even when the
// store does not honour its context (go-redis, for one, waits its own read timeout
// unless told otherwise). An abandoned call finishes in the background; cleanup, if
// set, receives its late result.
func within[T any](ctx context.Context, d time.Duration, store any, call func(context.Context) (T, error), cleanup func(T, error)) (T, error) {
	cctx, cancel := context.WithTimeout(ctx, d)
	type result struct {
		v   T
		err error
	}
	ch := make(chan result, 1)
	go func() {
		v, err := call(cctx)
		ch <- result{v, err}
	}()
	select {
	case r := <-ch:
		cancel()
		return r.v, r.err
	case <-cctx.Done():
	}
	select {
	case r := <-ch: // answered at the last moment
		cancel()
		return r.v, r.err
	default:
	}
	go func() {
		r := <-ch
		cancel()
		if cleanup != nil {
			cleanup(r.v, r.err)
		}
	}()
	var zero T
	if err := ctx.Err(); err != nil {
		return zero, err
	}
	return zero, fmt.Errorf("%T did not answer within %v: %w", store, d, context.DeadlineExceeded)
}

// note records whether the store answered: err is nil or one of the store's
// answers (ErrNotFound, ErrUnreadable, ErrVersionConflict), or a failure, returned
// as a *StoreError. An error of ctx (Close, a caller giving up) says nothing about it.
func (k *KeepAlive) note(ctx context.Context, op string, err error) error {
	switch {
	case err == nil || errors.Is(err, ErrNotFound) || errors.Is(err, ErrUnreadable) || errors.Is(err, ErrVersionConflict):
		k.storeFault.Store(nil)
		return err
	case ctx.Err() != nil:
		return ctx.Err()
	}
	var se *StoreError
	if !errors.As(err, &se) {
		se = &StoreError{Op: op, Err: err}
	}
	k.storeFault.Store(se)
	return se
}

// load reads the shared record within d. A missing record is a zero Record; an
// unreadable one (bad, wrapping ErrUnreadable) is a Record with only the version
// that replaces it. err is a *StoreError when the store failed or did not answer.
func (k *KeepAlive) load(ctx context.Context, d time.Duration) (rec Record, bad, err error) {
	rec, err = within(ctx, d, k.cfg.Store, func(ctx context.Context) (Record, error) {
		return k.cfg.Store.Load(ctx, k.cfg.StoreKey)
	}, nil)
	switch err = k.note(ctx, "load", err); {
	case err == nil:
		return rec, nil, nil
	case errors.Is(err, ErrNotFound):
		return Record{}, nil, nil
	case errors.Is(err, ErrUnreadable):
		return Record{Version: rec.Version}, err, nil
	}
	return Record{}, nil, err
}

type leaseResult struct {
	release func(context.Context) error
	ok      bool
}

// tryLease takes the refresh lease within d (a lease taken too late is given back).
func (k *KeepAlive) tryLease(ctx context.Context, d, ttl time.Duration) (release func(context.Context) error, ok bool, err error) {
	r, err := within(ctx, d, k.cfg.Store, func(ctx context.Context) (leaseResult, error) {
		release, ok, err := k.cfg.Store.TryLease(ctx, k.cfg.StoreKey, ttl)
		return leaseResult{release, ok}, err
	}, func(r leaseResult, err error) {
		if err == nil && r.ok {
			k.releaseLease(r.release)
		}
	})
	if err = k.note(ctx, "lease", err); err != nil {
		return nil, false, err
	}
	return r.release, r.ok, nil
}

func (k *KeepAlive) releaseLease(release func(context.Context) error) {
	_, _ = within(context.WithoutCancel(k.ctx), k.storeBound(), k.cfg.Store, func(ctx context.Context) (struct{}, error) {
		return struct{}{}, release(ctx)
	}, nil)
}

// publish writes the current token over the record at version, within d.
func (k *KeepAlive) publish(ctx context.Context, d time.Duration, version int64) error {
	tok := k.cur.Load().tok
	_, err := within(ctx, d, k.cfg.Store, func(ctx context.Context) (Record, error) {
		return k.cfg.Store.CompareAndSwap(ctx, k.cfg.StoreKey, version, tok)
	}, nil)
	return k.note(ctx, "publish", err)
}

// sharedGrace is how long every replica holds its requests before the shared refresh
// time, how long the lease holder waits before refreshing, and the bound of each
// store call made while requests are held.
func (k *KeepAlive) sharedGrace() time.Duration { return min(k.cfg.Interval/10, 100*time.Millisecond) }

// storeBound bounds a store call made while no request is held.
func (k *KeepAlive) storeBound() time.Duration {
	return min(5*time.Second, max(k.sharedGrace(), (k.cfg.RevokeAfter-k.cfg.Interval)/4))
}

// soloMargin: a replica that cannot reach the store refreshes on its own this long
// before the revoke deadline (halfway between the end of Interval and the deadline).
func (k *KeepAlive) soloMargin() time.Duration { return (k.cfg.RevokeAfter - k.cfg.Interval) / 2 }

// recent reports whether rec was written in this refresh window. A record stamped
// further in the future than the grace is not trusted (the replicas' clocks
// disagree): the lease holder refreshes and replaces it.
func (k *KeepAlive) recent(rec Record) bool {
	age := k.now().Sub(rec.Updated)
	if age < -k.sharedGrace() {
		if k.futureWarned.CompareAndSwap(false, true) {
			k.cfg.Logger.Warn("banksdk keep-alive: the stored token's update time is in the future (replica clocks disagree); it is refreshed and replaced",
				"ahead_by", -age)
		}
		return false
	}
	return age < k.cfg.Interval
}

// adopt takes a stored record if it is newer than what this replica holds (this
// ends a stranded state). A time in the future counts as now.
func (k *KeepAlive) adopt(rec Record) bool {
	if rec.Token.Value == "" {
		return false
	}
	updated := earliest(rec.Updated, k.now())
	for {
		cur := k.cur.Load()
		if !updated.After(cur.refreshedAt) {
			return false
		}
		if k.cur.CompareAndSwap(cur, &kaState{tok: rec.Token, refreshedAt: updated}) {
			return true
		}
	}
}

// strand marks the token as not kept alive: callers get a *StoreError until a
// newer token is adopted.
func (k *KeepAlive) strand() {
	se := k.storeFault.Load()
	if se == nil {
		se = &StoreError{Op: "refresh", Err: errors.New("the store did not answer")}
	}
	cur := k.cur.Load()
	k.cur.CompareAndSwap(cur, &kaState{tok: cur.tok, refreshedAt: cur.refreshedAt, stranded: strandedErr(se)})
}

// joinStore adopts this session's token from the store, or publishes ours.
func (k *KeepAlive) joinStore() error {
	d := k.storeBound()
	rec, bad, err := k.load(k.ctx, d)
	if err != nil {
		return err
	}
	if rec.Token.Value != "" && !rec.Updated.Before(k.cfg.IssuedAt) {
		k.adopt(rec)
		return nil
	}
	if bad != nil {
		release, ok, err := k.tryLease(k.ctx, d, k.cfg.LeaseTTL)
		if err != nil {
			return err
		}
		if !ok {
			k.cfg.Logger.Warn("banksdk keep-alive: the stored token cannot be read; the replica holding the lease replaces it", "error", bad.Error())
			return nil
		}
		defer k.releaseLease(release)
		k.cfg.Logger.Warn("banksdk keep-alive: replacing the stored token, which cannot be read", "error", bad.Error())
	}
	// Nothing from this session yet: publish the issued token. Losing the race means
	// another replica published first; adopt theirs.
	if err := k.publish(k.ctx, d, rec.Version); err != nil {
		if !errors.Is(err, ErrVersionConflict) {
			return err
		}
		if rec, _, err = k.load(k.ctx, d); err != nil {
			return err
		}
		k.adopt(rec)
	}
	return nil
}

// Sync is for a client whose request was rejected with token rejected: another
// replica sharing the store may have rotated it. Sync adopts a newer token from the
// store; while none is there and another replica holds the refresh lease (its refresh
// may have retired rejected before it could publish the new token), it waits for the
// result. It returns the current token, which is still rejected when no replica has a
// newer one. Without a store it returns the current token at once.
func (k *KeepAlive) Sync(ctx context.Context, rejected Token) (Token, error) {
	if k.cfg.Store == nil {
		return k.current()
	}
	for {
		rec, _, err := k.load(ctx, k.storeBound())
		if err != nil {
			return Token{}, err
		}
		k.adopt(rec)
		cur, err := k.current()
		if err != nil || cur.Value != rejected.Value {
			return cur, err
		}
		release, ok, err := k.tryLease(ctx, k.storeBound(), time.Second)
		if err != nil {
			return Token{}, err
		}
		if ok {
			// Nobody is refreshing: nothing newer is coming, unless a holder published
			// and released between the two calls above.
			rec, _, err := k.load(ctx, k.storeBound())
			k.releaseLease(release)
			if err != nil {
				return Token{}, err
			}
			k.adopt(rec)
			return k.current()
		}
		if err := k.sleep(ctx, k.cfg.StorePoll); err != nil {
			return Token{}, err
		}
	}
}

// refreshShared refreshes through the store: adopt a refresh another replica made in
// this window, or take the lease, refresh and publish. Every replica wakes on the same
// schedule (due, from the shared record) and holds its own requests from a grace
// before it until the window's token is settled, and the lease holder waits the same
// grace before it refreshes: a replica whose timer fires a little late is still
// holding its requests when the refresh may retire the token they would carry.
//
// Each store call made while requests are held is bounded by the grace; past it the
// requests go on with the current token. With force (this replica holds a token the
// store lacks), only a record newer than that token settles the window.
func (k *KeepAlive) refreshShared(due time.Time, force bool) error {
	k.gate.lock()
	held := true
	unhold := func() {
		if held {
			held = false
			k.gate.unlock()
		}
	}
	var release func(context.Context) error
	defer func() {
		unhold()
		if release != nil {
			k.releaseLease(release)
		}
	}()
	if err := k.sleep(k.ctx, due.Sub(k.now())); err != nil {
		return err
	}
	grace := k.sharedGrace()
	holdFault := func(err error) error {
		if k.ctx.Err() == nil {
			unhold()
			k.cfg.Logger.Warn("banksdk keep-alive: the store did not answer within the grace; requests go on with the current token",
				"grace", grace, "error", err.Error())
		}
		return err
	}
	settled := func(rec Record) bool {
		if rec.Token.Value == "" {
			return false
		}
		if force {
			return rec.Updated.After(k.cur.Load().refreshedAt)
		}
		return k.recent(rec)
	}
	rec, _, err := k.load(k.ctx, grace)
	if err != nil {
		return holdFault(err)
	}
	if settled(rec) {
		k.adopt(rec)
		return nil
	}
	release, ok, err := k.tryLease(k.ctx, grace, k.cfg.LeaseTTL)
	if err != nil {
		return holdFault(err)
	}
	if !ok {
		release, ok, err = k.awaitShared(settled)
		switch {
		case errors.Is(err, errLeaseBusy):
			return err
		case err != nil:
			return holdFault(err)
		case !ok:
			return nil // adopted the other replica's result
		}
	}
	if err := k.sleep(k.ctx, grace); err != nil {
		return err
	}
	rec, bad, err := k.load(k.ctx, grace)
	if err != nil {
		return holdFault(err)
	}
	if settled(rec) {
		k.adopt(rec)
		return nil
	}
	k.adopt(rec) // refresh the newest token the replicas know
	if err := k.refreshLocked(); err != nil {
		return err
	}
	unhold() // the new token is in use here; publishing holds nothing
	if bad != nil {
		k.cfg.Logger.Warn("banksdk keep-alive: replacing the stored token, which cannot be read", "error", bad.Error())
	}
	if err := k.publish(k.ctx, k.storeBound(), rec.Version); err != nil {
		k.unpublished.Store(true)
		k.cfg.Logger.Warn("banksdk keep-alive: refreshed, but could not publish to the store; publishing once it answers", "error", err.Error())
		return nil
	}
	k.unpublished.Store(false)
	return nil
}

// awaitShared runs while another replica holds the refresh lease (and this replica
// holds its own requests): it waits until that replica publishes its result
// (adopted: ok false), so that none of them carries the token the refresh retires.
// If the holder stops without publishing, its lease ends and this replica takes it
// over (ok true: the caller refreshes and must release). It gives up (errLeaseBusy,
// retried a StorePoll later) after a few seconds without either. Each store call is
// bounded by the grace.
func (k *KeepAlive) awaitShared(settled func(Record) bool) (release func(context.Context) error, ok bool, err error) {
	grace := k.sharedGrace()
	giveUp := k.now().Add(min(k.cfg.LeaseTTL, 5*time.Second))
	for {
		rec, _, err := k.load(k.ctx, grace)
		if err != nil {
			return nil, false, err
		}
		if settled(rec) {
			k.adopt(rec)
			return nil, false, nil
		}
		release, ok, err := k.tryLease(k.ctx, grace, k.cfg.LeaseTTL)
		if err != nil {
			return nil, false, err
		}
		if ok {
			return release, true, nil
		}
		if !k.now().Before(giveUp) {
			return nil, false, errLeaseBusy
		}
		if err := k.sleep(k.ctx, grace/4); err != nil {
			return nil, false, err
		}
	}
}

// refreshSolo refreshes without the store, which stayed unreachable until close to
// the revoke deadline. Like a shared refresh it holds this replica's requests from a
// grace before due, and refreshes a grace after it: every replica reaches this point
// on the same schedule, and one whose refresh the provider refuses (another rotated
// the token first) has sent nothing with the retired token.
func (k *KeepAlive) refreshSolo(due time.Time) error {
	k.gate.lock()
	defer k.gate.unlock()
	grace := k.sharedGrace()
	if err := k.sleep(k.ctx, due.Add(grace).Sub(k.now())); err != nil {
		return err
	}
	if _, _, err := k.load(k.ctx, grace); err == nil {
		return errStoreBack
	}
	cur := k.cur.Load()
	msg := "unknown"
	if se := k.storeFault.Load(); se != nil {
		msg = se.Error()
	}
	k.cfg.Logger.Warn("banksdk keep-alive: the store is unreachable close to the revoke deadline; refreshing without it",
		"revoke_deadline_in", cur.refreshedAt.Add(k.cfg.RevokeAfter).Sub(k.now()), "error", msg)
	if err := k.refreshLocked(); err != nil {
		return err
	}
	k.unpublished.Store(true)
	return nil
}

// probe reports whether the store answers.
func (k *KeepAlive) probe() error {
	_, _, err := k.load(k.ctx, k.storeBound())
	return err
}

// rejoin looks for a token another replica published while this one was stranded:
// adopted when it found one (still within its revoke window), answered when the
// store answered at all.
func (k *KeepAlive) rejoin() (adopted, answered bool) {
	rec, _, err := k.load(k.ctx, k.storeBound())
	if err != nil {
		if se := k.storeFault.Load(); se != nil {
			cur := k.cur.Load()
			if cur.stranded != nil {
				k.cur.CompareAndSwap(cur, &kaState{tok: cur.tok, refreshedAt: cur.refreshedAt, stranded: strandedErr(se)})
			}
		}
		return false, false
	}
	if rec.Token.Value != "" && k.now().Sub(rec.Updated) < k.cfg.RevokeAfter && k.adopt(rec) {
		return true, true
	}
	return false, true
}

package auth

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Errors reported by a KeepAlive.
var (
	// ErrSessionExpired: the session cap passed; an administrator must issue a new token.
	ErrSessionExpired = errors.New("auth: session expired: the session cap was reached and a new token must be issued")
	// ErrTokenRevoked: the token was not refreshed within the provider's revoke window
	// (or the provider said it is revoked); a new token must be issued.
	ErrTokenRevoked = errors.New("auth: token revoked: it was not refreshed within the provider's revoke window")
	// ErrClosed: the KeepAlive was closed.
	ErrClosed = errors.New("auth: keep-alive closed")
)

// KeepAliveConfig configures a KeepAlive.
type KeepAliveConfig struct {
	// Initial is the token issued by an administrator. Required.
	Initial Token
	// IssuedAt starts the session clock (default: now).
	IssuedAt time.Time
	// Refresh exchanges the current token for a fresh one. An answer with an empty
	// Value means "current token refreshed in place". Returning an error wrapping
	// ErrTokenRevoked or ErrSessionExpired stops the keep-alive. Required.
	Refresh func(ctx context.Context, current Token) (Token, error)
	// Interval between refreshes (default 10 min). Must be below RevokeAfter.
	Interval time.Duration
	// RevokeAfter is how long the provider keeps a token that was not refreshed
	// (default 15 min).
	RevokeAfter time.Duration
	// SessionLength is the session cap counted from IssuedAt (default 24 h).
	SessionLength time.Duration
	// SessionWarning is how long before the cap OnSessionExpiring fires (default 30 min,
	// at most SessionLength).
	SessionWarning time.Duration
	// OnSessionExpiring is called once, SessionWarning before the cap.
	OnSessionExpiring func(remaining time.Duration)
	// OnRefresh is called after each successful refresh.
	OnRefresh func(Token)
	// RetryMin and RetryMax bound the backoff between failed refreshes (default 1 s
	// and 30 s); retries are always scheduled before the revoke deadline.
	RetryMin, RetryMax time.Duration
	// RefreshTimeout bounds one refresh call. By default a refresh may run until the
	// revoke deadline: abandoning a refresh whose answer is on its way can cost the
	// session when the provider rotates tokens. Close cancels it at once.
	RefreshTimeout time.Duration
	// Logger receives refresh outcomes (never token values). Default: discard.
	Logger *slog.Logger

	// Store, when set, shares the token with other replicas under StoreKey: one
	// replica (the holder of the store's lease) refreshes each window and publishes the
	// result; the others adopt it without calling Refresh. A replica that finds the
	// session's token in the store at start adopts it. Required with Store: StoreKey.
	Store    Store
	StoreKey string
	// LeaseTTL is how long a refreshing replica holds the lease (default
	// RefreshTimeout); if it dies, another takes over after this.
	LeaseTTL time.Duration
	// StorePoll is how often a replica waiting for another's refresh looks at the
	// store (default 1 s, at most a tenth of Interval).
	StorePoll time.Duration
}

// errLeaseBusy: another replica holds the refresh lease.
var errLeaseBusy = errors.New("auth: another replica is refreshing")

// KeepAlive keeps a short-lived token alive by refreshing it on a schedule in a
// background goroutine, even when the process makes no calls, and tracks the
// provider's session cap. Close stops it. It is safe for concurrent use.
//
// Acquire holds the token for the duration of a request, and a refresh waits for
// requests in flight: a provider that retires the old token the moment it issues a
// new one never sees a request carrying a retired token.
type KeepAlive struct {
	cfg        KeepAliveConfig
	sessionEnd time.Time

	cur       atomic.Pointer[kaState]
	terminal  atomic.Pointer[error]
	refreshes atomic.Int64
	gate      gate

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

type kaState struct {
	tok         Token
	refreshedAt time.Time
}

// NewKeepAlive validates cfg and starts the background refresher.
func NewKeepAlive(cfg KeepAliveConfig) (*KeepAlive, error) {
	if cfg.Initial.Value == "" {
		return nil, errors.New("keep-alive: initial token is required")
	}
	if cfg.Refresh == nil {
		return nil, errors.New("keep-alive: refresh function is required")
	}
	if cfg.RevokeAfter == 0 {
		cfg.RevokeAfter = 15 * time.Minute
	}
	if cfg.Interval == 0 {
		cfg.Interval = min(10*time.Minute, cfg.RevokeAfter*2/3)
	}
	if cfg.SessionLength == 0 {
		cfg.SessionLength = 24 * time.Hour
	}
	if cfg.SessionWarning == 0 {
		cfg.SessionWarning = 30 * time.Minute
	}
	if cfg.RetryMin == 0 {
		cfg.RetryMin = time.Second
	}
	if cfg.RetryMax == 0 {
		cfg.RetryMax = 30 * time.Second
	}
	switch {
	case cfg.RevokeAfter < 0 || cfg.Interval <= 0 || cfg.SessionLength <= 0 || cfg.SessionWarning < 0:
		return nil, errors.New("keep-alive: durations must be positive")
	case cfg.Interval >= cfg.RevokeAfter:
		return nil, fmt.Errorf("keep-alive: refresh interval %v must be below the revoke window %v", cfg.Interval, cfg.RevokeAfter)
	case cfg.RetryMin <= 0 || cfg.RetryMax < cfg.RetryMin:
		return nil, errors.New("keep-alive: retry bounds must satisfy 0 < RetryMin <= RetryMax")
	}
	if cfg.Store != nil && cfg.StoreKey == "" {
		return nil, errors.New("keep-alive: a store needs a StoreKey")
	}
	if cfg.StorePoll <= 0 {
		cfg.StorePoll = time.Second
	}
	cfg.StorePoll = min(cfg.StorePoll, cfg.Interval/10)
	cfg.SessionWarning = min(cfg.SessionWarning, cfg.SessionLength)
	if cfg.RefreshTimeout < 0 {
		return nil, errors.New("keep-alive: RefreshTimeout must not be negative")
	}
	if cfg.LeaseTTL <= 0 {
		cfg.LeaseTTL = cfg.RevokeAfter - cfg.Interval
		if cfg.RefreshTimeout > 0 {
			cfg.LeaseTTL = min(cfg.LeaseTTL, cfg.RefreshTimeout)
		}
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	now := time.Now()
	if cfg.IssuedAt.IsZero() {
		cfg.IssuedAt = now
	}
	k := &KeepAlive{cfg: cfg, sessionEnd: cfg.IssuedAt.Add(cfg.SessionLength), done: make(chan struct{})}
	k.gate.changed = make(chan struct{})
	// The admin-issued token was refreshed (issued) at IssuedAt at the earliest.
	refreshedAt := cfg.IssuedAt
	if earliest := now.Add(-cfg.Interval); refreshedAt.Before(earliest) {
		refreshedAt = earliest
	}
	k.cur.Store(&kaState{tok: cfg.Initial, refreshedAt: refreshedAt})
	k.ctx, k.cancel = context.WithCancel(context.Background())
	if cfg.Store != nil {
		if err := k.joinStore(); err != nil {
			k.cancel()
			return nil, err
		}
	}
	go k.run()
	return k, nil
}

// Token returns the current token, or an error if the session expired, the token was
// revoked or the keep-alive was closed.
func (k *KeepAlive) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	return k.current()
}

func (k *KeepAlive) current() (Token, error) {
	if p := k.terminal.Load(); p != nil {
		return Token{}, *p
	}
	now := time.Now()
	if !now.Before(k.sessionEnd) {
		return Token{}, ErrSessionExpired
	}
	st := k.cur.Load()
	if now.Sub(st.refreshedAt) >= k.cfg.RevokeAfter {
		return Token{}, ErrTokenRevoked
	}
	return st.tok, nil
}

// Acquire returns the current token and holds it until release is called: a refresh
// (which may retire the token) waits until every holder released it. Call release as
// soon as the request's answer has arrived.
func (k *KeepAlive) Acquire(ctx context.Context) (Token, func(), error) {
	if err := k.gate.rlock(ctx); err != nil {
		return Token{}, nil, err
	}
	t, err := k.current()
	if err != nil {
		k.gate.runlock()
		return Token{}, nil, err
	}
	var once sync.Once
	return t, func() { once.Do(k.gate.runlock) }, nil
}

// Refreshes counts successful refreshes.
func (k *KeepAlive) Refreshes() int64 { return k.refreshes.Load() }

// SessionEnd is when the session cap is reached.
func (k *KeepAlive) SessionEnd() time.Time { return k.sessionEnd }

// Close stops the background refresher and waits for it to exit. Token then returns
// ErrClosed.
func (k *KeepAlive) Close() error {
	k.closeOnce.Do(func() {
		err := ErrClosed
		k.terminal.CompareAndSwap(nil, &err)
		k.cancel()
	})
	<-k.done
	return nil
}

func (k *KeepAlive) stop(err error) {
	k.terminal.CompareAndSwap(nil, &err)
}

func (k *KeepAlive) run() {
	defer close(k.done)
	log := k.cfg.Logger
	warnAt := k.sessionEnd.Add(-k.cfg.SessionWarning)
	warned := k.cfg.OnSessionExpiring == nil
	next := k.cur.Load().refreshedAt.Add(k.cfg.Interval)
	failures := 0
	timer := time.NewTimer(0)
	defer timer.Stop()
	<-timer.C
	for {
		now := time.Now()
		// With a store every replica starts holding its requests a little before the
		// shared schedule (see refreshShared), so it wakes that much earlier.
		due := next
		if k.cfg.Store != nil {
			due = next.Add(-k.sharedGrace())
		}
		wake := earliest(due, k.sessionEnd)
		if !warned {
			wake = earliest(wake, warnAt)
		}
		timer.Reset(max(wake.Sub(now), 0))
		select {
		case <-k.ctx.Done():
			return
		case <-timer.C:
		}
		now = time.Now()
		if !warned && !now.Before(warnAt) {
			warned = true
			k.cfg.OnSessionExpiring(max(k.sessionEnd.Sub(now), 0))
		}
		if !now.Before(k.sessionEnd) {
			log.Warn("banksdk keep-alive: session cap reached; a new token must be issued")
			k.stop(ErrSessionExpired)
			return
		}
		if now.Before(due) {
			continue
		}
		var err error
		if k.cfg.Store != nil {
			err = k.refreshShared(next)
		} else {
			err = k.refresh()
		}
		if errors.Is(err, errLeaseBusy) {
			if time.Since(k.cur.Load().refreshedAt) >= k.cfg.RevokeAfter {
				log.Error("banksdk keep-alive: no replica refreshed the token before the revoke deadline")
				k.stop(ErrTokenRevoked)
				return
			}
			next = time.Now().Add(k.cfg.StorePoll)
			continue
		}
		if err == nil {
			failures = 0
			next = k.nextRefresh(k.cur.Load())
			continue
		}
		if k.ctx.Err() != nil {
			return
		}
		if errors.Is(err, ErrTokenRevoked) || errors.Is(err, ErrSessionExpired) {
			log.Error("banksdk keep-alive: provider refused the token; a new token must be issued", "error", err.Error())
			k.stop(err)
			return
		}
		failures++
		deadline := k.cur.Load().refreshedAt.Add(k.cfg.RevokeAfter)
		now = time.Now()
		if !now.Before(deadline) {
			log.Error("banksdk keep-alive: token not refreshed before the revoke deadline", "error", err.Error())
			k.stop(ErrTokenRevoked)
			return
		}
		wait := k.cfg.RetryMin << min(failures-1, 20)
		if wait <= 0 || wait > k.cfg.RetryMax {
			wait = k.cfg.RetryMax
		}
		wait = wait/2 + rand.N(wait/2+1)
		// Always leave room for further attempts before the deadline.
		wait = min(wait, deadline.Sub(now)/3)
		log.Warn("banksdk keep-alive: refresh failed; retrying", "attempt", failures, "retry_in", wait, "error", err.Error())
		next = now.Add(wait)
	}
}

// refreshContext bounds one refresh: until the revoke deadline of the token being
// refreshed (nothing is gained after it), or RefreshTimeout when that is shorter.
func (k *KeepAlive) refreshContext(cur *kaState) (context.Context, context.CancelFunc) {
	deadline := cur.refreshedAt.Add(k.cfg.RevokeAfter)
	if t := k.cfg.RefreshTimeout; t > 0 {
		deadline = earliest(deadline, time.Now().Add(t))
	}
	return context.WithDeadline(k.ctx, deadline)
}

// Stop ends the keep-alive with err: no more refreshes, and Token and Acquire return
// err from now on. A client calls it when the provider rejected the token on an
// ordinary call (revoked, session ended). Close must still be called.
func (k *KeepAlive) Stop(err error) {
	if err == nil {
		err = ErrTokenRevoked
	}
	k.stop(err)
	k.cancel()
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
		rec, err := k.cfg.Store.Load(ctx, k.cfg.StoreKey)
		switch {
		case err == nil:
			k.adopt(rec)
		case !errors.Is(err, ErrNotFound):
			return Token{}, storeErr("load", err)
		}
		cur, err := k.current()
		if err != nil || cur.Value != rejected.Value {
			return cur, err
		}
		release, busy, err := k.tryLeaseBriefly(ctx)
		if err != nil {
			return Token{}, err
		}
		if !busy {
			_ = release(context.WithoutCancel(ctx))
			return cur, nil // nobody is refreshing: nothing newer is coming
		}
		t := time.NewTimer(k.cfg.StorePoll)
		select {
		case <-ctx.Done():
			t.Stop()
			return Token{}, ctx.Err()
		case <-t.C:
		}
	}
}

// tryLeaseBriefly reports whether another replica holds the refresh lease; when it
// does not, the caller holds it now and must release it.
func (k *KeepAlive) tryLeaseBriefly(ctx context.Context) (release func(context.Context) error, busy bool, err error) {
	release, ok, err := k.cfg.Store.TryLease(ctx, k.cfg.StoreKey, time.Second)
	if err != nil {
		return nil, false, storeErr("lease", err)
	}
	return release, !ok, nil
}

// joinStore adopts this session's token from the store, or publishes ours.
func (k *KeepAlive) joinStore() error {
	ctx, cancel := k.refreshContext(k.cur.Load())
	defer cancel()
	rec, err := k.cfg.Store.Load(ctx, k.cfg.StoreKey)
	switch {
	case err == nil && !rec.Updated.Before(k.cfg.IssuedAt):
		k.adopt(rec)
		return nil
	case err != nil && !errors.Is(err, ErrNotFound):
		return storeErr("load", err)
	}
	// Nothing from this session yet: publish the issued token. Losing the race means
	// another replica published first; adopt theirs.
	if _, err := k.cfg.Store.CompareAndSwap(ctx, k.cfg.StoreKey, rec.Version, k.cur.Load().tok); err != nil {
		if !errors.Is(err, ErrVersionConflict) {
			return storeErr("publish", err)
		}
		if rec, err = k.cfg.Store.Load(ctx, k.cfg.StoreKey); err != nil {
			return storeErr("load", err)
		}
		k.adopt(rec)
	}
	return nil
}

// adopt takes a stored record if it is newer than what this replica holds.
func (k *KeepAlive) adopt(rec Record) bool {
	cur := k.cur.Load()
	if rec.Token.Value == "" || (rec.Token.Value == cur.tok.Value && !rec.Updated.After(cur.refreshedAt)) {
		return false
	}
	if !rec.Updated.After(cur.refreshedAt) && rec.Token.Value != cur.tok.Value {
		return false // an older token than ours
	}
	k.cur.Store(&kaState{tok: rec.Token, refreshedAt: rec.Updated})
	return true
}

// refreshShared refreshes through the store: adopt a refresh another replica made in
// this window, or take the lease, refresh and publish. Every replica wakes on the same
// schedule (due, from the shared record) and holds its own requests from a grace
// before it until the window's token is settled, and the lease holder waits the same
// grace before it refreshes: a replica whose timer fires a little late is still
// holding its requests when the refresh may retire the token they would carry.
func (k *KeepAlive) refreshShared(due time.Time) error {
	k.gate.lock()
	defer k.gate.unlock()
	ctx, cancel := k.refreshContext(k.cur.Load())
	defer cancel()
	if err := sleepCtx(ctx, time.Until(due)); err != nil {
		return err
	}
	s, key := k.cfg.Store, k.cfg.StoreKey
	recent := func(rec Record) bool { return time.Since(rec.Updated) < k.cfg.Interval }
	rec, err := s.Load(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return storeErr("load", err)
	}
	if err == nil && recent(rec) {
		k.adopt(rec)
		return nil
	}
	release, ok, err := s.TryLease(ctx, key, k.cfg.LeaseTTL)
	if err != nil {
		return storeErr("lease", err)
	}
	if !ok {
		if release, ok, err = k.awaitShared(ctx, recent); err != nil || !ok {
			return err // adopted the other replica's result, or gave up for now
		}
	}
	defer func() {
		rctx, rcancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer rcancel()
		_ = release(rctx)
	}()
	if err := sleepCtx(ctx, k.sharedGrace()); err != nil {
		return err
	}
	rec, err = s.Load(ctx, key)
	if err != nil && !errors.Is(err, ErrNotFound) {
		return storeErr("load", err)
	}
	if err == nil && recent(rec) {
		k.adopt(rec)
		return nil
	}
	if err == nil {
		k.adopt(rec) // refresh the newest token the replicas know
	}
	if err := k.refreshLocked(); err != nil {
		return err
	}
	if _, err := s.CompareAndSwap(ctx, key, rec.Version, k.cur.Load().tok); err != nil {
		k.cfg.Logger.Warn("banksdk keep-alive: refreshed, but could not publish to the store", "error", storeErr("publish", err).Error())
	}
	return nil
}

// awaitShared runs while another replica holds the refresh lease (and this replica
// holds its own requests): it waits until that replica publishes its result (adopted: ok false), so that none of them carries the token the refresh
// retires. If the holder stops without publishing, its lease ends and this replica
// takes it over (ok true: the caller refreshes and must release). It gives up
// (errLeaseBusy, retried a StorePoll later) after a few seconds without either.
func (k *KeepAlive) awaitShared(ctx context.Context, recent func(Record) bool) (release func(context.Context) error, ok bool, err error) {
	wctx, cancel := context.WithTimeout(ctx, min(k.cfg.LeaseTTL, 5*time.Second))
	defer cancel()
	for {
		rec, err := k.cfg.Store.Load(wctx, k.cfg.StoreKey)
		if err == nil && recent(rec) {
			k.adopt(rec)
			return nil, false, nil
		}
		if release, ok, err := k.cfg.Store.TryLease(wctx, k.cfg.StoreKey, k.cfg.LeaseTTL); err == nil && ok {
			return release, true, nil
		}
		if sleepCtx(wctx, k.sharedGrace()/4) != nil {
			return nil, false, errLeaseBusy
		}
	}
}

// sharedGrace is how long a lease holder waits before refreshing, and a few times
// how often waiting replicas look at the store.
func (k *KeepAlive) sharedGrace() time.Duration { return min(k.cfg.Interval/10, 100*time.Millisecond) }

func sleepCtx(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

func (k *KeepAlive) refresh() error {
	k.gate.lock()
	defer k.gate.unlock()
	return k.refreshLocked()
}

// refreshLocked calls Refresh; the caller holds the gate.
func (k *KeepAlive) refreshLocked() error {
	cur := k.cur.Load()
	ctx, cancel := k.refreshContext(cur)
	defer cancel()
	tok, err := k.cfg.Refresh(ctx, cur.tok)
	if err != nil {
		return err
	}
	if tok.Value == "" {
		tok = Token{Value: cur.tok.Value, Expiry: tok.Expiry}
	}
	k.cur.Store(&kaState{tok: tok, refreshedAt: time.Now()})
	k.refreshes.Add(1)
	k.cfg.Logger.Debug("banksdk keep-alive: token refreshed", "rotated", tok.Value != cur.tok.Value)
	if k.cfg.OnRefresh != nil {
		k.cfg.OnRefresh(tok)
	}
	return nil
}

// gate is a readers-writer lock whose readers honour a context and whose writer has
// priority over new readers.
type gate struct {
	mu      sync.Mutex
	readers int
	writer  bool
	changed chan struct{}
}

func (g *gate) broadcast() {
	close(g.changed)
	g.changed = make(chan struct{})
}

func (g *gate) rlock(ctx context.Context) error {
	for {
		g.mu.Lock()
		if !g.writer {
			g.readers++
			g.mu.Unlock()
			return nil
		}
		ch := g.changed
		g.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
}

func (g *gate) runlock() {
	g.mu.Lock()
	g.readers--
	if g.readers == 0 {
		g.broadcast()
	}
	g.mu.Unlock()
}

func (g *gate) lock() {
	g.mu.Lock()
	g.writer = true
	for g.readers > 0 {
		ch := g.changed
		g.mu.Unlock()
		<-ch
		g.mu.Lock()
	}
	g.mu.Unlock()
}

func (g *gate) unlock() {
	g.mu.Lock()
	g.writer = false
	g.broadcast()
	g.mu.Unlock()
}

// nextRefresh schedules the refresh after st: an Interval later, or sooner when the
// token states an earlier expiry (three quarters of the way to it). An expiry at or
// after the session cap says nothing the cap does not, and is ignored; refreshes are
// never closer together than RetryMin (or half the Interval, if that is shorter).
func (k *KeepAlive) nextRefresh(st *kaState) time.Time {
	next := st.refreshedAt.Add(k.cfg.Interval)
	if exp := st.tok.Expiry; !exp.IsZero() && exp.Before(next) && exp.Before(k.sessionEnd) {
		next = st.refreshedAt.Add(exp.Sub(st.refreshedAt) * 3 / 4)
	}
	if floor := st.refreshedAt.Add(min(k.cfg.RetryMin, k.cfg.Interval/2)); next.Before(floor) {
		next = floor
	}
	return next
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

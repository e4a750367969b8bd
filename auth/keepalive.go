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

	"github.com/banksdk/banksdk"
)

// Errors reported by a KeepAlive.
var (
	// ErrSessionExpired: the session cap passed; an administrator must issue a new token.
	ErrSessionExpired = errors.New("auth: session expired: the session cap was reached and a new token must be issued")
	// ErrTokenRevoked: the token was not refreshed within the provider's revoke window
	// (or the provider said it is revoked); a new token must be issued.
	ErrTokenRevoked = errors.New("auth: token revoked: it was not refreshed within the provider's revoke window")
	// ErrClosed: the KeepAlive was closed. It is banksdk.ErrClosed, the error of
	// every closed client.
	ErrClosed = banksdk.ErrClosed
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
	// and 30 s); retries are always scheduled before the revoke deadline. With a
	// Store, retries follow a schedule without jitter that every replica derives from
	// the shared refresh time, so that they hold their requests together.
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
	//
	// Every replica holds its requests for a short grace around the shared refresh
	// time (a tenth of Interval, at most 100 ms), plus the refresh's round trip. A
	// store call made while requests are held must answer within that grace; when it
	// does not, the requests go on with the current token (logged at warn level).
	//
	// When the store stays unreachable, the current token keeps being served and
	// retried; halfway between the end of Interval and the revoke deadline a replica
	// refreshes on its own (logged at warn level) and publishes once the store is
	// back. A replica whose token could not be kept alive (the provider refused its
	// own refresh because another replica rotated the token, or the deadline passed)
	// fails with a *StoreError naming the store and adopts the token the others
	// publish once the store answers again; if none arrives within RevokeAfter -
	// Interval of the store's return, it stops with ErrTokenRevoked.
	//
	// A stored record that cannot be read (ErrUnreadable) is replaced by the lease
	// holder (logged at warn level), never left in place.
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
	clk        timeSource
	sessionEnd time.Time
	// epoch is when the keep-alive started, with a monotonic reading; mono says
	// that clk is the wall clock, so that time.Since(epoch) tells the time.
	epoch time.Time
	mono  bool

	cur       atomic.Pointer[kaState]
	terminal  atomic.Pointer[error]
	refreshes atomic.Int64
	gate      gate
	// storeFault is the last failure of a store call, nil once the store answers.
	storeFault atomic.Pointer[StoreError]
	// unpublished: this replica holds a token the store does not (it refreshed on
	// its own while the store was unreachable, or could not publish).
	unpublished atomic.Bool
	// futureWarned: a record stamped in the future was reported once.
	futureWarned atomic.Bool
	// runSolo: the background goroutine is refreshing without the store (stepSolo).
	// Only that goroutine reads and writes it.
	runSolo bool

	ctx       context.Context
	cancel    context.CancelFunc
	done      chan struct{}
	closeOnce sync.Once
}

type kaState struct {
	tok         Token
	refreshedAt time.Time
	// stranded, when set, is what callers get: the token could not be kept alive
	// while the store was unreachable, and the keep-alive waits for the token another
	// replica publishes.
	stranded *StoreError
	// liveUntil, once set (on the wall clock only), is the monotonic time since the
	// keep-alive's epoch until which tok is neither revoked nor past the session
	// cap: current then reads the monotonic clock alone.
	liveUntil atomic.Int64
}

// timeSource is a KeepAlive's clock; tests substitute a fake one.
type timeSource interface {
	Now() time.Time
	// NewTimer returns a channel that receives once d has passed, and a stop func.
	NewTimer(d time.Duration) (<-chan time.Time, func() bool)
}

type wallClock struct{}

func (wallClock) Now() time.Time { return time.Now() }

func (wallClock) NewTimer(d time.Duration) (<-chan time.Time, func() bool) {
	t := time.NewTimer(d)
	return t.C, t.Stop
}

// NewKeepAlive validates cfg and starts the background refresher.
func NewKeepAlive(cfg KeepAliveConfig) (*KeepAlive, error) {
	return newKeepAlive(cfg, wallClock{})
}

func newKeepAlive(cfg KeepAliveConfig, clk timeSource) (*KeepAlive, error) {
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
	now := clk.Now()
	if cfg.IssuedAt.IsZero() {
		cfg.IssuedAt = now
	}
	k := &KeepAlive{cfg: cfg, clk: clk, sessionEnd: cfg.IssuedAt.Add(cfg.SessionLength), done: make(chan struct{})}
	if _, ok := clk.(wallClock); ok {
		k.epoch, k.mono = time.Now(), true
	}
	k.gate.init()
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
// revoked or the keep-alive was closed. With a store, a token that could not be kept
// alive while the store was unreachable yields a *StoreError naming the store.
func (k *KeepAlive) Token(ctx context.Context) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	return k.current()
}

func (k *KeepAlive) now() time.Time { return k.clk.Now() }

func (k *KeepAlive) current() (Token, error) {
	if p := k.terminal.Load(); p != nil {
		return Token{}, *p
	}
	st := k.cur.Load()
	if k.mono {
		if until := st.liveUntil.Load(); until > 0 && time.Since(k.epoch) < time.Duration(until) {
			return st.tok, nil
		}
	}
	return k.check(st)
}

// check is current for the state st, reading the keep-alive's clock. On the wall
// clock it records in st until when the token lives, for current's next calls.
func (k *KeepAlive) check(st *kaState) (Token, error) {
	now := k.now()
	if !now.Before(k.sessionEnd) {
		return Token{}, ErrSessionExpired
	}
	if st.stranded != nil {
		return Token{}, st.stranded
	}
	if now.Sub(st.refreshedAt) >= k.cfg.RevokeAfter {
		if se := k.storeFault.Load(); se != nil && k.cfg.Store != nil {
			return Token{}, strandedErr(se)
		}
		return Token{}, ErrTokenRevoked
	}
	if k.mono {
		left := min(k.sessionEnd.Sub(now), st.refreshedAt.Add(k.cfg.RevokeAfter).Sub(now))
		st.liveUntil.Store(int64(now.Sub(k.epoch) + left))
	}
	return st.tok, nil
}

// Acquire returns the current token and holds it until release is called: a refresh
// (which may retire the token) waits until every holder released it. Call release
// exactly once, as soon as the request's answer has arrived.
//
// Acquire takes no lock and allocates nothing while no refresh is under way: the
// holders of the token count themselves in an atomic counter that a refresh closes
// and waits to drain.
func (k *KeepAlive) Acquire(ctx context.Context) (Token, func(), error) {
	release, err := k.gate.rlock(ctx)
	if err != nil {
		return Token{}, nil, err
	}
	t, err := k.current()
	if err != nil {
		release()
		return Token{}, nil, err
	}
	return t, release, nil
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

// Renew is for a client whose request carrying rejected was refused by the provider
// (a 401 for a token the client believes live, which may be a stray answer): it
// refreshes the token at once rather than at the next scheduled refresh, so the client
// learns whether the token lives and can replay the request with the result.
//
// Renew is a compare-and-swap on rejected: when the keep-alive has moved on since the
// request left (a scheduled refresh, another Renew, or with a Store a token another
// replica published, adopted as Sync does), it returns the current token without
// calling Refresh, so that concurrent rejections of one token refresh it once.
// Otherwise it refreshes rejected under the lock a scheduled refresh takes (requests
// wait for it as for a scheduled refresh; with a Store, under the store's refresh
// lease too), publishes the result to the Store when there is one, and returns it.
//
// A refresh that fails with an error wrapping ErrTokenRevoked or ErrSessionExpired
// ends the keep-alive before any request waiting for the lock goes on, and Renew
// returns that error, as Token does from then on. Any other failure (the provider did
// not answer, the caller's ctx ended) is returned and changes nothing. With a Store,
// a store that cannot be reached gives a *StoreError, and the keep-alive goes on
// (adopting the newest token once the store answers).
func (k *KeepAlive) Renew(ctx context.Context, rejected Token) (Token, error) {
	if err := ctx.Err(); err != nil {
		return Token{}, err
	}
	if k.cfg.Store != nil {
		cur, err := k.Sync(ctx, rejected)
		if err != nil || cur.Value != rejected.Value {
			return cur, err
		}
	}
	if err := k.gate.lockCtx(ctx); err != nil {
		return Token{}, err
	}
	defer k.gate.unlock()
	cur, err := k.current()
	if err != nil || cur.Value != rejected.Value {
		return cur, err
	}
	if k.cfg.Store != nil {
		return k.renewShared(ctx, rejected)
	}
	if err := k.renewLocked(ctx); err != nil {
		return Token{}, err
	}
	return k.current()
}

// renewLocked is Renew's refresh; the caller holds the gate. It runs until the revoke
// deadline at most, and ends with the keep-alive (Close). A refusal stops the
// keep-alive before the caller unlocks the gate.
func (k *KeepAlive) renewLocked(ctx context.Context) error {
	cur := k.cur.Load()
	ctx, cancel := context.WithTimeout(ctx, cur.refreshedAt.Add(k.cfg.RevokeAfter).Sub(k.now()))
	defer cancel()
	defer context.AfterFunc(k.ctx, cancel)()
	err := k.refreshWith(ctx, cur)
	if refused(err) {
		k.cfg.Logger.Error("banksdk keep-alive: provider refused the token; a new token must be issued", "error", err.Error())
		k.Stop(err)
		return err
	}
	if err != nil && k.ctx.Err() != nil {
		if _, cerr := k.current(); cerr != nil {
			return cerr // closed meanwhile: ErrClosed
		}
	}
	return err
}

// renewShared is Renew with a Store; the caller holds the gate and the store held
// rejected a moment ago. Under the store's refresh lease it adopts a token another
// replica published meanwhile, or refreshes rejected and publishes the result (when
// that fails, the next scheduled refresh publishes it).
func (k *KeepAlive) renewShared(ctx context.Context, rejected Token) (Token, error) {
	d := k.storeBound()
	release, ok, err := k.tryLease(ctx, d, k.cfg.LeaseTTL)
	if err != nil {
		return Token{}, err
	}
	if !ok {
		return Token{}, errLeaseBusy
	}
	defer k.releaseLease(release)
	rec, _, err := k.load(ctx, d)
	if err != nil {
		return Token{}, err
	}
	if rec.Token.Value != "" && rec.Token.Value != rejected.Value && k.adopt(rec) {
		return k.current()
	}
	if err := k.renewLocked(ctx); err != nil {
		return Token{}, err
	}
	if err := k.publish(ctx, d, rec.Version); err != nil {
		k.unpublished.Store(true)
		k.cfg.Logger.Warn("banksdk keep-alive: renewed, but could not publish to the store; publishing once it answers", "error", err.Error())
	}
	return k.current()
}

// What the background goroutine does at its next wake-up.
type kaStep int

const (
	stepRefresh kaStep = iota // refresh (with a store: through it, on the shared schedule)
	stepSolo                  // the store is unreachable near the deadline: refresh without it
	stepPublish               // the store lacks our token: publish once it answers
	stepRejoin                // stranded: wait for another replica's token
)

func (k *KeepAlive) run() {
	defer close(k.done)
	log := k.cfg.Logger
	warnAt := k.sessionEnd.Add(-k.cfg.SessionWarning)
	warned := k.cfg.OnSessionExpiring == nil
	next := k.cur.Load().refreshedAt.Add(k.cfg.Interval)
	step := stepRefresh
	failures := 0
	var answeredSince time.Time // stranded: when the store first answered with nothing newer
	for {
		// With a store every replica starts holding its requests a little before the
		// shared schedule (see refreshShared), so it wakes that much earlier.
		due := next
		if k.cfg.Store != nil && (step == stepRefresh || step == stepSolo) {
			due = next.Add(-k.sharedGrace())
		}
		wake := earliest(due, k.sessionEnd)
		if !warned {
			wake = earliest(wake, warnAt)
		}
		if k.sleep(k.ctx, wake.Sub(k.now())) != nil {
			return
		}
		now := k.now()
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
		k.runSolo = step == stepSolo
		switch step {
		case stepRejoin:
			adopted, answered := k.rejoin()
			now = k.now()
			switch {
			case adopted:
				log.Info("banksdk keep-alive: adopted the token another replica published; requests resume")
				step, failures, answeredSince = stepRefresh, 0, time.Time{}
				next = k.nextRefresh(k.cur.Load())
			case !answered:
				answeredSince = time.Time{}
				next = now.Add(k.cfg.StorePoll)
			case answeredSince.IsZero():
				answeredSince = now
				next = now.Add(k.cfg.StorePoll)
			case now.Sub(answeredSince) >= k.cfg.RevokeAfter-k.cfg.Interval:
				log.Error("banksdk keep-alive: the store is back but no replica kept the token alive; a new token must be issued")
				k.stop(ErrTokenRevoked)
				return
			default:
				next = now.Add(k.cfg.StorePoll)
			}
			continue
		case stepPublish:
			if k.now().Before(k.nextRefresh(k.cur.Load())) {
				if err = k.probe(); err == nil {
					err = k.refreshShared(k.now(), true)
				}
				break
			}
			fallthrough // the scheduled refresh is due anyway
		case stepRefresh:
			switch {
			case k.cfg.Store == nil:
				err = k.refresh()
			default:
				err = k.refreshShared(next, k.unpublished.Load())
			}
		case stepSolo:
			err = k.refreshSolo(next)
			if errors.Is(err, errStoreBack) {
				step, next = stepRefresh, k.now()
				continue
			}
		}
		if errors.Is(err, errLeaseBusy) {
			if k.now().Sub(k.cur.Load().refreshedAt) >= k.cfg.RevokeAfter {
				log.Error("banksdk keep-alive: no replica refreshed the token before the revoke deadline")
				k.stop(ErrTokenRevoked)
				return
			}
			step, next = stepRefresh, k.now().Add(k.cfg.StorePoll)
			continue
		}
		if err == nil {
			failures = 0
			step, next = stepRefresh, k.nextRefresh(k.cur.Load())
			if k.unpublished.Load() {
				step, next = stepPublish, earliest(next, k.now().Add(k.cfg.StorePoll))
			}
			continue
		}
		if k.ctx.Err() != nil {
			return
		}
		var se *StoreError
		storeDown := errors.As(err, &se)
		if errors.Is(err, ErrTokenRevoked) || errors.Is(err, ErrSessionExpired) {
			if step == stepSolo && errors.Is(err, ErrTokenRevoked) {
				// Another replica may have rotated the token on its own too: wait for
				// the store rather than give the session up.
				log.Warn("banksdk keep-alive: the provider refused this replica's own refresh (another replica may have rotated the token); waiting for the store", "error", err.Error())
				k.strand()
				step, next = stepRejoin, k.now().Add(k.cfg.StorePoll)
				continue
			}
			log.Error("banksdk keep-alive: provider refused the token; a new token must be issued", "error", err.Error())
			k.stop(err)
			return
		}
		failures++
		deadline := k.cur.Load().refreshedAt.Add(k.cfg.RevokeAfter)
		now = k.now()
		if !now.Before(deadline) {
			if k.cfg.Store != nil && k.storeFault.Load() != nil {
				log.Error("banksdk keep-alive: token not refreshed before the revoke deadline while the store was unreachable; waiting for another replica's token", "error", err.Error())
				k.strand()
				step, next = stepRejoin, now.Add(k.cfg.StorePoll)
				continue
			}
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
		wait = max(min(wait, deadline.Sub(now)/3), time.Millisecond)
		next, step = now.Add(wait), stepRefresh
		if k.cfg.Store != nil {
			next = k.retryGrid(now)
		}
		if k.unpublished.Load() {
			step = stepPublish
		}
		if storeDown {
			// The store is unreachable: close to the deadline, refresh without it.
			if solo := deadline.Add(-k.soloMargin()); !next.Before(solo) {
				next, step = latest(solo, now), stepSolo
			}
		}
		log.Warn("banksdk keep-alive: refresh failed; retrying", "attempt", failures, "retry_in", next.Sub(now), "error", err.Error())
	}
}

// retryGrid is when a replica sharing a store retries after a failure: the first
// point after now of a schedule every replica computes alike from the shared refresh
// time, without jitter (RetryMin after the missed refresh, the step doubling up to
// RetryMax, and to at most a quarter of RevokeAfter - Interval). Whichever replica
// gets the lease then refreshes while the others hold their requests, as on the
// regular schedule.
func (k *KeepAlive) retryGrid(now time.Time) time.Time {
	at := k.cur.Load().refreshedAt.Add(k.cfg.Interval)
	ceiling := max(min(k.cfg.RetryMax, (k.cfg.RevokeAfter-k.cfg.Interval)/4), time.Millisecond)
	step := min(k.cfg.RetryMin, ceiling)
	for !at.After(now) {
		at = at.Add(step)
		step = min(step*2, ceiling)
	}
	return at
}

// refreshContext bounds one refresh: until the revoke deadline of the token being
// refreshed (nothing is gained after it), or RefreshTimeout when that is shorter.
func (k *KeepAlive) refreshContext(cur *kaState) (context.Context, context.CancelFunc) {
	d := cur.refreshedAt.Add(k.cfg.RevokeAfter).Sub(k.now())
	if t := k.cfg.RefreshTimeout; t > 0 {
		d = min(d, t)
	}
	return context.WithTimeout(k.ctx, d)
}

// sleep waits d on the keep-alive's clock, or until ctx ends.
func (k *KeepAlive) sleep(ctx context.Context, d time.Duration) error {
	if d <= 0 {
		return ctx.Err()
	}
	c, stop := k.clk.NewTimer(d)
	defer stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-c:
		return nil
	}
}

func (k *KeepAlive) refresh() error {
	k.gate.lock()
	defer k.gate.unlock()
	return k.refreshLocked()
}

// refused reports whether err is the provider's refusal of the token: the end of its
// life.
func refused(err error) bool {
	return errors.Is(err, ErrTokenRevoked) || errors.Is(err, ErrSessionExpired)
}

// refreshLocked is the background goroutine's refresh; the caller holds the gate. A
// refusal is recorded before the caller unlocks the gate, so that no request waiting
// for it goes on with the refused token: the keep-alive stops, or, refreshing without
// an unreachable store, waits for the token another replica publishes (another
// replica may have rotated the token).
func (k *KeepAlive) refreshLocked() error {
	cur := k.cur.Load()
	ctx, cancel := k.refreshContext(cur)
	defer cancel()
	err := k.refreshWith(ctx, cur)
	switch {
	case !refused(err):
	case k.runSolo && errors.Is(err, ErrTokenRevoked):
		k.strand()
	default:
		k.stop(err)
	}
	return err
}

// refreshWith calls Refresh for cur's token and makes the answer current; the caller
// holds the gate.
func (k *KeepAlive) refreshWith(ctx context.Context, cur *kaState) error {
	tok, err := k.cfg.Refresh(ctx, cur.tok)
	if err != nil {
		return err
	}
	if tok.Value == "" {
		tok = Token{Value: cur.tok.Value, Expiry: tok.Expiry}
	}
	k.cur.Store(&kaState{tok: tok, refreshedAt: k.now()})
	k.refreshes.Add(1)
	k.cfg.Logger.Debug("banksdk keep-alive: token refreshed", "rotated", tok.Value != cur.tok.Value)
	if k.cfg.OnRefresh != nil {
		k.cfg.OnRefresh(tok)
	}
	return nil
}

// gate is a readers-writer lock whose readers honour a context and whose writer has
// priority over new readers.
//
// Readers take no mutex: each counts itself in the open generation, an atomic
// counter, and leaves through the generation's release func, bound once when the
// generation opens. A writer closes the generation to new readers (which then wait
// for the next one) and waits for its count to drain; unlocking opens a new
// generation. A writer that gives up with its context opens a new generation too,
// and the next writer also waits for the readers of the one it left behind.
type gate struct {
	gen atomic.Pointer[leaseGen]
	// writer holds a value while a writer holds the gate or is taking it.
	writer chan struct{}
	// pending is the newest generation a writer closed but gave up waiting for,
	// chained through prev to older ones. Only the writer holding the gate uses it.
	pending *leaseGen
}

// genClosed is subtracted from a generation's count when a writer closes it: the
// count is negative from then on, and exactly -genClosed once no reader is left.
const genClosed = 1 << 40

// leaseGen is one generation of a gate's readers.
type leaseGen struct {
	n        atomic.Int64
	signaled atomic.Bool
	drained  chan struct{} // closed once the generation is closed and empty
	opened   chan struct{} // closed when the next generation opens
	release  func()        // n.leave, bound once so that a reader allocates nothing
	prev     *leaseGen     // an older closed generation still to drain (gate.pending)
}

func newLeaseGen() *leaseGen {
	l := &leaseGen{drained: make(chan struct{}), opened: make(chan struct{})}
	l.release = l.leave
	return l
}

// leave is a reader's release.
func (l *leaseGen) leave() {
	if l.n.Add(-1) == -genClosed {
		l.drain()
	}
}

func (l *leaseGen) drain() {
	if l.signaled.CompareAndSwap(false, true) {
		close(l.drained)
	}
}

func (l *leaseGen) isDrained() bool { return l.signaled.Load() }

func (g *gate) init() {
	g.writer = make(chan struct{}, 1)
	g.gen.Store(newLeaseGen())
}

// rlock takes the gate for a reader and returns its release, which must be called
// exactly once.
func (g *gate) rlock(ctx context.Context) (func(), error) {
	for {
		l := g.gen.Load()
		if l.n.Add(1) > 0 {
			return l.release, nil
		}
		l.leave() // closed by a writer: wait for the next generation
		select {
		case <-l.opened:
		case <-ctx.Done():
			return nil, ctx.Err()
		}
	}
}

// lock takes the gate for a writer: it waits for another writer to unlock, then
// holds new readers back and waits for the readers in place to leave.
func (g *gate) lock() { _ = g.lockCtx(context.Background()) }

// lockCtx is lock that gives up when ctx ends (then nothing is held).
func (g *gate) lockCtx(ctx context.Context) error {
	select {
	case g.writer <- struct{}{}:
	case <-ctx.Done():
		return ctx.Err()
	}
	l := g.gen.Load()
	l.prev = undrained(g.pending)
	g.pending = nil
	if l.n.Add(-genClosed) == -genClosed {
		l.drain()
	}
	for w := l; w != nil; w = w.prev {
		select {
		case <-w.drained:
		case <-ctx.Done():
			g.pending = l
			g.unlock()
			return ctx.Err()
		}
	}
	l.prev = nil
	return nil
}

// undrained is the chain from l without the generations that drained.
func undrained(l *leaseGen) *leaseGen {
	for l != nil && l.isDrained() {
		l = l.prev
	}
	if l != nil {
		l.prev = undrained(l.prev)
	}
	return l
}

// unlock opens a new generation, lets the readers waiting for it go on, and lets
// the next writer in.
func (g *gate) unlock() {
	old := g.gen.Load()
	g.gen.Store(newLeaseGen())
	close(old.opened)
	<-g.writer
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

func latest(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func earliest(a, b time.Time) time.Time {
	if b.Before(a) {
		return b
	}
	return a
}

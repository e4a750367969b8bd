package rest

import (
	"context"
	"sync"
	"sync/atomic"
	"time"
)

// attemptCtx is the context of one attempt under the per-attempt timeout: the call's
// context, cancelled also when the timeout passes. It does what context.WithDeadline
// does without its cost on every attempt: attemptCtx itself lives in the attempt's own
// struct (allocated anyway), and the parts that cost allocations and locks (a cancel
// context, its Done channel, the map of its children, a timer) are an attemptTimer
// taken from the client's pool and given back when the attempt ends, if nothing
// cancelled it.
//
// An attemptCtx is never reused: net/http may go on reading it after the attempt ended
// (a dial it started for the attempt finishes in the background with the attempt's
// values). Only the attemptTimer is, and a timer that was cancelled never is.
//
// Only attempts sent through an *http.Transport (see releasesContext) use the pool:
// net/http cancels everything it derives from an attempt's context when the attempt
// ends, so a timer that went back to the pool carries nothing of its attempt. A
// caller's own RoundTripper (Config.HTTPClient) may register work on the request's
// context past the answer (a span ended, a goroutine waiting on Done); with such a
// transport every attempt gets a timer of its own, cancelled when the attempt ends,
// as context.WithDeadline would be.
//
// Until start, and when the caller's deadline comes before the timeout, an attemptCtx
// is its parent (t is nil).
type attemptCtx struct {
	parent     context.Context // the call's context
	deadline   time.Time       // when the attempt times out
	t          *attemptTimer   // nil without a timeout of its own
	stopParent func() bool     // stops the propagation of parent's cancellation; nil when parent has none
}

// attemptTimer cancels a context at the deadline of the attempt using it. Its inner,
// cancel and timer are set when it is made and never change, so an attemptCtx that
// ended may still read them.
//
// Its timer is not stopped when an attempt ends cleanly: it goes back to the pool
// armed, and the next attempt moves it only if it would fire after that attempt's
// deadline. When it fires early (armed for an earlier attempt), it is armed again for
// the deadline of the attempt using it; when no attempt uses it, it does nothing. So
// an attempt costs a lock, not a timer reset and stop, while a pooled timer fires
// about once per timeout.
type attemptTimer struct {
	inner   context.Context // a cancel context of context.Background(), never cancelled while pooled
	cancel  context.CancelCauseFunc
	timer   *time.Timer // runs expire
	expired atomic.Bool // the deadline passed (Err reports DeadlineExceeded)

	mu       sync.Mutex
	active   bool      // an attempt uses it
	deadline time.Time // that attempt's deadline
	fireAt   time.Time // when the timer fires; zero when it is not armed
}

func (t *attemptTimer) expire() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.fireAt = time.Time{}
	if !t.active {
		return
	}
	if left := time.Until(t.deadline); left > 0 {
		t.fireAt = t.deadline
		t.timer.Reset(left)
		return
	}
	// Under the lock: finish, which takes it too, sees the cancellation and does not
	// give the timer back to the pool.
	t.expired.Store(true)
	t.cancel(context.DeadlineExceeded)
}

// start sets a up as an attempt under parent that times out at deadline, which is d
// from now, unless parent ends first, with a timer from pool (nil: a timer of its own).
// finish must be called once the attempt is over (its answer's body closed, or its
// error returned), with the same pool.
func (a *attemptCtx) start(pool *sync.Pool, parent context.Context, deadline time.Time, d time.Duration) {
	var t *attemptTimer
	if pool != nil {
		t, _ = pool.Get().(*attemptTimer)
	}
	if t == nil {
		t = &attemptTimer{active: true, deadline: deadline, fireAt: deadline}
		t.inner, t.cancel = context.WithCancelCause(context.Background())
		t.mu.Lock() // expire waits until the timer is set
		t.timer = time.AfterFunc(d, t.expire)
		t.mu.Unlock()
	} else {
		t.mu.Lock()
		t.active, t.deadline = true, deadline
		if t.fireAt.IsZero() || t.fireAt.After(deadline) {
			t.fireAt = deadline
			t.timer.Reset(d)
		}
		t.mu.Unlock()
	}
	*a = attemptCtx{parent: parent, deadline: deadline, t: t}
	if parent.Done() != nil {
		a.stopParent = context.AfterFunc(parent, a.fromParent)
		if parent.Err() != nil {
			// AfterFunc runs fromParent in a goroutine of its own: the attempt must be
			// done before it starts, not when that goroutine runs.
			a.fromParent()
		}
	}
}

func (a *attemptCtx) fromParent() { a.t.cancel(context.Cause(a.parent)) }

// finish ends the attempt: the watch on its parent stops, and the attemptTimer goes
// back to pool if nothing cancelled it; without a pool, or when something did, its
// timer stops and its context is cancelled. It must be called once.
func (a *attemptCtx) finish(pool *sync.Pool) {
	t := a.t
	t.mu.Lock()
	t.active = false
	reusable := t.inner.Err() == nil
	t.mu.Unlock()
	if a.stopParent != nil {
		reusable = a.stopParent() && reusable
	}
	if pool == nil || !reusable {
		// Not pooled, or cancelled or about to be (expire cancels under the lock, and
		// only while the timer is active): it stays with the attempt that saw it.
		t.timer.Stop()
		t.cancel(context.Canceled)
		return
	}
	pool.Put(t)
}

// Deadline implements context.Context: the attempt's deadline, or the parent's when
// that comes first.
func (a *attemptCtx) Deadline() (time.Time, bool) {
	if a.t == nil {
		return a.parent.Deadline()
	}
	if dl, ok := a.parent.Deadline(); ok && dl.Before(a.deadline) {
		return dl, true
	}
	return a.deadline, true
}

// Done implements context.Context.
func (a *attemptCtx) Done() <-chan struct{} {
	if a.t == nil {
		return a.parent.Done()
	}
	return a.t.inner.Done()
}

// Err implements context.Context: DeadlineExceeded once the attempt's timeout passed,
// the parent's error once the parent ended.
func (a *attemptCtx) Err() error {
	if a.t == nil {
		return a.parent.Err()
	}
	if a.t.inner.Err() == nil {
		return nil
	}
	if a.t.expired.Load() {
		return context.DeadlineExceeded
	}
	if err := a.parent.Err(); err != nil {
		return err
	}
	return context.Canceled
}

// Value implements context.Context. The cancel context's own key is answered by the
// timer's context (so that net/http's context for the attempt joins its children
// rather than watching it from a goroutine, and context.Cause finds the cause); every
// other key by the parent.
func (a *attemptCtx) Value(key any) any {
	if a.t == nil {
		return a.parent.Value(key)
	}
	if v := a.t.inner.Value(key); v != nil {
		return v
	}
	return a.parent.Value(key)
}

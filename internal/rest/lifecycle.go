package rest

import (
	"context"
	"sync"

	"github.com/banksdk/banksdk"
)

// ErrClosed is returned by the calls of a provider client after its Close. It is
// banksdk.ErrClosed.
var ErrClosed = banksdk.ErrClosed

// Lifecycle lets a provider client's Close stop the work the client runs on its own
// (a login or token renewal that outlives the call that started it) and refuse calls
// made after Close. The zero value is not usable; use NewLifecycle.
type Lifecycle struct {
	ctx    context.Context
	cancel context.CancelFunc

	mu     sync.Mutex
	closed bool
	wg     sync.WaitGroup
}

// NewLifecycle returns an open Lifecycle.
func NewLifecycle() *Lifecycle {
	ctx, cancel := context.WithCancel(context.Background())
	return &Lifecycle{ctx: ctx, cancel: cancel}
}

// Begin registers one piece of work bound to ctx. The returned context is also
// cancelled by Close, which waits until end has been called. After Close, Begin
// returns ErrClosed.
func (l *Lifecycle) Begin(ctx context.Context) (context.Context, func(), error) {
	l.mu.Lock()
	if l.closed {
		l.mu.Unlock()
		return nil, nil, ErrClosed
	}
	l.wg.Add(1)
	l.mu.Unlock()
	wctx, cancel := context.WithCancel(ctx)
	stop := context.AfterFunc(l.ctx, cancel)
	return wctx, func() {
		stop()
		cancel()
		l.wg.Done()
	}, nil
}

// Err returns ErrClosed once Close has been called, nil before.
func (l *Lifecycle) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.closed {
		return ErrClosed
	}
	return nil
}

// Close refuses new work, cancels the work in flight and waits for it to end. It
// reports whether this call closed the Lifecycle (false when it was already closed).
func (l *Lifecycle) Close() bool {
	l.mu.Lock()
	first := !l.closed
	l.closed = true
	l.mu.Unlock()
	l.cancel()
	l.wg.Wait()
	return first
}

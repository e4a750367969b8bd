package tkey7_test

import (
	"sync"
	"testing"
	"time"

	"go.uber.org/goleak"

	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// TestMain fails the package's tests if a goroutine is left running when they end: a
// closed client leaves neither its keep-alive nor a connection behind.
func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

// waitTimeout bounds every wait for an event: long enough for a loaded machine, and a
// wait that times out fails the test with what it was waiting for.
const waitTimeout = 10 * time.Second

// refreshes records the refresh calls a fake answered (tkey7test.OnRefresh), so that
// tests wait for refreshes as events instead of sleeping.
type refreshes struct {
	mu      sync.Mutex
	events  []tkey7test.RefreshEvent
	changed chan struct{}
}

// recordRefreshes returns a recorder and the fake option that feeds it.
func recordRefreshes() (*refreshes, tkey7test.Option) {
	r := &refreshes{changed: make(chan struct{})}
	return r, tkey7test.OnRefresh(func(ev tkey7test.RefreshEvent) {
		r.mu.Lock()
		r.events = append(r.events, ev)
		close(r.changed)
		r.changed = make(chan struct{})
		r.mu.Unlock()
	})
}

// all returns the events so far.
func (r *refreshes) all() []tkey7test.RefreshEvent {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]tkey7test.RefreshEvent(nil), r.events...)
}

// ok returns the successful refreshes so far.
func (r *refreshes) ok() []tkey7test.RefreshEvent {
	var out []tkey7test.RefreshEvent
	for _, ev := range r.all() {
		if ev.Status == 200 {
			out = append(out, ev)
		}
	}
	return out
}

// waitFor blocks until cond holds for the events so far, and returns them; after
// waitTimeout it fails the test, saying what it waited for.
func (r *refreshes) waitFor(t *testing.T, what string, cond func([]tkey7test.RefreshEvent) bool) []tkey7test.RefreshEvent {
	t.Helper()
	timeout := time.NewTimer(waitTimeout)
	defer timeout.Stop()
	for {
		r.mu.Lock()
		evs := append([]tkey7test.RefreshEvent(nil), r.events...)
		ch := r.changed
		r.mu.Unlock()
		if cond(evs) {
			return evs
		}
		select {
		case <-ch:
		case <-timeout.C:
			t.Fatalf("timed out after %v waiting for %s; refresh calls so far: %d", waitTimeout, what, len(evs))
		}
	}
}

// waitOK waits until at least n refreshes succeeded.
func (r *refreshes) waitOK(t *testing.T, n int) []tkey7test.RefreshEvent {
	t.Helper()
	r.waitFor(t, "successful refreshes", func(evs []tkey7test.RefreshEvent) bool { return countOK(evs) >= n })
	return r.ok()
}

func countOK(evs []tkey7test.RefreshEvent) int {
	n := 0
	for _, ev := range evs {
		if ev.Status == 200 {
			n++
		}
	}
	return n
}

// assertChain checks that successful refreshes form one chain from first: each
// refreshed the token the previous one produced, so no token was refreshed twice and
// the client always refreshed its latest token.
func assertChain(t *testing.T, first string, evs []tkey7test.RefreshEvent) {
	t.Helper()
	want := first
	for i, ev := range evs {
		if ev.Status != 200 {
			continue
		}
		if ev.Token != want {
			t.Errorf("refresh %d carried another token than the one the previous refresh produced", i+1)
		}
		want = ev.NewToken
	}
}

// waitChan waits for a value on ch or fails the test after waitTimeout.
func waitChan[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(waitTimeout):
		t.Fatalf("timed out after %v waiting for %s", waitTimeout, what)
		panic("unreachable")
	}
}

package rest

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptrace"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banksdk/banksdk/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startAttempt starts an attempt as the attempt transport does.
func startAttempt(pool *sync.Pool, parent context.Context, deadline time.Time, d time.Duration) *attemptCtx {
	a := new(attemptCtx)
	a.start(pool, parent, deadline, d)
	return a
}

// waitDone fails the test when ctx is not done within 10 s.
func waitDone(t *testing.T, ctx context.Context, what string) {
	t.Helper()
	select {
	case <-ctx.Done():
	case <-time.After(10 * time.Second):
		t.Fatalf("%s: the context was not cancelled within 10 s", what)
	}
}

func TestAttemptContextTimesOut(t *testing.T) {
	var pool sync.Pool
	type key struct{}
	parent := context.WithValue(context.Background(), key{}, "caller's")
	start := time.Now()
	a := startAttempt(&pool, parent, start.Add(20*time.Millisecond), 20*time.Millisecond)
	child, cancelChild := context.WithCancel(a) // as net/http derives its own
	defer cancelChild()

	dl, ok := a.Deadline()
	assert.True(t, ok)
	assert.Equal(t, start.Add(20*time.Millisecond), dl)
	assert.Equal(t, "caller's", a.Value(key{}))
	assert.Equal(t, "caller's", child.Value(key{}))
	waitDone(t, child, "derived context")

	assert.ErrorIs(t, a.Err(), context.DeadlineExceeded)
	assert.ErrorIs(t, context.Cause(a), context.DeadlineExceeded)
	assert.ErrorIs(t, context.Cause(child), context.DeadlineExceeded, "net/http reports the cause")
	assert.NoError(t, parent.Err(), "the caller's context goes on")
	a.finish(&pool)
	b := startAttempt(&pool, parent, time.Now().Add(time.Hour), time.Hour)
	defer b.finish(&pool)
	assert.NotSame(t, a.t, b.t, "a timer that fired is not reused")
	assert.NoError(t, b.Err())
}

func TestAttemptContextFollowsItsParent(t *testing.T) {
	var pool sync.Pool
	parent, cancel := context.WithCancelCause(context.Background())
	earlier := time.Now().Add(time.Minute)
	parentDL, cancelDL := context.WithDeadline(parent, earlier)
	defer cancelDL()
	a := startAttempt(&pool, parentDL, time.Now().Add(time.Hour), time.Hour)
	dl, _ := a.Deadline()
	assert.Equal(t, earlier, dl, "the parent's deadline comes first")
	child, cancelChild := context.WithCancel(a)
	defer cancelChild()

	stop := errors.New("caller stopped")
	cancel(stop)
	waitDone(t, child, "derived context")
	assert.ErrorIs(t, a.Err(), context.Canceled)
	assert.Equal(t, stop, context.Cause(a))
	assert.Equal(t, stop, context.Cause(child))
	a.finish(&pool)

	b := startAttempt(&pool, context.Background(), time.Now().Add(time.Hour), time.Hour)
	defer b.finish(&pool)
	assert.NotSame(t, a.t, b.t, "a timer cancelled by the parent is not reused")
	assert.NoError(t, b.Err())

	// A parent that is already done cancels the attempt before start returns, so that
	// the transport never sends it.
	c := startAttempt(&pool, parent, time.Now().Add(time.Hour), time.Hour)
	select {
	case <-c.Done():
	default:
		t.Fatal("an attempt of a call already cancelled starts live")
	}
	assert.ErrorIs(t, c.Err(), context.Canceled)
	assert.Equal(t, stop, context.Cause(c))
	c.finish(&pool)
}

// TestReusedTimerServesOnlyItsNewAttempt: an attempt that ended cleanly gives its timer
// back to the pool, and the next attempt that takes it depends only on its own caller
// and its own timeout: the first caller cancelling its context afterwards (a deferred
// cancel) does not end it, and it still times out.
func TestReusedTimerServesOnlyItsNewAttempt(t *testing.T) {
	var pool sync.Pool
	first, cancelFirst := context.WithCancelCause(context.Background())
	a := startAttempt(&pool, first, time.Now().Add(time.Hour), time.Hour)
	a.finish(&pool)

	const d = 200 * time.Millisecond
	b := startReusing(t, &pool, a, time.Now().Add(d), d)
	// Whatever watched the first caller would cancel the timer at once, long before
	// the second attempt's own timeout.
	cancelFirst(errors.New("the first caller is done"))
	waitDone(t, b, "reused timer")
	assert.ErrorIs(t, b.Err(), context.DeadlineExceeded, "ended by its own timeout")
	assert.ErrorIs(t, context.Cause(b), context.DeadlineExceeded, "not by the first caller: %v", context.Cause(b))
	b.finish(&pool)
}

// TestCancelledAttemptContextIsNeverReused runs attempts that end in every way, many
// at once, and checks that an attempt never starts with a timer another attempt saw
// cancelled.
func TestCancelledAttemptContextIsNeverReused(t *testing.T) {
	var (
		pool      sync.Pool
		mu        sync.Mutex
		cancelled = map[*attemptTimer]bool{}
		wg        sync.WaitGroup
	)
	for g := 0; g < 8; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; i < 200; i++ {
				parent, cancel := context.WithCancel(context.Background())
				d := time.Hour
				if i%3 == 0 {
					d = time.Microsecond
				}
				a := startAttempt(&pool, parent, time.Now().Add(d), d)
				mu.Lock()
				if cancelled[a.t] {
					mu.Unlock()
					t.Error("an attempt started with a cancelled context")
					cancel()
					return
				}
				mu.Unlock()
				if a.Err() != nil && i%3 != 0 {
					t.Error("a fresh attempt's context is already done:", a.Err())
				}
				switch i % 3 {
				case 0:
					waitDone(t, a, "attempt timeout")
				case 1:
					cancel()
					waitDone(t, a, "caller's cancellation")
				}
				if a.Err() != nil {
					mu.Lock()
					cancelled[a.t] = true
					mu.Unlock()
				}
				a.finish(&pool)
				cancel()
			}
		}()
	}
	wg.Wait()
	assert.NotEmpty(t, cancelled)
}

// TestCallersContextReachesTheTransport: the base transport sees the caller's values
// and a deadline no later than the per-attempt timeout; the caller's cancellation
// ends an attempt that is waiting for its answer.
func TestCallersContextReachesTheTransport(t *testing.T) {
	type key struct{}
	var (
		mu   sync.Mutex
		seen []any
		dls  []time.Time
	)
	base := fake.Start(http.HandlerFunc(echoHandler))
	t.Cleanup(base.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		dl, _ := r.Context().Deadline()
		mu.Lock()
		seen = append(seen, r.Context().Value(key{}))
		dls = append(dls, dl)
		mu.Unlock()
		return tr.RoundTrip(r)
	})
	h := setup(t, nil, func(c *Config) {
		require.NoError(t, c.SetHTTPClient(&http.Client{Transport: rt}))
		require.NoError(t, c.SetTimeout(time.Minute))
	})
	ctx := context.WithValue(context.Background(), key{}, "value")
	before := time.Now()
	for i := 0; i < 3; i++ {
		var out echo
		_, err := h.client.Do(ctx, &Request{Method: http.MethodGet, Path: "x"}, &out)
		require.NoError(t, err)
		assert.Equal(t, "/api/v1/x", out.Path)
	}
	mu.Lock()
	assert.Equal(t, []any{"value", "value", "value"}, seen)
	for _, dl := range dls {
		assert.WithinRange(t, dl, before.Add(time.Minute), time.Now().Add(time.Minute))
	}
	mu.Unlock()

	h.srv.Inject(1, fake.Delay(time.Minute))
	cctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		_, err := h.client.Do(cctx, &Request{Method: http.MethodPost, Path: "slow"}, nil)
		done <- err
	}()
	require.Eventually(t, func() bool { return h.srv.Count(http.MethodPost, "/api/v1/slow") == 1 }, 10*time.Second, time.Millisecond, "the request did not arrive")
	cancel()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.Canceled)
		assert.NotContains(t, err.Error(), "attempt timed out")
	case <-time.After(10 * time.Second):
		t.Fatal("cancelling the caller's context did not end the attempt")
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

// TestNilAnswerFromTheCallersTransportIsAnError: a transport of the caller's HTTP
// client that returns neither an answer nor an error fails the call, as http.Client
// does, instead of crashing the pipeline.
func TestNilAnswerFromTheCallersTransportIsAnError(t *testing.T) {
	var calls atomic.Int32
	h := setup(t, nil, func(c *Config) {
		require.NoError(t, c.SetHTTPClient(&http.Client{Transport: roundTripFunc(func(*http.Request) (*http.Response, error) {
			calls.Add(1)
			return nil, nil
		})}))
		require.NoError(t, c.SetRetry(0, time.Millisecond, time.Millisecond))
	})
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, nil)
	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.ErrorContains(t, err, "rest.roundTripFunc returned a nil *http.Response with a nil error")
	assert.Equal(t, int32(1), calls.Load())
}

// TestPipelineAllocatesNoMoreThanPlainNetHTTP: a small GET through the pipeline, with
// its per-attempt timeout, authorisation and decoding, allocates at most as much as
// the same call by hand with net/http and encoding/json (the in-memory transport of
// BenchmarkOverhead).
func TestPipelineAllocatesNoMoreThanPlainNetHTTP(t *testing.T) {
	if raceEnabled {
		t.Skip("the race detector makes sync.Pool drop items, and allocations vary")
	}
	pair := newOverheadPair(t)
	ctx := context.Background()
	allocs := map[string]float64{}
	for _, impl := range pair.impls() {
		allocs[impl.name] = testing.AllocsPerRun(200, func() {
			var out benchAccount
			if err := impl.get(ctx, &out); err != nil || out.ID != "acc-1" {
				t.Fatal(err, out)
			}
		})
	}
	t.Logf("allocations per call: %v", allocs)
	assert.LessOrEqual(t, allocs["impl=pipeline"], allocs["impl=plain"])
}

// TestAttemptsOutliveNoDial runs many calls at once over a transport that keeps few
// idle connections, so that net/http dials in the background for attempts that end
// before their dial does (it finishes the dial with the attempt's context, to keep the
// connection). Each call's answer is its own, and the race detector sees no attempt's
// context written while such a dial reads it.
func TestAttemptsOutliveNoDial(t *testing.T) {
	type key struct{}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.MaxIdleConnsPerHost = 1
	t.Cleanup(tr.CloseIdleConnections)
	h := setup(t, nil, func(c *Config) {
		require.NoError(t, c.SetHTTPClient(&http.Client{Transport: tr}))
		c.Authorizer = AuthorizerFunc(func(ctx context.Context, req *http.Request, _ []byte) error {
			req.Header.Set("Authorization", ctx.Value(key{}).(string))
			return nil
		})
	})
	var wg sync.WaitGroup
	for g := 0; g < 16; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var connects atomic.Int32
			id := fmt.Sprint("caller-", g)
			ctx := context.WithValue(context.Background(), key{}, id)
			ctx = httptrace.WithClientTrace(ctx, &httptrace.ClientTrace{ConnectStart: func(string, string) { connects.Add(1) }})
			for i := 0; i < 25; i++ {
				var out echo
				method := http.MethodGet
				if i%2 == 1 {
					method = http.MethodPost // traced by the pipeline too
				}
				if _, err := h.client.Do(ctx, &Request{Method: method, Path: "x", Body: map[string]int{"i": i}}, &out); err != nil {
					t.Error(err)
					return
				}
				if out.Auth != id || out.Method != method {
					t.Errorf("%s got the answer %+v", id, out)
					return
				}
			}
		}()
	}
	wg.Wait()
}

// TestCallersTransportSeesItsAttemptEnd: a RoundTripper of the caller's own that keeps
// work waiting on the request's context past the answer sees that context done once
// the attempt is over (its body closed), as with context.WithDeadline: its timer is
// not shared with later attempts.
func TestCallersTransportSeesItsAttemptEnd(t *testing.T) {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	ended := make(chan error, 8)
	rt := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		ctx := r.Context()
		context.AfterFunc(ctx, func() { ended <- ctx.Err() }) // e.g. a span ended when the request's context is
		return tr.RoundTrip(r)
	})
	h := setup(t, nil, func(c *Config) {
		require.NoError(t, c.SetHTTPClient(&http.Client{Transport: rt}))
		require.NoError(t, c.SetTimeout(time.Minute))
	})
	for i := 0; i < 2; i++ {
		var out echo
		_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, &out)
		require.NoError(t, err)
		select {
		case err := <-ended:
			assert.ErrorIs(t, err, context.Canceled, "call %d: the attempt ended, it did not time out", i+1)
		case <-time.After(10 * time.Second):
			t.Fatalf("call %d: the attempt's context was not done 10 s after the call returned", i+1)
		}
	}
}

// waitTimer fails the test when cond does not hold for t's state within 10 s.
func waitTimer(tb testing.TB, t *attemptTimer, what string, cond func(t *attemptTimer) bool) {
	tb.Helper()
	for end := time.Now().Add(10 * time.Second); ; time.Sleep(time.Millisecond) {
		t.mu.Lock()
		ok := cond(t)
		t.mu.Unlock()
		if ok {
			return
		}
		if time.Now().After(end) {
			tb.Fatalf("%s: not within 10 s", what)
		}
	}
}

// startReusing starts attempts under the pool until one gets first's timer (sync.Pool
// may drop what it is given, often under the race detector), and returns it.
func startReusing(tb testing.TB, pool *sync.Pool, first *attemptCtx, deadline time.Time, d time.Duration) *attemptCtx {
	tb.Helper()
	for try := 0; try < 1000; try++ {
		b := startAttempt(pool, context.Background(), deadline, d)
		if b.t == first.t {
			return b
		}
		b.finish(nil) // not back into the pool: its timer stops
		pool.Put(first.t)
	}
	tb.Fatal("the pool never handed the timer back")
	return nil
}

// TestTimerArmedForAnEarlierAttemptWaitsForTheNextOnesDeadline: a timer goes back to
// the pool armed for its attempt's deadline; when it fires for the next attempt, whose
// deadline is later, it is armed again for that deadline instead of ending it.
func TestTimerArmedForAnEarlierAttemptWaitsForTheNextOnesDeadline(t *testing.T) {
	var pool sync.Pool
	const early = 50 * time.Millisecond
	a := startAttempt(&pool, context.Background(), time.Now().Add(early), early)
	a.finish(&pool)
	late := time.Now().Add(time.Hour)
	b := startReusing(t, &pool, a, late, time.Hour)
	defer b.finish(&pool)

	waitTimer(t, b.t, "the timer fired for the first deadline and was armed again", func(t *attemptTimer) bool { return t.fireAt.Equal(late) })
	assert.NoError(t, b.Err(), "the second attempt goes on")
	select {
	case <-b.Done():
		t.Fatal("the second attempt was ended at the first one's deadline")
	default:
	}
}

// TestTimerThatFiredInThePoolIsArmedAgain: a pooled timer that fired with no attempt
// using it did nothing, and the next attempt arms it again: that attempt still times
// out.
func TestTimerThatFiredInThePoolIsArmedAgain(t *testing.T) {
	var pool sync.Pool
	a := startAttempt(&pool, context.Background(), time.Now().Add(time.Millisecond), time.Millisecond)
	a.finish(&pool)
	waitTimer(t, a.t, "the pooled timer fired", func(t *attemptTimer) bool { return t.fireAt.IsZero() })
	assert.NoError(t, a.t.inner.Err(), "firing in the pool cancelled nothing")

	const d = 100 * time.Millisecond
	b := startReusing(t, &pool, a, time.Now().Add(d), d)
	waitDone(t, b, "reused timer armed again")
	assert.ErrorIs(t, b.Err(), context.DeadlineExceeded)
	b.finish(&pool)
}

package redisstore

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tkey7Replicas starts n clients sharing one TKEY7 token through Redis, each with its
// own Store on its own connection pool, as separate processes have.
func tkey7Replicas(t *testing.T, srv *tkey7test.Server, replica func() *Store, n int, window, interval time.Duration) ([]*tkey7.Client, string) {
	t.Helper()
	issued := time.Now()
	tok := srv.IssueToken(tkey7test.IssuedAt(issued))
	var cs []*tkey7.Client
	for i := range n {
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issued),
			tkey7.WithUserAgent(fmt.Sprintf("replica/%d", i)),
			tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(interval),
			tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond), tkey7.WithStore(replica(), "tkey7:us:bank"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		cs = append(cs, c)
	}
	return cs, tok
}

// Eight replicas share one TKEY7 credential that TKEY7 rotates on every refresh, for
// five refresh windows, while every replica keeps calling: one refresh per window in
// total, no replica sends a retired token, no call fails. The interval is 1 s, so the
// grace every replica holds its requests for is the production 100 ms.
func TestEightTKEY7ReplicasOneRefreshPerWindow(t *testing.T) {
	_, _, replica := setupReplicas(t)
	const (
		window   = 3 * time.Second
		interval = time.Second
	)
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(window), tkey7test.WithRotation())
	t.Cleanup(srv.Close)
	clients, tok := tkey7Replicas(t, srv, replica, 8, window, interval)

	var calls, failures atomic.Int32
	stop := make(chan struct{})
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				case <-time.After(10 * time.Millisecond):
				}
				calls.Add(1)
				if _, err := c.DigitalAccounts.List(context.Background()); err != nil {
					failures.Add(1)
					t.Logf("call failed: %v", err)
				}
			}
		}()
	}
	start := time.Now()
	timeout := time.After(30 * time.Second)
	for srv.Refreshes() < 5 {
		select {
		case <-timeout:
			close(stop)
			wg.Wait()
			t.Fatalf("five refresh windows did not pass in 30 s: %d refreshes", srv.Refreshes())
		case <-time.After(10 * time.Millisecond):
		}
	}
	elapsed := time.Since(start)
	close(stop)
	wg.Wait()

	assert.Zero(t, failures.Load())
	assert.Greater(t, calls.Load(), int32(100))
	assert.Zero(t, srv.RetiredTokenUses(), "no replica sent a token another replica had rotated away")
	assert.Zero(t, srv.Unauthorized())
	times := srv.RefreshTimes()
	assert.LessOrEqual(t, len(times), int(elapsed/interval)+1, "one refresh per window in total, not one per replica")
	for i := 1; i < len(times); i++ {
		assert.Greater(t, times[i].Sub(times[i-1]), interval/2, "refreshes a window apart")
	}
	var total int64
	for _, c := range clients {
		total += c.Refreshes()
	}
	assert.Equal(t, int64(len(times)), total)
	require.Eventually(t, func() bool {
		rec, err := replica().Load(context.Background(), "tkey7:us:bank")
		return err == nil && rec.Token.Value == srv.CurrentToken(tok)
	}, 10*time.Second, 5*time.Millisecond, "the live token is published")
}

// The replica holding the lease stops in the middle of its refresh (its refresh hangs
// and it is closed): another replica refreshes before TKEY7's revoke deadline.
func TestTKEY7LeaseHolderStopsAnotherTakesOver(t *testing.T) {
	_, _, replica := setupReplicas(t)
	const (
		window   = 800 * time.Millisecond
		interval = 200 * time.Millisecond
	)
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(window))
	t.Cleanup(srv.Close)
	// The first refresh hangs long enough that its sender is closed in the middle.
	srv.Inject(1, fake.Delay(2*time.Second).On(http.MethodPost, "/client/v1/api/oauth-token/refresh"))
	clients, _ := tkey7Replicas(t, srv, replica, 3, window, interval)

	var stuck fake.Request
	require.Eventually(t, func() bool {
		reqs := srv.Requests()
		if len(reqs) == 0 || reqs[0].Fault != "delay" {
			return false
		}
		stuck = reqs[0]
		return true
	}, 10*time.Second, time.Millisecond, "a replica started the first refresh")
	// The replica whose refresh is stuck, by its User-Agent, stops.
	var stopped *tkey7.Client
	for i, c := range clients {
		if strings.HasSuffix(stuck.Header.Get("User-Agent"), fmt.Sprintf("replica/%d", i)) {
			stopped = c
		}
	}
	require.NotNil(t, stopped)
	start := time.Now()
	_ = stopped.Close()
	require.Eventually(t, func() bool { return srv.Refreshes() >= 1 }, window, 2*time.Millisecond,
		"another replica refreshed before the revoke deadline")
	assert.Less(t, time.Since(start), window)
	for _, c := range clients {
		if c == stopped {
			continue
		}
		_, err := c.DigitalAccounts.List(context.Background())
		require.NoError(t, err, "the surviving replicas' token is alive")
	}
	assert.Zero(t, srv.Unauthorized())
}

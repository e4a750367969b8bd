package tkey7_test

import (
	"sync"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// Replicas sharing a store while TKEY7 rotates the token on every refresh: each token
// is refreshed exactly once, by one replica (the refreshes form one chain), and a
// replica that sends a token another replica just rotated away adopts the new one from
// the store and replays the call once, so every call succeeds.
func TestReplicasShareTheTokenThroughAStore(t *testing.T) {
	rec, hook := recordRefreshes()
	srv := tkey7test.NewServer(tkey7test.WithRotation(), hook)
	t.Cleanup(srv.Close)
	issued := time.Now()
	tok := srv.IssueToken(tkey7test.IssuedAt(issued))
	store := auth.NewMemoryStore()
	var replicas []*tkey7.Client
	for range 3 {
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issued),
			tkey7.WithRevokeAfter(slack), tkey7.WithRefreshInterval(50*time.Millisecond),
			tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond), tkey7.WithStore(store, "tkey7:test"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		replicas = append(replicas, c)
	}

	stop := make(chan struct{})
	var wg sync.WaitGroup
	errs := make(chan error, len(replicas))
	for _, c := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				select {
				case <-stop:
					return
				default:
				}
				if _, err := c.DigitalAccounts.List(ctx(t)); err != nil {
					errs <- err
					return
				}
			}
		}()
	}
	rec.waitOK(t, 6) // while the replicas call
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "every call succeeds, replaying once when another replica rotated the token")
	}
	evs := rec.all()
	assertChain(t, tok, evs)
	for _, ev := range evs {
		assert.Equal(t, 200, ev.Status, "no replica refreshed a token another had rotated away")
	}
	// Between two refreshes: the store holds the current token, and every refresh the
	// fake made was made by exactly one replica.
	require.Eventually(t, func() bool {
		rec, err := store.Load(ctx(t), "tkey7:test")
		var total int64
		for _, c := range replicas {
			total += c.Refreshes()
		}
		return err == nil && rec.Token.Value == srv.CurrentToken(tok) && total == int64(srv.Refreshes())
	}, waitTimeout, time.Millisecond, "the store holds the current token and the replicas' refreshes add up to the fake's")
}

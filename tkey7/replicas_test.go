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

// Replicas sharing a store while TKEY7 rotates the token on every refresh: one refresh
// per interval in total, and a replica that sends a token another replica just
// rotated away adopts the new one from the store and replays the call once.
func TestReplicasShareTheTokenThroughAStore(t *testing.T) {
	const window = 400 * time.Millisecond
	srv := tkey7test.NewServer(tkey7test.WithRevokeAfter(window), tkey7test.WithRotation())
	t.Cleanup(srv.Close)
	issued := time.Now()
	tok := srv.IssueToken(tkey7test.IssuedAt(issued))
	store := auth.NewMemoryStore()
	var replicas []*tkey7.Client
	for range 3 {
		c, err := tkey7.NewClient(tkey7.WithBaseURL(srv.URL()), tkey7.WithAccessToken(tok, issued),
			tkey7.WithRevokeAfter(window), tkey7.WithRefreshInterval(window/4),
			tkey7.WithRetry(3, time.Millisecond, 5*time.Millisecond), tkey7.WithStore(store, "tkey7:test"))
		require.NoError(t, err)
		t.Cleanup(func() { _ = c.Close() })
		replicas = append(replicas, c)
	}

	deadline := time.Now().Add(2 * window)
	var wg sync.WaitGroup
	errs := make(chan error, 1000)
	for _, c := range replicas {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for time.Now().Before(deadline) {
				if _, err := c.DigitalAccounts.List(ctx(t)); err != nil {
					errs <- err
					return
				}
				time.Sleep(5 * time.Millisecond)
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err, "every call succeeds, replaying once when another replica rotated the token")
	}
	refreshes := srv.Refreshes()
	assert.GreaterOrEqual(t, refreshes, 5, "the token was refreshed on schedule")
	assert.LessOrEqual(t, refreshes, 11, "about one refresh per interval in total, not one per replica")
	var total int64
	for _, c := range replicas {
		total += c.Refreshes()
	}
	assert.Equal(t, int64(refreshes), total, "each refresh was made by exactly one replica")
	rec, err := store.Load(ctx(t), "tkey7:test")
	require.NoError(t, err)
	assert.Equal(t, srv.CurrentToken(tok), rec.Token.Value, "the store holds the current token")
}

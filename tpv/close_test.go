package tpv_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func TestCallsAfterCloseFail(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	conf, err := e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	sent := len(e.srv.Requests())

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, e.c.Close())
		}()
	}
	wg.Wait()
	require.NoError(t, e.c.Close(), "Close is idempotent")

	_, err = e.c.SubmitTPV(ctx, seedSale())
	assert.ErrorIs(t, err, tpv.ErrClosed)
	assert.ErrorIs(t, err, banksdk.ErrClosed, "the one error of every closed client")
	assert.NotErrorIs(t, err, tpv.ErrOutcomeUnknown, "nothing was sent")
	_, err = e.c.Products(ctx)
	assert.ErrorIs(t, err, tpv.ErrClosed)
	_, err = e.c.SendDigital(ctx, conf.Code)
	assert.ErrorIs(t, err, tpv.ErrClosed)
	_, err = tpv.Do[map[string]string](ctx, e.c, "POST", "api/v1/test/api", nil)
	assert.ErrorIs(t, err, tpv.ErrClosed)
	assert.ErrorIs(t, e.c.Login(ctx), tpv.ErrClosed)
	assert.Len(t, e.srv.Requests(), sent, "a closed client sends nothing")
}

// A renewal runs in the background while the current token is still served; Close
// cancels it and waits for it to end.
func TestCloseStopsBackgroundLogin(t *testing.T) {
	clk := newClock(time.Now())
	// A long attempt timeout: without Close, the stuck login would last the minute.
	e := setup(t, []tpvtest.Option{tpvtest.WithClock(clk.Now)}, tpv.WithClock(clk.Now), tpv.WithTimeout(time.Minute))
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))

	e.srv.Inject(1, fake.Delay(time.Minute).On("POST", tpvtest.PathAuth))
	clk.Advance(tpv.AuthTokenLifetime - 10*time.Second) // inside the renewal window
	_, err := e.c.Products(ctx)
	require.NoError(t, err, "the current token is served while the renewal runs")
	require.Eventually(t, func() bool { return e.srv.Count("POST", tpvtest.PathAuth) == 2 }, 10*time.Second, time.Millisecond,
		"the background renewal reached the portal")

	closed := make(chan error, 1)
	go func() { closed <- e.c.Close() }()
	select {
	case err := <-closed:
		require.NoError(t, err)
	case <-time.After(10 * time.Second):
		t.Fatal("Close did not stop the login in flight")
	}
	assert.Equal(t, 1, e.srv.Logins(), "the renewal was cancelled, not completed")
}

// Close closes the idle connection the client keeps to the portal, and with it the
// transport's goroutines; the portal keeps running.
func TestCloseClosesIdleConnections(t *testing.T) {
	srv := tpvtest.NewServer()
	t.Cleanup(srv.Close)
	before := goleak.IgnoreCurrent()

	c, err := tpv.NewClient(tpv.WithBaseURL(srv.URL()), tpv.WithCredentials(srv.AppToken(), srv.AppSecret()))
	require.NoError(t, err)
	_, err = c.Products(context.Background())
	require.NoError(t, err)
	require.Error(t, goleak.Find(before), "a kept-alive connection has goroutines on both ends")

	require.NoError(t, c.Close())
	assert.NoError(t, goleak.Find(before), "after Close no goroutine of the client or its connection is left")
}

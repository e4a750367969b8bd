package kh_test

import (
	"context"
	"sync"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/kh"
)

func TestConcurrentCallsShareOneRenewal(t *testing.T) {
	e := setup(t, nil)
	id := e.validConsent(kh.BalanceConsent("2999-12-31", e.ref(0)))
	_, err := e.c.Accounts.Balances(e.ctx, id, "acc-huf-1")
	require.NoError(t, err)
	e.srv.ExpireTokens()
	before := e.srv.StatusCalls(id)
	appBefore := len(e.srv.AppTokens(e.srv.ApplicationID()))

	var wg sync.WaitGroup
	errs := make(chan error, 20)
	for i := 0; i < 20; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := e.c.Accounts.Balances(e.ctx, id, "acc-huf-1")
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	assert.Equal(t, 1, e.srv.StatusCalls(id)-before, "one consent renewal for all callers")
	assert.Equal(t, 1, len(e.srv.AppTokens(e.srv.ApplicationID()))-appBefore, "one app token renewal")
}

func TestAppTokenSource(t *testing.T) {
	e := setup(t, nil)
	var calls atomic.Int32
	src := auth.SourceFunc(func(ctx context.Context) (auth.Token, error) {
		calls.Add(1)
		tok, err := e.srv.IssueAppToken(e.srv.ApplicationID())
		return auth.Token{Value: tok}, err
	})
	c := e.newClient(t, kh.WithAppTokenSource(src))
	p, err := c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	_, err = c.Payments.Status(e.ctx, p.PaymentID)
	require.NoError(t, err)
	assert.Equal(t, int32(1), calls.Load(), "cached")
	e.srv.ExpireTokens()
	_, err = c.Payments.Status(e.ctx, p.PaymentID)
	require.NoError(t, err)
	assert.Equal(t, int32(2), calls.Load(), "asked again after the bank rejected the token")
}

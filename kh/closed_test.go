package kh_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/kh"
)

// After Close every call fails with ErrClosed (banksdk.ErrClosed) before a token is
// taken or anything reaches the bank.
func TestCallsAfterCloseFail(t *testing.T) {
	e := setup(t, nil)
	consent := e.psuConsent()
	list, err := e.c.Accounts.List(e.ctx, consent)
	require.NoError(t, err)
	require.NotEmpty(t, list.Accounts)
	p, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP), kh.RedirectPreferred(true),
		kh.RedirectURI("https://tpp.example.com/back"))
	require.NoError(t, err)
	link := p.Links.Get(kh.LinkSCARedirect)
	require.NotEmpty(t, link)
	sent := len(e.srv.Requests())
	payments := e.srv.PaymentCount()

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

	_, err = e.c.Accounts.List(e.ctx, consent)
	assert.ErrorIs(t, err, kh.ErrClosed)
	assert.ErrorIs(t, err, banksdk.ErrClosed)
	_, err = e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	assert.ErrorIs(t, err, kh.ErrClosed)
	assert.NotErrorIs(t, err, kh.ErrOutcomeUnknown, "nothing was sent")
	_, err = e.c.Consents.Status(e.ctx, consent)
	assert.ErrorIs(t, err, kh.ErrClosed)
	_, err = e.c.SCARedirectURL(e.ctx, link)
	assert.ErrorIs(t, err, kh.ErrClosed)
	assert.Len(t, e.srv.Requests(), sent, "a closed client sends nothing")
	assert.Equal(t, payments, e.srv.PaymentCount(), "no payment was initiated after Close")
}

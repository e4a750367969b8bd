package tkey7_test

import (
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/tkey7"
)

// After Close every call, reads and POSTs alike, fails with ErrClosed
// (banksdk.ErrClosed) before anything reaches TKEY7.
func TestCallsAfterCloseFail(t *testing.T) {
	e := setup(t, nil)
	ids := e.srv.DigitalAccountIDs()
	require.NotEmpty(t, ids)
	_, err := e.client.DigitalAccounts.Get(ctx(t), ids[0])
	require.NoError(t, err)
	sent := len(e.srv.Requests())

	var wg sync.WaitGroup
	for range 4 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			assert.NoError(t, e.client.Close())
		}()
	}
	wg.Wait()
	require.NoError(t, e.client.Close(), "Close is idempotent")

	_, err = e.client.DigitalAccounts.List(ctx(t))
	assert.ErrorIs(t, err, tkey7.ErrClosed)
	assert.ErrorIs(t, err, banksdk.ErrClosed)
	_, err = e.client.DigitalAccounts.Get(ctx(t), ids[0])
	assert.ErrorIs(t, err, tkey7.ErrClosed)
	_, err = tkey7.Do[map[string]any](ctx(t), e.client, "POST", "digital-accounts", map[string]string{"id": "obj-1", "name": "n"})
	assert.ErrorIs(t, err, tkey7.ErrClosed)
	assert.NotErrorIs(t, err, tkey7.ErrOutcomeUnknown, "nothing was sent")
	assert.Len(t, e.srv.Requests(), sent, "a closed client sends nothing")
}

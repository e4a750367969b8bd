package saltedge_test

import (
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/saltedge"
)

// After Close every callback fails with ErrClosed (banksdk.ErrClosed) before a JWT is
// signed or anything reaches Salt Edge.
func TestCallsAfterCloseFail(t *testing.T) {
	e := setup(t)
	ctx := ctxT(t)
	e.fake.OpenSession("sess-closed")
	e.fake.AddToken("t1", "821", time.Time{})
	_, err := e.client.Sessions.Update(ctx, saltedge.RedirectUpdate("sess-closed", "https://bank.example/x"))
	require.NoError(t, err)
	page, err := e.client.Tokens.Index(ctx, saltedge.TokensQuery{CustomerID: 821})
	require.NoError(t, err)
	require.Len(t, page.Tokens, 1)
	sent := len(e.fake.Requests())
	require.Equal(t, 2, sent)

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

	_, err = e.client.Sessions.Update(ctx, saltedge.RedirectUpdate("sess-closed", "https://bank.example/y"))
	assert.ErrorIs(t, err, saltedge.ErrClosed)
	assert.ErrorIs(t, err, banksdk.ErrClosed)
	assert.NotErrorIs(t, err, saltedge.ErrOutcomeUnknown, "nothing was sent")
	_, err = e.client.Tokens.Index(ctx, saltedge.TokensQuery{CustomerID: 821})
	assert.ErrorIs(t, err, saltedge.ErrClosed)
	_, err = saltedge.Do[map[string]any](ctx, e.client, "POST", "api/connectors/v1/sessions/update",
		map[string]any{"session_secret": "sess-closed"})
	assert.ErrorIs(t, err, saltedge.ErrClosed)
	assert.Len(t, e.fake.Requests(), sent, "a closed client sends nothing")
	assert.Equal(t, 1, e.fake.CallbackCount("sessions/update"), "only the update sent before Close arrived")
}

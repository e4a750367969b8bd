package main

import (
	"context"
	"net/http"
	"testing"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
	"github.com/stretchr/testify/require"
)

// checkout is the code under test in the README's testing example: it submits a sale.
func checkout(ctx context.Context, c *tpv.Client) (tpv.Confirmation, error) {
	return c.SubmitTPV(ctx, sale())
}

// readme:begin testing
func TestCheckout(t *testing.T) {
	ctx := context.Background()
	portal := tpvtest.NewServer() // an httptest server that enforces the TPV contract
	t.Cleanup(portal.Close)
	c, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = c.Close() })

	// The portal stores the sale and the answer is lost (not the login before it).
	portal.Inject(1, fake.DropAfter().On(http.MethodPost, "/api/v1/tpv"))
	_, err = checkout(ctx, c) // your code
	require.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	require.Len(t, portal.Submissions(), 1) // and it did not submit twice
}

// readme:end testing

func TestCheckoutBehindABreakingProxy(t *testing.T) {
	ctx := context.Background()
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)

	// readme:begin testing-proxy
	proxy, err := fake.NewBreakingProxy(portal.URL())
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	c, err := tpv.NewClient(tpv.WithBaseURL(proxy.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()))
	require.NoError(t, err)
	proxy.Inject(1, fake.ActThen(http.StatusGatewayTimeout, "").On("POST", "/api/v1/tpv"))
	_, err = checkout(ctx, c)
	require.ErrorIs(t, err, tpv.ErrOutcomeUnknown) // and errors.As finds the *tpv.APIError with 504
	require.Len(t, portal.Submissions(), 1)        // stored once, never re-sent
	// readme:end testing-proxy
	_ = c.Close()
}

// TestEveryExampleRuns runs every README example against the fakes, as the program
// does.
func TestEveryExampleRuns(t *testing.T) {
	for _, s := range steps {
		t.Run(s.name, func(t *testing.T) {
			require.NoError(t, s.run(context.Background()))
		})
	}
}

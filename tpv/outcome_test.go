package tpv_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// The outcome model against the fake portal, with a proxy in front of it that lets
// the portal act and then breaks the answer (fake.OutcomeFaults).

const outcomeErrorBody = `{"error":"internal error"}`

var outcomeAPIStatus = testkit.StatusOf(func(e *tpv.APIError) int { return e.StatusCode })

type outcomeEnv struct {
	portal *tpvtest.Server
	proxy  *fake.Server
	c      *tpv.Client
}

func setupOutcome(t *testing.T) outcomeEnv {
	t.Helper()
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)
	proxy := testkit.BreakingProxy(t, portal.URL())
	c, err := tpv.NewClient(tpv.WithBaseURL(proxy.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
		tpv.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		tpv.WithTimeout(5*time.Second))
	require.NoError(t, err)
	closeWhenDone(t, c)
	return outcomeEnv{portal: portal, proxy: proxy, c: c}
}

// noSecretIn checks that an error keeps the app secret out of its text.
func (e outcomeEnv) noSecretIn(t *testing.T, err error) {
	assert.NotContains(t, err.Error(), e.portal.AppSecret())
}

func TestSubmitTPVOutcome(t *testing.T) {
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[tpv.Confirmation]{
		ErrorBody: outcomeErrorBody,
		APIStatus: outcomeAPIStatus,
		Start: func(t *testing.T) testkit.OutcomeRun[tpv.Confirmation] {
			e := setupOutcome(t)
			return testkit.OutcomeRun[tpv.Confirmation]{
				Proxy: e.proxy, Method: http.MethodPost, Path: tpvtest.PathTPV,
				Call: func(ctx context.Context) (tpv.Confirmation, error) {
					return e.c.SubmitTPV(ctx, seedSale())
				},
				Acted:    func() int { return len(e.portal.Submissions()) },
				Received: func() int { return e.portal.Count(http.MethodPost, tpvtest.PathTPV) },
				Unknown:  e.noSecretIn,
				Resent: func(t *testing.T, conf tpv.Confirmation) {
					subs := e.portal.Submissions()
					require.Len(t, subs, 1)
					assert.Equal(t, subs[0].ConfirmationCode, conf.Code)
				},
			}
		},
	})
}

// SendDigital and QueueCall contact the customer: the same rules.
func TestSendDigitalAndQueueCallOutcome(t *testing.T) {
	calls := []struct {
		name  string
		path  string
		call  func(*tpv.Client, context.Context, string) (tpv.Result, error)
		acted func(*tpvtest.Server) []string
	}{
		{"SendDigital", tpvtest.PathDigitalSend, (*tpv.Client).SendDigital, (*tpvtest.Server).DigitalSends},
		{"QueueCall", tpvtest.PathQueueCall, (*tpv.Client).QueueCall, (*tpvtest.Server).QueuedCalls},
	}
	for _, call := range calls {
		t.Run(call.name, func(t *testing.T) {
			testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[tpv.Result]{
				ErrorBody: outcomeErrorBody,
				APIStatus: outcomeAPIStatus,
				Start: func(t *testing.T) testkit.OutcomeRun[tpv.Result] {
					e := setupOutcome(t)
					conf, err := e.c.SubmitTPV(context.Background(), seedSale())
					require.NoError(t, err)
					path := call.path + "/" + conf.Code
					actedOnce := func(t *testing.T) {
						assert.Equal(t, []string{conf.Code}, call.acted(e.portal), "the portal acted once, on the sale")
					}
					return testkit.OutcomeRun[tpv.Result]{
						Proxy: e.proxy, Method: http.MethodPost, Path: path,
						Call: func(ctx context.Context) (tpv.Result, error) {
							return call.call(e.c, ctx, conf.Code)
						},
						Acted:    func() int { return len(call.acted(e.portal)) },
						Received: func() int { return e.portal.Count(http.MethodPost, path) },
						Unknown: func(t *testing.T, err error) {
							e.noSecretIn(t, err)
							actedOnce(t)
						},
						Resent: func(t *testing.T, _ tpv.Result) { actedOnce(t) },
					}
				},
			})
		})
	}
}

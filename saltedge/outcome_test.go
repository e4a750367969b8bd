package saltedge_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// The outcome model for the connector's callbacks, against the fake Salt Edge with a
// proxy in front of it that lets Salt Edge act and then breaks the answer
// (fake.OutcomeFaults).

const successPath = "/api/connectors/v1/sessions/success"

type outcomeEnv struct {
	fake   *saltedgetest.Server
	proxy  *fake.Server
	client *saltedge.Client
}

func setupOutcome(t *testing.T) outcomeEnv {
	t.Helper()
	fk := saltedgetest.NewServer(fakeOptions()...)
	t.Cleanup(fk.Close)
	proxy := testkit.BreakingProxy(t, fk.URL())
	tr := http.DefaultTransport.(*http.Transport).Clone()
	t.Cleanup(tr.CloseIdleConnections)
	client, err := saltedge.NewClient(
		saltedge.WithBaseURL(proxy.URL()),
		saltedge.WithHTTPClient(&http.Client{Transport: tr}),
		saltedge.WithAppID(fk.AppID()),
		saltedge.WithAppSecret(fk.AppSecret()),
		saltedge.WithPrivateKey(fk.PrivateKey()),
		saltedge.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	)
	require.NoError(t, err)
	return outcomeEnv{fake: fk, proxy: proxy, client: client}
}

func TestSessionSuccessOutcome(t *testing.T) {
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[*saltedge.CallbackResult]{
		ErrorBody: `{"error_class":"InternalServerError","error_message":"oops"}`,
		APIStatus: testkit.StatusOf(func(e *saltedge.APIError) int { return e.StatusCode }),
		Start: func(t *testing.T) testkit.OutcomeRun[*saltedge.CallbackResult] {
			e := setupOutcome(t)
			e.fake.OpenSession("sess-1")
			return testkit.OutcomeRun[*saltedge.CallbackResult]{
				Proxy: e.proxy, Method: http.MethodPost, Path: successPath,
				Call: func(ctx context.Context) (*saltedge.CallbackResult, error) {
					return e.client.Sessions.Success(ctx, saltedge.SessionSuccess{SessionSecret: "sess-1", Token: "tok-1"})
				},
				Acted:    func() int { return e.fake.CallbackCount("sessions/success") },
				Received: func() int { return e.fake.Count(http.MethodPost, successPath) },
				Unknown: func(t *testing.T, err error) {
					assert.NotContains(t, err.Error(), testAppSecret)
					sess, ok := e.fake.Session("sess-1")
					require.True(t, ok)
					assert.Equal(t, saltedgetest.SessionSuccess, sess.Status, "Salt Edge closed the session")
				},
				Resent: func(t *testing.T, res *saltedge.CallbackResult) {
					require.NotNil(t, res)
					assert.Equal(t, 2, res.Attempts)
				},
			}
		},
	})
}

// saltedge.Do decodes the data member into the caller's type in the same pass as the
// answer: a success answer whose data does not fit that type leaves a POST's outcome
// unknown.
func TestDoUndecodableDataIsOutcomeUnknown(t *testing.T) {
	e := setupOutcome(t)
	e.fake.OpenSession("sess-2")

	_, err := saltedge.Do[[]int](ctxT(t), e.client, http.MethodPost, "api/connectors/v1/sessions/success",
		saltedge.SessionSuccess{SessionSecret: "sess-2", Token: "tok-2"})

	require.Error(t, err)
	assert.ErrorIs(t, err, saltedge.ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "decoding response")
	assert.Equal(t, 1, e.fake.CallbackCount("sessions/success"))
	assert.Equal(t, 1, e.proxy.Count(http.MethodPost, successPath))
}

package saltedge_test

import (
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// The outcome model for the connector's callbacks, against the fake Salt Edge with a
// proxy in front of it that lets Salt Edge act and then breaks the answer.

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
	proxy, err := fake.NewBreakingProxy(fk.URL())
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
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

func TestSessionSuccessBrokenAfterSaltEdgeActed(t *testing.T) {
	cases := []struct {
		name   string
		fault  fake.Fault
		status int // the status of the *saltedge.APIError; 0 for a 2xx whose body cannot be used
	}{
		{"cut 2xx body", fake.CutBody(), 0},
		{"malformed 2xx body", fake.ActThenMalformed(), 0},
		{"500", fake.ActThen(http.StatusInternalServerError, `{"error_class":"InternalServerError","error_message":"oops"}`), http.StatusInternalServerError},
		{"502", fake.ActThen(http.StatusBadGateway, "<html>bad gateway</html>"), http.StatusBadGateway},
		{"503 without Retry-After", fake.ActThen(http.StatusServiceUnavailable, ""), http.StatusServiceUnavailable},
		{"504", fake.ActThen(http.StatusGatewayTimeout, ""), http.StatusGatewayTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := setupOutcome(t)
			e.fake.OpenSession("sess-1")
			e.proxy.Inject(1, c.fault.On(http.MethodPost, successPath))

			_, err := e.client.Sessions.Success(ctxT(t), saltedge.SessionSuccess{SessionSecret: "sess-1", Token: "tok-1"})

			require.Error(t, err)
			assert.ErrorIs(t, err, saltedge.ErrOutcomeUnknown)
			assert.NotContains(t, err.Error(), testAppSecret)
			sess, ok := e.fake.Session("sess-1")
			require.True(t, ok)
			assert.Equal(t, saltedgetest.SessionSuccess, sess.Status, "Salt Edge closed the session")
			assert.Equal(t, 1, e.fake.CallbackCount("sessions/success"), "Salt Edge accepted the callback once")
			assert.Equal(t, 1, e.fake.Count(http.MethodPost, successPath))
			assert.Equal(t, 1, e.proxy.Count(http.MethodPost, successPath), "the client sent it once")
			var ae *saltedge.APIError
			if c.status == 0 {
				assert.False(t, errors.As(err, &ae), "a 2xx is not an API error: %v", err)
				return
			}
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, c.status, ae.StatusCode)
		})
	}
}

func TestSessionSuccessRefusedIsResent(t *testing.T) {
	for name, f := range map[string]fake.Fault{
		"429":                  fake.Status(http.StatusTooManyRequests, ""),
		"503 with Retry-After": fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0"),
	} {
		t.Run(name, func(t *testing.T) {
			e := setupOutcome(t)
			e.fake.OpenSession("sess-1")
			e.proxy.Inject(1, f.On(http.MethodPost, successPath))

			res, err := e.client.Sessions.Success(ctxT(t), saltedge.SessionSuccess{SessionSecret: "sess-1", Token: "tok-1"})

			require.NoError(t, err)
			assert.Equal(t, 2, res.Attempts)
			assert.Equal(t, 1, e.fake.CallbackCount("sessions/success"), "Salt Edge acted once")
			assert.Equal(t, 1, e.fake.Count(http.MethodPost, successPath))
			assert.Equal(t, 2, e.proxy.Count(http.MethodPost, successPath), "re-sent after the refusal")
		})
	}
}

// saltedge.Do decodes the data member itself: a success answer whose data does not fit
// the caller's type leaves a POST's outcome unknown.
func TestDoUndecodableDataIsOutcomeUnknown(t *testing.T) {
	e := setupOutcome(t)
	e.fake.OpenSession("sess-2")

	_, err := saltedge.Do[[]int](ctxT(t), e.client, http.MethodPost, "api/connectors/v1/sessions/success",
		saltedge.SessionSuccess{SessionSecret: "sess-2", Token: "tok-2"})

	require.Error(t, err)
	assert.ErrorIs(t, err, saltedge.ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "decoding the answer")
	assert.Equal(t, 1, e.fake.CallbackCount("sessions/success"))
	assert.Equal(t, 1, e.proxy.Count(http.MethodPost, successPath))
}

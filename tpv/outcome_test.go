package tpv_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// The outcome model against the fake portal, with a proxy in front of it that lets
// the portal act and then breaks the answer.

// breaking are answers that leave the outcome unknown; status is the status the
// *APIError must carry (0: a 2xx whose body cannot be used).
var breaking = []struct {
	name   string
	fault  fake.Fault
	status int
}{
	{"cut 2xx body", fake.CutBody(), 0},
	{"malformed 2xx body", fake.ActThenMalformed(), 0},
	{"500", fake.ActThen(http.StatusInternalServerError, `{"error":"internal error"}`), http.StatusInternalServerError},
	{"502", fake.ActThen(http.StatusBadGateway, `<html>bad gateway</html>`), http.StatusBadGateway},
	{"503 without Retry-After", fake.ActThen(http.StatusServiceUnavailable, ""), http.StatusServiceUnavailable},
	{"504", fake.ActThen(http.StatusGatewayTimeout, ""), http.StatusGatewayTimeout},
}

// refusals prove the portal did not act; the proxy answers them without forwarding.
var refusals = []struct {
	name  string
	fault fake.Fault
}{
	{"429", fake.Status(http.StatusTooManyRequests, `{"error":"too many requests"}`)},
	{"503 with Retry-After", fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0")},
}

type outcomeEnv struct {
	portal *tpvtest.Server
	proxy  *fake.Server
	c      *tpv.Client
}

func setupOutcome(t *testing.T) outcomeEnv {
	t.Helper()
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)
	proxy, err := fake.NewBreakingProxy(portal.URL())
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	c, err := tpv.NewClient(tpv.WithBaseURL(proxy.URL()),
		tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
		tpv.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		tpv.WithTimeout(5*time.Second))
	require.NoError(t, err)
	closeWhenDone(t, c)
	return outcomeEnv{portal: portal, proxy: proxy, c: c}
}

func assertOutcomeUnknown(t *testing.T, err error, status int, secret string) {
	t.Helper()
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.NotContains(t, err.Error(), secret)
	var ae *tpv.APIError
	if status == 0 {
		assert.False(t, errors.As(err, &ae), "a 2xx is not an API error: %v", err)
		return
	}
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, status, ae.StatusCode)
}

func TestSubmitTPVBrokenAfterThePortalActed(t *testing.T) {
	for _, b := range breaking {
		t.Run(b.name, func(t *testing.T) {
			e := setupOutcome(t)
			e.proxy.Inject(1, b.fault.On(http.MethodPost, tpvtest.PathTPV))

			_, err := e.c.SubmitTPV(context.Background(), seedSale())

			assertOutcomeUnknown(t, err, b.status, e.portal.AppSecret())
			assert.Len(t, e.portal.Submissions(), 1, "the portal stored the sale once")
			assert.Equal(t, 1, e.portal.Count(http.MethodPost, tpvtest.PathTPV))
			assert.Equal(t, 1, e.proxy.Count(http.MethodPost, tpvtest.PathTPV), "the client sent it once")
		})
	}
}

func TestSubmitTPVRefusedIsResent(t *testing.T) {
	for _, r := range refusals {
		t.Run(r.name, func(t *testing.T) {
			e := setupOutcome(t)
			e.proxy.Inject(1, r.fault.On(http.MethodPost, tpvtest.PathTPV))

			conf, err := e.c.SubmitTPV(context.Background(), seedSale())

			require.NoError(t, err)
			subs := e.portal.Submissions()
			require.Len(t, subs, 1, "the portal acted once")
			assert.Equal(t, subs[0].ConfirmationCode, conf.Code)
			assert.Equal(t, 2, e.proxy.Count(http.MethodPost, tpvtest.PathTPV), "re-sent after the refusal")
		})
	}
}

// SendDigital and QueueCall contact the customer: the same rules.
func TestSendDigitalAndQueueCallBrokenAfterThePortalActed(t *testing.T) {
	calls := []struct {
		name  string
		path  string
		call  func(*tpv.Client, string) error
		acted func(*tpvtest.Server) []string
	}{
		{"SendDigital", tpvtest.PathDigitalSend, func(c *tpv.Client, code string) error {
			_, err := c.SendDigital(context.Background(), code)
			return err
		}, (*tpvtest.Server).DigitalSends},
		{"QueueCall", tpvtest.PathQueueCall, func(c *tpv.Client, code string) error {
			_, err := c.QueueCall(context.Background(), code)
			return err
		}, (*tpvtest.Server).QueuedCalls},
	}
	for _, call := range calls {
		for _, b := range breaking {
			t.Run(call.name+"/"+b.name, func(t *testing.T) {
				e := setupOutcome(t)
				conf, err := e.c.SubmitTPV(context.Background(), seedSale())
				require.NoError(t, err)
				e.proxy.Inject(1, b.fault.On(http.MethodPost, call.path))

				err = call.call(e.c, conf.Code)

				assertOutcomeUnknown(t, err, b.status, e.portal.AppSecret())
				assert.Equal(t, []string{conf.Code}, call.acted(e.portal), "the portal acted once")
				assert.Equal(t, 1, e.proxy.Count(http.MethodPost, call.path+"/"+conf.Code), "the client sent it once")
			})
		}
		for _, r := range refusals {
			t.Run(call.name+"/"+r.name, func(t *testing.T) {
				e := setupOutcome(t)
				conf, err := e.c.SubmitTPV(context.Background(), seedSale())
				require.NoError(t, err)
				e.proxy.Inject(1, r.fault.On(http.MethodPost, call.path))

				require.NoError(t, call.call(e.c, conf.Code))

				assert.Equal(t, []string{conf.Code}, call.acted(e.portal), "the portal acted once")
				assert.Equal(t, 2, e.proxy.Count(http.MethodPost, call.path+"/"+conf.Code), "re-sent after the refusal")
			})
		}
	}
}

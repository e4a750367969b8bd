package kh_test

import (
	"context"
	"errors"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// The outcome model against the fake bank, with a proxy in front of it that lets the
// bank act and then breaks the answer. The proxy serves mTLS with the bank's own
// certificates and reaches the bank with the TPP's client certificate.

const paymentPath = "/v1/payments/payment-order"

type outcomeEnv struct {
	bank  *khtest.Server
	proxy *fake.Server
	c     *kh.Client
}

func setupOutcome(t *testing.T) outcomeEnv {
	t.Helper()
	bank := khtest.NewServer()
	t.Cleanup(bank.Close)
	upstream := bank.Client().Transport.(*http.Transport)
	t.Cleanup(upstream.CloseIdleConnections)
	proxy, err := fake.NewBreakingProxy(bank.URL(),
		fake.WithTLS(bank.PKI().ServerTLSConfig()), fake.WithUpstreamTransport(upstream))
	require.NoError(t, err)
	t.Cleanup(proxy.Close)
	c, err := kh.NewClient(
		kh.WithBaseURL(proxy.URL()),
		kh.WithClientCertificate(bank.ClientCertificate()),
		kh.WithRootCAs(bank.RootCAs()),
		kh.WithAppToken(bank.AppToken()),
		kh.WithApplicationID(bank.ApplicationID()),
		kh.WithRetry(2, time.Millisecond, 5*time.Millisecond),
	)
	require.NoError(t, err)
	return outcomeEnv{bank: bank, proxy: proxy, c: c}
}

func (e outcomeEnv) initiate() (*kh.PaymentInitiation, error) {
	p := kh.SinglePayment{
		DebtorAccount: kh.AccountReference{IBAN: e.bank.Accounts()[0].IBAN},
		Transfer: kh.Transfer{
			InstructedAmount: kh.Amount{Currency: "HUF", Amount: "15000.00"},
			CreditorAccount:  kh.AccountReference{IBAN: "HU42117730161111101800000000"},
			CreditorName:     "Szolgáltató Kft.",
		},
	}
	return e.c.Payments.Initiate(context.Background(), p, kh.PSUIPAddress(psuIP))
}

func TestPaymentInitiationBrokenAfterTheBankActed(t *testing.T) {
	cases := []struct {
		name   string
		fault  fake.Fault
		status int // the status of the *kh.APIError; 0 for a 2xx whose body cannot be used
	}{
		{"cut 2xx body", fake.CutBody(), 0},
		{"malformed 2xx body", fake.ActThenMalformed(), 0},
		{"500", fake.ActThen(http.StatusInternalServerError, `{"tppMessages":[{"category":"ERROR","code":"INTERNAL_SERVER_ERROR"}]}`), http.StatusInternalServerError},
		{"502", fake.ActThen(http.StatusBadGateway, "<html>bad gateway</html>"), http.StatusBadGateway},
		{"503 without Retry-After", fake.ActThen(http.StatusServiceUnavailable, ""), http.StatusServiceUnavailable},
		{"504", fake.ActThen(http.StatusGatewayTimeout, ""), http.StatusGatewayTimeout},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			e := setupOutcome(t)
			e.proxy.Inject(1, c.fault.On(http.MethodPost, paymentPath))

			_, err := e.initiate()

			require.Error(t, err)
			assert.ErrorIs(t, err, kh.ErrOutcomeUnknown)
			assert.Equal(t, 1, e.bank.PaymentCount(), "the bank holds the payment once")
			assert.Equal(t, 1, e.bank.Count(http.MethodPost, paymentPath))
			assert.Equal(t, 1, e.proxy.Count(http.MethodPost, paymentPath), "the client sent it once")
			sent := e.bank.Requests()[0].Header.Get("X-Request-ID")
			require.NotEmpty(t, sent)
			assert.Equal(t, sent, kh.RequestIDOf(err), "the error names the request to look the payment up by")
			assert.NotContains(t, err.Error(), e.bank.AppToken())
			var ae *kh.APIError
			if c.status == 0 {
				assert.False(t, errors.As(err, &ae), "a 2xx is not an API error: %v", err)
				return
			}
			require.ErrorAs(t, err, &ae)
			assert.Equal(t, c.status, ae.StatusCode)
		})
	}
}

func TestPaymentInitiationRefusedIsResent(t *testing.T) {
	for name, f := range map[string]fake.Fault{
		"429":                  fake.Status(http.StatusTooManyRequests, ""),
		"503 with Retry-After": fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0"),
	} {
		t.Run(name, func(t *testing.T) {
			e := setupOutcome(t)
			e.proxy.Inject(1, f.On(http.MethodPost, paymentPath))

			p, err := e.initiate()

			require.NoError(t, err)
			assert.NotEmpty(t, p.PaymentID)
			assert.Equal(t, 1, e.bank.PaymentCount(), "the bank acted once")
			assert.Equal(t, 2, e.proxy.Count(http.MethodPost, paymentPath), "re-sent after the refusal")
			reqs := e.proxy.Requests()
			assert.Equal(t, reqs[0].Header.Get("X-Request-ID"), reqs[1].Header.Get("X-Request-ID"), "one logical request")
		})
	}
}

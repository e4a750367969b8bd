package kh_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// The outcome model against the fake bank, with a proxy in front of it that lets the
// bank act and then breaks the answer (fake.OutcomeFaults). The proxy serves mTLS with the bank's own
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
	proxy := testkit.BreakingProxy(t, bank.URL(),
		fake.WithTLS(bank.PKI().ServerTLSConfig()), fake.WithUpstreamTransport(upstream))
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

func TestPaymentInitiationOutcome(t *testing.T) {
	testkit.RunOutcomeMatrix(t, testkit.OutcomeCall[*kh.PaymentInitiation]{
		ErrorBody: `{"tppMessages":[{"category":"ERROR","code":"INTERNAL_SERVER_ERROR"}]}`,
		APIStatus: testkit.StatusOf(func(e *kh.APIError) int { return e.StatusCode }),
		Start: func(t *testing.T) testkit.OutcomeRun[*kh.PaymentInitiation] {
			e := setupOutcome(t)
			return testkit.OutcomeRun[*kh.PaymentInitiation]{
				Proxy: e.proxy, Method: http.MethodPost, Path: paymentPath,
				Call: func(ctx context.Context) (*kh.PaymentInitiation, error) {
					p := kh.SinglePayment{
						DebtorAccount: kh.AccountReference{IBAN: e.bank.Accounts()[0].IBAN},
						Transfer: kh.Transfer{
							InstructedAmount: kh.Amount{Currency: "HUF", Amount: "15000.00"},
							CreditorAccount:  kh.AccountReference{IBAN: "HU42117730161111101800000000"},
							CreditorName:     "Szolgáltató Kft.",
						},
					}
					return e.c.Payments.Initiate(ctx, p, kh.PSUIPAddress(psuIP))
				},
				Acted:    e.bank.PaymentCount,
				Received: func() int { return e.bank.Count(http.MethodPost, paymentPath) },
				Unknown: func(t *testing.T, err error) {
					reqs := e.bank.Requests()
					require.NotEmpty(t, reqs)
					sent := reqs[0].Header.Get("X-Request-ID")
					require.NotEmpty(t, sent)
					assert.Equal(t, sent, kh.RequestIDOf(err), "the error names the request to look the payment up by")
					assert.NotContains(t, err.Error(), e.bank.AppToken())
				},
				Resent: func(t *testing.T, p *kh.PaymentInitiation) {
					require.NotNil(t, p)
					assert.NotEmpty(t, p.PaymentID)
					reqs := e.proxy.Requests()
					require.Len(t, reqs, 2)
					assert.Equal(t, reqs[0].Header.Get("X-Request-ID"), reqs[1].Header.Get("X-Request-ID"), "one logical request")
				},
			}
		},
	})
}

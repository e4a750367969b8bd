package kh_test

import (
	"context"
	"errors"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// invoke calls one endpoint of the table. consent is the consent whose token the call
// should use ("" for none): positional for account reads and funds confirmations,
// UseConsent otherwise.
type invoke func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error

// fixture holds resources at the fake that the calls address.
type fixture struct {
	e        *env
	payments map[string]string // prefix -> payment id
}

func use(consent string, opts ...kh.RequestOption) []kh.RequestOption {
	if consent != "" {
		opts = append(opts, kh.UseConsent(consent))
	}
	return opts
}

// aisConsent makes an account call without a consent name an untracked one: an
// account call always names its consent.
func aisConsent(consent string) string {
	if consent == "" {
		return "consent-the-client-does-not-know"
	}
	return consent
}

func paymentInvocations[B kh.PaymentBody](prefix string, svc func(*kh.Client) *kh.PaymentService[B], body func(*env) B) map[string]invoke {
	id := func(fx *fixture) string { return fx.payments[prefix] }
	return map[string]invoke{
		"POST " + prefix: func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Initiate(ctx, body(fx.e), use(consent, kh.PSUIPAddress(psuIP))...)
			return err
		},
		"GET " + prefix + "/{paymentId}": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Get(ctx, id(fx), use(consent)...)
			return err
		},
		"GET " + prefix + "/{paymentId}/status": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Status(ctx, id(fx), use(consent)...)
			return err
		},
		"DELETE " + prefix + "/{paymentId}": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Cancel(ctx, "no-such-payment", use(consent)...)
			return err
		},
		"POST " + prefix + "/{paymentId}/authorisations": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Authorisations.Start(ctx, "no-such-payment", kh.AuthorisationRequest{}, use(consent)...)
			return err
		},
		"GET " + prefix + "/{paymentId}/authorisations": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Authorisations.List(ctx, id(fx), use(consent)...)
			return err
		},
		"PUT " + prefix + "/{paymentId}/authorisations/{authorisationId}": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Authorisations.Update(ctx, id(fx), "no-such-auth", kh.OTP("1"), use(consent)...)
			return err
		},
		"GET " + prefix + "/{paymentId}/authorisations/{authorisationId}": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).Authorisations.Status(ctx, id(fx), "no-such-auth", use(consent)...)
			return err
		},
		"POST " + prefix + "/{paymentId}/cancellation-authorisations": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).CancellationAuthorisations.Start(ctx, id(fx), kh.AuthorisationRequest{}, use(consent)...)
			return err
		},
		"GET " + prefix + "/{paymentId}/cancellation-authorisations": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).CancellationAuthorisations.List(ctx, id(fx), use(consent)...)
			return err
		},
		"PUT " + prefix + "/{paymentId}/cancellation-authorisations/{cancellationId}": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).CancellationAuthorisations.Update(ctx, id(fx), "no-such-auth", kh.OTP("1"), use(consent)...)
			return err
		},
		"GET " + prefix + "/{paymentId}/cancellation-authorisations/{cancellationId}": func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
			_, err := svc(c).CancellationAuthorisations.Status(ctx, id(fx), "no-such-auth", use(consent)...)
			return err
		},
	}
}

func invocations() map[string]invoke {
	m := map[string]invoke{}
	for _, part := range []map[string]invoke{
		paymentInvocations("/v1/payments/payment-order", func(c *kh.Client) *kh.PaymentService[kh.SinglePayment] { return c.Payments }, (*env).single),
		paymentInvocations("/v1/bulk-payments/payment-order", func(c *kh.Client) *kh.PaymentService[kh.BulkPayment] { return c.BulkPayments }, (*env).bulk),
		paymentInvocations("/v1/periodic-payments/standing-order", func(c *kh.Client) *kh.PaymentService[kh.PeriodicPayment] { return c.PeriodicPayments }, (*env).periodic),
	} {
		for k, v := range part {
			m[k] = v
		}
	}
	add := func(k string, f invoke) { m[k] = f }
	add("POST /v1/signing-baskets", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.SigningBaskets.Create(ctx, kh.SigningBasketRequest{PaymentIDs: []string{"no-such-payment"}}, use(consent, kh.PSUIPAddress(psuIP))...)
		return err
	})
	add("GET /v1/signing-baskets/{basketId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.SigningBaskets.Get(ctx, "no-such-basket", use(consent)...)
		return err
	})
	add("DELETE /v1/signing-baskets/{basketId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.SigningBaskets.Delete(ctx, "no-such-basket", use(consent)...)
		return err
	})
	add("GET /v1/signing-baskets/{basketId}/authorisations", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.SigningBaskets.Authorisations.List(ctx, "no-such-basket", use(consent)...)
		return err
	})
	add("PUT /v1/signing-baskets/{basketId}/authorisations/{authorisationId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.SigningBaskets.Authorisations.Update(ctx, "no-such-basket", "no-such-auth", kh.OTP("1"), use(consent)...)
		return err
	})
	add("GET /v1/signing-baskets/{basketId}/authorisations/{authorisationId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.SigningBaskets.Authorisations.Status(ctx, "no-such-basket", "no-such-auth", use(consent)...)
		return err
	})
	add("GET /v1/accounts/{account-id}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Accounts.Get(ctx, aisConsent(consent), "acc-huf-1")
		return err
	})
	add("GET /v1/accounts/{account-id}/balances", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Accounts.Balances(ctx, aisConsent(consent), "acc-huf-1")
		return err
	})
	add("GET /v1/accounts/{account-id}/transactions", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Accounts.TransactionsPage(ctx, aisConsent(consent), "acc-huf-1", kh.TransactionQuery{DateFrom: "2000-01-01"})
		return err
	})
	add("GET /v1/accounts/{account-id}/transactions/download/{downloadid}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		d, err := c.Accounts.Download(ctx, aisConsent(consent), "acc-huf-1", "no-such-download")
		if err == nil {
			d.Body.Close()
		}
		return err
	})
	add("GET /v1/accounts", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Accounts.List(ctx, aisConsent(consent))
		return err
	})
	add("POST /v1/consents", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Create(ctx, kh.BalanceConsent("2999-12-31", fx.e.ref(0)), use(consent, kh.PSUIPAddress(psuIP))...)
		return err
	})
	add("GET /v1/consents/{consentId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Get(ctx, "no-such-consent", use(consent)...)
		return err
	})
	add("POST /v1/consents/{consentId}/authorisations", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Authorisations.Start(ctx, "no-such-consent", kh.AuthorisationRequest{}, use(consent)...)
		return err
	})
	add("GET /v1/consents/{consentId}/authorisations", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Authorisations.List(ctx, "no-such-consent", use(consent)...)
		return err
	})
	add("GET /v1/consents/{consentId}/authorisations/{authorisationId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Authorisations.Status(ctx, "no-such-consent", "no-such-auth", use(consent)...)
		return err
	})
	add("PUT /v1/consents/{consentId}/authorisations/{authorisationId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Authorisations.Update(ctx, "no-such-consent", "no-such-auth", kh.OTP("1"), use(consent)...)
		return err
	})
	add("GET /v1/consents/{consentId}/status", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Status(ctx, "no-such-consent", use(consent)...)
		return err
	})
	add("DELETE /v1/consents/{consentId}", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.Consents.Delete(ctx, "no-such-consent", use(consent)...)
		return err
	})
	add("POST /v1/funds-confirmations", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.FundsConfirmations.Confirm(ctx, aisConsent(consent), kh.FundsConfirmationRequest{
			Account: fx.e.ref(0), InstructedAmount: kh.Amount{Currency: "HUF", Amount: "100"}})
		return err
	})
	add("POST /v1/tpp/app", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.TPP.RegisterApp(ctx, kh.AppRegistration{Name: "Row test", Roles: []kh.Role{kh.RoleAISP}, RedirectHost: "tpp.example.com"}, use(consent)...)
		return err
	})
	add("PUT /v1/tpp/contact", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.TPP.SetContact(ctx, kh.Contact{Name: "Ops", Phone: "+36 1 000 0000", Email: "ops@tpp.example.com"}, use(consent)...)
		return err
	})
	add("POST /v1/tpp/app/token", func(ctx context.Context, c *kh.Client, fx *fixture, consent string) error {
		_, err := c.TPP.NewAppToken(ctx, fx.e.srv.ApplicationID(), use(consent)...)
		return err
	})
	return m
}

var allKinds = []kh.TokenKind{kh.TokenApp, kh.TokenPSUIdentification, kh.TokenAccountBalance, kh.TokenTransactionHistory, kh.TokenFundsConfirmation}

var fakeKind = map[kh.TokenKind]khtest.TokenKind{
	kh.TokenApp:                khtest.KindApp,
	kh.TokenPSUIdentification:  khtest.KindPSUIdentification,
	kh.TokenAccountBalance:     khtest.KindAccountBalance,
	kh.TokenTransactionHistory: khtest.KindTransactionHistory,
	kh.TokenFundsConfirmation:  khtest.KindFundsConfirmation,
}

func accepts(ep kh.Endpoint, k kh.TokenKind) bool {
	for _, a := range ep.Accepts {
		if a == k {
			return true
		}
	}
	return false
}

// TestTableMatchesTheFakesTranscription compares the client's table with the fake's
// own transcription of the K&H page, row by row.
func TestTableMatchesTheFakesTranscription(t *testing.T) {
	client, fake := kh.Endpoints(), khtest.Table()
	require.Len(t, client, len(fake))
	documented := 0
	for i := range client {
		assert.Equal(t, fake[i].Method, client[i].Method, "row %d", i)
		assert.Equal(t, strings.TrimSuffix(fake[i].Pattern, "/"), client[i].Pattern, "row %d", i)
		assert.Equal(t, fake[i].Seed, client[i].Documented, "row %d", i)
		var kinds []khtest.TokenKind
		for _, k := range client[i].Accepts {
			kinds = append(kinds, fakeKind[k])
		}
		assert.ElementsMatch(t, fake[i].Kinds, kinds, "row %d: %s", i, client[i])
		if client[i].Documented {
			documented++
		}
	}
	assert.Equal(t, 58, documented, "the K&H page has 58 rows")
}

// TestEveryTableRow calls every endpoint of the table once per token kind, each time
// with a client that holds only that kind: an accepted kind is sent (the fake saw a
// token of that kind), any other kind is refused before sending with an error naming
// the endpoint and the kinds it accepts.
func TestEveryTableRow(t *testing.T) {
	e := setup(t, nil)
	fx := &fixture{e: e, payments: map[string]string{}}
	p, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	fx.payments["/v1/payments/payment-order"] = p.PaymentID
	p, err = e.c.BulkPayments.Initiate(e.ctx, e.bulk(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	fx.payments["/v1/bulk-payments/payment-order"] = p.PaymentID
	p, err = e.c.PeriodicPayments.Initiate(e.ctx, e.periodic(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	fx.payments["/v1/periodic-payments/standing-order"] = p.PaymentID

	// One client per kind, holding only a token of that kind.
	holders := map[kh.TokenKind]*kh.Client{}
	consentOf := map[kh.TokenKind]string{}
	holders[kh.TokenApp] = e.newClient(t, kh.WithAppToken(e.srv.AppToken()))
	for kind, req := range map[kh.TokenKind]kh.ConsentRequest{
		kh.TokenPSUIdentification:  kh.PSUIdentificationConsent("2999-12-31"),
		kh.TokenAccountBalance:     kh.BalanceConsent("2999-12-31", e.ref(0)),
		kh.TokenTransactionHistory: kh.TransactionConsent("2999-12-31", e.ref(0)),
		kh.TokenFundsConfirmation:  kh.FundsConfirmationConsent("2999-12-31", e.ref(0)),
	} {
		id := e.validConsent(req)
		toks := e.srv.ConsentTokens(id)
		require.NotEmpty(t, toks)
		c := e.newClient(t)
		require.NoError(t, c.Consents.SetToken(id, kind, toks[len(toks)-1]))
		holders[kind], consentOf[kind] = c, id
	}

	calls := invocations()
	rows := kh.Endpoints()
	require.Len(t, calls, len(rows), "one invocation per row")
	for _, row := range rows {
		call, ok := calls[row.String()]
		require.True(t, ok, "no invocation for %s", row)
		for _, kind := range allKinds {
			before := len(e.srv.Requests())
			err := call(e.ctx, holders[kind], fx, consentOf[kind])
			reqs := e.srv.Requests()[before:]
			switch {
			case len(row.Accepts) == 0:
				// Called without a token, whatever the client holds.
				require.Len(t, reqs, 1, "%s", row)
				assert.Empty(t, reqs[0].Header.Values("Authorization"), "%s sent a token", row)
			case accepts(row, kind):
				require.Len(t, reqs, 1, "%s with a %s: one request", row, kind)
				authz := reqs[0].Header.Get("Authorization")
				require.True(t, strings.HasPrefix(authz, "Bearer "), "%s", row)
				got, known := e.srv.TokenKind(strings.TrimPrefix(authz, "Bearer "))
				require.True(t, known, "%s: the fake issued the token", row)
				assert.Equal(t, fakeKind[kind], got, "%s", row)
				var ae *kh.APIError
				if errors.As(err, &ae) {
					assert.False(t, ae.Has(kh.CodeTokenInvalid) || ae.Has(kh.CodeTokenUnknown), "%s: %v", row, err)
				}
			default:
				assert.Empty(t, reqs, "%s with a %s: nothing sent", row, kind)
				require.ErrorIs(t, err, kh.ErrNoAllowedToken, "%s with a %s", row, kind)
				var re *kh.RoutingError
				require.ErrorAs(t, err, &re)
				assert.Equal(t, row.String(), re.Endpoint)
				assert.Contains(t, err.Error(), row.String())
				for _, a := range row.Accepts {
					assert.Contains(t, err.Error(), a.String(), "%s", row)
				}
			}
		}
	}
}

func (e *env) newClient(t *testing.T, opts ...kh.Option) *kh.Client {
	t.Helper()
	c, err := kh.NewClient(append([]kh.Option{kh.WithBaseURL(e.srv.URL()), kh.WithClientCertificate(e.srv.ClientCertificate()),
		kh.WithRootCAs(e.srv.RootCAs()), fastRetry}, opts...)...)
	require.NoError(t, err)
	return c
}

func (e *env) bulk() kh.BulkPayment {
	s := e.single()
	return kh.BulkPayment{DebtorAccount: s.DebtorAccount, Payments: []kh.Transfer{s.Transfer, s.Transfer}}
}

func (e *env) periodic() kh.PeriodicPayment {
	s := e.single()
	return kh.PeriodicPayment{DebtorAccount: s.DebtorAccount, Transfer: s.Transfer, StartDate: "2030-01-01",
		Frequency: kh.FrequencyMonthly, DayOfExecution: "01", ExecutionRule: kh.ExecutionFollowing}
}

package kh_test

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

func countPath(e *env, method, path string) int { return e.srv.Count(method, path) }

func TestClientCertificateRequiredByTheBank(t *testing.T) {
	srv := khtest.NewServer()
	t.Cleanup(srv.Close)
	without, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithRootCAs(srv.RootCAs()),
		kh.WithAppToken(srv.AppToken()), kh.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, err = without.Payments.Status(context.Background(), "pay-1")
	require.Error(t, err)
	var te interface{ Unwrap() error }
	require.ErrorAs(t, err, &te, "a transport error, not an answer")
	var ae *kh.APIError
	assert.False(t, errors.As(err, &ae))
	assert.Empty(t, srv.Requests(), "no request reached the bank")

	// The same client with the certificate from PEM files talks to the bank.
	certPEM, keyPEM := srv.PKI().ClientCertificatePEM()
	dir := t.TempDir()
	certFile, keyFile := filepath.Join(dir, "tpp.crt"), filepath.Join(dir, "tpp.key")
	require.NoError(t, os.WriteFile(certFile, certPEM, 0o600))
	require.NoError(t, os.WriteFile(keyFile, keyPEM, 0o600))
	with, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithRootCAs(srv.RootCAs()),
		kh.WithAppToken(srv.AppToken()), kh.WithClientCertificateFiles(certFile, keyFile))
	require.NoError(t, err)
	tok, err := with.TPP.NewAppToken(context.Background(), srv.ApplicationID())
	require.NoError(t, err)
	assert.False(t, tok.Token.IsZero())
	assert.Equal(t, 1, srv.Count("POST", "/v1/tpp/app/token"))

	// A server certificate the client does not trust fails too.
	untrusting, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithClientCertificate(srv.ClientCertificate()),
		kh.WithAppToken(srv.AppToken()), kh.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, err = untrusting.TPP.NewAppToken(context.Background(), srv.ApplicationID())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "certificate")
}

func TestTLS12Minimum(t *testing.T) {
	old := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {}))
	old.TLS = &tls.Config{MaxVersion: tls.VersionTLS11}
	old.StartTLS()
	t.Cleanup(old.Close)
	c, err := kh.NewClient(kh.WithBaseURL(old.URL), kh.WithHTTPClient(old.Client()),
		kh.WithAppToken(fakeJWT), kh.WithRetry(0, time.Millisecond, time.Millisecond))
	require.NoError(t, err)
	_, err = c.Payments.Status(context.Background(), "x")
	require.Error(t, err)
	assert.Contains(t, err.Error(), "protocol version")

	hc := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{MaxVersion: tls.VersionTLS11}}}
	_, err = kh.NewClient(kh.WithBaseURL("https://bank.example"), kh.WithHTTPClient(hc))
	require.ErrorContains(t, err, "TLS 1.2")
}

const fakeJWT = "eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJ4In0.c2ln"

func TestExpiredConsentTokenRenewedThroughStatusOnce(t *testing.T) {
	e := setup(t, nil)
	id := e.validConsent(kh.BalanceConsent("2999-12-31", e.ref(0)))
	_, err := e.c.Accounts.Balances(e.ctx, id, "acc-huf-1")
	require.NoError(t, err)
	old := e.srv.ConsentTokens(id)
	require.Len(t, old, 1)
	e.srv.ExpireToken(old[0])
	statusBefore := e.srv.StatusCalls(id)
	e.srv.ResetRequests()

	res, err := e.c.Accounts.Balances(e.ctx, id, "acc-huf-1", kh.RequestID("5b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d"))
	require.NoError(t, err)
	require.Len(t, res.Balances, 2)
	assert.Equal(t, "5b1c2d3e-4f50-4a6b-8c7d-9e0f1a2b3c4d", res.RequestID)

	reqs := e.srv.Requests()
	require.Len(t, reqs, 3, "rejected call, one status call, one replay")
	assert.Equal(t, "/v1/accounts/acc-huf-1/balances", reqs[0].Path)
	assert.Equal(t, "/v1/consents/"+id+"/status", reqs[1].Path)
	assert.Equal(t, "/v1/accounts/acc-huf-1/balances", reqs[2].Path)
	assert.Equal(t, 1, e.srv.StatusCalls(id)-statusBefore, "one renewal")
	assert.Equal(t, "Bearer "+e.srv.AppToken(), reqs[1].Header.Get("Authorization"), "renewed with the app token")

	now := e.srv.ConsentTokens(id)
	require.Len(t, now, 2)
	assert.Equal(t, "Bearer "+old[0], reqs[0].Header.Get("Authorization"))
	assert.Equal(t, "Bearer "+now[1], reqs[2].Header.Get("Authorization"), "the replay carries the token the fake issued")
	assert.Equal(t, reqs[0].Header.Get("X-Request-ID"), reqs[2].Header.Get("X-Request-ID"), "same logical request")
	assert.Equal(t, id, reqs[2].Header.Get("Consent-ID"))
}

func TestExpiredAppTokenRenewedByApplicationID(t *testing.T) {
	e := setup(t, nil)
	p, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	e.srv.ExpireToken(e.srv.AppToken())
	e.srv.ResetRequests()
	st, err := e.c.Payments.Status(e.ctx, p.PaymentID)
	require.NoError(t, err)
	assert.Equal(t, kh.TransactionReceived, st.TransactionStatus)
	reqs := e.srv.Requests()
	require.Len(t, reqs, 3)
	assert.Equal(t, "/v1/tpp/app/token", reqs[1].Path)
	assert.Empty(t, reqs[1].Header.Get("Authorization"), "renewal carries no token")
	toks := e.srv.AppTokens(e.srv.ApplicationID())
	assert.Equal(t, "Bearer "+toks[len(toks)-1], reqs[2].Header.Get("Authorization"))

	// A POST is replayed too: a 401 means the bank did not process it.
	e.srv.ExpireToken(toks[len(toks)-1])
	before := e.srv.PaymentCount()
	_, err = e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	assert.Equal(t, before+1, e.srv.PaymentCount())
}

func TestBothTokensExpired(t *testing.T) {
	e := setup(t, nil)
	id := e.validConsent(kh.TransactionConsent("2999-12-31", e.ref(0)))
	e.srv.ExpireTokens()
	e.srv.ResetRequests()
	_, err := e.c.Accounts.Get(e.ctx, id, "acc-huf-1")
	require.NoError(t, err)
	var paths []string
	for _, r := range e.srv.Requests() {
		paths = append(paths, r.Method+" "+r.Path)
	}
	assert.Equal(t, []string{
		"GET /v1/accounts/acc-huf-1",
		"GET /v1/consents/" + id + "/status",
		"POST /v1/tpp/app/token",
		"GET /v1/consents/" + id + "/status",
		"GET /v1/accounts/acc-huf-1",
	}, paths)
}

func TestTokenRejectedAgainAfterRenewalIsNotRetriedInALoop(t *testing.T) {
	e := setup(t, nil)
	id := e.validConsent(kh.BalanceConsent("2999-12-31", e.ref(0)))
	body := `{"tppMessages":[{"category":"ERROR","code":"TOKEN_INVALID","text":"no"}]}`
	e.srv.Inject(5, fake.Status(401, body).On("GET", "/v1/accounts/"))
	e.srv.ResetRequests()
	_, err := e.c.Accounts.Balances(e.ctx, id, "acc-huf-1")
	var ae *kh.APIError
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.Has(kh.CodeTokenInvalid))
	assert.Equal(t, 2, countPath(e, "GET", "/v1/accounts/acc-huf-1/balances"), "one call, one replay")
	assert.Equal(t, 1, countPath(e, "GET", "/v1/consents/"+id+"/status"), "one renewal")
	e.srv.ClearFaults()
}

func TestNoReplayWithoutAWayToRenew(t *testing.T) {
	e := setup(t, nil)
	c := e.newClient(t, kh.WithAppToken(e.srv.AppToken())) // no application id
	e.srv.ExpireToken(e.srv.AppToken())
	e.srv.ResetRequests()
	_, err := c.Payments.Status(e.ctx, "pay-1")
	var ae *kh.APIError
	require.ErrorAs(t, err, &ae)
	assert.True(t, ae.Has(kh.CodeTokenUnknown))
	assert.Len(t, e.srv.Requests(), 1)

	// A consent token given with SetToken, on a client with no application token (so
	// no status call) and no consent-token source: the bank's rejection is final too.
	id := e.psuConsent()
	toks := e.srv.ConsentTokens(id)
	require.NotEmpty(t, toks)
	consentOnly := e.newClient(t)
	require.NoError(t, consentOnly.Consents.SetToken(id, kh.TokenPSUIdentification, toks[len(toks)-1]))
	_, err = consentOnly.Accounts.List(e.ctx, id)
	require.NoError(t, err)
	e.srv.ExpireToken(toks[len(toks)-1])
	statusCalls := e.srv.StatusCalls(id)
	e.srv.ResetRequests()
	_, err = consentOnly.Accounts.List(e.ctx, id)
	require.ErrorAs(t, err, &ae, "the bank's answer, not a failed renewal")
	assert.True(t, ae.Has(kh.CodeTokenUnknown))
	assert.Len(t, e.srv.Requests(), 1, "no replay")
	assert.Equal(t, statusCalls, e.srv.StatusCalls(id), "no status call")
}

func TestLostPaymentAnswerIsNotResent(t *testing.T) {
	e := setup(t, nil)
	before := e.srv.PaymentCount()
	e.srv.Inject(1, fake.DropAfter().On("POST", "/v1/payments/payment-order"))
	_, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.Error(t, err)
	require.ErrorIs(t, err, kh.ErrOutcomeUnknown)
	assert.Equal(t, 1, e.srv.Count("POST", "/v1/payments/payment-order"), "sent exactly once")
	assert.Equal(t, before+1, e.srv.PaymentCount(), "the bank created one payment")

	id := kh.RequestIDOf(err)
	require.NotEmpty(t, id)
	assert.Contains(t, err.Error(), id)
	paymentID, ok := e.srv.Lookup(id)
	require.True(t, ok, "the request id finds the payment at the bank")
	st, _ := e.srv.PaymentStatus(paymentID)
	assert.Equal(t, "RCVD", st)
}

func TestRequestIDKeptAcrossRetries(t *testing.T) {
	e := setup(t, nil)
	p, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	e.srv.ResetRequests()
	e.srv.Inject(2, fake.Status(503, "").On("GET", "/v1/payments/"))
	st, err := e.c.Payments.Status(e.ctx, p.PaymentID)
	require.NoError(t, err)
	reqs := e.srv.Requests()
	require.Len(t, reqs, 3)
	id := reqs[0].Header.Get("X-Request-ID")
	assert.Regexp(t, `^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`, id, "a UUIDv4")
	for _, r := range reqs {
		assert.Equal(t, id, r.Header.Get("X-Request-ID"))
	}
	assert.Equal(t, id, st.RequestID)

	// A POST answered 503 with Retry-After was not processed: retried, with the same
	// id, created once.
	e.srv.ResetRequests()
	before := e.srv.PaymentCount()
	e.srv.Inject(1, fake.Status(503, "").WithRetryAfter("0").On("POST", "/v1/payments/payment-order"))
	res, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	reqs = e.srv.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, reqs[0].Header.Get("X-Request-ID"), reqs[1].Header.Get("X-Request-ID"))
	assert.Equal(t, reqs[1].Header.Get("X-Request-ID"), res.RequestID)
	assert.Equal(t, before+1, e.srv.PaymentCount())

	// Each logical request gets its own id; an API error carries it.
	_, err = e.c.Payments.Status(e.ctx, "no-such-payment")
	var ae *kh.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 404, ae.StatusCode)
	last := e.srv.Requests()[len(e.srv.Requests())-1]
	assert.Equal(t, last.Header.Get("X-Request-ID"), ae.RequestID)
	assert.NotEqual(t, res.RequestID, ae.RequestID)
	assert.Equal(t, ae.RequestID, kh.RequestIDOf(err))
}

func TestValidationBeforeSending(t *testing.T) {
	e := setup(t, nil)
	good := e.single()
	mod := func(f func(p *kh.SinglePayment)) kh.SinglePayment { p := good; f(&p); return p }
	cases := map[string]struct {
		call  func() error
		field string
	}{
		"amount with comma": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) { p.InstructedAmount.Amount = "10,5" }), kh.PSUIPAddress(psuIP))
			return err
		}, "instructedAmount.amount"},
		"zero amount": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) { p.InstructedAmount.Amount = "0.00" }), kh.PSUIPAddress(psuIP))
			return err
		}, "instructedAmount.amount"},
		"lower-case currency": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) { p.InstructedAmount.Currency = "huf" }), kh.PSUIPAddress(psuIP))
			return err
		}, "instructedAmount.currency"},
		"IBAN check digits": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) { p.CreditorAccount.IBAN = "HU43117730161111101800000000" }), kh.PSUIPAddress(psuIP))
			return err
		}, "creditorAccount.iban"},
		"BBAN shape": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) { p.CreditorAccount = kh.AccountReference{BBAN: "1177-3016"} }), kh.PSUIPAddress(psuIP))
			return err
		}, "creditorAccount.bban"},
		"two identifiers": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) { p.DebtorAccount.BBAN = "117730161111101800000000" }), kh.PSUIPAddress(psuIP))
			return err
		}, "debtorAccount"},
		"creditor name missing": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) { p.CreditorName = " " }), kh.PSUIPAddress(psuIP))
			return err
		}, "creditorName"},
		"remittance too long": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, mod(func(p *kh.SinglePayment) {
				p.RemittanceInformationUnstructured = strings.Repeat("é", 141)
			}), kh.PSUIPAddress(psuIP))
			return err
		}, "remittanceInformationUnstructured"},
		"PSU-IP-Address missing": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, good)
			return err
		}, "PSU-IP-Address"},
		"PSU-IP-Address not an IP": {func() error {
			_, err := e.c.Payments.Initiate(e.ctx, good, kh.PSUIPAddress("localhost"))
			return err
		}, "PSU-IP-Address"},
		"request id not a UUID": {func() error {
			_, err := e.c.Payments.Status(e.ctx, "p", kh.RequestID("42"))
			return err
		}, "X-Request-ID"},
		"periodic frequency": {func() error {
			p := e.periodic()
			p.Frequency = "Fortnightly"
			_, err := e.c.PeriodicPayments.Initiate(e.ctx, p, kh.PSUIPAddress(psuIP))
			return err
		}, "frequency"},
		"bulk without entries": {func() error {
			b := e.bulk()
			b.Payments = nil
			_, err := e.c.BulkPayments.Initiate(e.ctx, b, kh.PSUIPAddress(psuIP))
			return err
		}, "payments"},
		"bulk entry": {func() error {
			b := e.bulk()
			b.Payments[1].InstructedAmount.Amount = "1.2345"
			_, err := e.c.BulkPayments.Initiate(e.ctx, b, kh.PSUIPAddress(psuIP))
			return err
		}, "payments[1].instructedAmount.amount"},
		"consent with two purposes": {func() error {
			r := kh.BalanceConsent("2999-12-31", e.ref(0))
			r.Access.Transactions = r.Access.Balances
			_, err := e.c.Consents.Create(e.ctx, r, kh.PSUIPAddress(psuIP))
			return err
		}, "access"},
		"one-off consent frequency": {func() error {
			r := kh.PSUIdentificationConsent("2999-12-31")
			r.RecurringIndicator = false
			_, err := e.c.Consents.Create(e.ctx, r, kh.PSUIPAddress(psuIP))
			return err
		}, "frequencyPerDay"},
		"consent date": {func() error {
			_, err := e.c.Consents.Create(e.ctx, kh.PSUIdentificationConsent("31.12.2999"), kh.PSUIPAddress(psuIP))
			return err
		}, "validUntil"},
		"transactions without dateFrom": {func() error {
			_, err := e.c.Accounts.TransactionsPage(e.ctx, "c", "a", kh.TransactionQuery{})
			return err
		}, "dateFrom"},
		"empty basket": {func() error {
			_, err := e.c.SigningBaskets.Create(e.ctx, kh.SigningBasketRequest{}, kh.PSUIPAddress(psuIP))
			return err
		}, "paymentIds"},
		"update without body": {func() error {
			_, err := e.c.Consents.Authorisations.Update(e.ctx, "c", "a", kh.AuthorisationRequest{})
			return err
		}, "body"},
		"empty payment id": {func() error {
			_, err := e.c.Payments.Status(e.ctx, "")
			return err
		}, "paymentId"},
		"contact e-mail": {func() error {
			_, err := e.c.TPP.SetContact(e.ctx, kh.Contact{Name: "a", Phone: "1", Email: "nope"})
			return err
		}, "email"},
		"redirect host with scheme": {func() error {
			_, err := e.c.TPP.RegisterApp(e.ctx, kh.AppRegistration{Name: "a", Roles: []kh.Role{kh.RoleAISP}, RedirectHost: "https://x.example"})
			return err
		}, "redirectHost"},
		"funds amount": {func() error {
			_, err := e.c.FundsConfirmations.Confirm(e.ctx, "c", kh.FundsConfirmationRequest{Account: e.ref(0), InstructedAmount: kh.Amount{Currency: "HUF", Amount: "-1"}})
			return err
		}, "instructedAmount.amount"},
	}
	before := len(e.srv.Requests())
	for name, tc := range cases {
		err := tc.call()
		require.ErrorIs(t, err, kh.ErrInvalidRequest, name)
		var ve *kh.ValidationError
		require.ErrorAs(t, err, &ve, name)
		assert.Equal(t, tc.field, ve.Field, name)
		assert.Contains(t, err.Error(), tc.field, name)
	}
	assert.Len(t, e.srv.Requests(), before, "nothing was sent")
}

func TestBerlinGroupHeaderOptions(t *testing.T) {
	e := setup(t, nil)
	e.srv.ResetRequests()
	p, err := e.c.Payments.Initiate(e.ctx, e.single(),
		kh.PSUIPAddress("2001:db8::1"), kh.PSUID("psu-1"), kh.RedirectPreferred(true),
		kh.RedirectURI("https://tpp.example.com/done?x=1"), kh.NokRedirectURI("https://tpp.example.com/failed"),
		kh.ExplicitAuthorisationPreferred(false), kh.ConsentID("consent-x"), kh.Header("PSU-User-Agent", "Mozilla/5.0"))
	require.NoError(t, err)
	h := e.srv.Requests()[0].Header
	for k, v := range map[string]string{"PSU-IP-Address": "2001:db8::1", "PSU-ID": "psu-1", "TPP-Redirect-Preferred": "true",
		"TPP-Redirect-URI": "https://tpp.example.com/done?x=1", "TPP-Nok-Redirect-URI": "https://tpp.example.com/failed",
		"TPP-Explicit-Authorisation-Preferred": "false", "Consent-ID": "consent-x", "PSU-User-Agent": "Mozilla/5.0",
		"Content-Type": "application/json"} {
		assert.Equal(t, []string{v}, h.Values(k), k)
	}
	assert.Equal(t, kh.SCARedirect, p.SCAApproach)
	assert.Equal(t, "/v1/payments/payment-order/"+p.PaymentID, p.Location)
	require.NotEmpty(t, p.Links.Get(kh.LinkSCARedirect))

	for _, o := range []kh.RequestOption{kh.RedirectURI("not a url"), kh.PSUID("bad\nvalue"), kh.Header("Authorization", "x"),
		kh.Header("X-Request-ID", "x"), kh.UseConsent("")} {
		_, err := e.c.Payments.Status(e.ctx, p.PaymentID, o)
		assert.ErrorIs(t, err, kh.ErrInvalidRequest)
	}
}

func TestRedirectSCAWithTokenParameter(t *testing.T) {
	e := setup(t, nil)
	p, err := e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP), kh.RedirectPreferred(true),
		kh.RedirectURI("https://tpp.example.com/back"))
	require.NoError(t, err)
	link := p.Links.Get(kh.LinkSCARedirect)
	authID := p.Links.AuthorisationID()
	require.NotEmpty(t, authID)

	u, err := e.c.SCARedirectURL(e.ctx, link)
	require.NoError(t, err)
	parsed, err := url.Parse(u)
	require.NoError(t, err)
	assert.Equal(t, e.srv.AppToken(), parsed.Query().Get("token"))
	direct, err := kh.SCARedirectURL(link, e.srv.AppToken())
	require.NoError(t, err)
	assert.Equal(t, u, direct)
	_, err = kh.SCARedirectURL("http://insecure.example/sca", e.srv.AppToken())
	assert.ErrorIs(t, err, kh.ErrInvalidRequest)

	// The PSU's browser goes through the bank's screen with the URL.
	loc, err := e.srv.ApproveRedirect(e.ctx, u)
	require.NoError(t, err)
	assert.Equal(t, "https://tpp.example.com/back", loc)

	sc, err := e.c.Payments.Authorisations.Status(e.ctx, p.PaymentID, authID)
	require.NoError(t, err)
	assert.Equal(t, kh.ScaFinalised, sc.ScaStatus)
	assert.True(t, sc.ScaStatus.Final())
	// Poll until settled.
	var seen []kh.TransactionStatus
	for i := 0; i < 5; i++ {
		st, err := e.c.Payments.Status(e.ctx, p.PaymentID)
		require.NoError(t, err)
		seen = append(seen, st.TransactionStatus)
		if st.TransactionStatus.Final() {
			break
		}
	}
	assert.Equal(t, []kh.TransactionStatus{"ACTC", "ACSP", "ACSC"}, seen)
}

func TestSigningBasketOfConsentsAndAccountReads(t *testing.T) {
	e := setup(t, nil)
	psu := e.psuConsent()
	list, err := e.c.Accounts.List(e.ctx, psu)
	require.NoError(t, err)
	require.NotEmpty(t, list.Accounts)
	acc := list.Accounts[0]
	bal, err := e.c.Consents.Create(e.ctx, kh.BalanceConsent("2999-12-31", acc.Reference()), kh.PSUIPAddress(psuIP),
		kh.ExplicitAuthorisationPreferred(true))
	require.NoError(t, err)
	assert.Equal(t, kh.TokenAccountBalance, bal.Purpose)
	tx, err := e.c.Consents.Create(e.ctx, kh.TransactionConsent("2999-12-31", acc.Reference()), kh.PSUIPAddress(psuIP),
		kh.ExplicitAuthorisationPreferred(true))
	require.NoError(t, err)

	b, err := e.c.SigningBaskets.Create(e.ctx, kh.SigningBasketRequest{ConsentIDs: []string{bal.ConsentID, tx.ConsentID}},
		kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	authID := b.Links.AuthorisationID()
	require.NotEmpty(t, authID)
	ids, err := e.c.SigningBaskets.Authorisations.List(e.ctx, b.BasketID)
	require.NoError(t, err)
	assert.Equal(t, []string{authID}, ids.AuthorisationIDs)

	// The basket PUT accepts only a PSU identification token.
	_, pw, otp := e.srv.PSU()
	_, err = e.c.SigningBaskets.Authorisations.Update(e.ctx, b.BasketID, authID, kh.PSUPassword(pw))
	require.ErrorIs(t, err, kh.ErrNoAllowedToken)
	up, err := e.c.SigningBaskets.Authorisations.Update(e.ctx, b.BasketID, authID, kh.PSUPassword(pw), kh.UseConsent(psu))
	require.NoError(t, err)
	_, err = e.c.SigningBaskets.Authorisations.Update(e.ctx, b.BasketID, authID, kh.SelectMethod(up.ScaMethods[1].AuthenticationMethodID), kh.UseConsent(psu))
	require.NoError(t, err)
	up, err = e.c.SigningBaskets.Authorisations.Update(e.ctx, b.BasketID, authID, kh.OTP(otp), kh.UseConsent(psu))
	require.NoError(t, err)
	assert.Equal(t, kh.ScaFinalised, up.ScaStatus)
	got, err := e.c.SigningBaskets.Get(e.ctx, b.BasketID)
	require.NoError(t, err)
	assert.Equal(t, kh.TransactionTechnicalValidation, got.TransactionStatus)
	assert.Equal(t, []string{bal.ConsentID, tx.ConsentID}, got.Consents)

	// The consents' tokens come from their status calls, on first use.
	balances, err := e.c.Accounts.Balances(e.ctx, bal.ConsentID, acc.ResourceID)
	require.NoError(t, err)
	assert.Equal(t, kh.BalanceClosingBooked, balances.Balances[0].BalanceType)
	assert.Equal(t, 1, e.srv.StatusCalls(bal.ConsentID))
	_, err = e.c.Accounts.Balances(e.ctx, tx.ConsentID, acc.ResourceID)
	require.ErrorIs(t, err, kh.ErrNoAllowedToken, "a transaction history token does not read balances")
	detail, err := e.c.Accounts.Get(e.ctx, tx.ConsentID, acc.ResourceID)
	require.NoError(t, err)
	assert.Equal(t, acc.IBAN, detail.Account.IBAN)

	consent, err := e.c.Consents.Get(e.ctx, psu)
	require.NoError(t, err)
	assert.Equal(t, kh.ConsentValid, consent.ConsentStatus)
	assert.Equal(t, kh.AllAccounts, consent.Access.AvailableAccounts)
	_, err = e.c.Consents.Get(e.ctx, bal.ConsentID)
	require.ErrorIs(t, err, kh.ErrNoAllowedToken)
	consent, err = e.c.Consents.Get(e.ctx, bal.ConsentID, kh.UseConsent(psu))
	require.NoError(t, err)
	assert.Len(t, consent.Access.Balances, 1)
}

func TestCancellationNeedsSCA(t *testing.T) {
	e := setup(t, nil)
	psu := e.psuConsent()
	p, err := e.c.PeriodicPayments.Initiate(e.ctx, e.periodic(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	e.embedded(e.c.PeriodicPayments.Authorisations, p.PaymentID, kh.UseConsent(psu))
	got, err := e.c.PeriodicPayments.Get(e.ctx, p.PaymentID, kh.UseConsent(psu))
	require.NoError(t, err)
	assert.Equal(t, kh.FrequencyMonthly, got.Payment.Frequency)
	assert.Equal(t, "15000.00", got.Payment.InstructedAmount.Amount)
	assert.Equal(t, kh.TransactionTechnicalValidation, got.TransactionStatus)

	c, err := e.c.PeriodicPayments.Cancel(e.ctx, p.PaymentID, kh.UseConsent(psu))
	require.NoError(t, err)
	require.True(t, c.AuthorisationRequired)
	e.embedded(e.c.PeriodicPayments.CancellationAuthorisations, p.PaymentID, kh.UseConsent(psu))
	st, err := e.c.PeriodicPayments.Status(e.ctx, p.PaymentID)
	require.NoError(t, err)
	assert.Equal(t, kh.TransactionCancelled, st.TransactionStatus)
	ids, err := e.c.PeriodicPayments.CancellationAuthorisations.List(e.ctx, p.PaymentID)
	require.NoError(t, err)
	assert.Len(t, ids.AuthorisationIDs, 1)

	// An unauthorised payment is cancelled at once.
	p, err = e.c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	c, err = e.c.Payments.Cancel(e.ctx, p.PaymentID, kh.UseConsent(psu))
	require.NoError(t, err)
	assert.False(t, c.AuthorisationRequired)
	assert.Equal(t, 204, c.StatusCode)
}

func TestConsentStatusRotatesAndStoresTheToken(t *testing.T) {
	e := setup(t, nil)
	id := e.psuConsent()
	for i := 0; i < 2; i++ {
		st, err := e.c.Consents.Status(e.ctx, id)
		require.NoError(t, err)
		assert.True(t, st.TokenIssued)
	}
	toks := e.srv.ConsentTokens(id)
	require.Len(t, toks, 3)
	assert.Len(t, map[string]bool{toks[0]: true, toks[1]: true, toks[2]: true}, 3, "a new token each time")
	e.srv.ResetRequests()
	_, err := e.c.Accounts.List(e.ctx, id)
	require.NoError(t, err)
	assert.Equal(t, "Bearer "+toks[2], e.srv.Requests()[0].Header.Get("Authorization"), "the latest token is used")

	require.NoError(t, e.c.Consents.Track(id, kh.TokenPSUIdentification))
	_, err = e.c.Consents.Delete(e.ctx, id)
	require.NoError(t, err)
	_, known := e.c.Consents.Purpose(id)
	assert.False(t, known)
	_, err = e.c.Accounts.List(e.ctx, id)
	require.ErrorIs(t, err, kh.ErrNoAllowedToken)
}

func TestRegisterAppAndUseIt(t *testing.T) {
	e := setup(t, nil)
	c := e.newClient(t)
	_, err := c.Payments.Status(e.ctx, "x")
	require.ErrorIs(t, err, kh.ErrNoAllowedToken, "no application yet")
	_, err = c.TPP.SetContact(e.ctx, kh.Contact{Name: "Ops", Phone: "+36 1 234 5678", Email: "ops@tpp.example.com"})
	require.NoError(t, err)
	app, err := c.TPP.RegisterApp(e.ctx, kh.AppRegistration{Name: "Budget app", Roles: []kh.Role{kh.RoleAISP, kh.RolePISP},
		RedirectHost: "budget.example.com"})
	require.NoError(t, err)
	assert.NotEmpty(t, app.ID)
	testkit.AssertNoSecret(t, "the registered application", app, []string{app.Token.Reveal()})
	require.NoError(t, c.UseApplication(app.ID, app.Token.Reveal()))
	_, err = c.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP), kh.RedirectPreferred(true),
		kh.RedirectURI("https://budget.example.com/cb"))
	require.NoError(t, err)

	// An application id alone: the first call fetches a token.
	c2 := e.newClient(t, kh.WithApplicationID(app.ID))
	before := e.srv.Count("POST", "/v1/tpp/app/token")
	_, err = c2.Payments.Initiate(e.ctx, e.single(), kh.PSUIPAddress(psuIP))
	require.NoError(t, err)
	assert.Equal(t, before+1, e.srv.Count("POST", "/v1/tpp/app/token"))
}

func TestDoRoutesByTheTable(t *testing.T) {
	e := setup(t, nil)
	psu := e.psuConsent()
	type status struct {
		ConsentStatus string `json:"consentStatus"`
	}
	st, err := kh.Do[status](e.ctx, e.c, "GET", "v1/consents/"+psu+"/status", nil)
	require.NoError(t, err)
	assert.Equal(t, "valid", st.ConsentStatus)
	_, err = kh.Do[map[string]any](e.ctx, e.c, "GET", "v1/accounts", nil)
	require.ErrorIs(t, err, kh.ErrNoAllowedToken, "the table says PSU identification only")
	got, err := kh.Do[map[string]any](e.ctx, e.c, "GET", "v1/accounts", nil, kh.UseConsent(psu))
	require.NoError(t, err)
	assert.Len(t, got["accounts"], 2)
	_, err = kh.Do[map[string]any](e.ctx, e.c, "GET", "https://evil.example/v1/accounts", nil)
	require.Error(t, err)
	// Outside the table: the application token.
	e.srv.ResetRequests()
	_, err = kh.Do[map[string]any](e.ctx, e.c, "GET", "v1/card-accounts", nil)
	var ae *kh.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "Bearer "+e.srv.AppToken(), e.srv.Requests()[0].Header.Get("Authorization"))
}

func TestNewClientRejectsBadConfiguration(t *testing.T) {
	for name, opts := range map[string][]kh.Option{
		"no base URL":          {kh.WithAppToken(fakeJWT)},
		"http base URL":        {kh.WithBaseURL("http://bank.example")},
		"token not a JWT":      {kh.WithBaseURL("https://bank.example"), kh.WithAppToken("Bearer abc")},
		"empty certificate":    {kh.WithBaseURL("https://bank.example"), kh.WithClientCertificate(tls.Certificate{})},
		"bad PEM":              {kh.WithBaseURL("https://bank.example"), kh.WithClientCertificatePEM([]byte("x"), []byte("y"))},
		"missing files":        {kh.WithBaseURL("https://bank.example"), kh.WithClientCertificateFiles("/nonexistent.crt", "/nonexistent.key")},
		"nil roots":            {kh.WithBaseURL("https://bank.example"), kh.WithRootCAs(nil)},
		"source and token":     {kh.WithBaseURL("https://bank.example"), kh.WithAppToken(fakeJWT), kh.WithAppTokenSource(nil)},
		"negative retries":     {kh.WithBaseURL("https://bank.example"), kh.WithRetry(-1, time.Millisecond, time.Second)},
		"custom transport TLS": {kh.WithBaseURL("https://bank.example"), kh.WithHTTPClient(&http.Client{Transport: roundTripFunc(nil)})},
	} {
		_, err := kh.NewClient(opts...)
		require.Error(t, err, name)
		assert.True(t, strings.HasPrefix(err.Error(), "kh: "), "%s: %v", name, err)
	}
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDownloadStreamsTheFile(t *testing.T) {
	e := setup(t, []khtest.Option{khtest.WithDownloadSize(3 << 20)})
	id := e.validConsent(kh.TransactionConsent("2999-12-31", e.ref(0)))
	page, err := e.c.Accounts.TransactionsPage(e.ctx, id, "acc-huf-1", kh.TransactionQuery{DateFrom: "2000-01-01"})
	require.NoError(t, err)
	href := page.Links.Get(kh.LinkDownload)
	require.NotEmpty(t, href)
	d, err := e.c.Accounts.DownloadLink(e.ctx, id, href)
	require.NoError(t, err)
	body, err := io.ReadAll(d.Body)
	require.NoError(t, err)
	require.NoError(t, d.Body.Close())
	want := e.srv.DownloadContent("acc-huf-1")
	assert.Greater(t, len(want), 3<<20-100)
	assert.Equal(t, want, body)
	assert.Equal(t, "application/xml", d.ContentType)
	assert.Equal(t, int64(len(want)), d.ContentLength)
	assert.NotEmpty(t, d.RequestID)

	segs := strings.Split(href, "/")
	d, err = e.c.Accounts.Download(e.ctx, id, "acc-huf-1", segs[len(segs)-1])
	require.NoError(t, err)
	n, err := io.Copy(io.Discard, d.Body)
	require.NoError(t, err)
	d.Body.Close()
	assert.Equal(t, int64(len(want)), n)

	_, err = e.c.Accounts.DownloadLink(e.ctx, id, "https://elsewhere.example/v1/accounts/a/transactions/download/x")
	require.Error(t, err)
	_, err = e.c.Accounts.DownloadLink(e.ctx, id, "/v1/consents/x")
	require.ErrorContains(t, err, "does not address")
}

// Two replicas sharing a store: the consent token one of them renews is the one the
// other uses, so they do not keep rotating each other's tokens away.
func TestReplicasShareConsentTokensThroughAStore(t *testing.T) {
	store := auth.NewMemoryStore()
	a := setup(t, nil, kh.WithStore(store, "kh:test:"))
	id := a.validConsent(kh.BalanceConsent("2999-12-31", a.ref(0)))
	_, err := a.c.Accounts.Balances(a.ctx, id, "acc-huf-1")
	require.NoError(t, err)

	b, err := kh.NewClient(kh.WithBaseURL(a.srv.URL()), kh.WithClientCertificate(a.srv.ClientCertificate()),
		kh.WithRootCAs(a.srv.RootCAs()), kh.WithAppToken(a.srv.AppToken()), kh.WithApplicationID(a.srv.ApplicationID()),
		kh.WithStore(store, "kh:test:"), fastRetry)
	require.NoError(t, err)
	require.NoError(t, b.Consents.Track(id, kh.TokenAccountBalance))
	statusBefore := a.srv.StatusCalls(id)
	_, err = b.Accounts.Balances(a.ctx, id, "acc-huf-1")
	require.NoError(t, err)
	assert.Equal(t, statusBefore, a.srv.StatusCalls(id), "replica b used the shared token instead of renewing")

	// The token expires; b renews it once, and a adopts b's token.
	toks := a.srv.ConsentTokens(id)
	a.srv.ExpireToken(toks[len(toks)-1])
	_, err = b.Accounts.Balances(a.ctx, id, "acc-huf-1")
	require.NoError(t, err)
	assert.Equal(t, statusBefore+1, a.srv.StatusCalls(id))
	a.srv.ResetRequests()
	_, err = a.c.Accounts.Balances(a.ctx, id, "acc-huf-1")
	require.NoError(t, err)
	assert.Equal(t, statusBefore+1, a.srv.StatusCalls(id), "replica a adopted the renewed token")
	toks = a.srv.ConsentTokens(id)
	reqs := a.srv.Requests()
	assert.Equal(t, "Bearer "+toks[len(toks)-1], reqs[len(reqs)-1].Header.Get("Authorization"))

	_, err = kh.NewClient(kh.WithBaseURL(a.srv.URL()), kh.WithStore(nil, "x"))
	assert.Error(t, err)
}

// Each of the three token codes the seed names renews the token once and replays
// the call once, which then succeeds.
func TestEveryTokenRejectionCodeRenewsOnceAndReplays(t *testing.T) {
	for _, code := range []string{kh.CodeTokenUnknown, kh.CodeTokenExpired, kh.CodeTokenInvalid} {
		t.Run(code, func(t *testing.T) {
			e := setup(t, nil)
			id := e.validConsent(kh.BalanceConsent("2999-12-31", e.ref(0)))
			body := `{"tppMessages":[{"category":"ERROR","code":"` + code + `","text":"token rejected"}]}`
			e.srv.Inject(1, fake.Status(401, body).On("GET", "/v1/accounts/"))
			e.srv.ResetRequests()
			res, err := e.c.Accounts.Balances(e.ctx, id, "acc-huf-1")
			require.NoError(t, err)
			assert.NotEmpty(t, res.Balances)
			assert.Equal(t, 2, countPath(e, "GET", "/v1/accounts/acc-huf-1/balances"), "the rejected call and one replay")
			assert.Equal(t, 1, countPath(e, "GET", "/v1/consents/"+id+"/status"), "one renewal")
			toks := e.srv.ConsentTokens(id)
			reqs := e.srv.Requests()
			assert.Equal(t, "Bearer "+toks[len(toks)-1], reqs[len(reqs)-1].Header.Get("Authorization"), "the replay carries the renewed token")
		})
	}
}

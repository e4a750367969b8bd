package khtest

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// tc is a raw HTTP client for the fake, so these tests check the fake against the
// documents without any client package.
type tc struct {
	t   *testing.T
	srv *Server
	hc  *http.Client
}

func setup(t *testing.T, opts ...Option) *tc {
	t.Helper()
	srv := NewServer(opts...)
	t.Cleanup(srv.Close)
	return &tc{t: t, srv: srv, hc: srv.Client()}
}

func uuid() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}

type reply struct {
	status int
	header http.Header
	body   map[string]any
	raw    []byte
}

func (r reply) code() string {
	msgs, _ := r.body["tppMessages"].([]any)
	if len(msgs) == 0 {
		return ""
	}
	m, _ := msgs[0].(map[string]any)
	s, _ := m["code"].(string)
	return s
}

func (c *tc) do(method, path, token string, body any, hdr ...string) reply {
	c.t.Helper()
	var rd io.Reader
	if body != nil {
		b, err := json.Marshal(body)
		require.NoError(c.t, err)
		rd = bytes.NewReader(b)
	}
	u := path
	if !strings.HasPrefix(u, "https://") {
		u = c.srv.URL() + path
	}
	req, err := http.NewRequest(method, u, rd)
	require.NoError(c.t, err)
	req.Header.Set("X-Request-ID", uuid())
	if body != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	if token != "" {
		req.Header.Set("Authorization", "Bearer "+token)
	}
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	resp, err := c.hc.Do(req)
	require.NoError(c.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(c.t, err)
	r := reply{status: resp.StatusCode, header: resp.Header, raw: raw}
	if strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		require.NoError(c.t, json.Unmarshal(raw, &r.body), string(raw))
	}
	return r
}

func (c *tc) iban(i int) string { return c.srv.Accounts()[i].IBAN }

func consentBodyFor(kind TokenKind, iban string) map[string]any {
	acc := map[string]any{}
	ref := []map[string]any{{"iban": iban}}
	switch kind {
	case KindPSUIdentification:
		acc["availableAccounts"] = "allAccounts"
	case KindAccountBalance:
		acc["balances"] = ref
	case KindTransactionHistory:
		acc["transactions"] = ref
	case KindFundsConfirmation:
		acc["accounts"] = ref
	}
	return map[string]any{"access": acc, "recurringIndicator": true, "validUntil": "2999-12-31",
		"frequencyPerDay": 4, "combinedServiceIndicator": false}
}

// validConsent creates a consent of the kind, runs it through embedded SCA and returns
// its id and a token from its status call.
func (c *tc) validConsent(kind TokenKind) (string, string) {
	c.t.Helper()
	r := c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(kind, c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	require.Equal(c.t, 201, r.status, string(r.raw))
	id := r.body["consentId"].(string)
	c.embedded("/v1/consents/"+id, c.srv.AppToken(), c.srv.AppToken())
	r = c.do("GET", "/v1/consents/"+id+"/status", c.srv.AppToken(), nil)
	require.Equal(c.t, 200, r.status)
	require.Equal(c.t, "valid", r.body["consentStatus"])
	tok := r.header.Get("token")
	require.NotEmpty(c.t, tok)
	return id, tok
}

// embedded runs the embedded SCA of a resource: start, password, method, OTP.
func (c *tc) embedded(resource, startTok, putTok string) string {
	c.t.Helper()
	_, pw, otp := c.srv.PSU()
	r := c.do("POST", resource+"/authorisations", startTok, map[string]any{})
	require.Equal(c.t, 201, r.status, string(r.raw))
	authPath := r.body["_links"].(map[string]any)["updatePsuAuthentication"].(map[string]any)["href"].(string)
	r = c.do("PUT", authPath, putTok, map[string]any{"psuData": map[string]any{"password": pw}})
	require.Equal(c.t, 200, r.status, string(r.raw))
	require.Equal(c.t, "psuAuthenticated", r.body["scaStatus"])
	require.Len(c.t, r.body["scaMethods"], 2)
	r = c.do("PUT", authPath, putTok, map[string]any{"authenticationMethodId": "sms"})
	require.Equal(c.t, 200, r.status, string(r.raw))
	require.Equal(c.t, "scaMethodSelected", r.body["scaStatus"])
	r = c.do("PUT", authPath, putTok, map[string]any{"scaAuthenticationData": otp})
	require.Equal(c.t, 200, r.status, string(r.raw))
	require.Equal(c.t, "finalised", r.body["scaStatus"])
	return authPath
}

func payBody(debtor string) map[string]any {
	return map[string]any{
		"debtorAccount":    map[string]any{"iban": debtor},
		"instructedAmount": map[string]any{"currency": "HUF", "amount": "1000.00"},
		"creditorAccount":  map[string]any{"iban": ibanFor("HU", "117000000000000000000001")},
		"creditorName":     "Creditor Ltd",
	}
}

func TestRequiresClientCertificate(t *testing.T) {
	c := setup(t)
	noCert := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{RootCAs: c.srv.RootCAs()}}}
	req, _ := http.NewRequest("GET", c.srv.URL()+"/v1/consents/x/status", nil)
	req.Header.Set("X-Request-ID", uuid())
	resp, err := noCert.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)

	// A certificate from another CA is refused as well.
	other, err := NewPKI()
	require.NoError(t, err)
	wrong := &http.Client{Transport: &http.Transport{TLSClientConfig: &tls.Config{
		RootCAs: c.srv.RootCAs(), Certificates: []tls.Certificate{other.ClientCertificate()}}}}
	resp, err = wrong.Do(req)
	if resp != nil {
		resp.Body.Close()
	}
	require.Error(t, err)

	r := c.do("POST", "/v1/tpp/app/token", "", map[string]any{"applicationId": c.srv.ApplicationID()})
	assert.Equal(t, 200, r.status, string(r.raw))
	assert.NotEmpty(t, r.body["token"])
}

func TestRequestIDValidatedAndEchoed(t *testing.T) {
	c := setup(t)
	for _, id := range []string{"", "not-a-uuid", "123e4567-e89b-12d3-a456-42661417400"} {
		req, _ := http.NewRequest("GET", c.srv.URL()+"/v1/accounts", nil)
		if id != "" {
			req.Header.Set("X-Request-ID", id)
		}
		resp, err := c.hc.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 400, resp.StatusCode, id)
		assert.Contains(t, string(b), `"code":"FORMAT_ERROR"`)
		assert.Contains(t, string(b), `"path":"X-Request-ID"`)
		assert.Equal(t, id, resp.Header.Get("X-Request-ID"))
	}
	req, _ := http.NewRequest("POST", c.srv.URL()+"/v1/tpp/app/token", strings.NewReader(`{"applicationId":"nope"}`))
	id := uuid()
	req.Header.Set("X-Request-ID", id)
	req.Header.Set("Content-Type", "application/json")
	resp, err := c.hc.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 404, resp.StatusCode)
	assert.Equal(t, id, resp.Header.Get("X-Request-ID"), "echoed on errors too")
}

func TestBearerFormIsExact(t *testing.T) {
	c := setup(t)
	tok := c.srv.AppToken()
	path := c.srv.URL() + "/v1/consents/none/status"
	for _, v := range []string{"bearer " + tok, "Bearer  " + tok, "Token " + tok, "Bearer: " + tok,
		"Bearer abc", "BEARER " + tok, tok} {
		req, _ := http.NewRequest("GET", path, nil)
		req.Header.Set("X-Request-ID", uuid())
		req.Header.Set("Authorization", v)
		resp, err := c.hc.Do(req)
		require.NoError(t, err)
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		assert.Equal(t, 400, resp.StatusCode, v)
		assert.Contains(t, string(b), "FORMAT_ERROR", v)
	}
	r := c.do("GET", "/v1/consents/none/status", tok, nil)
	assert.Equal(t, 403, r.status)
	assert.Equal(t, "CONSENT_UNKNOWN", r.code(), "authorised, then the consent is unknown")
}

func TestTableRowsEnforced(t *testing.T) {
	c := setup(t)
	toks := map[TokenKind]string{KindApp: c.srv.AppToken()}
	for _, k := range []TokenKind{KindPSUIdentification, KindAccountBalance, KindTransactionHistory, KindFundsConfirmation} {
		_, tok := c.validConsent(k)
		kind, ok := c.srv.TokenKind(tok)
		require.True(t, ok)
		require.Equal(t, k, kind)
		toks[k] = tok
	}
	rows := Table()
	require.Len(t, rows, 59)
	seed := 0
	for _, r := range rows {
		if r.Seed {
			seed++
		}
	}
	require.Equal(t, 58, seed, "58 rows on the K&H token page")
	for _, row := range rows {
		path := strings.NewReplacer("{paymentId}", "p1", "{authorisationId}", "a1", "{cancellationId}", "c1",
			"{basketId}", "b1", "{consentId}", "c1", "{account-id}", "acc-huf-1", "{downloadid}", "d1").Replace(row.Pattern)
		for kind, tok := range toks {
			r := c.do(row.Method, path, tok, nil)
			allowed := false
			for _, k := range row.Kinds {
				allowed = allowed || k == kind
			}
			if allowed {
				assert.NotEqual(t, "TOKEN_INVALID", r.code(), "%s %s with %s", row.Method, row.Pattern, kind)
			} else {
				assert.Equal(t, 401, r.status, "%s %s with %s", row.Method, row.Pattern, kind)
				assert.Equal(t, "TOKEN_INVALID", r.code(), "%s %s with %s", row.Method, row.Pattern, kind)
			}
		}
		if len(row.Kinds) > 0 {
			r := c.do(row.Method, path, "", nil)
			assert.Equal(t, 401, r.status, "%s %s without a token", row.Method, row.Pattern)
		}
	}
}

func TestEmbeddedConsentAndTokenRotation(t *testing.T) {
	c := setup(t)
	id, tok1 := c.validConsent(KindPSUIdentification)
	r := c.do("GET", "/v1/consents/"+id+"/status", c.srv.AppToken(), nil)
	tok2 := r.header.Get("token")
	require.NotEmpty(t, tok2)
	assert.NotEqual(t, tok1, tok2, "a new token on every status call")
	assert.Equal(t, []string{tok1, tok2}, c.srv.ConsentTokens(id))
	assert.Equal(t, 2, c.srv.StatusCalls(id))

	r = c.do("GET", "/v1/accounts", tok2, nil)
	require.Equal(t, 200, r.status, string(r.raw))
	assert.Len(t, r.body["accounts"], 2)
	r = c.do("GET", "/v1/consents/"+id, tok1, nil)
	require.Equal(t, 200, r.status, string(r.raw))
	assert.Equal(t, "valid", r.body["consentStatus"])

	// An app token cannot list accounts (PSU identification only).
	r = c.do("GET", "/v1/accounts", c.srv.AppToken(), nil)
	assert.Equal(t, "TOKEN_INVALID", r.code())

	// A received consent issues no token.
	r = c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(KindAccountBalance, c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	require.Equal(t, 201, r.status)
	r = c.do("GET", "/v1/consents/"+r.body["consentId"].(string)+"/status", c.srv.AppToken(), nil)
	assert.Equal(t, "received", r.body["consentStatus"])
	assert.Empty(t, r.header.Get("token"))

	// Deleted: its tokens stop working.
	r = c.do("DELETE", "/v1/consents/"+id, c.srv.AppToken(), nil)
	assert.Equal(t, 204, r.status)
	r = c.do("GET", "/v1/accounts", tok2, nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "CONSENT_INVALID", r.code())
}

func TestIssueConsentToken(t *testing.T) {
	c := setup(t)
	id, _ := c.validConsent(KindAccountBalance)
	calls := c.srv.StatusCalls(id)
	tok, err := c.srv.IssueConsentToken(id)
	require.NoError(t, err)
	assert.Equal(t, calls, c.srv.StatusCalls(id), "no status call")
	kind, ok := c.srv.TokenKind(tok)
	require.True(t, ok)
	assert.Equal(t, KindAccountBalance, kind)
	assert.Equal(t, id, c.srv.TokenConsent(tok))
	toks := c.srv.ConsentTokens(id)
	assert.Equal(t, tok, toks[len(toks)-1])
	r := c.do("GET", "/v1/accounts/"+c.srv.Accounts()[0].ResourceID+"/balances", tok, nil, "Consent-ID", id)
	assert.Equal(t, 200, r.status, string(r.raw))

	_, err = c.srv.IssueConsentToken("no-such-consent")
	assert.ErrorContains(t, err, "unknown consent")
	r = c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(KindPSUIdentification, ""), "PSU-IP-Address", "192.0.2.1")
	require.Equal(t, 201, r.status)
	_, err = c.srv.IssueConsentToken(r.body["consentId"].(string))
	assert.ErrorContains(t, err, "not valid", "a consent without SCA has no token")
}

func TestWrongCredentialsAndOTP(t *testing.T) {
	c := setup(t, WithScaMethods(ScaMethod{Type: "SMS_OTP", ID: "sms", Name: "SMS"}))
	r := c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(KindPSUIdentification, ""), "PSU-IP-Address", "192.0.2.1")
	require.Equal(t, 201, r.status)
	id := r.body["consentId"].(string)
	r = c.do("POST", "/v1/consents/"+id+"/authorisations", c.srv.AppToken(), map[string]any{"psuData": map[string]any{"password": "wrong"}})
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "PSU_CREDENTIALS_INVALID", r.code())
	_, pw, otp := c.srv.PSU()
	r = c.do("POST", "/v1/consents/"+id+"/authorisations", c.srv.AppToken(), map[string]any{"psuData": map[string]any{"password": pw}})
	require.Equal(t, 201, r.status, string(r.raw))
	assert.Equal(t, "scaMethodSelected", r.body["scaStatus"], "one method: chosen at once")
	assert.NotNil(t, r.body["challengeData"])
	authPath := r.body["_links"].(map[string]any)["authoriseTransaction"].(map[string]any)["href"].(string)
	for i := 0; i < 3; i++ {
		r = c.do("PUT", authPath, c.srv.AppToken(), map[string]any{"scaAuthenticationData": "000000"})
		assert.Equal(t, 401, r.status)
	}
	r = c.do("PUT", authPath, c.srv.AppToken(), map[string]any{"scaAuthenticationData": otp})
	assert.Equal(t, 409, r.status)
	st, _ := c.srv.ConsentStatus(id)
	assert.Equal(t, "rejected", st)
}

type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time      { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *clock) add(d time.Duration) { c.mu.Lock(); c.t = c.t.Add(d); c.mu.Unlock() }

func TestExpiredTokensAreUnknown(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := setup(t, WithClock(clk.now), WithTokenTTL(time.Minute))
	id, tok := c.validConsent(KindPSUIdentification)
	clk.add(2 * time.Minute)
	r := c.do("GET", "/v1/accounts", tok, nil)
	assert.Equal(t, 401, r.status)
	assert.Equal(t, "TOKEN_UNKNOWN", r.code())
	r = c.do("GET", "/v1/consents/"+id+"/status", c.srv.AppToken(), nil)
	assert.Equal(t, "TOKEN_UNKNOWN", r.code(), "the app token expired too")

	r = c.do("POST", "/v1/tpp/app/token", "", map[string]any{"applicationId": c.srv.ApplicationID()})
	require.Equal(t, 200, r.status)
	app := r.body["token"].(string)
	r = c.do("GET", "/v1/consents/"+id+"/status", app, nil)
	require.Equal(t, 200, r.status)
	r = c.do("GET", "/v1/accounts", r.header.Get("token"), nil)
	assert.Equal(t, 200, r.status)

	c.srv.ExpireToken(app)
	r = c.do("GET", "/v1/consents/"+id+"/status", app, nil)
	assert.Equal(t, "TOKEN_UNKNOWN", r.code())
}

func TestPaymentRedirectFlowAndStatus(t *testing.T) {
	c := setup(t)
	r := c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), payBody(c.iban(0)),
		"PSU-IP-Address", "192.0.2.1", "TPP-Redirect-Preferred", "true", "TPP-Redirect-URI", "https://elsewhere.example/ok")
	assert.Equal(t, 400, r.status, "redirect host must be the registered one")
	r = c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), payBody(c.iban(0)),
		"PSU-IP-Address", "192.0.2.1", "TPP-Redirect-Preferred", "true", "TPP-Redirect-URI", "https://tpp.example.com/ok")
	require.Equal(t, 201, r.status, string(r.raw))
	assert.Equal(t, "REDIRECT", r.header.Get("ASPSP-SCA-Approach"))
	id := r.body["paymentId"].(string)
	lk := r.body["_links"].(map[string]any)
	redirect := lk["scaRedirect"].(map[string]any)["href"].(string)

	resp, err := c.hc.Get(redirect)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 401, resp.StatusCode, "the token URL parameter is required")
	// The PSU's browser goes through the screen's steps (scapage_test.go tests them).
	loc, err := c.srv.ApproveRedirect(context.Background(), redirect+"?token="+url.QueryEscape(c.srv.AppToken()))
	require.NoError(t, err)
	assert.Equal(t, "https://tpp.example.com/ok", loc)

	var seen []string
	for i := 0; i < 4; i++ {
		r = c.do("GET", "/v1/payments/payment-order/"+id+"/status", c.srv.AppToken(), nil)
		seen = append(seen, r.body["transactionStatus"].(string))
	}
	assert.Equal(t, []string{"ACTC", "ACSP", "ACSC", "ACSC"}, seen)

	// Details need a PSU identification token.
	r = c.do("GET", "/v1/payments/payment-order/"+id, c.srv.AppToken(), nil)
	assert.Equal(t, "TOKEN_INVALID", r.code())
	_, psu := c.validConsent(KindPSUIdentification)
	r = c.do("GET", "/v1/payments/payment-order/"+id, psu, nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, "Creditor Ltd", r.body["creditorName"])
	// Another product or service does not find it.
	r = c.do("GET", "/v1/bulk-payments/payment-order/"+id, psu, nil)
	assert.Equal(t, 404, r.status)
}

func TestPaymentValidation(t *testing.T) {
	c := setup(t)
	bad := payBody(c.iban(0))
	bad["instructedAmount"] = map[string]any{"currency": "HUF", "amount": "10,00"}
	r := c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), bad, "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 400, r.status)
	assert.Contains(t, string(r.raw), `"path":"instructedAmount.amount"`)

	r = c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), payBody(c.iban(0)))
	assert.Contains(t, string(r.raw), `"path":"PSU-IP-Address"`)

	odd := payBody(c.iban(0))
	odd["invented"] = true
	r = c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), odd, "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 400, r.status)
	assert.Contains(t, string(r.raw), "invented")

	per := payBody(c.iban(0))
	per["startDate"], per["frequency"], per["dayOfExecution"] = "2030-01-01", "Monthly", "01"
	r = c.do("POST", "/v1/periodic-payments/standing-order", c.srv.AppToken(), per, "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 201, r.status, string(r.raw))
	per["frequency"] = "Fortnightly"
	r = c.do("POST", "/v1/periodic-payments/standing-order", c.srv.AppToken(), per, "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 400, r.status)

	bulk := map[string]any{"debtorAccount": map[string]any{"iban": c.iban(0)}, "batchBookingPreferred": true,
		"payments": []any{map[string]any{"instructedAmount": map[string]any{"currency": "HUF", "amount": "1"},
			"creditorAccount": map[string]any{"bban": "117000001234"}, "creditorName": "A"}}}
	r = c.do("POST", "/v1/bulk-payments/payment-order", c.srv.AppToken(), bulk, "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 201, r.status, string(r.raw))
}

func TestCancellationAndBasket(t *testing.T) {
	c := setup(t)
	_, psu := c.validConsent(KindPSUIdentification)
	r := c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), payBody(c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	require.Equal(t, 201, r.status)
	id := r.body["paymentId"].(string)
	path := "/v1/payments/payment-order/" + id
	c.embedded(path, c.srv.AppToken(), psu)
	st, _ := c.srv.PaymentStatus(id)
	require.Equal(t, "ACTC", st)

	r = c.do("DELETE", path, psu, nil)
	require.Equal(t, 202, r.status, string(r.raw))
	r = c.do("POST", path+"/cancellation-authorisations", c.srv.AppToken(), map[string]any{})
	require.Equal(t, 201, r.status, string(r.raw))
	cancelID := r.body["authorisationId"].(string)
	r = c.do("GET", path+"/cancellation-authorisations", c.srv.AppToken(), nil)
	assert.Equal(t, []any{cancelID}, r.body["cancellationIds"])
	require.NoError(t, c.srv.CompleteSCA(cancelID))
	st, _ = c.srv.PaymentStatus(id)
	assert.Equal(t, "CANC", st)

	// A basket of two consents and a payment, authorised once.
	var ids []string
	for _, k := range []TokenKind{KindAccountBalance, KindTransactionHistory} {
		r = c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(k, c.iban(0)), "PSU-IP-Address", "192.0.2.1")
		require.Equal(t, 201, r.status)
		ids = append(ids, r.body["consentId"].(string))
	}
	r = c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), payBody(c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	pay := r.body["paymentId"].(string)
	r = c.do("POST", "/v1/signing-baskets", psu, map[string]any{"consentIds": ids, "paymentIds": []string{pay}}, "PSU-IP-Address", "192.0.2.1")
	require.Equal(t, 201, r.status, string(r.raw))
	basketID := r.body["basketId"].(string)
	authPath := r.body["_links"].(map[string]any)["updatePsuAuthentication"].(map[string]any)["href"].(string)
	_, pw, otp := c.srv.PSU()
	for _, b := range []map[string]any{{"psuData": map[string]any{"password": pw}}, {"authenticationMethodId": "mtoken"}, {"scaAuthenticationData": otp}} {
		r = c.do("PUT", authPath, c.srv.AppToken(), b)
		require.Equal(t, "TOKEN_INVALID", r.code(), "basket PUT is PSU-only")
		r = c.do("PUT", authPath, psu, b)
		require.Equal(t, 200, r.status, string(r.raw))
	}
	st, _ = c.srv.BasketStatus(basketID)
	assert.Equal(t, "ACTC", st)
	for _, id := range ids {
		st, _ = c.srv.ConsentStatus(id)
		assert.Equal(t, "valid", st)
	}
	st, _ = c.srv.PaymentStatus(pay)
	assert.Equal(t, "ACTC", st)
	r = c.do("POST", "/v1/signing-baskets", psu, map[string]any{"consentIds": ids}, "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 409, r.status)
	assert.Equal(t, "REFERENCE_STATUS_INVALID", r.code())
}

func TestTransactionPagingAndDownload(t *testing.T) {
	c := setup(t, WithTransactionLinkLoop(2, 0))
	id, tok := c.validConsent(KindTransactionHistory)
	_ = id
	var got []string
	next := "/v1/accounts/acc-huf-1/transactions?bookingStatus=both&dateFrom=2000-01-01"
	var download string
	for page := 0; page < 3; page++ {
		r := c.do("GET", next, tok, nil)
		require.Equal(t, 200, r.status, string(r.raw))
		rep := r.body["transactions"].(map[string]any)
		for _, k := range []string{"booked", "pending"} {
			items, _ := rep[k].([]any)
			for _, it := range items {
				got = append(got, it.(map[string]any)["transactionId"].(string))
			}
		}
		download = r.body["_links"].(map[string]any)["download"].(map[string]any)["href"].(string)
		next = rep["_links"].(map[string]any)["next"].(map[string]any)["href"].(string)
	}
	assert.Equal(t, c.srv.TransactionIDs("acc-huf-1"), got)
	assert.Contains(t, next, "pageIndex=0", "the broken next link points back")

	r := c.do("GET", download, tok, nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, c.srv.DownloadContent("acc-huf-1"), r.raw)

	r = c.do("GET", "/v1/accounts/acc-huf-1/transactions?dateFrom=2000-01-01", tok, nil)
	assert.Equal(t, "FORMAT_ERROR", r.code())
	r = c.do("GET", "/v1/accounts/acc-eur-1/transactions?bookingStatus=booked&dateFrom=2000-01-01", tok, nil)
	assert.Equal(t, "CONSENT_INVALID", r.code(), "the consent covers the HUF account only")
	r = c.do("GET", "/v1/accounts/acc-huf-1/balances", tok, nil)
	assert.Equal(t, "TOKEN_INVALID", r.code())
}

func TestOnboarding(t *testing.T) {
	c := setup(t)
	cert, _, _, err := c.srv.PKI().NewClientCertificate("second-tpp")
	require.NoError(t, err)
	hc := c.srv.Client()
	hc.Transport.(*http.Transport).TLSClientConfig.Certificates = []tls.Certificate{cert}
	c2 := &tc{t: t, srv: c.srv, hc: hc}
	app := map[string]any{"name": "Second", "roles": []string{"AISP"}, "redirectHost": "second.example"}
	r := c2.do("POST", "/v1/tpp/app", "", app)
	assert.Equal(t, 403, r.status, "contact first")
	r = c2.do("PUT", "/v1/tpp/contact", "", map[string]any{"name": "Ops", "phone": "+36 1 234", "email": "ops@second.example"})
	require.Equal(t, 200, r.status, string(r.raw))
	r = c2.do("POST", "/v1/tpp/app", "", app)
	require.Equal(t, 201, r.status, string(r.raw))
	tok := r.body["token"].(string)
	appID := r.body["applicationId"].(string)
	// The first TPP cannot use or renew the second TPP's app.
	r = c.do("POST", "/v1/tpp/app/token", "", map[string]any{"applicationId": appID})
	assert.Equal(t, 404, r.status)
	r = c.do("GET", "/v1/consents/x/status", tok, nil)
	assert.Equal(t, "TOKEN_UNKNOWN", r.code())
	// The AISP-only app cannot initiate payments.
	r = c2.do("POST", "/v1/payments/payment-order", tok, payBody(c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, "ROLE_INVALID", r.code())
	// Tokens are not accepted where the table lists none.
	r = c2.do("POST", "/v1/tpp/app/token", tok, map[string]any{"applicationId": appID})
	assert.Equal(t, "TOKEN_INVALID", r.code())
}

func TestErrorBodyShape(t *testing.T) {
	c := setup(t)
	r := c.do("GET", "/v1/nothing", c.srv.AppToken(), nil)
	assert.Equal(t, 404, r.status)
	var body struct {
		TPPMessages []struct{ Category, Code, Path, Text string } `json:"tppMessages"`
	}
	require.NoError(t, json.Unmarshal(r.raw, &body))
	require.Len(t, body.TPPMessages, 1)
	assert.Equal(t, "ERROR", body.TPPMessages[0].Category)
	assert.Equal(t, "RESOURCE_UNKNOWN", body.TPPMessages[0].Code)
	r = c.do("PATCH", "/v1/consents/x", c.srv.AppToken(), nil)
	assert.Equal(t, 405, r.status)
	assert.Equal(t, "SERVICE_INVALID", r.code())
}

func TestPKIDoesNotPrintKeys(t *testing.T) {
	p, err := NewPKI()
	require.NoError(t, err)
	_, key := p.ClientCertificatePEM()
	out := fmt.Sprintf("%v %+v %#v %s", p, p, p, p)
	assert.NotContains(t, out, "PRIVATE")
	assert.NotContains(t, out, string(key[30:60]))
}

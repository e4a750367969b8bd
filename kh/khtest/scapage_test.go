package khtest

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"path"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// browser is the PSU's browser on the redirect screen: a cookie jar, no client
// certificate, redirects not followed (the tests read where the screen sends it).
type browser struct {
	t  *testing.T
	hc *http.Client
}

func newBrowser(t *testing.T, srv *Server) *browser {
	t.Helper()
	hc := srv.psuBrowser()
	t.Cleanup(hc.CloseIdleConnections)
	return &browser{t: t, hc: hc}
}

// shown is one answer of the screen.
type shown struct {
	status   int
	header   http.Header
	location string
	html     string
	page     page
}

func (b *browser) send(req *http.Request) shown {
	b.t.Helper()
	resp, err := b.hc.Do(req)
	require.NoError(b.t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(b.t, err)
	return shown{status: resp.StatusCode, header: resp.Header, location: resp.Header.Get("Location"),
		html: string(raw), page: readPage(raw)}
}

func (b *browser) open(u string) shown {
	b.t.Helper()
	req, err := http.NewRequest(http.MethodGet, u, nil)
	require.NoError(b.t, err)
	return b.send(req)
}

// submit posts a step's form as the page shows it (nonce, step) plus the fields.
func (b *browser) submit(link string, p page, fields ...string) shown {
	b.t.Helper()
	form := url.Values{"nonce": {p.nonce}, "step": {p.step}}
	for i := 0; i+1 < len(fields); i += 2 {
		form.Set(fields[i], fields[i+1])
	}
	return b.post(link, p.action, form)
}

func (b *browser) post(link, action string, form url.Values) shown {
	b.t.Helper()
	base, err := url.Parse(link)
	require.NoError(b.t, err)
	u, err := base.Parse(action)
	require.NoError(b.t, err)
	req, err := http.NewRequest(http.MethodPost, u.String(), strings.NewReader(form.Encode()))
	require.NoError(b.t, err)
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return b.send(req)
}

// redirectResource is a consent or payment created for redirect SCA.
type redirectResource struct {
	id     string // consent or payment id
	authID string
	link   string // the scaRedirect link, without the token
}

func (r redirectResource) withToken(tok string) string {
	return r.link + "?token=" + url.QueryEscape(tok)
}

const (
	okURI  = "https://tpp.example.com/sca/ok?state=s1"
	nokURI = "https://tpp.example.com/sca/nok"
)

func (c *tc) redirectConsent(nok string) redirectResource {
	c.t.Helper()
	hdr := []string{"PSU-IP-Address", "192.0.2.1", "TPP-Redirect-Preferred", "true", "TPP-Redirect-URI", okURI}
	if nok != "" {
		hdr = append(hdr, "TPP-Nok-Redirect-URI", nok)
	}
	r := c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(KindPSUIdentification, c.iban(0)), hdr...)
	require.Equal(c.t, 201, r.status, string(r.raw))
	return c.redirectOf(r, r.body["consentId"].(string))
}

func (c *tc) redirectPayment(nok string) redirectResource {
	c.t.Helper()
	hdr := []string{"PSU-IP-Address", "192.0.2.1", "TPP-Redirect-Preferred", "true", "TPP-Redirect-URI", okURI}
	if nok != "" {
		hdr = append(hdr, "TPP-Nok-Redirect-URI", nok)
	}
	r := c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), payBody(c.iban(0)), hdr...)
	require.Equal(c.t, 201, r.status, string(r.raw))
	return c.redirectOf(r, r.body["paymentId"].(string))
}

func (c *tc) redirectOf(r reply, id string) redirectResource {
	c.t.Helper()
	lk := r.body["_links"].(map[string]any)
	link := lk["scaRedirect"].(map[string]any)["href"].(string)
	require.True(c.t, strings.HasPrefix(link, c.srv.SCAURL()+"/sca/redirect/"), link)
	scaStatus := lk["scaStatus"].(map[string]any)["href"].(string)
	return redirectResource{id: id, authID: path.Base(scaStatus), link: link}
}

func (c *tc) scaStatus(authID string) string {
	c.t.Helper()
	st, ok := c.srv.ScaStatus(authID)
	require.True(c.t, ok)
	return st
}

func (c *tc) consentStatus(id string) string {
	c.t.Helper()
	st, ok := c.srv.ConsentStatus(id)
	require.True(c.t, ok)
	return st
}

func TestSCAPageApproveConsent(t *testing.T) {
	c := setup(t)
	res := c.redirectConsent(nokURI)
	psuID, pw, otp := c.srv.PSU()
	b := newBrowser(t, c.srv)

	s := b.open(res.withToken(c.srv.AppToken()))
	require.Equal(t, 200, s.status, s.html)
	assert.Equal(t, stepLogin, s.page.step)
	assert.Equal(t, "/sca/redirect/"+res.authID, s.page.action, "the form posts without the token")
	assert.NotEmpty(t, s.page.nonce)
	assert.NotContains(t, s.html, "<script")
	assert.NotContains(t, s.html, c.srv.AppToken(), "the page does not repeat the token")
	assert.Contains(t, s.html, "khtest app asks you to approve consent "+res.id)
	assert.Contains(t, s.header.Get("Content-Security-Policy"), "default-src 'none'")
	assert.Equal(t, "no-referrer", s.header.Get("Referrer-Policy"))
	assert.Equal(t, "received", c.scaStatus(res.authID))

	s = b.submit(res.link, s.page, "psuId", psuID, "password", pw)
	require.Equal(t, 200, s.status, s.html)
	assert.Equal(t, stepMethod, s.page.step)
	assert.Equal(t, []string{"sms", "mtoken"}, s.page.methods)
	assert.Equal(t, "psuAuthenticated", c.scaStatus(res.authID))
	assert.Equal(t, "received", c.consentStatus(res.id))

	s = b.submit(res.link, s.page, "method", "mtoken")
	require.Equal(t, 200, s.status, s.html)
	assert.Equal(t, stepOTP, s.page.step)
	assert.Contains(t, s.html, "Enter the code sent by Mobile token.")
	assert.Equal(t, "scaMethodSelected", c.scaStatus(res.authID))

	s = b.submit(res.link, s.page, "otp", otp, "action", "approve")
	assert.Equal(t, http.StatusSeeOther, s.status, s.html)
	assert.Equal(t, okURI, s.location)
	assert.Equal(t, "finalised", c.scaStatus(res.authID))
	assert.Equal(t, "valid", c.consentStatus(res.id))

	// The consent's token comes from the status call, as after embedded SCA.
	r := c.do("GET", "/v1/consents/"+res.id+"/status", c.srv.AppToken(), nil)
	require.Equal(t, 200, r.status)
	assert.Equal(t, "valid", r.body["consentStatus"])
	tok := r.header.Get("token")
	require.NotEmpty(t, tok)
	assert.Equal(t, res.id, c.srv.TokenConsent(tok))
	r = c.do("GET", "/v1/accounts", tok, nil)
	assert.Equal(t, 200, r.status, string(r.raw))

	// The link is spent.
	s = b.open(res.withToken(c.srv.AppToken()))
	assert.Equal(t, http.StatusConflict, s.status)
	assert.Equal(t, stepError, s.page.step)
	assert.Contains(t, s.page.err, "already finalised")
}

func TestSCAPageApprovePaymentWithOneMethod(t *testing.T) {
	c := setup(t, WithScaMethods(ScaMethod{Type: "SMS_OTP", ID: "sms", Name: "SMS"}))
	res := c.redirectPayment("")
	psuID, pw, otp := c.srv.PSU()
	b := newBrowser(t, c.srv)

	s := b.open(res.withToken(c.srv.AppToken()))
	require.Equal(t, stepLogin, s.page.step)
	s = b.submit(res.link, s.page, "psuId", psuID, "password", pw)
	require.Equal(t, 200, s.status, s.html)
	assert.Equal(t, stepOTP, s.page.step, "a single method is chosen without asking")
	assert.Contains(t, s.html, "Enter the code sent by SMS.")
	assert.Equal(t, "scaMethodSelected", c.scaStatus(res.authID))

	s = b.submit(res.link, s.page, "otp", otp, "action", "approve")
	require.Equal(t, http.StatusSeeOther, s.status, s.html)
	assert.Equal(t, okURI, s.location)
	st, _ := c.srv.PaymentStatus(res.id)
	assert.Equal(t, "ACTC", st)
}

func TestSCAPageDeny(t *testing.T) {
	for name, tt := range map[string]struct {
		payment bool
		nok     string
		want    string // where Deny sends the browser
		status  string // the payment's or consent's status after
	}{
		"payment to the Nok URI":                  {payment: true, nok: nokURI, want: nokURI, status: "RJCT"},
		"consent to the Nok URI":                  {nok: nokURI, want: nokURI, status: "rejected"},
		"consent without Nok URI to the redirect": {want: okURI, status: "rejected"},
	} {
		t.Run(name, func(t *testing.T) {
			c := setup(t)
			res := c.redirectConsent
			if tt.payment {
				res = c.redirectPayment
			}
			r := res(tt.nok)
			psuID, pw, _ := c.srv.PSU()
			b := newBrowser(t, c.srv)
			s := b.open(r.withToken(c.srv.AppToken()))
			s = b.submit(r.link, s.page, "psuId", psuID, "password", pw)
			s = b.submit(r.link, s.page, "method", "sms")
			require.Equal(t, stepOTP, s.page.step, s.html)

			s = b.submit(r.link, s.page, "action", "deny")
			assert.Equal(t, http.StatusSeeOther, s.status, s.html)
			assert.Equal(t, tt.want, s.location)
			assert.Equal(t, "failed", c.scaStatus(r.authID))
			var st string
			if tt.payment {
				st, _ = c.srv.PaymentStatus(r.id)
			} else {
				st = c.consentStatus(r.id)
				resp := c.do("GET", "/v1/consents/"+r.id+"/status", c.srv.AppToken(), nil)
				assert.Empty(t, resp.header.Get("token"), "no token for a rejected consent")
			}
			assert.Equal(t, tt.status, st)
		})
	}
}

func TestSCAPageWrongPassword(t *testing.T) {
	c := setup(t)
	res := c.redirectConsent(nokURI)
	psuID, pw, _ := c.srv.PSU()
	b := newBrowser(t, c.srv)
	s := b.open(res.withToken(c.srv.AppToken()))

	for _, bad := range [][]string{
		{"psuId", psuID, "password", pw + "x"},
		{"psuId", "someone-else", "password", pw},
		{"psuId", psuID},
	} {
		next := b.submit(res.link, s.page, bad...)
		require.Equal(t, 200, next.status, next.html)
		assert.Equal(t, stepLogin, next.page.step)
		assert.Equal(t, "Wrong PSU ID or password.", next.page.err)
		assert.Equal(t, "received", c.scaStatus(res.authID))
		assert.Equal(t, "received", c.consentStatus(res.id))
		s = next
	}
	assert.Contains(t, s.html, `value="`+psuID+`"`, "the PSU id typed stays in the form")
	s = b.submit(res.link, s.page, "psuId", psuID, "password", pw)
	assert.Equal(t, stepMethod, s.page.step)
	assert.Empty(t, s.page.err)

	s = b.submit(res.link, s.page, "method", "carrier-pigeon")
	assert.Equal(t, 200, s.status)
	assert.Equal(t, stepMethod, s.page.step)
	assert.Equal(t, "Choose one of the methods offered.", s.page.err)
	assert.Equal(t, "psuAuthenticated", c.scaStatus(res.authID))
}

func TestSCAPageWrongOTP(t *testing.T) {
	c := setup(t)
	toOTP := func(res redirectResource) (*browser, shown) {
		psuID, pw, _ := c.srv.PSU()
		b := newBrowser(t, c.srv)
		s := b.open(res.withToken(c.srv.AppToken()))
		s = b.submit(res.link, s.page, "psuId", psuID, "password", pw)
		s = b.submit(res.link, s.page, "method", "sms")
		require.Equal(t, stepOTP, s.page.step, s.html)
		return b, s
	}
	_, _, otp := c.srv.PSU()

	// A wrong code is shown as such; the right one still finishes.
	res := c.redirectConsent(nokURI)
	b, s := toOTP(res)
	s = b.submit(res.link, s.page, "otp", "000000", "action", "approve")
	require.Equal(t, 200, s.status, s.html)
	assert.Equal(t, stepOTP, s.page.step)
	assert.Equal(t, "Wrong code. 2 attempt(s) left.", s.page.err)
	assert.Equal(t, "scaMethodSelected", c.scaStatus(res.authID))
	assert.Equal(t, "received", c.consentStatus(res.id))
	s = b.submit(res.link, s.page, "otp", otp, "action", "approve")
	assert.Equal(t, okURI, s.location)
	assert.Equal(t, "valid", c.consentStatus(res.id))

	// The third wrong code fails the authorisation.
	res = c.redirectConsent(nokURI)
	b, s = toOTP(res)
	for i := 1; i <= 2; i++ {
		s = b.submit(res.link, s.page, "otp", "999999", "action", "approve")
		require.Equal(t, 200, s.status)
		require.NotEmpty(t, s.page.err)
	}
	s = b.submit(res.link, s.page, "otp", "999999", "action", "approve")
	assert.Equal(t, http.StatusSeeOther, s.status)
	assert.Equal(t, nokURI, s.location)
	assert.Equal(t, "failed", c.scaStatus(res.authID))
	assert.Equal(t, "rejected", c.consentStatus(res.id))

	// Neither button: the step is shown again.
	res = c.redirectConsent(nokURI)
	b, s = toOTP(res)
	s = b.submit(res.link, s.page, "otp", otp)
	assert.Equal(t, http.StatusBadRequest, s.status)
	assert.Equal(t, stepOTP, s.page.step)
	assert.Equal(t, "scaMethodSelected", c.scaStatus(res.authID))
}

func TestSCAPageTokenParameter(t *testing.T) {
	c := setup(t)
	res := c.redirectConsent(nokURI)
	b := newBrowser(t, c.srv)
	for name, u := range map[string]string{
		"no token":      res.link,
		"unknown token": res.withToken("eyJhbGciOiJIUzI1NiJ9.e30.c2ln"),
		"empty token":   res.withToken(""),
	} {
		s := b.open(u)
		assert.Equal(t, http.StatusUnauthorized, s.status, name)
		assert.Equal(t, stepError, s.page.step, name)
		assert.Contains(t, s.page.err, "token", name)
		assert.Empty(t, s.header.Values("Set-Cookie"), name)
	}

	tok, err := c.srv.IssueAppToken(c.srv.ApplicationID())
	require.NoError(t, err)
	c.srv.ExpireToken(tok)
	s := b.open(res.withToken(tok))
	assert.Equal(t, http.StatusUnauthorized, s.status, "expired token")

	// A consent's token opens it as well as the application token.
	_, consentTok := c.validConsent(KindPSUIdentification)
	s = b.open(res.withToken(consentTok))
	assert.Equal(t, 200, s.status)
	assert.Equal(t, stepLogin, s.page.step)

	// Unknown and embedded authorisations have no screen.
	s = b.open(c.srv.SCAURL() + "/sca/redirect/auth-999?token=" + url.QueryEscape(c.srv.AppToken()))
	assert.Equal(t, http.StatusNotFound, s.status)
	r := c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(KindPSUIdentification, c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	require.Equal(t, 201, r.status)
	r = c.do("POST", "/v1/consents/"+r.body["consentId"].(string)+"/authorisations", c.srv.AppToken(), map[string]any{})
	require.Equal(t, 201, r.status)
	s = b.open(c.srv.SCAURL() + "/sca/redirect/" + r.body["authorisationId"].(string) + "?token=" + url.QueryEscape(c.srv.AppToken()))
	assert.Equal(t, http.StatusNotFound, s.status)
	s = b.open(c.srv.SCAURL() + "/elsewhere")
	assert.Equal(t, http.StatusNotFound, s.status)

	// The API listener does not serve the screen, nor does the screen serve the API.
	r = c.do("GET", c.srv.URL()+"/sca/redirect/"+res.authID+"?token="+url.QueryEscape(c.srv.AppToken()), "", nil)
	assert.Equal(t, http.StatusNotFound, r.status)
	assert.Equal(t, "received", c.scaStatus(res.authID))
}

func TestSCAPageSession(t *testing.T) {
	c := setup(t)
	res := c.redirectConsent(nokURI)
	psuID, pw, otp := c.srv.PSU()
	b := newBrowser(t, c.srv)
	login := b.open(res.withToken(c.srv.AppToken()))
	require.Equal(t, stepLogin, login.page.step)
	creds := url.Values{"nonce": {login.page.nonce}, "step": {stepLogin}, "psuId": {psuID}, "password": {pw}}

	// Another site's form (no cookie) and a form without the nonce are refused.
	other := newBrowser(t, c.srv)
	s := other.post(res.link, login.page.action, creds)
	assert.Equal(t, http.StatusForbidden, s.status)
	assert.Equal(t, stepError, s.page.step)
	noNonce := url.Values{"step": {stepLogin}, "psuId": {psuID}, "password": {pw}}
	s = b.post(res.link, login.page.action, noNonce)
	assert.Equal(t, http.StatusForbidden, s.status)
	assert.Equal(t, "received", c.scaStatus(res.authID))

	// A form of an earlier step is out of date: the current step is shown.
	s = b.submit(res.link, login.page, "psuId", psuID, "password", pw)
	require.Equal(t, stepMethod, s.page.step)
	s = b.submit(res.link, login.page, "psuId", psuID, "password", pw)
	assert.Equal(t, http.StatusConflict, s.status)
	assert.Equal(t, stepMethod, s.page.step)
	assert.Contains(t, s.page.err, "out of date")

	// Opening the link again in the same browser resumes; in another, starts over and
	// ends the first browser's session.
	s = b.open(res.withToken(c.srv.AppToken()))
	assert.Equal(t, stepMethod, s.page.step)
	assert.Equal(t, login.page.nonce, s.page.nonce)
	fresh := other.open(res.withToken(c.srv.AppToken()))
	assert.Equal(t, stepLogin, fresh.page.step)
	assert.NotEqual(t, login.page.nonce, fresh.page.nonce)
	s = b.submit(res.link, s.page, "method", "sms")
	assert.Equal(t, http.StatusForbidden, s.status)

	s = other.submit(res.link, fresh.page, "psuId", psuID, "password", pw)
	s = other.submit(res.link, s.page, "method", "sms")
	s = other.submit(res.link, s.page, "otp", otp, "action", "approve")
	assert.Equal(t, okURI, s.location)

	// Other methods are refused.
	req, err := http.NewRequest(http.MethodPut, res.link, nil)
	require.NoError(t, err)
	s = b.send(req)
	assert.Equal(t, http.StatusMethodNotAllowed, s.status)
}

func TestSCAPageWithoutRedirectURI(t *testing.T) {
	c := setup(t, WithDefaultApproach("REDIRECT"))
	r := c.do("POST", "/v1/payments/payment-order", c.srv.AppToken(), payBody(c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	require.Equal(t, 201, r.status, string(r.raw))
	res := c.redirectOf(r, r.body["paymentId"].(string))
	loc, err := c.srv.ApproveRedirect(context.Background(), res.withToken(c.srv.AppToken()))
	require.NoError(t, err)
	assert.Empty(t, loc, "nowhere to redirect: the screen says it is done")
	st, _ := c.srv.PaymentStatus(res.id)
	assert.Equal(t, "ACTC", st)
}

func TestApproveAndDenyRedirect(t *testing.T) {
	c := setup(t)
	ctx := context.Background()

	res := c.redirectPayment(nokURI)
	loc, err := c.srv.ApproveRedirect(ctx, res.withToken(c.srv.AppToken()))
	require.NoError(t, err)
	assert.Equal(t, okURI, loc)
	assert.Equal(t, "finalised", c.scaStatus(res.authID))
	st, _ := c.srv.PaymentStatus(res.id)
	assert.Equal(t, "ACTC", st)

	res = c.redirectConsent(nokURI)
	loc, err = c.srv.DenyRedirect(ctx, res.withToken(c.srv.AppToken()))
	require.NoError(t, err)
	assert.Equal(t, nokURI, loc)
	assert.Equal(t, "rejected", c.consentStatus(res.id))

	// A refused step is an error that does not hold the token.
	res = c.redirectConsent(nokURI)
	tok, err := c.srv.IssueAppToken(c.srv.ApplicationID())
	require.NoError(t, err)
	c.srv.ExpireToken(tok)
	_, err = c.srv.ApproveRedirect(ctx, res.withToken(tok))
	require.Error(t, err)
	assert.Contains(t, err.Error(), "401")
	assert.NotContains(t, err.Error(), tok)
	assert.Equal(t, "received", c.scaStatus(res.authID))

	_, err = c.srv.ApproveRedirect(ctx, "http://"+strings.TrimPrefix(res.withToken(c.srv.AppToken()), "https://"))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), c.srv.AppToken())
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	_, err = c.srv.ApproveRedirect(cctx, res.withToken(c.srv.AppToken()))
	require.ErrorIs(t, err, context.Canceled)
	assert.NotContains(t, err.Error(), c.srv.AppToken())
	assert.Equal(t, "received", c.scaStatus(res.authID))
}

func TestSCAPageApprovesABasket(t *testing.T) {
	c := setup(t)
	_, psu := c.validConsent(KindPSUIdentification)
	var ids []string
	for _, k := range []TokenKind{KindAccountBalance, KindTransactionHistory} {
		r := c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(k, c.iban(0)), "PSU-IP-Address", "192.0.2.1",
			"TPP-Explicit-Authorisation-Preferred", "true")
		require.Equal(t, 201, r.status, string(r.raw))
		ids = append(ids, r.body["consentId"].(string))
	}
	r := c.do("POST", "/v1/signing-baskets", psu, map[string]any{"consentIds": ids}, "PSU-IP-Address", "192.0.2.1",
		"TPP-Redirect-Preferred", "true", "TPP-Redirect-URI", okURI)
	require.Equal(t, 201, r.status, string(r.raw))
	res := c.redirectOf(r, r.body["basketId"].(string))
	loc, err := c.srv.ApproveRedirect(context.Background(), res.withToken(psu))
	require.NoError(t, err)
	assert.Equal(t, okURI, loc)
	st, _ := c.srv.BasketStatus(res.id)
	assert.Equal(t, "ACTC", st)
	for _, id := range ids {
		assert.Equal(t, "valid", c.consentStatus(id))
	}
}

// FuzzSCAPageForm posts arbitrary form bodies to the login step: the screen never
// fails, never moves on without the PSU's credentials and never ends the authorisation.
func FuzzSCAPageForm(f *testing.F) {
	srv := NewServer()
	defer srv.Close()
	psuID, pw, _ := srv.PSU()
	f.Add("nonce=N&step=login&psuId=" + psuID + "&password=" + url.QueryEscape(pw))
	f.Add("nonce=N&step=login&psuId=" + psuID + "&password=wrong")
	f.Add("nonce=N&step=otp&otp=123456&action=approve")
	f.Add("nonce=N&step=otp&action=deny")
	f.Add("nonce=&step=login")
	f.Add("%zz&&==;")
	f.Add(strings.Repeat("a=b&", 5000))
	f.Fuzz(func(t *testing.T, body string) {
		srv.mu.Lock()
		a := srv.newAuth("consent", "consent-x", "/v1/consents/consent-x/authorisations", "REDIRECT", okURI, nokURI)
		a.page = &pageSession{cookie: "C", nonce: "N", step: stepLogin}
		srv.mu.Unlock()

		req := httptest.NewRequest(http.MethodPost, "/sca/redirect/"+a.id, strings.NewReader(body))
		req.SetPathValue("id", a.id)
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.AddCookie(&http.Cookie{Name: scaCookie, Value: "C"})
		rec := httptest.NewRecorder()
		srv.scaPage(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusBadRequest, http.StatusForbidden, http.StatusConflict:
		default:
			t.Fatalf("status %d", rec.Code)
		}
		assert.Contains(t, rec.Header().Get("Content-Type"), "text/html")
		st, _ := srv.ScaStatus(a.id)
		form, err := url.ParseQuery(body)
		creds := err == nil && len(body) <= 16<<10 && form.Get("nonce") == "N" && form.Get("step") == stepLogin &&
			form.Get("psuId") == psuID && form.Get("password") == pw
		if creds {
			assert.Equal(t, "psuAuthenticated", st)
		} else {
			assert.Equal(t, "received", st, "moved on without the credentials: %q", body)
		}
		srv.mu.Lock()
		delete(srv.auths, a.id)
		srv.mu.Unlock()
	})
}

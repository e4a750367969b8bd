package tpv_test

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"errors"
	"github.com/banksdk/banksdk/fake"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// A fixed credential and its login signature, computed outside Go (the PHP formula
// hash_hmac('sha256', 'token=' . $token . '&timestamp=' . $timestamp, $appSecret)):
//
//	printf '%s' 'token=APk3v9QzR2mXw7&timestamp=1700000000' |
//	  openssl dgst -sha256 -hmac 'c2VjcmV0LWZvci10ZXN0cw=='
const (
	fixedToken     = "APk3v9QzR2mXw7"
	fixedSecret    = "c2VjcmV0LWZvci10ZXN0cw=="
	fixedTimestamp = 1700000000
	fixedSignature = "eee32f27440ad26e03838e50fd2bd1e1de3d6bfdd1ec299646ae06f7a9d51a2a"
)

type clock struct {
	mu  sync.Mutex
	now time.Time
}

func newClock(t time.Time) *clock { return &clock{now: t} }

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.now
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.now = c.now.Add(d)
	c.mu.Unlock()
}

type env struct {
	srv *tpvtest.Server
	c   *tpv.Client
}

// setup starts a fake portal and a client for it with fast retries.
func setup(t *testing.T, fakeOpts []tpvtest.Option, opts ...tpv.Option) env {
	t.Helper()
	srv := tpvtest.NewServer(fakeOpts...)
	t.Cleanup(srv.Close)
	base := []tpv.Option{
		tpv.WithBaseURL(srv.URL()),
		tpv.WithCredentials(srv.AppToken(), srv.AppSecret()),
		tpv.WithRetry(2, time.Millisecond, 5*time.Millisecond),
		tpv.WithTimeout(5 * time.Second),
	}
	c, err := tpv.NewClient(append(base, opts...)...)
	require.NoError(t, err)
	closeWhenDone(t, c)
	return env{srv: srv, c: c}
}

// closeWhenDone closes c when the test ends (before the portals started earlier
// close), so that the package's goroutine-leak check sees every client closed.
func closeWhenDone(t *testing.T, c *tpv.Client) {
	t.Helper()
	t.Cleanup(func() { assert.NoError(t, c.Close()) })
}

func hmacHex(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

// seedSale is the documentation's example body, decoded from its JSON (seedBody): the
// tests that send it then check that encoding gives the same JSON back.
func seedSale() tpv.Enrollment {
	var e tpv.Enrollment
	if err := json.Unmarshal([]byte(seedBody), &e); err != nil {
		panic("tpvtest/testdata/seed_example.json: " + err.Error())
	}
	return e
}

// seedBody is the TPV documentation's example submission (shared with the fake's
// tests).
//
//go:embed tpvtest/testdata/seed_example.json
var seedBody string

func TestLoginSignatureMatchesPHPFormula(t *testing.T) {
	// The test's own HMAC agrees with the value computed outside Go, and so does the
	// package's.
	require.Equal(t, fixedSignature, hmacHex(fixedSecret, "token="+fixedToken+"&timestamp=1700000000"))
	assert.Equal(t, fixedSignature, tpv.LoginSignature(fixedToken, fixedSecret, fixedTimestamp))

	clk := newClock(time.Unix(fixedTimestamp, 0))
	e := setup(t,
		[]tpvtest.Option{tpvtest.WithCredentials(fixedToken, fixedSecret), tpvtest.WithClock(clk.Now)},
		tpv.WithCredentials(fixedToken, fixedSecret), tpv.WithClock(clk.Now))

	require.NoError(t, e.c.Login(context.Background()))
	assert.Equal(t, 1, e.srv.Logins(), "the fake accepted the signature")
	reqs := e.srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, "POST", reqs[0].Method)
	assert.Equal(t, "/api/v1/auth", reqs[0].Path)
	assert.Equal(t, "token="+fixedToken+"&timestamp=1700000000&_signature="+fixedSignature, reqs[0].RawQuery)
	assert.Empty(t, reqs[0].Body)
	assert.Empty(t, reqs[0].RawHeader("Authorization"))

	// A second Login uses the cached token.
	require.NoError(t, e.c.Login(context.Background()))
	assert.Equal(t, 1, e.srv.Count("", "/api/v1/auth"))
}

func TestLoginRetrySignsAfresh(t *testing.T) {
	clk := newClock(time.Unix(fixedTimestamp, 0))
	e := setup(t,
		[]tpvtest.Option{tpvtest.WithCredentials(fixedToken, fixedSecret), tpvtest.WithClock(clk.Now)},
		tpv.WithCredentials(fixedToken, fixedSecret),
		tpv.WithClock(func() time.Time { clk.Advance(time.Second); return clk.Now() }))
	e.srv.Inject(1, fake.Status(503, "").On("POST", "/api/v1/auth"))
	require.NoError(t, e.c.Login(context.Background()))
	reqs := e.srv.Requests()
	require.Len(t, reqs, 2)
	assert.NotEqual(t, reqs[0].RawQuery, reqs[1].RawQuery, "each attempt has its own timestamp and signature")
	assert.Equal(t, 1, e.srv.Logins())
}

func TestLoginFailure(t *testing.T) {
	srv := tpvtest.NewServer()
	t.Cleanup(srv.Close)
	c, err := tpv.NewClient(tpv.WithBaseURL(srv.URL()), tpv.WithCredentials(srv.AppToken(), "wrong-secret"))
	require.NoError(t, err)
	closeWhenDone(t, c)

	_, err = c.Products(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrLoginFailed)
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.StatusCode)
	assert.Equal(t, "invalid signature.", ae.Message)
	assert.Equal(t, "tpv: login failed: tpv: HTTP 401 Unauthorized: invalid signature.", err.Error())
	assert.Equal(t, 1, srv.FailedLogins(), "a rejected login is not replayed")
	assert.Equal(t, 0, srv.Count("", "/api/v1/products"), "nothing is sent without a token")
}

func TestLoginClockSkew(t *testing.T) {
	clk := newClock(time.Now().Add(-6 * time.Minute))
	e := setup(t, nil, tpv.WithClock(clk.Now))
	err := e.c.Login(context.Background())
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrLoginFailed)
	assert.Contains(t, err.Error(), "timestamp is too far from the current time.")
}

func TestRequestHeaders(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	conf, err := e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	_, err = e.c.Products(ctx)
	require.NoError(t, err)
	_, err = tpv.Do[json.RawMessage](ctx, e.c, "POST", "api/v1/test/api?your=Parameters&here=1", nil)
	require.NoError(t, err)

	reqs := e.srv.Requests()
	require.Len(t, reqs, 4)
	login := reqs[0]
	require.Equal(t, "/api/v1/auth", login.Path)
	var authToken string
	for _, r := range reqs[1:] {
		auths := r.RawHeader("Authorization")
		require.Len(t, auths, 1, r.Path)
		assert.False(t, strings.HasPrefix(strings.ToLower(auths[0]), "bearer"), "no Bearer prefix")
		assert.Len(t, auths[0], 48)
		if authToken == "" {
			authToken = auths[0]
		}
		assert.Equal(t, authToken, auths[0], "one login, one token")
		assert.Len(t, r.RawHeader("Signature"), 1)
	}
	// Submission: the raw body is signed.
	sub := reqs[1]
	assert.Equal(t, "/api/v1/tpv", sub.Path)
	assert.Equal(t, hmacHex(e.srv.AppSecret(), string(sub.Body)), sub.RawHeader("Signature")[0])
	assert.Equal(t, []string{"application/json"}, sub.RawHeader("Content-Type"))
	// Products: no query, no body: the empty string is signed.
	assert.Equal(t, hmacHex(e.srv.AppSecret(), ""), reqs[2].RawHeader("Signature")[0])
	// A query is signed as sent.
	q := reqs[3]
	assert.Equal(t, "here=1&your=Parameters", q.RawQuery)
	assert.Equal(t, hmacHex(e.srv.AppSecret(), q.RawQuery), q.RawHeader("Signature")[0])
	assert.Equal(t, "00090894407", conf.Code)
}

func TestSubmitSeedExample(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	conf, err := e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	assert.Equal(t, "00090894407", conf.Code, "leading zeros kept")
	assert.JSONEq(t, `{"success":"00090894407"}`, string(conf.Raw))

	subs := e.srv.Submissions()
	require.Len(t, subs, 1)
	assert.JSONEq(t, seedBody, string(subs[0].Body), "every field of the example, nulls included")
	assert.Equal(t, conf.Code, subs[0].ConfirmationCode)

	// Nullable fields carry values when set.
	sale := seedSale()
	sale.ExternalID = tpv.String("crm-42")
	sale.CompanyName = tpv.String("Jones & Sons <LLC>")
	conf, err = e.c.SubmitTPV(ctx, sale)
	require.NoError(t, err)
	assert.Equal(t, "00090894408", conf.Code)
	subs = e.srv.Submissions()
	require.Len(t, subs, 2)
	require.NotNil(t, subs[1].Enrollment.ExternalID)
	assert.Equal(t, "crm-42", *subs[1].Enrollment.ExternalID)
	assert.Equal(t, "Jones & Sons <LLC>", *subs[1].Enrollment.CompanyName)
	assert.Contains(t, string(subs[1].Body), `"Jones & Sons <LLC>"`, "no HTML escaping")
}

func TestSubmitLostAnswerIsNotResent(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))
	e.srv.Inject(1, fake.DropAfter().On("POST", "/api/v1/tpv"))

	_, err := e.c.SubmitTPV(ctx, seedSale())
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "look the sale up in the portal before submitting it again")
	assert.Len(t, e.srv.Submissions(), 1, "the fake stored it exactly once")
	assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/tpv"), "sent exactly once")
}

func TestSubmitTimeoutIsNotResent(t *testing.T) {
	e := setup(t, nil, tpv.WithTimeout(100*time.Millisecond))
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))
	e.srv.Inject(1, fake.Delay(300*time.Millisecond).On("POST", "/api/v1/tpv"))

	_, err := e.c.SubmitTPV(ctx, seedSale())
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/tpv"))
}

func TestSubmitRetriedWhenRefused(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))
	e.srv.Inject(1, fake.Status(503, "").WithRetryAfter("0").On("POST", "/api/v1/tpv"))
	e.srv.Inject(1, fake.DropBefore().On("POST", "/api/v1/tpv"))

	conf, err := e.c.SubmitTPV(ctx, seedSale())
	// The 503 with Retry-After is retried (not processed). A connection dropped after
	// it was made is not: the outcome of that attempt is unknown.
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Empty(t, conf.Code)
	assert.Equal(t, 2, e.srv.Count("POST", "/api/v1/tpv"))
	assert.Empty(t, e.srv.Submissions())

	e.srv.Inject(2, fake.Status(503, "").WithRetryAfter("0").On("POST", "/api/v1/tpv"))
	conf, err = e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	assert.Equal(t, 5, e.srv.Count("POST", "/api/v1/tpv"))
	assert.Len(t, e.srv.Submissions(), 1)
	assert.Equal(t, "00090894407", conf.Code)
}

func TestSubmitMalformedAnswer(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))
	e.srv.Inject(1, fake.Malformed().On("POST", "/api/v1/tpv"))
	_, err := e.c.SubmitTPV(ctx, seedSale())
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/tpv"))

	e.srv.Inject(1, fake.Status(200, `{"success": 90894407}`).On("POST", "/api/v1/tpv"))
	_, err = e.c.SubmitTPV(ctx, seedSale())
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Contains(t, err.Error(), "confirmation code is not a string")

	e.srv.Inject(1, fake.Status(200, `{"error": "duplicate sale."}`).On("POST", "/api/v1/tpv"))
	_, err = e.c.SubmitTPV(ctx, seedSale())
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 200, ae.StatusCode)
	assert.Equal(t, "duplicate sale.", ae.Message)
	assert.NotErrorIs(t, err, tpv.ErrOutcomeUnknown)
}

func TestSubmitPortal400(t *testing.T) {
	e := setup(t, nil)
	// Bypass the client's validation with the escape hatch to reach the portal's.
	var m map[string]any
	require.NoError(t, json.Unmarshal([]byte(seedBody), &m))
	m["channel"] = "web"
	_, err := tpv.Do[json.RawMessage](context.Background(), e.c, "POST", "api/v1/tpv", m)
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.StatusCode)
	assert.Equal(t, "channel must be defined as one of dtd, tm, or retail.", ae.Message)
	assert.JSONEq(t, `{"error":"channel must be defined as one of dtd, tm, or retail."}`, string(ae.Raw))
	assert.Equal(t, "tpv: HTTP 400 Bad Request: channel must be defined as one of dtd, tm, or retail.", err.Error())
	assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/tpv"), "a 400 is not retried")
}

func TestInvalidEnrollmentSendsNothing(t *testing.T) {
	e := setup(t, nil)
	sale := seedSale()
	sale.Channel = "web"
	sale.Market = ""
	sale.Language = " "
	sale.BTN = ""
	sale.EmailAddress = "bill at jones"
	sale.AuthorizingFirstName = " "
	sale.BillingLastName = ""
	sale.ServiceState = ""
	sale.ServiceZip = ""
	sale.Products = []tpv.Product{
		{ProgramCode: "", AccountNumbers: []tpv.AccountNumber{{AccountNumber: "1"}}},
		{ProgramCode: "555"},
		{ProgramCode: "556", AccountNumbers: []tpv.AccountNumber{{AccountNumber: "1"}, {AccountNumberLabel: "Account Number"}}},
	}

	_, err := e.c.SubmitTPV(context.Background(), sale)
	require.Error(t, err)
	assert.ErrorIs(t, err, tpv.ErrInvalidEnrollment)
	assert.Empty(t, e.srv.Requests(), "not even a login")

	var ve *tpv.ValidationError
	require.ErrorAs(t, err, &ve)
	want := []string{
		"channel", "authorizing_first_name", "billing_last_name", "btn", "service_state", "service_zip",
		"language", "market", "email_address",
		"products[0].program_code", "products[1].account_numbers",
		"products[2].account_numbers[1].account_number",
	}
	var got []string
	for _, f := range ve.Fields {
		got = append(got, f.Field)
	}
	assert.Equal(t, want, got)
	for _, f := range want {
		assert.Contains(t, err.Error(), f+": ")
	}
	assert.Contains(t, err.Error(), "channel: must be one of dtd, tm, retail")
	assert.Contains(t, err.Error(), "btn: is required")
	assert.Contains(t, err.Error(), "nothing was sent")
}

func TestValidateRules(t *testing.T) {
	require.NoError(t, seedSale().Validate())
	tests := []struct {
		name  string
		f     func(e *tpv.Enrollment)
		field string // "" when valid
	}{
		// The documentation does not restrict the phone format: only a blank btn is refused.
		{"btn 10 digits", func(e *tpv.Enrollment) { e.BTN = "9181112222" }, ""},
		{"btn formatted", func(e *tpv.Enrollment) { e.BTN = "+1 (918) 111-2222" }, ""},
		{"btn international", func(e *tpv.Enrollment) { e.BTN = "+44 20 7946 0958" }, ""},
		{"btn empty", func(e *tpv.Enrollment) { e.BTN = "" }, "btn"},
		{"btn blank", func(e *tpv.Enrollment) { e.BTN = "  " }, "btn"},
		{"channel tm", func(e *tpv.Enrollment) { e.Channel = tpv.ChannelTM }, ""},
		{"channel retail", func(e *tpv.Enrollment) { e.Channel = tpv.ChannelRetail }, ""},
		// The channel list is the documentation's: the one enumerated value enforced.
		{"channel upper", func(e *tpv.Enrollment) { e.Channel = "DTD" }, "channel"},
		{"channel web", func(e *tpv.Enrollment) { e.Channel = "web" }, "channel"},
		{"channel empty", func(e *tpv.Enrollment) { e.Channel = "" }, "channel"},
		// Market and language: any non-empty value.
		{"market commercial", func(e *tpv.Enrollment) { e.Market = tpv.MarketCommercial }, ""},
		{"market other", func(e *tpv.Enrollment) { e.Market = "small business" }, ""},
		{"market empty", func(e *tpv.Enrollment) { e.Market = "" }, "market"},
		{"spanish", func(e *tpv.Enrollment) { e.Language = tpv.LanguageSpanish }, ""},
		{"french", func(e *tpv.Enrollment) { e.Language = "french" }, ""},
		{"language empty", func(e *tpv.Enrollment) { e.Language = "" }, "language"},
		{"digital delivery other", func(e *tpv.Enrollment) { e.DigitalDelivery = "text" }, ""},
		{"email optional", func(e *tpv.Enrollment) { e.EmailAddress = "" }, ""},
		{"email with name", func(e *tpv.Enrollment) { e.EmailAddress = "Bill <bill@jones.com>" }, "email_address"},
		{"email not an address", func(e *tpv.Enrollment) { e.EmailAddress = "bill at jones" }, "email_address"},
		// State and ZIP or postal code: any non-empty value, in any format.
		{"zip+4", func(e *tpv.Enrollment) { e.ServiceZip = "10001-1234" }, ""},
		{"canadian postal code", func(e *tpv.Enrollment) { e.ServiceZip, e.ServiceState = "K1A 0B1", "ON" }, ""},
		{"uk postcode", func(e *tpv.Enrollment) { e.ServiceZip, e.ServiceState = "SW1A 1AA", "London" }, ""},
		{"zip empty", func(e *tpv.Enrollment) { e.ServiceZip = "" }, "service_zip"},
		{"service state lower", func(e *tpv.Enrollment) { e.ServiceState = "ny" }, ""},
		{"service state empty", func(e *tpv.Enrollment) { e.ServiceState = " " }, "service_state"},
		{"billing optional", func(e *tpv.Enrollment) {
			e.BillingState, e.BillingZip, e.BillingAddress, e.BillingCity = "", "", "", ""
		}, ""},
		{"billing state spelled out", func(e *tpv.Enrollment) { e.BillingState = "New York" }, ""},
		{"service city", func(e *tpv.Enrollment) { e.ServiceCity = "" }, "service_city"},
		{"service address", func(e *tpv.Enrollment) { e.ServiceAddress = "" }, "service_address"},
		{"no products", func(e *tpv.Enrollment) { e.Products = nil }, "products"},
		{"label optional", func(e *tpv.Enrollment) { e.Products[0].AccountNumbers[0].AccountNumberLabel = "" }, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := seedSale()
			tt.f(&e)
			err := e.Validate()
			if tt.field == "" {
				assert.NoError(t, err)
				return
			}
			var ve *tpv.ValidationError
			require.ErrorAs(t, err, &ve)
			assert.True(t, ve.Has(tt.field), "%v", ve.Fields)
			assert.Len(t, ve.Fields, 1, "%v", ve.Fields)
		})
	}
}

// The client's validation and the fake's agree on the seed example and on each
// accepted variant: what Validate accepts, the portal stores.
func TestValidVariantsAccepted(t *testing.T) {
	e := setup(t, nil)
	sale := seedSale()
	sale.BTN = "9181112222"
	sale.EmailAddress = ""
	sale.BillingState, sale.BillingZip = "", ""
	sale.ServiceZip = "10001-1234"
	sale.Channel, sale.Market, sale.Language = tpv.ChannelRetail, tpv.MarketCommercial, tpv.LanguageSpanish
	_, err := e.c.SubmitTPV(context.Background(), sale)
	require.NoError(t, err)
}

// Values the TPV documentation does not restrict reach the portal: a French-speaking
// customer in Canada, with a formatted phone number and a market and delivery the
// documentation does not list.
func TestUndocumentedValuesReachThePortal(t *testing.T) {
	e := setup(t, nil)
	sale := seedSale()
	sale.Language = "french"
	sale.ServiceState, sale.ServiceZip = "ON", "K1A 0B1"
	sale.BillingState, sale.BillingZip = "ON", "K1A 0B1"
	sale.ServiceCity, sale.BillingCity = "Ottawa", "Ottawa"
	sale.BTN = "+1 (613) 555-0100"
	sale.Market = "small business"
	sale.DigitalDelivery = "text"

	conf, err := e.c.SubmitTPV(context.Background(), sale)
	require.NoError(t, err)
	assert.Equal(t, tpvtest.FirstConfirmationCode, conf.Code)
	require.Equal(t, 1, e.srv.Count("POST", tpvtest.PathTPV))
	subs := e.srv.Submissions()
	require.Len(t, subs, 1)
	got := subs[0].Enrollment
	assert.Equal(t, "french", got.Language)
	assert.Equal(t, "ON", got.ServiceState)
	assert.Equal(t, "K1A 0B1", got.ServiceZip)
	assert.Equal(t, "K1A 0B1", got.BillingZip)
	assert.Equal(t, "+1 (613) 555-0100", got.BTN)
	assert.Equal(t, "small business", got.Market)
	assert.Equal(t, "text", got.DigitalDelivery)
}

// What the documentation does state is still checked before anything is sent: the
// channel list and the fields a sale carries.
func TestDocumentedRulesRefusedBeforeSending(t *testing.T) {
	e := setup(t, nil)
	for name, f := range map[string]func(s *tpv.Enrollment){
		"bad channel":         func(s *tpv.Enrollment) { s.Channel = "web" },
		"missing last name":   func(s *tpv.Enrollment) { s.AuthorizingLastName = "" },
		"missing postal code": func(s *tpv.Enrollment) { s.ServiceZip = "" },
		"missing language":    func(s *tpv.Enrollment) { s.Language = "" },
		"no products":         func(s *tpv.Enrollment) { s.Products = nil },
	} {
		sale := seedSale()
		sale.Language, sale.ServiceState, sale.ServiceZip = "french", "ON", "K1A 0B1"
		f(&sale)
		_, err := e.c.SubmitTPV(context.Background(), sale)
		assert.ErrorIs(t, err, tpv.ErrInvalidEnrollment, name)
	}
	assert.Zero(t, e.srv.Count("", tpvtest.PathTPV), "no submission reached the portal")
	assert.Empty(t, e.srv.Requests(), "not even a login")
}

func TestAuthExpiryMidRun(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	_, err := e.c.Products(ctx)
	require.NoError(t, err)
	require.Equal(t, 1, e.srv.Logins())

	e.srv.ExpireAuthTokens()
	conf, err := e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	assert.Equal(t, "00090894407", conf.Code)
	assert.Equal(t, 2, e.srv.Logins(), "one new login")
	assert.Equal(t, 2, e.srv.Count("POST", "/api/v1/tpv"), "the rejected attempt and one replay")
	assert.Len(t, e.srv.Submissions(), 1)

	reqs := e.srv.Requests()
	require.Len(t, reqs, 5) // login, products, tpv (401), login, tpv
	assert.Equal(t, []string{"/api/v1/auth", "/api/v1/products", "/api/v1/tpv", "/api/v1/auth", "/api/v1/tpv"},
		[]string{reqs[0].Path, reqs[1].Path, reqs[2].Path, reqs[3].Path, reqs[4].Path})
	assert.NotEqual(t, reqs[2].RawHeader("Authorization"), reqs[4].RawHeader("Authorization"))
	assert.Equal(t, reqs[2].Body, reqs[4].Body, "the replay sends the same bytes")
}

func TestAuthReplayOnlyOnce(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))
	e.srv.Inject(2, fake.Status(401, `{"error":"auth token expired."}`).On("", "/api/v1/products"))

	_, err := e.c.Products(ctx)
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 401, ae.StatusCode)
	assert.Equal(t, "auth token expired.", ae.Message)
	assert.Equal(t, 2, e.srv.Count("", "/api/v1/products"), "one replay, no loop")
	assert.Equal(t, 2, e.srv.Logins())
}

func TestConcurrentCallsAtServerExpiry(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))
	e.srv.ExpireAuthTokens()

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.c.Products(ctx)
			errs <- err
		}()
	}
	close(start)
	wg.Wait()
	close(errs)
	for err := range errs {
		assert.NoError(t, err)
	}
	assert.Equal(t, 2, e.srv.Logins(), "the first login and exactly one more")
}

func TestConcurrentCallsAtClientExpiry(t *testing.T) {
	clk := newClock(time.Now())
	e := setup(t, []tpvtest.Option{tpvtest.WithClock(clk.Now)}, tpv.WithClock(clk.Now))
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))

	// Past the 30 minutes: the cached token is expired for client and portal alike.
	clk.Advance(tpv.AuthTokenLifetime + time.Second)
	// Keep the fake's login timestamp check happy: it compares with the same clock.
	const n = 50
	var wg sync.WaitGroup
	start := make(chan struct{})
	for range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			_, err := e.c.Products(ctx)
			assert.NoError(t, err)
		}()
	}
	close(start)
	wg.Wait()
	assert.Equal(t, 2, e.srv.Logins(), "50 callers, one login")
	assert.Equal(t, n, e.srv.Count("", "/api/v1/products"), "no call was rejected")
}

func TestRenewsBeforeExpiry(t *testing.T) {
	clk := newClock(time.Now())
	// The renewal runs while a call with the old token may still be on its way; with
	// the portal's single token that call is refused and replayed (tested elsewhere).
	// Here the old token stays valid, so that only the renewal's timing is tested.
	e := setup(t, []tpvtest.Option{tpvtest.WithClock(clk.Now), tpvtest.WithConcurrentAuthTokens()}, tpv.WithClock(clk.Now))
	ctx := context.Background()
	_, err := e.c.Products(ctx)
	require.NoError(t, err)

	clk.Advance(20 * time.Minute)
	_, err = e.c.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, 1, e.srv.Logins(), "well inside the 30 minutes: no login")

	clk.Advance(tpv.AuthTokenLifetime - 20*time.Minute - 10*time.Second) // 10 s before the end
	_, err = e.c.Products(ctx)
	require.NoError(t, err, "the still-valid token is served while the renewal runs")
	require.Eventually(t, func() bool { return e.srv.Logins() == 2 }, 5*time.Second, time.Millisecond)

	clk.Advance(time.Minute) // the first token has now expired
	_, err = e.c.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, e.srv.Logins())
	for _, r := range e.srv.Requests() {
		assert.Empty(t, r.Fault)
	}
	assert.Equal(t, 4, e.srv.Count("", "/api/v1/products"), "four calls: no 401 and no replay")
}

func TestEndpointMethodFallback(t *testing.T) {
	ctx := context.Background()
	t.Run("POST then GET", func(t *testing.T) {
		e := setup(t, []tpvtest.Option{tpvtest.WithEndpointMethod(tpvtest.EndpointProducts, "GET")})
		res, err := e.c.Products(ctx)
		require.NoError(t, err)
		assert.Equal(t, "GET", res.Method)
		assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/products"))
		assert.Equal(t, 1, e.srv.Count("GET", "/api/v1/products"))

		// The working method is used first from then on.
		_, err = e.c.Products(ctx)
		require.NoError(t, err)
		assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/products"))
		assert.Equal(t, 2, e.srv.Count("GET", "/api/v1/products"))
	})
	t.Run("GET then POST", func(t *testing.T) {
		e := setup(t, nil,
			tpv.WithEndpointMethod(tpv.EndpointProducts, "GET"),
			tpv.WithEndpointMethod(tpv.EndpointDigitalSend, "get"),
			tpv.WithEndpointMethod(tpv.EndpointQueueCall, "GET"))
		res, err := e.c.Products(ctx)
		require.NoError(t, err)
		assert.Equal(t, "POST", res.Method)
		assert.Equal(t, 1, e.srv.Count("GET", "/api/v1/products"))
		assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/products"))

		conf, err := e.c.SubmitTPV(ctx, seedSale())
		require.NoError(t, err)
		res, err = e.c.SendDigital(ctx, conf.Code)
		require.NoError(t, err)
		assert.Equal(t, "POST", res.Method)
		res, err = e.c.QueueCall(ctx, conf.Code)
		require.NoError(t, err)
		assert.Equal(t, "POST", res.Method)
		assert.Equal(t, []string{conf.Code}, e.srv.DigitalSends())
		assert.Equal(t, []string{conf.Code}, e.srv.QueuedCalls())
	})
	t.Run("neither", func(t *testing.T) {
		e := setup(t, []tpvtest.Option{tpvtest.WithEndpointMethod(tpvtest.EndpointProducts, "PUT")})
		_, err := e.c.Products(ctx)
		var ae *tpv.APIError
		require.ErrorAs(t, err, &ae)
		assert.Equal(t, 405, ae.StatusCode)
		assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/products"))
		assert.Equal(t, 1, e.srv.Count("GET", "/api/v1/products"), "the other method once, no more")
	})
}

func TestProductsSendDigitalQueueCall(t *testing.T) {
	e := setup(t, []tpvtest.Option{tpvtest.WithProducts(json.RawMessage(`[{"program_code":"555"},{"program_code":"777"}]`))})
	ctx := context.Background()
	res, err := e.c.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, 200, res.StatusCode)
	assert.JSONEq(t, `[{"program_code":"555"},{"program_code":"777"}]`, string(res.Success))
	assert.JSONEq(t, `{"success":[{"program_code":"555"},{"program_code":"777"}]}`, string(res.Raw))
	_, ok := res.SuccessText()
	assert.False(t, ok)

	conf, err := e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	res, err = e.c.SendDigital(ctx, conf.Code)
	require.NoError(t, err)
	msg, ok := res.SuccessText()
	assert.True(t, ok)
	assert.Equal(t, "digital link sent.", msg)
	res, err = e.c.QueueCall(ctx, conf.Code)
	require.NoError(t, err)
	msg, _ = res.SuccessText()
	assert.Equal(t, "call queued.", msg)

	// Unknown code: the portal's 400 as *APIError. Leading zeros matter.
	_, err = e.c.SendDigital(ctx, strings.TrimLeft(conf.Code, "0"))
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.StatusCode)
	assert.Equal(t, "confirmation code not found.", ae.Message)
	_, err = e.c.QueueCall(ctx, "00000000001")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, "confirmation code not found.", ae.Message)

	// Bad codes are refused before sending.
	before := len(e.srv.Requests())
	for _, code := range []string{"", " 1", "..", "."} {
		_, err = e.c.SendDigital(ctx, code)
		assert.Error(t, err, "%q", code)
		_, err = e.c.QueueCall(ctx, code)
		assert.Error(t, err, "%q", code)
	}
	// A slash stays inside the one path segment.
	_, err = e.c.SendDigital(ctx, "1/../../tpv")
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 400, ae.StatusCode)
	reqs := e.srv.Requests()
	require.Len(t, reqs, before+1)
	assert.Equal(t, "/api/v1/digital/send/1%2F..%2F..%2Ftpv", reqs[before].RawPath)
	assert.Len(t, e.srv.Submissions(), 1)
}

func TestSendDigitalLostAnswer(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	conf, err := e.c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	e.srv.Inject(1, fake.DropAfter().On("POST", "/api/v1/digital/send"))
	_, err = e.c.SendDigital(ctx, conf.Code)
	assert.ErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Equal(t, []string{conf.Code}, e.srv.DigitalSends(), "sent once")
	assert.Equal(t, 1, e.srv.Count("POST", "/api/v1/digital/send/"+conf.Code))

	// Products only reads: a lost answer is retried.
	e.srv.Inject(1, fake.DropAfter().On("POST", "/api/v1/products"))
	_, err = e.c.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, 2, e.srv.Count("POST", "/api/v1/products"))
}

func TestUndocumentedAnswers(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	require.NoError(t, e.c.Login(ctx))

	e.srv.Inject(1, fake.Status(200, `{"error":"no products for this brand."}`).On("POST", "/api/v1/products"))
	_, err := e.c.Products(ctx)
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 200, ae.StatusCode)
	assert.Equal(t, "no products for this brand.", ae.Message)

	e.srv.Inject(1, fake.Status(200, `[1,2]`).On("POST", "/api/v1/products"))
	res, err := e.c.Products(ctx)
	require.NoError(t, err)
	assert.Nil(t, res.Success)
	assert.JSONEq(t, `[1,2]`, string(res.Raw))

	e.srv.Inject(1, fake.Status(204, "").On("POST", "/api/v1/products"))
	res, err = e.c.Products(ctx)
	require.NoError(t, err)
	assert.Equal(t, 204, res.StatusCode)
	assert.Nil(t, res.Raw)

	e.srv.Inject(1, fake.Malformed().On("POST", "/api/v1/products"))
	_, err = e.c.Products(ctx)
	require.Error(t, err)
	assert.NotErrorIs(t, err, tpv.ErrOutcomeUnknown)

	e.srv.Inject(3, fake.Status(502, "<html><title>Bad Gateway</title>\n</html>").On("POST", "/api/v1/products"))
	_, err = e.c.Products(ctx)
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 502, ae.StatusCode)
	assert.Equal(t, "<html><title>Bad Gateway</title> </html>", ae.Message)
	assert.Equal(t, "tpv: HTTP 502 Bad Gateway: <html><title>Bad Gateway</title> </html>", err.Error())
}

func TestDoEscapeHatch(t *testing.T) {
	e := setup(t, nil)
	ctx := context.Background()
	out, err := tpv.Do[map[string]string](ctx, e.c, "GET", "api/v1/test/api?your=Parameters&here=1", nil)
	require.NoError(t, err)
	assert.Equal(t, "authenticated", out["success"])

	_, err = tpv.Do[any](ctx, e.c, "GET", "https://elsewhere.example/api", nil)
	require.Error(t, err)
	_, err = tpv.Do[any](ctx, nil, "GET", "api/v1/test/api", nil)
	require.Error(t, err)
	assert.Equal(t, 2, len(e.srv.Requests()), "login and the first call only")
}

func TestWithRequestSigner(t *testing.T) {
	methodPath := func(r *http.Request, _ []byte, secret string) string {
		return hmacHex(secret, r.Method+" "+r.URL.EscapedPath())
	}
	srv := tpvtest.NewServer(tpvtest.WithSignatureFunc(methodPath))
	t.Cleanup(srv.Close)
	secret := srv.AppSecret()
	c, err := tpv.NewClient(
		tpv.WithBaseURL(srv.URL()),
		tpv.WithCredentials(srv.AppToken(), secret),
		tpv.WithRequestSigner(func(ctx context.Context, r *http.Request, _ []byte, signer auth.HMACSigner) (string, error) {
			return auth.SignHMACHex(ctx, signer, r.Method+" "+r.URL.EscapedPath())
		}))
	require.NoError(t, err)
	closeWhenDone(t, c)
	ctx := context.Background()
	conf, err := c.SubmitTPV(ctx, seedSale())
	require.NoError(t, err)
	_, err = c.SendDigital(ctx, conf.Code)
	require.NoError(t, err)

	// The default signer fails against this portal: 403, not a login loop.
	e := setup(t, []tpvtest.Option{tpvtest.WithSignatureFunc(methodPath)})
	_, err = e.c.Products(ctx)
	var ae *tpv.APIError
	require.ErrorAs(t, err, &ae)
	assert.Equal(t, 403, ae.StatusCode)
	assert.Equal(t, 1, e.srv.Logins())

	// A failing signer stops the call before it is sent.
	boom := errors.New("key store unavailable")
	e = setup(t, nil, tpv.WithRequestSigner(func(context.Context, *http.Request, []byte, auth.HMACSigner) (string, error) { return "", boom }))
	_, err = e.c.SubmitTPV(ctx, seedSale())
	assert.ErrorIs(t, err, boom)
	assert.NotErrorIs(t, err, tpv.ErrOutcomeUnknown)
	assert.Equal(t, 0, e.srv.Count("", "/api/v1/tpv"))

	// An empty signature sends no header.
	e = setup(t, []tpvtest.Option{tpvtest.WithoutSignatureCheck()},
		tpv.WithRequestSigner(func(context.Context, *http.Request, []byte, auth.HMACSigner) (string, error) { return "", nil }))
	_, err = e.c.Products(ctx)
	require.NoError(t, err)
	reqs := e.srv.Requests()
	assert.Empty(t, reqs[len(reqs)-1].RawHeader("Signature"))
}

func TestNewClientValidation(t *testing.T) {
	creds := tpv.WithCredentials("APtoken", "secret")
	tests := []struct {
		name string
		opts []tpv.Option
		want string
	}{
		{"no base URL", []tpv.Option{creds}, "base URL"},
		{"no credentials", []tpv.Option{tpv.WithBaseURL("https://clients.tpvhub.com")}, "WithCredentials is required"},
		{"empty secret", []tpv.Option{tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithCredentials("APtoken", " ")}, "both required"},
		{"token with ampersand", []tpv.Option{tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithCredentials("AP&x=1", "s")}, "query string"},
		{"plain http", []tpv.Option{tpv.WithBaseURL("http://clients.tpvhub.com"), creds}, "http"},
		{"bad endpoint", []tpv.Option{creds, tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithEndpointMethod("tpv", "GET")}, "unknown endpoint"},
		{"bad method", []tpv.Option{creds, tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithEndpointMethod(tpv.EndpointProducts, "PUT")}, "must be GET or POST"},
		{"nil signer", []tpv.Option{creds, tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithRequestSigner(nil)}, "signer"},
		{"bad retry", []tpv.Option{creds, tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithRetry(-1, 0, 0)}, "retr"},
		{"bad timeout", []tpv.Option{creds, tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithTimeout(0)}, "timeout"},
		{"nil logger", []tpv.Option{creds, tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithLogger(nil)}, "logger"},
		{"nil http client", []tpv.Option{creds, tpv.WithBaseURL("https://clients.tpvhub.com"), tpv.WithHTTPClient(nil)}, "client"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := tpv.NewClient(tt.opts...)
			require.Error(t, err)
			assert.Nil(t, c)
			assert.Contains(t, strings.ToLower(err.Error()), strings.ToLower(tt.want))
			assert.NotContains(t, err.Error(), "secret\"")
			assert.True(t, strings.HasPrefix(err.Error(), "tpv: "), err.Error())
		})
	}

	c, err := tpv.NewClient(tpv.WithBaseURL("http://clients.example"), creds, tpv.WithInsecureHTTP(), tpv.WithUserAgent("app/1.0"), nil)
	require.NoError(t, err)
	require.NotNil(t, c)
	assert.NoError(t, c.Close())
}

func TestUserAgent(t *testing.T) {
	e := setup(t, nil, tpv.WithUserAgent("tpv-tests/1.0"))
	require.NoError(t, e.c.Login(context.Background()))
	ua := e.srv.Requests()[0].RawHeader("User-Agent")
	require.Len(t, ua, 1)
	assert.True(t, strings.HasPrefix(ua[0], "banksdk-go/"), ua[0])
	assert.True(t, strings.HasSuffix(ua[0], " tpv-tests/1.0"), ua[0])
}

func TestReplicasSharingAStoreLogInOnce(t *testing.T) {
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)
	store := auth.NewMemoryStore()
	var clients []*tpv.Client
	for range 8 {
		c, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()), tpv.WithCredentials(portal.AppToken(), portal.AppSecret()),
			tpv.WithStore(store, "tpv:"+portal.AppToken()))
		require.NoError(t, err)
		closeWhenDone(t, c)
		clients = append(clients, c)
	}
	var wg sync.WaitGroup
	for _, c := range clients {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, err := c.Products(context.Background())
			assert.NoError(t, err)
		}()
	}
	wg.Wait()
	assert.Equal(t, 1, portal.Count(http.MethodPost, tpvtest.PathAuth), "one login for eight replicas")
	assert.Equal(t, 8, portal.Count(http.MethodPost, "/api/v1/products"))
	_, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()), tpv.WithCredentials("a", "b"), tpv.WithStore(nil, "k"))
	assert.Error(t, err)
}

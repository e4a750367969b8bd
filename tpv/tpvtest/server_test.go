package tpvtest_test

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/tls"
	_ "embed"
	"encoding/hex"
	"encoding/json"
	"github.com/banksdk/banksdk/fake"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// A fixed credential and its login signature, computed outside Go with
//
//	printf '%s' 'token=APk3v9QzR2mXw7&timestamp=1700000000' |
//	  openssl dgst -sha256 -hmac 'c2VjcmV0LWZvci10ZXN0cw=='
const (
	fixedToken     = "APk3v9QzR2mXw7"
	fixedSecret    = "c2VjcmV0LWZvci10ZXN0cw=="
	fixedTimestamp = 1700000000
	fixedSignature = "eee32f27440ad26e03838e50fd2bd1e1de3d6bfdd1ec299646ae06f7a9d51a2a"
)

// clock is a settable clock for the fake.
type clock struct {
	mu  sync.Mutex
	now time.Time
}

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

func setup(t *testing.T, opts ...tpvtest.Option) *tpvtest.Server {
	t.Helper()
	s := tpvtest.NewServer(opts...)
	t.Cleanup(s.Close)
	return s
}

func sign(secret, msg string) string {
	m := hmac.New(sha256.New, []byte(secret))
	m.Write([]byte(msg))
	return hex.EncodeToString(m.Sum(nil))
}

type answer struct {
	status int
	header http.Header
	body   map[string]any
	raw    string
}

func do(t *testing.T, method, rawURL string, header http.Header, body []byte) answer {
	t.Helper()
	req, err := http.NewRequest(method, rawURL, bytes.NewReader(body))
	require.NoError(t, err)
	for k, v := range header {
		req.Header[k] = v
	}
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(raw)}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func loginURL(base, token, ts, sig string) string {
	return base + "/api/v1/auth?token=" + token + "&timestamp=" + ts + "&_signature=" + sig
}

// login logs in the way the documentation's PHP example does.
func login(t *testing.T, s *tpvtest.Server, now time.Time) string {
	t.Helper()
	ts := strconv.FormatInt(now.Unix(), 10)
	a := do(t, http.MethodPost, loginURL(s.URL(), s.AppToken(), ts, sign(s.AppSecret(), "token="+s.AppToken()+"&timestamp="+ts)), nil, nil)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	tok, _ := a.body["auth_token"].(string)
	require.Len(t, tok, 48)
	return tok
}

// call sends an authenticated request signed over the raw query, or the body.
func call(t *testing.T, s *tpvtest.Server, auth, method, path, rawQuery string, body []byte) answer {
	t.Helper()
	msg := string(body)
	u := s.URL() + path
	if rawQuery != "" {
		msg = rawQuery
		u += "?" + rawQuery
	}
	h := http.Header{"Authorization": {auth}, "Signature": {sign(s.AppSecret(), msg)}}
	if body != nil {
		h["Content-Type"] = []string{"application/json"}
	}
	return do(t, method, u, h, body)
}

// seedExample is the TPV documentation's example submission, as the seed shows it.
//
//go:embed testdata/seed_example.json
var seedExample string

func TestLoginFixedSignature(t *testing.T) {
	c := &clock{now: time.Unix(fixedTimestamp, 0)}
	s := setup(t, tpvtest.WithCredentials(fixedToken, fixedSecret), tpvtest.WithClock(c.Now))

	// The test's own HMAC agrees with the value computed outside Go.
	require.Equal(t, fixedSignature, sign(fixedSecret, "token="+fixedToken+"&timestamp=1700000000"))

	a := do(t, http.MethodPost, loginURL(s.URL(), fixedToken, "1700000000", fixedSignature), nil, nil)
	require.Equal(t, http.StatusOK, a.status, a.raw)
	assert.Len(t, a.body["auth_token"], 48)
	assert.Equal(t, "application/json", a.header.Get("Content-Type"))
	assert.Equal(t, 1, s.Logins())
	assert.Equal(t, 0, s.FailedLogins())
}

func TestLoginRejections(t *testing.T) {
	c := &clock{now: time.Unix(fixedTimestamp, 0)}
	s := setup(t, tpvtest.WithCredentials(fixedToken, fixedSecret), tpvtest.WithClock(c.Now))
	sigAt := func(ts int64) string {
		return sign(fixedSecret, "token="+fixedToken+"&timestamp="+strconv.FormatInt(ts, 10))
	}
	tests := []struct {
		name   string
		method string
		url    string
		status int
		msg    string
	}{
		{"wrong secret", "POST", loginURL(s.URL(), fixedToken, "1700000000", sign("other", "token="+fixedToken+"&timestamp=1700000000")), 401, "invalid signature."},
		{"uppercase hex", "POST", loginURL(s.URL(), fixedToken, "1700000000", strings.ToUpper(fixedSignature)), 401, "invalid signature."},
		{"mangled ×tamp message", "POST", loginURL(s.URL(), fixedToken, "1700000000", sign(fixedSecret, "token="+fixedToken+"×tamp=1700000000")), 401, "invalid signature."},
		{"unknown app token", "POST", loginURL(s.URL(), "APother", "1700000000", sign(fixedSecret, "token=APother&timestamp=1700000000")), 401, "invalid application token."},
		{"timestamp 301 s old", "POST", loginURL(s.URL(), fixedToken, "1699999699", sigAt(1699999699)), 401, "timestamp is too far from the current time."},
		{"timestamp 301 s ahead", "POST", loginURL(s.URL(), fixedToken, "1700000301", sigAt(1700000301)), 401, "timestamp is too far from the current time."},
		{"timestamp in ms", "POST", loginURL(s.URL(), fixedToken, "1700000000000", sigAt(1700000000000)), 401, "timestamp is too far from the current time."},
		{"timestamp not a number", "POST", loginURL(s.URL(), fixedToken, "now", fixedSignature), 400, "timestamp must be a unix timestamp in seconds."},
		{"no signature", "POST", s.URL() + "/api/v1/auth?token=" + fixedToken + "&timestamp=1700000000", 400, "token, timestamp and _signature are required."},
		{"GET", "GET", loginURL(s.URL(), fixedToken, "1700000000", fixedSignature), 405, "method not allowed."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, tt.method, tt.url, nil, nil)
			assert.Equal(t, tt.status, a.status, a.raw)
			assert.Equal(t, tt.msg, a.body["error"])
		})
	}
	assert.Equal(t, 0, s.Logins())
	assert.Equal(t, 9, s.FailedLogins()) // the 405 never reached the login check

	// Exactly five minutes away is still accepted.
	a := do(t, "POST", loginURL(s.URL(), fixedToken, "1699999700", sigAt(1699999700)), nil, nil)
	assert.Equal(t, http.StatusOK, a.status, a.raw)
}

func TestMaxSkewOption(t *testing.T) {
	c := &clock{now: time.Unix(fixedTimestamp, 0)}
	s := setup(t, tpvtest.WithCredentials(fixedToken, fixedSecret), tpvtest.WithClock(c.Now), tpvtest.WithMaxSkew(10*time.Second))
	ts := int64(fixedTimestamp - 11)
	tsS := strconv.FormatInt(ts, 10)
	a := do(t, "POST", loginURL(s.URL(), fixedToken, tsS, sign(fixedSecret, "token="+fixedToken+"&timestamp="+tsS)), nil, nil)
	assert.Equal(t, http.StatusUnauthorized, a.status)
}

func TestRandomCredentials(t *testing.T) {
	s := setup(t)
	assert.Len(t, s.AppToken(), 48)
	assert.True(t, strings.HasPrefix(s.AppToken(), "AP"))
	assert.Len(t, s.AppSecret(), 44)
	s2 := setup(t)
	assert.NotEqual(t, s.AppToken(), s2.AppToken())
	assert.NotEqual(t, s.AppSecret(), s2.AppSecret())
}

func TestAuthHeaderRules(t *testing.T) {
	c := &clock{now: time.Now()}
	s := setup(t, tpvtest.WithClock(c.Now), tpvtest.WithTokenTTL(time.Minute))
	tok := login(t, s, c.Now())
	goodSig := sign(s.AppSecret(), "")

	tests := []struct {
		name   string
		header http.Header
		status int
		msg    string
	}{
		{"ok", http.Header{"Authorization": {tok}, "Signature": {goodSig}}, 200, ""},
		{"missing auth", http.Header{"Signature": {goodSig}}, 400, "missing auth token."},
		{"bearer prefix", http.Header{"Authorization": {"Bearer " + tok}, "Signature": {goodSig}}, 400, "auth token must be sent without a Bearer prefix."},
		{"two auth headers", http.Header{"Authorization": {tok, tok}, "Signature": {goodSig}}, 400, "more than one Authorization header."},
		{"unknown token", http.Header{"Authorization": {strings.Repeat("x", 48)}, "Signature": {goodSig}}, 400, "invalid auth token."},
		{"missing signature", http.Header{"Authorization": {tok}}, 403, "missing signature."},
		{"wrong signature", http.Header{"Authorization": {tok}, "Signature": {sign("other", "")}}, 403, "invalid signature."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := do(t, http.MethodPost, s.URL()+tpvtest.PathProducts, tt.header, nil)
			assert.Equal(t, tt.status, a.status, a.raw)
			if tt.msg != "" {
				assert.Equal(t, tt.msg, a.body["error"])
			}
		})
	}

	// The token expires after its TTL.
	c.Advance(59 * time.Second)
	assert.Equal(t, 200, call(t, s, tok, "POST", tpvtest.PathProducts, "", nil).status)
	assert.Equal(t, 1, s.AuthTokens())
	c.Advance(time.Second)
	a := call(t, s, tok, "POST", tpvtest.PathProducts, "", nil)
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "auth token expired.", a.body["error"])
	assert.Equal(t, 0, s.AuthTokens())
	assert.Equal(t, 3, s.RejectedAuthTokens(), "missing, unknown and expired; not the Bearer prefix or two headers")
}

func TestExpireAuthTokens(t *testing.T) {
	s := setup(t)
	tok := login(t, s, time.Now())
	require.Equal(t, 200, call(t, s, tok, "POST", tpvtest.PathProducts, "", nil).status)
	s.ExpireAuthTokens()
	a := call(t, s, tok, "POST", tpvtest.PathProducts, "", nil)
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "auth token expired.", a.body["error"])
	tok2 := login(t, s, time.Now())
	assert.Equal(t, 200, call(t, s, tok2, "POST", tpvtest.PathProducts, "", nil).status)
	assert.Equal(t, 2, s.Logins())
}

func TestLoginReplacesEarlierAuthToken(t *testing.T) {
	s := setup(t)
	tok1 := login(t, s, time.Now())
	tok2 := login(t, s, time.Now())
	a := call(t, s, tok1, "POST", tpvtest.PathProducts, "", nil)
	assert.Equal(t, 400, a.status, "the documentation answers every failure with 400")
	assert.Equal(t, "auth token is invalid: a newer login with the same application token replaced it.", a.body["error"])
	a = call(t, s, tok1, "POST", tpvtest.PathTPV, "", []byte(seedExample))
	assert.Equal(t, 400, a.status)
	assert.Empty(t, s.Submissions(), "a submission with a replaced token is not stored")
	assert.Equal(t, 200, call(t, s, tok2, "POST", tpvtest.PathProducts, "", nil).status)
	assert.Equal(t, 1, s.AuthTokens())
	assert.Equal(t, 2, s.RejectedAuthTokens())

	s2 := setup(t, tpvtest.WithConcurrentAuthTokens())
	tok1 = login(t, s2, time.Now())
	login(t, s2, time.Now())
	assert.Equal(t, 200, call(t, s2, tok1, "POST", tpvtest.PathProducts, "", nil).status, "earlier tokens stay valid with WithConcurrentAuthTokens")
	assert.Equal(t, 2, s2.AuthTokens())
	assert.Zero(t, s2.RejectedAuthTokens())
}

func TestSignatureOverQueryOrBody(t *testing.T) {
	s := setup(t)
	tok := login(t, s, time.Now())

	// The documentation's testing endpoint, with a query: the query is signed.
	q := "your=Parameters&here=1"
	a := call(t, s, tok, "POST", tpvtest.PathTestAPI, q, []byte(`{"ignored":true}`))
	assert.Equal(t, 200, a.status, a.raw)
	assert.Equal(t, "authenticated", a.body["success"])

	// Signing the body when there is a query fails.
	h := http.Header{"Authorization": {tok}, "Signature": {sign(s.AppSecret(), `{"a":1}`)}}
	a = do(t, "POST", s.URL()+tpvtest.PathTestAPI+"?"+q, h, []byte(`{"a":1}`))
	assert.Equal(t, 403, a.status)

	// No query: the raw body is signed, byte for byte.
	body := []byte(`{"a": 1}`)
	a = call(t, s, tok, "POST", tpvtest.PathTestAPI, "", body)
	assert.Equal(t, 200, a.status, a.raw)
	h = http.Header{"Authorization": {tok}, "Signature": {sign(s.AppSecret(), `{"a":1}`)}}
	a = do(t, "POST", s.URL()+tpvtest.PathTestAPI, h, body)
	assert.Equal(t, 403, a.status)
}

func TestSignatureOptions(t *testing.T) {
	s := setup(t, tpvtest.WithoutSignatureCheck())
	tok := login(t, s, time.Now())
	a := do(t, "POST", s.URL()+tpvtest.PathProducts, http.Header{"Authorization": {tok}}, nil)
	assert.Equal(t, 200, a.status, a.raw)

	methodPath := func(r *http.Request, _ []byte, secret string) string {
		return sign(secret, r.Method+" "+r.URL.Path)
	}
	s = setup(t, tpvtest.WithSignatureFunc(methodPath))
	tok = login(t, s, time.Now())
	a = do(t, "POST", s.URL()+tpvtest.PathProducts, http.Header{"Authorization": {tok}, "Signature": {sign(s.AppSecret(), "POST /api/v1/products")}}, nil)
	assert.Equal(t, 200, a.status, a.raw)
	assert.Equal(t, 403, call(t, s, tok, "POST", tpvtest.PathProducts, "", nil).status)
}

func TestSubmitSeedExample(t *testing.T) {
	s := setup(t)
	tok := login(t, s, time.Now())

	a := call(t, s, tok, "POST", tpvtest.PathTPV, "", []byte(seedExample))
	require.Equal(t, 200, a.status, a.raw)
	assert.JSONEq(t, `{"success":"00090894407"}`, a.raw)

	a = call(t, s, tok, "POST", tpvtest.PathTPV, "", []byte(seedExample))
	require.Equal(t, 200, a.status, a.raw)
	assert.Equal(t, "00090894408", a.body["success"])

	subs := s.Submissions()
	require.Len(t, subs, 2)
	got := subs[0]
	assert.Equal(t, "00090894407", got.ConfirmationCode)
	assert.Equal(t, seedExample, string(got.Body))
	e := got.Enrollment
	assert.Nil(t, e.ExternalID)
	assert.Nil(t, e.CompanyName)
	assert.Equal(t, "19181112222", e.BTN)
	assert.Equal(t, "Bill", e.AuthorizingFirstName)
	assert.Equal(t, "10001", e.BillingZip)
	require.Len(t, e.Products, 1)
	assert.Equal(t, "555", e.Products[0].ProgramCode)
	assert.Equal(t, []tpvtest.AccountNumber{{AccountNumber: "123123123123123", AccountNumberLabel: "Account Number"}}, e.Products[0].AccountNumbers)
}

func TestSubmitValidation(t *testing.T) {
	s := setup(t)
	tok := login(t, s, time.Now())
	mutate := func(f func(m map[string]any)) []byte {
		var m map[string]any
		require.NoError(t, json.Unmarshal([]byte(seedExample), &m))
		f(m)
		b, err := json.Marshal(m)
		require.NoError(t, err)
		return b
	}
	tests := []struct {
		name string
		f    func(m map[string]any)
		msg  string
	}{
		{"channel", func(m map[string]any) { m["channel"] = "web" }, "channel must be defined as one of dtd, tm, or retail."},
		{"channel case", func(m map[string]any) { m["channel"] = "DTD" }, "channel must be defined as one of dtd, tm, or retail."},
		{"market", func(m map[string]any) { m["market"] = "" }, "market is required."},
		{"language", func(m map[string]any) { delete(m, "language") }, "language is required."},
		{"first name", func(m map[string]any) { m["authorizing_first_name"] = " " }, "authorizing_first_name is required."},
		{"billing last name", func(m map[string]any) { delete(m, "billing_last_name") }, "billing_last_name is required."},
		{"btn", func(m map[string]any) { m["btn"] = "" }, "btn is required."},
		{"email", func(m map[string]any) { m["email_address"] = "bill at jones" }, "email_address must be a valid email address."},
		{"service state", func(m map[string]any) { m["service_state"] = "" }, "service_state is required."},
		{"service zip", func(m map[string]any) { delete(m, "service_zip") }, "service_zip is required."},
		{"no products", func(m map[string]any) { m["products"] = []any{} }, "products must contain at least one product."},
		{"no program code", func(m map[string]any) {
			m["products"] = []any{map[string]any{"program_code": "", "account_numbers": []any{map[string]any{"account_number": "1"}}}}
		}, "products.0.program_code is required."},
		{"no account numbers", func(m map[string]any) {
			m["products"] = []any{map[string]any{"program_code": "555", "account_numbers": []any{}}}
		}, "products.0.account_numbers must contain at least one account number."},
		{"empty account number", func(m map[string]any) {
			m["products"] = []any{map[string]any{"program_code": "555", "account_numbers": []any{map[string]any{"account_number": ""}}}}
		}, "products.0.account_numbers.0.account_number is required."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := call(t, s, tok, "POST", tpvtest.PathTPV, "", mutate(tt.f))
			assert.Equal(t, 400, a.status, a.raw)
			assert.Equal(t, tt.msg, a.body["error"])
		})
	}

	// Values the documentation does not restrict are stored as given.
	for name, f := range map[string]func(m map[string]any){
		"french":              func(m map[string]any) { m["language"] = "french" },
		"other market":        func(m map[string]any) { m["market"] = "industrial" },
		"canadian address":    func(m map[string]any) { m["service_state"], m["service_zip"] = "ON", "K1A 0B1" },
		"formatted phone":     func(m map[string]any) { m["btn"] = "+1 (918) 111-2222" },
		"other billing zip":   func(m map[string]any) { m["billing_zip"] = "10001-12" },
		"text delivery":       func(m map[string]any) { m["digital_delivery"] = "text" },
		"lowercase state":     func(m map[string]any) { m["billing_state"] = "ny" },
		"email without a dot": func(m map[string]any) { m["email_address"] = "bill@localhost" },
	} {
		before := len(s.Submissions())
		a := call(t, s, tok, "POST", tpvtest.PathTPV, "", mutate(f))
		assert.Equal(t, 200, a.status, "%s: %s", name, a.raw)
		assert.Len(t, s.Submissions(), before+1, name)
	}

	// Unknown fields, ZIP+4 and omitted optional fields.
	a := call(t, s, tok, "POST", tpvtest.PathTPV, "", mutate(func(m map[string]any) { m["chanel"] = "dtd" }))
	assert.Equal(t, 400, a.status)
	assert.Contains(t, a.body["error"], "chanel")
	a = call(t, s, tok, "POST", tpvtest.PathTPV, "", mutate(func(m map[string]any) {
		m["service_zip"] = "10001-1234"
		delete(m, "billing_state")
		delete(m, "email_address")
	}))
	assert.Equal(t, 200, a.status, a.raw)

	// Content-Type must be JSON.
	h := http.Header{"Authorization": {tok}, "Signature": {sign(s.AppSecret(), seedExample)}, "Content-Type": {"text/plain"}}
	a = do(t, "POST", s.URL()+tpvtest.PathTPV, h, []byte(seedExample))
	assert.Equal(t, 400, a.status)
	assert.Equal(t, "Content-Type must be application/json.", a.body["error"])

	assert.Len(t, s.Submissions(), 9, "the eight unrestricted variants and the ZIP+4 one; no refused submission")
}

func TestEndpointMethods(t *testing.T) {
	s := setup(t)
	tok := login(t, s, time.Now())
	a := call(t, s, tok, "POST", tpvtest.PathProducts, "", nil)
	require.Equal(t, 200, a.status, a.raw)
	assert.JSONEq(t, `{"success":[{"program_code":"555","name":"TPV Test"}]}`, a.raw)

	a = call(t, s, tok, "GET", tpvtest.PathProducts, "", nil)
	assert.Equal(t, 405, a.status)
	assert.Equal(t, "POST", a.header.Get("Allow"))

	s = setup(t,
		tpvtest.WithEndpointMethod(tpvtest.EndpointProducts, "GET"),
		tpvtest.WithEndpointMethod(tpvtest.EndpointDigitalSend, "GET", "POST"),
		tpvtest.WithProducts(json.RawMessage(`[]`)))
	tok = login(t, s, time.Now())
	a = call(t, s, tok, "POST", tpvtest.PathProducts, "", nil)
	assert.Equal(t, 405, a.status)
	assert.Equal(t, "GET", a.header.Get("Allow"))
	a = call(t, s, tok, "GET", tpvtest.PathProducts, "", nil)
	assert.Equal(t, 200, a.status)
	assert.JSONEq(t, `{"success":[]}`, a.raw)

	// 405 comes before the auth check, as a router would answer.
	a = do(t, "POST", s.URL()+tpvtest.PathProducts, nil, nil)
	assert.Equal(t, 405, a.status)

	a = call(t, s, tok, "PUT", tpvtest.PathDigitalSend+"/00000000000", "", nil)
	assert.Equal(t, 405, a.status)
	assert.Equal(t, "GET, POST", a.header.Get("Allow"))
}

func TestDigitalSendAndQueueCall(t *testing.T) {
	s := setup(t)
	tok := login(t, s, time.Now())
	a := call(t, s, tok, "POST", tpvtest.PathTPV, "", []byte(seedExample))
	require.Equal(t, 200, a.status)
	code := a.body["success"].(string)

	a = call(t, s, tok, "POST", tpvtest.PathDigitalSend+"/"+code, "", nil)
	assert.Equal(t, 200, a.status, a.raw)
	assert.Equal(t, "digital link sent.", a.body["success"])
	a = call(t, s, tok, "POST", tpvtest.PathQueueCall+"/"+code, "", nil)
	assert.Equal(t, 200, a.status, a.raw)
	assert.Equal(t, "call queued.", a.body["success"])

	for _, p := range []string{tpvtest.PathDigitalSend, tpvtest.PathQueueCall} {
		a = call(t, s, tok, "POST", p+"/90894407", "", nil) // leading zeros matter
		assert.Equal(t, 400, a.status)
		assert.Equal(t, "confirmation code not found.", a.body["error"])
	}
	assert.Equal(t, []string{code}, s.DigitalSends())
	assert.Equal(t, []string{code}, s.QueuedCalls())

	a = call(t, s, tok, "POST", "/api/v1/nothing", "", nil)
	assert.Equal(t, 404, a.status)
}

func TestDropAfterStoresSubmission(t *testing.T) {
	s := setup(t)
	tok := login(t, s, time.Now())
	s.Inject(1, fake.DropAfter().On("POST", tpvtest.PathTPV))

	req, err := http.NewRequest("POST", s.URL()+tpvtest.PathTPV, strings.NewReader(seedExample))
	require.NoError(t, err)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", tok)
	req.Header.Set("Signature", sign(s.AppSecret(), seedExample))
	_, err = (&http.Client{Transport: &http.Transport{}}).Do(req)
	require.Error(t, err)

	assert.Len(t, s.Submissions(), 1)
	assert.Equal(t, 1, s.Count("POST", tpvtest.PathTPV))
	reqs := s.Requests()
	require.Len(t, reqs, 2)
	assert.Equal(t, "drop-after", reqs[1].Fault)
	assert.Equal(t, []string{tok}, reqs[1].RawHeader("Authorization"))
}

func TestStatusFault(t *testing.T) {
	s := setup(t)
	s.Inject(1, fake.Status(503, "").WithRetryAfter("1").On("POST", tpvtest.PathAuth))
	a := do(t, "POST", s.URL()+tpvtest.PathAuth, nil, nil)
	assert.Equal(t, 503, a.status)
	assert.Equal(t, "1", a.header.Get("Retry-After"))
	login(t, s, time.Now())
}

func TestConcurrentLogins(t *testing.T) {
	s := setup(t)
	var wg sync.WaitGroup
	for range 20 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			ts := strconv.FormatInt(time.Now().Unix(), 10)
			u := s.URL() + "/api/v1/auth?" + url.Values{"token": {s.AppToken()}, "timestamp": {ts}, "_signature": {sign(s.AppSecret(), "token="+s.AppToken()+"&timestamp="+ts)}}.Encode()
			resp, err := http.Post(u, "", nil)
			if assert.NoError(t, err) {
				resp.Body.Close()
				assert.Equal(t, 200, resp.StatusCode)
			}
		}()
	}
	wg.Wait()
	assert.Equal(t, 20, s.Logins())
	assert.Equal(t, 1, s.AuthTokens(), "each login replaced the one before")
}

func TestTLS(t *testing.T) {
	s := setup(t, tpvtest.WithTLS(&tls.Config{MinVersion: tls.VersionTLS12}))
	require.True(t, strings.HasPrefix(s.URL(), "https://"))
	ts := strconv.FormatInt(time.Now().Unix(), 10)
	resp, err := s.Client().Post(loginURL(s.URL(), s.AppToken(), ts, sign(s.AppSecret(), "token="+s.AppToken()+"&timestamp="+ts)), "", nil)
	require.NoError(t, err)
	resp.Body.Close()
	assert.Equal(t, 200, resp.StatusCode)
}

package saltedge_test

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/saltedge"
)

type seedRequest struct {
	method, path string
	jwt          string
	header       map[string]any
	claims       map[string]json.RawMessage
}

// seedRequests reads the sample requests of the seed (testdata/seed_requests.txt) and
// decodes each JWT without verifying it (Salt Edge's signing key is not public).
func seedRequests(t testing.TB) map[string]seedRequest {
	t.Helper()
	f, err := os.Open("testdata/seed_requests.txt")
	require.NoError(t, err)
	defer f.Close()
	out := map[string]seedRequest{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 64<<10)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		parts := strings.Fields(line)
		require.Len(t, parts, 3, line)
		segs := strings.Split(parts[2], ".")
		require.Len(t, segs, 3)
		r := seedRequest{method: parts[0], path: parts[1], jwt: parts[2]}
		for i, dst := range []any{&r.header, &r.claims} {
			raw, err := base64.RawURLEncoding.DecodeString(segs[i])
			require.NoError(t, err)
			require.NoError(t, json.Unmarshal(raw, dst))
		}
		out[r.method+" "+r.path] = r
	}
	require.NoError(t, sc.Err())
	return out
}

func seedData(t *testing.T, reqs map[string]seedRequest, key string, dst any) {
	t.Helper()
	r, ok := reqs[key]
	require.True(t, ok, "seed has no %s", key)
	assert.Equal(t, "RS256", r.header["alg"])
	assert.JSONEq(t, `"priora.saltedge.com"`, string(r.claims["iss"]))
	require.NotEmpty(t, r.claims["exp"])
	require.NoError(t, json.Unmarshal(r.claims["data"], dst), key)
}

// Every sample JWT payload of the seed decodes into its typed request.
func TestSeedPayloadsParse(t *testing.T) {
	reqs := seedRequests(t)
	require.Len(t, reqs, 17)
	const p = "/api/priora/v1/"

	var create saltedge.CreateTokenRequest
	seedData(t, reqs, "POST "+p+"tokens/create", &create)
	assert.Equal(t, "b7k-QxC3vdA-M48pexiS", create.SessionSecret)
	assert.Equal(t, "demobank", create.ProviderCode)
	assert.Equal(t, "Example Name", create.AppName)
	assert.True(t, strings.HasPrefix(create.OriginalRequest.ClientJWT, "Bearer eyJ"))
	cp := create.OriginalRequest.ClientPayload
	assert.Equal(t, int64(1574093210), cp.Exp)
	assert.Equal(t, []string{saltedge.ScopeAccounts, saltedge.ScopeTransactions, saltedge.ScopeKYC,
		saltedge.ScopePayments, saltedge.ScopeFundsAvailability, saltedge.ScopeTrustedBeneficiaries}, cp.Data.Scopes)
	assert.Equal(t, 90, cp.Data.ConsentPeriodDays)
	assert.Equal(t, "oauth", cp.Data.Credentials.AuthorizationType())
	assert.Equal(t, "https://user.will.be/redirected/here", cp.Data.RedirectURL)
	assert.Equal(t, "demobank", cp.Data.ProviderCode)

	var revoke saltedge.RevokeTokenRequest
	seedData(t, reqs, "POST "+p+"tokens/revoke", &revoke)
	assert.Equal(t, "h29c941PQ4_k6_6Pn-o5", revoke.SessionSecret)
	assert.Equal(t, "demobank", revoke.ProviderCode)

	var reconnect saltedge.ReconnectTokenRequest
	seedData(t, reqs, "POST "+p+"tokens/reconnect", &reconnect)
	assert.Equal(t, "yU9W6-Bu9tzYN2GXiErF", reconnect.SessionSecret)

	var confirm saltedge.ConfirmTokenRequest
	seedData(t, reqs, "POST "+p+"tokens/confirm", &confirm)
	assert.Equal(t, "sc_fKtTtoHc9HkJstyfw", confirm.SessionSecret)
	assert.Equal(t, "4896", confirm.OriginalRequest.ClientPayload.Data.Credentials.Get("sms_pincode"))
	assert.Equal(t, int64(1574093209), confirm.OriginalRequest.ClientPayload.Exp)

	var cancel saltedge.CancelTokenRequest
	seedData(t, reqs, "POST "+p+"tokens/cancel", &cancel)
	assert.Equal(t, "g4fy_W4xyc6TRKsYSAMt", cancel.SessionSecret)

	var accounts saltedge.AccountsRequest
	seedData(t, reqs, "GET "+p+"accounts", &accounts)
	assert.Equal(t, "cziaTXgBaCYerEHDvWE9", accounts.SessionSecret)

	var refresh saltedge.RefreshAccountsRequest
	seedData(t, reqs, "PUT "+p+"accounts", &refresh)
	assert.Equal(t, "xdsPsLw_eRL6NJ8m23Ge", refresh.SessionSecret)
	assert.Equal(t, saltedge.Date(2019, time.August, 18), refresh.FromDate)
	assert.Equal(t, saltedge.Date(2019, time.November, 18), refresh.ToDate)
	assert.Equal(t, "https://user.will.be/redirected/here", refresh.RedirectURL)

	var confirmAccounts saltedge.ConfirmAccountsRequest
	seedData(t, reqs, "POST "+p+"accounts/confirm", &confirmAccounts)
	assert.Equal(t, "xkeTNwR3GHH3cHcq3UCt", confirmAccounts.SessionSecret)
	assert.Equal(t, "4568", confirmAccounts.OriginalRequest.ClientPayload.Data.Credentials.Get("sms_pincode"))

	var txs saltedge.TransactionsRequest
	seedData(t, reqs, "GET "+p+"transactions", &txs)
	assert.Equal(t, "87", txs.AccountID)
	assert.False(t, txs.FromDate.DateOnly)
	assert.Equal(t, time.Date(2019, 11, 18, 16, 4, 49, 585e6, time.UTC), txs.FromDate.UTC())
	assert.Equal(t, time.Date(2019, 11, 18, 16, 4, 49, 585e6, time.UTC), txs.ToDate.UTC())

	var kyc saltedge.KYCRequest
	seedData(t, reqs, "GET "+p+"kyc", &kyc)
	assert.Equal(t, "yPsetCyP7cGznvb9SDFC", kyc.SessionSecret)

	var report saltedge.ErrorReport
	seedData(t, reqs, "POST "+p+"errors", &report)
	assert.Equal(t, "delete", report.Request.Method)
	assert.Equal(t, "https://user.will.be/redirected/here", report.Request.URL)
	assert.Equal(t, saltedge.ClassInternalProviderError, report.Error.ErrorClass)
	assert.Equal(t, "something went wrong", report.Error.ErrorMessage)
}

// The seed's callback samples decode into the callback payload types, and the types
// encode back to the same JSON.
func TestSeedCallbackPayloadsRoundTrip(t *testing.T) {
	reqs := seedRequests(t)
	const p = "/api/connectors/v1/"
	cases := []struct {
		key string
		dst any
	}{
		{"POST " + p + "sessions/success", &saltedge.SessionSuccess{}},
		{"POST " + p + "sessions/update", &saltedge.SessionUpdate{}},
		{"POST " + p + "sessions/fail", &saltedge.SessionFail{}},
	}
	for _, tc := range cases {
		seedData(t, reqs, tc.key, tc.dst)
		out, err := json.Marshal(tc.dst)
		require.NoError(t, err)
		assert.JSONEq(t, string(reqs[tc.key].claims["data"]), string(out), tc.key)
	}
	var up saltedge.SessionUpdate
	seedData(t, reqs, "POST "+p+"sessions/update", &up)
	assert.Equal(t, saltedge.SessionRedirect, up.Status)
	assert.Equal(t, "https://user.will.be/redirected/here", up.Extra["redirect_url"])
	assert.Equal(t, time.Date(2020, 3, 5, 16, 44, 19, 977e6, time.UTC), up.SessionExpiresAt)
}

// The seed's sample answers decode into the typed answers.
func TestSeedAnswersDecode(t *testing.T) {
	var accounts struct {
		Data []saltedge.Account `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"data":[{"id":"724","name":"Example Name","iban":"FK54RAND61068421435452","currency_code":"USD","extra":{},"number":"619656558","sort_code":"82-78-66","swift_code":"TBNFFR23PAR","nature":"credit","payment_account":false,"balance":"5000.00","available_amount":"4995.00","credit_limit":"7000","status":"active"}]}`), &accounts))
	require.Len(t, accounts.Data, 1)
	assert.Equal(t, testAccounts[0], accounts.Data[0])

	var txs struct {
		Data []saltedge.Transaction `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"data":[{"id":"378","account_id":"241","amount":"38.85","currency_code":"GBP","description":"Test transaction","made_on":"2019-11-18T16:04:49.573Z","status":"posted","fees":[{}],"extra":{"mcc":"example_data.extra.mcc","original_amount":"38.85","original_currency_code":"GBP"}}]}`), &txs))
	require.Len(t, txs.Data, 1)
	assert.Equal(t, saltedge.Amount("38.85"), txs.Data[0].Amount)
	assert.Equal(t, saltedge.TransactionPosted, txs.Data[0].Status)
	assert.Equal(t, []saltedge.Fee{{}}, txs.Data[0].Fees)

	var kyc struct {
		Data saltedge.KYC `json:"data"`
	}
	require.NoError(t, json.Unmarshal([]byte(`{"data":{"name":"Example Name"}}`), &kyc))
	assert.Equal(t, "Example Name", kyc.Data.Name)
}

func TestAmountAcceptsStringsAndNumbers(t *testing.T) {
	var acc saltedge.Account
	require.NoError(t, json.Unmarshal([]byte(`{"balance":5000.5,"available_amount":"4995.00","credit_limit":null}`), &acc))
	assert.Equal(t, saltedge.Amount("5000.5"), acc.Balance)
	assert.Equal(t, saltedge.Amount("4995.00"), acc.AvailableAmount)
	assert.True(t, acc.CreditLimit.IsZero())
	f, err := acc.Balance.Float64()
	require.NoError(t, err)
	assert.InDelta(t, 5000.5, f, 1e-9)
	r, err := saltedge.Amount("0.10").Rat()
	require.NoError(t, err)
	assert.Equal(t, "1/10", r.String())

	out, err := json.Marshal(saltedge.Fee{Amount: "1.50"})
	require.NoError(t, err)
	assert.JSONEq(t, `{"amount":"1.50"}`, string(out), "amounts encode as strings, as in the seed")

	for _, bad := range []string{`"12,50"`, `"abc"`, `true`, `{}`, `"1e99999"`, `"` + strings.Repeat("9", 80) + `"`} {
		var a saltedge.Amount
		assert.Error(t, json.Unmarshal([]byte(bad), &a), bad)
	}
	_, err = json.Marshal(saltedge.Account{Balance: "12,50"})
	assert.Error(t, err, "an invalid amount is not sent")
	assert.Equal(t, saltedge.Amount("12.30"), saltedge.AmountFromFloat(12.3, 2))

	var id saltedge.ID
	require.NoError(t, json.Unmarshal([]byte(`494`), &id))
	assert.Equal(t, saltedge.ID("494"), id)
	require.NoError(t, json.Unmarshal([]byte(`"p-1"`), &id))
	assert.Equal(t, saltedge.ID("p-1"), id)
}

func TestDateTimeForms(t *testing.T) {
	for in, want := range map[string]string{
		`"2019-08-18"`:                `"2019-08-18"`,
		`"18-08-2019"`:                `"2019-08-18"`,
		`"2019-11-18T16:04:49.585Z"`:  `"2019-11-18T16:04:49.585Z"`,
		`"2019-11-18T18:04:49+02:00"`: `"2019-11-18T16:04:49.000Z"`,
	} {
		var d saltedge.DateTime
		require.NoError(t, json.Unmarshal([]byte(in), &d), in)
		out, err := json.Marshal(d)
		require.NoError(t, err)
		assert.Equal(t, want, string(out), in)
	}
	var d saltedge.DateTime
	assert.Error(t, json.Unmarshal([]byte(`"yesterday"`), &d))
	assert.Error(t, json.Unmarshal([]byte(`12`), &d))
}

func TestCredentialsNeverPrintValues(t *testing.T) {
	c := saltedge.Credentials{"password": "hunter2", "login": "jane"}
	req := saltedge.ConfirmTokenRequest{}
	req.OriginalRequest.ClientPayload.Data.Credentials = c
	for _, s := range []string{fmtAll(c), fmtAll(req), fmtAll(&req)} {
		assert.NotContains(t, s, "hunter2")
		assert.NotContains(t, s, "jane")
	}
	assert.Contains(t, fmtAll(c), "login, password")
}

package saltedge_test

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk/saltedge"
)

// nopBank accepts everything and answers zero values, counting calls.
type nopBank struct {
	saltedge.UnimplementedConnector
	calls atomic.Int64
}

func (b *nopBank) CreateToken(context.Context, *saltedge.CreateTokenRequest) error {
	b.calls.Add(1)
	return nil
}

func (b *nopBank) ConfirmToken(context.Context, *saltedge.ConfirmTokenRequest) error {
	b.calls.Add(1)
	return nil
}

func (b *nopBank) ReconnectToken(context.Context, *saltedge.ReconnectTokenRequest) error {
	b.calls.Add(1)
	return nil
}

func (b *nopBank) RevokeToken(context.Context, *saltedge.RevokeTokenRequest) error {
	b.calls.Add(1)
	return nil
}

func (b *nopBank) CancelToken(context.Context, *saltedge.CancelTokenRequest) error {
	b.calls.Add(1)
	return nil
}

func (b *nopBank) Accounts(context.Context, *saltedge.AccountsRequest) ([]saltedge.Account, error) {
	b.calls.Add(1)
	return nil, nil
}

func (b *nopBank) Transactions(context.Context, *saltedge.TransactionsRequest) ([]saltedge.Transaction, error) {
	b.calls.Add(1)
	return nil, nil
}

func (b *nopBank) KYC(context.Context, *saltedge.KYCRequest) (*saltedge.KYC, error) {
	b.calls.Add(1)
	return nil, nil
}

func (b *nopBank) ReportError(context.Context, *saltedge.ErrorReport) error {
	b.calls.Add(1)
	return nil
}

func (b *nopBank) CheckFunds(context.Context, *saltedge.CheckFundsRequest) error {
	b.calls.Add(1)
	return nil
}

var fuzzEndpoints = []struct{ method, path string }{
	{"POST", "tokens/create"}, {"POST", "tokens/confirm"}, {"POST", "tokens/reconnect"},
	{"POST", "tokens/revoke"}, {"POST", "tokens/cancel"}, {"GET", "accounts"}, {"PUT", "accounts"},
	{"POST", "accounts/confirm"}, {"GET", "transactions"}, {"GET", "kyc"}, {"POST", "errors"},
	{"POST", "payments/create"}, {"POST", "payments/confirm"}, {"POST", "payments/cancel"},
	{"GET", "payments/show"}, {"POST", "payments/check_funds"}, {"GET", "nope"},
}

func fuzzHandler(f *testing.F) (http.Handler, *nopBank) {
	f.Helper()
	b := &nopBank{}
	h, err := saltedge.NewHandler(saltedge.HandlerConfig{Connector: b, PublicKey: &keys()[0].PublicKey,
		Issuer: saltedge.DefaultIssuer, MaxBodyBytes: 4096})
	if err != nil {
		f.Fatal(err)
	}
	return h, b
}

func checkAnswer(t *testing.T, rec *httptest.ResponseRecorder) map[string]any {
	t.Helper()
	var out map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &out); err != nil {
		t.Fatalf("answer is not a JSON object: %q", rec.Body.String())
	}
	if rec.Code != http.StatusOK {
		class, _ := out["error_class"].(string)
		msg, _ := out["error_message"].(string)
		if class == "" || msg == "" {
			t.Fatalf("error answer without class or message: %d %q", rec.Code, rec.Body.String())
		}
	}
	return out
}

// FuzzHandler drives the handler with arbitrary Authorization values, bodies and
// Client-Id values: it never panics, always answers JSON, and never calls the bank
// for a token that Salt Edge's key did not sign.
func FuzzHandler(f *testing.F) {
	h, b := fuzzHandler(f)
	k := keys()
	valid, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"data": map[string]any{"session_secret": "s"}, "exp": time.Now().Add(time.Minute).Unix(),
		"iss": saltedge.DefaultIssuer}).SignedString(k[0])
	if err != nil {
		f.Fatal(err)
	}
	for _, r := range seedRequests(f) {
		f.Add("Bearer "+r.jwt, []byte(nil), "771", uint8(0))
	}
	f.Add("Bearer "+valid, []byte(nil), "771", uint8(10))
	f.Add("Bearer "+valid, []byte(`{"data":{}}`), "771", uint8(3))
	f.Add("Bearer "+valid, bytes.Repeat([]byte("x"), 5000), "771", uint8(9))
	f.Add("bearer "+valid, []byte(nil), " 12 ", uint8(5))
	f.Add("Bearer eyJhbGciOiJub25lIn0.eyJkYXRhIjp7fX0.", []byte(nil), "1", uint8(0))
	f.Add("Bearer eyJhbGciOiJIUzI1NiJ9.e30.AAAA", []byte("{}"), "-1", uint8(2))
	f.Add("", []byte(nil), "", uint8(16))
	f.Add("Bearer ....", []byte(nil), "9999999999999999999999", uint8(7))

	pub := &k[0].PublicKey
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(),
		jwt.WithIssuer(saltedge.DefaultIssuer), jwt.WithLeeway(saltedge.DefaultLeeway))
	f.Fuzz(func(t *testing.T, authz string, body []byte, clientID string, ep uint8) {
		e := fuzzEndpoints[int(ep)%len(fuzzEndpoints)]
		req := httptest.NewRequest(e.method, "/api/priora/v1/"+e.path, bytes.NewReader(body))
		req.Header["Authorization"] = []string{authz}
		req.Header["Client-Id"] = []string{clientID}
		req.Header["Access-Token"] = []string{"tok"}
		before := b.calls.Load()
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		checkAnswer(t, rec)
		called := b.calls.Load() != before

		// An independent check: the scheme is case-insensitive, the token must verify.
		v := strings.TrimSpace(authz)
		tokOK := false
		if len(v) > 7 && strings.EqualFold(v[:7], "bearer ") {
			_, err := parser.Parse(strings.TrimSpace(v[7:]), func(*jwt.Token) (any, error) { return pub, nil })
			tokOK = err == nil
		}
		if called && !tokOK {
			t.Fatalf("bank called for an Authorization that does not verify: %q", authz)
		}
		if rec.Code == http.StatusOK && !called {
			t.Fatalf("200 without calling the bank")
		}
	})
}

// FuzzHandlerData signs arbitrary data claims correctly: decoding never panics and
// never answers 500; failures are 400 WrongRequestFormat.
func FuzzHandlerData(f *testing.F) {
	h, _ := fuzzHandler(f)
	key := keys()[0]
	for _, r := range seedRequests(f) {
		for i, e := range fuzzEndpoints {
			if "/api/priora/v1/"+e.path == r.path && e.method == r.method {
				f.Add([]byte(r.claims["data"]), uint8(i))
			}
		}
	}
	f.Add([]byte(`{"account_id":87,"from_date":"x"}`), uint8(8))
	f.Add([]byte(`{"amount":"1e400","session_secret":"s","account":"a"}`), uint8(15))
	f.Add([]byte(`{"original_request":{"client_payload":{"data":{"credentials":[1]}}}}`), uint8(0))
	f.Add([]byte(`[]`), uint8(5))
	f.Add([]byte(`"x"`), uint8(9))
	f.Add([]byte(`{"payment_id":{"a":1}}`), uint8(14))
	f.Fuzz(func(t *testing.T, data []byte, ep uint8) {
		if !json.Valid(data) {
			return
		}
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"data": json.RawMessage(data),
			"exp": time.Now().Add(time.Minute).Unix(), "iss": saltedge.DefaultIssuer}).SignedString(key)
		if err != nil {
			t.Fatal(err)
		}
		e := fuzzEndpoints[int(ep)%len(fuzzEndpoints)]
		req := httptest.NewRequest(e.method, "/api/priora/v1/"+e.path, nil)
		req.Header.Set("Authorization", "Bearer "+tok)
		req.Header.Set("Client-Id", "771")
		req.Header.Set("Access-Token", "tok")
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		out := checkAnswer(t, rec)
		switch rec.Code {
		case http.StatusOK, http.StatusNotAcceptable, http.StatusNotFound:
		case http.StatusBadRequest:
			if out["error_class"] != saltedge.ClassWrongRequestFormat {
				t.Fatalf("unexpected class %v", out["error_class"])
			}
		default:
			t.Fatalf("status %d for data %q: %s", rec.Code, data, rec.Body.String())
		}
	})
}

// FuzzDecodeError feeds arbitrary error bodies to the error decoder.
func FuzzDecodeError(f *testing.F) {
	f.Add([]byte(`{"error_class":"SessionClosed","error_message":"Session specified in request is already closed"}`), 400)
	f.Add([]byte(`{"error":{"class":"ProviderNotFound","message":"x"}}`), 404)
	f.Add([]byte(`{"error":"text"}`), 500)
	f.Add([]byte(`{"error_class":null,"error_message":12}`), 401)
	f.Add([]byte("\x00\xff{"), 418)
	f.Fuzz(func(t *testing.T, body []byte, status int) {
		err := saltedge.DecodeError(&http.Response{StatusCode: status}, body)
		var ae *saltedge.APIError
		if !errorsAs(err, &ae) {
			t.Fatalf("not an *APIError: %T", err)
		}
		// Clipped to 100 and 1,000 runes plus "…" (a rune is up to 4 bytes: invalid
		// UTF-8 in the body decodes to U+FFFD, 3 bytes each).
		if n, m := utf8.RuneCountInString(ae.Class), utf8.RuneCountInString(ae.Message); n > 101 || m > 1001 {
			t.Fatalf("unbounded fields: %d and %d runes", n, m)
		}
		for _, r := range ae.Class + ae.Message {
			if unicode.IsControl(r) {
				t.Fatalf("control character in %q", ae.Class+ae.Message)
			}
		}
		if n := utf8.RuneCountInString(err.Error()); n > 500 {
			t.Fatalf("Error() too long: %d runes", n)
		}
	})
}

func errorsAs(err error, target **saltedge.APIError) bool {
	ae, ok := err.(*saltedge.APIError) //nolint:errorlint // DecodeError returns the type itself
	*target = ae
	return ok
}

// FuzzAmount: whatever decodes re-encodes, and decodes back to the same value.
func FuzzAmount(f *testing.F) {
	for _, s := range []string{`"5000.00"`, `5000.5`, `"-1"`, `1e3`, `null`, `""`, `"+.5"`, `"1,5"`, `true`, `"1e99999"`} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var a saltedge.Amount
		if json.Unmarshal(b, &a) != nil {
			return
		}
		out, err := json.Marshal(a)
		if err != nil {
			t.Fatalf("decoded %q but cannot encode %q: %v", b, a, err)
		}
		var back saltedge.Amount
		if err := json.Unmarshal(out, &back); err != nil || back != a {
			t.Fatalf("round trip %q -> %q -> %q (%v)", a, out, back, err)
		}
		if !a.IsZero() {
			if _, err := a.Float64(); err != nil {
				t.Fatalf("%q decoded but does not convert: %v", a, err)
			}
			if _, err := a.Rat(); err != nil {
				t.Fatalf("%q decoded but has no exact value: %v", a, err)
			}
		}
		var d saltedge.DateTime
		if json.Unmarshal(b, &d) == nil {
			if _, err := json.Marshal(d); err != nil {
				t.Fatalf("date %q: %v", b, err)
			}
		}
	})
}

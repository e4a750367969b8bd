package tpv_test

import (
	"bytes"
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"testing"

	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/tpv"
)

// The benchmarks pair tpv's Products (as a GET) with its floor in the same run:
// impl=plain is net/http and encoding/json with the same headers (the auth token and
// a fresh HMAC-SHA256 Signature per request) and transport settings, decoding the
// "success" and "error" members as a careful caller would; impl=sdk is the client.
// Compare them with
//
//	go test -run '^$' -bench . -count 10 ./tpv/ | tee tpv.txt && benchstat -col /impl tpv.txt

const (
	benchAppToken  = "APbenchapptoken0123456789"
	benchAppSecret = "bench-app-secret-0123456789"
	benchAuthToken = "AUTHbenchauthtoken0123456789abcdef"
)

// benchProducts returns the products answer with n products.
func benchProducts(n int) []byte {
	var b bytes.Buffer
	b.WriteString(`{"success":[`)
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"program_code":"P%05d","name":"Fixed rate plan %d","rate":"0.%04d","term_months":%d,"utility":"Utility %d"}`,
			i, i, i%10000, 12+i%24, i%17)
	}
	b.WriteString(`]}`)
	return b.Bytes()
}

// benchEnv is a loopback portal (login, and GET api/v1/products for the auth token
// with the signature of the empty body) and the two ways of calling it.
type benchEnv struct {
	srv    *testkit.BenchServer
	plain  *http.Client
	client *tpv.Client
}

func newBenchEnv(b *testing.B, body []byte) *benchEnv {
	b.Helper()
	e := &benchEnv{}
	wantSig := signature("")
	e.srv = testkit.NewBenchServer(b, body, nil, func(w http.ResponseWriter, r *http.Request) bool {
		if r.URL.Path == "/api/v1/products" && r.Method == http.MethodGet &&
			r.Header.Get("Authorization") == benchAuthToken && r.Header.Get("Signature") == wantSig {
			return true
		}
		w.Header()["Content-Type"] = []string{"application/json"}
		if r.URL.Path == "/api/v1/auth" && r.Method == http.MethodPost {
			q := r.URL.Query()
			if q.Get("token") != benchAppToken ||
				q.Get("_signature") != tpv.LoginSignature(benchAppToken, benchAppSecret, mustInt(q.Get("timestamp"))) {
				w.WriteHeader(http.StatusBadRequest)
				return false
			}
			_, _ = io.WriteString(w, `{"auth_token":"`+benchAuthToken+`"}`)
			return false
		}
		w.WriteHeader(http.StatusBadRequest)
		_, _ = io.WriteString(w, `{"error":"invalid auth token."}`)
		return false
	})
	e.plain = &http.Client{Transport: testkit.NewTransport(b)}
	c, err := tpv.NewClient(tpv.WithBaseURL(e.srv.URL), tpv.WithCredentials(benchAppToken, benchAppSecret),
		tpv.WithEndpointMethod(tpv.EndpointProducts, http.MethodGet),
		tpv.WithHTTPClient(&http.Client{Transport: testkit.NewTransport(b)}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	// The client logs in on its first call, before the products request.
	testkit.CheckSameHeaders(b, e.srv, e.impls(), wholeSuccess(body))
	return e
}

func mustInt(s string) int64 {
	n, _ := strconv.ParseInt(s, 10, 64)
	return n
}

// signature is the request Signature: the lowercase hex HMAC-SHA256 of the raw body
// (or query), keyed by the application secret.
func signature(msg string) string {
	m := hmac.New(sha256.New, []byte(benchAppSecret))
	_, _ = io.WriteString(m, msg)
	return hex.EncodeToString(m.Sum(nil))
}

func (e *benchEnv) sdk(ctx context.Context) (json.RawMessage, error) {
	res, err := e.client.Products(ctx)
	return res.Success, err
}

// productsAnswer is the members of the portal's answer the client reads.
type productsAnswer struct {
	Success json.RawMessage `json:"success"`
	Error   *string         `json:"error"`
}

// plainProducts is the floor: the same request by hand (signed afresh), one decode
// of the members the client reads, the body drained.
func (e *benchEnv) plainProducts(ctx context.Context) (json.RawMessage, error) {
	out, err := testkit.GetJSON[productsAnswer](ctx, e.plain, e.srv.URL+"/api/v1/products", func(h http.Header) {
		h["Authorization"] = []string{benchAuthToken}
		h["Signature"] = []string{signature("")}
	})
	if err != nil {
		return nil, err
	}
	if out.Error != nil && out.Success == nil {
		return nil, fmt.Errorf("portal error %q", *out.Error)
	}
	return out.Success, nil
}

func (e *benchEnv) impls() []testkit.Impl[json.RawMessage] {
	return []testkit.Impl[json.RawMessage]{{Name: "plain", Call: e.plainProducts}, {Name: "sdk", Call: e.sdk}}
}

// wholeSuccess checks that the "success" member read is about the whole body.
func wholeSuccess(body []byte) func(json.RawMessage) error {
	return func(s json.RawMessage) error {
		if len(s) < len(body)-20 {
			return fmt.Errorf("success of %d bytes in a body of %d", len(s), len(body))
		}
		return nil
	}
}

func benchProductsGET(b *testing.B, n int) {
	body := benchProducts(n)
	e := newBenchEnv(b, body)
	testkit.RunImpls(b, e.impls(), len(body), wholeSuccess(body))
}

// BenchmarkProductsSmall is a GET of a small answer: two products.
func BenchmarkProductsSmall(b *testing.B) { benchProductsGET(b, 2) }

// BenchmarkProducts100KB is a GET of a ~100 KB answer: 900 products.
func BenchmarkProducts100KB(b *testing.B) { benchProductsGET(b, 900) }

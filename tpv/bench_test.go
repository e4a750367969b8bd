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
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"sync"
	"testing"

	"github.com/banksdk/banksdk"
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
	srv    *httptest.Server
	plain  *http.Client
	client *tpv.Client
	mu     sync.Mutex
	seen   []http.Header // the headers of the first products requests
}

func newBenchEnv(b *testing.B, body []byte) *benchEnv {
	b.Helper()
	e := &benchEnv{}
	length := strconv.Itoa(len(body))
	wantSig := signature("")
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		switch {
		case r.URL.Path == "/api/v1/auth" && r.Method == http.MethodPost:
			q := r.URL.Query()
			if q.Get("token") != benchAppToken ||
				q.Get("_signature") != tpv.LoginSignature(benchAppToken, benchAppSecret, mustInt(q.Get("timestamp"))) {
				w.WriteHeader(http.StatusBadRequest)
				return
			}
			_, _ = io.WriteString(w, `{"auth_token":"`+benchAuthToken+`"}`)
		case r.URL.Path == "/api/v1/products" && r.Method == http.MethodGet &&
			r.Header.Get("Authorization") == benchAuthToken && r.Header.Get("Signature") == wantSig:
			e.mu.Lock()
			if len(e.seen) < 2 {
				e.seen = append(e.seen, r.Header.Clone())
			}
			e.mu.Unlock()
			h["Content-Length"] = []string{length}
			_, _ = w.Write(body)
		default:
			w.WriteHeader(http.StatusBadRequest)
			_, _ = io.WriteString(w, `{"error":"invalid auth token."}`)
		}
	}))
	b.Cleanup(e.srv.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	e.plain = &http.Client{Transport: tr}
	c, err := tpv.NewClient(tpv.WithBaseURL(e.srv.URL), tpv.WithCredentials(benchAppToken, benchAppSecret),
		tpv.WithEndpointMethod(tpv.EndpointProducts, http.MethodGet),
		tpv.WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	ctx := context.Background()
	if _, err := e.sdk(ctx); err != nil { // logs in
		b.Fatal(err)
	}
	if _, err := e.plainProducts(ctx); err != nil {
		b.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) != 2 || !maps.EqualFunc(e.seen[0], e.seen[1], slices.Equal) {
		b.Fatalf("the baseline sends other headers than the client: %v", e.seen)
	}
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

// plainProducts is the floor: the same request by hand (signed afresh), one decode
// of the members the client reads, the body drained.
func (e *benchEnv) plainProducts(ctx context.Context) (json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/v1/products", nil)
	if err != nil {
		return nil, err
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{"banksdk-go/" + banksdk.Version}
	req.Header["Authorization"] = []string{benchAuthToken}
	req.Header["Signature"] = []string{signature("")}
	resp, err := e.plain.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out struct {
		Success json.RawMessage `json:"success"`
		Error   *string         `json:"error"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	if out.Error != nil && out.Success == nil {
		return nil, fmt.Errorf("portal error %q", *out.Error)
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return out.Success, err
}

func benchProductsGET(b *testing.B, n int) {
	body := benchProducts(n)
	e := newBenchEnv(b, body)
	for _, impl := range []struct {
		name string
		get  func(context.Context) (json.RawMessage, error)
	}{{"impl=plain", e.plainProducts}, {"impl=sdk", e.sdk}} {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				s, err := impl.get(ctx)
				if err != nil || len(s) < len(body)-20 {
					b.Fatal(len(s), err)
				}
			}
		})
	}
}

// BenchmarkProductsSmall is a GET of a small answer: two products.
func BenchmarkProductsSmall(b *testing.B) { benchProductsGET(b, 2) }

// BenchmarkProducts100KB is a GET of a ~100 KB answer: 900 products.
func BenchmarkProducts100KB(b *testing.B) { benchProductsGET(b, 900) }

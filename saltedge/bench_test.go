package saltedge

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk"
)

// The benchmarks pair Salt Edge's two credential paths with their floors in the same
// run:
//
//   - a callback-side GET, Tokens.Index: impl=plain is net/http and encoding/json
//     with the same headers (App-Id, App-Secret and a fresh RS256 JWT from
//     golang-jwt's SignedString for every request) and transport settings; impl=sdk
//     is the client;
//   - the handler's verification of Salt Edge's JWT: impl=golang-jwt is golang-jwt's
//     Parse with the same options (RS256 only, exp required, iat checked, the same
//     leeway, the same maximum lifetime); impl=sdk is the handler's check of the
//     Authorization header.
//
// Compare them with
//
//	go test -run '^$' -bench . -count 10 ./saltedge/ | tee saltedge.txt && benchstat -col /impl saltedge.txt

const (
	benchAppID     = "bench-app-id"
	benchAppSecret = "bench-app-secret-0123456789"
)

const benchTokensBody = `{"data":{"tokens":[` +
	`{"id":"1001","access_token":"AT-1001","status":"active","provider_code":"demobank_xf","expires_at":"2026-12-01T00:00:00Z"},` +
	`{"id":"1002","access_token":"AT-1002","status":"active","provider_code":"demobank_xf","expires_at":"2026-12-02T00:00:00Z"}]},` +
	`"meta":{"time":"2026-01-01T00:00:00Z","next_id":null}}`

var benchKey = sync.OnceValue(func() *rsa.PrivateKey {
	k, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		panic(err)
	}
	return k
})

type benchEnv struct {
	srv    *httptest.Server
	plain  *http.Client
	client *Client
	mu     sync.Mutex
	seen   []http.Header // the headers of the first requests
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	key := benchKey()
	e := &benchEnv{}
	body := []byte(benchTokensBody)
	length := strconv.Itoa(len(body))
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return &key.PublicKey, nil }
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || r.Header.Get("App-Id") != benchAppID || r.Header.Get("App-Secret") != benchAppSecret ||
			r.URL.Path != "/api/connectors/v1/tokens/index" {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		if _, err := parser.Parse(tok, keyFunc); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		e.mu.Lock()
		if len(e.seen) < 2 {
			e.seen = append(e.seen, r.Header.Clone())
		}
		e.mu.Unlock()
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	}))
	b.Cleanup(e.srv.Close)
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	e.plain = &http.Client{Transport: tr}
	c, err := NewClient(WithBaseURL(e.srv.URL), WithAppID(benchAppID), WithAppSecret(benchAppSecret), WithPrivateKey(key),
		WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	ctx := context.Background()
	if err := e.sdk(ctx); err != nil {
		b.Fatal(err)
	}
	if err := e.plainIndex(ctx); err != nil {
		b.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) != 2 || !sameHeaders(e.seen[0], e.seen[1]) {
		b.Fatalf("the baseline sends other headers than the client: %v", e.seen)
	}
	return e
}

// sameHeaders compares two requests' headers, but for the JWTs, fresh for every
// request.
func sameHeaders(a, b http.Header) bool {
	a, b = a.Clone(), b.Clone()
	if len(a["Authorization"]) != 1 || len(b["Authorization"]) != 1 {
		return false
	}
	delete(a, "Authorization")
	delete(b, "Authorization")
	return maps.EqualFunc(a, b, slices.Equal)
}

func (e *benchEnv) sdk(ctx context.Context) error {
	p, err := e.client.Tokens.Index(ctx, TokensQuery{})
	if err == nil && len(p.Tokens) != 2 {
		err = fmt.Errorf("%d tokens", len(p.Tokens))
	}
	return err
}

// plainIndex is the floor: the same request by hand with a JWT of the same claims
// from golang-jwt, one decode, the body drained.
func (e *benchEnv) plainIndex(ctx context.Context) error {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"data": json.RawMessage(`{}`),
		"exp":  time.Now().Add(DefaultTokenTTL).Unix(),
	}).SignedString(benchKey())
	if err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/connectors/v1/tokens/index", nil)
	if err != nil {
		return err
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{"banksdk-go/" + banksdk.Version}
	req.Header["App-Id"] = []string{benchAppID}
	req.Header["App-Secret"] = []string{benchAppSecret}
	req.Header["Authorization"] = []string{"Bearer " + tok}
	resp, err := e.plain.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	var out struct {
		Data struct {
			Tokens []json.RawMessage `json:"tokens"`
		} `json:"data"`
		Meta Meta `json:"meta"`
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return err
	}
	if len(out.Data.Tokens) != 2 {
		return fmt.Errorf("%d tokens", len(out.Data.Tokens))
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

// BenchmarkTokensIndex is a callback-side GET of a small answer, with a JWT minted
// for the request.
func BenchmarkTokensIndex(b *testing.B) {
	e := newBenchEnv(b)
	for _, impl := range []struct {
		name string
		get  func(context.Context) error
	}{{"impl=plain", e.plainIndex}, {"impl=sdk", e.sdk}} {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				if err := impl.get(ctx); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// benchConnector stands in for a connector; verification never calls it.
type benchConnector struct{ Connector }

// BenchmarkVerify is the handler's check of a request's "Authorization: Bearer
// <JWT>" signed by Salt Edge, against golang-jwt's Parse with the same options.
func BenchmarkVerify(b *testing.B) {
	key := benchKey()
	hh, err := NewHandler(HandlerConfig{Connector: benchConnector{}, PublicKey: &key.PublicKey})
	if err != nil {
		b.Fatal(err)
	}
	h := hh.(*handler)
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"data": map[string]any{"provider_code": "demobank_xf", "session_secret": "ss-0123456789", "customer_id": 42},
		"exp":  now.Add(time.Minute).Unix(),
		"iat":  now.Unix(),
	}).SignedString(key)
	if err != nil {
		b.Fatal(err)
	}
	header := []string{"Bearer " + tok}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(), jwt.WithIssuedAt(),
		jwt.WithLeeway(DefaultLeeway))
	keyFunc := func(*jwt.Token) (any, error) { return &key.PublicKey, nil }
	ctx := context.Background()
	b.Run("impl=golang-jwt", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			raw, ok := strings.CutPrefix(header[0], "Bearer ")
			if !ok {
				b.Fatal("no bearer token")
			}
			var c dataClaims
			if _, err := parser.ParseWithClaims(raw, &c, keyFunc); err != nil {
				b.Fatal(err)
			}
			exp, err := c.GetExpirationTime()
			if err != nil || exp == nil || exp.After(time.Now().Add(DefaultMaxLifetime+DefaultLeeway)) || len(c.Data) == 0 {
				b.Fatal("lifetime", err)
			}
		}
	})
	b.Run("impl=sdk", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			c, cerr := h.authenticate(ctx, header)
			if cerr != nil || len(c.Data) == 0 {
				b.Fatal(cerr)
			}
		}
	})
}

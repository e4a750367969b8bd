package saltedge

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk/internal/testkit"
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
	srv    *testkit.BenchServer
	plain  *http.Client
	client *Client
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	key := benchKey()
	e := &benchEnv{}
	parser := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired())
	keyFunc := func(*jwt.Token) (any, error) { return &key.PublicKey, nil }
	e.srv = testkit.NewBenchServer(b, []byte(benchTokensBody), nil, func(w http.ResponseWriter, r *http.Request) bool {
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if !ok || r.Header.Get("App-Id") != benchAppID || r.Header.Get("App-Secret") != benchAppSecret ||
			r.URL.Path != "/api/connectors/v1/tokens/index" {
			w.WriteHeader(http.StatusUnauthorized)
			return false
		}
		if _, err := parser.Parse(tok, keyFunc); err != nil {
			w.WriteHeader(http.StatusUnauthorized)
			return false
		}
		return true
	})
	e.plain = &http.Client{Transport: testkit.NewTransport(b)}
	c, err := NewClient(WithBaseURL(e.srv.URL), WithAppID(benchAppID), WithAppSecret(benchAppSecret), WithPrivateKey(key),
		WithHTTPClient(&http.Client{Transport: testkit.NewTransport(b)}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	// The JWTs are fresh for every request.
	testkit.CheckSameHeaders(b, e.srv, e.impls(), twoTokens, "Authorization")
	return e
}

func (e *benchEnv) sdk(ctx context.Context) ([]json.RawMessage, error) {
	p, err := e.client.Tokens.Index(ctx, TokensQuery{})
	if err != nil {
		return nil, err
	}
	return p.Tokens, nil
}

// tokensAnswer is the answer of tokens/index.
type tokensAnswer struct {
	Data struct {
		Tokens []json.RawMessage `json:"tokens"`
	} `json:"data"`
	Meta Meta `json:"meta"`
}

// plainIndex is the floor: the same request by hand with a JWT of the same claims
// from golang-jwt, one decode, the body drained.
func (e *benchEnv) plainIndex(ctx context.Context) ([]json.RawMessage, error) {
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{
		"data": json.RawMessage(`{}`),
		"exp":  time.Now().Add(DefaultTokenTTL).Unix(),
	}).SignedString(benchKey())
	if err != nil {
		return nil, err
	}
	out, err := testkit.GetJSON[tokensAnswer](ctx, e.plain, e.srv.URL+"/api/connectors/v1/tokens/index", func(h http.Header) {
		h["App-Id"] = []string{benchAppID}
		h["App-Secret"] = []string{benchAppSecret}
		h["Authorization"] = []string{"Bearer " + tok}
	})
	return out.Data.Tokens, err
}

func (e *benchEnv) impls() []testkit.Impl[[]json.RawMessage] {
	return []testkit.Impl[[]json.RawMessage]{{Name: "plain", Call: e.plainIndex}, {Name: "sdk", Call: e.sdk}}
}

// twoTokens checks the number of tokens listed.
func twoTokens(tokens []json.RawMessage) error {
	if len(tokens) != 2 {
		return fmt.Errorf("%d tokens, want 2", len(tokens))
	}
	return nil
}

// BenchmarkTokensIndex is a callback-side GET of a small answer, with a JWT minted
// for the request.
func BenchmarkTokensIndex(b *testing.B) {
	e := newBenchEnv(b)
	testkit.RunImpls(b, e.impls(), 0, twoTokens)
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

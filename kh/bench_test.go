package kh_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
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
	"time"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// The benchmark pairs kh's Accounts.List with its floor in the same run: impl=plain
// is net/http and encoding/json with the same mutual TLS configuration (client
// certificate, roots, TLS 1.2 at least), the same headers (the consent's bearer
// token, Consent-ID, a fresh X-Request-ID) and transport settings, decoding into the
// same types; impl=sdk is the client. Compare them with
//
//	go test -run '^$' -bench . -count 10 ./kh/ | tee kh.txt && benchstat -col /impl kh.txt

const (
	benchConsentID    = "consent-bench-1"
	benchConsentToken = "eyJhbGciOiJub25lIn0.eyJzdWIiOiJiZW5jaCJ9.c2lnbmF0dXJl" // a JWT, as the bank issues
)

const benchAccountsBody = `{"accounts":[` +
	`{"resourceId":"acc-1","iban":"FI2112345600000785","currency":"EUR","name":"Main","product":"Current account","cashAccountType":"CACC","status":"enabled","usage":"PRIV","_links":{"balances":{"href":"/v1/accounts/acc-1/balances"},"transactions":{"href":"/v1/accounts/acc-1/transactions"}}},` +
	`{"resourceId":"acc-2","iban":"FI5542345670000081","currency":"EUR","name":"Savings","product":"Savings account","cashAccountType":"SVGS","status":"enabled","usage":"PRIV","_links":{"balances":{"href":"/v1/accounts/acc-2/balances"}}}]}`

type benchEnv struct {
	srv    *httptest.Server
	plain  *http.Client
	client *kh.Client
	mu     sync.Mutex
	seen   []http.Header // the headers of the first requests
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	// The fake bank's PKI gives the client certificate.
	pki := khtest.NewServer()
	cert := pki.ClientCertificate()
	pki.Close()
	leaf, err := x509.ParseCertificate(cert.Certificate[0])
	if err != nil {
		b.Fatal(err)
	}
	e := &benchEnv{}
	body := []byte(benchAccountsBody)
	length := strconv.Itoa(len(body))
	e.srv = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !r.TLS.PeerCertificates[0].Equal(leaf) ||
			r.Header.Get("Authorization") != "Bearer "+benchConsentToken || r.Header.Get("Consent-ID") != benchConsentID ||
			r.Header.Get("X-Request-ID") == "" || r.URL.Path != "/v1/accounts" {
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
		h["X-Request-ID"] = r.Header["X-Request-ID"]
		_, _ = w.Write(body)
	}))
	e.srv.TLS = &tls.Config{ClientAuth: tls.RequireAnyClientCert}
	e.srv.StartTLS()
	b.Cleanup(e.srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(e.srv.Certificate())

	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: roots}
	b.Cleanup(tr.CloseIdleConnections)
	e.plain = &http.Client{Transport: tr}

	c, err := kh.NewClient(kh.WithBaseURL(e.srv.URL), kh.WithClientCertificate(cert), kh.WithRootCAs(roots),
		kh.WithConsentTokenSource(auth.KeyedSourceFunc(func(_ context.Context, id string) (auth.Token, error) {
			if id != benchConsentID {
				return auth.Token{}, fmt.Errorf("unknown consent %q", id)
			}
			return auth.Token{Value: benchConsentToken, Expiry: time.Now().Add(time.Hour)}, nil
		})))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	if err := c.Consents.Track(benchConsentID, kh.TokenPSUIdentification); err != nil {
		b.Fatal(err)
	}
	e.client = c
	ctx := context.Background()
	if _, err := e.sdk(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := e.plainList(ctx); err != nil {
		b.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) != 2 || !sameHeaders(e.seen[0], e.seen[1]) {
		b.Fatalf("the baseline sends other headers than the client: %v", e.seen)
	}
	return e
}

// sameHeaders compares two requests' headers, but for the values of X-Request-ID,
// which are fresh for every request.
func sameHeaders(a, b http.Header) bool {
	a, b = a.Clone(), b.Clone()
	if len(a["X-Request-Id"]) != 1 || len(b["X-Request-Id"]) != 1 {
		return false
	}
	delete(a, "X-Request-Id")
	delete(b, "X-Request-Id")
	return maps.EqualFunc(a, b, slices.Equal)
}

func (e *benchEnv) sdk(ctx context.Context) (int, error) {
	l, err := e.client.Accounts.List(ctx, benchConsentID)
	if err != nil {
		return 0, err
	}
	return len(l.Accounts), nil
}

// plainList is the floor: the same request by hand (with a fresh request id), one
// decode into the client's own types, the body drained.
func (e *benchEnv) plainList(ctx context.Context) (int, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/v1/accounts", nil)
	if err != nil {
		return 0, err
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{"banksdk-go/" + banksdk.Version}
	req.Header["X-Request-ID"] = []string{newRequestID()}
	req.Header["Consent-ID"] = []string{benchConsentID}
	req.Header["Authorization"] = []string{"Bearer " + benchConsentToken}
	resp, err := e.plain.Do(req)
	if err != nil {
		return 0, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return 0, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out kh.AccountList
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return len(out.Accounts), err
}

// BenchmarkAccountsList is a GET of a small JSON answer (two accounts) over mutual
// TLS.
func BenchmarkAccountsList(b *testing.B) {
	e := newBenchEnv(b)
	for _, impl := range []struct {
		name string
		list func(context.Context) (int, error)
	}{{"impl=plain", e.plainList}, {"impl=sdk", e.sdk}} {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				n, err := impl.list(ctx)
				if err != nil || n != 2 {
					b.Fatal(n, err)
				}
			}
		})
	}
}

// newRequestID returns a random UUID version 4, as a careful caller makes one.
func newRequestID() string {
	var b [16]byte
	_, _ = rand.Read(b[:])
	b[6] = b[6]&0x0f | 0x40
	b[8] = b[8]&0x3f | 0x80
	var s [36]byte
	hex.Encode(s[0:8], b[0:4])
	s[8] = '-'
	hex.Encode(s[9:13], b[4:6])
	s[13] = '-'
	hex.Encode(s[14:18], b[6:8])
	s[18] = '-'
	hex.Encode(s[19:23], b[8:10])
	s[23] = '-'
	hex.Encode(s[24:], b[10:])
	return string(s[:])
}

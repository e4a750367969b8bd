package kh_test

import (
	"context"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/testkit"
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
	srv    *testkit.BenchServer
	plain  *http.Client
	client *kh.Client
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
	e.srv = testkit.NewBenchServer(b, []byte(benchAccountsBody), &tls.Config{ClientAuth: tls.RequireAnyClientCert},
		func(w http.ResponseWriter, r *http.Request) bool {
			if r.TLS == nil || len(r.TLS.PeerCertificates) == 0 || !r.TLS.PeerCertificates[0].Equal(leaf) ||
				r.Header.Get("Authorization") != "Bearer "+benchConsentToken || r.Header.Get("Consent-ID") != benchConsentID ||
				r.Header.Get("X-Request-ID") == "" || r.URL.Path != "/v1/accounts" {
				w.WriteHeader(http.StatusUnauthorized)
				return false
			}
			w.Header()["X-Request-ID"] = r.Header["X-Request-ID"]
			return true
		})
	roots := x509.NewCertPool()
	roots.AddCert(e.srv.Certificate())

	tr := testkit.NewTransport(b)
	tr.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12, Certificates: []tls.Certificate{cert}, RootCAs: roots}
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
	// X-Request-ID is fresh for every request.
	testkit.CheckSameHeaders(b, e.srv, e.impls(), twoAccounts, "X-Request-Id")
	return e
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
	out, err := testkit.GetJSON[kh.AccountList](ctx, e.plain, e.srv.URL+"/v1/accounts", func(h http.Header) {
		h["X-Request-ID"] = []string{newRequestID()}
		h["Consent-ID"] = []string{benchConsentID}
		h["Authorization"] = []string{"Bearer " + benchConsentToken}
	})
	return len(out.Accounts), err
}

func (e *benchEnv) impls() []testkit.Impl[int] {
	return []testkit.Impl[int]{{Name: "plain", Call: e.plainList}, {Name: "sdk", Call: e.sdk}}
}

// twoAccounts checks the number of accounts listed.
func twoAccounts(n int) error {
	if n != 2 {
		return fmt.Errorf("%d accounts, want 2", n)
	}
	return nil
}

// BenchmarkAccountsList is a GET of a small JSON answer (two accounts) over mutual
// TLS.
func BenchmarkAccountsList(b *testing.B) {
	e := newBenchEnv(b)
	testkit.RunImpls(b, e.impls(), 0, twoAccounts)
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

package rest

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"
)

type benchAccount struct {
	ID       string `json:"id"`
	Currency string `json:"currency"`
	Balance  string `json:"balance"`
}

func benchServer(b *testing.B) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"acc-1","currency":"EUR","balance":"1024.50"}`)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// BenchmarkGETPlainNetHTTP is the baseline: the same GET with net/http and
// encoding/json, no retries, no authorisation, no timeout.
func BenchmarkGETPlainNetHTTP(b *testing.B) {
	benchPlain(b, &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()})
}

// BenchmarkGETPlainNetHTTPTimeout is the same baseline with the per-attempt timeout
// the pipeline always sets (http.Client.Timeout, 30 s).
func BenchmarkGETPlainNetHTTPTimeout(b *testing.B) {
	benchPlain(b, &http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone(), Timeout: 30 * time.Second})
}

func benchPlain(b *testing.B, hc *http.Client) {
	srv := benchServer(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, srv.URL+"/v1/accounts/acc-1", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Accept", "application/json")
		resp, err := hc.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		var out benchAccount
		err = json.NewDecoder(resp.Body).Decode(&out)
		resp.Body.Close()
		if err != nil || out.ID != "acc-1" {
			b.Fatal(err, out)
		}
	}
}

// BenchmarkGETPipeline is the same GET through rest.Client (retry policy, attempt
// transport, logging check, bounded decode).
func BenchmarkGETPipeline(b *testing.B) {
	srv := benchServer(b)
	cfg := DefaultConfig("bench")
	if err := cfg.SetBaseURL(srv.URL + "/v1"); err != nil {
		b.Fatal(err)
	}
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	p, err := Path("accounts", "acc-1")
	if err != nil {
		b.Fatal(err)
	}
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		var out benchAccount
		if _, err := c.Do(ctx, &Request{Method: http.MethodGet, Path: p}, &out); err != nil || out.ID != "acc-1" {
			b.Fatal(err, out)
		}
	}
}

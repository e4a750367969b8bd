package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
)

// The benchmarks in this file come in pairs run side by side: impl=plain is the floor
// (net/http and encoding/json with the same headers and the same transport settings,
// written as a careful caller would: one decode, the body drained and closed), and
// impl=pipeline the same call through rest.Client with a bearer-token Authorizer.
// Compare them with
//
//	benchstat -col /impl old.txt
//
// or compare two builds of the package with benchstat old.txt new.txt.

const benchToken = "bench-token-0123456789"

// benchTransport is the transport both sides of a pair use: http.DefaultTransport's
// settings, with idle connections kept for every goroutine of the parallel runs.
func benchTransport() *http.Transport {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.MaxIdleConnsPerHost = 128
	return t
}

// benchJSONServer answers every GET that carries the bench token with body.
func benchJSONServer(b *testing.B, body []byte) *httptest.Server {
	b.Helper()
	want := "Bearer " + benchToken
	length := strconv.Itoa(len(body))
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != want {
			w.WriteHeader(http.StatusUnauthorized)
			return
		}
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	}))
	b.Cleanup(srv.Close)
	return srv
}

// benchPair is a server and the two ways of calling it.
type benchPair struct {
	srv      *httptest.Server
	plain    *http.Client
	pipeline *Client
	path     string
}

func newBenchPair(b *testing.B, body []byte) *benchPair {
	b.Helper()
	srv := benchJSONServer(b, body)
	tr := benchTransport()
	b.Cleanup(tr.CloseIdleConnections)
	cfg := DefaultConfig("bench")
	if err := cfg.SetBaseURL(srv.URL + "/v1"); err != nil {
		b.Fatal(err)
	}
	if err := cfg.SetHTTPClient(&http.Client{Transport: benchTransport()}); err != nil {
		b.Fatal(err)
	}
	cfg.Authorizer = HeaderToken{Source: auth.StaticSource(auth.Token{Value: benchToken}), Prefix: "Bearer "}
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.rc.HTTPClient.CloseIdleConnections)
	p, err := Path("accounts", "acc-1")
	if err != nil {
		b.Fatal(err)
	}
	return &benchPair{srv: srv, plain: &http.Client{Transport: tr}, pipeline: c, path: p}
}

// getPlain is the floor: the same request, headers and decoding by hand.
func (p *benchPair) getPlain(ctx context.Context, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.srv.URL+"/v1/"+p.path, nil)
	if err != nil {
		return err
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{"banksdk-go/" + Version}
	req.Header["Authorization"] = []string{"Bearer " + benchToken}
	resp, err := p.plain.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(out); err != nil {
		return err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return err
}

func (p *benchPair) getPipeline(ctx context.Context, out any) error {
	_, err := p.pipeline.Do(ctx, &Request{Method: http.MethodGet, Path: p.path}, out)
	return err
}

func (p *benchPair) impls() []struct {
	name string
	get  func(context.Context, any) error
} {
	return []struct {
		name string
		get  func(context.Context, any) error
	}{{"impl=plain", p.getPlain}, {"impl=pipeline", p.getPipeline}}
}

var benchSmallBody = []byte(`{"id":"acc-1","currency":"EUR","balance":"1024.50"}`)

// BenchmarkSmallGET is a GET of a small JSON object with a bearer token.
func BenchmarkSmallGET(b *testing.B) {
	p := newBenchPair(b, benchSmallBody)
	for _, impl := range p.impls() {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			for b.Loop() {
				var out benchAccount
				if err := impl.get(ctx, &out); err != nil || out.ID != "acc-1" {
					b.Fatal(err, out)
				}
			}
		})
	}
}

// bench100KBody is a JSON array of accounts of about 100 KB.
var bench100KBody = func() []byte {
	var accs []benchAccount
	for i := 0; ; i++ {
		accs = append(accs, benchAccount{ID: fmt.Sprintf("acc-%06d", i), Currency: "EUR", Balance: strconv.Itoa(i*37%100000) + ".50"})
		if len(accs)*64 > 100<<10 {
			break
		}
	}
	b, err := json.Marshal(accs)
	if err != nil {
		panic(err)
	}
	return b
}()

// Benchmark100KBGET is a GET of a 100 KB JSON array decoded into a slice of structs.
func Benchmark100KBGET(b *testing.B) {
	p := newBenchPair(b, bench100KBody)
	for _, impl := range p.impls() {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			b.SetBytes(int64(len(bench100KBody)))
			for b.Loop() {
				var out []benchAccount
				if err := impl.get(ctx, &out); err != nil || len(out) < 1000 {
					b.Fatal(err, len(out))
				}
			}
		})
	}
}

// BenchmarkParallelGET runs the small GET from 64 goroutines at once and reports the
// throughput (req/s) and the 99th percentile latency (p99-ns) besides ns/op.
func BenchmarkParallelGET(b *testing.B) {
	const goroutines = 64
	p := newBenchPair(b, benchSmallBody)
	for _, impl := range p.impls() {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			var (
				mu  sync.Mutex
				all []time.Duration
			)
			b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			b.RunParallel(func(pb *testing.PB) {
				lat := make([]time.Duration, 0, 1024)
				for pb.Next() {
					var out benchAccount
					start := time.Now()
					err := impl.get(ctx, &out)
					lat = append(lat, time.Since(start))
					if err != nil || out.ID != "acc-1" {
						b.Error(err, out)
						return
					}
				}
				mu.Lock()
				all = append(all, lat...)
				mu.Unlock()
			})
			b.StopTimer()
			if len(all) == 0 {
				return
			}
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(all[len(all)*99/100]), "p99-ns")
		})
	}
}

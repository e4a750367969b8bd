package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/fake"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The benchmarks in this file come in sets run side by side: impl=plain is the floor
// (net/http and encoding/json with the same headers and the same transport settings,
// written as a careful caller would: one decode, the body drained and closed),
// impl=plain-timeout the same with the timeout the pipeline sets on every attempt
// (http.Client.Timeout, DefaultTimeout), and impl=pipeline the same call through
// rest.Client with a bearer-token Authorizer.
// Compare them with
//
//	benchstat -col /impl old.txt
//
// or compare two builds of the package with benchstat old.txt new.txt. Besides ns/op,
// each reports cpu-ns/op: the process's CPU time (client and server) per request,
// which other work on a busy machine disturbs far less than elapsed time.

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

// benchPair is a server and the ways of calling it.
type benchPair struct {
	srv          *httptest.Server
	plain        *http.Client
	plainTimeout *http.Client // plain's transport, with the pipeline's timeout
	pipeline     *Client
	path         string
}

type benchAccount struct {
	ID       string `json:"id"`
	Currency string `json:"currency"`
	Balance  string `json:"balance"`
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
	cfg.Authorizer = NewHeaderToken(auth.StaticSource(auth.Token{Value: benchToken}), "Authorization", "Bearer ")
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(c.at.CloseIdleConnections)
	p, err := Path("accounts", "acc-1")
	if err != nil {
		b.Fatal(err)
	}
	return &benchPair{srv: srv, plain: &http.Client{Transport: tr}, plainTimeout: &http.Client{Transport: tr, Timeout: DefaultTimeout},
		pipeline: c, path: p}
}

// close closes the pair's server and the connections of its clients.
func (p *benchPair) close() {
	p.srv.Close()
	p.plain.CloseIdleConnections()
	p.pipeline.CloseIdleConnections()
}

// getPlain is the floor: the same request, headers and decoding by hand.
func (p *benchPair) getPlain(ctx context.Context, out any) error { return p.getBy(ctx, p.plain, out) }

// getPlainTimeout is the floor with the pipeline's timeout.
func (p *benchPair) getPlainTimeout(ctx context.Context, out any) error {
	return p.getBy(ctx, p.plainTimeout, out)
}

func (p *benchPair) getBy(ctx context.Context, hc *http.Client, out any) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, p.srv.URL+"/v1/"+p.path, nil)
	if err != nil {
		return err
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{"banksdk-go/" + Version}
	req.Header["Authorization"] = []string{"Bearer " + benchToken}
	resp, err := hc.Do(req)
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

// impls are the ways of making the pair's call, in the order their sub-benchmarks run.
func (p *benchPair) impls() []benchImpl {
	return []benchImpl{{"impl=plain", p.getPlain}, {"impl=plain-timeout", p.getPlainTimeout}, {"impl=pipeline", p.getPipeline}}
}

// parallelImpls are impls and, as impl=plain-control, impl=plain once more.
func (p *benchPair) parallelImpls() []benchImpl {
	return append(p.impls(), benchImpl{"impl=plain-control", p.getPlain})
}

// benchImpl is one way of making a benchmark's call, run as the sub-benchmark name.
type benchImpl struct {
	name string
	get  func(context.Context, any) error
}

// cpuMeter reports the process's CPU time per operation as cpu-ns/op.
type cpuMeter struct {
	b     *testing.B
	start time.Duration
}

func startCPU(b *testing.B) cpuMeter { return cpuMeter{b: b, start: processCPU()} }

func (m cpuMeter) report() {
	if d := processCPU() - m.start; d > 0 && m.b.N > 0 {
		m.b.ReportMetric(float64(d)/float64(m.b.N), "cpu-ns/op")
	}
}

var benchSmallBody = []byte(`{"id":"acc-1","currency":"EUR","balance":"1024.50"}`)

// BenchmarkSmallGET is a GET of a small JSON object with a bearer token.
func BenchmarkSmallGET(b *testing.B) {
	p := newBenchPair(b, benchSmallBody)
	for _, impl := range p.impls() {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			b.ReportAllocs()
			cpu := startCPU(b)
			for b.Loop() {
				var out benchAccount
				if err := impl.get(ctx, &out); err != nil || out.ID != "acc-1" {
					b.Fatal(err, out)
				}
			}
			cpu.report()
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
			cpu := startCPU(b)
			for b.Loop() {
				var out []benchAccount
				if err := impl.get(ctx, &out); err != nil || len(out) < 1000 {
					b.Fatal(err, len(out))
				}
			}
			cpu.report()
		})
	}
}

// BenchmarkParallelGET runs the small GET from 64 goroutines at once and reports the
// throughput (req/s) and the 99th percentile latency (p99-ns) besides ns/op.
//
// Each impl runs against a server and a transport of its own, whose connections are
// opened before the clock starts and closed when the run ends, and from a collected
// heap: no impl inherits the connections or the garbage of the one before it, or pays
// for its own dials in the timed part. impl=plain-control is impl=plain once more:
// the difference between the two is the resolution of the measurement. Run each impl
// in a process of its own (-bench 'ParallelGET/impl=plain$') and alternate their order
// between rounds: within one process the impls always run in the same order.
func BenchmarkParallelGET(b *testing.B) {
	const goroutines = 64
	// The names come from a pair of no use; each impl gets a pair of its own.
	for i, impl := range new(benchPair).parallelImpls() {
		b.Run(impl.name, func(b *testing.B) {
			p := newBenchPair(b, benchSmallBody)
			defer p.close()
			get := p.parallelImpls()[i].get
			ctx := context.Background()
			warm(b, goroutines, func() error {
				var out benchAccount
				return get(ctx, &out)
			})
			runtime.GC()
			var (
				mu  sync.Mutex
				all []time.Duration
			)
			b.SetParallelism(max(1, goroutines/runtime.GOMAXPROCS(0)))
			b.ReportAllocs()
			b.ResetTimer()
			cpu := startCPU(b)
			b.RunParallel(func(pb *testing.PB) {
				lat := make([]time.Duration, 0, 1024)
				for pb.Next() {
					var out benchAccount
					start := time.Now()
					err := get(ctx, &out)
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
			cpu.report()
			if len(all) == 0 {
				return
			}
			slices.Sort(all)
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "req/s")
			b.ReportMetric(float64(all[len(all)*99/100]), "p99-ns")
		})
	}
}

// warm makes n calls at once, twice over, so that the transport holds a connection
// for each of n concurrent callers before a benchmark's clock starts.
func warm(b *testing.B, n int, call func() error) {
	b.Helper()
	for range 2 {
		errs := make(chan error, n)
		for range n {
			go func() { errs <- call() }()
		}
		for range n {
			if err := <-errs; err != nil {
				b.Fatal(err)
			}
		}
	}
}

// The tests below hold the shortcuts the benchmarks measure to the pipeline's rules.

// TestAttemptsStartFromTheCallersRequest: an attempt's header map and URL are its own,
// so what an Authorizer changes on one attempt (added values, a signature in the
// query, a replaced header) is not seen by the next attempt, the next call or the
// caller.
func TestAttemptsStartFromTheCallersRequest(t *testing.T) {
	var n atomic.Int32
	h := setup(t, nil, func(c *Config) {
		c.Authorizer = AuthorizerFunc(func(_ context.Context, req *http.Request, _ []byte) error {
			i := n.Add(1)
			req.Header.Add("X-Trace", fmt.Sprint("auth-", i))
			req.Header.Add("Accept", "text/plain")
			req.Header.Set("Content-Type", "application/json; charset=utf-8")
			req.URL.RawQuery += fmt.Sprint("&sig=", i)
			return nil
		})
	})
	trace := append(make([]string, 0, 4), "caller") // room to append in place
	callerHeader := http.Header{"X-Trace": trace}
	query := url.Values{"q": {"1"}}
	h.srv.Inject(2, fake.Status(http.StatusServiceUnavailable, "").WithRetryAfter("0"))

	resp, err := h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "x", Header: callerHeader, Query: query, Body: []byte(`{}`)}, nil)

	require.NoError(t, err)
	assert.Equal(t, 3, resp.Attempts)
	reqs := h.srv.Requests()
	require.Len(t, reqs, 3)
	for i, r := range reqs {
		assert.Equal(t, []string{"caller", fmt.Sprint("auth-", i+1)}, r.RawHeader("X-Trace"), "attempt %d", i+1)
		assert.Equal(t, fmt.Sprint("q=1&sig=", i+1), r.RawQuery, "attempt %d", i+1)
		assert.Equal(t, []string{"application/json", "text/plain"}, r.RawHeader("Accept"))
		assert.Equal(t, []string{"application/json; charset=utf-8"}, r.RawHeader("Content-Type"))
	}
	assert.Equal(t, http.Header{"X-Trace": {"caller"}}, callerHeader, "the caller's header is not modified")
	assert.Equal(t, []string{"caller", "", "", ""}, trace[:cap(trace)], "nor the array behind its values")
	assert.Equal(t, url.Values{"q": {"1"}}, query)

	h.srv.ResetRequests()
	h.client.cfg.Authorizer = nil
	_, err = h.client.Do(context.Background(), &Request{Method: http.MethodPost, Path: "y", Body: []byte(`{}`)}, nil)
	require.NoError(t, err)
	reqs = h.srv.Requests()
	require.Len(t, reqs, 1)
	assert.Equal(t, []string{"application/json"}, reqs[0].RawHeader("Accept"), "the shared values were copied, not written")
	assert.Equal(t, []string{"application/json"}, reqs[0].RawHeader("Content-Type"))
	assert.Equal(t, []string{"banksdk-go/" + Version}, reqs[0].RawHeader("User-Agent"))
	assert.Empty(t, reqs[0].RawHeader("X-Trace"))
	assert.Empty(t, reqs[0].RawQuery)
}

func TestInvalidMethodIsNotSent(t *testing.T) {
	h := setup(t, nil, nil)
	for _, m := range []string{"GE T", "GET\r\n", "GÉT", "(GET)"} {
		_, err := h.client.Do(context.Background(), &Request{Method: m, Path: "x"}, nil)
		assert.ErrorContains(t, err, "invalid method", "%q", m)
	}
	assert.Empty(t, h.srv.Requests())
	_, err := h.client.Do(context.Background(), &Request{Method: "PROPFIND", Path: "x"}, nil)
	require.NoError(t, err, "any token is a method")
	assert.Equal(t, 1, h.srv.Count("PROPFIND", "/api/v1/x"))
}

// TestCallerDeadlineBeforeTheAttemptTimeout: when the caller's deadline comes before
// the attempt's timeout, the attempt has no timeout context of its own, and the error
// is the caller's deadline, not an attempt timeout.
func TestCallerDeadlineBeforeTheAttemptTimeout(t *testing.T) {
	h := setup(t, nil, func(c *Config) { require.NoError(t, c.SetTimeout(time.Minute)) })
	h.srv.Inject(1, fake.Delay(time.Minute))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()

	_, err := h.client.Do(ctx, &Request{Method: http.MethodGet, Path: "slow"}, nil)

	var te *TransportError
	require.ErrorAs(t, err, &te)
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.NotContains(t, err.Error(), "attempt timed out")
	assert.Equal(t, 1, te.Attempts)
}

// TestAttemptTimeoutCoversTheBody: the per-attempt timeout goes on while the answer's
// body is read, for Do and for Stream, and is not taken for the caller's.
func TestAttemptTimeoutCoversTheBody(t *testing.T) {
	release := make(chan struct{})
	t.Cleanup(func() { close(release) })
	h := setup(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"method":`)
		_ = http.NewResponseController(w).Flush()
		select { // the rest of the body never comes
		case <-release:
		case <-r.Context().Done():
		}
	}), func(c *Config) { require.NoError(t, c.SetTimeout(200*time.Millisecond)) })

	var out echo
	_, err := h.client.Do(context.Background(), &Request{Method: http.MethodGet, Path: "x"}, &out)
	var te *TransportError
	require.ErrorAs(t, err, &te, "the body stalled past the attempt's timeout")
	assert.ErrorIs(t, err, context.DeadlineExceeded)
	assert.False(t, te.OutcomeUnknown, "a GET")

	resp, err := h.client.Stream(context.Background(), &Request{Method: http.MethodGet, Path: "x"})
	require.NoError(t, err)
	defer resp.Body.Close()
	done := make(chan error, 1)
	go func() {
		_, err := io.ReadAll(resp.Body)
		done <- err
	}()
	select {
	case err := <-done:
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	case <-time.After(10 * time.Second):
		t.Fatal("reading a stalled streamed body did not end with the attempt's timeout")
	}
}

// cannedTransport answers every request in memory, so that a benchmark measures what
// the pipeline adds without the network's noise.
type cannedTransport struct{ body []byte }

// releasesRequestContext: it keeps nothing of a request (see contextReleaser).
func (cannedTransport) releasesRequestContext() {}

func (t cannedTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Header.Get("Authorization") != "Bearer "+benchToken {
		return nil, fmt.Errorf("no token")
	}
	return &http.Response{StatusCode: http.StatusOK, Proto: "HTTP/1.1", ProtoMajor: 1, ProtoMinor: 1,
		Header:        http.Header{"Content-Type": {"application/json"}},
		Body:          io.NopCloser(bytes.NewReader(t.body)),
		ContentLength: int64(len(t.body)), Request: req}, nil
}

// newOverheadPair is the pair of BenchmarkOverhead: both sides over an in-memory
// transport answering the small body.
func newOverheadPair(tb testing.TB) *benchPair {
	tb.Helper()
	tr := cannedTransport{body: benchSmallBody}
	cfg := DefaultConfig("bench")
	require.NoError(tb, cfg.SetBaseURL("https://api.example/v1"))
	require.NoError(tb, cfg.SetHTTPClient(&http.Client{Transport: tr}))
	cfg.Authorizer = NewHeaderToken(auth.StaticSource(auth.Token{Value: benchToken}), "Authorization", "Bearer ")
	c, err := New(cfg)
	require.NoError(tb, err)
	p, err := Path("accounts", "acc-1")
	require.NoError(tb, err)
	return &benchPair{srv: &httptest.Server{URL: "https://api.example"}, plain: &http.Client{Transport: tr},
		plainTimeout: &http.Client{Transport: tr, Timeout: DefaultTimeout}, pipeline: c, path: p}
}

// BenchmarkOverhead is the small GET over an in-memory transport: impl=pipeline minus
// impl=plain is the pipeline's own cost per call.
func BenchmarkOverhead(b *testing.B) {
	pair := newOverheadPair(b)
	for _, impl := range pair.impls() {
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

package tkey7_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/tkey7"
)

// The benchmarks pair tkey7's DigitalAccounts.List with its floor in the same run:
// impl=plain is net/http and encoding/json with the same headers, transport settings
// and bearer token, decoding the answer into []json.RawMessage as a careful caller
// would; impl=sdk is the client. Compare them with
//
//	go test -run '^$' -bench . -count 10 ./tkey7/ | tee tkey7.txt && benchstat -col /impl tkey7.txt

const benchToken = "tkey7-bench-access-token-0123456789"

// benchAccounts returns a JSON array of n digital account documents.
func benchAccounts(n int) []byte {
	var b bytes.Buffer
	b.WriteByte('[')
	for i := range n {
		if i > 0 {
			b.WriteByte(',')
		}
		fmt.Fprintf(&b, `{"id":"da-%07d","name":"Operating account %d","currency":"USD","status":"active","balance":"%d.%02d","created_at":"2024-05-01T10:00:00Z"}`,
			i, i, i*37%100000, i%100)
	}
	b.WriteByte(']')
	return b.Bytes()
}

// benchEnv is a loopback server answering GET digital-accounts with body to the
// bearer token, and the two ways of calling it.
type benchEnv struct {
	srv    *httptest.Server
	plain  *http.Client
	client *tkey7.Client
	mu     sync.Mutex
	seen   []http.Header // the headers of the first requests
}

func newBenchEnv(b *testing.B, body []byte) *benchEnv {
	b.Helper()
	e := &benchEnv{}
	length := strconv.Itoa(len(body))
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("Authorization") != "Bearer "+benchToken || r.URL.Path != "/api/digital-accounts" {
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
	c, err := tkey7.NewClient(tkey7.WithBaseURL(e.srv.URL+"/api"), tkey7.WithAccessToken(benchToken, time.Now()),
		tkey7.WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	// Both send the same headers.
	ctx := context.Background()
	if _, err := e.sdk(ctx); err != nil {
		b.Fatal(err)
	}
	if _, err := e.plainList(ctx); err != nil {
		b.Fatal(err)
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) != 2 || !maps.EqualFunc(e.seen[0], e.seen[1], slices.Equal) {
		b.Fatalf("the baseline sends other headers than the client: %v", e.seen)
	}
	return e
}

func (e *benchEnv) sdk(ctx context.Context) ([]json.RawMessage, error) {
	list, err := e.client.DigitalAccounts.List(ctx)
	if err != nil {
		return nil, err
	}
	return list.Accounts, nil
}

// plainList is the floor: the same request by hand, one decode, the body drained.
func (e *benchEnv) plainList(ctx context.Context) ([]json.RawMessage, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/api/digital-accounts", nil)
	if err != nil {
		return nil, err
	}
	req.Header["Accept"] = []string{"application/json"}
	req.Header["User-Agent"] = []string{"banksdk-go/" + banksdk.Version}
	req.Header["Authorization"] = []string{"Bearer " + benchToken}
	resp, err := e.plain.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("status %d", resp.StatusCode)
	}
	var out []json.RawMessage
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return nil, err
	}
	_, err = io.Copy(io.Discard, resp.Body)
	return out, err
}

func (e *benchEnv) impls() []struct {
	name string
	list func(context.Context) ([]json.RawMessage, error)
} {
	return []struct {
		name string
		list func(context.Context) ([]json.RawMessage, error)
	}{{"impl=plain", e.plainList}, {"impl=sdk", e.sdk}}
}

func benchList(b *testing.B, accounts int) {
	body := benchAccounts(accounts)
	e := newBenchEnv(b, body)
	for _, impl := range e.impls() {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			b.SetBytes(int64(len(body)))
			b.ReportAllocs()
			for b.Loop() {
				list, err := impl.list(ctx)
				if err != nil || len(list) != accounts {
					b.Fatal(len(list), err)
				}
			}
		})
	}
}

// BenchmarkListSmall is a GET of a small answer: two digital accounts.
func BenchmarkListSmall(b *testing.B) { benchList(b, 2) }

// BenchmarkList100KB is a GET of a ~120 KB answer: 800 digital accounts.
func BenchmarkList100KB(b *testing.B) { benchList(b, 800) }

// BenchmarkListRetained reports the heap that a list of 100,000 digital accounts
// (about 15 MiB of JSON) keeps after the call, as retained-B/op and as a multiple of
// the body's size (retained/body).
func BenchmarkListRetained(b *testing.B) {
	const accounts = 100_000
	body := benchAccounts(accounts)
	e := newBenchEnv(b, body)
	for _, impl := range e.impls() {
		b.Run(impl.name, func(b *testing.B) {
			ctx := context.Background()
			var retained uint64
			var ms runtime.MemStats
			n := 0
			for b.Loop() {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				list, err := impl.list(ctx)
				if err != nil || len(list) != accounts {
					b.Fatal(len(list), err)
				}
				runtime.GC()
				runtime.ReadMemStats(&ms)
				retained += ms.HeapAlloc - min(before, ms.HeapAlloc)
				n++
				runtime.KeepAlive(list)
			}
			b.ReportMetric(float64(retained)/float64(n), "retained-B/op")
			b.ReportMetric(float64(retained)/float64(n)/float64(len(body)), "retained/body")
		})
	}
}

package tkey7_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"runtime"
	"testing"
	"time"

	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/tkey7"
)

// The benchmarks pair tkey7's DigitalAccounts.List with its floor in the same run:
// impl=plain is net/http and encoding/json with the same headers, transport settings
// and bearer token, decoding the answer into []json.RawMessage as a careful caller
// would; impl=sdk is the client, whose list keeps the body and walks it on demand. Compare them with
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
	srv    *testkit.BenchServer
	plain  *http.Client
	client *tkey7.Client
}

func newBenchEnv(b *testing.B, body []byte, accounts int) *benchEnv {
	b.Helper()
	e := &benchEnv{}
	e.srv = testkit.NewBenchServer(b, body, nil, func(w http.ResponseWriter, r *http.Request) bool {
		if r.Header.Get("Authorization") != "Bearer "+benchToken || r.URL.Path != "/api/digital-accounts" {
			w.WriteHeader(http.StatusUnauthorized)
			return false
		}
		return true
	})
	e.plain = &http.Client{Transport: testkit.NewTransport(b)}
	c, err := tkey7.NewClient(tkey7.WithBaseURL(e.srv.URL+"/api"), tkey7.WithAccessToken(benchToken, time.Now()),
		tkey7.WithHTTPClient(&http.Client{Transport: testkit.NewTransport(b)}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	testkit.CheckSameHeaders(b, e.srv, e.impls(), countOf(accounts))
	return e
}

// accountList is what a call returns and a caller keeps: the SDK's list, or the
// floor's documents, each decoded into its own json.RawMessage. It is a plain struct
// rather than an interface, so that returning it costs neither side an allocation.
type accountList struct {
	sdk   *tkey7.DigitalAccountList
	plain []json.RawMessage
}

// Len returns the number of accounts the list holds.
func (l accountList) Len() int {
	if l.sdk != nil {
		return l.sdk.Len()
	}
	return len(l.plain)
}

func (e *benchEnv) sdk(ctx context.Context) (accountList, error) {
	list, err := e.client.DigitalAccounts.List(ctx)
	return accountList{sdk: list}, err
}

// plainList is the floor: the same request by hand, one decode, the body drained.
func (e *benchEnv) plainList(ctx context.Context) (accountList, error) {
	list, err := testkit.GetJSON[[]json.RawMessage](ctx, e.plain, e.srv.URL+"/api/digital-accounts", func(h http.Header) {
		h["Authorization"] = []string{"Bearer " + benchToken}
	})
	return accountList{plain: list}, err
}

func (e *benchEnv) impls() []testkit.Impl[accountList] {
	return []testkit.Impl[accountList]{{Name: "plain", Call: e.plainList}, {Name: "sdk", Call: e.sdk}}
}

// countOf checks that a list holds n accounts.
func countOf(n int) func(accountList) error {
	return func(list accountList) error {
		if list.Len() != n {
			return fmt.Errorf("%d accounts, want %d", list.Len(), n)
		}
		return nil
	}
}

func benchList(b *testing.B, accounts int) {
	body := benchAccounts(accounts)
	e := newBenchEnv(b, body, accounts)
	testkit.RunImpls(b, e.impls(), len(body), countOf(accounts))
}

// BenchmarkListSmall is a GET of a small answer: two digital accounts.
func BenchmarkListSmall(b *testing.B) { benchList(b, 2) }

// BenchmarkList100KB is a GET of a ~120 KB answer: 800 digital accounts.
func BenchmarkList100KB(b *testing.B) { benchList(b, 800) }

// BenchmarkListRetained reports the heap that a list of 100,000 digital accounts
// (about 15 MiB of JSON) keeps after the call, as retained-B/op and as a multiple of
// the body's size (retained/body). Each side keeps the result a caller would use:
// the SDK's *tkey7.DigitalAccountList, the floor's []json.RawMessage.
func BenchmarkListRetained(b *testing.B) {
	const accounts = 100_000
	body := benchAccounts(accounts)
	e := newBenchEnv(b, body, accounts)
	for _, impl := range e.impls() {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			ctx := context.Background()
			var retained uint64
			var ms runtime.MemStats
			n := 0
			for b.Loop() {
				runtime.GC()
				runtime.ReadMemStats(&ms)
				before := ms.HeapAlloc
				list, err := impl.Call(ctx)
				if err != nil {
					b.Fatal(err)
				}
				if err := countOf(accounts)(list); err != nil {
					b.Fatal(err)
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

package obp_test

import (
	"context"
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

	"github.com/hashicorp/go-retryablehttp"

	"github.com/banksdk/banksdk"
	"github.com/banksdk/banksdk/obp"
)

// The benchmark pairs obp's Users.Current (DirectLogin) with two floors in the same
// run, all with the same headers ("DirectLogin: token=...") and transport settings,
// decoding into the same type: impl=plain is net/http and encoding/json,
// impl=retryablehttp is go-retryablehttp used directly (the library under the
// client's pipeline, with the same retry count); impl=sdk is the client. Compare
// them with
//
//	go test -run '^$' -bench . -count 10 ./obp/ | tee obp.txt && benchstat -col /impl obp.txt

const benchDirectLoginToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJiZW5jaCJ9.directlogin-bench"

const benchUserBody = `{"user_id":"9ca9a7e4-6d02-40e3-a129-0b2bf89de9b1","email":"robert.x.0.gh@example.com",` +
	`"provider_id":"Robert.X.0.GH","provider":"https://apisandbox.openbankproject.com","username":"robert.x.0.gh",` +
	`"entitlements":{"list":[{"entitlement_id":"6fb17583-1e49-4435-bb74-a14fe0996723","role_name":"CanGetAnyUser","bank_id":""},` +
	`{"entitlement_id":"c2ab5c06-6e9a-4b29-b0b6-6e63a6b73f53","role_name":"CanCreateAccount","bank_id":"gh.29.uk"}]},` +
	`"views":{"list":[{"bank_id":"gh.29.uk","account_id":"8ca8a7e4-6d02-40e3-a129-0b2bf89de9f0","view_id":"owner"}]}}`

type benchEnv struct {
	srv    *httptest.Server
	plain  *http.Client
	retry  *retryablehttp.Client
	client *obp.Client
	mu     sync.Mutex
	seen   []http.Header // the headers of the first requests
}

func newBenchEnv(b *testing.B) *benchEnv {
	b.Helper()
	e := &benchEnv{}
	body := []byte(benchUserBody)
	length := strconv.Itoa(len(body))
	e.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("DirectLogin") != "token="+benchDirectLoginToken || r.URL.Path != "/obp/v4.0.0/users/current" {
			w.WriteHeader(http.StatusUnauthorized)
			_, _ = io.WriteString(w, `{"code":401,"message":"OBP-20001: User not logged in. Authentication is required!"}`)
			return
		}
		e.mu.Lock()
		if len(e.seen) < 3 {
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

	rtr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(rtr.CloseIdleConnections)
	e.retry = retryablehttp.NewClient()
	e.retry.HTTPClient = &http.Client{Transport: rtr}
	e.retry.Logger = nil
	e.retry.RetryMax = 3

	c, err := obp.NewClient(obp.WithBaseURL(e.srv.URL), obp.WithDirectLoginToken(benchDirectLoginToken),
		obp.WithHTTPClient(&http.Client{Transport: http.DefaultTransport.(*http.Transport).Clone()}))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = c.Close() })
	e.client = c
	ctx := context.Background()
	for _, impl := range e.impls() {
		if err := impl.get(ctx); err != nil {
			b.Fatal(impl.name, err)
		}
	}
	e.mu.Lock()
	defer e.mu.Unlock()
	if len(e.seen) != 3 || !maps.EqualFunc(e.seen[0], e.seen[2], slices.Equal) || !maps.EqualFunc(e.seen[1], e.seen[2], slices.Equal) {
		b.Fatalf("the baselines send other headers than the client: %v", e.seen)
	}
	return e
}

func (e *benchEnv) impls() []struct {
	name string
	get  func(context.Context) error
} {
	return []struct {
		name string
		get  func(context.Context) error
	}{{"impl=plain", e.plainCurrent}, {"impl=retryablehttp", e.retryCurrent}, {"impl=sdk", e.sdk}}
}

func (e *benchEnv) sdk(ctx context.Context) error {
	u, err := e.client.Users.Current(ctx)
	if err == nil && len(u.Entitlements) != 2 {
		err = fmt.Errorf("user %+v", u)
	}
	return err
}

func (e *benchEnv) header(h http.Header) {
	h["Accept"] = []string{"application/json"}
	h["User-Agent"] = []string{"banksdk-go/" + banksdk.Version}
	h["DirectLogin"] = []string{"token=" + benchDirectLoginToken}
}

func readUser(resp *http.Response) error {
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("status %d", resp.StatusCode)
	}
	var u obp.User
	if err := json.NewDecoder(resp.Body).Decode(&u); err != nil {
		return err
	}
	if len(u.Entitlements) != 2 {
		return fmt.Errorf("user %+v", u)
	}
	_, err := io.Copy(io.Discard, resp.Body)
	return err
}

// plainCurrent is the floor: the same request with net/http, one decode, the body
// drained.
func (e *benchEnv) plainCurrent(ctx context.Context) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/obp/v4.0.0/users/current", nil)
	if err != nil {
		return err
	}
	e.header(req.Header)
	resp, err := e.plain.Do(req)
	if err != nil {
		return err
	}
	return readUser(resp)
}

// retryCurrent is the same request through go-retryablehttp.
func (e *benchEnv) retryCurrent(ctx context.Context) error {
	req, err := retryablehttp.NewRequestWithContext(ctx, http.MethodGet, e.srv.URL+"/obp/v4.0.0/users/current", nil)
	if err != nil {
		return err
	}
	e.header(req.Header)
	resp, err := e.retry.Do(req)
	if err != nil {
		return err
	}
	return readUser(resp)
}

// BenchmarkUsersCurrent is a GET of a small JSON answer with a DirectLogin token.
func BenchmarkUsersCurrent(b *testing.B) {
	e := newBenchEnv(b)
	for _, impl := range e.impls() {
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

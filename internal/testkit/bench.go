package testkit

import (
	"context"
	"crypto/tls"
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

	"github.com/banksdk/banksdk"
)

// The client benchmarks pair an SDK call with its floor, the same request made by
// hand with net/http and encoding/json, against the same loopback server in the
// same run. The pieces below are what every such benchmark shares; a provider's
// bench file keeps its client, its call and its authentication.

// BenchServer is a loopback server answering a benchmark's accepted requests with
// one JSON body. While CheckSameHeaders runs, it keeps the headers of the requests
// it accepts.
type BenchServer struct {
	*httptest.Server

	mu        sync.Mutex
	recording bool
	seen      []http.Header
}

// NewBenchServer starts a loopback server, closed when b ends. accept is called on
// every request: when it returns true, the request is answered 200 with body as
// application/json with its Content-Length (accept may set further headers on w);
// when it returns false, accept has written the answer itself. If tlsConfig is not
// nil the server serves TLS with it.
func NewBenchServer(b testing.TB, body []byte, tlsConfig *tls.Config, accept func(w http.ResponseWriter, r *http.Request) bool) *BenchServer {
	b.Helper()
	s := &BenchServer{}
	length := strconv.Itoa(len(body))
	s.Server = httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !accept(w, r) {
			return
		}
		s.mu.Lock()
		if s.recording {
			s.seen = append(s.seen, r.Header.Clone())
		}
		s.mu.Unlock()
		h := w.Header()
		h["Content-Type"] = []string{"application/json"}
		h["Content-Length"] = []string{length}
		_, _ = w.Write(body)
	}))
	if tlsConfig != nil {
		s.TLS = tlsConfig
		s.StartTLS()
	} else {
		s.Start()
	}
	b.Cleanup(s.Close)
	return s
}

// NewTransport returns a clone of http.DefaultTransport, the transport settings
// both the SDK's client and its floor use, whose idle connections are closed when
// b ends.
func NewTransport(b testing.TB) *http.Transport {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	b.Cleanup(tr.CloseIdleConnections)
	return tr
}

// SetSDKHeaders sets on h the headers the SDK sends on every request, Accept and
// User-Agent, so that a floor sends them too.
func SetSDKHeaders(h http.Header) {
	h["Accept"] = []string{"application/json"}
	h["User-Agent"] = []string{"banksdk-go/" + banksdk.Version}
}

// GetJSON is a floor: a GET of url with c, with the SDK's headers and those header
// sets, one decode of the answer into a T (see DecodeJSON).
func GetJSON[T any](ctx context.Context, c *http.Client, url string, header func(http.Header)) (T, error) {
	var zero T
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return zero, err
	}
	SetSDKHeaders(req.Header)
	header(req.Header)
	resp, err := c.Do(req)
	if err != nil {
		return zero, err
	}
	return DecodeJSON[T](resp)
}

// DecodeJSON reads an answer as a careful caller does: an error unless its status
// is 200, else one decode of its body into a T, the rest of the body drained. It
// closes the body.
func DecodeJSON[T any](resp *http.Response) (T, error) {
	var out T
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return out, fmt.Errorf("status %d", resp.StatusCode)
	}
	if err := json.NewDecoder(resp.Body).Decode(&out); err != nil {
		return out, err
	}
	_, err := io.Copy(io.Discard, resp.Body)
	return out, err
}

// Impl is one way of making a benchmark's call, run as the sub-benchmark
// "impl=" + Name (the column benchstat -col /impl compares).
type Impl[R any] struct {
	Name string
	Call func(context.Context) (R, error)
}

// CheckSameHeaders makes each impl's call once, in order, and fails b unless every
// call succeeded, passed check, reached s's accepted requests once, and all sent the
// same headers but for those named in fresh (in canonical form), which change per
// request and which each must have sent with exactly one value.
func CheckSameHeaders[R any](b testing.TB, s *BenchServer, impls []Impl[R], check func(R) error, fresh ...string) {
	b.Helper()
	s.mu.Lock()
	s.recording, s.seen = true, nil
	s.mu.Unlock()
	ctx := context.Background()
	for _, impl := range impls {
		r, err := impl.Call(ctx)
		if err == nil {
			err = check(r)
		}
		if err != nil {
			b.Fatalf("impl=%s: %v", impl.Name, err)
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	seen := s.seen
	s.recording, s.seen = false, nil
	if len(seen) != len(impls) {
		b.Fatalf("the server accepted %d requests for %d calls", len(seen), len(impls))
	}
	if err := sameHeaders(seen, fresh); err != nil {
		b.Fatalf("the baseline sends other headers than the client: %v: %v", err, seen)
	}
}

// sameHeaders reports whether all of seen are equal to the last but for the
// headers named in fresh, which each must hold exactly one value.
func sameHeaders(seen []http.Header, fresh []string) error {
	if len(seen) == 0 {
		return nil
	}
	strip := make([]http.Header, len(seen))
	for i, h := range seen {
		h = h.Clone()
		for _, name := range fresh {
			if len(h[name]) != 1 {
				return fmt.Errorf("request %d has %d %s headers", i, len(h[name]), name)
			}
			delete(h, name)
		}
		strip[i] = h
	}
	for i, h := range strip {
		if !maps.EqualFunc(h, strip[len(strip)-1], slices.Equal) {
			return fmt.Errorf("request %d differs from request %d", i, len(strip)-1)
		}
	}
	return nil
}

// RunImpls runs each impl as the sub-benchmark "impl=" + Name, reporting
// allocations, and bytes per call when bytes > 0; each result must pass check.
func RunImpls[R any](b *testing.B, impls []Impl[R], bytes int, check func(R) error) {
	for _, impl := range impls {
		b.Run("impl="+impl.Name, func(b *testing.B) {
			ctx := context.Background()
			if bytes > 0 {
				b.SetBytes(int64(bytes))
			}
			b.ReportAllocs()
			for b.Loop() {
				r, err := impl.Call(ctx)
				if err == nil {
					err = check(r)
				}
				if err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

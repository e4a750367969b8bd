package fake

import (
	"bufio"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func okHandler(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"ok":true}`)
}

// rawRequest writes a request by hand so header name case and duplicates are exact.
func rawRequest(t *testing.T, addr, req string) string {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	require.NoError(t, err)
	defer c.Close()
	_, err = io.WriteString(c, req)
	require.NoError(t, err)
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	require.NoError(t, err)
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return fmt.Sprintf("%d %s", resp.StatusCode, b)
}

func TestRequestLogKeepsRawHeaderNames(t *testing.T) {
	var dups, names []string
	s := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		dups = DuplicateHeaderNames(r)
		names = RawHeaderNames(r)
		okHandler(w, r)
	}))
	defer s.Close()
	addr := strings.TrimPrefix(s.URL(), "http://")
	got := rawRequest(t, addr, "POST /obp/v4.0.0/users/current?x=1 HTTP/1.1\r\nHost: x\r\nDAuth: jwt-1\r\nconsent-jwt: c\r\nDauth: again\r\nContent-Length: 4\r\n\r\nbody")
	assert.Equal(t, `200 {"ok":true}`, got)
	reqs := s.Requests()
	require.Len(t, reqs, 1)
	r := reqs[0]
	assert.Equal(t, "POST", r.Method)
	assert.Equal(t, "/obp/v4.0.0/users/current", r.Path)
	assert.Equal(t, "x=1", r.RawQuery)
	assert.Equal(t, "body", string(r.Body))
	assert.Equal(t, []string{"jwt-1"}, r.RawHeader("DAuth"))
	assert.Equal(t, []string{"again"}, r.RawHeader("Dauth"))
	assert.Equal(t, []string{"Host", "DAuth", "consent-jwt", "Dauth", "Content-Length"}, r.HeaderNames())
	assert.Equal(t, []string{"Dauth"}, dups)
	assert.Equal(t, r.HeaderNames(), names)
}

func TestRawHeadersOnKeptAliveConnection(t *testing.T) {
	s := Start(http.HandlerFunc(okHandler))
	defer s.Close()
	hc := &http.Client{}
	for i := range 3 {
		req, _ := http.NewRequest(http.MethodPost, s.URL()+"/p", strings.NewReader(strings.Repeat("b", 100*i)))
		req.Header["X-Case-Kept"] = []string{fmt.Sprint(i)}
		resp, err := hc.Do(req)
		require.NoError(t, err)
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}
	for i, r := range s.Requests() {
		assert.Equal(t, []string{fmt.Sprint(i)}, r.RawHeader("X-Case-Kept"))
	}
}

func TestFaults(t *testing.T) {
	var ranN atomic.Int32
	ran := func() int { return int(ranN.Load()) }
	s := Start(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { ranN.Add(1); okHandler(w, r) }))
	defer s.Close()
	get := func(path string) (*http.Response, error) {
		hc := &http.Client{Timeout: 2 * time.Second}
		return hc.Post(s.URL()+path, "application/json", strings.NewReader("{}"))
	}

	s.Inject(2, Status(503, `{"error":"busy"}`).WithRetryAfter("7").On("POST", "/a"))
	resp, err := get("/b") // not matched
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	for range 2 {
		resp, err = get("/a")
		require.NoError(t, err)
		assert.Equal(t, 503, resp.StatusCode)
		assert.Equal(t, "7", resp.Header.Get("Retry-After"))
	}
	resp, err = get("/a")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode, "only the next two")
	assert.Equal(t, 2, ran())

	s.Inject(1, DropBefore())
	_, err = get("/c")
	assert.Error(t, err)
	assert.Equal(t, 2, ran(), "handler did not run")

	s.Inject(1, DropAfter())
	_, err = get("/c")
	assert.Error(t, err)
	assert.Equal(t, 3, ran(), "handler ran, answer lost")

	s.Inject(1, Malformed())
	resp, err = get("/c")
	require.NoError(t, err)
	b, _ := io.ReadAll(resp.Body)
	assert.Equal(t, `{"malformed": [1, 2,`, string(b))

	s.Inject(1, Oversized(100_000))
	resp, err = get("/c")
	require.NoError(t, err)
	b, _ = io.ReadAll(resp.Body)
	assert.Greater(t, len(b), 100_000)

	s.Inject(1, Delay(50*time.Millisecond))
	start := time.Now()
	resp, err = get("/c")
	require.NoError(t, err)
	assert.Equal(t, 200, resp.StatusCode)
	assert.GreaterOrEqual(t, time.Since(start), 50*time.Millisecond)

	faults := map[string]int{}
	for _, r := range s.Requests() {
		faults[r.Fault]++
	}
	assert.Equal(t, map[string]int{"": 2, "status": 2, "drop-before": 1, "drop-after": 1, "malformed": 1, "oversized": 1, "delay": 1}, faults)
	assert.Equal(t, 3, s.Count("POST", "/a"))
	s.ResetRequests()
	assert.Empty(t, s.Requests())
}

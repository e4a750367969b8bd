package rest

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/url"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"testing/iotest"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// The success body is decoded once: as it arrives when its length is not announced,
// from a reused buffer holding it whole when it is. These tests hold it to what
// reading the whole body first and then json.Unmarshal gave: the same values, the same errors
// (a body over the limit, a body that breaks off, one that is not a single JSON value)
// and an empty body leaving out untouched.

const decodeLimit = 64

// decodeClient is a pipeline whose decode runs on in-memory answers.
func decodeClient(t testing.TB) *Client {
	t.Helper()
	cfg := DefaultConfig("test")
	require.NoError(t, cfg.SetBaseURL("https://api.example/v1"))
	require.NoError(t, cfg.SetMaxResponseBytes(decodeLimit))
	c, err := New(cfg)
	require.NoError(t, err)
	return c
}

// decodeBody runs the pipeline's decode over body as an answer to a GET (or a POST
// when nonIdempotent), read through r (nil: whole reads).
func decodeBody(c *Client, body io.Reader, length int64, nonIdempotent bool, out any) error {
	u := &url.URL{Scheme: "https", Host: "api.example", Path: "/v1/x", RawQuery: "token=QUERY-SECRET"}
	resp := &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(body), ContentLength: length,
		Request: &http.Request{Method: http.MethodGet, URL: u}}
	meta := &Response{StatusCode: http.StatusOK, NonIdempotent: nonIdempotent, provider: "test", method: http.MethodGet, url: u}
	return c.decode(resp, meta, out)
}

// decodeClass names how decode ended, for comparing with the old way.
func decodeClass(err error) string {
	var te *TransportError
	switch {
	case err == nil:
		return "ok"
	case errors.Is(err, ErrResponseTooLarge):
		return "too large"
	case errors.As(err, &te):
		return "transport"
	case strings.Contains(err.Error(), "decoding response"):
		return "undecodable"
	}
	return "other: " + err.Error()
}

// oldDecode is what decode did before it streamed: read limit+1 bytes, then unmarshal.
func oldDecode(data []byte, out any) string {
	if len(data) > decodeLimit {
		return "too large"
	}
	if len(bytes.TrimLeft(data, " \t\r\n")) == 0 {
		return "ok"
	}
	if err := json.Unmarshal(data, out); err != nil {
		return "undecodable"
	}
	return "ok"
}

func TestDecodeMatchesReadingTheWholeBody(t *testing.T) {
	c := decodeClient(t)
	type obj struct {
		A int    `json:"a"`
		B string `json:"b"`
	}
	exact := `{"a":1,"b":"` + strings.Repeat("x", decodeLimit-len(`{"a":1,"b":""}`)) + `"}`
	require.Len(t, exact, decodeLimit)
	cases := []struct {
		name, body string
		want       string // decodeClass
	}{
		{"object", `{"a":1,"b":"two"}`, "ok"},
		{"white space around", " \n{\"a\":1}\t\r\n ", "ok"},
		{"empty", "", "ok"},
		{"white space only", " \n\t ", "ok"},
		{"null", "null", "ok"},
		{"white space JSON does not know", "\v\f\u00a0\u2028 ", "undecodable"},
		{"JSON white space only", " \t\r\n ", "ok"},
		{"such white space before a value", "\v{}", "undecodable"},
		{"such white space after a value", "{}\u00a0", "undecodable"},
		{"exactly the limit", exact, "ok"},
		{"one byte over the limit", exact + " ", "too large"},
		{"valid value then white space past the limit", `{"a":1}` + strings.Repeat(" ", decodeLimit), "too large"},
		{"malformed and over the limit", `{"a":` + strings.Repeat("x", 2*decodeLimit), "too large"},
		{"truncated", `{"a":1,"b":"tw`, "undecodable"},
		{"trailing garbage", `{"a":1} x`, "undecodable"},
		{"trailing brace", `{"a":1}}`, "undecodable"},
		{"two values", `{"a":1} {"a":2}`, "undecodable"},
		{"two numbers", `1 2`, "undecodable"},
		{"wrong type", `{"a":"one"}`, "undecodable"},
		{"not JSON", `<html>`, "undecodable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			for _, rd := range []struct {
				name string
				r    func(string) io.Reader
			}{
				{"whole", func(s string) io.Reader { return strings.NewReader(s) }},
				{"byte by byte", func(s string) io.Reader { return iotest.OneByteReader(strings.NewReader(s)) }},
				{"with EOF", func(s string) io.Reader { return iotest.DataErrReader(strings.NewReader(s)) }},
			} {
				// The length as announced, not announced, and announced too short (a
				// RoundTripper of the caller's may say anything): the body is read whole.
				for _, length := range []int64{int64(len(tc.body)), -1, int64(len(tc.body) / 2)} {
					got, want := obj{B: "untouched"}, obj{B: "untouched"}
					err := decodeBody(c, rd.r(tc.body), length, false, &got)
					assert.Equal(t, tc.want, decodeClass(err), "%s, length %d: %v", rd.name, length, err)
					assert.Equal(t, tc.want, oldDecode([]byte(tc.body), &want), "the old way agrees")
					if err == nil {
						assert.Equal(t, want, got, "%s, length %d", rd.name, length)
					}
				}
			}
		})
	}
}

func TestDecodeUndecodableIsOutcomeUnknownOnlyForStateChanges(t *testing.T) {
	c := decodeClient(t)
	var out map[string]any
	for _, body := range []string{`{"a":1} x`, `{"a":`, strings.Repeat(" ", decodeLimit+1)} {
		err := decodeBody(c, strings.NewReader(body), -1, true, &out)
		var oe *OutcomeUnknownError
		require.ErrorAs(t, err, &oe, body)
		assert.Equal(t, "https://api.example/v1/x", oe.URL, "redacted: no query")
		assert.NotContains(t, err.Error(), "QUERY-SECRET")

		err = decodeBody(c, strings.NewReader(body), -1, false, &out)
		require.Error(t, err)
		assert.NotErrorIs(t, err, ErrOutcomeUnknown, body)
	}
}

func TestDecodeReadErrorIsATransportError(t *testing.T) {
	c := decodeClient(t)
	cut := errors.New("connection reset by peer while reading token=QUERY-SECRET")
	for _, out := range []any{new(map[string]any), new(json.RawMessage), new([]byte)} {
		// The error comes after a complete value, in the middle of one, and at once;
		// the body's length not announced, or announced and not all arrived.
		for _, body := range []string{`{"a":1}`, `{"a":`, ``} {
			for _, length := range []int64{-1, int64(len(body)) + 10} {
				r := io.MultiReader(strings.NewReader(body), iotest.ErrReader(cut))
				err := decodeBody(c, r, length, true, out)
				var te *TransportError
				require.ErrorAs(t, err, &te, "%T %q, length %d", out, body, length)
				assert.True(t, te.OutcomeUnknown)
				assert.ErrorIs(t, err, cut)
				assert.NotContains(t, err.Error(), "QUERY-SECRET")
			}
		}
	}
}

func TestDecodeRawBytes(t *testing.T) {
	c := decodeClient(t)
	body := `{"a": [1, 2]}  `
	for _, length := range []int64{int64(len(body)), -1, 3, decodeLimit + 10} { // announced, unknown and wrong lengths
		var b []byte
		require.NoError(t, decodeBody(c, iotest.HalfReader(strings.NewReader(body)), length, false, &b))
		assert.Equal(t, body, string(b), "length %d", length)

		var raw json.RawMessage
		require.NoError(t, decodeBody(c, strings.NewReader(body), length, false, &raw))
		assert.Equal(t, body, string(raw))
	}

	var b []byte
	require.NoError(t, decodeBody(c, strings.NewReader("not JSON"), -1, false, &b), "*[]byte takes any bytes")
	assert.Equal(t, "not JSON", string(b))
	err := decodeBody(c, strings.NewReader(strings.Repeat("x", decodeLimit+1)), -1, false, &b)
	assert.ErrorIs(t, err, ErrResponseTooLarge)

	raw := json.RawMessage("untouched")
	require.NoError(t, decodeBody(c, strings.NewReader(" \n"), -1, false, &raw))
	assert.Equal(t, "untouched", string(raw), "an empty body leaves out untouched")
	for _, bad := range []string{"{", `{"a":1} x`, "<html>"} {
		err := decodeBody(c, strings.NewReader(bad), -1, false, &raw)
		assert.ErrorContains(t, err, "not valid JSON", bad)
	}
	err = decodeBody(c, strings.NewReader(`"`+strings.Repeat("x", decodeLimit)+`"`), -1, false, &raw)
	assert.ErrorIs(t, err, ErrResponseTooLarge)
}

// TestDecodedValuesDoNotShareTheBodyBuffer: a body of announced length is read into
// a buffer the next answer reuses; what was decoded from it stays as it was.
func TestDecodedValuesDoNotShareTheBodyBuffer(t *testing.T) {
	c := decodeClient(t)
	type value struct {
		S   string          `json:"s"`
		Raw json.RawMessage `json:"raw"`
		Any map[string]any  `json:"any"`
		B   []byte          `json:"b"`
	}
	first := `{"s":"1111","raw":{"k":"3333"},"any":{"x":"5555"},"b":"AAEC"}`
	second := strings.NewReplacer("1", "2", "3", "4", "5", "6", "AAEC", "AwQF").Replace(first)
	require.Len(t, second, len(first))
	var a, b value
	require.NoError(t, decodeBody(c, strings.NewReader(first), int64(len(first)), false, &a))
	require.NoError(t, decodeBody(c, strings.NewReader(second), int64(len(second)), false, &b))
	assert.Equal(t, value{S: "1111", Raw: json.RawMessage(`{"k":"3333"}`), Any: map[string]any{"x": "5555"}, B: []byte{0, 1, 2}}, a)
	assert.Equal(t, value{S: "2222", Raw: json.RawMessage(`{"k":"4444"}`), Any: map[string]any{"x": "6666"}, B: []byte{3, 4, 5}}, b)

	// Raw bytes are the caller's own too, whatever is decoded next.
	var raw json.RawMessage
	var bs []byte
	require.NoError(t, decodeBody(c, strings.NewReader(first), int64(len(first)), false, &raw))
	require.NoError(t, decodeBody(c, strings.NewReader(first), int64(len(first)), false, &bs))
	require.NoError(t, decodeBody(c, strings.NewReader(second), int64(len(second)), false, &b))
	assert.Equal(t, first, string(raw))
	assert.Equal(t, first, string(bs))
}

// TestAnnouncedLengthIsNotAllocatedUpFront: a length announced for a body that does
// not come is not what decode allocates (room grows as bytes arrive), for typed values
// and raw bytes.
func TestAnnouncedLengthIsNotAllocatedUpFront(t *testing.T) {
	c := decodeClient(t)
	c.cfg.MaxResponseBytes = DefaultMaxResponseBytes
	const announced = 48 << 20
	for _, out := range []any{new(map[string]any), new([]byte)} {
		var before, after runtime.MemStats
		runtime.ReadMemStats(&before)
		err := decodeBody(c, strings.NewReader(`{"a":1}`), announced, false, out)
		runtime.ReadMemStats(&after)
		require.NoError(t, err)
		assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(8<<20), "%T: bytes allocated for a 7-byte body announced as 48 MiB", out)
	}
}

// TestDecodeKeepsTheConnection: calls whose chunked answers end in a chunk of their
// own, after the JSON value, all use one connection.
func TestDecodeKeepsTheConnection(t *testing.T) {
	c, conns := countingConnections(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"acc-1"}`)
		w.(http.Flusher).Flush() // chunked: the end comes in a chunk of its own
		_, _ = io.WriteString(w, "\n")
	}), nil)
	for i := range 5 {
		var out struct {
			ID string `json:"id"`
		}
		_, err := c.Do(context.Background(), &Request{Method: http.MethodGet, Path: "a"}, &out)
		require.NoError(t, err)
		assert.Equal(t, "acc-1", out.ID, "call %d", i)
	}
	assert.Equal(t, int32(1), conns.Load(), "every call used the same connection")
}

// FuzzDecode compares the streaming decode with reading the whole body and
// json.Unmarshal, for any body, read whole or in pieces.
func FuzzDecode(f *testing.F) {
	for _, s := range []string{`{"a":1}`, ``, ` `, `null`, `[1,2,3]`, `{"a":1} x`, `{"a":1}}`, `1 2`, `"x`,
		`{"a":"` + strings.Repeat("y", decodeLimit) + `"}`, `{"a":1}` + strings.Repeat(" ", decodeLimit), "\xff", `{"a":[{"b":null}]}`} {
		f.Add([]byte(s), uint8(0))
		f.Add([]byte(s), uint8(3))
	}
	c := decodeClient(f)
	f.Fuzz(func(t *testing.T, body []byte, chunk uint8) {
		var r io.Reader = bytes.NewReader(body)
		if chunk > 0 {
			r = &chunkReader{r: r, n: int(chunk)}
		}
		var want any
		wantClass := oldDecode(body, &want)
		// Not announced (decoded as it arrives), announced (read into a buffer first),
		// and announced too short.
		for _, length := range []int64{-1, int64(len(body)), int64(len(body) / 2)} {
			var got any
			if length >= 0 {
				r = iotest.HalfReader(bytes.NewReader(body))
			}
			err := decodeBody(c, r, length, false, &got)
			if decodeClass(err) != wantClass {
				t.Fatalf("body %q, length %d: %q (%v), whole %q", body, length, decodeClass(err), err, wantClass)
			}
			if err == nil {
				assert.Equal(t, want, got, "length %d", length)
			}
		}

		var raw []byte
		err := decodeBody(c, bytes.NewReader(body), int64(len(body)), false, &raw)
		if len(body) > decodeLimit {
			assert.ErrorIs(t, err, ErrResponseTooLarge)
		} else {
			require.NoError(t, err)
			assert.Equal(t, string(body), string(raw))
		}
	})
}

// chunkReader returns at most n bytes per Read.
type chunkReader struct {
	r io.Reader
	n int
}

func (c *chunkReader) Read(p []byte) (int, error) {
	if len(p) > c.n {
		p = p[:c.n]
	}
	return c.r.Read(p)
}

// BenchmarkDecode is the decode step alone, for a typed value and for raw bytes.
func BenchmarkDecode(b *testing.B) {
	c := decodeClient(b)
	c.cfg.MaxResponseBytes = DefaultMaxResponseBytes
	for _, size := range []int{len(benchSmallBody), len(bench100KBody)} {
		body := benchSmallBody
		if size > len(benchSmallBody) {
			body = bench100KBody
		}
		b.Run("typed/bytes="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				var out any
				if size > len(benchSmallBody) {
					out = &[]benchAccount{}
				} else {
					out = &benchAccount{}
				}
				if err := decodeBody(c, bytes.NewReader(body), int64(size), false, out); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("raw/bytes="+strconv.Itoa(size), func(b *testing.B) {
			b.ReportAllocs()
			b.SetBytes(int64(size))
			for b.Loop() {
				var raw json.RawMessage
				if err := decodeBody(c, bytes.NewReader(body), int64(size), false, &raw); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

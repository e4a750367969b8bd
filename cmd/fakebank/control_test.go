package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// startInProcess starts the five fakes on free loopback ports and their control API
// on an httptest server.
func startInProcess(t *testing.T) (*control, *httptest.Server) {
	t.Helper()
	listeners := map[string]net.Listener{}
	for _, name := range portNames {
		ln, err := net.Listen("tcp", "127.0.0.1:0")
		require.NoError(t, err)
		listeners[name] = ln
	}
	providers, err := startProviders(startConfig{listeners: listeners, certsDir: t.TempDir(), seed: deriver{key: []byte("test")}})
	require.NoError(t, err)
	c := &control{providers: map[string]*provider{}, certsDir: "certs"}
	for _, p := range providers {
		c.providers[p.name] = p
		c.order = append(c.order, p.name)
	}
	ts := httptest.NewServer(c.handler())
	c.base = ts.URL
	t.Cleanup(func() {
		ts.Close()
		for _, p := range providers {
			p.srv.Close()
		}
	})
	return c, ts
}

type answer struct {
	status int
	header http.Header
	raw    []byte
	body   map[string]any
}

func send(t *testing.T, method, url, body string, hdr ...string) answer {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	for i := 0; i+1 < len(hdr); i += 2 {
		req.Header.Set(hdr[i], hdr[i+1])
	}
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr, Timeout: 10 * time.Second}).Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	a := answer{status: resp.StatusCode, header: resp.Header, raw: raw}
	_ = json.Unmarshal(raw, &a.body)
	return a
}

func TestControlErrorsAreJSON(t *testing.T) {
	_, ts := startInProcess(t)
	tests := []struct {
		name, method, path, body string
		status                   int
		contains                 string
	}{
		{"unknown provider", "GET", "/nope/requests", "", 404, `unknown provider "nope"`},
		{"unknown action", "GET", "/tpv/nope", "", 404, `unknown control action "nope"; one of faults, requests, reset, clock, and sessions`},
		{"unknown path", "GET", "/a/b/c", "", 404, "no control endpoint /a/b/c"},
		{"wrong method", "PUT", "/tpv/faults", "", 405, "want POST or DELETE"},
		{"unknown field", "POST", "/tpv/faults", `{"kind":"status","status":503,"sttaus":1}`, 400, `unknown field "sttaus"`},
		{"trailing data", "POST", "/tpv/faults", `{"kind":"drop-before"} {}`, 400, "trailing data"},
		{"empty body", "POST", "/tpv/faults", ``, 400, "must be a JSON object"},
		{"bad kind", "POST", "/tpv/faults", `{"kind":"explode"}`, 400, `kind "explode": want one of act-then`},
		{"too large", "POST", "/tpv/faults", `{"kind":"status","status":503,"body":"` + strings.Repeat("x", maxControlBody) + `"}`, 413, "larger than 65536 bytes"},
		{"clock backwards", "POST", "/tkey7/clock", `{"advance_ms":-5}`, 400, "advance_ms must be from 1"},
		{"clock without advance", "POST", "/tkey7/clock", `{}`, 400, "advance_ms must be from 1"},
		{"reset with fields", "POST", "/tpv/reset", `{"all":true}`, 400, "reset takes no fields"},
		{"sessions elsewhere", "POST", "/tpv/sessions", `{}`, 404, "only saltedge"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := send(t, tt.method, ts.URL+tt.path, tt.body)
			assert.Equal(t, tt.status, a.status, "%s", a.raw)
			assert.Equal(t, "application/json", a.header.Get("Content-Type"))
			require.Len(t, a.body, 1, "%s", a.raw)
			assert.Contains(t, a.body["error"], tt.contains)
		})
	}
}

func TestControlFaultsRequestsResetClock(t *testing.T) {
	c, ts := startInProcess(t)
	portal := c.providers["tpv"].srv.(*tpvtest.Server)
	a := send(t, "GET", ts.URL+"/healthz", "")
	assert.Equal(t, 200, a.status)
	assert.Equal(t, "ok", a.body["status"])

	a = send(t, "POST", ts.URL+"/tpv/faults", `{"kind":"status","status":503,"retry_after":"2","count":2,"method":"POST","path":"/api/v1/test"}`)
	require.Equal(t, 201, a.status, "%s", a.raw)
	assert.Equal(t, float64(2), a.body["count"])
	secret := portal.AppSecret()
	got := send(t, "POST", portal.URL()+tpvtest.PathTestAPI, `{"x":1}`, "Authorization", secret)
	assert.Equal(t, 503, got.status)
	assert.Equal(t, "2", got.header.Get("Retry-After"))
	got = send(t, "GET", portal.URL()+tpvtest.PathTestAPI, "")
	assert.Equal(t, 400, got.status, "the fault is for POST only")

	a = send(t, "DELETE", ts.URL+"/tpv/faults", "")
	require.Equal(t, 200, a.status)
	got = send(t, "POST", portal.URL()+tpvtest.PathTestAPI, "")
	assert.Equal(t, 400, got.status, "the second fault was dropped: %s", got.raw)

	a = send(t, "GET", ts.URL+"/tpv/requests", "")
	require.Equal(t, 200, a.status)
	assert.NotContains(t, string(a.raw), secret, "the log names headers without their values")
	var log struct{ Requests []loggedRequest }
	require.NoError(t, json.Unmarshal(a.raw, &log))
	require.Len(t, log.Requests, 3)
	first := log.Requests[0]
	assert.Equal(t, "POST", first.Method)
	assert.Equal(t, tpvtest.PathTestAPI, first.Path)
	assert.Equal(t, 7, first.BodySize)
	assert.Equal(t, "status", first.Fault)
	assert.Contains(t, first.HeaderNames, "Authorization")
	assert.Empty(t, log.Requests[1].Fault)

	a = send(t, "DELETE", ts.URL+"/tpv/requests", "")
	require.Equal(t, 200, a.status)
	assert.Empty(t, portal.Requests())

	a = send(t, "POST", ts.URL+"/tpv/clock", `{"advance_ms": 1800001}`)
	require.Equal(t, 200, a.status, "%s", a.raw)
	assert.Equal(t, float64(1800001), a.body["offset_ms"])
	now, err := time.Parse(time.RFC3339Nano, a.body["now"].(string))
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(30*time.Minute), now, time.Minute)

	a = send(t, "POST", ts.URL+"/tpv/reset", "")
	require.Equal(t, 200, a.status, "%s", a.raw)
	var info providerInfo
	require.NoError(t, json.Unmarshal(a.raw, &info))
	assert.Equal(t, portal.AppToken(), info.Credentials.Get("app_token"), "the same credentials after a reset")
	assert.Equal(t, ts.URL+"/tpv", info.Control)
	a = send(t, "GET", ts.URL+"/tpv/clock", "")
	assert.Equal(t, float64(0), a.body["offset_ms"], "reset puts the clock back")
}

func TestControlRootAndSessions(t *testing.T) {
	c, ts := startInProcess(t)
	a := send(t, "GET", ts.URL+"/", "")
	require.Equal(t, 200, a.status)
	var info startupInfo
	require.NoError(t, json.Unmarshal(a.raw, &info))
	assert.Equal(t, c.info(), info)
	assert.Equal(t, ts.URL, info.Control)
	assert.Equal(t, ts.URL+"/kh", info.Providers["kh"].Control)
	assert.NotEmpty(t, info.Providers["kh"].SCAURL)
	assert.Equal(t, controlEndpoints, info.ControlEndpoints)

	a = send(t, "POST", ts.URL+"/saltedge/sessions", `{}`)
	require.Equal(t, 201, a.status, "%s", a.raw)
	secret, _ := a.body["session_secret"].(string)
	assert.Len(t, secret, 20, "an empty secret gets a new one")
}

func TestSeedGivesTheSameCredentials(t *testing.T) {
	a, b := deriver{key: []byte("demo")}, deriver{key: []byte("demo")}
	other := deriver{key: []byte("other")}
	assert.Equal(t, a.hex("x", 40), b.hex("x", 40))
	assert.Len(t, a.hex("x", 40), 40)
	assert.NotEqual(t, a.hex("x", 40), other.hex("x", 40))
	assert.NotEqual(t, a.hex("x", 40), a.hex("y", 40), "each label gives its own value")
	assert.Len(t, a.bytes("long", 100), 100)
	assert.Equal(t, a.bytes("long", 100)[:32], a.bytes("long", 32))
	assert.Regexp(t, `^[0-9A-Za-z]{46}$`, a.alnum("tpv", 46))
	assert.Regexp(t, `^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$`, a.jwtShaped("kh", map[string]string{"sub": "app"}))

	c1, _ := startInProcess(t)
	c2, _ := startInProcess(t)
	for _, name := range providerNames {
		i1, i2 := c1.providers[name].snapshot(), c2.providers[name].snapshot()
		for _, f := range i1.Credentials {
			if strings.HasSuffix(f.Name, "_file") || f.Name == "issued_at" {
				continue
			}
			assert.Equal(t, f.Value, i2.Credentials.Get(f.Name), "%s %s", name, f.Name)
		}
	}
}

func TestHelpDocumentsEveryFlagAndTheControlAPI(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-h"}, &out, &errOut)
	assert.Equal(t, exitOK, code)
	for _, f := range []string{"-addr", "-ports", "-tkey7-port", "-tpv-port", "-kh-port", "-kh-sca-port", "-obp-port",
		"-saltedge-port", "-control", "-seed", "-certs-dir", "-json"} {
		assert.Regexp(t, `\n  `+f+`[ \n]`, errOut.String(), "the help documents %s", f)
	}
	for _, e := range []string{"POST /{provider}/faults", "GET  /{provider}/requests", "POST /{provider}/reset",
		"POST /{provider}/clock", "act-then-oversized"} {
		assert.Contains(t, errOut.String(), e)
	}
}

func TestUsageErrors(t *testing.T) {
	for _, args := range [][]string{{"-ports", "65530"}, {"-tpv-port", "-1"}, {"-tkey7-port", "70000"}, {"extra"}, {"-addr", ""}, {"-nope"}} {
		var out, errOut bytes.Buffer
		assert.Equal(t, exitUsage, run(context.Background(), args, &out, &errOut), "%v", args)
		assert.NotEmpty(t, errOut.String(), "%v", args)
	}
}

func TestPortsAndPortInUse(t *testing.T) {
	o, err := parseFlags([]string{"-ports", "9000", "-kh-port", "9100"}, io.Discard)
	require.NoError(t, err)
	assert.Equal(t, 9000, *o.ports["tkey7"])
	assert.Equal(t, 9001, *o.ports["tpv"])
	assert.Equal(t, 9100, *o.ports["kh"], "a -<provider>-port overrides -ports")
	assert.Equal(t, 9003, *o.ports["kh-sca"])
	assert.Equal(t, 9005, *o.ports["saltedge"])
	assert.Equal(t, "127.0.0.1:9006", o.control)

	busy, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer busy.Close()
	port := busy.Addr().(*net.TCPAddr).Port
	var out, errOut bytes.Buffer
	code := run(context.Background(), []string{"-obp-port", itoa(port)}, &out, &errOut)
	assert.Equal(t, exitError, code)
	assert.Contains(t, errOut.String(), "fakebank: obp: listen tcp 127.0.0.1:"+itoa(port))
	assert.Empty(t, out.String())
}

func itoa(n int) string { b, _ := json.Marshal(n); return string(b) }

func TestPrintInfo(t *testing.T) {
	var out bytes.Buffer
	printInfo(&out, startupInfo{Control: "http://127.0.0.1:8080", CertsDir: "/tmp/certs", Providers: map[string]*providerInfo{
		"tpv": {URL: "http://127.0.0.1:8082", Control: "http://127.0.0.1:8080/tpv", Credentials: fields{{"app_token", "APx"}, {"app_secret", "s"}}},
	}})
	assert.Equal(t, `fakebank: banksdk's fake provider servers (test credentials only)

tpv           http://127.0.0.1:8082
  app_token   APx
  app_secret  s
  control     http://127.0.0.1:8080/tpv

control API  http://127.0.0.1:8080 (GET / answers all of the above as JSON)
key files    /tmp/certs
`, out.String())
}

func TestParseFault(t *testing.T) {
	n, f, spec, err := parseFault([]byte(`{"kind":"act-then","status":504,"method":"POST","path":"/api/v1/tpv"}`))
	require.NoError(t, err)
	assert.Equal(t, 1, n)
	assert.Equal(t, fake.ActThen(504, "").On("POST", "/api/v1/tpv"), f)
	assert.Equal(t, 1, spec.Count)

	n, f, _, err = parseFault([]byte(`{"kind":"delay","delay_ms":250,"count":3}`))
	require.NoError(t, err)
	assert.Equal(t, 3, n)
	assert.Equal(t, fake.Delay(250*time.Millisecond).On("", ""), f)

	_, f, _, err = parseFault([]byte(`{"kind":"status","status":429,"retry_after":"1","body":"{}"}`))
	require.NoError(t, err)
	assert.Equal(t, fake.Status(429, "{}").WithRetryAfter("1").On("", ""), f)
	_, f, _, err = parseFault([]byte(`{"kind":"act-then-oversized","size":2048}`))
	require.NoError(t, err)
	assert.Equal(t, fake.ActThenOversized(2048).On("", ""), f)

	for body, msg := range map[string]string{
		`{"kind":"status"}`:                                        "needs a status from 100 to 599",
		`{"kind":"status","status":600}`:                           "needs a status from 100 to 599",
		`{"kind":"drop-after","status":503}`:                       "apply to kinds status and act-then only",
		`{"kind":"malformed","body":"x"}`:                          "apply to kinds status and act-then only",
		`{"kind":"delay"}`:                                         "needs delay_ms from 1",
		`{"kind":"delay","delay_ms":600001}`:                       "needs delay_ms from 1",
		`{"kind":"status","status":503,"delay_ms":1}`:              "delay_ms applies to kind delay only",
		`{"kind":"oversized"}`:                                     "needs a size from 1",
		`{"kind":"cut-body","size":5}`:                             "size applies to kinds oversized",
		`{"kind":"drop-before","count":-1}`:                        "count must be from 1",
		`{"kind":"drop-before","count":1000001}`:                   "count must be from 1",
		`{"kind":"drop-before","method":"post"}`:                   "method must be an HTTP method",
		`{"kind":"drop-before","path":"api"}`:                      "path must be a path prefix",
		`{"kind":"drop-before","path":"/a\nb"}`:                    "path must be a path prefix",
		`{"kind":"status","status":503,"retry_after":"1\r\nX: y"}`: "retry_after must be printable ASCII",
		`[]`:                "invalid JSON body",
		`{"kind":"status",`: "invalid JSON body",
	} {
		_, _, _, err := parseFault([]byte(body))
		if assert.Error(t, err, body) {
			assert.Contains(t, err.Error(), msg, body)
		}
	}
}

// FuzzParseFault: a fault request from outside never panics, and one accepted is
// accepted again as the answer echoes it, with the same fault.
func FuzzParseFault(f *testing.F) {
	for _, seed := range []string{
		`{"kind":"act-then","status":504,"method":"POST","path":"/api/v1/tpv"}`,
		`{"kind":"status","status":503,"retry_after":"1","body":"{\"error\":\"busy\"}","count":2}`,
		`{"kind":"delay","delay_ms":100}`, `{"kind":"oversized","size":1000}`, `{"kind":"cut-body"}`,
		`{"kind":"drop-before","count":0}`, `{"kind":"x"}`, `{}`, `null`, `[]`, `{"kind":"status","status":1e3}`,
		`{"kind":"drop-after"}{"kind":"drop-after"}`, "{\"kind\":\"malformed\",\"path\":\"/\\u0000\"}",
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		n, fault, spec, err := parseFault(body)
		if err != nil {
			return
		}
		require.GreaterOrEqual(t, n, 1)
		require.LessOrEqual(t, n, maxFaultCount)
		again, err := json.Marshal(spec)
		require.NoError(t, err)
		n2, fault2, _, err := parseFault(again)
		require.NoError(t, err, "%s", again)
		assert.Equal(t, n, n2)
		assert.Equal(t, fault, fault2)
	})
}

func TestParseAdvance(t *testing.T) {
	d, err := parseAdvance([]byte(`{"advance_ms": 900000}`))
	require.NoError(t, err)
	assert.Equal(t, 15*time.Minute, d)
	for _, body := range []string{`{"advance_ms":0}`, `{"advance_ms":-1}`, `{}`, `{"advance_ms":"1"}`, `{"advance_ms":1,"x":1}`,
		`{"advance_ms":999999999999999}`} {
		_, err := parseAdvance([]byte(body))
		assert.Error(t, err, body)
	}
}

// FuzzFieldsJSON: the credentials object of the startup output reads back what it
// wrote, in order, and never panics on other input.
func FuzzFieldsJSON(f *testing.F) {
	for _, seed := range []string{`{"app_token":"APx","app_secret":"s"}`, `{}`, `{"a":1}`, `[]`, `{"a":"b"`, `{"a":"\u00e9","a":"x"}`} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		var fs fields
		if err := json.Unmarshal(b, &fs); err != nil {
			return
		}
		out, err := json.Marshal(fs)
		require.NoError(t, err)
		var again fields
		require.NoError(t, json.Unmarshal(out, &again), "%s", out)
		assert.Equal(t, len(fs), len(again))
		for i := range fs {
			assert.Equal(t, fs[i], again[i])
		}
	})
}

// TestRequestLogRedactsCredentialsInTheQuery: TPV's login carries its application token
// and signature in the query; the log keeps the parameters and their order, with those
// values redacted, and every other value as it arrived.
func TestRequestLogRedactsCredentialsInTheQuery(t *testing.T) {
	for raw, want := range map[string]string{
		"token=app-123&timestamp=1700000000&_signature=abcdef": "token=[REDACTED]&timestamp=1700000000&_signature=[REDACTED]",
		"page=2&Auth_Token=x%20y&q=token":                      "page=2&Auth_Token=[REDACTED]&q=token",
		"%5Fsignature=s&flag":                                  "%5Fsignature=[REDACTED]&flag",
		"":                                                     "",
	} {
		assert.Equal(t, want, redactQuery(raw), "%q", raw)
	}
	got := logOf([]fake.Request{{Method: "GET", Path: "/login", RawQuery: "token=app-123&timestamp=1&_signature=abcdef"}})
	require.Len(t, got, 1)
	assert.Equal(t, "token=[REDACTED]&timestamp=1&_signature=[REDACTED]", got[0].Query)
}

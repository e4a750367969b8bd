package main

import (
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
)

// maxControlBody caps the body of a control request.
const maxControlBody = 64 << 10

// Limits of a fault request.
const (
	maxFaultCount = 1_000_000
	maxDelay      = 10 * time.Minute
	maxSize       = 64 << 20
	maxAdvance    = 10 * 366 * 24 * time.Hour
)

// startupInfo is the startup output and the answer to GET /.
type startupInfo struct {
	Control          string                   `json:"control"`
	CertsDir         string                   `json:"certs_dir"`
	Providers        map[string]*providerInfo `json:"providers"`
	ControlEndpoints []string                 `json:"control_endpoints"`
}

// controlEndpoints documents the control API in GET / and -h.
var controlEndpoints = []string{
	"GET  /                          this document",
	"GET  /healthz                   {\"status\":\"ok\"}",
	"POST /{provider}/faults         inject a fault: {\"kind\":\"status\",\"status\":503,\"count\":1,\"method\":\"POST\",\"path\":\"/api/v1/tpv\"}",
	"DELETE /{provider}/faults       drop the faults not yet taken",
	"GET  /{provider}/requests       the request log (method, path, query without credential values, header names, body size, fault)",
	"DELETE /{provider}/requests     empty the request log",
	"POST /{provider}/reset          state, faults, log and clock back to the start (same credentials)",
	"GET  /{provider}/clock          the fake's time",
	"POST /{provider}/clock          move the fake's clock: {\"advance_ms\":900000}",
	"POST /saltedge/sessions         open a session for callbacks: {\"session_secret\":\"...\"}",
}

// control serves the control API.
type control struct {
	providers map[string]*provider
	order     []string
	base      string // the control API's URL
	certsDir  string
}

func (c *control) info() startupInfo {
	out := startupInfo{Control: c.base, CertsDir: c.certsDir, Providers: map[string]*providerInfo{},
		ControlEndpoints: controlEndpoints}
	for _, name := range c.order {
		info := c.providers[name].snapshot()
		info.Control = c.base + "/" + name
		out.Providers[name] = &info
	}
	return out
}

func (c *control) handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/{$}", func(w http.ResponseWriter, r *http.Request) {
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		writeJSON(w, http.StatusOK, c.info())
	})
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, r *http.Request) {
		if !allow(w, r, http.MethodGet, http.MethodHead) {
			return
		}
		writeJSON(w, http.StatusOK, map[string]string{"status": "ok"})
	})
	mux.HandleFunc("/{provider}/{action}", c.serveProvider)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		writeError(w, http.StatusNotFound, "no control endpoint "+r.URL.Path+"; GET / lists them")
	})
	return mux
}

func (c *control) serveProvider(w http.ResponseWriter, r *http.Request) {
	p, ok := c.providers[r.PathValue("provider")]
	if !ok {
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown provider %q; one of %s", r.PathValue("provider"), strings.Join(c.order, ", ")))
		return
	}
	switch action := r.PathValue("action"); action {
	case "faults":
		if !allow(w, r, http.MethodPost, http.MethodDelete) {
			return
		}
		if r.Method == http.MethodDelete {
			p.srv.ClearFaults()
			writeJSON(w, http.StatusOK, map[string]any{"faults": "cleared"})
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		n, f, spec, err := parseFault(body)
		if err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		p.srv.Inject(n, f)
		writeJSON(w, http.StatusCreated, spec)
	case "requests":
		if !allow(w, r, http.MethodGet, http.MethodDelete) {
			return
		}
		if r.Method == http.MethodDelete {
			p.srv.ResetRequests()
			writeJSON(w, http.StatusOK, map[string]any{"requests": []loggedRequest{}})
			return
		}
		writeJSON(w, http.StatusOK, map[string]any{"requests": logOf(p.srv.Requests())})
	case "reset":
		if !allow(w, r, http.MethodPost) {
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		if len(strings.TrimSpace(string(body))) > 0 {
			if err := decodeStrict(body, &struct{}{}); err != nil {
				writeError(w, http.StatusBadRequest, "reset takes no fields: "+err.Error())
				return
			}
		}
		p.reset()
		info := p.snapshot()
		info.Control = c.base + "/" + p.name
		writeJSON(w, http.StatusOK, info)
	case "clock":
		if !allow(w, r, http.MethodGet, http.MethodPost) {
			return
		}
		if r.Method == http.MethodPost {
			body, ok := readBody(w, r)
			if !ok {
				return
			}
			d, err := parseAdvance(body)
			if err != nil {
				writeError(w, http.StatusBadRequest, err.Error())
				return
			}
			p.clock.Advance(d)
		}
		writeJSON(w, http.StatusOK, clockAnswer{Now: p.clock.Now().UTC(), OffsetMS: p.clock.Offset().Milliseconds()})
	case "sessions":
		se, ok := p.srv.(*saltedgetest.Server)
		if !ok {
			writeError(w, http.StatusNotFound, p.name+" has no sessions endpoint; only saltedge does")
			return
		}
		if !allow(w, r, http.MethodPost) {
			return
		}
		body, ok := readBody(w, r)
		if !ok {
			return
		}
		var req struct {
			SessionSecret string `json:"session_secret"`
		}
		if err := decodeStrict(body, &req); err != nil {
			writeError(w, http.StatusBadRequest, err.Error())
			return
		}
		if req.SessionSecret == "" {
			req.SessionSecret = saltedgetest.NewSessionSecret()
		}
		se.OpenSession(req.SessionSecret)
		writeJSON(w, http.StatusCreated, req)
	default:
		writeError(w, http.StatusNotFound, fmt.Sprintf("unknown control action %q; one of faults, requests, reset, clock, and sessions for saltedge", action))
	}
}

// clockAnswer is the answer of GET and POST /{provider}/clock.
type clockAnswer struct {
	Now      time.Time `json:"now"`
	OffsetMS int64     `json:"offset_ms"`
}

// loggedRequest is one request of the log, without header values or body: the names
// and the size say what arrived, and the credentials stay out of the answer. The query
// is kept with the values of its credential parameters (secretParams) redacted.
type loggedRequest struct {
	Time        time.Time `json:"time"`
	Method      string    `json:"method"`
	Path        string    `json:"path"`
	Query       string    `json:"query,omitempty"`
	HeaderNames []string  `json:"header_names"`
	BodySize    int       `json:"body_size"`
	Fault       string    `json:"fault,omitempty"`
}

func logOf(reqs []fake.Request) []loggedRequest {
	out := make([]loggedRequest, 0, len(reqs))
	for _, r := range reqs {
		names := r.HeaderNames()
		if r.RawHeaders == nil { // over TLS: the parsed header's names
			names = make([]string, 0, len(r.Header))
			for k := range r.Header {
				names = append(names, k)
			}
			sort.Strings(names)
		}
		out = append(out, loggedRequest{Time: r.Time.UTC(), Method: r.Method, Path: r.Path, Query: redactQuery(r.RawQuery),
			HeaderNames: names, BodySize: len(r.Body), Fault: r.Fault})
	}
	return out
}

// secretParams are the query parameters whose values the request log leaves out: TPV's
// login carries its application token and signature in the query.
var secretParams = map[string]bool{"token": true, "_signature": true, "signature": true, "auth_token": true,
	"access_token": true, "app_token": true, "client_secret": true, "password": true}

// redactQuery returns the raw query with the value of every parameter named in
// secretParams replaced by [REDACTED]; the other parameters stay as they arrived.
func redactQuery(raw string) string {
	if raw == "" {
		return ""
	}
	parts := strings.Split(raw, "&")
	for i, p := range parts {
		rawName, _, hasValue := strings.Cut(p, "=")
		name, err := url.QueryUnescape(rawName)
		if err != nil {
			name = rawName
		}
		if hasValue && secretParams[strings.ToLower(name)] {
			parts[i] = rawName + "=[REDACTED]"
		}
	}
	return strings.Join(parts, "&")
}

// faultSpec is the body of POST /{provider}/faults.
type faultSpec struct {
	Kind       string `json:"kind"`
	Status     int    `json:"status,omitempty"`
	RetryAfter string `json:"retry_after,omitempty"`
	Body       string `json:"body,omitempty"`
	DelayMS    int64  `json:"delay_ms,omitempty"`
	Size       int    `json:"size,omitempty"`
	Count      int    `json:"count,omitempty"`
	Method     string `json:"method,omitempty"`
	Path       string `json:"path,omitempty"`
}

// faultKinds are the kinds a fault request may name, with what each takes.
var faultKinds = map[string]struct{ status, size, delay bool }{
	"status":             {status: true},
	"drop-before":        {},
	"drop-after":         {},
	"delay":              {delay: true},
	"malformed":          {},
	"oversized":          {size: true},
	"act-then":           {status: true},
	"act-then-status":    {status: true},
	"cut-body":           {},
	"act-then-malformed": {},
	"act-then-oversized": {size: true},
}

// parseFault reads and checks a fault request and returns how many requests take
// the fault, the fault, and the request as understood (count filled in).
func parseFault(body []byte) (int, fake.Fault, faultSpec, error) {
	var s faultSpec
	if err := decodeStrict(body, &s); err != nil {
		return 0, fake.Fault{}, s, err
	}
	takes, ok := faultKinds[s.Kind]
	if !ok {
		kinds := make([]string, 0, len(faultKinds))
		for k := range faultKinds {
			kinds = append(kinds, k)
		}
		sort.Strings(kinds)
		return 0, fake.Fault{}, s, fmt.Errorf("kind %q: want one of %s", s.Kind, strings.Join(kinds, ", "))
	}
	switch {
	case takes.status && (s.Status < 100 || s.Status > 599):
		return 0, fake.Fault{}, s, fmt.Errorf("kind %s needs a status from 100 to 599", s.Kind)
	case !takes.status && (s.Status != 0 || s.RetryAfter != "" || s.Body != ""):
		return 0, fake.Fault{}, s, fmt.Errorf("status, retry_after and body apply to kinds status and act-then only, not %s", s.Kind)
	case takes.delay && (s.DelayMS <= 0 || time.Duration(s.DelayMS) > maxDelay/time.Millisecond):
		return 0, fake.Fault{}, s, fmt.Errorf("kind delay needs delay_ms from 1 to %d", maxDelay.Milliseconds())
	case !takes.delay && s.DelayMS != 0:
		return 0, fake.Fault{}, s, fmt.Errorf("delay_ms applies to kind delay only, not %s", s.Kind)
	case takes.size && (s.Size <= 0 || s.Size > maxSize):
		return 0, fake.Fault{}, s, fmt.Errorf("kind %s needs a size from 1 to %d", s.Kind, maxSize)
	case !takes.size && s.Size != 0:
		return 0, fake.Fault{}, s, fmt.Errorf("size applies to kinds oversized and act-then-oversized only, not %s", s.Kind)
	case s.Count < 0 || s.Count > maxFaultCount:
		return 0, fake.Fault{}, s, fmt.Errorf("count must be from 1 to %d (default 1)", maxFaultCount)
	case !isHeaderValue(s.RetryAfter):
		return 0, fake.Fault{}, s, errors.New("retry_after must be printable ASCII")
	case !isMethod(s.Method):
		return 0, fake.Fault{}, s, errors.New(`method must be an HTTP method in capitals such as "POST", or "" for any`)
	case s.Path != "" && (!strings.HasPrefix(s.Path, "/") || len(s.Path) > 2048 || !isPrintable(s.Path)):
		return 0, fake.Fault{}, s, errors.New(`path must be a path prefix starting with "/", or "" for any`)
	}
	if s.Count == 0 {
		s.Count = 1
	}
	var f fake.Fault
	switch s.Kind {
	case "status":
		f = fake.Status(s.Status, s.Body)
	case "drop-before":
		f = fake.DropBefore()
	case "drop-after":
		f = fake.DropAfter()
	case "delay":
		f = fake.Delay(time.Duration(s.DelayMS) * time.Millisecond)
	case "malformed":
		f = fake.Malformed()
	case "oversized":
		f = fake.Oversized(s.Size)
	case "act-then", "act-then-status":
		f = fake.ActThen(s.Status, s.Body)
	case "cut-body":
		f = fake.CutBody()
	case "act-then-malformed":
		f = fake.ActThenMalformed()
	case "act-then-oversized":
		f = fake.ActThenOversized(s.Size)
	}
	if s.RetryAfter != "" {
		f = f.WithRetryAfter(s.RetryAfter)
	}
	return s.Count, f.On(s.Method, s.Path), s, nil
}

// parseAdvance reads the body of POST /{provider}/clock.
func parseAdvance(body []byte) (time.Duration, error) {
	var req struct {
		AdvanceMS *int64 `json:"advance_ms"`
	}
	if err := decodeStrict(body, &req); err != nil {
		return 0, err
	}
	if req.AdvanceMS == nil || *req.AdvanceMS <= 0 || *req.AdvanceMS > maxAdvance.Milliseconds() {
		return 0, fmt.Errorf("advance_ms must be from 1 to %d (the clock only moves forward; POST reset puts it back)", maxAdvance.Milliseconds())
	}
	return time.Duration(*req.AdvanceMS) * time.Millisecond, nil
}

// decodeStrict decodes one JSON object into v: unknown fields and trailing data are
// errors.
func decodeStrict(body []byte, v any) error {
	dec := json.NewDecoder(strings.NewReader(string(body)))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		if errors.Is(err, io.EOF) {
			return errors.New("the body must be a JSON object")
		}
		return fmt.Errorf("invalid JSON body: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("invalid JSON body: trailing data after the object")
	}
	return nil
}

// readBody reads a size-limited request body, answering 413 itself when it is too
// large.
func readBody(w http.ResponseWriter, r *http.Request) ([]byte, bool) {
	body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, maxControlBody))
	if err != nil {
		var tooBig *http.MaxBytesError
		if errors.As(err, &tooBig) {
			writeError(w, http.StatusRequestEntityTooLarge, fmt.Sprintf("the body is larger than %d bytes", maxControlBody))
			return nil, false
		}
		writeError(w, http.StatusBadRequest, "reading the body: "+err.Error())
		return nil, false
	}
	return body, true
}

func isMethod(m string) bool {
	if len(m) > 20 {
		return false
	}
	for _, c := range m {
		if c < 'A' || c > 'Z' {
			return false
		}
	}
	return true
}

func isHeaderValue(v string) bool { return isPrintable(v) }

func isPrintable(v string) bool {
	for _, c := range []byte(v) {
		if c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}

func allow(w http.ResponseWriter, r *http.Request, methods ...string) bool {
	if slices.Contains(methods, r.Method) {
		return true
	}
	w.Header().Set("Allow", strings.Join(methods, ", "))
	writeError(w, http.StatusMethodNotAllowed, fmt.Sprintf("%s %s: want %s", r.Method, r.URL.Path, strings.Join(methods, " or ")))
	return false
}

func writeError(w http.ResponseWriter, status int, msg string) {
	writeJSON(w, status, map[string]string{"error": msg})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error":"encoding the answer failed"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

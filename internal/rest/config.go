package rest

import (
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/banksdk/banksdk"
)

// Version is the SDK version sent in the User-Agent header: banksdk.Version, so that
// it is declared in one place.
const Version = banksdk.Version

// Defaults shared by every provider client.
const (
	DefaultTimeout          = 30 * time.Second
	DefaultRetryMax         = 3
	DefaultRetryWaitMin     = 200 * time.Millisecond
	DefaultRetryWaitMax     = 10 * time.Second
	DefaultMaxResponseBytes = 64 << 20
	// MaxErrorBodyBytes is how much of an error body is read and handed to DecodeError.
	MaxErrorBodyBytes = 1 << 20
)

// Config is everything a provider client hands to New. Build it with DefaultConfig and
// change it through the setters, which validate, so that every provider package's
// common options (WithBaseURL, WithTimeout, ...) share one implementation.
type Config struct {
	// Provider names the API in logs and errors ("tpv", "kh", ...).
	Provider string
	// BaseURL is the API root every Request.Path is relative to. Required.
	BaseURL string
	// HTTPClient supplies the Transport that carries every attempt (default: a clone
	// of http.DefaultTransport) and the cookie Jar, if any. It is never mutated; its
	// Timeout and CheckRedirect are not used (Timeout applies per attempt, and
	// redirects are never followed).
	HTTPClient *http.Client
	// Timeout bounds each attempt (dial, request, answer and body). The caller's ctx
	// bounds the whole call, retries included.
	Timeout time.Duration
	// RetryMax is the number of retries after the first attempt.
	RetryMax int
	// RetryWaitMin and RetryWaitMax bound the jittered backoff and cap Retry-After.
	RetryWaitMin, RetryWaitMax time.Duration
	// Logger receives one debug line per attempt: method, host, path, status, attempt,
	// duration, request id. Never query strings, headers or bodies.
	Logger *slog.Logger
	// UserAgent is the full User-Agent value; SetUserAgent appends an application.
	UserAgent string
	// Authorizer signs every attempt; a Request may carry its own.
	Authorizer Authorizer
	// DecodeError turns a non-2xx answer into the provider's typed error. body holds at
	// most MaxErrorBodyBytes. Nil: *HTTPError.
	DecodeError func(resp *http.Response, body []byte) error
	// CredentialRejected classifies an error answer: true means the provider refused
	// the credential the attempt carried (expired, revoked, unknown). It must be a
	// pure function of the answer; what follows is decided by the request's
	// Authorizer through Renewer. It is not asked about an answer that leaves the
	// outcome of a request that changes state unknown (500, 502, 503 without
	// Retry-After, 504): such a request is never replayed.
	CredentialRejected func(resp *http.Response, apiErr error) bool
	// MaxResponseBytes limits a decoded success body.
	MaxResponseBytes int64
	// AllowInsecureHTTP permits a plain-http base URL that is not loopback.
	AllowInsecureHTTP bool
	// RequestIDHeaders are the response (then request) headers whose value identifies
	// a call for support: it is logged, returned in Response and in errors.
	RequestIDHeaders []string
	// TLSClientConfig, when set, is used for every connection (client certificates,
	// root CAs). It requires the transport to be an *http.Transport.
	TLSClientConfig *tls.Config
	// HTTP1Only disables HTTP/2 (some servers match header names case-sensitively,
	// and HTTP/2 lowercases them).
	HTTP1Only bool
}

// DefaultConfig returns the defaults for provider.
func DefaultConfig(provider string) Config {
	return Config{
		Provider:         provider,
		Timeout:          DefaultTimeout,
		RetryMax:         DefaultRetryMax,
		RetryWaitMin:     DefaultRetryWaitMin,
		RetryWaitMax:     DefaultRetryWaitMax,
		Logger:           slog.New(slog.DiscardHandler),
		UserAgent:        "banksdk-go/" + Version,
		MaxResponseBytes: DefaultMaxResponseBytes,
	}
}

// SetBaseURL validates and sets the base URL. It must be absolute http(s) with a host,
// without query, fragment or user information. Whether plain http is allowed is
// checked by New, once every option has been applied.
func (c *Config) SetBaseURL(raw string) error {
	if raw == "" {
		return errors.New("base URL: must not be empty")
	}
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("base URL: %w", err)
	}
	if u.Scheme != "https" && u.Scheme != "http" {
		return fmt.Errorf("base URL %q: scheme must be https (or http for loopback)", redactURL(u))
	}
	if u.Host == "" {
		return fmt.Errorf("base URL %q: host is missing", redactURL(u))
	}
	if u.User != nil {
		return errors.New("base URL: must not contain user information")
	}
	if u.RawQuery != "" || u.Fragment != "" {
		return errors.New("base URL: must not contain a query or fragment")
	}
	c.BaseURL = raw
	return nil
}

// SetHTTPClient sets the HTTP client to copy. It must not be nil.
func (c *Config) SetHTTPClient(hc *http.Client) error {
	if hc == nil {
		return errors.New("HTTP client: must not be nil")
	}
	c.HTTPClient = hc
	return nil
}

// SetTimeout sets the per-attempt timeout; it must be positive.
func (c *Config) SetTimeout(d time.Duration) error {
	if d <= 0 {
		return fmt.Errorf("timeout: must be positive, got %v", d)
	}
	c.Timeout = d
	return nil
}

// SetRetry sets the retry budget and backoff bounds: max >= 0 (0 disables retries),
// 0 < waitMin <= waitMax.
func (c *Config) SetRetry(max int, waitMin, waitMax time.Duration) error {
	switch {
	case max < 0:
		return fmt.Errorf("retry: max must be >= 0, got %d", max)
	case waitMin <= 0:
		return fmt.Errorf("retry: waitMin must be positive, got %v", waitMin)
	case waitMax < waitMin:
		return fmt.Errorf("retry: waitMax (%v) must be >= waitMin (%v)", waitMax, waitMin)
	}
	c.RetryMax, c.RetryWaitMin, c.RetryWaitMax = max, waitMin, waitMax
	return nil
}

// SetLogger sets the logger; it must not be nil.
func (c *Config) SetLogger(l *slog.Logger) error {
	if l == nil {
		return errors.New("logger: must not be nil (use slog.New(slog.DiscardHandler) to silence)")
	}
	c.Logger = l
	return nil
}

// SetUserAgent appends app (e.g. "myapp/1.2") to the SDK's User-Agent.
func (c *Config) SetUserAgent(app string) error {
	app = strings.TrimSpace(app)
	if app == "" {
		return errors.New("user agent: must not be empty")
	}
	for _, r := range app {
		if r < 0x20 || r == 0x7f {
			return errors.New("user agent: must not contain control characters")
		}
	}
	c.UserAgent = "banksdk-go/" + Version + " " + app
	return nil
}

// SetMaxResponseBytes limits decoded success bodies; it must be positive.
func (c *Config) SetMaxResponseBytes(n int64) error {
	if n <= 0 {
		return fmt.Errorf("max response bytes: must be positive, got %d", n)
	}
	c.MaxResponseBytes = n
	return nil
}

// CallTimeout is the longest one call can take through the pipeline: every attempt
// running out its timeout, with the longest backoff between them. It bounds work that
// runs a call on behalf of many callers (a login behind a token cache), so that it
// neither hangs nor gives up before the pipeline does.
func (c Config) CallTimeout() time.Duration {
	return c.Timeout*time.Duration(c.RetryMax+1) + c.RetryWaitMax*time.Duration(c.RetryMax)
}

func (c *Config) validate() (*url.URL, error) {
	if c.BaseURL == "" {
		return nil, errors.New("base URL: required")
	}
	if err := c.SetBaseURL(c.BaseURL); err != nil {
		return nil, err
	}
	u, _ := url.Parse(c.BaseURL)
	if u.Scheme == "http" && !c.AllowInsecureHTTP && !isLoopback(u.Hostname()) {
		return nil, fmt.Errorf("base URL %q: plain http is only allowed for loopback hosts unless insecure HTTP is enabled explicitly", redactURL(u))
	}
	if c.Timeout <= 0 {
		return nil, errors.New("timeout: must be positive")
	}
	if c.RetryMax < 0 || c.RetryWaitMin <= 0 || c.RetryWaitMax < c.RetryWaitMin {
		return nil, errors.New("retry: invalid bounds")
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.MaxResponseBytes <= 0 {
		c.MaxResponseBytes = DefaultMaxResponseBytes
	}
	if c.UserAgent == "" {
		c.UserAgent = "banksdk-go/" + Version
	}
	return u, nil
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// buildTransport sets up at from the configured HTTP client: its transport (a clone
// of http.DefaultTransport when it has none) and its cookie jar. Its Timeout and
// CheckRedirect play no part: the attempt transport applies Timeout per attempt,
// after authorisation, and redirects are never followed (the attempt transport would
// authorise the redirected request too, and a credential must not travel to another
// location). own reports that the base transport is a clone made here.
func (c *Config) buildTransport(at *attemptTransport) (own bool, _ error) {
	var base http.RoundTripper
	if c.HTTPClient != nil {
		base, at.jar = c.HTTPClient.Transport, c.HTTPClient.Jar
	}
	if base == nil {
		base = http.DefaultTransport
		own = true // cloned below
	}
	if c.TLSClientConfig != nil || c.HTTP1Only || own {
		t, ok := base.(*http.Transport)
		if !ok {
			return false, errors.New("HTTP client: TLS and protocol options need the transport to be an *http.Transport")
		}
		t = t.Clone()
		own = true
		if c.TLSClientConfig != nil {
			t.TLSClientConfig = c.TLSClientConfig.Clone()
		}
		if c.HTTP1Only {
			var p http.Protocols
			p.SetHTTP1(true)
			t.Protocols = &p
			t.ForceAttemptHTTP2 = false
			t.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
			// Clone copies an "h2" ALPN offer from a transport that already spoke
			// HTTP/2; the server would then choose HTTP/2 on our HTTP/1.1 connection.
			if t.TLSClientConfig == nil {
				t.TLSClientConfig = &tls.Config{MinVersion: tls.VersionTLS12}
			}
			t.TLSClientConfig.NextProtos = slices.DeleteFunc(slices.Clone(t.TLSClientConfig.NextProtos), func(p string) bool { return p == "h2" })
		}
		base = t
	}
	at.base = base
	if t, ok := base.(*http.Transport); ok {
		// net/http resends a GET, HEAD or OPTIONS by itself when a kept-alive connection
		// turns out to be dead, even after the server got it. Requests marked
		// non-idempotent take fresh connections, which it never resends on.
		fresh := t.Clone()
		fresh.DisableKeepAlives = true
		at.fresh = fresh
	}
	return own, nil
}

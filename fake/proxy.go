package fake

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/http"
	"net/http/httputil"
	"net/url"
)

// WithUpstreamTransport sets the transport NewBreakingProxy forwards requests with, e.g.
// one that presents a client certificate and trusts the target's certificate authority
// for an HTTPS target. The default is a clone of http.DefaultTransport limited to
// HTTP/1.1. Start ignores it.
func WithUpstreamTransport(rt http.RoundTripper) Option {
	return func(c *serverConfig) { c.upstream = rt }
}

// NewBreakingProxy starts a reverse proxy in front of target (a base URL: a provider
// fake's URL, or your own server's) with the request log and fault injection of Start.
// A fault injected into the proxy acts where a gateway would:
//
//   - ActThen, CutBody, ActThenMalformed, ActThenOversized and DropAfter forward the
//     request, so the server acts, and then break its answer on the way back;
//   - Status, DropBefore, Malformed and Oversized answer without forwarding, so the
//     server never sees the request;
//   - Delay waits, then forwards.
//
// A request without a fault passes through unchanged. Requests() lists what reached
// the proxy; the target's own log shows what it received. The proxy keeps the Host
// header the client sent, so links the target builds from it point back through the
// proxy, and over plain HTTP it forwards header names with the casing they arrived
// with (net/http would canonicalise them). WithTLS serves HTTPS with the given
// configuration; WithUpstreamTransport sets how the proxy reaches target.
//
// It returns an error when target is not an absolute http or https URL with a host,
// without query, fragment or user information.
func NewBreakingProxy(target string, opts ...Option) (*Server, error) {
	u, err := url.Parse(target)
	switch {
	case err != nil:
		return nil, fmt.Errorf("fake: proxy target: %w", err)
	case u.Scheme != "http" && u.Scheme != "https":
		return nil, errors.New("fake: proxy target: scheme must be http or https")
	case u.Host == "":
		return nil, errors.New("fake: proxy target: host is missing")
	case u.User != nil || u.RawQuery != "" || u.Fragment != "":
		return nil, errors.New("fake: proxy target: must not carry user information, a query or a fragment")
	}
	var cfg serverConfig
	for _, o := range opts {
		o(&cfg)
	}
	upstream := cfg.upstream
	var own *http.Transport
	if upstream == nil {
		own = http.DefaultTransport.(*http.Transport).Clone()
		// HTTP/2 would lowercase header names that servers match case-sensitively.
		own.ForceAttemptHTTP2 = false
		own.TLSNextProto = map[string]func(string, *tls.Conn) http.RoundTripper{}
		upstream = own
	}
	rp := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			pr.SetURL(u)
			pr.Out.Host = pr.In.Host
			restoreHeaderCase(pr.In, pr.Out.Header)
		},
		Transport: upstream,
		ErrorHandler: func(w http.ResponseWriter, _ *http.Request, _ error) {
			w.WriteHeader(http.StatusBadGateway)
		},
	}
	s := Start(rp, opts...)
	if own != nil {
		s.closers = append(s.closers, own.CloseIdleConnections)
	}
	return s, nil
}

// restoreHeaderCase renames the canonicalised keys of h back to the header names as
// they arrived with in (over plain HTTP; over TLS the names are not known).
func restoreHeaderCase(in *http.Request, h http.Header) {
	for _, name := range RawHeaderNames(in) {
		canon := http.CanonicalHeaderKey(name)
		if canon == name {
			continue
		}
		if vs, ok := h[canon]; ok {
			delete(h, canon)
			h[name] = vs
		}
	}
}

package kh

import (
	"bytes"
	"context"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// Header names as the Berlin Group spells them; set by direct map assignment so that
// their case is kept on the wire (setHeader).
const (
	headerRequestID = "X-Request-ID"
	headerConsentID = "Consent-ID"
)

// setHeader sets a header under its exact name (not canonicalised).
func setHeader(h http.Header, name, value string) { h[name] = []string{value} }

// Client is a K&H Bank PSD2 API client. It is safe for concurrent use.
type Client struct {
	rc     *rest.Client
	life   *rest.Lifecycle
	app    *appTokens
	tokens *consentTokens
	common service

	// Payments are single payments (/v1/payments/payment-order).
	Payments *PaymentService[SinglePayment]
	// BulkPayments are bulk payments (/v1/bulk-payments/payment-order).
	BulkPayments *PaymentService[BulkPayment]
	// PeriodicPayments are standing orders (/v1/periodic-payments/standing-order).
	PeriodicPayments *PaymentService[PeriodicPayment]
	// Consents are account information and funds confirmation consents.
	Consents *ConsentsService
	// Accounts reads accounts, balances and transactions under a consent.
	Accounts *AccountsService
	// SigningBaskets group payments and consents under one SCA.
	SigningBaskets *SigningBasketsService
	// FundsConfirmations checks funds under a funds confirmation consent.
	FundsConfirmations *FundsConfirmationsService
	// TPP registers applications and contact data and renews application tokens.
	TPP *TPPService
}

type service struct{ client *Client }

// Option configures a Client. Options that get bad values make NewClient fail.
type Option func(*options) error

type options struct {
	cfg  rest.Config
	cert *tls.Certificate
	// getCert is WithGetClientCertificate's callback.
	getCert func(*tls.CertificateRequestInfo) (*tls.Certificate, error)
	// certBy names the certificate options given: at most one may be.
	certBy        []string
	roots         *x509.CertPool
	appToken      string
	appID         string
	appSource     auth.Source
	consentSource auth.KeyedSource
	store         auth.Store
	storeKey      string
}

// setCert records the client certificate an option gives.
func (o *options) setCert(by string, cert tls.Certificate) {
	o.certBy = append(o.certBy, by)
	o.cert = &cert
}

// WithStore shares the application token and every consent token with the other
// replicas of a service through store (for example redisstore), under keys starting
// with prefix ("<prefix>app", "<prefix>consent:<id>"). K&H issues a new consent token
// on every valid status call, so replicas that renew on their own keep invalidating
// each other's tokens; with a store one replica renews and the others use its token.
func WithStore(store auth.Store, prefix string) Option {
	return func(o *options) error {
		if store == nil {
			return errors.New("store: must not be nil")
		}
		if prefix == "" {
			return errors.New("store prefix: must not be empty")
		}
		o.store, o.storeKey = store, prefix
		return nil
	}
}

// WithBaseURL sets the API root, e.g. "https://api.example.kh.hu" (the paths /v1/...
// are appended). Required.
func WithBaseURL(u string) Option { return func(o *options) error { return o.cfg.SetBaseURL(u) } }

// WithHTTPClient sets the HTTP client to copy (never mutated). Its transport must be an
// *http.Transport: the client adds the certificate, the root CAs and TLS 1.2 minimum to
// a copy of its TLS configuration.
// Its Transport carries every attempt and its Jar, if any, keeps cookies; its Timeout
// and CheckRedirect are not used (WithTimeout bounds each attempt, and redirects are
// never followed).
func WithHTTPClient(hc *http.Client) Option {
	return func(o *options) error { return o.cfg.SetHTTPClient(hc) }
}

// WithTimeout bounds each attempt (default 30 s).
func WithTimeout(d time.Duration) Option {
	return func(o *options) error { return o.cfg.SetTimeout(d) }
}

// WithRetry sets the retry budget and backoff bounds (default 3 retries, 200 ms..10 s).
// Calls that change state are retried only when the bank provably did not process them.
func WithRetry(max int, waitMin, waitMax time.Duration) Option {
	return func(o *options) error { return o.cfg.SetRetry(max, waitMin, waitMax) }
}

// WithLogger sets the logger (default: discard). Log lines never carry tokens, query
// strings, headers or bodies.
func WithLogger(l *slog.Logger) Option { return func(o *options) error { return o.cfg.SetLogger(l) } }

// WithUserAgent appends app (e.g. "myapp/1.2") to the User-Agent.
func WithUserAgent(app string) Option {
	return func(o *options) error { return o.cfg.SetUserAgent(app) }
}

// WithInsecureHTTP allows a plain-http base URL that is not loopback (tests behind a
// TLS-terminating proxy only; K&H itself requires mutual TLS).
func WithInsecureHTTP() Option {
	return func(o *options) error { o.cfg.AllowInsecureHTTP = true; return nil }
}

// WithClientCertificate sets the TPP's client certificate (the QWAC K&H identifies the
// TPP by). Without one the bank refuses the TLS handshake. cert.PrivateKey may be any
// crypto.Signer whose public key is the certificate's, not only an in-memory
// *rsa.PrivateKey or *ecdsa.PrivateKey: a key held in an HSM or a cloud KMS signs the
// handshake through its crypto.Signer and never leaves it. Set the client certificate
// with one option only (this one, WithGetClientCertificate, or a PEM, file or PKCS#12
// variant).
func WithClientCertificate(cert tls.Certificate) Option {
	return func(o *options) error {
		if err := checkCertificate(cert); err != nil {
			return fmt.Errorf("kh: WithClientCertificate: %w", err)
		}
		o.setCert("WithClientCertificate", cert)
		return nil
	}
}

// checkCertificate checks that cert has a chain and a private key that signs for its
// leaf certificate.
func checkCertificate(cert tls.Certificate) error {
	if len(cert.Certificate) == 0 || cert.PrivateKey == nil {
		return errors.New("the certificate needs its chain and private key")
	}
	signer, ok := cert.PrivateKey.(crypto.Signer)
	if !ok {
		return fmt.Errorf("the private key (%T) is not a crypto.Signer", cert.PrivateKey)
	}
	leaf := cert.Leaf
	if leaf == nil {
		var err error
		if leaf, err = x509.ParseCertificate(cert.Certificate[0]); err != nil {
			return fmt.Errorf("the leaf certificate: %w", err)
		}
	}
	pub, ok := leaf.PublicKey.(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(signer.Public()) {
		return errors.New("the private key does not match the leaf certificate's public key")
	}
	return nil
}

// WithGetClientCertificate has the client certificate come from get on every TLS
// handshake in which the bank asks for one, instead of a certificate fixed at
// construction: for a key in an HSM or a cloud KMS (the returned certificate's
// PrivateKey is the key's crypto.Signer), or a certificate rotated while the client
// runs. get may be called concurrently; its error fails the handshake (a transport
// error, retried like one). It is crypto/tls's Config.GetClientCertificate.
func WithGetClientCertificate(get func(*tls.CertificateRequestInfo) (*tls.Certificate, error)) Option {
	return func(o *options) error {
		if get == nil {
			return errors.New("kh: WithGetClientCertificate: the callback is nil")
		}
		o.certBy = append(o.certBy, "WithGetClientCertificate")
		o.getCert = get
		return nil
	}
}

// WithClientCertificatePEM sets the client certificate from PEM data (a certificate
// chain and a PKCS#1, PKCS#8 or EC private key).
func WithClientCertificatePEM(certPEM, keyPEM []byte) Option {
	return func(o *options) error {
		cert, err := LoadClientCertificatePEM(certPEM, keyPEM)
		if err != nil {
			return err
		}
		o.setCert("WithClientCertificatePEM", cert)
		return nil
	}
}

// WithClientCertificateFiles sets the client certificate from PEM files.
func WithClientCertificateFiles(certFile, keyFile string) Option {
	return func(o *options) error {
		cert, err := LoadClientCertificateFiles(certFile, keyFile)
		if err != nil {
			return err
		}
		o.setCert("WithClientCertificateFiles", cert)
		return nil
	}
}

// WithClientCertificatePKCS12 sets the client certificate from a PKCS#12 (.p12, .pfx)
// file's bytes (see LoadPKCS12 for the encryptions supported).
func WithClientCertificatePKCS12(data []byte, password string) Option {
	return func(o *options) error {
		cert, err := loadPKCS12(data, password, maxPKCS12Iterations)
		if err != nil {
			return fmt.Errorf("kh: WithClientCertificatePKCS12: %w", err)
		}
		o.setCert("WithClientCertificatePKCS12", cert)
		return nil
	}
}

// WithRootCAs sets the CAs the client trusts for the bank's server certificate
// (default: the system pool).
func WithRootCAs(pool *x509.CertPool) Option {
	return func(o *options) error {
		if pool == nil {
			return errors.New("kh: WithRootCAs: pool is nil")
		}
		o.roots = pool
		return nil
	}
}

// WithAppToken sets the TPP application authentication token (from the application's
// registration or the sandbox token generator). With WithApplicationID the client
// renews it by POST /v1/tpp/app/token when the bank rejects it.
func WithAppToken(token string) Option {
	return func(o *options) error {
		if err := checkToken(token); err != nil {
			return fmt.Errorf("kh: WithAppToken: %w", err)
		}
		o.appToken = token
		return nil
	}
}

// WithApplicationID sets the application id the client renews the application token
// with (POST /v1/tpp/app/token), when it expires or the bank answers TOKEN_UNKNOWN,
// TOKEN_EXPIRED or TOKEN_INVALID. Without WithAppToken the first call fetches one.
func WithApplicationID(id string) Option {
	return func(o *options) error {
		if strings.TrimSpace(id) == "" {
			return errors.New("kh: WithApplicationID: id is empty")
		}
		o.appID = id
		return nil
	}
}

// WithAppTokenSource takes application tokens from src (e.g. a store shared between
// replicas) instead of WithAppToken/WithApplicationID. The client caches them and asks
// src again after the bank rejected one.
func WithAppTokenSource(src auth.Source) Option {
	return func(o *options) error {
		if src == nil {
			return errors.New("kh: WithAppTokenSource: source is nil")
		}
		o.appSource = src
		return nil
	}
}

// WithConsentTokenSource takes consent tokens from src instead of the consent status
// call (GET /v1/consents/{id}/status made with the application token, which is the
// default): for example a service that holds the consents of several applications.
// src is asked for a consent's token, by consent id, when the client has none or the
// bank rejected the one a call carried (TOKEN_UNKNOWN, TOKEN_EXPIRED, TOKEN_INVALID:
// the call is then replayed once with the new token). The client caches the tokens
// per consent, renews each consent's token once however many calls need it at the
// same time, and shares them with other replicas under WithStore. Consents must still
// be known to the client (Consents.Create or Consents.Track) for calls to be routed
// to their tokens.
func WithConsentTokenSource(src auth.KeyedSource) Option {
	return func(o *options) error {
		if src == nil {
			return errors.New("kh: WithConsentTokenSource: source is nil")
		}
		o.consentSource = src
		return nil
	}
}

// NewClient returns a client. WithBaseURL is required; calls that need an application
// token need WithAppToken, WithApplicationID or WithAppTokenSource (or UseApplication
// later).
func NewClient(opts ...Option) (*Client, error) {
	o := &options{cfg: rest.DefaultConfig("kh")}
	for _, opt := range opts {
		if opt == nil {
			continue
		}
		if err := opt(o); err != nil {
			if strings.HasPrefix(err.Error(), "kh: ") {
				return nil, err
			}
			return nil, fmt.Errorf("kh: %w", err)
		}
	}
	if o.appSource != nil && (o.appToken != "" || o.appID != "") {
		return nil, errors.New("kh: WithAppTokenSource cannot be combined with WithAppToken or WithApplicationID")
	}
	if len(o.certBy) > 1 {
		return nil, fmt.Errorf("kh: %s: set the client certificate with one option only", strings.Join(o.certBy, " and "))
	}
	tlsCfg, err := tlsConfig(o)
	if err != nil {
		return nil, err
	}
	o.cfg.TLSClientConfig = tlsCfg
	o.cfg.DecodeError = DecodeError
	o.cfg.CredentialRejected = credentialRejected
	o.cfg.RequestIDHeaders = []string{headerRequestID}
	rc, err := rest.New(o.cfg)
	if err != nil {
		return nil, fmt.Errorf("kh: %w", err)
	}
	c := &Client{rc: rc, life: rest.NewLifecycle()}
	c.common.client = c
	c.app = newAppTokens(c, o)
	c.tokens = newConsentTokens(c, o)
	c.Payments = &PaymentService[SinglePayment]{client: c, prefix: "/v1/payments/payment-order"}
	c.BulkPayments = &PaymentService[BulkPayment]{client: c, prefix: "/v1/bulk-payments/payment-order"}
	c.PeriodicPayments = &PaymentService[PeriodicPayment]{client: c, prefix: "/v1/periodic-payments/standing-order"}
	for _, p := range []interface{ init() }{c.Payments, c.BulkPayments, c.PeriodicPayments} {
		p.init()
	}
	c.Consents = &ConsentsService{client: c, Authorisations: &Authorisations{client: c, prefix: "/v1/consents",
		param: "{consentId}", sub: "authorisations", idParam: "{authorisationId}"}}
	c.Accounts = (*AccountsService)(&c.common)
	c.SigningBaskets = &SigningBasketsService{client: c, Authorisations: &BasketAuthorisations{a: &Authorisations{client: c,
		prefix: "/v1/signing-baskets", param: "{basketId}", sub: "authorisations", idParam: "{authorisationId}"}}}
	c.FundsConfirmations = (*FundsConfirmationsService)(&c.common)
	c.TPP = (*TPPService)(&c.common)
	return c, nil
}

// tlsConfig builds the client's TLS configuration: the certificate, the root CAs and
// TLS 1.2 minimum, on top of the TLS configuration of a WithHTTPClient transport.
func tlsConfig(o *options) (*tls.Config, error) {
	var base *tls.Config
	if hc := o.cfg.HTTPClient; hc != nil && hc.Transport != nil {
		t, ok := hc.Transport.(*http.Transport)
		if !ok {
			return nil, errors.New("kh: WithHTTPClient: the transport must be an *http.Transport (the client sets mutual TLS on it)")
		}
		if t.TLSClientConfig != nil {
			base = t.TLSClientConfig.Clone()
		}
	}
	if base == nil {
		base = &tls.Config{}
	}
	if base.MinVersion < tls.VersionTLS12 {
		base.MinVersion = tls.VersionTLS12
	}
	if base.MaxVersion != 0 && base.MaxVersion < tls.VersionTLS12 {
		return nil, errors.New("kh: the HTTP client's TLS MaxVersion is below TLS 1.2")
	}
	switch {
	case o.cert != nil:
		base.Certificates = []tls.Certificate{*o.cert}
		base.GetClientCertificate = nil // crypto/tls would prefer it to Certificates
	case o.getCert != nil:
		base.Certificates = nil
		base.GetClientCertificate = o.getCert
	}
	if o.roots != nil {
		base.RootCAs = o.roots
	}
	return base, nil
}

// String describes the client without credentials.
func (c *Client) String() string { return "kh.Client{" + c.rc.BaseURL().String() + "}" }

// GoString is String, so that %#v shows no credentials either.
func (c *Client) GoString() string { return c.String() }

// Close closes the idle connections of the transport the client created, so that a
// client no longer needed leaves no connection or goroutine behind; a transport that
// came with WithHTTPClient is left alone, since others may share it. The client runs
// no background work (tokens are renewed on demand). Calls made after Close fail with
// ErrClosed before any token is taken or anything is sent; a call already in flight
// finishes. Close is idempotent and returns nil.
func (c *Client) Close() error {
	if c == nil || c.rc == nil || !c.life.Close() {
		return nil
	}
	c.rc.CloseIdleConnections()
	return nil
}

// ---------------------------------------------------------------------------
// request options

// RequestOption sets a Berlin Group request header or picks the token of one call.
type RequestOption func(*reqOpts)

type reqOpts struct {
	requestID  string
	useConsent string
	header     http.Header
	err        error
}

// applyOpts collects the call's options; a call without options allocates nothing.
func applyOpts(opts []RequestOption) reqOpts {
	if len(opts) == 0 {
		return reqOpts{}
	}
	ro := &reqOpts{}
	for _, o := range opts {
		if o != nil {
			o(ro)
		}
	}
	return *ro
}

func (r *reqOpts) set(name, value string) {
	if r.header == nil {
		r.header = http.Header{}
	}
	setHeader(r.header, name, value)
}

var uuidRE = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// RequestID sets the call's X-Request-ID (a UUID). Without it the client generates a
// UUIDv4 per call; either way the same id is sent on every retry and replay of the
// call and is returned in its result and error.
func RequestID(id string) RequestOption {
	return func(r *reqOpts) {
		if !uuidRE.MatchString(id) {
			r.err = invalid(headerRequestID, "must be a UUID such as 3f0c5b2e-8a1d-4c3b-9e2f-1a2b3c4d5e6f")
			return
		}
		r.requestID = id
	}
}

// PSUIPAddress sets PSU-IP-Address, the PSU's IP address (required by the Berlin Group
// on payment initiation, consent creation and signing-basket creation, and to be sent
// on account reads the PSU started).
func PSUIPAddress(ip string) RequestOption {
	return func(r *reqOpts) {
		if net.ParseIP(ip) == nil {
			r.err = invalid("PSU-IP-Address", "must be an IPv4 or IPv6 address")
			return
		}
		r.set("PSU-IP-Address", ip)
	}
}

// PSUID sets PSU-ID, the PSU's identifier at the bank.
func PSUID(id string) RequestOption { return headerOpt("PSU-ID", id) }

// PSUIDType sets PSU-ID-Type.
func PSUIDType(t string) RequestOption { return headerOpt("PSU-ID-Type", t) }

// PSUCorporateID sets PSU-Corporate-ID.
func PSUCorporateID(id string) RequestOption { return headerOpt("PSU-Corporate-ID", id) }

// PSUCorporateIDType sets PSU-Corporate-ID-Type.
func PSUCorporateIDType(t string) RequestOption { return headerOpt("PSU-Corporate-ID-Type", t) }

// RedirectURI sets TPP-Redirect-URI, where the bank sends the PSU after redirect SCA.
// K&H accepts only URLs whose host is the redirect host registered for the
// application.
func RedirectURI(u string) RequestOption { return uriOpt("TPP-Redirect-URI", u) }

// NokRedirectURI sets TPP-Nok-Redirect-URI, where the bank sends the PSU after a failed
// redirect SCA.
func NokRedirectURI(u string) RequestOption { return uriOpt("TPP-Nok-Redirect-URI", u) }

// RedirectPreferred sets TPP-Redirect-Preferred: true asks for the redirect SCA
// approach (then RedirectURI is required), false for an embedded one.
func RedirectPreferred(b bool) RequestOption {
	return headerOpt("TPP-Redirect-Preferred", strconv.FormatBool(b))
}

// ExplicitAuthorisationPreferred sets TPP-Explicit-Authorisation-Preferred: true asks the
// bank not to start SCA implicitly (e.g. to put the payment into a signing basket).
func ExplicitAuthorisationPreferred(b bool) RequestOption {
	return headerOpt("TPP-Explicit-Authorisation-Preferred", strconv.FormatBool(b))
}

// ConsentID sets the Consent-ID header (account reads send it by themselves).
func ConsentID(id string) RequestOption { return headerOpt(headerConsentID, id) }

// UseConsent authorises the call with the token of a consent the client knows, when the
// endpoint accepts that consent's kind (e.g. a PSU identification consent for GET
// payment details, payment cancellation and PUT on payment and basket
// authorisations). Without it, calls that accept the application token use it.
func UseConsent(consentID string) RequestOption {
	return func(r *reqOpts) {
		if strings.TrimSpace(consentID) == "" {
			r.err = invalid("UseConsent", "consent id is empty")
			return
		}
		r.useConsent = consentID
	}
}

// Header sets any other request header (e.g. PSU-User-Agent). The Authorization and
// X-Request-ID headers cannot be set this way.
func Header(name, value string) RequestOption {
	return func(r *reqOpts) {
		switch http.CanonicalHeaderKey(name) {
		case "Authorization", "X-Request-Id":
			r.err = invalid(name, "set by the client (use RequestID for X-Request-ID)")
			return
		}
		headerOpt(name, value)(r)
	}
}

var headerValueRE = regexp.MustCompile(`^[\x20-\x7e]*$`)

func headerOpt(name, value string) RequestOption {
	return func(r *reqOpts) {
		if strings.TrimSpace(value) == "" || !headerValueRE.MatchString(value) {
			r.err = invalid(name, "must be printable ASCII and not empty")
			return
		}
		r.set(name, value)
	}
}

func uriOpt(name, value string) RequestOption {
	return func(r *reqOpts) {
		u, err := url.Parse(value)
		if err != nil || !u.IsAbs() || u.Host == "" || !headerValueRE.MatchString(value) {
			r.err = invalid(name, "must be an absolute URL")
			return
		}
		r.set(name, value)
	}
}

// ---------------------------------------------------------------------------
// calls

// call is one logical request to a row of the endpoint-token table.
type call struct {
	method  string
	pattern string // the table row
	// path holds the unescaped segments after the base URL ("v1", "consents", id, ...).
	path  []string
	url   *url.URL // a resolved link, instead of path
	query url.Values
	body  any
	// consent is the consent whose token the call uses (AIS calls); it is also sent as
	// Consent-ID when consentHeader is set.
	consent       string
	consentHeader bool
	// requireHeaders names headers the call must carry (e.g. PSU-IP-Address).
	requireHeaders []string
	stream         bool
}

// Meta is the response metadata every result carries.
type Meta struct {
	// RequestID is the call's X-Request-ID.
	RequestID string
	// StatusCode is the HTTP status of the answer.
	StatusCode int
}

func metaOf(r *rest.Response) Meta {
	if r == nil {
		return Meta{}
	}
	return Meta{RequestID: r.RequestID, StatusCode: r.StatusCode}
}

// credentialRejected is the client's rest.Config.CredentialRejected: the bank refused
// the token the call carried (401 with TOKEN_UNKNOWN, TOKEN_EXPIRED or TOKEN_INVALID).
// What follows is the call's authorizer's to decide (bearer.Renew).
func credentialRejected(_ *http.Response, apiErr error) bool {
	var ae *APIError
	return errors.As(apiErr, &ae) && ae.tokenRejected()
}

// send runs one call: it validates the options, picks a token by the table, sets the
// headers and hands the request to the pipeline. out receives the raw body (Do) or
// the call is streamed (Stream).
func (c *Client) send(ctx context.Context, cl *call, opts []RequestOption, out *[]byte) (*rest.Response, error) {
	if err := c.life.Err(); err != nil {
		return nil, err
	}
	var ep *endpoint
	if cl.pattern == genericPattern {
		ep = &endpoint{method: cl.method, pattern: "/" + strings.Join(cl.path, "/"), accepts: kApp}
	} else {
		var err error
		if ep, err = lookup(cl.method, cl.pattern); err != nil {
			return nil, err
		}
	}
	ro := applyOpts(opts)
	if ro.err != nil {
		return nil, ro.err
	}
	for _, h := range cl.requireHeaders {
		if _, ok := ro.header[h]; !ok {
			return nil, invalid(h, "required on %s", ep)
		}
	}
	consent := cl.consent
	if ro.useConsent != "" {
		if consent != "" && consent != ro.useConsent {
			return nil, invalid("UseConsent", "the call already names consent %q", consent)
		}
		consent = ro.useConsent
	}
	authz, err := c.authorizerFor(ep, consent)
	if err != nil {
		return nil, err
	}
	hdr := make(http.Header, len(ro.header)+2)
	for k, v := range ro.header {
		hdr[k] = v
	}
	id := ro.requestID
	if id == "" {
		id = rest.NewRequestID()
	}
	// The values of the headers the call adds share one array, each clipped so that
	// appending to one (Header.Add) copies it.
	vals := []string{id, cl.consent}
	hdr[headerRequestID] = vals[0:1:1]
	if cl.consentHeader && cl.consent != "" && (len(ro.header) == 0 || rest.HeaderValue(hdr, headerConsentID) == "") {
		hdr[headerConsentID] = vals[1:2:2]
	}
	req := &rest.Request{Method: cl.method, URL: cl.url, Query: cl.query, Header: hdr, Body: wireBody(cl.body)}
	if authz != nil {
		req.Authorizer = authz
	} else {
		req.Authorizer = noAuth{}
	}
	if cl.url == nil {
		req.Path, err = rest.Path(cl.path...)
		if err != nil {
			return nil, invalid("path", "%v", err)
		}
	}
	if cl.stream {
		return c.rc.Stream(ctx, req)
	}
	if out == nil {
		return c.rc.Do(ctx, req, nil)
	}
	return c.rc.Do(ctx, req, out)
}

// noAuth sends no Authorization header (endpoints that accept no token).
type noAuth struct{}

func (noAuth) Authorize(context.Context, *http.Request, []byte) error { return nil }

// authorizerFor picks a token kind the endpoint accepts: the named consent's token when
// its kind is allowed, else the application token when allowed.
func (c *Client) authorizerFor(ep *endpoint, consentID string) (rest.Authorizer, error) {
	if ep.accepts == kNone {
		return nil, nil
	}
	var held []TokenKind
	reason := ""
	if consentID != "" {
		kind, authz, ok := c.tokens.lookup(consentID)
		switch {
		case ok && ep.accepts.has(kind):
			return authz, nil
		case ok:
			held = append(held, kind)
			reason = fmt.Sprintf("consent %q is a %s consent", rest.Clip(consentID, 64), purposeOf(kind))
		default:
			reason = fmt.Sprintf("consent %q is unknown to the client: create it with Consents.Create or register it with Consents.Track", rest.Clip(consentID, 64))
		}
	}
	if authz := c.app.authorizer(); authz != nil {
		if ep.accepts.has(TokenApp) {
			return authz, nil
		}
		held = append(held, TokenApp)
	}
	return nil, &RoutingError{Endpoint: ep.String(), Accepts: ep.accepts.list(), Held: held, Reason: reason}
}

// bearer authorises a call with "Authorization: Bearer <token>" from a token cache.
// It is the one owner of a token the bank rejected: Renew invalidates exactly the
// token the call carried (so that concurrent rejections renew once) and has the call
// replayed once, when the token can be renewed at all.
type bearer struct {
	rest.HeaderToken
	renewable func() bool
}

func newBearer(src auth.Source, renewable func() bool) bearer {
	return bearer{HeaderToken: rest.NewHeaderToken(src, "Authorization", "Bearer "), renewable: renewable}
}

// Renew implements rest.Renewer.
func (b bearer) Renew(ctx context.Context, req *http.Request, apiErr error) (bool, error) {
	if !b.renewable() {
		return false, nil // the rejection is final: nothing would give another token
	}
	return b.HeaderToken.Renew(ctx, req, apiErr)
}

var _ rest.Renewer = bearer{}

// checkToken checks a token has the JWT shape K&H uses (three base64url parts).
func checkToken(tok string) error {
	if !jwtRE.MatchString(tok) {
		return errors.New("the token must be a JWT (three base64url parts separated by dots)")
	}
	return nil
}

var jwtRE = regexp.MustCompile(`^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*$`)

// ---------------------------------------------------------------------------
// decoding

// metaSetter is implemented by results that carry response metadata.
type metaSetter interface {
	setMeta(r *rest.Response, body []byte)
}

// do runs a call and decodes the answer into a new T.
func do[T any](ctx context.Context, c *Client, cl *call, opts []RequestOption) (*T, error) {
	var raw []byte
	resp, err := c.send(ctx, cl, opts, &raw)
	if err != nil {
		return nil, err
	}
	out := new(T)
	if len(bytes.TrimSpace(raw)) > 0 {
		if err := json.Unmarshal(raw, out); err != nil {
			return nil, invalidAnswer(cl.method+" "+cl.pattern, resp, err)
		}
	}
	if ms, ok := any(out).(metaSetter); ok {
		ms.setMeta(resp, raw)
	}
	return out, nil
}

// Do calls any endpoint with the client's tokens, retries and errors, and decodes the
// JSON answer into T. path is relative to the base URL, e.g. "v1/consents/abc/status".
// A path that matches a row of the endpoint-token table is routed by it (a consent
// named with UseConsent is used when the row accepts its kind); any other path is sent
// with the application token.
func Do[T any](ctx context.Context, c *Client, method, path string, body any, opts ...RequestOption) (T, error) {
	var zero T
	if c == nil {
		return zero, errors.New("kh: Do: nil client")
	}
	p, q, err := rest.SplitRelative(path)
	if err != nil {
		return zero, fmt.Errorf("kh: Do: %w", err)
	}
	method = strings.ToUpper(strings.TrimSpace(method))
	if method == "" {
		return zero, invalid("method", "required")
	}
	segs := strings.Split(strings.Trim(p, "/"), "/")
	for i, s := range segs {
		if segs[i], err = url.PathUnescape(s); err != nil {
			return zero, fmt.Errorf("kh: Do: %w", err)
		}
	}
	cl := &call{method: method, path: segs, query: q, body: body, pattern: genericPattern}
	if ep, _, ok := matchEndpoint(method, "/"+strings.Join(segs, "/")); ok {
		cl.pattern = ep.pattern
	}
	out, err := do[T](ctx, c, cl, opts)
	if err != nil {
		return zero, err
	}
	return *out, nil
}

// genericPattern marks a Do call to a path outside the table: it is sent with the
// application token.
const genericPattern = "(untyped)"

// ---------------------------------------------------------------------------
// tokens

// appTokens holds the application token: a cache over the renewal (POST
// /v1/tpp/app/token by application id) or over a caller's source.
type appTokens struct {
	c      *Client
	mu     sync.RWMutex
	appID  string
	src    auth.Source
	cache  *auth.Cache
	authz  rest.Authorizer    // the bearer over cache, made with it: one per cache, not per call
	shared []auth.CacheOption // the store options, when replicas share tokens
}

func newAppTokens(c *Client, o *options) *appTokens {
	a := &appTokens{c: c, appID: o.appID, src: o.appSource}
	if o.store != nil {
		a.shared = []auth.CacheOption{auth.WithStore(o.store, o.storeKey+"app")}
	}
	if o.appToken != "" || o.appID != "" || o.appSource != nil {
		a.cache = a.newCache(o.appToken)
		a.authz = newBearer(a.cache, a.renewable)
	}
	return a
}

func (a *appTokens) newCache(initial string) *auth.Cache {
	opts := append([]auth.CacheOption(nil), a.shared...)
	if initial != "" {
		opts = append(opts, auth.WithInitialToken(auth.Token{Value: initial, Expiry: jwtExpiry(initial)}))
	}
	return auth.NewCache(auth.SourceFunc(a.renew), opts...)
}

func (a *appTokens) configured() bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.cache != nil
}

func (a *appTokens) renewable() bool {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.src != nil || a.appID != ""
}

func (a *appTokens) current() *auth.Cache {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.cache
}

// authorizer returns the bearer over the current cache (nil without one).
func (a *appTokens) authorizer() rest.Authorizer {
	a.mu.RLock()
	defer a.mu.RUnlock()
	return a.authz
}

func (a *appTokens) renew(ctx context.Context) (auth.Token, error) {
	a.mu.RLock()
	src, id := a.src, a.appID
	a.mu.RUnlock()
	if src != nil {
		return src.Token(ctx)
	}
	if id == "" {
		return auth.Token{}, errors.New("kh: the application token is not valid and the client has no application id to renew it (WithApplicationID)")
	}
	tok, err := a.c.TPP.NewAppToken(ctx, id)
	if err != nil {
		return auth.Token{}, fmt.Errorf("kh: renewing the application token: %w", err)
	}
	v := tok.Token.Reveal()
	return auth.Token{Value: v, Expiry: jwtExpiry(v)}, nil
}

// UseApplication makes the client use an application (e.g. one just registered with
// TPP.RegisterApp): its token for calls that accept an application token, and its id to
// renew that token. token may be empty: the first call then fetches one.
func (c *Client) UseApplication(appID, token string) error {
	if strings.TrimSpace(appID) == "" {
		return invalid("appID", "required")
	}
	if token != "" {
		if err := checkToken(token); err != nil {
			return invalid("token", "%v", err)
		}
	}
	a := c.app
	a.mu.Lock()
	a.appID, a.src = appID, nil
	a.mu.Unlock()
	cache := a.newCache(token)
	authz := newBearer(cache, a.renewable)
	a.mu.Lock()
	a.cache, a.authz = cache, authz
	a.mu.Unlock()
	return nil
}

// consentTokens holds the consents the client knows (with their token kind) and their
// tokens: a cache per consent over the consent-token source (the consent status call,
// or WithConsentTokenSource's).
type consentTokens struct {
	c *Client
	// custom is set when the tokens come from WithConsentTokenSource.
	custom bool
	cache  *auth.KeyedCache
	mu     sync.RWMutex
	kinds  map[string]TokenKind
	// bearers holds each known consent's bearer, made when the consent is tracked:
	// one per consent, not per call.
	bearers map[string]rest.Authorizer
}

func newConsentTokens(c *Client, o *options) *consentTokens {
	t := &consentTokens{c: c, kinds: map[string]TokenKind{}, bearers: map[string]rest.Authorizer{}}
	var opts []auth.CacheOption
	if o.store != nil {
		opts = append(opts, auth.WithStore(o.store, o.storeKey+"consent:"))
	}
	var src auth.KeyedSource = statusRenewer{c: c}
	if o.consentSource != nil {
		src, t.custom = o.consentSource, true
	}
	t.cache = auth.NewKeyedCache(src, opts...)
	return t
}

func (t *consentTokens) kind(id string) (TokenKind, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	k, ok := t.kinds[id]
	return k, ok
}

// lookup returns the kind of a known consent and the bearer that sends its token.
func (t *consentTokens) lookup(id string) (TokenKind, rest.Authorizer, bool) {
	t.mu.RLock()
	defer t.mu.RUnlock()
	k, ok := t.kinds[id]
	return k, t.bearers[id], ok
}

func (t *consentTokens) track(id string, k TokenKind) {
	t.mu.Lock()
	t.kinds[id] = k
	if t.bearers[id] == nil {
		t.bearers[id] = t.bearer(id)
	}
	t.mu.Unlock()
}

func (t *consentTokens) forget(id string) {
	t.mu.Lock()
	delete(t.kinds, id)
	delete(t.bearers, id)
	t.mu.Unlock()
	t.cache.Delete(id)
}

// bearer authorises a call with the consent's token.
func (t *consentTokens) bearer(id string) bearer {
	return newBearer(consentSource{cache: t.cache, id: id}, t.renewable)
}

// renewable reports whether a rejected consent token can be renewed: the status call
// needs an application token; a source of the caller's is asked regardless.
func (t *consentTokens) renewable() bool { return t.custom || t.c.app.configured() }

// consentSource is one consent's token in the keyed cache, as an auth.Source that can
// forget a rejected token.
type consentSource struct {
	cache *auth.KeyedCache
	id    string
}

func (s consentSource) Token(ctx context.Context) (auth.Token, error) {
	return s.cache.Token(ctx, s.id)
}

func (s consentSource) Invalidate(t auth.Token) { s.cache.Invalidate(s.id, t) }

// statusRenewer is the default consent-token source: the consent status call, made
// with the application token (never with the consent's own token), which answers a
// new token in its "token" header while the consent is valid.
type statusRenewer struct{ c *Client }

// Token implements auth.KeyedSource.
func (r statusRenewer) Token(ctx context.Context, id string) (auth.Token, error) {
	if !r.c.app.configured() {
		return auth.Token{}, fmt.Errorf("kh: cannot renew the token of consent %q: its status call needs an application token", rest.Clip(id, 64))
	}
	st, tok, err := r.c.Consents.status(ctx, id, nil, false)
	if err != nil {
		return auth.Token{}, fmt.Errorf("kh: renewing the token of consent %q: %w", rest.Clip(id, 64), err)
	}
	if tok == "" {
		return auth.Token{}, fmt.Errorf("kh: consent %q is %s: the bank issues its token only while it is valid", rest.Clip(id, 64), rest.Clip(string(st.ConsentStatus), 32))
	}
	return auth.Token{Value: tok, Expiry: jwtExpiry(tok)}, nil
}

var _ auth.KeyedSource = statusRenewer{}

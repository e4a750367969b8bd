package saltedge

import (
	"bytes"
	"context"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// Handler defaults.
const (
	// DefaultIssuer is the iss claim of Salt Edge's JWTs (HandlerConfig.Issuer).
	DefaultIssuer = "priora.saltedge.com"
	// DefaultBasePath is where the connector API lives.
	DefaultBasePath = "/api/priora/v1"
	// DefaultMaxBodyBytes bounds a request body (payloads travel in the JWT; a body
	// is read and ignored).
	DefaultMaxBodyBytes = 1 << 20
	// DefaultMaxHeaderBytes bounds the request's header fields (names and values).
	DefaultMaxHeaderBytes = 64 << 10
	// DefaultLeeway is the clock skew allowed on a JWT's exp and iat.
	DefaultLeeway = 10 * time.Second
	// DefaultMaxLifetime is how far ahead of now a JWT's exp may lie (plus the
	// leeway). Salt Edge signs its requests with exp = now + 60 s, as its SDKs do.
	DefaultMaxLifetime = 5 * time.Minute
	// MaxMaxLifetime bounds HandlerConfig.MaxLifetime.
	MaxMaxLifetime = 24 * time.Hour
)

// HandlerConfig configures NewHandler.
type HandlerConfig struct {
	// Connector is the bank's implementation. Required.
	Connector Connector
	// PublicKey is Salt Edge's public key (published in its docs and dashboard; it
	// differs per environment): every request's JWT must be RS256-signed with its
	// private half. Exactly one of PublicKey and KeySet is required.
	PublicKey *rsa.PublicKey
	// KeySet supplies Salt Edge's public keys instead of PublicKey, so that the
	// handler follows a key rotation: during a rollover it gives the old and the new
	// key (auth.StaticKeySet(old, next)), and a JWT signed by either is accepted. It is
	// asked on every request with the kid of the JWT's header ("" when it names none;
	// Salt Edge's samples name none), may load keys from a file or an endpoint, and
	// must be safe for concurrent use. A JWT that none of its keys verifies (or for
	// whose kid it has none) is answered 400 JWTVerificationError; an error of KeySet
	// is logged and answered 500 InternalServerError, and the Connector is not
	// called. Exactly one of PublicKey and KeySet is required.
	KeySet auth.KeySet
	// Issuer, when set, must equal the JWT's iss claim (Salt Edge's current samples
	// carry DefaultIssuer; older ones carry none).
	Issuer string
	// Leeway is the clock skew allowed on exp and iat (0: DefaultLeeway; at most 5
	// minutes).
	Leeway time.Duration
	// MaxLifetime refuses a JWT whose exp lies more than MaxLifetime (plus Leeway)
	// after now (400 JWTVerificationError): a JWT that stays valid for long is a
	// leaked or forged one waiting to be replayed (0: DefaultMaxLifetime; at most
	// MaxMaxLifetime).
	MaxLifetime time.Duration
	// ReplayStore, when set, serves each JWT once: a JWT already accepted is refused
	// (400 JWTVerificationError) until it expires, whatever its Client-Id and other
	// headers. NewMemoryReplayStore fits a single process; replicas share one store
	// (e.g. Redis). Leave it nil if Salt Edge may resend a request with the very JWT
	// it sent before (its SDKs sign every request afresh). Default: nil (JWTs are not
	// tracked).
	ReplayStore ReplayStore
	// MaxBodyBytes bounds the request body (0: DefaultMaxBodyBytes).
	MaxBodyBytes int64
	// MaxHeaderBytes bounds the request's header fields (0: DefaultMaxHeaderBytes).
	// Set http.Server.MaxHeaderBytes too: it applies before the handler runs.
	MaxHeaderBytes int
	// BasePath is the path prefix of the endpoints (default DefaultBasePath).
	BasePath string
	// Logger receives one debug line per request (endpoint, status, error class,
	// client id, duration; never headers, JWTs or payloads) and the errors and panics
	// of the Connector. Default: discard.
	Logger *slog.Logger
	// Now replaces time.Now for the JWT checks (tests).
	Now func() time.Time
}

type route struct {
	needToken bool
	serve     func(ctx context.Context, c Connector, call Call, data []byte) (any, error)
}

// routes maps "METHOD path" to the endpoint serving it.
var routes = map[string]route{
	"POST tokens/create": {false, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[CreateTokenRequest](call, d, func(r *CreateTokenRequest) error {
			return required("session_secret", r.SessionSecret)
		})
		return async(err, func() error { return c.CreateToken(ctx, r) })
	}},
	"POST tokens/confirm": {false, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[ConfirmTokenRequest](call, d, func(r *ConfirmTokenRequest) error {
			return required("session_secret", r.SessionSecret)
		})
		return async(err, func() error { return c.ConfirmToken(ctx, r) })
	}},
	"POST tokens/reconnect": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[ReconnectTokenRequest](call, d, func(r *ReconnectTokenRequest) error {
			return required("session_secret", r.SessionSecret)
		})
		return async(err, func() error { return c.ReconnectToken(ctx, r) })
	}},
	"POST tokens/revoke": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[RevokeTokenRequest](call, d, nil)
		return async(err, func() error { return c.RevokeToken(ctx, r) })
	}},
	"POST tokens/cancel": {false, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[CancelTokenRequest](call, d, func(r *CancelTokenRequest) error {
			return required("session_secret", r.SessionSecret)
		})
		return async(err, func() error { return c.CancelToken(ctx, r) })
	}},
	"GET accounts": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[AccountsRequest](call, d, nil)
		if err != nil {
			return nil, err
		}
		accounts, err := c.Accounts(ctx, r)
		if accounts == nil {
			accounts = []Account{}
		}
		return dataAnswer{accounts}, err
	}},
	"PUT accounts": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[RefreshAccountsRequest](call, d, nil)
		return async(err, func() error { return c.RefreshAccounts(ctx, r) })
	}},
	"POST accounts/confirm": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[ConfirmAccountsRequest](call, d, func(r *ConfirmAccountsRequest) error {
			return required("session_secret", r.SessionSecret)
		})
		return async(err, func() error { return c.ConfirmAccounts(ctx, r) })
	}},
	"GET transactions": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[TransactionsRequest](call, d, func(r *TransactionsRequest) error {
			if err := required("account_id", r.AccountID); err != nil {
				return err
			}
			if !r.FromDate.IsZero() && !r.ToDate.IsZero() && r.ToDate.Before(r.FromDate.Time) {
				return errors.New("data.to_date: must not be before from_date")
			}
			return nil
		})
		if err != nil {
			return nil, err
		}
		txs, err := c.Transactions(ctx, r)
		if txs == nil {
			txs = []Transaction{}
		}
		return dataAnswer{txs}, err
	}},
	"GET kyc": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[KYCRequest](call, d, nil)
		if err != nil {
			return nil, err
		}
		kyc, err := c.KYC(ctx, r)
		if kyc == nil {
			kyc = &KYC{}
		}
		return dataAnswer{kyc}, err
	}},
	// Access-Token is documented as required on errors, but a report about a call
	// made before any token existed must not be lost: it is passed when present.
	"POST errors": {false, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[ErrorReport](call, d, nil)
		return async(err, func() error { return c.ReportError(ctx, r) })
	}},
	"POST payments/create": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[CreatePaymentRequest](call, d, func(r *CreatePaymentRequest) error {
			if err := required("session_secret", r.SessionSecret); err != nil {
				return err
			}
			if r.PrioraPaymentID <= 0 {
				return errors.New("data.priora_payment_id: required")
			}
			return required("payment_type", r.PaymentType)
		})
		return async(err, func() error { return c.CreatePayment(ctx, r) })
	}},
	"POST payments/confirm": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[ConfirmPaymentRequest](call, d, func(r *ConfirmPaymentRequest) error {
			if err := required("session_secret", r.SessionSecret); err != nil {
				return err
			}
			return required("payment_id", string(r.PaymentID))
		})
		return async(err, func() error { return c.ConfirmPayment(ctx, r) })
	}},
	"POST payments/cancel": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[CancelPaymentRequest](call, d, func(r *CancelPaymentRequest) error {
			return required("payment_id", string(r.PaymentID))
		})
		return async(err, func() error { return c.CancelPayment(ctx, r) })
	}},
	"GET payments/show": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[ShowPaymentRequest](call, d, func(r *ShowPaymentRequest) error {
			return required("payment_id", string(r.PaymentID))
		})
		if err != nil {
			return nil, err
		}
		p, err := c.ShowPayment(ctx, r)
		if err == nil && p == nil {
			err = &ConnectorError{Class: ClassPaymentNotFound, Message: "payment not found"}
		}
		return dataAnswer{p}, err
	}},
	"POST payments/check_funds": {true, func(ctx context.Context, c Connector, call Call, d []byte) (any, error) {
		r, err := decode[CheckFundsRequest](call, d, func(r *CheckFundsRequest) error {
			if err := required("session_secret", r.SessionSecret); err != nil {
				return err
			}
			return required("account", r.Account)
		})
		return async(err, func() error { return c.CheckFunds(ctx, r) })
	}},
}

// dataAnswer is {"data": ...}; async endpoints answer {}.
type dataAnswer struct {
	Data any `json:"data"`
}

func async(err error, fn func() error) (any, error) {
	if err != nil {
		return nil, err
	}
	return struct{}{}, fn()
}

func required(field, v string) error {
	if strings.TrimSpace(v) == "" {
		return fmt.Errorf("data.%s: required", field)
	}
	return nil
}

type callSetter interface{ setCall(Call) }

// decode reads data into a fresh *T, attaches call and runs check. Failures are 400
// WrongRequestFormat naming the field.
func decode[T any, P interface {
	*T
	callSetter
}](call Call, data []byte, check func(P) error) (P, error) {
	p := P(new(T))
	if err := json.Unmarshal(data, p); err != nil {
		return nil, &ConnectorError{Class: ClassWrongRequestFormat, Message: describeDecodeError(err)}
	}
	p.setCall(call)
	if check != nil {
		if err := check(p); err != nil {
			return nil, &ConnectorError{Class: ClassWrongRequestFormat, Message: err.Error()}
		}
	}
	return p, nil
}

func describeDecodeError(err error) string {
	var te *json.UnmarshalTypeError
	if errors.As(err, &te) {
		if te.Field != "" {
			return fmt.Sprintf("data.%s: cannot use a JSON %s as %s", te.Field, te.Value, te.Type)
		}
		return fmt.Sprintf("data: cannot use a JSON %s as %s", te.Value, te.Type)
	}
	return "data: " + rest.Clip(err.Error(), 200)
}

type handler struct {
	conn      Connector
	verifier  *auth.JWTVerifier
	leeway    time.Duration
	replay    ReplayStore
	prefix    string
	maxBody   int64
	maxHeader int
	log       *slog.Logger
}

// NewHandler returns the connector API as an http.Handler serving BasePath/...: every
// endpoint of the connector API (tokens create, confirm, reconnect, revoke, cancel;
// accounts fetch, refresh, confirm; transactions; kyc; errors; payments create,
// confirm, cancel, show, check_funds).
//
// Each request is checked before the Connector sees it, in this order: a known
// endpoint and method (404, 405), header and body size (400 WrongRequestFormat),
// Client-Id present and a positive integer (401 InvalidClientId), "Authorization:
// Bearer <JWT>" present (400 AuthorizationMissing), the JWT's algorithm RS256 (400
// JWTIncorrectAlgorithm), its signature by PublicKey or one of KeySet's keys (500
// InternalServerError when KeySet fails), iss when Issuer is set and exp present
// (400 JWTVerificationError), exp not past (400 JWTExpiredSignature), iat
// (when present) not in the future and exp at most MaxLifetime ahead (400
// JWTVerificationError), the JWT not seen before when a ReplayStore is set (400
// JWTVerificationError; 500 InternalServerError when the store fails),
// Access-Token on the endpoints that require one (400 AccessTokenMissing), and the
// data claim decoding into the endpoint's typed request (400 WrongRequestFormat).
// Errors are answered as {"error_class": ..., "error_message": ...}; a panic in the
// Connector is recovered and answered 500 InternalServerError.
func NewHandler(cfg HandlerConfig) (http.Handler, error) {
	if cfg.Connector == nil {
		return nil, errors.New("saltedge: handler: Connector is required")
	}
	keys := cfg.KeySet
	switch {
	case cfg.PublicKey != nil && keys != nil:
		return nil, errors.New("saltedge: handler: set PublicKey or KeySet, not both")
	case cfg.PublicKey != nil:
		keys = auth.StaticKeySet(cfg.PublicKey)
	case keys == nil:
		return nil, errors.New("saltedge: handler: PublicKey or KeySet (Salt Edge's public keys) is required")
	default:
		keys = keySetErrors{keys}
	}
	if cfg.Leeway < 0 || cfg.Leeway > 5*time.Minute {
		return nil, fmt.Errorf("saltedge: handler: Leeway must be between 0 and 5m, got %v", cfg.Leeway)
	}
	if cfg.MaxLifetime < 0 || cfg.MaxLifetime > MaxMaxLifetime {
		return nil, fmt.Errorf("saltedge: handler: MaxLifetime must be between 0 and %v, got %v", MaxMaxLifetime, cfg.MaxLifetime)
	}
	if cfg.MaxBodyBytes < 0 || cfg.MaxHeaderBytes < 0 {
		return nil, errors.New("saltedge: handler: size limits must not be negative")
	}
	leeway := cfg.Leeway
	if leeway == 0 {
		leeway = DefaultLeeway
	}
	maxLifetime := cfg.MaxLifetime
	if maxLifetime == 0 {
		maxLifetime = DefaultMaxLifetime
	}
	vopts := []auth.VerifierOption{auth.WithLeeway(leeway), auth.WithMaxLifetime(maxLifetime)}
	if cfg.Issuer != "" {
		vopts = append(vopts, auth.WithIssuer(cfg.Issuer))
	}
	if cfg.Now != nil {
		vopts = append(vopts, auth.WithVerifierClock(cfg.Now))
	}
	ver, err := auth.NewJWTVerifierKeySet(keys, vopts...)
	if err != nil {
		return nil, fmt.Errorf("saltedge: handler: %w", err)
	}
	base := cfg.BasePath
	if base == "" {
		base = DefaultBasePath
	}
	base = "/" + strings.Trim(base, "/")
	if base == "/" {
		base = ""
	}
	h := &handler{conn: cfg.Connector, verifier: ver, leeway: leeway, replay: cfg.ReplayStore, prefix: base + "/",
		maxBody: cfg.MaxBodyBytes, maxHeader: cfg.MaxHeaderBytes, log: cfg.Logger}
	if h.maxBody == 0 {
		h.maxBody = DefaultMaxBodyBytes
	}
	if h.maxHeader == 0 {
		h.maxHeader = DefaultMaxHeaderBytes
	}
	if h.log == nil {
		h.log = slog.New(slog.DiscardHandler)
	}
	return h, nil
}

// answer is what the handler writes back.
type answer struct {
	status     int
	raw        []byte
	retryAfter time.Duration
	class      string
	allow      string
}

func errAnswer(ce *ConnectorError) answer {
	msg := ce.Message
	if msg == "" {
		msg = ce.Class
	}
	raw, _ := json.Marshal(map[string]string{"error_class": ce.Class, "error_message": msg})
	return answer{status: ce.StatusCode(), class: ce.Class, retryAfter: ce.RetryAfter, raw: raw}
}

func reject(class, msg string) answer {
	return errAnswer(&ConnectorError{Class: class, Message: msg})
}

var internalError = &ConnectorError{Class: ClassInternalServerError, Message: "internal error"}

// ServeHTTP implements http.Handler.
func (h *handler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	start := time.Now()
	var call Call
	a := h.serve(r, &call)
	h.write(w, a)
	h.log.LogAttrs(r.Context(), slog.LevelDebug, "saltedge: connector request",
		slog.String("method", r.Method), slog.String("endpoint", call.Endpoint),
		slog.Int("status", a.status), slog.String("error_class", a.class),
		slog.Int64("client_id", call.ClientID), slog.Duration("duration", time.Since(start)))
}

func (h *handler) serve(r *http.Request, call *Call) (a answer) {
	ep, ok := strings.CutPrefix(r.URL.Path, h.prefix)
	if !ok {
		return notFound()
	}
	rt, found := routes[r.Method+" "+ep]
	if !found {
		var allow []string
		for _, m := range []string{http.MethodGet, http.MethodPost, http.MethodPut} {
			if _, ok := routes[m+" "+ep]; ok {
				allow = append(allow, m)
			}
		}
		if len(allow) == 0 {
			return notFound()
		}
		a := reject(ClassWrongRequestFormat, ep+" does not accept "+rest.Clip(r.Method, 20))
		a.status, a.allow = http.StatusMethodNotAllowed, strings.Join(allow, ", ")
		return a
	}
	call.Endpoint = ep

	if n := headerSize(r.Header); n > h.maxHeader {
		return reject(ClassWrongRequestFormat, fmt.Sprintf("request headers exceed %d bytes", h.maxHeader))
	}
	if r.ContentLength > h.maxBody {
		return reject(ClassWrongRequestFormat, fmt.Sprintf("request body exceeds %d bytes", h.maxBody))
	}

	ids := r.Header.Values("Client-Id")
	if len(ids) == 0 || strings.TrimSpace(ids[0]) == "" {
		return reject(ClassInvalidClientID, "Client-Id header is missing")
	}
	id, err := strconv.ParseInt(strings.TrimSpace(ids[0]), 10, 64)
	if len(ids) > 1 || err != nil || id <= 0 {
		return reject(ClassInvalidClientID, "Client-Id header must be one positive integer")
	}
	call.ClientID = id

	claims, ce := h.authenticate(r.Context(), r.Header.Values("Authorization"))
	if ce != nil {
		return errAnswer(ce)
	}
	if claims.ExpiresAt != nil {
		call.ExpiresAt = claims.ExpiresAt.Time
	}
	call.Issuer = claims.Issuer

	if tok := strings.TrimSpace(r.Header.Get("Access-Token")); tok != "" {
		call.AccessToken = auth.NewSecret(tok)
	} else if rt.needToken {
		return reject(ClassAccessTokenMissing, "Access-Token header is missing")
	}
	call.ConsentID = strings.TrimSpace(r.Header.Get("Consent-Id"))

	if r.Body != nil {
		n, err := io.Copy(io.Discard, io.LimitReader(r.Body, h.maxBody+1))
		if n > h.maxBody {
			return reject(ClassWrongRequestFormat, fmt.Sprintf("request body exceeds %d bytes", h.maxBody))
		}
		if err != nil {
			return reject(ClassWrongRequestFormat, "request body cannot be read")
		}
	}

	data := bytes.TrimSpace(claims.Data)
	if len(data) == 0 || data[0] != '{' {
		return reject(ClassWrongRequestFormat, "the JWT's data claim must be a JSON object")
	}

	return h.dispatch(r.Context(), rt, *call, data)
}

// dispatch calls the Connector, turning its errors and panics into answers.
func (h *handler) dispatch(ctx context.Context, rt route, call Call, data []byte) (a answer) {
	defer func() {
		if v := recover(); v != nil {
			if v == http.ErrAbortHandler { //nolint:errorlint // sentinel panic value
				panic(v)
			}
			h.log.LogAttrs(ctx, slog.LevelError, "saltedge: connector panicked",
				slog.String("endpoint", call.Endpoint), slog.Any("panic", v),
				slog.String("stack", string(debug.Stack())))
			a = errAnswer(internalError)
		}
	}()
	if call.Endpoint == "errors" {
		h.logReport(ctx, data)
	}
	body, err := rt.serve(ctx, h.conn, call, data)
	if err != nil {
		var ce *ConnectorError
		if errors.As(err, &ce) && ce.Class != "" {
			return errAnswer(ce)
		}
		h.log.LogAttrs(ctx, slog.LevelError, "saltedge: connector failed",
			slog.String("endpoint", call.Endpoint), slog.String("error", err.Error()))
		return errAnswer(internalError)
	}
	raw, err := json.Marshal(body)
	if err != nil {
		h.log.LogAttrs(ctx, slog.LevelError, "saltedge: encoding the connector's answer failed",
			slog.String("endpoint", call.Endpoint), slog.String("error", err.Error()))
		return errAnswer(internalError)
	}
	return answer{status: http.StatusOK, raw: raw}
}

func notFound() answer {
	a := reject(ClassWrongRequestFormat, "unknown endpoint")
	a.status = http.StatusNotFound
	return a
}

// logReport logs Salt Edge's error report: class, message, the method and the URL
// without its query (the reported headers are not logged).
func (h *handler) logReport(ctx context.Context, data []byte) {
	var rep ErrorReport
	if json.Unmarshal(data, &rep) != nil {
		return
	}
	where := ""
	if u, err := url.Parse(rep.Request.URL); err == nil {
		where = u.Scheme + "://" + u.Host + u.Path
	}
	h.log.LogAttrs(ctx, slog.LevelWarn, "saltedge: Salt Edge rejected an answer of the connector",
		slog.String("error_class", rest.Clip(rep.Error.ErrorClass, 100)),
		slog.String("error_message", rest.Clip(rep.Error.ErrorMessage, 300)),
		slog.String("request_method", rest.Clip(rep.Request.Method, 20)),
		slog.String("request_url", rest.Clip(where, 300)))
}

func (h *handler) write(w http.ResponseWriter, a answer) {
	hdr := w.Header()
	hdr.Set("Content-Type", "application/json")
	hdr.Set("Cache-Control", "no-store")
	hdr.Set("X-Content-Type-Options", "nosniff")
	if a.retryAfter > 0 {
		secs := int64((a.retryAfter + time.Second - 1) / time.Second)
		hdr.Set("Retry-After", strconv.FormatInt(secs, 10))
	}
	if a.allow != "" {
		hdr.Set("Allow", a.allow)
	}
	w.WriteHeader(a.status)
	_, _ = w.Write(a.raw)
}

func headerSize(h http.Header) int {
	n := 0
	for k, vs := range h {
		for _, v := range vs {
			n += len(k) + len(v) + 4
		}
	}
	return n
}

// cutBearer returns the token of "Bearer <token>" (scheme case-insensitive).
func cutBearer(v string) (string, bool) {
	v = strings.TrimSpace(v)
	if len(v) < 7 || !strings.EqualFold(v[:7], "bearer ") {
		return "", false
	}
	tok := strings.TrimSpace(v[7:])
	return tok, tok != ""
}

// authenticate checks the Authorization header and returns the verified claims.
func (h *handler) authenticate(ctx context.Context, values []string) (*dataClaims, *ConnectorError) {
	if len(values) == 0 || strings.TrimSpace(values[0]) == "" {
		return nil, &ConnectorError{Class: ClassAuthorizationMissing, Message: "Authorization header is missing"}
	}
	if len(values) > 1 {
		return nil, &ConnectorError{Class: ClassAuthorizationMissing, Message: "Authorization header must appear once"}
	}
	tok, ok := cutBearer(values[0])
	if !ok {
		return nil, &ConnectorError{Class: ClassAuthorizationMissing, Message: `Authorization header must be "Bearer <JWT>"`}
	}
	alg, err := jwtAlg(tok)
	if err != nil {
		return nil, &ConnectorError{Class: ClassJWTDecodeError, Message: "Authorization JWT cannot be decoded"}
	}
	if alg != "RS256" {
		return nil, &ConnectorError{Class: ClassJWTIncorrectAlgorithm,
			Message: fmt.Sprintf("JWT algorithm %q is not accepted; RS256 is required", rest.Clip(alg, 20))}
	}
	var c dataClaims
	if err := h.verifier.VerifyInto(tok, &c); err != nil {
		if errors.Is(err, errKeySet) {
			h.log.LogAttrs(ctx, slog.LevelError, "saltedge: handler: the key set failed", slog.String("error", err.Error()))
			return nil, internalError
		}
		return nil, jwtError(err)
	}
	if h.replay != nil {
		// Only a verified token is recorded: forged ones cannot fill the store.
		first, err := h.replay.SeenOnce(ctx, replayID(tok), c.ExpiresAt.Add(h.leeway))
		if err != nil {
			h.log.LogAttrs(ctx, slog.LevelError, "saltedge: replay store failed", slog.String("error", err.Error()))
			return nil, internalError
		}
		if !first {
			return nil, &ConnectorError{Class: ClassJWTVerificationError, Message: "JWT was already used"}
		}
	}
	return &c, nil
}

// errKeySet marks a failure of HandlerConfig.KeySet: the handler's fault, not the
// request's.
var errKeySet = errors.New("key set failed")

// keySetErrors marks the errors of the user's KeySet with errKeySet.
type keySetErrors struct{ ks auth.KeySet }

// PublicKeys implements auth.KeySet.
func (k keySetErrors) PublicKeys(kid string) ([]*rsa.PublicKey, error) {
	keys, err := k.ks.PublicKeys(kid)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", errKeySet, err)
	}
	return keys, nil
}

func jwtError(err error) *ConnectorError {
	ce := &ConnectorError{Class: ClassJWTVerificationError}
	switch {
	case errors.Is(err, jwt.ErrTokenExpired):
		ce.Class, ce.Message = ClassJWTExpiredSignature, "JWT has expired"
	case errors.Is(err, jwt.ErrTokenRequiredClaimMissing):
		ce.Message = "JWT lacks a required claim (exp; iss when an issuer is configured)"
		if strings.Contains(err.Error(), "exp claim") {
			ce.Message = "JWT has no exp claim"
		} else if strings.Contains(err.Error(), "iss claim") {
			ce.Message = "JWT has no iss claim"
		}
	case errors.Is(err, jwt.ErrTokenInvalidIssuer):
		ce.Message = "JWT issuer is not accepted"
	case errors.Is(err, jwt.ErrTokenSignatureInvalid):
		ce.Message = "JWT signature is invalid"
	case errors.Is(err, auth.ErrJWTLifetime):
		ce.Message = "JWT exp is further ahead than the accepted lifetime"
	case errors.Is(err, jwt.ErrTokenUsedBeforeIssued):
		ce.Message = "JWT iat is in the future"
	case errors.Is(err, jwt.ErrTokenNotValidYet):
		ce.Message = "JWT is not valid yet"
	case errors.Is(err, jwt.ErrTokenMalformed):
		ce.Class, ce.Message = ClassJWTDecodeError, "JWT is malformed"
	case errors.Is(err, jwt.ErrTokenUnverifiable):
		ce.Message = "JWT signature is invalid: no key to verify it"
	default:
		ce.Message = "JWT cannot be verified"
	}
	return ce
}

// jwtAlg reads the alg of a compact JWS header without trusting it.
func jwtAlg(tok string) (string, error) {
	head, tail, ok := strings.Cut(tok, ".")
	if !ok || strings.Count(tail, ".") != 1 {
		return "", errors.New("not a compact JWS")
	}
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(head, "="))
	if err != nil {
		return "", err
	}
	var hd struct {
		Alg string `json:"alg"`
	}
	if err := json.Unmarshal(raw, &hd); err != nil {
		return "", err
	}
	return hd.Alg, nil
}

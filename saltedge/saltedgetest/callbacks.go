package saltedgetest

import (
	"bytes"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// The callback endpoints the fake serves below CallbackPrefix, with their methods.
var callbackRoutes = map[string]string{
	"sessions/success":           http.MethodPost,
	"sessions/update":            http.MethodPost,
	"sessions/fail":              http.MethodPost,
	"payments/success":           http.MethodPost,
	"payments/update":            http.MethodPost,
	"payments/fail":              http.MethodPost,
	"funds_availability/success": http.MethodPost,
	"funds_availability/fail":    http.MethodPost,
	"tokens/index":               http.MethodGet,
	"tokens/revoke":              http.MethodDelete,
	"clients/info":               http.MethodGet,
}

// Error classes the fake answers with (the seed's "Related Errors" tables), plus
// ClassClientNotFound, the fake's own answer to clients/info for an unknown client
// (the seed documents none).
const (
	ClassSessionClosed        = "SessionClosed"
	ClassConfigurationError   = "ConfigurationError"
	ClassSessionExpired       = "SessionExpired"
	ClassAuthorizationMissing = "AuthorizationMissing"
	ClassSessionNotFound      = "SessionNotFound"
	ClassProviderNotFound     = "ProviderNotFound"
	ClassActionNotAllowed     = "ActionNotAllowed"
	ClassProviderDisabled     = "ProviderDisabled"
	ClassCustomerNotFound     = "CustomerNotFound"
	ClassTokenMissing         = "TokenMissing"
	ClassTokenNotFound        = "TokenNotFound"
	ClassTokenRevoked         = "TokenRevoked"
	ClassTokenExpired         = "TokenExpired"
	ClassClientNotFound       = "ClientNotFound"
)

type callbackClaims struct {
	Data json.RawMessage `json:"data"`
	jwt.RegisteredClaims
}

// maxCallbackBody bounds what the fake reads of a callback body (payloads travel in
// the JWT; a body is ignored).
const maxCallbackBody = 1 << 20

// reply is the fake's answer to one callback, written once the callback is recorded.
type reply struct {
	status int
	body   any
	allow  string
}

// serveCallback judges a callback, then, under one lock, applies what it changes
// (sessions, tokens) and records it in the callback log before any waiter is woken,
// and only then answers. A test that waits for a session (WaitSession) or for the
// client's answer therefore always finds the callback in Callbacks.
func (s *Server) serveCallback(w http.ResponseWriter, r *http.Request) {
	cb := Callback{Method: r.Method, ReceivedAt: s.now()}
	var rep reply
	apply := s.judge(r, &cb, &rep)

	s.mu.Lock()
	if apply != nil {
		apply(&cb, &rep)
	}
	s.callbacks = append(s.callbacks, cb)
	s.notifyLocked()
	s.mu.Unlock()

	if rep.allow != "" {
		w.Header().Set("Allow", rep.allow)
	}
	writeJSON(w, rep.status, rep.body)
}

// stateful is the part of a callback that reads or changes the fake's state; it runs
// with s.mu held.
type stateful func(cb *Callback, rep *reply)

// judge checks everything that does not depend on the fake's state and fills rep with
// a refusal, or returns the stateful step that answers the callback.
func (s *Server) judge(r *http.Request, cb *Callback, rep *reply) stateful {
	name, ok := strings.CutPrefix(r.URL.Path, CallbackPrefix)
	method, known := callbackRoutes[name]
	if !ok || !known {
		cb.Name = strings.TrimPrefix(r.URL.Path, "/")
		fail(cb, rep, http.StatusNotFound, "NotFound", "no such endpoint: "+r.URL.Path)
		return nil
	}
	cb.Name = name
	if r.Method != method {
		rep.allow = method
		fail(cb, rep, http.StatusNotAcceptable, ClassActionNotAllowed,
			fmt.Sprintf("%s expects %s, got %s", name, method, r.Method))
		return nil
	}
	if r.ContentLength > maxCallbackBody {
		fail(cb, rep, http.StatusRequestEntityTooLarge, ClassActionNotAllowed, "body too large")
		return nil
	}

	if subtle.ConstantTimeCompare([]byte(r.Header.Get("App-Id")), []byte(s.appID)) != 1 {
		fail(cb, rep, http.StatusNotFound, ClassProviderNotFound, "App-Id is missing or unknown")
		return nil
	}
	if subtle.ConstantTimeCompare([]byte(r.Header.Get("App-Secret")), []byte(s.appSecret)) != 1 {
		fail(cb, rep, http.StatusNotFound, ClassProviderNotFound, "App-Secret does not match App-Id")
		return nil
	}
	claims, alg, err := s.verifyCallbackJWT(r.Header.Get("Authorization"))
	cb.Algorithm = alg
	if claims != nil {
		cb.Data = claims.Data
		if claims.ExpiresAt != nil {
			cb.ExpiresAt = claims.ExpiresAt.Time
		}
	}
	if err != nil {
		fail(cb, rep, http.StatusUnauthorized, ClassAuthorizationMissing, err.Error())
		return nil
	}
	cb.Verified = true

	switch name {
	case "tokens/index":
		return s.tokensIndexLocked
	case "tokens/revoke":
		token := r.Header.Get("Token")
		return func(cb *Callback, rep *reply) { s.tokensRevokeLocked(cb, rep, token) }
	case "clients/info":
		return s.clientsInfoLocked
	default:
		return s.sessionCallbackLocked
	}
}

// verifyCallbackJWT checks the Authorization header: "Bearer <JWT>", RS256 signed with
// the provider key, exp present and in the future, a JSON object in data.
func (s *Server) verifyCallbackJWT(h string) (*callbackClaims, string, error) {
	if h == "" {
		return nil, "", errors.New("missing Authorization header")
	}
	tok, ok := strings.CutPrefix(h, "Bearer ")
	if !ok {
		return nil, "", errors.New(`malformed Authorization header: want "Bearer <JWT>"`)
	}
	alg := peekAlg(tok)
	var c callbackClaims
	p := jwt.NewParser(jwt.WithValidMethods([]string{"RS256"}), jwt.WithExpirationRequired(),
		jwt.WithLeeway(s.leeway), jwt.WithTimeFunc(s.now))
	_, err := p.ParseWithClaims(tok, &c, func(*jwt.Token) (any, error) { return s.providerPub, nil })
	if err != nil {
		return &c, alg, fmt.Errorf("rejected Authorization JWT: %w", err)
	}
	if d := bytes.TrimSpace(c.Data); len(d) == 0 || d[0] != '{' {
		return &c, alg, errors.New("the Authorization JWT has no data object")
	}
	return &c, alg, nil
}

func peekAlg(tok string) string {
	head, _, ok := strings.Cut(tok, ".")
	if !ok {
		return ""
	}
	raw, err := base64.RawURLEncoding.DecodeString(head)
	if err != nil {
		return ""
	}
	var h struct {
		Alg string `json:"alg"`
	}
	_ = json.Unmarshal(raw, &h)
	return h.Alg
}

func fail(cb *Callback, rep *reply, status int, class, msg string) {
	cb.Status, cb.ErrorClass, cb.ErrorMessage = status, class, msg
	rep.status, rep.body = status, map[string]string{"error_class": class, "error_message": msg}
}

func ok(cb *Callback, rep *reply, data any, meta map[string]any) {
	cb.Status = http.StatusOK
	if meta == nil {
		meta = map[string]any{}
	}
	meta["time"] = cb.ReceivedAt.UTC().Format("2006-01-02T15:04:05.000Z")
	rep.status, rep.body = http.StatusOK, map[string]any{"data": data, "meta": meta}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(`{"error_class":"InternalServerError","error_message":"encoding"}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

// sessionCallback serves sessions/*, payments/* and funds_availability/*: the session
// named by session_secret must be open and not expired; update callbacks are
// recorded, success and fail close it.
func (s *Server) sessionCallbackLocked(cb *Callback, rep *reply) {
	var d struct {
		SessionSecret  string          `json:"session_secret"`
		Token          *string         `json:"token"`
		TokenExpiresAt string          `json:"token_expires_at"`
		UserID         json.RawMessage `json:"user_id"`
	}
	if err := json.Unmarshal(cb.Data, &d); err != nil {
		fail(cb, rep, http.StatusBadRequest, ClassActionNotAllowed, "data does not decode: "+err.Error())
		return
	}
	if d.SessionSecret == "" {
		fail(cb, rep, http.StatusNotFound, ClassSessionNotFound, "session_secret is missing")
		return
	}
	_, kind, _ := strings.Cut(cb.Name, "/")
	ss, found := s.sessions[d.SessionSecret]
	switch {
	case !found:
		fail(cb, rep, http.StatusNotFound, ClassSessionNotFound, "no session with this session_secret")
		return
	case ss.Status != SessionOpen:
		fail(cb, rep, http.StatusBadRequest, ClassSessionClosed, "session is already closed ("+string(ss.Status)+")")
		return
	case s.now().After(ss.ExpiresAt):
		fail(cb, rep, http.StatusUnauthorized, ClassSessionExpired, "session expired")
		return
	}
	switch kind {
	case "update":
		ss.Updates = append(ss.Updates, cb.Data)
	case "success":
		ss.Status, ss.Result, ss.ResultCallback = SessionSuccess, cb.Data, cb.Name
		if cb.Name == "sessions/success" && d.Token != nil && *d.Token != "" {
			var exp time.Time
			if d.TokenExpiresAt != "" {
				exp, _ = time.Parse(time.RFC3339, d.TokenExpiresAt)
			}
			s.addTokenLocked(*d.Token, rawString(d.UserID), exp)
		}
	case "fail":
		ss.Status, ss.Result, ss.ResultCallback = SessionFail, cb.Data, cb.Name
	}
	ok(cb, rep, map[string]any{}, nil)
}

// rawString renders a JSON string or number as text ("" for anything else).
func rawString(raw json.RawMessage) string {
	var s string
	if json.Unmarshal(raw, &s) == nil {
		return s
	}
	var n json.Number
	if json.Unmarshal(raw, &n) == nil {
		return n.String()
	}
	return ""
}

func (s *Server) tokensIndexLocked(cb *Callback, rep *reply) {
	var q struct {
		Kind       string          `json:"kind"`
		FromID     json.RawMessage `json:"from_id"`
		FromDate   string          `json:"from_date"`
		PerPage    json.RawMessage `json:"per_page"`
		CustomerID json.RawMessage `json:"customer_id"`
	}
	if err := json.Unmarshal(cb.Data, &q); err != nil {
		fail(cb, rep, http.StatusBadRequest, ClassActionNotAllowed, "data does not decode: "+err.Error())
		return
	}
	fromID, err1 := rawInt(q.FromID)
	perPage, err2 := rawInt(q.PerPage)
	if err1 != nil || err2 != nil {
		fail(cb, rep, http.StatusBadRequest, ClassActionNotAllowed, "from_id and per_page must be integers")
		return
	}
	var fromDate time.Time
	if q.FromDate != "" {
		t, err := time.Parse(time.RFC3339, q.FromDate)
		if err != nil {
			fail(cb, rep, http.StatusBadRequest, ClassActionNotAllowed, "from_date must be an ISO 8601 date-time")
			return
		}
		fromDate = t
	}
	if perPage <= 0 {
		perPage = DefaultPerPage
	}
	if perPage > MaxPerPage {
		perPage = MaxPerPage
	}
	customer := rawString(q.CustomerID)

	var matched []Token
	customerKnown := false
	for _, t := range s.tokens {
		if customer != "" && t.CustomerID == customer {
			customerKnown = true
		}
		if (q.Kind == "" || string(t.Status) == q.Kind) && t.ID >= fromID &&
			!t.CreatedAt.Before(fromDate) && (customer == "" || t.CustomerID == customer) {
			matched = append(matched, t.Token)
		}
	}
	if customer != "" && !customerKnown {
		fail(cb, rep, http.StatusNotFound, ClassCustomerNotFound, "no customer with this customer_id")
		return
	}
	meta := map[string]any{"next_id": nil}
	if int64(len(matched)) > perPage {
		meta["next_id"] = matched[perPage].ID
		matched = matched[:perPage]
	}
	list := make([]map[string]any, 0, len(matched))
	for _, t := range matched {
		e := map[string]any{"id": t.ID, "token": t.Token, "status": t.Status,
			"customer_id": t.CustomerID, "created_at": t.CreatedAt.UTC().Format(time.RFC3339)}
		if !t.ExpiresAt.IsZero() {
			e["expires_at"] = t.ExpiresAt.UTC().Format(time.RFC3339)
		}
		list = append(list, e)
	}
	ok(cb, rep, map[string]any{"tokens": list}, meta)
}

func rawInt(raw json.RawMessage) (int64, error) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, nil
	}
	return strconv.ParseInt(rawString(raw), 10, 64)
}

func (s *Server) tokensRevokeLocked(cb *Callback, rep *reply, value string) {
	if value == "" {
		fail(cb, rep, http.StatusBadRequest, ClassTokenMissing, "This request cannot be performed without TOKEN header.")
		return
	}
	for _, t := range s.tokens {
		if subtle.ConstantTimeCompare([]byte(t.Token.Token), []byte(value)) != 1 {
			continue
		}
		switch {
		case t.Status == TokenRevoked:
			fail(cb, rep, http.StatusUnauthorized, ClassTokenRevoked, "token is revoked")
		case !t.ExpiresAt.IsZero() && s.now().After(t.ExpiresAt):
			fail(cb, rep, http.StatusUnauthorized, ClassTokenExpired, "token is expired")
		default:
			t.Status = TokenRevoked
			ok(cb, rep, map[string]any{"revoked": true}, nil)
		}
		return
	}
	fail(cb, rep, http.StatusUnauthorized, ClassTokenNotFound, "token not found")
}

func (s *Server) clientsInfoLocked(cb *Callback, rep *reply) {
	var d struct {
		ClientID json.RawMessage `json:"client_id"`
	}
	_ = json.Unmarshal(cb.Data, &d)
	id, err := rawInt(d.ClientID)
	if err != nil || len(d.ClientID) == 0 {
		fail(cb, rep, http.StatusNotFound, ClassClientNotFound, "client_id is missing or not an integer")
		return
	}
	cl, found := s.clients[id]
	if !found {
		fail(cb, rep, http.StatusNotFound, ClassClientNotFound, "no client with this client_id")
		return
	}
	ok(cb, rep, map[string]any{"name": cl.Name, "scopes": append([]string(nil), cl.Scopes...),
		"public_key": string(publicPEM(&cl.Key.PublicKey))}, nil)
}

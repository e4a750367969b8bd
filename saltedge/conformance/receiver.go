package conformance

import (
	"context"
	"crypto/subtle"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/banksdk/banksdk/auth"
)

// callback is one request the connector sent to the runner's callback API.
type callback struct {
	name    string // "sessions/update", "clients/info", ...
	session string // data.session_secret
	// problem says why the callback was not authenticated or not acceptable ("" when
	// it was).
	problem string
	// sessions/update
	status           string
	redirectURL      string
	interactiveField string
	// sessions/success; never printed
	token string
	// sessions/fail
	errorClass string
}

// callbackRoutes are the callbacks of the seed (and the payments and funds
// availability callbacks of Salt Edge's SDK), by "METHOD path". The bool says whether
// the callback belongs to a session.
var callbackRoutes = map[string]bool{
	"POST sessions/update":            true,
	"POST sessions/success":           true,
	"POST sessions/fail":              true,
	"POST payments/update":            true,
	"POST payments/success":           true,
	"POST payments/fail":              true,
	"POST funds_availability/success": true,
	"POST funds_availability/fail":    true,
	"GET tokens/index":                false,
	"DELETE tokens/revoke":            false,
	"GET clients/info":                false,
}

// callbackLeeway is the clock skew allowed on a callback's exp.
const callbackLeeway = 10 * time.Second

// maxCallbacks bounds the callbacks recorded in one run; later ones are answered
// 429 and not recorded.
const maxCallbacks = 1000

// receiver serves Salt Edge's callback API and records what the connector sent.
type receiver struct {
	appID     string
	appSecret string
	verifier  *auth.JWTVerifier // nil: signatures are not checked
	clientID  int64
	clientPEM string // the TPP's public key, served by clients/info
	scopes    []string
	now       func() time.Time

	mu       sync.Mutex
	sessions map[string]bool
	got      []callback
	changed  chan struct{} // closed and replaced when a callback arrives
}

func newReceiver(s *settings, tppPEM string) (*receiver, error) {
	rc := &receiver{appID: s.AppID, appSecret: s.AppSecret, clientID: s.ClientID, clientPEM: tppPEM,
		scopes: s.Scopes, now: time.Now, sessions: map[string]bool{}, changed: make(chan struct{})}
	if s.ConnectorPublicKey != nil {
		v, err := auth.NewJWTVerifier(s.ConnectorPublicKey, auth.WithLeeway(callbackLeeway))
		if err != nil {
			return nil, invalid("ConnectorPublicKey: %v", err)
		}
		rc.verifier = v
	}
	return rc, nil
}

// open lets callbacks for this session in.
func (rc *receiver) open(session string) {
	rc.mu.Lock()
	rc.sessions[session] = true
	rc.mu.Unlock()
}

// callbacks returns what arrived so far.
func (rc *receiver) callbacks() []callback {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]callback(nil), rc.got...)
}

// next waits for the first sessions/* callback for session after the first skip
// ones, for at most timeout.
func (rc *receiver) next(ctx context.Context, session string, skip int, timeout time.Duration) (callback, error) {
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	for {
		rc.mu.Lock()
		n := 0
		for _, cb := range rc.got {
			if cb.session != session || !strings.HasPrefix(cb.name, "sessions/") || cb.problem != "" {
				continue
			}
			if n == skip {
				rc.mu.Unlock()
				return cb, nil
			}
			n++
		}
		changed := rc.changed
		rc.mu.Unlock()
		select {
		case <-changed:
		case <-ctx.Done():
			return callback{}, ctx.Err()
		case <-timer.C:
			return callback{}, fmt.Errorf("no sessions callback within %v", timeout)
		}
	}
}

func (rc *receiver) record(cb callback) {
	rc.mu.Lock()
	rc.got = append(rc.got, cb)
	close(rc.changed)
	rc.changed = make(chan struct{})
	rc.mu.Unlock()
}

// ServeHTTP answers a callback as Salt Edge does: {"data": ..., "meta": {"time": ...}},
// or {"error_class", "error_message"} with the seed's status.
func (rc *receiver) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, 1<<20))
	name, ok := strings.CutPrefix(r.URL.Path, CallbackPrefix)
	sessionBound, known := callbackRoutes[r.Method+" "+name]
	if !ok || !known {
		rc.writeError(w, http.StatusNotFound, "ActionNotAllowed", "unknown callback")
		return
	}
	rc.mu.Lock()
	full := len(rc.got) >= maxCallbacks
	rc.mu.Unlock()
	if full {
		rc.writeError(w, http.StatusTooManyRequests, "ActionNotAllowed", "too many callbacks in one run")
		return
	}
	cb := callback{name: name}
	data, status, class, problem := rc.authenticate(r)
	if problem == "" && sessionBound {
		problem = rc.readSession(&cb, data)
		if problem != "" {
			status, class = http.StatusNotFound, "SessionNotFound"
		}
	}
	cb.problem = problem
	rc.record(cb)
	if problem != "" {
		rc.writeError(w, status, class, problem)
		return
	}
	var out any = map[string]any{}
	switch name {
	case "tokens/index":
		out = map[string]any{"tokens": []any{}}
	case "tokens/revoke":
		if strings.TrimSpace(r.Header.Get("Token")) == "" {
			rc.writeError(w, http.StatusBadRequest, "TokenMissing", "Token header is missing")
			return
		}
		out = map[string]any{"revoked": true}
	case "clients/info":
		var q struct {
			ClientID int64 `json:"client_id"`
		}
		_ = json.Unmarshal(data, &q)
		if q.ClientID != rc.clientID {
			rc.writeError(w, http.StatusNotFound, "ClientNotFound", "unknown client_id")
			return
		}
		out = map[string]any{"name": "Salt Edge conformance runner", "scopes": rc.scopes, "public_key": rc.clientPEM}
	}
	rc.write(w, http.StatusOK, map[string]any{"data": out, "meta": map[string]any{"time": rc.now().UTC().Format(time.RFC3339Nano)}})
}

// authenticate checks App-Id, App-Secret and the Authorization JWT, and returns the
// JWT's data claim.
func (rc *receiver) authenticate(r *http.Request) (data json.RawMessage, status int, class, problem string) {
	if got := r.Header.Get("App-Id"); got == "" {
		return nil, http.StatusNotFound, "ProviderNotFound", "App-Id header is missing"
	} else if got != rc.appID {
		return nil, http.StatusNotFound, "ProviderNotFound", "App-Id is not the configured one"
	}
	secret := r.Header.Get("App-Secret")
	switch {
	case secret == "":
		return nil, http.StatusUnauthorized, "AuthorizationMissing", "App-Secret header is missing"
	case rc.appSecret != "" && subtle.ConstantTimeCompare([]byte(secret), []byte(rc.appSecret)) != 1:
		return nil, http.StatusUnauthorized, "AuthorizationMissing", "App-Secret is not the configured one"
	}
	h := strings.TrimSpace(r.Header.Get("Authorization"))
	if len(h) < 7 || !strings.EqualFold(h[:7], "bearer ") {
		return nil, http.StatusUnauthorized, "AuthorizationMissing", `Authorization header is not "Bearer <JWT>"`
	}
	data, err := rc.verify(strings.TrimSpace(h[7:]))
	if err != nil {
		return nil, http.StatusUnauthorized, "AuthorizationMissing", err.Error()
	}
	return data, 0, "", ""
}

type callbackClaims struct {
	Data json.RawMessage `json:"data"`
	Exp  *float64        `json:"exp"`
}

// verify checks a callback's JWT: RS256, an exp not past, and, with a connector key,
// its signature. Errors describe the token without quoting it.
func (rc *receiver) verify(tok string) (json.RawMessage, error) {
	head, claims, err := splitJWT(tok)
	if err != nil {
		return nil, err
	}
	if head.Alg != "RS256" {
		return nil, fmt.Errorf("JWT algorithm is %q, want RS256", clip(head.Alg, 20))
	}
	if rc.verifier != nil {
		mc, err := rc.verifier.Verify(tok)
		if err != nil {
			return nil, errors.New("JWT does not verify with the connector's public key, or lacks a valid exp")
		}
		raw, err := json.Marshal(mc["data"])
		if err != nil {
			return nil, errors.New("JWT data claim cannot be read")
		}
		claims.Data = raw
	} else {
		if claims.Exp == nil {
			return nil, errors.New("JWT has no exp claim")
		}
		if exp := time.Unix(int64(*claims.Exp), 0); exp.Add(callbackLeeway).Before(rc.now()) {
			return nil, errors.New("JWT has expired")
		}
	}
	if d := strings.TrimSpace(string(claims.Data)); !strings.HasPrefix(d, "{") {
		return nil, errors.New(`JWT data claim is not an object`)
	}
	return claims.Data, nil
}

type jwtHeader struct {
	Alg string `json:"alg"`
}

// splitJWT decodes a compact JWS's header and claims without verifying anything.
func splitJWT(tok string) (jwtHeader, callbackClaims, error) {
	var h jwtHeader
	var c callbackClaims
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return h, c, errors.New("the Authorization header is not a compact JWT")
	}
	hb, err1 := base64.RawURLEncoding.DecodeString(parts[0])
	cb, err2 := base64.RawURLEncoding.DecodeString(parts[1])
	if err1 != nil || err2 != nil || json.Unmarshal(hb, &h) != nil || json.Unmarshal(cb, &c) != nil {
		return h, c, errors.New("JWT cannot be decoded")
	}
	return h, c, nil
}

// readSession reads a session callback's payload into cb; the session must be one
// the runner opened.
func (rc *receiver) readSession(cb *callback, data json.RawMessage) string {
	var p struct {
		SessionSecret string `json:"session_secret"`
		Status        string `json:"status"`
		Extra         struct {
			RedirectURL string `json:"redirect_url"`
		} `json:"extra"`
		Step struct {
			Field string `json:"interactive_field"`
		} `json:"interactive_step_instruction"`
		Token      string `json:"token"`
		ErrorClass string `json:"error_class"`
	}
	if json.Unmarshal(data, &p) != nil {
		return "payload does not have the documented types"
	}
	if p.SessionSecret == "" {
		return "payload has no session_secret"
	}
	rc.mu.Lock()
	open := rc.sessions[p.SessionSecret]
	rc.mu.Unlock()
	if !open {
		return "session_secret is not one the runner opened"
	}
	cb.session, cb.status, cb.redirectURL = p.SessionSecret, p.Status, p.Extra.RedirectURL
	cb.interactiveField, cb.token, cb.errorClass = p.Step.Field, p.Token, clip(p.ErrorClass, 60)
	return ""
}

func (rc *receiver) writeError(w http.ResponseWriter, status int, class, msg string) {
	rc.write(w, status, map[string]string{"error_class": class, "error_message": msg})
}

func (rc *receiver) write(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

package obptest

import (
	"bytes"
	"encoding/json"
	"fmt"
	"mime"
	"net"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk/fake"
)

// obpError is an error answer: an HTTP status and an OBP message.
type obpError struct {
	status int
	msg    string
}

func errf(status int, msg string, suffix ...string) *obpError {
	if len(suffix) > 0 {
		msg += " " + strings.Join(suffix, " ")
	}
	return &obpError{status: status, msg: msg}
}

// versions the fake serves, and which endpoint families each has. v5.1.0 drops the
// v4.0.0 account-access calls (they lack VIEW_ID in the URL).
var versions = map[string]struct{ v4 bool }{
	"v3.0.0": {false},
	"v3.1.0": {false},
	"v4.0.0": {true},
	"v5.0.0": {true},
	"v5.1.0": {false},
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Correlation-Id", randomHex(16))
	if d := fake.DuplicateHeaderNames(r); len(d) > 0 {
		s.fail(w, r, errf(http.StatusBadRequest, MsgDuplicateHeaderKeys))
		return
	}
	segs, ok := splitPath(r.URL.EscapedPath())
	if !ok {
		s.fail(w, r, errf(http.StatusNotFound, MsgInvalidURI))
		return
	}
	if len(segs) == 3 && segs[0] == "my" && segs[1] == "logins" && segs[2] == "direct" && r.Method == http.MethodPost {
		s.directLogin(w, r)
		return
	}
	if len(segs) < 3 || segs[0] != "obp" {
		s.fail(w, r, errf(http.StatusNotFound, MsgInvalidURI))
		return
	}
	ver, known := versions[segs[1]]
	if !known {
		s.fail(w, r, errf(http.StatusNotFound, MsgInvalidURI))
		return
	}
	segs = segs[2:]
	route := s.route(r.Method, segs, ver.v4)
	if route == nil {
		s.fail(w, r, errf(http.StatusNotFound, MsgInvalidURI))
		return
	}
	if r.Method == http.MethodPost || r.Method == http.MethodPut {
		// OBP only routes JSON bodies: anything else is not found.
		mt, _, _ := mime.ParseMediaType(r.Header.Get("Content-Type"))
		if mt != "application/json" {
			s.fail(w, r, errf(http.StatusNotFound, MsgInvalidURI))
			return
		}
	}
	u, e := s.authenticate(r)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	if u == nil {
		s.fail(w, r, errf(http.StatusUnauthorized, MsgUserNotLoggedIn))
		return
	}
	status, body, e := route(u, segs, r)
	if e != nil {
		s.fail(w, r, e)
		return
	}
	writeJSON(w, status, body)
}

type handlerFunc func(u *user, segs []string, r *http.Request) (int, any, *obpError)

func (s *Server) route(method string, segs []string, v4 bool) handlerFunc {
	is := func(m string, parts ...string) bool {
		if method != m || len(segs) != len(parts) {
			return false
		}
		for i, p := range parts {
			if p != "*" && p != segs[i] {
				return false
			}
		}
		return true
	}
	switch {
	case is(http.MethodGet, "users", "current"):
		return s.currentUser
	case is(http.MethodGet, "users", "current", "user_id"):
		return s.currentUserID
	case v4 && is(http.MethodPost, "banks", "*", "accounts", "*", "account-access", "grant"):
		return s.grant
	case v4 && is(http.MethodPost, "banks", "*", "accounts", "*", "account-access", "revoke"):
		return s.revoke
	case v4 && is(http.MethodPost, "banks", "*", "accounts", "*", "user-account-access"):
		return s.createUserWithAccountAccess
	case v4 && is(http.MethodPut, "banks", "*", "accounts", "*", "account-access"):
		return s.revokeGrant
	case v4 && is(http.MethodPost, "user-entitlements"):
		return s.createUserWithRoles
	}
	return nil
}

// splitPath splits an escaped path into unescaped segments.
func splitPath(escaped string) ([]string, bool) {
	parts := strings.Split(strings.Trim(escaped, "/"), "/")
	out := make([]string, 0, len(parts))
	for _, p := range parts {
		u, err := url.PathUnescape(p)
		if err != nil {
			return nil, false
		}
		out = append(out, u)
	}
	return out, true
}

func writeJSON(w http.ResponseWriter, status int, body any) {
	b, err := json.Marshal(body)
	if err != nil {
		status, b = http.StatusInternalServerError, []byte(ErrorBody(500, MsgUnknownError))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_, _ = w.Write(b)
}

func (s *Server) fail(w http.ResponseWriter, r *http.Request, e *obpError) {
	if s.cfg.echoCreds {
		e = &obpError{status: e.status, msg: e.msg + echoCredentials(r)}
	}
	if strings.HasPrefix(e.msg, "OBP-20001") {
		host := r.Host
		w.Header().Set("WWW-Authenticate", fmt.Sprintf(`OAuth realm=%q, Bearer realm=%q, DirectLogin realm=%q`, host, host, host))
	}
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(e.status)
	if s.cfg.legacyErrors {
		_, _ = fmt.Fprintf(w, `{"error":%s}`, quoteJSON(e.msg))
		return
	}
	_, _ = w.Write([]byte(ErrorBody(e.status, e.msg)))
}

// echoCredentials renders the credential headers of r for WithEchoCredentials.
func echoCredentials(r *http.Request) string {
	var parts []string
	for _, name := range []string{"Authorization", "DAuth", "DirectLogin", "Consent-JWT", "Consent-Id"} {
		for k, vs := range r.Header {
			if strings.EqualFold(k, name) {
				for _, v := range vs {
					parts = append(parts, name+": "+v)
				}
			}
		}
	}
	if len(parts) == 0 {
		return ""
	}
	return " (received " + strings.Join(parts, ", ") + ")"
}

func quoteJSON(s string) string {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	_ = enc.Encode(s)
	return strings.TrimSuffix(buf.String(), "\n")
}

// ---- authentication ----

// hasRawHeader reports whether a header line named exactly name (case-sensitive)
// arrived on the wire.
func hasRawHeader(r *http.Request, name string) bool {
	for _, n := range fake.RawHeaderNames(r) {
		if n == name {
			return true
		}
	}
	return false
}

// authenticate finds the calling user in OBP's order (first match wins): Consent-JWT,
// Authorization OAuth / Bearer, DirectLogin header, Authorization DirectLogin, DAuth.
// It returns nil, nil for an anonymous request.
func (s *Server) authenticate(r *http.Request) (*user, *obpError) {
	authz := r.Header.Get("Authorization")
	switch {
	case hasRawHeader(r, "Consent-JWT") || hasRawHeader(r, "Consent-Id"):
		v := r.Header.Get("Consent-Jwt")
		if v == "" {
			v = r.Header.Get("Consent-Id")
		}
		return s.userFor(s.consents, v)
	case strings.Contains(authz, "OAuth"):
		return nil, errf(http.StatusUnauthorized, MsgAuthorizationHeaderNotSupport)
	case strings.Contains(authz, "Bearer"):
		tok := strings.TrimSpace(strings.TrimPrefix(strings.TrimSpace(authz), "Bearer"))
		return s.userFor(s.bearers, tok)
	case len(r.Header.Values("Directlogin")) > 0:
		return s.directLoginUser(r.Header.Get("Directlogin"))
	case strings.Contains(authz, "DirectLogin"):
		return s.directLoginUser(authz)
	case !s.cfg.dauthDisabled && hasRawHeader(r, "DAuth"):
		return s.dauth(r)
	case authz != "":
		return nil, errf(http.StatusUnauthorized, MsgAuthorizationHeaderNotSupport)
	}
	return nil, nil
}

func (s *Server) userFor(m map[string]string, key string) (*user, *obpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if id, ok := m[key]; ok && key != "" {
		if u, ok := s.users[id]; ok {
			return u, nil
		}
	}
	return nil, errf(http.StatusUnauthorized, MsgUserNotLoggedIn)
}

// parseDirectLogin parses a DirectLogin header value the way OBP does: strip the
// "DirectLogin" prefix, split on commas, split each part on its first "=", trim
// spaces and surrounding double quotes. No URL decoding.
func parseDirectLogin(v string) map[string]string {
	v = strings.TrimSpace(v)
	v = strings.TrimSpace(strings.TrimPrefix(v, "DirectLogin"))
	out := map[string]string{}
	for _, part := range strings.Split(v, ",") {
		k, val, ok := strings.Cut(part, "=")
		if !ok {
			continue
		}
		out[strings.TrimSpace(k)] = strings.Trim(strings.TrimSpace(val), `"`)
	}
	return out
}

func (s *Server) directLoginUser(header string) (*user, *obpError) {
	tok := parseDirectLogin(header)["token"]
	s.mu.Lock()
	defer s.mu.Unlock()
	t, ok := s.tokens[tok]
	if !ok || tok == "" || !s.cfg.now().Before(t.expires) {
		// The rejected token is echoed after the message, so that a client's redaction
		// of secrets from error messages can be tested.
		return nil, errf(http.StatusUnauthorized, MsgDirectLoginInvalidToken, tok)
	}
	u, ok := s.users[t.userID]
	if !ok {
		return nil, errf(http.StatusUnauthorized, MsgDirectLoginInvalidToken, tok)
	}
	return u, nil
}

func (s *Server) directLogin(w http.ResponseWriter, r *http.Request) {
	header := r.Header.Get("Directlogin")
	if header == "" {
		if a := r.Header.Get("Authorization"); strings.HasPrefix(strings.TrimSpace(a), "DirectLogin") {
			header = a
		}
	}
	if header == "" {
		s.fail(w, r, errf(http.StatusBadRequest, MsgDirectLoginMissingHeader))
		return
	}
	p := parseDirectLogin(header)
	var missing []string
	for _, k := range []string{"username", "password", "consumer_key"} {
		if p[k] == "" {
			missing = append(missing, k)
		}
	}
	if len(missing) > 0 {
		s.fail(w, r, errf(http.StatusBadRequest, MsgDirectLoginMissingParameters, strings.Join(missing, ", ")))
		return
	}
	s.mu.Lock()
	if !s.consumers[p["consumer_key"]] {
		s.mu.Unlock()
		s.fail(w, r, errf(http.StatusUnauthorized, MsgInvalidConsumerKey))
		return
	}
	id, ok := s.byName[userKey{p["username"], s.LocalProvider()}]
	u := s.users[id]
	if !ok || u.password == "" || u.password != p["password"] {
		s.mu.Unlock()
		s.fail(w, r, errf(http.StatusUnauthorized, MsgInvalidLoginCredentials))
		return
	}
	if u.locked {
		s.mu.Unlock()
		s.fail(w, r, errf(http.StatusUnauthorized, MsgUsernameHasBeenLocked))
		return
	}
	tok := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"jti": newUUID()})
	signed, err := tok.SignedString([]byte(s.consumerKey + s.password))
	if err != nil {
		s.mu.Unlock()
		s.fail(w, r, errf(http.StatusInternalServerError, MsgUnknownError))
		return
	}
	s.tokens[signed] = dlToken{userID: u.id, expires: s.cfg.now().Add(s.cfg.tokenTTL)}
	s.logins++
	s.mu.Unlock()
	writeJSON(w, s.cfg.loginStatus, map[string]string{"token": signed})
}

// dauth checks a DAuth request as OBP does: allow-list, one value, RS256 signature,
// required claims; then gets or creates the user.
func (s *Server) dauth(r *http.Request) (*user, *obpError) {
	if len(s.cfg.hosts) == 0 {
		return nil, errf(http.StatusUnauthorized, MsgDAuthHostNotDefined)
	}
	ip, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		ip = r.RemoteAddr
	}
	allowed := false
	for _, h := range s.cfg.hosts {
		if hostEqual(strings.TrimSpace(h), ip) {
			allowed = true
		}
	}
	if !allowed {
		return nil, errf(http.StatusUnauthorized, MsgDAuthNotAllowedAddress)
	}
	vals := r.Header.Values("Dauth")
	if len(vals) != 1 || strings.TrimSpace(vals[0]) == "" {
		return nil, errf(http.StatusUnauthorized, MsgDAuthHeaderNotSingleString)
	}
	claims := jwt.MapClaims{}
	tok, err := jwt.ParseWithClaims(strings.TrimSpace(vals[0]), claims, func(*jwt.Token) (any, error) {
		return s.cfg.pub, nil
	}, jwt.WithValidMethods([]string{"RS256"}))
	if err != nil || !tok.Valid {
		return nil, errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted)
	}
	str := func(name string) (string, bool) {
		v, ok := claims[name]
		if !ok {
			return "", false
		}
		sv, ok := v.(string)
		return sv, ok
	}
	call := DAuthCall{Algorithm: tok.Method.Alg()}
	var ok1, ok2, ok3 bool
	call.SmartContractAddress, ok1 = str("smart_contract_address")
	call.NetworkName, ok2 = str("network_name")
	call.ConsumerKey, ok3 = str("consumer_key")
	if !ok1 || !ok2 || !ok3 || call.SmartContractAddress == "" || call.NetworkName == "" {
		return nil, errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted)
	}
	for _, opt := range []struct {
		name string
		dst  *string
	}{{"msg_sender", &call.MsgSender}, {"timestamp", &call.Timestamp}, {"request_id", &call.RequestID}} {
		if _, present := claims[opt.name]; !present {
			continue
		}
		v, ok := str(opt.name)
		if !ok {
			return nil, errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted)
		}
		*opt.dst = v
	}

	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.cfg.lenient {
		if e := s.strictDAuthLocked(call); e != nil {
			return nil, e
		}
		s.seenIDs[call.RequestID] = true
	}
	u := s.ensureUserLocked(call.SmartContractAddress, DAuthProviderPrefix+call.NetworkName)
	s.dauthCalls = append(s.dauthCalls, call)
	return u, nil
}

func (s *Server) strictDAuthLocked(call DAuthCall) *obpError {
	if call.Timestamp == "" {
		return errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted, "The timestamp claim is missing.")
	}
	ts, err := time.Parse(time.RFC3339, call.Timestamp)
	if err != nil {
		return errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted, "The timestamp claim is not RFC 3339.")
	}
	if d := s.cfg.now().Sub(ts); d > s.cfg.maxSkew || d < -s.cfg.maxSkew {
		return errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted, "The timestamp claim is too far from the server's clock.")
	}
	if call.RequestID == "" {
		return errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted, "The request_id claim is missing.")
	}
	if s.seenIDs[call.RequestID] {
		return errf(http.StatusUnauthorized, MsgDAuthJWTCorrupted, "The request_id claim was already used.")
	}
	return nil
}

// ---- request bodies ----

type postView struct {
	ViewID   *string `json:"view_id"`
	IsSystem *bool   `json:"is_system"`
}

func (v *postView) valid() bool { return v != nil && v.ViewID != nil && v.IsSystem != nil }

type postAccountAccess struct {
	UserID *string   `json:"user_id"`
	View   *postView `json:"view"`
}

type postCreateUserAccountAccess struct {
	Username *string    `json:"username"`
	Provider *string    `json:"provider"`
	Views    []postView `json:"views"`
}

type postRevokeGrant struct {
	Views *[]string `json:"views"`
}

type postRole struct {
	BankID   *string `json:"bank_id"`
	RoleName *string `json:"role_name"`
}

type postCreateUserWithRoles struct {
	Username *string    `json:"username"`
	Provider *string    `json:"provider"`
	Roles    []postRole `json:"roles"`
}

func decodeBody(r *http.Request, dst any, class string) *obpError {
	dec := json.NewDecoder(r.Body)
	if err := dec.Decode(dst); err != nil {
		return errf(http.StatusBadRequest, MsgInvalidJSONFormat, "The Json body should be the "+class)
	}
	return nil
}

func badJSON(class string) *obpError {
	return errf(http.StatusBadRequest, MsgInvalidJSONFormat, "The Json body should be the "+class)
}

// ---- endpoints ----

type viewRef struct {
	BankID    string `json:"bank_id"`
	AccountID string `json:"account_id"`
	ViewID    string `json:"view_id"`
}

func (s *Server) currentUser(u *user, _ []string, _ *http.Request) (int, any, *obpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	ents := make([]map[string]string, 0, len(u.entitlements))
	for _, e := range u.entitlements {
		ents = append(ents, map[string]string{"entitlement_id": e.EntitlementID, "role_name": e.RoleName, "bank_id": e.BankID})
	}
	views := []viewRef{}
	for k, a := range s.accounts {
		for _, v := range sortedKeys(a.access[u.id]) {
			views = append(views, viewRef{k.bank, k.account, v})
		}
	}
	return http.StatusOK, map[string]any{
		"user_id":      u.id,
		"email":        u.email,
		"provider_id":  u.username,
		"provider":     u.provider,
		"username":     u.username,
		"entitlements": map[string]any{"list": ents},
		"views":        map[string]any{"list": views},
	}, nil
}

func (s *Server) currentUserID(u *user, _ []string, _ *http.Request) (int, any, *obpError) {
	return http.StatusOK, map[string]string{"user_id": u.id}, nil
}

// accountLocked resolves BANK_ID and ACCOUNT_ID of a /banks/B/accounts/A/... path.
func (s *Server) accountLocked(segs []string) (*account, *obpError) {
	bank, acct := segs[1], segs[3]
	if !s.banks[bank] {
		return nil, errf(http.StatusNotFound, MsgBankNotFound)
	}
	a, ok := s.accounts[accountKey{bank, acct}]
	if !ok {
		return nil, errf(http.StatusNotFound, MsgBankAccountNotFound)
	}
	return a, nil
}

// canGrantLocked implements OBP's check: for a system view, one of the caller's views
// on the account lists it in can_grant_access_to_views; for a custom view, one of them
// has can_grant_access_to_custom_views.
func (s *Server) canGrantLocked(a *account, u *user, target string, revoke bool) bool {
	for vid := range a.access[u.id] {
		v, _, ok := s.lookupView(a, vid)
		if !ok {
			continue
		}
		list, custom := v.CanGrantAccessToViews, v.CanGrantAccessToCustomViews
		if revoke {
			list, custom = v.CanRevokeAccessToViews, v.CanRevokeAccessToCustomViews
		}
		if IsSystemViewID(target) {
			for _, id := range list {
				if id == target {
					return true
				}
			}
		} else if custom {
			return true
		}
	}
	return false
}

// findViewLocked resolves a target view given with is_system.
func (s *Server) findViewLocked(a *account, viewID string, isSystem bool) (*View, *obpError) {
	if isSystem {
		v, ok := s.system[viewID]
		if !ok || !IsSystemViewID(viewID) {
			return nil, errf(http.StatusBadRequest, MsgSystemViewNotFound, "Current VIEW_ID is "+viewID)
		}
		return v, nil
	}
	v, ok := a.custom[viewID]
	if !ok {
		return nil, errf(http.StatusBadRequest, MsgViewNotFound, "Current VIEW_ID is "+viewID)
	}
	return v, nil
}

func (s *Server) owners(a *account) int {
	n := 0
	for _, vs := range a.access {
		if vs[ViewOwner] {
			n++
		}
	}
	return n
}

func (s *Server) grant(u *user, segs []string, r *http.Request) (int, any, *obpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, target, v, isSystem, e := s.accessChangeLocked(u, segs, r, false)
	if e != nil {
		return 0, nil, e
	}
	a.grant(target.id, v.ID)
	return http.StatusCreated, viewJSON(v, isSystem, s.cfg.extraView), nil
}

// accessChangeLocked reads and checks a grant or revoke request: the account, the
// body, the caller's right to change the view, the target user and the view.
func (s *Server) accessChangeLocked(u *user, segs []string, r *http.Request, revoking bool) (*account, *user, *View, bool, *obpError) {
	a, e := s.accountLocked(segs)
	if e != nil {
		return nil, nil, nil, false, e
	}
	var body postAccountAccess
	if e := decodeBody(r, &body, "PostAccountAccessJsonV400"); e != nil {
		return nil, nil, nil, false, e
	}
	if body.UserID == nil || !body.View.valid() {
		return nil, nil, nil, false, badJSON("PostAccountAccessJsonV400")
	}
	if !s.canGrantLocked(a, u, *body.View.ViewID, revoking) {
		msg := MsgCannotGrantAccessToView
		if revoking {
			msg = MsgCannotRevokeAccessToView
		}
		return nil, nil, nil, false, errf(http.StatusBadRequest, msg)
	}
	target, ok := s.users[*body.UserID]
	if !ok {
		return nil, nil, nil, false, errf(http.StatusNotFound, MsgUserNotFoundByID)
	}
	v, e := s.findViewLocked(a, *body.View.ViewID, *body.View.IsSystem)
	if e != nil {
		return nil, nil, nil, false, e
	}
	return a, target, v, *body.View.IsSystem, nil
}

func (s *Server) revoke(u *user, segs []string, r *http.Request) (int, any, *obpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, target, v, _, e := s.accessChangeLocked(u, segs, r, true)
	if e != nil {
		return 0, nil, e
	}
	if !a.access[target.id][v.ID] {
		return 0, nil, errf(http.StatusBadRequest, MsgCannotFindAccountAccess)
	}
	if v.ID == ViewOwner && s.owners(a) == 1 {
		return 0, nil, errf(http.StatusBadRequest, MsgCannotRevokeAccountAccess, "The account would have no owner left.")
	}
	delete(a.access[target.id], v.ID)
	return http.StatusCreated, map[string]bool{"revoked": true}, nil
}

func (s *Server) createUserWithAccountAccess(u *user, segs []string, r *http.Request) (int, any, *obpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.accountLocked(segs)
	if e != nil {
		return 0, nil, e
	}
	const class = "PostCreateUserAccountAccessJsonV400"
	var body postCreateUserAccountAccess
	if e := decodeBody(r, &body, class); e != nil {
		return 0, nil, e
	}
	if body.Username == nil || body.Provider == nil || body.Views == nil {
		return 0, nil, badJSON(class)
	}
	for i := range body.Views {
		if !body.Views[i].valid() {
			return 0, nil, badJSON(class)
		}
	}
	if !strings.HasPrefix(*body.Provider, DAuthProviderPrefix) {
		return 0, nil, errf(http.StatusBadRequest, MsgInvalidDAuthUserProvider, "The provider must start with "+DAuthProviderPrefix)
	}
	for _, pv := range body.Views {
		if !s.canGrantLocked(a, u, *pv.ViewID, false) {
			return 0, nil, errf(http.StatusForbidden, MsgCannotGrantAccessToView)
		}
	}
	views := make([]*View, 0, len(body.Views))
	for _, pv := range body.Views {
		v, e := s.findViewLocked(a, *pv.ViewID, *pv.IsSystem)
		if e != nil {
			return 0, nil, e
		}
		views = append(views, v)
	}
	target := s.ensureUserLocked(*body.Username, *body.Provider)
	out := make([]json.RawMessage, 0, len(views))
	for i, v := range views {
		a.grant(target.id, v.ID)
		out = append(out, viewJSON(v, *body.Views[i].IsSystem, s.cfg.extraView))
	}
	return http.StatusCreated, out, nil
}

// revokeGrant acts on the caller: it revokes all of the caller's access to the
// account, then grants the caller the listed views.
func (s *Server) revokeGrant(u *user, segs []string, r *http.Request) (int, any, *obpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	a, e := s.accountLocked(segs)
	if e != nil {
		return 0, nil, e
	}
	const class = "PostRevokeGrantAccountAccessJsonV400"
	var body postRevokeGrant
	if e := decodeBody(r, &body, class); e != nil {
		return 0, nil, e
	}
	if body.Views == nil {
		return 0, nil, badJSON(class)
	}
	held := a.access[u.id]
	if len(held) == 0 {
		return 0, nil, errf(http.StatusBadRequest, MsgCannotFindAccountAccess)
	}
	// canRevokeAccessToAllViews: the caller may revoke every view it holds.
	for vid := range held {
		if !s.canGrantLocked(a, u, vid, true) {
			return 0, nil, errf(http.StatusBadRequest, MsgCannotGrantAccessToView)
		}
	}
	// The body carries bare ids: resolve them before checking the grant permissions.
	for _, vid := range *body.Views {
		if _, e := s.findViewLocked(a, vid, IsSystemViewID(vid)); e != nil {
			return 0, nil, e
		}
	}
	for _, vid := range *body.Views {
		if !s.canGrantLocked(a, u, vid, false) {
			return 0, nil, errf(http.StatusBadRequest, MsgCannotGrantAccessToView)
		}
	}
	keepsOwner := false
	for _, vid := range *body.Views {
		keepsOwner = keepsOwner || vid == ViewOwner
	}
	if held[ViewOwner] && !keepsOwner && s.owners(a) == 1 {
		return 0, nil, errf(http.StatusBadRequest, MsgCannotRevokeAccountAccess, "The account would have no owner left.")
	}
	delete(a.access, u.id)
	for _, vid := range *body.Views {
		a.grant(u.id, vid)
	}
	return http.StatusCreated, map[string]bool{"revoked": true}, nil
}

func (s *Server) createUserWithRoles(u *user, _ []string, r *http.Request) (int, any, *obpError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	const class = "PostCreateUserWithRolesJsonV400"
	var body postCreateUserWithRoles
	if e := decodeBody(r, &body, class); e != nil {
		return 0, nil, e
	}
	if body.Username == nil || body.Provider == nil || body.Roles == nil {
		return 0, nil, badJSON(class)
	}
	for _, role := range body.Roles {
		if role.BankID == nil || role.RoleName == nil || *role.RoleName == "" {
			return 0, nil, badJSON(class)
		}
	}
	if !strings.HasPrefix(*body.Provider, DAuthProviderPrefix) {
		return 0, nil, errf(http.StatusBadRequest, MsgInvalidDAuthUserProvider, "The provider must start with "+DAuthProviderPrefix)
	}
	for _, role := range body.Roles {
		if *role.BankID != "" && !s.banks[*role.BankID] {
			return 0, nil, errf(http.StatusNotFound, MsgBankNotFound, "Current BANK_ID is "+*role.BankID)
		}
	}
	var missing []string
	for _, role := range body.Roles {
		if !holds(u, "", RoleCanCreateEntitlementAtAnyBank) && !holds(u, *role.BankID, *role.RoleName) {
			missing = append(missing, *role.RoleName)
		}
	}
	if len(missing) > 0 {
		return 0, nil, errf(http.StatusForbidden, MsgUserHasMissingRoles, strings.Join(missing, ", "))
	}
	target := s.ensureUserLocked(*body.Username, *body.Provider)
	list := make([]Entitlement, 0, len(body.Roles))
	for _, role := range body.Roles {
		list = append(list, s.addEntitlementLocked(target, *role.BankID, *role.RoleName))
	}
	return http.StatusCreated, map[string]any{"list": list}, nil
}

func holds(u *user, bankID, role string) bool {
	for _, e := range u.entitlements {
		if e.RoleName == role && e.BankID == bankID {
			return true
		}
	}
	return false
}

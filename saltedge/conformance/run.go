package conformance

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"maps"
	"net/http"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/saltedge"
)

// runner is one run against one connector.
type runner struct {
	cfg    *settings
	hc     *http.Client
	minter *auth.JWTMinter // Salt Edge's key
	tpp    *auth.JWTMinter // the TPP client application's key (client_jwt); a wrong key for Salt Edge's requests
	recv   *receiver
	rep    Report
	now    func() time.Time

	session  string // the session of the token flow
	token    string // the access token it produced; never printed
	accounts []string
}

// Run acts as Salt Edge towards the connector at cfg.BaseURL: it sends every request
// of the seed, signed as Salt Edge signs them, and forged ones, serves Salt Edge's
// callback API on cfg.Callbacks, and checks the answers and callbacks against the
// documentation. The connector's behaviour is in the Report; the error is non-nil
// only for a Config Run cannot use (matching ErrInvalidConfig) or when ctx ends
// (the Report then holds the checks run so far).
func Run(ctx context.Context, cfg Config) (Report, error) {
	s, err := cfg.settings()
	if err != nil {
		if cfg.Callbacks != nil {
			_ = cfg.Callbacks.Close()
		}
		return Report{}, err
	}
	defer s.Callbacks.Close()
	minter, err := auth.NewJWTMinter(s.SigningKey)
	if err != nil {
		return Report{}, invalid("SigningKey: %v", err)
	}
	tppKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return Report{}, fmt.Errorf("conformance: generating the TPP's key: %w", err)
	}
	tpp, err := auth.NewJWTMinter(tppKey)
	if err != nil {
		return Report{}, fmt.Errorf("conformance: %w", err)
	}
	der, err := x509.MarshalPKIXPublicKey(&tppKey.PublicKey)
	if err != nil {
		return Report{}, fmt.Errorf("conformance: %w", err)
	}
	recv, err := newReceiver(s, string(pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})))
	if err != nil {
		return Report{}, err
	}

	hc := s.HTTPClient
	if hc == nil {
		tr := http.DefaultTransport.(*http.Transport).Clone()
		defer tr.CloseIdleConnections()
		hc = &http.Client{Transport: tr}
	}
	srv := &http.Server{Handler: recv, ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(s.Callbacks)
	}()
	defer func() {
		_ = srv.Close()
		<-served
	}()

	r := &runner{cfg: s, hc: hc, minter: minter, tpp: tpp, recv: recv, now: time.Now}
	r.run(ctx)
	return r.rep, ctx.Err()
}

func (r *runner) run(ctx context.Context) {
	steps := []func(context.Context){
		r.tokenFlow,
		r.fetchAccounts,
		r.fetchTransactions,
		r.fetchKYC,
		r.authChecks,
		r.refreshAccounts,
		r.reconnect,
		r.notifyError,
		r.cancel,
		r.revoke,
		r.callbackAuth,
	}
	for _, step := range steps {
		if ctx.Err() != nil {
			return
		}
		step(ctx)
	}
}

// try sends one request and returns judge's verdict on its answer.
func (r *runner) try(ctx context.Context, req request, judge func(*answer) (string, bool)) (*answer, string, bool) {
	a, err := r.send(ctx, req)
	if err != nil {
		return nil, err.Error(), false
	}
	detail, ok := judge(a)
	return a, detail, ok
}

// check runs one request and records judge's verdict on its answer.
func (r *runner) check(ctx context.Context, id, name string, req request, judge func(*answer) (string, bool)) (*answer, bool) {
	a, detail, ok := r.try(ctx, req, judge)
	r.rep.add(id, name, ok, detail)
	return a, ok
}

// originalRequest is the TPP's request relayed by Salt Edge: {"client_jwt": "Bearer
// <JWT signed by the TPP>", "client_payload": {"data": data, "exp": ...}}.
func (r *runner) originalRequest(data map[string]any) (map[string]any, error) {
	exp := r.now().Add(RequestTTL).Unix()
	tok, err := r.tpp.Mint(map[string]any{"data": data, "exp": exp})
	if err != nil {
		return nil, fmt.Errorf("signing the TPP's request: %w", err)
	}
	return map[string]any{"client_jwt": "Bearer " + tok, "client_payload": map[string]any{"data": data, "exp": exp}}, nil
}

// createToken sends tokens/create for a new session (the seed's payload).
func (r *runner) createToken(ctx context.Context, id, name string) (string, bool) {
	secret := newSecret()
	r.recv.open(secret)
	orig, err := r.originalRequest(map[string]any{
		"credentials":         map[string]any(maps.Clone(r.cfg.Credentials)),
		"provider_code":       r.cfg.ProviderCode,
		"redirect_url":        TPPRedirectURL,
		"scopes":              r.cfg.Scopes,
		"consent_period_days": 90,
	})
	if err != nil {
		r.rep.add(id, name, false, err.Error())
		return "", false
	}
	_, ok := r.check(ctx, id, name, request{method: http.MethodPost, endpoint: "tokens/create", data: map[string]any{
		"app_name": "Salt Edge conformance runner", "provider_code": r.cfg.ProviderCode,
		"session_secret": secret, "original_request": orig}}, okAnswer)
	return secret, ok
}

// tokenFlow goes through tokens/create, the connector's sessions callbacks (the PSU
// authorising at the bank after a redirect, or tokens/confirm for an interactive
// step) up to sessions/success and its access token.
func (r *runner) tokenFlow(ctx context.Context) {
	const flowID, flowName = "tokens.flow", "the token flow ends in sessions/success with an access token"
	secret, ok := r.createToken(ctx, "tokens.create", "POST tokens/create answers 200")
	if !ok {
		r.rep.add(confirmID, confirmName, false, "not run: tokens/create failed")
		r.rep.add(flowID, flowName, false, "not run: tokens/create failed")
		return
	}
	r.session = secret
	detail, ok, confirmed := r.followSession(ctx, secret)
	if !confirmed {
		r.rep.add(confirmID, confirmName, true, "not applicable: the connector asked for no interactive step")
	}
	r.rep.add(flowID, flowName, ok, detail)
}

// maxSessionSteps bounds the callbacks followed in one token flow.
const maxSessionSteps = 10

// followSession follows the connector's callbacks for the session up to
// sessions/success, keeping its token. It reports whether it sent tokens/confirm.
func (r *runner) followSession(ctx context.Context, secret string) (detail string, ok, confirmed bool) {
	var path []string
	say := func(s string) string { return strings.Join(append(path, s), " -> ") }
	for i := range maxSessionSteps {
		cb, err := r.recv.next(ctx, secret, i, r.cfg.Timeout)
		if err != nil {
			return say(err.Error()), false, confirmed
		}
		switch cb.name {
		case "sessions/fail":
			return say("sessions/fail with error_class " + cb.errorClass), false, confirmed
		case "sessions/success":
			if cb.token == "" {
				return say("sessions/success without a token"), false, confirmed
			}
			r.token = cb.token
			return say("sessions/success with an access token"), true, confirmed
		case "sessions/update":
			switch saltedge.SessionStatus(cb.status) {
			case saltedge.SessionRedirect:
				if cb.redirectURL == "" {
					return say("sessions/update (redirect) without extra.redirect_url"), false, confirmed
				}
				path = append(path, "sessions/update (redirect)")
				if err := r.authorize(ctx, cb.redirectURL); err != nil {
					return say("the PSU's authorisation failed: " + err.Error()), false, confirmed
				}
				path = append(path, "PSU authorised")
			case saltedge.SessionWaitingConfirmationCode:
				path = append(path, "sessions/update (waiting_confirmation_code)")
				confirmed = true
				if !r.confirm(ctx, secret, cb.interactiveField) {
					return say("tokens/confirm failed"), false, confirmed
				}
				path = append(path, "tokens/confirm")
			default:
				path = append(path, "sessions/update ("+clip(cb.status, 40)+")")
			}
		default:
			path = append(path, cb.name)
		}
	}
	return say(fmt.Sprintf("no sessions/success after %d callbacks", maxSessionSteps)), false, confirmed
}

const confirmID, confirmName = "tokens.confirm", "POST tokens/confirm answers 200 to the interactive step"

// confirm sends tokens/confirm with Config.Confirmation and records tokens.confirm.
func (r *runner) confirm(ctx context.Context, secret, field string) bool {
	creds := map[string]any(maps.Clone(r.cfg.Confirmation))
	if v, ok := creds[""]; ok && len(creds) == 1 && field != "" {
		creds = map[string]any{field: v}
	}
	if len(creds) == 0 {
		r.rep.add(confirmID, confirmName, false, "the connector asked for an interactive step and Config.Confirmation is empty")
		return false
	}
	orig, err := r.originalRequest(map[string]any{"credentials": creds})
	if err != nil {
		r.rep.add(confirmID, confirmName, false, err.Error())
		return false
	}
	_, ok := r.check(ctx, confirmID, confirmName, request{method: http.MethodPost, endpoint: "tokens/confirm",
		data: map[string]any{"session_secret": secret, "provider_code": r.cfg.ProviderCode, "original_request": orig}}, okAnswer)
	return ok
}

// authorize plays the PSU at the bank's page.
func (r *runner) authorize(ctx context.Context, redirectURL string) error {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	if r.cfg.Authorize != nil {
		return r.cfg.Authorize(ctx, redirectURL)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, redirectURL, nil)
	if err != nil {
		return errors.New("extra.redirect_url is not a URL")
	}
	hc := *r.hc
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	resp, err := hc.Do(req)
	if err != nil {
		return errors.New(transportError(err))
	}
	resp.Body.Close()
	if resp.StatusCode < 200 || resp.StatusCode >= 400 {
		return fmt.Errorf("the bank's page answered %d", resp.StatusCode)
	}
	return nil
}

// needToken records the checks (ID, name, ID, name, ...) as failed when the flow
// produced no access token.
func (r *runner) needToken(idNames ...string) bool {
	if r.token != "" {
		return true
	}
	for i := 0; i+1 < len(idNames); i += 2 {
		r.rep.add(idNames[i], idNames[i+1], false, "not run: the token flow produced no access token")
	}
	return false
}

func (r *runner) fetchAccounts(ctx context.Context) {
	const id, name = "accounts.fetch", `GET accounts answers 200 {"data": [accounts]}`
	const fid, fname = "accounts.fields", "every account has the documented fields and types"
	if !r.needToken(id, name, fid, fname) {
		return
	}
	var list []map[string]any
	r.fetchData(ctx, request{method: http.MethodGet, endpoint: "accounts", token: r.token,
		data: map[string]any{"session_secret": r.session}}, id, name, fid, fname,
		func(data json.RawMessage) (string, error) {
			var err error
			if list, err = objects(data); err != nil {
				return "", err
			}
			if len(list) == 0 {
				return "", errors.New("no accounts: the test PSU needs at least one")
			}
			return fmt.Sprintf("%d account(s)", len(list)), nil
		},
		func() ([]string, string) {
			ids, problems := validateAccounts(list)
			r.accounts = ids
			return problems, ""
		})
}

func (r *runner) fetchTransactions(ctx context.Context) {
	const id, name = "transactions.fetch", `GET transactions answers 200 {"data": [transactions]}`
	const fid, fname = "transactions.fields", "every transaction has the documented fields and types"
	if !r.needToken(id, name, fid, fname) {
		return
	}
	account := r.cfg.AccountID
	if account == "" && len(r.accounts) > 0 {
		account = r.accounts[0]
	}
	if account == "" {
		r.rep.add(id, name, false, "not run: no account id (GET accounts listed none)")
		r.rep.add(fid, fname, false, "not run: no account id")
		return
	}
	const layout = "2006-01-02T15:04:05.000Z"
	now := r.now().UTC()
	var list []map[string]any
	r.fetchData(ctx, request{method: http.MethodGet, endpoint: "transactions", token: r.token,
		data: map[string]any{"session_secret": r.session, "account_id": account,
			"from_date": now.AddDate(0, -3, 0).Format(layout), "to_date": now.Format(layout)}}, id, name, fid, fname,
		func(data json.RawMessage) (string, error) {
			var err error
			if list, err = objects(data); err != nil {
				return "", err
			}
			return fmt.Sprintf("%d transaction(s) over 3 months", len(list)), nil
		},
		func() ([]string, string) {
			if len(list) == 0 {
				return nil, "no transactions to check"
			}
			return validateTransactions(list, account), ""
		})
}

func (r *runner) fetchKYC(ctx context.Context) {
	const id, name = "kyc.fetch", `GET kyc answers 200 {"data": {PSU}}`
	const fid, fname = "kyc.fields", "the PSU's data has the documented types"
	if !r.needToken(id, name, fid, fname) {
		return
	}
	var obj map[string]any
	r.fetchData(ctx, request{method: http.MethodGet, endpoint: "kyc", token: r.token,
		data: map[string]any{"session_secret": r.session}}, id, name, fid, fname,
		func(data json.RawMessage) (string, error) {
			var err error
			obj, err = object(data)
			return "", err
		},
		func() ([]string, string) { return validateKYC(obj), "" })
}

// fetchData sends req, a GET the connector must answer 200 {"data": ...}, and records
// two checks. The first (id, name) passes when read accepts the answer's data, with
// the detail read gives, or fails with the send's, the answer's or read's error. The
// second (fid, fname) is not run when the first failed; it passes when validate, which
// looks at what read kept, finds no problem, with the detail validate gives.
func (r *runner) fetchData(ctx context.Context, req request, id, name, fid, fname string,
	read func(data json.RawMessage) (detail string, err error), validate func() (problems []string, detail string)) {
	detail, ok := "", false
	if a, err := r.send(ctx, req); err != nil {
		detail = err.Error()
	} else {
		var data json.RawMessage
		if data, detail, ok = dataAnswer(a); ok {
			if detail, err = read(data); err != nil {
				detail, ok = err.Error(), false
			}
		}
	}
	r.rep.add(id, name, ok, detail)
	if !ok {
		r.rep.add(fid, fname, false, "not run: "+id+" failed")
		return
	}
	problems, detail := validate()
	if len(problems) > 0 {
		r.rep.add(fid, fname, false, summarize(problems))
		return
	}
	r.rep.add(fid, fname, true, detail)
}

// JWT refusals, by what is wrong with the token.
var (
	badAlgClasses = []string{saltedge.ClassJWTIncorrectAlgorithm, saltedge.ClassJWTVerificationError, saltedge.ClassJWTDecodeError}
	badSigClasses = []string{saltedge.ClassJWTVerificationError, saltedge.ClassJWTDecodeError}
	unknownToken  = []string{saltedge.ClassTokenNotFound, saltedge.ClassAccessDenied}
)

// authChecks sends GET accounts, which the connector answered 200 with the valid
// access token, with a forged or incomplete authentication: each must be refused with
// a documented error.
func (r *runner) authChecks(ctx context.Context) {
	data := map[string]any{"session_secret": r.session}
	accounts := func(mod func(*request)) request {
		req := request{method: http.MethodGet, endpoint: "accounts", token: r.token, data: data}
		mod(&req)
		return req
	}
	bearer := func(tok string, err error) func(*request) {
		return func(req *request) {
			if err != nil {
				req.authorization = "Bearer invalid"
				return
			}
			req.authorization = "Bearer " + tok
		}
	}
	checks := []struct {
		id, name string
		req      func() request
		allowed  []string
	}{
		{"auth.no-authorization", "a request without Authorization is refused (AuthorizationMissing)",
			func() request { return accounts(func(q *request) { q.noAuth = true }) },
			[]string{saltedge.ClassAuthorizationMissing}},
		{"auth.alg-none", `a JWT with alg "none" is refused`,
			func() request { return accounts(bearer(r.algNone(data))) }, badAlgClasses},
		{"auth.hs256-pem", "a JWT signed HS256 with the public key's PEM as secret is refused",
			func() request { return accounts(bearer(r.hs256(data, false))) }, badAlgClasses},
		{"auth.hs256-der", "a JWT signed HS256 with the public key's DER bytes as secret is refused",
			func() request { return accounts(bearer(r.hs256(data, true))) }, badAlgClasses},
		{"auth.expired", "a JWT whose exp has passed is refused (JWTExpiredSignature)",
			func() request { return accounts(bearer(r.signed(data, r.now().Add(-5*time.Minute)))) },
			[]string{saltedge.ClassJWTExpiredSignature}},
		{"auth.no-exp", "a JWT without exp is refused",
			func() request { return accounts(bearer(r.signed(data, time.Time{}))) }, badSigClasses},
		{"auth.wrong-key", "a JWT signed with another RSA key is refused",
			func() request {
				tok, err := r.tpp.Mint(r.claims(data, r.now().Add(RequestTTL)))
				return accounts(bearer(tok, err))
			}, badSigClasses},
		{"auth.tampered", "a JWT whose claims were changed after signing is refused",
			func() request { return accounts(bearer(r.tampered(data))) }, badSigClasses},
		{"auth.no-client-id", "a request without Client-Id is refused (InvalidClientId)",
			func() request { return accounts(func(q *request) { q.noClientID = true }) },
			[]string{saltedge.ClassInvalidClientID}},
		{"auth.bad-client-id", "a Client-Id that is not an integer is refused (InvalidClientId)",
			func() request { return accounts(func(q *request) { q.clientID = "not-a-number" }) },
			[]string{saltedge.ClassInvalidClientID}},
		{"access.missing", "GET accounts without Access-Token is refused (AccessTokenMissing)",
			func() request { return accounts(func(q *request) { q.token = "" }) },
			[]string{saltedge.ClassAccessTokenMissing}},
		{"access.unknown", "GET accounts with an unknown Access-Token is refused (TokenNotFound or AccessDenied)",
			func() request { return accounts(func(q *request) { q.token = newSecret() + newSecret() }) },
			unknownToken},
	}
	for _, c := range checks {
		if !r.needToken(c.id, c.name) {
			continue
		}
		r.check(ctx, c.id, c.name, c.req(), func(a *answer) (string, bool) { return expectError(a, c.allowed...) })
	}
}

// refreshAccounts sends PUT accounts and accounts/confirm; both are optional for a
// connector (refresh serves connectors with their own copy of core banking data).
func (r *runner) refreshAccounts(ctx context.Context) {
	const id, name = "accounts.refresh", "PUT accounts answers 200 (or 406 ActionNotAllowed)"
	const cid, cname = "accounts.confirm", "POST accounts/confirm answers 200 or a documented error"
	if !r.needToken(id, name, cid, cname) {
		return
	}
	secret := newSecret()
	r.recv.open(secret)
	now := r.now().UTC()
	r.check(ctx, id, name, request{method: http.MethodPut, endpoint: "accounts", token: r.token, data: map[string]any{
		"session_secret": secret, "from_date": now.AddDate(0, -3, 0).Format(time.DateOnly),
		"to_date": now.Format(time.DateOnly), "redirect_url": TPPRedirectURL}}, optionalAnswer)

	creds := map[string]any(maps.Clone(r.cfg.Confirmation))
	if len(creds) == 0 || (len(creds) == 1 && creds[""] != nil) {
		creds = map[string]any{"sms_pincode": "0000"}
	}
	orig, err := r.originalRequest(map[string]any{"credentials": creds})
	if err != nil {
		r.rep.add(cid, cname, false, err.Error())
		return
	}
	a, detail, ok := r.try(ctx, request{method: http.MethodPost, endpoint: "accounts/confirm", token: r.token,
		data: map[string]any{"session_secret": secret, "provider_code": r.cfg.ProviderCode, "original_request": orig}},
		func(a *answer) (string, bool) {
			if a.status == http.StatusOK {
				return "200", true
			}
			return expectError(a, documentedClasses...)
		})
	if ok && a.status == http.StatusOK {
		// The seed: the connector answers accounts/confirm with a success or fail callback.
		detail, ok = r.followedBy(ctx, secret)
	}
	r.rep.add(cid, cname, ok, detail)
}

// followedBy waits for the connector's first sessions callback for the session.
func (r *runner) followedBy(ctx context.Context, secret string) (string, bool) {
	cb, err := r.recv.next(ctx, secret, 0, r.cfg.Timeout)
	if err != nil {
		return "200, then " + err.Error(), false
	}
	return "200, then " + cb.name, true
}

// reconnect sends tokens/reconnect (deprecated; optional): on 200 a sessions
// callback must follow.
func (r *runner) reconnect(ctx context.Context) {
	const id, name = "tokens.reconnect", "POST tokens/reconnect answers 200 and a sessions callback follows (or 406 ActionNotAllowed)"
	if !r.needToken(id, name) {
		return
	}
	secret := newSecret()
	r.recv.open(secret)
	a, detail, ok := r.try(ctx, request{method: http.MethodPost, endpoint: "tokens/reconnect", token: r.token,
		data: map[string]any{"provider_code": r.cfg.ProviderCode, "session_secret": secret}}, optionalAnswer)
	if ok && a.status == http.StatusOK {
		detail, ok = r.followedBy(ctx, secret)
	}
	r.rep.add(id, name, ok, detail)
}

// notifyError sends POST errors with the seed's payload.
func (r *runner) notifyError(ctx context.Context) {
	const id, name = "errors.notify", "POST errors answers 200"
	r.check(ctx, id, name, request{method: http.MethodPost, endpoint: "errors", token: r.token, data: map[string]any{
		"request": map[string]any{"method": "delete", "url": TPPRedirectURL, "headers": map[string]any{}},
		"error":   map[string]any{"error_message": "something went wrong", "error_class": saltedge.ClassInternalProviderError},
	}}, okAnswer)
}

// cancel starts a second token flow and cancels it once the connector has sent its
// first callback (the PSU abandons at the bank).
func (r *runner) cancel(ctx context.Context) {
	const id, name = "tokens.cancel", "POST tokens/cancel answers 200 for a token in enrollment"
	secret, ok := r.createToken(ctx, "tokens.create-second", "POST tokens/create answers 200 for a second session")
	if !ok {
		r.rep.add(id, name, false, "not run: tokens/create failed")
		return
	}
	if _, err := r.recv.next(ctx, secret, 0, r.cfg.Timeout); err != nil {
		r.rep.add(id, name, false, "not run: after tokens/create, "+err.Error())
		return
	}
	r.check(ctx, id, name, request{method: http.MethodPost, endpoint: "tokens/cancel",
		data: map[string]any{"session_secret": secret}}, okAnswer)
}

// revoke revokes the access token, which must then be refused.
func (r *runner) revoke(ctx context.Context) {
	const id, name = "tokens.revoke", "POST tokens/revoke answers 200"
	const rid, rname = "access.revoked", "a revoked Access-Token is refused (TokenNotFound or AccessDenied)"
	if !r.needToken(id, name, rid, rname) {
		return
	}
	if _, ok := r.check(ctx, id, name, request{method: http.MethodPost, endpoint: "tokens/revoke", token: r.token,
		data: map[string]any{"provider_code": r.cfg.ProviderCode, "session_secret": r.session}}, okAnswer); !ok {
		r.rep.add(rid, rname, false, "not run: "+id+" failed")
		return
	}
	r.check(ctx, rid, rname, request{method: http.MethodGet, endpoint: "accounts", token: r.token,
		data: map[string]any{"session_secret": r.session}},
		func(a *answer) (string, bool) { return expectError(a, unknownToken...) })
}

// callbackAuth checks every callback the connector sent.
func (r *runner) callbackAuth(context.Context) {
	const id, name = "callbacks.auth", "every callback carries App-Id, App-Secret and an RS256 JWT with exp for an open session"
	cbs := r.recv.callbacks()
	if len(cbs) == 0 {
		r.rep.add(id, name, false, "the connector sent no callback")
		return
	}
	var problems []string
	count := map[string]int{}
	for _, cb := range cbs {
		if cb.problem == "" {
			continue
		}
		p := cb.name + ": " + cb.problem
		if count[p] == 0 {
			problems = append(problems, p)
		}
		count[p]++
	}
	for i, p := range problems {
		if n := count[p]; n > 1 {
			problems[i] = fmt.Sprintf("%s (%d callbacks)", p, n)
		}
	}
	if len(problems) > 0 {
		r.rep.add(id, name, false, summarize(problems))
		return
	}
	detail := fmt.Sprintf("%d callback(s)", len(cbs))
	if r.recv.verifier == nil {
		detail += "; signatures not verified (no connector public key configured)"
	} else {
		detail += ", signatures verified"
	}
	r.rep.add(id, name, true, detail)
}

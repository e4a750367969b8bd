package tkey7

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// confirmTimeout bounds the work that follows a 401: the refresh that confirms the
// rejected token (with a store, also the wait for another replica's result) and the
// access token source's answer.
const confirmTimeout = 30 * time.Second

// bearer reads back the token an attempt carried ("Authorization: Bearer <token>"),
// and is the template of the refresh call's one-off authorizer. The client's
// authorizer is made with rest.NewHeaderToken instead, so that it builds the header
// value once per token rather than once per attempt.
var bearer = rest.HeaderToken{Header: "Authorization", Prefix: "Bearer "}

// authorizer attaches the current session's token to every attempt (holding it until
// the answer arrives, so a refresh never retires a token in flight) and owns what a 401
// means for that token: its Renew is the one place the client decides to renew the
// token and replay a request.
type authorizer struct {
	rest.HeaderToken // Source: the sessions
	s                *sessions
}

func newAuthorizer(s *sessions) *authorizer {
	return &authorizer{HeaderToken: rest.NewHeaderToken(s, bearer.Header, bearer.Prefix), s: s}
}

// Renew implements rest.Renewer for a 401 to one of the client's requests; it reports
// whether to replay the request once. A replay is safe for every method: a 401 means
// TKEY7 did not process the request.
//
//   - The keep-alive already moved on from the token the request carried (a scheduled
//     refresh, a confirmation for another request, another replica through the store,
//     a new token from the source): replay with the current token.
//   - Otherwise the token is confirmed with one refresh (auth.KeepAlive.Renew). TKEY7
//     accepts it: the token was live, replay with the refreshed token. The refresh
//     fails otherwise (5xx, no answer, the store unreachable): nothing is known, the
//     401 is returned with the reason and the session goes on.
//   - TKEY7 refuses the refresh too, or the session cap has passed: the token is dead.
//     With an access token source that has a new token, a new session starts from it
//     and the request is replayed with it; otherwise the error matches
//     ErrTokenRevoked (or ErrSessionExpired), the keep-alive stops and later calls
//     fail without reaching TKEY7.
//
// It never returns false without an error: a 401 the client hands back is either this
// verdict or the replay's answer.
func (a *authorizer) Renew(ctx context.Context, req *http.Request, apiErr error) (bool, error) {
	var e *APIError
	if !errors.As(apiErr, &e) {
		return false, apiErr
	}
	ss := a.s.cur.Load()
	sent, ok := a.Sent(req)
	if !ok {
		return false, ss.end(e)
	}
	// The call's own context may end at any moment; the confirmation must not be
	// abandoned halfway (a rotated token would be lost), so it keeps only its values.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), confirmTimeout)
	defer cancel()
	if time.Now().Before(ss.sessionEnd) {
		_, err := ss.ka.Renew(ctx, sent)
		switch {
		case err == nil:
			return true, nil
		case !ended(err):
			return false, a.s.unconfirmed(e, err)
		}
	}
	dead := ss.end(e)
	if a.s.source == nil {
		return false, dead
	}
	if _, err := a.s.replace(ctx, ss, sent.Value); err != nil {
		return false, dead.with(err)
	}
	return true, nil
}

// ended reports whether err means the token's life is over.
func ended(err error) bool {
	return errors.Is(err, ErrTokenRevoked) || errors.Is(err, ErrSessionExpired)
}

// session is the life of one access token an administrator created: its keep-alive,
// from the token it started with until TKEY7 refuses it or its session cap passes.
type session struct {
	ka         *auth.KeepAlive
	issued     string // the token the session started from
	sessionEnd time.Time
	// before counts the refreshes of the sessions this one replaced.
	before int64
	// handed holds every token the session handed to requests (keys only): with a
	// store, tokens other replicas published too. None of them is new.
	handed sync.Map
	// final is the 401 that ended the token's life: later calls fail at once with it.
	final atomic.Pointer[tokenEnded]
}

// end records e as the end of the token's life, stops the keep-alive, and returns the
// call's error.
func (ss *session) end(e *APIError) *tokenEnded {
	reason := ErrTokenRevoked
	if !time.Now().Before(ss.sessionEnd) {
		reason = ErrSessionExpired
	}
	te := &tokenEnded{api: e, reason: reason}
	if ss.final.CompareAndSwap(nil, te) {
		ss.ka.Stop(te) // no more refreshes: TKEY7 will not take this token again
	}
	return te
}

// sessions holds the client's current session and, with an access token source,
// starts the next one when the token's life has ended and the source has a new
// token. It is the authorizer's token source.
type sessions struct {
	c      *Client
	source auth.Source          // nil without WithAccessTokenSource
	tmpl   auth.KeepAliveConfig // every session's keep-alive, but for its token
	log    *slog.Logger

	cur atomic.Pointer[session]

	// mu serialises starting a session and Close.
	mu     sync.Mutex
	closed bool
}

// start builds a session for tok, issued at issuedAt, and starts its keep-alive.
func (s *sessions) start(tok string, issuedAt time.Time) (*session, error) {
	ss := &session{issued: tok, sessionEnd: issuedAt.Add(s.tmpl.SessionLength)}
	cfg := s.tmpl
	cfg.Initial = auth.Token{Value: tok, Expiry: jwtExpiry(tok, time.Now())}
	cfg.IssuedAt = issuedAt
	cfg.Refresh = func(ctx context.Context, cur auth.Token) (auth.Token, error) {
		return s.c.refreshCall(ctx, cur, ss.sessionEnd)
	}
	s.c.redactor.Add(tok)
	ka, err := auth.NewKeepAlive(cfg)
	if err != nil {
		return nil, err
	}
	ss.ka = ka
	return ss, nil
}

// Token implements auth.Source (rest.HeaderToken's Authorize).
func (s *sessions) Token(ctx context.Context) (auth.Token, error) {
	tok, release, err := s.Acquire(ctx)
	if err != nil {
		return auth.Token{}, err
	}
	release()
	return tok, nil
}

// Acquire returns the current session's token and holds it until release (see
// auth.KeepAlive.Acquire). When the session's token has died in the background (a
// refresh TKEY7 refused, the revoke deadline or the session cap passed), a new one
// from the access token source, if it has one, starts a new session first.
func (s *sessions) Acquire(ctx context.Context) (auth.Token, func(), error) {
	ss, err := s.live(ctx)
	if err != nil {
		return auth.Token{}, nil, err
	}
	tok, release, err := ss.ka.Acquire(ctx)
	if err != nil && s.source != nil && ended(err) {
		if next, rerr := s.replace(ctx, ss, ""); rerr == nil {
			ss = next
			tok, release, err = next.ka.Acquire(ctx)
		}
	}
	if err != nil {
		return auth.Token{}, nil, err
	}
	if _, known := ss.handed.Load(tok.Value); !known {
		ss.handed.Store(tok.Value, struct{}{})
		s.c.redactor.Add(tok.Value)
	}
	return tok, release, nil
}

// live returns the current session, unless TKEY7 refused its token and the access
// token source (if any) has no new one.
func (s *sessions) live(ctx context.Context) (*session, error) {
	ss := s.cur.Load()
	te := ss.final.Load()
	if te == nil {
		return ss, nil
	}
	if s.source != nil {
		next, err := s.replace(ctx, ss, "")
		if err == nil {
			return next, nil
		}
		te = te.with(err)
	}
	return nil, fmt.Errorf("tkey7: request not sent: the access token was rejected earlier: %w", te)
}

// errNothingNew: the access token source answered with the token that died.
var errNothingNew = errors.New("the access token source has no new token")

// replace starts a new session from the access token source's token, if dead is still
// the current session and the source has a token dead never used (nor rejected, the
// token a 401 named). It returns the current session.
func (s *sessions) replace(ctx context.Context, dead *session, rejected string) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if cur := s.cur.Load(); cur != dead {
		return cur, nil // replaced meanwhile
	}
	ctx, cancel := context.WithTimeout(ctx, confirmTimeout)
	defer cancel()
	tok, err := s.source.Token(ctx)
	if err != nil {
		err = fmt.Errorf("access token source: %s", s.c.redactor.Redact(err.Error(), dead.issued, rejected))
		s.log.Warn("tkey7: the access token is no longer valid and its source failed", "error", err.Error())
		return nil, err
	}
	if _, used := dead.handed.Load(tok.Value); used || tok.Value == "" || tok.Value == dead.issued || tok.Value == rejected {
		return nil, errNothingNew
	}
	if err := checkToken(tok.Value); err != nil {
		s.log.Warn("tkey7: the access token source's token is not usable", "error", err.Error())
		return nil, fmt.Errorf("access token source: %w", err)
	}
	next, err := s.start(tok.Value, time.Now())
	if err != nil {
		return nil, fmt.Errorf("access token source: starting a session with its token: %w", err)
	}
	_ = dead.ka.Close()
	next.before = dead.before + dead.ka.Refreshes()
	s.cur.Store(next)
	s.log.Info("tkey7: the access token was no longer valid; a new session started from the access token source's token",
		"session_end", next.sessionEnd)
	return next, nil
}

// close stops the current session's keep-alive; no session starts after it.
func (s *sessions) close() error {
	s.mu.Lock()
	s.closed = true
	ss := s.cur.Load()
	s.mu.Unlock()
	return ss.ka.Close()
}

// unconfirmed is the error for a 401 whose token was not found dead: the confirming
// refresh failed in another way than TKEY7 refusing it.
func (s *sessions) unconfirmed(e *APIError, err error) error {
	u := &unconfirmedError{api: e, why: s.c.redactor.Redact(err.Error())}
	var se *auth.StoreError
	switch {
	case errors.As(err, &se):
		u.cause = se
	case errors.Is(err, ErrClosed):
		u.cause = ErrClosed
	}
	return u
}

// ensure the interfaces the pipeline looks for are implemented.
var (
	_ rest.Leaser  = (*authorizer)(nil)
	_ rest.Renewer = (*authorizer)(nil)
)

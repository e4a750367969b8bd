package tkey7

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// confirmTimeout bounds the refresh that confirms a rejected token (and, with a store,
// the wait for another replica's result).
const confirmTimeout = 30 * time.Second

// authorizer attaches the client's token to every attempt and owns what a 401 means
// for it. A 401 for a token the client believes live may be a stray answer (a proxy's
// glitch): before the session is declared over, the authorizer confirms with one
// refresh. If TKEY7 accepts the refresh, the token was live and the request is replayed
// once with the refreshed token; if TKEY7 refuses the refresh too, the token is dead and
// the client stops.
//
// Everything the keep-alive's goroutine reads (the refresh function, the pipeline, the
// token set) is built before the keep-alive starts; ka is set once NewKeepAlive returns
// and is read only by requests, never by the keep-alive's own goroutine.
type authorizer struct {
	c  *Client
	ka *auth.KeepAlive

	store    auth.Store // nil without WithStore
	storeKey string

	// mu serialises refreshes: the keep-alive's scheduled ones and confirmations.
	mu sync.Mutex
	// handover is a token obtained by a confirmation that replaced the keep-alive's
	// token; requests send it in place of the old one, and the next scheduled refresh
	// refreshes it and hands the result to the keep-alive (guarded by mu; read by
	// requests through handoverTok).
	handover    *handover
	handoverTok atomic.Pointer[handover]

	// confirms counts refreshes made to confirm a rejected token.
	confirms atomic.Int64

	tokens tokenSet
}

type handover struct {
	old, tok auth.Token
}

// effective maps the keep-alive's token to the token to send.
func (a *authorizer) effective(tok auth.Token) auth.Token {
	if h := a.handoverTok.Load(); h != nil && h.old.Value == tok.Value {
		return h.tok
	}
	return tok
}

func (a *authorizer) setHandover(h *handover) {
	a.handover = h
	a.handoverTok.Store(h)
}

// AuthorizeLease implements rest.Leaser: the token is held until the attempt's answer
// arrives, so that a scheduled refresh never retires a token in flight.
func (a *authorizer) AuthorizeLease(ctx context.Context, req *http.Request, _ []byte) (func(), error) {
	tok, release, err := a.ka.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	a.set(req, a.effective(tok))
	return release, nil
}

// Authorize implements rest.Authorizer.
func (a *authorizer) Authorize(ctx context.Context, req *http.Request, _ []byte) error {
	tok, err := a.ka.Token(ctx)
	if err != nil {
		return err
	}
	a.set(req, a.effective(tok))
	return nil
}

func (a *authorizer) set(req *http.Request, tok auth.Token) {
	a.tokens.add(tok.Value)
	req.Header["Authorization"] = []string{"Bearer " + tok.Value}
}

// Invalidate implements rest.Invalidator. It has nothing to forget: rejected, which
// runs before it, has already decided and renewed the token.
func (a *authorizer) Invalidate(*http.Request) {}

// sentToken is the bearer token an attempt carried.
func sentToken(req *http.Request) string {
	if req == nil {
		return ""
	}
	v := req.Header.Get("Authorization")
	if !strings.HasPrefix(v, "Bearer ") {
		return ""
	}
	return strings.TrimPrefix(v, "Bearer ")
}

// rejected is the pipeline's IsAuthExpired: it decides what a 401 for one of the
// client's own requests means, and reports whether to replay the request once. A
// replay is safe for every method: a 401 means TKEY7 did not process the request.
//
//   - The keep-alive already moved on from the token the request carried (a scheduled
//     refresh, a confirmation for another request, or another replica through the
//     store): replay with the current token.
//   - The session cap has passed, or the token was already found dead: final.
//   - Otherwise the token is confirmed with one refresh. TKEY7 accepts it: the token
//     was live, replay with the refreshed token. TKEY7 refuses it (401): final, the
//     keep-alive stops and later calls fail without reaching TKEY7. The refresh fails
//     otherwise (5xx, no answer): nothing is known, the error is returned as is and
//     the keep-alive goes on.
func (a *authorizer) rejected(resp *http.Response, err error) bool {
	var e *APIError
	if resp == nil || resp.StatusCode != http.StatusUnauthorized || !errors.As(err, &e) {
		return false
	}
	e.judged = true
	sent := sentToken(resp.Request)
	if sent == "" {
		return a.final(e)
	}
	if !time.Now().Before(a.c.sessionEnd) {
		return a.final(e)
	}
	// The attempt's own context ended with its body; keep the caller's values only.
	ctx, cancel := context.WithTimeout(context.WithoutCancel(resp.Request.Context()), confirmTimeout)
	defer cancel()
	var replay bool
	var cerr error
	if a.store != nil {
		// Replicas: the store's refresh lease serialises confirmations with every
		// replica's refreshes, this one's keep-alive included.
		replay, cerr = a.confirmShared(ctx, sent)
	} else {
		replay, cerr = a.confirm(ctx, sent)
	}
	if errors.Is(cerr, errOver) {
		return a.final(e) // already over (revoked, session ended, closed)
	}
	switch {
	case replay:
		return true
	case cerr == nil:
		return false
	case errors.Is(cerr, ErrTokenRevoked), errors.Is(cerr, ErrSessionExpired):
		return a.final(e)
	}
	e.reason = nil
	e.unconfirmed = a.c.scrub(cerr.Error())
	return false
}

// errOver: the keep-alive already ended (revoked, session over, closed).
var errOver = errors.New("the keep-alive has ended")

// confirm refreshes sent if it is still the token requests carry, and keeps the result
// for requests and for the keep-alive's next refresh. It reports whether to replay.
func (a *authorizer) confirm(ctx context.Context, sent string) (bool, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	cur, err := a.ka.Token(ctx)
	if err != nil {
		return false, errOver
	}
	live := a.effective(cur)
	if live.Value != sent {
		return true, nil // refreshed since the request left: replay with the new token
	}
	tok, err := a.c.refreshCall(ctx, live)
	if err != nil {
		return false, err
	}
	a.confirms.Add(1)
	if tok.Value != live.Value {
		a.setHandover(&handover{old: cur, tok: tok})
	}
	return true, nil
}

// confirmShared confirms sent for replicas sharing a store: another replica may have
// rotated it (adopt and replay); otherwise, under the store's refresh lease, it
// refreshes sent if the store still holds it, publishes the result and lets the
// keep-alive adopt it.
func (a *authorizer) confirmShared(ctx context.Context, sent string) (bool, error) {
	cur, err := a.ka.Sync(ctx, auth.Token{Value: sent})
	if err != nil {
		if _, kerr := a.ka.Token(ctx); kerr != nil {
			return false, errOver
		}
		return false, err
	}
	if cur.Value != sent {
		return true, nil // another replica rotated it: adopted, replay
	}
	release, ok, err := a.store.TryLease(ctx, a.storeKey, confirmTimeout)
	if err != nil {
		return false, fmt.Errorf("store lease: %w", err)
	}
	if !ok {
		// Another replica is refreshing: wait for its result.
		cur, err := a.ka.Sync(ctx, auth.Token{Value: sent})
		if err != nil {
			return false, err
		}
		if cur.Value != sent {
			return true, nil
		}
		return false, errors.New("another replica holds the refresh lease")
	}
	defer func() {
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		defer cancel()
		_ = release(rctx)
	}()
	rec, err := a.store.Load(ctx, a.storeKey)
	switch {
	case errors.Is(err, auth.ErrNotFound):
	case err != nil:
		return false, fmt.Errorf("store load: %w", err)
	case rec.Token.Value != "" && rec.Token.Value != sent:
		if cur, err := a.ka.Sync(ctx, auth.Token{Value: sent}); err == nil && cur.Value != sent {
			return true, nil
		}
	}
	tok, err := a.c.refreshCall(ctx, auth.Token{Value: sent})
	if err != nil {
		return false, err
	}
	a.confirms.Add(1)
	if _, err := a.store.CompareAndSwap(ctx, a.storeKey, rec.Version, tok); err != nil {
		return false, fmt.Errorf("store publish: %w", err)
	}
	if tok.Value != sent {
		// Adopt the rotated token (Sync returns at once: the store holds a newer one).
		if _, err := a.ka.Sync(ctx, auth.Token{Value: sent}); err != nil {
			return false, err
		}
	}
	return true, nil
}

// final records e as the end of the token's life: the keep-alive stops and later calls
// fail at once with e.
func (a *authorizer) final(e *APIError) bool {
	e.reason = ErrTokenRevoked
	if !time.Now().Before(a.c.sessionEnd) {
		e.reason = ErrSessionExpired
	}
	if a.c.rejected.CompareAndSwap(nil, e) {
		a.ka.Stop(e) // no more refreshes: TKEY7 will not take this token again
	}
	return false
}

// scheduled is the keep-alive's refresh function. It refreshes the token a confirmation
// obtained in place of cur, if there is one, so the keep-alive takes it over.
func (a *authorizer) scheduled(ctx context.Context, cur auth.Token) (auth.Token, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if h := a.handover; h != nil && h.old.Value == cur.Value {
		cur = h.tok
	}
	tok, err := a.c.refreshCall(ctx, cur)
	if err != nil {
		return auth.Token{}, err
	}
	a.setHandover(nil)
	return tok, nil
}

// tokenSet remembers the client's latest tokens, so that errors never quote them.
type tokenSet struct {
	mu   sync.Mutex
	last []string
}

// maxTokens bounds how many tokens a client remembers: the current and the previous
// ones are what a server may quote back.
const maxTokens = 8

func (s *tokenSet) add(tok string) {
	if tok == "" {
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if n := len(s.last); n > 0 && s.last[n-1] == tok {
		return
	}
	for i, v := range s.last {
		if v == tok {
			s.last = append(s.last[:i], s.last[i+1:]...)
			break
		}
	}
	if len(s.last) == maxTokens {
		s.last = s.last[1:]
	}
	s.last = append(s.last, tok)
}

func (s *tokenSet) list() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.last...)
}

// ensure the interfaces the pipeline looks for are implemented.
var (
	_ rest.Leaser      = (*authorizer)(nil)
	_ rest.Invalidator = (*authorizer)(nil)
)

package rest

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync/atomic"

	"github.com/banksdk/banksdk/auth"
)

// HeaderToken is an Authorizer that puts a token from Source into one header, as
// Prefix + token (e.g. "Authorization: Bearer <token>", TPV's bare token, OBP's
// "DirectLogin: token=<token>"). The header name is assigned directly, so its case is
// kept on the wire.
//
// If Source has Invalidate(auth.Token) (auth.Cache does), HeaderToken is a Renewer:
// a token the provider rejected is invalidated (only if it is still the cached one,
// so concurrent rejections renew once) and the request is replayed once with the next
// token. If Source has Acquire(ctx) (auth.KeepAlive does), the token is held until the
// attempt's answer arrives, so a refresh never retires it while a request carrying it
// is in flight.
//
// A HeaderToken made with NewHeaderToken also keeps the header value of the last
// token it sent, so that the attempts carrying the same token do not build it again.
type HeaderToken struct {
	Source auth.Source
	Header string
	Prefix string

	memo *headerMemo // nil in a HeaderToken literal: the value is built per attempt
}

// NewHeaderToken returns a HeaderToken that sends the token of src in header as
// prefix + token, building that value once per token rather than once per attempt.
func NewHeaderToken(src auth.Source, header, prefix string) HeaderToken {
	return HeaderToken{Source: src, Header: header, Prefix: prefix, memo: new(headerMemo)}
}

// headerMemo holds the header value HeaderToken built for the last token it sent.
// Copies of a HeaderToken share it.
type headerMemo struct {
	last atomic.Pointer[memoValue]
}

// memoValue is one token and the header values carrying it. value is shared by the
// attempts' header maps and never written: it has no spare capacity, so appending to
// it (Header.Add) copies it.
type memoValue struct {
	token string
	value []string
}

// GoString keeps the memoised token out of %#v.
func (*headerMemo) GoString() string { return "memo" }

type acquirer interface {
	Acquire(ctx context.Context) (auth.Token, func(), error)
}

type invalidator interface {
	Invalidate(auth.Token)
}

// Authorize implements Authorizer.
func (h HeaderToken) Authorize(ctx context.Context, req *http.Request, _ []byte) error {
	tok, err := h.Source.Token(ctx)
	if err != nil {
		return err
	}
	h.set(req, tok)
	return nil
}

// AuthorizeLease implements Leaser.
func (h HeaderToken) AuthorizeLease(ctx context.Context, req *http.Request, body []byte) (func(), error) {
	a, ok := h.Source.(acquirer)
	if !ok {
		return func() {}, h.Authorize(ctx, req, body)
	}
	tok, release, err := a.Acquire(ctx)
	if err != nil {
		return nil, err
	}
	h.set(req, tok)
	return release, nil
}

func (h HeaderToken) set(req *http.Request, tok auth.Token) {
	if h.memo == nil {
		req.Header[h.name()] = []string{h.Prefix + tok.Value}
		return
	}
	m := h.memo.last.Load()
	if m == nil || m.token != tok.Value {
		m = &memoValue{token: tok.Value, value: []string{h.Prefix + tok.Value}}
		h.memo.last.Store(m)
	}
	req.Header[h.name()] = m.value
}

func (h HeaderToken) name() string {
	if h.Header == "" {
		return "Authorization"
	}
	return h.Header
}

// Sent returns the token the attempt req carried in h's header, if any.
func (h HeaderToken) Sent(req *http.Request) (auth.Token, bool) {
	if req == nil {
		return auth.Token{}, false
	}
	v := HeaderValue(req.Header, h.name())
	if v == "" || !strings.HasPrefix(v, h.Prefix) {
		return auth.Token{}, false
	}
	return auth.Token{Value: strings.TrimPrefix(v, h.Prefix)}, true
}

// Renew implements Renewer: it invalidates the token req carried in Source (when
// Source can) and asks for one replay. A Source that cannot forget a token cannot
// give another one, so the rejection is final.
func (h HeaderToken) Renew(_ context.Context, req *http.Request, _ error) (bool, error) {
	inv, ok := h.Source.(invalidator)
	if !ok {
		return false, nil
	}
	tok, ok := h.Sent(req)
	if !ok {
		return false, nil
	}
	inv.Invalidate(tok)
	return true, nil
}

// StaticHeader is an Authorizer that sets one header to a fixed secret value on every
// attempt (an application id, an application secret). Its value never renews, so it is
// not a Renewer.
type StaticHeader struct {
	Header string
	Value  auth.Secret
}

// Authorize implements Authorizer.
func (s StaticHeader) Authorize(_ context.Context, req *http.Request, _ []byte) error {
	if s.Header == "" {
		return errors.New("static header: no header name")
	}
	req.Header[s.Header] = []string{s.Value.Reveal()}
	return nil
}

// Chain is an Authorizer that runs several in order on every attempt (e.g. a static
// application header and a renewable bearer token). It holds the leases of the members
// that are Leasers until the attempt's answer arrives, and it is a Renewer over the
// members that are: the request is replayed if one of them renewed.
type Chain []Authorizer

// Authorize implements Authorizer.
func (c Chain) Authorize(ctx context.Context, req *http.Request, body []byte) error {
	for _, a := range c {
		if err := a.Authorize(ctx, req, body); err != nil {
			return err
		}
	}
	return nil
}

// AuthorizeLease implements Leaser.
func (c Chain) AuthorizeLease(ctx context.Context, req *http.Request, body []byte) (func(), error) {
	// Most chains hold one Leaser or none: its release is returned as it is, and a
	// list of releases is only made for two or more.
	var releases []func()
	single := func() {}
	leases := 0
	for _, a := range c {
		var err error
		if l, ok := a.(Leaser); ok {
			var release func()
			release, err = l.AuthorizeLease(ctx, req, body)
			if err == nil {
				switch leases++; leases {
				case 1:
					single = release
				case 2:
					releases = append(releases, single, release)
				default:
					releases = append(releases, release)
				}
				continue
			}
		} else {
			err = a.Authorize(ctx, req, body)
		}
		if err != nil {
			if leases == 1 {
				single()
			}
			releaseAll(releases)
			return nil, err
		}
	}
	if leases <= 1 {
		return single, nil
	}
	return func() { releaseAll(releases) }, nil
}

func releaseAll(releases []func()) {
	for _, r := range releases {
		r()
	}
}

// Renew implements Renewer: every member that is a Renewer is told; the request is
// replayed if one of them renewed, and the first error is returned.
func (c Chain) Renew(ctx context.Context, req *http.Request, apiErr error) (bool, error) {
	replay := false
	for _, a := range c {
		rn, ok := a.(Renewer)
		if !ok {
			continue
		}
		again, err := rn.Renew(ctx, req, apiErr)
		if err != nil {
			return false, err
		}
		replay = replay || again
	}
	return replay, nil
}

var (
	_ Renewer = HeaderToken{}
	_ Leaser  = HeaderToken{}
	_ Renewer = Chain{}
	_ Leaser  = Chain{}
)

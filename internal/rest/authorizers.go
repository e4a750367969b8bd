package rest

import (
	"context"
	"net/http"
	"strings"

	"github.com/banksdk/banksdk/auth"
)

// HeaderToken is an Authorizer that puts a token from Source into one header, as
// Prefix + token (e.g. "Authorization: Bearer <token>", or TPV's bare token). The
// header name is assigned directly, so its case is kept on the wire.
//
// If Source has Invalidate(auth.Token) (auth.Cache does), a token the server
// rejected is invalidated before the pipeline's single replay. If Source has
// Acquire(ctx) (auth.KeepAlive does), the token is held until the attempt's answer
// arrives, so a refresh never retires it while a request carrying it is in flight.
type HeaderToken struct {
	Source auth.Source
	Header string
	Prefix string
}

type acquirer interface {
	Acquire(ctx context.Context) (auth.Token, func(), error)
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
	req.Header[h.name()] = []string{h.Prefix + tok.Value}
}

func (h HeaderToken) name() string {
	if h.Header == "" {
		return "Authorization"
	}
	return h.Header
}

// Invalidate implements Invalidator.
func (h HeaderToken) Invalidate(req *http.Request) {
	inv, ok := h.Source.(interface{ Invalidate(auth.Token) })
	if !ok {
		return
	}
	v := headerValue(req.Header, h.name())
	if v == "" || !strings.HasPrefix(v, h.Prefix) {
		return
	}
	inv.Invalidate(auth.Token{Value: strings.TrimPrefix(v, h.Prefix)})
}

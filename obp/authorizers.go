package obp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// dauthAuthorizer mints a DAuth JWT for every attempt.
type dauthAuthorizer struct {
	minter *auth.JWTMinter
	claims map[string]any // the fixed claims
	now    func() time.Time
}

func newDAuthAuthorizer(cfg DAuthConfig) (*dauthAuthorizer, error) {
	m, err := auth.NewJWTMinter(cfg.PrivateKey)
	if err != nil {
		return nil, err
	}
	claims := map[string]any{
		"smart_contract_address": cfg.SmartContractAddress,
		"network_name":           cfg.NetworkName,
		"consumer_key":           cfg.ConsumerKey,
	}
	if cfg.MsgSender != "" {
		claims["msg_sender"] = cfg.MsgSender
	}
	return &dauthAuthorizer{minter: m, claims: claims, now: time.Now}, nil
}

// Authorize sets the DAuth header by direct map assignment: OBP matches the name
// "DAuth" case-sensitively, and Header.Set would send "Dauth".
func (a *dauthAuthorizer) Authorize(_ context.Context, req *http.Request, _ []byte) error {
	claims := make(map[string]any, len(a.claims)+2)
	for k, v := range a.claims {
		claims[k] = v
	}
	claims["timestamp"] = a.now().UTC().Format(time.RFC3339)
	claims["request_id"] = rest.NewRequestID()
	tok, err := a.minter.Mint(claims)
	if err != nil {
		return fmt.Errorf("obp: minting the DAuth JWT: %w", err)
	}
	req.Header["DAuth"] = []string{tok}
	return nil
}

// directLoginAuth logs in with DirectLogin credentials and sends the token.
type directLoginAuth struct {
	client      *Client
	username    string
	password    auth.Secret
	consumerKey auth.Secret
	cache       *auth.Cache
}

// Authorize sends "DirectLogin: token=<token>", logging in first if needed.
func (d *directLoginAuth) Authorize(ctx context.Context, req *http.Request, _ []byte) error {
	tok, err := d.cache.Token(ctx)
	if err != nil {
		return err
	}
	req.Header["DirectLogin"] = []string{"token=" + tok.Value}
	return nil
}

// Invalidate forgets the token a rejected attempt carried, so the replay logs in again.
func (d *directLoginAuth) Invalidate(req *http.Request) {
	//lint:ignore SA1008 the header was set under its exact, non-canonical name: OBP matches names case-sensitively
	vs := req.Header["DirectLogin"]
	if len(vs) == 0 {
		return
	}
	d.cache.Invalidate(auth.Token{Value: strings.TrimPrefix(vs[0], "token=")})
}

type loginAnswer struct {
	Token string `json:"token"`
}

// login performs POST /my/logins/direct. OBP answers 201 (newer documentation says
// 200); any 2xx with a token is accepted. The token cache runs it detached from the
// caller that asked; Close cancels it and waits for it.
func (d *directLoginAuth) login(ctx context.Context) (auth.Token, error) {
	ctx, end, err := d.client.life.Begin(ctx)
	if err != nil {
		return auth.Token{}, err
	}
	defer end()
	header := "username=" + d.username + ", password=" + d.password.Reveal() + ", consumer_key=" + d.consumerKey.Reveal()
	var out loginAnswer
	_, err = d.client.rest.Do(ctx, &rest.Request{
		Method: http.MethodPost,
		Path:   "my/logins/direct",
		Header: http.Header{"Content-Type": {"application/json"}},
		Authorizer: rest.AuthorizerFunc(func(_ context.Context, req *http.Request, _ []byte) error {
			req.Header["DirectLogin"] = []string{header}
			return nil
		}),
		NoAuthReplay: true,
	}, &out)
	if err != nil {
		return auth.Token{}, fmt.Errorf("obp: DirectLogin: %w", err)
	}
	if out.Token == "" {
		return auth.Token{}, errors.New("obp: DirectLogin: the answer has no token")
	}
	d.client.red.add(out.Token)
	return auth.Token{Value: out.Token}, nil
}

// clientAuth wraps the authorizer of the client's mode: it refuses every attempt once
// the client is closed, and adds the Consumer-Key header (WithConsumerKey) after the
// wrapped authorizer ran. It forwards Invalidate and, when the wrapped authorizer
// holds its credential during an attempt (rest.Leaser), AuthorizeLease.
type clientAuth struct {
	next        rest.Authorizer
	consumerKey auth.Secret
	life        *rest.Lifecycle
}

func (a clientAuth) Authorize(ctx context.Context, req *http.Request, body []byte) error {
	release, err := a.AuthorizeLease(ctx, req, body)
	if err != nil {
		return err
	}
	release()
	return nil
}

func (a clientAuth) AuthorizeLease(ctx context.Context, req *http.Request, body []byte) (func(), error) {
	if err := a.life.Err(); err != nil {
		return nil, err
	}
	release := func() {}
	if l, ok := a.next.(rest.Leaser); ok {
		r, err := l.AuthorizeLease(ctx, req, body)
		if err != nil {
			return nil, err
		}
		release = r
	} else if err := a.next.Authorize(ctx, req, body); err != nil {
		return nil, err
	}
	if !a.consumerKey.IsZero() {
		req.Header["Consumer-Key"] = []string{a.consumerKey.Reveal()}
	}
	return release, nil
}

// Invalidate forwards to the wrapped authorizer.
func (a clientAuth) Invalidate(req *http.Request) {
	if inv, ok := a.next.(rest.Invalidator); ok {
		inv.Invalidate(req)
	}
}

var (
	_ rest.Leaser      = clientAuth{}
	_ rest.Invalidator = clientAuth{}
)

package obp

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// dauthAuthorizer mints a DAuth JWT for every attempt. A DAuth JWT is never reused,
// so there is nothing to renew when OBP refuses one: it is not a rest.Renewer.
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

// The headers of the token modes. HeaderToken assigns them directly, so their case is
// kept on the wire (OBP compares "Consent-JWT" case-sensitively).
const (
	directLoginHeader = "DirectLogin"
	directLoginPrefix = "token="
	consentJWTHeader  = "Consent-JWT"
)

// directLoginToken sends "DirectLogin: token=<token>" with tokens from src. As a
// rest.Renewer (through rest.HeaderToken) it renews a rejected token when src can
// forget it (auth.Cache can: the login-based mode's cache logs in again), and asks
// for no replay when src cannot.
func directLoginToken(src auth.Source) rest.HeaderToken {
	return rest.NewHeaderToken(src, directLoginHeader, directLoginPrefix)
}

// checkDirectLoginToken refuses, before anything is sent, a token from a user's
// source that OBP would misread (OBP splits the DirectLogin header on commas and
// strips quotes). The error names the rule, never the token.
var checkDirectLoginToken = rest.AuthorizerFunc(func(_ context.Context, req *http.Request, _ []byte) error {
	tok, ok := rest.HeaderToken{Header: directLoginHeader, Prefix: directLoginPrefix}.Sent(req)
	if !ok {
		return errors.New("obp: DirectLogin token: missing")
	}
	if err := checkDirectLoginValue("token", tok.Value); err != nil {
		return fmt.Errorf("obp: %w", err)
	}
	return nil
})

// directLoginRejected classifies an answer for the DirectLogin modes: OBP-20003 (the
// token is invalid or expired) is a rejection of the token the attempt carried.
func directLoginRejected(_ *http.Response, err error) bool {
	var e *APIError
	return errors.As(err, &e) && e.OBPCode == string(ErrDirectLoginInvalidToken)
}

// unauthorized classifies an answer for the OAuth2 bearer and Consent-JWT modes: a
// 401 is a rejection of the access token or consent the attempt carried.
func unauthorized(resp *http.Response, _ error) bool {
	return resp != nil && resp.StatusCode == http.StatusUnauthorized
}

// directLogin logs in with DirectLogin credentials; the client's token cache calls
// login and the DirectLogin HeaderToken sends the token it holds.
type directLogin struct {
	client *Client
	header auth.Secret // "username=..., password=..., consumer_key=..."
	cache  *auth.Cache
}

type loginAnswer struct {
	Token string `json:"token"`
}

// login performs POST /my/logins/direct. OBP answers 201 (newer documentation says
// 200); any 2xx with a token is accepted. The token cache runs it detached from the
// caller that asked; Close cancels it and waits for it.
func (d *directLogin) login(ctx context.Context) (auth.Token, error) {
	ctx, end, err := d.client.life.Begin(ctx)
	if err != nil {
		return auth.Token{}, err
	}
	defer end()
	var out loginAnswer
	_, err = d.client.rest.Do(ctx, &rest.Request{
		Method:     http.MethodPost,
		Path:       "my/logins/direct",
		Header:     http.Header{"Content-Type": {"application/json"}},
		Authorizer: rest.StaticHeader{Header: directLoginHeader, Value: d.header},
	}, &out)
	if err != nil {
		return auth.Token{}, fmt.Errorf("obp: DirectLogin: %w", err)
	}
	if out.Token == "" {
		return auth.Token{}, errors.New("obp: DirectLogin: the answer has no token")
	}
	d.client.red.Add(out.Token)
	return auth.Token{Value: out.Token}, nil
}

package tkey7

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// tokenFields are the answer fields that may carry the refreshed token, in the order
// they are tried.
var tokenFields = []string{"access_token", "token", "accessToken"}

// refreshCall calls the refresh endpoint with cur as bearer and reads the answer. The
// returned token always has a Value: cur's when TKEY7 refreshed it in place.
func (c *Client) refreshCall(ctx context.Context, cur auth.Token) (auth.Token, error) {
	c.authz.tokens.add(cur.Value)
	var raw []byte
	_, err := c.rc.Do(ctx, &rest.Request{
		Method:       c.refreshMethod,
		Path:         c.refreshPath,
		Authorizer:   bearer(cur.Value),
		NoAuthReplay: true,
	}, &raw)
	if err != nil {
		var e *APIError
		if errors.As(err, &e) {
			e.judged = true // a refused refresh is final: the keep-alive stops with it
		}
		return auth.Token{}, err
	}
	tok, err := parseRefreshAnswer(raw, time.Now())
	if err != nil {
		return auth.Token{}, fmt.Errorf("tkey7: refresh answer: %w", err)
	}
	if tok.Value == "" {
		tok.Value = cur.Value
	}
	c.authz.tokens.add(tok.Value)
	return tok, nil
}

// bearer authorises one call with a fixed token (the refresh call, which must not
// take a lease: the keep-alive holds the lock while it refreshes).
func bearer(token string) rest.Authorizer {
	return rest.AuthorizerFunc(func(_ context.Context, req *http.Request, _ []byte) error {
		req.Header["Authorization"] = []string{"Bearer " + token}
		return nil
	})
}

// parseRefreshAnswer reads a refresh answer. The TKEY7 documentation does not describe
// it, so it accepts the token in "access_token", "token" or "accessToken". An empty
// body, or a JSON object with none of those fields, means the current token was
// refreshed in place: the returned Token has an empty Value. If the new token is a
// JWT, its exp claim becomes the Token's Expiry; the JWT is not verified and nothing
// else in it is used.
func parseRefreshAnswer(body []byte, now time.Time) (auth.Token, error) {
	body = bytes.TrimSpace(body)
	if len(body) == 0 {
		return auth.Token{}, nil
	}
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		return auth.Token{}, errors.New("the body is not a JSON object")
	}
	for _, f := range tokenFields {
		raw, ok := m[f]
		if !ok || bytes.Equal(bytes.TrimSpace(raw), []byte("null")) {
			continue
		}
		var v string
		if err := json.Unmarshal(raw, &v); err != nil {
			return auth.Token{}, fmt.Errorf("field %s is not a string", f)
		}
		if v == "" {
			continue
		}
		if err := checkToken(v); err != nil {
			return auth.Token{}, fmt.Errorf("field %s: %w", f, err)
		}
		return auth.Token{Value: v, Expiry: jwtExpiry(v, now)}, nil
	}
	return auth.Token{}, nil
}

// checkToken rejects values that cannot travel in an Authorization header.
func checkToken(v string) error {
	if v == "" {
		return errors.New("token is empty")
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c <= ' ' || c == 0x7f {
			return errors.New("token contains spaces or control characters")
		}
	}
	return nil
}

// jwtExpiry is the exp a token states (auth.UnverifiedExpiry), when it is in the
// future and within a century: only that can bring a refresh forward.
func jwtExpiry(tok string, now time.Time) time.Time {
	exp := auth.UnverifiedExpiry(tok)
	if !exp.After(now) || exp.After(now.Add(100*365*24*time.Hour)) {
		return time.Time{}
	}
	return exp
}

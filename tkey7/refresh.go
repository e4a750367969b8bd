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
// returned token always has a Value: cur's when TKEY7 refreshed it in place. A 401
// means TKEY7 refused the token: the error matches ErrTokenRevoked, or
// ErrSessionExpired once sessionEnd has passed, which ends the keep-alive.
func (c *Client) refreshCall(ctx context.Context, cur auth.Token, sessionEnd time.Time) (auth.Token, error) {
	c.redactor.Add(cur.Value)
	authz := bearer
	authz.Source = auth.SourceFunc(func(context.Context) (auth.Token, error) { return cur, nil })
	var raw []byte
	_, err := c.rc.Do(ctx, &rest.Request{
		Method:     c.refreshMethod,
		Path:       c.refreshPath,
		Authorizer: authz,
		// Not the keep-alive's lease: the keep-alive holds its lock while it
		// refreshes. And no renewal: this call is how a token is found dead.
		NoAuthReplay: true,
	}, &raw)
	if err != nil {
		var e *APIError
		if errors.As(err, &e) && e.StatusCode == http.StatusUnauthorized {
			reason := ErrTokenRevoked
			if !time.Now().Before(sessionEnd) {
				reason = ErrSessionExpired
			}
			return auth.Token{}, &tokenEnded{api: e, reason: reason}
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
	c.redactor.Add(tok.Value)
	return tok, nil
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

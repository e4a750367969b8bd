package tpv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/rest"
)

// LoginSignature returns the login signature the portal expects: the lowercase hex
// HMAC-SHA256 of "token=<appToken>&timestamp=<unix seconds>" keyed by appSecret
// (PHP: hash_hmac('sha256', 'token=' . $token . '&timestamp=' . $timestamp,
// $appSecret)).
func LoginSignature(appToken, appSecret string, unixSeconds int64) string {
	return auth.HMACSHA256Hex([]byte(appSecret), loginMessage(appToken, strconv.FormatInt(unixSeconds, 10)))
}

func loginMessage(appToken, timestamp string) string {
	return "token=" + appToken + "&timestamp=" + timestamp
}

// loginAuthorizer builds the login query afresh for every attempt, so that a retried
// login carries a current timestamp and its own signature.
type loginAuthorizer struct {
	c *Client
}

func (a loginAuthorizer) Authorize(_ context.Context, req *http.Request, _ []byte) error {
	tok, secret := a.c.creds.appToken.Reveal(), a.c.creds.appSecret.Reveal()
	ts := strconv.FormatInt(a.c.now().Unix(), 10)
	sig := auth.HMACSHA256Hex([]byte(secret), loginMessage(tok, ts))
	// The documented order: token, timestamp, _signature.
	req.URL.RawQuery = "token=" + url.QueryEscape(tok) + "&timestamp=" + ts + "&_signature=" + sig
	return nil
}

// login is the auth.Source behind the token cache: POST /api/v1/auth with the signed
// query, answered by {"auth_token": "..."}.
func (c *Client) login(ctx context.Context) (auth.Token, error) {
	// A renewal runs in the background while the current token is served: Close
	// cancels it and waits for it.
	ctx, end, err := c.life.Begin(ctx)
	if err != nil {
		return auth.Token{}, err
	}
	defer end()
	start := c.now()
	var out struct {
		AuthToken string `json:"auth_token"`
	}
	_, err = c.rc.Do(ctx, &rest.Request{
		Method:     http.MethodPost,
		Path:       pathAuth,
		Authorizer: loginAuthorizer{c: c},
		// Logging in twice only issues another token: safe to repeat.
		Idempotent:   rest.Idempotent(true),
		NoAuthReplay: true,
	}, &out)
	if err != nil {
		return auth.Token{}, &loginError{err: err}
	}
	if out.AuthToken == "" {
		return auth.Token{}, &loginError{err: errors.New("the answer has no auth_token")}
	}
	c.rc.Logger().Debug("tpv: logged in", "expires", start.Add(c.loginTTL))
	return auth.Token{Value: out.AuthToken, Expiry: start.Add(c.loginTTL)}, nil
}

// defaultSignature signs the raw query string, or the raw body when the request has
// no query, with HMAC-SHA256 keyed by the application secret, in lowercase hex.
func (c *Client) defaultSignature(req *http.Request, body []byte) (string, error) {
	msg := string(body)
	if req.URL.RawQuery != "" {
		msg = req.URL.RawQuery
	}
	return auth.HMACSHA256Hex([]byte(c.creds.appSecret.Reveal()), msg), nil
}

// requestAuthorizer sets "Authorization: <auth token>" (no Bearer prefix) from the
// token cache and "Signature: <signature>" on every attempt. It forgets a token the
// portal rejected (rest.Invalidator), so the pipeline's single replay logs in again.
// After Close it refuses every attempt with ErrClosed.
type requestAuthorizer struct {
	token  rest.HeaderToken
	signer RequestSigner
	life   *rest.Lifecycle
}

func (a *requestAuthorizer) Authorize(ctx context.Context, req *http.Request, body []byte) error {
	if err := a.life.Err(); err != nil {
		return err
	}
	if err := a.token.Authorize(ctx, req, body); err != nil {
		return err
	}
	sig, err := a.signer(req, body)
	if err != nil {
		return fmt.Errorf("tpv: signing request: %w", err)
	}
	if sig == "" {
		delete(req.Header, "Signature")
		return nil
	}
	req.Header["Signature"] = []string{sig}
	return nil
}

func (a *requestAuthorizer) Invalidate(req *http.Request) { a.token.Invalidate(req) }

var (
	_ rest.Authorizer  = (*requestAuthorizer)(nil)
	_ rest.Invalidator = (*requestAuthorizer)(nil)
	_ rest.Authorizer  = loginAuthorizer{}
)

// loginError is a failed login; it matches ErrLoginFailed.
type loginError struct{ err error }

func (e *loginError) Error() string        { return ErrLoginFailed.Error() + ": " + e.err.Error() }
func (e *loginError) Unwrap() error        { return e.err }
func (e *loginError) Is(target error) bool { return target == ErrLoginFailed }

// clean returns the login error itself when a call failed because the login did
// (rather than the pipeline's wrapping of it as a failed authorisation).
func (c *Client) clean(err error) error {
	var le *loginError
	if errors.As(err, &le) {
		return le
	}
	return err
}

package tpv

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"time"

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
// login carries a current timestamp and its own signature. appToken is the one the
// login read from the client's source.
type loginAuthorizer struct {
	appToken auth.Secret
	signer   auth.HMACSigner
	now      func() time.Time
}

func (a loginAuthorizer) Authorize(ctx context.Context, req *http.Request, _ []byte) error {
	tok := a.appToken.Reveal()
	ts := strconv.FormatInt(a.now().Unix(), 10)
	sig, err := auth.SignHMACHex(ctx, a.signer, loginMessage(tok, ts))
	if err != nil {
		// The message signed holds the application token: keep it out of the text.
		return redactedError(fmt.Errorf("tpv: signing the login: %w", err), tok)
	}
	// The documented order: token, timestamp, _signature.
	req.URL.RawQuery = "token=" + url.QueryEscape(tok) + "&timestamp=" + ts + "&_signature=" + sig
	return nil
}

// login is the auth.Source behind the token cache: POST /api/v1/auth with the signed
// query, answered by {"auth_token": "..."}. It reads the application token from the
// client's source for this login only.
func (c *Client) login(ctx context.Context) (auth.Token, error) {
	// A renewal runs in the background while the current token is served: Close
	// cancels it and waits for it.
	ctx, end, err := c.life.Begin(ctx)
	if err != nil {
		return auth.Token{}, err
	}
	defer end()
	appToken, err := c.readAppToken(ctx)
	if err != nil {
		return auth.Token{}, &loginError{err: err}
	}
	start := c.now()
	var out struct {
		AuthToken string `json:"auth_token"`
	}
	_, err = c.rc.Do(ctx, &rest.Request{
		Method:     http.MethodPost,
		Path:       pathAuth,
		Authorizer: loginAuthorizer{appToken: appToken, signer: c.hmac, now: c.now},
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

// readAppToken reads the application token for one login.
func (c *Client) readAppToken(ctx context.Context) (auth.Secret, error) {
	tok, err := c.appToken.Token(ctx)
	if err != nil {
		return auth.Secret{}, fmt.Errorf("reading the application token: %w", err)
	}
	switch {
	case tok.Value == "":
		return auth.Secret{}, errors.New("the application token source gave an empty token")
	case !queryToken(tok.Value):
		return auth.Secret{}, errors.New("the application token contains characters a query string cannot carry as is")
	}
	return auth.NewSecret(tok.Value), nil
}

// defaultSignature signs the raw query string, or the raw body when the request has
// no query, with the client's HMAC-SHA256 signer, in lowercase hex.
func defaultSignature(ctx context.Context, req *http.Request, body []byte, signer auth.HMACSigner) (string, error) {
	msg := string(body)
	if req.URL.RawQuery != "" {
		msg = req.URL.RawQuery
	}
	return auth.SignHMACHex(ctx, signer, msg)
}

// requestAuthorizer authorises every call but the login: after Close it refuses with
// ErrClosed; it sets "Authorization: <auth token>" (no Bearer prefix) from the token
// cache, then "Signature: <signature>". As a rest.Chain it is the Renewer of the
// auth token: a token the portal rejected is forgotten and the pipeline replays the
// call once, logging in again.
func (c *Client) requestAuthorizer(sign RequestSigner) rest.Chain {
	return rest.Chain{
		rest.AuthorizerFunc(func(context.Context, *http.Request, []byte) error { return c.life.Err() }),
		rest.HeaderToken{Source: c.tokens, Header: "Authorization"},
		signatureHeader{sign: sign, signer: c.hmac},
	}
}

// signatureHeader sets "Signature: <signature>" on every attempt.
type signatureHeader struct {
	sign   RequestSigner
	signer auth.HMACSigner
}

func (s signatureHeader) Authorize(ctx context.Context, req *http.Request, body []byte) error {
	sig, err := s.sign(ctx, req, body, s.signer)
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

var (
	_ rest.Authorizer = signatureHeader{}
	_ rest.Authorizer = loginAuthorizer{}
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

// redactedErr is an error whose text has credentials removed; errors.Is and
// errors.As still reach the error it wraps.
type redactedErr struct {
	text string
	err  error
}

// redactedError returns err with secrets removed from its text.
func redactedError(err error, secrets ...string) error {
	return &redactedErr{text: rest.NewRedactor().Redact(err.Error(), secrets...), err: err}
}

func (e *redactedErr) Error() string { return e.text }
func (e *redactedErr) Unwrap() error { return e.err }

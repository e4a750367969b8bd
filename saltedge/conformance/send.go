package conformance

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// request is one request of Salt Edge to the connector.
type request struct {
	method   string
	endpoint string         // below /api/priora/v1/
	data     map[string]any // the JWT's data claim
	token    string         // Access-Token ("" sends none)
	// authorization replaces the signed JWT ("Bearer ..." as given); noAuth sends no
	// Authorization header.
	authorization string
	noAuth        bool
	// clientID replaces the Client-Id value; noClientID sends no Client-Id.
	clientID   string
	noClientID bool
}

// maxAnswer bounds the answer read from the connector.
const maxAnswer = 8 << 20

// send signs and sends one request. Its error describes what went wrong without
// quoting the request.
func (r *runner) send(ctx context.Context, req request) (*answer, error) {
	ctx, cancel := context.WithTimeout(ctx, r.cfg.Timeout)
	defer cancel()
	hr, err := http.NewRequestWithContext(ctx, req.method, r.cfg.apiBase+"/"+req.endpoint, nil)
	if err != nil {
		return nil, fmt.Errorf("building the request: %w", err)
	}
	switch {
	case req.noAuth:
	case req.authorization != "":
		hr.Header.Set("Authorization", req.authorization)
	default:
		tok, err := r.signed(req.data, r.now().Add(RequestTTL))
		if err != nil {
			return nil, err
		}
		hr.Header.Set("Authorization", "Bearer "+tok)
	}
	hr.Header.Set("Accept", "application/json")
	hr.Header.Set("Content-Type", "application/json")
	switch {
	case req.noClientID:
	case req.clientID != "":
		hr.Header.Set("Client-Id", req.clientID)
	default:
		hr.Header.Set("Client-Id", strconv.FormatInt(r.cfg.ClientID, 10))
	}
	if req.token != "" {
		hr.Header.Set("Access-Token", req.token)
	}
	resp, err := r.hc.Do(hr)
	if err != nil {
		return nil, fmt.Errorf("%s %s: %s", req.method, req.endpoint, transportError(err))
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxAnswer))
	if err != nil {
		return nil, fmt.Errorf("%s %s: reading the answer: %s", req.method, req.endpoint, transportError(err))
	}
	return &answer{status: resp.StatusCode, header: resp.Header, body: body}, nil
}

// transportError describes err without the request's URL.
func transportError(err error) string {
	var ue *url.Error
	if errors.As(err, &ue) {
		err = ue.Err
	}
	if errors.Is(err, context.DeadlineExceeded) {
		return "no answer in time"
	}
	return clip(err.Error(), 200)
}

// claims are the seed's JWT claims: {"data": data, "exp": exp, "iss": issuer}.
func (r *runner) claims(data map[string]any, exp time.Time) map[string]any {
	if data == nil {
		data = map[string]any{}
	}
	c := map[string]any{"data": data, "iss": r.cfg.Issuer}
	if !exp.IsZero() {
		c["exp"] = exp.Unix()
	}
	return c
}

// signed returns an RS256 JWT signed with Salt Edge's key; a zero exp leaves the
// claim out.
func (r *runner) signed(data map[string]any, exp time.Time) (string, error) {
	tok, err := r.minter.Mint(r.claims(data, exp))
	if err != nil {
		return "", fmt.Errorf("signing with Salt Edge's key: %w", err)
	}
	return tok, nil
}

// forged builds a JWT with the given alg whose signature is sig(signing input).
func forged(alg string, claims map[string]any, sig func(input []byte) []byte) (string, error) {
	head, err := json.Marshal(map[string]string{"alg": alg, "typ": "JWT"})
	if err != nil {
		return "", err
	}
	body, err := json.Marshal(claims)
	if err != nil {
		return "", err
	}
	input := base64.RawURLEncoding.EncodeToString(head) + "." + base64.RawURLEncoding.EncodeToString(body)
	return input + "." + base64.RawURLEncoding.EncodeToString(sig([]byte(input))), nil
}

// algNone is an unsigned JWT (alg "none", empty signature).
func (r *runner) algNone(data map[string]any) (string, error) {
	return forged("none", r.claims(data, r.now().Add(RequestTTL)), func([]byte) []byte { return nil })
}

// hs256 is a JWT signed HS256 with the bytes of Salt Edge's public key as the HMAC
// secret: a verifier that takes its algorithm from the token and its key as bytes
// accepts it.
func (r *runner) hs256(data map[string]any, der bool) (string, error) {
	raw, err := x509.MarshalPKIXPublicKey(r.minter.Public())
	if err != nil {
		return "", err
	}
	secret := raw
	if !der {
		secret = pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: raw})
	}
	return forged("HS256", r.claims(data, r.now().Add(RequestTTL)), func(in []byte) []byte {
		m := hmac.New(sha256.New, secret)
		m.Write(in)
		return m.Sum(nil)
	})
}

// tampered is a valid JWT whose claims were changed after signing.
func (r *runner) tampered(data map[string]any) (string, error) {
	tok, err := r.signed(data, r.now().Add(RequestTTL))
	if err != nil {
		return "", err
	}
	other := map[string]any{}
	for k, v := range data {
		other[k] = v
	}
	other["session_secret"] = newSecret()
	body, err := json.Marshal(r.claims(other, r.now().Add(RequestTTL)))
	if err != nil {
		return "", err
	}
	parts := strings.Split(tok, ".")
	if len(parts) != 3 {
		return "", errors.New("the signed JWT is not a compact JWS")
	}
	return parts[0] + "." + base64.RawURLEncoding.EncodeToString(body) + "." + parts[2], nil
}

// newSecret returns a session secret like Salt Edge's (20 URL-safe characters).
func newSecret() string {
	b := make([]byte, 15)
	_, _ = rand.Read(b)
	return base64.RawURLEncoding.EncodeToString(b)
}

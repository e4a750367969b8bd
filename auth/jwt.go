package auth

import (
	"bytes"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/golang-jwt/jwt/v5"
)

// firstPEM returns the first PEM block in data whose type is one of types.
func firstPEM(data []byte, what string, types ...string) (*pem.Block, error) {
	sawPEM := false
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			break
		}
		sawPEM = true
		if slices.Contains(types, block.Type) {
			return block, nil
		}
	}
	if !sawPEM {
		return nil, fmt.Errorf("auth: %s: no PEM block found", what)
	}
	return nil, fmt.Errorf("auth: %s: no %s block found", what, strings.Join(types, " or "))
}

// LoadRSAPrivateKey parses the first RSA private key in PEM data: PKCS#1 ("RSA PRIVATE
// KEY") or PKCS#8 ("PRIVATE KEY"). Errors never include key material.
func LoadRSAPrivateKey(pemData []byte) (*rsa.PrivateKey, error) {
	block, err := firstPEM(pemData, "RSA private key", "RSA PRIVATE KEY", "PRIVATE KEY", "ENCRYPTED PRIVATE KEY")
	if err != nil {
		return nil, err
	}
	switch block.Type {
	case "RSA PRIVATE KEY":
		if strings.Contains(block.Headers["Proc-Type"], "ENCRYPTED") { // legacy RFC 1423 encryption
			return nil, errors.New("auth: RSA private key: encrypted PEM is not supported; decrypt it first")
		}
		k, err := x509.ParsePKCS1PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("auth: RSA private key: invalid PKCS#1 data")
		}
		return k, nil
	case "PRIVATE KEY":
		k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
		if err != nil {
			return nil, errors.New("auth: RSA private key: invalid PKCS#8 data")
		}
		rk, ok := k.(*rsa.PrivateKey)
		if !ok {
			return nil, fmt.Errorf("auth: private key: PKCS#8 key is %T, not RSA", k)
		}
		return rk, nil
	default:
		return nil, errors.New("auth: RSA private key: encrypted PKCS#8 is not supported; decrypt it first")
	}
}

// LoadRSAPublicKey parses the first RSA public key in PEM data: PKIX ("PUBLIC KEY"),
// PKCS#1 ("RSA PUBLIC KEY") or an X.509 certificate ("CERTIFICATE").
func LoadRSAPublicKey(pemData []byte) (*rsa.PublicKey, error) {
	block, err := firstPEM(pemData, "RSA public key", "PUBLIC KEY", "RSA PUBLIC KEY", "CERTIFICATE")
	if err != nil {
		return nil, err
	}
	var key any
	switch block.Type {
	case "PUBLIC KEY":
		key, err = x509.ParsePKIXPublicKey(block.Bytes)
	case "RSA PUBLIC KEY":
		key, err = x509.ParsePKCS1PublicKey(block.Bytes)
	default:
		var cert *x509.Certificate
		if cert, err = x509.ParseCertificate(block.Bytes); err == nil {
			key = cert.PublicKey
		}
	}
	if err != nil {
		return nil, fmt.Errorf("auth: RSA public key: invalid %s data: %w", block.Type, err)
	}
	pk, ok := key.(*rsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("auth: public key is %T, not RSA", key)
	}
	return pk, nil
}

// JWTMinter signs RS256 JWTs with a crypto.Signer: an *rsa.PrivateKey in memory, or
// an RSA key whose private half never leaves an HSM, a cloud KMS or a PKCS#11 token
// (any crypto.Signer whose Public() is an *rsa.PublicKey and that signs a SHA-256
// digest with PKCS#1 v1.5 when given crypto.SHA256, as the standard library's
// convention is). It is safe for concurrent use if the signer is.
//
// A token is the JWS compact serialisation header.claims.signature: the header
// {"alg":"RS256","kid":kid,"typ":"JWT"} (kid only when set) is encoded once, when the
// minter is made, and each token encodes its claims and the signer's signature of
// the two; golang-jwt's SignedString gives the same bytes for the same header and
// claims.
type JWTMinter struct {
	key crypto.Signer
	ttl time.Duration
	kid string
	now func() time.Time
	// header is the encoded header segment; sigLen the length of a signature (the
	// modulus's size), which sizes a token's buffer.
	header string
	sigLen int
}

// MinterOption configures a JWTMinter.
type MinterOption func(*JWTMinter) error

// WithTTL sets exp = now + d on every token that Mint signs from claims without an
// exp claim of their own, and the time Expiry gives.
func WithTTL(d time.Duration) MinterOption {
	return func(m *JWTMinter) error {
		if d < 0 {
			return fmt.Errorf("JWT TTL: must not be negative, got %v", d)
		}
		m.ttl = d
		return nil
	}
}

// WithKeyID sets the kid header.
func WithKeyID(kid string) MinterOption {
	return func(m *JWTMinter) error { m.kid = kid; return nil }
}

// WithMinterClock replaces time.Now (for tests).
func WithMinterClock(now func() time.Time) MinterOption {
	return func(m *JWTMinter) error {
		if now == nil {
			return errors.New("JWT clock: must not be nil")
		}
		m.now = now
		return nil
	}
}

// NewJWTMinter returns a minter signing with key, an RSA key of at least 2048 bits.
// An *rsa.PrivateKey is a crypto.Signer; so is a key held in an HSM or KMS.
func NewJWTMinter(key crypto.Signer, opts ...MinterOption) (*JWTMinter, error) {
	if key == nil {
		return nil, errors.New("JWT minter: private key is required")
	}
	if k, ok := key.(*rsa.PrivateKey); ok && k == nil {
		return nil, errors.New("JWT minter: private key is required")
	}
	pub, ok := key.Public().(*rsa.PublicKey)
	if !ok || pub == nil {
		return nil, fmt.Errorf("JWT minter: the signer's public key is %T; RS256 needs an RSA key", key.Public())
	}
	if pub.N.BitLen() < 2048 {
		return nil, fmt.Errorf("JWT minter: RSA key has %d bits; at least 2048 are required", pub.N.BitLen())
	}
	m := &JWTMinter{key: key, now: time.Now, sigLen: pub.Size()}
	for _, o := range opts {
		if err := o(m); err != nil {
			return nil, err
		}
	}
	// The members in golang-jwt's order (it marshals a map, whose keys encoding/json
	// sorts), so that its parser and ours read the same header.
	header := map[string]string{"alg": "RS256", "typ": "JWT"}
	if m.kid != "" {
		header["kid"] = m.kid
	}
	raw, err := json.Marshal(header)
	if err != nil {
		return nil, fmt.Errorf("JWT minter: encoding the header: %w", err)
	}
	m.header = base64.RawURLEncoding.EncodeToString(raw)
	return m, nil
}

// Public returns the public half of the minter's key, for the party that verifies.
func (m *JWTMinter) Public() *rsa.PublicKey { return m.key.Public().(*rsa.PublicKey) }

// Expiry returns the exp of a token minted now with the minter's TTL (now + TTL, by
// the minter's clock), or the zero time when the minter has no TTL. Mint sets it
// itself; a caller of MintJSON puts it into its claims.
func (m *JWTMinter) Expiry() time.Time {
	if m.ttl <= 0 {
		return time.Time{}
	}
	return m.now().Add(m.ttl)
}

// Mint signs claims (never modified) as an RS256 JWT, adding exp when the minter has
// a TTL and claims has none. A nil map is signed as an empty claims object.
func (m *JWTMinter) Mint(claims map[string]any) (string, error) {
	var payload []byte
	if len(claims) == 0 {
		payload = []byte("{}")
	} else {
		var err error
		if payload, err = json.Marshal(claims); err != nil {
			return "", fmt.Errorf("auth: signing JWT: encoding the claims: %w", err)
		}
	}
	if _, ok := claims["exp"]; !ok && m.ttl > 0 {
		// json.Marshal of a map ends with the object's '}': exp is appended as its last
		// member, in place of a copy of the map with exp in it.
		payload = payload[:len(payload)-1]
		if len(payload) > 1 {
			payload = append(payload, ',')
		}
		payload = append(payload, `"exp":`...)
		payload = strconv.AppendInt(payload, m.Expiry().Unix(), 10)
		payload = append(payload, '}')
	}
	tok, err := m.appendSigned(nil, payload)
	if err != nil {
		return "", err
	}
	return string(tok), nil
}

// MintJSON signs claims, the JSON text of one claims object, as an RS256 JWT: a
// caller whose claims have a fixed shape encodes them itself (from a struct, or by
// appending to a buffer) and no map is built per token. The claims are signed as they
// are: nothing is added to them, so a minter's TTL is the caller's to apply (its exp
// is Expiry). claims that are not a JSON object are refused; the error does not quote
// them.
func (m *JWTMinter) MintJSON(claims []byte) (string, error) {
	tok, err := m.AppendJWT(nil, claims)
	if err != nil {
		return "", err
	}
	return string(tok), nil
}

// AppendJWT appends to dst the RS256 JWT that MintJSON makes of claims and returns the
// extended buffer, growing it once at most, so that a caller sending the token after
// a prefix ("Bearer ") builds the whole value in a buffer of its own. On error, dst is
// returned unchanged.
func (m *JWTMinter) AppendJWT(dst, claims []byte) ([]byte, error) {
	if !json.Valid(claims) {
		return dst, errors.New("auth: signing JWT: the claims are not valid JSON")
	}
	if c := bytes.TrimLeft(claims, " \t\r\n"); c[0] != '{' {
		return dst, errors.New("auth: signing JWT: the claims are not a JSON object")
	}
	return m.appendSigned(dst, claims)
}

// appendSigned appends header.claims.signature to dst, grown first to its final size:
// the signing input is hashed where it lies, then the signature appended.
func (m *JWTMinter) appendSigned(dst, claims []byte) ([]byte, error) {
	enc := base64.RawURLEncoding
	start := len(dst)
	tok := slices.Grow(dst, len(m.header)+1+enc.EncodedLen(len(claims))+1+enc.EncodedLen(m.sigLen))
	tok = append(tok, m.header...)
	tok = append(tok, '.')
	tok = enc.AppendEncode(tok, claims)
	digest := sha256.Sum256(tok[start:])
	sig, err := m.key.Sign(rand.Reader, digest[:], crypto.SHA256)
	if err != nil {
		return dst, fmt.Errorf("auth: signing JWT: %w", err)
	}
	tok = append(tok, '.')
	return enc.AppendEncode(tok, sig), nil
}

// String does not reveal the key.
func (m *JWTMinter) String() string { return "auth.JWTMinter{RS256, key: [REDACTED]}" }

// GoString does not reveal the key.
func (m *JWTMinter) GoString() string { return m.String() }

// JWTVerifier verifies RS256 JWTs against one public key: the algorithm is pinned to
// RS256 (alg none, HS256 and others are rejected before the key is used), exp is
// required, an iat (when present) must not lie in the future, the issuer is checked
// when configured, exp may lie at most a maximum lifetime ahead when one is configured
// (WithMaxLifetime), and a small clock leeway applies.
type JWTVerifier struct {
	keys        KeySet
	parser      *jwt.Parser
	leeway      time.Duration
	maxLifetime time.Duration
	now         func() time.Time
}

type verifierOptions struct {
	issuer      string
	leeway      time.Duration
	maxLifetime time.Duration
	now         func() time.Time
}

// VerifierOption configures a JWTVerifier.
type VerifierOption func(*verifierOptions) error

// WithIssuer requires the iss claim to equal iss.
func WithIssuer(iss string) VerifierOption {
	return func(o *verifierOptions) error {
		if iss == "" {
			return errors.New("JWT issuer: must not be empty")
		}
		o.issuer = iss
		return nil
	}
}

// WithLeeway sets the clock-skew allowance for exp, nbf and iat (default 10 s, at
// most 5 min).
func WithLeeway(d time.Duration) VerifierOption {
	return func(o *verifierOptions) error {
		if d < 0 || d > 5*time.Minute {
			return fmt.Errorf("JWT leeway: must be between 0 and 5m, got %v", d)
		}
		o.leeway = d
		return nil
	}
}

// WithMaxLifetime refuses a token whose exp lies more than d (plus the leeway) after
// now, so that a leaked token cannot be replayed for years: the issuer's tokens are
// short-lived, and a far exp is a forgery or a misconfigured issuer. A failure wraps
// ErrJWTLifetime. Default: no bound.
func WithMaxLifetime(d time.Duration) VerifierOption {
	return func(o *verifierOptions) error {
		if d <= 0 {
			return fmt.Errorf("JWT maximum lifetime: must be positive, got %v", d)
		}
		o.maxLifetime = d
		return nil
	}
}

// WithVerifierClock replaces time.Now (for tests).
func WithVerifierClock(now func() time.Time) VerifierOption {
	return func(o *verifierOptions) error {
		if now == nil {
			return errors.New("JWT clock: must not be nil")
		}
		o.now = now
		return nil
	}
}

// NewJWTVerifier returns a verifier for tokens signed by key's private half.
func NewJWTVerifier(key *rsa.PublicKey, opts ...VerifierOption) (*JWTVerifier, error) {
	if key == nil {
		return nil, errors.New("JWT verifier: public key is required")
	}
	return NewJWTVerifierKeySet(StaticKeySet(key), opts...)
}

// KeySet supplies the RSA public keys a token may be signed with, so that a verifier
// follows the issuer's key rotation (a JWKS endpoint, a per-environment key, a key
// rolled out before the old one is retired). PublicKeys returns the candidates for a
// token whose header names kid ("" when it names none); the token is accepted if one
// of them verifies it. Keys are typed *rsa.PublicKey, never bytes, so an HS256 token
// keyed with a public key cannot pass. Implementations must be safe for concurrent
// use.
type KeySet interface {
	PublicKeys(kid string) ([]*rsa.PublicKey, error)
}

// KeySetFunc adapts a function to KeySet.
type KeySetFunc func(kid string) ([]*rsa.PublicKey, error)

// PublicKeys calls f.
func (f KeySetFunc) PublicKeys(kid string) ([]*rsa.PublicKey, error) { return f(kid) }

// StaticKeySet is a fixed KeySet: every key is a candidate for every token, whatever
// its kid. Nil keys are dropped.
func StaticKeySet(keys ...*rsa.PublicKey) KeySet {
	ks := make([]*rsa.PublicKey, 0, len(keys))
	for _, k := range keys {
		if k != nil {
			ks = append(ks, k)
		}
	}
	return KeySetFunc(func(string) ([]*rsa.PublicKey, error) { return ks, nil })
}

// NewJWTVerifierKeySet returns a verifier for tokens signed by one of the keys ks
// gives for the token's kid.
func NewJWTVerifierKeySet(ks KeySet, opts ...VerifierOption) (*JWTVerifier, error) {
	if ks == nil {
		return nil, errors.New("JWT verifier: key set is required")
	}
	o := verifierOptions{leeway: 10 * time.Second}
	for _, opt := range opts {
		if err := opt(&o); err != nil {
			return nil, err
		}
	}
	popts := []jwt.ParserOption{
		jwt.WithValidMethods([]string{jwt.SigningMethodRS256.Alg()}),
		jwt.WithExpirationRequired(),
		jwt.WithIssuedAt(), // an iat beyond now+leeway fails with jwt.ErrTokenUsedBeforeIssued
		jwt.WithLeeway(o.leeway),
	}
	if o.issuer != "" {
		popts = append(popts, jwt.WithIssuer(o.issuer))
	}
	now := time.Now
	if o.now != nil {
		now = o.now
		popts = append(popts, jwt.WithTimeFunc(o.now))
	}
	return &JWTVerifier{keys: ks, parser: jwt.NewParser(popts...), leeway: o.leeway,
		maxLifetime: o.maxLifetime, now: now}, nil
}

// ErrInvalidJWT is wrapped by every verification failure.
var ErrInvalidJWT = errors.New("auth: invalid JWT")

// ErrJWTLifetime is wrapped (with ErrInvalidJWT) by the failure of a token whose exp
// lies further ahead than the verifier's maximum lifetime (WithMaxLifetime).
var ErrJWTLifetime = errors.New("auth: JWT exp is further ahead than the maximum lifetime")

func (v *JWTVerifier) keyFunc(t *jwt.Token) (any, error) {
	if _, ok := t.Method.(*jwt.SigningMethodRSA); !ok || t.Method.Alg() != "RS256" {
		return nil, fmt.Errorf("unexpected signing method %q", t.Method.Alg())
	}
	kid, _ := t.Header["kid"].(string)
	keys, err := v.keys.PublicKeys(kid)
	if err != nil {
		return nil, fmt.Errorf("key set: %w", err)
	}
	set := jwt.VerificationKeySet{Keys: make([]jwt.VerificationKey, 0, len(keys))}
	for _, k := range keys {
		if k != nil {
			set.Keys = append(set.Keys, k) // typed *rsa.PublicKey, never bytes
		}
	}
	switch len(set.Keys) {
	case 0:
		return nil, errors.New("no public key for this token")
	case 1:
		return set.Keys[0], nil
	}
	return set, nil
}

// Verify checks token and returns its claims.
func (v *JWTVerifier) Verify(token string) (jwt.MapClaims, error) {
	claims := jwt.MapClaims{}
	if err := v.VerifyInto(token, claims); err != nil {
		return nil, err
	}
	return claims, nil
}

// VerifyInto checks token and decodes its claims into claims.
func (v *JWTVerifier) VerifyInto(token string, claims jwt.Claims) error {
	if len(token) > 64<<10 {
		return fmt.Errorf("%w: token longer than 64 KiB", ErrInvalidJWT)
	}
	if _, err := v.parser.ParseWithClaims(token, claims, v.keyFunc); err != nil {
		return fmt.Errorf("%w: %w", ErrInvalidJWT, err)
	}
	if v.maxLifetime > 0 {
		exp, err := claims.GetExpirationTime()
		if err != nil || exp == nil {
			return fmt.Errorf("%w: %w", ErrInvalidJWT, jwt.ErrTokenRequiredClaimMissing)
		}
		if limit := v.now().Add(v.maxLifetime + v.leeway); exp.After(limit) {
			return fmt.Errorf("%w: %w", ErrInvalidJWT, ErrJWTLifetime)
		}
	}
	return nil
}

// UnverifiedExpiry reads the exp claim of a JWT without verifying anything, for a
// client that only wants to renew a provider's token before it expires (the provider
// verifies its own tokens). It returns the zero time when token is not a JWT, has no
// numeric exp, or states an exp outside (0, year 5138]. Never trust anything else in
// an unverified token.
func UnverifiedExpiry(token string) time.Time {
	const maxLen = 16 << 10
	if len(token) > maxLen || strings.Count(token, ".") != 2 {
		return time.Time{}
	}
	payload := strings.Split(token, ".")[1]
	raw, err := base64.RawURLEncoding.DecodeString(strings.TrimRight(payload, "="))
	if err != nil {
		return time.Time{}
	}
	var claims struct {
		Exp json.RawMessage `json:"exp"`
	}
	if err := json.Unmarshal(raw, &claims); err != nil || len(claims.Exp) == 0 {
		return time.Time{}
	}
	// A NumericDate is a JSON number; a string or anything else is ignored.
	secs, err := strconv.ParseFloat(string(claims.Exp), 64)
	if err != nil || math.IsNaN(secs) || secs <= 0 || secs > 1e11 {
		return time.Time{}
	}
	return time.UnixMilli(int64(math.Round(secs * 1000)))
}

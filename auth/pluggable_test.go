package auth

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// hsmKey stands for a key held in an HSM or KMS: a crypto.Signer that is not an
// *rsa.PrivateKey, whose private half the minter never sees, counting what it signs.
type hsmKey struct {
	inner *rsa.PrivateKey
	signs atomic.Int32
	fail  error
}

func (h *hsmKey) Public() crypto.PublicKey { return &h.inner.PublicKey }

func (h *hsmKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if h.fail != nil {
		return nil, h.fail
	}
	if opts.HashFunc() != crypto.SHA256 || len(digest) != 32 {
		return nil, fmt.Errorf("hsm: unexpected digest (%v, %d bytes)", opts.HashFunc(), len(digest))
	}
	h.signs.Add(1)
	return rsa.SignPKCS1v15(r, h.inner, crypto.SHA256, digest)
}

func TestJWTMinterSignsWithAnyCryptoSigner(t *testing.T) {
	k, _ := testKeys(t)
	hsm := &hsmKey{inner: k}
	m, err := NewJWTMinter(hsm, WithTTL(time.Minute))
	require.NoError(t, err)
	tok, err := m.Mint(map[string]any{"data": "x"})
	require.NoError(t, err)
	assert.Equal(t, int32(1), hsm.signs.Load(), "the signature came from the signer")

	v, err := NewJWTVerifier(&k.PublicKey)
	require.NoError(t, err)
	claims, err := v.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, "x", claims["data"])
	assert.Equal(t, &k.PublicKey, m.Public())

	// The same key in memory produces the same signature (PKCS#1 v1.5 is
	// deterministic): the signer path is RS256 exactly.
	mem, err := NewJWTMinter(k, WithTTL(time.Minute), WithMinterClock(func() time.Time { return time.Unix(1e9, 0) }))
	require.NoError(t, err)
	viaHSM, err := NewJWTMinter(hsm, WithTTL(time.Minute), WithMinterClock(func() time.Time { return time.Unix(1e9, 0) }))
	require.NoError(t, err)
	a, err := mem.Mint(map[string]any{"n": 1})
	require.NoError(t, err)
	b, err := viaHSM.Mint(map[string]any{"n": 1})
	require.NoError(t, err)
	assert.Equal(t, a, b)
}

func TestJWTMinterReportsASignerFailureWithoutTheKey(t *testing.T) {
	k, _ := testKeys(t)
	m, err := NewJWTMinter(&hsmKey{inner: k, fail: errors.New("hsm: session closed")})
	require.NoError(t, err)
	_, err = m.Mint(map[string]any{"x": 1})
	require.ErrorContains(t, err, "hsm: session closed")
	assert.NotContains(t, err.Error(), k.D.String())
}

func TestJWTMinterRefusesANonRSASigner(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = NewJWTMinter(ec)
	require.ErrorContains(t, err, "RSA")
	var nilKey *rsa.PrivateKey
	_, err = NewJWTMinter(nilKey)
	require.Error(t, err)
}

func TestJWTVerifierKeySetFollowsRotation(t *testing.T) {
	a, b := testKeys(t)
	mint := func(k *rsa.PrivateKey, kid string) string {
		opts := []MinterOption{WithTTL(time.Minute)}
		if kid != "" {
			opts = append(opts, WithKeyID(kid))
		}
		m, err := NewJWTMinter(k, opts...)
		require.NoError(t, err)
		tok, err := m.Mint(map[string]any{"sub": kid})
		require.NoError(t, err)
		return tok
	}

	// Both keys valid during a rollover, no kid: either verifies.
	both, err := NewJWTVerifierKeySet(StaticKeySet(&a.PublicKey, &b.PublicKey))
	require.NoError(t, err)
	for _, k := range []*rsa.PrivateKey{a, b} {
		_, err := both.Verify(mint(k, ""))
		assert.NoError(t, err)
	}

	// By kid: each kid selects its own key; an unknown kid has none.
	var asked []string
	byKid, err := NewJWTVerifierKeySet(KeySetFunc(func(kid string) ([]*rsa.PublicKey, error) {
		asked = append(asked, kid)
		switch kid {
		case "old":
			return []*rsa.PublicKey{&a.PublicKey}, nil
		case "new":
			return []*rsa.PublicKey{&b.PublicKey}, nil
		}
		return nil, nil
	}))
	require.NoError(t, err)
	_, err = byKid.Verify(mint(a, "old"))
	assert.NoError(t, err)
	_, err = byKid.Verify(mint(b, "new"))
	assert.NoError(t, err)
	_, err = byKid.Verify(mint(a, "new"))
	assert.ErrorIs(t, err, ErrInvalidJWT, "a kid whose key did not sign the token")
	_, err = byKid.Verify(mint(a, "retired"))
	assert.ErrorIs(t, err, ErrInvalidJWT, "a kid with no key")
	assert.Equal(t, []string{"old", "new", "new", "retired"}, asked)

	// A failing key set is a verification failure naming the cause.
	broken, err := NewJWTVerifierKeySet(KeySetFunc(func(string) ([]*rsa.PublicKey, error) {
		return nil, errors.New("jwks fetch failed")
	}))
	require.NoError(t, err)
	_, err = broken.Verify(mint(a, ""))
	assert.ErrorIs(t, err, ErrInvalidJWT)
	assert.ErrorContains(t, err, "jwks fetch failed")

	_, err = NewJWTVerifierKeySet(nil)
	assert.Error(t, err)
}

func TestJWTVerifierKeySetStillRefusesHS256KeyedWithThePublicKey(t *testing.T) {
	a, b := testKeys(t)
	v, err := NewJWTVerifierKeySet(StaticKeySet(&a.PublicKey, &b.PublicKey))
	require.NoError(t, err)
	for _, k := range []*rsa.PrivateKey{a, b} {
		der := k.PublicKey.N.Bytes()
		forged, err := jwt.NewWithClaims(jwt.SigningMethodHS256, jwt.MapClaims{"exp": time.Now().Add(time.Minute).Unix()}).SignedString(der)
		require.NoError(t, err)
		_, err = v.Verify(forged)
		assert.ErrorIs(t, err, ErrInvalidJWT)
	}
	none := "eyJhbGciOiJub25lIn0." + b64(map[string]any{"exp": time.Now().Add(time.Minute).Unix()}) + "."
	_, err = v.Verify(none)
	assert.ErrorIs(t, err, ErrInvalidJWT)
}

func TestHMACSignerInMemoryMatchesPHP(t *testing.T) {
	s, err := NewHMACSHA256(NewSecret("key"))
	require.NoError(t, err)
	got, err := SignHMACHex(context.Background(), s, "The quick brown fox jumps over the lazy dog")
	require.NoError(t, err)
	assert.Equal(t, "f7bc83f430538424b13298e6aa6fb143ef4d59a14946175997479dbc2d1a3cd8", got)

	_, err = NewHMACSHA256(Secret{})
	assert.ErrorContains(t, err, "HMAC key")
}

func TestHMACSignerPluggedAndFailing(t *testing.T) {
	var seen string
	remote := HMACSignerFunc(func(_ context.Context, message []byte) ([]byte, error) {
		seen = string(message)
		return []byte{0xde, 0xad, 0xbe, 0xef}, nil
	})
	got, err := SignHMACHex(context.Background(), remote, "token=a&timestamp=1")
	require.NoError(t, err)
	assert.Equal(t, "deadbeef", got)
	assert.Equal(t, "token=a&timestamp=1", seen)

	down := HMACSignerFunc(func(context.Context, []byte) ([]byte, error) { return nil, errors.New("kms unavailable") })
	_, err = SignHMACHex(context.Background(), down, "m")
	assert.ErrorContains(t, err, "kms unavailable")
	empty := HMACSignerFunc(func(context.Context, []byte) ([]byte, error) { return nil, nil })
	_, err = SignHMACHex(context.Background(), empty, "m")
	assert.ErrorContains(t, err, "empty MAC")
}

func TestHMACSHA256NeverPrintsItsKey(t *testing.T) {
	const key = "hmac-key-that-must-not-print"
	s, err := NewHMACSHA256(NewSecret(key))
	require.NoError(t, err)
	var outs []string
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%x"} {
		outs = append(outs, fmt.Sprintf(verb, s))
	}
	j, err := json.Marshal(struct{ S *HMACSHA256 }{s})
	require.NoError(t, err)
	outs = append(outs, string(j))
	var buf strings.Builder
	slog.New(slog.NewJSONHandler(&buf, nil)).Info("x", "signer", s)
	slog.New(slog.NewTextHandler(&buf, nil)).Info("x", "signer", s)
	outs = append(outs, buf.String())
	for _, o := range outs {
		assert.NotContains(t, o, key)
		assert.NotContains(t, o, fmt.Sprintf("%x", key))
	}
}

func TestKeyedSourceFuncBehindAKeyedCache(t *testing.T) {
	var calls atomic.Int32
	renewer := KeyedSourceFunc(func(_ context.Context, consent string) (Token, error) {
		calls.Add(1)
		return Token{Value: "tok-for-" + consent, Expiry: time.Now().Add(time.Hour)}, nil
	})
	var ks KeyedSource = NewKeyedCache(renewer)
	for range 3 {
		tok, err := ks.Token(context.Background(), "consent-1")
		require.NoError(t, err)
		assert.Equal(t, "tok-for-consent-1", tok.Value)
	}
	assert.Equal(t, int32(1), calls.Load(), "the cache asks the renewer once per key")
}

package auth

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"math/big"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var (
	keyOnce sync.Once
	keyA    *rsa.PrivateKey
	keyB    *rsa.PrivateKey
)

func testKeys(t testing.TB) (*rsa.PrivateKey, *rsa.PrivateKey) {
	t.Helper()
	keyOnce.Do(func() {
		var err error
		keyA, err = rsa.GenerateKey(rand.Reader, 2048)
		if err == nil {
			keyB, err = rsa.GenerateKey(rand.Reader, 2048)
		}
		if err != nil {
			panic(err)
		}
	})
	return keyA, keyB
}

func b64(v any) string {
	b, _ := json.Marshal(v)
	return base64.RawURLEncoding.EncodeToString(b)
}

func TestJWTMintAndVerify(t *testing.T) {
	k, _ := testKeys(t)
	m, err := NewJWTMinter(k, WithTTL(time.Minute), WithKeyID("kid-1"))
	require.NoError(t, err)
	tok, err := m.Mint(map[string]any{"data": map[string]any{"token": "abc"}, "iss": "priora.saltedge.com"})
	require.NoError(t, err)

	v, err := NewJWTVerifier(&k.PublicKey, WithIssuer("priora.saltedge.com"))
	require.NoError(t, err)
	claims, err := v.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"token": "abc"}, claims["data"])
	exp, err := claims.GetExpirationTime()
	require.NoError(t, err)
	assert.WithinDuration(t, time.Now().Add(time.Minute), exp.Time, 2*time.Second)

	hdr, _, _ := strings.Cut(tok, ".")
	raw, err := base64.RawURLEncoding.DecodeString(hdr)
	require.NoError(t, err)
	assert.JSONEq(t, `{"alg":"RS256","typ":"JWT","kid":"kid-1"}`, string(raw))
}

func TestJWTMintDoesNotModifyClaimsAndKeepsExplicitExp(t *testing.T) {
	k, _ := testKeys(t)
	m, err := NewJWTMinter(k, WithTTL(time.Minute))
	require.NoError(t, err)
	claims := map[string]any{"a": 1}
	_, err = m.Mint(claims)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"a": 1}, claims)
	exp := time.Now().Add(5 * time.Minute).Unix()
	tok, err := m.Mint(map[string]any{"exp": exp})
	require.NoError(t, err)
	v, _ := NewJWTVerifier(&k.PublicKey)
	got, err := v.Verify(tok)
	require.NoError(t, err)
	assert.EqualValues(t, exp, got["exp"])
}

func TestJWTVerifierRejects(t *testing.T) {
	k, other := testKeys(t)
	v, err := NewJWTVerifier(&k.PublicKey, WithIssuer("priora.saltedge.com"))
	require.NoError(t, err)
	mint := func(key *rsa.PrivateKey, claims jwt.MapClaims) string {
		s, err := jwt.NewWithClaims(jwt.SigningMethodRS256, claims).SignedString(key)
		require.NoError(t, err)
		return s
	}
	future := time.Now().Add(time.Minute).Unix()
	good := jwt.MapClaims{"iss": "priora.saltedge.com", "exp": future, "data": "x"}
	require.NotEmpty(t, mint(k, good))
	_, err = v.Verify(mint(k, good))
	require.NoError(t, err, "sanity: a good token verifies")

	pubDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	pubPEM := pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pubDER})
	hs, err := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString(pubPEM)
	require.NoError(t, err)
	hsDER, err := jwt.NewWithClaims(jwt.SigningMethodHS256, good).SignedString(pubDER)
	require.NoError(t, err)
	none := b64(map[string]string{"alg": "none", "typ": "JWT"}) + "." + b64(good) + "."
	noneUpper := b64(map[string]string{"alg": "NONE"}) + "." + b64(good) + "."

	goodTok := mint(k, good)
	parts := strings.Split(goodTok, ".")
	tamperedClaims := jwt.MapClaims{"iss": "priora.saltedge.com", "exp": future, "data": "y"}
	tampered := parts[0] + "." + b64(tamperedClaims) + "." + parts[2]

	// RS256 signature over a PS256 header: a different algorithm of the same family.
	ps, err := jwt.NewWithClaims(jwt.SigningMethodPS256, good).SignedString(k)
	require.NoError(t, err)

	cases := map[string]string{
		"alg none":               none,
		"alg NONE":               noneUpper,
		"HS256 with public PEM":  hs,
		"HS256 with public DER":  hsDER,
		"PS256":                  ps,
		"expired":                mint(k, jwt.MapClaims{"iss": "priora.saltedge.com", "exp": time.Now().Add(-time.Minute).Unix()}),
		"missing exp":            mint(k, jwt.MapClaims{"iss": "priora.saltedge.com"}),
		"wrong issuer":           mint(k, jwt.MapClaims{"iss": "evil.example", "exp": future}),
		"missing issuer":         mint(k, jwt.MapClaims{"exp": future}),
		"tampered payload":       tampered,
		"other key":              mint(other, good),
		"garbage":                "not.a.jwt",
		"empty":                  "",
		"too many segments":      goodTok + ".x",
		"signature stripped":     parts[0] + "." + parts[1] + ".",
		"not yet valid (nbf)":    mint(k, jwt.MapClaims{"iss": "priora.saltedge.com", "exp": future, "nbf": time.Now().Add(time.Hour).Unix()}),
		"oversized token":        strings.Repeat("a", 70<<10),
		"header is not json":     base64.RawURLEncoding.EncodeToString([]byte("{")) + "." + parts[1] + "." + parts[2],
		"exp as string":          mint(k, jwt.MapClaims{"iss": "priora.saltedge.com", "exp": "tomorrow"}),
		"signature wrong length": parts[0] + "." + parts[1] + "." + parts[2][:20],
	}
	for name, tok := range cases {
		t.Run(name, func(t *testing.T) {
			_, err := v.Verify(tok)
			require.Error(t, err)
			assert.ErrorIs(t, err, ErrInvalidJWT)
		})
	}
}

func TestJWTVerifierLeeway(t *testing.T) {
	k, _ := testKeys(t)
	now := time.Now()
	tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"exp": now.Add(-5 * time.Second).Unix()}).SignedString(k)
	require.NoError(t, err)
	v, err := NewJWTVerifier(&k.PublicKey) // 10 s default leeway
	require.NoError(t, err)
	_, err = v.Verify(tok)
	assert.NoError(t, err, "5 s of skew is within the default leeway")
	strict, err := NewJWTVerifier(&k.PublicKey, WithLeeway(0))
	require.NoError(t, err)
	_, err = strict.Verify(tok)
	assert.Error(t, err)
	_, err = NewJWTVerifier(&k.PublicKey, WithLeeway(time.Hour))
	assert.Error(t, err)
}

func TestMinterValidation(t *testing.T) {
	_, err := NewJWTMinter(nil)
	assert.Error(t, err)
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	require.NoError(t, err)
	_, err = NewJWTMinter(small)
	assert.ErrorContains(t, err, "2048")
	k, _ := testKeys(t)
	_, err = NewJWTMinter(k, WithTTL(-time.Second))
	assert.Error(t, err)
	m, err := NewJWTMinter(k)
	require.NoError(t, err)
	assert.NotContains(t, strings.ToLower(m.String()), k.D.String())
	_, err = NewJWTVerifier(nil)
	assert.Error(t, err)
	_, err = NewJWTVerifier(&k.PublicKey, WithIssuer(""))
	assert.Error(t, err)
}

func TestLoadKeys(t *testing.T) {
	k, _ := testKeys(t)
	pkcs1 := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(k)})
	p8, err := x509.MarshalPKCS8PrivateKey(k)
	require.NoError(t, err)
	pkcs8 := pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: p8})
	for name, data := range map[string][]byte{"pkcs1": pkcs1, "pkcs8": pkcs8} {
		got, err := LoadRSAPrivateKey(data)
		require.NoError(t, err, name)
		assert.True(t, got.Equal(k), name)
	}

	pkixDER, err := x509.MarshalPKIXPublicKey(&k.PublicKey)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "test"}, NotBefore: time.Now(), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &k.PublicKey, k)
	require.NoError(t, err)
	for name, data := range map[string][]byte{
		"pkix":        pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixDER}),
		"pkcs1":       pem.EncodeToMemory(&pem.Block{Type: "RSA PUBLIC KEY", Bytes: x509.MarshalPKCS1PublicKey(&k.PublicKey)}),
		"certificate": pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
	} {
		got, err := LoadRSAPublicKey(data)
		require.NoError(t, err, name)
		assert.True(t, got.Equal(&k.PublicKey), name)
	}

	for name, data := range map[string][]byte{
		"garbage":        []byte("-----BEGIN NOTHING-----\nzzz\n"),
		"empty":          nil,
		"wrong block":    pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE REQUEST", Bytes: []byte{1, 2}}),
		"corrupt pkcs1":  pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"corrupt pkcs8":  pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: []byte{1, 2, 3}}),
		"encrypted pk8":  pem.EncodeToMemory(&pem.Block{Type: "ENCRYPTED PRIVATE KEY", Bytes: []byte{1}}),
		"public as priv": pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: pkixDER}),
	} {
		_, err := LoadRSAPrivateKey(data)
		assert.Error(t, err, name)
	}
	_, err = LoadRSAPublicKey([]byte("garbage"))
	assert.ErrorContains(t, err, "no PEM block")
	_, err = LoadRSAPublicKey(pkcs1)
	assert.Error(t, err, "a private key is not a public key block")
	// Errors never echo key material.
	_, err = LoadRSAPrivateKey(pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: append([]byte("SECRETKEYBYTES"), 0)}))
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "SECRETKEYBYTES")
}

func TestHMACSHA256HexMatchesKnownVector(t *testing.T) {
	// RFC 4231 test case 2.
	assert.Equal(t, "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843",
		HMACSHA256Hex([]byte("Jefe"), "what do ya want for nothing?"))
	assert.True(t, EqualHMACHex("ab", "ab"))
	assert.False(t, EqualHMACHex("ab", "ac"))
}

func TestMemoryStore(t *testing.T) {
	ctx := context.Background()
	s := NewMemoryStore()
	_, err := s.Load(ctx, "k")
	assert.ErrorIs(t, err, ErrNotFound)
	r, err := s.CompareAndSwap(ctx, "k", 0, Token{Value: "a"})
	require.NoError(t, err)
	assert.Equal(t, int64(1), r.Version)
	_, err = s.CompareAndSwap(ctx, "k", 0, Token{Value: "b"})
	assert.ErrorIs(t, err, ErrVersionConflict)
	r, err = s.Save(ctx, "k", Token{Value: "c"})
	require.NoError(t, err)
	assert.Equal(t, int64(2), r.Version)
	got, err := s.Load(ctx, "k")
	require.NoError(t, err)
	assert.Equal(t, "c", got.Token.Value)

	release, ok, err := s.TryLease(ctx, "k", time.Minute)
	require.NoError(t, err)
	require.True(t, ok)
	_, ok, err = s.TryLease(ctx, "k", time.Minute)
	require.NoError(t, err)
	assert.False(t, ok, "held by someone else")
	require.NoError(t, release(ctx))
	release2, ok, err := s.TryLease(ctx, "k", time.Minute)
	require.NoError(t, err)
	assert.True(t, ok)
	require.NoError(t, release(ctx), "a stale release does not drop the new holder's lease")
	_, ok, _ = s.TryLease(ctx, "k", time.Minute)
	assert.False(t, ok)
	require.NoError(t, release2(ctx))
	_, _, err = s.TryLease(ctx, "k", 0)
	assert.Error(t, err)
}

func FuzzJWTVerify(f *testing.F) {
	k, _ := testKeys(f)
	v, err := NewJWTVerifier(&k.PublicKey)
	if err != nil {
		f.Fatal(err)
	}
	good, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"exp": time.Now().Add(time.Hour).Unix(), "data": map[string]any{"a": 1}}).SignedString(k)
	if err != nil {
		f.Fatal(err)
	}
	parts := strings.Split(good, ".")
	for _, s := range []string{
		good, "", ".", "..", "a.b.c", good + ".", parts[0] + "." + parts[1] + ".",
		b64(map[string]string{"alg": "none"}) + "." + parts[1] + ".",
		b64(map[string]string{"alg": "HS256"}) + "." + parts[1] + "." + parts[2],
		strings.Repeat(".", 1000), parts[0] + ".eyJleHAiOjF9." + parts[2],
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		claims, err := v.Verify(s)
		if err == nil {
			// Only a token signed with the key can verify: the fuzzer cannot forge one,
			// so any success must be the seed token itself.
			if s != good {
				sig, _ := base64.RawURLEncoding.DecodeString(strings.Split(s, ".")[2])
				signing := s[:strings.LastIndex(s, ".")]
				sum := sha256.Sum256([]byte(signing))
				if rsa.VerifyPKCS1v15(&k.PublicKey, crypto.SHA256, sum[:], sig) != nil {
					t.Fatalf("verified a token whose signature is invalid: %q", s)
				}
			}
			if claims == nil {
				t.Fatal("nil claims without error")
			}
		}
	})
}

func BenchmarkRS256Mint(b *testing.B) {
	k, _ := testKeys(b)
	m, err := NewJWTMinter(k)
	if err != nil {
		b.Fatal(err)
	}
	claims := map[string]any{"data": map[string]any{"token": "abc"}, "exp": int64(1900000000)}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := m.Mint(claims); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkRS256Raw signs the same signing input with crypto/rsa directly: the
// baseline for BenchmarkRS256Mint.
func BenchmarkRS256Raw(b *testing.B) {
	k, _ := testKeys(b)
	m, err := NewJWTMinter(k)
	if err != nil {
		b.Fatal(err)
	}
	tok, err := m.Mint(map[string]any{"data": map[string]any{"token": "abc"}, "exp": int64(1900000000)})
	if err != nil {
		b.Fatal(err)
	}
	input := []byte(tok[:strings.LastIndex(tok, ".")])
	b.ReportAllocs()
	for b.Loop() {
		sum := sha256.Sum256(input)
		if _, err := rsa.SignPKCS1v15(nil, k, crypto.SHA256, sum[:]); err != nil {
			b.Fatal(err)
		}
	}
}

func TestUnverifiedExpiry(t *testing.T) {
	enc := func(payload string) string {
		return "eyJhbGciOiJSUzI1NiJ9." + base64.RawURLEncoding.EncodeToString([]byte(payload)) + ".sig"
	}
	assert.Equal(t, time.Unix(1700000000, 0), UnverifiedExpiry(enc(`{"exp":1700000000}`)))
	assert.Equal(t, time.UnixMilli(1700000000500), UnverifiedExpiry(enc(`{"exp":1700000000.5}`)))
	assert.Equal(t, time.Unix(1700000100, 0), UnverifiedExpiry("a."+base64.URLEncoding.EncodeToString([]byte(`{"exp":1700000100}`))+".c"), "padded base64")
	for name, tok := range map[string]string{
		"opaque": "tk_abc", "two parts": "a.b", "four parts": "a.b.c.d", "bad base64": "a.!!!.c",
		"not json": enc("nope"), "no exp": enc(`{"sub":"x"}`), "exp string": enc(`{"exp":"1700000000"}`),
		"negative": enc(`{"exp":-1}`), "zero": enc(`{"exp":0}`), "absurd": enc(`{"exp":1e30}`),
		"too long": enc(`{"exp":1700000000,"pad":"` + strings.Repeat("x", 20000) + `"}`),
	} {
		assert.True(t, UnverifiedExpiry(tok).IsZero(), name)
	}
}

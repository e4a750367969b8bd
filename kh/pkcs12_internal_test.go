package kh

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"
)

// FuzzLoadPKCS12 feeds the PKCS#12 loader arbitrary bytes and passwords, with a small
// iteration bound so that mutated iteration counts stay cheap. Whatever it accepts is
// a usable client certificate: the leaf first, with the private key that matches it.
func FuzzLoadPKCS12(f *testing.F) {
	for _, seed := range []struct{ file, password string }{
		{"modern.p12", "test-pass"},
		{"legacy-3des.p12", "test-pass"},
		{"legacy-rc2.p12", "test-pass"},
		{"unencrypted.p12", "test-pass"},
		{"empty-password.p12", ""},
		{"rsa-aes128.p12", "pässwörd"},
		{"chain.p12", "test-pass"},
		{"nomac.p12", "test-pass"},
		{"nomac-empty-password.p12", ""},
		{"no-key.p12", "test-pass"},
		{"key-only.p12", "test-pass"},
		{"mac-sha384.p12", "test-pass"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "pkcs12", seed.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, seed.password)
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "")
	f.Add([]byte{0x30, 0x80}, "x")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		cert, err := loadPKCS12(data, password, 4096)
		if err != nil {
			require.Empty(t, cert.Certificate)
			return
		}
		require.NotNil(t, cert.Leaf)
		require.NotEmpty(t, cert.Certificate)
		require.Equal(t, cert.Leaf.Raw, cert.Certificate[0])
		signer, ok := cert.PrivateKey.(crypto.Signer)
		require.True(t, ok)
		pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
		require.True(t, ok)
		require.True(t, pub.Equal(cert.Leaf.PublicKey), "the key matches the leaf")
	})
}

// TestPKCS12IterationBound: a MAC whose key derivation asks for more iterations than
// the bound is refused before any derivation, both the classic PKCS#12 MAC and PBMAC1.
func TestPKCS12IterationBound(t *testing.T) {
	modern, err := os.ReadFile(filepath.Join("testdata", "pkcs12", "modern.p12"))
	require.NoError(t, err)
	_, err = loadPKCS12(modern, "test-pass", 2048)
	require.NoError(t, err, "OpenSSL's 2048 iterations are within a bound of 2048")
	_, err = loadPKCS12(modern, "test-pass", 2047)
	require.ErrorIs(t, err, ErrPKCS12Unsupported)
	assert.EqualError(t, err, "MAC iteration count 2048 is outside 1..2047: unsupported PKCS#12 file")

	// modern.p12 with its MAC iteration count rewritten: the MAC no longer matches,
	// but the bound refuses the file before deriving a key (which would take minutes).
	var pfx pfxMAC
	_, err = asn1.Unmarshal(modern, &pfx)
	require.NoError(t, err)
	for _, n := range []int{1 << 30, 0, -1} {
		pfx.MacData.Iterations = n
		huge, err := asn1.Marshal(pfx)
		require.NoError(t, err)
		_, err = LoadPKCS12(huge, "test-pass")
		require.ErrorIs(t, err, ErrPKCS12Unsupported, "iterations %d", n)
		assert.Contains(t, err.Error(), fmt.Sprintf("MAC iteration count %d is outside 1..2000000", n))
	}

	// PBMAC1 (RFC 9579) keeps its iteration count in the MAC algorithm's parameters.
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "pbmac1 TPP"},
		NotBefore: time.Unix(0, 0), NotAfter: time.Unix(0, 0).Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	require.NoError(t, err)
	leaf, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	p12, err := pkcs12.Modern2026.WithIterations(3000).Encode(key, leaf, nil, "test-pass")
	require.NoError(t, err)
	got, err := loadPKCS12(p12, "test-pass", 3000)
	require.NoError(t, err)
	assert.Equal(t, der, got.Certificate[0])
	assert.True(t, key.Equal(got.PrivateKey))
	_, err = loadPKCS12(p12, "wrong-pass", 3000)
	require.ErrorIs(t, err, ErrPKCS12Password)
	_, err = loadPKCS12(p12, "test-pass", 2999)
	require.ErrorIs(t, err, ErrPKCS12Unsupported)
	assert.EqualError(t, err, "MAC iteration count 3000 is outside 1..2999: unsupported PKCS#12 file")
}

func FuzzJWTExpiry(f *testing.F) {
	f.Add("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2ln")
	f.Add("a.b.c")
	f.Add("..")
	f.Add("x.eyJleHAiOiIxNzAwMDAwMDAwIn0.y")
	f.Fuzz(func(t *testing.T, tok string) {
		_ = jwtExpiry(tok)
	})
}

func TestJWTExpiry(t *testing.T) {
	if got := jwtExpiry("eyJ0eXAiOiJKV1QiLCJhbGciOiJIUzI1NiJ9.eyJleHAiOjE3MDAwMDAwMDB9.c2ln"); !got.Equal(time.Unix(1700000000, 0)) {
		t.Fatalf("exp: %v", got)
	}
	for _, tok := range []string{"a.b.c", "x.eyJleHAiOiJzb29uIn0.y", "x.eyJleHAiOi0xfQ.y", "x.e30.y"} {
		if !jwtExpiry(tok).IsZero() {
			t.Fatalf("%s: want zero", tok)
		}
	}
}

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
	mathrand "math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"
)

// FuzzLoadPKCS12 feeds the PKCS#12 loader arbitrary bytes and passwords. Whatever it
// accepts is a usable client certificate: the leaf first, with the private key that
// matches it. Inputs are kept cheap, since the fuzzer minimises each new input by
// running it thousands of times: the iteration bound is low (fuzzMaxIter), so the
// OpenSSL fixtures, at 2048 iterations, stop at it, and the seeds are the smaller
// fixtures plus the same certificate encoded by go-pkcs12 with one iteration, which
// carries the fuzzer through the whole decoder.
func FuzzLoadPKCS12(f *testing.F) {
	const fuzzMaxIter = 16
	for _, seed := range []struct{ file, password string }{
		{"modern.p12", "test-pass"},
		{"legacy-rc2.p12", "test-pass"},
		{"nomac-empty-password.p12", ""},
		{"mac-sha384.p12", "test-pass"},
	} {
		b, err := os.ReadFile(filepath.Join("testdata", "pkcs12", seed.file))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, seed.password)
	}
	leaf, err := LoadClientCertificatePEM(mustRead(f, "leaf-ec.crt"), mustRead(f, "leaf-ec.key"))
	if err != nil {
		f.Fatal(err)
	}
	for _, enc := range []*pkcs12.Encoder{pkcs12.Modern2023, pkcs12.Modern2026, pkcs12.LegacyRC2, pkcs12.LegacyDES} {
		// A fixed random source keeps the seeds the same from run to run.
		p12, err := enc.WithIterations(1).WithRand(mathrand.NewChaCha8([32]byte{})).
			Encode(leaf.PrivateKey, leaf.Leaf, nil, "test-pass")
		if err != nil {
			f.Fatal(err)
		}
		if _, err := loadPKCS12(p12, "test-pass", fuzzMaxIter); err != nil {
			f.Fatalf("a one-iteration seed does not load: %v", err)
		}
		f.Add(p12, "test-pass")
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "")
	f.Add([]byte{0x30, 0x80}, "x")
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n"), "")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		cert, err := loadPKCS12(data, password, fuzzMaxIter)
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

func mustRead(tb testing.TB, name string) []byte {
	tb.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pkcs12", name))
	if err != nil {
		tb.Fatal(err)
	}
	return b
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

package kh

import (
	"os"
	"path/filepath"
	"testing"
	"time"
)

// FuzzDecodePKCS12 feeds the PKCS#12 decoder arbitrary bytes, with a small iteration
// cap so that mutated iteration counts stay cheap.
func FuzzDecodePKCS12(f *testing.F) {
	for _, name := range []string{"modern.p12", "legacy-3des.p12", "unencrypted.p12", "legacy-rc2.p12", "empty-password.p12"} {
		b, err := os.ReadFile(filepath.Join("testdata", "pkcs12", name))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b, "test-pass")
	}
	f.Add([]byte{0x30, 0x03, 0x02, 0x01, 0x03}, "")
	f.Add([]byte{0x30, 0x80}, "x")
	f.Fuzz(func(t *testing.T, data []byte, password string) {
		key, _, err := decodePKCS12(data, password, 4096)
		if err == nil && key == nil {
			return // certificates only: LoadPKCS12 reports it
		}
	})
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

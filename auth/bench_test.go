package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"encoding/json"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"

	"github.com/banksdk/banksdk/auth"
)

// The benchmarks pair the SDK's credential paths with their baselines in the same
// run: a per-request KeepAlive lease against the cached token of auth.Cache, and
// JWTMinter's RS256 (Mint from a map, MintJSON from encoded claims) against
// golang-jwt's SignedString on the same claims.
//
//	go test -run '^$' -bench . -count 10 ./auth/ | tee auth.txt && benchstat auth.txt

// newBenchKeepAlive returns a KeepAlive holding "tok-0" that no refresh replaces
// during a benchmark, closed when b ends.
func newBenchKeepAlive(b *testing.B) *auth.KeepAlive {
	b.Helper()
	k, err := auth.NewKeepAlive(auth.KeepAliveConfig{
		Initial:  auth.Token{Value: "tok-0"},
		Refresh:  func(context.Context, auth.Token) (auth.Token, error) { return auth.Token{}, nil },
		Interval: time.Hour, RevokeAfter: 2 * time.Hour,
	})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = k.Close() })
	return k
}

// newBenchCache returns a Cache that already holds "tok-0", valid for an hour.
func newBenchCache(b *testing.B) *auth.Cache {
	b.Helper()
	c := auth.NewCache(auth.SourceFunc(func(context.Context) (auth.Token, error) {
		return auth.Token{Value: "tok-0", Expiry: time.Now().Add(time.Hour)}, nil
	}))
	if _, err := c.Token(context.Background()); err != nil {
		b.Fatal(err)
	}
	return c
}

// BenchmarkKeepAliveAcquireRelease is the lease every tkey7 request takes: Acquire
// and release of the current token while no refresh is under way.
func BenchmarkKeepAliveAcquireRelease(b *testing.B) {
	k := newBenchKeepAlive(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tok, release, err := k.Acquire(ctx)
		if err != nil || tok.Value != "tok-0" {
			b.Fatal(tok.Value, err)
		}
		release()
	}
}

// BenchmarkKeepAliveAcquireReleaseParallel is the same lease taken by concurrent
// requests (one shared counter, no mutex).
func BenchmarkKeepAliveAcquireReleaseParallel(b *testing.B) {
	k := newBenchKeepAlive(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok, release, err := k.Acquire(ctx)
			if err != nil || tok.Value != "tok-0" {
				b.Error(tok.Value, err)
				return
			}
			release()
		}
	})
}

// BenchmarkCacheToken is the baseline: a cached token with an expiry (so every call
// reads the clock to never serve an expired token).
func BenchmarkCacheToken(b *testing.B) {
	c := newBenchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		tok, err := c.Token(ctx)
		if err != nil || tok.Value != "tok-0" {
			b.Fatal(tok.Value, err)
		}
	}
}

// BenchmarkCacheTokenParallel is the baseline of the parallel lease.
func BenchmarkCacheTokenParallel(b *testing.B) {
	c := newBenchCache(b)
	ctx := context.Background()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			tok, err := c.Token(ctx)
			if err != nil || tok.Value != "tok-0" {
				b.Error(tok.Value, err)
				return
			}
		}
	})
}

func benchClaims(now time.Time) map[string]any {
	return map[string]any{
		"iss": "app-1234",
		"sub": "user-42",
		"aud": "https://bank.example/token",
		"iat": now.Unix(),
		"exp": now.Add(5 * time.Minute).Unix(),
		"jti": "3f2c1d9e-7a4b-4c1e-9d2f-0b8e6a5c4d3e",
	}
}

func benchKey(b *testing.B) *rsa.PrivateKey {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		b.Fatal(err)
	}
	return key
}

// BenchmarkMintRS256 mints an RS256 JWT with auth.JWTMinter (2048-bit key).
func BenchmarkMintRS256(b *testing.B) {
	key := benchKey(b)
	m, err := auth.NewJWTMinter(key, auth.WithKeyID("key-1"))
	if err != nil {
		b.Fatal(err)
	}
	claims := benchClaims(time.Now())
	b.ReportAllocs()
	for b.Loop() {
		s, err := m.Mint(claims)
		if err != nil || s == "" {
			b.Fatal(err)
		}
	}
}

// BenchmarkMintRS256JSON mints the same token with auth.JWTMinter's MintJSON from
// claims the caller encoded once, as a caller with a fixed claims shape does.
func BenchmarkMintRS256JSON(b *testing.B) {
	key := benchKey(b)
	m, err := auth.NewJWTMinter(key, auth.WithKeyID("key-1"))
	if err != nil {
		b.Fatal(err)
	}
	claims, err := json.Marshal(benchClaims(time.Now()))
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		s, err := m.MintJSON(claims)
		if err != nil || s == "" {
			b.Fatal(err)
		}
	}
}

// BenchmarkMintRS256GolangJWT is the baseline: golang-jwt's SignedString with RS256
// on the same claims, key and kid.
func BenchmarkMintRS256GolangJWT(b *testing.B) {
	key := benchKey(b)
	claims := jwt.MapClaims(benchClaims(time.Now()))
	b.ReportAllocs()
	for b.Loop() {
		t := jwt.NewWithClaims(jwt.SigningMethodRS256, claims)
		t.Header["kid"] = "key-1"
		s, err := t.SignedString(key)
		if err != nil || s == "" {
			b.Fatal(err)
		}
	}
}

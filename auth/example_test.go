package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"github.com/banksdk/banksdk/auth"
)

// A Cache in front of a login: the first call logs in, later calls reuse the token
// until shortly before it expires, and concurrent callers share one login.
func ExampleNewCache() {
	logins := 0
	login := auth.SourceFunc(func(ctx context.Context) (auth.Token, error) {
		logins++
		return auth.Token{Value: "token-from-login", Expiry: time.Now().Add(30 * time.Minute)}, nil
	})
	cache := auth.NewCache(login, auth.WithRefreshWindow(2*time.Minute))
	for range 3 {
		if _, err := cache.Token(context.Background()); err != nil {
			fmt.Println(err)
			return
		}
	}
	tok, _ := cache.Token(context.Background())
	fmt.Println("logins:", logins)
	fmt.Printf("token prints as: %v\n", auth.Token{Value: tok.Value})
	// Output:
	// logins: 1
	// token prints as: Token([REDACTED])
}

// A token is served until its Expiry and never after: with no refresh window, the
// first call at the expiry waits for a new login. A fake clock (WithClock) stands in
// for time here.
func ExampleCache_Token() {
	var now atomic.Int64 // Unix seconds
	now.Store(time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC).Unix())
	clock := func() time.Time { return time.Unix(now.Load(), 0).UTC() }
	logins := 0
	login := auth.SourceFunc(func(ctx context.Context) (auth.Token, error) {
		logins++
		return auth.Token{Value: fmt.Sprintf("token-%d", logins), Expiry: clock().Add(30 * time.Minute)}, nil
	})
	cache := auth.NewCache(login, auth.WithClock(clock), auth.WithRefreshWindow(0))
	for _, at := range []string{"12:00:00", "12:29:59", "12:30:00"} {
		t, _ := time.Parse(time.DateTime, "2026-01-01 "+at)
		now.Store(t.Unix())
		tok, err := cache.Token(context.Background())
		if err != nil {
			fmt.Println(err)
			return
		}
		fmt.Printf("at %s: login %d, expires %s\n", at, logins, tok.Expiry.Format(time.TimeOnly))
	}
	// Output:
	// at 12:00:00: login 1, expires 12:30:00
	// at 12:29:59: login 1, expires 12:30:00
	// at 12:30:00: login 2, expires 13:00:00
}

// A failing login is not retried on every call: during the backoff, callers get the
// last error at once, wrapped in ErrRefreshBackoff, and errors.Is and errors.As still
// reach the login's own error.
func ExampleCache_Token_backoff() {
	errDown := errors.New("login: 503 Service Unavailable")
	logins := 0
	login := auth.SourceFunc(func(ctx context.Context) (auth.Token, error) {
		logins++
		return auth.Token{}, errDown
	})
	cache := auth.NewCache(login, auth.WithFailureBackoff(time.Minute, 10*time.Minute))
	_, err := cache.Token(context.Background())
	fmt.Println(err)
	for range 100 {
		_, err = cache.Token(context.Background())
	}
	fmt.Println(err)
	fmt.Println(errors.Is(err, auth.ErrRefreshBackoff), errors.Is(err, errDown))
	fmt.Println("logins:", logins)
	// Output:
	// login: 503 Service Unavailable
	// auth: token refresh backing off after a failure (1 in a row): login: 503 Service Unavailable
	// true true
	// logins: 1
}

// TPV's login signature: the hex HMAC-SHA256 of "token=...&timestamp=..." under the
// application secret.
func ExampleHMACSHA256Hex() {
	fmt.Println(auth.HMACSHA256Hex([]byte("Jefe"), "what do ya want for nothing?"))
	// Output: 5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843
}

// Minting an RS256 JWT and verifying it with the public half; the verifier pins
// RS256 and requires exp.
func ExampleJWTVerifier() {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		fmt.Println(err)
		return
	}
	minter, _ := auth.NewJWTMinter(key, auth.WithTTL(time.Minute))
	jwt, _ := minter.Mint(map[string]any{"data": map[string]any{"session_secret": "abc"}})

	verifier, _ := auth.NewJWTVerifier(&key.PublicKey)
	claims, err := verifier.Verify(jwt)
	fmt.Println(claims["data"], err)
	_, err = verifier.Verify(jwt + "x") // tampered signature
	fmt.Println(err != nil)
	// Output:
	// map[session_secret:abc] <nil>
	// true
}

// A Secret prints as [REDACTED] wherever it ends up.
func ExampleSecret() {
	type config struct {
		AppID     string
		AppSecret auth.Secret
	}
	c := config{AppID: "app-1", AppSecret: auth.NewSecret("s3cr3t")}
	fmt.Printf("%v\n%+v\n", c, c)
	fmt.Println(len(c.AppSecret.Reveal()))
	// Output:
	// {app-1 [REDACTED]}
	// {AppID:app-1 AppSecret:[REDACTED]}
	// 6
}

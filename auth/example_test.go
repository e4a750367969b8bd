package auth_test

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"fmt"
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

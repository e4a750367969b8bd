package auth_test

import (
	"context"
	"crypto"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"fmt"
	"io"
	"time"

	"github.com/banksdk/banksdk/auth"
)

// kmsKey stands for an RSA key whose private half stays in a KMS or an HSM: Sign
// would call the KMS's sign operation with the SHA-256 digest.
type kmsKey struct{ k *rsa.PrivateKey }

func (s kmsKey) Public() crypto.PublicKey { return &s.k.PublicKey }
func (s kmsKey) Sign(r io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return rsa.SignPKCS1v15(r, s.k, opts.HashFunc(), digest) // a KMS call in production
}

// A JWT minter over a crypto.Signer: the key never has to be in process memory.
func ExampleNewJWTMinter_cryptoSigner() {
	inHSM, _ := rsa.GenerateKey(rand.Reader, 2048) // stands for the HSM's key
	minter, err := auth.NewJWTMinter(kmsKey{inHSM}, auth.WithTTL(time.Minute), auth.WithKeyID("2026-11"))
	if err != nil {
		fmt.Println(err)
		return
	}
	tok, err := minter.Mint(map[string]any{"data": map[string]any{"session_secret": "s3"}})
	if err != nil {
		fmt.Println(err)
		return
	}
	v, _ := auth.NewJWTVerifier(minter.Public())
	claims, err := v.Verify(tok)
	fmt.Println(err, claims["data"])
	// Output: <nil> map[session_secret:s3]
}

// A verifier that follows the issuer's key rotation: the old and the new key are
// both accepted while the issuer rolls over.
func ExampleNewJWTVerifierKeySet() {
	oldKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	newKey, _ := rsa.GenerateKey(rand.Reader, 2048)
	keys := auth.StaticKeySet(&oldKey.PublicKey, &newKey.PublicKey)
	v, err := auth.NewJWTVerifierKeySet(keys, auth.WithMaxLifetime(5*time.Minute))
	if err != nil {
		fmt.Println(err)
		return
	}
	for _, k := range []*rsa.PrivateKey{oldKey, newKey} {
		m, _ := auth.NewJWTMinter(k, auth.WithTTL(time.Minute))
		tok, _ := m.Mint(map[string]any{"iss": "priora.saltedge.com"})
		_, err := v.Verify(tok)
		fmt.Println(err)
	}
	// Output:
	// <nil>
	// <nil>
}

// An HMAC signer whose key lives in a KMS or a Vault transit engine: the SDK hands it
// the message and gets the MAC back.
func ExampleHMACSigner() {
	transit := auth.HMACSignerFunc(func(ctx context.Context, message []byte) ([]byte, error) {
		// In production: POST /v1/transit/hmac/<key> to Vault, or the KMS's
		// GenerateMac, and decode the answer.
		local, _ := auth.NewHMACSHA256(auth.NewSecret("held-by-the-kms"))
		return local.SignHMAC(ctx, message)
	})
	mac, err := transit.SignHMAC(context.Background(), []byte("token=app&timestamp=1700000000"))
	fmt.Println(err, len(hex.EncodeToString(mac)))
	// Output: <nil> 64
}

// A keyed source renews one credential per key; a KeyedCache in front of it caches
// and coalesces renewals per key (K&H's consent tokens are renewed this way).
func ExampleKeyedSource() {
	renewer := auth.KeyedSourceFunc(func(ctx context.Context, consentID string) (auth.Token, error) {
		return auth.Token{Value: "token-of-" + consentID, Expiry: time.Now().Add(time.Hour)}, nil
	})
	consents := auth.NewKeyedCache(renewer)
	tok, err := consents.Token(context.Background(), "consent-1")
	fmt.Println(err, tok.Value == "token-of-consent-1")
	// Output: <nil> true
}

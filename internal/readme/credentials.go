package main

import (
	"context"
	"crypto"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"sync/atomic"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/saltedge"
	"github.com/banksdk/banksdk/saltedge/saltedgetest"
	"github.com/banksdk/banksdk/tpv"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

// kmsClient stands for a cloud KMS or an HSM's API: the private key and the HMAC key
// stay inside it.
type kmsClient struct {
	rsaKey  *rsa.PrivateKey
	hmacKey string
	calls   atomic.Int32
}

func (k *kmsClient) SignDigest(_ context.Context, keyName string, digest []byte) ([]byte, error) {
	k.calls.Add(1)
	return rsa.SignPKCS1v15(nil, k.rsaKey, crypto.SHA256, digest)
}

func (k *kmsClient) PublicKey(keyName string) *rsa.PublicKey { return &k.rsaKey.PublicKey }

func (k *kmsClient) MAC(_ context.Context, keyName string, message []byte) ([]byte, error) {
	k.calls.Add(1)
	h, _ := auth.NewHMACSHA256(auth.NewSecret(k.hmacKey))
	return h.SignHMAC(context.Background(), message)
}

// readme:begin credentials-signer
// kmsSigner is a crypto.Signer whose private key never leaves the KMS.
type kmsSigner struct {
	kms *kmsClient // your KMS or HSM client
	key string
}

func (s kmsSigner) Public() crypto.PublicKey { return s.kms.PublicKey(s.key) }

func (s kmsSigner) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 {
		return nil, errors.New("kms: RS256 only")
	}
	return s.kms.SignDigest(context.Background(), s.key, digest)
}

// readme:end credentials-signer

func runCredentials(ctx context.Context) error {
	se := saltedgetest.NewServer()
	defer se.Close()
	portal := tpvtest.NewServer()
	defer portal.Close()
	kms := &kmsClient{rsaKey: se.PrivateKey(), hmacKey: portal.AppSecret()}
	appToken := auth.StaticSource(auth.Token{Value: portal.AppToken()}) // a secret manager in production

	// readme:begin credentials
	// Salt Edge callbacks (and OBP DAuth, K&H mTLS) sign with a key held in a KMS or HSM.
	callbacks, err := saltedge.NewClient(saltedge.WithBaseURL(se.URL()), saltedge.WithAppID(se.AppID()),
		saltedge.WithAppSecret(se.AppSecret()), saltedge.WithPrivateKey(kmsSigner{kms: kms, key: "priora-rsa"}))
	if err != nil {
		return err
	}
	defer callbacks.Close()

	// TPV's login and request signatures come from an HMAC key the SDK never sees.
	mac := auth.HMACSignerFunc(func(ctx context.Context, msg []byte) ([]byte, error) {
		return kms.MAC(ctx, "tpv-app-secret", msg)
	})
	c, err := tpv.NewClient(tpv.WithBaseURL(portal.URL()), tpv.WithAppTokenSource(appToken), tpv.WithHMACSigner(mac))
	if err != nil {
		return err
	}
	defer c.Close()
	// readme:end credentials

	if _, err := callbacks.Clients.Info(ctx, saltedgetest.DefaultClientID); err != nil {
		return fmt.Errorf("saltedge callback signed by the KMS: %w", err)
	}
	if _, err := c.SubmitTPV(ctx, sale()); err != nil {
		return fmt.Errorf("tpv signed by the KMS: %w", err)
	}
	if kms.calls.Load() < 3 {
		return fmt.Errorf("the KMS signed %d times", kms.calls.Load())
	}
	return nil
}

package auth

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
)

// HMACSigner computes an HMAC over a message under a key the caller may never see: an
// in-memory secret (NewHMACSHA256), or a key held by a KMS or a Vault transit engine
// behind an implementation of this interface. Sign returns the raw MAC bytes; the
// caller encodes them as its protocol requires (TPV: lowercase hex). Implementations
// must be safe for concurrent use and must not put the key in their errors.
type HMACSigner interface {
	SignHMAC(ctx context.Context, message []byte) ([]byte, error)
}

// HMACSignerFunc adapts a function to HMACSigner.
type HMACSignerFunc func(ctx context.Context, message []byte) ([]byte, error)

// SignHMAC calls f.
func (f HMACSignerFunc) SignHMAC(ctx context.Context, message []byte) ([]byte, error) {
	return f(ctx, message)
}

// HMACSHA256 is the in-memory HMACSigner: HMAC-SHA256 under a secret held in process.
// It prints as [REDACTED] under fmt, json.Marshal and slog.
type HMACSHA256 struct {
	key Secret
}

// NewHMACSHA256 returns an HMAC-SHA256 signer keyed by secret, which must not be
// empty.
func NewHMACSHA256(secret Secret) (*HMACSHA256, error) {
	if secret.IsZero() {
		return nil, errors.New("auth: HMAC key: must not be empty")
	}
	return &HMACSHA256{key: secret}, nil
}

// SignHMAC implements HMACSigner.
func (h *HMACSHA256) SignHMAC(_ context.Context, message []byte) ([]byte, error) {
	m := hmac.New(sha256.New, []byte(h.key.Reveal()))
	m.Write(message)
	return m.Sum(nil), nil
}

// String does not reveal the key.
func (h *HMACSHA256) String() string { return "auth.HMACSHA256{key: " + redacted + "}" }

// GoString does not reveal the key.
func (h *HMACSHA256) GoString() string { return h.String() }

// Format does not reveal the key under any verb.
func (h *HMACSHA256) Format(f fmt.State, _ rune) { _, _ = f.Write([]byte(h.String())) }

// LogValue does not reveal the key.
func (h *HMACSHA256) LogValue() slog.Value { return slog.StringValue(h.String()) }

// MarshalJSON does not reveal the key.
func (h *HMACSHA256) MarshalJSON() ([]byte, error) { return []byte(`"` + redacted + `"`), nil }

// SignHMACHex signs message with s and returns the MAC in lowercase hex.
func SignHMACHex(ctx context.Context, s HMACSigner, message string) (string, error) {
	mac, err := s.SignHMAC(ctx, []byte(message))
	if err != nil {
		return "", fmt.Errorf("auth: HMAC signer: %w", err)
	}
	if len(mac) == 0 {
		return "", errors.New("auth: HMAC signer returned an empty MAC")
	}
	return hex.EncodeToString(mac), nil
}

// HMACSHA256Hex returns the lowercase hex HMAC-SHA256 of message keyed by secret (PHP's
// hash_hmac('sha256', message, secret)).
func HMACSHA256Hex(secret []byte, message string) string {
	m := hmac.New(sha256.New, secret)
	m.Write([]byte(message))
	return hex.EncodeToString(m.Sum(nil))
}

// EqualHMACHex compares two hex signatures in constant time.
func EqualHMACHex(a, b string) bool {
	return hmac.Equal([]byte(a), []byte(b))
}

var _ HMACSigner = (*HMACSHA256)(nil)

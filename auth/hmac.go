package auth

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
)

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

package saltedge

import (
	"context"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A TPP that rotated its key: a signature failure with a key older than a minute
// fetches the key again, once; a failed fetch is not cached; the TTL expires keys.
func TestClientJWTVerifierKeyRotation(t *testing.T) {
	oldKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	newKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)

	var mu sync.Mutex
	current := oldKey
	var fetches atomic.Int32
	fail := false
	now := time.Now()
	v := &ClientJWTVerifier{
		fetch: func(context.Context, int64) (*rsa.PublicKey, error) {
			fetches.Add(1)
			mu.Lock()
			defer mu.Unlock()
			if fail {
				return nil, errors.New("salt edge down")
			}
			return &current.PublicKey, nil
		},
		ttl: time.Hour, leeway: time.Second, entries: map[int64]*keyEntry{},
		now: func() time.Time { mu.Lock(); defer mu.Unlock(); return now },
	}
	signWith := func(k *rsa.PrivateKey) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims{"data": map[string]any{"a": 1},
			"exp": time.Now().Add(time.Minute).Unix()}).SignedString(k)
		require.NoError(t, err)
		return "Bearer " + tok
	}
	ctx := context.Background()

	data, err := v.Verify(ctx, 1, signWith(oldKey))
	require.NoError(t, err)
	assert.JSONEq(t, `{"a":1}`, string(data))
	assert.EqualValues(t, 1, fetches.Load())

	// Rotated, but the cached key is fresh: no refetch, the token fails.
	mu.Lock()
	current = newKey
	mu.Unlock()
	_, err = v.Verify(ctx, 1, signWith(newKey))
	assert.ErrorIs(t, err, ErrInvalidClientJWT)
	assert.EqualValues(t, 1, fetches.Load())

	// Two minutes later the failure triggers one refetch, which succeeds.
	mu.Lock()
	now = now.Add(2 * time.Minute)
	mu.Unlock()
	_, err = v.Verify(ctx, 1, signWith(newKey))
	require.NoError(t, err)
	assert.EqualValues(t, 2, fetches.Load())

	// After the TTL the key is fetched again; a failed fetch is returned and not cached.
	mu.Lock()
	now = now.Add(2 * time.Hour)
	fail = true
	mu.Unlock()
	_, err = v.Verify(ctx, 1, signWith(newKey))
	assert.ErrorContains(t, err, "salt edge down")
	mu.Lock()
	fail = false
	mu.Unlock()
	_, err = v.Verify(ctx, 1, signWith(newKey))
	require.NoError(t, err)
	assert.EqualValues(t, 4, fetches.Load())

	v.Forget(1)
	_, err = v.Verify(ctx, 1, signWith(newKey))
	require.NoError(t, err)
	assert.EqualValues(t, 5, fetches.Load())

	// A waiter's own context bounds its wait.
	cctx, cancel := context.WithCancel(ctx)
	cancel()
	v.Forget(1)
	_, err = v.Verify(cctx, 1, signWith(newKey))
	assert.ErrorIs(t, err, context.Canceled)
}

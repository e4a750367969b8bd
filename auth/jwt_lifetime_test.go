package auth

import (
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// A future iat and an exp beyond the maximum lifetime are refused; the leeway applies
// to both.
func TestJWTVerifierIssuedAtAndMaxLifetime(t *testing.T) {
	k, _ := testKeys(t)
	now := time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)
	clock := func() time.Time { return now }
	sign := func(c jwt.MapClaims) string {
		tok, err := jwt.NewWithClaims(jwt.SigningMethodRS256, c).SignedString(k)
		require.NoError(t, err)
		return tok
	}
	v, err := NewJWTVerifier(&k.PublicKey, WithVerifierClock(clock), WithLeeway(10*time.Second),
		WithMaxLifetime(5*time.Minute))
	require.NoError(t, err)

	for _, tc := range []struct {
		name     string
		claims   jwt.MapClaims
		want     error // nil: accepted
		wantAlso error
	}{
		{"exp now+60s, no iat", jwt.MapClaims{"exp": now.Add(time.Minute).Unix()}, nil, nil},
		{"exp at the lifetime plus leeway", jwt.MapClaims{"exp": now.Add(5*time.Minute + 10*time.Second).Unix()}, nil, nil},
		{"iat within the leeway", jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Add(9 * time.Second).Unix()}, nil, nil},
		{"exp one second too far", jwt.MapClaims{"exp": now.Add(5*time.Minute + 11*time.Second).Unix()}, ErrJWTLifetime, ErrInvalidJWT},
		{"exp in the year 2200", jwt.MapClaims{"exp": time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}, ErrJWTLifetime, ErrInvalidJWT},
		{"iat in the future", jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Add(time.Minute).Unix()}, jwt.ErrTokenUsedBeforeIssued, ErrInvalidJWT},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := v.Verify(sign(tc.claims))
			if tc.want == nil {
				assert.NoError(t, err)
				return
			}
			assert.ErrorIs(t, err, tc.want)
			assert.ErrorIs(t, err, tc.wantAlso)
		})
	}

	// Without WithMaxLifetime a far exp is accepted (the option is opt-in), but a
	// future iat is refused all the same.
	open, err := NewJWTVerifier(&k.PublicKey, WithVerifierClock(clock))
	require.NoError(t, err)
	_, err = open.Verify(sign(jwt.MapClaims{"exp": time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC).Unix()}))
	assert.NoError(t, err)
	_, err = open.Verify(sign(jwt.MapClaims{"exp": now.Add(time.Minute).Unix(), "iat": now.Add(time.Hour).Unix()}))
	assert.ErrorIs(t, err, jwt.ErrTokenUsedBeforeIssued)

	for _, d := range []time.Duration{0, -time.Second} {
		_, err := NewJWTVerifier(&k.PublicKey, WithMaxLifetime(d))
		assert.Error(t, err, "max lifetime %v", d)
	}
}

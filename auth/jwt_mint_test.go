package auth

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/golang-jwt/jwt/v5"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// payloadOf returns the decoded claims segment of a compact JWS.
func payloadOf(t *testing.T, tok string) string {
	t.Helper()
	parts := strings.Split(tok, ".")
	require.Len(t, parts, 3)
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	return string(raw)
}

// The minter's tokens are golang-jwt's, byte for byte, for the same header and
// claims: PKCS#1 v1.5 signatures are deterministic.
func TestJWTMintIsGolangJWTsToken(t *testing.T) {
	k, _ := testKeys(t)
	claims := map[string]any{"data": map[string]any{"token": "abc", "n": 3}, "exp": int64(1900000000),
		"iss": "priora.saltedge.com", "html": "<&>"}
	for _, kid := range []string{"", "kid-1", `k"<i>d`} {
		m, err := NewJWTMinter(k, WithKeyID(kid), WithTTL(time.Minute))
		require.NoError(t, err)
		gt := jwt.NewWithClaims(jwt.SigningMethodRS256, jwt.MapClaims(claims))
		if kid != "" {
			gt.Header["kid"] = kid
		}
		want, err := gt.SignedString(k)
		require.NoError(t, err)

		got, err := m.Mint(claims)
		require.NoError(t, err)
		assert.Equal(t, want, got, "Mint, kid %q", kid)

		raw, err := json.Marshal(claims)
		require.NoError(t, err)
		got, err = m.MintJSON(raw)
		require.NoError(t, err)
		assert.Equal(t, want, got, "MintJSON, kid %q", kid)
	}
}

// Mint appends exp to the encoded claims when they have none: the token carries
// every claim and exp = now + TTL by the minter's clock; a nil or empty map is signed
// as {"exp": ...}, or as {} without a TTL.
func TestJWTMintAppendsExp(t *testing.T) {
	k, _ := testKeys(t)
	now := time.Unix(1_800_000_000, 0)
	m, err := NewJWTMinter(k, WithTTL(90*time.Second), WithMinterClock(func() time.Time { return now }))
	require.NoError(t, err)
	for name, tc := range map[string]struct {
		claims map[string]any
		want   string
	}{
		"nil":         {nil, `{"exp":1800000090}`},
		"empty":       {map[string]any{}, `{"exp":1800000090}`},
		"one claim":   {map[string]any{"data": json.RawMessage(`{"a":[1,2]}`)}, `{"data":{"a":[1,2]},"exp":1800000090}`},
		"own exp":     {map[string]any{"exp": 5, "z": "y"}, `{"exp":5,"z":"y"}`},
		"exp is null": {map[string]any{"exp": nil}, `{"exp":null}`},
	} {
		tok, err := m.Mint(tc.claims)
		require.NoError(t, err, name)
		assert.Equal(t, tc.want, payloadOf(t, tok), name)
	}

	noTTL, err := NewJWTMinter(k)
	require.NoError(t, err)
	tok, err := noTTL.Mint(nil)
	require.NoError(t, err)
	assert.Equal(t, `{}`, payloadOf(t, tok))
}

// MintJSON signs the claims as given, with nothing added, and the verifier accepts
// the token; Expiry is the exp a caller adds (zero without a TTL).
func TestJWTMintJSON(t *testing.T) {
	k, _ := testKeys(t)
	now := time.Now()
	m, err := NewJWTMinter(k, WithTTL(time.Minute), WithKeyID("kid-2"), WithMinterClock(func() time.Time { return now }))
	require.NoError(t, err)
	assert.Equal(t, now.Add(time.Minute), m.Expiry())

	claims := []byte(` {"data":{"token":"abc"},"exp":` + jsonInt(m.Expiry().Unix()) + `} `)
	tok, err := m.MintJSON(claims)
	require.NoError(t, err)
	assert.Equal(t, string(claims), payloadOf(t, tok), "signed as given")
	v, err := NewJWTVerifier(&k.PublicKey)
	require.NoError(t, err)
	got, err := v.Verify(tok)
	require.NoError(t, err)
	assert.Equal(t, map[string]any{"token": "abc"}, got["data"])
	assert.EqualValues(t, now.Add(time.Minute).Unix(), got["exp"])

	tok, err = m.MintJSON([]byte(`{"data":1}`))
	require.NoError(t, err)
	assert.Equal(t, `{"data":1}`, payloadOf(t, tok), "the TTL is not applied")

	noTTL, err := NewJWTMinter(k)
	require.NoError(t, err)
	assert.True(t, noTTL.Expiry().IsZero())
}

func jsonInt(n int64) string {
	b, _ := json.Marshal(n)
	return string(b)
}

// Claims that are not one JSON object are refused before anything is signed, and
// the error does not quote them.
func TestJWTMintJSONRefusesWhatIsNotAnObject(t *testing.T) {
	k, _ := testKeys(t)
	hsm := &hsmKey{inner: k}
	m, err := NewJWTMinter(hsm)
	require.NoError(t, err)
	for _, claims := range []string{"", "  ", `"secret-value"`, `["secret-value"]`, `{"secret-value":1`,
		`{"a":"secret-value"} {}`, `null`, `{"a":1}x`} {
		_, err := m.MintJSON([]byte(claims))
		require.Error(t, err, "%q", claims)
		assert.NotContains(t, err.Error(), "secret-value")
	}
	assert.Zero(t, hsm.signs.Load(), "nothing was signed")
}

// Mint reports claims json.Marshal cannot encode, without signing.
func TestJWTMintRefusesUnencodableClaims(t *testing.T) {
	k, _ := testKeys(t)
	hsm := &hsmKey{inner: k}
	m, err := NewJWTMinter(hsm)
	require.NoError(t, err)
	_, err = m.Mint(map[string]any{"f": func() {}})
	require.ErrorContains(t, err, "encoding the claims")
	assert.Zero(t, hsm.signs.Load())
}

// AppendJWT appends MintJSON's token to dst, in dst's own array when it has room:
// a prefix and the token make one value; a failure leaves dst as it was.
func TestJWTAppendJWT(t *testing.T) {
	k, _ := testKeys(t)
	m, err := NewJWTMinter(k, WithKeyID("kid-3"))
	require.NoError(t, err)
	claims := []byte(`{"data":{"n":1},"exp":1900000000}`)
	want, err := m.MintJSON(claims)
	require.NoError(t, err)

	room := make([]byte, 0, 2048)
	got, err := m.AppendJWT(append(room, "Bearer "...), claims)
	require.NoError(t, err)
	assert.Equal(t, "Bearer "+want, string(got))
	assert.Same(t, &room[:1][0], &got[0], "appended in dst's array")

	got, err = m.AppendJWT([]byte("Bearer "), claims)
	require.NoError(t, err)
	assert.Equal(t, "Bearer "+want, string(got), "grown when dst has no room")

	got, err = m.AppendJWT([]byte("Bearer "), []byte(`[1]`))
	require.Error(t, err)
	assert.Equal(t, "Bearer ", string(got))

	failing, err := NewJWTMinter(&hsmKey{inner: k, fail: errors.New("hsm: session closed")})
	require.NoError(t, err)
	got, err = failing.AppendJWT(append(room[:0], "Bearer "...), claims)
	require.ErrorContains(t, err, "hsm: session closed")
	assert.Equal(t, "Bearer ", string(got))
}

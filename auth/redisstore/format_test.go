package redisstore

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/banksdk/banksdk/auth"
	"github.com/redis/go-redis/v9"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// offline is a Store for tests that never reach Redis.
func offline(t testing.TB) *Store {
	rdb := redis.NewClient(&redis.Options{Addr: "127.0.0.1:1"})
	t.Cleanup(func() { rdb.Close() })
	s, err := New(rdb, WithEncryptionKey("k1", make([]byte, 32)))
	require.NoError(t, err)
	return s
}

func TestEveryFieldOfARecordIsAuthenticated(t *testing.T) {
	s := offline(t)
	rk := s.recordKey("tkey7")
	data, err := s.seal(rk, 7, auth.Token{Value: "secret-token"})
	require.NoError(t, err)
	rec, err := s.open(rk, data)
	require.NoError(t, err)
	assert.Equal(t, "secret-token", rec.Token.Value)
	assert.Equal(t, int64(7), rec.Version)

	for field, value := range map[string]any{
		"u":   time.Now().Add(time.Hour).UnixNano(), // the update time an hour ahead
		"v":   8,
		"kid": "k2",
		"f":   1,
	} {
		var m map[string]any
		require.NoError(t, json.Unmarshal(data, &m))
		m[field] = value
		tampered, err := json.Marshal(m)
		require.NoError(t, err)
		_, err = s.open(rk, tampered)
		assert.ErrorIs(t, err, auth.ErrUnreadable, field)
		assert.NotContains(t, err.Error(), "secret-token")
	}
	// A record of the earlier format (no "f", the update time outside the
	// authentication) is unreadable, and replaceable at its version.
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	delete(m, "f")
	old, err := json.Marshal(m)
	require.NoError(t, err)
	rec, err = s.open(rk, old)
	assert.ErrorIs(t, err, auth.ErrUnreadable)
	assert.ErrorContains(t, err, "older redisstore")
	assert.Equal(t, int64(7), rec.Version)
}

func TestStoredVersion(t *testing.T) {
	for data, want := range map[string]int64{
		`{"v":3,"u":1}`:          3,
		`{"v":3.5}`:              0,
		`{"v":"3"}`:              0,
		`{"v":-1}`:               0,
		`{"v":9007199254740994}`: 0, // beyond 2^53, where Lua and Go lose whole numbers
		`[1,2]`:                  0,
		`garbage`:                0,
		``:                       0,
		`{"u":1}`:                0,
	} {
		assert.Equal(t, want, storedVersion([]byte(data)), data)
	}
}

// Garbage, an older format and a record sealed with an unknown key are read as
// auth.ErrUnreadable with the version that replaces them; Redis's compare-and-swap
// agrees on that version, and Save replaces them.
func TestUnreadableRecordsAreReplaceable(t *testing.T) {
	s, rdb := setup(t)
	ctx := context.Background()
	other, err := New(rdb, WithPrefix(s.prefix), WithEncryptionKey("elsewhere", newKey(t)))
	require.NoError(t, err)
	sealedElsewhere, err := other.seal(s.recordKey("c"), 4, auth.Token{Value: "x"})
	require.NoError(t, err)
	for key, raw := range map[string]string{
		"a": "\x00garbage{",
		"b": `{"v":2,"u":1,"kid":"k1","n":"AAAA","c":"AAAA"}`,
		"c": string(sealedElsewhere),
		"d": `{"v":"5"}`,
	} {
		require.NoError(t, rdb.Set(ctx, s.recordKey(key), raw, 0).Err())
		rec, err := s.Load(ctx, key)
		require.ErrorIs(t, err, auth.ErrUnreadable, key)
		_, err = s.CompareAndSwap(ctx, key, rec.Version+1, auth.Token{Value: "wrong-version"})
		assert.ErrorIs(t, err, auth.ErrVersionConflict, key)
		got, err := s.CompareAndSwap(ctx, key, rec.Version, auth.Token{Value: "fresh-" + key})
		require.NoError(t, err, key)
		assert.Equal(t, rec.Version+1, got.Version)
		loaded, err := s.Load(ctx, key)
		require.NoError(t, err)
		assert.Equal(t, "fresh-"+key, loaded.Token.Value)
	}
	require.NoError(t, rdb.Set(ctx, s.recordKey("e"), "garbage", 0).Err())
	r, err := s.Save(ctx, "e", auth.Token{Value: "saved"})
	require.NoError(t, err, "Save replaces an unreadable record")
	assert.Equal(t, int64(1), r.Version)
}

// FuzzOpen: whatever Redis holds, open does not panic, never returns the bytes it
// was given in an error, and either reads a record sealed under the key or reports
// auth.ErrUnreadable with the version the compare-and-swap script reads.
func FuzzOpen(f *testing.F) {
	s := offline(f)
	rk := s.recordKey("k")
	sealed, err := s.seal(rk, 3, auth.Token{Value: "tok", Expiry: time.Unix(1e9, 0)})
	require.NoError(f, err)
	f.Add(sealed)
	f.Add([]byte(`{"v":2,"u":1,"kid":"k1","n":"AAAA","c":"AAAA"}`))
	f.Add([]byte(`{"f":2,"v":1,"u":1,"kid":"k1","n":"AAAAAAAAAAAAAAAA","c":""}`))
	f.Add([]byte(`{"f":2,"v":1,"kid":"zzzz"}`))
	f.Add([]byte(`garbage`))
	f.Add([]byte(`null`))
	f.Fuzz(func(t *testing.T, data []byte) {
		rec, err := s.open(rk, data)
		if err != nil {
			require.ErrorIs(t, err, auth.ErrUnreadable)
			assert.Equal(t, storedVersion(data), rec.Version)
			assert.Empty(t, rec.Token.Value)
			if len(data) > 8 {
				assert.NotContains(t, err.Error(), string(data))
			}
			return
		}
		assert.Equal(t, storedVersion(data), rec.Version, "the script reads the same version")
		again, err := s.seal(rk, rec.Version, rec.Token)
		require.NoError(t, err)
		back, err := s.open(rk, again)
		require.NoError(t, err)
		assert.Equal(t, rec.Token.Value, back.Token.Value)
	})
}

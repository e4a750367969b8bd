package tkey7

import (
	"encoding/base64"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func jwtWith(payload string) string {
	enc := base64.RawURLEncoding
	return enc.EncodeToString([]byte(`{"alg":"none"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".sig"
}

func TestParseRefreshAnswer(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	exp := jwtWith(`{"exp":1700000900,"sub":"u"}`)
	expFrac := jwtWith(`{"exp":1700000000.25}`)
	cases := []struct {
		name    string
		body    string
		value   string
		expiry  time.Time
		wantErr string
	}{
		{name: "access_token", body: `{"access_token":"abc","token_type":"Bearer"}`, value: "abc"},
		{name: "token", body: `{"token":"abc"}`, value: "abc"},
		{name: "accessToken", body: `{"accessToken":"abc"}`, value: "abc"},
		{name: "first field wins", body: `{"accessToken":"c","token":"b","access_token":"a"}`, value: "a"},
		{name: "empty value skipped", body: `{"access_token":"","token":"b"}`, value: "b"},
		{name: "null skipped", body: `{"access_token":null,"accessToken":"c"}`, value: "c"},
		{name: "no token: refreshed in place", body: `{"status":"ok","expires_in":900}`},
		{name: "empty object", body: `{}`},
		{name: "empty body", body: ``},
		{name: "whitespace body", body: " \n"},
		{name: "jwt exp", body: `{"access_token":"` + exp + `"}`, value: exp, expiry: time.Unix(1_700_000_900, 0)},
		{name: "jwt exp with millis", body: `{"token":"` + expFrac + `"}`, value: expFrac, expiry: time.UnixMilli(1_700_000_000_250)},
		{name: "not json", body: `eyJhbGciOi.x.y`, wantErr: "not a JSON object"},
		{name: "array", body: `["abc"]`, wantErr: "not a JSON object"},
		{name: "number token", body: `{"access_token":42}`, wantErr: "field access_token is not a string"},
		{name: "object token", body: `{"token":{"value":"x"}}`, wantErr: "field token is not a string"},
		{name: "header injection", body: `{"access_token":"a\r\nX-Evil: 1"}`, wantErr: "control characters"},
		{name: "space in token", body: `{"access_token":"a b"}`, wantErr: "spaces"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			tok, err := parseRefreshAnswer([]byte(tc.body), now)
			if tc.wantErr != "" {
				require.ErrorContains(t, err, tc.wantErr)
				assert.NotContains(t, err.Error(), "abc")
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.value, tok.Value)
			assert.True(t, tc.expiry.Equal(tok.Expiry), "expiry %v, want %v", tok.Expiry, tc.expiry)
		})
	}
}

func TestJWTExpiryIsReadNotTrusted(t *testing.T) {
	now := time.Unix(1_700_000_000, 0)
	cases := map[string]string{
		"opaque":           "tk7_abcdef",
		"two parts":        "a.b",
		"four parts":       "a.b.c.d",
		"bad base64":       "a.!!!.c",
		"payload not json": "a." + base64.RawURLEncoding.EncodeToString([]byte("nope")) + ".c",
		"no exp":           jwtWith(`{"sub":"x"}`),
		"exp string":       jwtWith(`{"exp":"1700000900"}`),
		"exp past":         jwtWith(`{"exp":1600000000}`),
		"exp now":          jwtWith(`{"exp":1700000000}`),
		"exp absurd":       jwtWith(`{"exp":1e30}`),
		"exp negative":     jwtWith(`{"exp":-1}`),
	}
	for name, tok := range cases {
		assert.True(t, jwtExpiry(tok, now).IsZero(), name)
	}
	padded := "a." + base64.URLEncoding.EncodeToString([]byte(`{"exp":1700000100}`)) + ".c"
	assert.Equal(t, time.Unix(1_700_000_100, 0), jwtExpiry(padded, now))
}

func FuzzParseRefreshAnswer(f *testing.F) {
	f.Add([]byte(`{"access_token":"abc"}`))
	f.Add([]byte(`{"token":"` + jwtWith(`{"exp":1700000900}`) + `"}`))
	f.Add([]byte(`{"accessToken":"` + jwtWith(`{"exp":1.7e9}`) + `"}`))
	f.Add([]byte(`{}`))
	f.Add([]byte(``))
	f.Add([]byte(`{"access_token":12}`))
	f.Add([]byte(`{"token":"a.` + "\xff" + `.c"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		now := time.Unix(1_700_000_000, 0)
		tok, err := parseRefreshAnswer(body, now)
		if err != nil {
			if tok.Value != "" {
				t.Fatal("token with error")
			}
			return
		}
		if tok.Value != "" && checkToken(tok.Value) != nil {
			t.Fatalf("unusable token accepted")
		}
		if !tok.Expiry.IsZero() && !tok.Expiry.After(now) {
			t.Fatalf("expiry in the past: %v", tok.Expiry)
		}
		if tok.Value == "" && !tok.Expiry.IsZero() {
			t.Fatal("expiry without token")
		}
	})
}

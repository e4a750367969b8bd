package obp_test

import (
	"errors"
	"fmt"
	"net/http"
	"regexp"
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

func resp(status int, correlation string) *http.Response {
	h := http.Header{}
	if correlation != "" {
		h.Set("Correlation-Id", correlation)
	}
	return &http.Response{StatusCode: status, Header: h}
}

func decode(t *testing.T, status int, body string) *obp.APIError {
	t.Helper()
	err := obp.DecodeError(resp(status, "corr-1"), []byte(body))
	var apiErr *obp.APIError
	require.ErrorAs(t, err, &apiErr)
	return apiErr
}

func TestDecodeError(t *testing.T) {
	cases := []struct {
		name    string
		status  int
		body    string
		code    int
		obp     string
		all     []string
		message string
	}{
		{"standard", 401, `{"code":401,"message":"OBP-20001: User not logged in. Authentication is required!"}`,
			401, "OBP-20001", []string{"OBP-20001"}, "OBP-20001: User not logged in. Authentication is required!"},
		{"suffix", 400, `{"code":400,"message":"OBP-10001: Incorrect json format. The Json body should be the PostAccountAccessJsonV400"}`,
			400, "OBP-10001", []string{"OBP-10001"}, "OBP-10001: Incorrect json format. The Json body should be the PostAccountAccessJsonV400"},
		{"chain", 400, `{"code":400,"message":"OBP-30063: Cannot grant account access. <- OBP-50000: Unknown Error. <- OBP-30063: again"}`,
			400, "OBP-30063", []string{"OBP-30063", "OBP-50000"}, ""},
		{"translated", 401, `{"code":401,"message":"OBP-20001: Usuario no ha iniciado sesión. ¡Se requiere autenticación!"}`,
			401, "OBP-20001", []string{"OBP-20001"}, "OBP-20001: Usuario no ha iniciado sesión. ¡Se requiere autenticación!"},
		{"code not first", 400, `{"code":400,"message":"Error: OBP-30005: View not found for Account."}`,
			400, "OBP-30005", []string{"OBP-30005"}, ""},
		{"legacy error body", 400, `{"error":"OBP-20001: User not logged in. Authentication is required!"}`,
			0, "OBP-20001", []string{"OBP-20001"}, ""},
		{"legacy without code", 401, `{"error":"Invalid or missing auth header"}`,
			0, "", nil, "Invalid or missing auth header"},
		{"code as string", 404, `{"code":"404","message":"OBP-30001: Bank not found."}`,
			404, "OBP-30001", []string{"OBP-30001"}, ""},
		{"berlin group", 401, `{"tppMessages":[{"category":"ERROR","code":"CONSENT_UNKNOWN","path":"","text":"OBP-35003: Consent not found"}]}`,
			0, "OBP-35003", []string{"OBP-35003"}, "CONSENT_UNKNOWN: OBP-35003: Consent not found"},
		{"html", 502, "<html><body><h1>502 Bad Gateway</h1>\n</body></html>",
			0, "", nil, "<html><body><h1>502 Bad Gateway</h1> </body></html>"},
		{"plain text with code", 500, "OBP-50005: An unspecified or internal error occurred.",
			0, "OBP-50005", []string{"OBP-50005"}, ""},
		{"empty", 503, "", 0, "", nil, ""},
		{"message not a string", 400, `{"code":400,"message":{"x":1}}`, 0, "", nil, `{"code":400,"message":{"x":1}}`},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := decode(t, tc.status, tc.body)
			assert.Equal(t, tc.status, e.StatusCode)
			assert.Equal(t, tc.code, e.Code)
			assert.Equal(t, tc.obp, e.OBPCode)
			assert.Equal(t, tc.all, e.OBPCodes)
			assert.Equal(t, "corr-1", e.CorrelationID)
			if tc.message != "" {
				assert.Equal(t, tc.message, e.Message)
			}
			assert.True(t, strings.HasPrefix(e.Error(), fmt.Sprintf("obp: HTTP %d", tc.status)), e.Error())
			assert.Contains(t, e.Error(), "Correlation-Id corr-1")
		})
	}
}

func TestAPIErrorIs(t *testing.T) {
	e := decode(t, 400, `{"code":400,"message":"OBP-30063: Cannot grant account access. <- OBP-50000: Unknown Error."}`)
	var err error = fmt.Errorf("wrapped: %w", e)
	assert.True(t, errors.Is(err, obp.ErrCannotGrantAccountAccess))
	assert.False(t, errors.Is(err, obp.ErrUnknownError), "Is matches the primary code only")
	assert.True(t, e.Has(obp.ErrUnknownError))
	assert.False(t, e.Has(obp.ErrUserNotLoggedIn))
	assert.True(t, errors.Is(err, &obp.APIError{OBPCode: "OBP-30063"}))
	assert.True(t, errors.Is(err, &obp.APIError{StatusCode: 400}))
	assert.False(t, errors.Is(err, &obp.APIError{StatusCode: 401}))
	assert.False(t, errors.Is(err, obp.ErrOutcomeUnknown))
	assert.Equal(t, "obp: OBP-20001", obp.ErrUserNotLoggedIn.Error())

	plain := decode(t, 502, "")
	assert.Equal(t, "obp: HTTP 502 Bad Gateway (Correlation-Id corr-1)", plain.Error())
	assert.False(t, errors.Is(plain, obp.Code("")))
}

func TestDecodeErrorRedactsTokens(t *testing.T) {
	jwt := "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiIxIn0.c2lnbmF0dXJl"
	e := decode(t, 401, `{"code":401,"message":"OBP-20003: This DirectLogin token is invalid or expired: `+jwt+`"}`)
	assert.Equal(t, "OBP-20003", e.OBPCode)
	assert.NotContains(t, e.Message, jwt)
	assert.NotContains(t, string(e.Raw), jwt)
	assert.Contains(t, e.Message, "[REDACTED]")

	e = decode(t, 401, `{"code":401,"message":"OBP-20003: bad header DirectLogin token=abcdef123, x"}`)
	assert.NotContains(t, e.Message, "abcdef123")
	assert.Contains(t, e.Message, "token=[REDACTED]")
}

func TestDecodeErrorBoundsText(t *testing.T) {
	e := decode(t, 500, strings.Repeat("x", 100000)+"\x00\xff")
	assert.LessOrEqual(t, len(e.Message), 2048)
	assert.True(t, utf8.ValidString(e.Message))
}

var obpCodeRe = regexp.MustCompile(`OBP-\d+`)

func FuzzDecodeError(f *testing.F) {
	seeds := []string{
		`{"code":401,"message":"OBP-20001: User not logged in. Authentication is required!"}`,
		`{"code":400,"message":"OBP-10001: Incorrect json format. The Json body should be the PostAccountAccessJsonV400"}`,
		`{"code":400,"message":"OBP-30063: Cannot grant account access. <- OBP-50000: Unknown Error."}`,
		`{"code":401,"message":"OBP-20001: Usuario no ha iniciado sesión. ¡Se requiere autenticación!"}`,
		`{"code":403,"message":"OBP-20006: User is missing one or more roles: CanCreateEntitlementAtAnyBank"}`,
		`{"error":"OBP-20001: User not logged in."}`,
		`{"tppMessages":[{"category":"ERROR","code":"CONSENT_UNKNOWN","text":"x"}]}`,
		`{"code":"4O1","message":null}`,
		`<html>502 Bad Gateway</html>`,
		`OBP-50005: An unspecified or internal error occurred.`,
		`{"message":"OBP-20003: This DirectLogin token is invalid or expired: eyJhbGciOiJIUzI1NiJ9.e30.sig"}`,
		"",
		"\xff\xfe{",
		`{"code":1e999,"message":"OBP-1"}`,
	}
	for i, s := range seeds {
		f.Add(400+i, s)
	}
	f.Fuzz(func(t *testing.T, status int, body string) {
		err := obp.DecodeError(resp(status, "c"), []byte(body))
		var e *obp.APIError
		if !errors.As(err, &e) {
			t.Fatalf("not an *APIError: %T", err)
		}
		if e.StatusCode != status {
			t.Fatalf("status %d, want %d", e.StatusCode, status)
		}
		if first := obpCodeRe.FindString(e.Message); first != e.OBPCode {
			t.Fatalf("OBPCode %q, first code in message %q", e.OBPCode, first)
		}
		if e.OBPCode != "" && (len(e.OBPCodes) == 0 || e.OBPCodes[0] != e.OBPCode) {
			t.Fatalf("OBPCodes %v do not start with %q", e.OBPCodes, e.OBPCode)
		}
		seen := map[string]bool{}
		for _, c := range e.OBPCodes {
			if seen[c] {
				t.Fatalf("duplicate code %q", c)
			}
			seen[c] = true
		}
		if e.OBPCode != "" && !errors.Is(err, obp.Code(e.OBPCode)) {
			t.Fatal("errors.Is does not match the primary code")
		}
		if !utf8.ValidString(e.Error()) && utf8.ValidString(body) {
			t.Fatal("invalid UTF-8 in Error()")
		}
		if strings.Contains(e.Message, "eyJ") && regexp.MustCompile(`eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.`).MatchString(e.Message) {
			t.Fatalf("a JWT survived redaction: %q", e.Message)
		}
	})
}

func TestLegacyErrorBodyFromServer(t *testing.T) {
	s := setup(t, obptest.WithLegacyErrors())
	c := newClient(t, s, obp.WithDirectLogin(obptest.DefaultUsername, "wrong-password", s.ConsumerKey()))
	_, err := c.Users.Current(ctx(t))
	var apiErr *obp.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 401, apiErr.StatusCode)
	assert.Equal(t, 0, apiErr.Code)
	assert.True(t, errors.Is(err, obp.ErrInvalidLoginCredentials))
	assert.JSONEq(t, `{"error":"`+obptest.MsgInvalidLoginCredentials+`"}`, string(apiErr.Raw))
}

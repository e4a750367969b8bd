package tkey7_test

import (
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
	"github.com/banksdk/banksdk/tkey7"
	"github.com/banksdk/banksdk/tkey7/tkey7test"
)

// Each documented status, produced by the fake through the real call path, decodes
// into *APIError with all nine fields.
func TestEveryDocumentedStatusDecodes(t *testing.T) {
	e := setup(t, nil)
	viewerTok := e.srv.IssueToken(tkey7test.AsViewer())
	viewer, err := tkey7.NewClient(tkey7.WithBaseURL(e.srv.URL()), tkey7.WithAccessToken(viewerTok, time.Time{}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = viewer.Close() })
	badTok := "not-a-token"
	stranger, err := tkey7.NewClient(tkey7.WithBaseURL(e.srv.URL()), tkey7.WithAccessToken(badTok, time.Time{}))
	require.NoError(t, err)
	t.Cleanup(func() { _ = stranger.Close() })

	calls := map[int]func() error{
		400: func() error {
			_, err := tkey7.Do[json.RawMessage](ctx(t), e.client, "POST", "digital-accounts", []int{1})
			return err
		},
		401: func() error { _, err := stranger.DigitalAccounts.List(ctx(t)); return err },
		403: func() error {
			_, err := tkey7.Do[json.RawMessage](ctx(t), viewer, "DELETE", "digital-accounts/da-0001", nil)
			return err
		},
		404: func() error { _, err := e.client.DigitalAccounts.Get(ctx(t), "missing"); return err },
		406: func() error {
			e.srv.InjectError(1, 406, "GET", "digital-accounts")
			_, err := e.client.DigitalAccounts.List(ctx(t))
			return err
		},
		409: func() error {
			_, err := tkey7.Do[json.RawMessage](ctx(t), e.client, "POST", "digital-accounts", map[string]string{"id": "da-0001"})
			return err
		},
		500: func() error {
			e.srv.InjectError(1, 500, "GET", "digital-accounts")
			_, err := e.client.DigitalAccounts.Get(ctx(t), "da-0001")
			return err
		},
	}
	for status, call := range calls {
		err := call()
		var apiErr *tkey7.APIError
		require.ErrorAs(t, err, &apiErr, "status %d", status)
		assert.Equal(t, status, apiErr.StatusCode)
		assert.True(t, apiErr.Documented())
		assert.Equal(t, tkey7test.BuildVersion, apiErr.BuildVersion, "%d", status)
		assert.NotEmpty(t, apiErr.Code, "%d", status)
		assert.True(t, strings.HasPrefix(apiErr.EndpointURL, e.srv.URL()), "%d: %s", status, apiErr.EndpointURL)
		assert.NotEmpty(t, apiErr.LongMessage, "%d", status)
		assert.NotEmpty(t, apiErr.MemberIdentification, "%d", status)
		assert.Equal(t, tkey7test.ServiceName, apiErr.ServiceName, "%d", status)
		assert.NotEmpty(t, apiErr.ShortMessage, "%d", status)
		assert.WithinDuration(t, time.Now(), apiErr.Time(), time.Minute, "%d", status)
		assert.NotEmpty(t, apiErr.TroubleshootingID, "%d", status)
		assert.True(t, json.Valid(apiErr.Raw))
		msg := err.Error()
		assert.Contains(t, msg, http.StatusText(status))
		assert.Contains(t, msg, apiErr.ShortMessage)
		assert.Contains(t, msg, apiErr.Code)
		assert.Contains(t, msg, apiErr.TroubleshootingID)
		assert.Equal(t, status == 401, errors.Is(err, tkey7.ErrTokenRevoked), "%d", status)
		assert.NotContains(t, msg, e.token)
		assert.NotContains(t, msg, badTok)
	}
}

func TestNonJSONErrorBodyStillUseful(t *testing.T) {
	e := setup(t, nil)
	e.srv.Inject(1, fake.Status(500, "<html>upstream exploded</html>").On("GET", tkey7test.Path("digital-accounts")))
	_, err := e.client.DigitalAccounts.List(ctx(t))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, 500, apiErr.StatusCode)
	assert.False(t, apiErr.Documented())
	assert.Equal(t, "<html>upstream exploded</html>", string(apiErr.Raw))
	assert.Equal(t, "tkey7: 500 Internal Server Error (undocumented error body, 30 bytes)", err.Error())

	e.srv.Inject(1, fake.Status(418, "").On("GET", tkey7test.Path("digital-accounts")))
	_, err = e.client.DigitalAccounts.List(ctx(t))
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, "tkey7: 418 I'm a teapot (empty body)", err.Error())
}

func TestAPIErrorMessage(t *testing.T) {
	body := `{"build_version":"1.2.3","code":"E42","endpoint_url":"https://us.bankname.payments.tkey7.com/client/v1/api/digital-accounts",
	"long_message":"The digital account does not exist.","member_identification":"bankName","service_name":"accounts",
	"short_message":"Not found","timestamp":1651224866578,"troubleshooting_id":"abc-123"}`
	err := tkey7.DecodeError(&http.Response{StatusCode: 404}, []byte(body))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.Equal(t, tkey7.APIError{
		StatusCode: 404, BuildVersion: "1.2.3", Code: "E42",
		EndpointURL:          "https://us.bankname.payments.tkey7.com/client/v1/api/digital-accounts",
		LongMessage:          "The digital account does not exist.",
		MemberIdentification: "bankName", ServiceName: "accounts", ShortMessage: "Not found",
		Timestamp: 1651224866578, TroubleshootingID: "abc-123", Raw: []byte(body),
	}, *apiErr)
	assert.Equal(t, time.Date(2022, 4, 29, 9, 34, 26, 578e6, time.UTC), apiErr.Time().UTC())
	assert.Equal(t, "tkey7: 404 Not Found: Not found: The digital account does not exist. (code E42, troubleshooting id abc-123)", err.Error())
	assert.NoError(t, errors.Unwrap(err))

	// The decoder only describes the answer: what a 401 means for the token is the
	// client's to find out (see TestRevokedTokenIsAClearFinalError).
	err = tkey7.DecodeError(&http.Response{StatusCode: 401}, []byte(`{"short_message":"Unauthorized","long_message":"Unauthorized","timestamp":1}`))
	assert.NotErrorIs(t, err, tkey7.ErrTokenRevoked)
	assert.NotErrorIs(t, err, tkey7.ErrSessionExpired)
	assert.Equal(t, "tkey7: 401 Unauthorized: Unauthorized", err.Error())
}

func TestAPIErrorLenientFields(t *testing.T) {
	cases := map[string]int64{
		`{"timestamp":1651224866578}`:       1651224866578,
		`{"timestamp":1.651224866578e12}`:   1651224866578,
		`{"timestamp":"1651224866578"}`:     1651224866578,
		`{"timestamp":null}`:                0,
		`{"timestamp":{}}`:                  0,
		`{"timestamp":1e300}`:               0,
		`{"timestamp":-5}`:                  -5,
		`{"timestamp":9223372036854775807}`: 9223372036854775807,
	}
	for body, want := range cases {
		var apiErr *tkey7.APIError
		require.ErrorAs(t, tkey7.DecodeError(&http.Response{StatusCode: 400}, []byte(body)), &apiErr)
		assert.Equal(t, want, apiErr.Timestamp, body)
	}
	var apiErr *tkey7.APIError
	require.ErrorAs(t, tkey7.DecodeError(&http.Response{StatusCode: 409}, []byte(`{"code":409,"short_message":["x"]}`)), &apiErr)
	assert.Equal(t, "409", apiErr.Code)
	assert.Empty(t, apiErr.ShortMessage)
	assert.True(t, apiErr.Time().IsZero())
}

// FuzzDecodeError: any body gives an *APIError with the status, never a panic, and
// the raw body kept.
func FuzzDecodeError(f *testing.F) {
	f.Add(401, []byte(`{"build_version":"1","code":"c","endpoint_url":"u","long_message":"l","member_identification":"m","service_name":"s","short_message":"sm","timestamp":1651224866578,"troubleshooting_id":"t"}`))
	f.Add(500, []byte(`<html>oops</html>`))
	f.Add(404, []byte(``))
	f.Add(400, []byte(`{"timestamp":1e400}`))
	f.Add(409, []byte(`{"code":{"nested":true},"timestamp":"x"}`))
	f.Add(406, []byte(`[1,2,3]`))
	f.Add(403, []byte(`{"short_message":"\u0000\ud800"}`))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		err := tkey7.DecodeError(&http.Response{StatusCode: status}, body)
		var apiErr *tkey7.APIError
		if !errors.As(err, &apiErr) {
			t.Fatalf("not an *APIError: %T", err)
		}
		if apiErr.StatusCode != status || string(apiErr.Raw) != string(body) {
			t.Fatalf("status or body lost")
		}
		_ = apiErr.Error()
		_ = apiErr.Time()
		if errors.Is(err, tkey7.ErrTokenRevoked) || errors.Is(err, tkey7.ErrSessionExpired) {
			t.Fatalf("the decoder decided the token's fate for %d", status)
		}
	})
}

func TestAPIErrorHas(t *testing.T) {
	resp := &http.Response{StatusCode: 403, Header: http.Header{}}
	err := tkey7.DecodeError(resp, []byte(`{"code":"permission_denied","short_message":"no"}`))
	var apiErr *tkey7.APIError
	require.ErrorAs(t, err, &apiErr)
	assert.True(t, apiErr.Has("permission_denied"))
	assert.False(t, apiErr.Has("token_expired"))
	assert.False(t, apiErr.Has(""), "an empty code matches nothing")
	assert.Equal(t, `{"code":"permission_denied","short_message":"no"}`, string(apiErr.Raw))
	var none *tkey7.APIError
	assert.False(t, none.Has("permission_denied"))
}

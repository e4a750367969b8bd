package tpv

import (
	"errors"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"unicode/utf8"
)

const (
	fuzzAuthToken = "AUTHTOKENabcdefghijklmnopqrstuvwxyz0123456789AB"
	fuzzSignature = "5f0c1b2a3d4e5f60718293a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8"
	fuzzAppToken  = "APfuzzapptoken000000000000000000000000000000000"
)

// FuzzDecodeError feeds arbitrary error bodies to the decoder: it never panics,
// always gives a readable one-line message, and never repeats a credential the
// request carried.
func FuzzDecodeError(f *testing.F) {
	f.Add(400, []byte(`{"error": "channel must be defined as one of dtd, tm, or retail."}`))
	f.Add(401, []byte(`{"message": "Unauthenticated."}`))
	f.Add(422, []byte(`{"error": {"btn": ["The btn field is required."]}}`))
	f.Add(500, []byte("<html><body>Server Error</body></html>"))
	f.Add(502, []byte("upstream said: Authorization="+fuzzAuthToken))
	f.Add(401, []byte(`{"error":"bad signature `+fuzzSignature+`"}`))
	f.Add(401, []byte(`{"error":"AUTHTOKEN\u0061bcdefghijklmnopqrstuvwxyz0123456789AB"}`))
	f.Add(404, []byte("GET /api/v1/auth?token="+fuzzAppToken+"&timestamp=1&_signature="+fuzzSignature))
	f.Add(400, []byte{0xff, 0xfe, '\n', '\t', 0})
	f.Add(400, []byte(`{"error": null, "message": ""}`))
	f.Add(0, []byte(nil))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		req := &http.Request{
			Method: http.MethodPost,
			URL:    &url.URL{Scheme: "https", Host: "clients.example", Path: "/api/v1/auth", RawQuery: "token=" + fuzzAppToken + "&timestamp=1&_signature=" + fuzzSignature},
			Header: http.Header{"Authorization": {fuzzAuthToken}, "Signature": {fuzzSignature}},
		}
		err := DecodeError(&http.Response{StatusCode: status, Request: req}, body)
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("not an *APIError: %T", err)
		}
		msg := err.Error()
		if !strings.HasPrefix(msg, "tpv: HTTP ") || !utf8.ValidString(msg) || strings.ContainsAny(msg, "\n\r\x00") {
			t.Fatalf("bad message %q", msg)
		}
		for _, s := range []string{fuzzAuthToken, fuzzSignature, fuzzAppToken} {
			if strings.Contains(msg, s) {
				t.Fatalf("message %q repeats a credential", msg)
			}
		}
		if utf8.RuneCountInString(ae.Message) > 501 {
			t.Fatalf("message too long: %d runes", utf8.RuneCountInString(ae.Message))
		}
	})
}

// FuzzParseConfirmation feeds arbitrary 2xx bodies to the submission answer parser.
func FuzzParseConfirmation(f *testing.F) {
	f.Add([]byte(`{"success": "00090894407"}`))
	f.Add([]byte(`{"success": 90894407}`))
	f.Add([]byte(`{"success": ""}`))
	f.Add([]byte(`{"error": "duplicate."}`))
	f.Add([]byte(`{"success": null, "error": "x"}`))
	f.Add([]byte(`["00090894407"]`))
	f.Add([]byte(`{"malformed": [1, 2,`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		code, err := parseConfirmation(raw)
		if err == nil && (code == "" || strings.TrimSpace(code) != code) {
			t.Fatalf("accepted code %q", code)
		}
		if msg, ok := errorOnly(raw); ok {
			if msg == "" {
				t.Fatal("empty error message")
			}
			if err == nil {
				t.Fatalf("both a code and an error in %q", raw)
			}
		}
	})
}

// FuzzDecodeResult feeds arbitrary 2xx bodies to the decoder of undocumented
// answers.
func FuzzDecodeResult(f *testing.F) {
	f.Add([]byte(`{"success": [{"program_code": "555"}]}`))
	f.Add([]byte(`{"success": "digital link sent."}`))
	f.Add([]byte(`{"error": "confirmation code not found."}`))
	f.Add([]byte(`[1, 2]`))
	f.Add([]byte(`"text"`))
	f.Add([]byte(``))
	f.Add([]byte(`{"malformed": [1, 2,`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		res, err := decodeResult(http.MethodPost, 200, raw)
		if err != nil {
			return
		}
		if res.Raw != nil && string(res.Raw) != string(raw) {
			t.Fatal("Raw differs from the body")
		}
		if res.Success != nil {
			if !isJSONObject(raw) {
				t.Fatal("Success set for a body that is not an object")
			}
			_, _ = res.SuccessText()
		}
	})
}

// FuzzAuthTokenRejected feeds arbitrary error bodies through the decoder to the rule
// that decides a re-login and replay: it never panics, never fires without the word
// "token" or for a status other than 400 and 401, and always fires for a 401.
func FuzzAuthTokenRejected(f *testing.F) {
	f.Add(400, []byte(`{"error":"invalid auth token."}`))
	f.Add(400, []byte(`{"error":"auth token is invalid: a newer login with the same application token replaced it."}`))
	f.Add(400, []byte(`{"error":"Auth Token Expired"}`))
	f.Add(400, []byte(`{"message":"token not found"}`))
	f.Add(400, []byte(`{"error":"channel must be defined as one of dtd, tm, or retail."}`))
	f.Add(400, []byte(`{"error":"auth token must be sent without a Bearer prefix."}`))
	f.Add(401, []byte(`Unauthenticated.`))
	f.Add(403, []byte(`{"error":"invalid token"}`))
	f.Add(400, []byte("TOKEN\xffinvalid"))
	f.Fuzz(func(t *testing.T, status int, body []byte) {
		resp := &http.Response{StatusCode: status, Request: &http.Request{URL: &url.URL{Path: "/api/v1/tpv"}, Header: http.Header{}}}
		err := DecodeError(resp, body)
		got := authTokenRejected(resp, err)
		var ae *APIError
		if !errors.As(err, &ae) {
			t.Fatalf("DecodeError gave %T", err)
		}
		switch {
		case status == http.StatusUnauthorized && !got:
			t.Fatal("a 401 must renew the token")
		case status != http.StatusUnauthorized && status != http.StatusBadRequest && got:
			t.Fatalf("HTTP %d must not renew the token", status)
		case got && status == http.StatusBadRequest && !strings.Contains(strings.ToLower(ae.Message), "token"):
			t.Fatalf("renewal for a message without the word token: %q", ae.Message)
		}
		if status == http.StatusBadRequest && got != TokenRejected(ae.Message) {
			t.Fatalf("a 400 renews exactly when TokenRejected(%q) says so", ae.Message)
		}
	})
}

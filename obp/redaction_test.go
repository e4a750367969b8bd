package obp_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/internal/testkit"
	"github.com/banksdk/banksdk/obp"
	"github.com/banksdk/banksdk/obp/obptest"
)

// Every value of the package and its fake that holds a key, secret or token keeps it
// out of every rendering.
func TestCredentialHoldersRedactThemselves(t *testing.T) {
	s := setup(t)
	cfg := dauthConfig(s)
	dc := dauthClient(t, s)
	lc := loginClient(t, s)
	tok, err := lc.DirectLogin(ctx(t))
	require.NoError(t, err)

	secrets := append(keyFragments(s.DAuthPrivateKey()), s.Password(), tok.Value)

	for name, v := range map[string]any{
		"DAuthConfig":       cfg,
		"*DAuthConfig":      &cfg,
		"*Client DAuth":     dc,
		"*Client login":     lc,
		"DirectLogin token": tok,
		"*obptest.Server":   s,
		"in a struct":       struct{ Config obp.DAuthConfig }{cfg},
		"in a slice":        []any{cfg, dc, s, tok},
	} {
		testkit.AssertNoSecret(t, name, v, secrets)
	}

	// What is not secret still shows.
	r := testkit.Renderings(cfg)
	for _, output := range []string{"%v", "%+v", "%#v", "%s", "json.Marshal", "slog text", "slog JSON"} {
		assert.Contains(t, r[output], "[REDACTED]", output)
		assert.Contains(t, r[output], contract, output)
		assert.Contains(t, r[output], network, output)
	}
	assert.JSONEq(t, fmt.Sprintf(`{"PrivateKey":"[REDACTED]","SmartContractAddress":%q,"NetworkName":%q,"MsgSender":%q,"ConsumerKey":%q}`,
		contract, network, obptest.DefaultMsgSender, s.ConsumerKey()), r["json.Marshal"])
	assert.Contains(t, r["slog JSON"], `"PrivateKey":"[REDACTED]"`)
	empty, err := json.Marshal(obp.DAuthConfig{})
	require.NoError(t, err)
	assert.Contains(t, string(empty), `"PrivateKey":""`, "no key: nothing to redact")
	assert.Equal(t, dc.String(), fmt.Sprint(dc))
	assert.Contains(t, testkit.Renderings(dc)["slog JSON"], `"v":"obp.Client{`)
}

// echoClient is a client for one authentication mode, and the credentials it sends.
type echoClient struct {
	name    string
	client  func(t *testing.T, s *obptest.Server) (*obp.Client, []string)
	failing func(c *obp.Client) error
}

// A server that repeats every credential it received in its error bodies: the client's
// errors keep none of them, in each authentication mode.
func TestErrorsDropEchoedCredentials(t *testing.T) {
	grantUnknownBank := func(c *obp.Client) error {
		_, err := c.AccountAccess.Grant(ctx(t), "no-such-bank", accountID, grantReq("u", "owner", true))
		return err
	}
	current := func(c *obp.Client) error { _, err := c.Users.Current(ctx(t)); return err }
	modes := []echoClient{
		{"DAuth JWT", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			return dauthClient(t, s), nil // the JWTs are read from the requests
		}, grantUnknownBank},
		{"DirectLogin password", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			pw := "Wrong-Pa$$word&<secret>"
			return newClient(t, s, obp.WithDirectLogin(obptest.DefaultUsername, pw, s.ConsumerKey())), []string{pw}
		}, current},
		{"DirectLogin token", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			c := loginClient(t, s)
			tok, err := c.DirectLogin(ctx(t))
			require.NoError(t, err)
			return c, []string{tok.Value, s.Password()}
		}, grantUnknownBank},
		{"DirectLogin opaque token", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			return newClient(t, s, obp.WithDirectLoginToken("opaque-directlogin-token-4711")), []string{"opaque-directlogin-token-4711"}
		}, current},
		{"DirectLogin token source", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			src := auth.StaticSource(auth.Token{Value: "opaque-directlogin-source-4712"})
			return newClient(t, s, obp.WithDirectLoginTokenSource(src)), []string{"opaque-directlogin-source-4712"}
		}, current},
		{"OAuth2 bearer", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			uid, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
			s.AddBearerToken("opaque-oauth2-access-token-0042", uid)
			src := auth.StaticSource(auth.Token{Value: "opaque-oauth2-access-token-0042"})
			return newClient(t, s, obp.WithAccessTokenSource(src)), []string{"opaque-oauth2-access-token-0042"}
		}, grantUnknownBank},
		{"OAuth2 bearer rejected", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			src := auth.StaticSource(auth.Token{Value: "unknown-oauth2-token-9000"})
			return newClient(t, s, obp.WithAccessTokenSource(src)), []string{"unknown-oauth2-token-9000"}
		}, current},
		{"Consent-JWT", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			uid, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
			s.AddConsent("consent-id-opaque-31337", uid)
			return newClient(t, s, obp.WithConsentJWT("consent-id-opaque-31337"), obp.WithConsumerKey(s.ConsumerKey())),
				[]string{"consent-id-opaque-31337"}
		}, grantUnknownBank},
		{"Consent-JWT source", func(t *testing.T, s *obptest.Server) (*obp.Client, []string) {
			uid, _ := s.UserID(obptest.DefaultUsername, s.LocalProvider())
			s.AddConsent("consent-id-source-31338", uid)
			src := auth.StaticSource(auth.Token{Value: "consent-id-source-31338"})
			return newClient(t, s, obp.WithConsentJWTSource(src), obp.WithConsumerKey(s.ConsumerKey())),
				[]string{"consent-id-source-31338"}
		}, grantUnknownBank},
	}
	for _, m := range modes {
		t.Run(m.name, func(t *testing.T) {
			s := setup(t, obptest.WithEchoCredentials())
			c, secrets := m.client(t, s)
			err := m.failing(c)
			var apiErr *obp.APIError
			require.ErrorAs(t, err, &apiErr)
			require.NotEmpty(t, apiErr.OBPCode, "the code survives the redaction: %s", apiErr.Message)
			assert.Contains(t, apiErr.Message, "(received ", "the fake echoed the credentials")
			assert.Contains(t, apiErr.Message, "[REDACTED]")

			for _, r := range s.Requests() {
				for _, name := range []string{"DAuth", "DirectLogin", "Authorization", "Consent-JWT"} {
					for _, v := range r.RawHeader(name) {
						secrets = append(secrets, v, strings.TrimPrefix(v, "Bearer "), strings.TrimPrefix(v, "token="))
					}
				}
			}
			require.NotEmpty(t, secrets)
			texts := map[string]string{
				"Error()": err.Error(), "%+v": fmt.Sprintf("%+v", err), "Message": apiErr.Message, "Raw": string(apiErr.Raw),
			}
			for what, text := range texts {
				for _, sec := range secrets {
					assert.NotContains(t, text, sec, what)
				}
			}
		})
	}
}

// DecodeError, for callers that handle OBP answers themselves, removes what the
// request carried just as the client does.
func TestDecodeErrorDropsRequestCredentials(t *testing.T) {
	req, err := http.NewRequest(http.MethodGet, "https://obp.example/obp/v4.0.0/users/current", nil)
	require.NoError(t, err)
	req.Header["Authorization"] = []string{"Bearer plain-bearer-value-1234"}
	req.Header["Consent-JWT"] = []string{"plain-consent-value-5678"}
	req.Header["DirectLogin"] = []string{"username=bob, password=plain&password<9012>, consumer_key=ck"}
	// The password as Go's encoder escapes it in a raw body.
	body := `{"code":401,"message":"OBP-20001: User not logged in. Got Bearer plain-bearer-value-1234, consent plain-consent-value-5678, password plain\u0026password\u003c9012\u003e"}`
	got := obp.DecodeError(&http.Response{StatusCode: 401, Header: http.Header{}, Request: req}, []byte(body))
	var apiErr *obp.APIError
	require.True(t, errors.As(got, &apiErr))
	assert.Equal(t, "OBP-20001", apiErr.OBPCode)
	assert.Contains(t, apiErr.Message, "password [REDACTED]")
	for _, sec := range []string{"plain-bearer-value-1234", "plain-consent-value-5678", "plain&password<9012>", `plain\u0026password`} {
		assert.NotContains(t, apiErr.Message, sec)
		assert.NotContains(t, string(apiErr.Raw), sec)
	}
}

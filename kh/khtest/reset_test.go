package khtest

import (
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/fake"
)

// staticAppToken has a JWT's shape, as every token the fake accepts.
const staticAppToken = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhcHAtMDAwMSJ9.c3RhdGljLWRlbW8"

func TestWithAppTokenIsAcceptedAndExpires(t *testing.T) {
	clk := &clock{t: time.Now()}
	c := setup(t, WithAppToken(staticAppToken), WithClock(clk.now), WithAppTokenTTL(time.Hour))
	assert.Equal(t, staticAppToken, c.srv.AppToken())
	assert.Equal(t, []string{staticAppToken}, c.srv.AppTokens(DefaultAppID))
	kind, ok := c.srv.TokenKind(staticAppToken)
	require.True(t, ok)
	assert.Equal(t, KindApp, kind)

	r := c.do("POST", "/v1/consents", staticAppToken, consentBodyFor(KindPSUIdentification, c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 201, r.status, string(r.raw))

	clk.add(time.Hour + time.Second)
	r = c.do("POST", "/v1/consents", staticAppToken, consentBodyFor(KindPSUIdentification, c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 401, r.status, "the given token expires like any app token")
	assert.Equal(t, "TOKEN_UNKNOWN", r.code())

	other := setup(t, WithAppToken("not a jwt"))
	assert.NotEqual(t, "not a jwt", other.srv.AppToken(), "a value without a JWT's shape is ignored")
	assert.Regexp(t, jwtRE, other.srv.AppToken())
}

func TestResetStartsOver(t *testing.T) {
	c := setup(t, WithAppToken(staticAppToken))
	id, tok := c.validConsent(KindPSUIdentification)
	require.Equal(t, 1, c.srv.ConsentCount())
	c.srv.Inject(1, fake.Status(503, ""))

	c.srv.Reset()
	assert.Zero(t, c.srv.ConsentCount())
	_, ok := c.srv.ConsentStatus(id)
	assert.False(t, ok)
	assert.Empty(t, c.srv.Requests())
	assert.Equal(t, staticAppToken, c.srv.AppToken(), "the given app token is issued again")

	r := c.do("GET", "/v1/accounts", tok, nil)
	assert.Equal(t, 401, r.status, "a consent token from before Reset is unknown, and the fault is gone: %s", r.raw)
	assert.Equal(t, "TOKEN_UNKNOWN", r.code())
	_, tok = c.validConsent(KindPSUIdentification)
	r = c.do("GET", "/v1/accounts", tok, nil)
	assert.Equal(t, 200, r.status, string(r.raw))

	plain := setup(t)
	before := plain.srv.AppToken()
	plain.srv.Reset()
	assert.NotEqual(t, before, plain.srv.AppToken(), "without WithAppToken, Reset issues a new app token")
	assert.Equal(t, []string{plain.srv.AppToken()}, plain.srv.AppTokens(DefaultAppID))
}

func TestWithListeners(t *testing.T) {
	api, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	page, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	c := setup(t, WithListener(api), WithSCAListener(page))
	assert.Equal(t, "https://"+api.Addr().String(), c.srv.URL())
	assert.Equal(t, "https://"+page.Addr().String(), c.srv.SCAURL())
	r := c.do("POST", "/v1/consents", c.srv.AppToken(), consentBodyFor(KindPSUIdentification, c.iban(0)), "PSU-IP-Address", "192.0.2.1")
	assert.Equal(t, 201, r.status, string(r.raw))
}

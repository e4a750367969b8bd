package tpv_test

import (
	"context"
	"fmt"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/internal/testkit"
)

// Every value of the package and its fake that holds a credential keeps it out of
// every rendering.
func TestCredentialHoldersRedactThemselves(t *testing.T) {
	e := setup(t, nil)
	require.NoError(t, e.c.Login(context.Background()))
	reqs := e.srv.Requests()
	require.NotEmpty(t, reqs)
	secrets := append(secretsSeen(e.srv), e.srv.AppSecret(), e.srv.AppToken())

	for name, v := range map[string]any{
		"*tpv.Client":     e.c,
		"tpv.Client":      *e.c,
		"*tpvtest.Server": e.srv,
		"both in a slice": []any{e.c, e.srv},
	} {
		testkit.AssertNoSecret(t, name, v, secrets)
	}
	assert.Equal(t, "tpv.Client{BaseURL: "+e.srv.URL()+"}", fmt.Sprint(e.c))
	assert.Contains(t, testkit.Renderings(e.c)["slog JSON"], `"v":"tpv.Client{BaseURL: `+e.srv.URL()+`}"`)
	assert.Contains(t, fmt.Sprintf("%+v", e.srv), "AppSecret: [REDACTED]")
}

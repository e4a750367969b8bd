package tpv_test

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// renderings returns v as every output a secret could leak through: fmt's verbs,
// json.Marshal, and slog's text and JSON handlers.
func renderings(t *testing.T, v any) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, verb := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"} {
		out[verb] = fmt.Sprintf(verb, v)
	}
	b, err := json.Marshal(v)
	require.NoError(t, err)
	out["json.Marshal"] = string(b)
	handlers := map[string]func(io.Writer) slog.Handler{
		"slog text": func(w io.Writer) slog.Handler { return slog.NewTextHandler(w, nil) },
		"slog JSON": func(w io.Writer) slog.Handler { return slog.NewJSONHandler(w, nil) },
	}
	for name, h := range handlers {
		var buf bytes.Buffer
		slog.New(h(&buf)).Info("value", "v", v)
		out[name] = buf.String()
	}
	return out
}

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
		for output, text := range renderings(t, v) {
			for _, s := range secrets {
				require.NotEmpty(t, s)
				assert.NotContains(t, text, s, "%s via %s", name, output)
			}
		}
	}
	assert.Equal(t, "tpv.Client{BaseURL: "+e.srv.URL()+"}", fmt.Sprint(e.c))
	assert.Contains(t, renderings(t, e.c)["slog JSON"], `"v":"tpv.Client{BaseURL: `+e.srv.URL()+`}"`)
	assert.Contains(t, fmt.Sprintf("%+v", e.srv), "AppSecret: [REDACTED]")
}

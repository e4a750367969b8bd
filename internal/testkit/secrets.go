package testkit

import (
	"bytes"
	"encoding/json"
	"fmt"
	"log/slog"

	"github.com/stretchr/testify/assert"
)

// TestingT is what AssertNoSecret reports to: a *testing.T, or any testing.TB.
type TestingT interface {
	Helper()
	Errorf(format string, args ...any)
}

// verbs are the fmt verbs Renderings prints with.
var verbs = []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x"}

// Renderings returns v as every output a secret could leak through, by name: fmt's
// verbs ("%v", "%+v", "%#v", "%s", "%q", "%d", "%x"), "json.Marshal" (or, when v
// does not marshal, "json.Marshal error" with the error's text), and "slog text"
// and "slog JSON" (a line logging v as the attribute "v").
func Renderings(v any) map[string]string {
	out := make(map[string]string, len(verbs)+3)
	for _, verb := range verbs {
		out[verb] = fmt.Sprintf(verb, v)
	}
	if b, err := json.Marshal(v); err == nil {
		out["json.Marshal"] = string(b)
	} else {
		out["json.Marshal error"] = err.Error()
	}
	var text, js bytes.Buffer
	slog.New(slog.NewTextHandler(&text, nil)).Info("value", "v", v)
	slog.New(slog.NewJSONHandler(&js, nil)).Info("value", "v", v)
	out["slog text"], out["slog JSON"] = text.String(), js.String()
	return out
}

// AssertNoSecret checks every rendering of v (see Renderings): v marshals to JSON,
// and none of secrets, which must not be empty, appears in any of them. name says
// what v is in the failure messages. It reports whether every check passed.
func AssertNoSecret(t TestingT, name string, v any, secrets []string) bool {
	t.Helper()
	ok := assert.NotEmpty(t, secrets, "%s: no secrets to look for", name)
	for output, text := range Renderings(v) {
		ok = assert.NotEqual(t, "json.Marshal error", output, "%s does not marshal: %s", name, text) && ok
		for _, s := range secrets {
			ok = assert.NotEmpty(t, s, "%s: an empty secret", name) && ok
			ok = assert.NotContains(t, text, s, "%s via %s", name, output) && ok
		}
	}
	return ok
}

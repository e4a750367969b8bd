package testkit

import (
	"fmt"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// recorder is a TestingT that keeps the failures.
type recorder struct{ failures []string }

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.failures = append(r.failures, fmt.Sprintf(format, args...))
}

type leaky struct{ Token string }

type redacted struct{ Token string }

func (redacted) String() string { return "redacted{Token: [REDACTED]}" }

func (r redacted) Format(f fmt.State, _ rune) { _, _ = fmt.Fprint(f, r.String()) }

func (redacted) MarshalJSON() ([]byte, error) { return []byte(`{"Token":"[REDACTED]"}`), nil }

func TestRenderingsNameEveryOutput(t *testing.T) {
	r := Renderings(leaky{Token: "tok-123"})
	for _, name := range []string{"%v", "%+v", "%#v", "%s", "%q", "%d", "%x", "json.Marshal", "slog text", "slog JSON"} {
		assert.Contains(t, r, name)
	}
	assert.Equal(t, `{"Token":"tok-123"}`, r["json.Marshal"])
	assert.Contains(t, r["slog JSON"], `"v":{"Token":"tok-123"}`)

	r = Renderings(func() {})
	assert.NotContains(t, r, "json.Marshal")
	assert.Contains(t, r["json.Marshal error"], "unsupported type")
}

func TestAssertNoSecretFindsALeak(t *testing.T) {
	var rec recorder
	assert.False(t, AssertNoSecret(&rec, "leaky", leaky{Token: "tok-123"}, []string{"tok-123"}))
	leaks := strings.Join(rec.failures, "\n")
	for _, via := range []string{"leaky via %v", "leaky via %+v", "leaky via json.Marshal", "leaky via slog text", "leaky via slog JSON"} {
		assert.Contains(t, leaks, via)
	}

	rec = recorder{}
	assert.True(t, AssertNoSecret(&rec, "redacted", redacted{Token: "tok-123"}, []string{"tok-123"}))
	assert.Empty(t, rec.failures)
}

func TestAssertNoSecretRefusesWhatItCannotCheck(t *testing.T) {
	for name, c := range map[string]struct {
		v       any
		secrets []string
		want    string
	}{
		"no secrets":      {redacted{}, nil, "no secrets to look for"},
		"an empty secret": {redacted{}, []string{""}, "an empty secret"},
		"not marshalable": {func() {}, []string{"tok-123"}, "does not marshal"},
	} {
		t.Run(name, func(t *testing.T) {
			var rec recorder
			assert.False(t, AssertNoSecret(&rec, "v", c.v, c.secrets))
			require.NotEmpty(t, rec.failures)
			assert.Contains(t, strings.Join(rec.failures, "\n"), c.want)
		})
	}
}

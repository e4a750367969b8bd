package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/examples/internal/exampletest"
	"github.com/banksdk/banksdk/tpv/tpvtest"
)

func TestUsage(t *testing.T) {
	exampletest.CheckUsage(t, run, ".", "v", "timeout")
}

func TestRunAgainstFake(t *testing.T) {
	out, _ := exampletest.RunAgainstFake(t, run, ".")
	assert.Contains(t, out, "mode: fake TPV portal")
	details := exampletest.AssertSteps(t, out,
		"log in (HMAC-signed, token cached 30 min)",
		"list products",
		"submit the example sale",
		"send the digital verification link",
		"queue the verification call",
	)
	require.Len(t, details, 5)
	assert.Regexp(t, `^confirmation code \S+$`, details[2])
}

// A real portal gets the example sale only with TPV_SUBMIT_EXAMPLE_SALE=yes.
func TestRunAgainstConfiguredPortal(t *testing.T) {
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)
	exampletest.ClearEnv(t, ".")
	t.Setenv("TPV_BASE_URL", portal.URL())
	t.Setenv("TPV_APP_TOKEN", portal.AppToken())
	t.Setenv("TPV_APP_SECRET", portal.AppSecret())

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(nil, &out, &errOut), out.String()+errOut.String())
	exampletest.AssertSteps(t, out.String(), "log in (HMAC-signed, token cached 30 min)", "list products")
	assert.NotContains(t, out.String(), "submit the example sale")
	assert.Contains(t, out.String(), "set TPV_SUBMIT_EXAMPLE_SALE=yes")
	assert.Empty(t, portal.Submissions(), "nothing submitted without TPV_SUBMIT_EXAMPLE_SALE=yes")
	assert.Equal(t, 1, portal.Logins())

	t.Setenv("TPV_SUBMIT_EXAMPLE_SALE", "yes")
	out.Reset()
	require.Equal(t, 0, run(nil, &out, &errOut), out.String()+errOut.String())
	subs := portal.Submissions()
	require.Len(t, subs, 1, "one submission, sent once")
	assert.Equal(t, "Bill", subs[0].Enrollment.AuthorizingFirstName)
	assert.Equal(t, "19181112222", subs[0].Enrollment.BTN)
	assert.Contains(t, out.String(), "confirmation code "+subs[0].ConfirmationCode)
	assert.Equal(t, []string{subs[0].ConfirmationCode}, portal.DigitalSends())
	assert.Equal(t, []string{subs[0].ConfirmationCode}, portal.QueuedCalls())
}

func TestRunWithWrongSecretFailsAtLogin(t *testing.T) {
	portal := tpvtest.NewServer()
	t.Cleanup(portal.Close)
	exampletest.ClearEnv(t, ".")
	t.Setenv("TPV_BASE_URL", portal.URL())
	t.Setenv("TPV_APP_TOKEN", portal.AppToken())
	t.Setenv("TPV_APP_SECRET", "not-the-secret")
	var out, errOut bytes.Buffer
	assert.Equal(t, 1, run(nil, &out, &errOut))
	assert.Regexp(t, `(?m)^FAIL  log in`, out.String())
	assert.Contains(t, errOut.String(), "check TPV_APP_TOKEN, TPV_APP_SECRET")
	assert.NotContains(t, out.String()+errOut.String(), portal.AppToken(), "no credential is printed")
	assert.GreaterOrEqual(t, portal.FailedLogins(), 1)
	assert.Empty(t, portal.Submissions())
}

func TestRunNeedsAllThreeVariables(t *testing.T) {
	exampletest.ClearEnv(t, ".")
	t.Setenv("TPV_BASE_URL", "https://portal.example.com")
	var out, errOut bytes.Buffer
	assert.Equal(t, 2, run(nil, &out, &errOut))
	assert.Contains(t, errOut.String(), "set all of TPV_BASE_URL, TPV_APP_TOKEN and TPV_APP_SECRET")
	assert.Empty(t, out.String())
}

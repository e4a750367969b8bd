package main

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/examples/internal/exampletest"
)

func TestUsage(t *testing.T) {
	exampletest.CheckUsage(t, run, ".", "v", "timeout", "poll")
}

func TestRunAgainstFake(t *testing.T) {
	out, _ := exampletest.RunAgainstFake(t, run, ".")
	assert.Contains(t, out, "mode: fake K&H bank")
	details := exampletest.AssertSteps(t, out,
		"register a TPP application",
		"create a PSU identification consent",
		"authorise it with embedded SCA",
		"consent status (issues the consent token)",
		"list the PSU's accounts",
		"balance and transaction consents in a signing basket",
		"read balances",
		"read every page of transactions",
		"initiate a payment",
		"authorise the payment with embedded SCA",
		"poll the payment's status until final",
	)
	require.Len(t, details, 11)
	assert.Contains(t, details[1], "SCA EMBEDDED")
	assert.Contains(t, details[2], "OTP: SCA finalised")
	assert.Equal(t, "valid, token received: true", details[3])
	assert.Contains(t, details[5], "OTP: SCA finalised")
	assert.Regexp(t, `^\d+ transactions since `, details[7])
	assert.Equal(t, "ACSC", details[10])
}

func TestRunNeedsTheBanksVariables(t *testing.T) {
	for _, missing := range []string{"KH_CERT_FILE", "KH_KEY_FILE", "KH_APP_TOKEN", "KH_PSU_PASSWORD"} {
		t.Run(missing, func(t *testing.T) {
			exampletest.ClearEnv(t, ".")
			for _, v := range []string{"KH_CERT_FILE", "KH_KEY_FILE", "KH_APP_TOKEN", "KH_PSU_PASSWORD"} {
				t.Setenv(v, "set")
			}
			t.Setenv("KH_BASE_URL", "https://bank.example.com/psd2")
			t.Setenv(missing, "")
			var out, errOut bytes.Buffer
			assert.Equal(t, 2, run(nil, &out, &errOut))
			assert.Contains(t, errOut.String(), missing+" is required with KH_BASE_URL")
			assert.Empty(t, out.String())
		})
	}
}

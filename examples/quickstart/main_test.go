package main

import (
	"bytes"
	"context"
	"errors"
	"regexp"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestQuickstartRunsEveryProvider(t *testing.T) {
	var out, errOut bytes.Buffer
	code := run(nil, &out, &errOut, flows)
	require.Equal(t, 0, code, out.String()+errOut.String())
	for _, f := range flows {
		assert.Contains(t, out.String(), "\n"+f.name+"\n")
		assert.Regexp(t, regexp.MustCompile(`(?m)^  ok    `+regexp.QuoteMeta(f.name)+` `), out.String())
	}
	assert.NotContains(t, out.String(), "FAIL")
	assert.Contains(t, out.String(), "all succeeded")
}

func TestQuickstartBrokenStepExitsNonZero(t *testing.T) {
	broken := append(append([]flow(nil), flows...), flow{name: "broken", run: func(ctx context.Context, r *runner) error {
		if err := r.Step("a step that works", func() (string, error) { return "fine", nil }); err != nil {
			return err
		}
		return r.Step("a step whose fake fails", func() (string, error) { return "", errors.New("HTTP 500 from the fake") })
	}})
	var out, errOut bytes.Buffer
	code := run(nil, &out, &errOut, broken)
	assert.Equal(t, 1, code)
	assert.Contains(t, out.String(), "FAIL  broken")
	assert.Contains(t, out.String(), "1 failed")
	assert.Contains(t, out.String(), "broken: a step whose fake fails")
}

func TestQuickstartProviderFlagAndVerbose(t *testing.T) {
	require.NotEmpty(t, flows)
	name := flows[0].name
	var out, errOut bytes.Buffer
	code := run([]string{"-provider", name, "-v"}, &out, &errOut, flows)
	require.Equal(t, 0, code, out.String()+errOut.String())
	for _, f := range flows[1:] {
		assert.NotContains(t, out.String(), "\n"+f.name+"\n")
	}
	assert.Contains(t, errOut.String(), "banksdk http attempt", "-v shows the HTTP exchanges")
	assert.NotContains(t, strings.ToLower(errOut.String()), "authorization:")

	out.Reset()
	errOut.Reset()
	assert.Equal(t, 2, run([]string{"-provider", "nope"}, &out, &errOut, flows))
	assert.Contains(t, errOut.String(), "unknown provider")
}

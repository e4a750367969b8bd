package main

import (
	"bytes"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/json"
	"encoding/pem"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/banksdk/banksdk/auth"
	"github.com/banksdk/banksdk/saltedge/conformance/conformancetest"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func runCmd(t *testing.T, c command, args ...string) (int, string, string) {
	t.Helper()
	var out, errOut bytes.Buffer
	code := c.run(args, &out, &errOut)
	return code, out.String(), errOut.String()
}

func TestHelpDocumentsEveryFlag(t *testing.T) {
	code, out, _ := runCmd(t, command{listen: net.Listen}, "-h")
	assert.Equal(t, exitPass, code)
	for _, f := range []string{"-url", "-key", "-gen-key", "-callback-addr", "-client-id", "-app-id", "-app-secret-file",
		"-connector-key", "-provider-code", "-psu", "-json", "-timeout"} {
		assert.Regexp(t, `\n  `+f+`[ \n]`, out, "the help documents %s", f)
	}
	assert.Contains(t, out, "Exit status: 0 all passed, 1 a check failed")
}

func TestGenKey(t *testing.T) {
	path := filepath.Join(t.TempDir(), "saltedge-test.pem")
	var stdout, stderr bytes.Buffer
	code := run([]string{"-gen-key", path}, &stdout, &stderr)
	require.Equal(t, exitPass, code, stderr.String())
	assert.Equal(t, "wrote "+path+" (private key: -key) and "+path+".pub (public key: configure the connector to trust it)\n", stdout.String())
	priv, err := os.ReadFile(path)
	require.NoError(t, err)
	key, err := auth.LoadRSAPrivateKey(priv)
	require.NoError(t, err)
	assert.Equal(t, 2048, key.N.BitLen())
	st, err := os.Stat(path)
	require.NoError(t, err)
	assert.Equal(t, os.FileMode(0o600), st.Mode().Perm())
	pubPEM, err := os.ReadFile(path + ".pub")
	require.NoError(t, err)
	pub, err := auth.LoadRSAPublicKey(pubPEM)
	require.NoError(t, err)
	assert.True(t, pub.Equal(&key.PublicKey))

	// The key is never printed, and an existing pair is not overwritten.
	code, out, errOut := runCmd(t, command{listen: net.Listen}, "-gen-key", path)
	assert.Equal(t, exitFail, code)
	assert.Contains(t, errOut, "exists")
	assert.NotContains(t, out+errOut, "PRIVATE KEY")
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, priv, again)
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func keyPEM(t *testing.T, key *rsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.MarshalPKCS8PrivateKey(key)
	require.NoError(t, err)
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
}

func TestUsageErrors(t *testing.T) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	keyFile := writeFile(t, "k.pem", keyPEM(t, key))
	notAKey := writeFile(t, "bad.pem", []byte("not a key"))
	badPSU := writeFile(t, "psu.json", []byte(`{"password":"hunter2-Zq"}`))
	cases := map[string][]string{
		"no flags":            {},
		"unknown flag":        {"-nope"},
		"stray argument":      {"-url", "https://bank.example", "-key", keyFile, "-app-id", "a", "extra"},
		"no url":              {"-key", keyFile, "-app-id", "a"},
		"no key":              {"-url", "https://bank.example", "-app-id", "a"},
		"no app id":           {"-url", "https://bank.example", "-key", keyFile},
		"missing key file":    {"-url", "https://bank.example", "-key", keyFile + ".missing", "-app-id", "a"},
		"not a key":           {"-url", "https://bank.example", "-key", notAKey, "-app-id", "a"},
		"bad timeout":         {"-url", "https://bank.example", "-key", keyFile, "-app-id", "a", "-timeout", "soon"},
		"zero timeout":        {"-url", "https://bank.example", "-key", keyFile, "-app-id", "a", "-timeout", "0s"},
		"negative client id":  {"-url", "https://bank.example", "-key", keyFile, "-app-id", "a", "-client-id", "-3"},
		"relative url":        {"-url", "bank.example", "-key", keyFile, "-app-id", "a"},
		"unknown psu field":   {"-url", "https://bank.example", "-key", keyFile, "-app-id", "a", "-psu", badPSU},
		"connector key bad":   {"-url", "https://bank.example", "-key", keyFile, "-app-id", "a", "-connector-key", notAKey},
		"secret file missing": {"-url", "https://bank.example", "-key", keyFile, "-app-id", "a", "-app-secret-file", keyFile + ".x"},
	}
	// Usage errors stop before the listener is opened: listening fails the test.
	c := command{listen: func(string, string) (net.Listener, error) {
		t.Error("usage errors must not open the callback listener")
		return net.Listen("tcp", "127.0.0.1:0")
	}}
	for name, args := range cases {
		t.Run(name, func(t *testing.T) {
			code, out, errOut := runCmd(t, c, args...)
			assert.Equal(t, exitUsage, code, errOut)
			assert.Empty(t, out)
			assert.NotEmpty(t, errOut)
			assert.NotContains(t, errOut, "hunter2-Zq")
		})
	}
}

// bankFor starts the reference bank calling back to a listener the command will be
// handed, and returns the command, the bank's URL and the key file.
func bankFor(t *testing.T, appSecret string) (command, string, string) {
	t.Helper()
	seKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	bankKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = ln.Close() })
	srv, err := conformancetest.Start(conformancetest.Config{SaltEdgeKey: &seKey.PublicKey,
		CallbackURL: "http://" + ln.Addr().String(), AppID: "app-1", AppSecret: appSecret, ProviderKey: bankKey})
	require.NoError(t, err)
	t.Cleanup(srv.Close)
	c := command{listen: func(network, addr string) (net.Listener, error) {
		assert.Equal(t, "tcp", network)
		assert.Equal(t, "127.0.0.1:9", addr)
		return ln, nil
	}}
	return c, srv.URL(), writeFile(t, "saltedge.pem", keyPEM(t, seKey))
}

func TestRunPrintsOneLinePerCheck(t *testing.T) {
	c, url, keyFile := bankFor(t, "secret-1")
	secretFile := writeFile(t, "secret", []byte("secret-1\n"))
	code, out, errOut := runCmd(t, c, "-url", url, "-key", keyFile, "-app-id", "app-1", "-app-secret-file", secretFile,
		"-callback-addr", "127.0.0.1:9", "-timeout", "20s")
	assert.Equal(t, exitPass, code, out+errOut)
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	require.Len(t, lines, 31)
	assert.Equal(t, "PASS  tokens.create  POST tokens/create answers 200", lines[0])
	for _, l := range lines[:30] {
		assert.True(t, strings.HasPrefix(l, "PASS  "), l)
	}
	assert.Equal(t, "30 passed, 0 failed", lines[30])
	assert.NotContains(t, out+errOut, "secret-1")
}

func TestRunJSONAndExitStatusOnFailure(t *testing.T) {
	c, url, keyFile := bankFor(t, "secret-1")
	wrongSecret := writeFile(t, "secret", []byte("another-secret"))
	code, out, errOut := runCmd(t, c, "-url", url, "-key", keyFile, "-app-id", "app-1", "-app-secret-file", wrongSecret,
		"-callback-addr", "127.0.0.1:9", "-json", "-timeout", "20s")
	assert.Equal(t, exitFail, code, errOut)
	var rep struct {
		Checks []struct {
			ID     string `json:"id"`
			Name   string `json:"name"`
			Passed bool   `json:"passed"`
			Detail string `json:"detail"`
		} `json:"checks"`
		Passed int `json:"passed"`
		Failed int `json:"failed"`
	}
	require.NoError(t, json.Unmarshal([]byte(out), &rep), out)
	require.Len(t, rep.Checks, 30)
	assert.Equal(t, 30, rep.Passed+rep.Failed)
	assert.Equal(t, 1, rep.Passed, "only errors.notify needs no callback")
	byID := map[string]bool{}
	for _, ch := range rep.Checks {
		byID[ch.ID] = ch.Passed
	}
	assert.True(t, byID["errors.notify"])
	assert.False(t, byID["callbacks.auth"])
	assert.False(t, byID["tokens.flow"])
	assert.NotContains(t, out, "another-secret")
	assert.NotContains(t, out, "secret-1")

	// The same failure in text: FAIL lines carry the detail, the count is last.
	c, url, keyFile = bankFor(t, "secret-1")
	code, out, _ = runCmd(t, c, "-url", url, "-key", keyFile, "-app-id", "app-1", "-app-secret-file", wrongSecret,
		"-callback-addr", "127.0.0.1:9", "-timeout", "20s")
	assert.Equal(t, exitFail, code)
	assert.Contains(t, out, "\nFAIL  callbacks.auth  every callback carries App-Id, App-Secret and an RS256 JWT with exp for an open session: clients/info: App-Secret is not the configured one")
	assert.True(t, strings.HasSuffix(out, "\n1 passed, 29 failed\n"), out)
}

package kh_test

import (
	"crypto/tls"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

func p12file(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pkcs12", name))
	require.NoError(t, err)
	return b
}

func TestLoadPKCS12(t *testing.T) {
	ec, err := kh.LoadClientCertificatePEM(p12file(t, "leaf-ec.crt"), p12file(t, "leaf-ec.key"))
	require.NoError(t, err)
	rsaCert, err := kh.LoadClientCertificatePEM(p12file(t, "leaf-rsa.crt"), p12file(t, "leaf-rsa.key"))
	require.NoError(t, err)
	ca, err := kh.LoadClientCertificatePEM(p12file(t, "ca.crt"), p12file(t, "leaf-ec.key"))
	require.Error(t, err, "the CA certificate does not match the leaf key")
	_ = ca
	for _, tc := range []struct {
		file, password string
		want           tls.Certificate
		chain          int
	}{
		{"modern.p12", "test-pass", ec, 2},
		{"legacy-3des.p12", "test-pass", ec, 2},
		{"empty-password.p12", "", ec, 1},
		{"rsa-aes128.p12", "pässwörd", rsaCert, 1},
		{"unencrypted.p12", "test-pass", ec, 1},
	} {
		got, err := kh.LoadPKCS12(p12file(t, tc.file), tc.password)
		require.NoError(t, err, tc.file)
		require.Len(t, got.Certificate, tc.chain, tc.file)
		assert.Equal(t, tc.want.Certificate[0], got.Certificate[0], "%s: the leaf comes first", tc.file)
		assert.Equal(t, tc.want.PrivateKey, got.PrivateKey, tc.file)
		require.NotNil(t, got.Leaf, tc.file)

		_, err = kh.LoadPKCS12(p12file(t, tc.file), "wrong-password")
		require.Error(t, err, tc.file)
		assert.NotContains(t, err.Error(), "wrong-password")
	}
	_, err = kh.LoadPKCS12(p12file(t, "legacy-rc2.p12"), "test-pass")
	require.ErrorIs(t, err, kh.ErrPKCS12Unsupported)
	_, err = kh.LoadPKCS12([]byte("not a pfx"), "")
	require.ErrorContains(t, err, "kh: PKCS#12")
	_, err = kh.LoadPKCS12File(filepath.Join("testdata", "pkcs12", "modern.p12"), "test-pass")
	require.NoError(t, err)

	_, err = kh.NewClient(kh.WithBaseURL("https://bank.example"), kh.WithClientCertificatePKCS12(p12file(t, "modern.p12"), "test-pass"))
	require.NoError(t, err)
}

// TestPKCS12ClientTalksToTheBank exports the fake's client certificate with the
// openssl command (when installed) and connects with it.
func TestPKCS12ClientTalksToTheBank(t *testing.T) {
	openssl, err := exec.LookPath("openssl")
	if err != nil {
		t.Skip("openssl not installed")
	}
	srv := khtest.NewServer()
	t.Cleanup(srv.Close)
	certPEM, keyPEM := srv.PKI().ClientCertificatePEM()
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "c.pem"), certPEM, 0o600))
	require.NoError(t, os.WriteFile(filepath.Join(dir, "k.pem"), keyPEM, 0o600))
	out := filepath.Join(dir, "tpp.p12")
	cmd := exec.Command(openssl, "pkcs12", "-export", "-in", filepath.Join(dir, "c.pem"), "-inkey", filepath.Join(dir, "k.pem"),
		"-passout", "pass:s3cret", "-out", out)
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Skipf("openssl pkcs12 failed: %v %s", err, b)
	}
	p12, err := os.ReadFile(out)
	require.NoError(t, err)
	c, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithRootCAs(srv.RootCAs()), kh.WithClientCertificatePKCS12(p12, "s3cret"))
	require.NoError(t, err)
	_, err = c.TPP.NewAppToken(t.Context(), srv.AppID())
	require.NoError(t, err)
}

package kh_test

import (
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"software.sslmate.com/src/go-pkcs12"

	"github.com/banksdk/banksdk/kh"
	"github.com/banksdk/banksdk/kh/khtest"
)

// The files in testdata/pkcs12 are throw-away test material made with OpenSSL 3.0
// (testdata/pkcs12/README lists each file's settings). leaf-ec.*, leaf-rsa.*, ca.crt
// and the first six .p12 files predate this script; the rest were made from the
// testdata/pkcs12 directory with:
//
//	T=$(mktemp -d)
//	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $T/root.key \
//		-subj "/CN=kh pkcs12 chain root" -days 36500 -out chain-root.crt
//	openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout $T/int.key \
//		-subj "/CN=kh pkcs12 chain intermediate" -out $T/int.csr
//	printf 'basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign\n' > $T/ca.ext
//	openssl x509 -req -in $T/int.csr -CA chain-root.crt -CAkey $T/root.key -set_serial 2 \
//		-days 36500 -extfile $T/ca.ext -out chain-intermediate.crt
//	openssl req -new -newkey rsa:2048 -nodes -keyout $T/leaf.key -subj "/CN=kh pkcs12 chain TPP" -out $T/leaf.csr
//	printf 'extendedKeyUsage=clientAuth\n' > $T/leaf.ext
//	openssl x509 -req -in $T/leaf.csr -CA chain-intermediate.crt -CAkey $T/int.key -set_serial 3 \
//		-days 36500 -extfile $T/leaf.ext -out chain-leaf.crt
//	cat chain-intermediate.crt chain-root.crt > $T/cas.pem
//	openssl pkcs12 -export -in chain-leaf.crt -inkey $T/leaf.key -certfile $T/cas.pem -passout pass:test-pass -out chain.p12
//	openssl pkcs12 -export -in leaf-ec.crt -inkey leaf-ec.key -certfile ca.crt -passout pass:test-pass -nomac -out nomac.p12
//	openssl pkcs12 -export -in leaf-ec.crt -inkey leaf-ec.key -passout pass: -nomac -out nomac-empty-password.p12
//	openssl pkcs12 -export -nokeys -in leaf-ec.crt -certfile ca.crt -passout pass:test-pass -out no-key.p12
//	openssl pkcs12 -export -nocerts -inkey leaf-ec.key -passout pass:test-pass -out key-only.p12
//	openssl pkcs12 -export -in leaf-ec.crt -inkey leaf-ec.key -passout pass:test-pass -macalg sha384 -out mac-sha384.p12
//	rm -r $T

func p12file(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", "pkcs12", name))
	require.NoError(t, err)
	return b
}

// pemCert reads the DER of the single certificate in a PEM fixture.
func pemCert(t testing.TB, name string) *x509.Certificate {
	t.Helper()
	block, rest := pem.Decode(p12file(t, name))
	require.NotNil(t, block, name)
	require.Empty(t, strings.TrimSpace(string(rest)), name)
	c, err := x509.ParseCertificate(block.Bytes)
	require.NoError(t, err, name)
	return c
}

// requireKeyMatchesLeaf fails unless cert's private key is the one for its leaf's
// public key and Leaf is the first certificate.
func requireKeyMatchesLeaf(t *testing.T, cert tls.Certificate, msg string) {
	t.Helper()
	require.NotNil(t, cert.Leaf, msg)
	require.NotEmpty(t, cert.Certificate, msg)
	assert.Equal(t, cert.Leaf.Raw, cert.Certificate[0], "%s: Leaf is Certificate[0]", msg)
	signer, ok := cert.PrivateKey.(crypto.Signer)
	require.True(t, ok, "%s: the private key is a crypto.Signer", msg)
	pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool })
	require.True(t, ok, msg)
	assert.True(t, pub.Equal(cert.Leaf.PublicKey), "%s: the private key matches the leaf's public key", msg)
}

func TestLoadPKCS12(t *testing.T) {
	ec, err := kh.LoadClientCertificatePEM(p12file(t, "leaf-ec.crt"), p12file(t, "leaf-ec.key"))
	require.NoError(t, err)
	rsaCert, err := kh.LoadClientCertificatePEM(p12file(t, "leaf-rsa.crt"), p12file(t, "leaf-rsa.key"))
	require.NoError(t, err)
	ca := pemCert(t, "ca.crt")
	chainLeaf, intermediate, root := pemCert(t, "chain-leaf.crt"), pemCert(t, "chain-intermediate.crt"), pemCert(t, "chain-root.crt")

	for _, tc := range []struct {
		file, password string
		leaf           []byte
		key            crypto.PrivateKey // nil: the test has no PEM copy of it
		chain          [][]byte          // after the leaf
	}{
		{"modern.p12", "test-pass", ec.Certificate[0], ec.PrivateKey, [][]byte{ca.Raw}},
		{"legacy-3des.p12", "test-pass", ec.Certificate[0], ec.PrivateKey, [][]byte{ca.Raw}},
		{"legacy-rc2.p12", "test-pass", ec.Certificate[0], ec.PrivateKey, nil},
		{"empty-password.p12", "", ec.Certificate[0], ec.PrivateKey, nil},
		{"rsa-aes128.p12", "pässwörd", rsaCert.Certificate[0], rsaCert.PrivateKey, nil},
		{"unencrypted.p12", "test-pass", ec.Certificate[0], ec.PrivateKey, nil},
		{"chain.p12", "test-pass", chainLeaf.Raw, nil, [][]byte{intermediate.Raw, root.Raw}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			got, err := kh.LoadPKCS12(p12file(t, tc.file), tc.password)
			require.NoError(t, err)
			require.Len(t, got.Certificate, 1+len(tc.chain))
			assert.Equal(t, tc.leaf, got.Certificate[0], "the leaf comes first")
			for i, want := range tc.chain {
				assert.Equal(t, want, got.Certificate[1+i], "chain certificate %d", i+1)
			}
			requireKeyMatchesLeaf(t, got, tc.file)
			if tc.key != nil {
				assert.Equal(t, tc.key, got.PrivateKey)
			}

			const wrong = "wrong-password-7Qx"
			_, err = kh.LoadPKCS12(p12file(t, tc.file), wrong)
			require.ErrorIs(t, err, kh.ErrPKCS12Password)
			assert.Equal(t, "kh: PKCS#12: wrong password or damaged file (the integrity MAC does not match)", err.Error())
		})
	}
}

func TestLoadPKCS12Refuses(t *testing.T) {
	modern := p12file(t, "modern.p12")
	for _, tc := range []struct {
		name, password string
		data           []byte
		is             error // nil: no sentinel applies
		msg            string
	}{
		{"no MAC", "test-pass", p12file(t, "nomac.p12"), kh.ErrPKCS12Unsupported,
			"kh: PKCS#12: the file has no integrity MAC (re-export it without -nomac): unsupported PKCS#12 file"},
		{"no MAC, empty password", "", p12file(t, "nomac-empty-password.p12"), kh.ErrPKCS12Unsupported,
			"kh: PKCS#12: the file has no integrity MAC (re-export it without -nomac): unsupported PKCS#12 file"},
		{"SHA-384 MAC", "test-pass", p12file(t, "mac-sha384.p12"), kh.ErrPKCS12Unsupported,
			"kh: PKCS#12: MAC digest algorithm not supported: 2.16.840.1.101.3.4.2.2: unsupported PKCS#12 file"},
		{"no private key", "test-pass", p12file(t, "no-key.p12"), nil, "kh: PKCS#12: private key missing"},
		{"no certificate", "test-pass", p12file(t, "key-only.p12"), nil, "kh: PKCS#12: certificate missing"},
		{"garbage", "test-pass", []byte("this is not a PKCS#12 file at all"), nil, "kh: PKCS#12: not a DER PKCS#12 file"},
		{"empty", "test-pass", nil, nil, "kh: PKCS#12: not a DER PKCS#12 file"},
		{"truncated", "test-pass", modern[:len(modern)/2], nil, "kh: PKCS#12: not a DER PKCS#12 file"},
		{"trailing bytes", "test-pass", append(append([]byte(nil), modern...), 0), nil, "kh: PKCS#12: not a DER PKCS#12 file"},
		{"PEM", "test-pass", p12file(t, "leaf-ec.crt"), nil,
			"kh: PKCS#12: the data is PEM, not a DER PKCS#12 file (use WithClientCertificatePEM)"},
		{"too large", "test-pass", make([]byte, 1<<20+1), nil, "kh: PKCS#12: the file is larger than 1048576 bytes"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := kh.LoadPKCS12(tc.data, tc.password)
			require.Error(t, err)
			assert.Equal(t, tc.msg, err.Error())
			if tc.is != nil {
				assert.ErrorIs(t, err, tc.is)
			} else {
				assert.NotErrorIs(t, err, kh.ErrPKCS12Unsupported)
				assert.NotErrorIs(t, err, kh.ErrPKCS12Password)
			}
			assert.Empty(t, got.Certificate)
			assert.Nil(t, got.PrivateKey)
		})
	}
}

// TestLoadPKCS12FindsTheLeaf loads files whose first certificate is not the key's:
// the certificate that matches the key comes first, and a file where none matches is
// refused.
func TestLoadPKCS12FindsTheLeaf(t *testing.T) {
	ec, err := kh.LoadClientCertificatePEM(p12file(t, "leaf-ec.crt"), p12file(t, "leaf-ec.key"))
	require.NoError(t, err)
	rsaCert, err := kh.LoadClientCertificatePEM(p12file(t, "leaf-rsa.crt"), p12file(t, "leaf-rsa.key"))
	require.NoError(t, err)
	ca := pemCert(t, "ca.crt")

	caFirst, err := pkcs12.Modern2023.Encode(ec.PrivateKey, ca, []*x509.Certificate{ec.Leaf}, "test-pass")
	require.NoError(t, err)
	got, err := kh.LoadPKCS12(caFirst, "test-pass")
	require.NoError(t, err)
	require.Len(t, got.Certificate, 2)
	assert.Equal(t, ec.Certificate[0], got.Certificate[0])
	assert.Equal(t, ca.Raw, got.Certificate[1])
	requireKeyMatchesLeaf(t, got, "CA first")

	mismatch, err := pkcs12.Modern2023.Encode(rsaCert.PrivateKey, ec.Leaf, []*x509.Certificate{ca}, "test-pass")
	require.NoError(t, err)
	_, err = kh.LoadPKCS12(mismatch, "test-pass")
	require.EqualError(t, err, "kh: PKCS#12: no certificate in the file matches the private key")
}

func TestLoadPKCS12File(t *testing.T) {
	got, err := kh.LoadPKCS12File(filepath.Join("testdata", "pkcs12", "chain.p12"), "test-pass")
	require.NoError(t, err)
	require.Len(t, got.Certificate, 3)
	assert.Equal(t, "kh pkcs12 chain TPP", got.Leaf.Subject.CommonName)
	requireKeyMatchesLeaf(t, got, "chain.p12")

	_, err = kh.LoadPKCS12File(filepath.Join("testdata", "pkcs12", "missing.p12"), "test-pass")
	require.ErrorIs(t, err, fs.ErrNotExist)
	assert.True(t, strings.HasPrefix(err.Error(), "kh: PKCS#12: "), err.Error())
}

func TestWithClientCertificatePKCS12Errors(t *testing.T) {
	const secret = "s3cret-Hq9"
	_, err := kh.NewClient(kh.WithBaseURL("https://bank.example"), kh.WithClientCertificatePKCS12(p12file(t, "modern.p12"), secret))
	require.ErrorIs(t, err, kh.ErrPKCS12Password)
	assert.Equal(t, "kh: WithClientCertificatePKCS12: wrong password or damaged file (the integrity MAC does not match)", err.Error())
	assert.NotContains(t, err.Error(), secret)

	_, err = kh.NewClient(kh.WithBaseURL("https://bank.example"), kh.WithClientCertificatePKCS12(p12file(t, "nomac.p12"), secret))
	require.ErrorIs(t, err, kh.ErrPKCS12Unsupported)
	assert.Equal(t, "kh: WithClientCertificatePKCS12: the file has no integrity MAC (re-export it without -nomac): unsupported PKCS#12 file", err.Error())

	_, err = kh.NewClient(kh.WithBaseURL("https://bank.example"), kh.WithClientCertificatePKCS12([]byte("junk"), secret))
	require.EqualError(t, err, "kh: WithClientCertificatePKCS12: not a DER PKCS#12 file")
}

// TestPKCS12ClientTalksToTheBank exports the fake bank's client certificate as
// PKCS#12 and connects with it: the fake requires a client certificate from its CA
// and identifies the TPP by it.
func TestPKCS12ClientTalksToTheBank(t *testing.T) {
	srv := khtest.NewServer()
	t.Cleanup(srv.Close)
	tpp := srv.PKI().ClientCertificate()
	caBlock, _ := pem.Decode(srv.PKI().CACertificatePEM())
	require.NotNil(t, caBlock)
	ca, err := x509.ParseCertificate(caBlock.Bytes)
	require.NoError(t, err)
	p12, err := pkcs12.Modern2023.Encode(tpp.PrivateKey, tpp.Leaf, []*x509.Certificate{ca}, "s3cret")
	require.NoError(t, err)

	c, err := kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithRootCAs(srv.RootCAs()), kh.WithClientCertificatePKCS12(p12, "s3cret"))
	require.NoError(t, err)
	tok, err := c.TPP.NewAppToken(t.Context(), srv.ApplicationID())
	require.NoError(t, err, "the bank finds the application under the TPP the certificate names")
	kind, ok := srv.TokenKind(tok.Token.Reveal())
	require.True(t, ok, "the bank issued the token")
	assert.Equal(t, khtest.KindApp, kind)
	assert.Equal(t, 1, srv.Count("POST", "/v1/tpp/app/token"))

	// The same bytes with the wrong password make no client.
	_, err = kh.NewClient(kh.WithBaseURL(srv.URL()), kh.WithRootCAs(srv.RootCAs()), kh.WithClientCertificatePKCS12(p12, "s3cret!"))
	require.ErrorIs(t, err, kh.ErrPKCS12Password)
}

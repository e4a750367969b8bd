package kh

import (
	"bytes"
	"crypto"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"os"
	"strings"

	"software.sslmate.com/src/go-pkcs12"
)

// LoadClientCertificatePEM builds a client certificate from PEM data: a certificate
// chain (leaf first) and its private key (PKCS#1, PKCS#8 or SEC 1 EC). Errors never
// include key material.
func LoadClientCertificatePEM(certPEM, keyPEM []byte) (tls.Certificate, error) {
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kh: client certificate: %w", err)
	}
	return cert, nil
}

// LoadClientCertificateFiles builds a client certificate from PEM files.
func LoadClientCertificateFiles(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := os.ReadFile(certFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kh: client certificate: %w", err)
	}
	keyPEM, err := os.ReadFile(keyFile)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kh: client certificate key: %w", err)
	}
	return LoadClientCertificatePEM(certPEM, keyPEM)
}

// LoadPKCS12File builds a client certificate from a PKCS#12 file (see LoadPKCS12).
func LoadPKCS12File(path, password string) (tls.Certificate, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kh: PKCS#12: %w", err)
	}
	return LoadPKCS12(data, password)
}

// ErrPKCS12Unsupported is matched (errors.Is) when a PKCS#12 file is well formed but
// uses something LoadPKCS12 does not accept: no integrity MAC (OpenSSL's -nomac), a
// MAC other than HMAC-SHA-1/256/512 or PBMAC1, RC4 or PBES2 with 3DES encryption,
// public-key integrity, or a key derivation asking for more than 2,000,000
// iterations. Re-export the file with a current tool (`openssl pkcs12 -export`) or
// load PEM files instead.
var ErrPKCS12Unsupported = errors.New("unsupported PKCS#12 file")

// ErrPKCS12Password is matched (errors.Is) when a PKCS#12 file's integrity MAC does
// not match: the password is wrong or the file is damaged.
var ErrPKCS12Password = errors.New("wrong password or damaged file (the integrity MAC does not match)")

// maxPKCS12Size bounds the file LoadPKCS12 reads; a client certificate with its chain
// takes a few KiB.
const maxPKCS12Size = 1 << 20

// maxPKCS12Iterations bounds the MAC key derivation's iteration count (OpenSSL uses
// 2048), so that a hostile file cannot make loading take minutes. The encryption
// parameters sit inside the content the MAC covers, so only a holder of the password
// can choose theirs.
const maxPKCS12Iterations = 2_000_000

// LoadPKCS12 builds a client certificate from a PKCS#12 (.p12, .pfx) file's bytes:
// its private key, the certificate that matches it (first) and the file's other
// certificates as the chain. The file is decoded by software.sslmate.com/src/go-pkcs12:
// PBES2 with AES (OpenSSL 3's default), pbeWithSHAAnd3-KeyTripleDES-CBC and
// pbeWithSHAAnd40/128BitRC2-CBC (OpenSSL's -legacy), with an HMAC-SHA-1/256/512 or
// PBMAC1 integrity MAC, which must be present and is always verified. Errors never
// include key material or the password; they match ErrPKCS12Password or
// ErrPKCS12Unsupported where those apply.
func LoadPKCS12(data []byte, password string) (tls.Certificate, error) {
	cert, err := loadPKCS12(data, password, maxPKCS12Iterations)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kh: PKCS#12: %w", err)
	}
	return cert, nil
}

// loadPKCS12 is LoadPKCS12 with the iteration bound as a parameter (the fuzz test
// lowers it) and errors without the "kh: " prefix.
func loadPKCS12(data []byte, password string, maxIter int) (tls.Certificate, error) {
	if len(data) > maxPKCS12Size {
		return tls.Certificate{}, fmt.Errorf("the file is larger than %d bytes", maxPKCS12Size)
	}
	if err := checkPKCS12MAC(data, maxIter); err != nil {
		return tls.Certificate{}, err
	}
	key, first, others, err := pkcs12.DecodeChain(data, password)
	if err != nil {
		return tls.Certificate{}, pkcs12Cause(err)
	}
	signer, ok := key.(crypto.Signer)
	if !ok {
		return tls.Certificate{}, fmt.Errorf("unsupported private key type %T", key)
	}
	// DecodeChain takes the first certificate for the leaf; some tools write the CA
	// first, so the leaf is the certificate that matches the key.
	certs := append([]*x509.Certificate{first}, others...)
	leaf := -1
	for i, c := range certs {
		if pub, ok := signer.Public().(interface{ Equal(crypto.PublicKey) bool }); ok && pub.Equal(c.PublicKey) {
			leaf = i
			break
		}
	}
	if leaf < 0 {
		return tls.Certificate{}, errors.New("no certificate in the file matches the private key")
	}
	chain := [][]byte{certs[leaf].Raw}
	for i, c := range certs {
		if i != leaf {
			chain = append(chain, c.Raw)
		}
	}
	return tls.Certificate{Certificate: chain, PrivateKey: key, Leaf: certs[leaf]}, nil
}

// pkcs12Cause turns a go-pkcs12 error into this package's: the sentinels for a wrong
// password and for unsupported features, the library's own text otherwise (it names
// the structure at fault, never key material or the password).
func pkcs12Cause(err error) error {
	var notImpl pkcs12.NotImplementedError
	switch {
	case errors.Is(err, pkcs12.ErrIncorrectPassword), errors.Is(err, pkcs12.ErrDecryption):
		return ErrPKCS12Password
	case errors.As(err, &notImpl):
		return fmt.Errorf("%s: %w", strings.TrimPrefix(notImpl.Error(), "pkcs12: "), ErrPKCS12Unsupported)
	}
	return errors.New(strings.TrimPrefix(err.Error(), "pkcs12: "))
}

// pfxMAC is the part of a PFX (RFC 7292 section 4) that checkPKCS12MAC reads.
type pfxMAC struct {
	Version  int
	AuthSafe asn1.RawValue
	MacData  struct {
		Mac struct {
			Algorithm pkix.AlgorithmIdentifier
			Digest    []byte
		}
		MacSalt    []byte
		Iterations int `asn1:"optional,default:1"`
	} `asn1:"optional"`
}

// pbmac1Params and pbkdf2Params are RFC 8018's PBMAC1-params and PBKDF2-params.
type pbmac1Params struct {
	KDF    pkix.AlgorithmIdentifier
	MACAlg pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       asn1.RawValue
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

var (
	oidPBMAC1 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 14}
	oidPBKDF2 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
)

// checkPKCS12MAC refuses, before go-pkcs12 derives any key, a file without an
// integrity MAC (go-pkcs12 would accept one whose password is empty, and nothing
// then vouches for its content) and a MAC whose key derivation asks for more than
// maxIter iterations (go-pkcs12 sets no bound).
func checkPKCS12MAC(data []byte, maxIter int) error {
	var pfx pfxMAC
	if rest, err := asn1.Unmarshal(data, &pfx); err != nil || len(rest) > 0 {
		if bytes.HasPrefix(bytes.TrimSpace(data), []byte("-----BEGIN")) {
			return errors.New("the data is PEM, not a DER PKCS#12 file (use WithClientCertificatePEM)")
		}
		return errors.New("not a DER PKCS#12 file")
	}
	alg := pfx.MacData.Mac.Algorithm
	if len(alg.Algorithm) == 0 {
		return fmt.Errorf("the file has no integrity MAC (re-export it without -nomac): %w", ErrPKCS12Unsupported)
	}
	iter := pfx.MacData.Iterations
	if alg.Algorithm.Equal(oidPBMAC1) {
		var params pbmac1Params
		var kdf pbkdf2Params
		if _, err := asn1.Unmarshal(alg.Parameters.FullBytes, &params); err != nil {
			return errors.New("malformed PBMAC1 parameters")
		}
		if !params.KDF.Algorithm.Equal(oidPBKDF2) {
			return fmt.Errorf("PBMAC1 key derivation %v: %w", params.KDF.Algorithm, ErrPKCS12Unsupported)
		}
		if _, err := asn1.Unmarshal(params.KDF.Parameters.FullBytes, &kdf); err != nil {
			return errors.New("malformed PBMAC1 key derivation parameters")
		}
		iter = kdf.Iterations
	}
	if iter < 1 || iter > maxIter {
		return fmt.Errorf("MAC iteration count %d is outside 1..%d: %w", iter, maxIter, ErrPKCS12Unsupported)
	}
	return nil
}

package khtest

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"time"
)

// PKI is a throw-away certificate authority with one server certificate (for
// 127.0.0.1, ::1 and localhost) and one TPP client certificate, all generated in
// memory. The fake bank trusts client certificates issued by CA; clients trust the
// fake by adding CA to their root pool (RootCAs).
//
// The private keys are test material; PKI does not print them (String returns a
// summary).
type PKI struct {
	caCert *x509.Certificate
	caKey  *ecdsa.PrivateKey
	caPEM  []byte

	server tls.Certificate

	client        tls.Certificate
	clientCertPEM []byte
	clientKeyPEM  []byte
}

// NewPKI generates a CA, a server certificate and a client certificate whose subject
// common name is "khtest-tpp".
func NewPKI() (*PKI, error) {
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("khtest: generate CA key: %w", err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{
		SerialNumber:          serial(),
		Subject:               pkix.Name{CommonName: "khtest CA", Organization: []string{"khtest"}},
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("khtest: create CA certificate: %w", err)
	}
	caCert, err := x509.ParseCertificate(caDER)
	if err != nil {
		return nil, fmt.Errorf("khtest: parse CA certificate: %w", err)
	}
	p := &PKI{
		caCert: caCert,
		caKey:  caKey,
		caPEM:  pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}),
	}

	serverKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("khtest: generate server key: %w", err)
	}
	serverTmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: "localhost", Organization: []string{"khtest bank"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		DNSNames:     []string{"localhost"},
		IPAddresses:  []net.IP{net.IPv4(127, 0, 0, 1), net.IPv6loopback},
	}
	serverDER, err := x509.CreateCertificate(rand.Reader, serverTmpl, caCert, &serverKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("khtest: create server certificate: %w", err)
	}
	p.server = tls.Certificate{Certificate: [][]byte{serverDER}, PrivateKey: serverKey}

	cert, certPEM, keyPEM, err := p.NewClientCertificate("khtest-tpp")
	if err != nil {
		return nil, err
	}
	p.client, p.clientCertPEM, p.clientKeyPEM = cert, certPEM, keyPEM
	return p, nil
}

// NewClientCertificate issues another client certificate signed by the CA, with the
// given subject common name (the fake bank identifies a TPP by it). It returns the
// certificate ready for tls.Config and its PEM encodings (certificate, PKCS#8 key).
func (p *PKI) NewClientCertificate(commonName string) (cert tls.Certificate, certPEM, keyPEM []byte, err error) {
	if commonName == "" {
		return tls.Certificate{}, nil, nil, errors.New("khtest: client certificate common name is empty")
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("khtest: generate client key: %w", err)
	}
	now := time.Now()
	tmpl := &x509.Certificate{
		SerialNumber: serial(),
		Subject:      pkix.Name{CommonName: commonName, Organization: []string{"khtest TPP"}},
		NotBefore:    now.Add(-time.Hour),
		NotAfter:     now.Add(24 * time.Hour),
		KeyUsage:     x509.KeyUsageDigitalSignature,
		ExtKeyUsage:  []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, p.caCert, &key.PublicKey, p.caKey)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("khtest: create client certificate: %w", err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("khtest: encode client key: %w", err)
	}
	leaf, err := x509.ParseCertificate(der)
	if err != nil {
		return tls.Certificate{}, nil, nil, fmt.Errorf("khtest: parse client certificate: %w", err)
	}
	cert = tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key, Leaf: leaf}
	certPEM = pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	keyPEM = pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})
	return cert, certPEM, keyPEM, nil
}

// RootCAs returns a new pool holding the CA certificate: give it to a client so that
// it trusts the fake bank.
func (p *PKI) RootCAs() *x509.CertPool {
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	return pool
}

// CACertificatePEM returns the CA certificate in PEM form.
func (p *PKI) CACertificatePEM() []byte { return append([]byte(nil), p.caPEM...) }

// ClientCertificate returns the TPP client certificate (common name "khtest-tpp").
func (p *PKI) ClientCertificate() tls.Certificate { return p.client }

// ClientCertificatePEM returns the client certificate and its PKCS#8 private key in
// PEM form, e.g. to write them to files for a loader.
func (p *PKI) ClientCertificatePEM() (certPEM, keyPEM []byte) {
	return append([]byte(nil), p.clientCertPEM...), append([]byte(nil), p.clientKeyPEM...)
}

// ServerTLSConfig returns the TLS configuration the fake bank serves with: the server
// certificate, TLS 1.2 minimum, and a client certificate from the CA required.
func (p *PKI) ServerTLSConfig() *tls.Config {
	pool := x509.NewCertPool()
	pool.AddCert(p.caCert)
	return &tls.Config{
		Certificates: []tls.Certificate{p.server},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
		MinVersion:   tls.VersionTLS12,
	}
}

// String describes the PKI without key material.
func (p *PKI) String() string {
	return "khtest.PKI{CA: " + p.caCert.Subject.CommonName + ", keys: [REDACTED]}"
}

// GoString is String, so %#v does not print key material either.
func (p *PKI) GoString() string { return p.String() }

func serial() *big.Int {
	n, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	if err != nil {
		return big.NewInt(time.Now().UnixNano())
	}
	return n.Add(n, big.NewInt(1))
}

package kh

import (
	"bytes"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/des"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"crypto/subtle"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"hash"
	"os"
	"unicode/utf16"
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

// maxPKCS12Iterations bounds the KDF iteration counts a file may ask for (OpenSSL uses
// 2048), so that a hostile file cannot make loading take minutes.
const maxPKCS12Iterations = 2_000_000

// ErrPKCS12Unsupported is matched (errors.Is) when a PKCS#12 file uses an encryption
// LoadPKCS12 does not implement (RC2, RC4). Re-export it with a current tool (OpenSSL
// 3's default, `openssl pkcs12 -export`, uses AES) or load PEM files instead.
var ErrPKCS12Unsupported = errors.New("unsupported PKCS#12 encryption")

// LoadPKCS12 builds a client certificate from a PKCS#12 (.p12, .pfx) file's bytes:
// its private key, the certificate that matches it and the other certificates as the
// chain. It uses the standard library only and reads DER-encoded files protected by
// PBES2 (PBKDF2 with HMAC-SHA-1/256/384/512 and AES-128/192/256-CBC or 3DES-CBC: OpenSSL
// 3's default) or by pbeWithSHAAnd3-KeyTripleDES-CBC, with an HMAC-SHA-1/256/384/512
// integrity MAC, which it verifies. Files encrypted with RC2 or RC4 (OpenSSL's -legacy)
// fail with ErrPKCS12Unsupported. Errors never include key material or the password.
func LoadPKCS12(data []byte, password string) (tls.Certificate, error) {
	key, certs, err := decodePKCS12(data, password, maxPKCS12Iterations)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("kh: PKCS#12: %w", err)
	}
	if key == nil {
		return tls.Certificate{}, errors.New("kh: PKCS#12: no private key in the file")
	}
	pub := publicOf(key)
	var leaf *x509.Certificate
	var chain [][]byte
	for _, c := range certs {
		if leaf == nil && pub != nil && sameKey(pub, c.PublicKey) {
			leaf = c
			continue
		}
		chain = append(chain, c.Raw)
	}
	if leaf == nil {
		return tls.Certificate{}, errors.New("kh: PKCS#12: no certificate matches the private key")
	}
	return tls.Certificate{Certificate: append([][]byte{leaf.Raw}, chain...), PrivateKey: key, Leaf: leaf}, nil
}

func publicOf(key crypto.PrivateKey) crypto.PublicKey {
	if s, ok := key.(crypto.Signer); ok {
		return s.Public()
	}
	return nil
}

func sameKey(a, b crypto.PublicKey) bool {
	type equaler interface{ Equal(crypto.PublicKey) bool }
	e, ok := a.(equaler)
	return ok && e.Equal(b)
}

var (
	oidData                  = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 1}
	oidEncryptedData         = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 7, 6}
	oidKeyBag                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 1}
	oidShroudedKeyBag        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 2}
	oidCertBag               = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 10, 1, 3}
	oidX509Certificate       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 22, 1}
	oidPBEWithSHA3DES        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 3}
	oidPBEWithSHA128RC4      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 1}
	oidPBEWithSHA40RC4       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 2}
	oidPBEWithSHA2DES        = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 4}
	oidPBEWithSHA128RC2      = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 5}
	oidPBEWithSHA40RC2       = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 12, 1, 6}
	oidPBES2                 = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 13}
	oidPBKDF2                = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 5, 12}
	oidHMACSHA1              = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 7}
	oidHMACSHA256            = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 9}
	oidHMACSHA384            = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 10}
	oidHMACSHA512            = asn1.ObjectIdentifier{1, 2, 840, 113549, 2, 11}
	oidAES128CBC             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 2}
	oidAES192CBC             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 22}
	oidAES256CBC             = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 1, 42}
	oidDESEDE3CBC            = asn1.ObjectIdentifier{1, 2, 840, 113549, 3, 7}
	oidSHA1                  = asn1.ObjectIdentifier{1, 3, 14, 3, 2, 26}
	oidSHA256                = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 1}
	oidSHA384                = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 2}
	oidSHA512                = asn1.ObjectIdentifier{2, 16, 840, 1, 101, 3, 4, 2, 3}
	errPKCS12Password        = errors.New("wrong password or corrupted file (MAC mismatch)")
	maxPKCS12Size            = 1 << 20
	errPKCS12TooManyIterates = errors.New("iteration count out of range")
)

type pfxPDU struct {
	Version  int
	AuthSafe contentInfo
	MacData  macData `asn1:"optional"`
}

type contentInfo struct {
	ContentType asn1.ObjectIdentifier
	Content     asn1.RawValue `asn1:"tag:0,explicit,optional"`
}

type macData struct {
	Mac        digestInfo
	MacSalt    []byte
	Iterations int `asn1:"optional,default:1"`
}

type digestInfo struct {
	Algorithm pkix.AlgorithmIdentifier
	Digest    []byte
}

type encryptedData struct {
	Version              int
	EncryptedContentInfo encryptedContentInfo
}

type encryptedContentInfo struct {
	ContentType                asn1.ObjectIdentifier
	ContentEncryptionAlgorithm pkix.AlgorithmIdentifier
	EncryptedContent           []byte `asn1:"tag:0,optional"`
}

type safeBag struct {
	ID         asn1.ObjectIdentifier
	Value      asn1.RawValue `asn1:"tag:0,explicit"`
	Attributes asn1.RawValue `asn1:"optional"`
}

type certBag struct {
	ID   asn1.ObjectIdentifier
	Data []byte `asn1:"tag:0,explicit"`
}

type encryptedPrivateKeyInfo struct {
	Algorithm     pkix.AlgorithmIdentifier
	EncryptedData []byte
}

type pbeParams struct {
	Salt       []byte
	Iterations int
}

type pbes2Params struct {
	KeyDerivationFunc pkix.AlgorithmIdentifier
	EncryptionScheme  pkix.AlgorithmIdentifier
}

type pbkdf2Params struct {
	Salt       []byte
	Iterations int
	KeyLength  int                      `asn1:"optional"`
	PRF        pkix.AlgorithmIdentifier `asn1:"optional"`
}

func unmarshalAll(b []byte, v any) error {
	rest, err := asn1.Unmarshal(b, v)
	if err != nil {
		return err
	}
	if len(rest) > 0 {
		return errors.New("trailing data after ASN.1 value")
	}
	return nil
}

func decodePKCS12(data []byte, password string, maxIter int) (crypto.PrivateKey, []*x509.Certificate, error) {
	if len(data) > maxPKCS12Size {
		return nil, nil, errors.New("file larger than 1 MiB")
	}
	var pfx pfxPDU
	if err := unmarshalAll(data, &pfx); err != nil {
		return nil, nil, fmt.Errorf("not a DER PKCS#12 file: %w", err)
	}
	if pfx.Version != 3 {
		return nil, nil, fmt.Errorf("version %d, want 3", pfx.Version)
	}
	if !pfx.AuthSafe.ContentType.Equal(oidData) {
		return nil, nil, errors.New("public-key integrity mode is not supported")
	}
	var authSafe []byte
	if err := unmarshalAll(pfx.AuthSafe.Content.Bytes, &authSafe); err != nil {
		return nil, nil, fmt.Errorf("authSafe: %w", err)
	}
	bmp, err := bmpString(password)
	if err != nil {
		return nil, nil, err
	}
	if len(pfx.MacData.Mac.Algorithm.Algorithm) > 0 {
		if err := verifyMAC(&pfx.MacData, authSafe, bmp, password == "", maxIter); err != nil {
			return nil, nil, err
		}
	}
	var infos []contentInfo
	if err := unmarshalAll(authSafe, &infos); err != nil {
		return nil, nil, fmt.Errorf("authenticated safe: %w", err)
	}
	var key crypto.PrivateKey
	var certs []*x509.Certificate
	for _, ci := range infos {
		var contents []byte
		switch {
		case ci.ContentType.Equal(oidData):
			if err := unmarshalAll(ci.Content.Bytes, &contents); err != nil {
				return nil, nil, fmt.Errorf("safe contents: %w", err)
			}
		case ci.ContentType.Equal(oidEncryptedData):
			var ed encryptedData
			if err := unmarshalAll(ci.Content.Bytes, &ed); err != nil {
				return nil, nil, fmt.Errorf("encrypted safe contents: %w", err)
			}
			contents, err = pbeDecrypt(ed.EncryptedContentInfo.ContentEncryptionAlgorithm, ed.EncryptedContentInfo.EncryptedContent, password, bmp, maxIter)
			if err != nil {
				return nil, nil, err
			}
		default:
			return nil, nil, fmt.Errorf("content type %v is not supported", ci.ContentType)
		}
		var bags []safeBag
		if err := unmarshalAll(contents, &bags); err != nil {
			return nil, nil, fmt.Errorf("safe bags: %w", err)
		}
		for _, bag := range bags {
			switch {
			case bag.ID.Equal(oidCertBag):
				var cb certBag
				if err := unmarshalAll(bag.Value.Bytes, &cb); err != nil {
					return nil, nil, fmt.Errorf("certificate bag: %w", err)
				}
				if !cb.ID.Equal(oidX509Certificate) {
					continue
				}
				c, err := x509.ParseCertificate(cb.Data)
				if err != nil {
					return nil, nil, fmt.Errorf("certificate: %w", err)
				}
				certs = append(certs, c)
			case bag.ID.Equal(oidKeyBag), bag.ID.Equal(oidShroudedKeyBag):
				if key != nil {
					continue
				}
				der := bag.Value.Bytes
				if bag.ID.Equal(oidShroudedKeyBag) {
					var epki encryptedPrivateKeyInfo
					if err := unmarshalAll(bag.Value.Bytes, &epki); err != nil {
						return nil, nil, fmt.Errorf("shrouded key bag: %w", err)
					}
					if der, err = pbeDecrypt(epki.Algorithm, epki.EncryptedData, password, bmp, maxIter); err != nil {
						return nil, nil, err
					}
				}
				k, err := x509.ParsePKCS8PrivateKey(der)
				if err != nil {
					return nil, nil, errors.New("the private key is not a valid PKCS#8 key (wrong password?)")
				}
				switch k.(type) {
				case *rsa.PrivateKey, *ecdsa.PrivateKey, ed25519.PrivateKey:
				default:
					return nil, nil, errors.New("unsupported private key type")
				}
				key = k
			}
		}
	}
	return key, certs, nil
}

// bmpString encodes a password as PKCS#12 wants it for its own KDF: UTF-16 big-endian
// with a two-byte NUL terminator.
func bmpString(s string) ([]byte, error) {
	out := make([]byte, 0, 2*len(s)+2)
	for _, r := range s {
		if r > 0xFFFF {
			for _, u := range utf16.Encode([]rune{r}) {
				out = append(out, byte(u>>8), byte(u))
			}
			continue
		}
		out = append(out, byte(r>>8), byte(r))
	}
	return append(out, 0, 0), nil
}

func hashFor(oid asn1.ObjectIdentifier) (func() hash.Hash, bool) {
	switch {
	case oid.Equal(oidSHA1), oid.Equal(oidHMACSHA1):
		return sha1.New, true
	case oid.Equal(oidSHA256), oid.Equal(oidHMACSHA256):
		return sha256.New, true
	case oid.Equal(oidSHA384), oid.Equal(oidHMACSHA384):
		return sha512.New384, true
	case oid.Equal(oidSHA512), oid.Equal(oidHMACSHA512):
		return sha512.New, true
	}
	return nil, false
}

func verifyMAC(md *macData, content, bmp []byte, emptyPassword bool, maxIter int) error {
	h, ok := hashFor(md.Mac.Algorithm.Algorithm)
	if !ok {
		return fmt.Errorf("MAC algorithm %v: %w", md.Mac.Algorithm.Algorithm, ErrPKCS12Unsupported)
	}
	if md.Iterations < 1 || md.Iterations > maxIter {
		return errPKCS12TooManyIterates
	}
	candidates := [][]byte{bmp}
	if emptyPassword {
		candidates = append(candidates, nil) // some tools use no bytes at all for ""
	}
	for _, pw := range candidates {
		key := pkcs12KDF(h, md.MacSalt, pw, md.Iterations, 3, h().Size())
		m := hmac.New(h, key)
		m.Write(content)
		if subtle.ConstantTimeCompare(m.Sum(nil), md.Mac.Digest) == 1 {
			return nil
		}
	}
	return errPKCS12Password
}

// pkcs12KDF is the key derivation of RFC 7292 appendix B.2 (id 1: key, 2: IV, 3: MAC).
func pkcs12KDF(newHash func() hash.Hash, salt, password []byte, iterations int, id byte, size int) []byte {
	h := newHash()
	u, v := h.Size(), h.BlockSize()
	fill := func(x []byte) []byte {
		if len(x) == 0 {
			return nil
		}
		out := make([]byte, v*((len(x)+v-1)/v))
		for i := range out {
			out[i] = x[i%len(x)]
		}
		return out
	}
	d := bytes.Repeat([]byte{id}, v)
	in := append(fill(salt), fill(password)...)
	var out []byte
	for len(out) < size {
		h.Reset()
		h.Write(d)
		h.Write(in)
		a := h.Sum(nil)
		for j := 1; j < iterations; j++ {
			h.Reset()
			h.Write(a)
			a = h.Sum(a[:0])
		}
		out = append(out, a...)
		if len(out) >= size {
			break
		}
		b := make([]byte, v)
		for i := range b {
			b[i] = a[i%u]
		}
		for off := 0; off < len(in); off += v {
			carry := 1
			for k := v - 1; k >= 0; k-- {
				s := int(in[off+k]) + int(b[k]) + carry
				in[off+k] = byte(s)
				carry = s >> 8
			}
		}
	}
	return out[:size]
}

func pbeDecrypt(alg pkix.AlgorithmIdentifier, data []byte, password string, bmp []byte, maxIter int) ([]byte, error) {
	var block cipher.Block
	var iv []byte
	switch {
	case alg.Algorithm.Equal(oidPBEWithSHA3DES):
		var p pbeParams
		if err := unmarshalAll(alg.Parameters.FullBytes, &p); err != nil {
			return nil, fmt.Errorf("PBE parameters: %w", err)
		}
		if p.Iterations < 1 || p.Iterations > maxIter {
			return nil, errPKCS12TooManyIterates
		}
		key := pkcs12KDF(sha1.New, p.Salt, bmp, p.Iterations, 1, 24)
		iv = pkcs12KDF(sha1.New, p.Salt, bmp, p.Iterations, 2, 8)
		var err error
		if block, err = des.NewTripleDESCipher(key); err != nil {
			return nil, err
		}
	case alg.Algorithm.Equal(oidPBES2):
		var err error
		if block, iv, err = pbes2Cipher(alg.Parameters.FullBytes, password, maxIter); err != nil {
			return nil, err
		}
	case alg.Algorithm.Equal(oidPBEWithSHA40RC2), alg.Algorithm.Equal(oidPBEWithSHA128RC2),
		alg.Algorithm.Equal(oidPBEWithSHA40RC4), alg.Algorithm.Equal(oidPBEWithSHA128RC4),
		alg.Algorithm.Equal(oidPBEWithSHA2DES):
		return nil, fmt.Errorf("legacy encryption %v (RC2/RC4/2-key 3DES): %w", alg.Algorithm, ErrPKCS12Unsupported)
	default:
		return nil, fmt.Errorf("encryption %v: %w", alg.Algorithm, ErrPKCS12Unsupported)
	}
	bs := block.BlockSize()
	if len(data) == 0 || len(data)%bs != 0 || len(iv) != bs {
		return nil, errors.New("encrypted data has a bad length")
	}
	out := make([]byte, len(data))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, data)
	n := int(out[len(out)-1])
	if n == 0 || n > bs || n > len(out) {
		return nil, errPKCS12Password
	}
	for _, b := range out[len(out)-n:] {
		if int(b) != n {
			return nil, errPKCS12Password
		}
	}
	return out[:len(out)-n], nil
}

func pbes2Cipher(params []byte, password string, maxIter int) (cipher.Block, []byte, error) {
	var p pbes2Params
	if err := unmarshalAll(params, &p); err != nil {
		return nil, nil, fmt.Errorf("PBES2 parameters: %w", err)
	}
	if !p.KeyDerivationFunc.Algorithm.Equal(oidPBKDF2) {
		return nil, nil, fmt.Errorf("PBES2 key derivation %v: %w", p.KeyDerivationFunc.Algorithm, ErrPKCS12Unsupported)
	}
	var kp pbkdf2Params
	if err := unmarshalAll(p.KeyDerivationFunc.Parameters.FullBytes, &kp); err != nil {
		return nil, nil, fmt.Errorf("PBKDF2 parameters: %w", err)
	}
	if kp.Iterations < 1 || kp.Iterations > maxIter {
		return nil, nil, errPKCS12TooManyIterates
	}
	prf := sha1.New
	if len(kp.PRF.Algorithm) > 0 {
		var ok bool
		if prf, ok = hashFor(kp.PRF.Algorithm); !ok {
			return nil, nil, fmt.Errorf("PBKDF2 PRF %v: %w", kp.PRF.Algorithm, ErrPKCS12Unsupported)
		}
	}
	var keyLen int
	var newCipher func([]byte) (cipher.Block, error)
	enc := p.EncryptionScheme.Algorithm
	switch {
	case enc.Equal(oidAES128CBC):
		keyLen, newCipher = 16, aes.NewCipher
	case enc.Equal(oidAES192CBC):
		keyLen, newCipher = 24, aes.NewCipher
	case enc.Equal(oidAES256CBC):
		keyLen, newCipher = 32, aes.NewCipher
	case enc.Equal(oidDESEDE3CBC):
		keyLen, newCipher = 24, des.NewTripleDESCipher
	default:
		return nil, nil, fmt.Errorf("PBES2 cipher %v: %w", enc, ErrPKCS12Unsupported)
	}
	if kp.KeyLength != 0 && kp.KeyLength != keyLen {
		return nil, nil, errors.New("PBKDF2 key length does not fit the cipher")
	}
	var iv []byte
	if err := unmarshalAll(p.EncryptionScheme.Parameters.FullBytes, &iv); err != nil {
		return nil, nil, fmt.Errorf("PBES2 IV: %w", err)
	}
	key, err := pbkdf2.Key(prf, password, kp.Salt, kp.Iterations, keyLen)
	if err != nil {
		return nil, nil, fmt.Errorf("PBKDF2: %w", err)
	}
	block, err := newCipher(key)
	if err != nil {
		return nil, nil, err
	}
	return block, iv, nil
}

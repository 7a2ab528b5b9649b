package attestation

import (
	"bytes"
	"crypto"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
)

// PEM block types (RFC 7468 §5, §10, §11; SEC 1 and PKCS #1 keys as OpenSSL
// writes them).
const (
	pemCertificate   = "CERTIFICATE"
	pemPrivateKey    = "PRIVATE KEY"
	pemECPrivateKey  = "EC PRIVATE KEY"
	pemRSAPrivateKey = "RSA PRIVATE KEY"
)

// MarshalPEM encodes the CA: certs holds the intermediate and then the root
// certificate, keys the intermediate and then the root key as PKCS #8
// (RFC 5208). [ParseCAPEM] reads both back.
func (ca *CA) MarshalPEM() (certs, keys []byte, err error) {
	if err := ca.check(); err != nil {
		return nil, nil, fmt.Errorf("encoding CA: %w", err)
	}
	if ca.RootKey == nil {
		return nil, nil, errors.New("encoding CA: CA has no root key")
	}
	var certBuf, keyBuf bytes.Buffer
	for _, c := range []*x509.Certificate{ca.Intermediate, ca.Root} {
		if err := pem.Encode(&certBuf, &pem.Block{Type: pemCertificate, Bytes: c.Raw}); err != nil {
			return nil, nil, fmt.Errorf("encoding CA certificate: %w", err)
		}
	}
	for _, k := range []crypto.Signer{ca.IntermediateKey, ca.RootKey} {
		der, err := x509.MarshalPKCS8PrivateKey(k)
		if err != nil {
			return nil, nil, fmt.Errorf("encoding CA key: %w", err)
		}
		if err := pem.Encode(&keyBuf, &pem.Block{Type: pemPrivateKey, Bytes: der}); err != nil {
			return nil, nil, fmt.Errorf("encoding CA key: %w", err)
		}
	}
	return certBuf.Bytes(), keyBuf.Bytes(), nil
}

// ParseCAPEM loads a CA from two PEM certificates and their two private
// keys, in any order. The root is the self-signed certificate; the other
// must be a CA certificate signed by it. Each key must match one of the
// certificates.
func ParseCAPEM(certPEM, keyPEM []byte) (*CA, error) {
	certs, err := parseCertificatesPEM(certPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing CA certificates: %w", err)
	}
	if len(certs) != 2 {
		return nil, fmt.Errorf("parsing CA certificates: found %d certificates, want 2 (root and intermediate)", len(certs))
	}
	keys, err := parsePrivateKeysPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("parsing CA keys: %w", err)
	}
	if len(keys) != 2 {
		return nil, fmt.Errorf("parsing CA keys: found %d keys, want 2 (root and intermediate)", len(keys))
	}
	root, inter := certs[0], certs[1]
	if !isSelfSigned(root) {
		root, inter = inter, root
	}
	if !isSelfSigned(root) {
		return nil, errors.New("parsing CA certificates: neither certificate is a self-signed root")
	}
	if isSelfSigned(inter) {
		return nil, errors.New("parsing CA certificates: both certificates are self-signed; want a root and an intermediate signed by it")
	}
	if !inter.BasicConstraintsValid || !inter.IsCA {
		return nil, fmt.Errorf("parsing CA certificates: intermediate %q is not a CA certificate", inter.Subject.CommonName)
	}
	if err := inter.CheckSignatureFrom(root); err != nil {
		return nil, fmt.Errorf("parsing CA certificates: intermediate %q is not signed by root %q: %w", inter.Subject.CommonName, root.Subject.CommonName, err)
	}
	ca := &CA{Root: root, Intermediate: inter}
	for i, k := range keys {
		switch {
		case publicKeyEqual(k.Public(), root.PublicKey) && ca.RootKey == nil:
			ca.RootKey = k
		case publicKeyEqual(k.Public(), inter.PublicKey) && ca.IntermediateKey == nil:
			ca.IntermediateKey = k
		default:
			return nil, fmt.Errorf("parsing CA keys: key %d matches neither the root nor the intermediate certificate", i)
		}
	}
	return ca, nil
}

// MarshalPEM encodes the batch: chain holds its certificates, batch
// certificate first, and key the attestation key as PKCS #8. [ImportBatch]
// reads both back.
func (b *Batch) MarshalPEM() (chain, key []byte, err error) {
	der, err := b.MarshalKey()
	if err != nil {
		return nil, nil, err
	}
	var buf bytes.Buffer
	for _, c := range b.Chain {
		if err := pem.Encode(&buf, &pem.Block{Type: pemCertificate, Bytes: c}); err != nil {
			return nil, nil, fmt.Errorf("encoding batch certificate: %w", err)
		}
	}
	return buf.Bytes(), pem.EncodeToMemory(&pem.Block{Type: pemPrivateKey, Bytes: der}), nil
}

// pemBlocks splits data into PEM blocks. Text between blocks, such as
// OpenSSL's "Bag Attributes", is ignored; data with no block is an error.
func pemBlocks(data []byte) ([]*pem.Block, error) {
	var blocks []*pem.Block
	for {
		block, rest := pem.Decode(data)
		if block == nil {
			break
		}
		blocks = append(blocks, block)
		data = rest
	}
	if len(blocks) == 0 {
		return nil, errors.New("no PEM data found")
	}
	return blocks, nil
}

// parseCertificatesPEM parses every block of data as a certificate.
func parseCertificatesPEM(data []byte) ([]*x509.Certificate, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	certs := make([]*x509.Certificate, len(blocks))
	for i, b := range blocks {
		if b.Type != pemCertificate {
			return nil, fmt.Errorf("PEM block %d is %q, want %q", i, b.Type, pemCertificate)
		}
		if certs[i], err = x509.ParseCertificate(b.Bytes); err != nil {
			return nil, fmt.Errorf("certificate %d: %w", i, err)
		}
	}
	return certs, nil
}

// parsePrivateKeysPEM parses every block of data as a private key: PKCS #8,
// SEC 1 (EC) or PKCS #1 (RSA). Encrypted keys are refused.
func parsePrivateKeysPEM(data []byte) ([]crypto.Signer, error) {
	blocks, err := pemBlocks(data)
	if err != nil {
		return nil, err
	}
	keys := make([]crypto.Signer, len(blocks))
	for i, b := range blocks {
		if _, ok := b.Headers["Proc-Type"]; ok {
			return nil, fmt.Errorf("key %d is encrypted; decrypt it first (openssl pkey -in key.pem -out plain.pem)", i)
		}
		var parsed any
		switch b.Type {
		case pemPrivateKey:
			parsed, err = x509.ParsePKCS8PrivateKey(b.Bytes)
		case pemECPrivateKey:
			parsed, err = x509.ParseECPrivateKey(b.Bytes)
		case pemRSAPrivateKey:
			parsed, err = x509.ParsePKCS1PrivateKey(b.Bytes)
		default:
			return nil, fmt.Errorf("PEM block %d is %q, want %q, %q or %q", i, b.Type, pemPrivateKey, pemECPrivateKey, pemRSAPrivateKey)
		}
		if err != nil {
			return nil, fmt.Errorf("key %d: %w", i, err)
		}
		signer, ok := parsed.(crypto.Signer)
		if !ok {
			return nil, fmt.Errorf("key %d: %T cannot sign", i, parsed)
		}
		keys[i] = signer
	}
	return keys, nil
}

// publicKeyEqual compares two public keys of the standard library types.
func publicKeyEqual(a, b crypto.PublicKey) bool {
	k, ok := a.(interface{ Equal(crypto.PublicKey) bool })
	return ok && k.Equal(b)
}

// isSelfSigned reports whether c names itself as issuer and its signature
// verifies with its own key.
func isSelfSigned(c *x509.Certificate) bool {
	return bytes.Equal(c.RawIssuer, c.RawSubject) && c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) == nil
}

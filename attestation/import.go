package attestation

import (
	"bytes"
	"crypto/x509"
	"encoding/asn1"
	"errors"
	"fmt"
)

// ImportBatch loads a batch attestation key and certificate chain that a
// hardware team already has, as PEM: certChainPEM holds the batch
// certificate first, then each issuing CA up to and including the root;
// keyPEM holds the attestation key as PKCS #8, SEC 1 or PKCS #1.
//
// Before anything uses the batch, ImportBatch checks that:
//
//   - the key is the one the batch certificate certifies;
//   - each certificate is issued by the next (issuer name, CA flag, key
//     usage, path length, signature) and the last is a self-signed root;
//   - the batch certificate meets WebAuthn L3 §8.2.1: X.509 v3; exactly one
//     subject C (ISO 3166 alpha-2), O, OU = "Authenticator Attestation" and
//     CN; Basic Constraints present with CA=false; an attestation key type
//     WebAuthn can use;
//   - its id-fido-gen-ce-aaguid extension is present, non-critical, and
//     equal to aaguid, the AAGUID of the profile the batch serves.
//
// Each failure is an error naming the field, for example
// `batch certificate: OU is "Foo", want "Authenticator Attestation"`.
// Validity periods are not checked against a clock: an expired batch is a
// legitimate negative test.
func ImportBatch(certChainPEM, keyPEM []byte, aaguid [16]byte) (*Batch, error) {
	certs, err := parseCertificatesPEM(certChainPEM)
	if err != nil {
		return nil, fmt.Errorf("importing batch attestation: certificate chain: %w", err)
	}
	keys, err := parsePrivateKeysPEM(keyPEM)
	if err != nil {
		return nil, fmt.Errorf("importing batch attestation: key: %w", err)
	}
	if len(keys) != 1 {
		return nil, fmt.Errorf("importing batch attestation: key file holds %d keys, want 1", len(keys))
	}
	key := keys[0]
	leaf := certs[0]
	if !publicKeyEqual(key.Public(), leaf.PublicKey) {
		return nil, errors.New("importing batch attestation: key does not match the batch certificate's public key")
	}
	if err := checkChain(certs); err != nil {
		return nil, fmt.Errorf("importing batch attestation: certificate chain: %w", err)
	}
	if err := checkBatchCertificate(leaf); err != nil {
		return nil, fmt.Errorf("importing batch attestation: %w", err)
	}
	got, err := certificateAAGUID(leaf)
	if err != nil {
		return nil, fmt.Errorf("importing batch attestation: batch certificate: %w", err)
	}
	if got != aaguid {
		return nil, fmt.Errorf("importing batch attestation: batch certificate: %w", &AAGUIDMismatchError{Certificate: got, Profile: aaguid})
	}
	chain := make([][]byte, len(certs))
	for i, c := range certs {
		chain[i] = bytes.Clone(c.Raw)
	}
	return &Batch{Key: key, Chain: chain}, nil
}

// AAGUIDMismatchError reports a batch certificate made for another model:
// its id-fido-gen-ce-aaguid extension is not the profile's AAGUID.
type AAGUIDMismatchError struct {
	Certificate, Profile [16]byte
}

func (e *AAGUIDMismatchError) Error() string {
	return fmt.Sprintf("AAGUID is %s, want %s (the profile's)", formatUUID(e.Certificate), formatUUID(e.Profile))
}

// checkChain checks that certs[i] is issued by certs[i+1] and that the last
// certificate is a self-signed root (RFC 5280 §6.1.3–§6.1.4, without
// validity periods, policies or name constraints).
func checkChain(certs []*x509.Certificate) error {
	if len(certs) < 2 {
		return fmt.Errorf("found %d certificate, want the batch certificate followed by its CA certificates up to the root", len(certs))
	}
	for i := 0; i+1 < len(certs); i++ {
		child, parent := certs[i], certs[i+1]
		if !bytes.Equal(child.RawIssuer, parent.RawSubject) {
			return fmt.Errorf("certificate %d (%s) is not issued by certificate %d (%s): issuer %q, subject %q",
				i, describe(child), i+1, describe(parent), child.Issuer, parent.Subject)
		}
		// CheckSignatureFrom also requires the parent to be a CA with
		// keyCertSign when it has a key usage extension.
		if err := child.CheckSignatureFrom(parent); err != nil {
			return fmt.Errorf("certificate %d (%s) is not signed by certificate %d (%s): %w",
				i, describe(child), i+1, describe(parent), err)
		}
		// The number of CA certificates between parent and the batch
		// certificate must not exceed parent's path length constraint.
		if below := i; parent.MaxPathLen >= 0 && (parent.MaxPathLen > 0 || parent.MaxPathLenZero) && below > parent.MaxPathLen {
			return fmt.Errorf("certificate %d (%s) allows %d CA certificates below it, the chain has %d",
				i+1, describe(parent), parent.MaxPathLen, below)
		}
	}
	root := certs[len(certs)-1]
	if !isSelfSigned(root) {
		return fmt.Errorf("certificate %d (%s) is not a self-signed root", len(certs)-1, describe(root))
	}
	return nil
}

// checkBatchCertificate checks the packed attestation certificate rules of
// WebAuthn L3 §8.2.1 that do not depend on authenticator data.
func checkBatchCertificate(leaf *x509.Certificate) error {
	if leaf.Version != 3 {
		return fmt.Errorf("batch certificate: version is %d, want 3", leaf.Version)
	}
	attrs := map[string][]string{}
	for _, atv := range leaf.Subject.Names {
		s, ok := atv.Value.(string)
		if !ok {
			return fmt.Errorf("batch certificate: subject attribute %v is not a string", atv.Type)
		}
		attrs[atv.Type.String()] = append(attrs[atv.Type.String()], s)
	}
	one := func(oid asn1.ObjectIdentifier, name string) (string, error) {
		values := attrs[oid.String()]
		if len(values) != 1 {
			return "", fmt.Errorf("batch certificate: subject has %d %s attributes, want 1", len(values), name)
		}
		if values[0] == "" {
			return "", fmt.Errorf("batch certificate: %s is empty", name)
		}
		return values[0], nil
	}
	c, err := one(oidCountry(), "C")
	if err != nil {
		return err
	}
	if !isAlpha2(c) {
		return fmt.Errorf("batch certificate: C is %q, want an ISO 3166 alpha-2 code such as \"US\"", c)
	}
	if _, err := one(oidOrganization(), "O"); err != nil {
		return err
	}
	if units := attrs[oidOrgUnit().String()]; len(units) != 1 {
		return fmt.Errorf("batch certificate: subject has %d OU attributes, want 1 (%q)", len(units), attestationUnit)
	} else if units[0] != attestationUnit {
		return fmt.Errorf("batch certificate: OU is %q, want %q", units[0], attestationUnit)
	}
	if _, err := one(oidCommonName(), "CN"); err != nil {
		return err
	}
	if !leaf.BasicConstraintsValid {
		return errors.New("batch certificate: Basic Constraints extension is missing, want it present with CA=false")
	}
	if leaf.IsCA {
		return errors.New("batch certificate: Basic Constraints has CA=true, want CA=false")
	}
	if _, err := algForKey(leaf.PublicKey); err != nil {
		return fmt.Errorf("batch certificate: public key: %w", err)
	}
	return nil
}

// describe names a certificate in errors by its subject CN, or its whole
// subject when it has no CN.
func describe(c *x509.Certificate) string {
	if c.Subject.CommonName != "" {
		return fmt.Sprintf("CN=%q", c.Subject.CommonName)
	}
	return fmt.Sprintf("subject %q", c.Subject.String())
}

// formatUUID writes an AAGUID in the 8-4-4-4-12 form (RFC 9562 §4).
func formatUUID(u [16]byte) string {
	return fmt.Sprintf("%x-%x-%x-%x-%x", u[0:4], u[4:6], u[6:8], u[8:10], u[10:16])
}

package attestation

import (
	"crypto"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"
)

// IssueSigner draws a fresh P-256 key and issues, under the intermediate
// CA, a certificate for signing FIDO metadata BLOBs (MDS 3.0 §3.1.7,
// Metadata BLOB, x5c): subject C=US, O=the intermediate's O, CN=cn (O and
// CN as UTF8String); key usage digitalSignature; Basic Constraints present
// with CA=false; no extended key usage (go-webauthn and python-fido2
// verify the chain for any usage); no CRL or AIA URLs, since a relying
// party's revocation check would try to fetch them. Like every certificate
// the CA issues it is valid from one hour before now for twenty years.
//
// The returned chain is the signing certificate, the intermediate and the
// root: a BLOB's x5c carries the first two, and the relying party trusts
// the root. The key and the serial number are drawn from rand in that
// order and signing is deterministic, so the result is a function of its
// arguments.
func (ca *CA) IssueSigner(rand io.Reader, now time.Time, cn string) (crypto.Signer, []*x509.Certificate, error) {
	if err := ca.check(); err != nil {
		return nil, nil, fmt.Errorf("issuing metadata signing certificate: %w", err)
	}
	if rand == nil {
		return nil, nil, errors.New("issuing metadata signing certificate: no randomness source")
	}
	if cn == "" || !utf8.ValidString(cn) || utf8.RuneCountInString(cn) > maxCommonNameLength {
		return nil, nil, fmt.Errorf("issuing metadata signing certificate: common name %q must be 1 to %d characters of valid UTF-8", cn, maxCommonNameLength)
	}
	org := ""
	if len(ca.Intermediate.Subject.Organization) > 0 {
		org = ca.Intermediate.Subject.Organization[0]
	}
	if err := checkOrganization(org); err != nil {
		return nil, nil, fmt.Errorf("issuing metadata signing certificate: intermediate CA: %w", err)
	}
	key, serial, err := drawKeyAndSerial(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("issuing metadata signing certificate: %w", err)
	}
	subject, err := rawSubject(org, "", cn)
	if err != nil {
		return nil, nil, fmt.Errorf("issuing metadata signing certificate: subject: %w", err)
	}
	notBefore, notAfter := defaultValidity(now)
	template := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          keyID(&key.PublicKey),
	}
	_, cert, err := issueCertificate(rand, template, ca.Intermediate, &key.PublicKey, ca.IntermediateKey)
	if err != nil {
		return nil, nil, fmt.Errorf("issuing metadata signing certificate: %w", err)
	}
	return key, []*x509.Certificate{cert, ca.Intermediate, ca.Root}, nil
}

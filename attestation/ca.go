package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"time"
	"unicode/utf8"
)

// CA is a test attestation certificate authority: a root CA and an
// intermediate CA under it, which issues batch certificates for packed and
// fido-u2f attestation (WebAuthn L3 §8.2.1, §8.6), enterprise attestation
// certificates (CTAP 2.1 §7.1) and TPM AIK certificates (WebAuthn L3 §8.3.1).
// Relying parties trust Root, through FIDO metadata (MDS3
// attestationRootCertificates).
type CA struct {
	// Root is the self-signed root certificate; its path length is limited
	// to one CA below it.
	Root *x509.Certificate
	// Intermediate is the issuing CA, signed by Root, with path length zero.
	Intermediate *x509.Certificate
	// RootKey is Root's private key.
	RootKey crypto.Signer
	// IntermediateKey is Intermediate's private key; it signs every
	// certificate the CA issues.
	IntermediateKey crypto.Signer
}

// Names of the CA certificates and the default batch certificate.
const (
	rootCommonName         = "Attestation Root CA"
	intermediateCommonName = "Attestation Intermediate CA"
	batchCommonName        = "Batch Attestation"
	// maxCommonNameLength is ub-common-name (RFC 5280 Appendix A.1).
	maxCommonNameLength = 64
	// maxSerialNumberExtSize bounds the enterprise serial number extension;
	// CTAP 2.1 §7.1 sets no size, this keeps certificates small.
	maxSerialNumberExtSize = 64
)

// oidSerialNumber is id-fido-gen-ce-sernum, the per-device serial number of
// enterprise attestation certificates (CTAP 2.1 §7.1.1, FIDO Metadata
// Statement §3.1 "id-fido-gen-ce-sernum").
func oidSerialNumber() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 2}
}

// oidFirmwareVersion is id-fido-gen-ce-fw-version (WebAuthn L3 §8.2.1,
// FIDO Metadata Statement §3.1).
func oidFirmwareVersion() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 5}
}

// NewCA issues a P-256 root CA and an intermediate CA under it, both with
// subject C=US, O=organization and a fixed CN (O and CN as UTF8String),
// valid from one hour before now for twenty years, with no CRL or AIA URLs.
// The root allows one CA below it; the intermediate allows none.
//
// Keys and serial numbers are drawn from rand (a key, then its serial
// number, root first) and certificates are signed deterministically
// (RFC 6979), so the same rand stream, now and organization yield the same
// CA byte for byte.
func NewCA(rand io.Reader, now time.Time, organization string) (*CA, error) {
	if rand == nil {
		return nil, errors.New("issuing attestation CA: no randomness source")
	}
	if err := checkOrganization(organization); err != nil {
		return nil, fmt.Errorf("issuing attestation CA: %w", err)
	}
	rootKey, rootSerial, err := drawKeyAndSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("issuing attestation CA: root: %w", err)
	}
	interKey, interSerial, err := drawKeyAndSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("issuing attestation CA: intermediate: %w", err)
	}
	notBefore, notAfter := defaultValidity(now)

	rootSubject, err := rawSubject(organization, "", rootCommonName)
	if err != nil {
		return nil, fmt.Errorf("issuing attestation CA: root subject: %w", err)
	}
	rootTemplate := &x509.Certificate{
		SerialNumber:          rootSerial,
		RawSubject:            rootSubject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLen:            1,
		SubjectKeyId:          keyID(&rootKey.PublicKey),
	}
	_, root, err := issueCertificate(nil, rootTemplate, rootTemplate, &rootKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("issuing attestation CA: root certificate: %w", err)
	}

	interSubject, err := rawSubject(organization, "", intermediateCommonName)
	if err != nil {
		return nil, fmt.Errorf("issuing attestation CA: intermediate subject: %w", err)
	}
	interTemplate := &x509.Certificate{
		SerialNumber:          interSerial,
		RawSubject:            interSubject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		MaxPathLenZero:        true,
		SubjectKeyId:          keyID(&interKey.PublicKey),
	}
	_, inter, err := issueCertificate(nil, interTemplate, root, &interKey.PublicKey, rootKey)
	if err != nil {
		return nil, fmt.Errorf("issuing attestation CA: intermediate certificate: %w", err)
	}
	return &CA{Root: root, Intermediate: inter, RootKey: rootKey, IntermediateKey: interKey}, nil
}

// BatchOptions adjusts a batch certificate issued by [CA.IssueBatch]. The
// zero value issues a certificate that meets every rule of WebAuthn L3
// §8.2.1; several fields exist to break those rules on purpose, for relying
// parties' negative tests.
type BatchOptions struct {
	// Organization is the subject O; empty means the intermediate CA's O.
	Organization string
	// CommonName is the subject CN; empty means "Batch Attestation".
	CommonName string
	// Country is the subject C, an ISO 3166 alpha-2 code; empty means "US".
	Country string
	// NotBefore and NotAfter override the validity period, which otherwise
	// runs from one hour before now for twenty years. Set them to issue an
	// expired or not yet valid certificate.
	NotBefore, NotAfter time.Time
	// CertAAGUID, when set, is written into the id-fido-gen-ce-aaguid
	// extension instead of the aaguid argument, so that the certificate
	// disagrees with authenticator data.
	CertAAGUID *[16]byte
	// SerialNumberExt, when set, adds id-fido-gen-ce-sernum
	// (1.3.6.1.4.1.45724.1.1.2), a per-device serial number as an OCTET
	// STRING. CTAP 2.1 §7.1 allows it only in enterprise attestation
	// certificates; never set it for an ordinary batch.
	SerialNumberExt []byte
	// FirmwareVersion, when set, adds id-fido-gen-ce-fw-version
	// (1.3.6.1.4.1.45724.1.1.5) as an INTEGER.
	FirmwareVersion *int64
}

// IssueBatch draws a fresh P-256 attestation key and issues its batch
// certificate under the intermediate CA. Unless opts says otherwise the
// certificate meets WebAuthn L3 §8.2.1: X.509 v3; subject C (PrintableString),
// O, OU="Authenticator Attestation" and CN (UTF8String); Basic Constraints
// present with CA=false; key usage digitalSignature; the non-critical
// id-fido-gen-ce-aaguid extension holding aaguid; no CRL or AIA URLs.
//
// The returned chain is the batch certificate, the intermediate and the root.
// The key and the serial number are drawn from rand in that order, and
// signing is deterministic for ECDSA CA keys, so the result is a function of
// its arguments.
func (ca *CA) IssueBatch(rand io.Reader, now time.Time, aaguid [16]byte, opts BatchOptions) (*Batch, error) {
	if err := ca.check(); err != nil {
		return nil, fmt.Errorf("issuing batch certificate: %w", err)
	}
	if rand == nil {
		return nil, errors.New("issuing batch certificate: no randomness source")
	}
	org := opts.Organization
	if org == "" && len(ca.Intermediate.Subject.Organization) > 0 {
		org = ca.Intermediate.Subject.Organization[0]
	}
	if err := checkOrganization(org); err != nil {
		return nil, fmt.Errorf("issuing batch certificate: %w", err)
	}
	cn := opts.CommonName
	if cn == "" {
		cn = batchCommonName
	}
	if !utf8.ValidString(cn) || utf8.RuneCountInString(cn) > maxCommonNameLength {
		return nil, fmt.Errorf("issuing batch certificate: common name %q must be 1 to %d characters of valid UTF-8", cn, maxCommonNameLength)
	}
	country := opts.Country
	if country == "" {
		country = batchCountry
	}
	if !isAlpha2(country) {
		return nil, fmt.Errorf("issuing batch certificate: country %q is not two capital letters (ISO 3166 alpha-2)", country)
	}
	notBefore, notAfter, err := validity(now, opts.NotBefore, opts.NotAfter)
	if err != nil {
		return nil, fmt.Errorf("issuing batch certificate: %w", err)
	}
	if n := len(opts.SerialNumberExt); opts.SerialNumberExt != nil && (n == 0 || n > maxSerialNumberExtSize) {
		return nil, fmt.Errorf("issuing batch certificate: serial number extension is %d bytes, want 1 to %d", n, maxSerialNumberExtSize)
	}
	if opts.FirmwareVersion != nil && *opts.FirmwareVersion < 0 {
		return nil, fmt.Errorf("issuing batch certificate: firmware version %d is negative", *opts.FirmwareVersion)
	}

	key, serial, err := drawKeyAndSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("issuing batch certificate: %w", err)
	}
	subject, err := rawSubjectIn(country, org, attestationUnit, cn)
	if err != nil {
		return nil, fmt.Errorf("issuing batch certificate: subject: %w", err)
	}
	certAAGUID := aaguid
	if opts.CertAAGUID != nil {
		certAAGUID = *opts.CertAAGUID
	}
	exts, err := fidoExtensions(certAAGUID, opts.SerialNumberExt, opts.FirmwareVersion)
	if err != nil {
		return nil, fmt.Errorf("issuing batch certificate: %w", err)
	}
	template := &x509.Certificate{
		SerialNumber:          serial,
		RawSubject:            subject,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          keyID(&key.PublicKey),
		ExtraExtensions:       exts,
	}
	der, _, err := issueCertificate(rand, template, ca.Intermediate, &key.PublicKey, ca.IntermediateKey)
	if err != nil {
		return nil, fmt.Errorf("issuing batch certificate: %w", err)
	}
	return &Batch{Key: key, Chain: [][]byte{der, ca.Intermediate.Raw, ca.Root.Raw}}, nil
}

// fidoExtensions builds the FIDO certificate extensions, all non-critical:
// id-fido-gen-ce-aaguid (always), id-fido-gen-ce-sernum and
// id-fido-gen-ce-fw-version (when given).
func fidoExtensions(aaguid [16]byte, serialNumber []byte, firmwareVersion *int64) ([]pkix.Extension, error) {
	value, err := asn1.Marshal(aaguid[:])
	if err != nil {
		return nil, fmt.Errorf("encoding AAGUID extension: %w", err)
	}
	exts := []pkix.Extension{{Id: oidAAGUID(), Critical: false, Value: value}}
	if serialNumber != nil {
		value, err := asn1.Marshal(serialNumber)
		if err != nil {
			return nil, fmt.Errorf("encoding serial number extension: %w", err)
		}
		exts = append(exts, pkix.Extension{Id: oidSerialNumber(), Critical: false, Value: value})
	}
	if firmwareVersion != nil {
		value, err := asn1.Marshal(*firmwareVersion)
		if err != nil {
			return nil, fmt.Errorf("encoding firmware version extension: %w", err)
		}
		exts = append(exts, pkix.Extension{Id: oidFirmwareVersion(), Critical: false, Value: value})
	}
	return exts, nil
}

// check reports whether the CA has everything it needs to issue.
func (ca *CA) check() error {
	switch {
	case ca == nil:
		return errors.New("no CA")
	case ca.Root == nil:
		return errors.New("CA has no root certificate")
	case ca.Intermediate == nil:
		return errors.New("CA has no intermediate certificate")
	case ca.IntermediateKey == nil:
		return errors.New("CA has no intermediate key")
	}
	return nil
}

// checkOrganization checks a subject O against ub-organization-name.
func checkOrganization(organization string) error {
	if organization == "" || !utf8.ValidString(organization) || utf8.RuneCountInString(organization) > maxOrganizationLength {
		return fmt.Errorf("organization %q must be 1 to %d characters of valid UTF-8", organization, maxOrganizationLength)
	}
	return nil
}

// isAlpha2 reports whether s has the shape of an ISO 3166 alpha-2 code.
func isAlpha2(s string) bool {
	return len(s) == 2 && s[0] >= 'A' && s[0] <= 'Z' && s[1] >= 'A' && s[1] <= 'Z'
}

// defaultValidity is one hour before now, truncated to the second X.509
// times carry, for batchValidityYears.
func defaultValidity(now time.Time) (notBefore, notAfter time.Time) {
	notBefore = now.UTC().Add(-batchBackdate).Truncate(time.Second)
	return notBefore, notBefore.AddDate(batchValidityYears, 0, 0)
}

// validity applies overrides to the default validity period.
func validity(now, notBefore, notAfter time.Time) (time.Time, time.Time, error) {
	defBefore, defAfter := defaultValidity(now)
	if notBefore.IsZero() {
		notBefore = defBefore
	}
	if notAfter.IsZero() {
		notAfter = defAfter
	}
	notBefore = notBefore.UTC().Truncate(time.Second)
	notAfter = notAfter.UTC().Truncate(time.Second)
	if !notAfter.After(notBefore) {
		return time.Time{}, time.Time{}, fmt.Errorf("validity: NotAfter %s is not after NotBefore %s", notAfter.Format(time.RFC3339), notBefore.Format(time.RFC3339))
	}
	return notBefore, notAfter, nil
}

// drawKeyAndSerial draws a P-256 key and then a serial number from rand.
func drawKeyAndSerial(rand io.Reader) (*ecdsa.PrivateKey, *big.Int, error) {
	key, err := deriveP256Key(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("deriving key: %w", err)
	}
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, nil, fmt.Errorf("drawing serial number: %w", err)
	}
	return key, serial, nil
}

// issueCertificate creates a certificate and parses it back. An ECDSA
// signer signs deterministically (RFC 6979); any other signer gets rand.
func issueCertificate(rand io.Reader, template, parent *x509.Certificate, pub crypto.PublicKey, signer crypto.Signer) ([]byte, *x509.Certificate, error) {
	if k, ok := signer.(*ecdsa.PrivateKey); ok {
		signer = rfc6979Signer{k}
	}
	der, err := x509.CreateCertificate(rand, template, parent, pub, signer)
	if err != nil {
		return nil, nil, err
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, fmt.Errorf("parsing issued certificate: %w", err)
	}
	return der, cert, nil
}

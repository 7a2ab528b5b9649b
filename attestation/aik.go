package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1" // RFC 5280 §4.2.1.2 method 1 key identifiers
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"time"
	"unicode/utf8"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"

	"github.com/softkeydev/softkey/ctap2"
)

// aikRSABits is the size of RSA AIKs, the size TPMs and Windows Hello use.
const aikRSABits = 2048

// maxTPMModelLength bounds tpmModel; TPM_PT_VENDOR_STRING_1..4 hold 16
// bytes, and RFC 5280's ub-name (32768) is far above anything sensible.
const maxTPMModelLength = 64

// TCG object identifiers (TCG EK Credential Profile for TPM 2.0 §3.2.9 and
// §5; WebAuthn L3 §8.3.1).
func oidTPMManufacturer() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{2, 23, 133, 2, 1} }
func oidTPMModel() asn1.ObjectIdentifier        { return asn1.ObjectIdentifier{2, 23, 133, 2, 2} }
func oidTPMVersion() asn1.ObjectIdentifier      { return asn1.ObjectIdentifier{2, 23, 133, 2, 3} }
func oidAIKCertificate() asn1.ObjectIdentifier  { return asn1.ObjectIdentifier{2, 23, 133, 8, 3} }
func oidSubjectAltName() asn1.ObjectIdentifier  { return asn1.ObjectIdentifier{2, 5, 29, 17} }

// NewAIK draws an attestation identity key and issues its AIK certificate
// under the CA's intermediate, for "tpm" attestation statements ([TPM]).
// The key is P-256 when info.AIKAlg is zero or ES256, and RSA-2048 for
// RS256 and RS1. The returned chain is the AIK certificate, the intermediate
// and the root.
//
// The certificate meets WebAuthn L3 §8.3.1: X.509 v3; an empty subject; a
// critical Subject Alternative Name (TCG EK Credential Profile §3.2.9)
// holding one directoryName with tpmManufacturer "id:XXXXXXXX"
// (2.23.133.2.1), tpmModel (2.23.133.2.2) and tpmVersion "id:XXXXXXXX"
// (2.23.133.2.3), all UTF8String; extended key usage tcg-kp-AIKCertificate
// (2.23.133.8.3); Basic Constraints present with CA=false; key usage
// digitalSignature; and the non-critical id-fido-gen-ce-aaguid extension
// holding aaguid, which relying parties compare with authenticator data.
// It is valid from one hour before now for twenty years and carries no CRL
// or AIA URLs.
//
// Go's own chain verification refuses the critical SAN as an unhandled
// critical extension; relying parties that verify AIK chains (go-webauthn)
// set it aside first, as RFC 5280 asks of anyone who understands it.
//
// A P-256 key and the serial number are drawn from rand in that order, so
// the result is a function of the arguments; RSA key generation in Go 1.26
// ignores rand, so RSA AIKs differ from run to run.
func NewAIK(rand io.Reader, now time.Time, ca *CA, info TPMInfo, aaguid [16]byte) (*Batch, error) {
	if err := checkAIKArgs(rand, ca, info); err != nil {
		return nil, err
	}
	var key crypto.Signer
	switch info.AIKAlg {
	case 0, ctap2.AlgES256:
		k, err := deriveP256Key(rand)
		if err != nil {
			return nil, fmt.Errorf("issuing AIK certificate: deriving key: %w", err)
		}
		key = k
	case ctap2.AlgRS256, AlgRS1:
		k, err := rsa.GenerateKey(rand, aikRSABits)
		if err != nil {
			return nil, fmt.Errorf("issuing AIK certificate: generating RSA key: %w", err)
		}
		key = k
	default:
		return nil, fmt.Errorf("issuing AIK certificate: AIK algorithm %s is not ES256, RS256 or RS1", algName(info.AIKAlg))
	}
	der, err := issueAIKCertificate(rand, now, ca, key.Public(), info, aaguid)
	if err != nil {
		return nil, err
	}
	return &Batch{Key: key, Chain: [][]byte{der, ca.Intermediate.Raw, ca.Root.Raw}}, nil
}

// NewAIKFor issues the AIK certificate, as NewAIK does, for an attestation
// identity key that lives elsewhere, such as a real TPM's: aik is its
// public half, a P-256 ECDSA or an RSA key, and info describes the TPM
// (manufacturer, model and firmware version as the TPM reports them;
// AIKAlg is not used). The returned chain is the AIK certificate, the
// intermediate and the root, for [TPMCertified]. Only the serial number is
// drawn from rand.
func NewAIKFor(rand io.Reader, now time.Time, ca *CA, aik crypto.PublicKey, info TPMInfo, aaguid [16]byte) ([][]byte, error) {
	if err := checkAIKArgs(rand, ca, info); err != nil {
		return nil, err
	}
	switch k := aik.(type) {
	case *ecdsa.PublicKey:
		if k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("issuing AIK certificate: AIK is an ECDSA key on %s, want P-256", k.Curve.Params().Name)
		}
	case *rsa.PublicKey:
	default:
		return nil, fmt.Errorf("issuing AIK certificate: AIK is a %T, want a P-256 ECDSA or an RSA key", aik)
	}
	der, err := issueAIKCertificate(rand, now, ca, aik, info, aaguid)
	if err != nil {
		return nil, err
	}
	return [][]byte{der, ca.Intermediate.Raw, ca.Root.Raw}, nil
}

// checkAIKArgs checks what NewAIK and NewAIKFor have in common.
func checkAIKArgs(rand io.Reader, ca *CA, info TPMInfo) error {
	if err := ca.check(); err != nil {
		return fmt.Errorf("issuing AIK certificate: %w", err)
	}
	if rand == nil {
		return errors.New("issuing AIK certificate: no randomness source")
	}
	model := info.model()
	if !utf8.ValidString(model) || utf8.RuneCountInString(model) > maxTPMModelLength {
		return fmt.Errorf("issuing AIK certificate: TPM model %q must be 1 to %d characters of valid UTF-8", model, maxTPMModelLength)
	}
	return nil
}

// issueAIKCertificate issues the AIK certificate for pub (see NewAIK),
// drawing its serial number from rand.
func issueAIKCertificate(rand io.Reader, now time.Time, ca *CA, pub crypto.PublicKey, info TPMInfo, aaguid [16]byte) ([]byte, error) {
	serial, err := randomSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("issuing AIK certificate: drawing serial number: %w", err)
	}
	san, err := tpmSubjectAltName(info.manufacturer(), info.model(), uint32(info.FirmwareVersion>>32))
	if err != nil {
		return nil, fmt.Errorf("issuing AIK certificate: subject alternative name: %w", err)
	}
	exts, err := fidoExtensions(aaguid, nil, nil)
	if err != nil {
		return nil, fmt.Errorf("issuing AIK certificate: %w", err)
	}
	skid, err := subjectKeyID(pub)
	if err != nil {
		return nil, fmt.Errorf("issuing AIK certificate: %w", err)
	}
	notBefore, notAfter := defaultValidity(now)
	template := &x509.Certificate{
		SerialNumber:          serial,
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{oidAIKCertificate()},
		BasicConstraintsValid: true,
		IsCA:                  false,
		SubjectKeyId:          skid,
		// RFC 5280 §4.2.1.6: with an empty subject the SAN must be critical.
		ExtraExtensions: append([]pkix.Extension{{Id: oidSubjectAltName(), Critical: true, Value: san}}, exts...),
	}
	der, _, err := issueCertificate(rand, template, ca.Intermediate, pub, ca.IntermediateKey)
	if err != nil {
		return nil, fmt.Errorf("issuing AIK certificate: %w", err)
	}
	return der, nil
}

// tpmSubjectAltName encodes GeneralNames holding one directoryName with one
// relative distinguished name of the TPM's manufacturer, model and version
// (TCG EK Credential Profile for TPM 2.0 §3.2.9).
func tpmSubjectAltName(manufacturer uint32, model string, version uint32) ([]byte, error) {
	utf8String := func(s string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(s)}
	}
	name, err := asn1.Marshal(pkix.RDNSequence{pkix.RelativeDistinguishedNameSET{
		{Type: oidTPMManufacturer(), Value: utf8String(fmt.Sprintf("id:%08X", manufacturer))},
		{Type: oidTPMModel(), Value: utf8String(model)},
		{Type: oidTPMVersion(), Value: utf8String(fmt.Sprintf("id:%08X", version))},
	}})
	if err != nil {
		return nil, err
	}
	// directoryName is [4] Name; Name is a CHOICE, so the tag is explicit.
	return asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name}})
}

// subjectKeyID is the RFC 5280 §4.2.1.2 method 1 key identifier of any
// public key: SHA-1 of the subjectPublicKey BIT STRING's bits.
func subjectKeyID(pub crypto.PublicKey) ([]byte, error) {
	spki, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		return nil, fmt.Errorf("encoding public key: %w", err)
	}
	s := cryptobyte.String(spki)
	var inner cryptobyte.String
	var bits asn1.BitString
	if !s.ReadASN1(&inner, cbasn1.SEQUENCE) || !inner.SkipASN1(cbasn1.SEQUENCE) || !inner.ReadASN1BitString(&bits) {
		return nil, errors.New("encoding public key: malformed SubjectPublicKeyInfo")
	}
	sum := sha1.Sum(bits.Bytes)
	return sum[:], nil
}

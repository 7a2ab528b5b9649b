package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha1" // RFC 5280 §4.2.1.2 method 1 key identifiers, as MDS uses them
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"errors"
	"fmt"
	"io"
	"math/big"
	"slices"
	"time"
)

// Batch is a batch attestation key and its certificate chain, as used for
// "packed" full attestation (WebAuthn L3 §8.2) and U2F registration
// (FIDO U2F Raw Message Formats §4.3).
type Batch struct {
	// Key is the attestation private key, certified by Chain[0].
	Key crypto.Signer
	// Chain holds DER certificates: the batch (leaf) certificate first, then
	// the intermediate CA, then the root CA.
	Chain [][]byte
}

// Certificate parameters for [NewBatch].
const (
	// batchBackdate moves NotBefore into the past so that relying parties
	// whose clocks run slow still accept the certificates (tpm-and-attestation
	// §3.7: at least one hour).
	batchBackdate = time.Hour
	// batchValidityYears is how long the certificates stay valid.
	batchValidityYears = 20
	// batchCountry is the subject C; WebAuthn L3 §8.2.1 asks for an ISO 3166
	// code, and go-webauthn checks it against the alpha-2 list.
	batchCountry = "US"
	// attestationUnit is the literal subject OU WebAuthn L3 §8.2.1 requires.
	attestationUnit = "Authenticator Attestation"
	// maxOrganizationLength is ub-organization-name (RFC 5280 Appendix A.1).
	maxOrganizationLength = 64
	// serialSize is the length of certificate serial numbers, well inside
	// the 20 octets RFC 5280 §4.1.2.2 allows.
	serialSize = 16
	// scalarSeedSize is the number of random bytes behind one P-256 scalar:
	// the order's 256 bits plus 64, FIPS 186-5 §A.2.1.
	scalarSeedSize = 40
)

// oidAAGUID is id-fido-gen-ce-aaguid (WebAuthn L3 §8.2.1).
func oidAAGUID() asn1.ObjectIdentifier {
	return asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}
}

// Attribute types of X.520 used in subjects (RFC 5280 Appendix A.1).
func oidCountry() asn1.ObjectIdentifier      { return asn1.ObjectIdentifier{2, 5, 4, 6} }
func oidOrganization() asn1.ObjectIdentifier { return asn1.ObjectIdentifier{2, 5, 4, 10} }
func oidOrgUnit() asn1.ObjectIdentifier      { return asn1.ObjectIdentifier{2, 5, 4, 11} }
func oidCommonName() asn1.ObjectIdentifier   { return asn1.ObjectIdentifier{2, 5, 4, 3} }

// NewBatch issues a P-256 root CA, an intermediate CA under it and a batch
// certificate under that for a fresh attestation key.
//
// The batch certificate meets WebAuthn L3 §8.2.1: it is X.509 v3; its
// subject is C=US (PrintableString), O=organization,
// OU="Authenticator Attestation" and a CN (all three UTF8String); Basic
// Constraints is present with CA=false; the id-fido-gen-ce-aaguid extension
// (1.3.6.1.4.1.45724.1.1.4) is non-critical and holds aaguid as a 16-byte
// OCTET STRING. All three certificates are valid from one hour before now
// for twenty years, carry no CRL or AIA URLs, and have 128-bit serial
// numbers drawn from rand.
//
// NewBatch is [NewCA] followed by [CA.IssueBatch] with default options.
// Keys and serial numbers are derived from rand, and certificates are signed
// deterministically (RFC 6979), so the same rand stream, now, aaguid and
// organization yield the same chain byte for byte.
func NewBatch(rand io.Reader, now time.Time, aaguid [16]byte, organization string) (*Batch, error) {
	ca, err := NewCA(rand, now, organization)
	if err != nil {
		return nil, fmt.Errorf("issuing batch attestation: %w", err)
	}
	b, err := ca.IssueBatch(rand, now, aaguid, BatchOptions{})
	if err != nil {
		return nil, fmt.Errorf("issuing batch attestation: %w", err)
	}
	return b, nil
}

// MarshalKey encodes the attestation key as PKCS #8 (RFC 5208).
func (b *Batch) MarshalKey() ([]byte, error) {
	if b == nil || b.Key == nil {
		return nil, errors.New("encoding batch attestation key: no key")
	}
	der, err := x509.MarshalPKCS8PrivateKey(b.Key)
	if err != nil {
		return nil, fmt.Errorf("encoding batch attestation key: %w", err)
	}
	return der, nil
}

// ParseBatch loads a batch from a PKCS #8 attestation key and its DER
// certificate chain (batch certificate first). It checks that the key is the
// one the batch certificate certifies and that each certificate is signed
// by the next one.
func ParseBatch(pkcs8 []byte, chain [][]byte) (*Batch, error) {
	parsed, err := x509.ParsePKCS8PrivateKey(pkcs8)
	if err != nil {
		return nil, fmt.Errorf("parsing batch attestation key: %w", err)
	}
	key, ok := parsed.(crypto.Signer)
	if !ok {
		return nil, fmt.Errorf("parsing batch attestation key: %T cannot sign", parsed)
	}
	if len(chain) == 0 {
		return nil, errors.New("parsing batch attestation chain: no certificates")
	}
	certs := make([]*x509.Certificate, len(chain))
	for i, der := range chain {
		if certs[i], err = x509.ParseCertificate(der); err != nil {
			return nil, fmt.Errorf("parsing batch attestation chain: certificate %d: %w", i, err)
		}
	}
	pub, ok := key.Public().(interface{ Equal(crypto.PublicKey) bool })
	if !ok || !pub.Equal(certs[0].PublicKey) {
		return nil, errors.New("parsing batch attestation: key does not match the batch certificate")
	}
	for i := 0; i+1 < len(certs); i++ {
		if err := certs[i].CheckSignatureFrom(certs[i+1]); err != nil {
			return nil, fmt.Errorf("parsing batch attestation chain: certificate %d is not signed by certificate %d: %w", i, i+1, err)
		}
	}
	out := make([][]byte, len(chain))
	for i, der := range chain {
		out[i] = slices.Clone(der)
	}
	return &Batch{Key: key, Chain: out}, nil
}

// Root returns the last certificate of the chain, the trust anchor relying
// parties get from metadata, or nil if the chain is empty or the
// certificate does not parse.
func (b *Batch) Root() *x509.Certificate {
	if b == nil || len(b.Chain) == 0 {
		return nil
	}
	root, err := x509.ParseCertificate(b.Chain[len(b.Chain)-1])
	if err != nil {
		return nil
	}
	return root
}

// CheckAAGUID reports whether the batch certificate's id-fido-gen-ce-aaguid
// extension is present, non-critical, well formed and equal to aaguid, as a
// relying party checks it against authenticator data (WebAuthn L3 §8.2.1).
func (b *Batch) CheckAAGUID(aaguid [16]byte) error {
	if b == nil || len(b.Chain) == 0 {
		return errors.New("checking batch AAGUID: no batch certificate")
	}
	leaf, err := x509.ParseCertificate(b.Chain[0])
	if err != nil {
		return fmt.Errorf("checking batch AAGUID: parsing batch certificate: %w", err)
	}
	got, err := certificateAAGUID(leaf)
	if err != nil {
		return fmt.Errorf("checking batch AAGUID: %w", err)
	}
	if got != aaguid {
		return fmt.Errorf("checking batch AAGUID: batch certificate is for AAGUID %x, not %x", got, aaguid)
	}
	return nil
}

// certificateAAGUID extracts the id-fido-gen-ce-aaguid extension value.
func certificateAAGUID(cert *x509.Certificate) ([16]byte, error) {
	var aaguid [16]byte
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidAAGUID()) {
			continue
		}
		if ext.Critical {
			return aaguid, errors.New("AAGUID extension is marked critical")
		}
		var value []byte
		rest, err := asn1.Unmarshal(ext.Value, &value)
		if err != nil {
			return aaguid, fmt.Errorf("parsing AAGUID extension: %w", err)
		}
		if len(rest) != 0 || len(value) != len(aaguid) {
			return aaguid, errors.New("AAGUID extension is not a 16-byte OCTET STRING")
		}
		copy(aaguid[:], value)
		return aaguid, nil
	}
	return aaguid, errors.New("no AAGUID extension (id-fido-gen-ce-aaguid, 1.3.6.1.4.1.45724.1.1.4)")
}

// rfc6979Signer makes an ECDSA key sign deterministically (RFC 6979)
// whatever random source the caller offers.
type rfc6979Signer struct{ key *ecdsa.PrivateKey }

func (s rfc6979Signer) Public() crypto.PublicKey { return s.key.Public() }

func (s rfc6979Signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	return s.key.Sign(nil, digest, opts)
}

// deriveP256Key turns scalarSeedSize bytes of rand into a P-256 private key
// with d = c mod (n−1) + 1, the "extra random bits" method of FIPS 186-5
// §A.2.1. crypto/ecdsa.GenerateKey ignores its reader since Go 1.26, so the
// scalar is derived here to keep seeded runs reproducible.
func deriveP256Key(rand io.Reader) (*ecdsa.PrivateKey, error) {
	seed := make([]byte, scalarSeedSize)
	if _, err := io.ReadFull(rand, seed); err != nil {
		return nil, err
	}
	nMinus1 := new(big.Int).Sub(elliptic.P256().Params().N, big.NewInt(1))
	d := new(big.Int).SetBytes(seed)
	d.Mod(d, nMinus1).Add(d, big.NewInt(1))
	return ecdsa.ParseRawPrivateKey(elliptic.P256(), d.FillBytes(make([]byte, 32)))
}

// randomSerial draws a positive serial number of serialSize bytes whose
// encoding always has that length.
func randomSerial(rand io.Reader) (*big.Int, error) {
	b := make([]byte, serialSize)
	if _, err := io.ReadFull(rand, b); err != nil {
		return nil, err
	}
	b[0] = b[0]&0x7f | 0x40
	return new(big.Int).SetBytes(b), nil
}

// keyID is the RFC 5280 §4.2.1.2 method 1 key identifier: SHA-1 of the
// subjectPublicKey bits, the form MDS attestationCertificateKeyIdentifiers
// use. Go's own default became truncated SHA-256 in Go 1.25.
func keyID(pub *ecdsa.PublicKey) []byte {
	point, err := pub.Bytes()
	if err != nil {
		return nil // unreachable: keys from deriveP256Key are valid P-256 points
	}
	sum := sha1.Sum(point)
	return sum[:]
}

// rawSubject encodes a subject C=US, O, [OU,] CN; see [rawSubjectIn].
func rawSubject(organization, unit, commonName string) ([]byte, error) {
	return rawSubjectIn(batchCountry, organization, unit, commonName)
}

// rawSubjectIn encodes a subject C, O, [OU,] CN with C as PrintableString and
// the rest as UTF8String, as WebAuthn L3 §8.2.1 asks. pkix.Name would pick
// PrintableString wherever the text allows it.
func rawSubjectIn(country, organization, unit, commonName string) ([]byte, error) {
	utf8String := func(s string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(s)}
	}
	rdns := pkix.RDNSequence{
		{{Type: oidCountry(), Value: asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagPrintableString, Bytes: []byte(country)}}},
		{{Type: oidOrganization(), Value: utf8String(organization)}},
	}
	if unit != "" {
		rdns = append(rdns, []pkix.AttributeTypeAndValue{{Type: oidOrgUnit(), Value: utf8String(unit)}})
	}
	rdns = append(rdns, []pkix.AttributeTypeAndValue{{Type: oidCommonName(), Value: utf8String(commonName)}})
	return asn1.Marshal(rdns)
}

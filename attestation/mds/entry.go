package mds

import (
	"crypto/sha1" // RFC 5280 §4.2.1.2 method 1 key identifiers, as MDS uses them
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Status is an AuthenticatorStatus (MDS 3.0 §3.1.4): what the FIDO
// Alliance says about a model, in a [StatusReport].
type Status string

// Authenticator statuses (MDS 3.0 §3.1.4; RETIRED is from MDS 3.1).
// Relying parties commonly refuse models whose reports include
// USER_VERIFICATION_BYPASS, ATTESTATION_KEY_COMPROMISE,
// USER_KEY_REMOTE_COMPROMISE, USER_KEY_PHYSICAL_COMPROMISE, REVOKED or
// RETIRED.
const (
	StatusNotFIDOCertified          Status = "NOT_FIDO_CERTIFIED"
	StatusFIDOCertified             Status = "FIDO_CERTIFIED"
	StatusUserVerificationBypass    Status = "USER_VERIFICATION_BYPASS"
	StatusAttestationKeyCompromise  Status = "ATTESTATION_KEY_COMPROMISE"
	StatusUserKeyRemoteCompromise   Status = "USER_KEY_REMOTE_COMPROMISE"
	StatusUserKeyPhysicalCompromise Status = "USER_KEY_PHYSICAL_COMPROMISE"
	StatusUpdateAvailable           Status = "UPDATE_AVAILABLE"
	StatusRevoked                   Status = "REVOKED"
	StatusRetired                   Status = "RETIRED"
	StatusSelfAssertionSubmitted    Status = "SELF_ASSERTION_SUBMITTED"
	StatusFIDOCertifiedL1           Status = "FIDO_CERTIFIED_L1"
	StatusFIDOCertifiedL1Plus       Status = "FIDO_CERTIFIED_L1plus"
	StatusFIDOCertifiedL2           Status = "FIDO_CERTIFIED_L2"
	StatusFIDOCertifiedL2Plus       Status = "FIDO_CERTIFIED_L2plus"
	StatusFIDOCertifiedL3           Status = "FIDO_CERTIFIED_L3"
	StatusFIDOCertifiedL3Plus       Status = "FIDO_CERTIFIED_L3plus"
	StatusFIPS140CertifiedL1        Status = "FIPS140_CERTIFIED_L1"
	StatusFIPS140CertifiedL2        Status = "FIPS140_CERTIFIED_L2"
	StatusFIPS140CertifiedL3        Status = "FIPS140_CERTIFIED_L3"
	StatusFIPS140CertifiedL4        Status = "FIPS140_CERTIFIED_L4"
)

// Statuses returns every status this package knows, in the order of the
// constants above.
func Statuses() []Status {
	return []Status{
		StatusNotFIDOCertified, StatusFIDOCertified, StatusUserVerificationBypass,
		StatusAttestationKeyCompromise, StatusUserKeyRemoteCompromise,
		StatusUserKeyPhysicalCompromise, StatusUpdateAvailable, StatusRevoked,
		StatusRetired, StatusSelfAssertionSubmitted,
		StatusFIDOCertifiedL1, StatusFIDOCertifiedL1Plus, StatusFIDOCertifiedL2,
		StatusFIDOCertifiedL2Plus, StatusFIDOCertifiedL3, StatusFIDOCertifiedL3Plus,
		StatusFIPS140CertifiedL1, StatusFIPS140CertifiedL2, StatusFIPS140CertifiedL3,
		StatusFIPS140CertifiedL4,
	}
}

// ParseStatus returns the Status spelled s, or an error listing the known
// ones.
func ParseStatus(s string) (Status, error) {
	for _, known := range Statuses() {
		if string(known) == s {
			return known, nil
		}
	}
	return "", fmt.Errorf("mds: unknown authenticator status %q (want one of %v)", s, Statuses())
}

// StatusReport is a StatusReport dictionary (MDS 3.0 §3.1.3).
type StatusReport struct {
	Status Status
	// EffectiveDate is the day the status took effect; zero leaves it out,
	// which means "in effect while present".
	EffectiveDate time.Time
	// AuthenticatorVersion is the firmware version the report is about;
	// zero leaves it out.
	AuthenticatorVersion uint32
	// Certificate is a DER certificate the status is about (for example
	// a compromised attestation certificate), or nil.
	Certificate []byte
	// URL points to more information, or is empty.
	URL                              string
	CertificationDescriptor          string
	CertificateNumber                string
	CertificationPolicyVersion       string
	CertificationRequirementsVersion string
}

// statusReportJSON is the wire form of a StatusReport.
type statusReportJSON struct {
	Status                           Status `json:"status"`
	EffectiveDate                    string `json:"effectiveDate,omitempty"`
	AuthenticatorVersion             uint32 `json:"authenticatorVersion,omitempty"`
	Certificate                      []byte `json:"certificate,omitempty"`
	URL                              string `json:"url,omitempty"`
	CertificationDescriptor          string `json:"certificationDescriptor,omitempty"`
	CertificateNumber                string `json:"certificateNumber,omitempty"`
	CertificationPolicyVersion       string `json:"certificationPolicyVersion,omitempty"`
	CertificationRequirementsVersion string `json:"certificationRequirementsVersion,omitempty"`
}

// MarshalJSON writes the report with its date as YYYY-MM-DD.
func (r StatusReport) MarshalJSON() ([]byte, error) {
	return json.Marshal(statusReportJSON{
		Status:                           r.Status,
		EffectiveDate:                    date(r.EffectiveDate),
		AuthenticatorVersion:             r.AuthenticatorVersion,
		Certificate:                      r.Certificate,
		URL:                              r.URL,
		CertificationDescriptor:          r.CertificationDescriptor,
		CertificateNumber:                r.CertificateNumber,
		CertificationPolicyVersion:       r.CertificationPolicyVersion,
		CertificationRequirementsVersion: r.CertificationRequirementsVersion,
	})
}

// Entry is a Metadata BLOB Payload Entry (MDS 3.0 §3.1.1): a FIDO2 model,
// identified by its AAGUID, or a U2F model, identified by the key
// identifiers of its attestation certificates.
type Entry struct {
	// AAGUID identifies a FIDO2 model; a U2F entry has none.
	AAGUID AAGUID
	// AttestationCertificateKeyIdentifiers identifies a U2F model (or a
	// FIDO2 model's attestation certificates) by [KeyIdentifier]: lowercase
	// hex, as relying parties look them up.
	AttestationCertificateKeyIdentifiers []string
	MetadataStatement                    Statement
	// StatusReports are in the order they happened; the last one is the
	// model's current status. At least one is required.
	StatusReports []StatusReport
	// TimeOfLastStatusChange is the day the reports last changed.
	TimeOfLastStatusChange time.Time
}

// entryJSON is the wire form of an Entry.
type entryJSON struct {
	AAGUID                               AAGUID         `json:"aaguid,omitzero"`
	AttestationCertificateKeyIdentifiers []string       `json:"attestationCertificateKeyIdentifiers,omitempty"`
	MetadataStatement                    Statement      `json:"metadataStatement"`
	StatusReports                        []StatusReport `json:"statusReports"`
	TimeOfLastStatusChange               string         `json:"timeOfLastStatusChange"`
}

// MarshalJSON writes the entry with its date as YYYY-MM-DD.
func (e Entry) MarshalJSON() ([]byte, error) {
	return json.Marshal(entryJSON{
		AAGUID:                               e.AAGUID,
		AttestationCertificateKeyIdentifiers: e.AttestationCertificateKeyIdentifiers,
		MetadataStatement:                    e.MetadataStatement,
		StatusReports:                        nonNil(e.StatusReports),
		TimeOfLastStatusChange:               date(e.TimeOfLastStatusChange),
	})
}

// validate checks the entry and its statement; the statement's AAGUID
// must be the entry's, and so must its key identifiers.
func (e *Entry) validate() error {
	var errs []error
	switch {
	case e.MetadataStatement.ProtocolFamily == ProtocolU2F:
		if !e.AAGUID.IsZero() {
			errs = append(errs, errors.New("aaguid: a U2F entry has none"))
		}
		if len(e.AttestationCertificateKeyIdentifiers) == 0 {
			errs = append(errs, errors.New("attestationCertificateKeyIdentifiers: a U2F entry needs at least one"))
		}
	case e.AAGUID.IsZero():
		errs = append(errs, errors.New("aaguid: a FIDO2 entry needs one"))
	}
	for i, id := range e.AttestationCertificateKeyIdentifiers {
		if err := checkKeyIdentifier(id); err != nil {
			errs = append(errs, fmt.Errorf("attestationCertificateKeyIdentifiers[%d]: %w", i, err))
		}
	}
	if e.MetadataStatement.AAGUID != e.AAGUID {
		errs = append(errs, fmt.Errorf("metadataStatement.aaguid: %v differs from the entry's %v", e.MetadataStatement.AAGUID, e.AAGUID))
	}
	if !slices.Equal(e.MetadataStatement.AttestationCertificateKeyIdentifiers, e.AttestationCertificateKeyIdentifiers) {
		errs = append(errs, errors.New("metadataStatement.attestationCertificateKeyIdentifiers: differ from the entry's"))
	}
	if err := e.MetadataStatement.validate(); err != nil {
		errs = append(errs, fmt.Errorf("metadataStatement: %w", err))
	}
	if len(e.StatusReports) == 0 {
		errs = append(errs, errors.New("statusReports: at least one is needed"))
	}
	for i, r := range e.StatusReports {
		if _, err := ParseStatus(string(r.Status)); err != nil {
			errs = append(errs, fmt.Errorf("statusReports[%d].status: %w", i, err))
		}
	}
	if e.TimeOfLastStatusChange.IsZero() {
		errs = append(errs, errors.New("timeOfLastStatusChange: missing"))
	}
	return errors.Join(errs...)
}

// date writes t as an ISO 8601 calendar date in UTC, or "" for the zero
// time.
func date(t time.Time) string {
	if t.IsZero() {
		return ""
	}
	return t.UTC().Format(time.DateOnly)
}

// KeyIdentifier returns an attestation certificate's key identifier as
// metadata lists it in attestationCertificateKeyIdentifiers (FIDO Metadata
// Statement v3.0 §4): its subject key identifier in lowercase hex or,
// without that extension, the SHA-1 hash of its subjectPublicKey
// (RFC 5280 §4.2.1.2, method 1), as relying parties compute it.
func KeyIdentifier(cert *x509.Certificate) (string, error) {
	if cert == nil {
		return "", errors.New("mds: key identifier: no certificate")
	}
	if len(cert.SubjectKeyId) != 0 {
		return hex.EncodeToString(cert.SubjectKeyId), nil
	}
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	if rest, err := asn1.Unmarshal(cert.RawSubjectPublicKeyInfo, &spki); err != nil || len(rest) != 0 {
		return "", errors.New("mds: key identifier: malformed subjectPublicKeyInfo")
	}
	sum := sha1.Sum(spki.PublicKey.Bytes)
	return hex.EncodeToString(sum[:]), nil
}

// checkKeyIdentifier checks the form of a key identifier: lowercase hex.
func checkKeyIdentifier(id string) error {
	if id == "" || id != strings.ToLower(id) {
		return fmt.Errorf("%q is not lowercase hex", id)
	}
	if _, err := hex.DecodeString(id); err != nil {
		return fmt.Errorf("%q is not lowercase hex", id)
	}
	return nil
}

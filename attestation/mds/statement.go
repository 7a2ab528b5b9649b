package mds

import (
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"

	"github.com/softkeydev/softkey/ctap2"
)

// AAGUID identifies an authenticator model (FIDO Metadata Statement v3.0
// §3.1). In statements and entries it is written as a UUID with dashes.
type AAGUID [16]byte

// String returns the AAGUID as a lower-case UUID with dashes.
func (g AAGUID) String() string {
	h := hex.EncodeToString(g[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// IsZero reports whether g is the all-zero AAGUID.
func (g AAGUID) IsZero() bool { return g == AAGUID{} }

// MarshalText writes the AAGUID as a UUID with dashes.
func (g AAGUID) MarshalText() ([]byte, error) { return []byte(g.String()), nil }

// UnmarshalText reads a UUID, with or without dashes.
func (g *AAGUID) UnmarshalText(text []byte) error {
	b, err := hex.DecodeString(strings.ReplaceAll(string(text), "-", ""))
	if err != nil || len(b) != len(g) {
		return fmt.Errorf("mds: aaguid %q is not a UUID", text)
	}
	copy(g[:], b)
	return nil
}

// Metadata Statement constants: protocol families, the schema version
// (FIDO Metadata Statement v3.0 §4) and the public key encoding of FIDO2
// authenticators (FIDO Registry of Predefined Values, Public Key
// Representation Formats, ALG_KEY_COSE).
const (
	ProtocolFIDO2 = "fido2"
	ProtocolU2F   = "u2f"
	// Schema is the Metadata Statement schema version this package writes.
	Schema = 3
	// PublicKeyCOSE is the publicKeyAlgAndEncodings value of FIDO2 keys.
	PublicKeyCOSE = "cose"
)

// AttestationType is an attestationTypes value of a Metadata Statement
// (FIDO Registry of Predefined Values, Authenticator Attestation Types).
type AttestationType string

// Attestation types.
const (
	AttestationBasicFull      AttestationType = "basic_full"      // batch certificate chain (packed x5c, fido-u2f)
	AttestationBasicSurrogate AttestationType = "basic_surrogate" // self attestation
	AttestationAttCA          AttestationType = "attca"           // privacy CA, as tpm uses
	AttestationAnonCA         AttestationType = "anonca"          // anonymization CA
	AttestationECDAA          AttestationType = "ecdaa"
	AttestationNone           AttestationType = "none"
)

// hasCertificatePath reports whether t conveys a certificate chain that
// must end at one of attestationRootCertificates.
func (t AttestationType) hasCertificatePath() bool {
	return t == AttestationBasicFull || t == AttestationAttCA || t == AttestationAnonCA
}

// Key protection, matcher protection and attachment hint values (FIDO
// Registry of Predefined Values: Key Protection Types, Matcher Protection
// Types, Authenticator Attachment Hints), in their short string forms.
const (
	KeyProtectionSoftware      = "software"
	KeyProtectionHardware      = "hardware"
	KeyProtectionTEE           = "tee"
	KeyProtectionSecureElement = "secure_element"
	KeyProtectionRemoteHandle  = "remote_handle"

	MatcherProtectionSoftware = "software"
	MatcherProtectionTEE      = "tee"
	MatcherProtectionOnChip   = "on_chip"

	AttachmentInternal  = "internal"
	AttachmentExternal  = "external"
	AttachmentWired     = "wired"
	AttachmentWireless  = "wireless"
	AttachmentNFC       = "nfc"
	AttachmentBluetooth = "bluetooth"
	AttachmentNetwork   = "network"
	AttachmentReady     = "ready"
)

// User verification methods (FIDO Registry of Predefined Values, User
// Verification Methods), for [VerificationMethod].
const (
	UVPresenceInternal    = "presence_internal"
	UVFingerprintInternal = "fingerprint_internal"
	UVPasscodeInternal    = "passcode_internal"
	UVFaceprintInternal   = "faceprint_internal"
	UVPatternInternal     = "pattern_internal"
	UVPasscodeExternal    = "passcode_external"
	UVNone                = "none"
	UVAll                 = "all"
)

// Multi-device credential support (FIDO Metadata Statement v3.1 §4,
// multiDeviceCredentialSupport): whether credentials may be synced.
const (
	MultiDeviceUnsupported = "unsupported"
	MultiDeviceExplicit    = "explicit"
	MultiDeviceImplicit    = "implicit"
)

// Version is a protocol version, as upv lists them (the Version dictionary
// of the FIDO UAF protocol, which Metadata Statements reuse): CTAP 2.0 is
// {1, 0}, CTAP 2.1 is {1, 1}.
type Version struct {
	Major uint16 `json:"major"`
	Minor uint16 `json:"minor"`
}

// VerificationMethod is a VerificationMethodDescriptor (FIDO Metadata
// Statement v3.0 §3.5) without its accuracy descriptors. A statement's
// userVerificationDetails lists alternatives, each a list of methods that
// are all used together (§3.6, VerificationMethodANDCombinations).
type VerificationMethod struct {
	UserVerificationMethod string `json:"userVerificationMethod"`
}

// ExtensionDescriptor names an extension the authenticator supports (FIDO
// Metadata Statement v3.0 §3.10).
type ExtensionDescriptor struct {
	ID            string `json:"id"`
	Tag           uint16 `json:"tag,omitempty"`
	Data          string `json:"data,omitempty"`
	FailIfUnknown bool   `json:"fail_if_unknown"`
}

// Statement is a FIDO2 Metadata Statement (FIDO Metadata Statement v3.0
// §4, Metadata Keys), with the members a relying party uses to decide
// whether to trust an attestation. JSON member names are the spec's.
//
// Required list members are written as [] when empty, never null, as
// strict parsers (python-fido2) require them present.
type Statement struct {
	// LegalHeader is filled with [LegalHeader] by [EncodeBLOB] when empty.
	LegalHeader string `json:"legalHeader,omitempty"`
	// AAGUID is filled from the entry by [EncodeBLOB] when zero; a U2F
	// statement has none.
	AAGUID AAGUID `json:"aaguid,omitzero"`
	// AttestationCertificateKeyIdentifiers are filled from the entry by
	// [EncodeBLOB] when empty.
	AttestationCertificateKeyIdentifiers []string          `json:"attestationCertificateKeyIdentifiers,omitempty"`
	Description                          string            `json:"description"`
	AlternativeDescriptions              map[string]string `json:"alternativeDescriptions,omitempty"`
	// AuthenticatorVersion is the lowest firmware version the statement
	// holds for.
	AuthenticatorVersion uint32 `json:"authenticatorVersion"`
	// ProtocolFamily is "fido2" for CTAP2 authenticators.
	ProtocolFamily string `json:"protocolFamily"`
	// Schema is 3.
	Schema uint16 `json:"schema"`
	// Upv lists the CTAP versions: {1,0} for FIDO_2_0, {1,1} for FIDO_2_1.
	Upv []Version `json:"upv"`
	// AuthenticationAlgorithms are FIDO Registry names; see
	// [AuthenticationAlgorithm].
	AuthenticationAlgorithms []string `json:"authenticationAlgorithms"`
	// PublicKeyAlgAndEncodings is ["cose"] for FIDO2.
	PublicKeyAlgAndEncodings []string               `json:"publicKeyAlgAndEncodings"`
	AttestationTypes         []AttestationType      `json:"attestationTypes"`
	UserVerificationDetails  [][]VerificationMethod `json:"userVerificationDetails"`
	KeyProtection            []string               `json:"keyProtection"`
	// IsKeyRestricted and IsFreshUserVerificationRequired default to true
	// when absent.
	IsKeyRestricted                 *bool    `json:"isKeyRestricted,omitempty"`
	IsFreshUserVerificationRequired *bool    `json:"isFreshUserVerificationRequired,omitempty"`
	MatcherProtection               []string `json:"matcherProtection"`
	CryptoStrength                  uint16   `json:"cryptoStrength,omitempty"`
	AttachmentHint                  []string `json:"attachmentHint"`
	// TcDisplay is empty: no transaction confirmation display.
	TcDisplay []string `json:"tcDisplay"`
	// AttestationRootCertificates are the DER trust anchors of the model's
	// attestation chains, written in standard base64 (not base64url).
	AttestationRootCertificates [][]byte `json:"attestationRootCertificates"`
	// Icon is an optional data: URL.
	Icon                string                `json:"icon,omitempty"`
	SupportedExtensions []ExtensionDescriptor `json:"supportedExtensions,omitempty"`
	// MultiDeviceCredentialSupport is a Metadata Statement v3.1 member;
	// empty leaves it out, which means unsupported.
	MultiDeviceCredentialSupport string `json:"multiDeviceCredentialSupport,omitempty"`
	// AuthenticatorGetInfo is the model's getInfo, required for FIDO2.
	AuthenticatorGetInfo *GetInfo `json:"authenticatorGetInfo,omitempty"`
}

// MarshalJSON writes the statement with required lists as [] rather than
// null.
func (s Statement) MarshalJSON() ([]byte, error) {
	type plain Statement
	p := plain(s)
	p.Upv = nonNil(p.Upv)
	p.AuthenticationAlgorithms = nonNil(p.AuthenticationAlgorithms)
	p.PublicKeyAlgAndEncodings = nonNil(p.PublicKeyAlgAndEncodings)
	p.AttestationTypes = nonNil(p.AttestationTypes)
	p.UserVerificationDetails = nonNil(p.UserVerificationDetails)
	p.KeyProtection = nonNil(p.KeyProtection)
	p.MatcherProtection = nonNil(p.MatcherProtection)
	p.AttachmentHint = nonNil(p.AttachmentHint)
	p.TcDisplay = nonNil(p.TcDisplay)
	p.AttestationRootCertificates = nonNil(p.AttestationRootCertificates)
	return json.Marshal(p)
}

func nonNil[T any](s []T) []T {
	if s == nil {
		return []T{}
	}
	return s
}

// validate checks the members FIDO Metadata Statement v3.0 §4 requires of
// a FIDO2 statement, naming the first field at fault.
func (s *Statement) validate() error {
	var errs []error
	if s.AAGUID.IsZero() && s.ProtocolFamily != ProtocolU2F {
		errs = append(errs, errors.New("aaguid: a FIDO2 statement needs one"))
	}
	if s.Description == "" {
		errs = append(errs, errors.New("description: empty"))
	}
	if s.ProtocolFamily != ProtocolFIDO2 && s.ProtocolFamily != ProtocolU2F {
		errs = append(errs, fmt.Errorf("protocolFamily: %q is not fido2 or u2f", s.ProtocolFamily))
	}
	if s.Schema != Schema {
		errs = append(errs, fmt.Errorf("schema: %d, want %d", s.Schema, Schema))
	}
	if len(s.Upv) == 0 {
		errs = append(errs, errors.New("upv: at least one version is needed"))
	}
	if len(s.AuthenticationAlgorithms) == 0 {
		errs = append(errs, errors.New("authenticationAlgorithms: at least one is needed"))
	}
	if len(s.PublicKeyAlgAndEncodings) == 0 {
		errs = append(errs, errors.New("publicKeyAlgAndEncodings: at least one is needed"))
	}
	if len(s.AttestationTypes) == 0 {
		errs = append(errs, errors.New("attestationTypes: at least one is needed"))
	}
	needRoots := false
	for _, t := range s.AttestationTypes {
		needRoots = needRoots || t.hasCertificatePath()
	}
	if needRoots && len(s.AttestationRootCertificates) == 0 {
		errs = append(errs, errors.New("attestationRootCertificates: attestation types with a certificate chain need a trust anchor"))
	}
	if len(s.UserVerificationDetails) == 0 {
		errs = append(errs, errors.New("userVerificationDetails: at least one alternative is needed"))
	}
	if len(s.KeyProtection) == 0 {
		errs = append(errs, errors.New("keyProtection: at least one is needed"))
	}
	if len(s.MatcherProtection) == 0 {
		errs = append(errs, errors.New("matcherProtection: at least one is needed"))
	}
	if len(s.AttachmentHint) == 0 {
		errs = append(errs, errors.New("attachmentHint: at least one is needed"))
	}
	if s.ProtocolFamily == ProtocolFIDO2 {
		switch {
		case s.AuthenticatorGetInfo == nil:
			errs = append(errs, errors.New("authenticatorGetInfo: required for fido2"))
		case s.AuthenticatorGetInfo.AAGUID != s.AAGUID:
			errs = append(errs, fmt.Errorf("authenticatorGetInfo.aaguid: %v differs from the statement's %v", s.AuthenticatorGetInfo.AAGUID, s.AAGUID))
		}
	}
	return errors.Join(errs...)
}

// GetInfo is the authenticatorGetInfo member of a Metadata Statement (FIDO
// Metadata Statement v3.0 §3.12): the CTAP getInfo response (CTAP 2.1
// §6.4) as JSON, with CTAP's member names and the AAGUID as 32 hex digits
// without dashes. Build one with [GetInfoFromCTAP].
type GetInfo struct {
	Versions                    []string         `json:"versions"`
	Extensions                  []string         `json:"extensions,omitempty"`
	AAGUID                      AAGUID           `json:"-"`
	Options                     map[string]bool  `json:"options,omitempty"`
	MaxMsgSize                  uint64           `json:"maxMsgSize,omitempty"`
	PinUvAuthProtocols          []uint64         `json:"pinUvAuthProtocols,omitempty"`
	MaxCredentialCountInList    uint64           `json:"maxCredentialCountInList,omitempty"`
	MaxCredentialIDLength       uint64           `json:"maxCredentialIdLength,omitempty"`
	Transports                  []string         `json:"transports,omitempty"`
	Algorithms                  []CredentialType `json:"algorithms,omitempty"`
	MaxSerializedLargeBlobArray uint64           `json:"maxSerializedLargeBlobArray,omitempty"`
	MinPINLength                uint64           `json:"minPINLength,omitempty"`
	FirmwareVersion             uint64           `json:"firmwareVersion,omitempty"`
	MaxCredBlobLength           uint64           `json:"maxCredBlobLength,omitempty"`
	MaxRPIDsForSetMinPINLength  uint64           `json:"maxRPIDsForSetMinPINLength,omitempty"`
	PreferredPlatformUVAttempts uint64           `json:"preferredPlatformUvAttempts,omitempty"`
	UVModality                  uint64           `json:"uvModality,omitempty"`
	AttestationFormats          []string         `json:"attestationFormats,omitempty"`
}

// CredentialType is one entry of getInfo's algorithms
// (PublicKeyCredentialParameters, WebAuthn L3 §5.3).
type CredentialType struct {
	Type string    `json:"type"`
	Alg  ctap2.Alg `json:"alg"`
}

// MarshalJSON writes the getInfo with its AAGUID as 32 hex digits.
func (g GetInfo) MarshalJSON() ([]byte, error) {
	type plain GetInfo
	return json.Marshal(struct {
		plain
		AAGUID string `json:"aaguid"`
	}{plain(g), hex.EncodeToString(g.AAGUID[:])})
}

// GetInfoFromCTAP converts a getInfo response into its metadata form. The
// members that describe one device's state rather than the model
// (remainingDiscoverableCredentials, forcePINChange) are left out.
func GetInfoFromCTAP(info *ctap2.GetInfoResponse) (*GetInfo, error) {
	if info == nil {
		return nil, errors.New("mds: converting getInfo: no response")
	}
	var aaguid AAGUID
	if len(info.AAGUID) != len(aaguid) {
		return nil, fmt.Errorf("mds: converting getInfo: aaguid of %d bytes, want %d", len(info.AAGUID), len(aaguid))
	}
	copy(aaguid[:], info.AAGUID)
	g := &GetInfo{
		Versions:                    clone(info.Versions),
		Extensions:                  clone(info.Extensions),
		AAGUID:                      aaguid,
		MaxMsgSize:                  info.MaxMsgSize,
		PinUvAuthProtocols:          clone(info.PinUvAuthProtocols),
		MaxCredentialCountInList:    info.MaxCredentialCountInList,
		MaxCredentialIDLength:       info.MaxCredentialIDLength,
		Transports:                  clone(info.Transports),
		MaxSerializedLargeBlobArray: info.MaxSerializedLargeBlobArray,
		MinPINLength:                info.MinPINLength,
		FirmwareVersion:             info.FirmwareVersion,
		MaxCredBlobLength:           info.MaxCredBlobLength,
		MaxRPIDsForSetMinPINLength:  info.MaxRPIDsForSetMinPINLength,
		PreferredPlatformUVAttempts: info.PreferredPlatformUVAttempts,
		UVModality:                  info.UVModality,
		AttestationFormats:          clone(info.AttestationFormats),
	}
	if info.Options != nil {
		g.Options = make(map[string]bool, len(info.Options))
		for k, v := range info.Options {
			g.Options[k] = v
		}
	}
	for _, p := range info.Algorithms {
		g.Algorithms = append(g.Algorithms, CredentialType{Type: p.Type, Alg: p.Alg})
	}
	return g, nil
}

func clone[T any](s []T) []T {
	if s == nil {
		return nil
	}
	return append([]T(nil), s...)
}

// AuthenticationAlgorithm returns the FIDO Registry name (Authentication
// Algorithms) of a COSE algorithm, for a statement's
// authenticationAlgorithms.
func AuthenticationAlgorithm(alg ctap2.Alg) (string, error) {
	switch alg {
	case ctap2.AlgES256:
		return "secp256r1_ecdsa_sha256_raw", nil
	case ctap2.AlgEdDSA:
		return "ed25519_eddsa_sha512_raw", nil
	case ctap2.AlgRS256:
		return "rsassa_pkcsv15_sha256_raw", nil
	}
	return "", fmt.Errorf("mds: no FIDO Registry name for algorithm %v", alg)
}

// UpvFromVersions returns the upv of a statement for getInfo's versions:
// {1,0} for FIDO_2_0 and {1,1} for FIDO_2_1 or FIDO_2_1_PRE, newest first.
// U2F_V2 adds nothing to a fido2 statement.
func UpvFromVersions(versions []string) []Version {
	var has20, has21 bool
	for _, v := range versions {
		switch v {
		case "FIDO_2_0":
			has20 = true
		case "FIDO_2_1", "FIDO_2_1_PRE":
			has21 = true
		}
	}
	var upv []Version
	if has21 {
		upv = append(upv, Version{Major: 1, Minor: 1})
	}
	if has20 {
		upv = append(upv, Version{Major: 1, Minor: 0})
	}
	return upv
}

package authenticator

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/softkeydev/softkey/ctap2"
)

// Attestation modes a profile can ask for. Each is a WebAuthn attestation
// statement format (WebAuthn L3 §8), except self, which is packed signed
// by the credential key itself.
const (
	AttestationPacked  = "packed"   // full attestation with the batch certificate chain
	AttestationSelf    = "self"     // packed self attestation
	AttestationTPM     = "tpm"      // tpm, certified by an attestation identity key (AIK)
	AttestationFIDOU2F = "fido-u2f" // fido-u2f, with the batch certificate
	AttestationNone    = "none"
)

// Enterprise attestation modes (CTAP 2.1 §7.1).
const (
	EnterpriseVendor   = "vendor"   // vendor-facilitated: only for the RP IDs listed in the profile
	EnterprisePlatform = "platform" // platform-managed: for any RP the platform asks for
)

// Counter policies (WebAuthn L3 §6.1.1).
const (
	CounterPerCredential = "per-credential"
	CounterGlobal        = "global"
	CounterZero          = "zero" // as synced passkey providers do
)

// AAGUID identifies an authenticator model. In YAML it is written as a UUID.
type AAGUID [16]byte

// ParseAAGUID parses a UUID string (dashes optional).
func ParseAAGUID(s string) (AAGUID, error) {
	var g AAGUID
	b, err := hex.DecodeString(strings.ReplaceAll(s, "-", ""))
	if err != nil || len(b) != 16 {
		return g, fmt.Errorf("aaguid %q is not a UUID", s)
	}
	copy(g[:], b)
	return g, nil
}

func (g AAGUID) String() string {
	h := hex.EncodeToString(g[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// MarshalYAML writes the AAGUID as a UUID.
func (g AAGUID) MarshalYAML() (any, error) { return g.String(), nil }

// UnmarshalYAML reads a UUID.
func (g *AAGUID) UnmarshalYAML(n *yaml.Node) error {
	v, err := ParseAAGUID(n.Value)
	if err != nil {
		return err
	}
	*g = v
	return nil
}

// Algorithms is a preference-ordered list of COSE algorithms. In YAML each
// is written by name (ES256, EdDSA, RS256) or by COSE number.
type Algorithms []ctap2.Alg

// MarshalYAML writes the algorithms by name.
func (algs Algorithms) MarshalYAML() (any, error) {
	names := make([]string, len(algs))
	for i, alg := range algs {
		names[i] = alg.String()
	}
	return names, nil
}

// UnmarshalYAML reads algorithm names or numbers.
func (algs *Algorithms) UnmarshalYAML(n *yaml.Node) error {
	var names []string
	if err := n.Decode(&names); err != nil {
		return err
	}
	out := make(Algorithms, len(names))
	for i, name := range names {
		alg, err := ctap2.ParseAlg(name)
		if err != nil {
			return err
		}
		out[i] = alg
	}
	*algs = out
	return nil
}

// Profile is everything that makes one authenticator model look the way it
// does: what getInfo reports, which algorithms and attestation it uses, how
// it counts signatures. It is data, checked once by Validate.
type Profile struct {
	Name       string     `yaml:"name"`
	AAGUID     AAGUID     `yaml:"aaguid"`
	Versions   []string   `yaml:"versions"`
	Algorithms Algorithms `yaml:"algorithms"`
	// Attestation is the mode used when the request states no preference.
	Attestation string `yaml:"attestation"`
	// AttestationFormats are the modes a request may choose among with
	// attestationFormatsPreference (CTAP 2.2); getInfo lists their
	// statement formats. Empty means only Attestation. "none" is always
	// allowed.
	AttestationFormats []string `yaml:"attestation_formats"`
	// EnterpriseAttestation is "" (not supported), vendor or platform.
	EnterpriseAttestation string `yaml:"enterprise_attestation"`
	// EnterpriseRPIDs are the RP IDs vendor-facilitated enterprise
	// attestation is given to.
	EnterpriseRPIDs []string `yaml:"enterprise_rp_ids"`
	// Negative switches make the key misbehave on purpose, so that relying
	// parties can be tested on what they must reject.
	Negative Negative `yaml:"negative"`
	// CertificateOrganization names the vendor in the batch certificate.
	CertificateOrganization string `yaml:"certificate_organization"`
	Counter                 string `yaml:"counter"`
	// ResidentKeys enables discoverable credentials (getInfo option rk).
	ResidentKeys bool `yaml:"resident_keys"`
	// MaxDiscoverableCredentials bounds the store; 0 means no bound.
	MaxDiscoverableCredentials int `yaml:"max_discoverable_credentials"`
	// BackupEligible and BackupState set the BE and BS flags.
	BackupEligible bool `yaml:"backup_eligible"`
	BackupState    bool `yaml:"backup_state"`
	// U2F answers CTAP1/U2F over CTAPHID_MSG.
	U2F                      bool     `yaml:"u2f"`
	MaxMsgSize               uint64   `yaml:"max_msg_size"`
	MaxCredentialCountInList uint64   `yaml:"max_credential_count_in_list"`
	MaxCredentialIDLength    uint64   `yaml:"max_credential_id_length"`
	Transports               []string `yaml:"transports"`
	FirmwareVersion          uint64   `yaml:"firmware_version"`
	// ResetWindow refuses reset more than 10 s after power-up, as real keys do.
	ResetWindow bool `yaml:"reset_window"`
	// USB is what the key shows on a USB HID wire (the uhid transport).
	USB USB `yaml:"usb"`

	// ClientPIN offers authenticatorClientPIN (getInfo option clientPin).
	ClientPIN bool `yaml:"client_pin"`
	// PinUvAuthProtocols lists the PIN/UV auth protocols, preferred
	// first: [2, 1], [1] or [2].
	PinUvAuthProtocols []uint64 `yaml:"pin_uv_auth_protocols"`
	// PinUvAuthToken offers getPinUvAuthTokenUsing*WithPermissions
	// (CTAP 2.1); without it only the CTAP 2.0 getPinToken exists.
	PinUvAuthToken bool `yaml:"pin_uv_auth_token"`
	// MinPINLength is the minimum PIN length of a new key, in Unicode
	// code points (at least 4).
	MinPINLength int `yaml:"min_pin_length"`
	// UV declares built-in user verification (getInfo option uv), whose
	// outcome the configured Verifier decides.
	UV bool `yaml:"uv"`
	// UVRetries is how many failed built-in verifications in a row block
	// it (CTAP 2.1 §6.5.2, at most 25).
	UVRetries int `yaml:"uv_retries"`
	// BioEnroll makes the built-in UV an emulated fingerprint sensor with
	// authenticatorBioEnrollment; UV is then configured only once a
	// fingerprint is enrolled. It needs UV.
	BioEnroll bool `yaml:"bio_enroll"`
	// BioSamples is how many good samples an enrollment needs
	// (maxCaptureSamplesRequiredForEnroll).
	BioSamples int `yaml:"bio_samples"`
	// MaxTemplates bounds the enrolled fingerprints (FP_DATABASE_FULL).
	MaxTemplates int `yaml:"max_templates"`
	// MaxTemplateFriendlyName bounds a fingerprint's name, in bytes.
	MaxTemplateFriendlyName int `yaml:"max_template_friendly_name"`
	// CredentialManagement offers authenticatorCredentialManagement and
	// its prototype (getInfo options credMgmt, credentialMgmtPreview).
	CredentialManagement bool `yaml:"cred_mgmt"`
	// CredentialManagementPreview offers only the prototype command 0x41
	// of the pre-release CTAP 2.1 (FIDO_2_1_PRE, option
	// credentialMgmtPreview), as YubiKey 5 firmware 5.2-5.4 does: it takes
	// a getPinToken token, which carries no permissions.
	CredentialManagementPreview bool `yaml:"cred_mgmt_preview"`
	// BioEnrollPreview offers only the prototype command 0x40 (option
	// userVerificationMgmtPreview) for the emulated fingerprint sensor;
	// like BioEnroll it needs UV and makes UV configured only once a
	// fingerprint is enrolled.
	BioEnrollPreview bool `yaml:"bio_enroll_preview"`
	// LargeBlobs offers authenticatorLargeBlobs with an array of at most
	// MaxLargeBlobArray bytes (at least 1024).
	LargeBlobs        bool   `yaml:"large_blobs"`
	MaxLargeBlobArray uint64 `yaml:"max_large_blob_array"`
	// AuthenticatorConfig offers authenticatorConfig (option authnrCfg);
	// SetMinPINLength its setMinPINLength subcommand.
	AuthenticatorConfig        bool   `yaml:"authnr_cfg"`
	SetMinPINLength            bool   `yaml:"set_min_pin_length"`
	MaxRPIDsForSetMinPINLength uint64 `yaml:"max_rp_ids_for_set_min_pin_length"`
	// AlwaysUV requires user verification for every makeCredential and
	// getAssertion until toggleAlwaysUv turns it off.
	AlwaysUV bool `yaml:"always_uv"`
	// MakeCredUVNotRequired lets a non-discoverable credential be made
	// without user verification while a PIN is set (makeCredUvNotRqd).
	MakeCredUVNotRequired bool `yaml:"make_cred_uv_not_rqd"`
	// NoMcGaPermissionsWithClientPIN refuses the mc and ga permissions to
	// tokens obtained with a PIN, as keys with built-in UV may.
	NoMcGaPermissionsWithClientPIN bool `yaml:"no_mc_ga_permissions_with_client_pin"`
	// Extensions lists the CTAP extensions the key supports, by their
	// identifiers: credProtect, hmac-secret, hmac-secret-mc, credBlob,
	// largeBlobKey, minPinLength. Others in a request are ignored.
	Extensions []string `yaml:"extensions"`
	// MaxCredBlobLength bounds credBlob (at least 32 bytes).
	MaxCredBlobLength uint64 `yaml:"max_cred_blob_length"`
}

// USB is the identity a key shows on a USB HID wire: what browsers, udev
// rules and `fido2-token -L` see of it. In YAML the IDs are integers, for
// example vendor_id: 0x1209.
type USB struct {
	// VendorID and ProductID are the USB IDs. Some sandboxes (snap's
	// u2f-devices interface, for one) admit only the IDs of keys they
	// know, which a profile can borrow.
	VendorID  uint16 `yaml:"vendor_id"`
	ProductID uint16 `yaml:"product_id"`
	// Product is the device name, at most 127 bytes (the kernel keeps no
	// more of a HID device's name).
	Product string `yaml:"product"`
	// Serial is the serial number, at most 63 bytes. Empty means one is
	// derived for the device: from its vault, or at random for a key in
	// memory.
	Serial string `yaml:"serial"`
}

// Softkey's default USB identity: the pid.codes vendor ID for open-source
// projects (0x1209) and its test product ID 0x0001 ("pid.codes Test PID"
// in usb.ids), meant for testing and never given to a product. So no
// driver, udev rule or allow-list mistakes the key for a real model. A
// product ID of softkey's own, registered at pid.codes, would replace it
// for releases.
const (
	defaultUSBVendorID  = 0x1209
	defaultUSBProductID = 0x0001
)

// validate checks the USB identity against the kernel's limits (the
// name and uniq fields of struct uhid_create2_req, include/uapi/linux/uhid.h).
func (u USB) validate() []error {
	var errs []error
	switch {
	case u.Product == "":
		errs = append(errs, errors.New("usb.product: must not be empty"))
	case len(u.Product) > 127:
		errs = append(errs, fmt.Errorf("usb.product: %d bytes, at most 127 fit", len(u.Product)))
	case strings.IndexByte(u.Product, 0) >= 0:
		errs = append(errs, errors.New("usb.product: must not hold a NUL byte"))
	}
	switch {
	case len(u.Serial) > 63:
		errs = append(errs, fmt.Errorf("usb.serial: %d bytes, at most 63 fit", len(u.Serial)))
	case strings.IndexByte(u.Serial, 0) >= 0:
		errs = append(errs, errors.New("usb.serial: must not hold a NUL byte"))
	}
	return errs
}

// Negative holds the switches that make a key misbehave on purpose. The
// first three are named after the WebDriver virtual authenticator's
// response overrides (Chrome DevTools WebAuthn.setResponseOverrideBits).
type Negative struct {
	// BogusSignature zeroes the signature of assertions, attestations or
	// both: "", "assertion", "attestation", "both".
	BogusSignature string `yaml:"bogus_signature"`
	// BadUP clears the UP flag although the user was present.
	BadUP bool `yaml:"bad_up"`
	// BadUV clears the UV flag although the user was verified.
	BadUV bool `yaml:"bad_uv"`
	// CertificateAAGUIDMismatch puts another AAGUID into the attestation
	// certificate than into authenticator data.
	CertificateAAGUIDMismatch bool `yaml:"certificate_aaguid_mismatch"`
	// CertificateExpired and CertificateNotYetValid issue the attestation
	// certificate outside its validity period.
	CertificateExpired     bool `yaml:"certificate_expired"`
	CertificateNotYetValid bool `yaml:"certificate_not_yet_valid"`
	// ForeignRoot chains the attestation certificate to a root that no
	// metadata names.
	ForeignRoot bool `yaml:"foreign_root"`
	// CounterBackwards makes each assertion's signature counter lower
	// than the one before.
	CounterBackwards bool `yaml:"counter_backwards"`
	// InconsistentBackupFlags sets BS without BE (WebAuthn L3 §6.1.3).
	InconsistentBackupFlags bool `yaml:"inconsistent_backup_flags"`
}

// DefaultAAGUID is softkey's own AAGUID, a random UUID chosen for this
// project so that it is never mistaken for a real model.
var defaultAAGUID = AAGUID{0x5f, 0x6b, 0x73, 0x6b, 0x2d, 0x9d, 0x4c, 0x3a, 0x8e, 0x51, 0x2b, 0x07, 0x6e, 0x1c, 0x4f, 0x90}

// DefaultProfile returns softkey's own model: FIDO 2.0 and 2.1 and U2F,
// ES256, EdDSA and RS256, packed attestation, per-credential counters.
func DefaultProfile() *Profile {
	return &Profile{
		Name:                       "softkey",
		AAGUID:                     defaultAAGUID,
		Versions:                   []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1"},
		Algorithms:                 []ctap2.Alg{ctap2.AlgES256, ctap2.AlgEdDSA, ctap2.AlgRS256},
		Attestation:                AttestationPacked,
		CertificateOrganization:    "softkey",
		Counter:                    CounterPerCredential,
		ResidentKeys:               true,
		MaxDiscoverableCredentials: 1000,
		U2F:                        true,
		MaxMsgSize:                 7609,
		MaxCredentialCountInList:   64,
		MaxCredentialIDLength:      1023,
		Transports:                 []string{"usb"},
		FirmwareVersion:            1,
		ResetWindow:                true,
		USB:                        USB{VendorID: defaultUSBVendorID, ProductID: defaultUSBProductID, Product: "softkey"},
		ClientPIN:                  true,
		PinUvAuthProtocols:         []uint64{2, 1},
		PinUvAuthToken:             true,
		MinPINLength:               4,
		UVRetries:                  8,
		BioSamples:                 4,
		MaxTemplates:               5,
		MaxTemplateFriendlyName:    64,
		CredentialManagement:       true,
		LargeBlobs:                 true,
		MaxLargeBlobArray:          4096,
		AuthenticatorConfig:        true,
		SetMinPINLength:            true,
		MaxRPIDsForSetMinPINLength: 4,
		Extensions:                 []string{ExtCredProtect, ExtHMACSecret, ExtCredBlob, ExtLargeBlobKey, ExtMinPINLength},
		MaxCredBlobLength:          32,
	}
}

// Extension identifiers (CTAP 2.1 §12, CTAP 2.2 §12.7 for hmac-secret-mc).
const (
	ExtCredProtect  = "credProtect"
	ExtHMACSecret   = "hmac-secret"
	ExtHMACSecretMC = "hmac-secret-mc"
	ExtCredBlob     = "credBlob"
	ExtLargeBlobKey = "largeBlobKey"
	ExtMinPINLength = "minPinLength"
)

// HasExtension reports whether the profile supports the extension.
func (p *Profile) HasExtension(id string) bool {
	return slices.Contains(p.Extensions, id)
}

// LoadProfile reads a YAML profile. Fields the file leaves out keep the
// default profile's values.
func LoadProfile(path string) (*Profile, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("reading profile: %w", err)
	}
	p := DefaultProfile()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", path, err)
	}
	return p, nil
}

func validAttestation(mode string) bool {
	switch mode {
	case AttestationPacked, AttestationSelf, AttestationTPM, AttestationFIDOU2F, AttestationNone:
		return true
	}
	return false
}

// Validate checks that the profile describes an authenticator this version
// can be.
func (p *Profile) Validate() error {
	var errs []error
	if len(p.Algorithms) == 0 {
		errs = append(errs, errors.New("algorithms: at least one is needed"))
	}
	for _, alg := range p.Algorithms {
		switch alg {
		case ctap2.AlgES256, ctap2.AlgEdDSA, ctap2.AlgRS256:
		default:
			errs = append(errs, fmt.Errorf("algorithms: %v is not supported", alg))
		}
	}
	if !validAttestation(p.Attestation) {
		errs = append(errs, fmt.Errorf("attestation: %q is not one of packed, self, tpm, fido-u2f, none", p.Attestation))
	}
	for _, f := range p.AttestationFormats {
		if !validAttestation(f) {
			errs = append(errs, fmt.Errorf("attestation_formats: %q is not one of packed, self, tpm, fido-u2f, none", f))
		}
	}
	switch p.EnterpriseAttestation {
	case "", EnterpriseVendor, EnterprisePlatform:
	default:
		errs = append(errs, fmt.Errorf("enterprise_attestation: %q is not one of vendor, platform or empty", p.EnterpriseAttestation))
	}
	if p.EnterpriseAttestation == EnterpriseVendor && len(p.EnterpriseRPIDs) == 0 {
		errs = append(errs, errors.New("enterprise_rp_ids: vendor-facilitated enterprise attestation needs at least one RP ID"))
	}
	switch p.Negative.BogusSignature {
	case "", "assertion", "attestation", "both":
	default:
		errs = append(errs, fmt.Errorf("negative.bogus_signature: %q is not one of assertion, attestation, both or empty", p.Negative.BogusSignature))
	}
	switch p.Counter {
	case CounterPerCredential, CounterGlobal, CounterZero:
	default:
		errs = append(errs, fmt.Errorf("counter: %q is not one of per-credential, global, zero", p.Counter))
	}
	if p.BackupState && !p.BackupEligible && !p.Negative.InconsistentBackupFlags {
		errs = append(errs, errors.New("backup_state: a credential cannot be backed up without being backup eligible (negative.inconsistent_backup_flags does it on purpose)"))
	}
	if p.MaxMsgSize < 1024 || p.MaxMsgSize > 7609 {
		errs = append(errs, fmt.Errorf("max_msg_size: %d is outside 1024..7609", p.MaxMsgSize))
	}
	if p.MaxCredentialIDLength < 64 || p.MaxCredentialIDLength > 1023 {
		errs = append(errs, fmt.Errorf("max_credential_id_length: %d is outside 64..1023", p.MaxCredentialIDLength))
	}
	if p.MaxCredentialCountInList == 0 {
		errs = append(errs, errors.New("max_credential_count_in_list: must be at least 1"))
	}
	if len(p.Versions) == 0 {
		errs = append(errs, errors.New("versions: at least one is needed"))
	}
	errs = append(errs, p.USB.validate()...)
	errs = append(errs, p.validatePINAndUV()...)
	return errors.Join(errs...)
}

// SetAttestation makes mode the profile's attestation, as the command
// line's --attestation does: registrations that state no preference get
// it, and when the profile lists the formats a request may choose among
// (AttestationFormats), mode leads that list.
func (p *Profile) SetAttestation(mode string) error {
	if !validAttestation(mode) {
		return fmt.Errorf("attestation %q is not one of packed, self, tpm, fido-u2f, none", mode)
	}
	p.Attestation = mode
	if len(p.AttestationFormats) > 0 {
		p.AttestationFormats = append([]string{mode}, slices.DeleteFunc(slices.Clone(p.AttestationFormats), func(m string) bool { return m == mode })...)
	}
	return nil
}

// AttestationModes returns the attestation modes the profile's key
// produces besides none: AttestationFormats, or else Attestation alone.
func (p *Profile) AttestationModes() []string {
	if len(p.AttestationFormats) > 0 {
		return slices.Clone(p.AttestationFormats)
	}
	return []string{p.Attestation}
}

// validatePINAndUV checks the CTAP 2.1 fields: PIN, built-in UV and the
// features that depend on them.
func (p *Profile) validatePINAndUV() []error {
	var errs []error
	for _, v := range p.PinUvAuthProtocols {
		if v != 1 && v != 2 {
			errs = append(errs, fmt.Errorf("pin_uv_auth_protocols: %d is not 1 or 2", v))
		}
	}
	if (p.ClientPIN || p.UV) && len(p.PinUvAuthProtocols) == 0 {
		errs = append(errs, errors.New("pin_uv_auth_protocols: a key with a PIN or built-in UV needs at least one"))
	}
	if p.MinPINLength < 4 || p.MinPINLength > 63 {
		errs = append(errs, fmt.Errorf("min_pin_length: %d is outside 4..63", p.MinPINLength))
	}
	if p.UV && (p.UVRetries < 1 || p.UVRetries > 25) {
		errs = append(errs, fmt.Errorf("uv_retries: %d is outside 1..25", p.UVRetries))
	}
	if p.BioEnroll || p.BioEnrollPreview {
		if !p.UV {
			errs = append(errs, errors.New("bio_enroll, bio_enroll_preview: need uv (built-in user verification)"))
		}
		if p.BioSamples < 1 || p.BioSamples > 255 {
			errs = append(errs, fmt.Errorf("bio_samples: %d is outside 1..255", p.BioSamples))
		}
		if p.MaxTemplates < 1 || p.MaxTemplates > 255 {
			errs = append(errs, fmt.Errorf("max_templates: %d is outside 1..255", p.MaxTemplates))
		}
		if p.MaxTemplateFriendlyName < 1 {
			errs = append(errs, errors.New("max_template_friendly_name: must be at least 1"))
		}
	}
	if p.LargeBlobs && p.MaxLargeBlobArray < 1024 {
		errs = append(errs, fmt.Errorf("max_large_blob_array: %d is below the 1024 bytes CTAP 2.1 §6.10 requires", p.MaxLargeBlobArray))
	}
	if p.SetMinPINLength && !p.AuthenticatorConfig {
		errs = append(errs, errors.New("set_min_pin_length: needs authnr_cfg"))
	}
	if (p.CredentialManagement || p.CredentialManagementPreview || p.LargeBlobs || p.AuthenticatorConfig || p.BioEnroll) && !p.ClientPIN && !p.UV {
		errs = append(errs, errors.New("cred_mgmt, cred_mgmt_preview, large_blobs, authnr_cfg and bio_enroll need a PIN (client_pin) or built-in UV (uv)"))
	}
	known := []string{ExtCredProtect, ExtHMACSecret, ExtHMACSecretMC, ExtCredBlob, ExtLargeBlobKey, ExtMinPINLength}
	for _, e := range p.Extensions {
		if !slices.Contains(known, e) {
			errs = append(errs, fmt.Errorf("extensions: %q is not one of %s", e, strings.Join(known, ", ")))
		}
	}
	if p.HasExtension(ExtCredBlob) && p.MaxCredBlobLength < 32 {
		errs = append(errs, fmt.Errorf("max_cred_blob_length: %d is below the 32 bytes CTAP 2.1 §12.2 requires", p.MaxCredBlobLength))
	}
	if p.HasExtension(ExtLargeBlobKey) && !p.LargeBlobs {
		errs = append(errs, errors.New("extensions: largeBlobKey needs large_blobs"))
	}
	if p.HasExtension(ExtHMACSecretMC) && !p.HasExtension(ExtHMACSecret) {
		errs = append(errs, errors.New("extensions: hmac-secret-mc needs hmac-secret"))
	}
	return errs
}

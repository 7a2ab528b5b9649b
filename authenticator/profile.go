package authenticator

import (
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/softkeydev/softkey/ctap2"
)

// Attestation formats a profile can ask for in this version.
const (
	AttestationPacked = "packed" // full attestation with the batch certificate chain
	AttestationSelf   = "self"   // packed self attestation
	AttestationNone   = "none"
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
	Name        string     `yaml:"name"`
	AAGUID      AAGUID     `yaml:"aaguid"`
	Versions    []string   `yaml:"versions"`
	Algorithms  Algorithms `yaml:"algorithms"`
	Attestation string     `yaml:"attestation"`
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
	}
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
	switch p.Attestation {
	case AttestationPacked, AttestationSelf, AttestationNone:
	default:
		errs = append(errs, fmt.Errorf("attestation: %q is not one of packed, self, none", p.Attestation))
	}
	switch p.Counter {
	case CounterPerCredential, CounterGlobal, CounterZero:
	default:
		errs = append(errs, fmt.Errorf("counter: %q is not one of per-credential, global, zero", p.Counter))
	}
	if p.BackupState && !p.BackupEligible {
		errs = append(errs, errors.New("backup_state: a credential cannot be backed up without being backup eligible"))
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
	return errors.Join(errs...)
}

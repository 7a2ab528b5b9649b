package authenticator

import (
	"fmt"
	"slices"
)

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

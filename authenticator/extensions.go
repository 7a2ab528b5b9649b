package authenticator

import (
	"github.com/softkeydev/softkey/ctap2"
)

// registrationExtensions is what a makeCredential request asked of the
// extensions the profile supports (CTAP 2.1 §12); others are ignored.
type registrationExtensions struct {
	credProtect  uint8 // 0: not asked
	hmacSecret   bool
	credBlob     []byte
	largeBlobKey bool
	minPINLength bool
}

// parseRegistrationExtensions reads the makeCredential extensions input.
func (a *Authenticator) parseRegistrationExtensions(in map[string]ctap2.RawMessage, discoverable bool) (*registrationExtensions, error) {
	return &registrationExtensions{}, nil
}

// registrationOutputs returns the authenticator data extensions (nil for
// none) and the largeBlobKey to answer with, once the credential exists.
func (a *Authenticator) registrationOutputs(ext *registrationExtensions, dev *deviceState, credID []byte, uv bool) (authDataExtensions, largeBlobKey []byte, err error) {
	return nil, nil, nil
}

// assertionExtensions is what a getAssertion request asked of the
// extensions the profile supports.
type assertionExtensions struct{}

// parseAssertionExtensions reads the getAssertion extensions input.
func (a *Authenticator) parseAssertionExtensions(in map[string]ctap2.RawMessage) (*assertionExtensions, error) {
	return &assertionExtensions{}, nil
}

// credentialVisible applies credProtect (CTAP 2.1 §12.1): whether a
// credential may be used or revealed, given whether the request named it in
// an allow or exclude list and whether the user was verified.
func credentialVisible(src *credentialSource, listed, uv bool) bool {
	return true
}

// assertionOutputs returns the authenticator data extensions (nil for
// none) and the largeBlobKey of one assertion.
func (a *Authenticator) assertionOutputs(ext *assertionExtensions, dev *deviceState, c assertionCandidate, uv bool) (authDataExtensions, largeBlobKey []byte, err error) {
	return nil, nil, nil
}

package attestation

import (
	"crypto"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// Sizes of the parts of a U2F registration (FIDO U2F Raw Message Formats
// §4.1 and §4.3).
const (
	u2fParamSize      = 32  // challenge and application parameters
	u2fPublicKeySize  = 65  // uncompressed P-256 point
	u2fMaxKeyHandle   = 255 // the key handle length is one byte
	u2fReservedPrefix = 0x00
)

// U2FRegisterSignature returns the attestation signature of a U2F
// registration response: ECDSA-SHA256 with the attestation key, DER-encoded,
// over
//
//	0x00 ‖ application (32) ‖ challenge (32) ‖ keyHandle (≤255) ‖ userPublicKey (65)
//
// (FIDO U2F Raw Message Formats §4.3). The same bytes, with rpIdHash as
// application and clientDataHash as challenge, are what the "fido-u2f"
// attestation format signs (WebAuthn L3 §8.6). attKey must be a P-256 key.
func U2FRegisterSignature(attKey crypto.Signer, application, challenge, keyHandle, userPublicKey []byte) ([]byte, error) {
	switch {
	case len(application) != u2fParamSize:
		return nil, fmt.Errorf("signing U2F registration: application parameter is %d bytes, want %d", len(application), u2fParamSize)
	case len(challenge) != u2fParamSize:
		return nil, fmt.Errorf("signing U2F registration: challenge parameter is %d bytes, want %d", len(challenge), u2fParamSize)
	case len(keyHandle) == 0 || len(keyHandle) > u2fMaxKeyHandle:
		return nil, fmt.Errorf("signing U2F registration: key handle is %d bytes, want 1 to %d", len(keyHandle), u2fMaxKeyHandle)
	case len(userPublicKey) != u2fPublicKeySize || userPublicKey[0] != 0x04:
		return nil, fmt.Errorf("signing U2F registration: user public key is not a %d-byte uncompressed P-256 point", u2fPublicKeySize)
	}
	msg := make([]byte, 0, 1+2*u2fParamSize+len(keyHandle)+u2fPublicKeySize)
	msg = append(msg, u2fReservedPrefix)
	msg = append(msg, application...)
	msg = append(msg, challenge...)
	msg = append(msg, keyHandle...)
	msg = append(msg, userPublicKey...)
	sig, err := Sign(attKey, ctap2.AlgES256, msg)
	if err != nil {
		return nil, fmt.Errorf("signing U2F registration: %w", err)
	}
	return sig, nil
}

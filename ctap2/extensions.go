package ctap2

import "fmt"

// HMACSecretInput is the authenticator extension input of hmac-secret in
// getAssertion (CTAP 2.1 §12.5) and of hmac-secret-mc in makeCredential
// (CTAP 2.2 §12.7): the platform's key agreement key, the salts encrypted
// under the shared secret, their MAC, and the PIN/UV auth protocol.
type HMACSecretInput struct {
	KeyAgreement RawMessage `cbor:"1,keyasint,omitempty"`
	SaltEnc      []byte     `cbor:"2,keyasint,omitempty"`
	SaltAuth     []byte     `cbor:"3,keyasint,omitempty"`
	// PinUvAuthProtocol is nil when the platform left it out: protocol
	// one, as before CTAP 2.1.
	PinUvAuthProtocol *uint64 `cbor:"4,keyasint,omitempty"`
}

// Protocol is the PIN/UV auth protocol the input names, 1 when absent.
func (in *HMACSecretInput) Protocol() uint64 {
	if in.PinUvAuthProtocol == nil {
		return 1
	}
	return *in.PinUvAuthProtocol
}

// ParseHMACSecretInput decodes an hmac-secret or hmac-secret-mc input.
// Errors wrap the status to answer: CBOR_UNEXPECTED_TYPE for a value that
// is not such a map or a member of the wrong type, MISSING_PARAMETER when
// keyAgreement, saltEnc or saltAuth is absent.
func ParseHMACSecretInput(raw RawMessage) (*HMACSecretInput, error) {
	// The salts are decoded as raw items first: the decoder would take an
	// array of small integers for a byte string.
	var wire struct {
		KeyAgreement      RawMessage `cbor:"1,keyasint"`
		SaltEnc           RawMessage `cbor:"2,keyasint"`
		SaltAuth          RawMessage `cbor:"3,keyasint"`
		PinUvAuthProtocol *uint64    `cbor:"4,keyasint"`
	}
	if err := UnmarshalExtension(raw, &wire); err != nil {
		return nil, err
	}
	in := &HMACSecretInput{KeyAgreement: wire.KeyAgreement, PinUvAuthProtocol: wire.PinUvAuthProtocol}
	var err error
	switch {
	case wire.KeyAgreement == nil:
		return nil, fmt.Errorf("keyAgreement: %w", ErrMissingParameter)
	case wire.SaltEnc == nil:
		return nil, fmt.Errorf("saltEnc: %w", ErrMissingParameter)
	case wire.SaltAuth == nil:
		return nil, fmt.Errorf("saltAuth: %w", ErrMissingParameter)
	}
	if in.SaltEnc, err = UnmarshalByteString(wire.SaltEnc); err != nil {
		return nil, fmt.Errorf("saltEnc: %w", err)
	}
	if in.SaltAuth, err = UnmarshalByteString(wire.SaltAuth); err != nil {
		return nil, fmt.Errorf("saltAuth: %w", err)
	}
	return in, nil
}

// UnmarshalExtension decodes one extension's value into v. Unlike
// Unmarshal it refuses null and undefined, which the decoder would
// otherwise take as "leave v as it is": an extension sent with such a value
// is of the wrong type, CBOR_UNEXPECTED_TYPE.
func UnmarshalExtension(raw RawMessage, v any) error {
	if len(raw) == 1 && (raw[0] == 0xf6 || raw[0] == 0xf7) {
		return fmt.Errorf("%w: null or undefined extension value", ErrCBORUnexpectedType)
	}
	return Unmarshal(raw, v)
}

// UnmarshalByteString decodes raw, which must be a CBOR byte string
// (major type 2); anything else is CBOR_UNEXPECTED_TYPE. The result is
// never nil.
func UnmarshalByteString(raw RawMessage) ([]byte, error) {
	if len(raw) == 0 || raw[0]>>5 != 2 {
		return nil, fmt.Errorf("%w: not a byte string", ErrCBORUnexpectedType)
	}
	b := []byte{}
	if err := Unmarshal(raw, &b); err != nil {
		return nil, err
	}
	return b, nil
}

package ctap2

import "fmt"

// ClientPIN subcommands (CTAP 2.1 §6.5.5).
const (
	PINGetRetries                         = 0x01
	PINGetKeyAgreement                    = 0x02
	PINSetPIN                             = 0x03
	PINChangePIN                          = 0x04
	PINGetPinToken                        = 0x05
	PINGetPinUvAuthTokenUsingUvWithPerms  = 0x06
	PINGetUVRetries                       = 0x07
	PINGetPinUvAuthTokenUsingPinWithPerms = 0x09
)

// ClientPINRequest is the authenticatorClientPIN parameter map
// (CTAP 2.1 §6.5.5).
type ClientPINRequest struct {
	PinUvAuthProtocol uint64     `cbor:"1,keyasint,omitempty"`
	SubCommand        uint64     `cbor:"2,keyasint"`
	KeyAgreement      RawMessage `cbor:"3,keyasint,omitempty"`
	PinUvAuthParam    []byte     `cbor:"4,keyasint,omitempty"`
	NewPINEnc         []byte     `cbor:"5,keyasint,omitempty"`
	PINHashEnc        []byte     `cbor:"6,keyasint,omitempty"`
	Permissions       uint64     `cbor:"9,keyasint,omitempty"`
	RPID              string     `cbor:"10,keyasint,omitempty"`

	// HasPermissions is set by ParseClientPINRequest when the request
	// carried permissions, so that an absent map entry (MISSING_PARAMETER)
	// can be told from a zero (INVALID_PARAMETER). It is not encoded.
	HasPermissions bool `cbor:"-"`
}

// ParseClientPINRequest decodes the parameters of authenticatorClientPIN.
// Errors wrap the CTAP status to answer.
func ParseClientPINRequest(data []byte) (*ClientPINRequest, error) {
	var r struct {
		ClientPINRequest
		SubCommand  *uint64 `cbor:"2,keyasint"`
		Permissions *uint64 `cbor:"9,keyasint"`
	}
	if err := Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing clientPIN: %w", err)
	}
	if r.SubCommand == nil {
		return nil, fmt.Errorf("parsing clientPIN: subCommand: %w", ErrMissingParameter)
	}
	req := r.ClientPINRequest
	req.SubCommand = *r.SubCommand
	if r.Permissions != nil {
		req.Permissions, req.HasPermissions = *r.Permissions, true
	}
	return &req, nil
}

// ClientPINResponse is the authenticatorClientPIN response map.
type ClientPINResponse struct {
	KeyAgreement    RawMessage `cbor:"1,keyasint,omitempty"`
	PinUvAuthToken  []byte     `cbor:"2,keyasint,omitempty"`
	PINRetries      *uint64    `cbor:"3,keyasint,omitempty"`
	PowerCycleState *bool      `cbor:"4,keyasint,omitempty"`
	UVRetries       *uint64    `cbor:"5,keyasint,omitempty"`
}

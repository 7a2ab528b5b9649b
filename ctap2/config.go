package ctap2

import (
	"bytes"
	"context"
	"fmt"
)

// authenticatorConfig subcommands (CTAP 2.1 §6.11).
const (
	ConfigEnableEnterpriseAttestation = 0x01
	ConfigToggleAlwaysUV              = 0x02
	ConfigSetMinPINLength             = 0x03
	ConfigVendorPrototype             = 0xFF
)

// ConfigRequest is the authenticatorConfig parameter map (CTAP 2.1 §6.11).
// SubCommandParams stays encoded: pinUvAuthParam is computed over it as
// sent.
type ConfigRequest struct {
	SubCommand        uint64     `cbor:"1,keyasint"`
	SubCommandParams  RawMessage `cbor:"2,keyasint,omitempty"`
	PinUvAuthProtocol uint64     `cbor:"3,keyasint,omitempty"`
	PinUvAuthParam    []byte     `cbor:"4,keyasint,omitempty"`
}

// SetMinPINLengthParams are the subCommandParams of setMinPINLength
// (CTAP 2.1 §6.11.4). Absent members are nil.
type SetMinPINLengthParams struct {
	NewMinPINLength   *uint64  `cbor:"1,keyasint,omitempty"`
	MinPINLengthRPIDs []string `cbor:"2,keyasint,omitempty"`
	ForceChangePIN    *bool    `cbor:"3,keyasint,omitempty"`
}

// ParseConfigRequest decodes the parameters of authenticatorConfig.
// Errors wrap the CTAP status to answer.
func ParseConfigRequest(data []byte) (*ConfigRequest, error) {
	var r struct {
		ConfigRequest
		SubCommand *uint64 `cbor:"1,keyasint"`
	}
	if err := Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing authenticatorConfig: %w", err)
	}
	if r.SubCommand == nil {
		return nil, fmt.Errorf("parsing authenticatorConfig: subCommand: %w", ErrMissingParameter)
	}
	if err := checkMap(r.ConfigRequest.SubCommandParams); err != nil {
		return nil, fmt.Errorf("parsing authenticatorConfig: subCommandParams: %w", err)
	}
	req := r.ConfigRequest
	req.SubCommand = *r.SubCommand
	return &req, nil
}

// checkMap accepts an absent item or a CBOR map (major type 5) and refuses
// anything else with CBOR_UNEXPECTED_TYPE.
func checkMap(item RawMessage) error {
	if len(item) > 0 && item[0]>>5 != 5 {
		return ErrCBORUnexpectedType
	}
	return nil
}

// ParseSetMinPINLengthParams decodes setMinPINLength's subCommandParams;
// absent parameters decode as an empty map. Errors wrap the CTAP status to
// answer.
func ParseSetMinPINLengthParams(data RawMessage) (*SetMinPINLengthParams, error) {
	var p SetMinPINLengthParams
	if len(data) == 0 {
		return &p, nil
	}
	if err := Unmarshal(data, &p); err != nil {
		return nil, fmt.Errorf("parsing setMinPINLength parameters: %w", err)
	}
	return &p, nil
}

// ConfigAuthMessage is what a config request's pinUvAuthParam
// authenticates: 32×0xff || 0x0d || uint8(subCommand) || subCommandParams
// (CTAP 2.1 §6.11).
func ConfigAuthMessage(subCommand uint8, subCommandParams []byte) []byte {
	msg := bytes.Repeat([]byte{0xff}, 32)
	msg = append(msg, byte(CmdConfig), subCommand)
	return append(msg, subCommandParams...)
}

// Config sends an authenticatorConfig request (CTAP 2.1 §6.11). The caller
// builds pinUvAuthParam over ConfigAuthMessage; the response has no body.
func (c *Client) Config(ctx context.Context, req *ConfigRequest) error {
	if req == nil {
		return fmt.Errorf("%s: no request", CmdConfig)
	}
	_, err := c.call(ctx, CmdConfig, req)
	return err
}

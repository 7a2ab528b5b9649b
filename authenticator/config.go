package authenticator

import (
	"context"
	"fmt"
	"slices"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// config answers authenticatorConfig (CTAP 2.1 §6.11).
func (a *Authenticator) config(_ context.Context, params []byte) ([]byte, error) {
	if !a.profile.AuthenticatorConfig {
		return nil, fmt.Errorf("authenticatorConfig: not offered: %w", ctap2.ErrInvalidCommand)
	}
	req, err := ctap2.ParseConfigRequest(params)
	if err != nil {
		return nil, fmt.Errorf("authenticatorConfig: %w", err)
	}
	if !a.configSubCommandSupported(req.SubCommand) {
		return nil, fmt.Errorf("authenticatorConfig: subCommand %#x: %w", req.SubCommand, ctap2.ErrInvalidSubcommand)
	}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	if err := a.checkConfigAuth(dev, req); err != nil {
		return nil, fmt.Errorf("authenticatorConfig: %w", err)
	}
	switch req.SubCommand {
	case ctap2.ConfigEnableEnterpriseAttestation:
		// §6.11.1: enabling an enabled feature is no error.
		err = a.updateDevice(func(d *store.Device) error {
			d.EnterpriseAttestation = true
			return nil
		})
	case ctap2.ConfigToggleAlwaysUV:
		on := !a.alwaysUV(dev)
		err = a.updateDevice(func(d *store.Device) error {
			d.AlwaysUV = &on
			return nil
		})
	case ctap2.ConfigSetMinPINLength:
		err = a.setMinPINLength(dev, req.SubCommandParams)
	}
	if err != nil {
		return nil, fmt.Errorf("authenticatorConfig: %w", err)
	}
	return nil, nil
}

// configSubCommandSupported reports whether the key implements the
// subcommand: enableEnterpriseAttestation only with enterprise attestation
// (§6.11.1), setMinPINLength only with the setMinPINLength option
// (§6.11.4), and no vendorPrototype commands.
func (a *Authenticator) configSubCommandSupported(sub uint64) bool {
	switch sub {
	case ctap2.ConfigEnableEnterpriseAttestation:
		return a.profile.EnterpriseAttestation != ""
	case ctap2.ConfigToggleAlwaysUV:
		return true
	case ctap2.ConfigSetMinPINLength:
		return a.profile.SetMinPINLength
	}
	return false
}

// checkConfigAuth checks pinUvAuthParam when the key is protected by some
// form of user verification or alwaysUv is on (CTAP 2.1 §6.11 step 4);
// otherwise the request needs no authentication.
func (a *Authenticator) checkConfigAuth(dev *deviceState, req *ctap2.ConfigRequest) error {
	if !a.protectedByUV(dev) && !a.alwaysUV(dev) {
		return nil
	}
	if req.PinUvAuthParam == nil {
		return fmt.Errorf("pinUvAuthParam: %w", ctap2.ErrPUATRequired)
	}
	if req.PinUvAuthProtocol == 0 {
		return fmt.Errorf("pinUvAuthProtocol: %w", ctap2.ErrMissingParameter)
	}
	msg := ctap2.ConfigAuthMessage(uint8(req.SubCommand), req.SubCommandParams)
	if err := a.verifyPinUvAuthParam(req.PinUvAuthProtocol, req.PinUvAuthParam, msg); err != nil {
		return err
	}
	return a.requirePermission(PermAuthenticatorConfig)
}

// setMinPINLength raises the minimum PIN length, replaces the RP IDs that
// may read it, and forces a PIN change when asked or when the current PIN
// is now too short (CTAP 2.1 §6.11.4).
func (a *Authenticator) setMinPINLength(dev *deviceState, raw ctap2.RawMessage) error {
	params, err := ctap2.ParseSetMinPINLengthParams(raw)
	if err != nil {
		return err
	}
	current := a.minPINLength(dev)
	newMin := current
	if params.NewMinPINLength != nil {
		// No PIN has more code points than its maxPINBytes bytes: a
		// higher minimum would lock every PIN out.
		if *params.NewMinPINLength > maxPINBytes {
			return fmt.Errorf("setMinPINLength: newMinPINLength %d exceeds %d: %w", *params.NewMinPINLength, maxPINBytes, ctap2.ErrPINPolicyViolation)
		}
		newMin = int(*params.NewMinPINLength)
	}
	if newMin < current {
		return fmt.Errorf("setMinPINLength: newMinPINLength %d is below the current %d: %w", newMin, current, ctap2.ErrPINPolicyViolation)
	}
	if params.MinPINLengthRPIDs != nil {
		if !a.profile.HasExtension(ExtMinPINLength) {
			return fmt.Errorf("setMinPINLength: minPinLengthRPIDs without the minPinLength extension: %w", ctap2.ErrPINPolicyViolation)
		}
		if uint64(len(params.MinPINLengthRPIDs)) > a.profile.MaxRPIDsForSetMinPINLength {
			return fmt.Errorf("setMinPINLength: %d minPinLengthRPIDs, at most %d: %w", len(params.MinPINLengthRPIDs), a.profile.MaxRPIDsForSetMinPINLength, ctap2.ErrPINPolicyViolation)
		}
	}
	force := params.ForceChangePIN != nil && *params.ForceChangePIN
	if force && !a.pinSet(dev) {
		return fmt.Errorf("setMinPINLength: forceChangePin without a PIN: %w", ctap2.ErrPINNotSet)
	}
	if a.pinSet(dev) && newMin > dev.record.PINCodePoints {
		force = true
	}
	return a.updateDevice(func(d *store.Device) error {
		d.MinPINLength = newMin
		if params.MinPINLengthRPIDs != nil {
			d.MinPINLengthRPIDs = slices.Clone(params.MinPINLengthRPIDs)
		}
		if force {
			d.ForcePINChange = true
		}
		return nil
	})
}

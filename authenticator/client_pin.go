package authenticator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/subtle"
	"fmt"
	"unicode/utf8"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// PIN rules (CTAP 2.1 §6.5.1, §6.5.5.5).
const (
	// maxPINRetries is the PIN retry counter's maximum.
	maxPINRetries = 8
	// pinFailuresBeforePowerCycle wrong PINs in a row since power-up
	// block PIN checks until the next power cycle (PIN_AUTH_BLOCKED).
	pinFailuresBeforePowerCycle = 3
	// paddedPINLength is the length of a new PIN as sent, padded.
	paddedPINLength = 64
	// maxPINBytes is the longest PIN in UTF-8 bytes.
	maxPINBytes = 63
	// pinHashLength is the stored LEFT(SHA-256(PIN), 16).
	pinHashLength = 16
)

// clientPIN answers authenticatorClientPIN (CTAP 2.1 §6.5.5).
func (a *Authenticator) clientPIN(ctx context.Context, params []byte) ([]byte, error) {
	if !a.profile.ClientPIN && !a.profile.UV {
		return nil, fmt.Errorf("clientPIN: not offered: %w", ctap2.ErrInvalidCommand)
	}
	req, err := ctap2.ParseClientPINRequest(params)
	if err != nil {
		return nil, fmt.Errorf("clientPIN: %w", err)
	}
	dev, err := a.device()
	if err != nil {
		return nil, fmt.Errorf("clientPIN: %w", err)
	}
	var resp *ctap2.ClientPINResponse
	switch {
	case req.SubCommand == ctap2.PINGetKeyAgreement:
		resp, err = a.getKeyAgreement(req)
	case req.SubCommand == ctap2.PINGetRetries && a.profile.ClientPIN:
		resp = a.getPINRetries(dev)
	case req.SubCommand == ctap2.PINSetPIN && a.profile.ClientPIN:
		err = a.setPIN(dev, req)
	case req.SubCommand == ctap2.PINChangePIN && a.profile.ClientPIN:
		err = a.changePIN(dev, req)
	case req.SubCommand == ctap2.PINGetPinToken && a.profile.ClientPIN:
		resp, err = a.getPinToken(dev, req)
	case req.SubCommand == ctap2.PINGetPinUvAuthTokenUsingPinWithPerms && a.profile.ClientPIN && a.profile.PinUvAuthToken:
		resp, err = a.getPinUvAuthTokenUsingPin(dev, req)
	case req.SubCommand == ctap2.PINGetPinUvAuthTokenUsingUvWithPerms && a.profile.UV && a.profile.PinUvAuthToken:
		resp, err = a.getPinUvAuthTokenUsingUv(ctx, dev, req)
	case req.SubCommand == ctap2.PINGetUVRetries && a.profile.UV:
		resp = a.getUVRetries(dev)
	default:
		err = fmt.Errorf("subCommand %#02x: %w", req.SubCommand, ctap2.ErrInvalidSubcommand)
	}
	if err != nil {
		return nil, fmt.Errorf("clientPIN: %w", err)
	}
	if resp == nil {
		return nil, nil
	}
	return ctap2.Marshal(resp)
}

// getPINRetries answers getPINRetries (CTAP 2.1 §6.5.5.2).
func (a *Authenticator) getPINRetries(dev *deviceState) *ctap2.ClientPINResponse {
	retries := uint64(pinRetries(dev.record))
	powerCycle := a.pin.pinFailuresSincePowerUp >= pinFailuresBeforePowerCycle
	return &ctap2.ClientPINResponse{PINRetries: &retries, PowerCycleState: &powerCycle}
}

// getUVRetries answers getUVRetries (CTAP 2.1 §6.5.5.8).
func (a *Authenticator) getUVRetries(dev *deviceState) *ctap2.ClientPINResponse {
	retries := uint64(a.uvRetries(dev))
	return &ctap2.ClientPINResponse{UVRetries: &retries}
}

// getKeyAgreement answers getKeyAgreement (CTAP 2.1 §6.5.5.4).
func (a *Authenticator) getKeyAgreement(req *ctap2.ClientPINRequest) (*ctap2.ClientPINResponse, error) {
	if _, err := a.pinUvProtocol(req.PinUvAuthProtocol); err != nil {
		return nil, fmt.Errorf("getKeyAgreement: %w", err)
	}
	k, err := a.keyAgreement()
	if err != nil {
		return nil, fmt.Errorf("getKeyAgreement: %w", err)
	}
	return &ctap2.ClientPINResponse{KeyAgreement: k.PublicKey()}, nil
}

// sharedSecret decapsulates the platform's key agreement key (CTAP 2.1
// §6.5.6); a bad key is INVALID_PARAMETER.
func (a *Authenticator) sharedSecret(p pinuv.Protocol, peer ctap2.RawMessage) ([]byte, error) {
	k, err := a.keyAgreement()
	if err != nil {
		return nil, err
	}
	return k.SharedSecret(p, peer)
}

// setPIN answers setPIN (CTAP 2.1 §6.5.5.5).
func (a *Authenticator) setPIN(dev *deviceState, req *ctap2.ClientPINRequest) error {
	if req.PinUvAuthProtocol == 0 || req.KeyAgreement == nil || req.NewPINEnc == nil || req.PinUvAuthParam == nil {
		return fmt.Errorf("setPIN: %w", ctap2.ErrMissingParameter)
	}
	p, err := a.pinUvProtocol(req.PinUvAuthProtocol)
	if err != nil {
		return fmt.Errorf("setPIN: %w", err)
	}
	if a.pinSet(dev) {
		return fmt.Errorf("setPIN: a PIN is set: %w", ctap2.ErrNotAllowed)
	}
	secret, err := a.sharedSecret(p, req.KeyAgreement)
	if err != nil {
		return fmt.Errorf("setPIN: %w", err)
	}
	if !p.Verify(secret, req.NewPINEnc, req.PinUvAuthParam) {
		return fmt.Errorf("setPIN: pinUvAuthParam: %w", ctap2.ErrPINAuthInvalid)
	}
	hash, codePoints, err := a.decryptNewPIN(dev, p, secret, req.NewPINEnc)
	if err != nil {
		return fmt.Errorf("setPIN: %w", err)
	}
	return a.updateDevice(func(d *store.Device) error {
		d.PINHash, d.PINCodePoints = hash, codePoints
		d.PINFailures = 0
		d.ForcePINChange = false
		return nil
	})
}

// decryptNewPIN decrypts and checks newPinEnc (CTAP 2.1 §6.5.5.5 steps
// 6-8) and returns LEFT(SHA-256(newPin), 16) with the PIN's length in code
// points.
func (a *Authenticator) decryptNewPIN(dev *deviceState, p pinuv.Protocol, secret, newPINEnc []byte) ([]byte, int, error) {
	padded, err := p.Decrypt(secret, newPINEnc)
	if err != nil {
		return nil, 0, fmt.Errorf("decrypting newPinEnc: %w", ctap2.ErrPINAuthInvalid)
	}
	if len(padded) != paddedPINLength {
		return nil, 0, fmt.Errorf("padded new PIN of %d bytes: %w", len(padded), ctap2.ErrInvalidParameter)
	}
	pin := bytes.TrimRight(padded, "\x00")
	if !utf8.Valid(pin) {
		return nil, 0, fmt.Errorf("new PIN is not UTF-8: %w", ctap2.ErrPINPolicyViolation)
	}
	n, minLength := utf8.RuneCount(pin), a.minPINLength(dev)
	if n < minLength || len(pin) > maxPINBytes {
		return nil, 0, fmt.Errorf("new PIN of %d code points, %d bytes (minimum %d code points, maximum %d bytes): %w",
			n, len(pin), minLength, maxPINBytes, ctap2.ErrPINPolicyViolation)
	}
	return pinHash(pin), n, nil
}

// pinHash is LEFT(SHA-256(pin), 16).
func pinHash(pin []byte) []byte {
	sum := sha256.Sum256(pin)
	return sum[:pinHashLength]
}

// pinRetries is the PIN retry counter.
func pinRetries(d *store.Device) int {
	return max(maxPINRetries-d.PINFailures, 0)
}

// changePIN answers changePIN (CTAP 2.1 §6.5.5.6).
func (a *Authenticator) changePIN(dev *deviceState, req *ctap2.ClientPINRequest) error {
	if req.PinUvAuthProtocol == 0 || req.KeyAgreement == nil || req.PINHashEnc == nil || req.NewPINEnc == nil || req.PinUvAuthParam == nil {
		return fmt.Errorf("changePIN: %w", ctap2.ErrMissingParameter)
	}
	p, err := a.pinUvProtocol(req.PinUvAuthProtocol)
	if err != nil {
		return fmt.Errorf("changePIN: %w", err)
	}
	if err := a.checkPINUsable(dev); err != nil {
		return fmt.Errorf("changePIN: %w", err)
	}
	secret, err := a.sharedSecret(p, req.KeyAgreement)
	if err != nil {
		return fmt.Errorf("changePIN: %w", err)
	}
	message := append(append([]byte{}, req.NewPINEnc...), req.PINHashEnc...)
	if !p.Verify(secret, message, req.PinUvAuthParam) {
		return fmt.Errorf("changePIN: pinUvAuthParam: %w", ctap2.ErrPINAuthInvalid)
	}
	if err := a.checkPINHash(dev, p, secret, req.PINHashEnc); err != nil {
		return fmt.Errorf("changePIN: %w", err)
	}
	hash, codePoints, err := a.decryptNewPIN(dev, p, secret, req.NewPINEnc)
	if err != nil {
		return fmt.Errorf("changePIN: %w", err)
	}
	// A forced change must pick another PIN (CTAP 2.1 §6.5.5.6, §7.4.5).
	if dev.record.ForcePINChange && subtle.ConstantTimeCompare(hash, dev.record.PINHash) == 1 {
		return fmt.Errorf("changePIN: the new PIN is the current one: %w", ctap2.ErrPINPolicyViolation)
	}
	err = a.updateDevice(func(d *store.Device) error {
		d.PINHash, d.PINCodePoints = hash, codePoints
		d.ForcePINChange = false
		return nil
	})
	if err != nil {
		return fmt.Errorf("changePIN: %w", err)
	}
	// Tokens issued under the old PIN are void.
	if err := a.resetPinUvAuthToken(); err != nil {
		return fmt.Errorf("changePIN: %w", err)
	}
	return nil
}

// checkPINUsable refuses a PIN check when there is no PIN, the retries
// are used up, or three wrong PINs since power-up need a power cycle.
func (a *Authenticator) checkPINUsable(dev *deviceState) error {
	switch {
	case !a.pinSet(dev):
		return fmt.Errorf("no PIN: %w", ctap2.ErrPINNotSet)
	case pinRetries(dev.record) == 0:
		return fmt.Errorf("no PIN retries left: %w", ctap2.ErrPINBlocked)
	case a.pin.pinFailuresSincePowerUp >= pinFailuresBeforePowerCycle:
		return fmt.Errorf("%d wrong PINs since power-up: %w", a.pin.pinFailuresSincePowerUp, ctap2.ErrPINAuthBlocked)
	}
	return nil
}

// checkPINHash checks pinHashEnc against the stored PIN (CTAP 2.1
// §6.5.5.7.2 steps 7-10). The retry counter goes down, durably, before
// anything else; a wrong PIN also regenerates the key agreement key. A
// right one restores the retries.
func (a *Authenticator) checkPINHash(dev *deviceState, p pinuv.Protocol, secret, pinHashEnc []byte) error {
	err := a.updateDevice(func(d *store.Device) error {
		d.PINFailures++
		return nil
	})
	if err != nil {
		return fmt.Errorf("counting a PIN attempt: %w", err)
	}
	got, err := p.Decrypt(secret, pinHashEnc)
	if err != nil || len(got) != pinHashLength {
		return fmt.Errorf("decrypting pinHashEnc: %w", ctap2.ErrPINAuthInvalid)
	}
	if subtle.ConstantTimeCompare(got, dev.record.PINHash) != 1 {
		a.pin.pinFailuresSincePowerUp++
		if err := a.regenerateKeyAgreement(); err != nil {
			return err
		}
		switch {
		case pinRetries(dev.record) == 0:
			return fmt.Errorf("wrong PIN, no retries left: %w", ctap2.ErrPINBlocked)
		case a.pin.pinFailuresSincePowerUp >= pinFailuresBeforePowerCycle:
			return fmt.Errorf("wrong PIN, %d since power-up: %w", a.pin.pinFailuresSincePowerUp, ctap2.ErrPINAuthBlocked)
		}
		return fmt.Errorf("wrong PIN, %d retries left: %w", pinRetries(dev.record), ctap2.ErrPINInvalid)
	}
	// The right PIN also unblocks built-in UV, which falls back on it
	// (CTAP 2.1 §6.5.5.7.2 step 10, §6.5.3).
	a.pin.pinFailuresSincePowerUp = 0
	return a.updateDevice(func(d *store.Device) error {
		d.PINFailures = 0
		d.UVFailures = 0
		return nil
	})
}

// getPinToken answers getPinToken (CTAP 2.1 §6.5.5.7.1), the CTAP 2.0
// way to a token: it grants mc and ga, bound to no RP until first use.
func (a *Authenticator) getPinToken(dev *deviceState, req *ctap2.ClientPINRequest) (*ctap2.ClientPINResponse, error) {
	if req.PinUvAuthProtocol == 0 || req.KeyAgreement == nil || req.PINHashEnc == nil {
		return nil, fmt.Errorf("getPinToken: %w", ctap2.ErrMissingParameter)
	}
	if req.HasPermissions || req.RPID != "" {
		return nil, fmt.Errorf("getPinToken: permissions or rpId: %w", ctap2.ErrInvalidParameter)
	}
	// Judgement call: a key that refuses mc and ga to PIN tokens refuses
	// the legacy token, which has only those.
	if a.profile.NoMcGaPermissionsWithClientPIN {
		return nil, fmt.Errorf("getPinToken: mc and ga are not given with a PIN: %w", ctap2.ErrUnauthorizedPermission)
	}
	resp, err := a.pinTokenWithPIN(dev, req, PermMakeCredential|PermGetAssertion, "")
	if err != nil {
		return nil, err
	}
	a.pin.fromGetPinToken = true
	return resp, nil
}

// getPinUvAuthTokenUsingPin answers
// getPinUvAuthTokenUsingPinWithPermissions (CTAP 2.1 §6.5.5.7.2).
func (a *Authenticator) getPinUvAuthTokenUsingPin(dev *deviceState, req *ctap2.ClientPINRequest) (*ctap2.ClientPINResponse, error) {
	if req.PinUvAuthProtocol == 0 || req.KeyAgreement == nil || req.PINHashEnc == nil || !req.HasPermissions {
		return nil, fmt.Errorf("getPinUvAuthTokenUsingPinWithPermissions: %w", ctap2.ErrMissingParameter)
	}
	perms, err := a.checkRequestedPermissions(req, true)
	if err != nil {
		return nil, fmt.Errorf("getPinUvAuthTokenUsingPinWithPermissions: %w", err)
	}
	return a.pinTokenWithPIN(dev, req, perms, req.RPID)
}

// checkRequestedPermissions applies the permission rules of a token
// request (CTAP 2.1 §6.5.5.7.2 steps 3-4, §6.5.5.7.3 steps 3-4).
func (a *Authenticator) checkRequestedPermissions(req *ctap2.ClientPINRequest, withPIN bool) (Permission, error) {
	if _, err := a.pinUvProtocol(req.PinUvAuthProtocol); err != nil {
		return 0, err
	}
	if req.Permissions == 0 {
		return 0, fmt.Errorf("permissions 0: %w", ctap2.ErrInvalidParameter)
	}
	p := a.profile
	supported := PermMakeCredential | PermGetAssertion
	if p.CredentialManagement || p.CredentialManagementPreview {
		supported |= PermCredentialManagement
	}
	if p.BioEnroll || p.BioEnrollPreview {
		supported |= PermBioEnrollment
	}
	if p.LargeBlobs {
		supported |= PermLargeBlobWrite
	}
	if p.AuthenticatorConfig {
		supported |= PermAuthenticatorConfig
	}
	if withPIN && p.NoMcGaPermissionsWithClientPIN {
		supported &^= PermMakeCredential | PermGetAssertion
	}
	// Undefined permission bits are ignored (CTAP 2.1 §6.5.5.7.2 step
	// 13); defined ones the key does not offer are refused.
	const defined = PermMakeCredential | PermGetAssertion | PermCredentialManagement | PermBioEnrollment | PermLargeBlobWrite | PermAuthenticatorConfig
	perms := Permission(req.Permissions) & defined
	if perms&^supported != 0 {
		return 0, fmt.Errorf("permissions %#02x (supported %#02x): %w", req.Permissions, supported, ctap2.ErrUnauthorizedPermission)
	}
	// mc and ga tokens are bound to an RP from the start (CTAP 2.1
	// §6.5.5.7: rpId is required for them).
	if perms&(PermMakeCredential|PermGetAssertion) != 0 && req.RPID == "" {
		return 0, fmt.Errorf("permissions mc or ga without rpId: %w", ctap2.ErrMissingParameter)
	}
	return perms, nil
}

// pinTokenWithPIN checks the PIN and issues a token (CTAP 2.1
// §6.5.5.7.2 steps 5-13).
func (a *Authenticator) pinTokenWithPIN(dev *deviceState, req *ctap2.ClientPINRequest, perms Permission, rpID string) (*ctap2.ClientPINResponse, error) {
	p, err := a.pinUvProtocol(req.PinUvAuthProtocol)
	if err != nil {
		return nil, err
	}
	if err := a.checkPINUsable(dev); err != nil {
		return nil, err
	}
	secret, err := a.sharedSecret(p, req.KeyAgreement)
	if err != nil {
		return nil, err
	}
	if err := a.checkPINHash(dev, p, secret, req.PINHashEnc); err != nil {
		return nil, err
	}
	if dev.record.ForcePINChange {
		return nil, fmt.Errorf("the PIN must be changed first: %w", ctap2.ErrPINPolicyViolation)
	}
	return a.issueToken(p, secret, perms, rpID, false)
}

// issueToken makes a new pinUvAuthToken with perms bound to rpID ("" for
// none), starts using it and returns it encrypted for the platform
// (CTAP 2.1 §6.5.5.7.2 steps 11-13).
func (a *Authenticator) issueToken(p pinuv.Protocol, secret []byte, perms Permission, rpID string, userIsPresent bool) (*ctap2.ClientPINResponse, error) {
	if err := a.resetPinUvAuthToken(); err != nil {
		return nil, err
	}
	enc, err := p.Encrypt(a.rand, secret, a.pin.token)
	if err != nil {
		return nil, fmt.Errorf("encrypting the pinUvAuthToken: %w", err)
	}
	a.beginUsingPinUvAuthToken(p.Version(), userIsPresent)
	a.pin.permissions = perms
	a.pin.rpID = rpID
	return &ctap2.ClientPINResponse{PinUvAuthToken: enc}, nil
}

// getPinUvAuthTokenUsingUv answers getPinUvAuthTokenUsingUvWithPermissions
// (CTAP 2.1 §6.5.5.7.3): built-in UV instead of the PIN.
func (a *Authenticator) getPinUvAuthTokenUsingUv(ctx context.Context, dev *deviceState, req *ctap2.ClientPINRequest) (*ctap2.ClientPINResponse, error) {
	const name = "getPinUvAuthTokenUsingUvWithPermissions"
	if req.PinUvAuthProtocol == 0 || req.KeyAgreement == nil || !req.HasPermissions {
		return nil, fmt.Errorf("%s: %w", name, ctap2.ErrMissingParameter)
	}
	p, err := a.pinUvProtocol(req.PinUvAuthProtocol)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	perms, err := a.checkRequestedPermissions(req, false)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if !a.uvConfigured(dev) {
		return nil, fmt.Errorf("%s: built-in UV is not configured: %w", name, ctap2.ErrNotAllowed)
	}
	if a.uvRetries(dev) == 0 {
		return nil, fmt.Errorf("%s: %w", name, ctap2.ErrUVBlocked)
	}
	secret, err := a.sharedSecret(p, req.KeyAgreement)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	if err := a.performBuiltInUv(ctx, VerifyRequest{Operation: "token", RPID: req.RPID}); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	// Built-in UV on this emulated key takes a touch, so the token
	// carries user presence.
	resp, err := a.issueToken(p, secret, perms, req.RPID, true)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	return resp, nil
}

package authenticator

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// Permission is a pinUvAuthToken permission bit (CTAP 2.1 §6.5.5.7).
type Permission uint8

const (
	PermMakeCredential       Permission = 0x01 // mc
	PermGetAssertion         Permission = 0x02 // ga
	PermCredentialManagement Permission = 0x04 // cm
	PermBioEnrollment        Permission = 0x08 // be
	PermLargeBlobWrite       Permission = 0x10 // lbw
	PermAuthenticatorConfig  Permission = 0x20 // acfg
)

// Token timers (CTAP 2.1 §6.5.2.1, pinUvAuthToken usage timer). A token
// not used within initialUsageTimeLimit of being issued expires; a used
// one lasts at most maxUsagePeriod. Its user-present flag holds for
// userPresentTimeLimit.
const (
	initialUsageTimeLimit = 30 * time.Second
	userPresentTimeLimit  = 30 * time.Second
	maxUsagePeriod        = 10 * time.Minute
)

// pinTokenLength is the pinUvAuthToken's length for both protocols.
const pinTokenLength = 32

// pinUvState is the PIN/UV state that lasts only until power-off
// (CTAP 2.1 §6.5.2): the key agreement key, the pinUvAuthToken with its
// permissions and timers, and the failures since power-up.
type pinUvState struct {
	keyAgreement *pinuv.KeyAgreement
	token        []byte // 32 bytes, regenerated for every token issued

	inUse        bool
	permissions  Permission
	rpID         string // permissions RP ID; "" while none is bound
	started      time.Time
	userPresent  bool
	userVerified bool
	// protocol is the PIN/UV auth protocol the token was issued under;
	// each protocol has its own token (CTAP 2.1 §6.5.4), so a token
	// authenticates only under the protocol it was issued with.
	protocol uint64
	// used records that the token authenticated a request, which lifts
	// the initial usage time limit.
	used bool
	// fromGetPinToken records that the CTAP 2.0 getPinToken issued the
	// token: the prototype commands of FIDO_2_1_PRE take it without
	// permissions (requirePermissionFor).
	fromGetPinToken bool

	// pinFailuresSincePowerUp counts wrong PINs in a row since power-up;
	// at three the key answers PIN_AUTH_BLOCKED until the next power cycle.
	pinFailuresSincePowerUp int
}

// initPinUvState makes the power-up PIN/UV state (CTAP 2.1 §6.5.4
// initialize): a new key agreement key, a new token not in use, and no
// failures since power-up.
func (a *Authenticator) initPinUvState() error {
	a.pin = pinUvState{}
	if err := a.regenerateKeyAgreement(); err != nil {
		return err
	}
	return a.resetPinUvAuthToken()
}

// regenerateKeyAgreement replaces the key agreement key (CTAP 2.1 §6.5.4
// regenerate), as a wrong PIN requires.
func (a *Authenticator) regenerateKeyAgreement() error {
	k, err := pinuv.NewKeyAgreement(a.rand)
	if err != nil {
		a.pin.keyAgreement = nil // made again on next use
		return fmt.Errorf("making the key agreement key: %w", err)
	}
	a.pin.keyAgreement = k
	return nil
}

// keyAgreement returns the key agreement key, making one if a failed
// regeneration left none.
func (a *Authenticator) keyAgreement() (*pinuv.KeyAgreement, error) {
	if a.pin.keyAgreement == nil {
		if err := a.regenerateKeyAgreement(); err != nil {
			return nil, err
		}
	}
	return a.pin.keyAgreement, nil
}

// resetPinUvAuthToken draws a new token and stops using the old one
// (CTAP 2.1 §6.5.4 resetPinUvAuthToken): every pinUvAuthParam made with
// the old token fails from now on.
func (a *Authenticator) resetPinUvAuthToken() error {
	a.stopUsingPinUvAuthToken()
	token := make([]byte, pinTokenLength)
	if _, err := io.ReadFull(a.rand, token); err != nil {
		a.pin.token = nil
		return fmt.Errorf("drawing a pinUvAuthToken: %w", err)
	}
	a.pin.token = token
	return nil
}

// beginUsingPinUvAuthToken starts the token's timers and sets its flags
// (CTAP 2.1 §6.5.2.1 beginUsingPinUvAuthToken).
func (a *Authenticator) beginUsingPinUvAuthToken(protocol uint64, userIsPresent bool) {
	a.pin.inUse = true
	a.pin.protocol = protocol
	a.pin.userPresent = userIsPresent
	a.pin.userVerified = true
	a.pin.started = a.now()
	a.pin.used = false
}

// stopUsingPinUvAuthToken forgets the token's permissions, RP ID and
// flags (CTAP 2.1 §6.5.2.1 stopUsingPinUvAuthToken).
func (a *Authenticator) stopUsingPinUvAuthToken() {
	a.pin.inUse = false
	a.pin.permissions = 0
	a.pin.rpID = ""
	a.pin.userPresent = false
	a.pin.userVerified = false
	a.pin.used = false
	a.pin.fromGetPinToken = false
}

// tokenInUse observes the usage timer (CTAP 2.1 §6.5.2.1
// pinUvAuthTokenUsageTimerObserver) and reports whether the token is in
// use; an expired token is stopped.
func (a *Authenticator) tokenInUse() bool {
	if !a.pin.inUse {
		return false
	}
	age := a.now().Sub(a.pin.started)
	if age > maxUsagePeriod || (!a.pin.used && age > initialUsageTimeLimit) || age < 0 {
		a.stopUsingPinUvAuthToken()
		return false
	}
	return true
}

// tokenUserPresent is getUserPresentFlagValue (CTAP 2.1 §6.5.2.1): whether
// the token in use still carries the user presence collected when it was
// issued. Commands that would otherwise ask for a touch may skip it when
// this is true, and must then call clearTokenUserPresent.
func (a *Authenticator) tokenUserPresent() bool {
	if !a.tokenInUse() {
		return false
	}
	if a.now().Sub(a.pin.started) > userPresentTimeLimit {
		a.pin.userPresent = false
	}
	return a.pin.userPresent
}

// tokenUserVerified is getUserVerifiedFlagValue (CTAP 2.1 §6.5.2.1).
func (a *Authenticator) tokenUserVerified() bool {
	return a.tokenInUse() && a.pin.userVerified
}

// clearTokenUserPresent is clearUserPresentFlag (CTAP 2.1 §6.5.2.1).
func (a *Authenticator) clearTokenUserPresent() { a.pin.userPresent = false }

// clearTokenUserVerified is clearUserVerifiedFlag (CTAP 2.1 §6.5.2.1).
func (a *Authenticator) clearTokenUserVerified() { a.pin.userVerified = false }

// clearTokenPermissionsExceptLbw is clearPinUvAuthTokenPermissionsExceptLbw
// (CTAP 2.1 §6.5.2.1): after a makeCredential or getAssertion with user
// presence, only a pending large-blob write may still use the token.
func (a *Authenticator) clearTokenPermissionsExceptLbw() {
	a.pin.permissions &= PermLargeBlobWrite
}

// verifyPinUvAuthParam checks that param is the MAC of message under the
// pinUvAuthToken, with the PIN/UV auth protocol the request named
// (CTAP 2.1 §6.5.5.7 verify). No token in use (never issued, expired,
// reset, or issued under the other protocol), or a wrong MAC, is
// PIN_AUTH_INVALID; a protocol the profile does not offer is
// INVALID_PARAMETER, a missing one MISSING_PARAMETER.
func (a *Authenticator) verifyPinUvAuthParam(protocol uint64, param, message []byte) error {
	p, err := a.pinUvProtocol(protocol)
	if err != nil {
		return err
	}
	if !a.tokenInUse() || a.pin.protocol != protocol || a.pin.token == nil || !p.Verify(a.pin.token, message, param) {
		return fmt.Errorf("pinUvAuthParam: %w", ctap2.ErrPINAuthInvalid)
	}
	a.pin.used = true
	return nil
}

// pinUvProtocol returns the protocol numbered v if the profile offers it.
func (a *Authenticator) pinUvProtocol(v uint64) (pinuv.Protocol, error) {
	if v == 0 {
		return nil, fmt.Errorf("pinUvAuthProtocol: %w", ctap2.ErrMissingParameter)
	}
	for _, offered := range a.profile.PinUvAuthProtocols {
		if offered == v {
			return pinuv.ByVersion(v)
		}
	}
	return nil, fmt.Errorf("pinUvAuthProtocol %d is not offered: %w", v, ctap2.ErrInvalidParameter)
}

// requirePermission checks that the token in use grants perm. A token
// without it is PIN_AUTH_INVALID (CTAP 2.1 §6.1.2 step 11, §6.7.2, §6.8.2,
// §6.10.2, §6.11); UNAUTHORIZED_PERMISSION is only for asking clientPIN
// for a permission the key lacks. Call it after verifyPinUvAuthParam.
func (a *Authenticator) requirePermission(perm Permission) error {
	if !a.tokenInUse() || a.pin.permissions&perm == 0 {
		return fmt.Errorf("pinUvAuthToken lacks permission %#02x: %w", perm, ctap2.ErrPINAuthInvalid)
	}
	return nil
}

// requirePermissionFor is requirePermission for command cmd, with the
// rule of the pre-release CTAP 2.1 (FIDO_2_1_PRE): its prototype commands
// authenticatorCredentialManagement (0x41) and authenticatorBioEnrollment
// (0x40) predate permissions, so a valid pinUvAuthParam made with a
// getPinToken token suffices there. CTAP 2.1 §6.5.5.7 gives such a token
// only mc and ga, so the final commands (0x0A, 0x09) still refuse it.
// Call it after verifyPinUvAuthParam.
func (a *Authenticator) requirePermissionFor(cmd ctap2.Command, perm Permission) error {
	prototype := cmd == ctap2.CmdCredentialManagementPre || cmd == ctap2.CmdBioEnrollmentPre
	if prototype && a.tokenInUse() && a.pin.fromGetPinToken {
		return nil
	}
	return a.requirePermission(perm)
}

// pinSet reports whether a PIN is set.
func (a *Authenticator) pinSet(dev *deviceState) bool {
	return dev.record.PINHash != nil
}

// protectedByUV reports whether the authenticator is "protected by some
// form of user verification" (CTAP 2.1 §6.1.2): a PIN is set or built-in
// UV is configured.
func (a *Authenticator) protectedByUV(dev *deviceState) bool {
	return (a.profile.ClientPIN && a.pinSet(dev)) || a.uvConfigured(dev)
}

// pinUvAuthForRequest is the PIN/UV part of makeCredential and
// getAssertion that does not depend on the command: steps 1-2 of
// CTAP 2.1 §6.1.2 and §6.2.2. A zero-length pinUvAuthParam asks for a
// touch to pick this authenticator, then PIN_NOT_SET or PIN_INVALID; a
// pinUvAuthParam needs a protocol the profile offers.
func (a *Authenticator) pinUvAuthForRequest(ctx context.Context, dev *deviceState, param []byte, protocol uint64, presence PresenceRequest) error {
	if param == nil {
		return nil
	}
	if len(param) == 0 {
		if err := a.waitForPresence(ctx, presence); err != nil {
			return err
		}
		if a.pinSet(dev) {
			return fmt.Errorf("zero-length pinUvAuthParam: %w", ctap2.ErrPINInvalid)
		}
		return fmt.Errorf("zero-length pinUvAuthParam: %w", ctap2.ErrPINNotSet)
	}
	_, err := a.pinUvProtocol(protocol)
	return err
}

// checkRequestToken verifies a makeCredential or getAssertion
// pinUvAuthParam over clientDataHash and the token's permission perm for
// rpID (CTAP 2.1 §6.1.2 step 11.1, §6.2.2 step 6.1): every failure is
// PIN_AUTH_INVALID. On success the token is bound to rpID.
func (a *Authenticator) checkRequestToken(dev *deviceState, protocol uint64, param, clientDataHash []byte, perm Permission, rpID string) error {
	if !a.protectedByUV(dev) {
		// No PIN and no built-in UV: no token can exist (CTAP 2.0
		// §5.1 step 6 answers PIN_NOT_SET here).
		return fmt.Errorf("pinUvAuthParam without a PIN: %w", ctap2.ErrPINNotSet)
	}
	if err := a.verifyPinUvAuthParam(protocol, param, clientDataHash); err != nil {
		return err
	}
	if !a.tokenUserVerified() {
		return fmt.Errorf("pinUvAuthToken already used for user verification: %w", ctap2.ErrPINAuthInvalid)
	}
	if err := a.requirePermission(perm); err != nil {
		return err
	}
	if a.pin.rpID != "" && a.pin.rpID != rpID {
		return fmt.Errorf("pinUvAuthToken is bound to another RP ID: %w", ctap2.ErrPINAuthInvalid)
	}
	a.pin.rpID = rpID
	return nil
}

// uvRequiredError is the answer when user verification is needed and
// the request brought none (CTAP 2.1 §6.1.2 steps 6-8, §6.2.2 step 5):
// PUAT_REQUIRED when the platform can get a token with the PIN
// (pinMustBeSet: only once a PIN is set), else OPERATION_DENIED.
func (a *Authenticator) uvRequiredError(dev *deviceState, pinMustBeSet bool) error {
	pinUsable := a.profile.ClientPIN && !a.profile.NoMcGaPermissionsWithClientPIN && (!pinMustBeSet || a.pinSet(dev))
	if pinUsable {
		return fmt.Errorf("user verification required: %w", ctap2.ErrPUATRequired)
	}
	return fmt.Errorf("user verification required: %w", ctap2.ErrOperationDenied)
}

// consumeTokenPresence is what makeCredential and getAssertion do once
// user presence was collected (CTAP 2.1 §6.1.2 step 14, §6.2.2 step 9):
// the token's user-present and user-verified flags go, and all its
// permissions but lbw.
func (a *Authenticator) consumeTokenPresence() {
	a.clearTokenUserPresent()
	a.clearTokenUserVerified()
	a.clearTokenPermissionsExceptLbw()
}

package authenticator

import (
	"fmt"
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

	// pinFailuresSincePowerUp counts wrong PINs in a row since power-up;
	// at three the key answers PIN_AUTH_BLOCKED until the next power cycle.
	pinFailuresSincePowerUp int
}

// verifyPinUvAuthParam checks that param is the MAC of message under the
// pinUvAuthToken, with the PIN/UV auth protocol the request named
// (CTAP 2.1 §6.5.5.7 verify). No token in use, or a wrong MAC, is
// PIN_AUTH_INVALID; a protocol the profile does not offer is
// INVALID_PARAMETER.
func (a *Authenticator) verifyPinUvAuthParam(protocol uint64, param, message []byte) error {
	p, err := a.pinUvProtocol(protocol)
	if err != nil {
		return err
	}
	if !a.pin.inUse || !p.Verify(a.pin.token, message, param) {
		return fmt.Errorf("pinUvAuthParam: %w", ctap2.ErrPINAuthInvalid)
	}
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

// requirePermission checks that the token in use grants perm and, when
// rpID is not empty, that it is bound to rpID or to no RP (then it becomes
// bound to rpID). Otherwise the answer is UNAUTHORIZED_PERMISSION
// (CTAP 2.1 §6.1.2 step 6, §6.2.2 step 6).
func (a *Authenticator) requirePermission(perm Permission, rpID string) error {
	if !a.pin.inUse || a.pin.permissions&perm == 0 {
		return fmt.Errorf("pinUvAuthToken lacks permission %#02x: %w", perm, ctap2.ErrUnauthorizedPermission)
	}
	if rpID == "" {
		return nil
	}
	if a.pin.rpID != "" && a.pin.rpID != rpID {
		return fmt.Errorf("pinUvAuthToken is bound to another RP ID: %w", ctap2.ErrUnauthorizedPermission)
	}
	a.pin.rpID = rpID
	return nil
}

// pinSet reports whether a PIN is set.
func (a *Authenticator) pinSet(dev *deviceState) bool {
	return dev.record.PINHash != nil
}

package authenticator

import (
	"context"
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// uvRetries is the built-in UV retry counter (CTAP 2.1 §6.5.5.8): the
// profile's maximum less the failures since the last success.
func (a *Authenticator) uvRetries(dev *deviceState) int {
	return max(a.profile.UVRetries-dev.record.UVFailures, 0)
}

// performBuiltInUv asks the verifier to recognise the user (CTAP 2.1
// §6.5.3 performBuiltInUv). One attempt is made per call: the emulated
// sensor does no internal retries, so preferredPlatformUvAttempts is 1
// and the platform repeats. A no-match costs one UV retry, durably, before
// the answer: UV_INVALID, or UV_BLOCKED once no retries are left; a match
// restores the retries. A cancelled request is KEEPALIVE_CANCEL and costs
// nothing.
func (a *Authenticator) performBuiltInUv(ctx context.Context, req VerifyRequest) error {
	dev, err := a.device()
	if err != nil {
		return err
	}
	if a.uvRetries(dev) == 0 {
		return fmt.Errorf("built-in UV: no retries left: %w", ctap2.ErrUVBlocked)
	}
	// The emulated sensor needs a touch; the transport reports it.
	ctap2.ReportKeepalive(ctx, ctap2.KeepaliveUPNeeded)
	err = a.verifier.VerifyUser(ctx, req)
	ctap2.ReportKeepalive(ctx, ctap2.KeepaliveProcessing)
	switch {
	case err == nil:
		if dev.record.UVFailures == 0 {
			return nil
		}
		return a.updateDevice(func(d *store.Device) error {
			d.UVFailures = 0
			return nil
		})
	case ctx.Err() != nil:
		return fmt.Errorf("built-in UV: %w", ctap2.ErrKeepaliveCancel)
	case errors.Is(err, ErrPresenceTimeout):
		return fmt.Errorf("built-in UV: %w", ctap2.ErrUserActionTimeout)
	case errors.Is(err, ErrPresenceDenied):
		return fmt.Errorf("built-in UV: %w", ctap2.ErrOperationDenied)
	case !errors.Is(err, ErrUVNoMatch):
		return fmt.Errorf("built-in UV: %w", err)
	}
	if err := a.updateDevice(func(d *store.Device) error {
		d.UVFailures++
		return nil
	}); err != nil {
		return fmt.Errorf("built-in UV: counting a failure: %w", err)
	}
	if a.uvRetries(dev) == 0 {
		return fmt.Errorf("built-in UV: no match, no retries left: %w", ctap2.ErrUVBlocked)
	}
	return fmt.Errorf("built-in UV: no match, %d retries left: %w", a.uvRetries(dev), ctap2.ErrUVInvalid)
}

// builtInUvForRequest runs built-in UV for makeCredential or getAssertion
// with the "uv" option (CTAP 2.1 §6.1.2 step 11.2, §6.2.2 step 6.2), whose
// failures answer differently from clientPIN's: a timeout is
// USER_ACTION_TIMEOUT; with a PIN the platform should fall back to it
// (PUAT_REQUIRED); with no retries left PIN_BLOCKED, as the spec words
// it; otherwise OPERATION_DENIED.
func (a *Authenticator) builtInUvForRequest(ctx context.Context, dev *deviceState, req VerifyRequest) error {
	err := a.performBuiltInUv(ctx, req)
	if err == nil {
		return nil
	}
	switch statusOf(err) {
	case ctap2.ErrUVInvalid, ctap2.ErrUVBlocked, ctap2.ErrOperationDenied:
	default:
		return err // timeout, cancel, store failure
	}
	switch {
	case a.pinSet(dev) && a.profile.ClientPIN && !a.profile.NoMcGaPermissionsWithClientPIN:
		return fmt.Errorf("%v; use the PIN: %w", err, ctap2.ErrPUATRequired)
	case a.uvRetries(dev) == 0:
		return fmt.Errorf("%v: %w", err, ctap2.ErrPINBlocked)
	}
	return fmt.Errorf("%v: %w", err, ctap2.ErrOperationDenied)
}

package authenticator

import (
	"context"
	"fmt"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// resetWindow is how long after power-up real keys accept reset
// (CTAP 2.1 §6.6: "within 10 seconds").
const resetWindow = 10 * time.Second

// reset answers authenticatorReset (CTAP 2.1 §6.6): after a touch, every
// credential and the device secrets are gone; non-discoverable credential
// IDs made before no longer open.
func (a *Authenticator) reset(ctx context.Context) ([]byte, error) {
	if a.profile.ResetWindow && a.now().Sub(a.poweredOn) > resetWindow {
		return nil, fmt.Errorf("reset: more than %v after power-up: %w", resetWindow, ctap2.ErrNotAllowed)
	}
	if err := a.waitForPresence(ctx, PresenceRequest{Operation: "reset"}); err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	if err := a.store.Reset(); err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	a.dev = nil
	a.loadedKeys = nil
	a.largeBlobWrite = nil
	a.enrollment = nil
	if _, err := a.device(); err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	// The store forgot the PIN and the retry counters; the power-up state
	// goes too: a new key agreement key, no token in use (CTAP 2.1 §6.6).
	if err := a.initPinUvState(); err != nil {
		return nil, fmt.Errorf("reset: %w", err)
	}
	return nil, nil
}

// selection answers authenticatorSelection (CTAP 2.1 §6.9): a touch picks
// this authenticator among several.
func (a *Authenticator) selection(ctx context.Context) ([]byte, error) {
	if err := a.waitForPresence(ctx, PresenceRequest{Operation: "select"}); err != nil {
		return nil, fmt.Errorf("selection: %w", err)
	}
	return nil, nil
}

package authenticator

import (
	"context"
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// waitForPresence asks the user for a touch and tells the transport, so that
// CTAPHID sends KEEPALIVE UPNEEDED meanwhile (CTAP 2.1 §11.2.9.1.7). The
// error wraps the status the command answers with.
func (a *Authenticator) waitForPresence(ctx context.Context, req PresenceRequest) error {
	ctap2.ReportKeepalive(ctx, ctap2.KeepaliveUPNeeded)
	defer ctap2.ReportKeepalive(ctx, ctap2.KeepaliveProcessing)
	err := a.presence.RequestPresence(ctx, req)
	switch {
	case err == nil:
		return nil
	case ctx.Err() != nil:
		return fmt.Errorf("waiting for user presence: %w", ctap2.ErrKeepaliveCancel)
	case errors.Is(err, ErrPresenceDenied):
		return fmt.Errorf("waiting for user presence: %w", ctap2.ErrOperationDenied)
	case errors.Is(err, ErrPresenceTimeout):
		return fmt.Errorf("waiting for user presence: %w", ctap2.ErrUserActionTimeout)
	}
	return fmt.Errorf("waiting for user presence: %w", err)
}

package authenticator

import (
	"context"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// bioEnrollment is not built yet.
func (a *Authenticator) bioEnrollment(ctx context.Context, cmd ctap2.Command, params []byte) ([]byte, error) {
	return nil, fmt.Errorf("bioEnrollment: %w", ctap2.ErrInvalidCommand)
}

// enrollment is not built yet.
type enrollment struct{}

package authenticator

import (
	"context"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// clientPIN is not built yet.
func (a *Authenticator) clientPIN(ctx context.Context, params []byte) ([]byte, error) {
	return nil, fmt.Errorf("clientPIN: %w", ctap2.ErrInvalidCommand)
}

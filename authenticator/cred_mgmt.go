package authenticator

import (
	"context"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// credentialManagement is not built yet.
func (a *Authenticator) credentialManagement(ctx context.Context, cmd ctap2.Command, params []byte) ([]byte, error) {
	return nil, fmt.Errorf("credentialManagement: %w", ctap2.ErrInvalidCommand)
}

// enumeration is not built yet.
type enumeration struct{}

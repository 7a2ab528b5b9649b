package authenticator

import (
	"context"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// config is not built yet.
func (a *Authenticator) config(ctx context.Context, params []byte) ([]byte, error) {
	return nil, fmt.Errorf("config: %w", ctap2.ErrInvalidCommand)
}

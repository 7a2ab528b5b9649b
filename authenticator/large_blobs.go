package authenticator

import (
	"context"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// largeBlobs is not built yet.
func (a *Authenticator) largeBlobs(ctx context.Context, params []byte) ([]byte, error) {
	return nil, fmt.Errorf("largeBlobs: %w", ctap2.ErrInvalidCommand)
}

// largeBlobWrite is not built yet.
type largeBlobWrite struct{}

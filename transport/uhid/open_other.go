//go:build !linux

package uhid

import (
	"errors"
	"fmt"
	"os"
)

// openDevice fails: only Linux has uhid.
func openDevice(path string) (*os.File, error) {
	return nil, fmt.Errorf("opening %s: uhid is a Linux interface: %w", path, errors.ErrUnsupported)
}

//go:build !cgo || nolibfido2

package main

import (
	"testing"

	"github.com/softkeydev/softkey/testvectors/ci"
)

// The go-libfido2 tests have these stand-ins when this build cannot link
// libfido2 (no cgo, or -tags nolibfido2 where libfido2-dev is missing), so
// that CI notices.

func TestGoLibfido2(t *testing.T)       { noLibfido2(t) }
func TestGoLibfido2CTAP21(t *testing.T) { noLibfido2(t) }
func TestGoLibfido2RunPIN(t *testing.T) { noLibfido2(t) }

func noLibfido2(t *testing.T) {
	ci.Unavailable(t, "go-libfido2 needs cgo and libfido2-dev; this test binary was built without them")
}

//go:build !cgo || nolibfido2

package main

import (
	"testing"

	"github.com/softkeydev/softkey/testvectors/ci"
)

// TestGoLibfido2 stands in for the go-libfido2 test when this build cannot
// link libfido2 (no cgo, or -tags nolibfido2 where libfido2-dev is missing).
func TestGoLibfido2(t *testing.T) {
	ci.Unavailable(t, "go-libfido2 needs cgo and libfido2-dev; this test binary was built without them")
}

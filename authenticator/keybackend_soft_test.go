//go:build !tpmsim

package authenticator

import (
	"io"
	"testing"

	"github.com/softkeydev/softkey/authenticator/keys"
)

// testKeyBackend is the software backend, seeded from rnd so that test keys
// are reproducible. With -tags tpmsim the TPM simulator's backend replaces
// it (keybackend_tpm_test.go).
func testKeyBackend(_ testing.TB, rnd io.Reader) KeyBackend {
	return keys.NewSoftware(rnd)
}

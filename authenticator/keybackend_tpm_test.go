//go:build tpmsim

package authenticator

import (
	"io"
	"sync"
	"testing"

	gtsim "github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
)

// With -tags tpmsim every test key makes its credential keys in the
// in-process TPM simulator. The simulator is a process-wide singleton (a
// second Get blocks until the first is closed), so the whole test binary
// shares one simulator and one backend; both live until the process exits.
var tpmBackend = sync.OnceValues(func() (*tpmkeys.Backend, error) {
	sim, err := gtsim.Get()
	if err != nil {
		return nil, err
	}
	return tpmkeys.New(tpmkeys.Config{TPM: transport.FromReadWriter(sim)})
})

// testKeyBackend returns the shared TPM backend; rnd is not used, the TPM
// makes its own keys.
func testKeyBackend(t testing.TB, _ io.Reader) KeyBackend {
	t.Helper()
	b, err := tpmBackend()
	if err != nil {
		t.Fatalf("TPM simulator: %v", err)
	}
	return b
}

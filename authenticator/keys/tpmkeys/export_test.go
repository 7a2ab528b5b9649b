package tpmkeys

import (
	"testing"

	"github.com/google/go-tpm/tpm2/transport"

	"github.com/softkeydev/softkey/testvectors/swtpmtest"
)

// StartSwtpmForTest starts a swtpm process on a new state directory and
// connects to it, for the engine tests in package tpmkeys_test; it skips
// (fails under CI=true) when swtpm is not installed.
func StartSwtpmForTest(t *testing.T) transport.TPM {
	t.Helper()
	return dialSwtpm(t, swtpmtest.Start(t, t.TempDir()))
}

package main

import (
	"path/filepath"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/testvectors/swtpmtest"
)

// TestTPMKeystoreEndToEnd runs `softkey run --keystore tpm` on a swtpm
// process with a vault: libfido2's tools register and assert (fido2-cred
// -V and fido2-assert -V check attestation and signature), the
// discoverable credential outlives a restart of the key, and a copy of the
// vault does not open without the TPM that sealed its key.
func TestTPMKeystoreEndToEnd(t *testing.T) {
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	tpm := "swtpm:" + swtpmtest.Start(t, t.TempDir()).Addr
	vaultDir := filepath.Join(t.TempDir(), "vault")
	args := []string{"--transport", "pty", "--vault", vaultDir, "--keystore", "tpm", "--tpm", tpm}

	k := startKey(t, nil, args...)
	resident := makeCred(t, k.path(), "es256", "tpm.example", true)
	plain := makeCred(t, k.path(), "es256", "tpm.example", false)
	first := getAssert(t, k.path(), plain, false)
	if second := getAssert(t, k.path(), plain, false); second <= first {
		t.Errorf("signature counter %d after %d: it must grow", second, first)
	}
	k.stop()

	k = startKey(t, nil, args...)
	getAssert(t, k.path(), resident, true)
	k.stop()

	code, stdout, stderr := runSoftkey("creds", "list", "--vault", vaultDir, "--keystore", "tpm", "--tpm", tpm)
	t.Logf("creds list --keystore tpm:\n%s", stdout)
	if code != 0 || !strings.Contains(stdout, "tpm.example") {
		t.Errorf("creds list --keystore tpm: exit %d, stdout %q, stderr %q; want the credential of tpm.example", code, stdout, stderr)
	}
	code, _, stderr = runSoftkey("creds", "list", "--vault", vaultDir)
	if code == 0 || !strings.Contains(stderr, "--keystore tpm") {
		t.Errorf("creds list without the TPM: exit %d, stderr %q; want a refusal that names --keystore tpm", code, stderr)
	}
}

package main

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softkeydev/softkey/testvectors/ci"
)

// startSwtpmForKey starts Debian's swtpm on a free loopback port with its
// state in dir and returns the --tpm value that reaches it, once it
// listens. swtpm saves its state when it ends with SIGTERM.
func startSwtpmForKey(t *testing.T, dir string) string {
	t.Helper()
	path, err := exec.LookPath("swtpm")
	if err != nil {
		ci.Unavailable(t, "swtpm is not installed (Debian: apt-get install swtpm)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	port := ln.Addr().(*net.TCPAddr).Port
	cmd := exec.Command(path, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", fmt.Sprintf("type=tcp,port=%d", port), "--flags", "not-need-init,startup-clear")
	cmd.Stderr = os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting swtpm: %v", err)
	}
	t.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM)
		_ = cmd.Wait()
	})
	// Listening is swtpm's only sign that it is ready.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return "swtpm:" + addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestTPMKeystoreEndToEnd runs `softkey run --keystore tpm` on a swtpm
// process with a vault: libfido2's tools register and assert (fido2-cred
// -V and fido2-assert -V check attestation and signature), the
// discoverable credential outlives a restart of the key, and a copy of the
// vault does not open without the TPM that sealed its key.
func TestTPMKeystoreEndToEnd(t *testing.T) {
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	tpm := startSwtpmForKey(t, t.TempDir())
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

package main

// The CTAP 2.1 command set through Debian's python3-fido2 0.9.1 over the
// UDP wire; the checks are in testdata/python_ctap21.py, which prints
// "ok: NAME" per check and "ok" once all passed.

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/testvectors/ci"
)

// requirePythonFido2 skips (fails under CI=true) without Debian's
// python3 and python3-fido2.
func requirePythonFido2(t *testing.T) {
	t.Helper()
	if _, err := os.Stat(debianPython); err != nil {
		ci.Unavailable(t, "%s is not installed: %v", debianPython, err)
	}
	if out, err := exec.Command(debianPython, "-c", "import fido2").CombinedOutput(); err != nil {
		ci.Unavailable(t, "python3-fido2 is not installed (make deps installs it): %v\n%s", err, out)
	}
}

// runPythonCTAP21 runs python_ctap21.py with args and requires it to exit
// 0 with every wanted "ok: NAME" line and the final "ok" line.
func runPythonCTAP21(t *testing.T, wantChecks []string, args ...string) {
	t.Helper()
	out, errOut, err := tryTool(t, nil, nil, debianPython, append([]string{"testdata/python_ctap21.py"}, args...)...)
	t.Logf("python_ctap21.py %s output:\n%s", strings.Join(args, " "), out)
	if err != nil {
		t.Fatalf("python_ctap21.py %s: %v\nstderr:\n%s", strings.Join(args, " "), err, errOut)
	}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if lines[0] != "python-fido2 0.9.1" {
		t.Errorf("python_ctap21.py first line %q, want python-fido2 0.9.1", lines[0])
	}
	for _, want := range wantChecks {
		if !strings.Contains(string(out), "ok: "+want+"\n") {
			t.Errorf("python_ctap21.py output lacks %q", "ok: "+want)
		}
	}
	if last := lines[len(lines)-1]; last != "ok" {
		t.Errorf("python_ctap21.py last line %q, want ok", last)
	}
}

// TestPythonFido2CTAP21 runs clientPIN with both protocols,
// credentialManagement, largeBlobs, credBlob, hmac-secret and
// authenticatorConfig against a key with the default profile, then reads
// the credentials left with softkey creds list.
func TestPythonFido2CTAP21(t *testing.T) {
	requirePythonFido2(t)
	vault := filepath.Join(t.TempDir(), "vault")
	k := startKey(t, nil, "--transport", "udp", "--listen", "127.0.0.1:0", "--vault", vault)
	runPythonCTAP21(t, []string{
		"pin-protocols",
		"credential-management",
		"large-blobs",
		"cred-blob",
		"hmac-secret",
		"authenticator-config",
	}, "pin", k.addr())
	k.stop()

	// The credentials the script left, as softkey creds list shows them.
	out := tool(t, nil, nil, softkeyBin, "creds", "list", "--vault", vault)
	t.Logf("softkey creds list:\n%s", out)
	rows := map[string][]string{}
	lines := strings.Split(strings.TrimRight(string(out), "\n"), "\n")
	if got, want := strings.Fields(lines[0]), []string{"RP", "USER", "USER", "ID", "CREDENTIAL", "ID", "ALG", "CREATED", "CREDPROTECT", "CREDBLOB", "LARGEBLOBKEY"}; strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("softkey creds list header %q, want %q", got, want)
	}
	for _, l := range lines[1:] {
		f := strings.Fields(l)
		rows[f[1]] = f
	}
	for _, want := range []struct{ user, rp, credProtect, credBlob, largeBlobKey string }{
		{"alice2", "a.example.org", "id-list", "no", "no"},
		{"bob", "a.example.org", "optional", "no", "yes"},
		{"dave", "blob.example.org", "optional", "yes", "no"},
		{"erin", "blob2.example.org", "optional", "no", "no"},
	} {
		f, ok := rows[want.user]
		if !ok {
			t.Errorf("softkey creds list has no credential of %s", want.user)
			continue
		}
		if n := len(f); n != 9 || f[0] != want.rp || f[n-3] != want.credProtect || f[n-2] != want.credBlob || f[n-1] != want.largeBlobKey {
			t.Errorf("softkey creds list row %q, want RP %s, CREDPROTECT %s, CREDBLOB %s, LARGEBLOBKEY %s",
				f, want.rp, want.credProtect, want.credBlob, want.largeBlobKey)
		}
	}
	if _, ok := rows["carol"]; ok {
		t.Error("softkey creds list shows carol's credential, which the script deleted")
	}
}

// TestPythonFido2BuiltInUV runs bioEnrollment, the built-in UV token and
// the uv option against a key with an emulated fingerprint sensor, the
// outcomes decided through softkey uv next on the control socket, and
// enableEnterpriseAttestation.
func TestPythonFido2BuiltInUV(t *testing.T) {
	requirePythonFido2(t)
	dir := t.TempDir()
	profile := writeFile(t, dir, "bio.yaml", []byte("uv: true\nbio_enroll: true\nenterprise_attestation: platform\n"))
	control := filepath.Join(dir, "control.sock")
	k := startKey(t, nil, "--transport", "udp", "--listen", "127.0.0.1:0", "--memory", "--profile", profile, "--control", control)
	if k.ready.Control != control {
		t.Errorf("ready file control %q, want %q", k.ready.Control, control)
	}
	runPythonCTAP21(t, []string{"bio-enrollment", "uv-token", "uv-assertion", "enterprise-attestation", "bio-remove"}, "uv", k.addr(), softkeyBin, control)
}

package main

// Debian's python3-fido2 0.9.1 over the UDP wire (interop.md §2); the
// checks are in testdata/python_udp.py.

import (
	"github.com/softkeydev/softkey/testvectors/ci"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// debianPython is the interpreter Debian's python3-* packages import under
// (pyenv's python3 may come first on PATH and cannot see them).
const debianPython = "/usr/bin/python3"

func TestPythonFido2UDP(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		ci.Unavailable(t, "%s is not installed: %v", debianPython, err)
	}
	if out, err := exec.Command(debianPython, "-c", "import fido2").CombinedOutput(); err != nil {
		ci.Unavailable(t, "python3-fido2 is not installed (make deps installs it): %v\n%s", err, out)
	}
	k := startKey(t, nil, "--transport", "udp", "--listen", "127.0.0.1:0", "--memory")
	out, errOut, err := tryTool(t, nil, nil, debianPython, "testdata/python_udp.py", k.addr())
	t.Logf("python_udp.py output:\n%s", out)
	if err != nil {
		t.Fatalf("python_udp.py %s: %v\nstderr:\n%s", k.addr(), err, errOut)
	}
	for _, want := range []string{
		"python-fido2 0.9.1",
		"ok: get-info U2F_V2,FIDO_2_0,FIDO_2_1",
		"ok: fido2-client-server-register-authenticate",
		"ok: fido2-client-server-discoverable",
		"ok: ctap1-register-authenticate",
		"ok: ctap1-credential-through-ctap2",
		"ok: ctap2-credential-through-ctap1",
	} {
		if !strings.Contains(string(out), want+"\n") {
			t.Errorf("python_udp.py output lacks %q", want)
		}
	}
}

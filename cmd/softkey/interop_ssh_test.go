package main

// OpenSSH's security key support (ssh-keygen, through ssh-sk-helper and
// Debian's libfido2) over the pseudo-terminal.

import (
	"github.com/softkeydev/softkey/testvectors/ci"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

const sshSKHelper = "/usr/lib/openssh/ssh-sk-helper"

func TestOpenSSHSecurityKeys(t *testing.T) {
	keygen := requireTool(t, "ssh-keygen")
	if _, err := os.Stat(sshSKHelper); err != nil {
		ci.Unavailable(t, "%s is missing (package openssh-client): %v", sshSKHelper, err)
	}
	shim := buildDeviceShim(t)
	k := startKey(t, nil, "--transport", "pty", "--memory")

	for _, typ := range []string{"ecdsa-sk", "ed25519-sk"} {
		t.Run(typ, func(t *testing.T) {
			dir := t.TempDir()
			key := filepath.Join(dir, "id_"+strings.ReplaceAll(typ, "-", "_"))
			// Key generation with the device path: OpenSSH's own route to a
			// key that enumeration does not list.
			tool(t, nil, nil, keygen, "-q", "-t", typ, "-O", "device="+k.path(), "-N", "", "-C", "softkey-test", "-f", key)
			pub := strings.TrimSpace(string(readFile(t, key+".pub")))
			if !strings.HasPrefix(pub, "sk-") {
				t.Fatalf("%s.pub = %q, want an sk- key", key, pub)
			}

			msg := writeFile(t, dir, "message.txt", []byte("signed by softkey through OpenSSH\n"))
			signArgs := []string{"-Y", "sign", "-f", key, "-n", "file", msg}
			// ssh-keygen -Y sign cannot be given a device: OpenSSH's
			// sk-usbhid finds keys through libfido2's enumeration, which
			// lists hidraw nodes only. Try it as it is first, so the day it
			// works we know; then with the enumeration shim.
			_, errOut, err := tryTool(t, nil, nil, keygen, signArgs...)
			if err != nil {
				t.Logf("ssh-keygen -Y sign without a listed device fails, as expected on a pseudo-terminal: %v\n%s", err, errOut)
				tool(t, nil, []string{"LD_PRELOAD=" + shim, "SOFTKEY_FIDO_DEVICE=" + k.path()}, keygen, signArgs...)
			}

			allowed := writeFile(t, dir, "allowed_signers", []byte("softkey@example.org "+pub+"\n"))
			out := tool(t, readFile(t, msg), nil, keygen, "-Y", "verify", "-f", allowed, "-I", "softkey@example.org", "-n", "file", "-s", msg+".sig")
			if !strings.Contains(string(out), `Good "file" signature for softkey@example.org`) {
				t.Errorf("ssh-keygen -Y verify printed %q, want a good signature", out)
			}

			// The verifier must be able to fail: a changed message is refused.
			_, _, err = tryTool(t, []byte("another message\n"), nil, keygen, "-Y", "verify", "-f", allowed, "-I", "softkey@example.org", "-n", "file", "-s", msg+".sig")
			if err == nil {
				t.Error("ssh-keygen -Y verify accepted the signature for another message")
			}
		})
	}
}

// buildDeviceShim compiles testdata/fido_device_shim.c (see its comment)
// and returns the path of the shared library.
func buildDeviceShim(t *testing.T) string {
	t.Helper()
	cc := requireTool(t, "gcc")
	if _, err := os.Stat("/usr/include/fido.h"); err != nil {
		ci.Unavailable(t, "libfido2-dev is not installed (make deps installs it): %v", err)
	}
	src, err := filepath.Abs("testdata/fido_device_shim.c")
	if err != nil {
		t.Fatal(err)
	}
	so := filepath.Join(t.TempDir(), "fido_device_shim.so")
	if out, err := exec.Command(cc, "-Wall", "-shared", "-fPIC", "-o", so, src, "-lfido2").CombinedOutput(); err != nil {
		t.Fatalf("building the device shim: %v\n%s", err, out)
	}
	return so
}

package main

// OpenSSH with a PIN: resident, verify-required ed25519-sk and ecdsa-sk
// keys made by ssh-keygen, downloaded again with ssh-keygen -K and used to
// sign, with ssh-keygen asking for the PIN on its terminal (tty_test.go
// answers).

import (
	"bytes"
	"encoding/binary"
	"encoding/pem"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/testvectors/ci"
)

// sshPublicKey returns the type and base64 blob of an OpenSSH public key
// line, without the comment.
func sshPublicKey(t *testing.T, line string) string {
	t.Helper()
	f := strings.Fields(line)
	if len(f) < 2 {
		t.Fatalf("public key %q, want type and key", line)
	}
	return f[0] + " " + f[1]
}

func TestOpenSSHResidentKeyWithPIN(t *testing.T) {
	keygen := requireTool(t, "ssh-keygen")
	requireTool(t, fido2Token)
	if _, err := os.Stat(sshSKHelper); err != nil {
		ci.Unavailable(t, "%s is missing (package openssh-client): %v", sshSKHelper, err)
	}
	shim := buildDeviceShim(t)
	tests := []struct {
		typ     string // ssh-keygen -t
		keyType string // in the .pub file and the signature
		cose    string // as fido2-token -L -k lists it
		prompt  string // ssh-keygen -Y sign's question
	}{
		{"ed25519-sk", "sk-ssh-ed25519@openssh.com", "eddsa", "Enter PIN for ED25519-SK key"},
		{"ecdsa-sk", "sk-ecdsa-sha2-nistp256@openssh.com", "es256", "Enter PIN for ECDSA-SK key"},
	}
	for _, tt := range tests {
		t.Run(tt.typ, func(t *testing.T) {
			k := startPTYKey(t)
			dev := k.path()
			const pin = "2468"
			setPIN(t, dev, pin)
			pinQ := []ttyPrompt{{"Enter PIN for authenticator", pin}}
			dir := t.TempDir()
			key := filepath.Join(dir, "id_"+strings.ReplaceAll(tt.typ, "-", "_"))

			// ssh-keygen tries without a PIN first; the key answers that one
			// is needed, and ssh-keygen asks for it.
			gen := mustTTY(t, nil, pinQ, keygen, "-q", "-t", tt.typ, "-O", "resident", "-O", "verify-required",
				"-O", "device="+dev, "-O", "application=ssh:softkey", "-N", "", "-C", "softkey-pin", "-f", key)
			pub := sshPublicKey(t, string(readFile(t, key+".pub")))
			if !strings.HasPrefix(pub, tt.keyType+" ") {
				t.Fatalf("%s.pub = %q, want a %s key\n%s", key, pub, tt.keyType, gen)
			}

			// The key holds it as a discoverable credential of RP
			// ssh:softkey, which only UV can use (verify-required).
			rks := listRKs(t, dev, pin, "ssh:softkey")
			if len(rks) != 1 {
				t.Errorf("fido2-token -L -k ssh:softkey lists %+v, want the one ssh-keygen made", rks)
			}
			for _, rk := range rks {
				if rk.typ != tt.cose || rk.prot != "uvreq" {
					t.Errorf("ssh-keygen's credential is listed as %+v, want %s with credProtect uvreq", rk, tt.cose)
				}
			}

			// ssh-keygen -K downloads it again, PIN first.
			download := t.TempDir()
			shimEnv := []string{"LD_PRELOAD=" + shim, "SOFTKEY_FIDO_DEVICE=" + dev}
			got := tryTTYIn(t, download, nil, pinQ, keygen, "-K", "-N", "", "-O", "device="+dev)
			if got.err != nil {
				// OpenSSH without -O device= support for -K finds keys through
				// libfido2's enumeration, which the shim makes list the pty.
				t.Logf("ssh-keygen -K -O device= failed, trying the enumeration shim:\n%s", got)
				got = mustTTYIn(t, download, shimEnv, pinQ, keygen, "-K", "-N", "")
			}
			files, err := filepath.Glob(filepath.Join(download, "id_*_sk_rk*.pub"))
			if err != nil || len(files) != 1 {
				t.Fatalf("ssh-keygen -K wrote %v (%v), want one id_*_sk_rk*.pub\n%s", files, err, got)
			}
			if downloaded := sshPublicKey(t, string(readFile(t, files[0]))); downloaded != pub {
				t.Errorf("ssh-keygen -K downloaded %q, want the generated %q", downloaded, pub)
			}

			// A wrong PIN downloads nothing and costs a retry.
			wrongDir := t.TempDir()
			r := tryTTYIn(t, wrongDir, shimEnv, []ttyPrompt{{"Enter PIN for authenticator", "1357"}}, keygen, "-K", "-N", "")
			if r.err == nil {
				t.Errorf("ssh-keygen -K with a wrong PIN succeeded\n%s", r)
			}
			if files, _ := filepath.Glob(filepath.Join(wrongDir, "id_*")); len(files) != 0 {
				t.Errorf("ssh-keygen -K with a wrong PIN wrote %v", files)
			}
			requireInfo(t, dev, map[string]string{"pin retries": "7"})

			// Signing with a verify-required key asks for the PIN (ssh-keygen
			// -Y sign takes no device: the shim lists the pty), and the
			// signature's flags say the user was verified.
			msg := writeFile(t, dir, "message.txt", []byte("signed with a PIN through OpenSSH\n"))
			mustTTY(t, shimEnv, []ttyPrompt{{tt.prompt, pin}}, keygen, "-Y", "sign", "-f", key, "-n", "file", msg)
			allowed := writeFile(t, dir, "allowed_signers", []byte("softkey@example.org "+pub+"\n"))
			out := tool(t, readFile(t, msg), nil, keygen, "-Y", "verify", "-f", allowed, "-I", "softkey@example.org", "-n", "file", "-s", msg+".sig")
			if !strings.Contains(string(out), `Good "file" signature for softkey@example.org`) {
				t.Errorf("ssh-keygen -Y verify printed %q, want a good signature", out)
			}
			if flags := skSignatureFlags(t, readFile(t, msg+".sig"), tt.keyType); flags&0x05 != 0x05 {
				t.Errorf("signature flags %#02x, want user presence (0x01) and user verification (0x04)", flags)
			}
			requireInfo(t, dev, map[string]string{"pin retries": "8"})
		})
	}
}

// skSignatureFlags returns the authenticator flags of an ssh-keygen -Y
// sign signature made with a security key (OpenSSH PROTOCOL.sshsig and
// PROTOCOL.u2f: the sk signature is string type, string signature, byte
// flags, uint32 counter).
func skSignatureFlags(t *testing.T, armored []byte, keyType string) byte {
	t.Helper()
	block, _ := pem.Decode(armored)
	if block == nil || block.Type != "SSH SIGNATURE" {
		t.Fatalf("signature file %q, want an armored SSH SIGNATURE", armored)
	}
	b := block.Bytes
	if !bytes.HasPrefix(b, []byte("SSHSIG")) {
		t.Fatalf("signature blob %x, want the SSHSIG magic", b)
	}
	b = b[len("SSHSIG")+4:] // magic, version
	next := func() []byte {
		t.Helper()
		if len(b) < 4 || uint32(len(b)-4) < binary.BigEndian.Uint32(b) {
			t.Fatalf("truncated SSH signature: %x", block.Bytes)
		}
		n := binary.BigEndian.Uint32(b)
		s := b[4 : 4+n]
		b = b[4+n:]
		return s
	}
	for range 4 { // public key, namespace, reserved, hash algorithm
		next()
	}
	b = next() // the signature: type, signature, flags, counter
	if typ := string(next()); typ != keyType {
		t.Fatalf("signature type %q, want %s", typ, keyType)
	}
	next()
	if len(b) != 5 {
		t.Fatalf("sk signature ends with %x, want flags and a 4-byte counter", b)
	}
	return b[0]
}

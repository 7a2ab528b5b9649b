package main

// clientPIN end to end through libfido2 1.12's tools: fido2-token sets and
// changes the PIN and shows the retries, fido2-cred and fido2-assert ask
// for it on their terminal (tty_test.go answers), and the hmac-secret and
// credProtect extensions are checked by libfido2's own verifiers.

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const fido2Token = "fido2-token"

// startPTYKey starts a fresh key in memory on a pseudo-terminal.
func startPTYKey(t *testing.T, args ...string) *keyProcess {
	t.Helper()
	return startKey(t, nil, append([]string{"--transport", "pty", "--memory"}, args...)...)
}

// newPINPrompts are fido2-token -S's questions for a new PIN.
func newPINPrompts(pin string) []ttyPrompt {
	return []ttyPrompt{{"Enter new PIN for ", pin}, {"Enter the same PIN again", pin}}
}

// changePINPrompts are fido2-token -C's questions.
func changePINPrompts(current, pin string) []ttyPrompt {
	return append([]ttyPrompt{{"Enter current PIN for ", current}}, newPINPrompts(pin)...)
}

// setPIN sets the first PIN of a key with fido2-token -S.
func setPIN(t *testing.T, dev, pin string) {
	t.Helper()
	mustTTY(t, nil, newPINPrompts(pin), fido2Token, "-S", dev)
}

// tokenInfo is fido2-token -I's output: getInfo, and the PIN retries.
func tokenInfo(t *testing.T, dev string) string {
	t.Helper()
	return string(tool(t, nil, nil, fido2Token, "-I", dev))
}

// infoField returns the value of a "name: value" line of fido2-token -I,
// failing the test if there is none.
func infoField(t *testing.T, info, name string) string {
	t.Helper()
	for line := range strings.Lines(info) {
		if v, ok := strings.CutPrefix(strings.TrimRight(line, "\n"), name+": "); ok {
			return v
		}
	}
	t.Fatalf("fido2-token -I shows no %q line:\n%s", name, info)
	return ""
}

// tokenOptions returns the options fido2-token -I lists: "clientPin" for
// an option that is true, "noclientPin" for one that is false.
func tokenOptions(t *testing.T, info string) []string {
	t.Helper()
	opts := strings.Split(infoField(t, info, "options"), ",")
	for i := range opts {
		opts[i] = strings.TrimSpace(opts[i])
	}
	return opts
}

// requireInfo checks fields and options of fido2-token -I at once.
func requireInfo(t *testing.T, dev string, fields map[string]string, options ...string) string {
	t.Helper()
	info := tokenInfo(t, dev)
	for name, want := range fields {
		if got := infoField(t, info, name); got != want {
			t.Errorf("fido2-token -I: %s: %q, want %q\n%s", name, got, want, info)
		}
	}
	opts := tokenOptions(t, info)
	for _, want := range options {
		if !slices.Contains(opts, want) {
			t.Errorf("fido2-token -I: options %q, want %q among them", opts, want)
		}
	}
	return info
}

// requireFailure checks that a command run on a terminal failed with
// libfido2's error name in its stderr.
func requireFailure(t *testing.T, r ttyResult, what, want string) {
	t.Helper()
	if r.err == nil {
		t.Fatalf("%s succeeded, want %s\n%s", what, want, r)
	}
	if !strings.Contains(r.stderr, want) {
		t.Fatalf("%s failed without %s\n%s", what, want, r)
	}
}

func TestFido2TokenPIN(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	control := filepath.Join(t.TempDir(), "control.sock")
	k := startPTYKey(t, "--control", control)
	dev := k.path()

	requireInfo(t, dev, map[string]string{"pin retries": "8"}, "noclientPin")

	setPIN(t, dev, "1234")
	requireInfo(t, dev, map[string]string{"pin retries": "8"}, "clientPin")

	// A PIN is set once; after that it is changed.
	r := tryTTY(t, nil, newPINPrompts("4321"), fido2Token, "-S", dev)
	requireFailure(t, r, "fido2-token -S with a PIN set", "FIDO_ERR_NOT_ALLOWED")

	// A wrong current PIN costs a retry and changes nothing.
	r = tryTTY(t, nil, changePINPrompts("9999", "56789"), fido2Token, "-C", dev)
	requireFailure(t, r, "fido2-token -C with a wrong current PIN", "FIDO_ERR_PIN_INVALID")
	requireInfo(t, dev, map[string]string{"pin retries": "7"})

	// The right one changes it and gives the retries back.
	mustTTY(t, nil, changePINPrompts("1234", "56789"), fido2Token, "-C", dev)
	requireInfo(t, dev, map[string]string{"pin retries": "8"})

	// The old PIN no longer works, the new one does: a discoverable
	// credential needs it (CTAP 2.1 §6.1.2 step 6: rk with a PIN set).
	param := credParam(t, "pin.example.org", "alice")
	r = tryTTY(t, nil, []ttyPrompt{pinPrompt("1234")}, "fido2-cred", "-M", "-r", "-i", param, dev, "es256")
	requireFailure(t, r, "fido2-cred -M -r with the old PIN", "FIDO_ERR_PIN_INVALID")
	requireInfo(t, dev, map[string]string{"pin retries": "7"})
	made := mustTTY(t, nil, []ttyPrompt{pinPrompt("56789")}, "fido2-cred", "-M", "-r", "-i", param, dev, "es256")
	cred := verifyCred(t, made.stdout, "es256")
	requireInfo(t, dev, map[string]string{"pin retries": "8"})

	// fido2-assert -v asks for the PIN: a wrong one costs a retry, the
	// right one gives an assertion with UV that libfido2 verifies.
	assertParam := writeFile(t, t.TempDir(), "assert_param", fmt.Appendf(nil, "%s\n%s\n", b64(sha256Sum("pin assert")), cred.rpID))
	r = tryTTY(t, nil, []ttyPrompt{pinPrompt("0000")}, "fido2-assert", "-G", "-r", "-v", "-i", assertParam, dev)
	requireFailure(t, r, "fido2-assert -G -v with a wrong PIN", "FIDO_ERR_PIN_INVALID")
	requireInfo(t, dev, map[string]string{"pin retries": "7"})
	got := mustTTY(t, nil, []ttyPrompt{pinPrompt("56789")}, "fido2-assert", "-G", "-r", "-v", "-i", assertParam, dev)
	verifyAssertion(t, got.stdout, cred, "-v")
	requireInfo(t, dev, map[string]string{"pin retries": "8"})

	// Three wrong PINs in a row block the PIN until the key is power
	// cycled (CTAP 2.1 §6.5.5.7.2: pinAuthBlocked), even the right one.
	for i, want := range []string{"FIDO_ERR_PIN_INVALID", "FIDO_ERR_PIN_INVALID", "FIDO_ERR_PIN_AUTH_BLOCKED"} {
		r = tryTTY(t, nil, []ttyPrompt{pinPrompt("0000")}, "fido2-assert", "-G", "-r", "-v", "-i", assertParam, dev)
		requireFailure(t, r, fmt.Sprintf("wrong PIN #%d", i+1), want)
	}
	r = tryTTY(t, nil, []ttyPrompt{pinPrompt("56789")}, "fido2-assert", "-G", "-r", "-v", "-i", assertParam, dev)
	requireFailure(t, r, "the right PIN after three wrong ones", "FIDO_ERR_PIN_AUTH_BLOCKED")
	requireInfo(t, dev, map[string]string{"pin retries": "5"})

	// Unplugging and replugging the key lifts the block, not the count.
	tool(t, nil, nil, softkeyBin, "power-cycle", "--control", control)
	requireInfo(t, dev, map[string]string{"pin retries": "5"})
	got = mustTTY(t, nil, []ttyPrompt{pinPrompt("56789")}, "fido2-assert", "-G", "-r", "-v", "-i", assertParam, dev)
	verifyAssertion(t, got.stdout, cred, "-v")
	requireInfo(t, dev, map[string]string{"pin retries": "8"})
}

// TestFido2TokenPINPersists: the PIN and its retry counter are kept in the
// vault, and a restart (a power cycle) lifts the three-wrong-PINs block.
func TestFido2TokenPINPersists(t *testing.T) {
	requireTool(t, fido2Token)
	vault := t.TempDir()
	env := []string{"SOFTKEY_VAULT_PASSPHRASE=pin persists"}
	k := startKey(t, env, "--transport", "pty", "--vault", vault)
	setPIN(t, k.path(), "1234")
	for i, want := range []string{"FIDO_ERR_PIN_INVALID", "FIDO_ERR_PIN_INVALID", "FIDO_ERR_PIN_AUTH_BLOCKED"} {
		r := tryTTY(t, nil, changePINPrompts("0000", "4321"), fido2Token, "-C", k.path())
		requireFailure(t, r, fmt.Sprintf("fido2-token -C with a wrong PIN #%d", i+1), want)
	}
	k.stop()

	k = startKey(t, env, "--transport", "pty", "--vault", vault)
	requireInfo(t, k.path(), map[string]string{"pin retries": "5"}, "clientPin")
	mustTTY(t, nil, changePINPrompts("1234", "4321"), fido2Token, "-C", k.path())
	requireInfo(t, k.path(), map[string]string{"pin retries": "8"})
}

// credParam writes fido2-cred -M's input: client data hash, RP ID, user
// name and a random user ID.
func credParam(t *testing.T, rpID, user string) string {
	t.Helper()
	param := fmt.Sprintf("%s\n%s\n%s\n%s\n", b64(sha256Sum("make credential "+rpID)), rpID, user, b64(randomBytes(t, 32)))
	return writeFile(t, t.TempDir(), "cred_param", []byte(param))
}

// madeCred is a credential made with fido2-cred -M and checked with
// fido2-cred -V.
type madeCred struct {
	typ     string
	rpID    string
	id      string // base64
	pubKey  string // path of the PEM public key
	pem     string
	blobKey string // base64 largeBlobKey, with fido2-cred -M -b
}

// verifyCred feeds fido2-cred -M's output to fido2-cred -V with flags
// (-h, -v, -c N: what the attestation must show) and returns the
// credential.
func verifyCred(t *testing.T, made, typ string, flags ...string) *madeCred {
	t.Helper()
	lines := strings.Split(strings.TrimSuffix(made, "\n"), "\n")
	if len(lines) < 6 {
		t.Fatalf("fido2-cred -M printed %d lines, want at least 6:\n%s", len(lines), made)
	}
	dir := t.TempDir()
	out := filepath.Join(dir, "cred")
	args := append(append([]string{"-V"}, flags...), "-o", out, typ)
	tool(t, []byte(made), nil, "fido2-cred", args...)
	id, pem, ok := strings.Cut(string(readFile(t, out)), "\n")
	if !ok || !strings.Contains(pem, "BEGIN PUBLIC KEY") {
		t.Fatalf("fido2-cred -V -o wrote %q, want a credential ID and a PEM key", readFile(t, out))
	}
	if id != lines[4] {
		t.Errorf("fido2-cred -V: credential ID %q, want %q as -M printed it", id, lines[4])
	}
	c := &madeCred{typ: typ, rpID: lines[1], id: id, pem: pem, pubKey: writeFile(t, dir, "pubkey", []byte(pem))}
	// The largeBlobKey follows the attestation certificate, which softkey's
	// full packed attestation always has.
	if len(lines) >= 8 {
		c.blobKey = lines[7]
	}
	return c
}

// verifyAssertion feeds the first assertion fido2-assert -G printed to
// fido2-assert -V with flags (-h, -p, -v: what the signed flags must be).
func verifyAssertion(t *testing.T, out string, c *madeCred, flags ...string) {
	t.Helper()
	lines := strings.Split(out, "\n")
	if len(lines) < 4 {
		t.Fatalf("fido2-assert -G printed %d lines, want at least 4:\n%s", len(lines), out)
	}
	if lines[1] != c.rpID {
		t.Errorf("fido2-assert -G: relying party %q, want %q", lines[1], c.rpID)
	}
	args := append(append([]string{"-V"}, flags...), c.pubKey, c.typ)
	tool(t, []byte(strings.Join(lines[:4], "\n")+"\n"), nil, "fido2-assert", args...)
}

// TestFido2CredExtensions: hmac-secret and credProtect made by fido2-cred
// and used by fido2-assert, on a key with a PIN, checked by libfido2's
// verifiers.
func TestFido2CredExtensions(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	k := startPTYKey(t)
	dev := k.path()
	setPIN(t, dev, "1234")
	pin := []ttyPrompt{pinPrompt("1234")}

	t.Run("hmac-secret", func(t *testing.T) {
		made := mustTTY(t, nil, pin, "fido2-cred", "-M", "-h", "-i", credParam(t, "hmac.example.org", "alice"), dev, "eddsa")
		c := verifyCred(t, made.stdout, "eddsa", "-h")
		// The verifier must be able to fail: without -h it expects no
		// extension output in the authenticator data.
		if _, _, err := tryTool(t, []byte(made.stdout), nil, "fido2-cred", "-V", "eddsa"); err == nil {
			t.Error("fido2-cred -V without -h accepted a credential made with hmac-secret")
		}

		requireHMACSecrets(t, dev, c, "1234")
	})

	t.Run("credProtect", func(t *testing.T) {
		tests := []struct {
			level        string
			listedNoUV   bool // found by an assertion without UV, given its ID
			discoverNoUV bool // found by an assertion without UV nor ID
		}{
			{"1", true, true},   // userVerificationOptional
			{"2", true, false},  // userVerificationOptionalWithCredentialIDList
			{"3", false, false}, // userVerificationRequired
		}
		for _, tt := range tests {
			t.Run("level"+tt.level, func(t *testing.T) {
				rpID := "protect" + tt.level + ".example.org"
				made := mustTTY(t, nil, pin, "fido2-cred", "-M", "-r", "-c", tt.level, "-i", credParam(t, rpID, "alice"), dev, "es256")
				c := verifyCred(t, made.stdout, "es256", "-c", tt.level)
				other := map[string]string{"1": "2", "2": "3", "3": "1"}[tt.level]
				if _, _, err := tryTool(t, []byte(made.stdout), nil, "fido2-cred", "-V", "-c", other, "es256"); err == nil {
					t.Errorf("fido2-cred -V -c %s accepted a credential made with -c %s", other, tt.level)
				}

				dir := t.TempDir()
				cdh := b64(sha256Sum("protect " + rpID))
				withID := writeFile(t, dir, "with_id", fmt.Appendf(nil, "%s\n%s\n%s\n", cdh, rpID, c.id))
				discover := writeFile(t, dir, "discover", fmt.Appendf(nil, "%s\n%s\n", cdh, rpID))
				for _, q := range []struct {
					name  string
					args  []string
					found bool
				}{
					{"with its ID, without UV", []string{"-G", "-i", withID, dev}, tt.listedNoUV},
					{"discoverable, without UV", []string{"-G", "-r", "-i", discover, dev}, tt.discoverNoUV},
				} {
					out, errOut, err := tryTool(t, nil, nil, "fido2-assert", q.args...)
					switch {
					case q.found && err != nil:
						t.Errorf("fido2-assert %s: %v\n%s", q.name, err, errOut)
					case q.found:
						verifyAssertion(t, string(out), c)
					case err == nil:
						t.Errorf("fido2-assert %s found a credential with credProtect %s", q.name, tt.level)
					case !strings.Contains(string(errOut), "FIDO_ERR_NO_CREDENTIALS"):
						t.Errorf("fido2-assert %s: %v\n%s\nwant FIDO_ERR_NO_CREDENTIALS", q.name, err, errOut)
					}
				}
				// With UV every level finds it.
				out := mustTTY(t, nil, pin, "fido2-assert", "-G", "-r", "-v", "-i", discover, dev).stdout
				verifyAssertion(t, out, c, "-v")
			})
		}
	})
}

// hmacSecret runs fido2-assert -G -h with salt for credential c and
// returns the hmac-secret output, base64. With a PIN it asks for user
// verification (-v) and types the PIN; without, it asks for none.
func hmacSecret(t *testing.T, dev string, c *madeCred, pin string, salt []byte) string {
	t.Helper()
	param := fmt.Sprintf("%s\n%s\n%s\n%s\n", b64(sha256Sum("hmac "+b64(salt))), c.rpID, c.id, b64(salt))
	paramFile := writeFile(t, t.TempDir(), "param", []byte(param))
	var out string
	if pin == "" {
		out = string(tool(t, nil, nil, "fido2-assert", "-G", "-h", "-i", paramFile, dev))
		verifyAssertion(t, out, c, "-h")
	} else {
		out = mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, "fido2-assert", "-G", "-h", "-v", "-i", paramFile, dev).stdout
		verifyAssertion(t, out, c, "-h", "-v")
	}
	lines := strings.Split(out, "\n")
	if len(lines) < 5 || len(lines[4]) != 44 { // base64 of 32 bytes
		t.Fatalf("fido2-assert -G -h printed no 32-byte hmac-secret on line 5:\n%s", out)
	}
	return lines[4]
}

// requireHMACSecrets checks the hmac-secret outputs of a credential: the
// same for the same salt, different for another salt, and different with
// and without user verification (CTAP 2.1 §12.5: CredRandomWithUV and
// CredRandomWithoutUV).
func requireHMACSecrets(t *testing.T, dev string, c *madeCred, pin string) {
	t.Helper()
	salt1, salt2 := randomBytes(t, 32), randomBytes(t, 32)
	first, again, other := hmacSecret(t, dev, c, pin, salt1), hmacSecret(t, dev, c, pin, salt1), hmacSecret(t, dev, c, pin, salt2)
	if first != again {
		t.Errorf("hmac-secret with UV for the same salt: %s then %s, want the same", first, again)
	}
	if first == other {
		t.Errorf("hmac-secret with UV %s for two different salts, want different outputs", first)
	}
	noUV, noUVAgain := hmacSecret(t, dev, c, "", salt1), hmacSecret(t, dev, c, "", salt1)
	if noUV != noUVAgain {
		t.Errorf("hmac-secret without UV for the same salt: %s then %s, want the same", noUV, noUVAgain)
	}
	if noUV == first {
		t.Errorf("hmac-secret %s both with and without UV, want different outputs", first)
	}
}

// TestFido2PINProtocols runs the commands that carry a pinUvAuthParam
// (clientPIN, makeCredential, getAssertion with hmac-secret,
// credentialManagement, largeBlobs, authenticatorConfig) through libfido2
// with each PIN/UV auth protocol alone: libfido2 uses the one the key
// lists (CTAP 2.1 §6.5.6 and §6.5.7).
func TestFido2PINProtocols(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	for _, protocol := range []string{"1", "2"} {
		t.Run("protocol"+protocol, func(t *testing.T) {
			profile := writeProfile(t, "pin_uv_auth_protocols: ["+protocol+"]\n")
			k := startPTYKey(t, "--profile", profile)
			dev := k.path()
			requireInfo(t, dev, map[string]string{"pin protocols": protocol})

			setPIN(t, dev, "1234")
			r := tryTTY(t, nil, changePINPrompts("4321", "98765"), fido2Token, "-C", dev)
			requireFailure(t, r, "fido2-token -C with a wrong PIN", "FIDO_ERR_PIN_INVALID")
			mustTTY(t, nil, changePINPrompts("1234", "98765"), fido2Token, "-C", dev)
			requireInfo(t, dev, map[string]string{"pin retries": "8"}, "clientPin")
			pinQ := []ttyPrompt{pinPrompt("98765")}

			made := mustTTY(t, nil, pinQ, "fido2-cred", "-M", "-r", "-h", "-b", "-i", credParam(t, "protocol.example.org", "alice"), dev, "es256")
			c := verifyCred(t, made.stdout, "es256", "-h")
			requireHMACSecrets(t, dev, c, "98765")

			if rks := listRKs(t, dev, "98765", c.rpID); len(rks) != 1 || rks[c.id].id != c.id {
				t.Errorf("fido2-token -L -k %s: %+v, want the credential %s", c.rpID, rks, c.id)
			}

			dir := t.TempDir()
			blob := writeFile(t, dir, "blob", []byte("a blob under protocol "+protocol))
			mustTTY(t, nil, pinQ, fido2Token, "-S", "-b", "-n", c.rpID, blob, dev)
			got := filepath.Join(dir, "got")
			tool(t, nil, nil, fido2Token, "-G", "-b", "-k", writeFile(t, dir, "key", []byte(c.blobKey+"\n")), got, dev)
			requireSameFile(t, got, blob)

			mustTTY(t, nil, pinQ, fido2Token, "-S", "-u", dev)
			requireInfo(t, dev, nil, "alwaysUv")
			mustTTY(t, nil, pinQ, fido2Token, "-D", "-u", dev)
			requireInfo(t, dev, nil, "noalwaysUv")
		})
	}
}

// TestFido2CredMakeCredUvNotRqd: with makeCredUvNotRqd a key with a PIN
// makes non-discoverable credentials without it, and still wants it for
// discoverable ones (CTAP 2.1 §6.1.2 step 6); without the option both need
// it. fido2-cred -q never asks for a PIN.
func TestFido2CredMakeCredUvNotRqd(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	for _, notRqd := range []bool{true, false} {
		t.Run(fmt.Sprintf("make_cred_uv_not_rqd=%v", notRqd), func(t *testing.T) {
			k := startPTYKey(t, "--profile", writeProfile(t, fmt.Sprintf("make_cred_uv_not_rqd: %v\n", notRqd)))
			dev := k.path()
			setPIN(t, dev, "1234")
			// Absent and false mean the same (CTAP 2.1 §6.4).
			if opts := tokenOptions(t, tokenInfo(t, dev)); slices.Contains(opts, "makeCredUvNotRqd") != notRqd {
				t.Errorf("fido2-token -I: options %q, want makeCredUvNotRqd true: %v", opts, notRqd)
			}

			out, errOut, err := tryTool(t, nil, nil, "fido2-cred", "-M", "-q", "-i", credParam(t, "notrqd.example.org", "alice"), dev, "es256")
			switch {
			case notRqd && err != nil:
				t.Errorf("fido2-cred -M -q with makeCredUvNotRqd: %v\n%s", err, errOut)
			case notRqd:
				verifyCred(t, string(out), "es256")
			case err == nil || !strings.Contains(string(errOut), "FIDO_ERR_PIN_REQUIRED"):
				t.Errorf("fido2-cred -M -q without makeCredUvNotRqd: %v\n%s\nwant FIDO_ERR_PIN_REQUIRED (PUAT_REQUIRED)", err, errOut)
			}
			_, errOut, err = tryTool(t, nil, nil, "fido2-cred", "-M", "-q", "-r", "-i", credParam(t, "notrqd.example.org", "bob"), dev, "es256")
			if err == nil || !strings.Contains(string(errOut), "FIDO_ERR_PIN_REQUIRED") {
				t.Errorf("fido2-cred -M -q -r: %v\n%s\nwant FIDO_ERR_PIN_REQUIRED (PUAT_REQUIRED)", err, errOut)
			}
			requireInfo(t, dev, map[string]string{"remaining rk(s)": "1000"})
		})
	}
}

package main

// authenticatorConfig, authenticatorBioEnrollment and authenticatorReset
// end to end through libfido2 1.12's fido2-token, with the PIN typed on
// its terminal.

import (
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// writeProfile writes a YAML profile (fields of authenticator.Profile;
// the rest keep softkey's defaults) and returns its path.
func writeProfile(t *testing.T, yaml string) string {
	t.Helper()
	return writeFile(t, t.TempDir(), "profile.yaml", []byte(yaml))
}

// requireNoOption checks that fido2-token -I lists an option in neither
// form: the key does not support it.
func requireNoOption(t *testing.T, dev, option string) {
	t.Helper()
	opts := tokenOptions(t, tokenInfo(t, dev))
	if slices.Contains(opts, option) || slices.Contains(opts, "no"+option) {
		t.Errorf("fido2-token -I: options %q, want no %s", opts, option)
	}
}

func TestFido2TokenConfig(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	k := startPTYKey(t, "--profile", writeProfile(t, "enterprise_attestation: platform\n"))
	dev := k.path()
	setPIN(t, dev, "1234")
	pinQ := func(pin string) []ttyPrompt { return []ttyPrompt{pinPrompt(pin)} }
	// The subtests run in order on one key, each with the PIN the previous
	// one left.
	requireInfo(t, dev, map[string]string{"minpinlen": "4", "pin change required": "false", "maxrpids in minpinlen": "4"}, "authnrCfg", "setMinPINLength", "noalwaysUv", "noep")

	t.Run("setMinPINLength", func(t *testing.T) {
		// A longer minimum than the PIN forces a change (CTAP 2.1 §6.11.4).
		mustTTY(t, nil, pinQ("1234"), fido2Token, "-S", "-l", "6", dev)
		requireInfo(t, dev, map[string]string{"minpinlen": "6", "pin change required": "true"})

		// Until it is changed, the PIN gives no token.
		r := tryTTY(t, nil, pinQ("1234"), fido2Token, "-L", "-r", dev)
		requireFailure(t, r, "fido2-token -L -r while a PIN change is required", "FIDO_ERR_PIN_POLICY_VIOLATION")

		// A new PIN shorter than the minimum is refused by the key: the
		// 1.12 tool checks only the 4..63 bytes of CTAP 2.1.
		r = tryTTY(t, nil, changePINPrompts("1234", "12345"), fido2Token, "-C", dev)
		requireFailure(t, r, "fido2-token -C to a 5-digit PIN with minpinlen 6", "FIDO_ERR_PIN_POLICY_VIOLATION")
		mustTTY(t, nil, changePINPrompts("1234", "123456"), fido2Token, "-C", dev)
		requireInfo(t, dev, map[string]string{"minpinlen": "6", "pin change required": "false"})
		out := mustTTY(t, nil, pinQ("123456"), fido2Token, "-I", "-c", dev).stdout
		if got := infoField(t, out, "existing rk(s)"); got != "0" {
			t.Errorf("fido2-token -I -c with the new PIN: %s existing, want 0", got)
		}

		// The minimum only grows.
		r = tryTTY(t, nil, pinQ("123456"), fido2Token, "-S", "-l", "5", dev)
		requireFailure(t, r, "fido2-token -S -l 5 after -l 6", "FIDO_ERR_PIN_POLICY_VIOLATION")
		requireInfo(t, dev, map[string]string{"minpinlen": "6", "pin change required": "false"})
	})

	t.Run("minPinLengthRPIDs", func(t *testing.T) {
		mustTTY(t, nil, pinQ("123456"), fido2Token, "-S", "-m", "a.example.org,b.example.org", dev)
		// maxRPIDsForSetMinPINLength is 4: five are refused.
		r := tryTTY(t, nil, pinQ("123456"), fido2Token, "-S", "-m", "a.example,b.example,c.example,d.example,e.example", dev)
		requireFailure(t, r, "fido2-token -S -m with five RP IDs", "FIDO_ERR_PIN_POLICY_VIOLATION")
	})

	t.Run("forceChangePin", func(t *testing.T) {
		mustTTY(t, nil, pinQ("123456"), fido2Token, "-S", "-f", dev)
		requireInfo(t, dev, map[string]string{"pin change required": "true"})
		r := tryTTY(t, nil, pinQ("123456"), fido2Token, "-I", "-c", dev)
		requireFailure(t, r, "fido2-token -I -c while a PIN change is forced", "FIDO_ERR_PIN_POLICY_VIOLATION")
		mustTTY(t, nil, changePINPrompts("123456", "654321"), fido2Token, "-C", dev)
		requireInfo(t, dev, map[string]string{"pin change required": "false"})
		out := mustTTY(t, nil, pinQ("654321"), fido2Token, "-I", "-c", dev).stdout
		if got := infoField(t, out, "existing rk(s)"); got != "0" {
			t.Errorf("fido2-token -I -c: %s existing, want 0", got)
		}
	})

	t.Run("alwaysUv", func(t *testing.T) {
		// A credential that needs no UV to be used...
		made := mustTTY(t, nil, pinQ("654321"), "fido2-cred", "-M", "-r", "-i", credParam(t, "always.example.org", "alice"), dev, "es256")
		c := verifyCred(t, made.stdout, "es256")
		param := writeFile(t, t.TempDir(), "param", fmt.Appendf(nil, "%s\n%s\n", b64(sha256Sum("always")), c.rpID))
		verifyAssertion(t, string(tool(t, nil, nil, "fido2-assert", "-G", "-r", "-i", param, dev)), c)

		// ...needs it with alwaysUv (CTAP 2.1 §6.2.2 step 6).
		mustTTY(t, nil, pinQ("654321"), fido2Token, "-S", "-u", dev)
		requireInfo(t, dev, nil, "alwaysUv")
		_, errOut, err := tryTool(t, nil, nil, "fido2-assert", "-G", "-r", "-i", param, dev)
		if err == nil || !strings.Contains(string(errOut), "FIDO_ERR_PIN_REQUIRED") {
			t.Errorf("fido2-assert without UV with alwaysUv on: %v\n%s\nwant FIDO_ERR_PIN_REQUIRED (PUAT_REQUIRED)", err, errOut)
		}
		out := mustTTY(t, nil, pinQ("654321"), "fido2-assert", "-G", "-r", "-v", "-i", param, dev).stdout
		verifyAssertion(t, out, c, "-v")

		mustTTY(t, nil, pinQ("654321"), fido2Token, "-D", "-u", dev)
		requireInfo(t, dev, nil, "noalwaysUv")
		verifyAssertion(t, string(tool(t, nil, nil, "fido2-assert", "-G", "-r", "-i", param, dev)), c)
	})

	t.Run("enterpriseAttestation", func(t *testing.T) {
		mustTTY(t, nil, pinQ("654321"), fido2Token, "-S", "-a", dev)
		requireInfo(t, dev, nil, "ep")
	})
}

// TestFido2TokenConfigUnsupported: a key whose profile offers no
// enterprise attestation refuses to enable it and keeps not listing it.
func TestFido2TokenConfigUnsupported(t *testing.T) {
	requireTool(t, fido2Token)
	k := startPTYKey(t)
	setPIN(t, k.path(), "1234")
	requireNoOption(t, k.path(), "ep")
	r := tryTTY(t, nil, []ttyPrompt{pinPrompt("1234")}, fido2Token, "-S", "-a", k.path())
	if r.err == nil {
		t.Errorf("fido2-token -S -a succeeded on a key without enterprise attestation\n%s", r)
	}
	requireNoOption(t, k.path(), "ep")
}

// bioTemplate is a line of fido2-token -L -e.
type bioTemplate struct{ id, name string }

// listTemplates runs fido2-token -L -e. Without any template the key
// answers enumerateEnrollments with INVALID_OPTION (CTAP 2.1 §6.7.5), which
// fido2-token reports as a failure.
func listTemplates(t *testing.T, dev, pin string) []bioTemplate {
	t.Helper()
	r := tryTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-L", "-e", dev)
	if r.err != nil {
		requireFailure(t, r, "fido2-token -L -e", "FIDO_ERR_INVALID_OPTION")
		return nil
	}
	var ts []bioTemplate
	for _, line := range listLines(t, r.stdout) {
		id, name, _ := strings.Cut(line, " ")
		ts = append(ts, bioTemplate{id, name})
	}
	return ts
}

// enroll runs fido2-token -S -e, which reports every sample, and returns
// the template it added.
func enroll(t *testing.T, dev, pin string, samples int) bioTemplate {
	t.Helper()
	before := listTemplates(t, dev, pin)
	out := mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-S", "-e", dev).stdout
	if n := strings.Count(out, "Sample ok."); n != samples {
		t.Errorf("fido2-token -S -e reported %d good samples, want %d:\n%s", n, samples, out)
	}
	after := listTemplates(t, dev, pin)
	if len(after) != len(before)+1 {
		t.Fatalf("fido2-token -L -e lists %+v after an enrollment, %+v before; want one more", after, before)
	}
	for _, tpl := range after {
		if !slices.Contains(before, tpl) {
			return tpl
		}
	}
	t.Fatalf("fido2-token -L -e: no new template in %+v", after)
	return bioTemplate{}
}

func TestFido2TokenBioEnrollment(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	control := filepath.Join(t.TempDir(), "control.sock")
	k := startPTYKey(t, "--profile", writeProfile(t, "uv: true\nbio_enroll: true\nbio_samples: 3\n"), "--control", control)
	dev := k.path()
	const pin = "1234"
	setPIN(t, dev, pin)
	// bioEnroll and uv are false until a finger is enrolled (CTAP 2.1 §6.4).
	requireInfo(t, dev, nil, "nobioEnroll", "nouv")

	first := enroll(t, dev, pin, 3)
	requireInfo(t, dev, map[string]string{"uv retries": "8"}, "bioEnroll", "uv")
	second := enroll(t, dev, pin, 3)
	if first.id == second.id {
		t.Fatalf("two enrollments got the same template ID %s", first.id)
	}

	// Built-in UV: libfido2 asks for a token with
	// getPinUvAuthTokenUsingUvWithPermissions when told not to use the PIN
	// (CTAP 2.1 §6.5.5.7.3); the emulated sensor passes unless told
	// otherwise by softkey uv.
	made := mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, "fido2-cred", "-M", "-r", "-i", credParam(t, "bio.example.org", "alice"), dev, "es256")
	c := verifyCred(t, made.stdout, "es256")
	param := writeFile(t, t.TempDir(), "param", fmt.Appendf(nil, "%s\n%s\n", b64(sha256Sum("bio")), c.rpID))
	builtInUV := []string{"-G", "-r", "-t", "uv=true", "-t", "pin=false", "-i", param, dev}
	verifyAssertion(t, string(tool(t, nil, nil, "fido2-assert", builtInUV...)), c, "-v")
	tool(t, nil, nil, softkeyBin, "uv", "next", "fail", "--control", control)
	if _, errOut, err := tryTool(t, nil, nil, "fido2-assert", builtInUV...); err == nil || !strings.Contains(string(errOut), "FIDO_ERR_UV_INVALID") {
		t.Errorf("fido2-assert with built-in UV, the wrong finger: %v\n%s\nwant FIDO_ERR_UV_INVALID", err, errOut)
	}
	requireInfo(t, dev, map[string]string{"uv retries": "7"})
	verifyAssertion(t, string(tool(t, nil, nil, "fido2-assert", builtInUV...)), c, "-v")
	requireInfo(t, dev, map[string]string{"uv retries": "8"})

	// Eight wrong fingers use up the UV retries; then built-in UV is
	// blocked, whatever the finger, and the PIN is the way in: it gives the
	// retries back (CTAP 2.1 §6.5.5.7.2, §6.5.5.7.3).
	tool(t, nil, nil, softkeyBin, "uv", "default", "fail", "--control", control)
	for i := 1; i <= 8; i++ {
		_, errOut, err := tryTool(t, nil, nil, "fido2-assert", builtInUV...)
		if err == nil || !strings.Contains(string(errOut), "FIDO_ERR_UV_INVALID") && !strings.Contains(string(errOut), "FIDO_ERR_UV_BLOCKED") {
			t.Fatalf("fido2-assert with built-in UV, wrong finger #%d: %v\n%s\nwant FIDO_ERR_UV_INVALID or, the last time, FIDO_ERR_UV_BLOCKED", i, err, errOut)
		}
		requireInfo(t, dev, map[string]string{"uv retries": fmt.Sprint(8 - i)})
	}
	tool(t, nil, nil, softkeyBin, "uv", "default", "pass", "--control", control)
	if _, errOut, err := tryTool(t, nil, nil, "fido2-assert", builtInUV...); err == nil || !strings.Contains(string(errOut), "FIDO_ERR_UV_BLOCKED") {
		t.Errorf("fido2-assert with built-in UV blocked, the right finger: %v\n%s\nwant FIDO_ERR_UV_BLOCKED", err, errOut)
	}
	requireInfo(t, dev, map[string]string{"uv retries": "0"})
	out := mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, "fido2-assert", "-G", "-r", "-v", "-i", param, dev).stdout
	verifyAssertion(t, out, c, "-v")
	requireInfo(t, dev, map[string]string{"uv retries": "8"})
	verifyAssertion(t, string(tool(t, nil, nil, "fido2-assert", builtInUV...)), c, "-v")

	mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-S", "-e", "-i", first.id, "-n", "right-thumb", dev)
	ts := listTemplates(t, dev, pin)
	if i := slices.IndexFunc(ts, func(tpl bioTemplate) bool { return tpl.id == first.id }); i < 0 || ts[i].name != "right-thumb" {
		t.Errorf("fido2-token -L -e after naming %s right-thumb: %+v", first.id, ts)
	}

	// A template ID the key does not know is refused (CTAP 2.1 §6.7.7).
	r := tryTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-S", "-e", "-i", b64([]byte("no such template")), "-n", "left-thumb", dev)
	requireFailure(t, r, "fido2-token -S -e -i naming an unknown template", "FIDO_ERR_INVALID_OPTION")

	mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-D", "-e", "-i", first.id, dev)
	if ts := listTemplates(t, dev, pin); len(ts) != 1 || ts[0].id != second.id {
		t.Errorf("fido2-token -L -e after deleting %s: %+v, want %s only", first.id, ts, second.id)
	}
	r = tryTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-D", "-e", "-i", first.id, dev)
	requireFailure(t, r, "deleting a deleted template", "FIDO_ERR_INVALID_OPTION")

	mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-D", "-e", "-i", second.id, dev)
	if ts := listTemplates(t, dev, pin); len(ts) != 0 {
		t.Errorf("fido2-token -L -e after deleting both: %+v, want none", ts)
	}
	requireInfo(t, dev, nil, "nobioEnroll", "nouv")
}

func TestFido2TokenReset(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	k := startPTYKey(t)
	dev := k.path()
	setPIN(t, dev, "123456")
	pinQ := []ttyPrompt{pinPrompt("123456")}
	made := mustTTY(t, nil, pinQ, "fido2-cred", "-M", "-r", "-b", "-i", credParam(t, "reset.example.org", "alice"), dev, "es256")
	c := verifyCred(t, made.stdout, "es256")
	dir := t.TempDir()
	keyFile := writeFile(t, dir, "key", []byte(c.blobKey+"\n"))
	mustTTY(t, nil, pinQ, fido2Token, "-S", "-b", "-k", keyFile, writeFile(t, dir, "blob", []byte("gone after a reset")), dev)
	mustTTY(t, nil, pinQ, fido2Token, "-S", "-l", "6", dev)
	mustTTY(t, nil, pinQ, fido2Token, "-S", "-u", dev)
	requireInfo(t, dev, map[string]string{"remaining rk(s)": "999", "minpinlen": "6"}, "clientPin", "alwaysUv")

	// Within 10 s of power-up (the key was just started) a reset works and
	// forgets the PIN, the credentials, the large blobs and the
	// configuration.
	tool(t, nil, nil, fido2Token, "-R", dev)
	requireInfo(t, dev, map[string]string{"remaining rk(s)": "1000", "pin retries": "8", "minpinlen": "4"}, "noclientPin", "noalwaysUv")
	if _, errOut, err := tryTool(t, nil, nil, fido2Token, "-G", "-b", "-k", keyFile, filepath.Join(dir, "got"), dev); err == nil || !strings.Contains(string(errOut), "FIDO_ERR_NOTFOUND") {
		t.Errorf("fido2-token -G -b after a reset: %v\n%s\nwant FIDO_ERR_NOTFOUND", err, errOut)
	}
	param := writeFile(t, dir, "param", fmt.Appendf(nil, "%s\n%s\n", b64(sha256Sum("reset")), c.rpID))
	if _, errOut, err := tryTool(t, nil, nil, "fido2-assert", "-G", "-r", "-i", param, dev); err == nil || !strings.Contains(string(errOut), "FIDO_ERR_NO_CREDENTIALS") {
		t.Errorf("fido2-assert -G -r after a reset: %v\n%s\nwant FIDO_ERR_NO_CREDENTIALS", err, errOut)
	}
}

// TestFido2TokenResetWindow: more than 10 s after power-up a key refuses
// a reset (CTAP 2.1 §6.6: NOT_ALLOWED), unless its profile sets
// reset_window: false; replugging the key opens the window again.
// softkey clock advance moves the keys past their window without waiting.
func TestFido2TokenResetWindow(t *testing.T) {
	requireTool(t, fido2Token)
	needInterop(t)
	t.Parallel()
	control := filepath.Join(t.TempDir(), "control.sock")
	control2 := filepath.Join(t.TempDir(), "control.sock")
	windowed := startPTYKey(t, "--control", control)
	unlimited := startPTYKey(t, "--profile", writeProfile(t, "reset_window: false\n"), "--control", control2)
	setPIN(t, windowed.path(), "1234")
	setPIN(t, unlimited.path(), "1234")

	// Leave both keys' 10 s window by moving their clocks.
	tool(t, nil, nil, softkeyBin, "clock", "advance", "11s", "--control", control)
	tool(t, nil, nil, softkeyBin, "clock", "advance", "11s", "--control", control2)

	_, errOut, err := tryTool(t, nil, nil, fido2Token, "-R", windowed.path())
	if err == nil || !strings.Contains(string(errOut), "FIDO_ERR_NOT_ALLOWED") {
		t.Errorf("fido2-token -R 10 s after power-up: %v\n%s\nwant FIDO_ERR_NOT_ALLOWED", err, errOut)
	}
	requireInfo(t, windowed.path(), nil, "clientPin")

	tool(t, nil, nil, fido2Token, "-R", unlimited.path())
	requireInfo(t, unlimited.path(), nil, "noclientPin")

	tool(t, nil, nil, softkeyBin, "power-cycle", "--control", control)
	tool(t, nil, nil, fido2Token, "-R", windowed.path())
	requireInfo(t, windowed.path(), nil, "noclientPin")
}

// TestFido2TokenStatePersists: what fido2-token configures is kept in the
// vault: the PIN, the minimum PIN length, alwaysUv, enterprise
// attestation, discoverable credentials, large blobs and fingerprints.
func TestFido2TokenStatePersists(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	vault := t.TempDir()
	env := []string{"SOFTKEY_VAULT_PASSPHRASE=state persists"}
	profile := writeProfile(t, "uv: true\nbio_enroll: true\nbio_samples: 2\nenterprise_attestation: platform\n")
	args := []string{"--transport", "pty", "--vault", vault, "--profile", profile}
	const pin = "123456"
	pinQ := []ttyPrompt{pinPrompt(pin)}

	k := startKey(t, env, args...)
	dev := k.path()
	setPIN(t, dev, pin)
	mustTTY(t, nil, pinQ, fido2Token, "-S", "-l", "6", dev)
	made := mustTTY(t, nil, pinQ, "fido2-cred", "-M", "-r", "-b", "-i", credParam(t, "persist.example.org", "alice"), dev, "es256")
	c := verifyCred(t, made.stdout, "es256")
	dir := t.TempDir()
	blob := writeFile(t, dir, "blob", []byte("kept across restarts"))
	mustTTY(t, nil, pinQ, fido2Token, "-S", "-b", "-n", c.rpID, blob, dev)
	mustTTY(t, nil, pinQ, fido2Token, "-S", "-a", dev)
	tpl := enroll(t, dev, pin, 2)
	mustTTY(t, nil, pinQ, fido2Token, "-S", "-e", "-i", tpl.id, "-n", "index", dev)
	// With a finger enrolled, libfido2 gets its authenticatorConfig token by
	// built-in UV (getPinUvAuthTokenUsingUvWithPermissions) and asks no PIN.
	mustTTY(t, nil, nil, fido2Token, "-S", "-u", dev)
	k.stop()

	k = startKey(t, env, args...)
	dev = k.path()
	requireInfo(t, dev, map[string]string{"minpinlen": "6", "pin retries": "8", "pin change required": "false"}, "clientPin", "alwaysUv", "ep", "bioEnroll", "uv")
	if rks := listRKs(t, dev, "", c.rpID); len(rks) != 1 || rks[c.id].id != c.id {
		t.Errorf("fido2-token -L -k %s after a restart: %+v, want %s", c.rpID, rks, c.id)
	}
	got := filepath.Join(dir, "got")
	tool(t, nil, nil, fido2Token, "-G", "-b", "-k", writeFile(t, dir, "key", []byte(c.blobKey+"\n")), got, dev)
	requireSameFile(t, got, blob)
	if ts := listTemplates(t, dev, pin); len(ts) != 1 || ts[0] != (bioTemplate{tpl.id, "index"}) {
		t.Errorf("fido2-token -L -e after a restart: %+v, want %s named index", ts, tpl.id)
	}
	r := tryTTY(t, nil, nil, fido2Token, "-S", "-l", "5", dev) // a token by built-in UV
	requireFailure(t, r, "fido2-token -S -l 5 after a restart with minpinlen 6", "FIDO_ERR_PIN_POLICY_VIOLATION")
}

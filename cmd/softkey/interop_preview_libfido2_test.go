package main

// The pre-release CTAP 2.1 (FIDO_2_1_PRE) credential management end to
// end through libfido2 1.12's fido2-token, as with a YubiKey 5 of firmware
// 5.2-5.4: the key lists credentialMgmtPreview but neither credMgmt nor
// pinUvAuthToken, so libfido2 takes its token with the CTAP 2.0
// getPinToken and sends the prototype command 0x41. The preset answers
// 0x0A with INVALID_COMMAND, so every listing below went through 0x41.

import (
	"slices"
	"strings"
	"testing"
)

func TestFido2TokenCredentialManagementPreview(t *testing.T) {
	requireTool(t, fido2Token)
	requireTool(t, "fido2-cred")
	k := startPTYKey(t, "--profile", "yubikey-5-nfc")
	dev := k.path()
	const pin = "1234"
	setPIN(t, dev, pin)

	info := tokenInfo(t, dev)
	if v := infoField(t, info, "version strings"); !strings.Contains(v, "FIDO_2_1_PRE") || strings.Contains(v, "FIDO_2_1,") || strings.HasSuffix(v, "FIDO_2_1") {
		t.Errorf("fido2-token -I: version strings %q, want FIDO_2_1_PRE and no FIDO_2_1", v)
	}
	opts := tokenOptions(t, info)
	if !slices.Contains(opts, "credentialMgmtPreview") {
		t.Errorf("fido2-token -I: options %q, want credentialMgmtPreview", opts)
	}
	for _, absent := range []string{"credMgmt", "nocredMgmt", "pinUvAuthToken", "nopinUvAuthToken"} {
		if slices.Contains(opts, absent) {
			t.Errorf("fido2-token -I: options %q, want no %s", opts, absent)
		}
	}

	mk := func(rpID, user, typ string) string {
		t.Helper()
		out := mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, "fido2-cred", "-M", "-r", "-i", credParam(t, rpID, user), dev, typ)
		return verifyCred(t, out.stdout, typ).id
	}
	alice := mk("a.example.org", "alice", "es256")
	bob := mk("a.example.org", "bob", "eddsa")
	carol := mk("b.example.org", "carol", "es256")

	// getCredsMetadata: the preset holds 25 discoverable credentials.
	if existing, remaining := credMetadata(t, dev, pin); existing != "3" || remaining != "22" {
		t.Errorf("fido2-token -I -c: %s existing, %s remaining; want 3 and 22 (of 25)", existing, remaining)
	}
	if rps := listRPs(t, dev, pin); !slices.Equal(rps, []string{"a.example.org", "b.example.org"}) {
		t.Errorf("fido2-token -L -r: %q, want a.example.org and b.example.org", rps)
	}
	rks := listRKs(t, dev, pin, "a.example.org")
	if _, ok := rks[alice]; !ok || len(rks) != 2 {
		t.Errorf("fido2-token -L -k a.example.org lists %+v, want alice's and bob's credentials", rks)
	}
	if got := rks[bob]; got.typ != "eddsa" || got.id != bob {
		t.Errorf("fido2-token -L -k a.example.org: bob's credential is %+v, want type eddsa", got)
	}

	// updateUserInformation came with CTAP 2.1; the prototype lacks it
	// and the key answers CTAP2_ERR_INVALID_SUBCOMMAND (0x3E), for which
	// libfido2 1.12 has no name (fido/err.h).
	r := tryTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-S", "-c", "-i", bob, "-k", rks[bob].userID, "-n", "robert", "-p", "Robert", dev)
	requireFailure(t, r, "fido2-token -S -c on a FIDO_2_1_PRE key", "fido_credman_set_dev_rk: FIDO_ERR_UNKNOWN")

	// deleteCredential: gone from the listing and the count; the RP goes
	// with its last credential.
	mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-D", "-i", alice, dev)
	if rks := listRKs(t, dev, pin, "a.example.org"); len(rks) != 1 || rks[bob].id != bob {
		t.Errorf("after deleting alice's credential fido2-token -L -k a.example.org lists %+v, want bob's only", rks)
	}
	mustTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-D", "-i", carol, dev)
	if rps := listRPs(t, dev, pin); !slices.Equal(rps, []string{"a.example.org"}) {
		t.Errorf("fido2-token -L -r after deleting b.example.org's only credential: %q, want a.example.org only", rps)
	}
	if existing, remaining := credMetadata(t, dev, pin); existing != "1" || remaining != "24" {
		t.Errorf("fido2-token -I -c after two deletions: %s existing, %s remaining; want 1 and 24", existing, remaining)
	}

	// A deleted credential cannot be deleted again, and a wrong PIN gets
	// no token.
	r = tryTTY(t, nil, []ttyPrompt{pinPrompt(pin)}, fido2Token, "-D", "-i", alice, dev)
	requireFailure(t, r, "deleting a deleted credential", "FIDO_ERR_NO_CREDENTIALS")
	r = tryTTY(t, nil, []ttyPrompt{pinPrompt("9999")}, fido2Token, "-L", "-r", dev)
	requireFailure(t, r, "fido2-token -L -r with a wrong PIN", "FIDO_ERR_PIN_INVALID")
}

//go:build cgo && !nolibfido2

package main

// The CTAP 2.1 command set through keys-pub/go-libfido2 (cgo over Debian's
// libfido2) on the pseudo-terminal: clientPIN (set, change, retries),
// credentialManagement (metadata, RPs, credentials, delete), hmac-secret
// and credProtect. At the end, softkey creds list reads the same
// credentials from the vault.

import (
	"bytes"
	"encoding/hex"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	libfido2 "github.com/keys-pub/go-libfido2"

	"github.com/softkeydev/softkey/ctap2"
)

func TestGoLibfido2CTAP21(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "vault")
	k := startKey(t, nil, "--transport", "pty", "--vault", vault)
	dev, err := libfido2.NewDevice(k.path())
	if err != nil {
		t.Fatalf("libfido2.NewDevice(%s): %v", k.path(), err)
	}
	clientPIN := func() libfido2.OptionValue {
		t.Helper()
		info, err := dev.Info()
		if err != nil {
			t.Fatalf("Info: %v", err)
		}
		for _, o := range info.Options {
			if o.Name == "clientPin" {
				return o.Value
			}
		}
		t.Fatalf("Info().Options %+v has no clientPin", info.Options)
		return ""
	}
	retries := func(want int, after string) {
		t.Helper()
		n, err := dev.RetryCount()
		if err != nil {
			t.Fatalf("RetryCount after %s: %v", after, err)
		}
		if n != want {
			t.Fatalf("RetryCount after %s = %d, want %d", after, n, want)
		}
	}

	// clientPIN: set, refuse a second set, change with a wrong and the
	// right PIN (CTAP 2.1 §6.5.5.5, §6.5.5.6).
	if v := clientPIN(); v != libfido2.False {
		t.Fatalf("a new key's clientPin option = %q, want false", v)
	}
	retries(8, "nothing")
	if err := dev.SetPIN("1234", ""); err != nil {
		t.Fatalf("SetPIN(1234): %v", err)
	}
	if v := clientPIN(); v != libfido2.True {
		t.Fatalf("clientPin option after SetPIN = %q, want true", v)
	}
	if err := dev.SetPIN("5678", ""); !errors.Is(err, libfido2.ErrNotAllowed) {
		t.Fatalf("SetPIN on a key with a PIN: %v, want %v", err, libfido2.ErrNotAllowed)
	}
	if err := dev.SetPIN("123456", "0000"); !errors.Is(err, libfido2.ErrPinInvalid) {
		t.Fatalf("ChangePIN with the wrong PIN: %v, want %v", err, libfido2.ErrPinInvalid)
	}
	retries(7, "a wrong PIN")
	if err := dev.SetPIN("12", "1234"); !errors.Is(err, libfido2.ErrPinPolicyViolation) {
		t.Fatalf("ChangePIN to a 2-digit PIN: %v, want %v", err, libfido2.ErrPinPolicyViolation)
	}
	if err := dev.SetPIN("123456", "1234"); err != nil {
		t.Fatalf("ChangePIN(1234 -> 123456): %v", err)
	}
	retries(8, "the right PIN")
	const pin = "123456"
	if _, err := dev.CredentialsInfo("1234"); !errors.Is(err, libfido2.ErrPinInvalid) {
		t.Fatalf("CredentialsInfo with the old PIN: %v, want %v", err, libfido2.ErrPinInvalid)
	}
	retries(7, "the old PIN")

	// Three discoverable credentials: two for one RP (alice's with
	// hmac-secret), one for another RP with credProtect
	// userVerificationRequired.
	type cred struct {
		rp   libfido2.RelyingParty
		user libfido2.User
		opts *libfido2.MakeCredentialOpts
		id   []byte
	}
	rpA := libfido2.RelyingParty{ID: "a.example.com", Name: "RP A"}
	rpB := libfido2.RelyingParty{ID: "b.example.com", Name: "RP B"}
	creds := []*cred{
		{rp: rpA, user: libfido2.User{ID: []byte("alice-id"), Name: "alice", DisplayName: "Alice"},
			opts: &libfido2.MakeCredentialOpts{RK: libfido2.True, Extensions: []libfido2.Extension{libfido2.HMACSecretExtension}}},
		{rp: rpA, user: libfido2.User{ID: []byte("bob-id"), Name: "bob", DisplayName: "Bob"},
			opts: &libfido2.MakeCredentialOpts{RK: libfido2.True}},
		{rp: rpB, user: libfido2.User{ID: []byte("carol-id"), Name: "carol", DisplayName: "Carol"},
			opts: &libfido2.MakeCredentialOpts{RK: libfido2.True, CredProtect: libfido2.CredProtectUVRequired}},
	}
	for _, c := range creds {
		att, err := dev.MakeCredential(randomBytes(t, 32), c.rp, c.user, libfido2.ES256, pin, c.opts)
		if err != nil {
			t.Fatalf("MakeCredential(%s, %s, %+v): %v", c.rp.ID, c.user.Name, c.opts, err)
		}
		ad, err := ctap2.ParseAuthData(unwrapCBORBytes(att.AuthData))
		if err != nil {
			t.Fatalf("MakeCredential(%s, %s): authenticator data: %v", c.rp.ID, c.user.Name, err)
		}
		if ad.Flags&ctap2.FlagUV == 0 {
			t.Errorf("MakeCredential(%s, %s) with the PIN: flags %#x, want UV", c.rp.ID, c.user.Name, ad.Flags)
		}
		c.id = att.CredentialID
	}
	alice, bob, carol := creds[0], creds[1], creds[2]

	// credentialManagement (CTAP 2.1 §6.8).
	info, err := dev.CredentialsInfo(pin)
	if err != nil {
		t.Fatalf("CredentialsInfo: %v", err)
	}
	if info.RKExisting != 3 || info.RKRemaining != 1000-3 {
		t.Errorf("CredentialsInfo = %+v, want 3 existing and 997 remaining", info)
	}
	rps, err := dev.RelyingParties(pin)
	if err != nil {
		t.Fatalf("RelyingParties: %v", err)
	}
	var gotRPs []string
	for _, rp := range rps {
		gotRPs = append(gotRPs, rp.ID+"|"+rp.Name)
	}
	slices.Sort(gotRPs)
	if want := []string{"a.example.com|RP A", "b.example.com|RP B"}; !slices.Equal(gotRPs, want) {
		t.Errorf("RelyingParties = %q, want %q", gotRPs, want)
	}
	listUsers := func(rpID string) []string {
		t.Helper()
		cs, err := dev.Credentials(rpID, pin)
		if err != nil {
			t.Fatalf("Credentials(%s): %v", rpID, err)
		}
		var users []string
		for _, c := range cs {
			users = append(users, c.User.Name+"|"+string(c.User.ID)+"|"+hex.EncodeToString(c.ID))
		}
		slices.Sort(users)
		return users
	}
	entry := func(c *cred) string { return c.user.Name + "|" + string(c.user.ID) + "|" + hex.EncodeToString(c.id) }
	if got, want := listUsers(rpA.ID), []string{entry(alice), entry(bob)}; !slices.Equal(got, want) {
		t.Errorf("Credentials(%s) = %q, want %q", rpA.ID, got, want)
	}
	if got, want := listUsers(rpB.ID), []string{entry(carol)}; !slices.Equal(got, want) {
		t.Errorf("Credentials(%s) = %q, want %q", rpB.ID, got, want)
	}
	if _, err := dev.RelyingParties("0000"); !errors.Is(err, libfido2.ErrPinInvalid) {
		t.Errorf("RelyingParties with a wrong PIN: %v, want %v", err, libfido2.ErrPinInvalid)
	}

	// hmac-secret (CTAP 2.1 §12.5): the same salt gives the same secret,
	// another salt another one, and with user verification the
	// credential's other random gives yet another.
	salt1, salt2 := bytes.Repeat([]byte{1}, 32), bytes.Repeat([]byte{2}, 32)
	hmacSecret := func(salt []byte, pin string) []byte {
		t.Helper()
		a, err := dev.Assertion(rpA.ID, randomBytes(t, 32), [][]byte{alice.id}, pin, &libfido2.AssertionOpts{
			Extensions: []libfido2.Extension{libfido2.HMACSecretExtension}, HMACSalt: salt, UP: libfido2.True})
		if err != nil {
			t.Fatalf("Assertion(%s, hmac-secret, pin %q): %v", rpA.ID, pin, err)
		}
		if len(a.HMACSecret) != 32 {
			t.Fatalf("Assertion(%s, hmac-secret, pin %q): secret %x, want 32 bytes", rpA.ID, pin, a.HMACSecret)
		}
		return a.HMACSecret
	}
	s1, s1again, s2 := hmacSecret(salt1, ""), hmacSecret(salt1, ""), hmacSecret(salt2, "")
	if !bytes.Equal(s1, s1again) {
		t.Errorf("hmac-secret with the same salt twice: %x then %x, want equal", s1, s1again)
	}
	if bytes.Equal(s1, s2) {
		t.Errorf("hmac-secret with two salts: both %x, want different", s1)
	}
	s1uv := hmacSecret(salt1, pin)
	if bytes.Equal(s1, s1uv) {
		t.Errorf("hmac-secret with and without user verification: both %x, want different (CredRandomWithUV, CredRandomWithoutUV)", s1)
	}
	if again := hmacSecret(salt1, pin); !bytes.Equal(s1uv, again) {
		t.Errorf("hmac-secret with user verification twice: %x then %x, want equal", s1uv, again)
	}

	// credProtect userVerificationRequired (CTAP 2.1 §12.1): without user
	// verification the credential does not exist, listed or not.
	for _, allow := range [][][]byte{nil, {carol.id}} {
		_, err := dev.Assertion(rpB.ID, randomBytes(t, 32), allow, "", &libfido2.AssertionOpts{UP: libfido2.True})
		if !errors.Is(err, libfido2.ErrNoCredentials) {
			t.Errorf("Assertion(%s) without UV, allow list of %d: %v, want %v", rpB.ID, len(allow), err, libfido2.ErrNoCredentials)
		}
	}
	a, err := dev.Assertion(rpB.ID, randomBytes(t, 32), nil, pin, &libfido2.AssertionOpts{UP: libfido2.True})
	if err != nil {
		t.Fatalf("Assertion(%s) with the PIN: %v", rpB.ID, err)
	}
	if !bytes.Equal(a.CredentialID, carol.id) {
		t.Errorf("Assertion(%s) with the PIN: credential %x, want carol's %x", rpB.ID, a.CredentialID, carol.id)
	}
	// A credential without credProtect is found without UV.
	if _, err := dev.Assertion(rpA.ID, randomBytes(t, 32), [][]byte{bob.id}, "", &libfido2.AssertionOpts{UP: libfido2.True}); err != nil {
		t.Errorf("Assertion(%s, bob) without UV: %v", rpA.ID, err)
	}

	// deleteCredential.
	if err := dev.DeleteCredential(bob.id, pin); err != nil {
		t.Fatalf("DeleteCredential(bob): %v", err)
	}
	if got, want := listUsers(rpA.ID), []string{entry(alice)}; !slices.Equal(got, want) {
		t.Errorf("Credentials(%s) after deleting bob's = %q, want %q", rpA.ID, got, want)
	}
	if info, err := dev.CredentialsInfo(pin); err != nil || info.RKExisting != 2 {
		t.Errorf("CredentialsInfo after a delete = %+v, %v; want 2 existing", info, err)
	}
	if err := dev.DeleteCredential(bob.id, pin); !errors.Is(err, libfido2.ErrNoCredentials) {
		t.Errorf("DeleteCredential(bob) again: %v, want %v", err, libfido2.ErrNoCredentials)
	}

	// softkey creds list reads the same from the vault.
	k.stop()
	out := tool(t, nil, nil, softkeyBin, "creds", "list", "--vault", vault, "--json")
	var listed []credJSON
	if err := json.Unmarshal(out, &listed); err != nil {
		t.Fatalf("softkey creds list --json: %v\n%s", err, out)
	}
	got := map[string]credJSON{}
	for _, c := range listed {
		got[c.UserName] = c
	}
	if len(listed) != 2 {
		t.Fatalf("softkey creds list: %d credentials, want alice's and carol's:\n%s", len(listed), out)
	}
	for _, want := range []struct {
		c           *cred
		credProtect uint8
		hmacSecret  bool
	}{{alice, 1, true}, {carol, 3, false}} {
		c := got[want.c.user.Name]
		if c.CredentialID != hex.EncodeToString(want.c.id) || c.RPID != want.c.rp.ID {
			t.Errorf("softkey creds list: %s's credential %+v, want ID %x of %s", want.c.user.Name, c, want.c.id, want.c.rp.ID)
		}
		if c.CredProtect != want.credProtect || c.HMACSecret != want.hmacSecret || c.CredBlob || c.LargeBlobKey {
			t.Errorf("softkey creds list: %s's credential has cred_protect %d, hmac_secret %t, cred_blob %t, large_blob_key %t; want %d, %t, false, false",
				want.c.user.Name, c.CredProtect, c.HMACSecret, c.CredBlob, c.LargeBlobKey, want.credProtect, want.hmacSecret)
		}
	}
}

// TestGoLibfido2RunPIN checks softkey run --pin with a real client: the
// PIN it sets is the one libfido2 must use, and a restart with another
// --pin keeps the first.
func TestGoLibfido2RunPIN(t *testing.T) {
	vault := filepath.Join(t.TempDir(), "vault")
	check := func(k *keyProcess, good, bad string) {
		t.Helper()
		dev, err := libfido2.NewDevice(k.path())
		if err != nil {
			t.Fatalf("libfido2.NewDevice(%s): %v", k.path(), err)
		}
		if _, err := dev.CredentialsInfo(bad); !errors.Is(err, libfido2.ErrPinInvalid) {
			t.Errorf("CredentialsInfo with PIN %q: %v, want %v", bad, err, libfido2.ErrPinInvalid)
		}
		if _, err := dev.CredentialsInfo(good); err != nil {
			t.Errorf("CredentialsInfo with PIN %q: %v", good, err)
		}
	}
	k := startKey(t, nil, "--transport", "pty", "--vault", vault, "--pin", "24682468")
	check(k, "24682468", "13571357")
	k.stop()

	// $SOFTKEY_PIN is ignored, with a warning, once the key has a PIN.
	k = startKey(t, []string{"SOFTKEY_PIN=13571357"}, "--transport", "pty", "--vault", vault)
	check(k, "24682468", "13571357")
	k.stop()
	if !strings.Contains(k.stderr.String(), "the key already has a PIN; --pin is ignored") {
		t.Errorf("restart with another PIN: stderr lacks the warning:\n%s", k.stderr.String())
	}
}

package main

// End to end: softkey ca init, softkey mds export, softkey run --ca DIR
// over UDP, and go-webauthn as the relying party, configured with nothing
// but the exported BLOB and root. Each attestation mode registers with the
// type go-webauthn must report, and each negative switch is refused for
// the reason go-webauthn must give.

import (
	"crypto/x509"
	"encoding/pem"
	"fmt"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/softkeydev/softkey/testvectors/webauthntest"
)

// e2eCA is a CA directory made with softkey ca init for one test and its
// subtests, with the BLOBs exported from it.
type e2eCA struct {
	dir  string
	root string // --root-out

	mu    sync.Mutex
	blobs map[string]string
}

// testCA runs softkey ca init in a directory of the test's.
func testCA(t *testing.T) *e2eCA {
	t.Helper()
	needInterop(t)
	dir := t.TempDir()
	c := &e2eCA{dir: filepath.Join(dir, "ca"), root: filepath.Join(dir, "root.pem"), blobs: map[string]string{}}
	tool(t, nil, nil, softkeyBin, "ca", "init", "--dir", c.dir)
	return c
}

// blob returns the BLOB softkey mds export writes with args (after --ca
// DIR), exporting it on first use.
func (c *e2eCA) blob(t *testing.T, args ...string) string {
	t.Helper()
	key := strings.Join(args, " ")
	c.mu.Lock()
	defer c.mu.Unlock()
	if path, ok := c.blobs[key]; ok {
		return path
	}
	path := filepath.Join(filepath.Dir(c.dir), fmt.Sprintf("blob-%d.jwt", len(c.blobs)))
	all := append([]string{"mds", "export", "--ca", c.dir, "-o", path, "--root-out", c.root}, args...)
	tool(t, nil, nil, softkeyBin, all...)
	c.blobs[key] = path
	return path
}

// startCAKey starts softkey run on UDP, in memory, with the CA and args.
func (c *e2eCA) startKey(t *testing.T, args ...string) *webauthntest.Browser {
	t.Helper()
	k := startKey(t, nil, append([]string{"--transport", "udp", "--listen", "127.0.0.1:0", "--memory", "--ca", c.dir}, args...)...)
	return dialKey(t, k.addr())
}

// TestE2EAttestationTypes registers a credential with each attestation
// mode and signs in twice; go-webauthn, given the BLOB exported for that
// mode, reports the expected attestation type and format.
func TestE2EAttestationTypes(t *testing.T) {
	ca := testCA(t)
	tests := []struct {
		mode, wantType, wantFormat string
		zeroAAGUID                 bool
	}{
		{"packed", "basic_full", "packed", false},
		{"self", "basic_surrogate", "packed", false},
		{"tpm", "attca", "tpm", false},
		// fido-u2f comes with a zero AAGUID; go-webauthn finds the
		// metadata by the attestation certificate's key identifier.
		{"fido-u2f", "basic_full", "fido-u2f", true},
		{"none", "none", "none", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			blob := ca.blob(t, "--attestation", tt.mode)
			_, md := loadMetadata(t, blob, ca.root)
			rp := newRP(t, strictProvider(t, md))
			if tt.zeroAAGUID {
				rp = newRP(t, strictProvider(t, md), u2fLoginProvider(t, md))
			}
			k := ca.startKey(t, "--attestation", tt.mode)
			user := &rpUser{id: []byte("alice")}

			cred, err := rp.register(t, k, user)
			if err != nil {
				t.Fatalf("go-webauthn refused the %s registration: %s", tt.mode, webauthntest.Describe(err))
			}
			if cred.AttestationType != tt.wantType || cred.AttestationFormat != tt.wantFormat {
				t.Errorf("attestation type %q, format %q; want %q, %q", cred.AttestationType, cred.AttestationFormat, tt.wantType, tt.wantFormat)
			}
			if zero := cred.Authenticator.AAGUID == nil || strings.Trim(string(cred.Authenticator.AAGUID), "\x00") == ""; zero != tt.zeroAAGUID {
				t.Errorf("AAGUID %x: zero = %v, want %v", cred.Authenticator.AAGUID, zero, tt.zeroAAGUID)
			}
			last := cred.Authenticator.SignCount
			for i := range 2 {
				got, err := rp.login(t, k, user)
				if err != nil {
					t.Fatalf("login %d: go-webauthn refused the assertion: %s", i+1, webauthntest.Describe(err))
				}
				if got.Authenticator.CloneWarning || got.Authenticator.SignCount <= last {
					t.Errorf("login %d: counter %d after %d, clone warning %v", i+1, got.Authenticator.SignCount, last, got.Authenticator.CloneWarning)
				}
				last = got.Authenticator.SignCount
			}
		})
	}
	t.Run("packed/cached provider", func(t *testing.T) {
		t.Parallel()
		blob := ca.blob(t, "--attestation", "packed")
		dec, _ := loadMetadata(t, blob, ca.root)
		rp := newRP(t, cachedProvider(t, blob, dec))
		cred, err := rp.register(t, ca.startKey(t), &rpUser{id: []byte("bob")})
		if err != nil {
			t.Fatalf("go-webauthn with the cached provider refused the registration: %s", webauthntest.Describe(err))
		}
		if cred.AttestationType != "basic_full" {
			t.Errorf("attestation type %q, want basic_full", cred.AttestationType)
		}
	})
}

// TestE2ENegativeSwitches runs each negative switch against a strict
// relying party and checks the reason go-webauthn gives for refusing it.
func TestE2ENegativeSwitches(t *testing.T) {
	ca := testCA(t)
	tests := []struct {
		name string
		args []string // softkey run flags
		blob []string // softkey mds export flags
		// at is the ceremony that must fail: "register", "login" or
		// "clone" (the login succeeds with go-webauthn's clone warning).
		at         string
		wantType   string // go-webauthn's error type
		wantReason string
	}{
		{"bogus-signature=attestation", []string{"--negative", "bogus-signature=attestation"}, nil,
			"register", "invalid_attestation", "Signature validation error"},
		{"bogus-signature=assertion", []string{"--negative", "bogus-signature=assertion"}, nil,
			"login", "invalid_signature", "Error validating the assertion signature"},
		{"bad-up", []string{"--negative", "bad-up"}, nil,
			"register", "verification_error", "User presence required but flag not set by authenticator"},
		{"cert-aaguid-mismatch", []string{"--negative", "cert-aaguid-mismatch"}, nil,
			"register", "invalid_attestation", "Certificate AAGUID does not match Auth Data certificate"},
		{"cert-expired", []string{"--negative", "cert-expired"}, nil,
			"register", "invalid_attestation", "Cert in chain is either no longer valid or not yet valid"},
		{"cert-not-yet-valid", []string{"--negative", "cert-not-yet-valid"}, nil,
			"register", "invalid_attestation", "Cert in chain is either no longer valid or not yet valid"},
		{"foreign-root", []string{"--negative", "foreign-root"}, nil,
			"register", "invalid_attestation", "The attestation certificate could not be verified due to an error validating the trust chain against the Metadata Service"},
		{"counter-backwards", []string{"--negative", "counter-backwards"}, nil,
			"clone", "", ""},
		{"inconsistent-backup-flags", []string{"--negative", "inconsistent-backup-flags"}, nil,
			"register", "invalid_request", "Backup State Flag is true but Backup Eligible flag is false which is invalid"},
		{"status REVOKED", nil, []string{"--status", "softkey=REVOKED"},
			"register", "invalid_attestation", "The following undesired status reports were present: REVOKED"},
		// The U2F entry is found by key identifier, and checked.
		{"fido-u2f status REVOKED", []string{"--attestation", "fido-u2f"}, []string{"--attestation", "fido-u2f", "--status", "softkey=REVOKED"},
			"register", "invalid_attestation", "The following undesired status reports were present: REVOKED"},
		{"fido-u2f foreign-root", []string{"--attestation", "fido-u2f", "--negative", "foreign-root"}, []string{"--attestation", "fido-u2f"},
			"register", "invalid_attestation", "The authenticator has no registered metadata"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, md := loadMetadata(t, ca.blob(t, tt.blob...), ca.root)
			rp := newRP(t, strictProvider(t, md))
			k := ca.startKey(t, tt.args...)
			user := &rpUser{id: []byte("mallory")}

			_, err := rp.register(t, k, user)
			if tt.at == "register" {
				requireRefused(t, err, tt.wantType, tt.wantReason)
				return
			}
			if err != nil {
				t.Fatalf("go-webauthn refused the registration: %s", webauthntest.Describe(err))
			}
			first, err := rp.login(t, k, user)
			if tt.at == "login" {
				requireRefused(t, err, tt.wantType, tt.wantReason)
				return
			}
			if err != nil {
				t.Fatalf("login: go-webauthn refused the assertion: %s", webauthntest.Describe(err))
			}
			// counter-backwards: the counter starts at 2^32-1 and falls, so
			// go-webauthn flags every login after registration as a possible
			// clone (WebAuthn L3 §7.2 step 22): not an error, a warning on
			// the credential record.
			second, err := rp.login(t, k, user)
			if err != nil {
				t.Fatalf("second login: %s", webauthntest.Describe(err))
			}
			if !first.Authenticator.CloneWarning || !second.Authenticator.CloneWarning {
				t.Errorf("clone warning after the first login %v, after the second %v; want both set", first.Authenticator.CloneWarning, second.Authenticator.CloneWarning)
			}
			t.Logf("go-webauthn accepted both logins with CloneWarning=true; the counter it keeps stays %d", second.Authenticator.SignCount)
		})
	}
}

// requireRefused checks go-webauthn's error type and reason.
func requireRefused(t *testing.T, err error, wantType, wantReason string) {
	t.Helper()
	if err == nil {
		t.Fatal("go-webauthn accepted what it must refuse")
	}
	got := webauthntest.Describe(err)
	if !strings.Contains(got, "[type "+wantType+";") || !strings.Contains(got, wantReason) {
		t.Fatalf("go-webauthn refused for another reason:\n got  %s\n want type %s, reason containing %q", got, wantType, wantReason)
	}
	t.Logf("refused as it must be: %s", got)
}

// parsePEMCertificates parses every CERTIFICATE block of data.
func parsePEMCertificates(t *testing.T, data []byte) []*x509.Certificate {
	t.Helper()
	var out []*x509.Certificate
	for {
		var block *pem.Block
		block, data = pem.Decode(data)
		if block == nil {
			return out
		}
		if block.Type != "CERTIFICATE" {
			continue
		}
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			t.Fatalf("parsing a PEM certificate: %v", err)
		}
		out = append(out, c)
	}
}

// TestE2EPresets runs presets with --ca DIR against a relying party given
// the BLOB of softkey mds export --all-presets: a security key (packed), a
// Windows Hello look-alike (tpm) and a synced passkey provider (none,
// BE=1 BS=1), each registered with the type and flags its preset says.
func TestE2EPresets(t *testing.T) {
	ca := testCA(t)
	tests := []struct {
		preset, wantType string
		synced           bool
	}{
		{"yubikey-5", "basic_full", false},
		{"windows-hello-hardware", "attca", false},
		{"icloud-keychain", "none", true},
	}
	for _, tt := range tests {
		t.Run(tt.preset, func(t *testing.T) {
			t.Parallel()
			_, md := loadMetadata(t, ca.blob(t, "--all-presets"), ca.root)
			rp := newRP(t, strictProvider(t, md))
			k := ca.startKey(t, "--profile", tt.preset)
			user := &rpUser{id: []byte("carol")}
			cred, err := rp.register(t, k, user)
			if err != nil {
				t.Fatalf("go-webauthn refused the %s registration: %s", tt.preset, webauthntest.Describe(err))
			}
			if cred.AttestationType != tt.wantType {
				t.Errorf("attestation type %q, want %q", cred.AttestationType, tt.wantType)
			}
			if cred.Flags.BackupEligible != tt.synced || cred.Flags.BackupState != tt.synced {
				t.Errorf("BE %v, BS %v; want both %v", cred.Flags.BackupEligible, cred.Flags.BackupState, tt.synced)
			}
			if _, err := rp.login(t, k, user); err != nil {
				t.Fatalf("login: %s", webauthntest.Describe(err))
			}
		})
	}
}

package main

// Attestation from the real key, checked by clients other than
// go-webauthn: libfido2's fido2-cred -V over the pseudo-terminal, and
// Debian's python3-fido2 0.9.1 over UDP, each chaining the attestation to
// the root softkey mds export wrote.

import (
	"context"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	wamd "github.com/go-webauthn/webauthn/metadata"
	"github.com/google/uuid"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/ci"
)

// TestE2EFido2CredVerify makes a credential with fido2-cred -M on a key run
// with --ca DIR --attestation MODE and verifies it with fido2-cred -V, for
// packed and fido-u2f; it also chains the attestation certificate to the
// exported root through the anchors the BLOB names for the model.
// fido2-cred's text format cannot carry a tpm statement's certInfo and
// pubArea, nor an empty none statement: TestE2ELibfido2TPMAndNone checks
// those with the library behind fido2-cred -V.
func TestE2EFido2CredVerify(t *testing.T) {
	requireTool(t, "fido2-cred")
	ca := testCA(t)
	tests := []struct{ mode, typ string }{
		{"packed", "es256"},
		{"packed", "eddsa"},
		{"fido-u2f", "es256"},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.typ, func(t *testing.T) {
			t.Parallel()
			_, md := loadMetadata(t, ca.blob(t, "--attestation", tt.mode), ca.root)
			k := startKey(t, nil, "--transport", "pty", "--memory", "--ca", ca.dir, "--attestation", tt.mode)
			lines := fido2CredMake(t, k.path(), tt.typ, tt.mode)
			tool(t, []byte(strings.Join(lines, "\n")+"\n"), nil, "fido2-cred", "-V", "-o", t.TempDir()+"/cred", tt.typ)
			t.Logf("fido2-cred -V verified the %s statement", tt.mode)

			if len(lines) < 7 {
				t.Fatalf("fido2-cred -M printed no attestation certificate:\n%s", strings.Join(lines, "\n"))
			}
			der, err := base64.StdEncoding.DecodeString(lines[6])
			if err != nil {
				t.Fatalf("attestation certificate %q: %v", lines[6], err)
			}
			leaf, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			authData, err := base64.StdEncoding.DecodeString(lines[3])
			if err != nil {
				t.Fatal(err)
			}
			// fido2-cred prints x5c's first certificate only; a relying
			// party has the rest of x5c, which for packed is the CA's
			// intermediate.
			x5cRest := parsePEMCertificates(t, readFile(t, filepath.Join(ca.dir, "ca.pem")))
			verifyToExportedRoot(t, md, ca.root, leaf, x5cRest, aaguidOf(t, unwrapCBORBytes(authData)))
		})
	}
}

// fido2CredMake runs fido2-cred -M on dev and checks the format it prints.
func fido2CredMake(t *testing.T, dev, typ, wantFormat string) []string {
	t.Helper()
	rpID := wantFormat + ".example.org"
	param := fmt.Sprintf("%s\n%s\nalice\n%s\n", b64(sha256Sum("cred "+rpID)), rpID, b64(randomBytes(t, 16)))
	made := tool(t, nil, nil, "fido2-cred", "-M", "-q", "-i", writeFile(t, t.TempDir(), "param", []byte(param)), dev, typ)
	lines := strings.Split(strings.TrimRight(string(made), "\n"), "\n")
	if len(lines) < 5 || lines[2] != wantFormat {
		t.Fatalf("fido2-cred -M printed format %q, want %q:\n%s", at(lines, 2), wantFormat, made)
	}
	return lines
}

// TestE2ELibfido2TPMAndNone: libfido2 makes tpm credentials on the real
// key (fido2-cred -M, which takes the statement apart), and
// fido_cred_verify, the verifier behind fido2-cred -V, verifies the tpm
// statement of a credential made on the same key, whole, through the
// small C program of the attestation package's tests; for none, which
// libfido2 has no procedure to verify, the program checks that libfido2
// takes the statement and authenticator data apart.
func TestE2ELibfido2TPMAndNone(t *testing.T) {
	requireTool(t, "fido2-cred")
	for _, p := range []string{"/usr/include/fido.h", "/usr/bin/cc"} {
		if _, err := os.Stat(p); err != nil {
			ci.Unavailable(t, "libfido2-dev and a C compiler are needed (make deps installs them): %v", err)
		}
	}
	bin := filepath.Join(t.TempDir(), "verify_cred")
	if out, err := exec.Command("/usr/bin/cc", "-Wall", "-o", bin, "../../attestation/testdata/verify_cred.c", "-lfido2").CombinedOutput(); err != nil {
		t.Fatalf("building verify_cred.c: %v\n%s", err, out)
	}
	ca := testCA(t)
	tests := []struct {
		mode, typ string
		alg       ctap2.Alg
	}{
		{"tpm", "es256", ctap2.AlgES256},
		{"tpm", "rs256", ctap2.AlgRS256},
		{"none", "es256", ctap2.AlgES256},
	}
	for _, tt := range tests {
		t.Run(tt.mode+"/"+tt.typ, func(t *testing.T) {
			t.Parallel()
			k := startKey(t, nil, "--transport", "pty", "--memory", "--ca", ca.dir, "--attestation", tt.mode)
			if tt.mode != "none" {
				// fido2-cred 1.12 -M makes a none credential but cannot
				// print its empty signature ("output error").
				fido2CredMake(t, k.path(), tt.typ, tt.mode)
			}

			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			dev, _, err := openHostDevice(ctx, "pty", k.path(), "")
			if err != nil {
				t.Fatal(err)
			}
			defer dev.Close()
			cdh := sha256Sum("libfido2 " + tt.mode)
			resp, err := ctap2.NewClient(dev).MakeCredential(ctx, &ctap2.MakeCredentialRequest{
				ClientDataHash:   cdh,
				RP:               &ctap2.RPEntity{ID: "libfido2.example.org"},
				User:             &ctap2.UserEntity{ID: []byte("alice"), Name: "alice"},
				PubKeyCredParams: []ctap2.CredentialParam{{Type: ctap2.PublicKeyCredentialType, Alg: tt.alg}},
			})
			if err != nil {
				t.Fatalf("makeCredential: %v", err)
			}
			if resp.Format != tt.mode {
				t.Fatalf("attestation format %q, want %q", resp.Format, tt.mode)
			}
			out, err := exec.Command(bin, tt.typ, "libfido2.example.org", resp.Format,
				hex.EncodeToString(cdh), hex.EncodeToString(resp.AuthData), hex.EncodeToString(resp.AttStmt)).CombinedOutput()
			if err != nil {
				t.Fatalf("fido_cred_verify refused the %s statement: %v\n%s", resp.Format, err, out)
			}
			t.Logf("libfido2 took the %s statement (verified unless none)", resp.Format)
		})
	}
}

// aaguidOf reads the AAGUID of registration authenticator data.
func aaguidOf(t *testing.T, authData []byte) uuid.UUID {
	t.Helper()
	if len(authData) < 37+16 {
		t.Fatalf("authenticator data of %d bytes has no attested credential data", len(authData))
	}
	return uuid.UUID(authData[37 : 37+16])
}

// verifyToExportedRoot verifies the attestation certificate as a relying
// party with the BLOB does: it finds the model's entry by AAGUID, or by the
// certificate's key identifier for a zero AAGUID, and verifies the
// certificate to the exported root with the entry's anchors.
func verifyToExportedRoot(t *testing.T, md *wamd.Metadata, rootPEM string, leaf *x509.Certificate, x5cRest []*x509.Certificate, aaguid uuid.UUID) {
	t.Helper()
	entry := md.ToMap()[aaguid]
	if aaguid == uuid.Nil {
		entry = md.ToKeyIdentifierMap()[hex.EncodeToString(leaf.SubjectKeyId)]
	}
	if entry == nil {
		t.Fatalf("the BLOB has no entry for AAGUID %s or key identifier %x", aaguid, leaf.SubjectKeyId)
	}
	root := parsePEMCertificates(t, readFile(t, rootPEM))[0]
	roots, inter := x509.NewCertPool(), x509.NewCertPool()
	roots.AddCert(root)
	for _, c := range append(entry.MetadataStatement.AttestationRootCertificates, x5cRest...) {
		inter.AddCert(c)
	}
	chains, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}})
	if err != nil {
		t.Fatalf("the attestation certificate does not chain to the exported root: %v", err)
	}
	t.Logf("%s chains to the exported root %q through %d certificates", leaf.Subject, root.Subject.CommonName, len(chains[0]))
}

// TestE2EPythonFido2Attestation has python-fido2 make credentials on a
// key run with --ca DIR, verify the packed and fido-u2f statements, verify
// the exported BLOB's signature to the exported root, and chain each
// attestation to that root through the anchors the BLOB names for the
// model (testdata/python_attestation.py).
func TestE2EPythonFido2Attestation(t *testing.T) {
	if _, err := os.Stat(debianPython); err != nil {
		ci.Unavailable(t, "%s is not installed: %v", debianPython, err)
	}
	if out, err := exec.Command(debianPython, "-c", "import fido2").CombinedOutput(); err != nil {
		ci.Unavailable(t, "python3-fido2 is not installed (make deps installs it): %v\n%s", err, out)
	}
	ca := testCA(t)
	aaguid := authenticator.DefaultProfile().AAGUID
	for _, tt := range []struct{ mode, wantFormat, wantType string }{
		{"packed", "packed", "BASIC"},
		{"fido-u2f", "fido-u2f", "BASIC"},
	} {
		t.Run(tt.mode, func(t *testing.T) {
			t.Parallel()
			blob := ca.blob(t, "--attestation", tt.mode)
			k := startKey(t, nil, "--transport", "udp", "--listen", "127.0.0.1:0", "--memory", "--ca", ca.dir, "--attestation", tt.mode)
			out, errOut, err := tryTool(t, nil, nil, debianPython, "testdata/python_attestation.py", k.addr(), blob, ca.root)
			t.Logf("python_attestation.py:\n%s", out)
			if err != nil {
				t.Fatalf("python_attestation.py: %v\nstderr:\n%s", err, errOut)
			}
			for _, want := range []string{
				"ok: blob signature verified to the root",
				fmt.Sprintf("ok: %s attestation %s", tt.wantFormat, tt.wantType),
				"ok: chained to the root",
			} {
				if !strings.Contains(string(out), want) {
					t.Errorf("python_attestation.py output lacks %q", want)
				}
			}
			wantEntry := "ok: entry by aaguid " + aaguid.String()
			if tt.mode == "fido-u2f" {
				wantEntry = "ok: entry by key identifier"
			}
			if !strings.Contains(string(out), wantEntry) {
				t.Errorf("python_attestation.py output lacks %q", wantEntry)
			}
		})
	}
}

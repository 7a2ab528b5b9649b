package attestation

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/pem"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/ci"
)

// requireTool skips the test when an external verifier is missing, unless
// CI=true, where a missing oracle is a failure (style.md §e).
func requireTool(t *testing.T, what string, paths ...string) {
	t.Helper()
	for _, p := range paths {
		if _, err := os.Stat(p); err != nil {
			ci.Unavailable(t, "%s unavailable: %v", what, err)
		}
	}
}

// decodedCase is an oracle case's attestation object taken apart.
type decodedCase struct {
	fmt      string
	attStmt  []byte
	authData []byte
	credID   []byte
	credType string // fido2-cred's name for the credential algorithm
	cred     any    // the credential public key
	sig      []byte
	x5c      [][]byte
}

func decodeCase(t *testing.T, tc oracleCase) decodedCase {
	t.Helper()
	var obj struct {
		Fmt      string           `cbor:"fmt"`
		AttStmt  ctap2.RawMessage `cbor:"attStmt"`
		AuthData []byte           `cbor:"authData"`
	}
	if err := ctap2.Unmarshal(tc.attObj, &obj); err != nil {
		t.Fatalf("decoding attestation object: %v", err)
	}
	ad, err := ctap2.ParseAuthData(obj.AuthData)
	if err != nil || ad.Attested == nil {
		t.Fatalf("decoding authenticator data: %v", err)
	}
	alg, pub, err := ctap2.ParseCOSEKey(ad.Attested.PublicKey)
	if err != nil {
		t.Fatalf("decoding credential key: %v", err)
	}
	var stmt struct {
		Sig []byte   `cbor:"sig"`
		X5C [][]byte `cbor:"x5c"`
	}
	// The tpm statement has more members; only sig and x5c matter here.
	var members map[string]ctap2.RawMessage
	if err := ctap2.Unmarshal(obj.AttStmt, &members); err != nil {
		t.Fatalf("decoding attStmt: %v", err)
	}
	if raw, ok := members["sig"]; ok {
		if err := ctap2.Unmarshal(raw, &stmt.Sig); err != nil {
			t.Fatal(err)
		}
	}
	if raw, ok := members["x5c"]; ok {
		if err := ctap2.Unmarshal(raw, &stmt.X5C); err != nil {
			t.Fatal(err)
		}
	}
	return decodedCase{
		fmt: obj.Fmt, attStmt: obj.AttStmt, authData: obj.AuthData, credID: ad.Attested.CredentialID,
		credType: strings.ToLower(alg.String()), cred: pub, sig: stmt.Sig, x5c: stmt.X5C,
	}
}

// TestLibfido2 runs libfido2's fido_cred_verify (libfido2 1.12, the
// verifier behind fido2-cred -V) on every oracle case through a small C
// program that hands it the whole attStmt, tpm's certInfo and pubArea
// included, which the fido2-cred input format cannot carry.
func TestLibfido2(t *testing.T) {
	requireTool(t, "libfido2 headers and a C compiler", "/usr/include/fido.h", "/usr/bin/cc")
	bin := filepath.Join(t.TempDir(), "verify_cred")
	if out, err := exec.Command("/usr/bin/cc", "-Wall", "-o", bin, "testdata/verify_cred.c", "-lfido2").CombinedOutput(); err != nil {
		t.Fatalf("building testdata/verify_cred.c: %v\n%s", err, out)
	}
	for _, tc := range oracleCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			d := decodeCase(t, tc)
			cmd := exec.Command(bin, d.credType, testRPID, d.fmt,
				hex.EncodeToString(tc.cdh), hex.EncodeToString(d.authData), hex.EncodeToString(d.attStmt))
			out, err := cmd.CombinedOutput()
			checkVerdict(t, tc, verifierLibfido2, err, out)
		})
	}
}

// TestFido2CredV feeds every packed, fido-u2f and none case to
// `fido2-cred -V` itself, in the input format of fido2-cred(1): client data
// hash, RP ID, format, authenticator data (a CBOR byte string), credential
// ID, signature and attestation certificate, each base64 but the strings.
// Its input has no room for tpm's certInfo and pubArea; [TestLibfido2]
// checks those with the same library.
func TestFido2CredV(t *testing.T) {
	requireTool(t, "fido2-cred", "/usr/bin/fido2-cred")
	for _, tc := range oracleCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			d := decodeCase(t, tc)
			switch d.fmt {
			case FormatTPM:
				t.Skip("fido2-cred -V reads no certInfo or pubArea; TestLibfido2 hands them to the same library")
			case FormatNone:
				t.Skip("fido2-cred 1.12 -V cannot take none: an empty signature line is an input error, and libfido2 has no verification for none; TestLibfido2 checks that it parses")
			}
			wrapped, err := ctap2.Marshal(d.authData)
			if err != nil {
				t.Fatal(err)
			}
			var x5c []byte
			if len(d.x5c) > 0 {
				x5c = d.x5c[0]
			}
			b64 := base64.StdEncoding.EncodeToString
			input := strings.Join([]string{
				b64(tc.cdh), testRPID, d.fmt, b64(wrapped), b64(d.credID), b64(d.sig), b64(x5c),
			}, "\n") + "\n"
			outFile := filepath.Join(t.TempDir(), "cred")
			cmd := exec.Command("/usr/bin/fido2-cred", "-V", "-o", outFile, d.credType)
			cmd.Stdin = strings.NewReader(input)
			out, err := cmd.CombinedOutput()
			if !checkVerdict(t, tc, verifierLibfido2, err, out) {
				return
			}
			// On success fido2-cred writes the credential ID and key.
			written, err := os.ReadFile(outFile)
			if err != nil {
				t.Fatalf("reading fido2-cred output: %v", err)
			}
			id, rest, _ := bytes.Cut(written, []byte("\n"))
			if string(id) != b64(d.credID) {
				t.Errorf("fido2-cred reports credential ID %s, want %s", id, b64(d.credID))
			}
			block, _ := pem.Decode(rest)
			if block == nil {
				t.Fatalf("fido2-cred wrote no PEM key: %q", rest)
			}
			pub, err := x509.ParsePKIXPublicKey(block.Bytes)
			if err != nil {
				t.Fatalf("parsing fido2-cred's key: %v", err)
			}
			if !publicKeyEqual(pub, d.cred) {
				t.Error("fido2-cred reports another credential key")
			}
		})
	}
}

// checkVerdict compares a verifier's exit status with the case's
// expectation and reports whether it accepted.
func checkVerdict(t *testing.T, tc oracleCase, verifier string, err error, out []byte) bool {
	t.Helper()
	wantOK, why := tc.expectOK(verifier)
	if wantOK != tc.wantOK {
		t.Logf("%s is expected to differ: %s", verifier, why)
	}
	msg := strings.TrimSpace(string(out))
	if wantOK {
		if err != nil {
			t.Fatalf("%s rejected the attestation: %v: %s", verifier, err, msg)
		}
		return true
	}
	if err == nil {
		t.Fatalf("%s accepted the attestation, want rejection", verifier)
	}
	t.Logf("rejected as expected: %s", msg)
	return false
}

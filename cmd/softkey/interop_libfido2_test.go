package main

// libfido2's command-line tools (Debian fido2-tools) over the
// pseudo-terminal, as interop.md §0 describes.

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/authenticator"
)

func TestFido2TokenInfo(t *testing.T) {
	token := requireTool(t, "fido2-token")
	k := startKey(t, nil, "--transport", "pty", "--memory")
	out := string(tool(t, nil, nil, token, "-I", k.path()))
	aaguid := authenticator.DefaultProfile().AAGUID
	for _, want := range []string{"FIDO_2_0", "FIDO_2_1", "U2F_V2", "aaguid: " + hex.EncodeToString(aaguid[:])} {
		if !strings.Contains(out, want) {
			t.Errorf("fido2-token -I %s does not show %q:\n%s", k.path(), want, out)
		}
	}

	// softkey info, as a host, on the same device.
	var info infoJSON
	if err := json.Unmarshal(tool(t, nil, nil, softkeyBin, "info", "--device", k.path(), "--json"), &info); err != nil {
		t.Fatalf("softkey info --json: %v", err)
	}
	if info.AAGUID != aaguid.String() || !slices.Contains(info.Versions, "FIDO_2_1") {
		t.Errorf("softkey info --device %s: aaguid %s, versions %v; want %s and FIDO_2_1", k.path(), info.AAGUID, info.Versions, aaguid)
	}
}

// fido2Cred is a credential made with fido2-cred and checked with
// fido2-cred -V.
type fido2Cred struct {
	typ    string // es256, eddsa, rs256
	rpID   string
	userID []byte
	id     string // base64, as fido2-cred prints it
	pubKey string // path of the PEM public key
}

// makeCred runs `fido2-cred -M` and pipes its output to `fido2-cred -V`,
// which checks the attestation; it expects packed attestation.
func makeCred(t *testing.T, dev, typ, rpID string, resident bool) *fido2Cred {
	t.Helper()
	dir := t.TempDir()
	userID := randomBytes(t, 32)
	param := fmt.Sprintf("%s\n%s\nalice\n%s\n",
		b64(sha256Sum("make credential "+rpID)), rpID, b64(userID))
	paramFile := writeFile(t, dir, "cred_param", []byte(param))

	args := []string{"-M", "-q", "-i", paramFile}
	if resident {
		args = append(args, "-r")
	}
	made := tool(t, nil, nil, "fido2-cred", append(args, dev, typ)...)
	lines := strings.Split(string(made), "\n")
	if len(lines) < 6 {
		t.Fatalf("fido2-cred -M printed %d lines, want at least 6:\n%s", len(lines), made)
	}
	if lines[1] != rpID {
		t.Errorf("fido2-cred -M: relying party %q, want %q", lines[1], rpID)
	}
	if lines[2] != "packed" {
		t.Errorf("fido2-cred -M: attestation format %q, want packed", lines[2])
	}
	if len(lines) < 7 || lines[6] == "" {
		t.Errorf("fido2-cred -M: no attestation certificate, want full packed attestation")
	}

	credFile := dir + "/cred"
	tool(t, made, nil, "fido2-cred", "-V", "-o", credFile, typ)
	cred := readFile(t, credFile)
	id, pem, ok := strings.Cut(string(cred), "\n")
	if !ok || !strings.Contains(pem, "BEGIN PUBLIC KEY") {
		t.Fatalf("fido2-cred -V -o wrote %q, want a credential ID and a PEM key", cred)
	}
	return &fido2Cred{typ: typ, rpID: rpID, userID: userID, id: id, pubKey: writeFile(t, dir, "pubkey", []byte(pem))}
}

// getAssert runs `fido2-assert -G` (with the credential's ID, or -r
// without one) and pipes the first assertion to `fido2-assert -V`, which
// checks the signature with the credential's public key. It returns the
// signature counter.
func getAssert(t *testing.T, dev string, c *fido2Cred, resident bool) uint32 {
	t.Helper()
	dir := t.TempDir()
	param := fmt.Sprintf("%s\n%s\n", b64(sha256Sum("assert "+c.rpID+" "+string(randomBytes(t, 8)))), c.rpID)
	args := []string{"-G", "-i"} // -G must come first
	if resident {
		args = []string{"-G", "-r", "-i"}
	} else {
		param += c.id + "\n"
	}
	paramFile := writeFile(t, dir, "assert_param", []byte(param))
	out := tool(t, nil, nil, "fido2-assert", append(args, paramFile, dev)...)
	lines := strings.Split(string(out), "\n")
	if len(lines) < 4 {
		t.Fatalf("fido2-assert -G printed %d lines, want at least 4:\n%s", len(lines), out)
	}
	if resident {
		if len(lines) < 5 || lines[4] != b64(c.userID) {
			t.Errorf("fido2-assert -G -r: user ID line %q, want %q", at(lines, 4), b64(c.userID))
		}
	}
	first := []byte(strings.Join(lines[:4], "\n") + "\n")
	tool(t, first, nil, "fido2-assert", "-V", "-p", c.pubKey, c.typ)
	return counterOf(t, lines[2])
}

func TestFido2CredAndAssert(t *testing.T) {
	requireTool(t, "fido2-cred")
	requireTool(t, "fido2-assert")
	k := startKey(t, nil, "--transport", "pty", "--memory")
	for _, typ := range []string{"es256", "eddsa", "rs256"} {
		for _, resident := range []bool{false, true} {
			name := typ
			if resident {
				name += "-discoverable"
			}
			t.Run(name, func(t *testing.T) {
				rpID := name + ".example.org"
				c := makeCred(t, k.path(), typ, rpID, resident)
				first := getAssert(t, k.path(), c, resident)
				second := getAssert(t, k.path(), c, resident)
				if second <= first {
					t.Errorf("signature counter went from %d to %d, want it to increase", first, second)
				}
			})
		}
	}
}

// counterOf returns the signature counter of authenticator data as
// fido2-assert prints it: base64 of the CBOR byte string that holds it.
func counterOf(t *testing.T, authDataB64 string) uint32 {
	t.Helper()
	raw, err := base64.StdEncoding.DecodeString(authDataB64)
	if err != nil {
		t.Fatalf("authenticator data %q: %v", authDataB64, err)
	}
	ad := unwrapCBORBytes(raw)
	if len(ad) < 37 {
		t.Fatalf("authenticator data of %d bytes, want at least 37: %x", len(ad), raw)
	}
	return binary.BigEndian.Uint32(ad[33:37])
}

// unwrapCBORBytes returns the content of a CBOR byte string, or b itself if
// b is not one. libfido2 hands out authenticator data CBOR-wrapped.
func unwrapCBORBytes(b []byte) []byte {
	if len(b) == 0 || b[0]>>5 != 2 {
		return b
	}
	n, hdr := uint64(b[0]&0x1f), 1
	switch {
	case n < 24:
	case n == 24 && len(b) >= 2:
		n, hdr = uint64(b[1]), 2
	case n == 25 && len(b) >= 3:
		n, hdr = uint64(binary.BigEndian.Uint16(b[1:3])), 3
	default:
		return b
	}
	if uint64(len(b)-hdr) != n {
		return b
	}
	return b[hdr:]
}

func at(lines []string, i int) string {
	if i < len(lines) {
		return lines[i]
	}
	return ""
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func sha256Sum(s string) []byte {
	h := sha256.Sum256([]byte(s))
	return h[:]
}

func randomBytes(t *testing.T, n int) []byte {
	t.Helper()
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return b
}

func readFile(t *testing.T, path string) []byte {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// TestFido2PresenceDeny: with --presence deny, libfido2 is told the user
// refused.
func TestFido2PresenceDeny(t *testing.T) {
	requireTool(t, "fido2-cred")
	k := startKey(t, nil, "--transport", "pty", "--memory", "--presence", "deny")
	param := fmt.Sprintf("%s\ndeny.example.org\nalice\n%s\n", b64(sha256Sum("deny")), b64(randomBytes(t, 16)))
	_, errOut, err := tryTool(t, nil, nil, "fido2-cred", "-M", "-q", "-i", writeFile(t, t.TempDir(), "param", []byte(param)), k.path())
	if err == nil {
		t.Fatal("fido2-cred -M succeeded with --presence deny")
	}
	if !strings.Contains(string(errOut), "FIDO_ERR_OPERATION_DENIED") {
		t.Errorf("fido2-cred -M with --presence deny: %v: %s, want FIDO_ERR_OPERATION_DENIED", err, errOut)
	}
}

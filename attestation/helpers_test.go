package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// testRPID is the relying party every test registers with.
const testRPID = "example.test"

// testAAGUID is the AAGUID of the test model.
var testAAGUID = [16]byte{0x5f, 0x0f, 0x1e, 0x2d, 0x3c, 0x4b, 0x5a, 0x69, 0x78, 0x87, 0x96, 0xa5, 0xb4, 0xc3, 0xd2, 0xe1}

// seeded returns a deterministic randomness source.
func seeded(seed byte) *rand.ChaCha8 {
	var s [32]byte
	s[0] = seed
	return rand.NewChaCha8(s)
}

// testNow is a fixed clock reading close enough to the real time that
// verifiers checking validity against time.Now accept the certificates.
func testNow() time.Time { return time.Now().Truncate(time.Hour) }

// credential is a credential key pair of one algorithm.
type credential struct {
	alg ctap2.Alg
	key crypto.Signer
}

// newCredentials returns one credential key per supported algorithm.
func newCredentials(t *testing.T) []credential {
	t.Helper()
	ec, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatalf("generating P-256 key: %v", err)
	}
	seed := sha256.Sum256([]byte("ed25519 credential"))
	ed := ed25519.NewKeyFromSeed(seed[:])
	rk, err := rsa.GenerateKey(seeded(9), 2048)
	if err != nil {
		t.Fatalf("generating RSA key: %v", err)
	}
	return []credential{
		{ctap2.AlgES256, ec},
		{ctap2.AlgEdDSA, ed},
		{ctap2.AlgRS256, rk},
	}
}

// makeAuthData builds registration authenticator data for cred.
func makeAuthData(t *testing.T, cred credential, aaguid [16]byte, credID []byte) []byte {
	t.Helper()
	cose, err := ctap2.MarshalCOSEKey(cred.alg, cred.key.Public())
	if err != nil {
		t.Fatalf("encoding COSE key: %v", err)
	}
	ad := ctap2.AuthData{
		RPIDHash:  ctap2.RPIDHash(testRPID),
		Flags:     ctap2.FlagUP | ctap2.FlagUV,
		SignCount: 0,
		Attested: &ctap2.AttestedCredential{
			AAGUID:       aaguid,
			CredentialID: credID,
			PublicKey:    cose,
		},
	}
	b, err := ad.Marshal()
	if err != nil {
		t.Fatalf("encoding authenticator data: %v", err)
	}
	return b
}

// attestationObject encodes {fmt, attStmt, authData} in CTAP2 canonical
// CBOR (WebAuthn L3 §6.5.4).
func attestationObject(t *testing.T, st Statement, authData []byte) []byte {
	t.Helper()
	obj := struct {
		Fmt      string           `cbor:"fmt"`
		AttStmt  ctap2.RawMessage `cbor:"attStmt"`
		AuthData []byte           `cbor:"authData"`
	}{st.Format, st.Stmt, authData}
	b, err := ctap2.Marshal(obj)
	if err != nil {
		t.Fatalf("encoding attestation object: %v", err)
	}
	return b
}

// clientDataHash returns a fixed clientDataHash.
func clientDataHash(label string) []byte {
	h := sha256.Sum256([]byte(`{"type":"webauthn.create","challenge":"` + label + `","origin":"https://example.test"}`))
	return h[:]
}

// newTestBatch issues a batch for testAAGUID from a seeded source.
func newTestBatch(t *testing.T, seed byte) *Batch {
	t.Helper()
	b, err := NewBatch(seeded(seed), testNow(), testAAGUID, "Softkey Test Vendor")
	if err != nil {
		t.Fatalf("NewBatch: %v", err)
	}
	return b
}

package attestation

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

func TestFIDOU2F(t *testing.T) {
	batch := newTestBatch(t, 1)
	cred := newCredentials(t)[0]
	credID := bytes.Repeat([]byte{0xc1}, 64)
	authData := makeAuthData(t, cred, [16]byte{}, credID)
	cdh := clientDataHash("fido-u2f unit")

	st, err := FIDOU2F(authData, cdh, batch.Key, batch.Chain[0])
	if err != nil {
		t.Fatalf("FIDOU2F: %v", err)
	}
	if st.Format != "fido-u2f" {
		t.Errorf("Format = %q", st.Format)
	}
	// Canonical order: a2, "sig", …, "x5c", [one certificate].
	if !bytes.HasPrefix(st.Stmt, []byte{0xa2, 0x63, 's', 'i', 'g'}) {
		t.Errorf("attStmt starts %x, want a2 63 'sig'", st.Stmt[:8])
	}
	var decoded u2fStmt
	if err := ctap2.Unmarshal(st.Stmt, &decoded); err != nil {
		t.Fatalf("decoding attStmt: %v", err)
	}
	if len(decoded.X5C) != 1 || !bytes.Equal(decoded.X5C[0], batch.Chain[0]) {
		t.Errorf("x5c = %d certificates, want exactly the batch certificate", len(decoded.X5C))
	}
	again, err := ctap2.Marshal(decoded)
	if err != nil || !bytes.Equal(again, st.Stmt) {
		t.Errorf("attStmt does not re-encode to itself: %v", err)
	}

	// WebAuthn L3 §8.6 verification procedure, step by step.
	point, err := cred.key.Public().(*ecdsa.PublicKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	rpIDHash := ctap2.RPIDHash(testRPID)
	msg := append([]byte{0x00}, rpIDHash[:]...)
	msg = append(msg, cdh...)
	msg = append(msg, credID...)
	msg = append(msg, point...)
	digest := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(batch.Key.Public().(*ecdsa.PublicKey), digest[:], decoded.Sig) {
		t.Error("sig does not verify over 0x00 ‖ rpIdHash ‖ clientDataHash ‖ credentialId ‖ publicKeyU2F")
	}
	want, err := U2FRegisterSignature(batch.Key, rpIDHash[:], cdh, credID, point)
	if err != nil || !bytes.Equal(want, decoded.Sig) {
		t.Errorf("sig differs from U2FRegisterSignature's: %v", err)
	}

	creds := newCredentials(t)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ca := testCA(t, 40)
	p384Cert, _ := craftedBatch(t, ca, goodBatchTemplate(t, 41), p384)
	p384DER := splitPEM(t, p384Cert)[0]
	p384Chain, err := parseCertificatesPEM(p384DER)
	if err != nil {
		t.Fatal(err)
	}
	noAttested := authData[:minAuthDataSize]
	noAttested = append([]byte(nil), noAttested...)
	noAttested[32] &^= byte(ctap2.FlagAT)
	for _, tt := range []struct {
		name     string
		authData []byte
		cdh      []byte
		key      any
		cert     []byte
		want     string
	}{
		{"EdDSA credential", makeAuthData(t, creds[1], [16]byte{}, credID), cdh, batch.Key, batch.Chain[0], "credential key is EdDSA, want ES256"},
		{"RS256 credential", makeAuthData(t, creds[2], [16]byte{}, credID), cdh, batch.Key, batch.Chain[0], "credential key is RS256, want ES256"},
		{"no attested credential data", noAttested, cdh, batch.Key, batch.Chain[0], "no attested credential data"},
		{"short client data hash", authData, cdh[:16], batch.Key, batch.Chain[0], "client data hash is 16 bytes"},
		{"no key", authData, cdh, nil, batch.Chain[0], "no attestation key"},
		{"garbage certificate", authData, cdh, batch.Key, []byte("junk"), "attestation certificate"},
		{"P-384 certificate", authData, cdh, batch.Key, p384Chain[0].Raw, "want P-256 ECDSA"},
		{"P-384 attestation key", authData, cdh, p384, batch.Chain[0], "not a P-256 ECDSA key"},
		{"256-byte credential ID", makeAuthData(t, cred, [16]byte{}, make([]byte, 256)), cdh, batch.Key, batch.Chain[0], "key handle is 256 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var key *ecdsa.PrivateKey
			if tt.key != nil {
				key = tt.key.(*ecdsa.PrivateKey)
			}
			var st Statement
			var err error
			if key == nil {
				st, err = FIDOU2F(tt.authData, tt.cdh, nil, tt.cert)
			} else {
				st, err = FIDOU2F(tt.authData, tt.cdh, key, tt.cert)
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("FIDOU2F = %+v, %v; want error containing %q", st, err, tt.want)
			}
		})
	}
}

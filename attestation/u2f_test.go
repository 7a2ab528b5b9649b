package attestation

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"strings"
	"testing"
)

func TestU2FRegisterSignature(t *testing.T) {
	batch := newTestBatch(t, 3)
	user, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	userPub, err := user.PublicKey.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	app := sha256.Sum256([]byte("https://example.test"))
	challenge := sha256.Sum256([]byte("client data"))
	kh := bytes.Repeat([]byte{0x4b}, 64)

	sig, err := U2FRegisterSignature(batch.Key, app[:], challenge[:], kh, userPub)
	if err != nil {
		t.Fatalf("U2FRegisterSignature: %v", err)
	}
	// FIDO U2F Raw Message Formats §4.3: 0x00 | application | challenge | key handle | public key.
	var msg []byte
	msg = append(msg, 0x00)
	msg = append(msg, app[:]...)
	msg = append(msg, challenge[:]...)
	msg = append(msg, kh...)
	msg = append(msg, userPub...)
	digest := sha256.Sum256(msg)
	if !ecdsa.VerifyASN1(batch.Key.Public().(*ecdsa.PublicKey), digest[:], sig) {
		t.Error("signature does not verify over the §4.3 message")
	}

	ed := newCredentials(t)[1].key
	tests := []struct {
		name               string
		app, chal, kh, pub []byte
		wantErr            string
		useEd25519AttKey   bool
	}{
		{"short application", app[:31], challenge[:], kh, userPub, "application parameter is 31 bytes", false},
		{"long challenge", app[:], append(challenge[:], 0), kh, userPub, "challenge parameter is 33 bytes", false},
		{"empty key handle", app[:], challenge[:], nil, userPub, "key handle is 0 bytes", false},
		{"256-byte key handle", app[:], challenge[:], make([]byte, 256), userPub, "key handle is 256 bytes", false},
		{"compressed public key", app[:], challenge[:], kh, userPub[:33], "uncompressed P-256 point", false},
		{"public key without 04", app[:], challenge[:], kh, append([]byte{0x05}, userPub[1:]...), "uncompressed P-256 point", false},
		{"Ed25519 attestation key", app[:], challenge[:], kh, userPub, "not a P-256 ECDSA key", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key := batch.Key
			if tt.useEd25519AttKey {
				key = ed
			}
			sig, err := U2FRegisterSignature(key, tt.app, tt.chal, tt.kh, tt.pub)
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("U2FRegisterSignature = %x, %v; want error containing %q", sig, err, tt.wantErr)
			}
		})
	}
	// 255 bytes is the longest key handle the one-byte length allows.
	if _, err := U2FRegisterSignature(batch.Key, app[:], challenge[:], make([]byte, 255), userPub); err != nil {
		t.Errorf("255-byte key handle: %v", err)
	}
}

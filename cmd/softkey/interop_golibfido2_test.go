//go:build cgo && !nolibfido2

package main

// keys-pub/go-libfido2 (cgo over Debian's libfido2) over the
// pseudo-terminal. go-libfido2 does not verify signatures, so the test
// does, with the public key libfido2 extracted from the attestation.
// Build with -tags nolibfido2 where libfido2-dev is missing.

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"fmt"
	"math/big"
	"slices"
	"testing"

	libfido2 "github.com/keys-pub/go-libfido2"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/ctap2"
)

func TestGoLibfido2(t *testing.T) {
	k := startKey(t, nil, "--transport", "pty", "--memory")
	dev, err := libfido2.NewDevice(k.path())
	if err != nil {
		t.Fatalf("libfido2.NewDevice(%s): %v", k.path(), err)
	}
	info, err := dev.Info()
	if err != nil {
		t.Fatalf("Info: %v", err)
	}
	if !slices.Contains(info.Versions, "FIDO_2_1") {
		t.Errorf("Info().Versions = %v, want FIDO_2_1 among them", info.Versions)
	}
	aaguid := authenticator.DefaultProfile().AAGUID
	if !bytes.Equal(info.AAGUID, aaguid[:]) {
		t.Errorf("Info().AAGUID = %x, want %x", info.AAGUID, aaguid[:])
	}

	for _, typ := range []libfido2.CredentialType{libfido2.ES256, libfido2.EDDSA, libfido2.RS256} {
		for _, rk := range []libfido2.OptionValue{libfido2.False, libfido2.True} {
			name := fmt.Sprintf("%s-rk-%s", typ, rk)
			t.Run(name, func(t *testing.T) {
				rp := libfido2.RelyingParty{ID: name + ".example.com", Name: "Example"}
				user := libfido2.User{ID: randomBytes(t, 16), Name: "alice", DisplayName: "Alice"}
				cdh := randomBytes(t, 32)
				att, err := dev.MakeCredential(cdh, rp, user, typ, "", &libfido2.MakeCredentialOpts{RK: rk})
				if err != nil {
					t.Fatalf("MakeCredential(%s, rk=%s): %v", typ, rk, err)
				}
				pub := libfido2PublicKey(t, typ, att.PubKey)
				checkAttestation(t, att, cdh, aaguid)

				var allow [][]byte
				if rk == libfido2.False {
					allow = [][]byte{att.CredentialID}
				}
				var counters []uint32
				for range 2 {
					cdh := randomBytes(t, 32)
					a, err := dev.Assertion(rp.ID, cdh, allow, "", &libfido2.AssertionOpts{UP: libfido2.True})
					if err != nil {
						t.Fatalf("Assertion(%s, allow list of %d): %v", rp.ID, len(allow), err)
					}
					authData := unwrapCBORBytes(a.AuthDataCBOR)
					verifySignature(t, typ, pub, append(slices.Clip(authData), cdh...), a.Sig)
					// The verifier must be able to fail.
					if signatureValid(typ, pub, append(slices.Clip(authData), randomBytes(t, 32)...), a.Sig) {
						t.Fatal("the signature also verifies over another client data hash")
					}
					ad, err := ctap2.ParseAuthData(authData)
					if err != nil {
						t.Fatalf("assertion authenticator data: %v", err)
					}
					if ad.RPIDHash != sha256.Sum256([]byte(rp.ID)) {
						t.Errorf("assertion rpIdHash is not SHA-256(%q)", rp.ID)
					}
					if ad.Flags&ctap2.FlagUP == 0 {
						t.Errorf("assertion flags %#x: UP not set", ad.Flags)
					}
					if !bytes.Equal(a.CredentialID, att.CredentialID) {
						t.Errorf("assertion credential %x, want %x", a.CredentialID, att.CredentialID)
					}
					if rk == libfido2.True && !bytes.Equal(a.User.ID, user.ID) {
						t.Errorf("discoverable assertion user ID %x, want %x", a.User.ID, user.ID)
					}
					counters = append(counters, ad.SignCount)
				}
				if counters[1] <= counters[0] {
					t.Errorf("signature counters %v, want them to increase", counters)
				}
			})
		}
	}
}

// checkAttestation checks a packed attestation: the statement's signature
// by the certificate's key over authData || clientDataHash, the AAGUID in
// the authenticator data and in the certificate's id-fido-gen-ce-aaguid
// extension, and the flags.
func checkAttestation(t *testing.T, att *libfido2.Attestation, cdh []byte, aaguid authenticator.AAGUID) {
	t.Helper()
	if att.Format != "packed" {
		t.Errorf("attestation format %q, want packed", att.Format)
	}
	authData := unwrapCBORBytes(att.AuthData)
	ad, err := ctap2.ParseAuthData(authData)
	if err != nil {
		t.Fatalf("attestation authenticator data: %v", err)
	}
	if ad.Attested == nil || !bytes.Equal(ad.Attested.AAGUID[:], aaguid[:]) {
		t.Errorf("attested credential data %+v, want AAGUID %x", ad.Attested, aaguid[:])
	}
	if ad.Flags&ctap2.FlagUP == 0 {
		t.Errorf("attestation flags %#x: UP not set", ad.Flags)
	}
	if len(att.Cert) == 0 {
		t.Fatal("no attestation certificate; the default profile asks for full packed attestation")
	}
	cert, err := x509.ParseCertificate(att.Cert)
	if err != nil {
		t.Fatalf("attestation certificate: %v", err)
	}
	signed := append(slices.Clip(authData), cdh...)
	if err := checkCertSignature(cert, signed, att.Sig); err != nil {
		t.Errorf("attestation signature: %v", err)
	}
	aaguidOID := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}
	found := false
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(aaguidOID) {
			continue
		}
		found = true
		var v []byte
		if _, err := asn1.Unmarshal(ext.Value, &v); err != nil || !bytes.Equal(v, aaguid[:]) {
			t.Errorf("certificate AAGUID extension %x (%v), want %x", ext.Value, err, aaguid[:])
		}
	}
	if !found {
		t.Error("attestation certificate has no id-fido-gen-ce-aaguid extension")
	}
}

// checkCertSignature verifies sig over signed with the certificate's key.
func checkCertSignature(cert *x509.Certificate, signed, sig []byte) error {
	h := sha256.Sum256(signed)
	switch k := cert.PublicKey.(type) {
	case *ecdsa.PublicKey:
		if !ecdsa.VerifyASN1(k, h[:], sig) {
			return fmt.Errorf("ECDSA signature does not verify")
		}
		return nil
	case *rsa.PublicKey:
		return rsa.VerifyPKCS1v15(k, crypto.SHA256, h[:], sig)
	case ed25519.PublicKey:
		if !ed25519.Verify(k, signed, sig) {
			return fmt.Errorf("Ed25519 signature does not verify")
		}
		return nil
	}
	return fmt.Errorf("certificate key of type %T", cert.PublicKey)
}

// libfido2PublicKey decodes the public key as libfido2 gives it
// (fido_cred_pubkey_ptr): x||y for ES256, the 32-byte key for EdDSA, n||e
// for RS256.
func libfido2PublicKey(t *testing.T, typ libfido2.CredentialType, b []byte) crypto.PublicKey {
	t.Helper()
	switch typ {
	case libfido2.ES256:
		k, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append([]byte{4}, b...))
		if err != nil {
			t.Fatalf("ES256 public key %x: %v", b, err)
		}
		return k
	case libfido2.EDDSA:
		if len(b) != ed25519.PublicKeySize {
			t.Fatalf("EdDSA public key of %d bytes", len(b))
		}
		return ed25519.PublicKey(b)
	case libfido2.RS256:
		if len(b) != 256+3 {
			t.Fatalf("RS256 public key of %d bytes, want 259", len(b))
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(b[:256]), E: int(new(big.Int).SetBytes(b[256:]).Int64())}
	}
	t.Fatalf("unknown type %v", typ)
	return nil
}

func signatureValid(typ libfido2.CredentialType, pub crypto.PublicKey, msg, sig []byte) bool {
	h := sha256.Sum256(msg)
	switch typ {
	case libfido2.ES256:
		return ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), h[:], sig)
	case libfido2.EDDSA:
		return ed25519.Verify(pub.(ed25519.PublicKey), msg, sig)
	case libfido2.RS256:
		return rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, h[:], sig) == nil
	}
	return false
}

func verifySignature(t *testing.T, typ libfido2.CredentialType, pub crypto.PublicKey, msg, sig []byte) {
	t.Helper()
	if !signatureValid(typ, pub, msg, sig) {
		t.Fatalf("%s assertion signature %x does not verify with the credential's public key", typ, sig)
	}
}

package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// FormatFIDOU2F is the "fido-u2f" attestation statement format identifier
// (WebAuthn L3 §8.6).
const FormatFIDOU2F = "fido-u2f"

// u2fStmt is u2fStmtFormat (WebAuthn L3 §8.6). Canonical encoding orders
// the keys sig, x5c.
type u2fStmt struct {
	Sig []byte   `cbor:"sig"`
	X5C [][]byte `cbor:"x5c"`
}

// FIDOU2F returns a "fido-u2f" attestation statement {sig, x5c}
// (WebAuthn L3 §8.6): x5c is the single attestation certificate attCert, and
// sig is ECDSA-SHA256 with attKey, DER-encoded, over
//
//	0x00 ‖ rpIdHash ‖ clientDataHash ‖ credentialId ‖ 0x04 ‖ x ‖ y
//
// — the U2F registration signature of FIDO U2F Raw Message Formats §4.3 —
// where rpIdHash, credentialId and the credential key's coordinates x and y
// are read from authData's attested credential data.
//
// The format carries only ES256 credential keys, a P-256 attestation key and
// exactly one P-256 certificate, and the credential ID doubles as the U2F
// key handle, so it must be at most 255 bytes. U2F authenticators have no
// AAGUID, so authData should carry sixteen zero bytes
// (tpm-and-attestation §3.4); FIDOU2F does not insist, which lets tests
// build the odd statement. Nor does it check that attCert certifies attKey.
func FIDOU2F(authData, clientDataHash []byte, attKey crypto.Signer, attCert []byte) (Statement, error) {
	if err := checkSignedData(authData, clientDataHash); err != nil {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: %w", err)
	}
	if attKey == nil {
		return Statement{}, errors.New("making fido-u2f attestation: no attestation key")
	}
	cert, err := x509.ParseCertificate(attCert)
	if err != nil {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: attestation certificate: %w", err)
	}
	if pub, ok := cert.PublicKey.(*ecdsa.PublicKey); !ok {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: attestation certificate holds a %v key, want P-256 ECDSA", cert.PublicKeyAlgorithm)
	} else if pub.Curve != elliptic.P256() {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: attestation certificate holds a %s key, want P-256 ECDSA", pub.Curve.Params().Name)
	}
	ad, err := ctap2.ParseAuthData(authData)
	if err != nil {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: %w", err)
	}
	if ad.Attested == nil {
		return Statement{}, errors.New("making fido-u2f attestation: authenticator data has no attested credential data")
	}
	alg, pub, err := ctap2.ParseCOSEKey(ad.Attested.PublicKey)
	if err != nil {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: credential public key: %w", err)
	}
	ecPub, ok := pub.(*ecdsa.PublicKey)
	if alg != ctap2.AlgES256 || !ok {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: credential key is %v, want ES256", alg)
	}
	point, err := ecPub.Bytes() // 0x04 ‖ x ‖ y
	if err != nil {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: credential public key: %w", err)
	}
	sig, err := U2FRegisterSignature(attKey, ad.RPIDHash[:], clientDataHash, ad.Attested.CredentialID, point)
	if err != nil {
		return Statement{}, fmt.Errorf("making fido-u2f attestation: %w", err)
	}
	stmt, err := ctap2.Marshal(u2fStmt{Sig: sig, X5C: [][]byte{attCert}})
	if err != nil {
		return Statement{}, fmt.Errorf("encoding fido-u2f attestation: %w", err)
	}
	return Statement{Format: FormatFIDOU2F, Stmt: stmt}, nil
}

package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Sign signs message with key as the COSE algorithm alg prescribes, in the
// encoding WebAuthn signatures use (WebAuthn L3 §6.5.6 "Signature Formats"):
//
//   - ES256: ECDSA over SHA-256(message) on P-256, as an ASN.1 DER
//     Ecdsa-Sig-Value;
//   - EdDSA: Ed25519 over the message itself (RFC 8032), 64 bytes;
//   - RS256: RSASSA-PKCS1-v1_5 with SHA-256 (RFC 8017 §8.2).
//
// The key's public half must fit alg. Sign passes a nil random source to the
// signer, which makes crypto/ecdsa keys sign deterministically (RFC 6979);
// a signer that needs randomness must bring its own. An ECDSA signature that
// is not strict DER is refused rather than passed on, since strict relying
// parties reject it.
func Sign(key crypto.Signer, alg ctap2.Alg, message []byte) ([]byte, error) {
	if key == nil {
		return nil, errors.New("signing: no key")
	}
	switch alg {
	case ctap2.AlgES256:
		pub, ok := key.Public().(*ecdsa.PublicKey)
		if !ok || pub.Curve != elliptic.P256() {
			return nil, fmt.Errorf("signing with %v: key is not a P-256 ECDSA key", alg)
		}
		digest := sha256.Sum256(message)
		sig, err := key.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("signing with %v: %w", alg, err)
		}
		if !isDERECDSASignature(sig) {
			return nil, fmt.Errorf("signing with %v: signer returned a signature that is not an ASN.1 DER Ecdsa-Sig-Value", alg)
		}
		return sig, nil
	case ctap2.AlgEdDSA:
		if _, ok := key.Public().(ed25519.PublicKey); !ok {
			return nil, fmt.Errorf("signing with %v: key is not an Ed25519 key", alg)
		}
		sig, err := key.Sign(nil, message, crypto.Hash(0))
		if err != nil {
			return nil, fmt.Errorf("signing with %v: %w", alg, err)
		}
		if len(sig) != ed25519.SignatureSize {
			return nil, fmt.Errorf("signing with %v: signer returned %d bytes, want %d", alg, len(sig), ed25519.SignatureSize)
		}
		return sig, nil
	case ctap2.AlgRS256:
		if _, ok := key.Public().(*rsa.PublicKey); !ok {
			return nil, fmt.Errorf("signing with %v: key is not an RSA key", alg)
		}
		digest := sha256.Sum256(message)
		sig, err := key.Sign(nil, digest[:], crypto.SHA256)
		if err != nil {
			return nil, fmt.Errorf("signing with %v: %w", alg, err)
		}
		return sig, nil
	}
	return nil, fmt.Errorf("signing: unsupported algorithm %v", alg)
}

// algForKey returns the COSE algorithm a key signs attestations with.
func algForKey(pub crypto.PublicKey) (ctap2.Alg, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if k.Curve == elliptic.P256() {
			return ctap2.AlgES256, nil
		}
		return 0, fmt.Errorf("unsupported ECDSA curve %s", k.Curve.Params().Name)
	case ed25519.PublicKey:
		return ctap2.AlgEdDSA, nil
	case *rsa.PublicKey:
		return ctap2.AlgRS256, nil
	}
	return 0, fmt.Errorf("unsupported key type %T", pub)
}

// isDERECDSASignature reports whether sig is exactly one DER
// SEQUENCE { r INTEGER, s INTEGER } with positive, minimally encoded
// integers (RFC 3279 §2.2.3, X.690 §8.3.2).
func isDERECDSASignature(sig []byte) bool {
	s := cryptobyte.String(sig)
	var seq cryptobyte.String
	if !s.ReadASN1(&seq, cbasn1.SEQUENCE) || !s.Empty() {
		return false
	}
	for range 2 {
		var n cryptobyte.String
		if !seq.ReadASN1(&n, cbasn1.INTEGER) || !isMinimalPositiveInteger(n) {
			return false
		}
	}
	return seq.Empty()
}

// isMinimalPositiveInteger checks the content octets of a DER INTEGER.
func isMinimalPositiveInteger(n []byte) bool {
	switch {
	case len(n) == 0:
		return false
	case n[0]&0x80 != 0: // negative
		return false
	case n[0] == 0 && len(n) == 1: // zero
		return false
	case n[0] == 0 && n[1]&0x80 == 0: // needless leading zero
		return false
	}
	return true
}

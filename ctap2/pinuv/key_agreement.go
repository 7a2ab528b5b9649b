package pinuv

import (
	"crypto/ecdh"
	"fmt"
	"io"

	"github.com/softkeydev/softkey/ctap2"
)

// algECDHESHKDF256 is the COSE algorithm a key agreement key carries
// (CTAP 2.1 §6.5.6: "ECDH-ES+HKDF-256", -25), whichever protocol uses it.
const algECDHESHKDF256 = -25

// coseKey is the key agreement public key as a COSE_Key: EC2, P-256.
type coseKey struct {
	Kty int64  `cbor:"1,keyasint"`
	Alg int64  `cbor:"3,keyasint"`
	Crv int64  `cbor:"-1,keyasint"`
	X   []byte `cbor:"-2,keyasint"`
	Y   []byte `cbor:"-3,keyasint"`
}

// KeyAgreement is the authenticator's ECDH key (CTAP 2.1 §6.5.6
// initialize/regenerate), made anew at power-up and after a wrong PIN.
type KeyAgreement struct {
	priv *ecdh.PrivateKey
}

// NewKeyAgreement makes a key agreement key from rand. Drawing the scalar
// here, rather than in crypto/ecdh, keeps seeded runs reproducible.
func NewKeyAgreement(rand io.Reader) (*KeyAgreement, error) {
	priv, err := newP256Key(rand)
	if err != nil {
		return nil, err
	}
	return &KeyAgreement{priv: priv}, nil
}

func newP256Key(rand io.Reader) (*ecdh.PrivateKey, error) {
	scalar := make([]byte, 32)
	for range 100 {
		if _, err := io.ReadFull(rand, scalar); err != nil {
			return nil, fmt.Errorf("pinuv: drawing key agreement key: %w", err)
		}
		// NewPrivateKey refuses zero and scalars not below the order;
		// another draw almost never follows.
		if priv, err := ecdh.P256().NewPrivateKey(scalar); err == nil {
			return priv, nil
		}
	}
	return nil, fmt.Errorf("pinuv: the randomness source gives no valid P-256 scalar")
}

// PublicKey returns the COSE_Key that getKeyAgreement answers with.
func (k *KeyAgreement) PublicKey() ctap2.RawMessage {
	return marshalPublic(k.priv.PublicKey())
}

// SharedSecret derives the protocol's shared secret with the platform's
// key agreement key, a COSE_Key (CTAP 2.1 §6.5.6 decapsulate). A key that
// is not a P-256 point is CTAP1_ERR_INVALID_PARAMETER.
func (k *KeyAgreement) SharedSecret(p Protocol, peer ctap2.RawMessage) ([]byte, error) {
	pub, err := parsePublic(peer)
	if err != nil {
		return nil, err
	}
	z, err := k.priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("pinuv: key agreement: %w", ctap2.ErrInvalidParameter)
	}
	return p.kdf(z), nil
}

// Encapsulate is the platform's half (CTAP 2.1 §6.5.6 encapsulate): it
// makes an ephemeral key from rand and returns its COSE_Key, to send as
// keyAgreement, and the shared secret with the authenticator's key.
func Encapsulate(p Protocol, rand io.Reader, authenticatorKey ctap2.RawMessage) (platformKey ctap2.RawMessage, sharedSecret []byte, err error) {
	peer, err := parsePublic(authenticatorKey)
	if err != nil {
		return nil, nil, err
	}
	priv, err := newP256Key(rand)
	if err != nil {
		return nil, nil, err
	}
	z, err := priv.ECDH(peer)
	if err != nil {
		return nil, nil, fmt.Errorf("pinuv: key agreement: %w", err)
	}
	return marshalPublic(priv.PublicKey()), p.kdf(z), nil
}

func marshalPublic(pub *ecdh.PublicKey) ctap2.RawMessage {
	b := pub.Bytes() // 0x04 | x | y
	enc, err := ctap2.Marshal(coseKey{Kty: 2, Alg: algECDHESHKDF256, Crv: 1, X: b[1:33], Y: b[33:65]})
	if err != nil {
		panic("internal error: encoding a COSE key: " + err.Error())
	}
	return enc
}

func parsePublic(raw ctap2.RawMessage) (*ecdh.PublicKey, error) {
	var k coseKey
	if err := ctap2.Unmarshal(raw, &k); err != nil {
		return nil, fmt.Errorf("pinuv: key agreement key: %w", err)
	}
	// The alg label is not checked: clients disagree on it (-25 or
	// absent), and the curve says all that matters.
	if k.Kty != 2 || k.Crv != 1 || len(k.X) != 32 || len(k.Y) != 32 {
		return nil, fmt.Errorf("pinuv: key agreement key is not an EC2 P-256 key: %w", ctap2.ErrInvalidParameter)
	}
	pub, err := ecdh.P256().NewPublicKey(append(append([]byte{4}, k.X...), k.Y...))
	if err != nil {
		return nil, fmt.Errorf("pinuv: key agreement key is not on P-256: %w", ctap2.ErrInvalidParameter)
	}
	return pub, nil
}

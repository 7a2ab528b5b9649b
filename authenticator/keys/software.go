// Package keys holds the software key backend: credential private keys made
// in process memory, whose sealed form is the private key itself (the engine
// encrypts it into the credential ID).
package keys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"errors"
	"fmt"
	"io"
	"math/big"

	"github.com/softkeydev/softkey/ctap2"
)

// rsaBits is the RS256 modulus size; 2048 is what WebAuthn relying parties
// and real authenticators use.
const rsaBits = 2048

// Software makes credential keys in memory.
type Software struct {
	rand io.Reader
}

// NewSoftware returns a software backend drawing randomness from r
// (crypto/rand when nil). P-256 and Ed25519 keys are derived from r alone,
// so a seeded r reproduces them; RSA key generation in Go 1.26 always uses
// the system's randomness.
func NewSoftware(r io.Reader) *Software {
	if r == nil {
		r = rand.Reader
	}
	return &Software{rand: r}
}

// GenerateKey makes a key for alg. The sealed form is the P-256 scalar, the
// Ed25519 seed, or the two RSA primes.
func (s *Software) GenerateKey(alg ctap2.Alg) ([]byte, crypto.Signer, error) {
	switch alg {
	case ctap2.AlgES256:
		// Rejection sampling: a 32-byte string is a valid scalar unless it
		// is zero or not below the group order (probability < 2^-32).
		for range 64 {
			scalar := make([]byte, 32)
			if _, err := io.ReadFull(s.rand, scalar); err != nil {
				return nil, nil, fmt.Errorf("generating P-256 key: %w", err)
			}
			if key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar); err == nil {
				return scalar, key, nil
			}
		}
		return nil, nil, errors.New("generating P-256 key: randomness source keeps giving invalid scalars")
	case ctap2.AlgEdDSA:
		seed := make([]byte, ed25519.SeedSize)
		if _, err := io.ReadFull(s.rand, seed); err != nil {
			return nil, nil, fmt.Errorf("generating Ed25519 key: %w", err)
		}
		return seed, ed25519.NewKeyFromSeed(seed), nil
	case ctap2.AlgRS256:
		key, err := rsa.GenerateKey(s.rand, rsaBits)
		if err != nil {
			return nil, nil, fmt.Errorf("generating RSA key: %w", err)
		}
		half := rsaBits / 16
		sealed := make([]byte, 2*half)
		key.Primes[0].FillBytes(sealed[:half])
		key.Primes[1].FillBytes(sealed[half:])
		return sealed, key, nil
	}
	return nil, nil, fmt.Errorf("generating key: %v: %w", alg, ctap2.ErrUnsupportedAlgorithm)
}

// LoadKey rebuilds the key that GenerateKey sealed.
func (s *Software) LoadKey(alg ctap2.Alg, sealed []byte) (crypto.Signer, error) {
	switch alg {
	case ctap2.AlgES256:
		key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), sealed)
		if err != nil {
			return nil, fmt.Errorf("loading P-256 key: %w", err)
		}
		return key, nil
	case ctap2.AlgEdDSA:
		if len(sealed) != ed25519.SeedSize {
			return nil, fmt.Errorf("loading Ed25519 key: seed of %d bytes", len(sealed))
		}
		return ed25519.NewKeyFromSeed(sealed), nil
	case ctap2.AlgRS256:
		return rsaFromPrimes(sealed)
	}
	return nil, fmt.Errorf("loading key: %v: %w", alg, ctap2.ErrUnsupportedAlgorithm)
}

// rsaFromPrimes rebuilds an RSA key with e = 65537 from p ‖ q.
func rsaFromPrimes(sealed []byte) (*rsa.PrivateKey, error) {
	if len(sealed) != rsaBits/8 {
		return nil, fmt.Errorf("loading RSA key: %d bytes of primes", len(sealed))
	}
	half := len(sealed) / 2
	p := new(big.Int).SetBytes(sealed[:half])
	q := new(big.Int).SetBytes(sealed[half:])
	one := big.NewInt(1)
	e := big.NewInt(65537)
	phi := new(big.Int).Mul(new(big.Int).Sub(p, one), new(big.Int).Sub(q, one))
	d := new(big.Int).ModInverse(e, phi)
	if d == nil {
		return nil, errors.New("loading RSA key: primes do not admit e = 65537")
	}
	key := &rsa.PrivateKey{
		PublicKey: rsa.PublicKey{N: new(big.Int).Mul(p, q), E: 65537},
		D:         d,
		Primes:    []*big.Int{p, q},
	}
	if err := key.Validate(); err != nil {
		return nil, fmt.Errorf("loading RSA key: %w", err)
	}
	key.Precompute()
	return key, nil
}

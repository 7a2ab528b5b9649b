package ctap2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"strconv"
	"strings"
)

// Alg is a COSE algorithm identifier (IANA "COSE Algorithms" registry).
type Alg int64

const (
	AlgES256 Alg = -7
	AlgEdDSA Alg = -8
	AlgRS256 Alg = -257
)

func (a Alg) String() string {
	switch a {
	case AlgES256:
		return "ES256"
	case AlgEdDSA:
		return "EdDSA"
	case AlgRS256:
		return "RS256"
	}
	return strconv.FormatInt(int64(a), 10)
}

// ParseAlg reads an algorithm name (ES256, EdDSA, RS256, any case) or a
// COSE algorithm number.
func ParseAlg(name string) (Alg, error) {
	for _, known := range []Alg{AlgES256, AlgEdDSA, AlgRS256} {
		if strings.EqualFold(name, known.String()) {
			return known, nil
		}
	}
	n, err := strconv.ParseInt(name, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("unknown algorithm %q (want ES256, EdDSA, RS256 or a COSE number)", name)
	}
	return Alg(n), nil
}

// COSE key types and curves, RFC 9053 §7.
const (
	coseKtyOKP = 1
	coseKtyEC2 = 2
	coseKtyRSA = 3

	coseCrvP256    = 1
	coseCrvEd25519 = 6
)

// COSEKey is a public key as a COSE_Key map (RFC 9052 §7, RFC 9053 §7),
// restricted to the key types CTAP authenticators emit. Fields are keyed by
// their COSE labels so that canonical encoding orders them 1, 3, -1, -2, -3.
type COSEKey struct {
	Kty int64  `cbor:"1,keyasint"`
	Alg Alg    `cbor:"3,keyasint"`
	Crv int64  `cbor:"-1,keyasint,omitempty"` // EC2 and OKP: curve; RSA: n is carried in N
	X   []byte `cbor:"-2,keyasint,omitempty"`
	Y   []byte `cbor:"-3,keyasint,omitempty"`
}

// rsaCOSEKey is the RSA layout, where labels -1 and -2 are n and e (RFC 8230 §4).
type rsaCOSEKey struct {
	Kty int64  `cbor:"1,keyasint"`
	Alg Alg    `cbor:"3,keyasint"`
	N   []byte `cbor:"-1,keyasint"`
	E   []byte `cbor:"-2,keyasint"`
}

// MarshalCOSEKey encodes pub as a canonical COSE_Key for alg.
func MarshalCOSEKey(alg Alg, pub crypto.PublicKey) ([]byte, error) {
	switch k := pub.(type) {
	case *ecdsa.PublicKey:
		if alg != AlgES256 || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("ctap2: ECDSA key does not fit %v", alg)
		}
		raw, err := k.Bytes() // 0x04 | x | y
		if err != nil {
			return nil, fmt.Errorf("ctap2: encoding P-256 key: %w", err)
		}
		return Marshal(COSEKey{Kty: coseKtyEC2, Alg: alg, Crv: coseCrvP256, X: raw[1:33], Y: raw[33:65]})
	case ed25519.PublicKey:
		if alg != AlgEdDSA {
			return nil, fmt.Errorf("ctap2: Ed25519 key does not fit %v", alg)
		}
		return Marshal(COSEKey{Kty: coseKtyOKP, Alg: alg, Crv: coseCrvEd25519, X: []byte(k)})
	case *rsa.PublicKey:
		if alg != AlgRS256 {
			return nil, fmt.Errorf("ctap2: RSA key does not fit %v", alg)
		}
		return Marshal(rsaCOSEKey{Kty: coseKtyRSA, Alg: alg, N: k.N.Bytes(), E: big.NewInt(int64(k.E)).Bytes()})
	}
	return nil, fmt.Errorf("ctap2: unsupported public key type %T", pub)
}

// ParseCOSEKey decodes a COSE_Key into a Go public key and its algorithm.
func ParseCOSEKey(data []byte) (Alg, crypto.PublicKey, error) {
	var head struct {
		Kty int64 `cbor:"1,keyasint"`
		Alg Alg   `cbor:"3,keyasint"`
	}
	if err := Unmarshal(data, &head); err != nil {
		return 0, nil, fmt.Errorf("parsing COSE key: %w", err)
	}
	want := map[int64]Alg{coseKtyEC2: AlgES256, coseKtyOKP: AlgEdDSA, coseKtyRSA: AlgRS256}
	if alg, ok := want[head.Kty]; ok && alg != head.Alg {
		return 0, nil, fmt.Errorf("parsing COSE key: alg %v does not fit key type %d", head.Alg, head.Kty)
	}
	switch head.Kty {
	case coseKtyEC2:
		var k COSEKey
		if err := Unmarshal(data, &k); err != nil {
			return 0, nil, fmt.Errorf("parsing EC2 key: %w", err)
		}
		if k.Crv != coseCrvP256 || len(k.X) != 32 || len(k.Y) != 32 {
			return 0, nil, errors.New("parsing EC2 key: only P-256 with 32-byte coordinates is supported")
		}
		pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), append(append([]byte{4}, k.X...), k.Y...))
		if err != nil {
			return 0, nil, fmt.Errorf("parsing EC2 key: %w", err)
		}
		return head.Alg, pub, nil
	case coseKtyOKP:
		var k COSEKey
		if err := Unmarshal(data, &k); err != nil {
			return 0, nil, fmt.Errorf("parsing OKP key: %w", err)
		}
		if k.Crv != coseCrvEd25519 || len(k.X) != ed25519.PublicKeySize {
			return 0, nil, errors.New("parsing OKP key: only Ed25519 is supported")
		}
		return head.Alg, ed25519.PublicKey(k.X), nil
	case coseKtyRSA:
		var k rsaCOSEKey
		if err := Unmarshal(data, &k); err != nil {
			return 0, nil, fmt.Errorf("parsing RSA key: %w", err)
		}
		e := new(big.Int).SetBytes(k.E)
		if len(k.N) == 0 || !e.IsInt64() || e.Int64() < 3 || e.Int64() > 1<<31-1 {
			return 0, nil, errors.New("parsing RSA key: bad modulus or exponent")
		}
		return head.Alg, &rsa.PublicKey{N: new(big.Int).SetBytes(k.N), E: int(e.Int64())}, nil
	}
	return 0, nil, fmt.Errorf("parsing COSE key: unsupported key type %d", head.Kty)
}

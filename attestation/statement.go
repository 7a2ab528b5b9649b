package attestation

import (
	"crypto"
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// Format identifiers, WebAuthn L3 §8 and the IANA "WebAuthn Attestation
// Statement Format Identifiers" registry.
const (
	FormatNone   = "none"
	FormatPacked = "packed"
)

// Statement is an attestation statement ready for an attestation object or
// an authenticatorMakeCredential response (WebAuthn L3 §6.5.4, CTAP 2.1
// §6.1.2: fmt is member 1, attStmt member 3).
type Statement struct {
	// Format is the attestation statement format identifier, "fmt".
	Format string
	// Stmt is the attStmt map, encoded as CTAP2 canonical CBOR.
	Stmt []byte
}

// packedStmt is packedStmtFormat (WebAuthn L3 §8.2). Canonical encoding
// orders the keys alg, sig, x5c.
type packedStmt struct {
	Alg ctap2.Alg `cbor:"alg"`
	Sig []byte    `cbor:"sig"`
	X5C [][]byte  `cbor:"x5c,omitempty"`
}

// clientDataHashSize is the length of clientDataHash, a SHA-256 digest
// (WebAuthn L3 §5.8.1).
const clientDataHashSize = 32

// minAuthDataSize is rpIdHash, flags and signCount (WebAuthn L3 §6.1).
const minAuthDataSize = 37

// None returns the "none" attestation statement: fmt "none" and an empty
// attStmt map (WebAuthn L3 §8.7).
func None() Statement {
	return Statement{Format: FormatNone, Stmt: []byte{0xa0}}
}

// Self returns a "packed" self attestation statement {alg, sig}, where sig
// is made with the credential key over authData ‖ clientDataHash and alg is
// the credential key's algorithm (WebAuthn L3 §8.2, "If self attestation is
// in use"). The caller is responsible for credKey being the key whose public
// half authData carries; alg must fit credKey.
func Self(authData, clientDataHash []byte, credKey crypto.Signer, alg ctap2.Alg) (Statement, error) {
	if err := checkSignedData(authData, clientDataHash); err != nil {
		return Statement{}, fmt.Errorf("making packed self attestation: %w", err)
	}
	sig, err := Sign(credKey, alg, concat(authData, clientDataHash))
	if err != nil {
		return Statement{}, fmt.Errorf("making packed self attestation: %w", err)
	}
	stmt, err := ctap2.Marshal(packedStmt{Alg: alg, Sig: sig})
	if err != nil {
		return Statement{}, fmt.Errorf("encoding packed self attestation: %w", err)
	}
	return Statement{Format: FormatPacked, Stmt: stmt}, nil
}

// Packed returns a "packed" full (basic) attestation statement
// {alg, sig, x5c}: sig is made with the attestation key over
// authData ‖ clientDataHash, alg follows from the attestation key's type
// (ES256 for P-256, EdDSA for Ed25519, RS256 for RSA), and x5c is chain, the
// attestation certificate first (WebAuthn L3 §8.2).
//
// Packed does not check that chain[0] certifies attKey; [ParseBatch] does
// that when a batch is loaded, and leaving it out here lets tests build
// deliberately broken statements.
func Packed(authData, clientDataHash []byte, attKey crypto.Signer, chain [][]byte) (Statement, error) {
	if err := checkSignedData(authData, clientDataHash); err != nil {
		return Statement{}, fmt.Errorf("making packed attestation: %w", err)
	}
	if attKey == nil {
		return Statement{}, errors.New("making packed attestation: no attestation key")
	}
	if len(chain) == 0 {
		return Statement{}, errors.New("making packed attestation: empty certificate chain")
	}
	for i, cert := range chain {
		if len(cert) == 0 {
			return Statement{}, fmt.Errorf("making packed attestation: certificate %d of the chain is empty", i)
		}
	}
	alg, err := algForKey(attKey.Public())
	if err != nil {
		return Statement{}, fmt.Errorf("making packed attestation: attestation key: %w", err)
	}
	sig, err := Sign(attKey, alg, concat(authData, clientDataHash))
	if err != nil {
		return Statement{}, fmt.Errorf("making packed attestation: %w", err)
	}
	stmt, err := ctap2.Marshal(packedStmt{Alg: alg, Sig: sig, X5C: chain})
	if err != nil {
		return Statement{}, fmt.Errorf("encoding packed attestation: %w", err)
	}
	return Statement{Format: FormatPacked, Stmt: stmt}, nil
}

// checkSignedData checks the shape of the two halves of the attestation
// signature's input (WebAuthn L3 §6.5.4, figure "Generating an attestation
// object").
func checkSignedData(authData, clientDataHash []byte) error {
	if len(authData) < minAuthDataSize {
		return fmt.Errorf("authenticator data of %d bytes is shorter than %d", len(authData), minAuthDataSize)
	}
	if len(clientDataHash) != clientDataHashSize {
		return fmt.Errorf("client data hash is %d bytes, want %d", len(clientDataHash), clientDataHashSize)
	}
	return nil
}

// concat returns a fresh slice holding a followed by b.
func concat(a, b []byte) []byte {
	out := make([]byte, 0, len(a)+len(b))
	return append(append(out, a...), b...)
}

package ctap2

import (
	"crypto/sha256"
	"errors"
	"fmt"

	"github.com/fxamacker/cbor/v2"
	"golang.org/x/crypto/cryptobyte"
)

// Flags is the flags byte of authenticator data (WebAuthn L3 §6.1).
type Flags uint8

const (
	FlagUP Flags = 0x01 // user present
	FlagUV Flags = 0x04 // user verified
	FlagBE Flags = 0x08 // backup eligible
	FlagBS Flags = 0x10 // backup state
	FlagAT Flags = 0x40 // attested credential data included
	FlagED Flags = 0x80 // extension data included
)

// AttestedCredential is the attested credential data of authenticator data
// (WebAuthn L3 §6.5.2).
type AttestedCredential struct {
	AAGUID       [16]byte
	CredentialID []byte
	PublicKey    []byte // a COSE_Key, encoded
}

// AuthData is authenticator data (WebAuthn L3 §6.1). The AT and ED flags are
// derived from the presence of Attested and Extensions when marshalling.
type AuthData struct {
	RPIDHash   [32]byte
	Flags      Flags
	SignCount  uint32
	Attested   *AttestedCredential
	Extensions []byte // an encoded CBOR map, or nil
}

// maxCredentialIDLength is the largest credential ID authenticator data can
// carry (WebAuthn L3 §6.5.2: credentialIdLength ≤ 1023).
const maxCredentialIDLength = 1023

// RPIDHash returns SHA-256 of an RP ID, as used in authenticator data.
func RPIDHash(rpID string) [32]byte {
	return sha256.Sum256([]byte(rpID))
}

// Marshal encodes the authenticator data.
func (a *AuthData) Marshal() ([]byte, error) {
	flags := a.Flags &^ (FlagAT | FlagED)
	var b cryptobyte.Builder
	b.AddBytes(a.RPIDHash[:])
	if a.Attested != nil {
		flags |= FlagAT
	}
	if a.Extensions != nil {
		flags |= FlagED
	}
	b.AddUint8(uint8(flags))
	b.AddUint32(a.SignCount)
	if at := a.Attested; at != nil {
		if len(at.CredentialID) > maxCredentialIDLength {
			return nil, fmt.Errorf("ctap2: credential ID of %d bytes is longer than %d", len(at.CredentialID), maxCredentialIDLength)
		}
		b.AddBytes(at.AAGUID[:])
		b.AddUint16LengthPrefixed(func(b *cryptobyte.Builder) { b.AddBytes(at.CredentialID) })
		b.AddBytes(at.PublicKey)
	}
	b.AddBytes(a.Extensions)
	return b.Bytes()
}

// ParseAuthData decodes authenticator data, refusing trailing bytes and
// flags that disagree with the content.
func ParseAuthData(data []byte) (*AuthData, error) {
	s := cryptobyte.String(data)
	var a AuthData
	var flags uint8
	var rpIDHash []byte
	if !s.ReadBytes(&rpIDHash, 32) || !s.ReadUint8(&flags) || !s.ReadUint32(&a.SignCount) {
		return nil, errors.New("parsing authenticator data: shorter than 37 bytes")
	}
	copy(a.RPIDHash[:], rpIDHash)
	a.Flags = Flags(flags)
	if a.Flags&FlagAT != 0 {
		var at AttestedCredential
		var aaguid []byte
		var credID cryptobyte.String
		if !s.ReadBytes(&aaguid, 16) || !s.ReadUint16LengthPrefixed(&credID) {
			return nil, errors.New("parsing authenticator data: truncated attested credential data")
		}
		copy(at.AAGUID[:], aaguid)
		at.CredentialID = []byte(credID)
		n, err := cborItemLength(s)
		if err != nil {
			return nil, fmt.Errorf("parsing credential public key: %w", err)
		}
		at.PublicKey = []byte(s[:n])
		s = s[n:]
		a.Attested = &at
	}
	if a.Flags&FlagED != 0 {
		n, err := cborItemLength(s)
		if err != nil {
			return nil, fmt.Errorf("parsing extensions: %w", err)
		}
		a.Extensions = []byte(s[:n])
		s = s[n:]
	}
	if !s.Empty() {
		return nil, fmt.Errorf("parsing authenticator data: %d trailing bytes", len(s))
	}
	return &a, nil
}

// cborItemLength returns the length of the first CBOR item in data.
func cborItemLength(data []byte) (int, error) {
	var raw cbor.RawMessage
	rest, err := decMode.UnmarshalFirst(data, &raw)
	if err != nil {
		return 0, err
	}
	return len(data) - len(rest), nil
}

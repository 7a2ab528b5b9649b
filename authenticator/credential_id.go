package authenticator

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
	"io"

	"github.com/softkeydev/softkey/ctap2"
)

// A credential ID carries its own private key, sealed with AES-256-GCM under
// the device's credential key and bound to the RP: the additional data is the
// format version and the rpIdHash, so an ID made for one RP does not open for
// any other, and non-discoverable credentials need no storage at all.
//
//	version (1) | nonce (12) | AES-GCM( alg (4, signed BE) | flags (1) | sealed key )
//
// The flags byte, from the least significant bit:
//
//	bit 0     discoverable
//	bits 1-2  credProtect level (CTAP 2.1 §12.1); 0, as in IDs made before
//	          the extension existed, means level 1
//	bit 3     made with hmac-secret (CTAP 2.1 §12.5)
//	bits 4-7  zero; ignored when opening
//
// Extensions add no bytes, so an ES256 ID is 66 bytes with or without them
// and still serves as U2F key handle.
const (
	credentialIDVersion = 0x01
	credentialNonceSize = 12
)

// Flags inside a credential ID.
const (
	credentialDiscoverable = 0x01
	credentialProtectMask  = 0x06
	credentialProtectShift = 1
	credentialHMACSecret   = 0x08
)

// credentialSource is what a credential ID opens to.
type credentialSource struct {
	alg          ctap2.Alg
	discoverable bool
	sealedKey    []byte
	credProtect  uint8 // CTAP 2.1 §12.1 level 1-3; 0 means 1
	hmacSecret   bool  // made with the hmac-secret extension
}

func newCredentialAEAD(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("credential key: %w", err)
	}
	return cipher.NewGCM(block)
}

// sealCredentialID makes the credential ID for src, bound to rpIDHash.
func sealCredentialID(aead cipher.AEAD, rnd io.Reader, rpIDHash [32]byte, src credentialSource) ([]byte, error) {
	plain := make([]byte, 5, 5+len(src.sealedKey))
	binary.BigEndian.PutUint32(plain, uint32(int32(src.alg)))
	plain[4] = src.flags()
	plain = append(plain, src.sealedKey...)

	id := make([]byte, 1+credentialNonceSize, 1+credentialNonceSize+len(plain)+aead.Overhead())
	id[0] = credentialIDVersion
	if _, err := io.ReadFull(rnd, id[1:]); err != nil {
		return nil, fmt.Errorf("sealing credential ID: %w", err)
	}
	return aead.Seal(id, id[1:], plain, credentialAD(rpIDHash)), nil
}

var errForeignCredential = errors.New("credential ID was not made by this authenticator for this RP")

// openCredentialID returns the source sealed in id, or errForeignCredential
// when id was made by another authenticator, for another RP, or not at all.
func openCredentialID(aead cipher.AEAD, rpIDHash [32]byte, id []byte) (*credentialSource, error) {
	if len(id) < 1+credentialNonceSize+aead.Overhead()+5 || id[0] != credentialIDVersion {
		return nil, errForeignCredential
	}
	nonce, sealed := id[1:1+credentialNonceSize], id[1+credentialNonceSize:]
	plain, err := aead.Open(nil, nonce, sealed, credentialAD(rpIDHash))
	if err != nil {
		return nil, errForeignCredential
	}
	flags := plain[4]
	return &credentialSource{
		alg:          ctap2.Alg(int32(binary.BigEndian.Uint32(plain))),
		discoverable: flags&credentialDiscoverable != 0,
		sealedKey:    plain[5:],
		credProtect:  (flags & credentialProtectMask) >> credentialProtectShift,
		hmacSecret:   flags&credentialHMACSecret != 0,
	}, nil
}

// protectionLevel is the credential's credProtect level, 1 to 3 (CTAP 2.1
// §12.1): a credential made without the extension has level 1.
func (src *credentialSource) protectionLevel() uint8 {
	if src.credProtect == 0 {
		return credProtectOptional
	}
	return src.credProtect
}

// flags is the flags byte sealed in the credential ID. A credProtect level
// outside 1-3 is not stored (it cannot come from a parsed request).
func (src *credentialSource) flags() byte {
	var f byte
	if src.discoverable {
		f |= credentialDiscoverable
	}
	if src.credProtect <= credProtectRequired {
		f |= src.credProtect << credentialProtectShift
	}
	if src.hmacSecret {
		f |= credentialHMACSecret
	}
	return f
}

func credentialAD(rpIDHash [32]byte) []byte {
	return append([]byte{credentialIDVersion}, rpIDHash[:]...)
}

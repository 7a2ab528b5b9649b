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
// The same layout serves as U2F key handle: an ES256 ID is 66 bytes.
const (
	credentialIDVersion = 0x01
	credentialNonceSize = 12
)

// Flags inside a credential ID.
const (
	credentialDiscoverable = 0x01
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
	if src.discoverable {
		plain[4] |= credentialDiscoverable
	}
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
	return &credentialSource{
		alg:          ctap2.Alg(int32(binary.BigEndian.Uint32(plain))),
		discoverable: plain[4]&credentialDiscoverable != 0,
		sealedKey:    plain[5:],
	}, nil
}

func credentialAD(rpIDHash [32]byte) []byte {
	return append([]byte{credentialIDVersion}, rpIDHash[:]...)
}

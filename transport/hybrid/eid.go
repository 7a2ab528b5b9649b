package hybrid

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/binary"
	"errors"
	"fmt"
)

// Sizes in the BLE advert (§4; Chromium v2_constants.h).
const (
	// AdvertSize is the size of the BLE service data a phone broadcasts.
	AdvertSize = 20
	// EIDNonceSize is the size of the random nonce in an EID.
	EIDNonceSize = 10
	// RoutingIDSize is the size of a tunnel server routing ID.
	RoutingIDSize = 3
	advertTagSize = AdvertSize - EIDSize
)

// Errors of [DecryptAdvert].
var (
	// ErrAdvertMismatch means the advert's tag does not match the key: the
	// advert belongs to another client or is corrupt. Chromium ignores such
	// adverts silently (§4.3 step 2).
	ErrAdvertMismatch = errors.New("hybrid: advert not for this key")
	// ErrInvalidAdvert is wrapped by errors about adverts that
	// authenticate but cannot be used, and about wrong lengths.
	ErrInvalidAdvert = errors.New("hybrid: invalid advert")
)

// EID is the plaintext of a BLE advert (§4.1; Chromium eid::Components,
// eid::FromComponents; webauthn-rs Eid): one AES block of a reserved zero
// byte, a nonce, the routing ID the tunnel server assigned and the encoded
// tunnel server domain.
type EID struct {
	Nonce     [EIDNonceSize]byte
	RoutingID [RoutingIDSize]byte
	// DomainID is the encoded tunnel server domain (§5.1): 0 for
	// cable.ua5v.com, 1 for cable.auth.com, 256 and up hashed.
	DomainID uint16
}

// Plaintext returns the 16-byte EID plaintext (§4.1):
// 0x00 ‖ nonce(10) ‖ routing ID(3) ‖ LE16(domain ID). The QR flow salts
// the PSK with it ([DerivePSK]).
func (e EID) Plaintext() [EIDSize]byte {
	var p [EIDSize]byte
	copy(p[1:], e.Nonce[:])
	copy(p[1+EIDNonceSize:], e.RoutingID[:])
	binary.LittleEndian.PutUint16(p[1+EIDNonceSize+RoutingIDSize:], e.DomainID)
	return p
}

// ParseEID splits a decrypted EID plaintext and checks it as a client
// does (§4.3 steps 4 and 5): the reserved byte must be zero and the domain
// ID must be 0, 1 or at least 256.
func ParseEID(p [EIDSize]byte) (EID, error) {
	if p[0] != 0 {
		return EID{}, fmt.Errorf("%w: reserved byte is %#02x", ErrInvalidAdvert, p[0])
	}
	var e EID
	copy(e.Nonce[:], p[1:])
	copy(e.RoutingID[:], p[1+EIDNonceSize:])
	e.DomainID = binary.LittleEndian.Uint16(p[1+EIDNonceSize+RoutingIDSize:])
	if _, ok := DecodeDomain(e.DomainID); !ok {
		return EID{}, fmt.Errorf("%w: unassigned tunnel server domain %d", ErrInvalidAdvert, e.DomainID)
	}
	return e, nil
}

// advertTag returns the first four bytes of HMAC-SHA256 over the
// ciphertext block, keyed with the second half of the EID key (§4.2).
func advertTag(eidKey *[EIDKeySize]byte, ct []byte) []byte {
	m := hmac.New(sha256.New, eidKey[32:])
	m.Write(ct)
	return m.Sum(nil)[:advertTagSize]
}

// EncryptAdvert returns the 20 bytes of BLE service data a phone
// broadcasts (§4.2; Chromium eid::Encrypt, webauthn-rs
// Discovery::encrypt_advert): AES-256 of the EID plaintext, one block
// (ECB), keyed with eidKey[0:32], followed by the first four bytes of
// HMAC-SHA256(eidKey[32:64], ciphertext). Use [DeriveEIDKey] for eidKey.
func EncryptAdvert(eidKey *[EIDKeySize]byte, e EID) [AdvertSize]byte {
	return encryptPlaintext(eidKey, e.Plaintext())
}

// encryptPlaintext encrypts any 16-byte plaintext, including the random
// ones of the linked flow (§7.5) and invalid ones for tests.
func encryptPlaintext(eidKey *[EIDKeySize]byte, p [EIDSize]byte) [AdvertSize]byte {
	block, err := aes.NewCipher(eidKey[:32])
	if err != nil {
		panic("internal error: AES-256 key: " + err.Error())
	}
	var out [AdvertSize]byte
	block.Encrypt(out[:EIDSize], p[:])
	copy(out[EIDSize:], advertTag(eidKey, out[:EIDSize]))
	return out
}

// DecryptAdvert is a client's trial decryption of BLE service data (§4.3;
// Chromium eid::Decrypt, webauthn-rs Discovery::decrypt_advert). The
// advert must be exactly 20 bytes. If its tag does not match eidKey the
// error is [ErrAdvertMismatch] (the advert is someone else's and should be
// ignored); if it matches but the plaintext is unusable the error wraps
// [ErrInvalidAdvert]. On success the PSK is
// DerivePSK(secret, e.Plaintext()).
func DecryptAdvert(eidKey *[EIDKeySize]byte, advert []byte) (EID, error) {
	if len(advert) != AdvertSize {
		return EID{}, fmt.Errorf("%w: %d bytes, want %d", ErrInvalidAdvert, len(advert), AdvertSize)
	}
	if subtle.ConstantTimeCompare(advertTag(eidKey, advert[:EIDSize]), advert[EIDSize:]) != 1 {
		return EID{}, ErrAdvertMismatch
	}
	block, err := aes.NewCipher(eidKey[:32])
	if err != nil {
		panic("internal error: AES-256 key: " + err.Error())
	}
	var p [EIDSize]byte
	block.Decrypt(p[:], advert[:EIDSize])
	return ParseEID(p)
}

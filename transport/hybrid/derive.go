package hybrid

import (
	"crypto/sha256"
	"encoding/binary"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"
)

// DerivedValueType is the purpose of a value derived with [Derive]
// (§2.1; Chromium device::cablev2::DerivedValueType in v2_handshake.h,
// webauthn-rs DerivedValueType). It is the HKDF info parameter.
type DerivedValueType uint32

// Purposes of derived values (§2.1).
const (
	// EIDKey is the 64-byte key that encrypts and authenticates the BLE
	// advert: AES-256 key then HMAC-SHA256 key.
	EIDKey DerivedValueType = 1
	// TunnelID is the 16-byte tunnel ID in tunnel server URLs.
	TunnelID DerivedValueType = 2
	// PSK is the 32-byte Noise pre-shared key.
	PSK DerivedValueType = 3
	// PairedSecret is a linked phone's per-pairing secret.
	PairedSecret DerivedValueType = 4
	// IdentityKeySeed seeds a phone's long-term P-256 identity key.
	IdentityKeySeed DerivedValueType = 5
	// PerContactIDSecret is a phone's per-contact-ID secret.
	PerContactIDSecret DerivedValueType = 6
)

// Sizes of secrets and derived values (§2.1; Chromium v2_constants.h).
const (
	// QRSecretSize is the size of the QR secret (QR key 1).
	QRSecretSize = 16
	// EIDKeySize is the size of the key of the BLE advert.
	EIDKeySize = 64
	// TunnelIDSize is the size of a tunnel ID.
	TunnelIDSize = 16
	// EIDSize is the size of an EID plaintext, one AES block.
	EIDSize = 16

	maxDeriveSize = 255 * sha256.Size
)

// String returns the Chromium name of t.
func (t DerivedValueType) String() string {
	switch t {
	case EIDKey:
		return "EIDKey"
	case TunnelID:
		return "TunnelID"
	case PSK:
		return "PSK"
	case PairedSecret:
		return "PairedSecret"
	case IdentityKeySeed:
		return "IdentityKeySeed"
	case PerContactIDSecret:
		return "PerContactIDSecret"
	}
	return fmt.Sprintf("DerivedValueType(%d)", uint32(t))
}

// Derive returns n bytes of HKDF-SHA256 with the input keying material
// secret, the given salt (empty means HKDF's default of 32 zero bytes) and
// the info parameter LE32(purpose) (§2.1; Chromium internal::Derive,
// webauthn-rs DerivedValueType::derive). n must be in 0..8160.
func Derive(secret, salt []byte, purpose DerivedValueType, n int) ([]byte, error) {
	if n < 0 || n > maxDeriveSize {
		return nil, fmt.Errorf("hybrid: deriving %v: length %d outside 0..%d", purpose, n, maxDeriveSize)
	}
	var info [4]byte
	binary.LittleEndian.PutUint32(info[:], uint32(purpose))
	out := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, info[:]), out); err != nil {
		return nil, fmt.Errorf("hybrid: deriving %v: %w", purpose, err)
	}
	return out, nil
}

// deriveFixed is Derive for the fixed sizes of the named helpers, which
// cannot fail.
func deriveFixed(dst, secret, salt []byte, purpose DerivedValueType) {
	b, err := Derive(secret, salt, purpose, len(dst))
	if err != nil {
		panic("internal error: " + err.Error())
	}
	copy(dst, b)
}

// DeriveEIDKey returns the key of the BLE advert (§4.2): derive(secret,
// salt, EIDKey, 64). In the QR flow secret is the QR secret and salt is
// empty; in the linked flow they are the paired secret and the client
// nonce (§7.5).
func DeriveEIDKey(secret, salt []byte) [EIDKeySize]byte {
	var k [EIDKeySize]byte
	deriveFixed(k[:], secret, salt, EIDKey)
	return k
}

// DeriveTunnelID returns the tunnel ID of the QR flow (§4.3, §5.2):
// derive(qrSecret, ∅, TunnelID, 16).
func DeriveTunnelID(qrSecret []byte) [TunnelIDSize]byte {
	var id [TunnelIDSize]byte
	deriveFixed(id[:], qrSecret, nil, TunnelID)
	return id
}

// DerivePSK returns the Noise pre-shared key (§4.3): derive(secret,
// eidPlaintext, PSK, 32), salted with all 16 bytes of the decrypted EID.
func DerivePSK(secret []byte, eidPlaintext [EIDSize]byte) [32]byte {
	var k [32]byte
	deriveFixed(k[:], secret, eidPlaintext[:], PSK)
	return k
}

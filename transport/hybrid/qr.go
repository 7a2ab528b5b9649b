package hybrid

import (
	"crypto/ecdh"
	"crypto/elliptic"
	"errors"
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// URIPrefix starts every QR code URI (§3.1). [ParseURI] compares it
// without regard to case, since QR scanners may upper-case URIs.
const URIPrefix = "FIDO:/"

// CompressedKeySize is the size of the compressed P-256 point in QR key 0.
const CompressedKeySize = 33

// ErrInvalidQR is wrapped by every error of [ParseURI] and
// [UnmarshalQR].
var ErrInvalidQR = errors.New("hybrid: invalid QR code")

// RequestType hints at the operation a QR code starts (QR key 5, §3.2).
type RequestType string

// Request types (§3.2; Chromium qr::Generate, webauthn-rs
// CableRequestType). Phones treat unknown values as [GetAssertion].
const (
	GetAssertion                  RequestType = "ga"
	MakeCredential                RequestType = "mc"
	DigitalCredentialPresentation RequestType = "dcp"
)

// QR is the content of a hybrid QR code (§3.2; Chromium qr::Generate and
// qr::Parse in v2_handshake.cc, webauthn-rs HandshakeV2).
//
// Encoding always writes keys 0, 1 and 4, and keys 2, 3 and 5 unless they
// are zero or empty, in CTAP2 canonical order; key 6 is never written.
// Shipping browsers write all of keys 0 to 5, so their codes re-encode to
// the same digits.
type QR struct {
	// PublicKey (key 0) is the client's QR identity key, a compressed
	// P-256 point; see [CompressPublicKey] and [QR.IdentityKey].
	PublicKey [CompressedKeySize]byte
	// Secret (key 1) is the QR secret, the root of [DeriveEIDKey],
	// [DeriveTunnelID] and [DerivePSK].
	Secret [QRSecretSize]byte
	// KnownDomains (key 2) is the number of assigned tunnel server
	// domains the client knows; Chromium writes 2.
	KnownDomains uint64
	// Time (key 3) is when the code was made, in whole seconds; the zero
	// Time leaves key 3 out.
	Time time.Time
	// SupportsLinking (key 4) says the client can store linking
	// information for later state-assisted transactions.
	SupportsLinking bool
	// RequestType (key 5) is the operation the client is about to start.
	RequestType RequestType
}

// qrMap is the wire form of a QR code (§3.2). Its pointer fields mark
// optional keys.
type qrMap struct {
	PublicKey       []byte  `cbor:"0,keyasint"`
	Secret          []byte  `cbor:"1,keyasint"`
	KnownDomains    *uint64 `cbor:"2,keyasint,omitempty"`
	Time            *uint64 `cbor:"3,keyasint,omitempty"`
	SupportsLinking bool    `cbor:"4,keyasint"`
	RequestType     string  `cbor:"5,keyasint,omitempty"`
}

// MarshalCBOR returns the CBOR map of q (§3.2) in CTAP2 canonical form.
func (q *QR) MarshalCBOR() ([]byte, error) {
	m := qrMap{
		PublicKey:       q.PublicKey[:],
		Secret:          q.Secret[:],
		SupportsLinking: q.SupportsLinking,
		RequestType:     string(q.RequestType),
	}
	if q.KnownDomains != 0 {
		m.KnownDomains = &q.KnownDomains
	}
	if !q.Time.IsZero() && q.Time.Unix() >= 0 {
		t := uint64(q.Time.Unix())
		m.Time = &t
	}
	b, err := ctap2.Marshal(m)
	if err != nil {
		return nil, fmt.Errorf("hybrid: encoding QR code: %w", err)
	}
	return b, nil
}

// URI returns the "FIDO:/" URI of q: [URIPrefix] followed by the digit
// encoding (§3.3) of its CBOR map.
func (q *QR) URI() string {
	b, err := q.MarshalCBOR()
	if err != nil {
		// The map holds only byte strings, integers, a bool and a string.
		panic("internal error: " + err.Error())
	}
	return URIPrefix + EncodeDigits(b)
}

// ParseURI parses a "FIDO:/" URI (§3.1): the prefix in any case, then
// only digits in the encoding of §3.3, whose bytes must be a QR map as
// [UnmarshalQR] checks it. Errors wrap [ErrInvalidQR].
func ParseURI(uri string) (*QR, error) {
	if len(uri) < len(URIPrefix) || !strings.EqualFold(uri[:len(URIPrefix)], URIPrefix) {
		return nil, fmt.Errorf("%w: URI does not start with %q", ErrInvalidQR, URIPrefix)
	}
	b, err := DecodeDigits(uri[len(URIPrefix):])
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalidQR, err)
	}
	return UnmarshalQR(b)
}

// UnmarshalQR parses the CBOR map of a QR code (§3.2) as Chromium's
// qr::Parse does, and more strictly: one map with unsigned integer keys and
// nothing after it, no duplicate keys; key 0 a byte string of 33 bytes that
// decompresses to a P-256 point; key 1 a byte string of 16 bytes; keys 2
// and 3 unsigned integers, key 4 a bool, key 5 a text string, each when
// present. Other keys are ignored. Errors wrap [ErrInvalidQR].
func UnmarshalQR(b []byte) (*QR, error) {
	var raw map[uint64]ctap2.RawMessage
	if err := ctap2.Unmarshal(b, &raw); err != nil {
		return nil, fmt.Errorf("%w: decoding CBOR map: %w", ErrInvalidQR, err)
	}
	if raw == nil {
		return nil, fmt.Errorf("%w: not a CBOR map", ErrInvalidQR)
	}
	var q QR
	pub, err := qrBytes(raw, 0, CompressedKeySize)
	if err != nil {
		return nil, err
	}
	if _, err := decompress(pub); err != nil {
		return nil, fmt.Errorf("%w: key 0: %w", ErrInvalidQR, err)
	}
	copy(q.PublicKey[:], pub)
	secret, err := qrBytes(raw, 1, QRSecretSize)
	if err != nil {
		return nil, err
	}
	copy(q.Secret[:], secret)
	if v, ok := raw[2]; ok {
		if err := qrField(v, 2, cborUint, &q.KnownDomains); err != nil {
			return nil, err
		}
	}
	if v, ok := raw[3]; ok {
		var t uint64
		if err := qrField(v, 3, cborUint, &t); err != nil {
			return nil, err
		}
		if t > math.MaxInt64 {
			return nil, fmt.Errorf("%w: key 3: timestamp %d out of range", ErrInvalidQR, t)
		}
		q.Time = time.Unix(int64(t), 0)
	}
	if v, ok := raw[4]; ok {
		if err := qrField(v, 4, cborSimple, &q.SupportsLinking); err != nil {
			return nil, err
		}
	}
	if v, ok := raw[5]; ok {
		var s string
		if err := qrField(v, 5, cborText, &s); err != nil {
			return nil, err
		}
		q.RequestType = RequestType(s)
	}
	return &q, nil
}

// CBOR major types checked before decoding QR fields, so that the
// decoder's own conversions (e.g. text into []byte) cannot widen what is
// accepted.
const (
	cborUint   = 0
	cborBytes  = 2
	cborText   = 3
	cborSimple = 7 // only false (0xf4) and true (0xf5) are accepted
)

// qrField decodes the raw value of a QR key into v after checking its
// major type.
func qrField(raw ctap2.RawMessage, key int, major byte, v any) error {
	if len(raw) == 0 || raw[0]>>5 != major || major == cborSimple && raw[0] != 0xf4 && raw[0] != 0xf5 {
		return fmt.Errorf("%w: key %d has the wrong CBOR type", ErrInvalidQR, key)
	}
	if err := ctap2.Unmarshal(raw, v); err != nil {
		return fmt.Errorf("%w: key %d: %w", ErrInvalidQR, key, err)
	}
	return nil
}

// qrBytes returns the byte string under a required QR key, which must be
// n bytes long.
func qrBytes(m map[uint64]ctap2.RawMessage, key uint64, n int) ([]byte, error) {
	raw, ok := m[key]
	if !ok {
		return nil, fmt.Errorf("%w: key %d missing", ErrInvalidQR, key)
	}
	var b []byte
	if err := qrField(raw, int(key), cborBytes, &b); err != nil {
		return nil, err
	}
	if len(b) != n {
		return nil, fmt.Errorf("%w: key %d is %d bytes, want %d", ErrInvalidQR, key, len(b), n)
	}
	return b, nil
}

// IdentityKey returns the client's QR identity key (key 0) as a P-256
// public key, the initiator's static key of the KNpsk0 handshake (§6.2).
func (q *QR) IdentityKey() (*ecdh.PublicKey, error) {
	return decompress(q.PublicKey[:])
}

// decompress turns a compressed P-256 point into a public key.
func decompress(b []byte) (*ecdh.PublicKey, error) {
	x, y := elliptic.UnmarshalCompressed(elliptic.P256(), b)
	if x == nil {
		return nil, errors.New("not a compressed P-256 point")
	}
	var u [65]byte
	u[0] = 4
	x.FillBytes(u[1:33])
	y.FillBytes(u[33:])
	k, err := ecdh.P256().NewPublicKey(u[:])
	if err != nil {
		return nil, fmt.Errorf("decompressing P-256 point: %w", err)
	}
	return k, nil
}

// CompressPublicKey returns the compressed form of a P-256 public key, for
// [QR.PublicKey]. It fails for keys on other curves.
func CompressPublicKey(k *ecdh.PublicKey) ([CompressedKeySize]byte, error) {
	var c [CompressedKeySize]byte
	u := k.Bytes()
	if k.Curve() != ecdh.P256() || len(u) != 65 || u[0] != 4 {
		return c, errors.New("hybrid: compressing public key: not a P-256 key")
	}
	c[0] = 2 | u[64]&1
	copy(c[1:], u[1:33])
	return c, nil
}

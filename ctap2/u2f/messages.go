package u2f

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// Sizes of U2F message fields (FIDO U2F Raw Message Formats §4 and §5).
const (
	paramSize         = 32   // challenge and application parameters
	publicKeySize     = 65   // uncompressed P-256 point, 0x04 | x | y
	maxKeyHandleSize  = 255  // the key handle length is one byte
	registerReserved  = 0x05 // first byte of a registration response, §4.3
	uncompressedPoint = 0x04 // SEC 1 §2.3.3 uncompressed point prefix
	statusWordSize    = 2
)

// UserPresent is the user presence byte of an authentication response
// when the user was present (FIDO U2F Raw Message Formats §5.4).
const UserPresent byte = 0x01

// ParseRegisterRequest decodes the data of U2F_REGISTER: the challenge
// parameter then the application parameter, 32 bytes each (FIDO U2F Raw
// Message Formats §4.1). Errors wrap [SWWrongLength].
func ParseRegisterRequest(data []byte) (challenge, application [32]byte, err error) {
	if len(data) != 2*paramSize {
		return challenge, application, fmt.Errorf("parsing register request: %d bytes, want %d: %w", len(data), 2*paramSize, SWWrongLength)
	}
	copy(challenge[:], data[:paramSize])
	copy(application[:], data[paramSize:])
	return challenge, application, nil
}

// ParseAuthenticateRequest decodes the data of U2F_AUTHENTICATE: the
// challenge parameter (32), the application parameter (32), the key handle
// length L (1) and the key handle (L) (FIDO U2F Raw Message Formats §5.1).
// L must account for exactly the remaining bytes. Errors wrap
// [SWWrongLength]. The key handle is a copy; an empty one parses, and
// matches no credential.
func ParseAuthenticateRequest(data []byte) (challenge, application [32]byte, keyHandle []byte, err error) {
	if len(data) < 2*paramSize+1 {
		return challenge, application, nil, fmt.Errorf("parsing authenticate request: %d bytes is too short: %w", len(data), SWWrongLength)
	}
	l := int(data[2*paramSize])
	kh := data[2*paramSize+1:]
	if len(kh) != l {
		return challenge, application, nil, fmt.Errorf("parsing authenticate request: key handle length %d with %d bytes after it: %w", l, len(kh), SWWrongLength)
	}
	copy(challenge[:], data[:paramSize])
	copy(application[:], data[paramSize:2*paramSize])
	return challenge, application, bytes.Clone(kh), nil
}

// EncodeRegisterRequest encodes the data of U2F_REGISTER (FIDO U2F Raw
// Message Formats §4.1).
func EncodeRegisterRequest(challenge, application [32]byte) []byte {
	out := make([]byte, 0, 2*paramSize)
	out = append(out, challenge[:]...)
	return append(out, application[:]...)
}

// EncodeAuthenticateRequest encodes the data of U2F_AUTHENTICATE (FIDO U2F
// Raw Message Formats §5.1). The key handle may be at most 255 bytes; an
// empty one is allowed so that conformance tests can send it.
func EncodeAuthenticateRequest(challenge, application [32]byte, keyHandle []byte) ([]byte, error) {
	if len(keyHandle) > maxKeyHandleSize {
		return nil, fmt.Errorf("encoding authenticate request: key handle is %d bytes, want at most %d", len(keyHandle), maxKeyHandleSize)
	}
	out := make([]byte, 0, 2*paramSize+1+len(keyHandle))
	out = append(out, challenge[:]...)
	out = append(out, application[:]...)
	out = append(out, byte(len(keyHandle)))
	return append(out, keyHandle...), nil
}

// RegisterResponse encodes the data of a registration response: 0x05, the
// user public key (65), the key handle length and key handle, the
// attestation certificate (DER) and the signature (FIDO U2F Raw Message
// Formats §4.3). It fails if the public key is not an uncompressed point,
// the key handle is not 1 to 255 bytes, or the certificate or signature is
// empty.
func RegisterResponse(userPublicKey, keyHandle, attCertDER, signature []byte) ([]byte, error) {
	switch {
	case len(userPublicKey) != publicKeySize || userPublicKey[0] != uncompressedPoint:
		return nil, fmt.Errorf("encoding register response: user public key is not a %d-byte uncompressed point", publicKeySize)
	case len(keyHandle) == 0 || len(keyHandle) > maxKeyHandleSize:
		return nil, fmt.Errorf("encoding register response: key handle is %d bytes, want 1 to %d", len(keyHandle), maxKeyHandleSize)
	case len(attCertDER) == 0:
		return nil, errors.New("encoding register response: no attestation certificate")
	case len(signature) == 0:
		return nil, errors.New("encoding register response: no signature")
	}
	out := make([]byte, 0, 1+publicKeySize+1+len(keyHandle)+len(attCertDER)+len(signature))
	out = append(out, registerReserved)
	out = append(out, userPublicKey...)
	out = append(out, byte(len(keyHandle)))
	out = append(out, keyHandle...)
	out = append(out, attCertDER...)
	return append(out, signature...), nil
}

// AuthenticateResponse encodes the data of an authentication response: the
// user presence byte, the counter (4, big-endian) and the signature (FIDO
// U2F Raw Message Formats §5.4).
func AuthenticateResponse(userPresence byte, counter uint32, signature []byte) []byte {
	out := make([]byte, 0, 1+4+len(signature))
	out = append(out, userPresence)
	out = binary.BigEndian.AppendUint32(out, counter)
	return append(out, signature...)
}

// WithStatus returns a response APDU: data followed by the status word
// (ISO/IEC 7816-4 §5.1.3). data is not modified.
func WithStatus(data []byte, sw StatusWord) []byte {
	out := make([]byte, 0, len(data)+statusWordSize)
	out = append(out, data...)
	return binary.BigEndian.AppendUint16(out, uint16(sw))
}

// SplitStatus separates a response APDU into its data and status word
// (ISO/IEC 7816-4 §5.1.3). It fails only when the response is shorter than
// a status word; a status other than [SWNoError] is returned, not an error.
func SplitStatus(resp []byte) (data []byte, sw StatusWord, err error) {
	if len(resp) < statusWordSize {
		return nil, 0, fmt.Errorf("parsing response APDU: %d bytes has no status word", len(resp))
	}
	n := len(resp) - statusWordSize
	return resp[:n], StatusWord(binary.BigEndian.Uint16(resp[n:])), nil
}

// RegisterResult is a decoded registration response (FIDO U2F Raw Message
// Formats §4.3).
type RegisterResult struct {
	UserPublicKey   []byte // uncompressed P-256 point, 65 bytes
	KeyHandle       []byte // 1 to 255 bytes
	AttestationCert []byte // X.509 certificate, DER
	Signature       []byte // ECDSA-SHA256, DER, over SignedData
}

// SignedData returns the bytes the attestation signature covers:
// 0x00 ‖ application ‖ challenge ‖ key handle ‖ user public key (FIDO U2F
// Raw Message Formats §4.3).
func (r *RegisterResult) SignedData(challenge, application [32]byte) []byte {
	out := make([]byte, 0, 1+2*paramSize+len(r.KeyHandle)+len(r.UserPublicKey))
	out = append(out, 0x00)
	out = append(out, application[:]...)
	out = append(out, challenge[:]...)
	out = append(out, r.KeyHandle...)
	return append(out, r.UserPublicKey...)
}

// ParseRegisterResponse decodes the data of a registration response
// (status word removed; FIDO U2F Raw Message Formats §4.3). The certificate
// ends where its DER SEQUENCE ends, and the signature must be exactly one
// DER SEQUENCE after it. The fields are copies.
func ParseRegisterResponse(data []byte) (*RegisterResult, error) {
	s := cryptobyte.String(data)
	var reserved uint8
	var pub []byte
	var kh, cert cryptobyte.String
	if !s.ReadUint8(&reserved) {
		return nil, errors.New("parsing register response: empty")
	}
	if reserved != registerReserved {
		return nil, fmt.Errorf("parsing register response: reserved byte 0x%02X, want 0x%02X", reserved, registerReserved)
	}
	if !s.ReadBytes(&pub, publicKeySize) || pub[0] != uncompressedPoint {
		return nil, errors.New("parsing register response: user public key is not a 65-byte uncompressed point")
	}
	if !s.ReadUint8LengthPrefixed(&kh) || kh.Empty() {
		return nil, errors.New("parsing register response: bad key handle")
	}
	if !s.ReadASN1Element(&cert, cbasn1.SEQUENCE) {
		return nil, errors.New("parsing register response: attestation certificate is not a DER SEQUENCE")
	}
	sig, ok := oneDERSequence(s)
	if !ok {
		return nil, errors.New("parsing register response: signature is not one DER SEQUENCE")
	}
	return &RegisterResult{
		UserPublicKey:   bytes.Clone(pub),
		KeyHandle:       bytes.Clone(kh),
		AttestationCert: bytes.Clone(cert),
		Signature:       sig,
	}, nil
}

// AuthenticateResult is a decoded authentication response (FIDO U2F Raw
// Message Formats §5.4).
type AuthenticateResult struct {
	UserPresence byte   // bit 0 set when the user was present
	Counter      uint32 // signature counter
	Signature    []byte // ECDSA-SHA256, DER, over SignedData
}

// SignedData returns the bytes the authentication signature covers:
// application ‖ user presence ‖ counter ‖ challenge (FIDO U2F Raw Message
// Formats §5.4).
func (r *AuthenticateResult) SignedData(challenge, application [32]byte) []byte {
	out := make([]byte, 0, 2*paramSize+5)
	out = append(out, application[:]...)
	out = append(out, r.UserPresence)
	out = binary.BigEndian.AppendUint32(out, r.Counter)
	return append(out, challenge[:]...)
}

// ParseAuthenticateResponse decodes the data of an authentication response
// (status word removed; FIDO U2F Raw Message Formats §5.4). The signature
// must be exactly one DER SEQUENCE. The signature is a copy.
func ParseAuthenticateResponse(data []byte) (*AuthenticateResult, error) {
	s := cryptobyte.String(data)
	var r AuthenticateResult
	if !s.ReadUint8(&r.UserPresence) || !s.ReadUint32(&r.Counter) {
		return nil, fmt.Errorf("parsing authenticate response: %d bytes is too short", len(data))
	}
	sig, ok := oneDERSequence(s)
	if !ok {
		return nil, errors.New("parsing authenticate response: signature is not one DER SEQUENCE")
	}
	r.Signature = sig
	return &r, nil
}

// oneDERSequence returns a copy of s if it is exactly one DER SEQUENCE
// element, as an ECDSA signature is.
func oneDERSequence(s cryptobyte.String) ([]byte, bool) {
	var el cryptobyte.String
	if !s.ReadASN1Element(&el, cbasn1.SEQUENCE) || !s.Empty() {
		return nil, false
	}
	return bytes.Clone(el), true
}

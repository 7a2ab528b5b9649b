// Package pinuv implements the PIN/UV auth protocols one and two of CTAP 2.1
// (§6.5.6 and §6.5.7), for both sides: the authenticator's key agreement
// key and decapsulation, the platform's encapsulation, and the encrypt,
// decrypt, authenticate and verify primitives they share.
package pinuv

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/hmac"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"golang.org/x/crypto/hkdf"

	"github.com/softkeydev/softkey/ctap2"
)

// Protocol is one PIN/UV auth protocol.
type Protocol interface {
	// Version is the protocol's number in pinUvAuthProtocol: 1 or 2.
	Version() uint64
	// Encrypt encrypts plaintext, a multiple of 16 bytes long, under key
	// (a shared secret).
	Encrypt(rand io.Reader, key, plaintext []byte) ([]byte, error)
	// Decrypt reverses Encrypt.
	Decrypt(key, ciphertext []byte) ([]byte, error)
	// Authenticate returns the MAC of message under key (a shared secret
	// or a pinUvAuthToken).
	Authenticate(key, message []byte) []byte
	// Verify reports, in constant time, whether signature is message's MAC
	// under key.
	Verify(key, message, signature []byte) bool

	// kdf turns the ECDH shared point's x coordinate into the shared secret.
	kdf(z []byte) []byte
}

// One and Two are the two protocols.
var (
	One Protocol = protocolOne{}
	Two Protocol = protocolTwo{}
)

// ByVersion returns the protocol numbered v. An unknown number is
// CTAP1_ERR_INVALID_PARAMETER (CTAP 2.1 §6.5.5.1).
func ByVersion(v uint64) (Protocol, error) {
	switch v {
	case 1:
		return One, nil
	case 2:
		return Two, nil
	}
	return nil, fmt.Errorf("pinUvAuthProtocol %d: %w", v, ctap2.ErrInvalidParameter)
}

// ErrBadCiphertext is returned by Decrypt for a ciphertext whose length is
// not a whole number of blocks (plus the IV, for protocol two).
var ErrBadCiphertext = errors.New("pinuv: ciphertext is not a whole number of AES blocks")

// protocolOne: shared secret SHA-256(Z), AES-256-CBC with an all-zero IV,
// MACs of 16 bytes (CTAP 2.1 §6.5.6).
type protocolOne struct{}

func (protocolOne) Version() uint64 { return 1 }

func (protocolOne) kdf(z []byte) []byte {
	sum := sha256.Sum256(z)
	return sum[:]
}

func (protocolOne) Encrypt(_ io.Reader, key, plaintext []byte) ([]byte, error) {
	return cbcEncrypt(key, make([]byte, aes.BlockSize), plaintext)
}

func (protocolOne) Decrypt(key, ciphertext []byte) ([]byte, error) {
	return cbcDecrypt(key, make([]byte, aes.BlockSize), ciphertext)
}

func (protocolOne) Authenticate(key, message []byte) []byte {
	return mac(key, message)[:16]
}

func (p protocolOne) Verify(key, message, signature []byte) bool {
	return hmac.Equal(p.Authenticate(key, message), signature)
}

// protocolTwo: a 64-byte shared secret (HMAC key | AES key) from HKDF,
// AES-256-CBC with a random IV sent in front, MACs of 32 bytes
// (CTAP 2.1 §6.5.7).
type protocolTwo struct{}

func (protocolTwo) Version() uint64 { return 2 }

func (protocolTwo) kdf(z []byte) []byte {
	salt := make([]byte, 32)
	out := make([]byte, 64)
	// Reading from HKDF cannot fail for outputs this short.
	_, _ = io.ReadFull(hkdf.New(sha256.New, z, salt, []byte("CTAP2 HMAC key")), out[:32])
	_, _ = io.ReadFull(hkdf.New(sha256.New, z, salt, []byte("CTAP2 AES key")), out[32:])
	return out
}

// aesKey selects the AES-key half of a shared secret.
func (protocolTwo) aesKey(key []byte) []byte {
	if len(key) == 64 {
		return key[32:]
	}
	return key
}

func (p protocolTwo) Encrypt(rand io.Reader, key, plaintext []byte) ([]byte, error) {
	iv := make([]byte, aes.BlockSize)
	if _, err := io.ReadFull(rand, iv); err != nil {
		return nil, fmt.Errorf("pinuv: drawing IV: %w", err)
	}
	ct, err := cbcEncrypt(p.aesKey(key), iv, plaintext)
	if err != nil {
		return nil, err
	}
	return append(iv, ct...), nil
}

func (p protocolTwo) Decrypt(key, ciphertext []byte) ([]byte, error) {
	if len(ciphertext) < aes.BlockSize {
		return nil, ErrBadCiphertext
	}
	return cbcDecrypt(p.aesKey(key), ciphertext[:aes.BlockSize], ciphertext[aes.BlockSize:])
}

func (protocolTwo) Authenticate(key, message []byte) []byte {
	// The HMAC-key half of a shared secret, or the whole of a token.
	return mac(key[:min(len(key), 32)], message)
}

func (p protocolTwo) Verify(key, message, signature []byte) bool {
	return hmac.Equal(p.Authenticate(key, message), signature)
}

func mac(key, message []byte) []byte {
	h := hmac.New(sha256.New, key)
	h.Write(message)
	return h.Sum(nil)
}

func cbcEncrypt(key, iv, plaintext []byte) ([]byte, error) {
	if len(plaintext)%aes.BlockSize != 0 {
		return nil, errors.New("pinuv: plaintext is not a whole number of AES blocks")
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pinuv: %w", err)
	}
	out := make([]byte, len(plaintext))
	cipher.NewCBCEncrypter(block, iv).CryptBlocks(out, plaintext)
	return out, nil
}

func cbcDecrypt(key, iv, ciphertext []byte) ([]byte, error) {
	if len(ciphertext)%aes.BlockSize != 0 {
		return nil, ErrBadCiphertext
	}
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, fmt.Errorf("pinuv: %w", err)
	}
	out := make([]byte, len(ciphertext))
	cipher.NewCBCDecrypter(block, iv).CryptBlocks(out, ciphertext)
	return out, nil
}

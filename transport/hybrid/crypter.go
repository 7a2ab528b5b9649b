package hybrid

// This file implements the encrypted post-handshake frames of the hybrid
// transport (hybrid-cable.md §7.1), after Chromium's Crypter in
// device/fido/cable/v2_handshake.cc [CR], including the older frame
// construction of commit 0b007350 that webauthn-rs' client falls back to
// [WR noise.rs].

import (
	"crypto/aes"
	"crypto/cipher"
	"encoding/binary"
	"errors"
	"fmt"
)

const (
	// paddingGranularity is the block size frames are padded to (§7.1).
	paddingGranularity = 32
	// maxSequence is the highest sequence number Chromium accepts (2^24-1).
	maxSequence = 1<<24 - 1
)

// ErrFrameDecrypt reports a frame that did not authenticate under the
// expected key and sequence number: a wrong key, altered bytes, or a frame
// replayed, dropped or reordered.
var ErrFrameDecrypt = errors.New("hybrid: frame decryption failed")

// Construction selects the nonce and additional data of a frame (§7.1).
type Construction uint8

const (
	// ConstructionNew is the current form: nonce 00×8 ‖ BE32(seq), empty
	// additional data.
	ConstructionNew Construction = iota
	// ConstructionOld is the form of Chromium before the switch: nonce
	// LE32(seq) ‖ 00×8, additional data [0x02].
	ConstructionOld
)

// String names c.
func (c Construction) String() string {
	switch c {
	case ConstructionNew:
		return "new"
	case ConstructionOld:
		return "old"
	default:
		return fmt.Sprintf("Construction(%d)", uint8(c))
	}
}

// Crypter encrypts and decrypts the frames that follow the handshake
// (§7.1). Each direction has its own key and sequence number, both starting
// at 0; the read sequence advances only on a successful decryption, so a
// replayed, dropped or reordered frame fails. A Crypter is not safe for
// concurrent use by several goroutines.
type Crypter struct {
	read, write       cipher.AEAD
	readSeq, writeSeq uint32
	construction      Construction
	// acceptOld lets the first decryption fall back to the old
	// construction; it is cleared once the construction is settled.
	acceptOld bool
}

// NewCrypter returns a Crypter that decrypts with readKey and encrypts with
// writeKey, using the new construction only. Phones use it (§7.1
// recommendation).
func NewCrypter(readKey, writeKey [32]byte) *Crypter {
	return &Crypter{read: newGCM(readKey), write: newGCM(writeKey)}
}

// NewClientCrypter is NewCrypter for the client side, which must also accept
// a peer using the old construction: if the first frame (sequence 0) fails
// to decrypt with the new construction but succeeds with the old one, the
// Crypter switches both directions to the old construction for good (the
// fallback of webauthn-rs, §7.1). The fallback is only tried while nothing
// has been encrypted yet; the client speaks only after the phone's
// post-handshake message, so this holds in the protocol.
func NewClientCrypter(readKey, writeKey [32]byte) *Crypter {
	c := NewCrypter(readKey, writeKey)
	c.acceptOld = true
	return c
}

func newGCM(key [32]byte) cipher.AEAD {
	block, err := aes.NewCipher(key[:])
	if err != nil {
		panic("internal error: aes-256: " + err.Error())
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		panic("internal error: gcm: " + err.Error())
	}
	return g
}

// Construction reports the construction in use.
func (c *Crypter) Construction() Construction { return c.construction }

// nonceAndAD returns the 12-byte nonce and additional data for seq.
func nonceAndAD(cons Construction, seq uint32) (nonce [12]byte, ad []byte) {
	if cons == ConstructionOld {
		binary.LittleEndian.PutUint32(nonce[:4], seq)
		return nonce, []byte{0x02}
	}
	binary.BigEndian.PutUint32(nonce[8:], seq)
	return nonce, nil
}

// pad appends zero bytes and a final count byte so that the length is the
// next multiple of 32 above len(msg) (§7.1).
func pad(msg []byte) []byte {
	total := (len(msg) + 1 + paddingGranularity - 1) / paddingGranularity * paddingGranularity
	z := total - len(msg) - 1
	out := make([]byte, total)
	copy(out, msg)
	out[total-1] = byte(z)
	return out
}

// unpad removes the padding of §7.1. Like Chromium it checks neither that
// the padding bytes are zero nor that the length is a multiple of 32.
func unpad(padded []byte) ([]byte, error) {
	if len(padded) == 0 {
		return nil, errors.New("hybrid: empty padded frame")
	}
	z := int(padded[len(padded)-1])
	if z+1 > len(padded) {
		return nil, fmt.Errorf("hybrid: padding length %d exceeds frame of %d bytes", z, len(padded))
	}
	return padded[:len(padded)-z-1], nil
}

// Encrypt pads msg and encrypts it as the next frame in the write
// direction.
func (c *Crypter) Encrypt(msg []byte) ([]byte, error) {
	if c.writeSeq > maxSequence {
		return nil, errors.New("hybrid: write sequence number exhausted")
	}
	nonce, ad := nonceAndAD(c.construction, c.writeSeq)
	out := c.write.Seal(nil, nonce[:], pad(msg), ad)
	c.writeSeq++
	return out, nil
}

// Decrypt authenticates and decrypts the next frame in the read direction
// and removes its padding. An unauthentic frame yields an error wrapping
// [ErrFrameDecrypt] and leaves the sequence number unchanged.
func (c *Crypter) Decrypt(frame []byte) ([]byte, error) {
	if c.readSeq > maxSequence {
		return nil, errors.New("hybrid: read sequence number exhausted")
	}
	if len(frame) < gcmTagSize {
		return nil, fmt.Errorf("%w: frame of %d bytes is shorter than a tag", ErrFrameDecrypt, len(frame))
	}
	nonce, ad := nonceAndAD(c.construction, c.readSeq)
	padded, err := c.read.Open(nil, nonce[:], frame, ad)
	if err != nil && c.acceptOld && c.readSeq == 0 && c.writeSeq == 0 {
		oldNonce, oldAD := nonceAndAD(ConstructionOld, 0)
		if p, oldErr := c.read.Open(nil, oldNonce[:], frame, oldAD); oldErr == nil {
			padded, err = p, nil
			c.construction = ConstructionOld
		}
	}
	if err != nil {
		return nil, fmt.Errorf("%w: sequence %d", ErrFrameDecrypt, c.readSeq)
	}
	msg, err := unpad(padded)
	if err != nil {
		return nil, fmt.Errorf("decrypting frame: %w", err)
	}
	c.acceptOld = false
	c.readSeq++
	return msg, nil
}

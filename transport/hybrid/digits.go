package hybrid

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Digit encoding of QR payloads (§3.3; Chromium qr::BytesToDigits and
// qr::DigitsToBytes in device/fido/cable/v2_handshake.cc, webauthn-rs
// cable/base10.rs).
const (
	// digitsChunkBytes is the number of bytes encoded together.
	digitsChunkBytes = 7
	// digitsChunkDigits is the number of digits a full chunk becomes.
	digitsChunkDigits = 17
)

// ErrDigits is wrapped by every error of [DecodeDigits].
var ErrDigits = errors.New("invalid hybrid digit encoding")

// partialChunkDigits returns the number of digits a trailing chunk of n
// bytes (0..7) becomes: the digits needed for 2^(8n)-1.
func partialChunkDigits(n int) int {
	return [...]int{0, 3, 5, 8, 10, 13, 15, 17}[n]
}

// partialChunkBytes is the inverse of partialChunkDigits: the number of
// bytes a group of d digits decodes to, or false if no chunk has d digits.
func partialChunkBytes(d int) (int, bool) {
	for n := 0; n <= digitsChunkBytes; n++ {
		if partialChunkDigits(n) == d {
			return n, true
		}
	}
	return 0, false
}

// EncodeDigits encodes b in the base-10 form used in "FIDO:/" URIs (§3.3):
// each 7-byte chunk, read as a little-endian integer, becomes 17 decimal
// digits; a trailing chunk of 1 to 6 bytes becomes 3, 5, 8, 10, 13 or 15
// digits. Numeric QR mode stores these digits compactly.
func EncodeDigits(b []byte) string {
	var sb strings.Builder
	sb.Grow((len(b)/digitsChunkBytes + 1) * digitsChunkDigits)
	for len(b) > 0 {
		n := min(len(b), digitsChunkBytes)
		var v uint64
		for i := n - 1; i >= 0; i-- {
			v = v<<8 | uint64(b[i])
		}
		s := strconv.FormatUint(v, 10)
		for range partialChunkDigits(n) - len(s) {
			sb.WriteByte('0')
		}
		sb.WriteString(s)
		b = b[n:]
	}
	return sb.String()
}

// DecodeDigits reverses [EncodeDigits]. It rejects characters other than
// ASCII digits, a final group whose length no chunk encodes to, and groups
// whose value does not fit their chunk. Errors wrap [ErrDigits].
func DecodeDigits(s string) ([]byte, error) {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return nil, fmt.Errorf("%w: byte %#02x at offset %d is not a digit", ErrDigits, s[i], i)
		}
	}
	out := make([]byte, 0, len(s)/digitsChunkDigits*digitsChunkBytes+digitsChunkBytes)
	for off := 0; off < len(s); {
		d := min(len(s)-off, digitsChunkDigits)
		n, ok := partialChunkBytes(d)
		if !ok {
			return nil, fmt.Errorf("%w: final group of %d digits", ErrDigits, d)
		}
		v, err := strconv.ParseUint(s[off:off+d], 10, 64)
		if err != nil {
			// Unreachable for at most 17 digits; kept for safety.
			return nil, fmt.Errorf("%w: group at offset %d: %v", ErrDigits, off, err)
		}
		if n < 8 && v>>(8*n) != 0 {
			return nil, fmt.Errorf("%w: group %q at offset %d exceeds %d bytes", ErrDigits, s[off:off+d], off, n)
		}
		for range n {
			out = append(out, byte(v))
			v >>= 8
		}
		off += d
	}
	return out, nil
}

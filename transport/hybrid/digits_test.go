package hybrid

import (
	"bytes"
	"errors"
	"strings"
	"testing"
)

// TestDigitsVector is Chromium's v2_handshake_unittest.cc and
// webauthn-rs base10.rs vector (§10.1).
func TestDigitsVector(t *testing.T) {
	in := []byte{'a', 'b', 0xff}
	if got, want := EncodeDigits(in), "16736865"; got != want {
		t.Errorf("EncodeDigits(%x) = %q, want %q", in, got, want)
	}
	got, err := DecodeDigits("16736865")
	if err != nil || !bytes.Equal(got, in) {
		t.Errorf("DecodeDigits(%q) = %x, %v, want %x", "16736865", got, err, in)
	}
}

// TestDigitsZeroLengths is webauthn-rs base10.rs: all-zero inputs of 0..8
// bytes encode to 0,3,5,8,10,13,15,17,20 digits (§10.1).
func TestDigitsZeroLengths(t *testing.T) {
	want := []int{0, 3, 5, 8, 10, 13, 15, 17, 20}
	for n, w := range want {
		in := make([]byte, n)
		s := EncodeDigits(in)
		if len(s) != w || strings.Trim(s, "0") != "" {
			t.Errorf("EncodeDigits(%d zero bytes) = %q, want %d zeros", n, s, w)
		}
		back, err := DecodeDigits(s)
		if err != nil || !bytes.Equal(back, in) {
			t.Errorf("DecodeDigits(%q) = %x, %v, want %x", s, back, err, in)
		}
	}
}

func TestDigitsRoundTrip(t *testing.T) {
	for n := range 40 {
		for _, fill := range []byte{0x00, 0x01, 0x7f, 0xff} {
			in := bytes.Repeat([]byte{fill}, n)
			for i := range in {
				in[i] ^= byte(i * 37)
			}
			s := EncodeDigits(in)
			back, err := DecodeDigits(s)
			if err != nil || !bytes.Equal(back, in) {
				t.Fatalf("DecodeDigits(EncodeDigits(%x)) = %x, %v", in, back, err)
			}
		}
	}
}

func TestDecodeDigitsRejects(t *testing.T) {
	tests := []struct {
		name, in string
	}{
		{"one byte too large", "999"},                 // Chromium: 999 > 255
		{"one byte just too large", "256"},            // 2^8
		{"two bytes too large", "65536"},              // 2^16
		{"full chunk too large", "72057594037927936"}, // 2^56
		{"full chunk max digits", "99999999999999999"},
		{"length 1", "1"},
		{"length 2", "12"},
		{"length 4", "1234"},
		{"length 16", "1234567890123456"},
		{"trailing 1 after chunk", "000000000000000001"},
		{"letter", "12a"},
		{"plus sign", "+12"},
		{"space", "12 "},
		{"non-ASCII digit", "1\u0663"},
		{"underscore", "1_2"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := DecodeDigits(tc.in)
			if !errors.Is(err, ErrDigits) {
				t.Errorf("DecodeDigits(%q) = %x, %v, want an error wrapping ErrDigits", tc.in, got, err)
			}
		})
	}
}

func TestDecodeDigitsLimits(t *testing.T) {
	// The largest value of each chunk length decodes.
	for _, s := range []string{"255", "65535", "16777215", "4294967295", "1099511627775", "281474976710655", "72057594037927935"} {
		b, err := DecodeDigits(s)
		if err != nil || len(b) == 0 || bytes.Count(b, []byte{0xff}) != len(b) {
			t.Errorf("DecodeDigits(%q) = %x, %v, want all 0xff", s, b, err)
		}
		if got := EncodeDigits(b); got != s {
			t.Errorf("EncodeDigits(%x) = %q, want %q", b, got, s)
		}
	}
}

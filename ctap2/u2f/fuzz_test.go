package u2f

import (
	"bytes"
	"errors"
	"testing"
)

// commandSeeds are APDUs as real hosts send them, plus edge cases.
func commandSeeds(f *testing.F) {
	data64 := bytes.Repeat([]byte{0xab}, 64)
	auth := append(append(make([]byte, 64), 3), 1, 2, 3)
	for _, s := range []string{
		"00030000", "0003000000", "000300000000", "00030000000000", "000300000000000000",
		"8003000000", "00ff0000", "000100", "",
	} {
		f.Add(mustHex(f, s))
	}
	for _, ext := range []bool{false, true} {
		for _, cmd := range []Command{
			{INS: InsRegister, Data: data64},
			{INS: InsRegister, Data: data64, Le: 256},
			{INS: InsAuthenticate, P1: CheckOnly, Data: auth, Le: 256},
			{INS: InsAuthenticate, P1: EnforceUserPresence, Data: auth},
			{INS: InsVersion, Le: 256},
		} {
			b, err := EncodeCommand(cmd, ext)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
}

// FuzzParseCommand checks that ParseCommand never panics, that every error
// carries the status word to answer with, and that a parsed command
// re-encoded in short and extended form parses to the same fields.
func FuzzParseCommand(f *testing.F) {
	commandSeeds(f)
	f.Fuzz(func(t *testing.T, apdu []byte) {
		cmd, err := ParseCommand(apdu)
		if err != nil {
			var sw StatusWord
			if !errors.As(err, &sw) || (sw != SWWrongLength && sw != SWInsNotSupported && sw != SWClaNotSupported) {
				t.Fatalf("ParseCommand(%x): error %v carries no expected status word", apdu, err)
			}
			return
		}
		if cmd.Le < 0 || cmd.Le > maxExtendedNe || len(cmd.Data) > maxExtendedLc {
			t.Fatalf("ParseCommand(%x) = %+v: fields out of range", apdu, cmd)
		}
		for _, extended := range []bool{false, true} {
			enc, err := EncodeCommand(*cmd, extended)
			if err != nil {
				if !extended && (len(cmd.Data) > maxShortLc || cmd.Le > maxShortNe) {
					continue // does not fit the short form
				}
				t.Fatalf("EncodeCommand(%+v, %v): %v", cmd, extended, err)
			}
			back, err := ParseCommand(enc)
			if err != nil {
				t.Fatalf("ParseCommand(EncodeCommand(%+v, %v) = %x): %v", cmd, extended, enc, err)
			}
			if !sameCommand(*back, *cmd) {
				t.Fatalf("round trip of %x (extended %v): got %+v, want %+v", apdu, extended, back, cmd)
			}
		}
	})
}

// FuzzParseAuthenticateRequest checks that parsing never panics, errors
// carry SW_WRONG_LENGTH, and a parsed request re-encodes to the input.
func FuzzParseAuthenticateRequest(f *testing.F) {
	for _, n := range []int{0, 1, 64, 255} {
		b, err := EncodeAuthenticateRequest(fill(1), fill(2), bytes.Repeat([]byte{3}, n))
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(make([]byte, 65))
	f.Fuzz(func(t *testing.T, data []byte) {
		ch, app, kh, err := ParseAuthenticateRequest(data)
		if err != nil {
			if !errors.Is(err, SWWrongLength) {
				t.Fatalf("ParseAuthenticateRequest(%x): %v does not wrap SW_WRONG_LENGTH", data, err)
			}
			return
		}
		enc, err := EncodeAuthenticateRequest(ch, app, kh)
		if err != nil {
			t.Fatalf("EncodeAuthenticateRequest: %v", err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("round trip of %x gave %x", data, enc)
		}
	})
}

// FuzzParseRegisterResponse checks that parsing never panics and that a
// parsed response re-encodes to the input.
func FuzzParseRegisterResponse(f *testing.F) {
	cert := []byte{0x30, 0x03, 0x02, 0x01, 0x01}
	sig := []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02}
	pub := append([]byte{0x04}, make([]byte, 64)...)
	b, err := RegisterResponse(pub, []byte{1, 2, 3}, cert, sig)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(b)
	f.Add([]byte{0x05})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseRegisterResponse(data)
		if err != nil {
			return
		}
		enc, err := RegisterResponse(r.UserPublicKey, r.KeyHandle, r.AttestationCert, r.Signature)
		if err != nil {
			t.Fatalf("RegisterResponse(%+v): %v", r, err)
		}
		if !bytes.Equal(enc, data) {
			t.Fatalf("round trip of %x gave %x", data, enc)
		}
	})
}

// FuzzParseAuthenticateResponse checks that parsing never panics and that
// a parsed response re-encodes to the input.
func FuzzParseAuthenticateResponse(f *testing.F) {
	f.Add(AuthenticateResponse(1, 7, []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02}))
	f.Add([]byte{})
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := ParseAuthenticateResponse(data)
		if err != nil {
			return
		}
		if enc := AuthenticateResponse(r.UserPresence, r.Counter, r.Signature); !bytes.Equal(enc, data) {
			t.Fatalf("round trip of %x gave %x", data, enc)
		}
	})
}

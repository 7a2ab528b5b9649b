package u2f

import (
	"bytes"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
)

func mustHex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(strings.ReplaceAll(s, " ", ""))
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func TestParseCommand(t *testing.T) {
	data64 := strings.Repeat("ab", 64)
	data300 := strings.Repeat("cd", 300)
	tests := []struct {
		name string
		apdu string
		want Command
	}{
		{"case 1", "00030000", Command{INS: InsVersion}},
		{"case 2S", "00030000 05", Command{INS: InsVersion, Le: 5}},
		{"case 2S Le 00 is 256", "00030000 00", Command{INS: InsVersion, Le: 256}},
		{"case 3S", "00010000 40" + data64, Command{INS: InsRegister, Data: mustHex(t, data64)}},
		{"case 4S", "00010000 40" + data64 + "00", Command{INS: InsRegister, Data: mustHex(t, data64), Le: 256}},
		{"case 3S one byte", "00020700 01 ff", Command{INS: InsAuthenticate, P1: CheckOnly, Data: []byte{0xff}}},
		{"case 4S one byte", "00020300 01 ff 10", Command{INS: InsAuthenticate, P1: EnforceUserPresence, Data: []byte{0xff}, Le: 16}},
		{"case 2E", "00030000 00 0100", Command{INS: InsVersion, Le: 256}},
		{"case 2E Le 0000 is 65536", "00030000 000000", Command{INS: InsVersion, Le: 65536}},
		{"case 3E", "00010000 000040" + data64, Command{INS: InsRegister, Data: mustHex(t, data64)}},
		{"case 4E", "00010000 000040" + data64 + "0000", Command{INS: InsRegister, Data: mustHex(t, data64), Le: 65536}},
		{"case 4E long data", "00020800 00012c" + data300 + "0102", Command{INS: InsAuthenticate, P1: DontEnforce, Data: mustHex(t, data300), Le: 258}},
		{"python-fido2 version (Lc 0000 + Le)", "00030000 000000 0000", Command{INS: InsVersion, Le: 65536}},
		{"P2 kept", "000300ee", Command{INS: InsVersion, P2: 0xee}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apdu := mustHex(t, tt.apdu)
			got, err := ParseCommand(apdu)
			if err != nil {
				t.Fatalf("ParseCommand(%x): %v", apdu, err)
			}
			if !sameCommand(*got, tt.want) {
				t.Errorf("ParseCommand(%x) = %+v, want %+v", apdu, *got, tt.want)
			}
			if len(got.Data) > 0 {
				apdu[len(apdu)-1] ^= 0xff // mutate the input; Data must be a copy
				apdu[len(apdu)-len(got.Data)] ^= 0xff
				if !sameCommand(*got, tt.want) {
					t.Error("Data aliases the input")
				}
			}
		})
	}
}

func sameCommand(a, b Command) bool {
	return a.CLA == b.CLA && a.INS == b.INS && a.P1 == b.P1 && a.P2 == b.P2 &&
		bytes.Equal(a.Data, b.Data) && a.Le == b.Le
}

func TestParseCommandErrors(t *testing.T) {
	tests := []struct {
		name string
		apdu string
		want StatusWord
	}{
		{"empty", "", SWWrongLength},
		{"three bytes", "000300", SWWrongLength},
		{"CLA 80", "80030000", SWClaNotSupported},
		{"short header with bad CLA", "800300", SWWrongLength},
		{"CLA before INS", "80ff0000", SWClaNotSupported},
		{"INS 04", "00040000", SWInsNotSupported},
		{"INS C0 (GET RESPONSE)", "00c00000", SWInsNotSupported},
		{"short Lc too big", "00010000 03 0102", SWWrongLength},
		{"short Lc too small", "00010000 01 010203", SWWrongLength},
		{"extended truncated length", "00010000 0000", SWWrongLength},
		{"extended Lc too big", "00010000 000005 01020304", SWWrongLength},
		{"extended one trailing byte", "00010000 000001 01 00", SWWrongLength},
		{"extended three trailing bytes", "00010000 000001 01 000000", SWWrongLength},
		{"extended Lc 0 with one byte", "00030000 000000 00", SWWrongLength},
		{"extended Lc 0 with three bytes", "00030000 000000 000000", SWWrongLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			apdu := mustHex(t, tt.apdu)
			cmd, err := ParseCommand(apdu)
			var sw StatusWord
			if !errors.As(err, &sw) || sw != tt.want {
				t.Fatalf("ParseCommand(%x) = %+v, %v; want error wrapping %v", apdu, cmd, err, tt.want)
			}
			if !strings.HasPrefix(err.Error(), "parsing APDU: ") {
				t.Errorf("error %q lacks context", err)
			}
		})
	}
}

func TestEncodeCommand(t *testing.T) {
	data := bytes.Repeat([]byte{0xab}, 64)
	tests := []struct {
		name     string
		cmd      Command
		extended bool
		want     string
	}{
		{"case 1 short", Command{INS: InsVersion}, false, "00030000"},
		{"case 1 extended", Command{INS: InsVersion}, true, "00030000"},
		{"case 2S", Command{INS: InsVersion, Le: 256}, false, "00030000 00"},
		{"case 2E", Command{INS: InsVersion, Le: 65536}, true, "00030000 000000"},
		{"case 2E small Le", Command{INS: InsVersion, Le: 2}, true, "00030000 000002"},
		{"case 3S", Command{INS: InsRegister, Data: data}, false, "00010000 40" + hex.EncodeToString(data)},
		{"case 4S", Command{INS: InsRegister, Data: data, Le: 255}, false, "00010000 40" + hex.EncodeToString(data) + "ff"},
		{"case 3E", Command{INS: InsRegister, Data: data}, true, "00010000 000040" + hex.EncodeToString(data)},
		{"case 4E", Command{INS: InsRegister, Data: data, Le: 65536}, true, "00010000 000040" + hex.EncodeToString(data) + "0000"},
		{"header kept", Command{CLA: 0x80, INS: 0x99, P1: 1, P2: 2}, false, "80990102"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := EncodeCommand(tt.cmd, tt.extended)
			if err != nil {
				t.Fatalf("EncodeCommand: %v", err)
			}
			if want := mustHex(t, tt.want); !bytes.Equal(got, want) {
				t.Errorf("EncodeCommand(%+v, %v) = %x, want %x", tt.cmd, tt.extended, got, want)
			}
			if tt.cmd.CLA != 0 {
				return
			}
			back, err := ParseCommand(got)
			if err != nil || !sameCommand(*back, tt.cmd) {
				t.Errorf("ParseCommand(EncodeCommand(%+v)) = %+v, %v", tt.cmd, back, err)
			}
		})
	}

	errTests := []struct {
		name     string
		cmd      Command
		extended bool
	}{
		{"short data too long", Command{Data: make([]byte, 256)}, false},
		{"short Le too big", Command{Le: 257}, false},
		{"extended data too long", Command{Data: make([]byte, 65536)}, true},
		{"extended Le too big", Command{Le: 65537}, true},
		{"negative Le", Command{Le: -1}, true},
	}
	for _, tt := range errTests {
		t.Run(tt.name, func(t *testing.T) {
			if got, err := EncodeCommand(tt.cmd, tt.extended); err == nil {
				t.Fatalf("EncodeCommand = %x, want an error", got)
			}
		})
	}
}

func TestStatusWordError(t *testing.T) {
	tests := []struct {
		sw   StatusWord
		want string
	}{
		{SWNoError, "SW_NO_ERROR (0x9000)"},
		{SWConditionsNotSatisfied, "SW_CONDITIONS_NOT_SATISFIED (0x6985)"},
		{SWWrongData, "SW_WRONG_DATA (0x6A80)"},
		{SWWrongLength, "SW_WRONG_LENGTH (0x6700)"},
		{SWInsNotSupported, "SW_INS_NOT_SUPPORTED (0x6D00)"},
		{SWClaNotSupported, "SW_CLA_NOT_SUPPORTED (0x6E00)"},
		{0x6F00, "status word 0x6F00"},
	}
	for _, tt := range tests {
		if got := tt.sw.Error(); got != tt.want {
			t.Errorf("StatusWord(0x%04X).Error() = %q, want %q", uint16(tt.sw), got, tt.want)
		}
	}
}

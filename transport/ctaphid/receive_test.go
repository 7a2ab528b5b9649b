package ctaphid

import (
	"bytes"
	"errors"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

// mustParse parses a report the test built.
func mustParse(t *testing.T, r []byte) packet {
	t.Helper()
	p, ok := parsePacket(r)
	if !ok {
		t.Fatalf("parsePacket(% x) failed", r)
	}
	return p
}

// pad zero-pads b to a report.
func pad(b ...byte) []byte {
	r := make([]byte, ReportSize)
	copy(r, b)
	return r
}

func TestParsePacket(t *testing.T) {
	p := mustParse(t, pad(0x12, 0x34, 0x56, 0x78, 0x90, 0x1D, 0xB9, 0xAA))
	if !p.init || p.cid != 0x12345678 || p.cmd != CmdCBOR || p.size != 7609 || len(p.data) != initDataSize || p.data[0] != 0xAA {
		t.Errorf("init packet parsed as %+v", p)
	}
	p = mustParse(t, pad(0x12, 0x34, 0x56, 0x78, 0x7F, 0xBB))
	if p.init || p.seq != 0x7F || len(p.data) != contDataSize || p.data[0] != 0xBB {
		t.Errorf("continuation packet parsed as %+v", p)
	}
	for _, n := range []int{0, 1, 7, 63, 65} {
		if _, ok := parsePacket(make([]byte, n)); ok {
			t.Errorf("parsePacket accepted %d bytes", n)
		}
	}
}

func TestAssembleRoundTrip(t *testing.T) {
	for _, size := range []int{0, 1, 56, 57, 58, 116, 117, 1000, 4096, MaxMessageSize} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i * 7)
		}
		reports, err := split(message{cid: 0xCAFE, cmd: CmdPing, data: data})
		if err != nil {
			t.Fatal(err)
		}
		var a assembler
		m, done, err := a.start(mustParse(t, reports[0]))
		for i, r := range reports[1:] {
			if done || err != nil {
				t.Fatalf("size %d: finished early at report %d (err %v)", size, i, err)
			}
			m, done, err = a.add(mustParse(t, r))
		}
		if err != nil || !done {
			t.Fatalf("size %d: done %v, err %v", size, done, err)
		}
		if m.cid != 0xCAFE || m.cmd != CmdPing || !bytes.Equal(m.data, data) {
			t.Errorf("size %d: reassembled channel %x %s, %d bytes", size, m.cid, m.cmd, len(m.data))
		}
		if a.active {
			t.Errorf("size %d: assembler still active", size)
		}
	}
}

func TestAssembleErrors(t *testing.T) {
	hdr := []byte{0x01, 0x02, 0x03, 0x04}
	tests := []struct {
		name    string
		reports [][]byte
		want    ctap2.Status
	}{
		{"declared length 0x1DBA", [][]byte{pad(append(hdr, 0x81, 0x1D, 0xBA)...)}, ctap2.ErrInvalidLength},
		{"declared length 0xFFFF", [][]byte{pad(append(hdr, 0x90, 0xFF, 0xFF)...)}, ctap2.ErrInvalidLength},
		{"skipped sequence", [][]byte{pad(append(hdr, 0x81, 0x00, 0x80)...), pad(append(hdr, 0x01)...)}, ctap2.ErrInvalidSeq},
		{"repeated sequence", [][]byte{pad(append(hdr, 0x81, 0x01, 0x00)...), pad(append(hdr, 0x00)...), pad(append(hdr, 0x00)...)}, ctap2.ErrInvalidSeq},
		{"sequence 0x7F first", [][]byte{pad(append(hdr, 0x81, 0x00, 0x80)...), pad(append(hdr, 0x7F)...)}, ctap2.ErrInvalidSeq},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var a assembler
			_, done, err := a.start(mustParse(t, tt.reports[0]))
			for _, r := range tt.reports[1:] {
				if err != nil || done {
					break
				}
				_, done, err = a.add(mustParse(t, r))
			}
			if !errors.Is(err, tt.want) {
				t.Fatalf("got done %v, err %v; want %v", done, err, tt.want)
			}
			if a.active {
				t.Error("assembler still active after an error")
			}
		})
	}
}

func TestAssembleNonzeroPadding(t *testing.T) {
	// CTAP 2.1 §11.2.4: unused bytes SHOULD be zero, so others are accepted.
	r := bytes.Repeat([]byte{0xFF}, ReportSize)
	copy(r, []byte{0, 0, 0, 1, 0x81, 0, 3})
	var a assembler
	m, done, err := a.start(mustParse(t, r))
	if err != nil || !done || !bytes.Equal(m.data, []byte{0xFF, 0xFF, 0xFF}) {
		t.Errorf("got %+v, done %v, err %v", m, done, err)
	}
}

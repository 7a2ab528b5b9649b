package ctaphid

import (
	"bytes"
	"encoding/binary"
	"testing"
)

func TestSplitSizes(t *testing.T) {
	tests := []struct {
		size    int
		reports int
	}{
		{0, 1},
		{1, 1},
		{initDataSize, 1},
		{initDataSize + 1, 2},
		{initDataSize + contDataSize, 2},
		{initDataSize + contDataSize + 1, 3},
		{1000, 17},
		{MaxMessageSize, 129},
	}
	for _, tt := range tests {
		data := bytes.Repeat([]byte{0xA5}, tt.size)
		reports, err := split(message{cid: 0x01020304, cmd: CmdCBOR, data: data})
		if err != nil {
			t.Fatalf("split(%d bytes): %v", tt.size, err)
		}
		if len(reports) != tt.reports {
			t.Errorf("split(%d bytes) gave %d reports, want %d", tt.size, len(reports), tt.reports)
		}
		for i, r := range reports {
			if len(r) != ReportSize {
				t.Fatalf("split(%d bytes): report %d has %d bytes", tt.size, i, len(r))
			}
			if cid := binary.BigEndian.Uint32(r); cid != 0x01020304 {
				t.Errorf("split(%d bytes): report %d has channel %08x", tt.size, i, cid)
			}
			if i == 0 {
				if r[4] != byte(CmdCBOR)|initBit || int(binary.BigEndian.Uint16(r[5:])) != tt.size {
					t.Errorf("split(%d bytes): initialisation header % x", tt.size, r[:7])
				}
			} else if r[4] != byte(i-1) {
				t.Errorf("split(%d bytes): report %d has sequence %d", tt.size, i, r[4])
			}
		}
	}
}

func TestSplitPadsWithZeros(t *testing.T) {
	reports, err := split(message{cid: 7, cmd: CmdPing, data: []byte{0xFF, 0xFF}})
	if err != nil {
		t.Fatal(err)
	}
	want := make([]byte, ReportSize)
	copy(want, []byte{0, 0, 0, 7, 0x81, 0, 2, 0xFF, 0xFF})
	if !bytes.Equal(reports[0], want) {
		t.Errorf("split = % x\nwant    % x", reports[0], want)
	}
}

func TestSplitRefuses(t *testing.T) {
	if _, err := split(message{cid: 1, cmd: CmdCBOR, data: make([]byte, MaxMessageSize+1)}); err == nil {
		t.Error("split accepted a message of MaxMessageSize+1 bytes")
	}
	if _, err := split(message{cid: 1, cmd: 0x81}); err == nil {
		t.Error("split accepted a command with bit 7 set")
	}
}

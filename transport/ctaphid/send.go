package ctaphid

import (
	"fmt"

	"golang.org/x/crypto/cryptobyte"
)

// split cuts a message into reports (CTAP 2.1 §11.2.4): an initialisation
// packet with the first 57 bytes, then continuation packets of 59 bytes
// with sequence numbers from 0. Unused bytes of the last report are zero.
// A message longer than MaxMessageSize cannot be framed.
func split(m message) ([][]byte, error) {
	if len(m.data) > MaxMessageSize {
		return nil, fmt.Errorf("ctaphid: %s message of %d bytes is longer than %d", m.cmd, len(m.data), MaxMessageSize)
	}
	if m.cmd&initBit != 0 {
		return nil, fmt.Errorf("ctaphid: command 0x%02X has bit 7 set", uint8(m.cmd))
	}
	rest := m.data
	chunk := rest[:min(len(rest), initDataSize)]
	rest = rest[len(chunk):]
	first, err := buildReport(func(b *cryptobyte.Builder) {
		b.AddUint32(m.cid)
		b.AddUint8(uint8(m.cmd) | initBit)
		b.AddUint16(uint16(len(m.data)))
		b.AddBytes(chunk)
	})
	if err != nil {
		return nil, err
	}
	reports := make([][]byte, 0, 1+(len(rest)+contDataSize-1)/contDataSize)
	reports = append(reports, first)
	for seq := uint8(0); len(rest) > 0; seq++ {
		chunk := rest[:min(len(rest), contDataSize)]
		rest = rest[len(chunk):]
		report, err := buildReport(func(b *cryptobyte.Builder) {
			b.AddUint32(m.cid)
			b.AddUint8(seq)
			b.AddBytes(chunk)
		})
		if err != nil {
			return nil, err
		}
		reports = append(reports, report)
	}
	return reports, nil
}

// buildReport returns a zero-padded report holding what fill adds.
func buildReport(fill func(b *cryptobyte.Builder)) ([]byte, error) {
	b := cryptobyte.NewFixedBuilder(make([]byte, 0, ReportSize))
	fill(b)
	report, err := b.Bytes()
	if err != nil {
		return nil, fmt.Errorf("ctaphid: building report: %w", err)
	}
	// The backing array was zeroed by make, so this pads with zeros.
	return report[:ReportSize], nil
}

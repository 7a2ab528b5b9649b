package uhid

import (
	"bytes"
	"encoding/binary"
	"reflect"
	"strings"
	"testing"
)

// The numbers in these tests come from include/uapi/linux/uhid.h (Linux
// 6.1) and were checked with gcc against Debian 12's linux-libc-dev
// 6.1.187 headers (sizeof and offsetof on x86-64). They are written out
// here rather than derived from the encoder's constants, so that the
// encoder is checked against the kernel and not against itself.

func TestStructSizes(t *testing.T) {
	tests := []struct {
		name      string
		got, want int
	}{
		{"struct uhid_create2_req", create2Size, 4372},
		{"struct uhid_output_req", outputSize, 4099},
		{"struct uhid_input2_req", input2Size, 4098},
		{"struct uhid_get_report_req", getReportSize, 6},
		{"struct uhid_get_report_reply_req", getReportReplySize, 4104},
		{"struct uhid_set_report_req", setReportSize, 4104},
		{"struct uhid_set_report_reply_req", setReportReplySize, 6},
		{"struct uhid_start_req", startSize, 8},
		{"sizeof(struct uhid_event) on 64-bit hosts", eventSize, 4380},
	}
	for _, tt := range tests {
		if tt.got != tt.want {
			t.Errorf("%s: %d bytes, want %d", tt.name, tt.got, tt.want)
		}
	}

	// The union's size from all its members, the obsolete ones included
	// (uhid_create_req holds a user pointer, 8 bytes on 64-bit hosts):
	// the largest, rounded up to the 8-byte alignment that
	// uhid_start_req's __u64 gives the union.
	members := map[string]int{
		"create":           128 + 64 + 64 + 8 + 2 + 2 + 4*4,
		"input":            4096 + 2,
		"output":           outputSize,
		"output_ev":        2 + 2 + 4,
		"feature":          getReportSize,
		"get_report":       getReportSize,
		"feature_answer":   getReportReplySize,
		"get_report_reply": getReportReplySize,
		"create2":          create2Size,
		"input2":           input2Size,
		"set_report":       setReportSize,
		"set_report_reply": setReportReplySize,
		"start":            startSize,
	}
	largest := 0
	for _, size := range members {
		largest = max(largest, size)
	}
	union := (largest + 7) / 8 * 8
	if got := 4 + union; got != eventSize {
		t.Errorf("4 + union of %d bytes = %d, eventSize is %d", union, got, eventSize)
	}
}

// field is a field's expected place in an encoded event: its offset from
// the start of struct uhid_event (4 for the type, then the member's
// offsetof) and its bytes.
type field struct {
	name   string
	offset int
	want   []byte
}

func u16(v uint16) []byte { return binary.NativeEndian.AppendUint16(nil, v) }
func u32(v uint32) []byte { return binary.NativeEndian.AppendUint32(nil, v) }
func u64(v uint64) []byte { return binary.NativeEndian.AppendUint64(nil, v) }

func checkLayout(t *testing.T, e event, wantLen int, fields []field) {
	t.Helper()
	b, err := marshalEvent(e)
	if err != nil {
		t.Fatalf("marshalEvent(%+v): %v", e, err)
	}
	if len(b) != wantLen {
		t.Errorf("%v: %d bytes written, want %d", e.eventType(), len(b), wantLen)
	}
	for _, f := range fields {
		end := f.offset + len(f.want)
		if end > len(b) {
			t.Errorf("%v.%s at %d..%d: event is only %d bytes", e.eventType(), f.name, f.offset, end, len(b))
			continue
		}
		if got := b[f.offset:end]; !bytes.Equal(got, f.want) {
			t.Errorf("%v.%s at offset %d = % x, want % x", e.eventType(), f.name, f.offset, got, f.want)
		}
	}
}

func TestLayouts(t *testing.T) {
	data := []byte{0xAA, 0xBB, 0xCC}
	tests := []struct {
		e       event
		wantLen int
		fields  []field
	}{
		{
			create2Event{
				Name: "name", Phys: "phys", Uniq: "uniq", Bus: busUSB,
				Vendor: 0x1209, Product: 0x0001, Version: 0x01020304, Country: 0x0A0B0C0D,
				Descriptor: reportDescriptor[:],
			},
			4 + 276 + len(reportDescriptor),
			[]field{
				{"type", 0, u32(11)},
				{"name", 4 + 0, []byte("name\x00")},
				{"phys", 4 + 128, []byte("phys\x00")},
				{"uniq", 4 + 192, []byte("uniq\x00")},
				{"rd_size", 4 + 256, u16(uint16(len(reportDescriptor)))},
				{"bus", 4 + 258, u16(3)},
				{"vendor", 4 + 260, u32(0x1209)},
				{"product", 4 + 264, u32(0x0001)},
				{"version", 4 + 268, u32(0x01020304)},
				{"country", 4 + 272, u32(0x0A0B0C0D)},
				{"rd_data", 4 + 276, reportDescriptor[:]},
			},
		},
		{
			input2Event{Data: data},
			4 + 2 + len(data),
			[]field{{"type", 0, u32(12)}, {"size", 4 + 0, u16(3)}, {"data", 4 + 2, data}},
		},
		{
			outputEvent{Data: data, RType: outputReport},
			4 + 4099,
			[]field{{"type", 0, u32(6)}, {"data", 4 + 0, data}, {"size", 4 + 4096, u16(3)}, {"rtype", 4 + 4098, []byte{1}}},
		},
		{
			getReportEvent{ID: 0x11223344, RNum: 5, RType: featureReport},
			4 + 6,
			[]field{{"type", 0, u32(9)}, {"id", 4 + 0, u32(0x11223344)}, {"rnum", 4 + 4, []byte{5}}, {"rtype", 4 + 5, []byte{0}}},
		},
		{
			getReportReplyEvent{ID: 0x11223344, Err: 5, Data: data},
			4 + 8 + len(data),
			[]field{{"type", 0, u32(10)}, {"id", 4 + 0, u32(0x11223344)}, {"err", 4 + 4, u16(5)}, {"size", 4 + 6, u16(3)}, {"data", 4 + 8, data}},
		},
		{
			setReportEvent{ID: 0x11223344, RNum: 5, RType: outputReport, Data: data},
			4 + 8 + len(data),
			[]field{{"type", 0, u32(13)}, {"id", 4 + 0, u32(0x11223344)}, {"rnum", 4 + 4, []byte{5}}, {"rtype", 4 + 5, []byte{1}}, {"size", 4 + 6, u16(3)}, {"data", 4 + 8, data}},
		},
		{
			setReportReplyEvent{ID: 0x11223344, Err: 5},
			4 + 6,
			[]field{{"type", 0, u32(14)}, {"id", 4 + 0, u32(0x11223344)}, {"err", 4 + 4, u16(5)}},
		},
		{
			startEvent{DevFlags: 0x0102030405060708},
			4 + 8,
			[]field{{"type", 0, u32(2)}, {"dev_flags", 4 + 0, u64(0x0102030405060708)}},
		},
		{bareEvent(eventDestroy), 4, []field{{"type", 0, u32(1)}}},
		{bareEvent(eventStop), 4, []field{{"type", 0, u32(3)}}},
		{bareEvent(eventOpen), 4, []field{{"type", 0, u32(4)}}},
		{bareEvent(eventClose), 4, []field{{"type", 0, u32(5)}}},
	}
	for _, tt := range tests {
		t.Run(tt.e.eventType().String(), func(t *testing.T) {
			checkLayout(t, tt.e, tt.wantLen, tt.fields)
		})
	}
}

// kernelEvent builds an event as uhid.c queues it: sizeof(struct
// uhid_event) bytes, zeroed, with the given bytes put at their offsets.
func kernelEvent(typ uint32, fields ...field) []byte {
	b := make([]byte, 4380)
	copy(b, u32(typ))
	for _, f := range fields {
		copy(b[f.offset:], f.want)
	}
	return b
}

func TestDecodeKernelEvents(t *testing.T) {
	report := append([]byte{0}, bytes.Repeat([]byte{0x5A}, 64)...)
	tests := []struct {
		name string
		in   []byte
		want event
	}{
		{
			"output of 65 bytes",
			kernelEvent(6, field{"data", 4, report}, field{"size", 4 + 4096, u16(65)}, field{"rtype", 4 + 4098, []byte{1}}),
			outputEvent{Data: report, RType: outputReport},
		},
		{
			"start with numbered input reports",
			kernelEvent(2, field{"dev_flags", 4, u64(4)}),
			startEvent{DevFlags: 4},
		},
		{
			"get report",
			kernelEvent(9, field{"id", 4, u32(77)}, field{"rnum", 8, []byte{3}}, field{"rtype", 9, []byte{0}}),
			getReportEvent{ID: 77, RNum: 3, RType: featureReport},
		},
		{
			"set report",
			kernelEvent(13, field{"id", 4, u32(78)}, field{"rnum", 8, []byte{0}}, field{"rtype", 9, []byte{1}},
				field{"size", 10, u16(2)}, field{"data", 12, []byte{0, 9}}),
			setReportEvent{ID: 78, RType: outputReport, Data: []byte{0, 9}},
		},
		{"open", kernelEvent(4), bareEvent(eventOpen)},
		{"close", kernelEvent(5), bareEvent(eventClose)},
		{"stop", kernelEvent(3), bareEvent(eventStop)},
		{"obsolete UHID_OUTPUT_EV", kernelEvent(7), bareEvent(7)},
		{"unknown type", kernelEvent(1000), bareEvent(1000)},
		// Short events are extended with zeros (the header's rule for
		// events the kernel writes short).
		{"output of only its type", u32(6), outputEvent{Data: []byte{}, RType: featureReport}},
		{"start of only its type", u32(2), startEvent{}},
		{"longer than the struct", append(kernelEvent(4), 1, 2, 3), bareEvent(eventOpen)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := decodeEvent(tt.in)
			if err != nil {
				t.Fatalf("decodeEvent: %v", err)
			}
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("decodeEvent = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeRejects(t *testing.T) {
	unterminated := make([]byte, 4380)
	copy(unterminated, u32(11))
	copy(unterminated[4:], strings.Repeat("n", 128))
	copy(unterminated[4+256:], u16(1))
	tests := map[string][]byte{
		"empty":                     nil,
		"shorter than its type":     {6, 0, 0},
		"output size above 4096":    kernelEvent(6, field{"size", 4 + 4096, u16(4097)}),
		"input2 size above 4096":    kernelEvent(12, field{"size", 4, u16(4097)}),
		"set report size too big":   kernelEvent(13, field{"size", 10, u16(5000)}),
		"get reply size too big":    kernelEvent(10, field{"size", 10, u16(0xFFFF)}),
		"create2 without rd_size":   kernelEvent(11),
		"create2 rd_size too big":   kernelEvent(11, field{"rd_size", 4 + 256, u16(4097)}),
		"create2 name unterminated": unterminated,
	}
	for name, in := range tests {
		t.Run(name, func(t *testing.T) {
			if e, err := decodeEvent(in); err == nil {
				t.Errorf("decodeEvent(% x...) = %+v, want an error", in[:min(len(in), 16)], e)
			}
		})
	}
}

func TestMarshalRejects(t *testing.T) {
	ok := create2Event{Name: "softkey", Descriptor: reportDescriptor[:]}
	tests := map[string]event{
		"name of 128 bytes":   create2Event{Name: strings.Repeat("n", 128), Descriptor: ok.Descriptor},
		"phys of 64 bytes":    create2Event{Name: "n", Phys: strings.Repeat("p", 64), Descriptor: ok.Descriptor},
		"uniq of 64 bytes":    create2Event{Name: "n", Uniq: strings.Repeat("u", 64), Descriptor: ok.Descriptor},
		"NUL in name":         create2Event{Name: "soft\x00key", Descriptor: ok.Descriptor},
		"no descriptor":       create2Event{Name: "n"},
		"descriptor too long": create2Event{Name: "n", Descriptor: make([]byte, 4097)},
		"input2 too long":     input2Event{Data: make([]byte, 4097)},
		"output too long":     outputEvent{Data: make([]byte, 4097)},
		"get reply too long":  getReportReplyEvent{Data: make([]byte, 4097)},
		"set report too long": setReportEvent{Data: make([]byte, 4097)},
	}
	for name, e := range tests {
		t.Run(name, func(t *testing.T) {
			if _, err := marshalEvent(e); err == nil {
				t.Errorf("marshalEvent(%v) succeeded, want an error", e.eventType())
			}
		})
	}
	// The longest strings the kernel keeps whole are accepted.
	longest := create2Event{Name: strings.Repeat("n", 127), Phys: strings.Repeat("p", 63), Uniq: strings.Repeat("u", 63), Descriptor: make([]byte, 4096)}
	if _, err := marshalEvent(longest); err != nil {
		t.Errorf("marshalEvent(127-byte name, 63-byte phys and uniq, 4096-byte descriptor): %v", err)
	}
}

// allEvents is one event of each kind, with every field set.
func allEvents() []event {
	data := bytes.Repeat([]byte{0x42}, 65)
	return []event{
		create2Event{Name: "softkey", Phys: "softkey", Uniq: "0123456789ABCDEF", Bus: busUSB,
			Vendor: 0x1209, Product: 0x0001, Version: 7, Country: 1, Descriptor: reportDescriptor[:]},
		startEvent{DevFlags: 7},
		outputEvent{Data: data, RType: outputReport},
		outputEvent{Data: []byte{}, RType: featureReport},
		input2Event{Data: data[:64]},
		getReportEvent{ID: 1, RNum: 2, RType: inputReport},
		getReportReplyEvent{ID: 1, Err: errnoEIO, Data: []byte{}},
		getReportReplyEvent{ID: 2, Data: data},
		setReportEvent{ID: 3, RNum: 4, RType: featureReport, Data: data[:8]},
		setReportReplyEvent{ID: 3, Err: errnoEIO},
		bareEvent(eventDestroy),
		bareEvent(eventStop),
		bareEvent(eventOpen),
		bareEvent(eventClose),
	}
}

func TestRoundTrip(t *testing.T) {
	for _, e := range allEvents() {
		t.Run(e.eventType().String(), func(t *testing.T) {
			b, err := marshalEvent(e)
			if err != nil {
				t.Fatalf("marshalEvent(%+v): %v", e, err)
			}
			got, err := decodeEvent(b)
			if err != nil {
				t.Fatalf("decodeEvent(marshalEvent(%+v)): %v", e, err)
			}
			if !reflect.DeepEqual(got, e) {
				t.Errorf("round trip of %+v gave %+v", e, got)
			}
			// What the kernel sends back is the whole struct, zero tail
			// included; it must decode the same.
			padded := append(b, make([]byte, eventSize-len(b))...)
			if got, err := decodeEvent(padded); err != nil || !reflect.DeepEqual(got, e) {
				t.Errorf("decodeEvent(padded) = %+v, %v; want %+v", got, err, e)
			}
		})
	}
}

// FuzzDecodeEvent feeds arbitrary bytes to decodeEvent: it must not panic,
// and whatever it accepts must encode and decode to the same event.
func FuzzDecodeEvent(f *testing.F) {
	for _, e := range allEvents() {
		b, err := marshalEvent(e)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	f.Add([]byte{})
	f.Add(u32(6))
	f.Fuzz(func(t *testing.T, in []byte) {
		e, err := decodeEvent(in)
		if err != nil {
			return
		}
		b, err := marshalEvent(e)
		if err != nil {
			t.Fatalf("decoded %+v does not encode: %v", e, err)
		}
		again, err := decodeEvent(b)
		if err != nil {
			t.Fatalf("re-encoded %+v does not decode: %v", e, err)
		}
		if !reflect.DeepEqual(again, e) {
			t.Fatalf("decode(encode(%+v)) = %+v", e, again)
		}
	})
}

// TestReportDescriptor walks the descriptor's items as systemd's fido_id
// does (src/udev/fido_id/fido_id_desc.c) and checks the usage it finds and
// the two 64-byte reports.
func TestReportDescriptor(t *testing.T) {
	const (
		usagePage   = 0x04 // global item, tag 0
		usage       = 0x08 // local item, tag 0
		reportSize  = 0x74 // global item, tag 7
		reportCount = 0x94 // global item, tag 9
		input       = 0x80 // main item, tag 8
		output      = 0x90 // main item, tag 9
	)
	var page, fullUsage, size, count uint32
	var reports []string
	d := reportDescriptor[:]
	for len(d) > 0 {
		prefix := d[0]
		n := int(prefix & 3)
		if n == 3 {
			n = 4
		}
		if 1+n > len(d) {
			t.Fatalf("item 0x%02x runs past the end", prefix)
		}
		var v uint32
		for i := range n {
			v |= uint32(d[1+i]) << (8 * i)
		}
		d = d[1+n:]
		switch prefix &^ 3 {
		case usagePage:
			page = v
		case usage:
			if fullUsage == 0 {
				fullUsage = page<<16 | v
			}
		case reportSize:
			size = v
		case reportCount:
			count = v
		case input:
			reports = append(reports, "input")
			if size*count != 64*8 {
				t.Errorf("input report of %d bits, want 512", size*count)
			}
		case output:
			reports = append(reports, "output")
			if size*count != 64*8 {
				t.Errorf("output report of %d bits, want 512", size*count)
			}
		}
	}
	if fullUsage != 0xF1D00001 {
		t.Errorf("first usage 0x%08X, want 0xF1D00001 (FIDO, CTAPHID)", fullUsage)
	}
	if !reflect.DeepEqual(reports, []string{"input", "output"}) {
		t.Errorf("reports %v, want an input and an output", reports)
	}
	want := []byte{
		0x06, 0xD0, 0xF1, 0x09, 0x01, 0xA1, 0x01, 0x09, 0x20, 0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x40,
		0x81, 0x02, 0x09, 0x21, 0x15, 0x00, 0x26, 0xFF, 0x00, 0x75, 0x08, 0x95, 0x40, 0x91, 0x02, 0xC0,
	}
	if !bytes.Equal(reportDescriptor[:], want) {
		t.Errorf("descriptor\n% x\nwant (interop.md §7)\n% x", reportDescriptor[:], want)
	}
}

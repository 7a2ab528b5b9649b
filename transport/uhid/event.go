package uhid

import (
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
)

// This file is the encoding of struct uhid_event, the only thing written to
// and read from /dev/uhid. It is pure: no device, no system calls.
//
// The layouts are those of include/uapi/linux/uhid.h (Linux 6.1, the header
// of Debian 12's linux-libc-dev; a user-space ABI, kept stable). Every
// struct there is __attribute__((__packed__)), so fields follow each other
// without padding.
// The integers are plain __u16/__u32/__u64 that the kernel reads and writes
// as native integers, so they are in the host's byte order:
// binary.NativeEndian (little-endian on x86 and arm, the only hosts softkey
// is built for today).
//
// Short events are legal in both directions. The header says: "If
// user-space writes short events, they're extended with 0s by the kernel.
// If the kernel writes short events, user-space shall extend them with 0s."
// drivers/hid/uhid.c does exactly that: uhid_char_write zeroes its buffer,
// copies min(count, sizeof(struct uhid_event)) bytes (at least the 4-byte
// type, else EINVAL) and returns count; uhid_char_read copies
// min(count, sizeof(struct uhid_event)) bytes of the queued event and drops
// the event whatever the count, so reads must offer the whole size. Events
// are therefore written only as far as their meaningful bytes reach, and
// read into a buffer of [eventSize] bytes and zero-extended.

// eventType is the __u32 type that starts every event (enum uhid_event_type).
type eventType uint32

// Event types, enum uhid_event_type in include/uapi/linux/uhid.h. The gaps
// (0, 7, 8) are the obsolete UHID_CREATE, UHID_OUTPUT_EV and UHID_INPUT.
const (
	eventDestroy        eventType = 1  // UHID_DESTROY: user space removes the device
	eventStart          eventType = 2  // UHID_START: a HID driver bound the device
	eventStop           eventType = 3  // UHID_STOP: the driver let go of it
	eventOpen           eventType = 4  // UHID_OPEN: the first client opened it
	eventClose          eventType = 5  // UHID_CLOSE: the last client closed it
	eventOutput         eventType = 6  // UHID_OUTPUT: an output report for the device
	eventGetReport      eventType = 9  // UHID_GET_REPORT: the kernel asks for a report
	eventGetReportReply eventType = 10 // UHID_GET_REPORT_REPLY: the answer to it
	eventCreate2        eventType = 11 // UHID_CREATE2: user space creates the device
	eventInput2         eventType = 12 // UHID_INPUT2: an input report from the device
	eventSetReport      eventType = 13 // UHID_SET_REPORT: the kernel sends a report
	eventSetReportReply eventType = 14 // UHID_SET_REPORT_REPLY: the answer to it
)

var eventNames = map[eventType]string{
	eventDestroy:        "UHID_DESTROY",
	eventStart:          "UHID_START",
	eventStop:           "UHID_STOP",
	eventOpen:           "UHID_OPEN",
	eventClose:          "UHID_CLOSE",
	eventOutput:         "UHID_OUTPUT",
	eventGetReport:      "UHID_GET_REPORT",
	eventGetReportReply: "UHID_GET_REPORT_REPLY",
	eventCreate2:        "UHID_CREATE2",
	eventInput2:         "UHID_INPUT2",
	eventSetReport:      "UHID_SET_REPORT",
	eventSetReportReply: "UHID_SET_REPORT_REPLY",
}

// String returns the header's name of the type.
func (t eventType) String() string {
	if name, ok := eventNames[t]; ok {
		return name
	}
	return fmt.Sprintf("uhid event type %d", uint32(t))
}

// reportType is enum uhid_report_type, the rtype of report events.
type reportType uint8

// Report types, enum uhid_report_type in include/uapi/linux/uhid.h.
const (
	featureReport reportType = 0 // UHID_FEATURE_REPORT
	outputReport  reportType = 1 // UHID_OUTPUT_REPORT
	inputReport   reportType = 2 // UHID_INPUT_REPORT
)

func (r reportType) String() string {
	switch r {
	case featureReport:
		return "feature"
	case outputReport:
		return "output"
	case inputReport:
		return "input"
	}
	return fmt.Sprintf("report type %d", uint8(r))
}

// busUSB is BUS_USB from include/uapi/linux/input.h, the bus a created
// device claims to be on.
const busUSB = 0x03

// errnoEIO is EIO (include/uapi/asm-generic/errno-base.h), the err of the
// replies softkey sends to requests it does not serve. uhid.c only checks
// that err is not zero and then fails the request with -EIO.
const errnoEIO = 5

// Sizes from include/uapi/linux/uhid.h and include/uapi/linux/hid.h.
const (
	dataMax       = 4096 // UHID_DATA_MAX
	descriptorMax = 4096 // HID_MAX_DESCRIPTOR_SIZE

	typeSize = 4 // __u32 type, before the union

	// struct uhid_create2_req: name[128] phys[64] uniq[64] rd_size u16
	// bus u16 vendor u32 product u32 version u32 country u32
	// rd_data[HID_MAX_DESCRIPTOR_SIZE].
	nameSize    = 128
	physSize    = 64
	uniqSize    = 64
	create2Head = nameSize + physSize + uniqSize + 2 + 2 + 4*4 // 276: rd_data's offset
	create2Size = create2Head + descriptorMax                  // 4372

	outputSize         = dataMax + 2 + 1 // struct uhid_output_req: data[4096] size u16 rtype u8
	input2Size         = 2 + dataMax     // struct uhid_input2_req: size u16 data[4096]
	getReportSize      = 4 + 1 + 1       // struct uhid_get_report_req: id u32 rnum u8 rtype u8
	getReportReplySize = 4 + 2 + 2 + dataMax
	setReportSize      = 4 + 1 + 1 + 2 + dataMax
	setReportReplySize = 4 + 2
	startSize          = 8 // struct uhid_start_req: dev_flags u64

	// unionAlign is the alignment of the union in struct uhid_event. The
	// packed attribute applies to uhid_event itself, not to the union
	// inside it, and struct uhid_start_req (not packed) holds a __u64, so
	// the union is 8-aligned on 64-bit hosts and its size rounds up to a
	// multiple of 8. On i386, where a __u64 member is 4-aligned, it rounds
	// to 4 and the event is 4376 bytes.
	unionAlign = 8

	// eventSize is sizeof(struct uhid_event) on 64-bit hosts (x86-64,
	// arm64): the type and the union, whose largest member is
	// struct uhid_create2_req. gcc agrees (4380 with Debian's 6.1 headers).
	eventSize = typeSize + (create2Size+unionAlign-1)/unionAlign*unionAlign
)

// An event is one struct uhid_event: its type and its member of the union.
type event interface {
	eventType() eventType
	// appendPayload appends the union member's bytes, as far as they carry
	// meaning, to b.
	appendPayload(b []byte) ([]byte, error)
}

// marshalEvent encodes e as the bytes to write to /dev/uhid: the type and
// the payload, without the zero tail the kernel adds itself.
func marshalEvent(e event) ([]byte, error) {
	b := binary.NativeEndian.AppendUint32(make([]byte, 0, typeSize+create2Size), uint32(e.eventType()))
	b, err := e.appendPayload(b)
	if err != nil {
		return nil, fmt.Errorf("encoding %v: %w", e.eventType(), err)
	}
	return b, nil
}

// decodeEvent decodes an event read from /dev/uhid. b must hold at least
// the type; what it lacks of the union is taken as zeros. Types it does
// not know come back as a bareEvent, for the caller to skip.
func decodeEvent(b []byte) (event, error) {
	if len(b) < typeSize {
		return nil, fmt.Errorf("event of %d bytes is shorter than its type", len(b))
	}
	var buf [eventSize]byte
	copy(buf[:], b) // zero-extended, and a longer read is cut to the struct
	r := reader{b: buf[typeSize:]}
	t := eventType(binary.NativeEndian.Uint32(buf[:typeSize]))
	var (
		e   event
		err error
	)
	switch t {
	case eventStart:
		e = startEvent{DevFlags: r.u64()}
	case eventOutput:
		e, err = decodeOutput(&r)
	case eventGetReport:
		e = getReportEvent{ID: r.u32(), RNum: r.u8(), RType: reportType(r.u8())}
	case eventGetReportReply:
		e, err = decodeGetReportReply(&r)
	case eventSetReport:
		e, err = decodeSetReport(&r)
	case eventSetReportReply:
		e = setReportReplyEvent{ID: r.u32(), Err: r.u16()}
	case eventCreate2:
		e, err = decodeCreate2(&r)
	case eventInput2:
		e, err = decodeInput2(&r)
	default: // DESTROY, STOP, OPEN, CLOSE carry nothing; unknown types are skipped
		e = bareEvent(t)
	}
	if err != nil {
		return nil, fmt.Errorf("decoding %v: %w", t, err)
	}
	return e, nil
}

// bareEvent is an event without a payload: UHID_DESTROY, UHID_STOP,
// UHID_OPEN, UHID_CLOSE, or a type this package does not know.
type bareEvent eventType

func (e bareEvent) eventType() eventType                   { return eventType(e) }
func (e bareEvent) appendPayload(b []byte) ([]byte, error) { return b, nil }

// create2Event is UHID_CREATE2 (struct uhid_create2_req): create a device
// with the given identity and report descriptor.
type create2Event struct {
	Name, Phys, Uniq string // at most 127, 63 and 63 bytes, no NUL
	Bus              uint16
	Vendor, Product  uint32
	Version, Country uint32
	Descriptor       []byte // rd_data[:rd_size]; 1 to 4096 bytes
}

func (create2Event) eventType() eventType { return eventCreate2 }

func (e create2Event) appendPayload(b []byte) ([]byte, error) {
	if len(e.Descriptor) == 0 || len(e.Descriptor) > descriptorMax {
		// uhid_dev_create2 refuses rd_size 0 or above the maximum with EINVAL.
		return nil, fmt.Errorf("report descriptor of %d bytes, want 1 to %d", len(e.Descriptor), descriptorMax)
	}
	var err error
	if b, err = appendString(b, "name", e.Name, nameSize); err != nil {
		return nil, err
	}
	if b, err = appendString(b, "phys", e.Phys, physSize); err != nil {
		return nil, err
	}
	if b, err = appendString(b, "uniq", e.Uniq, uniqSize); err != nil {
		return nil, err
	}
	b = binary.NativeEndian.AppendUint16(b, uint16(len(e.Descriptor)))
	b = binary.NativeEndian.AppendUint16(b, e.Bus)
	b = binary.NativeEndian.AppendUint32(b, e.Vendor)
	b = binary.NativeEndian.AppendUint32(b, e.Product)
	b = binary.NativeEndian.AppendUint32(b, e.Version)
	b = binary.NativeEndian.AppendUint32(b, e.Country)
	return append(b, e.Descriptor...), nil
}

func decodeCreate2(r *reader) (event, error) {
	var e create2Event
	var err error
	if e.Name, err = r.cString("name", nameSize); err != nil {
		return nil, err
	}
	if e.Phys, err = r.cString("phys", physSize); err != nil {
		return nil, err
	}
	if e.Uniq, err = r.cString("uniq", uniqSize); err != nil {
		return nil, err
	}
	size := int(r.u16())
	e.Bus = r.u16()
	e.Vendor, e.Product, e.Version, e.Country = r.u32(), r.u32(), r.u32(), r.u32()
	if size == 0 || size > descriptorMax {
		return nil, fmt.Errorf("rd_size %d is outside 1..%d", size, descriptorMax)
	}
	e.Descriptor = r.data(size, descriptorMax)
	return e, nil
}

// startEvent is UHID_START (struct uhid_start_req): a HID driver bound the
// device; DevFlags says which report kinds are numbered.
type startEvent struct {
	DevFlags uint64
}

func (startEvent) eventType() eventType { return eventStart }

func (e startEvent) appendPayload(b []byte) ([]byte, error) {
	return binary.NativeEndian.AppendUint64(b, e.DevFlags), nil
}

// outputEvent is UHID_OUTPUT (struct uhid_output_req): a report a client
// wrote to the hidraw node, as the client wrote it (report ID first).
type outputEvent struct {
	Data  []byte // at most 4096 bytes
	RType reportType
}

func (outputEvent) eventType() eventType { return eventOutput }

func (e outputEvent) appendPayload(b []byte) ([]byte, error) {
	if len(e.Data) > dataMax {
		return nil, fmt.Errorf("%d bytes of data, at most %d fit", len(e.Data), dataMax)
	}
	b = append(b, e.Data...)
	b = append(b, make([]byte, dataMax-len(e.Data))...) // data[] is fixed; size and rtype follow it
	b = binary.NativeEndian.AppendUint16(b, uint16(len(e.Data)))
	return append(b, byte(e.RType)), nil
}

func decodeOutput(r *reader) (event, error) {
	data := r.bytes(dataMax)
	size := int(r.u16())
	rtype := reportType(r.u8())
	if size > dataMax {
		return nil, fmt.Errorf("size %d is above %d", size, dataMax)
	}
	return outputEvent{Data: clone(data[:size]), RType: rtype}, nil
}

// input2Event is UHID_INPUT2 (struct uhid_input2_req): a report the device
// sends to its clients.
type input2Event struct {
	Data []byte // at most 4096 bytes
}

func (input2Event) eventType() eventType { return eventInput2 }

func (e input2Event) appendPayload(b []byte) ([]byte, error) {
	if len(e.Data) > dataMax {
		return nil, fmt.Errorf("%d bytes of data, at most %d fit", len(e.Data), dataMax)
	}
	b = binary.NativeEndian.AppendUint16(b, uint16(len(e.Data)))
	return append(b, e.Data...), nil
}

func decodeInput2(r *reader) (event, error) {
	size := int(r.u16())
	if size > dataMax {
		return nil, fmt.Errorf("size %d is above %d", size, dataMax)
	}
	return input2Event{Data: r.data(size, dataMax)}, nil
}

// getReportEvent is UHID_GET_REPORT (struct uhid_get_report_req): the
// kernel asks for report RNum of type RType and waits (up to 5 s in
// uhid.c) for a UHID_GET_REPORT_REPLY with the same ID.
type getReportEvent struct {
	ID    uint32
	RNum  uint8
	RType reportType
}

func (getReportEvent) eventType() eventType { return eventGetReport }

func (e getReportEvent) appendPayload(b []byte) ([]byte, error) {
	b = binary.NativeEndian.AppendUint32(b, e.ID)
	return append(b, e.RNum, byte(e.RType)), nil
}

// getReportReplyEvent is UHID_GET_REPORT_REPLY
// (struct uhid_get_report_reply_req).
type getReportReplyEvent struct {
	ID   uint32
	Err  uint16 // an errno; not 0 fails the request
	Data []byte // at most 4096 bytes
}

func (getReportReplyEvent) eventType() eventType { return eventGetReportReply }

func (e getReportReplyEvent) appendPayload(b []byte) ([]byte, error) {
	if len(e.Data) > dataMax {
		return nil, fmt.Errorf("%d bytes of data, at most %d fit", len(e.Data), dataMax)
	}
	b = binary.NativeEndian.AppendUint32(b, e.ID)
	b = binary.NativeEndian.AppendUint16(b, e.Err)
	b = binary.NativeEndian.AppendUint16(b, uint16(len(e.Data)))
	return append(b, e.Data...), nil
}

func decodeGetReportReply(r *reader) (event, error) {
	e := getReportReplyEvent{ID: r.u32(), Err: r.u16()}
	size := int(r.u16())
	if size > dataMax {
		return nil, fmt.Errorf("size %d is above %d", size, dataMax)
	}
	e.Data = r.data(size, dataMax)
	return e, nil
}

// setReportEvent is UHID_SET_REPORT (struct uhid_set_report_req): the
// kernel sends report RNum of type RType and waits (up to 5 s) for a
// UHID_SET_REPORT_REPLY with the same ID.
type setReportEvent struct {
	ID    uint32
	RNum  uint8
	RType reportType
	Data  []byte // at most 4096 bytes
}

func (setReportEvent) eventType() eventType { return eventSetReport }

func (e setReportEvent) appendPayload(b []byte) ([]byte, error) {
	if len(e.Data) > dataMax {
		return nil, fmt.Errorf("%d bytes of data, at most %d fit", len(e.Data), dataMax)
	}
	b = binary.NativeEndian.AppendUint32(b, e.ID)
	b = append(b, e.RNum, byte(e.RType))
	b = binary.NativeEndian.AppendUint16(b, uint16(len(e.Data)))
	return append(b, e.Data...), nil
}

func decodeSetReport(r *reader) (event, error) {
	e := setReportEvent{ID: r.u32(), RNum: r.u8(), RType: reportType(r.u8())}
	size := int(r.u16())
	if size > dataMax {
		return nil, fmt.Errorf("size %d is above %d", size, dataMax)
	}
	e.Data = r.data(size, dataMax)
	return e, nil
}

// setReportReplyEvent is UHID_SET_REPORT_REPLY
// (struct uhid_set_report_reply_req).
type setReportReplyEvent struct {
	ID  uint32
	Err uint16 // an errno; not 0 fails the request
}

func (setReportReplyEvent) eventType() eventType { return eventSetReportReply }

func (e setReportReplyEvent) appendPayload(b []byte) ([]byte, error) {
	b = binary.NativeEndian.AppendUint32(b, e.ID)
	return binary.NativeEndian.AppendUint16(b, e.Err), nil
}

// appendString appends s as a zero-padded char[size]. It refuses strings
// of size bytes or more: uhid_dev_create2 copies at most size-1 bytes of
// name, phys and uniq into the hid_device (127, 63 and 63), so the last
// byte is always the terminating zero.
func appendString(b []byte, field, s string, size int) ([]byte, error) {
	if len(s) > size-1 {
		return nil, fmt.Errorf("%s of %d bytes, at most %d fit", field, len(s), size-1)
	}
	if strings.IndexByte(s, 0) >= 0 {
		return nil, fmt.Errorf("%s %q holds a NUL byte", field, s)
	}
	b = append(b, s...)
	return append(b, make([]byte, size-len(s))...), nil
}

// reader reads the fields of a union member in order. Its input is
// zero-extended to the whole struct first, so it never runs short.
type reader struct {
	b []byte
}

func (r *reader) bytes(n int) []byte {
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *reader) u8() uint8   { return r.bytes(1)[0] }
func (r *reader) u16() uint16 { return binary.NativeEndian.Uint16(r.bytes(2)) }
func (r *reader) u32() uint32 { return binary.NativeEndian.Uint32(r.bytes(4)) }
func (r *reader) u64() uint64 { return binary.NativeEndian.Uint64(r.bytes(8)) }

// data reads a fixed array of n bytes and returns a copy of its first
// size bytes (size <= n, checked by the caller).
func (r *reader) data(size, n int) []byte {
	return clone(r.bytes(n)[:size])
}

// cString reads a char[n] and returns it up to its first zero byte; a
// field without one is an error, as the kernel would cut its last byte.
func (r *reader) cString(field string, n int) (string, error) {
	b := r.bytes(n)
	i := strings.IndexByte(string(b), 0)
	if i < 0 {
		return "", errors.New(field + " is not terminated")
	}
	return string(b[:i]), nil
}

// clone copies b, so that decoded events never alias the read buffer. An
// empty b gives an empty, non-nil slice, so that round trips compare equal.
func clone(b []byte) []byte {
	return append([]byte{}, b...)
}

package ctaphid

import (
	"errors"

	"golang.org/x/crypto/cryptobyte"

	"github.com/softkeydev/softkey/ctap2"
)

// packet is one report, parsed (CTAP 2.1 §11.2.4).
type packet struct {
	cid  uint32
	init bool
	cmd  Command // initialisation packets only
	size int     // initialisation packets only: BCNT, the length of the whole message
	seq  uint8   // continuation packets only
	data []byte  // initDataSize or contDataSize bytes, aliasing the report
}

// parsePacket splits a report into header and data. It reports false for
// a report that is not ReportSize bytes long.
func parsePacket(report []byte) (packet, bool) {
	if len(report) != ReportSize {
		return packet{}, false
	}
	s := cryptobyte.String(report)
	var p packet
	var kind uint8
	if !s.ReadUint32(&p.cid) || !s.ReadUint8(&kind) {
		return packet{}, false
	}
	if kind&initBit != 0 {
		var size uint16
		if !s.ReadUint16(&size) {
			return packet{}, false
		}
		p.init, p.cmd, p.size = true, Command(kind&^initBit), int(size)
	} else {
		p.seq = kind
	}
	p.data = s
	return p, true
}

// message is a whole CTAPHID message, reassembled or about to be split.
type message struct {
	cid  uint32
	cmd  Command
	data []byte
}

// assembler collects the packets of one message (CTAP 2.1 §11.2.4): an
// initialisation packet and then continuation packets with sequence
// numbers counting up from 0. It holds at most one message at a time; what
// to do with packets of other channels is the caller's business. The zero
// value is idle.
type assembler struct {
	active bool
	cid    uint32
	cmd    Command
	size   int
	next   uint8 // sequence number expected in the next continuation packet
	buf    []byte
}

// start begins a message with its initialisation packet, dropping any
// message in progress. It returns the message at once when it fits in
// that packet. A declared length above MaxMessageSize gives
// CTAP1_ERR_INVALID_LENGTH.
func (a *assembler) start(p packet) (m message, done bool, err error) {
	a.reset()
	if !p.init {
		return message{}, false, errInvalidSeq
	}
	if p.size > MaxMessageSize {
		return message{}, false, errInvalidLen
	}
	a.active, a.cid, a.cmd, a.size = true, p.cid, p.cmd, p.size
	a.buf = make([]byte, 0, p.size)
	return a.append(p.data)
}

// add continues the message in progress with a continuation packet of the
// same channel. A sequence number other than the expected one abandons the
// message with CTAP1_ERR_INVALID_SEQ.
func (a *assembler) add(p packet) (m message, done bool, err error) {
	if !a.active || p.init || p.cid != a.cid {
		return message{}, false, errInvalidSeq
	}
	if p.seq != a.next {
		a.reset()
		return message{}, false, errInvalidSeq
	}
	a.next++
	return a.append(p.data)
}

// append adds the useful part of a packet's data and returns the message
// once it is complete, leaving the assembler idle.
func (a *assembler) append(data []byte) (message, bool, error) {
	missing := a.size - len(a.buf)
	a.buf = append(a.buf, data[:min(missing, len(data))]...)
	if len(a.buf) < a.size {
		return message{}, false, nil
	}
	m := message{cid: a.cid, cmd: a.cmd, data: a.buf}
	a.reset()
	return m, true, nil
}

// reset drops the message in progress, if any.
func (a *assembler) reset() {
	*a = assembler{}
}

// busyWith reports whether a message of another channel than cid is being
// assembled.
func (a *assembler) busyWith(cid uint32) bool {
	return a.active && a.cid != cid
}

// receiving reports whether a message of channel cid is being assembled.
func (a *assembler) receiving(cid uint32) bool {
	return a.active && a.cid == cid
}

// errorCode returns the CTAPHID error code an error stands for.
func errorCode(err error) ctap2.Status {
	var st ctap2.Status
	if errors.As(err, &st) {
		return st
	}
	return errOther
}

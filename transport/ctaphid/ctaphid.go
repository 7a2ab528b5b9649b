// Package ctaphid implements CTAPHID, the protocol that carries CTAP
// messages over 64-byte HID reports (CTAP 2.1 §11.2), independent of the
// wire that moves the reports.
//
// # Halves
//
// A [Server] is the authenticator half: it reads reports from a [Wire],
// allocates channels, reassembles messages, answers the CTAPHID commands
// itself (INIT, PING, WINK, LOCK, CANCEL) and passes CBOR and U2F messages
// to a [Handler], sending KEEPALIVE while the handler works.
//
// A [Device] is the host half: it allocates a channel on a device behind a
// Wire and exchanges whole messages with it. It satisfies ctap2.Transport.
//
// # Frames
//
// Every report is a packet (CTAP 2.1 §11.2.4). An initialisation packet is
// CID(4) | CMD with bit 7 set (1) | BCNTH | BCNTL | 57 data bytes; a
// continuation packet is CID(4) | SEQ 0..0x7F (1) | 59 data bytes. The
// receive side lives in receive.go, the send side in send.go.
package ctaphid

import (
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// Sizes of reports and messages (CTAP 2.1 §11.2.4).
const (
	// ReportSize is the size of every HID report CTAPHID uses, in both
	// directions.
	ReportSize = 64
	// MaxMessageSize is the largest message the framing can carry:
	// 57 bytes in the initialisation packet and 59 in each of 128
	// continuation packets.
	MaxMessageSize = initDataSize + (maxSeq+1)*contDataSize

	initHeaderSize = 7 // CID, CMD, BCNTH, BCNTL
	contHeaderSize = 5 // CID, SEQ
	initDataSize   = ReportSize - initHeaderSize
	contDataSize   = ReportSize - contHeaderSize
	maxSeq         = 0x7F
	initBit        = 0x80 // set in the CMD byte of an initialisation packet
)

// BroadcastCID is the channel on which a host asks for a channel of its own
// with CTAPHID_INIT (CTAP 2.1 §11.2.3). Channel 0 is reserved.
const BroadcastCID uint32 = 0xFFFFFFFF

// Command is a CTAPHID command (CTAP 2.1 §11.2.9), the low seven bits of
// the CMD byte of an initialisation packet.
type Command uint8

// CTAPHID commands, CTAP 2.1 §11.2.9.1 (mandatory) and §11.2.9.2 (optional).
const (
	CmdPing      Command = 0x01
	CmdMsg       Command = 0x03
	CmdLock      Command = 0x04
	CmdInit      Command = 0x06
	CmdWink      Command = 0x08
	CmdCBOR      Command = 0x10
	CmdCancel    Command = 0x11
	CmdKeepalive Command = 0x3B
	CmdError     Command = 0x3F
)

var commandNames = map[Command]string{
	CmdPing:      "CTAPHID_PING",
	CmdMsg:       "CTAPHID_MSG",
	CmdLock:      "CTAPHID_LOCK",
	CmdInit:      "CTAPHID_INIT",
	CmdWink:      "CTAPHID_WINK",
	CmdCBOR:      "CTAPHID_CBOR",
	CmdCancel:    "CTAPHID_CANCEL",
	CmdKeepalive: "CTAPHID_KEEPALIVE",
	CmdError:     "CTAPHID_ERROR",
}

// String returns the specification's name of the command.
func (c Command) String() string {
	if name, ok := commandNames[c]; ok {
		return name
	}
	return fmt.Sprintf("CTAPHID command 0x%02X", uint8(c))
}

// Capability is the capabilities byte of a CTAPHID_INIT answer
// (CTAP 2.1 §11.2.9.1.3).
type Capability uint8

// Capability flags, CTAP 2.1 §11.2.9.1.3.
const (
	CapWink Capability = 0x01 // implements CTAPHID_WINK
	CapCBOR Capability = 0x04 // implements CTAPHID_CBOR
	CapNMSG Capability = 0x08 // does not implement CTAPHID_MSG
)

// protocolVersion is the CTAPHID protocol version a device reports in its
// INIT answer (CTAP 2.1 §11.2.9.1.3).
const protocolVersion = 2

// CTAPHID error codes (CTAP 2.1 §11.2.9.1.6) share their values with the
// CTAP status codes of the same names, so ctap2.Status carries them.
const (
	errInvalidCmd     = ctap2.ErrInvalidCommand
	errInvalidPar     = ctap2.ErrInvalidParameter
	errInvalidLen     = ctap2.ErrInvalidLength
	errInvalidSeq     = ctap2.ErrInvalidSeq
	errMsgTimeout     = ctap2.ErrTimeout
	errChannelBusy    = ctap2.ErrChannelBusy
	errInvalidChannel = ctap2.ErrInvalidChannel
	errOther          = ctap2.ErrOther
)

// Wire moves HID reports, one whole report per call in each direction.
// A wire knows nothing of CTAPHID; it is a pseudo-terminal, a UDP socket,
// a uhid device or an in-memory pipe.
type Wire interface {
	// ReadReport blocks until the next report arrives. It returns an error
	// (for example net.ErrClosed or io.EOF) once the wire is closed.
	ReadReport() ([]byte, error)
	// WriteReport sends one report of ReportSize bytes.
	WriteReport(report []byte) error
}

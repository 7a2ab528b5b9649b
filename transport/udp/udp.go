// Package udp carries CTAPHID reports in UDP datagrams, one 64-byte report
// per datagram, the convention of open-source authenticator simulators
// (SoloKeys, OpenSK) that python-fido2-based suites connect to.
//
// A [Wire] answers whoever sent the most recent report, so a client may
// bind any local port. The 64-byte datagram [RebootDatagram] is not a
// report: it asks for a power cycle and goes to [Wire.OnReboot].
package udp

import (
	"bytes"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/softkeydev/softkey/transport/ctaphid"
)

// DefaultAddr is where simulators listen by convention.
const DefaultAddr = "127.0.0.1:8111"

// rebootHex is the datagram simulator-driven suites send to mean "reboot"
// (see the power-cycle section of the CTAP checklist).
const rebootHex = "ac1052ca95e569de69e02ebff333485f13f9b2da34c5a8a340526697a9ab2e0b" +
	"394d8d04973c134005be1a0140bff6045bb26eb77a73eaa47813f6b49a7250dc"

// RebootDatagram returns the 64-byte datagram that asks for a power cycle.
func RebootDatagram() []byte {
	b, err := hex.DecodeString(rebootHex)
	if err != nil {
		panic("internal error: bad reboot datagram constant: " + err.Error())
	}
	return b
}

// maxDatagram is the read buffer size: large enough to tell a datagram of
// the wrong size from a report.
const maxDatagram = 2048

// Wire is a UDP socket carrying CTAPHID reports. It implements
// ctaphid.Wire. Set OnReboot and Logger before the first ReadReport.
type Wire struct {
	// OnReboot, if set, is called from ReadReport when the reboot
	// datagram arrives; that datagram is not returned as a report.
	OnReboot func()
	// Logger receives a line for each datagram dropped; nil discards.
	Logger *slog.Logger

	conn   *net.UDPConn
	reboot []byte
	buf    []byte // read buffer; ReadReport is not called concurrently

	mu   sync.Mutex
	peer *net.UDPAddr // where replies go: the most recent sender
}

var _ ctaphid.Wire = (*Wire)(nil)

// Listen opens a wire on a local UDP address such as DefaultAddr;
// port 0 picks a free port (see Addr).
func Listen(addr string) (*Wire, error) {
	local, err := net.ResolveUDPAddr("udp", addr)
	if err != nil {
		return nil, fmt.Errorf("udp: resolving %q: %w", addr, err)
	}
	conn, err := net.ListenUDP("udp", local)
	if err != nil {
		return nil, fmt.Errorf("udp: listening: %w", err)
	}
	return &Wire{conn: conn, reboot: RebootDatagram(), buf: make([]byte, maxDatagram)}, nil
}

// Addr returns the local address the wire listens on.
func (w *Wire) Addr() net.Addr {
	return w.conn.LocalAddr()
}

// Close closes the socket; a blocked ReadReport returns net.ErrClosed.
func (w *Wire) Close() error {
	return w.conn.Close()
}

// ReadReport returns the next 64-byte datagram and remembers its sender
// as the peer replies go to. Datagrams of any other size are dropped.
func (w *Wire) ReadReport() ([]byte, error) {
	for {
		n, from, err := w.conn.ReadFromUDP(w.buf)
		if err != nil {
			return nil, fmt.Errorf("udp: reading: %w", err)
		}
		if n != ctaphid.ReportSize {
			w.logger().Debug("udp: dropping datagram that is not a report", "len", n, "from", from)
			continue
		}
		w.mu.Lock()
		w.peer = from
		w.mu.Unlock()
		if bytes.Equal(w.buf[:n], w.reboot) {
			w.logger().Debug("udp: reboot datagram", "from", from)
			if w.OnReboot != nil {
				w.OnReboot()
			}
			continue
		}
		return bytes.Clone(w.buf[:n]), nil
	}
}

// ErrNoPeer is returned by WriteReport before any report has arrived,
// since replies go to the sender of the most recent one.
var ErrNoPeer = errors.New("udp: no peer yet: nothing received")

// WriteReport sends a report to the sender of the most recent report.
func (w *Wire) WriteReport(report []byte) error {
	if len(report) != ctaphid.ReportSize {
		return fmt.Errorf("udp: report of %d bytes, want %d", len(report), ctaphid.ReportSize)
	}
	w.mu.Lock()
	peer := w.peer
	w.mu.Unlock()
	if peer == nil {
		return ErrNoPeer
	}
	if _, err := w.conn.WriteToUDP(report, peer); err != nil {
		return fmt.Errorf("udp: writing to %v: %w", peer, err)
	}
	return nil
}

func (w *Wire) logger() *slog.Logger {
	if w.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return w.Logger
}

package main

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net"
	"os"

	"github.com/softkeydev/softkey/transport/ctaphid"
)

// The host halves of the wires, for `softkey info`: what libfido2 does
// with a hidraw node or a pseudo-terminal, and what a UDP client does.

// pathWire is a CTAPHID device opened by path as libfido2 opens hidraw
// (interop.md §0): each write is a report ID 0 and the 64-byte report,
// each read one 64-byte report.
type pathWire struct {
	f *os.File
}

func (w *pathWire) WriteReport(report []byte) error {
	if len(report) != ctaphid.ReportSize {
		return fmt.Errorf("report of %d bytes, want %d", len(report), ctaphid.ReportSize)
	}
	buf := make([]byte, 1+ctaphid.ReportSize)
	copy(buf[1:], report)
	_, err := w.f.Write(buf)
	return err
}

func (w *pathWire) ReadReport() ([]byte, error) {
	buf := make([]byte, ctaphid.ReportSize)
	n := 0
	for n < ctaphid.ReportSize {
		m, err := w.f.Read(buf[n:])
		n += m
		if err != nil {
			return nil, err
		}
	}
	return buf, nil
}

func (w *pathWire) Close() error { return w.f.Close() }

// udpWire is a UDP client: one report per datagram, no report ID.
type udpWire struct {
	c *net.UDPConn
}

func (w *udpWire) WriteReport(report []byte) error {
	_, err := w.c.Write(report)
	return err
}

func (w *udpWire) ReadReport() ([]byte, error) {
	buf := make([]byte, 2*ctaphid.ReportSize)
	for {
		n, err := w.c.Read(buf)
		if err != nil {
			return nil, err
		}
		if n == ctaphid.ReportSize {
			return buf[:n], nil
		}
		// Not a report: ignore it, as a HID stack never sees one.
	}
}

func (w *udpWire) Close() error { return w.c.Close() }

// hostDevice is a CTAPHID device opened from the host side.
type hostDevice struct {
	*ctaphid.Device
	wire interface{ Close() error }
	stop func() bool
}

// Close ends the device's reader and closes the wire.
func (d *hostDevice) Close() error {
	d.stop()
	d.Device.Close()
	return d.wire.Close()
}

// openHostDevice opens the key at path (transport pty: a pseudo-terminal
// from softkey run, or a hidraw node) or at addr (transport udp) and runs
// CTAPHID INIT. The wire is closed when ctx ends, which ends any read.
func openHostDevice(ctx context.Context, transport, path, addr string) (*hostDevice, string, error) {
	var (
		wire interface {
			ctaphid.Wire
			Close() error
		}
		where string
	)
	switch transport {
	case "pty":
		f, err := os.OpenFile(path, os.O_RDWR, 0)
		if err != nil {
			return nil, path, withHints(fmt.Errorf("opening %s: %w", path, err),
				"softkey run prints the device path on its ready line")
		}
		fi, err := f.Stat()
		if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
			f.Close()
			return nil, path, fmt.Errorf("opening %s: not a character device", path)
		}
		wire, where = &pathWire{f: f}, path
	case "udp":
		raddr, err := net.ResolveUDPAddr("udp", addr)
		if err != nil {
			return nil, addr, fmt.Errorf("resolving %s: %w", addr, err)
		}
		c, err := net.DialUDP("udp", nil, raddr)
		if err != nil {
			return nil, addr, fmt.Errorf("connecting to %s: %w", addr, err)
		}
		wire, where = &udpWire{c: c}, "udp "+addr
	default:
		return nil, "", fmt.Errorf("unknown transport %q", transport)
	}
	stop := context.AfterFunc(ctx, func() { wire.Close() })
	dev, err := ctaphid.Open(ctx, wire, rand.Reader)
	if err != nil {
		stop()
		wire.Close()
		if ctx.Err() != nil {
			err = errors.Join(err, context.Cause(ctx))
		}
		return nil, where, withHints(fmt.Errorf("CTAPHID INIT on %s: %w", where, err),
			"is softkey run (or another key) serving there? Its ready line says where")
	}
	return &hostDevice{Device: dev, wire: wire, stop: stop}, where, nil
}

package ctaphid

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// ErrClosed is returned by the transactions of a closed Device.
var ErrClosed = errors.New("ctaphid: device closed")

// cancelGrace is how long a Device keeps waiting for the final answer
// after it has sent CTAPHID_CANCEL for a cancelled context.
const cancelGrace = 2 * time.Second

// Info is what a device says about itself in its CTAPHID_INIT answer
// (CTAP 2.1 §11.2.9.1.3).
type Info struct {
	Protocol     uint8   // CTAPHID protocol version, 2
	Version      [3]byte // device version: major, minor, build
	Capabilities Capability
}

// Device is the host half of CTAPHID: a channel on a device behind a Wire.
// It runs one transaction at a time and owns the wire's reads: a goroutine
// reads reports from Open until the wire fails or Close is called, so
// nothing else may read the wire meanwhile. Device satisfies
// ctap2.Transport.
type Device struct {
	w       Wire
	cid     uint32
	info    Info
	reports chan []byte
	readErr error         // set before reports is closed
	done    chan struct{} // closed by Close
	close   sync.Once
	mu      sync.Mutex // held for a whole transaction
}

var _ ctap2.Transport = (*Device)(nil)

// Open allocates a channel on the device behind w: it sends CTAPHID_INIT
// with a random nonce on the broadcast channel and keeps the channel of
// the answer that echoes the nonce (CTAP 2.1 §11.2.9.1.3). rand nil means
// crypto/rand.
func Open(ctx context.Context, w Wire, random io.Reader) (*Device, error) {
	if random == nil {
		random = rand.Reader
	}
	d := &Device{w: w, reports: make(chan []byte), done: make(chan struct{})}
	go d.read()
	if err := d.init(ctx, random); err != nil {
		d.Close()
		return nil, err
	}
	return d, nil
}

// init allocates the device's channel.
func (d *Device) init(ctx context.Context, random io.Reader) error {
	var nonce [8]byte
	if _, err := io.ReadFull(random, nonce[:]); err != nil {
		return fmt.Errorf("ctaphid: drawing INIT nonce: %w", err)
	}
	d.mu.Lock()
	defer d.mu.Unlock()
	if err := d.write(message{cid: BroadcastCID, cmd: CmdInit, data: nonce[:]}); err != nil {
		return err
	}
	for {
		// Other hosts may be allocating channels too: skip answers to
		// other nonces.
		answer, err := d.receive(ctx, BroadcastCID, CmdInit, false)
		if err != nil {
			return err
		}
		if len(answer) < 17 {
			return fmt.Errorf("ctaphid: INIT answer of %d bytes is shorter than 17", len(answer))
		}
		if !bytes.Equal(answer[:8], nonce[:]) {
			continue
		}
		d.cid = binary.BigEndian.Uint32(answer[8:12])
		d.info = Info{
			Protocol:     answer[12],
			Version:      [3]byte(answer[13:16]),
			Capabilities: Capability(answer[16]),
		}
		if d.cid == 0 || d.cid == BroadcastCID {
			return fmt.Errorf("ctaphid: device allocated the reserved channel %08x", d.cid)
		}
		return nil
	}
}

// Close stops the goroutine that reads the wire once it has nothing to
// deliver; it does not close the wire. A read already blocked in the wire
// ends when the wire is closed.
func (d *Device) Close() error {
	d.close.Do(func() { close(d.done) })
	return nil
}

// Info returns what the device reported in its INIT answer.
func (d *Device) Info() Info {
	return d.info
}

// CID returns the device's channel.
func (d *Device) CID() uint32 {
	return d.cid
}

// CBOR sends a CTAPHID_CBOR message (a CTAP2 command byte and CBOR) and
// returns the answer (status byte and CBOR). When ctx ends first, CBOR
// sends CTAPHID_CANCEL and keeps reading for the final answer, which
// typically carries CTAP2_ERR_KEEPALIVE_CANCEL. KEEPALIVE statuses are
// passed to ctap2.ReportKeepalive on ctx.
func (d *Device) CBOR(ctx context.Context, msg []byte) ([]byte, error) {
	return d.transact(ctx, CmdCBOR, msg, true)
}

// Message sends a U2F request APDU in a CTAPHID_MSG message and returns
// the response APDU. Cancellation works as for CBOR.
func (d *Device) Message(ctx context.Context, apdu []byte) ([]byte, error) {
	return d.transact(ctx, CmdMsg, apdu, true)
}

// Ping sends data in a CTAPHID_PING message and checks that the device
// echoes it.
func (d *Device) Ping(ctx context.Context, data []byte) error {
	echo, err := d.transact(ctx, CmdPing, data, false)
	if err != nil {
		return err
	}
	if !bytes.Equal(echo, data) {
		return fmt.Errorf("ctaphid: PING echo of %d bytes differs from the %d bytes sent", len(echo), len(data))
	}
	return nil
}

// Wink asks the device to identify itself (CTAPHID_WINK).
func (d *Device) Wink(ctx context.Context) error {
	_, err := d.transact(ctx, CmdWink, nil, false)
	return err
}

// transact sends one message on the device's channel and returns the
// answer. An ERROR answer becomes an error wrapping its ctap2.Status.
func (d *Device) transact(ctx context.Context, cmd Command, data []byte, cancellable bool) ([]byte, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	select {
	case <-d.done:
		return nil, ErrClosed
	default:
	}
	d.drain()
	if err := d.write(message{cid: d.cid, cmd: cmd, data: data}); err != nil {
		return nil, err
	}
	return d.receive(ctx, d.cid, cmd, cancellable)
}

// write sends one message.
func (d *Device) write(m message) error {
	reports, err := split(m)
	if err != nil {
		return err
	}
	for _, report := range reports {
		if err := d.w.WriteReport(report); err != nil {
			return fmt.Errorf("ctaphid: writing %s report: %w", m.cmd, err)
		}
	}
	return nil
}

// receive reads reports until the answer to cmd on channel cid is
// complete. It skips other channels, stale answers to other commands and
// KEEPALIVE (reporting its status on ctx), and turns ERROR into an error.
// When ctx ends it sends CANCEL if cancellable and waits up to cancelGrace
// for the answer, else it gives up at once.
func (d *Device) receive(ctx context.Context, cid uint32, cmd Command, cancellable bool) ([]byte, error) {
	var asm assembler
	ctxDone := ctx.Done()
	var grace <-chan time.Time
	for {
		select {
		case report, ok := <-d.reports:
			if !ok {
				return nil, fmt.Errorf("ctaphid: reading %s answer: %w", cmd, d.readErr)
			}
			p, ok := parsePacket(report)
			if !ok || p.cid != cid {
				continue
			}
			var (
				m    message
				done bool
				err  error
			)
			switch {
			case !p.init:
				if !asm.receiving(cid) {
					continue
				}
				m, done, err = asm.add(p)
			case p.cmd == CmdKeepalive:
				if p.size >= 1 {
					ctap2.ReportKeepalive(ctx, ctap2.KeepaliveStatus(p.data[0]))
				}
				continue
			case p.cmd == CmdError:
				code := errOther
				if p.size >= 1 {
					code = ctap2.Status(p.data[0])
				}
				return nil, fmt.Errorf("ctaphid: %s: device answered error: %w", cmd, code)
			case p.cmd == cmd:
				m, done, err = asm.start(p)
			default:
				continue // an answer left over from an earlier transaction
			}
			if err != nil {
				return nil, fmt.Errorf("ctaphid: receiving %s answer: %w", cmd, err)
			}
			if done {
				return m.data, nil
			}
		case <-ctxDone:
			if !cancellable {
				return nil, fmt.Errorf("ctaphid: waiting for %s answer: %w", cmd, context.Cause(ctx))
			}
			ctxDone = nil
			if err := d.write(message{cid: cid, cmd: CmdCancel}); err != nil {
				return nil, err
			}
			grace = time.After(cancelGrace)
		case <-grace:
			return nil, fmt.Errorf("ctaphid: no %s answer after CANCEL: %w", cmd, context.Cause(ctx))
		case <-d.done:
			return nil, ErrClosed
		}
	}
}

// read delivers the wire's reports to transactions until the wire fails or
// the device is closed.
func (d *Device) read() {
	for {
		report, err := d.w.ReadReport()
		if err != nil {
			d.readErr = err
			close(d.reports)
			return
		}
		select {
		case d.reports <- report:
		case <-d.done:
			return
		}
	}
}

// drain drops reports that arrived between transactions, such as the
// answer to a transaction given up on.
func (d *Device) drain() {
	for {
		select {
		case _, ok := <-d.reports:
			if !ok {
				return
			}
		default:
			return
		}
	}
}

package udp_test

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/ctaphid"
	"github.com/softkeydev/softkey/transport/udp"
)

// These tests drive a ctaphid.Server behind a udp.Wire with raw reports
// from a real UDP socket, one subtest per line of the CTAPHID section of
// the CTAP checklist. The frames are built here by hand, independently of
// package ctaphid, so that the two check each other.

const (
	waitLimit = 5 * time.Second

	cmdPing      = 0x01
	cmdMsg       = 0x03
	cmdLock      = 0x04
	cmdInit      = 0x06
	cmdWink      = 0x08
	cmdCBOR      = 0x10
	cmdCancel    = 0x11
	cmdKeepalive = 0x3B
	cmdError     = 0x3F

	errInvalidCmd     = 0x01
	errInvalidLen     = 0x03
	errInvalidSeq     = 0x04
	errMsgTimeout     = 0x05
	errChannelBusy    = 0x06
	errInvalidChannel = 0x0B

	broadcast = 0xFFFFFFFF
)

// touchHandler answers authenticatorMakeCredential (0x01) only after a
// touch: it reports UPNEEDED, signals started, and answers OK when
// released or KEEPALIVE_CANCEL when cancelled. It answers
// authenticatorGetInfo with a minimal getInfo; other CBOR messages are
// echoed after status OK, APDUs with status word 0x9000.
type touchHandler struct {
	started chan struct{}
	release chan struct{}
}

func newTouchHandler() *touchHandler {
	return &touchHandler{started: make(chan struct{}, 8), release: make(chan struct{})}
}

func (h *touchHandler) HandleCBOR(ctx context.Context, msg []byte) []byte {
	switch ctap2.Command(msg[0]) {
	case ctap2.CmdMakeCredential:
	case ctap2.CmdGetInfo:
		info, err := ctap2.Marshal(ctap2.GetInfoResponse{Versions: []string{"FIDO_2_1"}, AAGUID: make([]byte, 16)})
		if err != nil {
			return []byte{byte(ctap2.ErrOther)}
		}
		return append([]byte{0}, info...)
	default:
		return append([]byte{0}, msg...)
	}
	ctap2.ReportKeepalive(ctx, ctap2.KeepaliveUPNeeded)
	h.started <- struct{}{}
	select {
	case <-h.release:
		return []byte{0}
	case <-ctx.Done():
		return []byte{byte(ctap2.ErrKeepaliveCancel)}
	}
}

func (h *touchHandler) HandleMessage(_ context.Context, apdu []byte) []byte {
	return append(bytes.Clone(apdu), 0x90, 0x00)
}

// key is a server behind a UDP wire, as `softkey run --transport udp` runs it.
type key struct {
	wire     *udp.Wire
	server   *ctaphid.Server
	handler  *touchHandler
	rebooted chan struct{} // signalled after each power cycle
}

// start serves cfg (with a touchHandler unless cfg has a handler) on a
// fresh UDP port until the test ends.
func start(t *testing.T, cfg ctaphid.Config) *key {
	t.Helper()
	wire, err := udp.Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	k := &key{wire: wire, handler: newTouchHandler()}
	if cfg.Handler == nil {
		cfg.Handler = k.handler
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	k.server = ctaphid.NewServer(cfg)
	k.rebooted = make(chan struct{}, 1)
	wire.OnReboot = func() {
		k.server.Reset()
		select {
		case k.rebooted <- struct{}{}:
		default:
		}
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- k.server.Serve(ctx, wire) }()
	t.Cleanup(func() {
		cancel()
		wire.Close()
		<-served
	})
	return k
}

// host is a raw CTAPHID client on its own UDP socket.
type host struct {
	t    *testing.T
	conn *net.UDPConn
}

func (k *key) host(t *testing.T) *host {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, k.wire.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return &host{t: t, conn: conn}
}

// raw sends one 64-byte report starting with b.
func (h *host) raw(b ...byte) {
	h.t.Helper()
	r := make([]byte, 64)
	copy(r, b)
	if _, err := h.conn.Write(r); err != nil {
		h.t.Fatalf("sending report: %v", err)
	}
}

// initPacket sends an initialisation packet declaring size bytes.
func (h *host) initPacket(cid uint32, cmd byte, size int, data []byte) {
	h.t.Helper()
	b := binary.BigEndian.AppendUint32(nil, cid)
	h.raw(append(append(b, cmd|0x80, byte(size>>8), byte(size)), data...)...)
}

// contPacket sends a continuation packet.
func (h *host) contPacket(cid uint32, seq byte, data []byte) {
	h.t.Helper()
	b := binary.BigEndian.AppendUint32(nil, cid)
	h.raw(append(append(b, seq), data...)...)
}

// send sends a whole message (CTAP 2.1 §11.2.4).
func (h *host) send(cid uint32, cmd byte, data []byte) {
	h.t.Helper()
	first := data[:min(len(data), 57)]
	h.initPacket(cid, cmd, len(data), first)
	rest := data[len(first):]
	for seq := byte(0); len(rest) > 0; seq++ {
		chunk := rest[:min(len(rest), 59)]
		h.contPacket(cid, seq, chunk)
		rest = rest[len(chunk):]
	}
}

// report reads one report from the key.
func (h *host) report() []byte {
	h.t.Helper()
	buf := make([]byte, 128)
	h.conn.SetReadDeadline(time.Now().Add(waitLimit))
	n, err := h.conn.Read(buf)
	if err != nil {
		h.t.Fatalf("reading report: %v", err)
	}
	if n != 64 {
		h.t.Fatalf("key sent a datagram of %d bytes", n)
	}
	return buf[:n]
}

// answer is one message from the key.
type answer struct {
	cid  uint32
	cmd  byte
	data []byte
}

// recv reads one whole message.
func (h *host) recv() answer {
	h.t.Helper()
	r := h.report()
	if r[4]&0x80 == 0 {
		h.t.Fatalf("key sent continuation packet % x first", r[:5])
	}
	a := answer{cid: binary.BigEndian.Uint32(r), cmd: r[4] &^ 0x80}
	size := int(binary.BigEndian.Uint16(r[5:]))
	a.data = append(a.data, r[7:7+min(size, 57)]...)
	for seq := byte(0); len(a.data) < size; seq++ {
		r := h.report()
		if binary.BigEndian.Uint32(r) != a.cid || r[4] != seq {
			h.t.Fatalf("continuation % x, want channel %08x seq %d", r[:5], a.cid, seq)
		}
		a.data = append(a.data, r[5:5+min(size-len(a.data), 59)]...)
	}
	return a
}

// recvAnswer reads messages until one that is not a KEEPALIVE.
func (h *host) recvAnswer() answer {
	h.t.Helper()
	for {
		if a := h.recv(); a.cmd != cmdKeepalive {
			return a
		}
	}
}

func (h *host) expect(cid uint32, cmd byte, data []byte) {
	h.t.Helper()
	a := h.recv()
	if a.cid != cid || a.cmd != cmd || !bytes.Equal(a.data, data) {
		h.t.Fatalf("key sent channel %08x cmd %#02x % x; want channel %08x cmd %#02x % x", a.cid, a.cmd, a.data, cid, cmd, data)
	}
}

func (h *host) expectError(cid uint32, code byte) {
	h.t.Helper()
	h.expect(cid, cmdError, []byte{code})
}

// allocate does INIT on the broadcast channel and returns the new channel.
func (h *host) allocate() uint32 {
	h.t.Helper()
	nonce := []byte{0x10, 0x20, 0x30, 0x40, 0x50, 0x60, 0x70, 0x80}
	h.send(broadcast, cmdInit, nonce)
	a := h.recv()
	if a.cid != broadcast || a.cmd != cmdInit || len(a.data) != 17 || !bytes.Equal(a.data[:8], nonce) {
		h.t.Fatalf("INIT answer: channel %08x cmd %#02x % x", a.cid, a.cmd, a.data)
	}
	cid := binary.BigEndian.Uint32(a.data[8:])
	if cid == 0 || cid == broadcast {
		h.t.Fatalf("allocated reserved channel %08x", cid)
	}
	return cid
}

// ping proves the channel works and that nothing else was queued for it.
func (h *host) ping(cid uint32) {
	h.t.Helper()
	h.send(cid, cmdPing, []byte("are you there"))
	h.expect(cid, cmdPing, []byte("are you there"))
}

func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
}

func TestCTAPHIDOverUDP(t *testing.T) {
	t.Run("HID-1 INIT on broadcast allocates a channel", func(t *testing.T) {
		t.Parallel()
		k := start(t, ctaphid.Config{Version: [3]byte{1, 2, 3}})
		h := k.host(t)
		nonce := []byte("8 bytes!")
		h.send(broadcast, cmdInit, nonce)
		a := h.recv()
		if a.cid != broadcast || a.cmd != cmdInit || len(a.data) != 17 {
			t.Fatalf("INIT answer: channel %08x cmd %#02x % x", a.cid, a.cmd, a.data)
		}
		if !bytes.Equal(a.data[:8], nonce) {
			t.Errorf("nonce % x, want % x", a.data[:8], nonce)
		}
		if cid := binary.BigEndian.Uint32(a.data[8:]); cid == 0 || cid == broadcast {
			t.Errorf("channel %08x is reserved", cid)
		}
		if got := a.data[12:]; !bytes.Equal(got, []byte{2, 1, 2, 3, 0x01 | 0x04 | 0x08}) {
			t.Errorf("protocol, version, capabilities % x; want 02 01 02 03 0d", got)
		}
		second := h.allocate()
		if second == binary.BigEndian.Uint32(a.data[8:]) {
			t.Error("two INITs allocated the same channel")
		}
	})

	t.Run("HID-1 capabilities without NMSG when U2F is on", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{U2F: true}).host(t)
		h.send(broadcast, cmdInit, make([]byte, 8))
		if a := h.recv(); a.data[16] != 0x01|0x04 {
			t.Errorf("capabilities %#02x, want WINK|CBOR", a.data[16])
		}
	})

	t.Run("HID-1 INIT on an allocated channel resynchronises it", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		nonce := []byte("resync!!")
		h.send(cid, cmdInit, nonce)
		a := h.recv()
		if a.cid != cid || a.cmd != cmdInit || !bytes.Equal(a.data[:8], nonce) || binary.BigEndian.Uint32(a.data[8:]) != cid {
			t.Fatalf("resync answer: channel %08x cmd %#02x % x", a.cid, a.cmd, a.data)
		}
		h.ping(cid)
	})

	t.Run("HID-1 INIT in the middle of a message aborts it", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{MsgTimeout: 50 * time.Millisecond}).host(t)
		cid := h.allocate()
		h.initPacket(cid, cmdPing, 200, bytes.Repeat([]byte{0xAA}, 57))
		h.contPacket(cid, 0, bytes.Repeat([]byte{0xAA}, 59))
		h.send(cid, cmdInit, []byte("abort!!!"))
		if a := h.recv(); a.cmd != cmdInit || a.cid != cid {
			t.Fatalf("got cmd %#02x on %08x, want the INIT answer", a.cmd, a.cid)
		}
		// The aborted message neither completes nor times out.
		h.contPacket(cid, 1, nil)
		h.ping(cid)
	})

	t.Run("HID-1 PING echoes 0, 100, 1000 and 7609 bytes", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		for _, size := range []int{0, 100, 1000, 7609} {
			data := make([]byte, size)
			for i := range data {
				data[i] = byte(i ^ size)
			}
			begin := time.Now()
			h.send(cid, cmdPing, data)
			h.expect(cid, cmdPing, data)
			if d := time.Since(begin); d > time.Second {
				t.Errorf("PING of %d bytes took %v", size, d)
			}
		}
	})

	t.Run("HID-1 WINK answers empty", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.send(cid, cmdWink, nil)
		h.expect(cid, cmdWink, nil)
	})

	t.Run("HID-1 LOCK keeps other channels busy until LOCK 0", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		a, b := h.allocate(), h.allocate()
		h.send(a, cmdLock, []byte{10})
		h.expect(a, cmdLock, nil)
		h.send(b, cmdPing, []byte("x"))
		h.expectError(b, errChannelBusy)
		h.ping(a)
		h.send(a, cmdLock, []byte{0})
		h.expect(a, cmdLock, nil)
		h.ping(b)
	})

	t.Run("HID-1 CBOR goes to the handler", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.send(cid, cmdCBOR, []byte{0x55})
		h.expect(cid, cmdCBOR, []byte{0, 0x55})
		long := bytes.Repeat([]byte{0x55}, 2000)
		h.send(cid, cmdCBOR, long)
		h.expect(cid, cmdCBOR, append([]byte{0}, long...))
	})

	t.Run("HID-1 MSG goes to the handler when U2F is on", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{U2F: true}).host(t)
		cid := h.allocate()
		version := []byte{0x00, 0x03, 0x00, 0x00}
		h.send(cid, cmdMsg, version)
		h.expect(cid, cmdMsg, append(bytes.Clone(version), 0x90, 0x00))
	})

	t.Run("HID-1 MSG is INVALID_CMD when U2F is off", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.send(cid, cmdMsg, []byte{0x00, 0x03, 0x00, 0x00})
		h.expectError(cid, errInvalidCmd)
	})

	t.Run("HID-1 CBOR without payload is INVALID_LEN", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.initPacket(cid, cmdCBOR, 0, nil)
		h.expectError(cid, errInvalidLen)
	})

	t.Run("HID-1 unknown command 0x66 is INVALID_CMD", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.send(cid, 0x66, []byte{1, 2, 3})
		h.expectError(cid, errInvalidCmd)
		h.ping(cid)
	})

	t.Run("HID-1 declared length 0x1DBA is INVALID_LEN", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.initPacket(cid, cmdPing, 0x1DBA, nil)
		h.expectError(cid, errInvalidLen)
		h.ping(cid)
	})

	t.Run("HID-1 skipped sequence number is INVALID_SEQ", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.initPacket(cid, cmdPing, 300, nil)
		h.contPacket(cid, 0, nil)
		h.contPacket(cid, 2, nil)
		h.expectError(cid, errInvalidSeq)
		h.ping(cid)
	})

	t.Run("HID-1 message left incomplete is MSG_TIMEOUT within 400 ms to 1 s", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t) // the default timeout
		cid := h.allocate()
		begin := time.Now()
		h.initPacket(cid, cmdCBOR, 100, nil)
		h.expectError(cid, errMsgTimeout)
		if d := time.Since(begin); d < 400*time.Millisecond || d > time.Second {
			t.Errorf("MSG_TIMEOUT after %v, want 400 ms to 1 s", d)
		}
		h.ping(cid)
	})

	t.Run("HID-1 other channel mid-message is CHANNEL_BUSY, first still times out", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{MsgTimeout: 100 * time.Millisecond}).host(t)
		a, b := h.allocate(), h.allocate()
		begin := time.Now()
		h.initPacket(a, cmdPing, 100, nil)
		h.send(b, cmdPing, []byte("x"))
		h.expectError(b, errChannelBusy)
		if d := time.Since(begin); d >= 100*time.Millisecond {
			t.Errorf("CHANNEL_BUSY after %v, not at once", d)
		}
		h.expectError(a, errMsgTimeout)
		h.ping(b)
	})

	t.Run("HID-1 other channel mid-request is CHANNEL_BUSY", func(t *testing.T) {
		t.Parallel()
		k := start(t, ctaphid.Config{})
		h := k.host(t)
		a, b := h.allocate(), h.allocate()
		h.send(a, cmdCBOR, []byte{byte(ctap2.CmdMakeCredential)})
		wait(t, k.handler.started, "the request to wait for a touch")
		h.send(b, cmdPing, []byte("x"))
		if e := h.recvAnswer(); e.cid != b || e.cmd != cmdError || !bytes.Equal(e.data, []byte{errChannelBusy}) {
			t.Fatalf("got channel %08x cmd %#02x % x, want CHANNEL_BUSY on %08x", e.cid, e.cmd, e.data, b)
		}
		close(k.handler.release)
		if e := h.recvAnswer(); e.cid != a || e.cmd != cmdCBOR || !bytes.Equal(e.data, []byte{0}) {
			t.Fatalf("got channel %08x cmd %#02x % x, want the CBOR answer on %08x", e.cid, e.cmd, e.data, a)
		}
		h.ping(b)
	})

	t.Run("HID-1 non-INIT on channel 0 or broadcast is INVALID_CHANNEL", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		for _, cmd := range []byte{cmdPing, cmdCBOR, cmdMsg, cmdWink, cmdLock} {
			h.send(0, cmd, []byte{1})
			h.expectError(0, errInvalidChannel)
			h.send(broadcast, cmd, []byte{1})
			h.expectError(broadcast, errInvalidChannel)
		}
		h.send(0, cmdInit, make([]byte, 8))
		h.expectError(0, errInvalidChannel)
	})

	t.Run("HID-1 unallocated channel is INVALID_CHANNEL", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.send(cid+0x100, cmdPing, []byte{1})
		h.expectError(cid+0x100, errInvalidChannel)
		h.send(cid+0x100, cmdCBOR, []byte{4})
		h.expectError(cid+0x100, errInvalidChannel)
	})

	t.Run("HID-1 continuation packet without init is ignored", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.contPacket(cid, 0, []byte("stray"))
		h.contPacket(cid, 5, []byte("stray"))
		h.contPacket(0x01020304, 0, nil)
		h.ping(cid)
	})

	t.Run("HID-1 P-9 KEEPALIVE UPNEEDED at least every 100 ms, CANCEL gives 0x2D", func(t *testing.T) {
		// Not parallel: it measures time, so it runs while the parallel
		// subtests wait.
		k := start(t, ctaphid.Config{})
		h := k.host(t)
		cid := h.allocate()
		sent := time.Now()
		h.send(cid, cmdCBOR, []byte{byte(ctap2.CmdMakeCredential), 0xA0})
		last := sent
		for i := range 6 {
			a := h.recv()
			now := time.Now()
			if a.cid != cid || a.cmd != cmdKeepalive || !bytes.Equal(a.data, []byte{byte(ctap2.KeepaliveUPNeeded)}) {
				t.Fatalf("got channel %08x cmd %#02x % x, want KEEPALIVE UPNEEDED", a.cid, a.cmd, a.data)
			}
			if gap := now.Sub(last); gap > 100*time.Millisecond {
				t.Errorf("KEEPALIVE %d came %v after the previous message, want at most 100 ms", i, gap)
			}
			last = now
		}
		h.send(cid, cmdCancel, nil)
		a := h.recvAnswer()
		if a.cid != cid || a.cmd != cmdCBOR || !bytes.Equal(a.data, []byte{byte(ctap2.ErrKeepaliveCancel)}) {
			t.Fatalf("got channel %08x cmd %#02x % x, want CBOR 2d", a.cid, a.cmd, a.data)
		}
		// CANCEL itself got no answer, and no KEEPALIVE follows the answer.
		h.ping(cid)
	})

	t.Run("HID-1 CANCEL with nothing running gets no answer", func(t *testing.T) {
		t.Parallel()
		h := start(t, ctaphid.Config{}).host(t)
		cid := h.allocate()
		h.send(cid, cmdCancel, nil)
		h.ping(cid)
	})

	t.Run("HID-1 channels are independent", func(t *testing.T) {
		t.Parallel()
		k := start(t, ctaphid.Config{})
		h := k.host(t)
		a, b := h.allocate(), h.allocate()
		h.send(a, cmdCBOR, []byte{0x55, 'a'})
		h.expect(a, cmdCBOR, []byte{0x00, 0x55, 'a'})
		h.send(b, cmdCBOR, []byte{0x55, 'b'})
		h.expect(b, cmdCBOR, []byte{0x00, 0x55, 'b'})
		h.ping(a)
	})

	t.Run("replies go to the most recent sender", func(t *testing.T) {
		t.Parallel()
		k := start(t, ctaphid.Config{})
		first, second := k.host(t), k.host(t)
		cid := first.allocate()
		second.ping(cid)
		first.ping(cid)
	})

	t.Run("reboot datagram power-cycles the key", func(t *testing.T) {
		t.Parallel()
		k := start(t, ctaphid.Config{})
		h := k.host(t)
		cid := h.allocate()
		if _, err := h.conn.Write(udp.RebootDatagram()); err != nil {
			t.Fatal(err)
		}
		wait(t, k.rebooted, "OnReboot")
		h.send(cid, cmdPing, []byte("x"))
		h.expectError(cid, errInvalidChannel)
		h.allocate()
	})
}

// clientWire is the host side of a UDP link, for ctaphid.Open.
type clientWire struct{ conn *net.UDPConn }

func (w clientWire) ReadReport() ([]byte, error) {
	buf := make([]byte, 128)
	n, err := w.conn.Read(buf)
	if err != nil {
		return nil, err
	}
	return buf[:n], nil
}

func (w clientWire) WriteReport(r []byte) error {
	_, err := w.conn.Write(r)
	return err
}

func TestDeviceOverUDP(t *testing.T) {
	k := start(t, ctaphid.Config{U2F: true, Version: [3]byte{9, 8, 7}})
	h := k.host(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	d, err := ctaphid.Open(ctx, clientWire{h.conn}, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if info := d.Info(); info.Version != [3]byte{9, 8, 7} || info.Capabilities&ctaphid.CapNMSG != 0 {
		t.Errorf("Info() = %+v", info)
	}
	if err := d.Ping(ctx, make([]byte, 7609)); err != nil {
		t.Errorf("Ping: %v", err)
	}
	if got, err := d.CBOR(ctx, []byte{0x55}); err != nil || !bytes.Equal(got, []byte{0, 0x55}) {
		t.Errorf("CBOR = % x, %v", got, err)
	}
	if got, err := d.Message(ctx, []byte{0, 3, 0, 0}); err != nil || !bytes.Equal(got, []byte{0, 3, 0, 0, 0x90, 0}) {
		t.Errorf("Message = % x, %v", got, err)
	}

	// A cancelled context sends CANCEL and returns the final answer.
	reqCtx, reqCancel := context.WithCancel(ctx)
	results := make(chan []byte, 1)
	go func() {
		got, _ := d.CBOR(reqCtx, []byte{byte(ctap2.CmdMakeCredential)})
		results <- got
	}()
	wait(t, k.handler.started, "the request to wait for a touch")
	reqCancel()
	select {
	case got := <-results:
		if !bytes.Equal(got, []byte{byte(ctap2.ErrKeepaliveCancel)}) {
			t.Errorf("cancelled CBOR = % x, want 2d", got)
		}
	case <-time.After(waitLimit):
		t.Fatal("cancelled CBOR did not return")
	}

	// ctap2.Client works over the device.
	info, err := ctap2.NewClient(d).GetInfo(ctx)
	if err != nil || len(info.Versions) != 1 || info.Versions[0] != "FIDO_2_1" {
		t.Errorf("GetInfo = %+v, %v", info, err)
	}
	// An ERROR frame becomes an error wrapping the CTAPHID code.
	if _, err := d.CBOR(ctx, nil); !errors.Is(err, ctap2.ErrInvalidLength) {
		t.Errorf("empty CBOR = %v, want CTAP1_ERR_INVALID_LENGTH", err)
	}
}

package ctaphid

import (
	"bytes"
	"context"
	"encoding/binary"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// waitLimit bounds every wait in these tests; reaching it is a failure,
// never a way of letting time pass.
const waitLimit = 5 * time.Second

// pipeEnd is one end of an in-memory wire.
type pipeEnd struct {
	in     <-chan []byte
	out    chan<- []byte
	closed chan struct{}
	once   *sync.Once
}

// newPipe returns the two ends of an in-memory wire; closing either
// closes both.
func newPipe() (device, host *pipeEnd) {
	toDevice := make(chan []byte, 1024)
	toHost := make(chan []byte, 1024)
	closed := make(chan struct{})
	once := new(sync.Once)
	device = &pipeEnd{in: toDevice, out: toHost, closed: closed, once: once}
	host = &pipeEnd{in: toHost, out: toDevice, closed: closed, once: once}
	return device, host
}

func (p *pipeEnd) ReadReport() ([]byte, error) {
	select {
	case r := <-p.in:
		return r, nil
	case <-p.closed:
		return nil, io.EOF
	}
}

func (p *pipeEnd) WriteReport(report []byte) error {
	select {
	case <-p.closed:
		return net.ErrClosed
	default:
	}
	select {
	case p.out <- bytes.Clone(report):
		return nil
	case <-p.closed:
		return net.ErrClosed
	}
}

func (p *pipeEnd) Close() error {
	p.once.Do(func() { close(p.closed) })
	return nil
}

// counterRand yields 1, 2, 3… as big-endian uint32s, so that a test
// server allocates channels 1, 2, 3….
type counterRand struct {
	mu sync.Mutex
	n  uint32
}

func (c *counterRand) Read(p []byte) (int, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i := range p {
		if i%4 == 0 {
			c.n++
		}
		var b [4]byte
		binary.BigEndian.PutUint32(b[:], c.n)
		p[i] = b[i%4]
	}
	return len(p), nil
}

// echoHandler answers CBOR with status OK and the message, and APDUs with
// the APDU and status word 0x9000.
type echoHandler struct{}

func (echoHandler) HandleCBOR(_ context.Context, msg []byte) []byte {
	return append([]byte{0x00}, msg...)
}

func (echoHandler) HandleMessage(_ context.Context, apdu []byte) []byte {
	return append(bytes.Clone(apdu), 0x90, 0x00)
}

// blockingHandler waits for a touch: it reports UPNEEDED, signals started
// and answers OK when released, or CTAP2_ERR_KEEPALIVE_CANCEL when its
// context ends.
type blockingHandler struct {
	started chan struct{}
	release chan struct{}
}

func newBlockingHandler() *blockingHandler {
	return &blockingHandler{started: make(chan struct{}, 16), release: make(chan struct{})}
}

func (h *blockingHandler) HandleCBOR(ctx context.Context, msg []byte) []byte {
	ctap2.ReportKeepalive(ctx, ctap2.KeepaliveUPNeeded)
	h.started <- struct{}{}
	select {
	case <-h.release:
		ctap2.ReportKeepalive(ctx, ctap2.KeepaliveProcessing)
		return []byte{byte(ctap2.StatusOK)}
	case <-ctx.Done():
		return []byte{byte(ctap2.ErrKeepaliveCancel)}
	}
}

func (h *blockingHandler) HandleMessage(ctx context.Context, apdu []byte) []byte {
	if r := h.HandleCBOR(ctx, apdu); r[0] != 0 {
		return []byte{0x69, 0x85}
	}
	return []byte{0x90, 0x00}
}

// testLogger logs through t at Debug level, so that failures show frames.
func testLogger(t *testing.T) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// testDiscard is a logger for tests too chatty to log.
func testDiscard() *slog.Logger {
	return slog.New(slog.DiscardHandler)
}

type tWriter struct{ t *testing.T }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Helper()
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// serve starts a server with cfg on a fresh pipe and returns the host end
// as a rawHost. The server stops when the test ends.
func serve(t *testing.T, cfg Config) (*Server, *rawHost) {
	t.Helper()
	if cfg.Handler == nil {
		cfg.Handler = echoHandler{}
	}
	if cfg.Rand == nil {
		cfg.Rand = &counterRand{}
	}
	if cfg.Logger == nil {
		cfg.Logger = testLogger(t)
	}
	s := NewServer(cfg)
	device, host := newPipe()
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, device) }()
	t.Cleanup(func() {
		cancel()
		<-served
		device.Close()
	})
	return s, &rawHost{t: t, w: host}
}

// rawHost speaks CTAPHID frame by frame, for tests that need to break the
// rules.
type rawHost struct {
	t *testing.T
	w *pipeEnd
}

// report writes one raw report, zero-padded to ReportSize.
func (h *rawHost) report(b ...byte) {
	h.t.Helper()
	r := make([]byte, ReportSize)
	copy(r, b)
	if err := h.w.WriteReport(r); err != nil {
		h.t.Fatalf("writing report: %v", err)
	}
}

// initReport writes an initialisation packet declaring size bytes and
// carrying data (at most 57 bytes).
func (h *rawHost) initReport(cid uint32, cmd Command, size int, data []byte) {
	h.t.Helper()
	b := binary.BigEndian.AppendUint32(nil, cid)
	b = append(b, byte(cmd)|initBit, byte(size>>8), byte(size))
	h.report(append(b, data...)...)
}

// contReport writes a continuation packet.
func (h *rawHost) contReport(cid uint32, seq uint8, data []byte) {
	h.t.Helper()
	b := binary.BigEndian.AppendUint32(nil, cid)
	h.report(append(append(b, seq), data...)...)
}

// send writes a whole message.
func (h *rawHost) send(cid uint32, cmd Command, data []byte) {
	h.t.Helper()
	reports, err := split(message{cid: cid, cmd: cmd, data: data})
	if err != nil {
		h.t.Fatal(err)
	}
	for _, r := range reports {
		if err := h.w.WriteReport(r); err != nil {
			h.t.Fatalf("writing report: %v", err)
		}
	}
}

// next reads the next report, failing the test after waitLimit.
func (h *rawHost) next() packet {
	h.t.Helper()
	select {
	case r := <-h.w.in:
		p, ok := parsePacket(r)
		if !ok {
			h.t.Fatalf("device sent a report of %d bytes", len(r))
		}
		return p
	case <-time.After(waitLimit):
		h.t.Fatal("no report from the device")
		return packet{}
	}
}

// recv reads the next whole message.
func (h *rawHost) recv() message {
	h.t.Helper()
	var asm assembler
	p := h.next()
	if !p.init {
		h.t.Fatalf("device sent a continuation packet (seq %d) first", p.seq)
	}
	m, done, err := asm.start(p)
	for !done && err == nil {
		m, done, err = asm.add(h.next())
	}
	if err != nil {
		h.t.Fatalf("reassembling the device's message: %v", err)
	}
	return m
}

// expect reads the next message and checks its channel, command and data.
func (h *rawHost) expect(cid uint32, cmd Command, data []byte) {
	h.t.Helper()
	m := h.recv()
	if m.cid != cid || m.cmd != cmd || !bytes.Equal(m.data, data) {
		h.t.Fatalf("device sent channel %08x %s % x; want channel %08x %s % x", m.cid, m.cmd, m.data, cid, cmd, data)
	}
}

// expectError reads the next message and checks that it is ERROR code on cid.
func (h *rawHost) expectError(cid uint32, code ctap2.Status) {
	h.t.Helper()
	h.expect(cid, CmdError, []byte{byte(code)})
}

// allocate does INIT on the broadcast channel and returns the new channel.
func (h *rawHost) allocate() uint32 {
	h.t.Helper()
	nonce := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	h.send(BroadcastCID, CmdInit, nonce)
	m := h.recv()
	if m.cid != BroadcastCID || m.cmd != CmdInit || len(m.data) != 17 || !bytes.Equal(m.data[:8], nonce) {
		h.t.Fatalf("INIT answer: channel %08x %s % x", m.cid, m.cmd, m.data)
	}
	return binary.BigEndian.Uint32(m.data[8:12])
}

// ping checks that the device answers a PING on cid, which also proves
// that nothing else was queued before the answer.
func (h *rawHost) ping(cid uint32) {
	h.t.Helper()
	h.send(cid, CmdPing, []byte("ping"))
	h.expect(cid, CmdPing, []byte("ping"))
}

// wait waits for a signal, failing the test after waitLimit.
func wait(t *testing.T, c <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-c:
	case <-time.After(waitLimit):
		t.Fatalf("timed out waiting for %s", what)
	}
}

package ctaphid

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"testing"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// testMsgTimeout keeps MSG_TIMEOUT tests short; tests wait for the error
// report, not for the time to pass.
const testMsgTimeout = 50 * time.Millisecond

func TestServerErrors(t *testing.T) {
	const unallocated = 0x0BADC1D0
	tests := []struct {
		name string
		cfg  Config
		// send gets the channel the test allocated first and returns the
		// channel the error is expected on.
		send func(h *rawHost, cid uint32) uint32
		want ctap2.Status
	}{
		{
			name: "CBOR without payload",
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, CmdCBOR, 0, nil); return cid },
			want: ctap2.ErrInvalidLength,
		},
		{
			name: "unknown command 0x66",
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, 0x66, 1, []byte{0}); return cid },
			want: ctap2.ErrInvalidCommand,
		},
		{
			name: "vendor command 0x40",
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, 0x40, 0, nil); return cid },
			want: ctap2.ErrInvalidCommand,
		},
		{
			name: "KEEPALIVE from the host",
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, CmdKeepalive, 1, []byte{1}); return cid },
			want: ctap2.ErrInvalidCommand,
		},
		{
			name: "ERROR from the host",
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, CmdError, 1, []byte{1}); return cid },
			want: ctap2.ErrInvalidCommand,
		},
		{
			name: "MSG when U2F is off",
			send: func(h *rawHost, cid uint32) uint32 { h.send(cid, CmdMsg, []byte{0, 3, 0, 0}); return cid },
			want: ctap2.ErrInvalidCommand,
		},
		{
			name: "MSG without payload",
			cfg:  Config{U2F: true},
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, CmdMsg, 0, nil); return cid },
			want: ctap2.ErrInvalidLength,
		},
		{
			name: "declared length 0x1DBA",
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, CmdPing, 0x1DBA, nil); return cid },
			want: ctap2.ErrInvalidLength,
		},
		{
			name: "skipped sequence number",
			send: func(h *rawHost, cid uint32) uint32 {
				h.initReport(cid, CmdPing, 200, nil)
				h.contReport(cid, 0, nil)
				h.contReport(cid, 2, nil)
				return cid
			},
			want: ctap2.ErrInvalidSeq,
		},
		{
			name: "new message before the last is complete",
			send: func(h *rawHost, cid uint32) uint32 {
				h.initReport(cid, CmdPing, 200, nil)
				h.initReport(cid, CmdPing, 4, []byte("ping"))
				return cid
			},
			want: ctap2.ErrInvalidSeq,
		},
		{
			name: "message left incomplete",
			send: func(h *rawHost, cid uint32) uint32 { h.initReport(cid, CmdPing, 100, nil); return cid },
			want: ctap2.ErrTimeout,
		},
		{
			name: "PING on channel 0",
			send: func(h *rawHost, cid uint32) uint32 { h.send(0, CmdPing, []byte("x")); return 0 },
			want: ctap2.ErrInvalidChannel,
		},
		{
			name: "INIT on channel 0",
			send: func(h *rawHost, cid uint32) uint32 { h.send(0, CmdInit, make([]byte, 8)); return 0 },
			want: ctap2.ErrInvalidChannel,
		},
		{
			name: "PING on the broadcast channel",
			send: func(h *rawHost, cid uint32) uint32 { h.send(BroadcastCID, CmdPing, []byte("x")); return BroadcastCID },
			want: ctap2.ErrInvalidChannel,
		},
		{
			name: "CBOR on the broadcast channel",
			send: func(h *rawHost, cid uint32) uint32 { h.send(BroadcastCID, CmdCBOR, []byte{4}); return BroadcastCID },
			want: ctap2.ErrInvalidChannel,
		},
		{
			name: "PING on an unallocated channel",
			send: func(h *rawHost, cid uint32) uint32 { h.send(unallocated, CmdPing, []byte("x")); return unallocated },
			want: ctap2.ErrInvalidChannel,
		},
		{
			name: "INIT on an unallocated channel",
			send: func(h *rawHost, cid uint32) uint32 { h.send(unallocated, CmdInit, make([]byte, 8)); return unallocated },
			want: ctap2.ErrInvalidChannel,
		},
		{
			name: "INIT with a 7-byte nonce",
			send: func(h *rawHost, cid uint32) uint32 {
				h.send(BroadcastCID, CmdInit, make([]byte, 7))
				return BroadcastCID
			},
			want: ctap2.ErrInvalidLength,
		},
		{
			name: "LOCK for 11 seconds",
			send: func(h *rawHost, cid uint32) uint32 { h.send(cid, CmdLock, []byte{11}); return cid },
			want: ctap2.ErrInvalidParameter,
		},
		{
			name: "LOCK with two bytes",
			send: func(h *rawHost, cid uint32) uint32 { h.send(cid, CmdLock, []byte{1, 1}); return cid },
			want: ctap2.ErrInvalidLength,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			cfg := tt.cfg
			cfg.MsgTimeout = testMsgTimeout
			_, h := serve(t, cfg)
			cid := h.allocate()
			errCID := tt.send(h, cid)
			h.expectError(errCID, tt.want)
			h.ping(cid) // nothing else was sent, and the channel still works
		})
	}
}

func TestServerInitAllocates(t *testing.T) {
	_, h := serve(t, Config{Version: [3]byte{5, 6, 7}})
	nonce := []byte{0xDE, 0xAD, 0xBE, 0xEF, 0x01, 0x02, 0x03, 0x04}
	h.send(BroadcastCID, CmdInit, nonce)
	want := append(bytes.Clone(nonce), 0, 0, 0, 1, protocolVersion, 5, 6, 7, byte(CapWink|CapCBOR|CapNMSG))
	h.expect(BroadcastCID, CmdInit, want)

	h.send(BroadcastCID, CmdInit, nonce)
	want[11] = 2
	h.expect(BroadcastCID, CmdInit, want)
}

func TestServerInitCapabilitiesWithU2F(t *testing.T) {
	_, h := serve(t, Config{U2F: true})
	h.send(BroadcastCID, CmdInit, make([]byte, 8))
	if m := h.recv(); Capability(m.data[16]) != CapWink|CapCBOR {
		t.Errorf("capabilities %02x, want WINK|CBOR", m.data[16])
	}
}

func TestServerInitResync(t *testing.T) {
	_, h := serve(t, Config{})
	cid := h.allocate()
	nonce := []byte("resync!!")
	h.send(cid, CmdInit, nonce)
	h.expect(cid, CmdInit, append(append(bytes.Clone(nonce), 0, 0, 0, byte(cid)), protocolVersion, 0, 0, 0, byte(CapWink|CapCBOR|CapNMSG)))
	h.ping(cid)
}

func TestServerInitAbortsMessage(t *testing.T) {
	_, h := serve(t, Config{MsgTimeout: testMsgTimeout})
	cid := h.allocate()
	h.initReport(cid, CmdPing, 200, bytes.Repeat([]byte{1}, initDataSize))
	h.send(cid, CmdInit, make([]byte, 8))
	if m := h.recv(); m.cmd != CmdInit || m.cid != cid {
		t.Fatalf("got %s on %08x, want INIT answer", m.cmd, m.cid)
	}
	// The aborted message's continuation is now stray and ignored, and no
	// MSG_TIMEOUT follows.
	h.contReport(cid, 0, nil)
	h.ping(cid)
}

func TestServerPing(t *testing.T) {
	_, h := serve(t, Config{})
	cid := h.allocate()
	for _, size := range []int{0, 1, 57, 58, 100, 1000, MaxMessageSize} {
		data := make([]byte, size)
		for i := range data {
			data[i] = byte(i)
		}
		h.send(cid, CmdPing, data)
		h.expect(cid, CmdPing, data)
	}
}

func TestServerWink(t *testing.T) {
	_, h := serve(t, Config{})
	cid := h.allocate()
	h.send(cid, CmdWink, nil)
	h.expect(cid, CmdWink, nil)
}

func TestServerCBORAndMsg(t *testing.T) {
	_, h := serve(t, Config{U2F: true})
	cid := h.allocate()
	h.send(cid, CmdCBOR, []byte{0x04})
	h.expect(cid, CmdCBOR, []byte{0x00, 0x04})
	big := bytes.Repeat([]byte{0x42}, 3000)
	h.send(cid, CmdCBOR, big)
	h.expect(cid, CmdCBOR, append([]byte{0}, big...))
	h.send(cid, CmdMsg, []byte{0x00, 0x03, 0x00, 0x00})
	h.expect(cid, CmdMsg, []byte{0x00, 0x03, 0x00, 0x00, 0x90, 0x00})
}

// badHandler answers with what it is told to.
type badHandler struct{ answer []byte }

func (b badHandler) HandleCBOR(context.Context, []byte) []byte    { return b.answer }
func (b badHandler) HandleMessage(context.Context, []byte) []byte { return b.answer }

func TestServerUnusableAnswers(t *testing.T) {
	for _, answer := range [][]byte{nil, {}, make([]byte, MaxMessageSize+1)} {
		_, h := serve(t, Config{U2F: true, Handler: badHandler{answer}})
		cid := h.allocate()
		h.send(cid, CmdCBOR, []byte{0x04})
		h.expect(cid, CmdCBOR, []byte{byte(ctap2.ErrOther)})
		h.send(cid, CmdMsg, []byte{0, 3, 0, 0})
		h.expect(cid, CmdMsg, []byte{0x6F, 0x00})
	}
}

func TestServerLock(t *testing.T) {
	_, h := serve(t, Config{})
	a, b := h.allocate(), h.allocate()
	h.send(a, CmdLock, []byte{10})
	h.expect(a, CmdLock, nil)
	h.send(b, CmdPing, []byte("x"))
	h.expectError(b, ctap2.ErrChannelBusy)
	h.send(BroadcastCID, CmdInit, make([]byte, 8))
	h.expectError(BroadcastCID, ctap2.ErrChannelBusy)
	h.ping(a)
	h.send(a, CmdLock, []byte{0})
	h.expect(a, CmdLock, nil)
	h.ping(b)
}

func TestServerLockExpires(t *testing.T) {
	s, h := serve(t, Config{})
	a, b := h.allocate(), h.allocate()
	h.send(a, CmdLock, []byte{1})
	h.expect(a, CmdLock, nil)
	// Move the lock's end into the past rather than waiting a second.
	s.mu.Lock()
	s.lockEnds = time.Now().Add(-time.Millisecond)
	s.mu.Unlock()
	h.ping(b)
}

func TestServerBusyWhileReceiving(t *testing.T) {
	_, h := serve(t, Config{MsgTimeout: testMsgTimeout})
	a, b := h.allocate(), h.allocate()
	h.initReport(a, CmdPing, 100, nil)
	start := time.Now()
	h.send(b, CmdPing, []byte("x"))
	h.expectError(b, ctap2.ErrChannelBusy)
	h.send(BroadcastCID, CmdInit, make([]byte, 8))
	h.expectError(BroadcastCID, ctap2.ErrChannelBusy)
	// The first channel still times out normally.
	h.expectError(a, ctap2.ErrTimeout)
	if d := time.Since(start); d < testMsgTimeout {
		t.Errorf("MSG_TIMEOUT after %v, before the %v timeout", d, testMsgTimeout)
	}
	h.ping(b)
}

func TestServerDefaultMsgTimeout(t *testing.T) {
	_, h := serve(t, Config{})
	cid := h.allocate()
	start := time.Now()
	h.initReport(cid, CmdCBOR, 100, nil)
	h.expectError(cid, ctap2.ErrTimeout)
	if d := time.Since(start); d < 400*time.Millisecond || d > time.Second {
		t.Errorf("MSG_TIMEOUT after %v, want between 400 ms and 1 s", d)
	}
}

func TestServerContinuationWithoutInit(t *testing.T) {
	_, h := serve(t, Config{})
	cid := h.allocate()
	h.contReport(cid, 0, []byte("stray"))
	h.contReport(0x0BADC1D0, 5, nil)
	h.ping(cid)
}

func TestServerBusyWhileRequestRuns(t *testing.T) {
	handler := newBlockingHandler()
	_, h := serve(t, Config{Handler: handler, KeepaliveInterval: time.Hour})
	a, b := h.allocate(), h.allocate()
	h.send(a, CmdCBOR, []byte{0x01})
	wait(t, handler.started, "the request to start")
	h.send(b, CmdPing, []byte("x"))
	h.expectError(b, ctap2.ErrChannelBusy)
	h.send(a, CmdPing, []byte("x"))
	h.expectError(a, ctap2.ErrChannelBusy)
	// Allocating a channel does not disturb the request.
	c := h.allocate()
	close(handler.release)
	h.expect(a, CmdCBOR, []byte{0x00})
	h.ping(b)
	h.ping(c)
}

func TestServerCancel(t *testing.T) {
	handler := newBlockingHandler()
	_, h := serve(t, Config{Handler: handler, KeepaliveInterval: time.Hour})
	a, b := h.allocate(), h.allocate()
	h.send(a, CmdCBOR, []byte{0x01})
	wait(t, handler.started, "the request to start")
	// CANCEL on another channel cancels nothing and is not answered.
	h.send(b, CmdCancel, nil)
	h.send(a, CmdCancel, nil)
	h.expect(a, CmdCBOR, []byte{byte(ctap2.ErrKeepaliveCancel)})
	h.ping(b)
	// CANCEL with nothing running is not answered either.
	h.send(a, CmdCancel, nil)
	h.ping(a)
}

func TestServerKeepalive(t *testing.T) {
	handler := newBlockingHandler()
	_, h := serve(t, Config{Handler: handler, KeepaliveInterval: 10 * time.Millisecond})
	cid := h.allocate()
	h.send(cid, CmdCBOR, []byte{0x01})
	wait(t, handler.started, "the request to start")
	for range 3 {
		h.expect(cid, CmdKeepalive, []byte{byte(ctap2.KeepaliveUPNeeded)})
	}
	close(handler.release)
	h.expect(cid, CmdCBOR, []byte{0x00})
	h.ping(cid) // no keepalive after the answer
}

func TestServerKeepaliveIntervalCapped(t *testing.T) {
	s := NewServer(Config{KeepaliveInterval: time.Second})
	if s.keepaliveInterval != MaxKeepaliveInterval {
		t.Errorf("keepalive interval %v, want %v", s.keepaliveInterval, MaxKeepaliveInterval)
	}
	s = NewServer(Config{})
	if s.keepaliveInterval != DefaultKeepaliveInterval || s.msgTimeout != DefaultMsgTimeout {
		t.Errorf("defaults %v, %v", s.keepaliveInterval, s.msgTimeout)
	}
}

func TestServerResyncAbandonsRequest(t *testing.T) {
	handler := newBlockingHandler()
	_, h := serve(t, Config{Handler: handler, KeepaliveInterval: time.Hour})
	cid := h.allocate()
	h.send(cid, CmdCBOR, []byte{0x01})
	wait(t, handler.started, "the request to start")
	h.send(cid, CmdInit, make([]byte, 8))
	if m := h.recv(); m.cmd != CmdInit {
		t.Fatalf("got %s, want the INIT answer", m.cmd)
	}
	// The abandoned request's answer (KEEPALIVE_CANCEL) is never sent.
	h.ping(cid)
}

func TestServerChannelsAreIndependent(t *testing.T) {
	_, h := serve(t, Config{})
	a, b := h.allocate(), h.allocate()
	h.send(a, CmdCBOR, []byte("a"))
	h.expect(a, CmdCBOR, []byte("\x00a"))
	h.send(b, CmdCBOR, []byte("b"))
	h.expect(b, CmdCBOR, []byte("\x00b"))
}

func TestServerReset(t *testing.T) {
	handler := newBlockingHandler()
	s, h := serve(t, Config{Handler: handler, KeepaliveInterval: time.Hour})
	cid := h.allocate()
	h.send(cid, CmdCBOR, []byte{0x01})
	wait(t, handler.started, "the request to start")
	s.Reset()
	h.send(cid, CmdPing, []byte("x"))
	h.expectError(cid, ctap2.ErrInvalidChannel)
	if got := h.allocate(); got == 0 {
		t.Fatal("no channel after Reset")
	}
}

func TestServerEvictsOldChannels(t *testing.T) {
	_, h := serve(t, Config{Logger: testDiscard()})
	first := h.allocate()
	second := h.allocate()
	h.ping(first) // first is now used more recently than second
	// Allocate one more channel than the table holds.
	for range maxChannels - 1 {
		h.allocate()
	}
	h.ping(first)
	h.send(second, CmdPing, []byte("x"))
	h.expectError(second, ctap2.ErrInvalidChannel)
}

func TestServerAllocationFailure(t *testing.T) {
	_, h := serve(t, Config{Rand: bytes.NewReader(nil)})
	h.send(BroadcastCID, CmdInit, make([]byte, 8))
	h.expectError(BroadcastCID, ctap2.ErrOther)
}

func TestServerDropsWrongSizedReports(t *testing.T) {
	_, h := serve(t, Config{})
	cid := h.allocate()
	h.w.WriteReport(make([]byte, 65))
	h.w.WriteReport(nil)
	h.ping(cid)
}

func TestServeEnds(t *testing.T) {
	s := NewServer(Config{Handler: newBlockingHandler()})
	device, host := newPipe()
	served := make(chan error, 1)
	go func() { served <- s.Serve(context.Background(), device) }()
	h := &rawHost{t: t, w: host}
	cid := h.allocate()
	h.send(cid, CmdCBOR, []byte{1})
	host.Close()
	select {
	case err := <-served:
		if !errors.Is(err, io.EOF) {
			t.Errorf("Serve returned %v, want io.EOF wrapped", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Serve did not return after the wire closed")
	}

	ctx, cancel := context.WithCancel(context.Background())
	device, _ = newPipe()
	go func() { served <- s.Serve(ctx, device) }()
	cancel()
	select {
	case err := <-served:
		if !errors.Is(err, context.Canceled) {
			t.Errorf("Serve returned %v, want context.Canceled", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Serve did not return after ctx ended")
	}
	device.Close()
}

func TestServeTwice(t *testing.T) {
	s, h := serve(t, Config{})
	h.allocate() // the first Serve is running
	device, _ := newPipe()
	defer device.Close()
	if err := s.Serve(context.Background(), device); err == nil {
		t.Error("second concurrent Serve succeeded")
	}
}

func TestCounterRand(t *testing.T) {
	var r counterRand
	var b [8]byte
	r.Read(b[:])
	if binary.BigEndian.Uint32(b[:]) != 1 || binary.BigEndian.Uint32(b[4:]) != 2 {
		t.Errorf("counterRand gave % x", b)
	}
}

package ctaphid

import (
	"bytes"
	"context"
	"errors"
	"io"
	"sync"
	"testing"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// openDevice serves cfg on a fresh pipe and opens a Device on it.
func openDevice(t *testing.T, cfg Config) (*Server, *Device) {
	t.Helper()
	s, h := serve(t, cfg)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	d, err := Open(ctx, h.w, nil)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return s, d
}

func TestDeviceOpen(t *testing.T) {
	_, d := openDevice(t, Config{Version: [3]byte{1, 2, 3}})
	want := Info{Protocol: 2, Version: [3]byte{1, 2, 3}, Capabilities: CapWink | CapCBOR | CapNMSG}
	if d.Info() != want {
		t.Errorf("Info() = %+v, want %+v", d.Info(), want)
	}
	if d.CID() != 1 {
		t.Errorf("CID() = %08x, want 00000001", d.CID())
	}
}

func TestDeviceTransactions(t *testing.T) {
	_, d := openDevice(t, Config{U2F: true})
	ctx := context.Background()
	got, err := d.CBOR(ctx, []byte{0x04})
	if err != nil || !bytes.Equal(got, []byte{0x00, 0x04}) {
		t.Errorf("CBOR = % x, %v", got, err)
	}
	got, err = d.Message(ctx, []byte{0, 3, 0, 0})
	if err != nil || !bytes.Equal(got, []byte{0, 3, 0, 0, 0x90, 0x00}) {
		t.Errorf("Message = % x, %v", got, err)
	}
	for _, size := range []int{0, 100, 1000, MaxMessageSize} {
		if err := d.Ping(ctx, bytes.Repeat([]byte{0x5A}, size)); err != nil {
			t.Errorf("Ping(%d bytes): %v", size, err)
		}
	}
	if err := d.Wink(ctx); err != nil {
		t.Errorf("Wink: %v", err)
	}
	if err := d.Ping(ctx, make([]byte, MaxMessageSize+1)); err == nil {
		t.Error("Ping of MaxMessageSize+1 bytes succeeded")
	}
}

func TestDeviceErrorFrame(t *testing.T) {
	_, d := openDevice(t, Config{})
	_, err := d.Message(context.Background(), []byte{0, 3, 0, 0})
	if !errors.Is(err, ctap2.ErrInvalidCommand) {
		t.Errorf("Message without U2F: %v, want CTAP1_ERR_INVALID_COMMAND", err)
	}
	_, err = d.CBOR(context.Background(), nil)
	if !errors.Is(err, ctap2.ErrInvalidLength) {
		t.Errorf("empty CBOR: %v, want CTAP1_ERR_INVALID_LENGTH", err)
	}
}

func TestDeviceCancel(t *testing.T) {
	handler := newBlockingHandler()
	_, d := openDevice(t, Config{Handler: handler, KeepaliveInterval: 5 * time.Millisecond})
	var mu sync.Mutex
	var statuses []ctap2.KeepaliveStatus
	ctx, cancel := context.WithCancel(ctap2.WithKeepalive(context.Background(), func(s ctap2.KeepaliveStatus) {
		mu.Lock()
		defer mu.Unlock()
		statuses = append(statuses, s)
	}))
	defer cancel()
	type result struct {
		answer []byte
		err    error
	}
	results := make(chan result, 1)
	go func() {
		answer, err := d.CBOR(ctx, []byte{0x01})
		results <- result{answer, err}
	}()
	wait(t, handler.started, "the request to start")
	cancel()
	select {
	case r := <-results:
		if r.err != nil || !bytes.Equal(r.answer, []byte{byte(ctap2.ErrKeepaliveCancel)}) {
			t.Errorf("cancelled CBOR = % x, %v; want 2d", r.answer, r.err)
		}
	case <-time.After(waitLimit):
		t.Fatal("cancelled CBOR did not return")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, s := range statuses {
		if s != ctap2.KeepaliveUPNeeded {
			t.Errorf("keepalive status %d, want UPNEEDED", s)
		}
	}
}

func TestDeviceKeepaliveReported(t *testing.T) {
	handler := newBlockingHandler()
	_, d := openDevice(t, Config{Handler: handler, KeepaliveInterval: 5 * time.Millisecond})
	seen := make(chan struct{})
	var once sync.Once
	ctx := ctap2.WithKeepalive(context.Background(), func(s ctap2.KeepaliveStatus) {
		if s == ctap2.KeepaliveUPNeeded {
			once.Do(func() { close(seen) })
		}
	})
	results := make(chan error, 1)
	go func() {
		_, err := d.CBOR(ctx, []byte{0x01})
		results <- err
	}()
	wait(t, seen, "a KEEPALIVE UPNEEDED")
	close(handler.release)
	select {
	case err := <-results:
		if err != nil {
			t.Errorf("CBOR: %v", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("CBOR did not return")
	}
}

// scriptedDevice answers each host report with the reports script returns.
func scriptedDevice(t *testing.T, script func(p packet) [][]byte) *pipeEnd {
	t.Helper()
	device, host := newPipe()
	t.Cleanup(func() { device.Close() })
	go func() {
		for {
			r, err := device.ReadReport()
			if err != nil {
				return
			}
			p, ok := parsePacket(r)
			if !ok {
				continue
			}
			for _, answer := range script(p) {
				if device.WriteReport(answer) != nil {
					return
				}
			}
		}
	}()
	return host
}

// frames splits a message for a scripted device.
func frames(t *testing.T, cid uint32, cmd Command, data []byte) [][]byte {
	t.Helper()
	r, err := split(message{cid: cid, cmd: cmd, data: data})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func TestDeviceSkipsForeignAnswers(t *testing.T) {
	const cid = 0x11223344
	host := scriptedDevice(t, func(p packet) [][]byte {
		switch {
		case p.init && p.cmd == CmdInit:
			nonce := p.data[:8]
			foreign := append(bytes.Repeat([]byte{0xEE}, 8), 0, 0, 0, 9, 2, 0, 0, 0, 0)
			mine := append(bytes.Clone(nonce), 0x11, 0x22, 0x33, 0x44, 2, 1, 0, 0, byte(CapCBOR))
			var out [][]byte
			out = append(out, frames(t, BroadcastCID, CmdInit, foreign)...) // another host's nonce
			out = append(out, frames(t, BroadcastCID, CmdInit, mine)...)
			return out
		case p.init && p.cmd == CmdCBOR:
			var out [][]byte
			out = append(out, frames(t, cid+1, CmdCBOR, []byte{0x7F})...)  // another channel
			out = append(out, frames(t, cid, CmdPing, []byte("stale"))...) // an old answer
			out = append(out, frames(t, cid, CmdKeepalive, []byte{1})...)  // keepalive
			out = append(out, frames(t, cid, CmdCBOR, append([]byte{0}, p.data[:p.size]...))...)
			return out
		}
		return nil
	})
	d, err := Open(context.Background(), host, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	if d.CID() != cid {
		t.Fatalf("CID %08x, want %08x", d.CID(), cid)
	}
	got, err := d.CBOR(context.Background(), []byte{0x04})
	if err != nil || !bytes.Equal(got, []byte{0, 4}) {
		t.Errorf("CBOR = % x, %v", got, err)
	}
}

func TestDeviceOpenErrors(t *testing.T) {
	t.Run("short INIT answer", func(t *testing.T) {
		host := scriptedDevice(t, func(p packet) [][]byte {
			return frames(t, BroadcastCID, CmdInit, p.data[:8])
		})
		if _, err := Open(context.Background(), host, nil); err == nil {
			t.Error("Open accepted an 8-byte INIT answer")
		}
	})
	t.Run("reserved channel", func(t *testing.T) {
		host := scriptedDevice(t, func(p packet) [][]byte {
			return frames(t, BroadcastCID, CmdInit, append(bytes.Clone(p.data[:8]), 0, 0, 0, 0, 2, 0, 0, 0, 0))
		})
		if _, err := Open(context.Background(), host, nil); err == nil {
			t.Error("Open accepted channel 0")
		}
	})
	t.Run("no answer", func(t *testing.T) {
		host := scriptedDevice(t, func(packet) [][]byte { return nil })
		ctx, cancel := context.WithCancel(context.Background())
		cancel()
		if _, err := Open(ctx, host, nil); !errors.Is(err, context.Canceled) {
			t.Errorf("Open = %v, want context.Canceled", err)
		}
	})
	t.Run("wire closed", func(t *testing.T) {
		device, host := newPipe()
		device.Close()
		if _, err := Open(context.Background(), host, nil); err == nil {
			t.Error("Open on a closed wire succeeded")
		}
	})
	t.Run("rand fails", func(t *testing.T) {
		_, host := newPipe()
		defer host.Close()
		if _, err := Open(context.Background(), host, bytes.NewReader(nil)); !errors.Is(err, io.EOF) {
			t.Errorf("Open = %v, want io.EOF", err)
		}
	})
}

func TestDeviceWireClosed(t *testing.T) {
	device, host := newPipe()
	s := NewServer(Config{Handler: echoHandler{}})
	go s.Serve(context.Background(), device)
	d, err := Open(context.Background(), host, nil)
	if err != nil {
		t.Fatal(err)
	}
	host.Close()
	if _, err := d.CBOR(context.Background(), []byte{4}); err == nil {
		t.Error("CBOR on a closed wire succeeded")
	}
}

func TestDeviceClosed(t *testing.T) {
	_, d := openDevice(t, Config{})
	d.Close()
	if err := d.Ping(context.Background(), []byte("x")); !errors.Is(err, ErrClosed) {
		t.Errorf("Ping after Close = %v, want ErrClosed", err)
	}
}

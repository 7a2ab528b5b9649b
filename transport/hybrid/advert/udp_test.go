package advert

import (
	"context"
	"net"
	"runtime"
	"testing"
	"time"
)

// Both implementations satisfy the interfaces.
var (
	_ Advertiser = (*UDPAdvertiser)(nil)
	_ Scanner    = (*UDPScanner)(nil)
)

// advertVector is the service data of hybrid-cable.md §10.3.
var advertVector = [Size]byte{
	0x37, 0xec, 0x30, 0x3b, 0x42, 0xaa, 0x1f, 0xbf, 0xec, 0x0e,
	0xe3, 0x1e, 0x37, 0xa3, 0x6d, 0x64, 0xd6, 0x51, 0xa4, 0xf6,
}

func listen(t *testing.T) *UDPScanner {
	t.Helper()
	s, err := ListenUDP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatalf("ListenUDP: %v", err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// receive returns the next advert, failing after a timeout.
func receive(t *testing.T, ch <-chan [Size]byte) [Size]byte {
	t.Helper()
	select {
	case sd, ok := <-ch:
		if !ok {
			t.Fatal("scan channel closed early")
		}
		return sd
	case <-time.After(5 * time.Second):
		t.Fatal("no advert within 5s")
	}
	panic("unreachable")
}

// expectNone checks that ch delivers nothing for a while.
func expectNone(t *testing.T, ch <-chan [Size]byte, d time.Duration) {
	t.Helper()
	select {
	case sd := <-ch:
		t.Fatalf("unexpected advert %x", sd)
	case <-time.After(d):
	}
}

// waitClosed waits for ch to be closed.
func waitClosed(t *testing.T, ch <-chan [Size]byte) {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case _, ok := <-ch:
			if !ok {
				return
			}
		case <-timeout:
			t.Fatal("scan channel not closed within 5s of cancel")
		}
	}
}

// checkGoroutines waits until the goroutine count is back to before.
func checkGoroutines(t *testing.T, before int) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<16)
			t.Fatalf("goroutines: got %d, want %d\n%s", runtime.NumGoroutine(), before, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestAdvertiseScan(t *testing.T) {
	before := runtime.NumGoroutine()
	s := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := s.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}

	a := &UDPAdvertiser{Addr: s.Addr(), Interval: 5 * time.Millisecond}
	advCtx, advCancel := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- a.Advertise(advCtx, advertVector) }()

	if got := receive(t, ch); got != advertVector {
		t.Errorf("advert: got %x, want %x", got, advertVector)
	}
	// Repeats of the same advert are delivered once.
	expectNone(t, ch, 50*time.Millisecond)

	advCancel()
	if err := <-done; err != nil {
		t.Errorf("Advertise after cancel: got %v, want nil", err)
	}

	// A different advert is delivered.
	other := advertVector
	other[0] ^= 0xff
	advCtx, advCancel = context.WithCancel(ctx)
	go func() { done <- a.Advertise(advCtx, other) }()
	if got := receive(t, ch); got != other {
		t.Errorf("second advert: got %x, want %x", got, other)
	}
	advCancel()
	if err := <-done; err != nil {
		t.Errorf("Advertise after cancel: got %v, want nil", err)
	}

	cancel()
	waitClosed(t, ch)
	if _, err := s.Scan(t.Context()); err == nil {
		t.Error("second Scan: got nil error, want one")
	}
	checkGoroutines(t, before)
}

func TestScanDropsWrongSizes(t *testing.T) {
	s := listen(t)
	ctx, cancel := context.WithCancel(t.Context())
	defer cancel()
	ch, err := s.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	conn, err := net.Dial("udp", s.Addr())
	if err != nil {
		t.Fatalf("Dial: %v", err)
	}
	defer conn.Close()
	for _, n := range []int{0, 1, Size - 1, Size + 1, 31, 1000} {
		b := make([]byte, n)
		for i := range b {
			b[i] = byte(i + 1)
		}
		if _, err := conn.Write(b); err != nil {
			t.Fatalf("writing %d bytes: %v", n, err)
		}
	}
	expectNone(t, ch, 100*time.Millisecond)

	// A right-sized datagram after the wrong ones still arrives.
	if _, err := conn.Write(advertVector[:]); err != nil {
		t.Fatalf("writing advert: %v", err)
	}
	if got := receive(t, ch); got != advertVector {
		t.Errorf("advert: got %x, want %x", got, advertVector)
	}
}

func TestAdvertiseNobodyListening(t *testing.T) {
	// Find a free port, then let it go: datagrams to it are refused.
	s := listen(t)
	addr := s.Addr()
	s.Close()
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	a := &UDPAdvertiser{Addr: addr, Interval: time.Millisecond}
	if err := a.Advertise(ctx, advertVector); err != nil {
		t.Errorf("Advertise: got %v, want nil", err)
	}
}

func TestAdvertiseBadAddr(t *testing.T) {
	a := &UDPAdvertiser{Addr: "nonsense"}
	if err := a.Advertise(t.Context(), advertVector); err == nil {
		t.Error("Advertise to \"nonsense\": got nil error, want one")
	}
	if _, err := ListenUDP("nonsense", nil); err == nil {
		t.Error("ListenUDP(\"nonsense\"): got nil error, want one")
	}
}

func TestCancelStopsBoth(t *testing.T) {
	before := runtime.NumGoroutine()
	s, err := ListenUDP("127.0.0.1:0", nil)
	if err != nil {
		t.Fatalf("ListenUDP: %v", err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	ch, err := s.Scan(ctx)
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	done := make(chan error, 1)
	a := &UDPAdvertiser{Addr: s.Addr(), Interval: time.Millisecond}
	go func() { done <- a.Advertise(ctx, advertVector) }()
	receive(t, ch)
	// Nobody reads the channel now; cancel must still stop the scanner,
	// which may be blocked sending.
	time.Sleep(20 * time.Millisecond)
	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Errorf("Advertise: got %v, want nil", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("Advertise did not return within 5s of cancel")
	}
	waitClosed(t, ch)
	checkGoroutines(t, before)
	// The socket is released: the port can be bound again.
	s2, err := ListenUDP(s.Addr(), nil)
	if err != nil {
		t.Fatalf("listening again on %s: %v", s.Addr(), err)
	}
	s2.Close()
}

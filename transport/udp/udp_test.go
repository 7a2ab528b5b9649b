package udp

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"
)

// dial returns a client socket sending to w.
func dial(t *testing.T, w *Wire) *net.UDPConn {
	t.Helper()
	conn, err := net.DialUDP("udp", nil, w.Addr().(*net.UDPAddr))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

func listen(t *testing.T) *Wire {
	t.Helper()
	w, err := Listen("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { w.Close() })
	return w
}

func report(b byte) []byte {
	return bytes.Repeat([]byte{b}, 64)
}

func TestWireRoundTrip(t *testing.T) {
	w := listen(t)
	c := dial(t, w)
	if _, err := c.Write(report(1)); err != nil {
		t.Fatal(err)
	}
	got, err := w.ReadReport()
	if err != nil || !bytes.Equal(got, report(1)) {
		t.Fatalf("ReadReport = % x, %v", got, err)
	}
	if err := w.WriteReport(report(2)); err != nil {
		t.Fatal(err)
	}
	buf := make([]byte, 100)
	c.SetReadDeadline(time.Now().Add(5 * time.Second))
	n, err := c.Read(buf)
	if err != nil || !bytes.Equal(buf[:n], report(2)) {
		t.Fatalf("client read % x, %v", buf[:n], err)
	}
}

func TestWireDropsOtherSizes(t *testing.T) {
	w := listen(t)
	c := dial(t, w)
	for _, n := range []int{0, 1, 63, 65, 1000} {
		c.Write(make([]byte, n))
	}
	c.Write(report(3))
	got, err := w.ReadReport()
	if err != nil || !bytes.Equal(got, report(3)) {
		t.Fatalf("ReadReport = % x, %v; want the 64-byte report", got, err)
	}
}

func TestWireRepliesToLatestSender(t *testing.T) {
	w := listen(t)
	first, second := dial(t, w), dial(t, w)
	first.Write(report(1))
	if _, err := w.ReadReport(); err != nil {
		t.Fatal(err)
	}
	second.Write(report(2))
	if _, err := w.ReadReport(); err != nil {
		t.Fatal(err)
	}
	w.WriteReport(report(9))
	buf := make([]byte, 64)
	second.SetReadDeadline(time.Now().Add(5 * time.Second))
	if _, err := second.Read(buf); err != nil {
		t.Fatalf("second sender got no reply: %v", err)
	}
}

func TestWireReboot(t *testing.T) {
	w := listen(t)
	rebooted := 0
	w.OnReboot = func() { rebooted++ }
	c := dial(t, w)
	c.Write(RebootDatagram())
	c.Write(report(4))
	got, err := w.ReadReport()
	if err != nil || !bytes.Equal(got, report(4)) {
		t.Fatalf("ReadReport = % x, %v; want the report after the reboot datagram", got, err)
	}
	if rebooted != 1 {
		t.Errorf("OnReboot called %d times, want 1", rebooted)
	}
	if len(RebootDatagram()) != 64 {
		t.Errorf("reboot datagram has %d bytes", len(RebootDatagram()))
	}
}

func TestWireErrors(t *testing.T) {
	w := listen(t)
	if err := w.WriteReport(report(1)); !errors.Is(err, ErrNoPeer) {
		t.Errorf("WriteReport before any read = %v, want ErrNoPeer", err)
	}
	if err := w.WriteReport(make([]byte, 65)); err == nil {
		t.Error("WriteReport accepted 65 bytes")
	}
	w.Close()
	if _, err := w.ReadReport(); !errors.Is(err, net.ErrClosed) {
		t.Errorf("ReadReport after Close = %v, want net.ErrClosed", err)
	}
	if _, err := Listen("not an address"); err == nil {
		t.Error("Listen accepted a bad address")
	}
}

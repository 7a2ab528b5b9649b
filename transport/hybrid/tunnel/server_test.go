package tunnel

import (
	"bytes"
	"context"
	"errors"
	"net/http"
	"runtime"
	"strings"
	"testing"
	"time"

	"log/slog"
	"net/http/httptest"

	"github.com/coder/websocket"
)

const (
	tunnelA = "000102030405060708090a0b0c0d0e0f"
	tunnelB = "F0F1F2F3F4F5F6F7F8F9FAFBFCFDFEFF"
	tunnelC = "0123456789abcdef0123456789ABCDEF"
)

func TestRelayBothWays(t *testing.T) {
	ts := startServer(t, Config{RoutingID: [3]byte{0x2a, 0, 0}})
	phone := dial(t, ts.newURL(tunnelA))
	if got, want := phone.RoutingID(), "2A0000"; got != want {
		t.Fatalf("routing ID header = %q, want %q", got, want)
	}
	desktop := dial(t, ts.connectURL("2a0000", strings.ToUpper(tunnelA)))

	write(t, desktop, []byte("handshake from desktop"))
	write(t, desktop, nil) // boundaries kept, empty messages too
	if got := read(t, phone); string(got) != "handshake from desktop" {
		t.Errorf("phone got %q", got)
	}
	if got := read(t, phone); len(got) != 0 {
		t.Errorf("phone got %q, want an empty message", got)
	}
	big := bytes.Repeat([]byte{0xa5}, 64<<10)
	write(t, phone, big)
	if got := read(t, desktop); !bytes.Equal(got, big) {
		t.Errorf("desktop got %d bytes, want the 64 KiB sent", len(got))
	}

	if err := desktop.Close(); err != nil {
		t.Fatalf("desktop Close: %v", err)
	}
	if code, _ := readClosed(t, phone); code != int(websocket.StatusNormalClosure) {
		t.Errorf("phone close code = %d, want 1000", code)
	}
	attrs := ts.log.waitLog(t, "tunnel: closed")
	if !strings.Contains(attrs["reason"], "the desktop closed") {
		t.Errorf("logged reason %q, want the desktop closed", attrs["reason"])
	}
}

func TestQueuedUntilPeerJoins(t *testing.T) {
	ts := startServer(t, Config{MaxQueued: 4})
	phone := dial(t, ts.newURL(tunnelA))
	for _, m := range []string{"one", "two", "three"} {
		write(t, phone, []byte(m))
	}
	desktop := dial(t, ts.connectURL("000000", tunnelA))
	for _, want := range []string{"one", "two", "three"} {
		if got := read(t, desktop); string(got) != want {
			t.Errorf("desktop got %q, want %q", got, want)
		}
	}
	write(t, desktop, []byte("reply"))
	if got := read(t, phone); string(got) != "reply" {
		t.Errorf("phone got %q, want reply", got)
	}
}

func TestQueueLimitBeforeJoin(t *testing.T) {
	ts := startServer(t, Config{MaxQueued: 2})
	phone := dial(t, ts.newURL(tunnelA))
	for range 3 {
		write(t, phone, []byte("x"))
	}
	if code, _ := readClosed(t, phone); code != int(websocket.StatusPolicyViolation) {
		t.Errorf("close code = %d, want 1008", code)
	}
	attrs := ts.log.waitLog(t, "tunnel: closed")
	if want := "the phone sent more than 2 messages before the desktop joined"; attrs["reason"] != want {
		t.Errorf("logged reason %q, want %q", attrs["reason"], want)
	}
	if status := dialStatus(t, ts.connectURL("000000", tunnelA), DialOptions{}); status != http.StatusNotFound {
		t.Errorf("joining a closed tunnel: HTTP %d, want 404", status)
	}
}

func TestPeerNeverJoins(t *testing.T) {
	clock := newFakeClock()
	ts := startServer(t, Config{Clock: clock, JoinTimeout: time.Minute})
	phone := dial(t, ts.newURL(tunnelA))
	clock.Advance(59 * time.Second)
	if n := ts.Tunnels(); n != 1 {
		t.Fatalf("%d tunnels before the timeout, want 1", n)
	}
	clock.Advance(time.Second)
	code, reason := readClosed(t, phone)
	if code != int(websocket.StatusPolicyViolation) || !strings.Contains(reason, "never joined") {
		t.Errorf("close = %d %q, want 1008 ... never joined", code, reason)
	}
	attrs := ts.log.waitLog(t, "tunnel: closed")
	if want := "the desktop never joined (1m0s)"; attrs["reason"] != want {
		t.Errorf("logged reason %q, want %q", attrs["reason"], want)
	}
	if n := ts.Tunnels(); n != 0 {
		t.Errorf("%d tunnels after the timeout, want 0", n)
	}
}

func TestIdleTimeout(t *testing.T) {
	clock := newFakeClock()
	ts := startServer(t, Config{Clock: clock, IdleTimeout: 30 * time.Second})
	phone := dial(t, ts.newURL(tunnelA))
	desktop := dial(t, ts.connectURL("000000", tunnelA))
	clock.Advance(20 * time.Second)
	write(t, desktop, []byte("ping"))
	read(t, phone) // relayed: activity at 20s
	clock.Advance(10 * time.Second)
	if n := ts.Tunnels(); n != 1 {
		t.Fatalf("%d tunnels 10s after the last message, want 1", n)
	}
	clock.Advance(20 * time.Second)
	for _, c := range []*Conn{phone, desktop} {
		if code, reason := readClosed(t, c); code != int(websocket.StatusPolicyViolation) || reason != "idle for 30s" {
			t.Errorf("close = %d %q, want 1008 idle for 30s", code, reason)
		}
	}
	ts.log.waitLog(t, "tunnel: closed")
}

func TestOversizedMessage(t *testing.T) {
	ts := startServer(t, Config{MaxMessageSize: 1024})
	phone := dial(t, ts.newURL(tunnelA))
	desktop := dial(t, ts.connectURL("000000", tunnelA))
	write(t, phone, make([]byte, 1024)) // at the limit: relayed
	read(t, desktop)
	write(t, phone, make([]byte, 1025))
	if code, _ := readClosed(t, phone); code != int(websocket.StatusMessageTooBig) {
		t.Errorf("phone close code = %d, want 1009", code)
	}
	if code, _ := readClosed(t, desktop); code != int(websocket.StatusMessageTooBig) {
		t.Errorf("desktop close code = %d, want 1009", code)
	}
	attrs := ts.log.waitLog(t, "tunnel: closed")
	if want := "the phone sent a message over 1024 bytes"; attrs["reason"] != want {
		t.Errorf("logged reason %q, want %q", attrs["reason"], want)
	}
}

func TestTextMessage(t *testing.T) {
	ts := startServer(t, Config{})
	ws, _, err := websocket.Dial(context.Background(), ts.newURL(tunnelA),
		&websocket.DialOptions{Subprotocols: []string{Subprotocol}})
	if err != nil {
		t.Fatal(err)
	}
	defer ws.CloseNow()
	if err := ws.Write(context.Background(), websocket.MessageText, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	_, _, err = ws.Read(context.Background())
	if code := websocket.CloseStatus(err); code != websocket.StatusUnsupportedData {
		t.Errorf("close code = %d (%v), want 1003", code, err)
	}
	attrs := ts.log.waitLog(t, "tunnel: closed")
	if want := "the phone sent a text message"; attrs["reason"] != want {
		t.Errorf("logged reason %q, want %q", attrs["reason"], want)
	}
}

func TestRefused(t *testing.T) {
	ts := startServer(t, Config{RoutingID: [3]byte{1, 2, 3}})
	dial(t, ts.newURL(tunnelA))
	tests := []struct {
		name   string
		url    string
		proto  []string
		status int
		reason string
	}{
		{"no subprotocol", ts.newURL(tunnelB), []string{}, 400, "subprotocol is not offered"},
		{"wrong subprotocol", ts.newURL(tunnelB), []string{"fido.cable2"}, 400, "subprotocol is not offered"},
		{"unknown tunnel", ts.connectURL("010203", tunnelB), nil, 404, "unknown tunnel ID"},
		{"unknown routing ID", ts.connectURL("000000", tunnelA), nil, 404, "unknown routing ID"},
		{"tunnel already pending", ts.newURL(tunnelA), nil, 409, "already pending"},
		{"short tunnel ID", ts.newURL(tunnelA[:30]), nil, 404, "not a tunnel path"},
		{"trailing slash", ts.newURL(tunnelA) + "/", nil, 404, "not a tunnel path"},
		{"query", ts.newURL(tunnelB) + "?x=1", nil, 404, "not a tunnel path"},
		{"contact without handler", ts.ws + "/cable/contact/AAEC", nil, 400, "Client-Payload"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var opts *websocket.DialOptions
			if tt.proto != nil {
				opts = &websocket.DialOptions{Subprotocols: tt.proto}
			} else {
				opts = &websocket.DialOptions{Subprotocols: []string{Subprotocol}}
			}
			ws, resp, err := websocket.Dial(context.Background(), tt.url, opts)
			if err == nil {
				ws.CloseNow()
				t.Fatalf("dial succeeded, want HTTP %d", tt.status)
			}
			if resp == nil || resp.StatusCode != tt.status {
				t.Fatalf("dial: %v, want HTTP %d", err, tt.status)
			}
			attrs := ts.log.waitLog(t, "tunnel: refused")
			if !strings.Contains(attrs["reason"], tt.reason) {
				t.Errorf("logged reason %q, want it to contain %q", attrs["reason"], tt.reason)
			}
		})
	}
	t.Run("POST", func(t *testing.T) {
		resp, err := http.Post(ts.http.URL+"/cable/new/"+tunnelB, "text/plain", nil)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusMethodNotAllowed {
			t.Errorf("POST: HTTP %d, want 405", resp.StatusCode)
		}
	})
}

func TestTunnelLimit(t *testing.T) {
	ts := startServer(t, Config{MaxTunnels: 2})
	a := dial(t, ts.newURL(tunnelA))
	dial(t, ts.newURL(tunnelB))
	if status := dialStatus(t, ts.newURL(tunnelC), DialOptions{}); status != http.StatusServiceUnavailable {
		t.Fatalf("third tunnel: HTTP %d, want 503", status)
	}
	if attrs := ts.log.waitLog(t, "tunnel: refused"); attrs["reason"] != "limit of 2 tunnels reached" {
		t.Errorf("logged reason %q", attrs["reason"])
	}
	a.Close()
	ts.log.waitLog(t, "tunnel: closed")
	dial(t, ts.newURL(tunnelC))
}

func TestContact(t *testing.T) {
	woken := make(chan ContactRequest, 1)
	ts := startServer(t, Config{
		RoutingID: [3]byte{0xab, 0xcd, 0xef},
		Contact: func(_ context.Context, req ContactRequest) error {
			if string(req.ContactID) == "dead" {
				return ErrContactGone
			}
			woken <- req
			return nil
		},
	})
	header := http.Header{}
	header.Set(ClientPayloadHeader, "a3")
	header.Set(SignalConnectionHeader, "true")
	status := dialStatus(t, ts.ws+"/cable/contact/ZGVhZA", DialOptions{Header: header}) // "dead"
	if status != http.StatusGone {
		t.Errorf("dead contact ID: HTTP %d, want 410", status)
	}

	desktop, err := DialWith(context.Background(), ts.ws+"/cable/contact/bGl2ZQ", DialOptions{Header: header}) // "live"
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { desktop.ws.CloseNow() })
	if got := desktop.Header().Get(SignalConnectionHeader); got != "true" {
		t.Errorf("%s = %q, want it echoed", SignalConnectionHeader, got)
	}
	req := <-woken
	if string(req.ContactID) != "live" || !bytes.Equal(req.ClientPayload, []byte{0xa3}) {
		t.Errorf("contact request = %+v", req)
	}
	write(t, desktop, []byte("handshake"))
	phone := dial(t, ts.ws+req.ConnectPath())
	if got := read(t, desktop); !bytes.Equal(got, []byte{0}) {
		t.Errorf("desktop got %x, want the connect signal 00", got)
	}
	if got := read(t, phone); string(got) != "handshake" {
		t.Errorf("phone got %q", got)
	}
	write(t, phone, []byte("response"))
	if got := read(t, desktop); string(got) != "response" {
		t.Errorf("desktop got %q", got)
	}
}

func TestShutdownLeavesNoGoroutines(t *testing.T) {
	before := runtime.NumGoroutine()
	rec := recorder{ch: make(chan slog.Record, 1024)}
	s := NewServer(Config{Logger: slog.New(rec)})
	hs := httptest.NewServer(s)
	ws := "ws" + strings.TrimPrefix(hs.URL, "http")

	p1 := dial(t, ws+"/cable/new/"+tunnelA)
	d1 := dial(t, ws+"/cable/connect/000000/"+tunnelA)
	write(t, p1, []byte("hello"))
	read(t, d1)
	p2 := dial(t, ws+"/cable/new/"+tunnelB) // never joined
	write(t, p2, []byte("queued"))

	if n := s.Tunnels(); n != 2 {
		t.Fatalf("%d tunnels, want 2", n)
	}
	closed := make(chan int, 3)
	for i, c := range []*Conn{p1, d1, p2} {
		go func() {
			code, err := readClosedNoT(c)
			if code != int(websocket.StatusGoingAway) {
				t.Logf("conn %d: %v", i, err)
			}
			closed <- code
		}()
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	for range 3 {
		if code := <-closed; code != int(websocket.StatusGoingAway) {
			t.Errorf("close code = %d, want 1001", code)
		}
	}
	if n := s.Tunnels(); n != 0 {
		t.Errorf("%d tunnels after Shutdown, want 0", n)
	}
	if status := dialStatus(t, ws+"/cable/new/"+tunnelC, DialOptions{}); status != http.StatusServiceUnavailable {
		t.Errorf("after Shutdown: HTTP %d, want 503", status)
	}
	hs.Close()
	http.DefaultClient.CloseIdleConnections()
	if after := waitGoroutines(before); after > before {
		t.Errorf("%d goroutines after Shutdown, %d before", after, before)
	}
}

// readClosedNoT is readClosed for other goroutines.
func readClosedNoT(c *Conn) (int, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for {
		if _, err := c.Read(ctx); err != nil {
			return CloseStatus(err), err
		}
	}
}

// waitGoroutines waits, at most 5s, for the goroutine count to drop to
// want, and returns the last count. Goroutines end asynchronously after
// their connections close; there is no event to wait for.
func waitGoroutines(want int) int {
	deadline := time.Now().Add(5 * time.Second)
	for {
		n := runtime.NumGoroutine()
		if n <= want || time.Now().After(deadline) {
			return n
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestPeerVanishes(t *testing.T) {
	ts := startServer(t, Config{})
	phone := dial(t, ts.newURL(tunnelA))
	desktop := dial(t, ts.connectURL("000000", tunnelA))
	write(t, phone, []byte("hello"))
	read(t, desktop)
	desktop.ws.CloseNow() // no close frame: the TCP connection just ends
	if code, _ := readClosed(t, phone); code != int(websocket.StatusGoingAway) {
		t.Errorf("phone close code = %d, want 1001", code)
	}
	attrs := ts.log.waitLog(t, "tunnel: closed")
	if !strings.HasPrefix(attrs["reason"], "the desktop went away") {
		t.Errorf("logged reason %q, want the desktop went away", attrs["reason"])
	}
}

func TestDialRefusedSubprotocol(t *testing.T) {
	// A server that accepts without selecting fido.cable.
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		c, err := websocket.Accept(w, r, nil)
		if err != nil {
			return
		}
		c.CloseNow()
	}))
	defer hs.Close()
	_, err := Dial(context.Background(), "ws"+strings.TrimPrefix(hs.URL, "http")+"/cable/new/"+tunnelA)
	if err == nil || !strings.Contains(err.Error(), "subprotocol") {
		t.Errorf("Dial = %v, want an error about the subprotocol", err)
	}
}

func TestTLS(t *testing.T) {
	s := NewServer(Config{})
	hs := httptest.NewTLSServer(s)
	defer hs.Close()
	defer s.Shutdown(context.Background())
	wss := "wss" + strings.TrimPrefix(hs.URL, "https")
	opts := DialOptions{HTTPClient: hs.Client()}
	phone, err := DialWith(context.Background(), wss+"/cable/new/"+tunnelA, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer phone.ws.CloseNow()
	desktop, err := DialWith(context.Background(), wss+"/cable/connect/000000/"+tunnelA, opts)
	if err != nil {
		t.Fatal(err)
	}
	defer desktop.ws.CloseNow()
	write(t, phone, []byte("over TLS"))
	if got := read(t, desktop); string(got) != "over TLS" {
		t.Errorf("desktop got %q", got)
	}
	if _, err := Dial(context.Background(), wss+"/cable/new/"+tunnelB); err == nil {
		t.Error("Dial trusted the test server's certificate without being told to")
	}
}

func TestShutdownCutsUnresponsivePeers(t *testing.T) {
	before := runtime.NumGoroutine()
	s := NewServer(Config{})
	hs := httptest.NewServer(s)
	ws := "ws" + strings.TrimPrefix(hs.URL, "http")
	// Neither reads, so neither answers the close handshake.
	phone := dial(t, ws+"/cable/new/"+tunnelA)
	dial(t, ws+"/cable/connect/000000/"+tunnelA)
	write(t, phone, []byte("unread"))

	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	err := s.Shutdown(ctx)
	if !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Shutdown = %v, want the deadline exceeded", err)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("Shutdown took %v; the cut should not wait for the 5s close handshake", d)
	}
	hs.Close()
	// The clients' ends are closed by their cleanups; only the server's
	// goroutines must be gone here, so allow for nothing else.
	if after := waitGoroutines(before); after > before {
		t.Errorf("%d goroutines after Shutdown, %d before", after, before)
	}
}

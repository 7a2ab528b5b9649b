package tunnel

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
)

func contactHeader() http.Header {
	h := http.Header{}
	h.Set(ClientPayloadHeader, "a3")
	h.Set(SignalConnectionHeader, "true")
	return h
}

// TestContactListener runs the softkey-local wake-up: a phone listens for
// its contact ID, a desktop contacts it, and the two meet in a tunnel.
func TestContactListener(t *testing.T) {
	ts := startServer(t, Config{RoutingID: [3]byte{1, 2, 3}})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// Nobody listens yet: 410, as for a dead contact ID.
	if status := dialStatus(t, ts.ws+"/cable/contact/bGl2ZQ", DialOptions{Header: contactHeader()}); status != http.StatusGone {
		t.Errorf("no listener: HTTP %d, want 410", status)
	}

	l, err := ListenContacts(ctx, ts.ws, []byte("live"), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	ts.log.waitLog(t, "tunnel: contact listener open")
	if status := dialStatus(t, ts.ws+ContactListenPath([]byte("live")), DialOptions{}); status != http.StatusConflict {
		t.Errorf("second listener: HTTP %d, want 409", status)
	}

	type dialed struct {
		c   *Conn
		err error
	}
	desktopCh := make(chan dialed, 1)
	go func() {
		c, err := DialWith(ctx, ts.ws+"/cable/contact/bGl2ZQ", DialOptions{Header: contactHeader()})
		desktopCh <- dialed{c, err}
	}()
	req, err := l.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if string(req.ContactID) != "live" || !bytes.Equal(req.ClientPayload, []byte{0xa3}) || req.RoutingID != [3]byte{1, 2, 3} {
		t.Errorf("contact request = %+v", req)
	}
	d := <-desktopCh
	if d.err != nil {
		t.Fatal(d.err)
	}
	desktop := d.c
	t.Cleanup(func() { desktop.ws.CloseNow() })
	phone := dial(t, ts.ws+req.ConnectPath())
	if got := read(t, desktop); !bytes.Equal(got, []byte{0}) {
		t.Errorf("desktop got %x, want the connect signal 00", got)
	}
	write(t, desktop, []byte("handshake"))
	if got := read(t, phone); string(got) != "handshake" {
		t.Errorf("phone got %q", got)
	}

	// The phone hangs up: the contact ID is gone again.
	if err := l.Close(); err != nil {
		t.Errorf("Close: %v", err)
	}
	ts.log.waitLog(t, "tunnel: contact listener closed")
	if status := dialStatus(t, ts.ws+"/cable/contact/bGl2ZQ", DialOptions{Header: contactHeader()}); status != http.StatusGone {
		t.Errorf("listener gone: HTTP %d, want 410", status)
	}
}

func TestContactListenerRefusals(t *testing.T) {
	ts := startServer(t, Config{})
	for _, path := range []string{ContactListenPrefix, ContactListenPrefix + "bGl2ZQ=", ContactListenPrefix + "bGl2ZQ/x"} {
		if status := dialStatus(t, ts.ws+path, DialOptions{}); status != http.StatusNotFound {
			t.Errorf("%s: HTTP %d, want 404", path, status)
		}
	}
	resp, err := http.Get(ts.http.URL + ContactListenPath([]byte("live")))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusBadRequest {
		t.Errorf("no subprotocol: HTTP %d, want 400", resp.StatusCode)
	}
}

func TestContactListenerShutdown(t *testing.T) {
	before := runtime.NumGoroutine()
	s := NewServer(Config{Logger: slog.New(slog.DiscardHandler)})
	hs := httptest.NewServer(s)
	ws := "ws" + strings.TrimPrefix(hs.URL, "http")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	l, err := ListenContacts(ctx, ws, []byte("live"), DialOptions{})
	if err != nil {
		t.Fatal(err)
	}
	next := make(chan error, 1)
	go func() {
		_, err := l.Next(ctx)
		next <- err
	}()
	if err := s.Shutdown(ctx); err != nil {
		t.Fatalf("Shutdown: %v", err)
	}
	if err := <-next; CloseStatus(err) != int(websocket.StatusGoingAway) {
		t.Errorf("Next after Shutdown: %v, want close 1001", err)
	}
	l.conn.ws.CloseNow()
	hs.Close()
	http.DefaultClient.CloseIdleConnections()
	if after := waitGoroutines(before); after > before {
		t.Errorf("%d goroutines after Shutdown, %d before", after, before)
	}
}

package hybrid

import (
	"context"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

// The tests in this file tamper with a transaction between a real phone
// and a real desktop, through a real tunnel server: each must end both
// roles with an error (or the tunnel closed), promptly, with the reason
// logged by the tunnel server, and leave no goroutine behind. Neither
// role logs why it failed (their loggers get Debug lines on success
// only), so for the roles the tests check the returned errors.

// tamperLimit is the tunnel server's MaxMessageSize in these tests.
const tamperLimit = 16 << 10

// logRecorder is a slog.Handler that hands every record to a channel, so
// tests wait for a log line instead of sleeping.
type logRecorder struct{ ch chan slog.Record }

func (r logRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r logRecorder) Handle(_ context.Context, rec slog.Record) error {
	select {
	case r.ch <- rec.Clone():
	default:
	}
	return nil
}
func (r logRecorder) WithAttrs([]slog.Attr) slog.Handler { return r }
func (r logRecorder) WithGroup(string) slog.Handler      { return r }

// reason returns the reason attribute of the next record with message msg.
func (r logRecorder) reason(t *testing.T, msg string) string {
	t.Helper()
	timeout := time.After(10 * time.Second)
	for {
		select {
		case rec := <-r.ch:
			if rec.Message != msg {
				continue
			}
			var reason string
			rec.Attrs(func(a slog.Attr) bool {
				if a.Key == "reason" {
					reason = a.Value.String()
				}
				return true
			})
			return reason
		case <-timeout:
			t.Fatalf("no %q log line within 10s", msg)
			return ""
		}
	}
}

// mitm sits between the roles and the tunnel server: it relays each
// WebSocket connection to the server, passing every message a role sends
// through edit, which may alter it, drop it (nil) or send more than one.
// Messages from the server reach the roles unchanged, and a close from
// either end is passed on with its code and reason.
type mitm struct {
	upstream    string // ws://host:port of the tunnel server
	subprotocol string // offered to the server; "" is fido.cable
	// edit gets the n-th message (from 0) that role ("phone" or
	// "desktop") sends; nil relays everything as it is.
	edit func(role string, n int, msg []byte) [][]byte
	wg   sync.WaitGroup
}

func (m *mitm) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	m.wg.Add(1)
	defer m.wg.Done()
	role := "desktop"
	if strings.HasPrefix(r.URL.Path, "/cable/new/") {
		role = "phone"
	}
	proto := m.subprotocol
	if proto == "" {
		proto = tunnel.Subprotocol
	}
	h := http.Header{}
	for _, k := range []string{tunnel.ClientPayloadHeader, tunnel.SignalConnectionHeader} {
		if v := r.Header.Get(k); v != "" {
			h.Set(k, v)
		}
	}
	up, resp, err := websocket.Dial(r.Context(), m.upstream+r.URL.Path,
		&websocket.DialOptions{Subprotocols: []string{proto}, HTTPHeader: h})
	if err != nil {
		code := http.StatusBadGateway
		if resp != nil {
			code = resp.StatusCode
		}
		http.Error(w, err.Error(), code)
		return
	}
	for _, k := range []string{tunnel.RoutingIDHeader, tunnel.SignalConnectionHeader} {
		if v := resp.Header.Get(k); v != "" {
			w.Header().Set(k, v)
		}
	}
	down, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{tunnel.Subprotocol}})
	if err != nil {
		up.CloseNow()
		return
	}
	up.SetReadLimit(4 * tamperLimit)
	down.SetReadLimit(4 * tamperLimit)
	var pumps sync.WaitGroup
	pumps.Go(func() {
		pump(down, up, func(n int, msg []byte) [][]byte {
			if m.edit == nil {
				return [][]byte{msg}
			}
			return m.edit(role, n, msg)
		})
	})
	pump(up, down, nil)
	pumps.Wait()
	up.CloseNow()
	down.CloseNow()
}

// pump relays src's messages to dst, through edit if set, until src
// ends; then it closes dst as src was closed.
func pump(src, dst *websocket.Conn, edit func(int, []byte) [][]byte) {
	broken := false
	for n := 0; ; n++ {
		_, msg, err := src.Read(context.Background())
		if err != nil {
			if code := websocket.CloseStatus(err); code != -1 {
				var ce websocket.CloseError
				_ = errors.As(err, &ce)
				dst.Close(code, ce.Reason)
			} else {
				dst.CloseNow()
			}
			return
		}
		out := [][]byte{msg}
		if edit != nil {
			out = edit(n, msg)
		}
		for _, m := range out {
			if broken {
				break
			}
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			// A failed write means dst is closing: the other pump passes
			// its close on to src, which ends this one.
			broken = dst.Write(ctx, websocket.MessageBinary, m) != nil
			cancel()
		}
	}
}

// tamperEnv is a tunnel server, with its log, behind a mitm.
type tamperEnv struct {
	resolve Resolver
	log     logRecorder
	mitm    *mitm
}

func startTamper(t *testing.T, cfg tunnel.Config, m *mitm) *tamperEnv {
	t.Helper()
	rec := logRecorder{ch: make(chan slog.Record, 256)}
	cfg.Logger = slog.New(rec)
	cfg.RoutingID = [RoutingIDSize]byte{0xA1, 0xB2, 0xC3}
	if cfg.MaxMessageSize == 0 {
		cfg.MaxMessageSize = tamperLimit
	}
	srv := tunnel.NewServer(cfg)
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	m.upstream = "ws://" + hs.Listener.Addr().String()
	ms := httptest.NewServer(m)
	t.Cleanup(func() {
		ms.Close()
		done := make(chan struct{})
		go func() { m.wg.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("the man in the middle did not return")
		}
	})
	base := "ws://" + ms.Listener.Addr().String()
	return &tamperEnv{resolve: func(uint16) (string, error) { return base, nil }, log: rec, mitm: m}
}

// tamperRun is a desktop and a phone (with the real engine) set up to meet
// through env.
type tamperRun struct {
	desktop *Desktop
	phone   *phoneRun
}

func startTamperRun(t *testing.T, env *tamperEnv, seed byte) *tamperRun {
	t.Helper()
	air := newMemAir()
	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: env.resolve})
	require.NoError(t, err)
	engine := newEngine(t, seed)
	phone := startPhone(t, &Phone{Handler: engine.HandleCBOR, Advertiser: air, Resolve: env.resolve}, desktop.QR())
	return &tamperRun{desktop: desktop, phone: phone}
}

// ctapRequest is answered by the engine at once (with an error status).
var ctapRequest = []byte{byte(ctap2.CmdGetAssertion), 0xa0}

// closeSession closes s and checks that it returns promptly.
func closeSession(t *testing.T, s *Session) {
	t.Helper()
	start := time.Now()
	_ = s.Close() // the tunnel is gone already: an error is expected
	require.Less(t, time.Since(start), closeTimeout+time.Second, "Session.Close")
}

// TestTamperHandshake alters the desktop's first handshake message: the
// phone's check fails (§6.2) and it hangs up, and the desktop's read of
// the answer ends with the close.
func TestTamperHandshake(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{}, &mitm{edit: func(role string, n int, msg []byte) [][]byte {
		if role == "desktop" && n == 0 {
			msg[len(msg)-1] ^= 1
		}
		return [][]byte{msg}
	}})
	run := startTamperRun(t, env, 10)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := run.desktop.Connect(ctx)
	require.Error(t, err, "Connect")
	require.Equal(t, 1000, tunnel.CloseStatus(err), "desktop: %v", err)
	require.ErrorIs(t, run.phone.wait(t), ErrHandshakeFailed, "phone")
	require.Equal(t, "the phone closed (1000)", env.log.reason(t, "tunnel: closed"))
}

// TestTamperCiphertext flips a bit of the desktop's first encrypted frame
// (§7.1): the phone fails to decrypt it and hangs up; the desktop waiting
// for the answer sees the tunnel close.
func TestTamperCiphertext(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{}, &mitm{edit: func(role string, n int, msg []byte) [][]byte {
		if role == "desktop" && n == 1 {
			msg[len(msg)/2] ^= 0x80
		}
		return [][]byte{msg}
	}})
	run := startTamperRun(t, env, 11)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := run.desktop.Connect(ctx)
	require.NoError(t, err, "Connect")
	_, err = s.CBOR(ctx, ctapRequest)
	require.Error(t, err, "CBOR over an altered frame")
	require.Equal(t, 1000, tunnel.CloseStatus(err), "desktop: %v", err)
	require.ErrorIs(t, run.phone.wait(t), ErrFrameDecrypt, "phone")
	require.Equal(t, "the phone closed (1000)", env.log.reason(t, "tunnel: closed"))
	closeSession(t, s)
}

// TestTamperReplay sends the desktop's first request twice: the phone
// answers the first, fails to decrypt the copy (its sequence number has
// moved on, §7.1) and hangs up. The answer still reaches the desktop; its
// next request fails.
func TestTamperReplay(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{}, &mitm{edit: func(role string, n int, msg []byte) [][]byte {
		if role == "desktop" && n == 1 {
			return [][]byte{msg, msg}
		}
		return [][]byte{msg}
	}})
	run := startTamperRun(t, env, 12)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := run.desktop.Connect(ctx)
	require.NoError(t, err, "Connect")
	got, err := s.CBOR(ctx, ctapRequest)
	require.NoError(t, err, "the request that was replayed")
	require.NotEmpty(t, got, "the answer to the request that was replayed")
	require.ErrorIs(t, run.phone.wait(t), ErrFrameDecrypt, "phone")
	_, err = s.CBOR(ctx, ctapRequest)
	require.Error(t, err, "CBOR after the phone hung up")
	require.Equal(t, 1000, tunnel.CloseStatus(err), "desktop: %v", err)
	require.Equal(t, "the phone closed (1000)", env.log.reason(t, "tunnel: closed"))
	closeSession(t, s)
}

// TestTamperReorder swaps the phone's post-handshake and update messages
// (§7.2, §7.3): the desktop fails to decrypt the first one it gets and
// hangs up, and the phone waiting for requests sees the tunnel close.
func TestTamperReorder(t *testing.T) {
	checkGoroutines(t)
	var held []byte
	env := startTamper(t, tunnel.Config{}, &mitm{edit: func(role string, n int, msg []byte) [][]byte {
		switch {
		case role != "phone":
		case n == 1:
			held = msg
			return nil
		case n == 2:
			return [][]byte{msg, held}
		}
		return [][]byte{msg}
	}})
	run := startTamperRun(t, env, 13)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	_, err := run.desktop.Connect(ctx)
	require.ErrorIs(t, err, ErrFrameDecrypt, "Connect")
	err = run.phone.wait(t)
	require.Error(t, err, "phone")
	require.Equal(t, 1000, tunnel.CloseStatus(err), "phone: %v", err)
	require.Equal(t, "the desktop closed (1000)", env.log.reason(t, "tunnel: closed"))
}

// TestTamperOversized pads the desktop's first request past the tunnel
// server's MaxMessageSize: the server closes the tunnel with 1009 and both
// roles see it.
func TestTamperOversized(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{}, &mitm{edit: func(role string, n int, msg []byte) [][]byte {
		if role == "desktop" && n == 1 {
			msg = append(msg, make([]byte, tamperLimit+1-len(msg))...)
		}
		return [][]byte{msg}
	}})
	run := startTamperRun(t, env, 14)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := run.desktop.Connect(ctx)
	require.NoError(t, err, "Connect")
	_, err = s.CBOR(ctx, ctapRequest)
	require.Error(t, err, "CBOR with an oversized frame")
	require.Equal(t, 1009, tunnel.CloseStatus(err), "desktop: %v", err)
	err = run.phone.wait(t)
	require.Error(t, err, "phone")
	require.Equal(t, 1009, tunnel.CloseStatus(err), "phone: %v", err)
	require.Equal(t, "the desktop sent a message over 16384 bytes", env.log.reason(t, "tunnel: closed"))
	closeSession(t, s)
}

// TestTamperSubprotocol offers the tunnel server another subprotocol than
// fido.cable: it refuses the upgrade with 400 and logs why, and the phone
// fails to open its tunnel. (The desktop never gets an advert; it is not
// started.)
func TestTamperSubprotocol(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{}, &mitm{subprotocol: "fido.cable.v0"})
	air := newMemAir()
	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: env.resolve})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	err = (&Phone{Handler: newEngine(t, 15).HandleCBOR, Advertiser: air, Resolve: env.resolve}).Serve(ctx, desktop.QR())
	var de *tunnel.DialError
	require.ErrorAs(t, err, &de, "phone")
	require.Equal(t, http.StatusBadRequest, de.StatusCode, "phone: %v", err)
	require.Equal(t, "the fido.cable subprotocol is not offered", env.log.reason(t, "tunnel: refused"))
}

// TestTamperNeverJoins has a phone open a tunnel that no desktop joins:
// the server closes it after JoinTimeout with 1008, and the phone, waiting
// for the handshake, returns.
func TestTamperNeverJoins(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{JoinTimeout: 200 * time.Millisecond}, &mitm{})
	air := newMemAir()
	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: env.resolve})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	err = (&Phone{Handler: newEngine(t, 16).HandleCBOR, Advertiser: air, Resolve: env.resolve}).Serve(ctx, desktop.QR())
	require.Error(t, err, "phone")
	require.Equal(t, 1008, tunnel.CloseStatus(err), "phone: %v", err)
	require.Less(t, time.Since(start), 5*time.Second, "phone returned late")
	require.Equal(t, "the desktop never joined (200ms)", env.log.reason(t, "tunnel: closed"))
}

// TestTamperLinkedPhoneNeverJoins has a desktop contact a linked phone
// (§7.5) that the server is told to wake but that never joins: the server
// closes the desktop's tunnel after JoinTimeout with 1008, and the
// desktop, waiting for the connect signal, returns.
func TestTamperLinkedPhoneNeverJoins(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{
		JoinTimeout: 200 * time.Millisecond,
		Contact:     func(context.Context, tunnel.ContactRequest) error { return nil }, // the phone sleeps on
	}, &mitm{})
	link := &PhoneLink{RootSecret: [32]byte{'r'}, ContactID: []byte("contact-1"), Name: "phone"}
	identity, err := link.identity()
	require.NoError(t, err)
	secret, err := link.linkSecret([]byte("pairing1"))
	require.NoError(t, err)
	info := &LinkingInfo{ContactID: link.ContactID, PairingID: []byte("pairing1"), Secret: secret,
		PublicKey: identity.PublicKey().Bytes(), Name: link.Name}
	desktop, err := NewDesktop(DesktopConfig{Scanner: newMemAir(), Resolve: env.resolve})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = desktop.ConnectLinked(ctx, info, GetAssertion)
	require.Error(t, err, "ConnectLinked")
	require.Equal(t, 1008, tunnel.CloseStatus(err), "desktop: %v", err)
	require.Less(t, time.Since(start), 5*time.Second, "desktop returned late")
	require.Equal(t, "the phone never joined (200ms)", env.log.reason(t, "tunnel: closed"))
}

// TestTamperBreaksSession repeats the phone's update message: the desktop's
// first request fails to decrypt the copy, and from then on the session
// refuses requests instead of pairing a later request with an earlier
// answer.
func TestTamperBreaksSession(t *testing.T) {
	checkGoroutines(t)
	env := startTamper(t, tunnel.Config{}, &mitm{edit: func(role string, n int, msg []byte) [][]byte {
		if role == "phone" && n == 2 {
			return [][]byte{msg, msg}
		}
		return [][]byte{msg}
	}})
	run := startTamperRun(t, env, 14)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	s, err := run.desktop.Connect(ctx)
	require.NoError(t, err, "Connect")
	_, err = s.CBOR(ctx, ctapRequest)
	require.ErrorIs(t, err, ErrFrameDecrypt, "the request that met the repeated frame")
	_, err = s.CBOR(ctx, ctapRequest)
	require.ErrorIs(t, err, ErrFrameDecrypt, "a later request on the broken session")
	require.ErrorContains(t, err, "session broken earlier")
	closeSession(t, s)
	run.phone.wait(t)
}

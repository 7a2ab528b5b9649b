package hybrid

import (
	"context"
	"crypto/ecdh"
	crand "crypto/rand"
	"math/rand/v2"
	"net/http/httptest"
	"runtime"
	"testing"
	"time"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

// BenchmarkHandshakeLoopback measures a full QR-initiated connection
// through a real tunnel server on loopback: the phone opens the tunnel and
// advertises, the desktop scans, joins, runs KNpsk0 and reads the
// post-handshake message. ns/op (and handshake-ns/op) is the time from the
// phone starting to the desktop's Session being ready; floor-ns/op is the
// in-memory KNpsk0 handshake (as BenchmarkKNpsk0Handshake) measured in the
// same run, and x-floor is floor/handshake.
func BenchmarkHandshakeLoopback(b *testing.B) {
	before := runtime.NumGoroutine()

	srv := tunnel.NewServer(tunnel.Config{RoutingID: [RoutingIDSize]byte{0xA1, 0xB2, 0xC3}})
	hs := httptest.NewServer(srv)
	base := "ws://" + hs.Listener.Addr().String()
	resolve := Resolver(func(uint16) (string, error) { return base, nil })

	rnd := rand.NewChaCha8([32]byte{'h', 'y', 'b', 'b'})
	engine, err := authenticator.New(authenticator.Config{
		Profile: authenticator.DefaultProfile(),
		Store:   &store.Memory{},
		Keys:    keys.NewSoftware(rnd),
		Rand:    rnd,
	})
	if err != nil {
		b.Fatal(err)
	}

	floorKey, err := ecdh.P256().GenerateKey(crand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var floorPSK [32]byte

	var handshake, floor time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		floor += floorHandshake(b, floorKey, floorPSK)

		air := newMemAir()
		desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: resolve})
		if err != nil {
			b.Fatal(err)
		}
		qr, err := ParseURI(desktop.QR().URI())
		if err != nil {
			b.Fatal(err)
		}
		phone := &Phone{Handler: engine.HandleCBOR, Advertiser: air, Resolve: resolve}
		ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
		done := make(chan error, 1)

		b.StartTimer()
		start := time.Now()
		go func() { done <- phone.Serve(ctx, qr) }()
		session, err := desktop.Connect(ctx)
		elapsed := time.Since(start)
		b.StopTimer()
		handshake += elapsed

		if err != nil {
			cancel()
			<-done
			b.Fatalf("Connect: %v", err)
		}
		if err := session.Close(); err != nil {
			cancel()
			<-done
			b.Fatalf("Close: %v", err)
		}
		if err := <-done; err != nil {
			cancel()
			b.Fatalf("phone: %v", err)
		}
		cancel()
	}

	hs.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(ctx); err != nil {
		b.Fatalf("tunnel server Shutdown: %v", err)
	}

	hsNs := float64(handshake.Nanoseconds()) / float64(b.N)
	floorNs := float64(floor.Nanoseconds()) / float64(b.N)
	b.ReportMetric(hsNs, "handshake-ns/op")
	b.ReportMetric(floorNs, "floor-ns/op")
	b.ReportMetric(floorNs/hsNs, "x-floor")

	deadline := time.Now().Add(10 * time.Second)
	for runtime.NumGoroutine() > before {
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			b.Fatalf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// floorHandshake runs one in-memory KNpsk0 handshake, both sides, as
// BenchmarkKNpsk0Handshake does, and returns how long it took.
func floorHandshake(b *testing.B, identity *ecdh.PrivateKey, psk [32]byte) time.Duration {
	b.Helper()
	start := time.Now()
	ini, err := NewKNInitiator(psk, identity, nil)
	if err != nil {
		b.Fatal(err)
	}
	msg1, err := ini.WriteMessage()
	if err != nil {
		b.Fatal(err)
	}
	msg2, _, err := RespondKN(psk, identity.PublicKey(), msg1, nil)
	if err != nil {
		b.Fatal(err)
	}
	if _, err := ini.ReadMessage(msg2); err != nil {
		b.Fatal(err)
	}
	return time.Since(start)
}

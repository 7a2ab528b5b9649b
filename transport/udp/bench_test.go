package udp_test

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/ctaphid"
	"github.com/softkeydev/softkey/transport/udp"
)

// BenchmarkGetAssertionOverUDP measures whole getAssertion round trips
// through CTAPHID on the UDP wire, from the host's ctaphid.Device to the
// engine and back. Its floor, timed in the same loop, is what the wire
// cannot avoid: the same engine call in process plus one bare UDP
// datagram round trip on loopback. It reports round trips per second and
// floor/whole as "x-floor".
func BenchmarkGetAssertionOverUDP(b *testing.B) {
	engine, err := authenticator.New(authenticator.Config{
		Profile: authenticator.DefaultProfile(),
		Store:   &store.Memory{},
		Keys:    keys.NewSoftware(nil),
	})
	if err != nil {
		b.Fatal(err)
	}
	wire, err := udp.Listen("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- ctaphid.NewServer(ctaphid.Config{Handler: engine, U2F: true}).Serve(ctx, wire) }()
	defer func() {
		cancel()
		wire.Close()
		<-served
	}()

	conn, err := net.DialUDP("udp", nil, wire.Addr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	defer conn.Close()
	dev, err := ctaphid.Open(ctx, clientWire{conn}, nil)
	if err != nil {
		b.Fatal(err)
	}
	client := ctap2.NewClient(dev)
	hash := make([]byte, 32)
	reg, err := client.MakeCredential(ctx, &ctap2.MakeCredentialRequest{
		ClientDataHash:   hash,
		RP:               &ctap2.RPEntity{ID: "example.org"},
		User:             &ctap2.UserEntity{ID: []byte{1}},
		PubKeyCredParams: []ctap2.CredentialParam{{Type: ctap2.PublicKeyCredentialType, Alg: ctap2.AlgES256}},
	})
	if err != nil {
		b.Fatal(err)
	}
	ad, err := ctap2.ParseAuthData(reg.AuthData)
	if err != nil {
		b.Fatal(err)
	}
	params, err := ctap2.Marshal(&ctap2.GetAssertionRequest{
		RPID: "example.org", ClientDataHash: hash,
		AllowList: []ctap2.CredentialDescriptor{{Type: ctap2.PublicKeyCredentialType, ID: ad.Attested.CredentialID}},
	})
	if err != nil {
		b.Fatal(err)
	}
	msg := append([]byte{byte(ctap2.CmdGetAssertion)}, params...)
	echo, echoConn := startEcho(b)
	defer echo.Close()
	defer echoConn.Close()
	report := make([]byte, ctaphid.ReportSize)

	var whole, floor time.Duration
	b.ReportAllocs()
	b.ResetTimer()
	for range b.N {
		t0 := time.Now()
		if resp := engine.HandleCBOR(ctx, msg); resp[0] != 0 {
			b.Fatalf("in-process getAssertion: %v", ctap2.Status(resp[0]))
		}
		if _, err := echoConn.Write(report); err != nil {
			b.Fatal(err)
		}
		if _, err := echoConn.Read(report); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		resp, err := dev.CBOR(ctx, msg)
		if err != nil || resp[0] != 0 {
			b.Fatalf("getAssertion over UDP: % x, %v", resp[:1], err)
		}
		t2 := time.Now()
		floor += t1.Sub(t0)
		whole += t2.Sub(t1)
	}
	b.ReportMetric(float64(b.N)/whole.Seconds(), "roundtrips/s")
	b.ReportMetric(float64(floor.Nanoseconds())/float64(b.N), "floor-ns/op")
	b.ReportMetric(float64(floor)/float64(whole), "x-floor")
}

// startEcho starts a UDP echo server on loopback and returns it with a
// connected client socket.
func startEcho(b *testing.B) (*net.UDPConn, *net.UDPConn) {
	server, err := net.ListenUDP("udp", &net.UDPAddr{IP: net.IPv4(127, 0, 0, 1)})
	if err != nil {
		b.Fatal(err)
	}
	go func() {
		buf := make([]byte, 128)
		for {
			n, from, err := server.ReadFromUDP(buf)
			if err != nil {
				return
			}
			server.WriteToUDP(buf[:n], from)
		}
	}()
	client, err := net.DialUDP("udp", nil, server.LocalAddr().(*net.UDPAddr))
	if err != nil {
		b.Fatal(err)
	}
	return server, client
}

package hybrid

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/webauthntest"
	"github.com/softkeydev/softkey/transport/hybrid/advert"
	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

// memAir is an in-memory stand-in for the radio: adverts go from an
// Advertiser to a Scanner through a channel, optionally altered on the way.
type memAir struct {
	ch     chan [AdvertSize]byte
	tamper func([AdvertSize]byte) [AdvertSize]byte
}

func newMemAir() *memAir { return &memAir{ch: make(chan [AdvertSize]byte, 1)} }

func (a *memAir) Advertise(ctx context.Context, data [AdvertSize]byte) error {
	if a.tamper != nil {
		data = a.tamper(data)
	}
	select {
	case a.ch <- data:
	case <-ctx.Done():
	}
	<-ctx.Done()
	return nil
}

func (a *memAir) Scan(ctx context.Context) (<-chan [AdvertSize]byte, error) {
	out := make(chan [AdvertSize]byte)
	go func() {
		defer close(out)
		for {
			select {
			case data := <-a.ch:
				select {
				case out <- data:
				case <-ctx.Done():
					return
				}
			case <-ctx.Done():
				return
			}
		}
	}()
	return out, nil
}

// checkGoroutines fails the test if, once its other cleanups have run,
// more goroutines are left than when it started.
func checkGoroutines(t *testing.T) {
	t.Helper()
	before := runtime.NumGoroutine()
	t.Cleanup(func() {
		deadline := time.Now().Add(10 * time.Second)
		for runtime.NumGoroutine() > before {
			if time.Now().After(deadline) {
				buf := make([]byte, 1<<20)
				t.Errorf("goroutines: %d before, %d after\n%s", before, runtime.NumGoroutine(), buf[:runtime.Stack(buf, true)])
				return
			}
			time.Sleep(10 * time.Millisecond)
		}
	})
}

// localTunnel starts a tunnel server and returns a resolver that maps
// every domain to it (§5.3).
func localTunnel(t *testing.T) Resolver {
	t.Helper()
	return localTunnelWith(t, nil)
}

// localTunnelWith is localTunnel with a handler for /cable/contact/.
func localTunnelWith(t *testing.T, contact func(context.Context, tunnel.ContactRequest) error) Resolver {
	t.Helper()
	srv := tunnel.NewServer(tunnel.Config{RoutingID: [RoutingIDSize]byte{0xA1, 0xB2, 0xC3}, Contact: contact})
	hs := httptest.NewServer(srv)
	t.Cleanup(func() {
		hs.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		require.NoError(t, srv.Shutdown(ctx))
	})
	base := "ws://" + hs.Listener.Addr().String()
	return func(uint16) (string, error) { return base, nil }
}

func newEngine(t *testing.T, seed byte) *authenticator.Authenticator {
	t.Helper()
	rnd := rand.NewChaCha8([32]byte{'h', 'y', 'b', seed})
	a, err := authenticator.New(authenticator.Config{
		Profile: authenticator.DefaultProfile(),
		Store:   &store.Memory{},
		Keys:    keys.NewSoftware(rnd),
		Rand:    rnd,
	})
	require.NoError(t, err, "authenticator.New")
	return a
}

// rpUser is an account at the relying party.
type rpUser struct {
	creds []webauthn.Credential
}

func (u *rpUser) WebAuthnID() []byte                         { return []byte("user-1") }
func (u *rpUser) WebAuthnName() string                       { return "alice" }
func (u *rpUser) WebAuthnDisplayName() string                { return "Alice" }
func (u *rpUser) WebAuthnCredentials() []webauthn.Credential { return u.creds }

// phoneRun is a phone serving in the background.
type phoneRun struct{ done chan error }

func startPhone(t *testing.T, p *Phone, qr *QR) *phoneRun {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	r := &phoneRun{done: make(chan error, 1)}
	go func() { r.done <- p.Serve(ctx, qr) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-r.done:
		case <-time.After(10 * time.Second):
			t.Error("phone did not return")
		}
	})
	return r
}

func (r *phoneRun) wait(t *testing.T) error {
	t.Helper()
	select {
	case err := <-r.done:
		r.done <- err
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("phone did not return within 10s")
		return nil
	}
}

// TestDesktopPhoneWebAuthn registers and signs in through a real tunnel
// server with the real engine on the phone side, and has go-webauthn
// verify both ceremonies.
func TestDesktopPhoneWebAuthn(t *testing.T) {
	checkGoroutines(t)
	resolve := localTunnel(t)
	air := newMemAir()
	engine := newEngine(t, 1)

	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: resolve, RequestType: MakeCredential})
	require.NoError(t, err)
	qr, err := ParseURI(desktop.QR().URI())
	require.NoError(t, err, "ParseURI(desktop QR)")
	phone := startPhone(t, &Phone{Handler: engine.HandleCBOR, Advertiser: air, Resolve: resolve}, qr)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	session, err := desktop.Connect(ctx)
	require.NoError(t, err, "Connect")
	require.Equal(t, Revision1, session.Revision())
	require.NotEmpty(t, session.GetInfo(), "getInfo in the post-handshake message")
	info, err := ctap2.NewClient(session).GetInfo(ctx)
	require.NoError(t, err, "getInfo through the session")
	require.Equal(t, engine.HandleCBOR(ctx, []byte{byte(ctap2.CmdGetInfo)})[1:], session.GetInfo(), "getInfo")
	require.NotEmpty(t, info.Versions, "getInfo versions")

	wa, err := webauthn.New(&webauthn.Config{
		RPID:          "example.org",
		RPDisplayName: "Example",
		RPOrigins:     []string{"https://example.org"},
	})
	require.NoError(t, err)
	browser := &webauthntest.Browser{CBOR: session.CBOR, Origin: "https://example.org", Transports: []string{"hybrid"}}
	user := &rpUser{}

	creation, regSession, err := wa.BeginRegistration(user, webauthn.WithConveyancePreference(protocol.PreferDirectAttestation))
	require.NoError(t, err)
	optionsJSON, err := json.Marshal(creation)
	require.NoError(t, err)
	reg, err := browser.Create(ctx, optionsJSON)
	require.NoError(t, err, "create through the tunnel")
	body, err := reg.JSON()
	require.NoError(t, err)
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	require.NoError(t, err)
	cred, err := wa.CreateCredential(user, *regSession, parsed)
	require.NoError(t, err, "go-webauthn refused the registration: %s", webauthntest.Describe(err))
	user.creds = append(user.creds, *cred)

	assertion, loginSession, err := wa.BeginLogin(user)
	require.NoError(t, err)
	optionsJSON, err = json.Marshal(assertion)
	require.NoError(t, err)
	got, err := browser.Get(ctx, optionsJSON)
	require.NoError(t, err, "get through the tunnel")
	require.Len(t, got, 1)
	body, err = got[0].JSON()
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "https://example.org/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	_, err = wa.FinishLogin(user, *loginSession, req)
	require.NoError(t, err, "go-webauthn refused the assertion: %s", webauthntest.Describe(err))

	_, err = session.Message(ctx, []byte{0})
	require.ErrorIs(t, err, ErrU2FUnsupported)
	require.NoError(t, session.Close(), "Close")
	require.NoError(t, phone.wait(t), "phone after shutdown")
	_, err = session.CBOR(ctx, []byte{0x04})
	require.ErrorIs(t, err, ErrClosed)
}

// TestWrongPSK alters the advert's nonce on the air, re-encrypting it with
// the right EID key: the client derives a different PSK from it than the
// phone (§6.2), so the phone's check of the first handshake message fails
// and both sides end cleanly.
func TestWrongPSK(t *testing.T) {
	checkGoroutines(t)
	resolve := localTunnel(t)
	air := newMemAir()
	engine := newEngine(t, 2)
	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: resolve})
	require.NoError(t, err)
	qr := desktop.QR()
	eidKey := DeriveEIDKey(qr.Secret[:], nil)
	air.tamper = func(data [AdvertSize]byte) [AdvertSize]byte {
		e, err := DecryptAdvert(&eidKey, data[:])
		if err != nil {
			panic("internal error: test advert: " + err.Error())
		}
		e.Nonce[0] ^= 1
		return EncryptAdvert(&eidKey, e)
	}
	phone := startPhone(t, &Phone{Handler: engine.HandleCBOR, Advertiser: air, Resolve: resolve}, qr)

	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	_, err = desktop.Connect(ctx)
	require.Error(t, err, "Connect with a wrong PSK")
	require.ErrorIs(t, phone.wait(t), ErrHandshakeFailed, "phone")
}

// TestWrongQRSecret gives the phone another QR secret: its advert does not
// decrypt under the client's key, so the client keeps scanning until its
// context ends, and the phone until its own does.
func TestWrongQRSecret(t *testing.T) {
	checkGoroutines(t)
	resolve := localTunnel(t)
	air := newMemAir()
	engine := newEngine(t, 3)
	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: resolve})
	require.NoError(t, err)
	qr := desktop.QR()
	qr.Secret[0] ^= 1
	phoneCtx, stopPhone := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- (&Phone{Handler: engine.HandleCBOR, Advertiser: air, Resolve: resolve}).Serve(phoneCtx, qr)
	}()

	ctx, cancel := context.WithTimeout(context.Background(), 300*time.Millisecond)
	defer cancel()
	_, err = desktop.Connect(ctx)
	require.ErrorIs(t, err, context.DeadlineExceeded, "Connect")
	stopPhone()
	err = <-done
	require.Error(t, err, "phone")
	require.True(t, errors.Is(err, context.Canceled) || strings.Contains(err.Error(), "waiting for the client"), "phone: %v", err)
}

// The advert package's loopback implementation fits the interfaces the
// roles take; the build checks it.
var (
	_ Advertiser = (*advert.UDPAdvertiser)(nil)
	_ Scanner    = (*advert.UDPScanner)(nil)
)

// TestLinkedSignIn registers through a QR transaction in which the phone
// sends linking information (§7.3, §7.4), then signs in a second time
// with no QR code: the desktop contacts the phone through the tunnel
// server (§7.5) and runs NKpsk0 (§6.3). go-webauthn verifies the
// registration and both assertions.
func TestLinkedSignIn(t *testing.T) {
	checkGoroutines(t)
	contacts := make(chan tunnel.ContactRequest, 1)
	resolve := localTunnelWith(t, func(_ context.Context, req tunnel.ContactRequest) error {
		select {
		case contacts <- req:
			return nil
		default:
			return errors.New("phone busy")
		}
	})
	air := newMemAir()
	engine := newEngine(t, 4)
	link := &PhoneLink{RootSecret: [32]byte{'r', 'o', 'o', 't'}, ContactID: []byte("contact-1"), Name: "softkey phone"}
	phone := &Phone{Handler: engine.HandleCBOR, Advertiser: air, Resolve: resolve, Link: link}

	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: resolve, SupportsLinking: true})
	require.NoError(t, err)
	run := startPhone(t, phone, desktop.QR())
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	session, err := desktop.Connect(ctx)
	require.NoError(t, err, "Connect")

	wa, err := webauthn.New(&webauthn.Config{RPID: "example.org", RPDisplayName: "Example", RPOrigins: []string{"https://example.org"}})
	require.NoError(t, err)
	user := &rpUser{}
	register(t, wa, user, &webauthntest.Browser{CBOR: session.CBOR, Origin: "https://example.org", Transports: []string{"hybrid"}})
	linking := session.Linking()
	require.NotNil(t, linking, "linking information after the QR transaction")
	require.Equal(t, "softkey phone", linking.Name)
	require.NoError(t, session.Close())
	require.NoError(t, run.wait(t), "phone after the QR transaction")

	// The linked transaction: a new desktop session, no QR code.
	linkedDone := make(chan error, 1)
	go func() {
		select {
		case req := <-contacts:
			linkedDone <- phone.ServeLinked(ctx, req)
		case <-ctx.Done():
			linkedDone <- ctx.Err()
		}
	}()
	linked, err := desktop.ConnectLinked(ctx, linking, GetAssertion)
	require.NoError(t, err, "ConnectLinked")
	signIn(t, wa, user, &webauthntest.Browser{CBOR: linked.CBOR, Origin: "https://example.org", Transports: []string{"hybrid"}})
	require.NoError(t, linked.Close())
	require.NoError(t, <-linkedDone, "phone after the linked transaction")

	serveNext := func() {
		go func() {
			select {
			case req := <-contacts:
				linkedDone <- phone.ServeLinked(ctx, req)
			case <-ctx.Done():
				linkedDone <- ctx.Err()
			}
		}()
	}

	// A wrong link secret: the phone's advert does not decrypt under the
	// desktop's EID key, so the desktop scans until its context ends and
	// the phone gives up when the desktop leaves.
	bad := *linking
	bad.Secret = bytes.Repeat([]byte{1}, 32)
	serveNext()
	badCtx, badCancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer badCancel()
	_, err = desktop.ConnectLinked(badCtx, &bad, GetAssertion)
	require.ErrorIs(t, err, context.DeadlineExceeded, "ConnectLinked with a wrong link secret")
	require.ErrorContains(t, <-linkedDone, "waiting for the client", "phone with a wrong link secret")

	// A wrong identity key: the NKpsk0 es term differs (§6.3), so the
	// phone's check of the first handshake message fails.
	other, err := generateEphemeral(nil)
	require.NoError(t, err)
	bad = *linking
	bad.PublicKey = other.PublicKey().Bytes()
	serveNext()
	_, err = desktop.ConnectLinked(ctx, &bad, GetAssertion)
	require.Error(t, err, "ConnectLinked with a wrong identity key")
	require.ErrorIs(t, <-linkedDone, ErrHandshakeFailed, "phone with a wrong identity key")
}

func register(t *testing.T, wa *webauthn.WebAuthn, user *rpUser, browser *webauthntest.Browser) {
	t.Helper()
	ctx := context.Background()
	creation, regSession, err := wa.BeginRegistration(user, webauthn.WithConveyancePreference(protocol.PreferDirectAttestation))
	require.NoError(t, err)
	optionsJSON, err := json.Marshal(creation)
	require.NoError(t, err)
	reg, err := browser.Create(ctx, optionsJSON)
	require.NoError(t, err, "create through the tunnel")
	body, err := reg.JSON()
	require.NoError(t, err)
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	require.NoError(t, err)
	cred, err := wa.CreateCredential(user, *regSession, parsed)
	require.NoError(t, err, "go-webauthn refused the registration: %s", webauthntest.Describe(err))
	user.creds = append(user.creds, *cred)
}

func signIn(t *testing.T, wa *webauthn.WebAuthn, user *rpUser, browser *webauthntest.Browser) {
	t.Helper()
	ctx := context.Background()
	assertion, loginSession, err := wa.BeginLogin(user)
	require.NoError(t, err)
	optionsJSON, err := json.Marshal(assertion)
	require.NoError(t, err)
	got, err := browser.Get(ctx, optionsJSON)
	require.NoError(t, err, "get through the tunnel")
	require.Len(t, got, 1)
	body, err := got[0].JSON()
	require.NoError(t, err)
	req := httptest.NewRequest(http.MethodPost, "https://example.org/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	_, err = wa.FinishLogin(user, *loginSession, req)
	require.NoError(t, err, "go-webauthn refused the assertion: %s", webauthntest.Describe(err))
}

// TestRevision0Phone has the desktop talk to a phone of protocol revision
// 0 (§7.2): a padded post-handshake message, then untyped CTAP frames and
// no shutdown message.
func TestRevision0Phone(t *testing.T) {
	checkGoroutines(t)
	resolve := localTunnel(t)
	air := newMemAir()
	desktop, err := NewDesktop(DesktopConfig{Scanner: air, Resolve: resolve})
	require.NoError(t, err)
	qr := desktop.QR()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	phoneDone := make(chan error, 1)
	go func() { phoneDone <- revision0Phone(ctx, qr, resolve, air) }()
	session, err := desktop.Connect(ctx)
	require.NoError(t, err, "Connect")
	require.Equal(t, Revision0, session.Revision())
	got, err := session.CBOR(ctx, []byte{byte(ctap2.CmdGetAssertion), 0xa0})
	require.NoError(t, err, "CBOR")
	require.Equal(t, []byte{byte(ctap2.ErrNoCredentials)}, got, "answer")
	require.NoError(t, session.Close())
	require.NoError(t, <-phoneDone, "revision-0 phone")
}

// revision0Phone answers one CTAP request the way revision-0 phones do:
// status ErrNoCredentials, untyped. It returns when the client hangs up.
func revision0Phone(ctx context.Context, qr *QR, resolve Resolver, air *memAir) error {
	base, _ := resolve(0)
	conn, err := tunnel.Dial(ctx, NewTunnelURL(base, DeriveTunnelID(qr.Secret[:])))
	if err != nil {
		return err
	}
	defer conn.Close()
	eid := EID{RoutingID: [RoutingIDSize]byte{0xA1, 0xB2, 0xC3}, Nonce: [EIDNonceSize]byte{1, 2, 3}}
	eidKey := DeriveEIDKey(qr.Secret[:], nil)
	air.ch <- EncryptAdvert(&eidKey, eid)
	msg1, err := conn.Read(ctx)
	if err != nil {
		return err
	}
	peer, err := qr.IdentityKey()
	if err != nil {
		return err
	}
	msg2, res, err := RespondKN(DerivePSK(qr.Secret[:], eid.Plaintext()), peer, msg1, nil)
	if err != nil {
		return err
	}
	if err := conn.Write(ctx, msg2); err != nil {
		return err
	}
	f := frames{conn: conn, c: res.NewCrypter()}
	post, err := (&PostHandshake{GetInfo: []byte{0xa1, 0x01, 0x81, 0x68, 'F', 'I', 'D', 'O', '_', '2', '_', '0'}}).MarshalRevision0()
	if err != nil {
		return err
	}
	if err := f.send(ctx, post); err != nil {
		return err
	}
	req, err := f.recv(ctx)
	if err != nil {
		return err
	}
	if req[0] != byte(ctap2.CmdGetAssertion) {
		return fmt.Errorf("request %x, want an untyped getAssertion", req)
	}
	if err := f.send(ctx, []byte{byte(ctap2.ErrNoCredentials)}); err != nil {
		return err
	}
	if _, err := conn.Read(ctx); tunnel.CloseStatus(err) == -1 {
		return fmt.Errorf("after the answer: %v, want the client to close", err)
	}
	return nil
}

package hybrid

import (
	"bytes"
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"strings"
	"time"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

// DesktopConfig configures [NewDesktop]. Scanner is required.
type DesktopConfig struct {
	// Scanner reports adverts. Required. Each [Desktop.Connect] or
	// [Desktop.ConnectLinked] scans once; a scanner that can scan only
	// once, such as advert.UDPScanner, allows one of them.
	Scanner Scanner
	// Resolve maps the domain in an advert to a tunnel server; nil uses
	// the real domain (§5.3).
	Resolve Resolver
	// RequestType goes into the QR code (key 5); empty leaves it out.
	RequestType RequestType
	// SupportsLinking goes into the QR code (key 4): the phone may then
	// send linking information, which [Session.Linking] returns.
	SupportsLinking bool
	// Rand makes the QR identity key and secret and the ephemeral key;
	// nil is crypto/rand.
	Rand io.Reader
	// Now stamps the QR code; nil is time.Now.
	Now func() time.Time
	// Logger gets Debug lines; nil discards.
	Logger *slog.Logger
}

// Desktop plays the client in the QR-initiated flow (§1): it makes the QR
// code, finds the phone's advert by trial decryption (§4.3), joins the
// phone's tunnel and runs the Noise KNpsk0 initiator (§6.2).
type Desktop struct {
	cfg      DesktopConfig
	identity *ecdh.PrivateKey
	qr       QR
}

// NewDesktop makes a fresh QR identity key and secret.
func NewDesktop(cfg DesktopConfig) (*Desktop, error) {
	if cfg.Scanner == nil {
		return nil, errors.New("hybrid: desktop: Scanner is required")
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	identity, err := generateEphemeral(cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: making identity key: %w", err)
	}
	d := &Desktop{cfg: cfg, identity: identity}
	if d.qr.PublicKey, err = CompressPublicKey(identity.PublicKey()); err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	if _, err := io.ReadFull(cfg.Rand, d.qr.Secret[:]); err != nil {
		return nil, fmt.Errorf("hybrid: desktop: making QR secret: %w", err)
	}
	d.qr.KnownDomains = 2
	d.qr.Time = cfg.Now()
	d.qr.RequestType = cfg.RequestType
	d.qr.SupportsLinking = cfg.SupportsLinking
	return d, nil
}

// QR returns the code to show the phone; [QR.URI] is its text.
func (d *Desktop) QR() *QR {
	q := d.qr
	return &q
}

// Connect waits for the phone's advert, joins its tunnel, runs the
// handshake and reads the post-handshake message. The caller must Close
// the session. A failed handshake wraps [ErrHandshakeFailed].
func (d *Desktop) Connect(ctx context.Context) (*Session, error) {
	secret := d.qr.Secret[:]
	eidKey := DeriveEIDKey(secret, nil)
	eid, err := d.scan(ctx, &eidKey)
	if err != nil {
		return nil, err
	}
	base, err := d.cfg.Resolve.resolve(eid.DomainID)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	psk := DerivePSK(secret, eid.Plaintext())
	conn, err := tunnel.Dial(ctx, ConnectURL(base, eid.RoutingID, DeriveTunnelID(secret)))
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: joining tunnel: %w", err)
	}
	s, err := d.handshake(ctx, conn, psk)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

// ConnectLinked reaches a phone linked earlier (§7.5), without a QR code:
// it asks the tunnel server to wake the phone by its contact ID, waits for
// the connect signal (§5.2) and for the phone's advert under a key derived
// from the link secret and a fresh nonce, and runs the NKpsk0 handshake
// (§6.3) with the phone's identity key. The contact tunnel goes to the
// server of domain 0. rt is the request type the phone is told.
func (d *Desktop) ConnectLinked(ctx context.Context, link *LinkingInfo, rt RequestType) (*Session, error) {
	peer, err := link.IdentityKey()
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	nonce := make([]byte, clientNonceSize)
	if _, err := io.ReadFull(d.cfg.Rand, nonce); err != nil {
		return nil, fmt.Errorf("hybrid: desktop: making client nonce: %w", err)
	}
	payload, err := ctap2.Marshal(&ClientPayload{PairingID: link.PairingID, ClientNonce: nonce, RequestType: rt})
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: encoding client payload: %w", err)
	}
	base, err := d.cfg.Resolve.resolve(0)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	h := http.Header{}
	h.Set(tunnel.ClientPayloadHeader, hex.EncodeToString(payload))
	h.Set(tunnel.SignalConnectionHeader, "true")
	conn, err := tunnel.DialWith(ctx, ContactURL(base, link.ContactID), tunnel.DialOptions{Header: h})
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: contacting the linked phone: %w", err)
	}
	s, err := d.linkedHandshake(ctx, conn, link, nonce, peer)
	if err != nil {
		conn.Close()
		return nil, err
	}
	return s, nil
}

func (d *Desktop) linkedHandshake(ctx context.Context, conn *tunnel.Conn, link *LinkingInfo, nonce []byte, peer *ecdh.PublicKey) (*Session, error) {
	if strings.EqualFold(conn.Header().Get(tunnel.SignalConnectionHeader), "true") {
		msg, err := conn.Read(ctx)
		if err != nil {
			return nil, fmt.Errorf("hybrid: desktop: waiting for the connect signal: %w", err)
		}
		if !bytes.Equal(msg, []byte{0}) {
			return nil, fmt.Errorf("hybrid: desktop: connect signal is %x, want 00", msg)
		}
	}
	key, err := Derive(link.Secret, nonce, EIDKey, EIDKeySize)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	eid, err := d.scan(ctx, (*[EIDKeySize]byte)(key))
	if err != nil {
		return nil, err
	}
	psk := DerivePSK(link.Secret, eid.Plaintext())
	init, err := NewNKInitiator(psk, peer, d.cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	return d.finishHandshake(ctx, conn, init)
}

// scan returns the first advert that decrypts under eidKey (§4.3),
// ignoring others. It returns once the scanner has stopped.
func (d *Desktop) scan(ctx context.Context, eidKey *[EIDKeySize]byte) (EID, error) {
	scanCtx, cancel := context.WithCancel(ctx)
	ch, err := d.cfg.Scanner.Scan(scanCtx)
	if err != nil {
		cancel()
		return EID{}, fmt.Errorf("hybrid: desktop: scanning for the phone: %w", err)
	}
	defer func() {
		cancel()
		for range ch {
		}
	}()
	for data := range ch {
		e, err := DecryptAdvert(eidKey, data[:])
		if err == nil {
			return e, nil
		}
		if !errors.Is(err, ErrAdvertMismatch) {
			d.cfg.Logger.Debug("hybrid: desktop: ignoring advert", "err", err)
		}
	}
	err = ctx.Err()
	if err == nil {
		err = errors.New("scanner stopped")
	}
	return EID{}, fmt.Errorf("hybrid: desktop: scanning for the phone: %w", err)
}

// handshake runs KNpsk0 (§6.2) and reads the post-handshake message (§7.2).
func (d *Desktop) handshake(ctx context.Context, conn *tunnel.Conn, psk [32]byte) (*Session, error) {
	init, err := NewKNInitiator(psk, d.identity, d.cfg.Rand)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	return d.finishHandshake(ctx, conn, init)
}

// finishHandshake runs the initiator's side of the handshake and reads
// the post-handshake message (§7.2).
func (d *Desktop) finishHandshake(ctx context.Context, conn *tunnel.Conn, init *HandshakeInitiator) (*Session, error) {
	msg1, err := init.WriteMessage()
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	if err := conn.Write(ctx, msg1); err != nil {
		return nil, fmt.Errorf("hybrid: desktop: writing handshake: %w", err)
	}
	msg2, err := conn.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: reading handshake: %w", err)
	}
	res, err := init.ReadMessage(msg2)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	s := &Session{
		f:        frames{conn: conn, c: res.NewCrypter()},
		identity: d.identity,
		hash:     res.Hash,
		logger:   d.cfg.Logger,
	}
	plaintext, err := s.f.recv(ctx)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: post-handshake message: %w", err)
	}
	post, rev, err := ParsePostHandshake(plaintext)
	if err != nil {
		return nil, fmt.Errorf("hybrid: desktop: %w", err)
	}
	if !post.SupportsCTAP() {
		return nil, fmt.Errorf("hybrid: desktop: the phone offers %q, not CTAP", post.Features)
	}
	s.post, s.revision = post, rev
	s.acceptLinking(post.Linking)
	d.cfg.Logger.Debug("hybrid: desktop: connected", "revision", rev, "result", res)
	return s, nil
}

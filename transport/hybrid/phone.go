package hybrid

import (
	"context"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

// closeTimeout bounds the last frame a side writes before hanging up.
const closeTimeout = 5 * time.Second

// Phone plays the authenticator in the QR-initiated flow (§1): it opens a
// tunnel, advertises, answers the client's Noise KNpsk0 handshake (§6.2),
// sends the post-handshake message (§7.2) and an update message (§7.3),
// then serves CTAP requests until the client shuts down.
type Phone struct {
	// Handler answers CTAP2 messages (command byte and CBOR) with status
	// byte and CBOR, as [authenticator.Authenticator.HandleCBOR] does.
	// Required.
	Handler func(ctx context.Context, msg []byte) []byte
	// Advertiser broadcasts the advert. Required.
	Advertiser Advertiser
	// DomainID is the tunnel server domain the phone advertises (§5.1);
	// zero is cable.ua5v.com, as Android phones use.
	DomainID uint16
	// Resolve maps DomainID to a server; nil uses the real domain.
	Resolve Resolver
	// Rand makes the EID nonce and the ephemeral key; nil is crypto/rand.
	Rand io.Reader
	// Logger gets one Debug line per transaction; nil discards.
	Logger *slog.Logger
	// Link, when set, makes the phone offer linking to clients whose QR
	// code supports it (§7.4), and lets [Phone.ServeLinked] answer them
	// later.
	Link *PhoneLink
}

func (p *Phone) rand() io.Reader {
	if p.Rand != nil {
		return p.Rand
	}
	return rand.Reader
}

func (p *Phone) logger() *slog.Logger {
	if p.Logger != nil {
		return p.Logger
	}
	return slog.New(slog.DiscardHandler)
}

// Serve runs one hybrid transaction for the client that showed qr. It
// returns nil when the client sent the shutdown message, and an error
// otherwise (a failed handshake wraps [ErrHandshakeFailed]). Every
// goroutine it starts has ended when it returns.
func (p *Phone) Serve(ctx context.Context, qr *QR) error {
	if p.Handler == nil || p.Advertiser == nil {
		return errors.New("hybrid: phone: Handler and Advertiser are required")
	}
	peer, err := qr.IdentityKey()
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	base, err := p.Resolve.resolve(p.DomainID)
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	tunnelID := DeriveTunnelID(qr.Secret[:])
	eidKey := DeriveEIDKey(qr.Secret[:], nil)

	conn, err := tunnel.Dial(ctx, NewTunnelURL(base, tunnelID))
	if err != nil {
		return fmt.Errorf("hybrid: phone: opening tunnel: %w", err)
	}
	defer conn.Close()

	var eid EID
	routing, err := hex.DecodeString(conn.RoutingID())
	if err != nil || len(routing) != RoutingIDSize {
		return fmt.Errorf("hybrid: phone: tunnel server sent routing ID %q, want %d hex bytes", conn.RoutingID(), RoutingIDSize)
	}
	copy(eid.RoutingID[:], routing)
	eid.DomainID = p.DomainID
	if _, err := io.ReadFull(p.rand(), eid.Nonce[:]); err != nil {
		return fmt.Errorf("hybrid: phone: making EID nonce: %w", err)
	}
	psk := DerivePSK(qr.Secret[:], eid.Plaintext())

	msg1, err := p.advertiseUntilContacted(ctx, conn, EncryptAdvert(&eidKey, eid))
	if err != nil {
		return err
	}
	msg2, res, err := RespondKN(psk, peer, msg1, p.rand())
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	var linking *LinkingInfo
	if p.Link != nil && qr.SupportsLinking {
		if linking, err = p.Link.linkingInfo(peer, res.Hash, p.rand()); err != nil {
			return fmt.Errorf("hybrid: phone: %w", err)
		}
	}
	return p.serveSession(ctx, conn, msg2, res, linking)
}

// advertiseUntilContacted advertises until the client's first handshake
// message arrives (§4) and returns it; if the advertiser fails, no client
// can find the phone, so it gives up.
func (p *Phone) advertiseUntilContacted(ctx context.Context, conn *tunnel.Conn, advert [AdvertSize]byte) ([]byte, error) {
	readCtx, cancelRead := context.WithCancelCause(ctx)
	defer cancelRead(nil)
	advCtx, stopAdvert := context.WithCancel(readCtx)
	var wg sync.WaitGroup
	wg.Go(func() {
		if err := p.Advertiser.Advertise(advCtx, advert); err != nil && advCtx.Err() == nil {
			cancelRead(fmt.Errorf("advertising: %w", err))
		}
	})
	msg1, err := conn.Read(readCtx)
	stopAdvert()
	wg.Wait()
	if err != nil {
		if cause := context.Cause(readCtx); cause != nil && ctx.Err() == nil {
			return nil, fmt.Errorf("hybrid: phone: %w", cause)
		}
		return nil, fmt.Errorf("hybrid: phone: waiting for the client: %w", err)
	}
	return msg1, nil
}

// serveSession finishes a handshake whose answer is msg2 and serves the
// session (§7.2): post-handshake message, update message (with linking
// information if any, §7.3), then CTAP until shutdown.
func (p *Phone) serveSession(ctx context.Context, conn *tunnel.Conn, msg2 []byte, res *HandshakeResult, linking *LinkingInfo) error {
	log := p.logger()
	if err := conn.Write(ctx, msg2); err != nil {
		return fmt.Errorf("hybrid: phone: writing handshake: %w", err)
	}
	f := frames{conn: conn, c: res.NewCrypter()}
	log.Debug("hybrid: phone handshake done", "routing", conn.RoutingID(), "result", res)

	info := p.Handler(ctx, []byte{byte(ctap2.CmdGetInfo)})
	if len(info) == 0 || ctap2.Status(info[0]) != ctap2.StatusOK {
		return errors.New("hybrid: phone: the handler failed getInfo")
	}
	post := PostHandshake{GetInfo: info[1:], Features: []string{"ctap"}}
	b, err := post.Marshal()
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	if err := f.send(ctx, b); err != nil {
		return fmt.Errorf("hybrid: phone: sending post-handshake message: %w", err)
	}
	update, err := MarshalUpdate(linking)
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	if err := f.send(ctx, update); err != nil {
		return fmt.Errorf("hybrid: phone: sending update message: %w", err)
	}
	return p.serveFrames(ctx, &f, log)
}

// serveFrames answers the client's frames until shutdown (§7.2).
func (p *Phone) serveFrames(ctx context.Context, f *frames, log *slog.Logger) error {
	for {
		plaintext, err := f.recv(ctx)
		if err != nil {
			return fmt.Errorf("hybrid: phone: %w", err)
		}
		m, err := ParseMessage(plaintext)
		if err != nil {
			return fmt.Errorf("hybrid: phone: %w", err)
		}
		switch m.Type {
		case MessageShutdown:
			log.Debug("hybrid: phone: client shut down")
			return nil
		case MessageUpdate:
			// §7.2: the phone only checks a client's update is CBOR.
			if err := checkCBOR(m.Payload); err != nil {
				return fmt.Errorf("hybrid: phone: client update: %w", err)
			}
		case MessageCTAP:
			req, err := ParseCTAPRequest(m.Payload)
			if err != nil {
				return fmt.Errorf("hybrid: phone: %w", err)
			}
			start := time.Now()
			resp := p.Handler(ctx, m.Payload)
			if len(resp) == 0 {
				resp = []byte{byte(ctap2.ErrOther)}
			}
			log.Debug("hybrid: phone: ctap", "command", req.Command, "status", ctap2.Status(resp[0]), "duration", time.Since(start))
			if err := f.send(ctx, Message{Type: MessageCTAP, Payload: resp}.Marshal()); err != nil {
				return fmt.Errorf("hybrid: phone: answering %v: %w", req.Command, err)
			}
		default:
			return fmt.Errorf("hybrid: phone: unexpected %v message", m.Type)
		}
	}
}

// PhoneLink is a phone's long-term linking state (§7.4): the root secret
// every link secret and the identity key derive from, the contact ID the
// tunnel server wakes the phone by, and its display name. Link secrets
// are not stored: they are derived again from the pairing ID a client
// sends.
type PhoneLink struct {
	RootSecret [32]byte
	ContactID  []byte
	Name       string
}

// identity returns the phone's identity key. Chromium turns the seed
// derive(root, ∅, 5, 32) into a key with BoringSSL's
// EC_KEY_derive_from_secret; here the seed is the scalar itself. Only the
// phone ever derives this key, so clients cannot tell the difference.
func (l *PhoneLink) identity() (*ecdh.PrivateKey, error) {
	seed, err := Derive(l.RootSecret[:], nil, IdentityKeySeed, 32)
	if err != nil {
		return nil, err
	}
	k, err := ecdh.P256().NewPrivateKey(seed)
	if err != nil {
		return nil, fmt.Errorf("deriving identity key: %w", err)
	}
	return k, nil
}

// linkSecret derives the secret of a pairing (§7.4):
// derive(derive(root, contact ID, 6, 32), pairing ID, 4, 32).
func (l *PhoneLink) linkSecret(pairingID []byte) ([]byte, error) {
	perContact, err := Derive(l.RootSecret[:], l.ContactID, PerContactIDSecret, 32)
	if err != nil {
		return nil, err
	}
	return Derive(perContact, pairingID, PairedSecret, 32)
}

// pairingIDSize is the size of the pairing IDs Chromium phones make.
const pairingIDSize = 8

// linkingInfo makes a new pairing for the client whose QR key is peer,
// signed over the handshake hash (§7.4).
func (l *PhoneLink) linkingInfo(peer *ecdh.PublicKey, hash [32]byte, r io.Reader) (*LinkingInfo, error) {
	identity, err := l.identity()
	if err != nil {
		return nil, err
	}
	info := &LinkingInfo{ContactID: l.ContactID, PairingID: make([]byte, pairingIDSize), Name: l.Name,
		PublicKey: identity.PublicKey().Bytes()}
	if _, err := io.ReadFull(r, info.PairingID); err != nil {
		return nil, fmt.Errorf("making pairing ID: %w", err)
	}
	if info.Secret, err = l.linkSecret(info.PairingID); err != nil {
		return nil, err
	}
	if info.Signature, err = LinkingSignature(identity, peer, hash); err != nil {
		return nil, err
	}
	return info, nil
}

// ClientPayload is the CBOR map of the X-caBLE-Client-Payload header a
// client sends on /cable/contact/ (§5.2).
type ClientPayload struct {
	PairingID   []byte      `cbor:"1,keyasint"`
	ClientNonce []byte      `cbor:"2,keyasint"`
	RequestType RequestType `cbor:"3,keyasint"`
}

// clientNonceSize is the size of the client nonce of the linked flow.
const clientNonceSize = 16

// ServeLinked answers a linked client (§7.5) that the tunnel server woke
// the phone for: it joins the tunnel the server made, advertises a random
// EID under a key derived from the link secret and the client's nonce,
// answers the NKpsk0 handshake (§6.3) with its identity key and serves the
// session as [Phone.Serve] does. It needs Link.
func (p *Phone) ServeLinked(ctx context.Context, req tunnel.ContactRequest) error {
	if p.Handler == nil || p.Advertiser == nil || p.Link == nil {
		return errors.New("hybrid: phone: Handler, Advertiser and Link are required")
	}
	var payload ClientPayload
	if err := ctap2.Unmarshal(req.ClientPayload, &payload); err != nil {
		return fmt.Errorf("hybrid: phone: parsing client payload: %w", err)
	}
	if len(payload.ClientNonce) != clientNonceSize || len(payload.PairingID) == 0 {
		return errors.New("hybrid: phone: client payload needs a pairing ID and a 16-byte nonce")
	}
	secret, err := p.Link.linkSecret(payload.PairingID)
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	identity, err := p.Link.identity()
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	base, err := p.Resolve.resolve(p.DomainID)
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	conn, err := tunnel.Dial(ctx, ConnectURL(base, req.RoutingID, req.TunnelID))
	if err != nil {
		return fmt.Errorf("hybrid: phone: joining tunnel: %w", err)
	}
	defer conn.Close()

	// §7.5: a random EID with byte 0 zero. Chromium clients still check
	// the domain bytes (§4.3), so draw until they pass.
	var plain [EIDSize]byte
	for {
		if _, err := io.ReadFull(p.rand(), plain[1:]); err != nil {
			return fmt.Errorf("hybrid: phone: making EID: %w", err)
		}
		if _, err := ParseEID(plain); err == nil {
			break
		}
	}
	eidKey, err := Derive(secret, payload.ClientNonce, EIDKey, EIDKeySize)
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	advert := encryptPlaintext((*[EIDKeySize]byte)(eidKey), plain)
	psk := DerivePSK(secret, plain)

	msg1, err := p.advertiseUntilContacted(ctx, conn, advert)
	if err != nil {
		return err
	}
	msg2, res, err := RespondNK(psk, identity, msg1, p.rand())
	if err != nil {
		return fmt.Errorf("hybrid: phone: %w", err)
	}
	return p.serveSession(ctx, conn, msg2, res, nil)
}

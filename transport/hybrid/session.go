package hybrid

import (
	"context"
	"crypto/ecdh"
	"errors"
	"fmt"
	"log/slog"
	"sync"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/transport/hybrid/tunnel"
)

// Advertiser broadcasts a phone's 20-byte advert (§4.2), over BLE or a
// stand-in channel. It has the shape of advert.Advertiser.
type Advertiser interface {
	// Advertise broadcasts data until ctx is done, then returns nil, or
	// returns an error if it cannot broadcast.
	Advertise(ctx context.Context, data [AdvertSize]byte) error
}

// Scanner reports the adverts a client sees (§4.3). It has the shape of
// advert.Scanner.
type Scanner interface {
	// Scan starts scanning and returns a channel of distinct adverts,
	// which is closed once ctx ends and scanning has stopped.
	Scan(ctx context.Context) (<-chan [AdvertSize]byte, error)
}

// Resolver maps an encoded tunnel server domain (§5.1) to the base URL of
// its server: a scheme and an authority, no trailing slash (§5.3). Tests
// map the well-known domains to a local server.
type Resolver func(domainID uint16) (string, error)

// resolve applies r, or [DomainURL] when r is nil.
func (r Resolver) resolve(domainID uint16) (string, error) {
	if r != nil {
		base, err := r(domainID)
		if err != nil {
			return "", fmt.Errorf("resolving tunnel server domain %d: %w", domainID, err)
		}
		return base, nil
	}
	base, ok := DomainURL(domainID)
	if !ok {
		return "", fmt.Errorf("resolving tunnel server domain %d: not a valid domain", domainID)
	}
	return base, nil
}

// ErrU2FUnsupported is returned by [Session.Message]: the hybrid transport
// carries CTAP2 only (§7.2).
var ErrU2FUnsupported = errors.New("hybrid: U2F messages are not carried over hybrid")

// ErrClosed is returned by [Session] methods after [Session.Close].
var ErrClosed = errors.New("hybrid: session closed")

// frames is one end of an established tunnel: encrypted frames (§7.1) over
// a tunnel connection.
type frames struct {
	conn *tunnel.Conn
	c    *Crypter
}

// send encrypts and writes one frame.
func (f *frames) send(ctx context.Context, plaintext []byte) error {
	frame, err := f.c.Encrypt(plaintext)
	if err != nil {
		return fmt.Errorf("encrypting frame: %w", err)
	}
	if err := f.conn.Write(ctx, frame); err != nil {
		return fmt.Errorf("writing frame: %w", err)
	}
	return nil
}

// recv reads and decrypts one frame.
func (f *frames) recv(ctx context.Context) ([]byte, error) {
	frame, err := f.conn.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("reading frame: %w", err)
	}
	plaintext, err := f.c.Decrypt(frame)
	if err != nil {
		return nil, fmt.Errorf("decrypting frame: %w", err)
	}
	return plaintext, nil
}

// Session is a client's established hybrid connection to a phone, after
// the handshake and the post-handshake message (§7.2). Its CBOR and
// Message methods make it a [ctap2.Transport]. Calls are serialized.
type Session struct {
	mu       sync.Mutex
	f        frames
	revision int
	post     *PostHandshake
	identity *ecdh.PrivateKey
	hash     [32]byte
	linking  *LinkingInfo
	closed   bool
	// broken is the error that ended the exchange of frames: after a
	// frame fails to decrypt or parse, or is lost, request and answer can
	// no longer be paired, so the session refuses further requests.
	broken error
	logger *slog.Logger
}

var _ ctap2.Transport = (*Session)(nil)

// Revision is the protocol revision the phone's post-handshake message
// showed (§7.2): [Revision0] or [Revision1].
func (s *Session) Revision() int { return s.revision }

// GetInfo returns the authenticatorGetInfo response CBOR (no status byte)
// from the post-handshake message, or nil if the phone sent none.
func (s *Session) GetInfo() []byte { return s.post.GetInfo }

// Linking returns the last linking information the phone sent and whose
// signature verified (§7.3, §7.4), or nil.
func (s *Session) Linking() *LinkingInfo {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.linking
}

// acceptLinking keeps l if its signature verifies; otherwise it logs why
// and drops it, as Chromium does.
func (s *Session) acceptLinking(l *LinkingInfo) {
	if l == nil {
		return
	}
	if err := l.Verify(s.identity, s.hash); err != nil {
		s.logger.Debug("hybrid: dropping linking information", "err", err)
		return
	}
	s.linking = l
}

// CBOR sends a CTAP2 message (command byte and CBOR) to the phone and
// returns its answer (status byte and CBOR) (§7.2). Update messages that
// arrive before the answer are taken in. authenticatorGetInfo is answered
// from the post-handshake message, as Chromium does.
func (s *Session) CBOR(ctx context.Context, msg []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil, ErrClosed
	}
	if s.broken != nil {
		return nil, fmt.Errorf("hybrid: session broken earlier: %w", s.broken)
	}
	req, err := ParseCTAPRequest(msg)
	if err != nil {
		return nil, err
	}
	// §7.2: clients answer getInfo from the post-handshake message;
	// phones need not answer it over the tunnel.
	if req.Command == ctap2.CmdGetInfo && len(req.Params) == 0 && len(s.post.GetInfo) != 0 {
		return append([]byte{byte(ctap2.StatusOK)}, s.post.GetInfo...), nil
	}
	out := msg
	if s.revision == Revision1 {
		out = req.Marshal()
	}
	resp, err := s.exchange(ctx, req, out)
	if err != nil {
		s.broken = err
		s.logger.Debug("hybrid: session broken", "err", err)
		return nil, err
	}
	return resp, nil
}

// exchange sends one request and waits for its answer.
func (s *Session) exchange(ctx context.Context, req *CTAPRequest, out []byte) ([]byte, error) {
	if err := s.f.send(ctx, out); err != nil {
		return nil, fmt.Errorf("hybrid: sending %v: %w", req.Command, err)
	}
	for {
		plaintext, err := s.f.recv(ctx)
		if err != nil {
			return nil, fmt.Errorf("hybrid: waiting for the answer to %v: %w", req.Command, err)
		}
		payload := plaintext
		if s.revision == Revision1 {
			m, err := ParseMessage(plaintext)
			if err != nil {
				return nil, err
			}
			switch m.Type {
			case MessageUpdate:
				u, err := ParseUpdate(m.Payload)
				if err != nil {
					return nil, err
				}
				s.acceptLinking(u.Linking)
				continue
			case MessageCTAP:
				payload = m.Payload
			default:
				return nil, fmt.Errorf("hybrid: unexpected %v message from the phone", m.Type)
			}
		}
		resp, err := ParseCTAPResponse(payload)
		if err != nil {
			return nil, err
		}
		return append([]byte{byte(resp.Status)}, resp.Data...), nil
	}
}

// Message returns [ErrU2FUnsupported].
func (s *Session) Message(context.Context, []byte) ([]byte, error) {
	return nil, ErrU2FUnsupported
}

// Close sends the shutdown message (§7.2, revision 1 only), waits a few
// seconds at most for the phone to hang up, and closes the tunnel. It is safe to call more than once.
func (s *Session) Close() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return nil
	}
	s.closed = true
	var errs []error
	hungUp := false
	if s.revision == Revision1 {
		ctx, cancel := context.WithTimeout(context.Background(), closeTimeout)
		if err := s.f.send(ctx, ShutdownMessage()); err != nil {
			errs = append(errs, fmt.Errorf("hybrid: sending shutdown: %w", err))
		} else {
			// Wait for the phone to hang up, as Chromium does (§7.2):
			// closing at once could make the tunnel server drop the
			// shutdown frame before the phone reads it.
			for {
				if _, err := s.f.conn.Read(ctx); err != nil {
					hungUp = tunnel.CloseStatus(err) != -1
					break
				}
			}
		}
		cancel()
	}
	// After the close handshake the connection is gone already.
	if err := s.f.conn.Close(); err != nil && !hungUp {
		errs = append(errs, fmt.Errorf("hybrid: closing tunnel: %w", err))
	}
	return errors.Join(errs...)
}

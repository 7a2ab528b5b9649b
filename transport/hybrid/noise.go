package hybrid

// This file implements the Noise handshakes of the hybrid transport
// (hybrid-cable.md §6): the symmetric state over P-256, AES-256-GCM and
// SHA-256 (§6.1), the QR-initiated KNpsk0 pattern (§6.2) and the linked
// NKpsk0 pattern (§6.3). The layout follows Chromium's
// device/fido/cable/noise.cc and v2_handshake.cc [CR]; the same patterns are
// driven by libwebauthn through the snow library [LW].

import (
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
)

// Sizes of the handshake messages (§6.2, §6.3).
const (
	// P256PublicKeySize is the length of an uncompressed X9.62 P-256 point
	// (§2).
	P256PublicKeySize = 65
	// HandshakeMessageSize is the length of both handshake messages: an
	// ephemeral public key followed by the GCM tag of an empty payload.
	HandshakeMessageSize = P256PublicKeySize + gcmTagSize
	// PSKSize is the length of the Noise psk0 (§2.1, purpose 3).
	PSKSize = 32

	gcmTagSize = 16
)

// Protocol names, 31 ASCII bytes plus a zero byte (§6.1).
const (
	protocolNameKNpsk0 = "Noise_KNpsk0_P256_AESGCM_SHA256\x00"
	protocolNameNKpsk0 = "Noise_NKpsk0_P256_AESGCM_SHA256\x00"
)

// Prologues (§6.1): 0x01 for the QR-initiated flow, 0x00 for the linked one.
const (
	prologueKN = 0x01
	prologueNK = 0x00
)

// ErrHandshakeFailed reports a handshake message that did not authenticate:
// a wrong PSK, a wrong static key or a tampered message.
var ErrHandshakeFailed = errors.New("hybrid: noise handshake failed")

// Pattern names one of the two Noise patterns of the hybrid transport.
type Pattern uint8

// The patterns of §6.1.
const (
	// KNpsk0 is the QR-initiated pattern: the responder (phone) knows the
	// initiator's static key from the QR code.
	KNpsk0 Pattern = iota + 1
	// NKpsk0 is the linked (state-assisted) pattern: the initiator (desktop)
	// knows the responder's static key from the linking information.
	NKpsk0
)

// String returns the Noise name of p.
func (p Pattern) String() string {
	switch p {
	case KNpsk0:
		return "KNpsk0"
	case NKpsk0:
		return "NKpsk0"
	default:
		return fmt.Sprintf("Pattern(%d)", uint8(p))
	}
}

// HandshakeResult is what a completed handshake yields (§6.1 Split): the key
// this side encrypts with, the key it decrypts with and the final handshake
// hash, which linking signatures cover (§7.4).
type HandshakeResult struct {
	WriteKey [32]byte
	ReadKey  [32]byte
	Hash     [32]byte

	initiator bool
}

// NewCrypter returns a Crypter (§7.1) using the traffic keys of r. On the
// initiator (client) side it is a [NewClientCrypter], which also accepts the
// old frame construction.
func (r *HandshakeResult) NewCrypter() *Crypter {
	if r.initiator {
		return NewClientCrypter(r.ReadKey, r.WriteKey)
	}
	return NewCrypter(r.ReadKey, r.WriteKey)
}

// LogValue keeps the traffic keys out of logs; only the handshake hash,
// which both peers know, is shown.
func (r *HandshakeResult) LogValue() slog.Value {
	return slog.GroupValue(slog.String("hash", hex.EncodeToString(r.Hash[:])))
}

// symmetricState is the Noise SymmetricState of §6.1.
type symmetricState struct {
	ck     [32]byte
	h      [32]byte
	k      [32]byte
	hasKey bool
	n      uint64
}

// initialize runs InitializeSymmetric with a 32-byte protocol name, which is
// used as h directly.
func (s *symmetricState) initialize(name string) {
	if len(name) != 32 {
		panic("internal error: noise protocol name must be 32 bytes")
	}
	copy(s.h[:], name)
	s.ck = s.h
	s.hasKey = false
	s.n = 0
}

// mixHash sets h = SHA-256(h ‖ data).
func (s *symmetricState) mixHash(data []byte) {
	d := sha256.New()
	d.Write(s.h[:])
	d.Write(data)
	d.Sum(s.h[:0])
}

// hkdfExpand returns HKDF-SHA256(salt = ck, IKM = ikm, info = empty) of n
// bytes, the Noise HKDF of §6.1.
func (s *symmetricState) hkdfExpand(ikm []byte, n int) []byte {
	out, err := hkdf.Key(sha256.New, ikm, s.ck[:], "", n)
	if err != nil {
		panic("internal error: hkdf: " + err.Error())
	}
	return out
}

// mixKey sets (ck, k) = HKDF(ck, ikm, 64) and resets the nonce.
func (s *symmetricState) mixKey(ikm []byte) {
	out := s.hkdfExpand(ikm, 64)
	copy(s.ck[:], out[:32])
	copy(s.k[:], out[32:])
	s.hasKey = true
	s.n = 0
}

// mixKeyAndHash sets (ck, tmp_h, k) = HKDF(ck, psk, 96) and mixes tmp_h into
// h.
func (s *symmetricState) mixKeyAndHash(psk []byte) {
	out := s.hkdfExpand(psk, 96)
	copy(s.ck[:], out[:32])
	s.mixHash(out[32:64])
	copy(s.k[:], out[64:])
	s.hasKey = true
	s.n = 0
}

// aead returns AES-256-GCM under k and the standard Noise nonce
// 00000000 ‖ BE64(n). Every handshake encryption follows a MixKey, so n is
// always 0 and Chromium's different nonce layout gives the same bytes (§6.1).
func (s *symmetricState) aead() (cipher.AEAD, []byte, error) {
	if !s.hasKey {
		return nil, nil, errors.New("internal error: noise cipher used without a key")
	}
	block, err := aes.NewCipher(s.k[:])
	if err != nil {
		return nil, nil, fmt.Errorf("creating handshake cipher: %w", err)
	}
	g, err := cipher.NewGCM(block)
	if err != nil {
		return nil, nil, fmt.Errorf("creating handshake cipher: %w", err)
	}
	nonce := make([]byte, g.NonceSize())
	binary.BigEndian.PutUint64(nonce[4:], s.n)
	return g, nonce, nil
}

// encryptAndHash encrypts p with AD = h, then mixes the ciphertext into h.
func (s *symmetricState) encryptAndHash(p []byte) ([]byte, error) {
	g, nonce, err := s.aead()
	if err != nil {
		return nil, err
	}
	c := g.Seal(nil, nonce, p, s.h[:])
	s.n++
	s.mixHash(c)
	return c, nil
}

// decryptAndHash authenticates and decrypts c with AD = h, then mixes c into
// h.
func (s *symmetricState) decryptAndHash(c []byte) ([]byte, error) {
	g, nonce, err := s.aead()
	if err != nil {
		return nil, err
	}
	p, err := g.Open(nil, nonce, c, s.h[:])
	if err != nil {
		return nil, ErrHandshakeFailed
	}
	s.n++
	s.mixHash(c)
	return p, nil
}

// split derives the two transport keys: (k1, k2) = HKDF(ck, empty, 64). The
// initiator writes with k1 and the responder with k2 (§6.1).
func (s *symmetricState) split() (k1, k2 [32]byte) {
	out := s.hkdfExpand(nil, 64)
	copy(k1[:], out[:32])
	copy(k2[:], out[32:])
	return k1, k2
}

// begin runs the steps both sides share before the first message (§6.2,
// §6.3): Init, MixHash(prologue), MixHash(pre-message static key),
// MixKeyAndHash(psk).
func (s *symmetricState) begin(p Pattern, static *ecdh.PublicKey, psk [32]byte) error {
	if static == nil {
		return errors.New("hybrid: noise: missing static public key")
	}
	if static.Curve() != ecdh.P256() {
		return errors.New("hybrid: noise: static key is not P-256")
	}
	switch p {
	case KNpsk0:
		s.initialize(protocolNameKNpsk0)
		s.mixHash([]byte{prologueKN})
	case NKpsk0:
		s.initialize(protocolNameNKpsk0)
		s.mixHash([]byte{prologueNK})
	default:
		return fmt.Errorf("hybrid: noise: unknown pattern %v", p)
	}
	s.mixHash(static.Bytes())
	s.mixKeyAndHash(psk[:])
	return nil
}

// maxKeyAttempts bounds rejection sampling of ephemeral scalars; a P-256
// candidate is rejected with probability about 2^-32.
const maxKeyAttempts = 16

// generateEphemeral draws a P-256 private key from 32 bytes of r at a time,
// rejecting scalars outside [1, n-1]. Unlike ecdh.GenerateKey (which ignores
// its reader since Go 1.26), the key is a pure function of r, so tests can
// pin ephemeral keys (§8, §10.3). A nil r means crypto/rand.
func generateEphemeral(r io.Reader) (*ecdh.PrivateKey, error) {
	if r == nil {
		r = rand.Reader
	}
	var buf [32]byte
	for range maxKeyAttempts {
		if _, err := io.ReadFull(r, buf[:]); err != nil {
			return nil, fmt.Errorf("hybrid: generating ephemeral key: %w", err)
		}
		k, err := ecdh.P256().NewPrivateKey(buf[:])
		if err == nil {
			return k, nil
		}
	}
	return nil, errors.New("hybrid: generating ephemeral key: no valid scalar from random source")
}

// parsePeerEphemeral checks the length of a handshake message and parses
// its leading uncompressed point.
func parsePeerEphemeral(msg []byte) (*ecdh.PublicKey, error) {
	if len(msg) != HandshakeMessageSize {
		return nil, fmt.Errorf("%w: message is %d bytes, want %d", ErrHandshakeFailed, len(msg), HandshakeMessageSize)
	}
	pub, err := ecdh.P256().NewPublicKey(msg[:P256PublicKeySize])
	if err != nil {
		return nil, fmt.Errorf("%w: invalid ephemeral key: %v", ErrHandshakeFailed, err)
	}
	return pub, nil
}

// dh runs P-256 ECDH and returns the 32-byte X coordinate (§2).
func dh(priv *ecdh.PrivateKey, pub *ecdh.PublicKey) ([]byte, error) {
	x, err := priv.ECDH(pub)
	if err != nil {
		return nil, fmt.Errorf("%w: ecdh: %v", ErrHandshakeFailed, err)
	}
	return x, nil
}

// HandshakeInitiator is the client (desktop) side of a handshake: it writes
// the first message and reads the second. Use it once.
type HandshakeInitiator struct {
	pattern  Pattern
	ss       symmetricState
	identity *ecdh.PrivateKey // s_i, KNpsk0 only
	peer     *ecdh.PublicKey  // s_r, NKpsk0 only
	rand     io.Reader
	e        *ecdh.PrivateKey
	state    initiatorState
}

type initiatorState uint8

const (
	initiatorStart initiatorState = iota
	initiatorSent
	initiatorDone
)

// NewKNInitiator starts a QR-initiated KNpsk0 handshake (§6.2). identity is
// the client's QR identity key, whose public half the QR code carried; psk
// is derive(qr_secret, eid_plaintext, 3, 32) (§4.3). rand supplies the
// ephemeral key; nil means crypto/rand.
func NewKNInitiator(psk [32]byte, identity *ecdh.PrivateKey, rand io.Reader) (*HandshakeInitiator, error) {
	if identity == nil {
		return nil, errors.New("hybrid: noise: missing identity key")
	}
	h := &HandshakeInitiator{pattern: KNpsk0, identity: identity, rand: rand}
	if err := h.ss.begin(KNpsk0, identity.PublicKey(), psk); err != nil {
		return nil, err
	}
	return h, nil
}

// NewNKInitiator starts a linked NKpsk0 handshake (§6.3). peerIdentity is
// the phone's identity public key from linking-info key 4 (§7.4); psk is
// derive(link_secret, eid_plaintext, 3, 32) (§7.5). rand supplies the
// ephemeral key; nil means crypto/rand.
func NewNKInitiator(psk [32]byte, peerIdentity *ecdh.PublicKey, rand io.Reader) (*HandshakeInitiator, error) {
	h := &HandshakeInitiator{pattern: NKpsk0, peer: peerIdentity, rand: rand}
	if err := h.ss.begin(NKpsk0, peerIdentity, psk); err != nil {
		return nil, err
	}
	return h, nil
}

// Pattern returns the handshake pattern.
func (h *HandshakeInitiator) Pattern() Pattern { return h.pattern }

// WriteMessage returns the first handshake message, e_i ‖ tag (81 bytes).
// KNpsk0: "-> psk, e"; NKpsk0: "-> psk, e, es".
func (h *HandshakeInitiator) WriteMessage() ([]byte, error) {
	if h.state != initiatorStart {
		return nil, errors.New("hybrid: noise: first message already written")
	}
	e, err := generateEphemeral(h.rand)
	if err != nil {
		return nil, err
	}
	h.e = e
	ePub := e.PublicKey().Bytes()
	h.ss.mixHash(ePub)
	h.ss.mixKey(ePub)
	if h.pattern == NKpsk0 {
		es, err := dh(e, h.peer)
		if err != nil {
			return nil, err
		}
		h.ss.mixKey(es)
	}
	tag, err := h.ss.encryptAndHash(nil)
	if err != nil {
		return nil, fmt.Errorf("hybrid: noise: writing first message: %w", err)
	}
	h.state = initiatorSent
	msg := make([]byte, 0, HandshakeMessageSize)
	msg = append(msg, ePub...)
	return append(msg, tag...), nil
}

// ReadMessage processes the responder's message (exactly 81 bytes, as
// Chromium requires) and returns the traffic keys: write = k1, read = k2.
// KNpsk0: "<- e, ee, se"; NKpsk0: "<- e, ee". A wrong PSK or static key
// yields an error wrapping [ErrHandshakeFailed].
func (h *HandshakeInitiator) ReadMessage(msg []byte) (*HandshakeResult, error) {
	if h.state != initiatorSent {
		return nil, errors.New("hybrid: noise: response read out of order")
	}
	// Any failure ends this handshake.
	h.state = initiatorDone
	er, err := parsePeerEphemeral(msg)
	if err != nil {
		return nil, err
	}
	h.ss.mixHash(msg[:P256PublicKeySize])
	h.ss.mixKey(msg[:P256PublicKeySize])
	ee, err := dh(h.e, er)
	if err != nil {
		return nil, err
	}
	h.ss.mixKey(ee)
	if h.pattern == KNpsk0 {
		se, err := dh(h.identity, er)
		if err != nil {
			return nil, err
		}
		h.ss.mixKey(se)
	}
	p, err := h.ss.decryptAndHash(msg[P256PublicKeySize:])
	if err != nil {
		return nil, fmt.Errorf("hybrid: noise: reading response: %w", err)
	}
	if len(p) != 0 {
		return nil, fmt.Errorf("%w: non-empty handshake payload", ErrHandshakeFailed)
	}
	k1, k2 := h.ss.split()
	h.e = nil
	return &HandshakeResult{WriteKey: k1, ReadKey: k2, Hash: h.ss.h, initiator: true}, nil
}

// RespondKN is the phone side of the QR-initiated KNpsk0 handshake (§6.2).
// peerIdentity is the client's identity public key from the QR code, msg1
// the initiator's message. It returns the response message and the traffic
// keys: read = k1, write = k2. rand supplies the ephemeral key; nil means
// crypto/rand.
func RespondKN(psk [32]byte, peerIdentity *ecdh.PublicKey, msg1 []byte, rand io.Reader) ([]byte, *HandshakeResult, error) {
	var ss symmetricState
	if err := ss.begin(KNpsk0, peerIdentity, psk); err != nil {
		return nil, nil, err
	}
	return respond(&ss, KNpsk0, peerIdentity, nil, msg1, rand)
}

// RespondNK is the phone side of the linked NKpsk0 handshake (§6.3).
// identity is the phone's long-term identity key whose public half the
// client got in linking-info key 4.
func RespondNK(psk [32]byte, identity *ecdh.PrivateKey, msg1 []byte, rand io.Reader) ([]byte, *HandshakeResult, error) {
	if identity == nil {
		return nil, nil, errors.New("hybrid: noise: missing identity key")
	}
	var ss symmetricState
	if err := ss.begin(NKpsk0, identity.PublicKey(), psk); err != nil {
		return nil, nil, err
	}
	return respond(&ss, NKpsk0, nil, identity, msg1, rand)
}

func respond(ss *symmetricState, p Pattern, peerStatic *ecdh.PublicKey, static *ecdh.PrivateKey, msg1 []byte, rand io.Reader) ([]byte, *HandshakeResult, error) {
	ei, err := parsePeerEphemeral(msg1)
	if err != nil {
		return nil, nil, err
	}
	ss.mixHash(msg1[:P256PublicKeySize])
	ss.mixKey(msg1[:P256PublicKeySize])
	if p == NKpsk0 {
		es, err := dh(static, ei)
		if err != nil {
			return nil, nil, err
		}
		ss.mixKey(es)
	}
	pt, err := ss.decryptAndHash(msg1[P256PublicKeySize:])
	if err != nil {
		return nil, nil, fmt.Errorf("hybrid: noise: reading first message: %w", err)
	}
	if len(pt) != 0 {
		return nil, nil, fmt.Errorf("%w: non-empty handshake payload", ErrHandshakeFailed)
	}

	e, err := generateEphemeral(rand)
	if err != nil {
		return nil, nil, err
	}
	ePub := e.PublicKey().Bytes()
	ss.mixHash(ePub)
	ss.mixKey(ePub)
	ee, err := dh(e, ei)
	if err != nil {
		return nil, nil, err
	}
	ss.mixKey(ee)
	if p == KNpsk0 {
		se, err := dh(e, peerStatic)
		if err != nil {
			return nil, nil, err
		}
		ss.mixKey(se)
	}
	tag, err := ss.encryptAndHash(nil)
	if err != nil {
		return nil, nil, fmt.Errorf("hybrid: noise: writing response: %w", err)
	}
	k1, k2 := ss.split()
	msg := make([]byte, 0, HandshakeMessageSize)
	msg = append(msg, ePub...)
	msg = append(msg, tag...)
	return msg, &HandshakeResult{WriteKey: k2, ReadKey: k1, Hash: ss.h}, nil
}

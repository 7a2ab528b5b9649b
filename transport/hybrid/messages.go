package hybrid

// This file implements the messages exchanged after the handshake
// (hybrid-cable.md §7.2-§7.4): the post-handshake message, the typed frames
// of protocol revision 1 (shutdown, CTAP, update, JSON) and the linking
// information, after Chromium's fido_tunnel_device.cc, v2_authenticator.cc
// and pairing.cc [CR].

import (
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/ctap2"
)

// MessageType is the first plaintext byte of every frame after the
// post-handshake message in protocol revision 1 (§7.2).
type MessageType uint8

// Message types (§7.2, Chromium MessageType).
const (
	// MessageShutdown is sent by the client, with an empty payload, before
	// it closes the tunnel.
	MessageShutdown MessageType = 0
	// MessageCTAP carries a CTAP request (command ‖ CBOR) or response
	// (status ‖ CBOR).
	MessageCTAP MessageType = 1
	// MessageUpdate carries a CBOR map; from the phone it may hold linking
	// information (§7.3).
	MessageUpdate MessageType = 2
	// MessageJSON is used by the digital-credential API.
	MessageJSON MessageType = 3
)

// String names t.
func (t MessageType) String() string {
	switch t {
	case MessageShutdown:
		return "shutdown"
	case MessageCTAP:
		return "ctap"
	case MessageUpdate:
		return "update"
	case MessageJSON:
		return "json"
	default:
		return fmt.Sprintf("MessageType(%d)", uint8(t))
	}
}

// Message is one revision-1 frame plaintext: a type byte and its payload.
type Message struct {
	Type    MessageType
	Payload []byte
}

// Marshal returns type ‖ payload.
func (m Message) Marshal() []byte {
	out := make([]byte, 0, 1+len(m.Payload))
	out = append(out, byte(m.Type))
	return append(out, m.Payload...)
}

// ParseMessage splits a decrypted revision-1 frame into type and payload.
// It refuses empty input, unknown types (a protocol error in §7.2) and a
// shutdown with a payload. The payload aliases b.
func ParseMessage(b []byte) (Message, error) {
	if len(b) == 0 {
		return Message{}, errors.New("hybrid: parsing message: empty frame")
	}
	m := Message{Type: MessageType(b[0]), Payload: b[1:]}
	switch m.Type {
	case MessageShutdown:
		if len(m.Payload) != 0 {
			return Message{}, fmt.Errorf("hybrid: parsing message: shutdown with %d payload bytes", len(m.Payload))
		}
	case MessageCTAP, MessageUpdate, MessageJSON:
	default:
		return Message{}, fmt.Errorf("hybrid: parsing message: unknown type %d", b[0])
	}
	return m, nil
}

// ShutdownMessage returns the client's shutdown frame plaintext, [0x00].
func ShutdownMessage() []byte { return Message{Type: MessageShutdown}.Marshal() }

// CTAPRequest is a CTAP command sent by the client (§7.2).
type CTAPRequest struct {
	Command ctap2.Command
	// Params is the CBOR parameter map, empty for commands without one.
	Params []byte
}

// Marshal returns the revision-1 plaintext 0x01 ‖ command ‖ params.
func (r *CTAPRequest) Marshal() []byte {
	out := make([]byte, 0, 2+len(r.Params))
	out = append(out, byte(MessageCTAP), byte(r.Command))
	return append(out, r.Params...)
}

// ParseCTAPRequest parses the payload of a CTAP message (the bytes after the
// type byte; in revision 0 the whole plaintext): a command byte and, if
// present, exactly one well-formed CBOR item. Params aliases payload.
func ParseCTAPRequest(payload []byte) (*CTAPRequest, error) {
	if len(payload) == 0 {
		return nil, errors.New("hybrid: parsing CTAP request: missing command byte")
	}
	if err := checkCBOR(payload[1:]); err != nil {
		return nil, fmt.Errorf("hybrid: parsing CTAP request: %w", err)
	}
	return &CTAPRequest{Command: ctap2.Command(payload[0]), Params: payload[1:]}, nil
}

// CTAPResponse is the phone's answer to a CTAP request (§7.2).
type CTAPResponse struct {
	Status ctap2.Status
	// Data is the CBOR response map, empty on error or for commands
	// without one.
	Data []byte
}

// Marshal returns the revision-1 plaintext 0x01 ‖ status ‖ data.
func (r *CTAPResponse) Marshal() []byte {
	out := make([]byte, 0, 2+len(r.Data))
	out = append(out, byte(MessageCTAP), byte(r.Status))
	return append(out, r.Data...)
}

// ParseCTAPResponse parses the payload of a CTAP message from the phone: a
// status byte and, if present, exactly one well-formed CBOR item. Data
// aliases payload.
func ParseCTAPResponse(payload []byte) (*CTAPResponse, error) {
	if len(payload) == 0 {
		return nil, errors.New("hybrid: parsing CTAP response: missing status byte")
	}
	if err := checkCBOR(payload[1:]); err != nil {
		return nil, fmt.Errorf("hybrid: parsing CTAP response: %w", err)
	}
	return &CTAPResponse{Status: ctap2.Status(payload[0]), Data: payload[1:]}, nil
}

// checkCBOR accepts empty input or exactly one well-formed CTAP2 CBOR item
// within the ctap2 decoder's limits, without duplicate map keys.
func checkCBOR(b []byte) error {
	if len(b) == 0 {
		return nil
	}
	var v any
	return ctap2.Unmarshal(b, &v)
}

// LinkingInfo is the linking map a phone sends so the client can reach it
// later without a QR code (§7.4). All six keys are required on receipt.
type LinkingInfo struct {
	// ContactID is opaque to the client; it goes in /cable/contact/.
	ContactID []byte `cbor:"1,keyasint,omitempty"`
	// PairingID identifies the link (8 bytes from Chromium phones).
	PairingID []byte `cbor:"2,keyasint,omitempty"`
	// Secret is the 32-byte link secret.
	Secret []byte `cbor:"3,keyasint,omitempty"`
	// PublicKey is the phone's uncompressed P-256 identity key (65 bytes),
	// the static key of the later NKpsk0 handshakes.
	PublicKey []byte `cbor:"4,keyasint,omitempty"`
	// Name is the phone's display name.
	Name string `cbor:"5,keyasint,omitempty"`
	// Signature is HMAC-SHA256(ECDH_x(phone identity, client QR key),
	// handshake hash), 32 bytes.
	Signature []byte `cbor:"6,keyasint,omitempty"`
	// NewImplementation is the optional key 999 tag.
	NewImplementation bool `cbor:"999,keyasint,omitempty"`
}

const (
	linkSecretSize = 32
	signatureSize  = sha256.Size
)

// validate applies the checks of §7.4 to a received map.
func (l *LinkingInfo) validate() error {
	switch {
	case len(l.ContactID) == 0:
		return errors.New("missing contact ID (key 1)")
	case len(l.PairingID) == 0:
		return errors.New("missing pairing ID (key 2)")
	case len(l.Secret) != linkSecretSize:
		return fmt.Errorf("link secret (key 3) is %d bytes, want %d", len(l.Secret), linkSecretSize)
	case len(l.Name) == 0:
		return errors.New("missing name (key 5)")
	case len(l.Signature) != signatureSize:
		return fmt.Errorf("signature (key 6) is %d bytes, want %d", len(l.Signature), signatureSize)
	}
	if _, err := ecdh.P256().NewPublicKey(l.PublicKey); err != nil {
		return fmt.Errorf("identity key (key 4): %w", err)
	}
	return nil
}

// IdentityKey parses the phone's identity key (key 4).
func (l *LinkingInfo) IdentityKey() (*ecdh.PublicKey, error) {
	k, err := ecdh.P256().NewPublicKey(l.PublicKey)
	if err != nil {
		return nil, fmt.Errorf("hybrid: parsing linking identity key: %w", err)
	}
	return k, nil
}

// LinkingSignature computes the key-6 signature of §7.4:
// HMAC-SHA256(key = ECDH_x(priv, peer), msg = handshakeHash). The phone
// calls it with its identity key and the client's QR key; the client's
// check uses its QR key and the phone's key 4, which yields the same value.
func LinkingSignature(priv *ecdh.PrivateKey, peer *ecdh.PublicKey, handshakeHash [32]byte) ([]byte, error) {
	shared, err := priv.ECDH(peer)
	if err != nil {
		return nil, fmt.Errorf("hybrid: computing linking signature: %w", err)
	}
	mac := hmac.New(sha256.New, shared)
	mac.Write(handshakeHash[:])
	return mac.Sum(nil), nil
}

// Verify checks the signature of l (§7.4) with the client's QR identity key
// and the hash of the handshake that delivered l, in constant time.
func (l *LinkingInfo) Verify(qrIdentity *ecdh.PrivateKey, handshakeHash [32]byte) error {
	peer, err := l.IdentityKey()
	if err != nil {
		return err
	}
	want, err := LinkingSignature(qrIdentity, peer, handshakeHash)
	if err != nil {
		return err
	}
	if !hmac.Equal(want, l.Signature) {
		return errors.New("hybrid: linking signature does not verify")
	}
	return nil
}

// PostHandshake is the first encrypted frame from the phone (§7.2). It has
// no type byte.
type PostHandshake struct {
	// Padding is key 0, seen in some phones' messages.
	Padding []byte `cbor:"0,keyasint,omitempty"`
	// GetInfo is the authenticatorGetInfo response CBOR without a status
	// byte (key 1).
	GetInfo []byte `cbor:"1,keyasint,omitempty"`
	// Linking is the optional linking map (key 2).
	Linking *LinkingInfo `cbor:"2,keyasint,omitempty"`
	// Features lists "ctap" and/or "dc" (key 3); absent means CTAP.
	Features []string `cbor:"3,keyasint,omitempty"`
}

// Protocol revisions told apart by the shape of the post-handshake message
// (§7.2).
const (
	// Revision0 pads the post-handshake map and sends untyped frames.
	Revision0 = 0
	// Revision1 sends a bare map and typed frames.
	Revision1 = 1
)

const (
	postHandshakePadding    = 512
	postHandshakePaddingOld = 256
)

// Marshal encodes p in canonical CBOR: the revision-1 form.
func (p *PostHandshake) Marshal() ([]byte, error) {
	b, err := ctap2.Marshal(p)
	if err != nil {
		return nil, fmt.Errorf("hybrid: encoding post-handshake message: %w", err)
	}
	return b, nil
}

// MarshalRevision0 encodes p in the padded revision-0 form:
// CBOR ‖ 0x00… ‖ LE16(number of zero bytes), a multiple of 512 bytes.
func (p *PostHandshake) MarshalRevision0() ([]byte, error) {
	b, err := p.Marshal()
	if err != nil {
		return nil, err
	}
	total := (len(b) + 2 + postHandshakePadding - 1) / postHandshakePadding * postHandshakePadding
	z := total - len(b) - 2
	if z > 0xffff {
		return nil, errors.New("hybrid: encoding post-handshake message: too long to pad")
	}
	out := make([]byte, total)
	copy(out, b)
	binary.LittleEndian.PutUint16(out[total-2:], uint16(z))
	return out, nil
}

// ParsePostHandshake decodes the phone's first frame and reports the
// protocol revision (§7.2): exactly one CBOR map is revision 1; otherwise
// the padded forms (LE16 count to a multiple of 512, then u8 count to a
// multiple of 256) are tried and mean revision 0. Duplicate keys, wrong
// types and invalid linking maps are refused; unknown keys are ignored, as
// Chromium does.
func ParsePostHandshake(b []byte) (*PostHandshake, int, error) {
	p, err := decodePostHandshake(b)
	if err == nil {
		return p, Revision1, nil
	}
	for _, body := range unpadPostHandshake(b) {
		if p, err0 := decodePostHandshake(body); err0 == nil {
			return p, Revision0, nil
		}
	}
	return nil, 0, fmt.Errorf("hybrid: parsing post-handshake message: %w", err)
}

// unpadPostHandshake returns the candidate bodies of a padded revision-0
// message, new form first.
func unpadPostHandshake(b []byte) [][]byte {
	var out [][]byte
	if n := len(b); n >= 2 && n%postHandshakePadding == 0 {
		if z := int(binary.LittleEndian.Uint16(b[n-2:])); z+2 <= n {
			out = append(out, b[:n-2-z])
		}
	}
	if n := len(b); n >= 1 && n%postHandshakePaddingOld == 0 {
		if z := int(b[n-1]); z+1 <= n {
			out = append(out, b[:n-1-z])
		}
	}
	return out
}

func decodePostHandshake(b []byte) (*PostHandshake, error) {
	var p PostHandshake
	if err := ctap2.Unmarshal(b, &p); err != nil {
		return nil, err
	}
	if p.Linking != nil {
		if err := p.Linking.validate(); err != nil {
			return nil, fmt.Errorf("linking info: %w", err)
		}
	}
	if len(p.GetInfo) != 0 {
		if err := checkCBOR(p.GetInfo); err != nil {
			return nil, fmt.Errorf("getInfo (key 1): %w", err)
		}
	}
	return &p, nil
}

// SupportsCTAP reports whether the phone offers CTAP: features absent or
// listing "ctap" (§7.2).
func (p *PostHandshake) SupportsCTAP() bool {
	if p.Features == nil {
		return true
	}
	for _, f := range p.Features {
		if f == "ctap" {
			return true
		}
	}
	return false
}

// Update is the payload of an update message (§7.3).
type Update struct {
	// Padding is key 0, zero bytes sized so the frame fills 512 bytes.
	Padding []byte `cbor:"0,keyasint,omitempty"`
	// Linking is the optional linking map (key 1).
	Linking *LinkingInfo `cbor:"1,keyasint,omitempty"`
}

// updateFrameSize is the padded plaintext size of the phone's update frame;
// any message of 481 to 511 bytes pads to it (§7.1, §7.3).
const updateFrameSize = 512

// MarshalUpdate returns the revision-1 plaintext 0x02 ‖ CBOR{0: zeros,
// 1: linking}, with key 0 sized so that after Crypter padding the frame is
// exactly 512 bytes, as Chromium phones send it (§7.3). A linking map too
// large for that gets no padding. linking may be nil.
func MarshalUpdate(linking *LinkingInfo) ([]byte, error) {
	u := Update{Linking: linking}
	base, err := ctap2.Marshal(&u)
	if err != nil {
		return nil, fmt.Errorf("hybrid: encoding update message: %w", err)
	}
	// Key 0 with n bytes adds 1 (key) + header(n) + n to the map and may
	// grow the map header; search the small range of candidates.
	target := updateFrameSize - 1 // message ‖ count byte fits 512
	for n := target - 1 - len(base); n >= 1; n-- {
		u.Padding = make([]byte, n)
		b, err := ctap2.Marshal(&u)
		if err != nil {
			return nil, fmt.Errorf("hybrid: encoding update message: %w", err)
		}
		if 1+len(b) <= target {
			return Message{Type: MessageUpdate, Payload: b}.Marshal(), nil
		}
	}
	return Message{Type: MessageUpdate, Payload: base}.Marshal(), nil
}

// ParseUpdate decodes the payload of an update message (the bytes after the
// type byte), validating a linking map if there is one.
func ParseUpdate(payload []byte) (*Update, error) {
	var u Update
	if err := ctap2.Unmarshal(payload, &u); err != nil {
		return nil, fmt.Errorf("hybrid: parsing update message: %w", err)
	}
	if u.Linking != nil {
		if err := u.Linking.validate(); err != nil {
			return nil, fmt.Errorf("hybrid: parsing update message: linking info: %w", err)
		}
	}
	return &u, nil
}

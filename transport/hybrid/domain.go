package hybrid

import (
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strings"
)

// Tunnel server domains (§5.1; Chromium tunnelserver::DecodeDomain in
// v2_handshake.cc, webauthn-rs get_domain in cable/tunnel.rs).
const (
	// GoogleDomainID is the domain ID of Google's tunnel server, used by
	// Chrome on Android.
	GoogleDomainID uint16 = 0
	// AppleDomainID is the domain ID of Apple's tunnel server, used by
	// iPhones.
	AppleDomainID uint16 = 1
	// firstHashedDomainID is the first ID whose domain is hashed; IDs
	// below it are assigned.
	firstHashedDomainID = 256

	hashedDomainPrefix = "caBLEv2 tunnel server domain"
	domainBase32       = "abcdefghijklmnopqrstuvwxyz234567"
)

// assignedDomain returns the host name of an assigned domain ID.
func assignedDomain(id uint16) (string, bool) {
	switch id {
	case GoogleDomainID:
		return "cable.ua5v.com", true
	case AppleDomainID:
		return "cable.auth.com", true
	}
	return "", false
}

// DecodeDomain returns the host name of the tunnel server with the given
// domain ID (§5.1). IDs 0 and 1 are Google's and Apple's servers; 2 to 255
// are assigned to nobody and yield false; 256 and up are hashed: SHA-256 of
// "caBLEv2 tunnel server domain" ‖ LE16(id) ‖ 0x00, whose first eight bytes
// (little-endian) pick a top-level domain with two bits and spell a label
// in base32 with the rest.
func DecodeDomain(id uint16) (string, bool) {
	if id < firstHashedDomainID {
		return assignedDomain(id)
	}
	var in [len(hashedDomainPrefix) + 3]byte
	copy(in[:], hashedDomainPrefix)
	binary.LittleEndian.PutUint16(in[len(hashedDomainPrefix):], id)
	d := sha256.Sum256(in[:])
	v := binary.LittleEndian.Uint64(d[:8])
	tld := [...]string{".com", ".org", ".net", ".info"}[v&3]
	v >>= 2
	var sb strings.Builder
	sb.WriteString("cable.")
	for v != 0 {
		sb.WriteByte(domainBase32[v&31])
		v >>= 5
	}
	sb.WriteString(tld)
	return sb.String(), true
}

// DomainURL returns "wss://" and the host name of the tunnel server with
// the given domain ID, the base URL for [NewTunnelURL], [ConnectURL] and
// [ContactURL] in production. Local setups use another base such as
// "ws://127.0.0.1:8080" (§5.3).
func DomainURL(id uint16) (string, bool) {
	d, ok := DecodeDomain(id)
	if !ok {
		return "", false
	}
	return "wss://" + d, true
}

// NewTunnelURL returns the URL a phone opens in the QR flow (§5.2;
// Chromium tunnelserver::GetNewTunnelURL): base + "/cable/new/" + the
// tunnel ID in upper-case hex. base is a scheme and authority without a
// trailing slash, as [DomainURL] returns.
func NewTunnelURL(base string, tunnelID [TunnelIDSize]byte) string {
	return base + "/cable/new/" + upperHex(tunnelID[:])
}

// ConnectURL returns the URL a client opens in the QR flow, and a phone in
// the linked flow (§5.2; Chromium tunnelserver::GetConnectURL): base +
// "/cable/connect/" + routing ID + "/" + tunnel ID, both upper-case hex.
func ConnectURL(base string, routingID [RoutingIDSize]byte, tunnelID [TunnelIDSize]byte) string {
	return base + "/cable/connect/" + upperHex(routingID[:]) + "/" + upperHex(tunnelID[:])
}

// ContactURL returns the URL a client opens to reach a linked phone (§5.2;
// Chromium tunnelserver::GetContactURL): base + "/cable/contact/" + the
// contact ID in unpadded base64url.
func ContactURL(base string, contactID []byte) string {
	return base + "/cable/contact/" + base64.RawURLEncoding.EncodeToString(contactID)
}

// upperHex is hex in upper case, as Chromium's base::HexEncode writes it.
func upperHex(b []byte) string {
	return strings.ToUpper(hex.EncodeToString(b))
}

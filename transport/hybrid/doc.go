// Package hybrid implements the FIDO CTAP 2.2 "hybrid" transport, also
// known as caBLE v2: a phone acts as an authenticator for a desktop
// client, found by a QR code and a BLE advertisement and reached through a
// WebSocket tunnel server.
//
// The byte layouts follow the project's protocol digest
// (shared/spec/hybrid-cable.md), which was written from Chromium's
// device/fido/cable (v2_handshake.cc, v2_discovery.cc, v2_constants.h),
// kanidm/webauthn-rs (webauthn-authenticator-rs/src/cable) and
// linux-credentials/libwebauthn. Section numbers in comments (§3.2 etc.)
// refer to that digest.
//
// # QR code
//
// A client shows a [QR] as a "FIDO:/" URI whose digits encode a CBOR map
// (§3). [QR.URI] produces it, [ParseURI] reads it strictly; [EncodeDigits]
// and [DecodeDigits] are the base-10 encoding underneath (§3.3).
//
// # Keys
//
// [Derive] is the HKDF-SHA256 derivation of §2.1, keyed by a
// [DerivedValueType]; [DeriveEIDKey], [DeriveTunnelID] and [DerivePSK]
// name the three values the QR-initiated flow needs.
//
// # Advertisement
//
// The phone broadcasts an encrypted [EID] as 20 bytes of BLE service data
// (§4): [EncryptAdvert] builds them, [DecryptAdvert] is the client's trial
// decryption.
//
// # Tunnel servers
//
// [DecodeDomain] maps the 16-bit domain ID of an EID to a tunnel server
// host name (§5.1); [NewTunnelURL], [ConnectURL] and [ContactURL] build the
// WebSocket endpoints (§5.2).
package hybrid

package hybrid

import "testing"

// TestDecodeDomain checks the vectors of §5.1 and §10.1: Chromium
// v2_handshake_unittest.cc (0, 266), webauthn-rs (0xF980) and the digest's
// own [S] values (256, 65535).
func TestDecodeDomain(t *testing.T) {
	tests := []struct {
		id   uint16
		want string
	}{
		{0, "cable.ua5v.com"},
		{1, "cable.auth.com"},
		{266, "cable.wufkweyy3uaxb.com"},
		{0xf980, "cable.my4kstlhndi4c.net"},
		{256, "cable.qz2ekwmnd332c.info"},
		{65535, "cable.lw6vahpb5pldb.net"},
	}
	for _, tc := range tests {
		got, ok := DecodeDomain(tc.id)
		if !ok || got != tc.want {
			t.Errorf("DecodeDomain(%d) = %q, %v, want %q", tc.id, got, ok, tc.want)
		}
	}
	for id := uint16(2); id < 256; id++ {
		if got, ok := DecodeDomain(id); ok || got != "" {
			t.Errorf("DecodeDomain(%d) = %q, %v, want unassigned", id, got, ok)
		}
		if got, ok := DomainURL(id); ok || got != "" {
			t.Errorf("DomainURL(%d) = %q, %v, want unassigned", id, got, ok)
		}
	}
}

// TestURLs is webauthn-rs discovery.rs encrypt_decrypt (§10.1): the zero
// QR secret, routing ID 090A0B, domains 0xF980, 0 and 1 and a local base.
func TestURLs(t *testing.T) {
	tunnelID := DeriveTunnelID(make([]byte, QRSecretSize))
	routing := [RoutingIDSize]byte{9, 10, 11}
	base := func(id uint16) string {
		u, ok := DomainURL(id)
		if !ok {
			t.Fatalf("DomainURL(%d) failed", id)
		}
		return u
	}
	tests := []struct {
		name, got, want string
	}{
		{"new hashed", NewTunnelURL(base(0xf980), tunnelID), "wss://cable.my4kstlhndi4c.net/cable/new/3EEF97097986413B059EAA2A30D653D4"},
		{"new local", NewTunnelURL("ws://localhost:8080", tunnelID), "ws://localhost:8080/cable/new/3EEF97097986413B059EAA2A30D653D4"},
		{"connect hashed", ConnectURL(base(0xf980), routing, tunnelID), "wss://cable.my4kstlhndi4c.net/cable/connect/090A0B/3EEF97097986413B059EAA2A30D653D4"},
		{"connect Google", ConnectURL(base(0), routing, tunnelID), "wss://cable.ua5v.com/cable/connect/090A0B/3EEF97097986413B059EAA2A30D653D4"},
		{"connect Apple", ConnectURL(base(1), routing, tunnelID), "wss://cable.auth.com/cable/connect/090A0B/3EEF97097986413B059EAA2A30D653D4"},
		{"connect local", ConnectURL("ws://localhost:8080", routing, tunnelID), "ws://localhost:8080/cable/connect/090A0B/3EEF97097986413B059EAA2A30D653D4"},
		{"contact", ContactURL(base(0), []byte{0xfb, 0xff, 0x00, 0x01}), "wss://cable.ua5v.com/cable/contact/-_8AAQ"},
		{"contact empty", ContactURL("ws://127.0.0.1:1", nil), "ws://127.0.0.1:1/cable/contact/"},
	}
	for _, tc := range tests {
		if tc.got != tc.want {
			t.Errorf("%s: got %q, want %q", tc.name, tc.got, tc.want)
		}
	}
}

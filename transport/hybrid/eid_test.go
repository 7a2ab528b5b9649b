package hybrid

import (
	"encoding/hex"
	"errors"
	"testing"
)

// TestEncryptAdvertTranscript is the advert of the §10.3 transcript.
func TestEncryptAdvertTranscript(t *testing.T) {
	key := DeriveEIDKey(unhex(t, transcriptSecret), nil)
	e := EID{
		Nonce:     [EIDNonceSize]byte{0xa0, 0xa1, 0xa2, 0xa3, 0xa4, 0xa5, 0xa6, 0xa7, 0xa8, 0xa9},
		RoutingID: [RoutingIDSize]byte{1, 2, 3},
		DomainID:  GoogleDomainID,
	}
	p := e.Plaintext()
	if got, want := hex.EncodeToString(p[:]), "00a0a1a2a3a4a5a6a7a8a90102030000"; got != want {
		t.Errorf("Plaintext() = %s, want %s", got, want)
	}
	adv := EncryptAdvert(&key, e)
	if got, want := hex.EncodeToString(adv[:]), "37ec303b42aa1fbfec0ee31e37a36d64d651a4f6"; got != want {
		t.Errorf("EncryptAdvert = %s, want %s", got, want)
	}
	back, err := DecryptAdvert(&key, adv[:])
	if err != nil || back != e {
		t.Errorf("DecryptAdvert = %+v, %v, want %+v", back, err, e)
	}
}

// TestDecryptAdvertKnown is webauthn-rs discovery.rs decrypt_known: an
// advert captured from a phone (§10.1, §10.2).
func TestDecryptAdvertKnown(t *testing.T) {
	secret := unhex(t, knownAdvertSecret)
	key := DeriveEIDKey(secret, nil)
	adv := []byte{2, 125, 132, 237, 96, 118, 181, 94, 36, 124, 131, 15, 130, 149, 94, 77, 18, 110, 127, 67}
	e, err := DecryptAdvert(&key, adv)
	if err != nil {
		t.Fatalf("DecryptAdvert(%x) failed: %v", adv, err)
	}
	want := EID{
		Nonce:     [EIDNonceSize]byte{139, 181, 197, 201, 164, 77, 145, 58, 94, 178},
		RoutingID: [RoutingIDSize]byte{2, 101, 85},
		DomainID:  0,
	}
	if e != want {
		t.Fatalf("DecryptAdvert = %+v, want %+v", e, want)
	}
	p := e.Plaintext()
	if got, want := hex.EncodeToString(p[:]), "008bb5c5c9a44d913a5eb20265550000"; got != want {
		t.Errorf("Plaintext() = %s, want %s", got, want)
	}
	psk := DerivePSK(secret, p)
	if got, want := hex.EncodeToString(psk[:]), "839f4fa0f797563fc485031e4bec7e60b0f07fbc58fcda6815c8e9b1eec698bb"; got != want {
		t.Errorf("PSK = %s, want %s", got, want)
	}
	base, _ := DomainURL(e.DomainID)
	if got, want := ConnectURL(base, e.RoutingID, DeriveTunnelID(secret)),
		"wss://cable.ua5v.com/cable/connect/026555/367CBBF5F5085DF4098476AFE4B9B1D2"; got != want {
		t.Errorf("ConnectURL = %q, want %q", got, want)
	}
	if got, want := NewTunnelURL(base, DeriveTunnelID(secret)),
		"wss://cable.ua5v.com/cable/new/367CBBF5F5085DF4098476AFE4B9B1D2"; got != want {
		t.Errorf("NewTunnelURL = %q, want %q", got, want)
	}
	// Re-encrypting reproduces the captured bytes.
	if got := EncryptAdvert(&key, e); string(got[:]) != string(adv) {
		t.Errorf("EncryptAdvert = %x, want %x", got, adv)
	}
}

func TestAdvertRoundTrip(t *testing.T) {
	key := DeriveEIDKey(unhex(t, zeroSecret), nil)
	for _, d := range []uint16{0, 1, 256, 266, 0xf980, 0xffff} {
		e := EID{Nonce: [EIDNonceSize]byte{1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, RoutingID: [RoutingIDSize]byte{9, 10, 11}, DomainID: d}
		adv := EncryptAdvert(&key, e)
		back, err := DecryptAdvert(&key, adv[:])
		if err != nil || back != e {
			t.Errorf("domain %d: DecryptAdvert(EncryptAdvert(%+v)) = %+v, %v", d, e, back, err)
		}
	}
}

func TestDecryptAdvertRejects(t *testing.T) {
	key := DeriveEIDKey(unhex(t, zeroSecret), nil)
	other := DeriveEIDKey(unhex(t, transcriptSecret), nil)
	good := EncryptAdvert(&key, EID{RoutingID: [RoutingIDSize]byte{9, 10, 11}, DomainID: 0xf980})
	flip := func(i int) []byte {
		b := good
		b[i] ^= 1
		return b[:]
	}
	withPlaintext := func(mod func(p *[EIDSize]byte)) []byte {
		p := EID{DomainID: 0}.Plaintext()
		mod(&p)
		b := encryptPlaintext(&key, p)
		return b[:]
	}
	otherAdv := EncryptAdvert(&other, EID{})
	tests := []struct {
		name   string
		advert []byte
		want   error
	}{
		{"empty", nil, ErrInvalidAdvert},
		{"19 bytes", good[:19], ErrInvalidAdvert},
		{"21 bytes (CTAP 2.3 suffix)", append(good[:], 0xa0), ErrInvalidAdvert},
		{"ciphertext bit", flip(0), ErrAdvertMismatch},
		{"last ciphertext bit", flip(15), ErrAdvertMismatch},
		{"tag bit", flip(16), ErrAdvertMismatch},
		{"last tag bit", flip(19), ErrAdvertMismatch},
		{"other key", otherAdv[:], ErrAdvertMismatch},
		{"reserved byte 1", withPlaintext(func(p *[EIDSize]byte) { p[0] = 1 }), ErrInvalidAdvert},
		{"reserved byte 0x80", withPlaintext(func(p *[EIDSize]byte) { p[0] = 0x80 }), ErrInvalidAdvert},
		{"domain 2", withPlaintext(func(p *[EIDSize]byte) { p[14] = 2 }), ErrInvalidAdvert},
		{"domain 255", withPlaintext(func(p *[EIDSize]byte) { p[14] = 255 }), ErrInvalidAdvert},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e, err := DecryptAdvert(&key, tc.advert)
			if !errors.Is(err, tc.want) {
				t.Errorf("DecryptAdvert(%x) = %+v, %v, want %v", tc.advert, e, err, tc.want)
			}
		})
	}
	// A mismatch is not an ErrInvalidAdvert: callers skip it quietly.
	if _, err := DecryptAdvert(&key, flip(0)); errors.Is(err, ErrInvalidAdvert) {
		t.Errorf("tag mismatch also wraps ErrInvalidAdvert")
	}
}

func FuzzDecryptAdvert(f *testing.F) {
	key := DeriveEIDKey(make([]byte, QRSecretSize), nil)
	good := EncryptAdvert(&key, EID{RoutingID: [RoutingIDSize]byte{9, 10, 11}, DomainID: 0xf980})
	f.Add(good[:])
	f.Add([]byte{})
	f.Add(make([]byte, AdvertSize))
	f.Add([]byte{2, 125, 132, 237, 96, 118, 181, 94, 36, 124, 131, 15, 130, 149, 94, 77, 18, 110, 127, 67})
	f.Fuzz(func(t *testing.T, advert []byte) {
		e, err := DecryptAdvert(&key, advert)
		if err != nil {
			if e != (EID{}) {
				t.Fatalf("DecryptAdvert(%x) returned %+v with error %v", advert, e, err)
			}
			return
		}
		// Accepted adverts re-encrypt to themselves.
		if got := EncryptAdvert(&key, e); string(got[:]) != string(advert) {
			t.Fatalf("EncryptAdvert(DecryptAdvert(%x)) = %x", advert, got)
		}
	})
}

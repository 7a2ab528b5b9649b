package hybrid

import (
	"bytes"
	"encoding/hex"
	"testing"
)

func unhex(t testing.TB, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

// Secrets used by the vectors of §10.
const (
	// zeroSecret is webauthn-rs discovery.rs encrypt_decrypt.
	zeroSecret = "00000000000000000000000000000000"
	// transcriptSecret is the §10.3 transcript.
	transcriptSecret = "101112131415161718191a1b1c1d1e1f"
	// knownAdvertSecret is webauthn-rs discovery.rs decrypt_known: a
	// real advert from a phone.
	knownAdvertSecret = "01fea6f7c4807493dc256f9eacf756c9"
)

func TestDeriveVectors(t *testing.T) {
	tests := []struct {
		name         string
		secret, salt string
		purpose      DerivedValueType
		n            int
		want         string
	}{
		// libwebauthn crypto.rs (§10.1).
		{"libwebauthn no salt", "00112233445566778899aabbccddeeff", "", EIDKey, 64,
			"efafab5b2c84a11c80e3ad0770353138b414a859ccd3afcc99e3d3250dba65084ede8e38e75432617c0ccae1ffe5d8143df0db0cd6d296f489419cd6411ee505"},
		{"libwebauthn salt", "00112233445566778899aabbccddeeff", "ffeeddccbbaa998877665544332211", EIDKey, 64,
			"168cf3dd220a7907f8bac30f559be92a3b6d937fe5594beeaf1e50e35976b7d654dd550e22ae4c801b9d1cdbf0d2b1472daa1328661eb889acae3023b7ffa509"},
		// webauthn-rs discovery.rs (§10.1) and §10.2.
		{"zero secret tunnel ID", zeroSecret, "", TunnelID, 16, "3eef97097986413b059eaa2a30d653d4"},
		{"zero secret EID key", zeroSecret, "", EIDKey, 64,
			"5bb826f01e9c8344e2fd4eed6f2068c6d73875044660738090642d7cb0d0ad018d8ab27a807018ed049c6e88575f21e620fdb49fed45255499f20d304877897f"},
		// webauthn-rs decrypt_known (§10.1) and §10.2.
		{"known advert tunnel ID", knownAdvertSecret, "", TunnelID, 16, "367cbbf5f5085df4098476afe4b9b1d2"},
		{"known advert PSK", knownAdvertSecret, "008bb5c5c9a44d913a5eb20265550000", PSK, 32,
			"839f4fa0f797563fc485031e4bec7e60b0f07fbc58fcda6815c8e9b1eec698bb"},
		// §10.3 transcript.
		{"transcript EID key", transcriptSecret, "", EIDKey, 64,
			"d388357dfd470f50639279ebbe2f1c9f305c7252bbf6e2b38a7c5a67503243233061d23d211c8db3501c6be8c7e4406ee38cf91864382a2b2891f5265056750b"},
		{"transcript tunnel ID", transcriptSecret, "", TunnelID, 16, "1a909a4708fd664d4c3afa7be11896ef"},
		{"transcript PSK", transcriptSecret, "00a0a1a2a3a4a5a6a7a8a9010203" + "0000", PSK, 32,
			"e0953cdcefeaaf2bcb1893d05f5707c283f1b1d704927eb83c6b4fb9075494cf"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			secret, salt := unhex(t, tc.secret), unhex(t, tc.salt)
			got, err := Derive(secret, salt, tc.purpose, tc.n)
			if err != nil || hex.EncodeToString(got) != tc.want {
				t.Fatalf("Derive(%s, %q, %v, %d) = %x, %v\nwant %s", tc.secret, tc.salt, tc.purpose, tc.n, got, err, tc.want)
			}
			// The named helper gives the same bytes.
			var helper []byte
			switch tc.purpose {
			case EIDKey:
				k := DeriveEIDKey(secret, salt)
				helper = k[:]
			case TunnelID:
				id := DeriveTunnelID(secret)
				helper = id[:]
			case PSK:
				k := DerivePSK(secret, [EIDSize]byte(salt))
				helper = k[:]
			}
			if !bytes.Equal(helper, got) {
				t.Errorf("helper for %v = %x, want %x", tc.purpose, helper, got)
			}
		})
	}
}

func TestDeriveLengths(t *testing.T) {
	for _, n := range []int{-1, 255*32 + 1} {
		if b, err := Derive([]byte{1}, nil, PSK, n); err == nil {
			t.Errorf("Derive(n=%d) = %x, want an error", n, b)
		}
	}
	for _, n := range []int{0, 1, 255 * 32} {
		if b, err := Derive([]byte{1}, nil, PSK, n); err != nil || len(b) != n {
			t.Errorf("Derive(n=%d) = %d bytes, %v", n, len(b), err)
		}
	}
	// Empty and absent salts are the same (HKDF default).
	a, _ := Derive([]byte{1}, nil, EIDKey, 64)
	b, _ := Derive([]byte{1}, []byte{}, EIDKey, 64)
	if !bytes.Equal(a, b) {
		t.Errorf("nil and empty salt differ: %x vs %x", a, b)
	}
}

func TestDerivedValueTypeString(t *testing.T) {
	for v, want := range map[DerivedValueType]string{EIDKey: "EIDKey", PerContactIDSecret: "PerContactIDSecret", 9: "DerivedValueType(9)"} {
		if got := v.String(); got != want {
			t.Errorf("DerivedValueType(%d).String() = %q, want %q", uint32(v), got, want)
		}
	}
}

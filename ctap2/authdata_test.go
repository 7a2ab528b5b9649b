package ctap2

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestAuthDataRoundTrip(t *testing.T) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	cose, err := MarshalCOSEKey(AlgES256, &key.PublicKey)
	require.NoError(t, err)
	ext, err := Marshal(map[string]any{"credProtect": 2})
	require.NoError(t, err)

	tests := []struct {
		name string
		ad   AuthData
		want Flags
	}{
		{"assertion", AuthData{RPIDHash: RPIDHash("example.org"), Flags: FlagUP, SignCount: 7}, FlagUP},
		{"all flags", AuthData{RPIDHash: RPIDHash("a"), Flags: FlagUP | FlagUV | FlagBE | FlagBS, SignCount: 1<<32 - 1,
			Attested: &AttestedCredential{AAGUID: [16]byte{1, 2}, CredentialID: []byte{9, 9, 9}, PublicKey: cose}, Extensions: ext},
			FlagUP | FlagUV | FlagBE | FlagBS | FlagAT | FlagED},
		{"extensions only", AuthData{Flags: FlagUV, Extensions: ext}, FlagUV | FlagED},
		{"stale AT flag is cleared", AuthData{Flags: FlagAT | FlagUP}, FlagUP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := tt.ad.Marshal()
			require.NoError(t, err)
			require.Equal(t, byte(tt.want), raw[32], "flags byte")
			got, err := ParseAuthData(raw)
			require.NoError(t, err)
			require.Equal(t, tt.want, got.Flags)
			require.Equal(t, tt.ad.SignCount, got.SignCount)
			require.Equal(t, tt.ad.Attested, got.Attested)
			require.Equal(t, tt.ad.Extensions, got.Extensions)
			again, err := got.Marshal()
			require.NoError(t, err)
			require.Equal(t, raw, again)
		})
	}
}

func TestParseAuthDataRejects(t *testing.T) {
	good, err := (&AuthData{Flags: FlagUP}).Marshal()
	require.NoError(t, err)
	tests := map[string][]byte{
		"short":               good[:36],
		"trailing byte":       append(bytes.Clone(good), 0),
		"AT without data":     append(append(bytes.Clone(good[:32]), byte(FlagAT)), 0, 0, 0, 0),
		"ED without map":      append(append(bytes.Clone(good[:32]), byte(FlagED)), 0, 0, 0, 0),
		"ED with broken CBOR": append(append(bytes.Clone(good[:32]), byte(FlagED)), 0, 0, 0, 0, 0xa1),
	}
	for name, data := range tests {
		t.Run(name, func(t *testing.T) {
			_, err := ParseAuthData(data)
			require.Error(t, err)
		})
	}
}

func TestMarshalRefusesOverlongCredentialID(t *testing.T) {
	_, err := (&AuthData{Attested: &AttestedCredential{CredentialID: make([]byte, 1024)}}).Marshal()
	require.Error(t, err)
}

func FuzzParseAuthData(f *testing.F) {
	key, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	cose, _ := MarshalCOSEKey(AlgES256, &key.PublicKey)
	for _, ad := range []AuthData{
		{Flags: FlagUP, SignCount: 3},
		{Flags: FlagUP, Attested: &AttestedCredential{CredentialID: []byte{1}, PublicKey: cose}, Extensions: []byte{0xa0}},
	} {
		raw, _ := ad.Marshal()
		f.Add(raw)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		ad, err := ParseAuthData(data)
		if err != nil {
			return
		}
		again, err := ad.Marshal()
		if err != nil {
			t.Fatalf("parsed authenticator data does not marshal: %v", err)
		}
		if !bytes.Equal(again, data) {
			t.Fatalf("round trip changed the bytes:\n in %x\nout %x", data, again)
		}
	})
}

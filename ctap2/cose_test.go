package ctap2

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestCOSEKeyRoundTrip(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	rsaKey, err := rsa.GenerateKey(rand.Reader, 2048)
	require.NoError(t, err)
	tests := []struct {
		alg Alg
		pub crypto.PublicKey
		// prefix is the canonical start of the encoding: map header, then
		// kty and alg in label order 1, 3 (RFC 9052 §7, CTAP2 canonical order).
		prefix string
	}{
		{AlgES256, &ec.PublicKey, "a5010203262001215820"},
		{AlgEdDSA, edPub, "a4010103272006215820"},
		{AlgRS256, &rsaKey.PublicKey, "a401030339010020590100"},
	}
	for _, tt := range tests {
		t.Run(tt.alg.String(), func(t *testing.T) {
			raw, err := MarshalCOSEKey(tt.alg, tt.pub)
			require.NoError(t, err)
			require.Equal(t, tt.prefix, hex.EncodeToString(raw[:len(tt.prefix)/2]))
			alg, pub, err := ParseCOSEKey(raw)
			require.NoError(t, err)
			require.Equal(t, tt.alg, alg)
			require.True(t, pub.(interface{ Equal(crypto.PublicKey) bool }).Equal(tt.pub))
		})
	}
}

func TestCOSEKeyMismatches(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	_, err = MarshalCOSEKey(AlgEdDSA, &ec.PublicKey)
	require.Error(t, err)
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, err = MarshalCOSEKey(AlgES256, &p384.PublicKey)
	require.Error(t, err)

	for name, raw := range map[string]string{
		"unknown kty":       "a201040326",
		"EC2 short x":       "a50102032620012141002241aa",
		"EC2 off the curve": "a5010203262001215820" + "01" + repeat("00", 31) + "225820" + repeat("00", 32),
		"OKP wrong curve":   "a4010103272007215820" + repeat("00", 32),
		"RSA zero exponent": "a40103033901002041012140",
		"not a map":         "80",
	} {
		t.Run(name, func(t *testing.T) {
			b, err := hex.DecodeString(raw)
			require.NoError(t, err)
			_, _, err = ParseCOSEKey(b)
			require.Error(t, err)
		})
	}
}

func repeat(s string, n int) string {
	out := ""
	for range n {
		out += s
	}
	return out
}

func FuzzParseCOSEKey(f *testing.F) {
	ec, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	raw, _ := MarshalCOSEKey(AlgES256, &ec.PublicKey)
	f.Add(raw)
	edPub, _, _ := ed25519.GenerateKey(rand.Reader)
	raw, _ = MarshalCOSEKey(AlgEdDSA, edPub)
	f.Add(raw)
	f.Fuzz(func(t *testing.T, data []byte) {
		alg, pub, err := ParseCOSEKey(data)
		if err != nil {
			return
		}
		if _, err := MarshalCOSEKey(alg, pub); err != nil {
			t.Fatalf("parsed %v key does not marshal: %v", alg, err)
		}
	})
}

func TestParseAlg(t *testing.T) {
	for text, want := range map[string]Alg{"ES256": AlgES256, "eddsa": AlgEdDSA, "RS256": AlgRS256, "-35": Alg(-35)} {
		got, err := ParseAlg(text)
		require.NoError(t, err)
		require.Equal(t, want, got, text)
	}
	_, err := ParseAlg("ES999")
	require.Error(t, err)
	require.Equal(t, "-35", Alg(-35).String())
}

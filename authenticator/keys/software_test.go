package keys

import (
	"bytes"
	"crypto"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestGenerateLoadRoundTrip(t *testing.T) {
	for _, alg := range []ctap2.Alg{ctap2.AlgES256, ctap2.AlgEdDSA, ctap2.AlgRS256} {
		t.Run(alg.String(), func(t *testing.T) {
			backend := NewSoftware(nil)
			sealed, key, err := backend.GenerateKey(alg)
			require.NoError(t, err)
			loaded, err := backend.LoadKey(alg, sealed)
			require.NoError(t, err)
			require.True(t, key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(loaded.Public()),
				"loaded key's public half differs from the generated one")
		})
	}
}

func TestSeededGenerationIsReproducible(t *testing.T) {
	for _, alg := range []ctap2.Alg{ctap2.AlgES256, ctap2.AlgEdDSA} {
		t.Run(alg.String(), func(t *testing.T) {
			a, _, err := NewSoftware(rand.NewChaCha8([32]byte{1})).GenerateKey(alg)
			require.NoError(t, err)
			b, _, err := NewSoftware(rand.NewChaCha8([32]byte{1})).GenerateKey(alg)
			require.NoError(t, err)
			require.True(t, bytes.Equal(a, b), "same seed gave different keys")
		})
	}
}

func TestLoadRejectsBadSealedKeys(t *testing.T) {
	backend := NewSoftware(nil)
	zero := make([]byte, 32)
	order := []byte{ // P-256 group order n: not a valid scalar
		0xff, 0xff, 0xff, 0xff, 0x00, 0x00, 0x00, 0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		0xbc, 0xe6, 0xfa, 0xad, 0xa7, 0x17, 0x9e, 0x84, 0xf3, 0xb9, 0xca, 0xc2, 0xfc, 0x63, 0x25, 0x51}
	tests := []struct {
		name   string
		alg    ctap2.Alg
		sealed []byte
	}{
		{"ES256 zero scalar", ctap2.AlgES256, zero},
		{"ES256 scalar equal to order", ctap2.AlgES256, order},
		{"ES256 short", ctap2.AlgES256, zero[:5]},
		{"EdDSA short seed", ctap2.AlgEdDSA, zero[:31]},
		{"RS256 short", ctap2.AlgRS256, zero},
		{"RS256 non-primes", ctap2.AlgRS256, bytes.Repeat([]byte{0xff}, 256)},
		{"unknown alg", ctap2.Alg(-35), zero},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := backend.LoadKey(tt.alg, tt.sealed)
			require.Error(t, err)
		})
	}
}

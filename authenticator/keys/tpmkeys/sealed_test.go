package tpmkeys

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

// fakeBlob is a blob with a real P-256 public area and a made-up private
// area: enough for everything that does not need a TPM.
func fakeBlob(t testing.TB) *blob {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	raw, err := key.PublicKey.Bytes()
	require.NoError(t, err)
	pub := ecTemplate()
	pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: raw[1:33]},
		Y: tpm2.TPM2BECCParameter{Buffer: raw[33:]},
	})
	return &blob{public: tpm2.New2B(pub), private: tpm2.TPM2BPrivate{Buffer: bytes.Repeat([]byte{0xAA}, 126)}}
}

func TestSealedRoundTrip(t *testing.T) {
	kb := fakeBlob(t)
	sealed := kb.marshal()
	require.Equal(t, byte(sealedVersion), sealed[0])
	got, err := parseBlob(sealed)
	require.NoError(t, err)
	require.Equal(t, sealed, got.marshal(), "parse then marshal changed the bytes")
	pub, err := publicKey(ctap2.AlgES256, got)
	require.NoError(t, err)
	want, err := publicKey(ctap2.AlgES256, kb)
	require.NoError(t, err)
	require.True(t, want.(*ecdsa.PublicKey).Equal(pub))
}

func TestParseBlobRejects(t *testing.T) {
	sealed := fakeBlob(t).marshal()
	pubLen := int(sealed[1])<<8 | int(sealed[2])
	offCurve := bytes.Clone(sealed)
	offCurve[3+pubLen-1] ^= 1 // last byte of Y
	tests := []struct {
		name   string
		sealed []byte
	}{
		{"empty", nil},
		{"version only", sealed[:1]},
		{"version 2", append([]byte{2}, sealed[1:]...)},
		{"truncated private", sealed[:len(sealed)-1]},
		{"trailing byte", append(bytes.Clone(sealed), 0)},
		{"public size too long", func() []byte { b := bytes.Clone(sealed); b[2]++; return b }()},
		{"public area with garbage", append(append([]byte{1, 0, 4}, 0xff, 0xff, 0xff, 0xff), 0, 0)},
		{"point not on the curve", offCurve},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			kb, err := parseBlob(tt.sealed)
			if err == nil {
				_, err = publicKey(ctap2.AlgES256, kb)
			}
			require.ErrorIs(t, err, errMalformed, "parsing %x: got %v", tt.sealed, err)
		})
	}
}

func TestPublicKeyRejectsWrongType(t *testing.T) {
	kb := fakeBlob(t)
	_, err := publicKey(ctap2.AlgRS256, kb)
	require.ErrorIs(t, err, errMalformed, "P-256 public area read as RS256")
	_, err = publicKey(ctap2.AlgEdDSA, kb)
	require.ErrorIs(t, err, ctap2.ErrUnsupportedAlgorithm)
}

// FuzzParseBlob: parsing never panics, and whatever parses marshals back
// to the input exactly (no two encodings of one key).
func FuzzParseBlob(f *testing.F) {
	f.Add(fakeBlob(f).marshal())
	f.Add([]byte{1, 0, 0, 0, 0})
	f.Fuzz(func(t *testing.T, sealed []byte) {
		kb, err := parseBlob(sealed)
		if err != nil {
			return
		}
		require.Equal(t, sealed, kb.marshal())
		_, _ = publicKey(ctap2.AlgES256, kb)
		_, _ = publicKey(ctap2.AlgRS256, kb)
	})
}

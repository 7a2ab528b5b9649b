//go:build tpmsim

package tpmkeys

import (
	"bytes"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestSealSecret(t *testing.T) {
	b, sim, tpm := newSimBackend(t)
	secret := bytes.Repeat([]byte{0x5A}, 32)
	sealed, err := b.SealSecret(secret)
	require.NoError(t, err)
	require.NotContains(t, string(sealed), string(secret), "the sealed form shows the secret")
	got, err := b.UnsealSecret(sealed)
	require.NoError(t, err)
	require.Equal(t, secret, got)

	// A reboot keeps the owner seed.
	require.NoError(t, sim.Reset())
	again, err := New(Config{TPM: tpm})
	require.NoError(t, err)
	got, err = again.UnsealSecret(sealed)
	require.NoError(t, err, "unsealing after a TPM reboot")
	require.Equal(t, secret, got)
	require.Len(t, transientHandles(t, tpm), 1, "only the storage root key may stay loaded")

	clearTPM(t, tpm)
	_, err = again.UnsealSecret(sealed)
	require.ErrorIs(t, err, ErrKeyUnavailable, "unsealing after TPM2_Clear: got %v", err)
}

func TestSealSecretRejects(t *testing.T) {
	b, _, _ := newSimBackend(t)
	for _, n := range []int{0, MaxSecretSize + 1} {
		_, err := b.SealSecret(make([]byte, n))
		require.Error(t, err, "sealing %d bytes", n)
	}
	keyBlob, _, err := b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	_, err = b.UnsealSecret(keyBlob)
	require.ErrorIs(t, err, errNotSealedData, "unsealing a signing key's blob")
	sealed, err := b.SealSecret([]byte("secret"))
	require.NoError(t, err)
	_, err = b.LoadKey(ctap2.AlgES256, sealed)
	require.ErrorIs(t, err, errMalformed, "loading a sealed secret as a signing key")
	_, err = b.UnsealSecret(sealed[:len(sealed)-1])
	require.ErrorIs(t, err, errMalformed)
}

//go:build tpmsim

package main

import (
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/ctap2"
)

func TestKeystoreTPMSimulator(t *testing.T) {
	profile := authenticator.DefaultProfile()
	backend, closeKeys, err := keystoreFlags{keystore: keystoreTPM, tpm: "simulator"}.open(profile, slog.New(slog.DiscardHandler))
	require.NoError(t, err)
	defer closeKeys()
	require.IsType(t, &tpmkeys.Backend{}, backend)
	require.Equal(t, []ctap2.Alg{ctap2.AlgES256, ctap2.AlgRS256}, []ctap2.Alg(profile.Algorithms),
		"the TPM keystore offers the profile's algorithms that the TPM has, EdDSA dropped")
	_, key, err := backend.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	require.NotNil(t, key.Public())
}

// TestKeystoreTPMNoCommonAlgorithm: a profile offering only what a TPM
// cannot do is refused, the TPM is released (the simulator, a process-wide
// singleton, opens again), and the profile is unchanged.
func TestKeystoreTPMNoCommonAlgorithm(t *testing.T) {
	profile := authenticator.DefaultProfile()
	profile.Algorithms = []ctap2.Alg{ctap2.AlgEdDSA}
	flags := keystoreFlags{keystore: keystoreTPM, tpm: "simulator"}
	backend, closeKeys, err := flags.open(profile, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, err, "none of the algorithms this TPM has")
	require.Nil(t, backend)
	require.Nil(t, closeKeys)
	require.Equal(t, []ctap2.Alg{ctap2.AlgEdDSA}, []ctap2.Alg(profile.Algorithms))

	profile = authenticator.DefaultProfile()
	_, closeKeys, err = flags.open(profile, slog.New(slog.DiscardHandler))
	require.NoError(t, err, "the simulator was not released")
	closeKeys()
}

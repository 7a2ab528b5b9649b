//go:build tpmsim

package tpmkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

// verify checks sig over msg with pub, as a relying party would.
func verify(t *testing.T, alg ctap2.Alg, pub crypto.PublicKey, msg, sig []byte) {
	t.Helper()
	digest := sha256.Sum256(msg)
	switch alg {
	case ctap2.AlgES256:
		require.True(t, ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], sig), "ES256 signature %x does not verify", sig)
	case ctap2.AlgRS256:
		require.NoError(t, rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig), "RS256 signature does not verify")
	default:
		t.Fatalf("verify: unexpected alg %v", alg)
	}
}

func sign(t *testing.T, key crypto.Signer, msg []byte) []byte {
	t.Helper()
	digest := sha256.Sum256(msg)
	sig, err := key.Sign(nil, digest[:], crypto.SHA256)
	require.NoError(t, err)
	return sig
}

func TestSimulatorAlgorithms(t *testing.T) {
	b, _, _ := newSimBackend(t)
	require.Equal(t, []ctap2.Alg{ctap2.AlgES256, ctap2.AlgRS256}, b.Algorithms(),
		"the reference TPM makes P-256 and RSA-2048 keys")
}

func TestGenerateLoadSign(t *testing.T) {
	b, _, tpm := newSimBackend(t)
	for _, alg := range []ctap2.Alg{ctap2.AlgES256, ctap2.AlgRS256} {
		t.Run(alg.String(), func(t *testing.T) {
			sealed, key, err := b.GenerateKey(alg)
			require.NoError(t, err)
			require.Equal(t, byte(sealedVersion), sealed[0])
			verify(t, alg, key.Public(), []byte("generated"), sign(t, key, []byte("generated")))

			loaded, err := b.LoadKey(alg, sealed)
			require.NoError(t, err)
			require.True(t, key.Public().(interface{ Equal(crypto.PublicKey) bool }).Equal(loaded.Public()),
				"loaded key's public half differs from the generated one")
			verify(t, alg, key.Public(), []byte("loaded"), sign(t, loaded, []byte("loaded")))
			require.Len(t, transientHandles(t, tpm), 1, "only the storage root key may stay loaded")
		})
	}
}

// TestManyKeysAlive keeps more signers alive than the TPM has object slots
// (three in the reference profile) and signs with them in turn: each
// signature must load and flush its key.
func TestManyKeysAlive(t *testing.T) {
	b, _, tpm := newSimBackend(t)
	const n = 8
	var sealed [n][]byte
	var keys [n]crypto.Signer
	for i := range n {
		var err error
		sealed[i], keys[i], err = b.GenerateKey(ctap2.AlgES256)
		require.NoError(t, err, "key %d", i)
	}
	for round := range 2 {
		for i := range n {
			msg := fmt.Appendf(nil, "round %d key %d", round, i)
			verify(t, ctap2.AlgES256, keys[i].Public(), msg, sign(t, keys[i], msg))
			loaded, err := b.LoadKey(ctap2.AlgES256, sealed[i])
			require.NoError(t, err, "loading key %d", i)
			keys[i] = loaded
		}
	}
	require.Len(t, transientHandles(t, tpm), 1, "only the storage root key may stay loaded")
}

func TestClearedTPM(t *testing.T) {
	b, _, tpm := newSimBackend(t)
	sealed, key, err := b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	clearTPM(t, tpm)

	_, err = b.LoadKey(ctap2.AlgES256, sealed)
	require.ErrorIs(t, err, ErrKeyUnavailable, "LoadKey after TPM2_Clear: got %v", err)
	require.ErrorIs(t, err, tpm2.TPMRCIntegrity, "the TPM's own response code stays in the chain")
	require.ErrorContains(t, err, "was the TPM cleared?")

	digest := sha256.Sum256([]byte("after clear"))
	_, err = key.Sign(nil, digest[:], crypto.SHA256)
	require.ErrorIs(t, err, ErrKeyUnavailable, "Sign with a key made before TPM2_Clear: got %v", err)

	// New keys work under the new owner seed.
	sealed, key, err = b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	loaded, err := b.LoadKey(ctap2.AlgES256, sealed)
	require.NoError(t, err)
	verify(t, ctap2.AlgES256, key.Public(), []byte("new"), sign(t, loaded, []byte("new")))
}

// TestSurvivesReboot: a TPM restart flushes every transient object, the
// storage root key too; the backend makes it again and old blobs load, in
// the same backend and in a new one.
func TestSurvivesReboot(t *testing.T) {
	b, sim, tpm := newSimBackend(t)
	sealed, key, err := b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	require.NoError(t, sim.Reset())
	require.Empty(t, transientHandles(t, tpm), "a reboot flushes transient objects")

	verify(t, ctap2.AlgES256, key.Public(), []byte("after reboot"), sign(t, key, []byte("after reboot")))
	again, err := New(Config{TPM: tpm})
	require.NoError(t, err)
	loaded, err := again.LoadKey(ctap2.AlgES256, sealed)
	require.NoError(t, err)
	verify(t, ctap2.AlgES256, key.Public(), []byte("new backend"), sign(t, loaded, []byte("new backend")))
}

func TestLoadRejects(t *testing.T) {
	b, _, tpm := newSimBackend(t)
	ecSealed, _, err := b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	// A P-256 key with other attributes: restricted, like an AIK.
	restricted := ecTemplate()
	restricted.ObjectAttributes.Restricted = true
	rsp, err := tpm2.Create{ParentHandle: b.srk, InPublic: tpm2.New2B(restricted)}.Execute(tpm)
	require.NoError(t, err)
	restrictedSealed := (&blob{public: rsp.OutPublic, private: rsp.OutPrivate}).marshal()
	tampered := append([]byte(nil), ecSealed...)
	tampered[len(tampered)-1] ^= 1 // last byte of the wrapped private area
	tests := []struct {
		name   string
		alg    ctap2.Alg
		sealed []byte
		want   error
	}{
		{"EdDSA is not offered", ctap2.AlgEdDSA, ecSealed, ctap2.ErrUnsupportedAlgorithm},
		{"ES256 blob as RS256", ctap2.AlgRS256, ecSealed, errMalformed},
		{"empty", ctap2.AlgES256, nil, errMalformed},
		{"wrong version", ctap2.AlgES256, append([]byte{2}, ecSealed[1:]...), errMalformed},
		{"truncated", ctap2.AlgES256, ecSealed[:len(ecSealed)-1], errMalformed},
		{"trailing byte", ctap2.AlgES256, append(append([]byte(nil), ecSealed...), 0), errMalformed},
		{"restricted key", ctap2.AlgES256, restrictedSealed, errMalformed},
		// The TPM cannot tell a tampered blob from one made under an old
		// seed: both fail the integrity check.
		{"tampered private area", ctap2.AlgES256, tampered, ErrKeyUnavailable},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			key, err := b.LoadKey(tt.alg, tt.sealed)
			require.ErrorIs(t, err, tt.want, "LoadKey(%v, %x): got %v", tt.alg, tt.sealed, err)
			require.Nil(t, key)
			require.Len(t, transientHandles(t, tpm), 1, "a failed load leaves nothing loaded")
		})
	}
}

func TestSignRejectsOtherHashes(t *testing.T) {
	b, _, _ := newSimBackend(t)
	_, key, err := b.GenerateKey(ctap2.AlgRS256)
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("m"))
	tests := []struct {
		name   string
		digest []byte
		opts   crypto.SignerOpts
	}{
		{"SHA-1", digest[:20], crypto.SHA1},
		{"short SHA-256", digest[:31], crypto.SHA256},
		{"no hash (EdDSA style)", digest[:], crypto.Hash(0)},
		{"PSS", digest[:], &rsa.PSSOptions{Hash: crypto.SHA256}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := key.Sign(nil, tt.digest, tt.opts)
			require.Error(t, err, "Sign(%v) gave %x", tt.opts, sig)
		})
	}
}

// TestConcurrentSigners signs from several goroutines at once: the
// backend's mutex keeps TPM commands from interleaving.
func TestConcurrentSigners(t *testing.T) {
	b, _, _ := newSimBackend(t)
	const n = 4
	var keys [n]crypto.Signer
	for i := range n {
		var err error
		_, keys[i], err = b.GenerateKey(ctap2.AlgES256)
		require.NoError(t, err)
	}
	errs := make(chan error, n)
	for i := range n {
		go func() {
			for j := range 5 {
				digest := sha256.Sum256(fmt.Appendf(nil, "%d/%d", i, j))
				sig, err := keys[i].Sign(nil, digest[:], crypto.SHA256)
				if err == nil && !ecdsa.VerifyASN1(keys[i].Public().(*ecdsa.PublicKey), digest[:], sig) {
					err = errors.New("signature does not verify")
				}
				if err != nil {
					errs <- fmt.Errorf("signer %d, signature %d: %w", i, j, err)
					return
				}
			}
			errs <- nil
		}()
	}
	for range n {
		require.NoError(t, <-errs)
	}
}

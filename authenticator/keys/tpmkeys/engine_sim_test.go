//go:build tpmsim

package tpmkeys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"testing"

	gtsim "github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/u2f"
)

// newTPMKey returns an authenticator whose keys live in the simulator.
func newTPMKey(t testing.TB, edit func(*authenticator.Profile)) *tpmKey {
	t.Helper()
	sim, err := gtsim.Get()
	require.NoError(t, err, "starting the TPM simulator")
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	return newTPMKeyOn(t, transport.FromReadWriter(sim), edit)
}

func TestEngineWithTPMKeys(t *testing.T) {
	k := newTPMKey(t, nil)
	tests := []struct {
		name string
		alg  ctap2.Alg
		rk   bool
	}{
		{"ES256 non-discoverable", ctap2.AlgES256, false},
		{"ES256 discoverable", ctap2.AlgES256, true},
	}
	for i, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k.t = t
			rpID := string(rune('a'+i)) + ".example.org"
			id, pub := k.register(rpID, "alice", tt.alg, tt.rk)
			t.Logf("%s credential ID: %d bytes", tt.name, len(id))
			require.LessOrEqual(t, len(id), 1023, "credential ID longer than WebAuthn allows")
			k.assert(rpID, [][]byte{id}, id, tt.alg, pub)
			if tt.rk {
				k.assert(rpID, nil, id, tt.alg, pub) // found by RP ID alone
			}
		})
	}
}

// TestEngineRS256TooLong: the reference TPM wraps an RSA key's CRT
// components, a 734-byte private blob, so an RS256 credential ID would be
// over the 1023 bytes WebAuthn allows; the engine refuses the algorithm and
// stores nothing.
func TestEngineRS256TooLong(t *testing.T) {
	k := newTPMKey(t, nil)
	for _, rk := range []bool{false, true} {
		req := &ctap2.MakeCredentialRequest{
			ClientDataHash:   cdh(1),
			RP:               &ctap2.RPEntity{ID: "example.org", Name: "example.org"},
			User:             &ctap2.UserEntity{ID: []byte("alice"), Name: "alice", DisplayName: "alice"},
			PubKeyCredParams: []ctap2.CredentialParam{{Type: ctap2.PublicKeyCredentialType, Alg: ctap2.AlgRS256}},
			Options:          map[string]bool{"rk": rk},
		}
		status, _ := k.do(ctap2.CmdMakeCredential, req)
		require.Equal(t, ctap2.ErrUnsupportedAlgorithm, status, "makeCredential RS256 rk=%v", rk)
		n, err := k.store.CountCredentials()
		require.NoError(t, err)
		require.Zero(t, n, "a refused makeCredential stored a credential")
	}
}

// TestEngineAfterTPMClear: a credential made before a TPM clear can no
// longer be used, and the engine answers with an error status instead of a
// signature, keeping the stored credential (it is reported, not dropped).
func TestEngineAfterTPMClear(t *testing.T) {
	k := newTPMKey(t, nil)
	id, _ := k.register("example.org", "alice", ctap2.AlgES256, false)
	_, err := tpm2.Clear{AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHLockout, Auth: tpm2.PasswordAuth(nil)}}.Execute(k.tpm)
	require.NoError(t, err)
	// Restart the engine too: the cache of loaded keys must not hide the
	// clear.
	k.PowerCycle()
	status, _ := k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
		RPID: "example.org", ClientDataHash: cdh(2),
		AllowList: []ctap2.CredentialDescriptor{{Type: ctap2.PublicKeyCredentialType, ID: id}},
	})
	require.Equal(t, ctap2.ErrOther, status, "getAssertion with a key lost to a TPM clear")
	require.Contains(t, k.log.String(), "was the TPM cleared?", "the debug log names the cause")

	// New credentials work under the new owner seed.
	id, pub := k.register("example.org", "bob", ctap2.AlgES256, false)
	k.assert("example.org", [][]byte{id}, id, ctap2.AlgES256, pub)
}

// TestU2FWithTPMKeys: a U2F key handle is a credential ID and must fit in
// 255 bytes (U2F Raw Message Formats §4.3).
func TestU2FWithTPMKeys(t *testing.T) {
	k := newTPMKey(t, func(p *authenticator.Profile) { p.U2F = true })
	client := ctap2.NewClient(direct{k.Authenticator})
	ctx := context.Background()
	challenge, application := sha256.Sum256([]byte("challenge")), sha256.Sum256([]byte("https://example.org"))
	reg, err := client.U2FRegister(ctx, challenge, application)
	require.NoError(t, err)
	t.Logf("U2F key handle: %d bytes", len(reg.KeyHandle))
	require.LessOrEqual(t, len(reg.KeyHandle), 255, "U2F key handle length is one byte")
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), reg.UserPublicKey)
	require.NoError(t, err)

	auth, err := client.U2FAuthenticate(ctx, u2f.EnforceUserPresence, challenge, application, reg.KeyHandle)
	require.NoError(t, err)
	digest := sha256.Sum256(auth.SignedData(challenge, application))
	require.True(t, ecdsa.VerifyASN1(pub, digest[:], auth.Signature), "U2F signature %x does not verify", auth.Signature)
}

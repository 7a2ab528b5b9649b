package tpmkeys_test

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/u2f"
)

// TestEngineOnSwtpm runs registrations and assertions, CTAP2 and U2F,
// through the engine with its keys in a swtpm process. libtpms wraps an
// RSA key in 507 bytes (the reference TPM in 1019), so RS256 credential
// IDs fit here.
func TestEngineOnSwtpm(t *testing.T) {
	k := newTPMKeyOn(t, tpmkeys.StartSwtpmForTest(t), func(p *authenticator.Profile) { p.U2F = true })
	for _, alg := range []ctap2.Alg{ctap2.AlgES256, ctap2.AlgRS256} {
		for _, rk := range []bool{false, true} {
			user := fmt.Sprintf("%v-rk=%v", alg, rk)
			id, pub := k.register("example.org", user, alg, rk)
			t.Logf("%s: credential ID of %d bytes", user, len(id))
			k.assert("example.org", [][]byte{id}, id, alg, pub)
		}
	}

	client := ctap2.NewClient(direct{k.Authenticator})
	ctx := context.Background()
	challenge, application := sha256.Sum256([]byte("challenge")), sha256.Sum256([]byte("https://example.org"))
	reg, err := client.U2FRegister(ctx, challenge, application)
	require.NoError(t, err)
	pub, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), reg.UserPublicKey)
	require.NoError(t, err)
	auth, err := client.U2FAuthenticate(ctx, u2f.EnforceUserPresence, challenge, application, reg.KeyHandle)
	require.NoError(t, err)
	digest := sha256.Sum256(auth.SignedData(challenge, application))
	require.True(t, ecdsa.VerifyASN1(pub, digest[:], auth.Signature), "U2F signature does not verify")
}

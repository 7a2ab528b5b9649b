//go:build tpmsim

package tpmkeys

import (
	"crypto/ecdsa"
	"crypto/sha256"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/ctap2"
)

// TestCertify checks TPM2_Certify's output the way a relying party checks
// a "tpm" statement (WebAuthn L3 §8.3.2 verification procedure).
func TestCertify(t *testing.T) {
	b, _, tpm := newSimBackend(t)
	_, key, err := b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	aik, err := b.AIK()
	require.NoError(t, err)
	again, err := b.AIK()
	require.NoError(t, err)
	require.True(t, aik.(*ecdsa.PublicKey).Equal(again), "the AIK differs between calls")

	authData, cdh := []byte("authenticator data"), []byte("client data hash")
	c, err := b.Certify(key, authData, cdh)
	require.NoError(t, err)
	require.Equal(t, ctap2.AlgES256, c.Alg)
	require.Len(t, transientHandles(t, tpm), 1, "only the storage root key may stay loaded")

	// sig is the AIK's signature over certInfo.
	digest := sha256.Sum256(c.CertInfo)
	require.True(t, ecdsa.VerifyASN1(aik.(*ecdsa.PublicKey), digest[:], c.Signature), "certInfo signature does not verify")

	// pubArea is the credential key.
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](c.PubArea)
	require.NoError(t, err)
	got, err := tpm2.Pub(*pub)
	require.NoError(t, err)
	require.True(t, key.Public().(*ecdsa.PublicKey).Equal(got), "pubArea holds another key")

	// certInfo: magic, type, extraData, attested name.
	attest, err := tpm2.Unmarshal[tpm2.TPMSAttest](c.CertInfo)
	require.NoError(t, err)
	require.Equal(t, tpm2.TPMGeneratedValue, attest.Magic)
	require.Equal(t, tpm2.TPMSTAttestCertify, attest.Type)
	want := sha256.Sum256(append(append([]byte(nil), authData...), cdh...))
	require.Equal(t, want[:], attest.ExtraData.Buffer, "extraData is not SHA-256(authData ‖ clientDataHash)")
	certify, err := attest.Attested.Certify()
	require.NoError(t, err)
	name, err := tpm2.ObjectName(pub)
	require.NoError(t, err)
	require.Equal(t, name.Buffer, certify.Name.Buffer, "attested name is not the Name of pubArea")
}

func TestCertifyRejectsForeignKeys(t *testing.T) {
	b, _, _ := newSimBackend(t)
	_, soft, err := keys.NewSoftware(nil).GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	_, err = b.Certify(soft, nil, nil)
	require.ErrorIs(t, err, errForeignKey)
}

func TestInfo(t *testing.T) {
	b, _, _ := newSimBackend(t)
	info, err := b.Info()
	require.NoError(t, err)
	t.Logf("simulator: %+v", info)
	require.Equal(t, uint32(0x4D534654), info.Manufacturer, "the reference TPM reports MSFT")
	require.Equal(t, "MSFT", info.Vendor())
	require.NotEmpty(t, info.Model)
}

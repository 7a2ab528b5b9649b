//go:build tpmsim

package authenticator

import (
	"crypto"
	crand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	webauthncbor "github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/webauthntest"
)

// tpmStatement is the part of a tpm attStmt this test looks at.
type tpmStatement struct {
	Alg     ctap2.Alg `cbor:"alg"`
	X5C     [][]byte  `cbor:"x5c"`
	PubArea []byte    `cbor:"pubArea"`
}

// TestTPMAttestationFromTheTPM: with the TPM key backend, tpm attestation
// is the TPM's own TPM2_Certify under an AIK certificate that names the
// TPM's manufacturer, and go-webauthn accepts it through the engine
// (WebAuthn L3 §8.3.2), metadata and trust chain included.
func TestTPMAttestationFromTheTPM(t *testing.T) {
	backend, err := tpmBackend()
	require.NoError(t, err, "TPM simulator")
	// go-webauthn checks certificate validity against the real clock.
	now := time.Now()
	ca, err := attestation.NewCA(crand.Reader, now, "softkey test CA")
	require.NoError(t, err)
	p := DefaultProfile()
	p.Attestation = AttestationTPM
	k := &testKey{t: t, store: &store.Memory{}, clock: &testClock{t: now}, presence: &testPresence{}}
	rnd := rand.NewChaCha8([32]byte{8})
	k.Authenticator, err = New(Config{Profile: p, Store: k.store, Keys: backend, Presence: k.presence, Rand: rnd, Now: k.clock.now, CA: ca})
	require.NoError(t, err)

	cdh := sha256.Sum256([]byte("client data"))
	req := mcRequest("example.org", "alice")
	req.ClientDataHash = cdh[:]
	resp, _ := k.makeCredential(req)
	require.Equal(t, "tpm", resp.Format)

	var stmt tpmStatement
	require.NoError(t, ctap2.Unmarshal(resp.AttStmt, &stmt))
	aikCert, err := x509.ParseCertificate(stmt.X5C[0])
	require.NoError(t, err)
	aik, err := backend.AIK()
	require.NoError(t, err)
	require.True(t, aik.(interface{ Equal(crypto.PublicKey) bool }).Equal(aikCert.PublicKey), "x5c[0] certifies the TPM's AIK")
	info, err := backend.Info()
	require.NoError(t, err)
	require.Equal(t, fmt.Sprintf("id:%08X", info.Manufacturer), sanManufacturer(t, aikCert), "tpmManufacturer in the AIK certificate")
	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](stmt.PubArea)
	require.NoError(t, err)
	require.True(t, pub.ObjectAttributes.FixedTPM && pub.ObjectAttributes.SensitiveDataOrigin, "pubArea is a TPM-made key: %+v", pub.ObjectAttributes)

	attObj, err := webauthntest.AttestationObject(resp)
	require.NoError(t, err)
	var obj protocol.AttestationObject
	require.NoError(t, webauthncbor.Unmarshal(attObj, &obj))
	require.NoError(t, obj.AuthData.Unmarshal(obj.RawAuthData))
	mds, err := webauthntest.Metadata(p.AAGUID, "softkey on a TPM (test metadata)", metadata.AttCA, ca.Root)
	require.NoError(t, err)
	params := []protocol.CredentialParameter{{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256}}
	err = obj.Verify("example.org", cdh[:], false, true, mds, params, protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
	require.NoError(t, err, "go-webauthn: %s", webauthntest.Describe(err))

	other := sha256.Sum256([]byte("other client data"))
	err = obj.Verify("example.org", other[:], false, true, mds, params, protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
	require.Error(t, err, "go-webauthn accepted the statement for another clientDataHash")
}

// sanManufacturer returns tpmManufacturer (2.23.133.2.1) from an AIK
// certificate's subject alternative name.
func sanManufacturer(t *testing.T, cert *x509.Certificate) string {
	t.Helper()
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(asn1.ObjectIdentifier{2, 5, 29, 17}) {
			continue
		}
		require.True(t, ext.Critical, "SAN must be critical")
		var names []asn1.RawValue
		_, err := asn1.Unmarshal(ext.Value, &names)
		require.NoError(t, err)
		require.Len(t, names, 1)
		var rdns pkix.RDNSequence
		_, err = asn1.Unmarshal(names[0].Bytes, &rdns)
		require.NoError(t, err)
		for _, set := range rdns {
			for _, atv := range set {
				if atv.Type.Equal(asn1.ObjectIdentifier{2, 23, 133, 2, 1}) {
					v, ok := atv.Value.(string)
					require.True(t, ok, "tpmManufacturer is a %T, want a string", atv.Value)
					return v
				}
			}
		}
	}
	t.Fatal("no tpmManufacturer in the AIK certificate")
	return ""
}

//go:build tpmsim

package tpmkeys_test

import (
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	webauthncbor "github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	gtsim "github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/webauthntest"
)

// aikCertificate issues the AIK certificate WebAuthn L3 §8.3.1 asks for,
// for the TPM's own AIK: empty subject, a critical SAN naming the TPM
// (TCG EK Credential Profile §3.2.9), EKU tcg-kp-AIKCertificate, not a CA.
// The attestation package issues these for software AIKs only (NewAIK
// draws the key), so the test builds its own.
func aikCertificate(t *testing.T, ca *attestation.CA, b *tpmkeys.Backend) []byte {
	t.Helper()
	aik, err := b.AIK()
	require.NoError(t, err)
	info, err := b.Info()
	require.NoError(t, err)
	utf8 := func(s string) asn1.RawValue {
		return asn1.RawValue{Class: asn1.ClassUniversal, Tag: asn1.TagUTF8String, Bytes: []byte(s)}
	}
	name, err := asn1.Marshal(pkix.RDNSequence{pkix.RelativeDistinguishedNameSET{
		{Type: asn1.ObjectIdentifier{2, 23, 133, 2, 1}, Value: utf8(fmt.Sprintf("id:%08X", info.Manufacturer))},
		{Type: asn1.ObjectIdentifier{2, 23, 133, 2, 2}, Value: utf8(info.Model)},
		{Type: asn1.ObjectIdentifier{2, 23, 133, 2, 3}, Value: utf8(fmt.Sprintf("id:%08X", uint32(info.FirmwareVersion>>32)))},
	}})
	require.NoError(t, err)
	san, err := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 4, IsCompound: true, Bytes: name}})
	require.NoError(t, err)
	now := time.Now()
	der, err := x509.CreateCertificate(rand.Reader, &x509.Certificate{
		SerialNumber:          big.NewInt(1),
		NotBefore:             now.Add(-time.Hour),
		NotAfter:              now.Add(time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		UnknownExtKeyUsage:    []asn1.ObjectIdentifier{{2, 23, 133, 8, 3}},
		BasicConstraintsValid: true,
		ExtraExtensions:       []pkix.Extension{{Id: asn1.ObjectIdentifier{2, 5, 29, 17}, Critical: true, Value: san}},
	}, ca.Intermediate, aik, ca.IntermediateKey)
	require.NoError(t, err)
	return der
}

// TestCertifyGoWebAuthn: a "tpm" attestation statement made of TPM2_Certify
// on the simulator, with the manufacturer the TPM reports (MSFT), passes
// go-webauthn's registration checks (WebAuthn L3 §7.1 steps 13-19),
// metadata and trust chain included.
func TestCertifyGoWebAuthn(t *testing.T) {
	sim, err := gtsim.Get()
	require.NoError(t, err)
	t.Cleanup(func() { require.NoError(t, sim.Close()) })
	b, err := tpmkeys.New(tpmkeys.Config{TPM: transport.FromReadWriter(sim)})
	require.NoError(t, err)
	_, key, err := b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)

	ca, err := attestation.NewCA(rand.Reader, time.Now(), "softkey test CA")
	require.NoError(t, err)
	aaguid := [16]byte{0x50, 0x4d}
	cose, err := ctap2.MarshalCOSEKey(ctap2.AlgES256, key.Public())
	require.NoError(t, err)
	const rpID = "example.org"
	authData, err := (&ctap2.AuthData{
		RPIDHash: ctap2.RPIDHash(rpID),
		Flags:    ctap2.FlagUP | ctap2.FlagAT,
		Attested: &ctap2.AttestedCredential{AAGUID: aaguid, CredentialID: []byte("credential"), PublicKey: cose},
	}).Marshal()
	require.NoError(t, err)
	cdh := sha256.Sum256([]byte("client data"))

	c, err := b.Certify(key, authData, cdh[:])
	require.NoError(t, err)
	stmt, err := ctap2.Marshal(map[string]any{
		"ver": "2.0", "alg": int(c.Alg), "sig": c.Signature,
		"x5c":     [][]byte{aikCertificate(t, ca, b), ca.Intermediate.Raw},
		"pubArea": c.PubArea, "certInfo": c.CertInfo,
	})
	require.NoError(t, err)
	attObj, err := ctap2.Marshal(map[string]any{"fmt": "tpm", "attStmt": ctap2.RawMessage(stmt), "authData": authData})
	require.NoError(t, err)

	var obj protocol.AttestationObject
	require.NoError(t, webauthncbor.Unmarshal(attObj, &obj))
	require.NoError(t, obj.AuthData.Unmarshal(obj.RawAuthData))
	mds, err := webauthntest.Metadata(aaguid, "softkey TPM (test metadata)", metadata.AttCA, ca.Root)
	require.NoError(t, err)
	params := []protocol.CredentialParameter{{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256}}
	err = obj.Verify(rpID, cdh[:], false, true, mds, params, protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
	require.NoError(t, err, "go-webauthn: %s", webauthntest.Describe(err))

	// The same statement for another clientDataHash must fail: extraData
	// binds it.
	other := sha256.Sum256([]byte("other client data"))
	err = obj.Verify(rpID, other[:], false, true, mds, params, protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
	require.Error(t, err, "go-webauthn accepted the statement for another clientDataHash")
	var perr *protocol.Error
	require.ErrorAs(t, err, &perr)
	require.Equal(t, "ExtraData is not set to hash of attToBeSigned", perr.Details, "go-webauthn: %s", webauthntest.Describe(err))
}

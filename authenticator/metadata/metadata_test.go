package metadata_test

import (
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/base64"
	"math/rand/v2"
	"testing"
	"time"

	wamd "github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/metadata"
	"github.com/softkeydev/softkey/authenticator/presets"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

func seeded(seed byte) *rand.ChaCha8 { return rand.NewChaCha8([32]byte{seed}) }

// testCA is a CA valid now, for go-webauthn, which checks certificates
// against its own clock.
func testCA(t *testing.T) *attestation.CA {
	t.Helper()
	ca, err := attestation.NewCA(seeded(1), time.Now(), "softkey metadata test")
	require.NoError(t, err)
	return ca
}

func TestEntriesDefaultProfile(t *testing.T) {
	ca := testCA(t)
	p := authenticator.DefaultProfile()
	now := time.Date(2026, 5, 6, 0, 0, 0, 0, time.UTC)
	entries, err := metadata.Entries(p, metadata.Options{CA: ca, Now: now})
	require.NoError(t, err)
	require.Len(t, entries, 1)
	e := entries[0]
	s := e.MetadataStatement
	require.Equal(t, mds.AAGUID(p.AAGUID), e.AAGUID)
	require.Equal(t, mds.AAGUID(p.AAGUID), s.AAGUID)
	require.Equal(t, mds.ProtocolFIDO2, s.ProtocolFamily)
	require.Equal(t, []mds.AttestationType{mds.AttestationBasicFull}, s.AttestationTypes)
	require.Equal(t, [][]byte{ca.Root.Raw}, s.AttestationRootCertificates)
	require.Equal(t, []string{"secp256r1_ecdsa_sha256_raw", "ed25519_eddsa_sha512_raw", "rsassa_pkcsv15_sha256_raw"}, s.AuthenticationAlgorithms)
	require.Equal(t, []mds.Version{{Major: 1, Minor: 1}, {Major: 1, Minor: 0}}, s.Upv)
	require.Equal(t, []string{mds.KeyProtectionSoftware}, s.KeyProtection, "softkey's own keys are in software")
	require.Equal(t, []string{mds.AttachmentExternal, mds.AttachmentWired}, s.AttachmentHint)
	require.Equal(t, [][]mds.VerificationMethod{
		{{UserVerificationMethod: mds.UVPresenceInternal}},
		{{UserVerificationMethod: "passcode_external"}},
	}, s.UserVerificationDetails, "clientPin in getInfo: presence, or a PIN entered on the client")
	require.Equal(t, mds.MultiDeviceUnsupported, s.MultiDeviceCredentialSupport)
	require.Equal(t, []mds.StatusReport{{Status: mds.StatusNotFIDOCertified, EffectiveDate: now}}, e.StatusReports)
	require.Equal(t, now, e.TimeOfLastStatusChange)

	// authenticatorGetInfo is the engine's own.
	info := s.AuthenticatorGetInfo
	require.NotNil(t, info)
	require.Equal(t, mds.AAGUID(p.AAGUID), info.AAGUID)
	require.Equal(t, p.Versions, info.Versions)
	require.Equal(t, p.Transports, info.Transports)
	require.Equal(t, p.MaxMsgSize, info.MaxMsgSize)
	require.Equal(t, false, info.Options["clientPin"], "a new key has no PIN")
	require.Equal(t, true, info.Options["credMgmt"])
	require.Len(t, info.Algorithms, 3)
}

func TestAttestationTypes(t *testing.T) {
	tests := []struct {
		mode       string
		want       mds.AttestationType
		needsCA    bool
		needsBatch bool
	}{
		{authenticator.AttestationPacked, mds.AttestationBasicFull, true, false},
		{authenticator.AttestationTPM, mds.AttestationAttCA, true, false},
		{authenticator.AttestationFIDOU2F, mds.AttestationBasicFull, true, true},
		{authenticator.AttestationSelf, mds.AttestationBasicSurrogate, false, false},
		{authenticator.AttestationNone, mds.AttestationNone, false, false},
	}
	ca := testCA(t)
	p0 := authenticator.DefaultProfile()
	batch, err := ca.IssueBatch(seeded(2), time.Now(), p0.AAGUID, attestation.BatchOptions{})
	require.NoError(t, err)
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			got, err := metadata.AttestationType(tt.mode)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)

			p := authenticator.DefaultProfile()
			require.NoError(t, p.SetAttestation(tt.mode))
			entries, err := metadata.Entries(p, metadata.Options{})
			if tt.needsCA {
				require.ErrorContains(t, err, "needs the CA")
			} else {
				require.NoError(t, err)
				require.Empty(t, entries[0].MetadataStatement.AttestationRootCertificates)
			}
			entries, err = metadata.Entries(p, metadata.Options{CA: ca})
			if tt.needsBatch {
				require.ErrorContains(t, err, "fido-u2f attestation is found by its certificate's key identifier")
				entries, err = metadata.Entries(p, metadata.Options{CA: ca, Batch: batch})
			}
			require.NoError(t, err)
			require.Equal(t, []mds.AttestationType{tt.want}, entries[0].MetadataStatement.AttestationTypes)
		})
	}
	_, err = metadata.AttestationType("basic")
	require.Error(t, err)
}

func TestEntriesFIDOU2F(t *testing.T) {
	ca := testCA(t)
	p := authenticator.DefaultProfile()
	require.NoError(t, p.SetAttestation(authenticator.AttestationFIDOU2F))
	batch, err := ca.IssueBatch(seeded(2), time.Now(), p.AAGUID, attestation.BatchOptions{})
	require.NoError(t, err)
	entries, err := metadata.Entries(p, metadata.Options{CA: ca, Batch: batch})
	require.NoError(t, err)
	require.Len(t, entries, 2)
	u2f := entries[1]
	leaf, err := x509.ParseCertificate(batch.Chain[0])
	require.NoError(t, err)
	keyID, err := mds.KeyIdentifier(leaf)
	require.NoError(t, err)
	require.True(t, u2f.AAGUID.IsZero())
	require.Equal(t, []string{keyID}, u2f.AttestationCertificateKeyIdentifiers)
	require.Equal(t, mds.ProtocolU2F, u2f.MetadataStatement.ProtocolFamily)
	require.Equal(t, [][]byte{ca.Intermediate.Raw, ca.Root.Raw}, u2f.MetadataStatement.AttestationRootCertificates,
		"a fido-u2f x5c is the batch certificate alone: its CA certificates are all anchors")
	require.Nil(t, u2f.MetadataStatement.AuthenticatorGetInfo)

	// A batch for another model is refused.
	other := p.AAGUID
	other[0] ^= 1
	wrong, err := ca.IssueBatch(seeded(3), time.Now(), other, attestation.BatchOptions{})
	require.NoError(t, err)
	_, err = metadata.Entries(p, metadata.Options{CA: ca, Batch: wrong})
	require.ErrorContains(t, err, "batch certificate is for AAGUID")
}

// TestEntriesImportedBatch: a batch with a chain of its own (a hardware
// team's) is trusted through its own root, and the CA's root stays for
// what the CA issues (tpm).
func TestEntriesImportedBatch(t *testing.T) {
	ca := testCA(t)
	p := authenticator.DefaultProfile()
	p.AttestationFormats = []string{authenticator.AttestationPacked, authenticator.AttestationTPM}
	theirs, err := attestation.NewBatch(seeded(4), time.Now(), p.AAGUID, "Hardware Team")
	require.NoError(t, err)
	entries, err := metadata.Entries(p, metadata.Options{CA: ca, Batch: theirs})
	require.NoError(t, err)
	s := entries[0].MetadataStatement
	require.Equal(t, [][]byte{theirs.Chain[2], ca.Root.Raw}, s.AttestationRootCertificates)
	require.Equal(t, []mds.AttestationType{mds.AttestationBasicFull, mds.AttestationAttCA}, s.AttestationTypes)
	require.Equal(t, []string{"packed", "tpm", "none"}, s.AuthenticatorGetInfo.AttestationFormats)
}

func TestEntriesStatus(t *testing.T) {
	p := authenticator.DefaultProfile()
	p.Attestation = authenticator.AttestationNone
	day1 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	day2 := day1.AddDate(0, 2, 0)
	reports := []mds.StatusReport{
		{Status: mds.StatusFIDOCertifiedL1, EffectiveDate: day1},
		{Status: mds.StatusRevoked, EffectiveDate: day2},
	}
	entries, err := metadata.Entries(p, metadata.Options{Status: reports})
	require.NoError(t, err)
	require.Equal(t, reports, entries[0].StatusReports)
	require.Equal(t, day2, entries[0].TimeOfLastStatusChange)
}

// TestEntriesEveryPreset: every preset is described, the BLOB holding them
// all is accepted by go-webauthn, and each statement's getInfo is the
// preset's.
func TestEntriesEveryPreset(t *testing.T) {
	ca := testCA(t)
	var all []mds.Entry
	for _, info := range presets.Infos() {
		p, err := presets.Get(info.Name)
		require.NoError(t, err)
		entries, err := metadata.Entries(p, metadata.Options{CA: ca})
		require.NoError(t, err, info.Name)
		s := entries[0].MetadataStatement
		require.Equal(t, mds.AAGUID(info.AAGUID), s.AuthenticatorGetInfo.AAGUID, info.Name)
		require.Contains(t, s.Description, info.Display, info.Name)
		switch info.Kind {
		case presets.KindSecurityKey:
			require.Equal(t, []string{mds.KeyProtectionHardware, mds.KeyProtectionSecureElement}, s.KeyProtection, info.Name)
		case presets.KindSyncedPasskeyProvider:
			require.Equal(t, []string{mds.KeyProtectionSoftware}, s.KeyProtection, info.Name)
			require.Equal(t, mds.MultiDeviceImplicit, s.MultiDeviceCredentialSupport, info.Name)
			require.Contains(t, s.AttachmentHint, mds.AttachmentInternal, info.Name)
		}
		all = append(all, entries...)
	}
	signer, chain, err := ca.IssueSigner(seeded(5), time.Now(), "Metadata BLOB Signer")
	require.NoError(t, err)
	blob, err := mds.EncodeBLOB(all, 1, time.Now().AddDate(0, 1, 0), signer, chain[:2])
	require.NoError(t, err)
	md := decodeBLOB(t, blob, ca.Root)
	require.Empty(t, md.Unparsed, "entries go-webauthn could not parse")
	require.Len(t, md.Parsed.Entries, len(presets.Names()))
}

func decodeBLOB(t *testing.T, blob string, root *x509.Certificate) *wamd.Metadata {
	t.Helper()
	dec, err := wamd.NewDecoder(wamd.WithRootCertificate(base64.StdEncoding.EncodeToString(root.Raw)))
	require.NoError(t, err)
	payload, err := dec.DecodeBytes([]byte(blob))
	require.NoError(t, err, "go-webauthn refused the BLOB")
	md, err := dec.Parse(payload)
	require.NoError(t, err)
	return md
}

// TestRegistrationTrustedByEntries: the in-process engine registers with
// each attestation mode, and go-webauthn, given the BLOB of Entries for
// the same profile and options, verifies the attestation to the expected
// type; fido-u2f is found by its key identifier.
func TestRegistrationTrustedByEntries(t *testing.T) {
	ca := testCA(t)
	tests := []struct {
		mode, wantType string
	}{
		{authenticator.AttestationPacked, "basic_full"},
		{authenticator.AttestationTPM, "attca"},
		{authenticator.AttestationFIDOU2F, "basic_full"},
		{authenticator.AttestationSelf, "basic_surrogate"},
		{authenticator.AttestationNone, "none"},
	}
	for _, tt := range tests {
		t.Run(tt.mode, func(t *testing.T) {
			p := authenticator.DefaultProfile()
			require.NoError(t, p.SetAttestation(tt.mode))
			batch, err := ca.IssueBatch(seeded(6), time.Now(), p.AAGUID, attestation.BatchOptions{})
			require.NoError(t, err)
			entries, err := metadata.Entries(p, metadata.Options{CA: ca, Batch: batch})
			require.NoError(t, err)
			signer, chain, err := ca.IssueSigner(seeded(7), time.Now(), "Metadata BLOB Signer")
			require.NoError(t, err)
			blob, err := mds.EncodeBLOB(entries, 1, time.Now().AddDate(0, 1, 0), signer, chain[:2])
			require.NoError(t, err)
			md := decodeBLOB(t, blob, ca.Root)
			provider, err := memory.New(
				memory.WithMetadata(md.ToMap()),
				memory.WithMetadataKeyIdentifiers(md.ToKeyIdentifierMap()),
				memory.WithValidateEntryKeyIdentifier(true))
			require.NoError(t, err)

			key, err := authenticator.New(authenticator.Config{
				Profile: p, Store: &store.Memory{}, Keys: keys.NewSoftware(seeded(8)), CA: ca, Batch: batch,
			})
			require.NoError(t, err)
			cdh := sha256.Sum256([]byte("client data " + tt.mode))
			req, err := ctap2.Marshal(&ctap2.MakeCredentialRequest{
				ClientDataHash:   cdh[:],
				RP:               &ctap2.RPEntity{ID: "example.test"},
				User:             &ctap2.UserEntity{ID: []byte("alice"), Name: "alice"},
				PubKeyCredParams: []ctap2.CredentialParam{{Type: ctap2.PublicKeyCredentialType, Alg: ctap2.AlgES256}},
			})
			require.NoError(t, err)
			out := key.HandleCBOR(context.Background(), append([]byte{byte(ctap2.CmdMakeCredential)}, req...))
			require.Equal(t, byte(ctap2.StatusOK), out[0])
			var resp ctap2.MakeCredentialResponse
			require.NoError(t, ctap2.Unmarshal(out[1:], &resp))
			attObj, err := ctap2.Marshal(struct {
				Fmt      string           `cbor:"fmt"`
				AttStmt  ctap2.RawMessage `cbor:"attStmt"`
				AuthData []byte           `cbor:"authData"`
			}{resp.Format, resp.AttStmt, resp.AuthData})
			require.NoError(t, err)

			var obj protocol.AttestationObject
			require.NoError(t, webauthncbor.Unmarshal(attObj, &obj))
			require.NoError(t, obj.AuthData.Unmarshal(obj.RawAuthData))
			params := []protocol.CredentialParameter{{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256}}
			err = obj.Verify("example.test", cdh[:], false, true, provider, params, protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
			require.NoError(t, err, "go-webauthn: %v", err)
			require.Equal(t, tt.wantType, obj.Type)
		})
	}
}

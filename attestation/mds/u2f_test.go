package mds_test

import (
	"context"
	"crypto/sha1"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"strings"
	"testing"

	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"

	"github.com/softkeydev/softkey/attestation/mds"
)

// u2fEntry is a U2F model's entry: no AAGUID, found by the key identifier
// of its attestation certificate.
func u2fEntry(t *testing.T, f *fixture, batch *issued) mds.Entry {
	t.Helper()
	id, err := mds.KeyIdentifier(batch.cert)
	require.NoError(t, err)
	return mds.Entry{
		AttestationCertificateKeyIdentifiers: []string{id},
		MetadataStatement: mds.Statement{
			Description:                 "U2F Key",
			AuthenticatorVersion:        1,
			ProtocolFamily:              mds.ProtocolU2F,
			Schema:                      mds.Schema,
			Upv:                         []mds.Version{{Major: 1, Minor: 1}},
			AuthenticationAlgorithms:    []string{"secp256r1_ecdsa_sha256_raw"},
			PublicKeyAlgAndEncodings:    []string{"ecc_x962_raw"},
			AttestationTypes:            []mds.AttestationType{mds.AttestationBasicFull},
			UserVerificationDetails:     [][]mds.VerificationMethod{{{UserVerificationMethod: mds.UVPresenceInternal}}},
			KeyProtection:               []string{mds.KeyProtectionHardware},
			MatcherProtection:           []string{mds.MatcherProtectionOnChip},
			AttachmentHint:              []string{mds.AttachmentExternal, mds.AttachmentWired},
			AttestationRootCertificates: [][]byte{f.attRoot.cert.Raw},
		},
		StatusReports:          []mds.StatusReport{{Status: mds.StatusNotFIDOCertified, EffectiveDate: testNow}},
		TimeOfLastStatusChange: testNow,
	}
}

func TestKeyIdentifier(t *testing.T) {
	f := newFixture(t)
	batch := newBatch(t, f.attRoot, mds.AAGUID{})

	// Without a subject key identifier: the SHA-1 hash of the public key.
	var spki struct {
		Algorithm pkix.AlgorithmIdentifier
		PublicKey asn1.BitString
	}
	_, err := asn1.Unmarshal(batch.cert.RawSubjectPublicKeyInfo, &spki)
	require.NoError(t, err)
	sum := sha1.Sum(spki.PublicKey.Bytes)
	want := hex.EncodeToString(sum[:])
	// Go fills in the subject key identifier of CA certificates only, so
	// the test batch certificate has its own only if Go computed one.
	if len(batch.cert.SubjectKeyId) != 0 {
		want = hex.EncodeToString(batch.cert.SubjectKeyId)
	}
	got, err := mds.KeyIdentifier(batch.cert)
	require.NoError(t, err)
	require.Equal(t, want, got)

	withSKI := *batch.cert
	withSKI.SubjectKeyId = []byte{0xAB, 0xCD}
	got, err = mds.KeyIdentifier(&withSKI)
	require.NoError(t, err)
	require.Equal(t, "abcd", got, "the subject key identifier comes first")

	_, err = mds.KeyIdentifier(nil)
	require.Error(t, err)
}

// TestU2FEntry: a U2F entry goes into the BLOB without an AAGUID, and
// go-webauthn indexes it by key identifier.
func TestU2FEntry(t *testing.T) {
	f := newFixture(t)
	batch := newBatch(t, f.attRoot, mds.AAGUID{})
	u2f := u2fEntry(t, f, batch)
	blob, err := mds.EncodeBLOB(append(f.entries, u2f), 8, f.nextUpdate, f.pki.signer.key, f.pki.chain())
	require.NoError(t, err)

	payload, err := base64.RawURLEncoding.DecodeString(strings.Split(blob, ".")[1])
	require.NoError(t, err)
	var p struct {
		Entries []map[string]json.RawMessage `json:"entries"`
	}
	require.NoError(t, json.Unmarshal(payload, &p))
	last := p.Entries[len(p.Entries)-1]
	require.NotContains(t, last, "aaguid", "a U2F entry has no aaguid")
	require.JSONEq(t, `["`+u2f.AttestationCertificateKeyIdentifiers[0]+`"]`, string(last["attestationCertificateKeyIdentifiers"]))
	var st map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(last["metadataStatement"], &st))
	require.NotContains(t, st, "aaguid")
	require.NotContains(t, st, "authenticatorGetInfo")
	require.JSONEq(t, string(last["attestationCertificateKeyIdentifiers"]), string(st["attestationCertificateKeyIdentifiers"]),
		"the statement repeats the entry's key identifiers")

	md, err := decode(t, blob, f.pki.root)
	require.NoError(t, err, "go-webauthn refused the BLOB")
	require.Empty(t, md.Unparsed)
	byKeyID := md.ToKeyIdentifierMap()
	e, ok := byKeyID[u2f.AttestationCertificateKeyIdentifiers[0]]
	require.True(t, ok, "go-webauthn does not index the U2F entry by its key identifier")
	require.Equal(t, uuid.Nil, e.AaGUID)
	require.Equal(t, "u2f", e.MetadataStatement.ProtocolFamily)

	provider, err := memory.New(memory.WithMetadata(md.ToMap()), memory.WithMetadataKeyIdentifiers(byKeyID),
		memory.WithValidateEntryKeyIdentifier(true))
	require.NoError(t, err)
	extended, ok := provider.(metadata.ExtendedProvider)
	require.True(t, ok, "the memory provider looks entries up by key identifier")
	found, err := extended.GetEntryByKeyIdentifier(context.Background(), u2f.AttestationCertificateKeyIdentifiers[0])
	require.NoError(t, err)
	require.NotNil(t, found)
	require.Equal(t, "U2F Key", found.MetadataStatement.Description)
}

func TestU2FEntryRejects(t *testing.T) {
	f := newFixture(t)
	batch := newBatch(t, f.attRoot, mds.AAGUID{})
	tests := []struct {
		name   string
		change func(e *mds.Entry)
		want   string
	}{
		{"no key identifiers", func(e *mds.Entry) {
			e.AttestationCertificateKeyIdentifiers = nil
		}, "attestationCertificateKeyIdentifiers: a U2F entry needs at least one"},
		{"upper-case key identifier", func(e *mds.Entry) {
			e.AttestationCertificateKeyIdentifiers = []string{"ABCD"}
		}, `attestationCertificateKeyIdentifiers[0]: "ABCD" is not lowercase hex`},
		{"with an AAGUID", func(e *mds.Entry) {
			e.AAGUID = mustAAGUID(t, certifiedAAGUID)
			e.MetadataStatement.AAGUID = e.AAGUID
		}, "aaguid: a U2F entry has none"},
		{"statement with other key identifiers", func(e *mds.Entry) {
			e.MetadataStatement.AttestationCertificateKeyIdentifiers = []string{"00"}
		}, "metadataStatement.attestationCertificateKeyIdentifiers: differ from the entry's"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			e := u2fEntry(t, f, batch)
			tc.change(&e)
			_, err := mds.EncodeBLOB([]mds.Entry{e}, 1, f.nextUpdate, f.pki.signer.key, f.pki.chain())
			require.ErrorContains(t, err, tc.want)
		})
	}
	t.Run("duplicate key identifier", func(t *testing.T) {
		e := u2fEntry(t, f, batch)
		_, err := mds.EncodeBLOB([]mds.Entry{e, e}, 1, f.nextUpdate, f.pki.signer.key, f.pki.chain())
		require.ErrorContains(t, err, "entries[0] and entries[1] have the same attestation certificate key identifier")
	})
	t.Run("two U2F entries", func(t *testing.T) {
		other := newBatch(t, f.attRoot, mds.AAGUID{})
		_, err := mds.EncodeBLOB([]mds.Entry{u2fEntry(t, f, batch), u2fEntry(t, f, other)}, 1, f.nextUpdate, f.pki.signer.key, f.pki.chain())
		require.NoError(t, err, "two U2F entries, both without an AAGUID")
	})
}

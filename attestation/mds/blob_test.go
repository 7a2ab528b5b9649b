package mds_test

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/cached"
	"github.com/google/uuid"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/ctap2"
)

// Three models, one per kind of status history.
const (
	certifiedAAGUID   = "11111111-2222-4333-8444-555555555555"
	revokedAAGUID     = "22222222-3333-4444-8555-666666666666"
	compromisedAAGUID = "33333333-4444-4555-8666-777777777777"
)

// fixture is a BLOB with three entries and what it was made from.
type fixture struct {
	pki        *mdsPKI
	attRoot    *issued
	entries    []mds.Entry
	nextUpdate time.Time
	blob       string
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{
		pki:        newMDSPKI(t),
		attRoot:    newCA(t, "softkey test attestation root", nil),
		nextUpdate: time.Now().AddDate(0, 1, 0),
	}
	leaked := newBatch(t, f.attRoot, mustAAGUID(t, compromisedAAGUID))
	f.entries = []mds.Entry{
		entryFor(t, mustAAGUID(t, certifiedAAGUID), "Certified Key", f.attRoot,
			mds.StatusReport{Status: mds.StatusNotFIDOCertified, EffectiveDate: testNow.AddDate(-1, 0, 0)},
			mds.StatusReport{Status: mds.StatusFIDOCertifiedL1, EffectiveDate: testNow, CertificateNumber: "FIDO20020260301001",
				CertificationPolicyVersion: "1.4.0", CertificationRequirementsVersion: "1.5.0", URL: "https://example.test/cert"}),
		entryFor(t, mustAAGUID(t, revokedAAGUID), "Revoked Key", f.attRoot,
			mds.StatusReport{Status: mds.StatusFIDOCertifiedL1, EffectiveDate: testNow.AddDate(-1, 0, 0)},
			mds.StatusReport{Status: mds.StatusRevoked, EffectiveDate: testNow}),
		entryFor(t, mustAAGUID(t, compromisedAAGUID), "Compromised Key", f.attRoot,
			mds.StatusReport{Status: mds.StatusAttestationKeyCompromise, EffectiveDate: testNow, Certificate: leaked.cert.Raw}),
	}
	blob, err := mds.EncodeBLOB(f.entries, 7, f.nextUpdate, f.pki.signer.key, f.pki.chain())
	require.NoError(t, err, "EncodeBLOB")
	f.blob = blob
	return f
}

// decode has go-webauthn verify and parse the BLOB against root.
func decode(t *testing.T, blob string, root *issued) (*metadata.Metadata, error) {
	t.Helper()
	dec, err := metadata.NewDecoder(metadata.WithRootCertificate(root.b64()))
	require.NoError(t, err)
	payload, err := dec.DecodeBytes([]byte(blob))
	if err != nil {
		return nil, err
	}
	return dec.Parse(payload)
}

// TestGoWebAuthnReadsBLOB has go-webauthn's metadata decoder verify the
// BLOB's signature and chain against our MDS root, parse every entry, and
// checks that what it read is what went in: payload header, statements,
// getInfo, trust anchors and status reports.
func TestGoWebAuthnReadsBLOB(t *testing.T) {
	f := newFixture(t)
	md, err := decode(t, f.blob, f.pki.root)
	require.NoError(t, err, "go-webauthn refused the BLOB")
	require.Empty(t, md.Unparsed, "entries go-webauthn could not parse")

	require.Equal(t, mds.LegalHeader, md.Parsed.LegalHeader)
	require.Equal(t, 7, md.Parsed.Number, "serial number no")
	require.Equal(t, f.nextUpdate.UTC().Format(time.DateOnly), md.Parsed.NextUpdate.Format(time.DateOnly), "nextUpdate")
	require.Len(t, md.Parsed.Entries, len(f.entries))

	byAAGUID := md.ToMap()
	for _, want := range f.entries {
		t.Run(want.MetadataStatement.Description, func(t *testing.T) {
			got, ok := byAAGUID[uuid.UUID(want.AAGUID)]
			require.True(t, ok, "go-webauthn has no entry for %v", want.AAGUID)
			require.Equal(t, uuid.UUID(want.AAGUID), got.AaGUID)
			require.Equal(t, testNow, got.TimeOfLastStatusChange, "timeOfLastStatusChange")

			s := got.MetadataStatement
			require.Equal(t, mds.LegalHeader, s.LegalHeader, "a statement without a legal header gets the BLOB's")
			require.Equal(t, uuid.UUID(want.AAGUID), s.AaGUID)
			require.Equal(t, want.MetadataStatement.Description, s.Description)
			require.Equal(t, uint32(5), s.AuthenticatorVersion)
			require.Equal(t, "fido2", s.ProtocolFamily)
			require.Equal(t, uint16(3), s.Schema)
			require.Equal(t, []metadata.Version{{Major: 1, Minor: 1}, {Major: 1, Minor: 0}}, s.Upv)
			require.Equal(t, []metadata.AuthenticationAlgorithm{metadata.ALG_SIGN_SECP256R1_ECDSA_SHA256_RAW}, s.AuthenticationAlgorithms)
			require.Equal(t, []metadata.PublicKeyAlgAndEncoding{metadata.ALG_KEY_COSE}, s.PublicKeyAlgAndEncodings)
			require.Equal(t, metadata.AuthenticatorAttestationTypes{metadata.BasicFull}, s.AttestationTypes)
			require.Equal(t, "presence_internal", s.UserVerificationDetails[0][0].UserVerificationMethod)
			require.Equal(t, []string{"hardware", "secure_element"}, s.KeyProtection)
			require.Equal(t, []string{"on_chip"}, s.MatcherProtection)
			require.Equal(t, []string{"external", "wired"}, s.AttachmentHint)
			require.Empty(t, s.TcDisplay)
			require.Len(t, s.AttestationRootCertificates, 1)
			require.True(t, f.attRoot.cert.Equal(s.AttestationRootCertificates[0]), "attestation root certificate")
			require.Equal(t, metadata.MultiDeviceCredentialUnsupported, s.MultiDeviceCredentialSupport)

			info := s.AuthenticatorGetInfo
			require.Equal(t, uuid.UUID(want.AAGUID), info.AaGUID, "authenticatorGetInfo.aaguid")
			require.Equal(t, []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1"}, info.Versions)
			require.Equal(t, map[string]bool{"rk": true, "up": true, "plat": false}, info.Options)
			require.Equal(t, []metadata.PublicKeyCredentialParameters{{Type: "public-key", Alg: -7}}, info.Algorithms)
			require.Equal(t, []string{"usb"}, info.Transports)
			require.Equal(t, uint(1200), info.MaxMsgSize)
			require.Equal(t, uint(128), info.MaxCredentialIdLength)
			require.Equal(t, uint(5), info.FirmwareVersion)

			require.Len(t, got.StatusReports, len(want.StatusReports))
			for i, w := range want.StatusReports {
				r := got.StatusReports[i]
				require.Equal(t, string(w.Status), string(r.Status), "statusReports[%d].status", i)
				require.NotNil(t, r.EffectiveDate, "statusReports[%d].effectiveDate", i)
				require.Equal(t, w.EffectiveDate, *r.EffectiveDate, "statusReports[%d].effectiveDate", i)
				require.Equal(t, w.CertificateNumber, r.CertificateNumber)
				if w.Certificate != nil {
					require.NotNil(t, r.Certificate, "statusReports[%d].certificate", i)
					require.Equal(t, w.Certificate, r.Certificate.Raw, "statusReports[%d].certificate", i)
				}
			}
		})
	}
}

// TestGoWebAuthnStatusChecks runs go-webauthn's own status check, with its
// default undesired statuses, on the reports that came through the BLOB.
func TestGoWebAuthnStatusChecks(t *testing.T) {
	f := newFixture(t)
	md, err := decode(t, f.blob, f.pki.root)
	require.NoError(t, err)
	byAAGUID := md.ToMap()
	check := func(aaguid string) error {
		e := byAAGUID[uuid.MustParse(aaguid)]
		require.NotNil(t, e)
		return metadata.ValidateStatusReports(e.StatusReports, nil, metadata.DefaultUndesiredAuthenticatorStatuses())
	}
	require.NoError(t, check(certifiedAAGUID), "FIDO_CERTIFIED_L1")
	require.EqualError(t, check(revokedAAGUID), "The following undesired status reports were present: REVOKED")
	require.EqualError(t, check(compromisedAAGUID), "The following undesired status reports were present: ATTESTATION_KEY_COMPROMISE")

	// A relying party that wants certified models only: the revoked one
	// was certified once, but its current report is REVOKED.
	desired := []metadata.AuthenticatorStatus{metadata.FidoCertifiedL1}
	require.NoError(t, metadata.ValidateStatusReports(byAAGUID[uuid.MustParse(certifiedAAGUID)].StatusReports, desired, nil))
	err = metadata.ValidateStatusReports(byAAGUID[uuid.MustParse(revokedAAGUID)].StatusReports, desired, nil)
	require.EqualError(t, err, "the current status report 'REVOKED' was not one of the desired statuses: FIDO_CERTIFIED_L1")
}

// TestGoWebAuthnCachedProvider gives go-webauthn the BLOB the way a server
// configures it from disk: the file-cached provider, pointed at a local
// file and told never to update it, so that nothing touches the network.
func TestGoWebAuthnCachedProvider(t *testing.T) {
	f := newFixture(t)
	path := filepath.Join(t.TempDir(), "blob.jwt")
	require.NoError(t, os.WriteFile(path, []byte(f.blob), 0o600))
	dec, err := metadata.NewDecoder(metadata.WithRootCertificate(f.pki.root.b64()))
	require.NoError(t, err)
	provider, err := cached.New(cached.WithPath(path), cached.WithUpdate(false), cached.WithDecoder(dec))
	require.NoError(t, err, "cached provider with a local BLOB")

	ctx := context.Background()
	for _, aaguid := range []string{certifiedAAGUID, revokedAAGUID, compromisedAAGUID} {
		e, err := provider.GetEntry(ctx, uuid.MustParse(aaguid))
		require.NoError(t, err)
		require.NotNil(t, e, "no entry for %s", aaguid)
	}
	e, err := provider.GetEntry(ctx, uuid.MustParse(revokedAAGUID))
	require.NoError(t, err)
	require.True(t, provider.GetValidateStatus(ctx), "the cached provider's default checks status")
	require.EqualError(t, provider.ValidateStatusReports(ctx, e.StatusReports), "The following undesired status reports were present: REVOKED")
	missing, err := provider.GetEntry(ctx, uuid.New())
	require.NoError(t, err)
	require.Nil(t, missing, "an AAGUID the BLOB does not name")
}

// TestGoWebAuthnRefusesBadBLOBs checks that the oracle is not lenient: a
// BLOB it must not trust is refused.
func TestGoWebAuthnRefusesBadBLOBs(t *testing.T) {
	f := newFixture(t)
	parts := strings.Split(f.blob, ".")
	require.Len(t, parts, 3, "JWS compact serialization has three parts")

	t.Run("another root", func(t *testing.T) {
		_, err := decode(t, f.blob, newCA(t, "someone else's root", nil))
		require.ErrorContains(t, err, "certificate signed by unknown authority")
	})
	t.Run("payload changed after signing", func(t *testing.T) {
		payload, err := base64.RawURLEncoding.DecodeString(parts[1])
		require.NoError(t, err)
		changed := strings.Replace(string(payload), `"no":7`, `"no":8`, 1)
		require.NotEqual(t, string(payload), changed)
		tampered := parts[0] + "." + base64.RawURLEncoding.EncodeToString([]byte(changed)) + "." + parts[2]
		_, err = decode(t, tampered, f.pki.root)
		require.ErrorContains(t, err, "signature is invalid")
	})
	t.Run("signer alone in x5c", func(t *testing.T) {
		blob, err := mds.EncodeBLOB(f.entries, 7, f.nextUpdate, f.pki.signer.key, f.pki.chain()[:1])
		require.NoError(t, err)
		_, err = decode(t, blob, f.pki.root)
		require.ErrorContains(t, err, "Certificate chain is malformed")
	})
}

// TestEncodeBLOBShape checks the JWS header and payload members by name,
// against MDS 3.0 §3.1.6 and §3.1.7, and the raw r‖s signature.
func TestEncodeBLOBShape(t *testing.T) {
	f := newFixture(t)
	parts := strings.Split(f.blob, ".")
	require.Len(t, parts, 3)
	var header map[string]any
	raw, err := base64.RawURLEncoding.DecodeString(parts[0])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &header))
	require.Equal(t, "ES256", header["alg"])
	require.Equal(t, "JWT", header["typ"])
	require.Equal(t, []any{
		base64.StdEncoding.EncodeToString(f.pki.signer.cert.Raw),
		base64.StdEncoding.EncodeToString(f.pki.inter.cert.Raw),
	}, header["x5c"], "x5c: standard base64 DER, signer first")

	var payload map[string]json.RawMessage
	raw, err = base64.RawURLEncoding.DecodeString(parts[1])
	require.NoError(t, err)
	require.NoError(t, json.Unmarshal(raw, &payload))
	require.ElementsMatch(t, []string{"legalHeader", "no", "nextUpdate", "entries"}, keys(payload))
	require.JSONEq(t, `"`+f.nextUpdate.UTC().Format("2006-01-02")+`"`, string(payload["nextUpdate"]))

	var entries []map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(payload["entries"], &entries))
	require.ElementsMatch(t, []string{"aaguid", "metadataStatement", "statusReports", "timeOfLastStatusChange"}, keys(entries[0]))
	require.JSONEq(t, `"`+certifiedAAGUID+`"`, string(entries[0]["aaguid"]))
	var statement map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(entries[0]["metadataStatement"], &statement))
	require.JSONEq(t, `[]`, string(statement["tcDisplay"]), "tcDisplay is present and empty")
	var info map[string]json.RawMessage
	require.NoError(t, json.Unmarshal(statement["authenticatorGetInfo"], &info))
	require.JSONEq(t, `"`+strings.ReplaceAll(certifiedAAGUID, "-", "")+`"`, string(info["aaguid"]), "getInfo's aaguid is 32 hex digits")

	sig, err := base64.RawURLEncoding.DecodeString(parts[2])
	require.NoError(t, err)
	require.Len(t, sig, 64, "ES256 JWS signatures are r‖s, not DER")
}

func keys[V any](m map[string]V) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// TestEncodeBLOBWithoutX5C signs with the trust anchor's own key and leaves
// x5c out: go-webauthn then takes the anchor as the signing certificate.
func TestEncodeBLOBWithoutX5C(t *testing.T) {
	f := newFixture(t)
	blob, err := mds.EncodeBLOB(f.entries, 1, f.nextUpdate, f.pki.root.key, nil)
	require.NoError(t, err)
	header, err := base64.RawURLEncoding.DecodeString(strings.Split(blob, ".")[0])
	require.NoError(t, err)
	require.JSONEq(t, `{"alg":"ES256","typ":"JWT"}`, string(header))
	md, err := decode(t, blob, f.pki.root)
	require.NoError(t, err, "go-webauthn refused a BLOB signed by the root itself")
	require.Len(t, md.Parsed.Entries, len(f.entries))
}

// TestEncodeBLOBDeterministic: an ECDSA key signs by RFC 6979, so the same
// inputs give the same BLOB.
func TestEncodeBLOBDeterministic(t *testing.T) {
	f := newFixture(t)
	again, err := mds.EncodeBLOB(f.entries, 7, f.nextUpdate, f.pki.signer.key, f.pki.chain())
	require.NoError(t, err)
	require.Equal(t, f.blob, again)
}

// TestEncodeBLOBDoesNotModifyEntries: filling in statement defaults works
// on a copy.
func TestEncodeBLOBDoesNotModifyEntries(t *testing.T) {
	f := newFixture(t)
	entries := []mds.Entry{f.entries[0]}
	entries[0].MetadataStatement.AAGUID = mds.AAGUID{}
	_, err := mds.EncodeBLOB(entries, 1, f.nextUpdate, f.pki.signer.key, f.pki.chain())
	require.NoError(t, err)
	require.True(t, entries[0].MetadataStatement.AAGUID.IsZero(), "EncodeBLOB changed the caller's entry")
	require.Empty(t, entries[0].MetadataStatement.LegalHeader, "EncodeBLOB changed the caller's entry")
}

// TestEncodeBLOBRejects checks that bad input is refused before signing,
// with an error naming the field at fault.
func TestEncodeBLOBRejects(t *testing.T) {
	f := newFixture(t)
	good := func() []mds.Entry {
		out := make([]mds.Entry, len(f.entries))
		copy(out, f.entries)
		return out
	}
	edit := func(change func(e *mds.Entry)) []mds.Entry {
		es := good()
		change(&es[0])
		return es
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	_, ed, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)

	tests := []struct {
		name         string
		entries      []mds.Entry
		no           int
		noNextUpdate bool
		signer       crypto.Signer
		chain        []*x509.Certificate
		want         string
	}{
		{name: "negative serial", no: -1, want: "serial number -1 is negative"},
		{name: "no nextUpdate", noNextUpdate: true, want: "nextUpdate is missing"},
		{name: "P-384 signer", signer: p384, chain: []*x509.Certificate{}, want: "ES256 needs ECDSA P-256"},
		{name: "Ed25519 signer", signer: ed, chain: []*x509.Certificate{}, want: "ES256 needs ECDSA P-256"},
		{name: "signer not in the signing certificate", signer: f.pki.inter.key, want: "chain[0]: the signing certificate is not for the signer's key"},
		{name: "chain out of order", chain: []*x509.Certificate{f.pki.signer.cert, f.pki.root.cert}, want: "chain[0] is not signed by chain[1]"},
		{name: "duplicate AAGUID", entries: append(good(), f.entries[0]), want: "entries[0] and entries[3] have the same aaguid " + certifiedAAGUID},
		{name: "no AAGUID", entries: edit(func(e *mds.Entry) { e.AAGUID = mds.AAGUID{} }), want: "aaguid: a FIDO2 entry needs one"},
		{name: "statement for another AAGUID", entries: edit(func(e *mds.Entry) { e.MetadataStatement.AAGUID = mustAAGUID(t, revokedAAGUID) }),
			want: "metadataStatement.aaguid: " + revokedAAGUID + " differs from the entry's " + certifiedAAGUID},
		{name: "no description", entries: edit(func(e *mds.Entry) { e.MetadataStatement.Description = "" }), want: "metadataStatement: description: empty"},
		{name: "schema 2", entries: edit(func(e *mds.Entry) { e.MetadataStatement.Schema = 2 }), want: "schema: 2, want 3"},
		{name: "unknown protocol family", entries: edit(func(e *mds.Entry) { e.MetadataStatement.ProtocolFamily = "fido3" }), want: `protocolFamily: "fido3" is not fido2 or u2f`},
		{name: "no attestation types", entries: edit(func(e *mds.Entry) { e.MetadataStatement.AttestationTypes = nil }), want: "attestationTypes: at least one is needed"},
		{name: "basic_full without a root", entries: edit(func(e *mds.Entry) { e.MetadataStatement.AttestationRootCertificates = nil }),
			want: "attestationRootCertificates: attestation types with a certificate chain need a trust anchor"},
		{name: "no getInfo", entries: edit(func(e *mds.Entry) { e.MetadataStatement.AuthenticatorGetInfo = nil }), want: "authenticatorGetInfo: required for fido2"},
		{name: "getInfo of another model", entries: edit(func(e *mds.Entry) {
			info := *e.MetadataStatement.AuthenticatorGetInfo
			info.AAGUID = mustAAGUID(t, revokedAAGUID)
			e.MetadataStatement.AuthenticatorGetInfo = &info
		}), want: "authenticatorGetInfo.aaguid: " + revokedAAGUID + " differs from the statement's " + certifiedAAGUID},
		{name: "no status report", entries: edit(func(e *mds.Entry) { e.StatusReports = nil }), want: "statusReports: at least one is needed"},
		{name: "unknown status", entries: edit(func(e *mds.Entry) { e.StatusReports = []mds.StatusReport{{Status: "FIDO_CERTIFIED_L9"}} }),
			want: `statusReports[0].status: mds: unknown authenticator status "FIDO_CERTIFIED_L9"`},
		{name: "no time of last status change", entries: edit(func(e *mds.Entry) { e.TimeOfLastStatusChange = time.Time{} }), want: "timeOfLastStatusChange: missing"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			entries, no, nextUpdate := good(), 7, f.nextUpdate
			var signer crypto.Signer = f.pki.signer.key
			chain := f.pki.chain()
			if tc.entries != nil {
				entries = tc.entries
			}
			if tc.no != 0 {
				no = tc.no
			}
			if tc.noNextUpdate {
				nextUpdate = time.Time{}
			}
			if tc.signer != nil {
				signer = tc.signer
			}
			if tc.chain != nil {
				chain = tc.chain
			}
			blob, err := mds.EncodeBLOB(entries, no, nextUpdate, signer, chain)
			require.Error(t, err, "EncodeBLOB accepted it: %.60s…", blob)
			require.ErrorContains(t, err, tc.want)
			require.True(t, strings.HasPrefix(err.Error(), "mds: "), "error %q does not name the package", err)
		})
	}
}

// TestGetInfoFromCTAP checks the conversion and that it copies.
func TestGetInfoFromCTAP(t *testing.T) {
	aaguid := mustAAGUID(t, certifiedAAGUID)
	remaining := uint64(3)
	resp := &ctap2.GetInfoResponse{
		Versions:                         []string{"FIDO_2_0"},
		AAGUID:                           aaguid[:],
		Options:                          map[string]bool{"rk": true},
		Algorithms:                       []ctap2.CredentialParam{{Type: "public-key", Alg: ctap2.AlgEdDSA}},
		RemainingDiscoverableCredentials: &remaining,
		ForcePINChange:                   true,
	}
	info, err := mds.GetInfoFromCTAP(resp)
	require.NoError(t, err)
	resp.Versions[0] = "changed"
	resp.Options["rk"] = false
	require.Equal(t, []string{"FIDO_2_0"}, info.Versions, "GetInfoFromCTAP shares the versions slice")
	require.Equal(t, map[string]bool{"rk": true}, info.Options, "GetInfoFromCTAP shares the options map")
	out, err := json.Marshal(info)
	require.NoError(t, err)
	require.JSONEq(t, `{"versions":["FIDO_2_0"],"aaguid":"11111111222243338444555555555555","options":{"rk":true},"algorithms":[{"type":"public-key","alg":-8}]}`, string(out),
		"per-device state (remainingDiscoverableCredentials, forcePINChange) is not model metadata")

	_, err = mds.GetInfoFromCTAP(&ctap2.GetInfoResponse{AAGUID: []byte{1, 2, 3}})
	require.EqualError(t, err, "mds: converting getInfo: aaguid of 3 bytes, want 16")
}

// TestAAGUIDText round-trips AAGUIDs and refuses what is not a UUID.
func TestAAGUIDText(t *testing.T) {
	g := mustAAGUID(t, strings.ToUpper(certifiedAAGUID))
	require.Equal(t, certifiedAAGUID, g.String())
	var h mds.AAGUID
	require.NoError(t, h.UnmarshalText([]byte(strings.ReplaceAll(certifiedAAGUID, "-", ""))))
	require.Equal(t, g, h)
	require.Error(t, h.UnmarshalText([]byte("not-a-uuid")))
	require.Error(t, h.UnmarshalText([]byte("1111")))
}

// TestParseStatus knows every status and refuses others.
func TestParseStatus(t *testing.T) {
	for _, s := range mds.Statuses() {
		got, err := mds.ParseStatus(string(s))
		require.NoError(t, err)
		require.Equal(t, s, got)
		require.False(t, metadata.IsUndesiredAuthenticatorStatus(metadata.AuthenticatorStatus(s)) && !undesired(s),
			"%s is undesired to go-webauthn but not here", s)
	}
	_, err := mds.ParseStatus("revoked")
	require.ErrorContains(t, err, `unknown authenticator status "revoked"`)
}

// undesired lists the statuses the package doc says relying parties refuse.
func undesired(s mds.Status) bool {
	switch s {
	case mds.StatusUserVerificationBypass, mds.StatusAttestationKeyCompromise, mds.StatusUserKeyRemoteCompromise,
		mds.StatusUserKeyPhysicalCompromise, mds.StatusRevoked, mds.StatusRetired:
		return true
	}
	return false
}

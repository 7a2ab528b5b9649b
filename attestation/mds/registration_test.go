package mds_test

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/ctap2"
)

const (
	rpID   = "example.test"
	origin = "https://example.test"
)

var b64url = base64.RawURLEncoding

// account is a user of the relying party.
type account struct {
	credentials []webauthn.Credential
}

func (a *account) WebAuthnID() []byte                         { return []byte("user-alice") }
func (a *account) WebAuthnName() string                       { return "alice" }
func (a *account) WebAuthnDisplayName() string                { return "Alice" }
func (a *account) WebAuthnCredentials() []webauthn.Credential { return a.credentials }

// key is a minimal hardware key of one model: a batch attestation key and
// certificate, and the credentials it made. It speaks WebAuthn's JSON
// directly, standing in for authenticator and browser together, so that
// this package's tests need nothing of softkey's engine.
type key struct {
	aaguid mds.AAGUID
	batch  *issued
	creds  map[string]*ecdsa.PrivateKey
	count  uint32
}

// clientData is CollectedClientData (WebAuthn L3 §5.8.1).
func clientData(t *testing.T, typ string, challenge []byte) []byte {
	t.Helper()
	out, err := json.Marshal(map[string]any{"type": typ, "challenge": b64url.EncodeToString(challenge), "origin": origin, "crossOrigin": false})
	require.NoError(t, err)
	return out
}

// register answers creation options with a packed attestation whose x5c
// is the batch certificate (WebAuthn L3 §8.2), as a browser posts it.
func (k *key) register(t *testing.T, challenge []byte) []byte {
	t.Helper()
	credKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	credID := make([]byte, 32)
	_, err = rand.Read(credID)
	require.NoError(t, err)
	if k.creds == nil {
		k.creds = map[string]*ecdsa.PrivateKey{}
	}
	k.creds[string(credID)] = credKey

	cose, err := ctap2.MarshalCOSEKey(ctap2.AlgES256, &credKey.PublicKey)
	require.NoError(t, err)
	authData, err := (&ctap2.AuthData{
		RPIDHash: ctap2.RPIDHash(rpID),
		Flags:    ctap2.FlagUP,
		Attested: &ctap2.AttestedCredential{AAGUID: k.aaguid, CredentialID: credID, PublicKey: cose},
	}).Marshal()
	require.NoError(t, err)
	cdj := clientData(t, "webauthn.create", challenge)
	cdh := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte(nil), authData...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, k.batch.key, digest[:])
	require.NoError(t, err)
	attObj, err := ctap2.Marshal(struct {
		Format  string `cbor:"fmt"`
		AttStmt struct {
			Alg ctap2.Alg `cbor:"alg"`
			Sig []byte    `cbor:"sig"`
			X5C [][]byte  `cbor:"x5c"`
		} `cbor:"attStmt"`
		AuthData []byte `cbor:"authData"`
	}{Format: "packed", AttStmt: struct {
		Alg ctap2.Alg `cbor:"alg"`
		Sig []byte    `cbor:"sig"`
		X5C [][]byte  `cbor:"x5c"`
	}{ctap2.AlgES256, sig, [][]byte{k.batch.cert.Raw}}, AuthData: authData})
	require.NoError(t, err)

	body, err := json.Marshal(map[string]any{
		"id":    b64url.EncodeToString(credID),
		"rawId": b64url.EncodeToString(credID),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64url.EncodeToString(cdj),
			"attestationObject": b64url.EncodeToString(attObj),
			"transports":        []string{"usb"},
		},
		"authenticatorAttachment": "cross-platform",
		"clientExtensionResults":  map[string]any{},
	})
	require.NoError(t, err)
	return body
}

// assert answers request options for credential id.
func (k *key) assert(t *testing.T, id, challenge []byte) []byte {
	t.Helper()
	credKey := k.creds[string(id)]
	require.NotNil(t, credKey, "no credential %x", id)
	k.count++
	authData, err := (&ctap2.AuthData{RPIDHash: ctap2.RPIDHash(rpID), Flags: ctap2.FlagUP, SignCount: k.count}).Marshal()
	require.NoError(t, err)
	cdj := clientData(t, "webauthn.get", challenge)
	cdh := sha256.Sum256(cdj)
	digest := sha256.Sum256(append(append([]byte(nil), authData...), cdh[:]...))
	sig, err := ecdsa.SignASN1(rand.Reader, credKey, digest[:])
	require.NoError(t, err)
	body, err := json.Marshal(map[string]any{
		"id":    b64url.EncodeToString(id),
		"rawId": b64url.EncodeToString(id),
		"type":  "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64url.EncodeToString(cdj),
			"authenticatorData": b64url.EncodeToString(authData),
			"signature":         b64url.EncodeToString(sig),
		},
		"authenticatorAttachment": "cross-platform",
		"clientExtensionResults":  map[string]any{},
	})
	require.NoError(t, err)
	return body
}

// relyingParty is go-webauthn configured with a metadata provider built
// from a BLOB, the way a server loads the FIDO MDS.
func relyingParty(t *testing.T, blob string, root *issued, opts ...memory.Option) *webauthn.WebAuthn {
	t.Helper()
	md, err := decode(t, blob, root)
	require.NoError(t, err, "go-webauthn refused the BLOB")
	provider, err := memory.New(append([]memory.Option{memory.WithMetadata(md.ToMap())}, opts...)...)
	require.NoError(t, err)
	wa, err := webauthn.New(&webauthn.Config{RPID: rpID, RPDisplayName: "Example", RPOrigins: []string{origin}, MDS: provider})
	require.NoError(t, err)
	return wa
}

// registerWith runs a registration ceremony of k at wa.
func registerWith(t *testing.T, wa *webauthn.WebAuthn, k *key, user *account) (*webauthn.Credential, error) {
	t.Helper()
	creation, session, err := wa.BeginRegistration(user, webauthn.WithConveyancePreference(protocol.PreferDirectAttestation))
	require.NoError(t, err)
	body := k.register(t, creation.Response.Challenge)
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	require.NoError(t, err)
	return wa.CreateCredential(user, *session, parsed)
}

// loginWith runs an authentication ceremony of k at wa.
func loginWith(t *testing.T, wa *webauthn.WebAuthn, k *key, user *account) (*webauthn.Credential, error) {
	t.Helper()
	assertion, session, err := wa.BeginLogin(user)
	require.NoError(t, err)
	body := k.assert(t, user.credentials[0].ID, assertion.Response.Challenge)
	req := httptest.NewRequest(http.MethodPost, origin+"/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return wa.FinishLogin(user, *session, req)
}

// protocolError unwraps go-webauthn's error for its type and texts.
func protocolError(t *testing.T, err error) *protocol.Error {
	t.Helper()
	require.Error(t, err, "go-webauthn accepted what it must refuse")
	var perr *protocol.Error
	require.True(t, errors.As(err, &perr), "error is not a *protocol.Error: %v", err)
	t.Logf("go-webauthn refused: %s [type %s; info: %s]", perr.Details, perr.Type, perr.DevInfo)
	return perr
}

// TestRegistrationByStatus registers a packed-attested credential at a
// go-webauthn relying party whose metadata comes from a BLOB minted here,
// once per current status of the model. go-webauthn's memory provider
// checks status by default and refuses REVOKED and the compromise
// statuses; certified and not-certified models register as basic_full,
// chained to the statement's attestation root.
func TestRegistrationByStatus(t *testing.T) {
	pki := newMDSPKI(t)
	attRoot := newCA(t, "softkey test attestation root", nil)
	aaguid := mustAAGUID(t, certifiedAAGUID)
	nextUpdate := time.Now().AddDate(0, 1, 0)

	tests := []struct {
		status mds.Status
		// refused is the status go-webauthn names, or "" when it must
		// accept the registration.
		refused string
	}{
		{mds.StatusFIDOCertifiedL1, ""},
		{mds.StatusNotFIDOCertified, ""},
		{mds.StatusUpdateAvailable, ""},
		{mds.StatusRevoked, "REVOKED"},
		{mds.StatusAttestationKeyCompromise, "ATTESTATION_KEY_COMPROMISE"},
		{mds.StatusUserVerificationBypass, "USER_VERIFICATION_BYPASS"},
		{mds.StatusUserKeyRemoteCompromise, "USER_KEY_REMOTE_COMPROMISE"},
		{mds.StatusUserKeyPhysicalCompromise, "USER_KEY_PHYSICAL_COMPROMISE"},
		{mds.StatusRetired, "RETIRED"},
	}
	for _, tc := range tests {
		t.Run(string(tc.status), func(t *testing.T) {
			entry := entryFor(t, aaguid, "Status Test Key", attRoot, mds.StatusReport{Status: tc.status, EffectiveDate: testNow})
			blob, err := mds.EncodeBLOB([]mds.Entry{entry}, 1, nextUpdate, pki.signer.key, pki.chain())
			require.NoError(t, err)
			wa := relyingParty(t, blob, pki.root)
			k := &key{aaguid: aaguid, batch: newBatch(t, attRoot, aaguid)}

			cred, err := registerWith(t, wa, k, &account{})
			if tc.refused == "" {
				require.NoError(t, err, "go-webauthn refused a %s model", tc.status)
				require.Equal(t, string(metadata.BasicFull), cred.AttestationType)
				require.Equal(t, "packed", cred.AttestationFormat)
				require.Equal(t, aaguid[:], cred.Authenticator.AAGUID)
				return
			}
			perr := protocolError(t, err)
			require.Equal(t, "invalid_attestation", perr.Type)
			require.Equal(t, "Failed to validate authenticator metadata for Authenticator Attestation GUID '"+certifiedAAGUID+
				"'. Error occurred validating the authenticator status: The following undesired status reports were present: "+tc.refused,
				perr.Details)
		})
	}
}

// TestRegistrationStatusCheckOff: a relying party that turns status checks
// off registers a REVOKED model; the check is the provider's.
func TestRegistrationStatusCheckOff(t *testing.T) {
	pki := newMDSPKI(t)
	attRoot := newCA(t, "softkey test attestation root", nil)
	aaguid := mustAAGUID(t, revokedAAGUID)
	entry := entryFor(t, aaguid, "Revoked Key", attRoot, mds.StatusReport{Status: mds.StatusRevoked, EffectiveDate: testNow})
	blob, err := mds.EncodeBLOB([]mds.Entry{entry}, 1, time.Now().AddDate(0, 1, 0), pki.signer.key, pki.chain())
	require.NoError(t, err)
	k := &key{aaguid: aaguid, batch: newBatch(t, attRoot, aaguid)}

	_, err = registerWith(t, relyingParty(t, blob, pki.root), k, &account{})
	protocolError(t, err)
	cred, err := registerWith(t, relyingParty(t, blob, pki.root, memory.WithValidateStatus(false)), k, &account{})
	require.NoError(t, err, "status checks off")
	require.Equal(t, string(metadata.BasicFull), cred.AttestationType)
}

// TestRegistrationStrictMetadata turns on every extended check of
// go-webauthn's memory provider (AAGUID in entry, statement and getInfo;
// attestation format; credential algorithm; backup flags; user
// verification): a statement built from the model's getInfo passes them
// all.
func TestRegistrationStrictMetadata(t *testing.T) {
	pki := newMDSPKI(t)
	attRoot := newCA(t, "softkey test attestation root", nil)
	aaguid := mustAAGUID(t, certifiedAAGUID)
	entry := entryFor(t, aaguid, "Certified Key", attRoot, mds.StatusReport{Status: mds.StatusFIDOCertifiedL1, EffectiveDate: testNow})
	blob, err := mds.EncodeBLOB([]mds.Entry{entry}, 1, time.Now().AddDate(0, 1, 0), pki.signer.key, pki.chain())
	require.NoError(t, err)
	wa := relyingParty(t, blob, pki.root,
		memory.WithValidateAAGUID(true),
		memory.WithValidateAttestationFormats(true),
		memory.WithValidateAlgorithms(true),
		memory.WithValidateBackupEligibility(true),
		memory.WithValidateUserVerification(true),
		memory.WithStatusDesired([]metadata.AuthenticatorStatus{metadata.FidoCertifiedL1}),
	)
	k := &key{aaguid: aaguid, batch: newBatch(t, attRoot, aaguid)}
	cred, err := registerWith(t, wa, k, &account{})
	require.NoError(t, err, "strict metadata checks")
	require.Equal(t, string(metadata.BasicFull), cred.AttestationType)

	// A batch certificate from a root the statement does not list.
	other := newCA(t, "someone else's attestation root", nil)
	k = &key{aaguid: aaguid, batch: newBatch(t, other, aaguid)}
	_, err = registerWith(t, wa, k, &account{})
	perr := protocolError(t, err)
	require.Equal(t, "invalid_attestation", perr.Type)
	require.Equal(t, "Error occurred validating metadata during attestation validation: Failed to validate attestation statement signature during attestation validation for Authenticator Attestation GUID '"+certifiedAAGUID+
		"'. The attestation certificate could not be verified due to an error validating the trust chain against the Metadata Service.", perr.DevInfo)
}

// TestLoginAfterRevocation: a credential registered while its model was
// certified can no longer sign in once a newer BLOB (no+1) reports the
// model REVOKED; go-webauthn checks the stored credential's model at
// every login.
func TestLoginAfterRevocation(t *testing.T) {
	pki := newMDSPKI(t)
	attRoot := newCA(t, "softkey test attestation root", nil)
	aaguid := mustAAGUID(t, certifiedAAGUID)
	nextUpdate := time.Now().AddDate(0, 1, 0)
	certified := mds.StatusReport{Status: mds.StatusFIDOCertifiedL1, EffectiveDate: testNow.AddDate(0, -1, 0)}

	blob1, err := mds.EncodeBLOB([]mds.Entry{entryFor(t, aaguid, "Key", attRoot, certified)}, 1, nextUpdate, pki.signer.key, pki.chain())
	require.NoError(t, err)
	k := &key{aaguid: aaguid, batch: newBatch(t, attRoot, aaguid)}
	user := &account{}
	wa := relyingParty(t, blob1, pki.root)
	cred, err := registerWith(t, wa, k, user)
	require.NoError(t, err)
	user.credentials = append(user.credentials, *cred)
	_, err = loginWith(t, wa, k, user)
	require.NoError(t, err, "login while certified")

	revoked := entryFor(t, aaguid, "Key", attRoot, certified, mds.StatusReport{Status: mds.StatusRevoked, EffectiveDate: testNow})
	blob2, err := mds.EncodeBLOB([]mds.Entry{revoked}, 2, nextUpdate, pki.signer.key, pki.chain())
	require.NoError(t, err)
	_, err = loginWith(t, relyingParty(t, blob2, pki.root), k, user)
	perr := protocolError(t, err)
	require.Equal(t, "invalid_request", perr.Type)
	require.Equal(t, "Failed to validate credential record metadata", perr.Details)
	require.Equal(t, "Failed to validate authenticator metadata for Authenticator Attestation GUID '"+certifiedAAGUID+
		"'. Error occurred validating the authenticator status: The following undesired status reports were present: REVOKED", perr.DevInfo)
}

package testvectors

import (
	"bytes"
	"context"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/webauthntest"
)

// rpUser is an account at the relying party.
type rpUser struct {
	id          []byte
	name        string
	credentials []webauthn.Credential
}

func (u *rpUser) WebAuthnID() []byte                         { return u.id }
func (u *rpUser) WebAuthnName() string                       { return u.name }
func (u *rpUser) WebAuthnDisplayName() string                { return u.name }
func (u *rpUser) WebAuthnCredentials() []webauthn.Credential { return u.credentials }

// updateCredential stores what a login returned in place of the old record.
func (u *rpUser) updateCredential(t *testing.T, c *webauthn.Credential) {
	t.Helper()
	for i := range u.credentials {
		if bytes.Equal(u.credentials[i].ID, c.ID) {
			u.credentials[i] = *c
			return
		}
	}
	t.Fatalf("user %s has no credential %x", u.name, c.ID)
}

// relyingParty is a go-webauthn relying party for the W3C vectors' RP ID
// and origin, with deterministic challenges.
type relyingParty struct {
	*webauthn.WebAuthn
	challenges int
}

func newRelyingParty(t *testing.T, mds metadata.Provider) *relyingParty {
	t.Helper()
	wa, err := webauthn.New(&webauthn.Config{
		RPID:          w3cRPID,
		RPDisplayName: "Example Relying Party",
		RPOrigins:     []string{w3cOrigin},
		MDS:           mds,
	})
	require.NoError(t, err, "webauthn.New")
	return &relyingParty{WebAuthn: wa}
}

// challenge returns the next of a fixed sequence of 32-byte challenges, in
// place of go-webauthn's random ones, so that runs repeat exactly.
func (rp *relyingParty) challenge() []byte {
	rp.challenges++
	h := sha256.Sum256([]byte{'c', byte(rp.challenges)})
	return h[:]
}

// beginRegistration asks for direct attestation with a credential of alg.
// It returns the options JSON the page hands to the browser.
func (rp *relyingParty) beginRegistration(t *testing.T, user *rpUser, alg ctap2.Alg, opts ...webauthn.RegistrationOption) ([]byte, *webauthn.SessionData) {
	t.Helper()
	challenge := rp.challenge()
	opts = append([]webauthn.RegistrationOption{
		webauthn.WithConveyancePreference(protocol.PreferDirectAttestation),
		webauthn.WithCredentialParameters([]protocol.CredentialParameter{
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.COSEAlgorithmIdentifier(alg)},
		}),
		func(o *protocol.PublicKeyCredentialCreationOptions) error {
			o.Challenge = challenge
			return nil
		},
	}, opts...)
	creation, session, err := rp.BeginRegistration(user, opts...)
	require.NoError(t, err, "BeginRegistration")
	optionsJSON, err := json.Marshal(creation)
	require.NoError(t, err)
	return optionsJSON, session
}

// finishRegistration parses the browser's JSON and verifies it
// (WebAuthn L3 §7.1).
func (rp *relyingParty) finishRegistration(t *testing.T, user *rpUser, session *webauthn.SessionData, body []byte) (*webauthn.Credential, error) {
	t.Helper()
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	return rp.CreateCredential(user, *session, parsed)
}

// register runs a whole registration ceremony that must succeed, and adds
// the credential to the user's account.
func (rp *relyingParty) register(t *testing.T, b *webauthntest.Browser, user *rpUser, alg ctap2.Alg, opts ...webauthn.RegistrationOption) (*webauthn.Credential, *webauthntest.Registration) {
	t.Helper()
	optionsJSON, session := rp.beginRegistration(t, user, alg, opts...)
	reg := create(t, b, optionsJSON)
	cred, err := rp.finishRegistration(t, user, session, toJSON(t, reg))
	require.NoError(t, err, "go-webauthn refused the registration: %s", webauthntest.Describe(err))
	user.credentials = append(user.credentials, *cred)
	return cred, reg
}

// beginLogin starts an authentication ceremony for a known user: the
// options allow the user's credentials.
func (rp *relyingParty) beginLogin(t *testing.T, user *rpUser) ([]byte, *webauthn.SessionData) {
	t.Helper()
	assertion, session, err := rp.BeginLogin(user, webauthn.WithChallenge(rp.challenge()))
	require.NoError(t, err, "BeginLogin")
	optionsJSON, err := json.Marshal(assertion)
	require.NoError(t, err)
	return optionsJSON, session
}

// finishLogin posts the browser's JSON to go-webauthn's HTTP entry point
// (WebAuthn L3 §7.2).
func (rp *relyingParty) finishLogin(t *testing.T, user *rpUser, session *webauthn.SessionData, body []byte) (*webauthn.Credential, error) {
	t.Helper()
	req := httptest.NewRequest(http.MethodPost, "https://example.org/login/finish", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	return rp.FinishLogin(user, *session, req)
}

// requireRejected checks that go-webauthn refused, for the reason wanted:
// its error has the type wantType and wantText in its details or info.
func requireRejected(t *testing.T, err error, wantType, wantText string) {
	t.Helper()
	require.Error(t, err, "go-webauthn accepted what it must refuse")
	var perr *protocol.Error
	require.True(t, errors.As(err, &perr), "error is not a *protocol.Error: %v", err)
	require.Equal(t, wantType, perr.Type, "error type; the error was %s", webauthntest.Describe(err))
	require.Contains(t, perr.Details+" "+perr.DevInfo, wantText, "error reason; the error was %s", webauthntest.Describe(err))
	t.Logf("refused as it must be: %s", webauthntest.Describe(err))
}

// batchRoot returns the root certificate of the engine's batch attestation
// chain, the trust anchor a relying party gets from metadata.
func batchRoot(t *testing.T, mem *store.Memory) *x509.Certificate {
	t.Helper()
	dev, err := mem.Device()
	require.NoError(t, err, "reading the engine's device secrets")
	require.NotEmpty(t, dev.AttestationChain, "the engine has no batch attestation chain")
	root, err := x509.ParseCertificate(dev.AttestationChain[len(dev.AttestationChain)-1])
	require.NoError(t, err)
	require.True(t, root.IsCA, "the last certificate of the batch chain is not a CA")
	return root
}

// metadataFor is a metadata provider with one entry: the model aaguid,
// basic full attestation, trust anchor root. The memory provider's defaults
// stay on: entry required, trust anchor, status and attestation types
// checked.
func metadataFor(t *testing.T, aaguid authenticator.AAGUID, root *x509.Certificate) metadata.Provider {
	t.Helper()
	mds, err := webauthntest.Metadata(aaguid, "softkey (test metadata)", metadata.BasicFull, root)
	require.NoError(t, err, "building the metadata provider")
	return mds
}

// TestGoWebAuthnCeremonies registers a credential of each algorithm under
// each attestation mode of the profile with go-webauthn as the relying
// party, then signs in twice, and checks what go-webauthn recorded: the
// attestation type and format, the AAGUID, the credential ID and public key
// the browser saw, and a signature counter that goes up with every login.
// Full (packed x5c) attestation is verified against the engine's batch root
// through go-webauthn's metadata provider.
func TestGoWebAuthnCeremonies(t *testing.T) {
	modes := []struct {
		attestation string
		wantType    metadata.AuthenticatorAttestationType
		wantFormat  string
		trustRoot   bool
	}{
		{authenticator.AttestationPacked, metadata.BasicFull, attestation.FormatPacked, true},
		{authenticator.AttestationSelf, metadata.BasicSurrogate, attestation.FormatPacked, false},
		{authenticator.AttestationNone, metadata.None, attestation.FormatNone, false},
	}
	algs := []ctap2.Alg{ctap2.AlgES256, ctap2.AlgEdDSA, ctap2.AlgRS256}
	for _, mode := range modes {
		for _, alg := range algs {
			t.Run(mode.attestation+"/"+alg.String(), func(t *testing.T) {
				profile := authenticator.DefaultProfile()
				profile.Attestation = mode.attestation
				key, mem := newSoftkey(t, profile)
				var mds metadata.Provider
				if mode.trustRoot {
					mds = metadataFor(t, profile.AAGUID, batchRoot(t, mem))
				}
				rp := newRelyingParty(t, mds)
				b := newBrowser(key, w3cOrigin)
				user := &rpUser{id: []byte("user-alice"), name: "alice"}

				cred, reg := rp.register(t, b, user, alg)
				require.Equal(t, string(mode.wantType), cred.AttestationType, "attestation type go-webauthn reports")
				require.Equal(t, mode.wantFormat, cred.AttestationFormat, "attestation format")
				require.Equal(t, profile.AAGUID[:], cred.Authenticator.AAGUID, "AAGUID go-webauthn recorded")
				require.Equal(t, reg.CredentialID, cred.ID, "credential ID")
				require.Equal(t, reg.AuthData.Attested.PublicKey, cred.PublicKey, "credential public key")
				gotAlg, _, err := ctap2.ParseCOSEKey(cred.PublicKey)
				require.NoError(t, err)
				require.Equal(t, alg, gotAlg, "algorithm of the registered key")
				require.True(t, cred.Flags.UserPresent, "UP at registration")
				require.Zero(t, cred.Authenticator.SignCount, "signature counter at registration")

				last := cred.Authenticator.SignCount
				for i := range 2 {
					optionsJSON, session := rp.beginLogin(t, user)
					assertions := get(t, b, optionsJSON)
					require.Len(t, assertions, 1, "assertions for an allow list of one")
					got, err := rp.finishLogin(t, user, session, toJSON(t, assertions[0]))
					require.NoError(t, err, "login %d: go-webauthn refused the assertion: %s", i+1, webauthntest.Describe(err))
					require.Equal(t, cred.ID, got.ID, "login %d: credential", i+1)
					require.False(t, got.Authenticator.CloneWarning, "login %d: go-webauthn suspects a cloned authenticator", i+1)
					require.Greater(t, got.Authenticator.SignCount, last, "login %d: signature counter did not increase", i+1)
					last = got.Authenticator.SignCount
					user.updateCredential(t, got)
				}
			})
		}
	}
}

// TestGoWebAuthnDiscoverableLogin registers two discoverable credentials
// (rk) for two accounts on one key, then signs in without naming an account:
// the options carry an empty allow list, the browser collects both
// credentials with getAssertion and getNextAssertion, and go-webauthn's
// discoverable login finds each account from the user handle.
func TestGoWebAuthnDiscoverableLogin(t *testing.T) {
	profile := authenticator.DefaultProfile()
	key, mem := newSoftkey(t, profile)
	rp := newRelyingParty(t, metadataFor(t, profile.AAGUID, batchRoot(t, mem)))
	b := newBrowser(key, w3cOrigin)
	users := map[string]*rpUser{
		"user-alice": {id: []byte("user-alice"), name: "alice"},
		"user-bob":   {id: []byte("user-bob"), name: "bob"},
	}
	for _, id := range []string{"user-alice", "user-bob"} {
		cred, _ := rp.register(t, b, users[id], ctap2.AlgES256,
			webauthn.WithResidentKeyRequirement(protocol.ResidentKeyRequirementRequired))
		require.Equal(t, string(metadata.BasicFull), cred.AttestationType)
	}
	n, err := mem.CountCredentials()
	require.NoError(t, err)
	require.Equal(t, 2, n, "discoverable credentials stored in the engine")

	assertion, session, err := rp.BeginDiscoverableLogin(webauthn.WithChallenge(rp.challenge()))
	require.NoError(t, err, "BeginDiscoverableLogin")
	require.Empty(t, assertion.Response.AllowedCredentials, "discoverable login options carry an allow list")
	optionsJSON, err := json.Marshal(assertion)
	require.NoError(t, err)

	assertions := get(t, b, optionsJSON)
	require.Len(t, assertions, 2, "assertions offered without an allow list")
	handler := func(_, userHandle []byte) (webauthn.User, error) {
		u, ok := users[string(userHandle)]
		if !ok {
			return nil, errors.New("no such user")
		}
		return u, nil
	}
	seen := map[string]bool{}
	for _, a := range assertions {
		require.NotEmpty(t, a.UserHandle, "discoverable assertion without a user handle")
		parsed, err := protocol.ParseCredentialRequestResponseBody(bytes.NewReader(toJSON(t, a)))
		require.NoError(t, err, "parsing the assertion: %s", webauthntest.Describe(err))
		user, cred, err := rp.ValidatePasskeyLogin(handler, *session, parsed)
		require.NoError(t, err, "go-webauthn refused the discoverable assertion for %q: %s", a.UserHandle, webauthntest.Describe(err))
		u := user.(*rpUser)
		require.Equal(t, a.UserHandle, u.id, "account go-webauthn found")
		require.Equal(t, u.credentials[0].ID, cred.ID, "credential go-webauthn found")
		require.Equal(t, uint32(1), cred.Authenticator.SignCount, "signature counter of the first login")
		seen[u.name] = true
	}
	require.Equal(t, map[string]bool{"alice": true, "bob": true}, seen, "accounts signed in")
}

// TestGoWebAuthnRejects checks that go-webauthn refuses the responses it
// must refuse, each for the right reason: a corrupted signature, another
// origin, authenticator data for another RP ID, a replayed assertion, and
// an attestation chain the metadata does not trust.
func TestGoWebAuthnRejects(t *testing.T) {
	profile := authenticator.DefaultProfile()

	// setup returns a key with one registered ES256 credential.
	setup := func(t *testing.T) (*relyingParty, *webauthntest.Browser, *rpUser) {
		t.Helper()
		key, mem := newSoftkey(t, profile)
		rp := newRelyingParty(t, metadataFor(t, profile.AAGUID, batchRoot(t, mem)))
		b := newBrowser(key, w3cOrigin)
		user := &rpUser{id: []byte("user-alice"), name: "alice"}
		rp.register(t, b, user, ctap2.AlgES256)
		return rp, b, user
	}

	t.Run("assertion signature with a flipped bit", func(t *testing.T) {
		rp, b, user := setup(t)
		optionsJSON, session := rp.beginLogin(t, user)
		a := get(t, b, optionsJSON)[0]
		a.Signature[len(a.Signature)/2] ^= 0x10
		_, err := rp.finishLogin(t, user, session, toJSON(t, a))
		requireRejected(t, err, "invalid_signature", "Error validating the assertion signature")
	})

	t.Run("assertion from another origin", func(t *testing.T) {
		rp, b, user := setup(t)
		optionsJSON, session := rp.beginLogin(t, user)
		b.Origin = "https://evil.example"
		a := get(t, b, optionsJSON)[0]
		_, err := rp.finishLogin(t, user, session, toJSON(t, a))
		requireRejected(t, err, "verification_error", "Error validating origin")
	})

	t.Run("registration from another origin", func(t *testing.T) {
		rp, b, _ := setup(t)
		user := &rpUser{id: []byte("user-bob"), name: "bob"}
		optionsJSON, session := rp.beginRegistration(t, user, ctap2.AlgES256)
		b.Origin = "https://example.org.evil.example"
		reg := create(t, b, optionsJSON)
		_, err := rp.finishRegistration(t, user, session, toJSON(t, reg))
		requireRejected(t, err, "verification_error", "Error validating origin")
	})

	t.Run("registration with authenticator data for another RP ID", func(t *testing.T) {
		// A client that lies about the RP: the authenticator makes a
		// correctly attested credential for evil.example, and the relying
		// party must notice from rpIdHash alone.
		rp, b, _ := setup(t)
		user := &rpUser{id: []byte("user-bob"), name: "bob"}
		optionsJSON, session := rp.beginRegistration(t, user, ctap2.AlgES256)
		b.RPID = "evil.example"
		reg := create(t, b, optionsJSON)
		wantHash := ctap2.RPIDHash("evil.example")
		require.Equal(t, wantHash, reg.AuthData.RPIDHash, "the engine did not bind the credential to the RP ID it was given")
		_, err := rp.finishRegistration(t, user, session, toJSON(t, reg))
		requireRejected(t, err, "verification_error", "RP Hash mismatch")
	})

	t.Run("assertion with authenticator data for another RP ID", func(t *testing.T) {
		rp, b, user := setup(t)
		optionsJSON, session := rp.beginLogin(t, user)

		// The engine refuses to use an example.org credential for another
		// RP: credential IDs are bound to the RP ID hash.
		var opts struct {
			PublicKey struct {
				Challenge protocol.URLEncodedBase64 `json:"challenge"`
			} `json:"publicKey"`
		}
		require.NoError(t, json.Unmarshal(optionsJSON, &opts))
		cdh := sha256.Sum256(b.ClientData("webauthn.get", opts.PublicKey.Challenge))
		var resp ctap2.GetAssertionResponse
		err := b.Do(context.Background(), ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
			RPID:           "evil.example",
			ClientDataHash: cdh[:],
			AllowList:      []ctap2.CredentialDescriptor{{Type: ctap2.PublicKeyCredentialType, ID: user.credentials[0].ID}},
		}, &resp)
		require.ErrorIs(t, err, ctap2.ErrNoCredentials, "getAssertion for evil.example with an example.org credential")

		// Authenticator data whose rpIdHash names another RP is refused.
		a := get(t, b, optionsJSON)[0]
		other := ctap2.RPIDHash("evil.example")
		copy(a.AuthenticatorData, other[:])
		_, err = rp.finishLogin(t, user, session, toJSON(t, a))
		requireRejected(t, err, "verification_error", "RP Hash mismatch")
	})

	t.Run("replayed assertion", func(t *testing.T) {
		rp, b, user := setup(t)
		optionsJSON, session := rp.beginLogin(t, user)
		a := get(t, b, optionsJSON)[0]
		got, err := rp.finishLogin(t, user, session, toJSON(t, a))
		require.NoError(t, err, "first use: %s", webauthntest.Describe(err))
		user.updateCredential(t, got)
		_, session = rp.beginLogin(t, user)
		_, err = rp.finishLogin(t, user, session, toJSON(t, a))
		requireRejected(t, err, "verification_error", "Error validating challenge")
	})

	t.Run("attestation chain not trusted by metadata", func(t *testing.T) {
		key, _ := newSoftkey(t, profile)
		other, err := attestation.NewBatch(rand.NewChaCha8([32]byte{'o', 't', 'h', 'e', 'r'}), testEpoch, profile.AAGUID, "someone else")
		require.NoError(t, err)
		rp := newRelyingParty(t, metadataFor(t, profile.AAGUID, other.Root()))
		b := newBrowser(key, w3cOrigin)
		user := &rpUser{id: []byte("user-alice"), name: "alice"}
		optionsJSON, session := rp.beginRegistration(t, user, ctap2.AlgES256)
		reg := create(t, b, optionsJSON)
		_, err = rp.finishRegistration(t, user, session, toJSON(t, reg))
		requireRejected(t, err, "invalid_attestation", "error validating the trust chain against the Metadata Service")
	})
}

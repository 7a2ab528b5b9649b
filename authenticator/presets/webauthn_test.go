package presets_test

import (
	"bytes"
	"crypto/x509"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/presets"
	"github.com/softkeydev/softkey/testvectors/webauthntest"
)

const (
	rpID   = "example.org"
	origin = "https://example.org"
)

// account is a user of the relying party.
type account struct{ credentials []webauthn.Credential }

func (a *account) WebAuthnID() []byte                         { return []byte("user-alice") }
func (a *account) WebAuthnName() string                       { return "alice" }
func (a *account) WebAuthnDisplayName() string                { return "Alice" }
func (a *account) WebAuthnCredentials() []webauthn.Credential { return a.credentials }

// expected is what go-webauthn must report for a preset's attestation mode.
func expected(t *testing.T, mode string) (attestationType metadata.AuthenticatorAttestationType, format string) {
	t.Helper()
	switch mode {
	case authenticator.AttestationPacked:
		return metadata.BasicFull, "packed"
	case authenticator.AttestationSelf:
		return metadata.BasicSurrogate, "packed"
	case authenticator.AttestationTPM:
		return metadata.AttCA, "tpm"
	case authenticator.AttestationNone:
		return metadata.None, "none"
	}
	t.Fatalf("no expectation for attestation mode %q", mode)
	return "", ""
}

// testMetadata is the metadata a relying party under test is given for a
// preset: one entry for its AAGUID, with its attestation type and, for
// packed full and tpm attestation, the root of testCA, which issues the
// engine's certificates, as trust anchor. It is test-only metadata: it
// trusts softkey's CA, not the vendor's. The memory provider's defaults
// stay on: entry required, trust anchor, status and attestation types
// checked.
func testMetadata(t *testing.T, p *authenticator.Profile, attestationType metadata.AuthenticatorAttestationType) metadata.Provider {
	t.Helper()
	var roots []*x509.Certificate
	if attestationType == metadata.BasicFull || attestationType == metadata.AttCA {
		roots = []*x509.Certificate{testCA(t).Root}
	}
	mds, err := webauthntest.Metadata(p.AAGUID, p.Name+" (softkey test metadata)", attestationType, roots...)
	require.NoError(t, err)
	return mds
}

// TestEveryPresetRegisters registers a credential with every preset at a
// go-webauthn relying party that requires metadata for each AAGUID, then
// signs in once. It checks what go-webauthn recorded against the preset:
// attestation type and format, AAGUID, the BE and BS flags, and a
// signature counter that stays zero or goes up as the preset's policy
// says (a global counter has already counted the registration).
func TestEveryPresetRegisters(t *testing.T) {
	for _, info := range presets.Infos() {
		t.Run(info.Name, func(t *testing.T) {
			p, err := presets.Get(info.Name)
			require.NoError(t, err)
			key, _ := newKey(t, p)
			wantType, wantFormat := expected(t, p.Attestation)
			wa, err := webauthn.New(&webauthn.Config{
				RPID:          rpID,
				RPDisplayName: "Example",
				RPOrigins:     []string{origin},
				MDS:           testMetadata(t, p, wantType),
			})
			require.NoError(t, err)
			c := newClient(key, origin, p.Transports)
			user := &account{}
			// The client asks for built-in UV whenever the key has it
			// ready (go-webauthn's userVerification is "preferred"): the
			// platforms, providers and phones, not a fingerprint key
			// without a finger.
			wantUV := getInfo(t, key).Options["uv"]
			require.Equal(t, p.UV && !p.BioEnroll && !p.BioEnrollPreview, wantUV, "getInfo option uv of a new key")

			// Registration, asking for the preset's preferred algorithm.
			creation, session, err := wa.BeginRegistration(user,
				webauthn.WithConveyancePreference(protocol.PreferDirectAttestation),
				webauthn.WithCredentialParameters([]protocol.CredentialParameter{
					{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.COSEAlgorithmIdentifier(p.Algorithms[0])},
				}))
			require.NoError(t, err)
			optionsJSON, err := json.Marshal(creation)
			require.NoError(t, err)
			parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(create(t, c, optionsJSON)))
			require.NoError(t, err, "parsing the registration: %v", err)
			cred, err := wa.CreateCredential(user, *session, parsed)
			require.NoError(t, err, "go-webauthn refused the registration: %s", webauthntest.Describe(err))

			require.Equal(t, string(wantType), cred.AttestationType, "attestation type")
			require.Equal(t, wantFormat, cred.AttestationFormat, "attestation format")
			require.Equal(t, p.AAGUID[:], cred.Authenticator.AAGUID, "AAGUID")
			require.True(t, cred.Flags.UserPresent, "UP")
			require.Equal(t, wantUV, cred.Flags.UserVerified, "UV at registration")
			require.Equal(t, p.BackupEligible, cred.Flags.BackupEligible, "BE")
			require.Equal(t, p.BackupState, cred.Flags.BackupState, "BS")
			if p.Counter == authenticator.CounterGlobal {
				// A global counter counts registrations too, as on a
				// YubiKey.
				require.Positive(t, cred.Authenticator.SignCount, "global signature counter at registration")
			} else {
				require.Zero(t, cred.Authenticator.SignCount, "signature counter at registration")
			}
			user.credentials = append(user.credentials, *cred)

			// One login.
			assertion, session, err := wa.BeginLogin(user)
			require.NoError(t, err)
			require.Len(t, assertion.Response.AllowedCredentials, 1, "this client signs in with one named credential")
			optionsJSON, err = json.Marshal(assertion)
			require.NoError(t, err)
			req := httptest.NewRequest(http.MethodPost, origin+"/login", bytes.NewReader(get(t, c, optionsJSON)))
			req.Header.Set("Content-Type", "application/json")
			got, err := wa.FinishLogin(user, *session, req)
			require.NoError(t, err, "go-webauthn refused the login: %s", webauthntest.Describe(err))
			require.False(t, got.Authenticator.CloneWarning, "go-webauthn suspects a cloned authenticator")
			require.Equal(t, p.BackupState, got.Flags.BackupState, "BS at login")
			require.Equal(t, wantUV, got.Flags.UserVerified, "UV at login")
			if p.Counter == authenticator.CounterZero {
				require.Zero(t, got.Authenticator.SignCount, "a zero-counter preset counted")
			} else {
				require.Greater(t, got.Authenticator.SignCount, cred.Authenticator.SignCount, "signature counter after a login")
			}
		})
	}
}

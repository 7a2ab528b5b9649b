package testvectors

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// testEpoch is the engine's clock. It lies in the past so that the batch
// certificates the engine issues (valid from an hour before its clock) are
// valid for a relying party that checks them against the real time.
var testEpoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// newSoftkey returns an in-process softkey on a memory store, with a seeded
// randomness source and a fixed clock, so that every run makes the same
// device secrets and credentials (RSA keys excepted: Go's RSA key
// generation ignores the given randomness).
func newSoftkey(t *testing.T, profile *authenticator.Profile) (*authenticator.Authenticator, *store.Memory) {
	t.Helper()
	mem := &store.Memory{}
	rnd := rand.NewChaCha8([32]byte{'s', 'o', 'f', 't', 'k', 'e', 'y'})
	a, err := authenticator.New(authenticator.Config{
		Profile: profile,
		Store:   mem,
		Keys:    keys.NewSoftware(rnd),
		Rand:    rnd,
		Now:     func() time.Time { return testEpoch },
	})
	require.NoError(t, err, "authenticator.New")
	return a, mem
}

// b64 is the base64url encoding without padding that WebAuthn's JSON forms
// use (WebAuthn L3 §5.1.8, Base64URLString).
var b64 = base64.RawURLEncoding

// browser plays the WebAuthn client between a relying party and an
// authenticator, the way a user agent does (WebAuthn L3 §5.1.3 and §5.1.4.1
// with CTAP 2.1 §6.1 and §6.2 as the authenticator protocol): it reads the
// relying party's options JSON, builds clientDataJSON, sends
// authenticatorMakeCredential or authenticatorGetAssertion to the
// authenticator and serializes the result as the JSON a browser's toJSON()
// gives the page.
//
// The browser uses nothing of the relying party's library, so that the two
// sides of each test are independent.
type browser struct {
	key *authenticator.Authenticator
	// origin is the caller's origin written into clientDataJSON.
	origin string
	// rpID, when set, replaces the RP ID of the options in what is sent to
	// the authenticator: a client that lies about the relying party.
	rpID string
}

// collectedClientData is CollectedClientData (WebAuthn L3 §5.8.1), with
// members in the order §5.8.1.1 serializes them.
type collectedClientData struct {
	Type        string `json:"type"`
	Challenge   string `json:"challenge"`
	Origin      string `json:"origin"`
	CrossOrigin bool   `json:"crossOrigin"`
}

// clientData returns clientDataJSON for a ceremony and challenge.
func (b *browser) clientData(t *testing.T, typ string, challenge []byte) []byte {
	t.Helper()
	data, err := json.Marshal(collectedClientData{Type: typ, Challenge: b64.EncodeToString(challenge), Origin: b.origin})
	require.NoError(t, err)
	return data
}

// send passes one CTAP2 command to the authenticator and decodes a
// successful answer into resp. It returns the status.
func (b *browser) send(t *testing.T, cmd ctap2.Command, req, resp any) ctap2.Status {
	t.Helper()
	msg := []byte{byte(cmd)}
	if req != nil {
		params, err := ctap2.Marshal(req)
		require.NoError(t, err)
		msg = append(msg, params...)
	}
	out := b.key.HandleCBOR(context.Background(), msg)
	require.NotEmpty(t, out, "%v: empty answer", cmd)
	status := ctap2.Status(out[0])
	if status == ctap2.StatusOK {
		require.NoError(t, ctap2.Unmarshal(out[1:], resp), "%v: decoding the answer", cmd)
	}
	return status
}

// decodeB64 decodes a base64url member of the options.
func decodeB64(t *testing.T, what, s string) []byte {
	t.Helper()
	v, err := b64.DecodeString(s)
	require.NoError(t, err, "%s %q is not base64url", what, s)
	return v
}

// descriptorJSON is PublicKeyCredentialDescriptorJSON (WebAuthn L3 §5.1.8).
type descriptorJSON struct {
	Type       string   `json:"type"`
	ID         string   `json:"id"`
	Transports []string `json:"transports,omitempty"`
}

// creationOptionsJSON is what a page gets from the relying party and passes
// to PublicKeyCredential.parseCreationOptionsFromJSON (WebAuthn L3 §5.1.8),
// inside the "publicKey" member of CredentialCreationOptions.
type creationOptionsJSON struct {
	PublicKey struct {
		RP struct {
			ID   string `json:"id"`
			Name string `json:"name"`
		} `json:"rp"`
		User struct {
			ID          string `json:"id"`
			Name        string `json:"name"`
			DisplayName string `json:"displayName"`
		} `json:"user"`
		Challenge        string `json:"challenge"`
		PubKeyCredParams []struct {
			Type string    `json:"type"`
			Alg  ctap2.Alg `json:"alg"`
		} `json:"pubKeyCredParams"`
		ExcludeCredentials     []descriptorJSON `json:"excludeCredentials"`
		AuthenticatorSelection struct {
			ResidentKey        string `json:"residentKey"`
			RequireResidentKey bool   `json:"requireResidentKey"`
			UserVerification   string `json:"userVerification"`
		} `json:"authenticatorSelection"`
		Attestation string `json:"attestation"`
	} `json:"publicKey"`
}

// registration is what navigator.credentials.create() resolves to.
type registration struct {
	credentialID      []byte
	clientDataJSON    []byte
	attestationObject []byte
	authData          *ctap2.AuthData // as parsed by the browser
}

// registrationResponseJSON is RegistrationResponseJSON (WebAuthn L3
// §5.1.8), what PublicKeyCredential.toJSON() gives for a registration.
type registrationResponseJSON struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string   `json:"clientDataJSON"`
		AuthenticatorData string   `json:"authenticatorData"`
		Transports        []string `json:"transports"`
		AttestationObject string   `json:"attestationObject"`
	} `json:"response"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
}

// JSON serializes the registration as a browser posts it.
func (r *registration) JSON(t *testing.T) []byte {
	t.Helper()
	var j registrationResponseJSON
	j.ID = b64.EncodeToString(r.credentialID)
	j.RawID = j.ID
	j.Type = ctap2.PublicKeyCredentialType
	j.Response.ClientDataJSON = b64.EncodeToString(r.clientDataJSON)
	var obj webauthnAttestationObject
	require.NoError(t, ctap2.Unmarshal(r.attestationObject, &obj))
	j.Response.AuthenticatorData = b64.EncodeToString(obj.AuthData)
	j.Response.Transports = []string{"usb"}
	j.Response.AttestationObject = b64.EncodeToString(r.attestationObject)
	j.AuthenticatorAttachment = "cross-platform"
	j.ClientExtensionResults = map[string]any{}
	out, err := json.Marshal(j)
	require.NoError(t, err)
	return out
}

// create runs navigator.credentials.create() with the relying party's
// options JSON (WebAuthn L3 §5.1.3) against the authenticator.
func (b *browser) create(t *testing.T, optionsJSON []byte) *registration {
	t.Helper()
	var opts creationOptionsJSON
	require.NoError(t, json.Unmarshal(optionsJSON, &opts), "parsing creation options")
	o := opts.PublicKey
	rpID := o.RP.ID
	if b.rpID != "" {
		rpID = b.rpID
	}
	clientDataJSON := b.clientData(t, "webauthn.create", decodeB64(t, "challenge", o.Challenge))
	clientDataHash := sha256.Sum256(clientDataJSON)

	// WebAuthn L3 §6.3.2 / CTAP 2.1 §6.1: the client's translation of the
	// options into authenticatorMakeCredential.
	req := ctap2.MakeCredentialRequest{
		ClientDataHash: clientDataHash[:],
		RP:             &ctap2.RPEntity{ID: rpID, Name: o.RP.Name},
		User: &ctap2.UserEntity{
			ID:          decodeB64(t, "user.id", o.User.ID),
			Name:        o.User.Name,
			DisplayName: o.User.DisplayName,
		},
	}
	for _, p := range o.PubKeyCredParams {
		req.PubKeyCredParams = append(req.PubKeyCredParams, ctap2.CredentialParam{Type: p.Type, Alg: p.Alg})
	}
	for _, d := range o.ExcludeCredentials {
		req.ExcludeList = append(req.ExcludeList, ctap2.CredentialDescriptor{Type: d.Type, ID: decodeB64(t, "excludeCredentials id", d.ID)})
	}
	sel := o.AuthenticatorSelection
	if sel.ResidentKey == "required" || sel.ResidentKey == "preferred" || (sel.ResidentKey == "" && sel.RequireResidentKey) {
		req.Options = map[string]bool{"rk": true}
	}
	// userVerification "preferred" or "discouraged" with an authenticator
	// that has no built-in UV and no PIN: the client asks for no UV.
	require.NotEqual(t, "required", sel.UserVerification, "this client has no way to verify the user")

	// With "direct" conveyance the client passes the attestation statement
	// on unaltered (WebAuthn L3 §5.4.7).
	require.Equal(t, "direct", o.Attestation, "this client implements direct attestation conveyance only")

	var resp ctap2.MakeCredentialResponse
	status := b.send(t, ctap2.CmdMakeCredential, &req, &resp)
	require.Equal(t, ctap2.StatusOK, status, "authenticatorMakeCredential answered %v", status)

	// The attestation object with WebAuthn's text keys (WebAuthn L3 §6.5.4).
	attObj, err := ctap2.Marshal(webauthnAttestationObject{Format: resp.Format, AttStmt: resp.AttStmt, AuthData: resp.AuthData})
	require.NoError(t, err)
	authData, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err, "parsing the authenticator data of the makeCredential response")
	require.NotNil(t, authData.Attested, "makeCredential authenticator data without attested credential data")
	return &registration{
		credentialID:      authData.Attested.CredentialID,
		clientDataJSON:    clientDataJSON,
		attestationObject: attObj,
		authData:          authData,
	}
}

// requestOptionsJSON is PublicKeyCredentialRequestOptionsJSON (WebAuthn L3
// §5.1.9) inside the "publicKey" member of CredentialRequestOptions.
type requestOptionsJSON struct {
	PublicKey struct {
		Challenge        string           `json:"challenge"`
		RPID             string           `json:"rpId"`
		AllowCredentials []descriptorJSON `json:"allowCredentials"`
		UserVerification string           `json:"userVerification"`
	} `json:"publicKey"`
}

// assertion is what navigator.credentials.get() resolves to.
type assertion struct {
	credentialID      []byte
	clientDataJSON    []byte
	authenticatorData []byte
	signature         []byte
	userHandle        []byte
}

// authenticationResponseJSON is AuthenticationResponseJSON (WebAuthn L3
// §5.1.9).
type authenticationResponseJSON struct {
	ID       string `json:"id"`
	RawID    string `json:"rawId"`
	Type     string `json:"type"`
	Response struct {
		ClientDataJSON    string `json:"clientDataJSON"`
		AuthenticatorData string `json:"authenticatorData"`
		Signature         string `json:"signature"`
		UserHandle        string `json:"userHandle,omitempty"`
	} `json:"response"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
}

// JSON serializes the assertion as a browser posts it.
func (a *assertion) JSON(t *testing.T) []byte {
	t.Helper()
	var j authenticationResponseJSON
	j.ID = b64.EncodeToString(a.credentialID)
	j.RawID = j.ID
	j.Type = ctap2.PublicKeyCredentialType
	j.Response.ClientDataJSON = b64.EncodeToString(a.clientDataJSON)
	j.Response.AuthenticatorData = b64.EncodeToString(a.authenticatorData)
	j.Response.Signature = b64.EncodeToString(a.signature)
	if a.userHandle != nil {
		j.Response.UserHandle = b64.EncodeToString(a.userHandle)
	}
	j.AuthenticatorAttachment = "cross-platform"
	j.ClientExtensionResults = map[string]any{}
	out, err := json.Marshal(j)
	require.NoError(t, err)
	return out
}

// get runs navigator.credentials.get() with the relying party's options
// JSON (WebAuthn L3 §5.1.4.1) against the authenticator. It returns every
// assertion the authenticator offers, as the account chooser would list
// them: one for an allow list, one per discoverable credential otherwise
// (collected with authenticatorGetNextAssertion, CTAP 2.1 §6.3).
func (b *browser) get(t *testing.T, optionsJSON []byte) []*assertion {
	t.Helper()
	var opts requestOptionsJSON
	require.NoError(t, json.Unmarshal(optionsJSON, &opts), "parsing request options")
	o := opts.PublicKey
	rpID := o.RPID
	if b.rpID != "" {
		rpID = b.rpID
	}
	require.NotEqual(t, "required", o.UserVerification, "this client has no way to verify the user")
	clientDataJSON := b.clientData(t, "webauthn.get", decodeB64(t, "challenge", o.Challenge))
	clientDataHash := sha256.Sum256(clientDataJSON)

	req := ctap2.GetAssertionRequest{RPID: rpID, ClientDataHash: clientDataHash[:]}
	for _, d := range o.AllowCredentials {
		req.AllowList = append(req.AllowList, ctap2.CredentialDescriptor{Type: d.Type, ID: decodeB64(t, "allowCredentials id", d.ID)})
	}
	var first ctap2.GetAssertionResponse
	status := b.send(t, ctap2.CmdGetAssertion, &req, &first)
	require.Equal(t, ctap2.StatusOK, status, "authenticatorGetAssertion answered %v", status)
	responses := []ctap2.GetAssertionResponse{first}
	for i := 1; i < first.NumberOfCredentials; i++ {
		var next ctap2.GetAssertionResponse
		status := b.send(t, ctap2.CmdGetNextAssertion, nil, &next)
		require.Equal(t, ctap2.StatusOK, status, "authenticatorGetNextAssertion %d of %d answered %v", i, first.NumberOfCredentials-1, status)
		responses = append(responses, next)
	}

	var out []*assertion
	for _, r := range responses {
		credID := r.Credential.ID
		// CTAP 2.1 §6.2.2: the authenticator may leave out the credential
		// when the allow list held exactly one; the client then knows it.
		if credID == nil && len(req.AllowList) == 1 {
			credID = req.AllowList[0].ID
		}
		require.NotEmpty(t, credID, "getAssertion response names no credential")
		a := &assertion{
			credentialID:      credID,
			clientDataJSON:    clientDataJSON,
			authenticatorData: r.AuthData,
			signature:         r.Signature,
		}
		if r.User != nil {
			a.userHandle = r.User.ID
		}
		out = append(out, a)
	}
	return out
}

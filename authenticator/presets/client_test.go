package presets_test

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// epoch is the engine's clock: in the past, so that the batch certificates
// it issues are valid for a relying party that checks the real time.
var epoch = time.Date(2025, 6, 1, 12, 0, 0, 0, time.UTC)

// testCA issues the keys' attestation certificates, as softkey run --ca
// DIR does: relying parties trust its root through test metadata.
func testCA(t *testing.T) *attestation.CA {
	t.Helper()
	ca, err := attestation.NewCA(rand.NewChaCha8([32]byte{'c', 'a'}), epoch, "softkey test CA")
	require.NoError(t, err)
	return ca
}

// newKey starts an in-process authenticator for profile on a memory store,
// with software keys, a seeded randomness source and testCA.
func newKey(t *testing.T, profile *authenticator.Profile) (*authenticator.Authenticator, *store.Memory) {
	t.Helper()
	mem := &store.Memory{}
	rnd := rand.NewChaCha8([32]byte{'p', 'r', 'e', 's', 'e', 't'})
	a, err := authenticator.New(authenticator.Config{
		Profile: profile,
		Store:   mem,
		Keys:    keys.NewSoftware(rnd),
		Rand:    rnd,
		Now:     func() time.Time { return epoch },
		CA:      testCA(t),
	})
	require.NoError(t, err, "authenticator.New(%s)", profile.Name)
	return a, mem
}

// send passes one CTAP2 command to the authenticator and decodes a
// successful answer into resp.
func send(t *testing.T, a *authenticator.Authenticator, cmd ctap2.Command, req, resp any) {
	t.Helper()
	msg := []byte{byte(cmd)}
	if req != nil {
		params, err := ctap2.Marshal(req)
		require.NoError(t, err)
		msg = append(msg, params...)
	}
	out := a.HandleCBOR(context.Background(), msg)
	require.NotEmpty(t, out, "%v: empty answer", cmd)
	require.Equal(t, ctap2.StatusOK, ctap2.Status(out[0]), "%v answered %v", cmd, ctap2.Status(out[0]))
	require.NoError(t, ctap2.Unmarshal(out[1:], resp), "%v: decoding the answer", cmd)
}

// getInfo asks the authenticator for authenticatorGetInfo (CTAP 2.1 §6.4).
func getInfo(t *testing.T, a *authenticator.Authenticator) *ctap2.GetInfoResponse {
	t.Helper()
	var info ctap2.GetInfoResponse
	send(t, a, ctap2.CmdGetInfo, nil, &info)
	return &info
}

var b64 = base64.RawURLEncoding

// client plays the browser between a go-webauthn relying party and the
// authenticator (WebAuthn L3 §5.1.3, §5.1.4.1 over CTAP 2.1 §6.1, §6.2):
// it reads the options JSON, builds clientDataJSON, sends the CTAP
// command and returns the JSON a page posts back. It implements only what
// the preset tests use: direct attestation, no user verification.
type client struct {
	key        *authenticator.Authenticator
	origin     string
	transports []string
}

// attachment is what the browser reports for an authenticator with these
// transports.
func (c *client) attachment() string {
	for _, t := range c.transports {
		if t == "usb" || t == "nfc" || t == "ble" {
			return "cross-platform"
		}
	}
	return "platform"
}

func (c *client) clientData(t *testing.T, typ string, challenge []byte) []byte {
	t.Helper()
	out, err := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, b64.EncodeToString(challenge), c.origin, false})
	require.NoError(t, err)
	return out
}

func decode64(t *testing.T, what, s string) []byte {
	t.Helper()
	v, err := b64.DecodeString(s)
	require.NoError(t, err, "%s %q is not base64url", what, s)
	return v
}

// create runs navigator.credentials.create() on creation options JSON and
// returns RegistrationResponseJSON (WebAuthn L3 §5.1.8).
func (c *client) create(t *testing.T, optionsJSON []byte) []byte {
	t.Helper()
	var opts struct {
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
			Attestation string `json:"attestation"`
		} `json:"publicKey"`
	}
	require.NoError(t, json.Unmarshal(optionsJSON, &opts))
	o := opts.PublicKey
	require.Equal(t, "direct", o.Attestation, "this client conveys attestation directly only")
	cdj := c.clientData(t, "webauthn.create", decode64(t, "challenge", o.Challenge))
	cdh := sha256.Sum256(cdj)
	req := ctap2.MakeCredentialRequest{
		ClientDataHash: cdh[:],
		RP:             &ctap2.RPEntity{ID: o.RP.ID, Name: o.RP.Name},
		User:           &ctap2.UserEntity{ID: decode64(t, "user.id", o.User.ID), Name: o.User.Name, DisplayName: o.User.DisplayName},
	}
	for _, p := range o.PubKeyCredParams {
		req.PubKeyCredParams = append(req.PubKeyCredParams, ctap2.CredentialParam{Type: p.Type, Alg: p.Alg})
	}
	var resp ctap2.MakeCredentialResponse
	send(t, c.key, ctap2.CmdMakeCredential, &req, &resp)

	// The attestation object with WebAuthn's text keys (WebAuthn L3 §6.5.4).
	attObj, err := ctap2.Marshal(struct {
		Format   string           `cbor:"fmt"`
		AttStmt  ctap2.RawMessage `cbor:"attStmt"`
		AuthData []byte           `cbor:"authData"`
	}{resp.Format, resp.AttStmt, resp.AuthData})
	require.NoError(t, err)
	authData, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	require.NotNil(t, authData.Attested, "makeCredential without attested credential data")
	id := b64.EncodeToString(authData.Attested.CredentialID)
	out, err := json.Marshal(map[string]any{
		"id":    id,
		"rawId": id,
		"type":  ctap2.PublicKeyCredentialType,
		"response": map[string]any{
			"clientDataJSON":    b64.EncodeToString(cdj),
			"attestationObject": b64.EncodeToString(attObj),
			"authenticatorData": b64.EncodeToString(resp.AuthData),
			"transports":        slices.Clone(c.transports),
		},
		"authenticatorAttachment": c.attachment(),
		"clientExtensionResults":  map[string]any{},
	})
	require.NoError(t, err)
	return out
}

// get runs navigator.credentials.get() on request options JSON with an
// allow list of one, and returns AuthenticationResponseJSON (WebAuthn L3
// §5.1.9).
func (c *client) get(t *testing.T, optionsJSON []byte) []byte {
	t.Helper()
	var opts struct {
		PublicKey struct {
			Challenge        string `json:"challenge"`
			RPID             string `json:"rpId"`
			AllowCredentials []struct {
				Type string `json:"type"`
				ID   string `json:"id"`
			} `json:"allowCredentials"`
		} `json:"publicKey"`
	}
	require.NoError(t, json.Unmarshal(optionsJSON, &opts))
	o := opts.PublicKey
	require.Len(t, o.AllowCredentials, 1, "this client signs in with one named credential")
	credID := decode64(t, "allowCredentials id", o.AllowCredentials[0].ID)
	cdj := c.clientData(t, "webauthn.get", decode64(t, "challenge", o.Challenge))
	cdh := sha256.Sum256(cdj)
	var resp ctap2.GetAssertionResponse
	send(t, c.key, ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
		RPID:           o.RPID,
		ClientDataHash: cdh[:],
		AllowList:      []ctap2.CredentialDescriptor{{Type: ctap2.PublicKeyCredentialType, ID: credID}},
	}, &resp)
	id := b64.EncodeToString(credID)
	response := map[string]any{
		"clientDataJSON":    b64.EncodeToString(cdj),
		"authenticatorData": b64.EncodeToString(resp.AuthData),
		"signature":         b64.EncodeToString(resp.Signature),
	}
	if resp.User != nil {
		response["userHandle"] = b64.EncodeToString(resp.User.ID)
	}
	out, err := json.Marshal(map[string]any{
		"id":                      id,
		"rawId":                   id,
		"type":                    ctap2.PublicKeyCredentialType,
		"response":                response,
		"authenticatorAttachment": c.attachment(),
		"clientExtensionResults":  map[string]any{},
	})
	require.NoError(t, err)
	return out
}

package webauthntest

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"slices"

	"github.com/softkeydev/softkey/ctap2"
)

// b64 is the base64url encoding without padding that WebAuthn's JSON forms
// use (WebAuthn L3 §5.1.8, Base64URLString).
var b64 = base64.RawURLEncoding

// Engine is an in-process authenticator, such as
// *authenticator.Authenticator.
type Engine interface {
	HandleCBOR(ctx context.Context, msg []byte) []byte
}

// InProcess returns a [Browser.CBOR] function that hands messages to e.
func InProcess(e Engine) func(ctx context.Context, msg []byte) ([]byte, error) {
	return func(ctx context.Context, msg []byte) ([]byte, error) {
		return e.HandleCBOR(ctx, msg), nil
	}
}

// Browser plays the WebAuthn client between a relying party and an
// authenticator, the way a user agent does (WebAuthn L3 §5.1.3 and
// §5.1.4.1 with CTAP 2.1 §6.1 and §6.2 as the authenticator protocol). It
// implements direct attestation conveyance only. It verifies the user
// only through the authenticator's built-in user verification (getInfo
// option uv true); it takes no PIN.
type Browser struct {
	// CBOR sends a CTAP2 message (command byte and CBOR) to the
	// authenticator and returns its answer (status byte and CBOR).
	CBOR func(ctx context.Context, msg []byte) ([]byte, error)
	// Origin is the caller's origin written into clientDataJSON.
	Origin string
	// RPID, when set, replaces the RP ID of the options in what is sent to
	// the authenticator: a client that lies about the relying party.
	RPID string
	// Transports are the authenticator's transports, reported in
	// registrations; they decide the authenticator attachment.
	Transports []string
}

// attachment is what the browser reports for an authenticator with its
// transports.
func (b *Browser) attachment() string {
	for _, t := range b.Transports {
		if t == "usb" || t == "nfc" || t == "ble" {
			return "cross-platform"
		}
	}
	return "platform"
}

// ClientData returns clientDataJSON for a ceremony type
// ("webauthn.create" or "webauthn.get") and challenge: CollectedClientData
// (WebAuthn L3 §5.8.1), with members in the order §5.8.1.1 serializes them.
func (b *Browser) ClientData(typ string, challenge []byte) []byte {
	data, err := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, b64.EncodeToString(challenge), b.Origin, false})
	if err != nil {
		panic("webauthntest: internal error: " + err.Error())
	}
	return data
}

// Do sends one CTAP2 command with its parameters (none when req is nil)
// and decodes a successful answer into resp. A status other than CTAP2_OK
// comes back as an error wrapping the [ctap2.Status].
func (b *Browser) Do(ctx context.Context, cmd ctap2.Command, req, resp any) error {
	msg := []byte{byte(cmd)}
	if req != nil {
		params, err := ctap2.Marshal(req)
		if err != nil {
			return fmt.Errorf("%v: encoding the request: %w", cmd, err)
		}
		msg = append(msg, params...)
	}
	out, err := b.CBOR(ctx, msg)
	if err != nil {
		return fmt.Errorf("%v: %w", cmd, err)
	}
	if len(out) == 0 {
		return fmt.Errorf("%v: empty answer", cmd)
	}
	if status := ctap2.Status(out[0]); status != ctap2.StatusOK {
		return fmt.Errorf("%v answered %w", cmd, status)
	}
	if err := ctap2.Unmarshal(out[1:], resp); err != nil {
		return fmt.Errorf("%v: decoding the answer: %w", cmd, err)
	}
	return nil
}

// uvInfo is what the browser reads from authenticatorGetInfo at the start
// of a ceremony to decide on user verification (CTAP 2.1 §6.4 options).
type uvInfo struct {
	builtIn          bool // uv: built-in user verification, ready to use
	alwaysUV         bool // alwaysUv
	makeCredUVNotRqd bool // makeCredUvNotRqd
}

// userVerificationInfo asks the authenticator for getInfo, as a client
// does before a ceremony.
func (b *Browser) userVerificationInfo(ctx context.Context) (uvInfo, error) {
	var info ctap2.GetInfoResponse
	if err := b.Do(ctx, ctap2.CmdGetInfo, nil, &info); err != nil {
		return uvInfo{}, err
	}
	return uvInfo{
		builtIn:          info.Options["uv"],
		alwaysUV:         info.Options["alwaysUv"],
		makeCredUVNotRqd: info.Options["makeCredUvNotRqd"],
	}, nil
}

// wantUV decides whether to ask for built-in user verification (option
// uv) given the relying party's userVerification: always when it is not
// "discouraged", and for "discouraged" still when the authenticator
// would refuse the request without it (CTAP 2.1 §6.1.2 steps 6-10, §6.2.2
// step 5): alwaysUv, or a makeCredential of a discoverable credential or
// without makeCredUvNotRqd. It fails for "required" when the
// authenticator cannot verify the user itself.
func (u uvInfo) wantUV(userVerification string, makeCredential, rk bool) (bool, error) {
	if !u.builtIn {
		if userVerification == "required" {
			return false, errors.New("this client verifies the user only with built-in user verification, which the authenticator lacks")
		}
		return false, nil
	}
	if userVerification != "discouraged" || u.alwaysUV {
		return true, nil
	}
	return makeCredential && (rk || !u.makeCredUVNotRqd), nil
}

// decodeB64 decodes a base64url member of the options.
func decodeB64(what, s string) ([]byte, error) {
	v, err := b64.DecodeString(s)
	if err != nil {
		return nil, fmt.Errorf("%s %q is not base64url: %w", what, s, err)
	}
	return v, nil
}

// descriptorJSON is PublicKeyCredentialDescriptorJSON (WebAuthn L3 §5.1.8).
type descriptorJSON struct {
	Type string `json:"type"`
	ID   string `json:"id"`
}

// creationOptionsJSON is what a page gets from the relying party and
// passes to PublicKeyCredential.parseCreationOptionsFromJSON (WebAuthn L3
// §5.1.8), inside the "publicKey" member of CredentialCreationOptions.
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

// Registration is what navigator.credentials.create() resolves to.
type Registration struct {
	CredentialID      []byte
	ClientDataJSON    []byte
	AttestationObject []byte // with WebAuthn's text keys
	// AuthData is the authenticator data as the browser parsed it.
	AuthData *ctap2.AuthData
	// Transports and Attachment are what the browser reports of the
	// authenticator.
	Transports []string
	Attachment string
}

// AttestationObject returns the attestation object of a makeCredential
// response with WebAuthn's text keys (WebAuthn L3 §6.5.4); CTAP2 canonical
// encoding orders them fmt, attStmt, authData.
func AttestationObject(resp *ctap2.MakeCredentialResponse) ([]byte, error) {
	return ctap2.Marshal(struct {
		Format   string           `cbor:"fmt"`
		AttStmt  ctap2.RawMessage `cbor:"attStmt"`
		AuthData []byte           `cbor:"authData"`
	}{resp.Format, resp.AttStmt, resp.AuthData})
}

// Create runs navigator.credentials.create() with the relying party's
// options JSON (WebAuthn L3 §5.1.3) against the authenticator.
func (b *Browser) Create(ctx context.Context, optionsJSON []byte) (*Registration, error) {
	var opts creationOptionsJSON
	if err := json.Unmarshal(optionsJSON, &opts); err != nil {
		return nil, fmt.Errorf("parsing creation options: %w", err)
	}
	o := opts.PublicKey
	rpID := o.RP.ID
	if b.RPID != "" {
		rpID = b.RPID
	}
	challenge, err := decodeB64("challenge", o.Challenge)
	if err != nil {
		return nil, err
	}
	userID, err := decodeB64("user.id", o.User.ID)
	if err != nil {
		return nil, err
	}
	clientDataJSON := b.ClientData("webauthn.create", challenge)
	clientDataHash := sha256.Sum256(clientDataJSON)

	// WebAuthn L3 §6.3.2 / CTAP 2.1 §6.1: the client's translation of the
	// options into authenticatorMakeCredential.
	req := ctap2.MakeCredentialRequest{
		ClientDataHash: clientDataHash[:],
		RP:             &ctap2.RPEntity{ID: rpID, Name: o.RP.Name},
		User:           &ctap2.UserEntity{ID: userID, Name: o.User.Name, DisplayName: o.User.DisplayName},
	}
	for _, p := range o.PubKeyCredParams {
		req.PubKeyCredParams = append(req.PubKeyCredParams, ctap2.CredentialParam{Type: p.Type, Alg: p.Alg})
	}
	for _, d := range o.ExcludeCredentials {
		id, err := decodeB64("excludeCredentials id", d.ID)
		if err != nil {
			return nil, err
		}
		req.ExcludeList = append(req.ExcludeList, ctap2.CredentialDescriptor{Type: d.Type, ID: id})
	}
	sel := o.AuthenticatorSelection
	rk := sel.ResidentKey == "required" || sel.ResidentKey == "preferred" || (sel.ResidentKey == "" && sel.RequireResidentKey)
	info, err := b.userVerificationInfo(ctx)
	if err != nil {
		return nil, err
	}
	uv, err := info.wantUV(sel.UserVerification, true, rk)
	if err != nil {
		return nil, err
	}
	if rk || uv {
		req.Options = map[string]bool{}
	}
	if rk {
		req.Options["rk"] = true
	}
	if uv {
		req.Options["uv"] = true
	}
	// With "direct" conveyance the client passes the attestation statement
	// on unaltered (WebAuthn L3 §5.4.7).
	if o.Attestation != "direct" {
		return nil, fmt.Errorf("attestation %q: this client implements direct attestation conveyance only", o.Attestation)
	}

	var resp ctap2.MakeCredentialResponse
	if err := b.Do(ctx, ctap2.CmdMakeCredential, &req, &resp); err != nil {
		return nil, err
	}
	attObj, err := AttestationObject(&resp)
	if err != nil {
		return nil, fmt.Errorf("encoding the attestation object: %w", err)
	}
	authData, err := ctap2.ParseAuthData(resp.AuthData)
	if err != nil {
		return nil, fmt.Errorf("parsing the authenticator data of the makeCredential response: %w", err)
	}
	if authData.Attested == nil {
		return nil, errors.New("makeCredential authenticator data without attested credential data")
	}
	return &Registration{
		CredentialID:      authData.Attested.CredentialID,
		ClientDataJSON:    clientDataJSON,
		AttestationObject: attObj,
		AuthData:          authData,
		Transports:        slices.Clone(b.Transports),
		Attachment:        b.attachment(),
	}, nil
}

// credentialJSON holds the members that RegistrationResponseJSON and
// AuthenticationResponseJSON share (WebAuthn L3 §5.1.8, §5.1.9).
type credentialJSON struct {
	ID                      string         `json:"id"`
	RawID                   string         `json:"rawId"`
	Type                    string         `json:"type"`
	AuthenticatorAttachment string         `json:"authenticatorAttachment"`
	ClientExtensionResults  map[string]any `json:"clientExtensionResults"`
}

func newCredentialJSON(credID []byte, attachment string) credentialJSON {
	id := b64.EncodeToString(credID)
	return credentialJSON{
		ID:                      id,
		RawID:                   id,
		Type:                    ctap2.PublicKeyCredentialType,
		AuthenticatorAttachment: attachment,
		ClientExtensionResults:  map[string]any{},
	}
}

// registrationResponseJSON is RegistrationResponseJSON (WebAuthn L3
// §5.1.8), what PublicKeyCredential.toJSON() gives for a registration.
type registrationResponseJSON struct {
	credentialJSON
	Response struct {
		ClientDataJSON    string   `json:"clientDataJSON"`
		AuthenticatorData string   `json:"authenticatorData"`
		Transports        []string `json:"transports"`
		AttestationObject string   `json:"attestationObject"`
	} `json:"response"`
}

// JSON serializes the registration as a browser posts it. The
// authenticatorData member is taken from the attestation object.
func (r *Registration) JSON() ([]byte, error) {
	var obj struct {
		AuthData []byte `cbor:"authData"`
	}
	if err := ctap2.Unmarshal(r.AttestationObject, &obj); err != nil {
		return nil, fmt.Errorf("decoding the attestation object: %w", err)
	}
	j := registrationResponseJSON{credentialJSON: newCredentialJSON(r.CredentialID, r.Attachment)}
	j.Response.ClientDataJSON = b64.EncodeToString(r.ClientDataJSON)
	j.Response.AuthenticatorData = b64.EncodeToString(obj.AuthData)
	j.Response.Transports = r.Transports
	j.Response.AttestationObject = b64.EncodeToString(r.AttestationObject)
	return json.Marshal(j)
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

// Assertion is what navigator.credentials.get() resolves to.
type Assertion struct {
	CredentialID      []byte
	ClientDataJSON    []byte
	AuthenticatorData []byte
	Signature         []byte
	UserHandle        []byte // nil when the authenticator named no user
	Attachment        string
}

// Get runs navigator.credentials.get() with the relying party's options
// JSON (WebAuthn L3 §5.1.4.1) against the authenticator. It returns every
// assertion the authenticator offers, as the account chooser would list
// them: one for an allow list, one per discoverable credential otherwise
// (collected with authenticatorGetNextAssertion, CTAP 2.1 §6.3).
func (b *Browser) Get(ctx context.Context, optionsJSON []byte) ([]*Assertion, error) {
	var opts requestOptionsJSON
	if err := json.Unmarshal(optionsJSON, &opts); err != nil {
		return nil, fmt.Errorf("parsing request options: %w", err)
	}
	o := opts.PublicKey
	rpID := o.RPID
	if b.RPID != "" {
		rpID = b.RPID
	}
	info, err := b.userVerificationInfo(ctx)
	if err != nil {
		return nil, err
	}
	uv, err := info.wantUV(o.UserVerification, false, false)
	if err != nil {
		return nil, err
	}
	challenge, err := decodeB64("challenge", o.Challenge)
	if err != nil {
		return nil, err
	}
	clientDataJSON := b.ClientData("webauthn.get", challenge)
	clientDataHash := sha256.Sum256(clientDataJSON)

	req := ctap2.GetAssertionRequest{RPID: rpID, ClientDataHash: clientDataHash[:]}
	if uv {
		req.Options = map[string]bool{"uv": true}
	}
	for _, d := range o.AllowCredentials {
		id, err := decodeB64("allowCredentials id", d.ID)
		if err != nil {
			return nil, err
		}
		req.AllowList = append(req.AllowList, ctap2.CredentialDescriptor{Type: d.Type, ID: id})
	}
	var first ctap2.GetAssertionResponse
	if err := b.Do(ctx, ctap2.CmdGetAssertion, &req, &first); err != nil {
		return nil, err
	}
	responses := []ctap2.GetAssertionResponse{first}
	for i := 1; i < first.NumberOfCredentials; i++ {
		var next ctap2.GetAssertionResponse
		if err := b.Do(ctx, ctap2.CmdGetNextAssertion, nil, &next); err != nil {
			return nil, fmt.Errorf("getNextAssertion %d of %d: %w", i, first.NumberOfCredentials-1, err)
		}
		responses = append(responses, next)
	}

	var out []*Assertion
	for _, r := range responses {
		credID := r.Credential.ID
		// CTAP 2.1 §6.2.2: the authenticator may leave out the credential
		// when the allow list held exactly one; the client then knows it.
		if credID == nil && len(req.AllowList) == 1 {
			credID = req.AllowList[0].ID
		}
		if len(credID) == 0 {
			return nil, errors.New("getAssertion response names no credential")
		}
		a := &Assertion{
			CredentialID:      credID,
			ClientDataJSON:    clientDataJSON,
			AuthenticatorData: r.AuthData,
			Signature:         r.Signature,
			Attachment:        b.attachment(),
		}
		if r.User != nil {
			a.UserHandle = r.User.ID
		}
		out = append(out, a)
	}
	return out, nil
}

// authenticationResponseJSON is AuthenticationResponseJSON (WebAuthn L3
// §5.1.9).
type authenticationResponseJSON struct {
	credentialJSON
	Response struct {
		ClientDataJSON    string `json:"clientDataJSON"`
		AuthenticatorData string `json:"authenticatorData"`
		Signature         string `json:"signature"`
		UserHandle        string `json:"userHandle,omitempty"`
	} `json:"response"`
}

// JSON serializes the assertion as a browser posts it.
func (a *Assertion) JSON() ([]byte, error) {
	j := authenticationResponseJSON{credentialJSON: newCredentialJSON(a.CredentialID, a.Attachment)}
	j.Response.ClientDataJSON = b64.EncodeToString(a.ClientDataJSON)
	j.Response.AuthenticatorData = b64.EncodeToString(a.AuthenticatorData)
	j.Response.Signature = b64.EncodeToString(a.Signature)
	if a.UserHandle != nil {
		j.Response.UserHandle = b64.EncodeToString(a.UserHandle)
	}
	return json.Marshal(j)
}

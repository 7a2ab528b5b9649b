package main

// A WebAuthn client and a go-webauthn relying party for the end-to-end
// attestation tests: the client reaches a running softkey through
// CTAPHID over UDP with ctap2.Client, as a browser reaches a USB key, and
// hands the relying party the JSON a browser's toJSON() gives a page. The
// two halves share nothing but that JSON.

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	wamd "github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/cached"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/go-webauthn/webauthn/webauthn"

	"github.com/softkeydev/softkey/ctap2"
)

const (
	e2eRPID   = "example.test"
	e2eOrigin = "https://example.test"
)

// b64url is the encoding of WebAuthn's JSON forms (WebAuthn L3 §5.1.8).
var b64url = base64.RawURLEncoding

// rpUser is an account at the relying party.
type rpUser struct {
	id          []byte
	credentials []webauthn.Credential
}

func (u *rpUser) WebAuthnID() []byte                         { return u.id }
func (u *rpUser) WebAuthnName() string                       { return string(u.id) }
func (u *rpUser) WebAuthnDisplayName() string                { return string(u.id) }
func (u *rpUser) WebAuthnCredentials() []webauthn.Credential { return u.credentials }

// keyClient is the browser: it talks CTAP2 to a running key over UDP.
type keyClient struct {
	client *ctap2.Client
}

// dialKey opens the key at a UDP address (CTAPHID INIT) for the test.
func dialKey(t *testing.T, addr string) *keyClient {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	dev, _, err := openHostDevice(ctx, "udp", "", addr)
	if err != nil {
		cancel()
		t.Fatalf("opening the key at %s: %v", addr, err)
	}
	t.Cleanup(func() {
		dev.Close()
		cancel()
	})
	return &keyClient{client: ctap2.NewClient(dev)}
}

// clientData is CollectedClientData (WebAuthn L3 §5.8.1).
func clientData(t *testing.T, typ, challenge string) []byte {
	t.Helper()
	data, err := json.Marshal(struct {
		Type        string `json:"type"`
		Challenge   string `json:"challenge"`
		Origin      string `json:"origin"`
		CrossOrigin bool   `json:"crossOrigin"`
	}{typ, challenge, e2eOrigin, false})
	if err != nil {
		t.Fatal(err)
	}
	return data
}

// create is navigator.credentials.create() with direct attestation: it
// turns the relying party's options into authenticatorMakeCredential and
// returns RegistrationResponseJSON.
func (k *keyClient) create(t *testing.T, options *protocol.CredentialCreation) []byte {
	t.Helper()
	o := options.Response
	challenge := b64url.EncodeToString(o.Challenge)
	cdj := clientData(t, "webauthn.create", challenge)
	cdh := sha256.Sum256(cdj)
	req := &ctap2.MakeCredentialRequest{
		ClientDataHash: cdh[:],
		RP:             &ctap2.RPEntity{ID: o.RelyingParty.ID, Name: o.RelyingParty.Name},
		User:           &ctap2.UserEntity{ID: o.User.ID.(protocol.URLEncodedBase64), Name: o.User.Name, DisplayName: o.User.DisplayName},
	}
	for _, p := range o.Parameters {
		req.PubKeyCredParams = append(req.PubKeyCredParams, ctap2.CredentialParam{Type: string(p.Type), Alg: ctap2.Alg(p.Algorithm)})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := k.client.MakeCredential(ctx, req)
	if err != nil {
		t.Fatalf("authenticatorMakeCredential: %v", err)
	}
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	if err != nil || ad.Attested == nil {
		t.Fatalf("makeCredential authenticator data: %v", err)
	}
	attObj, err := ctap2.Marshal(struct {
		Format   string           `cbor:"fmt"`
		AttStmt  ctap2.RawMessage `cbor:"attStmt"`
		AuthData []byte           `cbor:"authData"`
	}{resp.Format, resp.AttStmt, resp.AuthData})
	if err != nil {
		t.Fatal(err)
	}
	id := b64url.EncodeToString(ad.Attested.CredentialID)
	out, err := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key",
		"response": map[string]any{
			"clientDataJSON":    b64url.EncodeToString(cdj),
			"authenticatorData": b64url.EncodeToString(resp.AuthData),
			"transports":        []string{"usb"},
			"attestationObject": b64url.EncodeToString(attObj),
		},
		"authenticatorAttachment": "cross-platform",
		"clientExtensionResults":  map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// get is navigator.credentials.get() with the allow list of the options:
// it returns AuthenticationResponseJSON.
func (k *keyClient) get(t *testing.T, options *protocol.CredentialAssertion) []byte {
	t.Helper()
	o := options.Response
	cdj := clientData(t, "webauthn.get", b64url.EncodeToString(o.Challenge))
	cdh := sha256.Sum256(cdj)
	req := &ctap2.GetAssertionRequest{RPID: o.RelyingPartyID, ClientDataHash: cdh[:]}
	for _, d := range o.AllowedCredentials {
		req.AllowList = append(req.AllowList, ctap2.CredentialDescriptor{Type: string(d.Type), ID: d.CredentialID})
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := k.client.GetAssertion(ctx, req)
	if err != nil {
		t.Fatalf("authenticatorGetAssertion: %v", err)
	}
	credID := resp.Credential.ID
	if credID == nil && len(req.AllowList) == 1 {
		credID = req.AllowList[0].ID
	}
	id := b64url.EncodeToString(credID)
	r := map[string]any{
		"clientDataJSON":    b64url.EncodeToString(cdj),
		"authenticatorData": b64url.EncodeToString(resp.AuthData),
		"signature":         b64url.EncodeToString(resp.Signature),
	}
	if resp.User != nil {
		r["userHandle"] = b64url.EncodeToString(resp.User.ID)
	}
	out, err := json.Marshal(map[string]any{
		"id": id, "rawId": id, "type": "public-key", "response": r,
		"authenticatorAttachment": "cross-platform",
		"clientExtensionResults":  map[string]any{},
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// loadMetadata decodes a BLOB from softkey mds export with go-webauthn's
// decoder, trusting only the root from --root-out.
func loadMetadata(t *testing.T, blobFile, rootPEM string) (*wamd.Decoder, *wamd.Metadata) {
	t.Helper()
	dec, err := wamd.NewDecoder(wamd.WithRootCertificate(rootBase64(t, rootPEM)))
	if err != nil {
		t.Fatalf("metadata decoder: %v", err)
	}
	payload, err := dec.DecodeBytes(bytes.TrimSpace(readFile(t, blobFile)))
	if err != nil {
		t.Fatalf("go-webauthn refused the BLOB %s: %v", blobFile, err)
	}
	md, err := dec.Parse(payload)
	if err != nil {
		t.Fatalf("go-webauthn could not parse the BLOB %s: %v", blobFile, err)
	}
	if len(md.Unparsed) != 0 {
		t.Fatalf("go-webauthn could not parse %d entries of %s: %v", len(md.Unparsed), blobFile, md.Unparsed[0].Error)
	}
	return dec, md
}

// rootBase64 is the PEM root certificate as go-webauthn's decoder takes it.
func rootBase64(t *testing.T, rootPEM string) string {
	t.Helper()
	certs := parsePEMCertificates(t, readFile(t, rootPEM))
	if len(certs) != 1 {
		t.Fatalf("%s holds %d certificates, want the root alone", rootPEM, len(certs))
	}
	return base64.StdEncoding.EncodeToString(certs[0].Raw)
}

// strictProvider is a memory metadata provider over the BLOB that looks
// U2F entries up by key identifier and, beyond go-webauthn's defaults
// (entry required, trust anchor, status, attestation types), checks that
// the AAGUIDs, attestation formats and algorithms agree with the
// metadata.
func strictProvider(t *testing.T, md *wamd.Metadata) wamd.Provider {
	t.Helper()
	return newMemoryProvider(t, md, false)
}

// u2fLoginProvider is strictProvider that lets credentials with a zero
// AAGUID through: go-webauthn v0.18.2 checks a credential record's
// metadata at every login by its AAGUID alone, without the attestation
// certificate whose key identifier found the U2F entry at registration,
// so a relying party that takes fido-u2f must permit the zero AAGUID when
// users sign in. Registration stays strict.
func u2fLoginProvider(t *testing.T, md *wamd.Metadata) wamd.Provider {
	t.Helper()
	return newMemoryProvider(t, md, true)
}

func newMemoryProvider(t *testing.T, md *wamd.Metadata, permitZeroAAGUID bool) wamd.Provider {
	t.Helper()
	p, err := memory.New(
		memory.WithMetadata(md.ToMap()),
		memory.WithMetadataKeyIdentifiers(md.ToKeyIdentifierMap()),
		memory.WithValidateEntryKeyIdentifier(true),
		memory.WithValidateEntryPermitZeroAAGUID(permitZeroAAGUID),
		memory.WithValidateAAGUID(true),
		memory.WithValidateAttestationFormats(true),
		memory.WithValidateAlgorithms(true),
	)
	if err != nil {
		t.Fatalf("metadata provider: %v", err)
	}
	return p
}

// cachedProvider is go-webauthn's file-cached provider reading the BLOB
// file, never the network.
func cachedProvider(t *testing.T, blobFile string, dec *wamd.Decoder) wamd.Provider {
	t.Helper()
	// The cached provider rewrites its file; give it a copy.
	path := writeFile(t, t.TempDir(), "mds.jwt", readFile(t, blobFile))
	p, err := cached.New(cached.WithPath(path), cached.WithUpdate(false), cached.WithDecoder(dec))
	if err != nil {
		t.Fatalf("cached metadata provider: %v", err)
	}
	return p
}

// relyingParty is a go-webauthn relying party for example.test. It may
// check metadata differently at registration and at login.
type relyingParty struct {
	*webauthn.WebAuthn                    // registration
	loginRP            *webauthn.WebAuthn // login
}

// newRP returns a relying party that checks metadata with mds; a second
// provider, when given, is used at login.
func newRP(t *testing.T, mds wamd.Provider, loginMDS ...wamd.Provider) *relyingParty {
	t.Helper()
	newWA := func(p wamd.Provider) *webauthn.WebAuthn {
		wa, err := webauthn.New(&webauthn.Config{
			RPID: e2eRPID, RPDisplayName: "Example RP", RPOrigins: []string{e2eOrigin}, MDS: p,
		})
		if err != nil {
			t.Fatalf("webauthn.New: %v", err)
		}
		return wa
	}
	rp := &relyingParty{WebAuthn: newWA(mds)}
	rp.loginRP = rp.WebAuthn
	if len(loginMDS) > 0 {
		rp.loginRP = newWA(loginMDS[0])
	}
	return rp
}

// register runs a registration ceremony (direct attestation, ES256) and
// returns go-webauthn's verdict.
func (rp *relyingParty) register(t *testing.T, k *keyClient, user *rpUser) (*webauthn.Credential, error) {
	t.Helper()
	options, session, err := rp.BeginRegistration(user,
		webauthn.WithConveyancePreference(protocol.PreferDirectAttestation),
		webauthn.WithCredentialParameters([]protocol.CredentialParameter{
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		}))
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	body := k.create(t, options)
	parsed, err := protocol.ParseCredentialCreationResponseBody(bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	cred, err := rp.CreateCredential(user, *session, parsed)
	if err == nil {
		user.credentials = append(user.credentials, *cred)
	}
	return cred, err
}

// login runs an authentication ceremony through go-webauthn's HTTP entry
// point and, when it succeeds, records the credential's new state.
func (rp *relyingParty) login(t *testing.T, k *keyClient, user *rpUser) (*webauthn.Credential, error) {
	t.Helper()
	options, session, err := rp.loginRP.BeginLogin(user)
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	body := k.get(t, options)
	req := httptest.NewRequest(http.MethodPost, e2eOrigin+"/login", bytes.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	cred, err := rp.loginRP.FinishLogin(user, *session, req)
	if err == nil {
		for i := range user.credentials {
			if bytes.Equal(user.credentials[i].ID, cred.ID) {
				user.credentials[i] = *cred
			}
		}
	}
	return cred, err
}

// reason renders go-webauthn's error with its details and developer
// information, as the tests match them.
func reason(err error) string {
	if err == nil {
		return "no error"
	}
	var perr *protocol.Error
	if errors.As(err, &perr) {
		return perr.Error() + " [type " + perr.Type + "; details: " + perr.Details + "; info: " + perr.DevInfo + "]"
	}
	return err.Error()
}

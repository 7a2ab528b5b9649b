package main

// A WebAuthn client and a go-webauthn relying party for the end-to-end
// attestation tests: the client, a webauthntest.Browser, reaches a running
// softkey through CTAPHID over UDP, as a browser reaches a USB key, and
// hands the relying party the JSON a browser's toJSON() gives a page. The
// two halves share nothing but that JSON.

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/json"
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

	"github.com/softkeydev/softkey/testvectors/webauthntest"
)

const (
	e2eRPID   = "example.test"
	e2eOrigin = "https://example.test"
)

// rpUser is an account at the relying party.
type rpUser struct {
	id          []byte
	credentials []webauthn.Credential
}

func (u *rpUser) WebAuthnID() []byte                         { return u.id }
func (u *rpUser) WebAuthnName() string                       { return string(u.id) }
func (u *rpUser) WebAuthnDisplayName() string                { return string(u.id) }
func (u *rpUser) WebAuthnCredentials() []webauthn.Credential { return u.credentials }

// dialKey opens the key at a UDP address (CTAPHID INIT) for the test.
func dialKey(t *testing.T, addr string) *webauthntest.Browser {
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
	return &webauthntest.Browser{CBOR: dev.CBOR, Origin: e2eOrigin, Transports: []string{"usb"}}
}

// response is what a browser serializes for the page: a registration or
// an assertion.
type response interface{ JSON() ([]byte, error) }

// browse runs one ceremony of a browser on the relying party's options,
// within 20 seconds, and returns the JSON the page posts back.
func browse(t *testing.T, what string, options any, run func(ctx context.Context, optionsJSON []byte) (response, error)) []byte {
	t.Helper()
	optionsJSON, err := json.Marshal(options)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resp, err := run(ctx, optionsJSON)
	if err != nil {
		t.Fatalf("%s: %v", what, err)
	}
	out, err := resp.JSON()
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
func (rp *relyingParty) register(t *testing.T, k *webauthntest.Browser, user *rpUser) (*webauthn.Credential, error) {
	t.Helper()
	options, session, err := rp.BeginRegistration(user,
		webauthn.WithConveyancePreference(protocol.PreferDirectAttestation),
		webauthn.WithCredentialParameters([]protocol.CredentialParameter{
			{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		}))
	if err != nil {
		t.Fatalf("BeginRegistration: %v", err)
	}
	// navigator.credentials.create() with direct attestation: it turns
	// the options into authenticatorMakeCredential and returns
	// RegistrationResponseJSON.
	body := browse(t, "navigator.credentials.create()", options, func(ctx context.Context, optionsJSON []byte) (response, error) {
		return k.Create(ctx, optionsJSON)
	})
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
func (rp *relyingParty) login(t *testing.T, k *webauthntest.Browser, user *rpUser) (*webauthn.Credential, error) {
	t.Helper()
	options, session, err := rp.loginRP.BeginLogin(user)
	if err != nil {
		t.Fatalf("BeginLogin: %v", err)
	}
	// navigator.credentials.get() with the allow list of the options: it
	// returns AuthenticationResponseJSON.
	body := browse(t, "navigator.credentials.get()", options, func(ctx context.Context, optionsJSON []byte) (response, error) {
		assertions, err := k.Get(ctx, optionsJSON)
		if err != nil {
			return nil, err
		}
		return assertions[0], nil
	})
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

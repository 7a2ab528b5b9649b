package presets_test

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/webauthntest"
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

// getInfo asks the authenticator for authenticatorGetInfo (CTAP 2.1 §6.4).
func getInfo(t *testing.T, a *authenticator.Authenticator) *ctap2.GetInfoResponse {
	t.Helper()
	var info ctap2.GetInfoResponse
	b := webauthntest.Browser{CBOR: webauthntest.InProcess(a)}
	require.NoError(t, b.Do(context.Background(), ctap2.CmdGetInfo, nil, &info))
	return &info
}

// newClient returns the browser between a go-webauthn relying party and
// the authenticator, which has the given transports. It implements only
// what the preset tests use: direct attestation, and user verification by
// the authenticator's built-in UV when getInfo lists uv true.
func newClient(a *authenticator.Authenticator, origin string, transports []string) *webauthntest.Browser {
	return &webauthntest.Browser{CBOR: webauthntest.InProcess(a), Origin: origin, Transports: transports}
}

// create runs navigator.credentials.create() on creation options JSON and
// returns RegistrationResponseJSON (WebAuthn L3 §5.1.8).
func create(t *testing.T, c *webauthntest.Browser, optionsJSON []byte) []byte {
	t.Helper()
	reg, err := c.Create(context.Background(), optionsJSON)
	require.NoError(t, err, "navigator.credentials.create()")
	out, err := reg.JSON()
	require.NoError(t, err)
	return out
}

// get runs navigator.credentials.get() on request options JSON with an
// allow list of one, and returns AuthenticationResponseJSON (WebAuthn L3
// §5.1.9).
func get(t *testing.T, c *webauthntest.Browser, optionsJSON []byte) []byte {
	t.Helper()
	assertions, err := c.Get(context.Background(), optionsJSON)
	require.NoError(t, err, "navigator.credentials.get()")
	require.Len(t, assertions, 1, "this client signs in with one named credential")
	out, err := assertions[0].JSON()
	require.NoError(t, err)
	return out
}

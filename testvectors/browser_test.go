package testvectors

import (
	"context"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/testvectors/webauthntest"
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

// newBrowser returns the WebAuthn client of the tests, a USB security key
// in front of it: the browser (WebAuthn L3 §5.1.3 and §5.1.4.1 over CTAP
// 2.1 §6.1 and §6.2) uses nothing of the relying party's library, so that
// the two sides of each test are independent.
func newBrowser(key *authenticator.Authenticator, origin string) *webauthntest.Browser {
	return &webauthntest.Browser{CBOR: webauthntest.InProcess(key), Origin: origin, Transports: []string{"usb"}}
}

// create runs navigator.credentials.create() with the relying party's
// options JSON; it must succeed.
func create(t *testing.T, b *webauthntest.Browser, optionsJSON []byte) *webauthntest.Registration {
	t.Helper()
	reg, err := b.Create(context.Background(), optionsJSON)
	require.NoError(t, err, "navigator.credentials.create()")
	return reg
}

// get runs navigator.credentials.get() with the relying party's options
// JSON; it must succeed.
func get(t *testing.T, b *webauthntest.Browser, optionsJSON []byte) []*webauthntest.Assertion {
	t.Helper()
	assertions, err := b.Get(context.Background(), optionsJSON)
	require.NoError(t, err, "navigator.credentials.get()")
	return assertions
}

// toJSON serializes a registration or an assertion as a browser posts it.
func toJSON(t *testing.T, v interface{ JSON() ([]byte, error) }) []byte {
	t.Helper()
	out, err := v.JSON()
	require.NoError(t, err)
	return out
}

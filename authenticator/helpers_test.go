package authenticator

import (
	"context"
	crand "crypto/rand"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// testClock is a settable clock.
type testClock struct{ t time.Time }

func (c *testClock) now() time.Time          { return c.t }
func (c *testClock) advance(d time.Duration) { c.t = c.t.Add(d) }

// testPresence answers every request with err and records what was asked.
type testPresence struct {
	err      error
	requests []PresenceRequest
}

func (p *testPresence) RequestPresence(ctx context.Context, req PresenceRequest) error {
	p.requests = append(p.requests, req)
	return p.err
}

type testKey struct {
	*Authenticator
	t        testing.TB
	store    *store.Memory
	clock    *testClock
	presence *testPresence
}

// newTestKey returns an authenticator on a memory store with a seeded
// randomness source, a fixed clock and presence that approves.
func newTestKey(t testing.TB, profile *Profile) *testKey {
	t.Helper()
	if profile == nil {
		profile = DefaultProfile()
	}
	k := &testKey{
		t:        t,
		store:    &store.Memory{},
		clock:    &testClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)},
		presence: &testPresence{},
	}
	rnd := rand.NewChaCha8([32]byte{42})
	a, err := New(Config{
		Profile:  profile,
		Store:    k.store,
		Keys:     testKeyBackend(t, rnd),
		Presence: k.presence,
		Rand:     rnd,
		Now:      k.clock.now,
	})
	require.NoError(t, err)
	k.Authenticator = a
	return k
}

// skipUnlessBackendMakes skips the test when the key backend cannot give
// this profile alg credentials: a TPM has no EdDSA, and the reference TPM's
// RS256 blobs make credential IDs longer than MaxCredentialIDLength. The
// software backend makes every algorithm, so it never skips.
func (k *testKey) skipUnlessBackendMakes(alg ctap2.Alg) {
	k.t.Helper()
	lister, ok := k.keys.(interface{ Algorithms() []ctap2.Alg })
	if !ok {
		return
	}
	if !slices.Contains(lister.Algorithms(), alg) {
		k.t.Skipf("the %T key backend does not offer %v (it offers %v)", k.keys, alg, lister.Algorithms())
	}
	sealed, _, err := k.keys.GenerateKey(alg)
	require.NoError(k.t, err, "GenerateKey(%v)", alg)
	aead, err := newCredentialAEAD(make([]byte, 32))
	require.NoError(k.t, err)
	id, err := sealCredentialID(aead, crand.Reader, [32]byte{}, credentialSource{alg: alg, sealedKey: sealed})
	require.NoError(k.t, err)
	if uint64(len(id)) > k.profile.MaxCredentialIDLength {
		k.t.Skipf("the %T key backend's %v credential IDs are %d bytes, over the profile's maximum of %d", k.keys, alg, len(id), k.profile.MaxCredentialIDLength)
	}
}

// skipUnlessSeededKeys skips the test unless credential keys come from the
// seeded randomness source, as the software backend's do; a TPM makes its
// own.
func (k *testKey) skipUnlessSeededKeys() {
	k.t.Helper()
	if _, ok := k.keys.(*keys.Software); !ok {
		k.t.Skipf("the %T key backend makes its own keys: runs are not reproducible", k.keys)
	}
}

// do sends one CTAP2 command and returns the status and the CBOR body.
func (k *testKey) do(cmd ctap2.Command, params any) (ctap2.Status, []byte) {
	k.t.Helper()
	msg := []byte{byte(cmd)}
	if params != nil {
		b, err := ctap2.Marshal(params)
		require.NoError(k.t, err)
		msg = append(msg, b...)
	}
	resp := k.HandleCBOR(context.Background(), msg)
	require.NotEmpty(k.t, resp, "empty response")
	return ctap2.Status(resp[0]), resp[1:]
}

func (k *testKey) makeCredential(req *ctap2.MakeCredentialRequest) (*ctap2.MakeCredentialResponse, *ctap2.AuthData) {
	k.t.Helper()
	status, body := k.do(ctap2.CmdMakeCredential, req)
	require.Equal(k.t, ctap2.StatusOK, status, "makeCredential: %v", status)
	var resp ctap2.MakeCredentialResponse
	require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(k.t, err)
	return &resp, ad
}

func (k *testKey) getAssertion(req *ctap2.GetAssertionRequest) *ctap2.GetAssertionResponse {
	k.t.Helper()
	status, body := k.do(ctap2.CmdGetAssertion, req)
	require.Equal(k.t, ctap2.StatusOK, status, "getAssertion: %v", status)
	var resp ctap2.GetAssertionResponse
	require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	return &resp
}

func clientDataHash(b byte) []byte {
	h := make([]byte, 32)
	for i := range h {
		h[i] = b
	}
	return h
}

func mcRequest(rpID string, userID string, algs ...ctap2.Alg) *ctap2.MakeCredentialRequest {
	if len(algs) == 0 {
		algs = []ctap2.Alg{ctap2.AlgES256}
	}
	req := &ctap2.MakeCredentialRequest{
		ClientDataHash: clientDataHash(1),
		RP:             &ctap2.RPEntity{ID: rpID, Name: rpID},
		User:           &ctap2.UserEntity{ID: []byte(userID), Name: userID, DisplayName: userID},
	}
	for _, alg := range algs {
		req.PubKeyCredParams = append(req.PubKeyCredParams, ctap2.CredentialParam{Type: "public-key", Alg: alg})
	}
	return req
}

func allow(ids ...[]byte) []ctap2.CredentialDescriptor {
	var out []ctap2.CredentialDescriptor
	for _, id := range ids {
		out = append(out, ctap2.CredentialDescriptor{Type: "public-key", ID: id})
	}
	return out
}

package authenticator

import (
	"context"
	"math/rand/v2"
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
		Keys:     keys.NewSoftware(rnd),
		Presence: k.presence,
		Rand:     rnd,
		Now:      k.clock.now,
	})
	require.NoError(t, err)
	k.Authenticator = a
	return k
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

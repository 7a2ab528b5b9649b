package tpmkeys_test

import (
	"bytes"
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha256"
	"log/slog"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// tpmKey is an authenticator whose credential keys live in a TPM.
type tpmKey struct {
	*authenticator.Authenticator
	t     testing.TB
	tpm   transport.TPM
	store *store.Memory
	log   *bytes.Buffer // the engine's debug log
}

// newTPMKeyOn returns an authenticator on a memory store whose key
// backend is a tpmkeys.Backend on tpm, offering the algorithms the TPM
// has; edit, if set, changes the profile further.
func newTPMKeyOn(t testing.TB, tpm transport.TPM, edit func(*authenticator.Profile)) *tpmKey {
	t.Helper()
	backend, err := tpmkeys.New(tpmkeys.Config{TPM: tpm})
	require.NoError(t, err)
	profile := authenticator.DefaultProfile()
	profile.Algorithms = backend.Algorithms()
	if edit != nil {
		edit(profile)
	}
	rnd := rand.NewChaCha8([32]byte{6})
	mem := &store.Memory{}
	var log bytes.Buffer
	a, err := authenticator.New(authenticator.Config{
		Profile: profile,
		Store:   mem,
		Keys:    backend,
		Logger:  slog.New(slog.NewTextHandler(&log, &slog.HandlerOptions{Level: slog.LevelDebug})),
		Rand:    rnd,
		Now:     func() time.Time { return time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC) },
	})
	require.NoError(t, err)
	return &tpmKey{Authenticator: a, t: t, tpm: tpm, store: mem, log: &log}
}

// do sends one CTAP2 command and returns the status and CBOR body.
func (k *tpmKey) do(cmd ctap2.Command, params any) (ctap2.Status, []byte) {
	k.t.Helper()
	body, err := ctap2.Marshal(params)
	require.NoError(k.t, err)
	resp := k.HandleCBOR(context.Background(), append([]byte{byte(cmd)}, body...))
	require.NotEmpty(k.t, resp, "empty response to %v", cmd)
	return ctap2.Status(resp[0]), resp[1:]
}

func cdh(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// register makes a credential and returns its ID and public key.
func (k *tpmKey) register(rpID, user string, alg ctap2.Alg, rk bool) ([]byte, crypto.PublicKey) {
	k.t.Helper()
	req := &ctap2.MakeCredentialRequest{
		ClientDataHash:   cdh(1),
		RP:               &ctap2.RPEntity{ID: rpID, Name: rpID},
		User:             &ctap2.UserEntity{ID: []byte(user), Name: user, DisplayName: user},
		PubKeyCredParams: []ctap2.CredentialParam{{Type: ctap2.PublicKeyCredentialType, Alg: alg}},
	}
	if rk {
		req.Options = map[string]bool{"rk": true}
	}
	status, body := k.do(ctap2.CmdMakeCredential, req)
	require.Equal(k.t, ctap2.StatusOK, status, "makeCredential %v rk=%v", alg, rk)
	var resp ctap2.MakeCredentialResponse
	require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(k.t, err)
	require.NotNil(k.t, ad.Attested, "makeCredential authData without attested credential data")
	gotAlg, pub, err := ctap2.ParseCOSEKey(ad.Attested.PublicKey)
	require.NoError(k.t, err)
	require.Equal(k.t, alg, gotAlg, "COSE key algorithm")
	return ad.Attested.CredentialID, pub
}

// assert runs getAssertion and checks the signature with pub.
func (k *tpmKey) assert(rpID string, allowList [][]byte, wantID []byte, alg ctap2.Alg, pub crypto.PublicKey) {
	k.t.Helper()
	req := &ctap2.GetAssertionRequest{RPID: rpID, ClientDataHash: cdh(2)}
	for _, id := range allowList {
		req.AllowList = append(req.AllowList, ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: id})
	}
	status, body := k.do(ctap2.CmdGetAssertion, req)
	require.Equal(k.t, ctap2.StatusOK, status, "getAssertion for %s", rpID)
	var resp ctap2.GetAssertionResponse
	require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	require.Equal(k.t, wantID, resp.Credential.ID, "asserted credential")
	digest := sha256.Sum256(append(append([]byte(nil), resp.AuthData...), cdh(2)...))
	switch alg {
	case ctap2.AlgES256:
		require.True(k.t, ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], resp.Signature),
			"ES256 assertion signature %x does not verify", resp.Signature)
	case ctap2.AlgRS256:
		require.NoError(k.t, rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], resp.Signature),
			"RS256 assertion signature does not verify")
	}
}

// direct is a ctap2.Transport straight into the engine.
type direct struct{ a *authenticator.Authenticator }

func (d direct) CBOR(ctx context.Context, msg []byte) ([]byte, error) {
	return d.a.HandleCBOR(ctx, msg), nil
}
func (d direct) Message(ctx context.Context, apdu []byte) ([]byte, error) {
	return d.a.HandleMessage(ctx, apdu), nil
}

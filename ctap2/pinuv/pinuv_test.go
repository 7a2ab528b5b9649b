package pinuv_test

import (
	"context"
	"errors"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// direct hands messages straight to an authenticator.
type direct struct{ a *authenticator.Authenticator }

func (d direct) CBOR(ctx context.Context, msg []byte) ([]byte, error) {
	return d.a.HandleCBOR(ctx, msg), nil
}

func (d direct) Message(context.Context, []byte) ([]byte, error) {
	return nil, errors.New("direct: no U2F")
}

// newKey is an authenticator with built-in UV driven by script, and a
// client for it.
func newKey(t *testing.T, script *authenticator.UVScript) (*authenticator.Authenticator, *ctap2.Client) {
	t.Helper()
	p := authenticator.DefaultProfile()
	p.UV = true
	rnd := rand.NewChaCha8([32]byte{3})
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	a, err := authenticator.New(authenticator.Config{
		Profile: p, Store: &store.Memory{}, Keys: keys.NewSoftware(rnd), Rand: rnd, Verifier: script,
		Now: func() time.Time { return now },
	})
	require.NoError(t, err)
	return a, ctap2.NewClient(direct{a})
}

func TestClientFlows(t *testing.T) {
	for _, p := range []pinuv.Protocol{pinuv.One, pinuv.Two} {
		script := &authenticator.UVScript{}
		_, c := newKey(t, script)
		ctx := context.Background()
		pc := pinuv.NewClient(c, p, rand.NewChaCha8([32]byte{4}))

		require.NoError(t, pc.SetPIN(ctx, "1234"), "protocol %d: SetPIN", p.Version())
		retries, powerCycle, err := pc.Retries(ctx)
		require.NoError(t, err)
		require.Equal(t, 8, retries)
		require.False(t, powerCycle)

		_, err = pc.PINToken(ctx, "9999", pinuv.PermGetAssertion, "example.com")
		require.ErrorIs(t, err, ctap2.ErrPINInvalid, "wrong PIN")
		retries, _, err = pc.Retries(ctx)
		require.NoError(t, err)
		require.Equal(t, 7, retries)

		require.NoError(t, pc.ChangePIN(ctx, "1234", "24680"))
		_, err = pc.PINToken(ctx, "1234", pinuv.PermGetAssertion, "example.com")
		require.ErrorIs(t, err, ctap2.ErrPINInvalid, "old PIN after ChangePIN")
		token, err := pc.PINToken(ctx, "24680", pinuv.PermMakeCredential, "example.com")
		require.NoError(t, err)

		// The token authorises a makeCredential with UV.
		req := &ctap2.MakeCredentialRequest{
			ClientDataHash:   make([]byte, 32),
			RP:               &ctap2.RPEntity{ID: "example.com"},
			User:             &ctap2.UserEntity{ID: []byte{1}, Name: "u"},
			PubKeyCredParams: []ctap2.CredentialParam{{Type: "public-key", Alg: ctap2.AlgES256}},
		}
		req.PinUvAuthProtocol, req.PinUvAuthParam = p.Version(), token.Authenticate(req.ClientDataHash)
		resp, err := c.MakeCredential(ctx, req)
		require.NoError(t, err)
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)
		require.NotZero(t, ad.Flags&ctap2.FlagUV, "UV flag")

		// Built-in UV.
		uvRetries, err := pc.UVRetries(ctx)
		require.NoError(t, err)
		require.Equal(t, 8, uvRetries)
		script.Next(false)
		_, err = pc.UVToken(ctx, pinuv.PermGetAssertion, "example.com")
		require.ErrorIs(t, err, ctap2.ErrUVInvalid)
		uvRetries, err = pc.UVRetries(ctx)
		require.NoError(t, err)
		require.Equal(t, 7, uvRetries)
		uvToken, err := pc.UVToken(ctx, pinuv.PermGetAssertion, "example.com")
		require.NoError(t, err)
		require.Len(t, uvToken.Token, 32)

		require.ErrorIs(t, pc.SetPIN(ctx, "1111"), ctap2.ErrNotAllowed, "second SetPIN")
	}
}

func TestClientPINTooLong(t *testing.T) {
	_, c := newKey(t, &authenticator.UVScript{})
	pc := pinuv.NewClient(c, pinuv.Two, nil)
	long := string(make([]byte, 65))
	require.ErrorIs(t, pc.SetPIN(context.Background(), long), pinuv.ErrPINTooLong)
	require.ErrorIs(t, pc.ChangePIN(context.Background(), "1234", long), pinuv.ErrPINTooLong)
	// 64 bytes fit the padding but break the PIN policy.
	err := pc.SetPIN(context.Background(), string(make([]byte, 63))+"1")
	require.ErrorIs(t, err, ctap2.ErrPINPolicyViolation)
}

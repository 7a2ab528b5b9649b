package authenticator

import (
	"context"
	"math/rand/v2"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store/vault"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// wrongPIN sends a token request with a wrong PIN and returns the status.
func (k *testKey) wrongPIN() ctap2.Status {
	k.t.Helper()
	req, _ := k.tokenRequest(2, "0000", PermGetAssertion, "example.com")
	status, _ := k.clientPIN(req)
	return status
}

func TestPINLockout(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(2, "1234")

	// Three wrong in a row: PIN_AUTH_BLOCKED until a power cycle, and
	// every wrong PIN makes a new key agreement key.
	_, before := k.sharedSecret(2)
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN(), "first wrong PIN")
	_, afterWrong := k.sharedSecret(2)
	require.NotEqual(t, before, afterWrong, "key agreement key not regenerated after a wrong PIN")
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN(), "second wrong PIN")
	require.Equal(t, ctap2.ErrPINAuthBlocked, k.wrongPIN(), "third wrong PIN")
	retries, powerCycle := k.pinRetries()
	require.Equal(t, 5, retries)
	require.True(t, powerCycle, "powerCycleState after three wrong PINs")

	// Blocked: even the right PIN is refused, and nothing is counted.
	req, _ := k.tokenRequest(2, "1234", PermGetAssertion, "example.com")
	status, _ := k.clientPIN(req)
	require.Equal(t, ctap2.ErrPINAuthBlocked, status, "right PIN while PIN_AUTH_BLOCKED")
	status, _ = k.clientPIN(k.changePINRequest(2, "1234", "5678"))
	require.Equal(t, ctap2.ErrPINAuthBlocked, status, "changePIN while PIN_AUTH_BLOCKED")
	retries, _ = k.pinRetries()
	require.Equal(t, 5, retries, "attempts counted while PIN_AUTH_BLOCKED")

	k.PowerCycle()
	retries, powerCycle = k.pinRetries()
	require.Equal(t, 5, retries, "a power cycle restored retries")
	require.False(t, powerCycle)
	// A right PIN restores the retries and the count in a row.
	k.pinToken(2, "1234", PermGetAssertion, "example.com")
	retries, _ = k.pinRetries()
	require.Equal(t, 8, retries)
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN())
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN())
	k.pinToken(2, "1234", PermGetAssertion, "example.com")
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN(), "count in a row not reset by a right PIN")
}

func TestPINBlocked(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(1, "1234")
	want := []ctap2.Status{ctap2.ErrPINInvalid, ctap2.ErrPINInvalid, ctap2.ErrPINAuthBlocked}
	for i := range 8 {
		if i > 0 && i%3 == 0 {
			k.PowerCycle()
		}
		status := k.wrongPIN()
		if i == 7 {
			require.Equal(t, ctap2.ErrPINBlocked, status, "eighth wrong PIN")
		} else {
			require.Equal(t, want[i%3], status, "wrong PIN %d", i+1)
		}
	}
	k.PowerCycle()
	retries, _ := k.pinRetries()
	require.Zero(t, retries)
	before := k.record()
	req, _ := k.tokenRequest(2, "1234", PermGetAssertion, "example.com")
	status, _ := k.clientPIN(req)
	require.Equal(t, ctap2.ErrPINBlocked, status, "right PIN once blocked")
	status, _ = k.clientPIN(k.changePINRequest(2, "1234", "5678"))
	require.Equal(t, ctap2.ErrPINBlocked, status, "changePIN once blocked")
	require.Equal(t, before, k.record(), "a blocked PIN check changed the record")

	// Only reset helps.
	status, _ = k.do(ctap2.CmdReset, nil)
	require.Equal(t, ctap2.StatusOK, status, "reset: %v", status)
	require.Nil(t, k.record().PINHash)
	status = k.wrongPIN()
	require.Equal(t, ctap2.ErrPINNotSet, status, "token request after reset")
	k.setPIN(2, "2468")
	retries, _ = k.pinRetries()
	require.Equal(t, 8, retries)
}

// vaultKey is a key on a vault in dir, as softkey runs it.
func vaultKey(t *testing.T, dir string) (*Authenticator, *vault.Vault) {
	t.Helper()
	v, err := vault.Open(dir, vault.Options{})
	require.NoError(t, err)
	rnd := rand.NewChaCha8([32]byte{5})
	a, err := New(Config{Profile: DefaultProfile(), Store: v, Keys: keys.NewSoftware(rnd), Rand: rnd})
	require.NoError(t, err)
	return a, v
}

func TestPINRetriesSurviveRestart(t *testing.T) {
	dir := t.TempDir()
	a, v := vaultKey(t, dir)
	k := &testKey{Authenticator: a, t: t}
	k.setPIN(2, "1234")
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN())
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN())
	require.NoError(t, v.Close())

	a, v = vaultKey(t, dir)
	k = &testKey{Authenticator: a, t: t}
	retries, powerCycle := k.pinRetries()
	require.Equal(t, 6, retries, "retries after a restart")
	require.False(t, powerCycle)
	// A restart is a power cycle: the count in a row starts again, the
	// retries do not.
	for range 6 {
		if k.wrongPIN() == ctap2.ErrPINAuthBlocked {
			k.PowerCycle()
		}
	}
	retries, _ = k.pinRetries()
	require.Zero(t, retries)
	require.NoError(t, v.Close())

	a, v = vaultKey(t, dir)
	k = &testKey{Authenticator: a, t: t}
	req, _ := k.tokenRequest(2, "1234", PermGetAssertion, "example.com")
	status, _ := k.clientPIN(req)
	require.Equal(t, ctap2.ErrPINBlocked, status, "PIN_BLOCKED after a restart")
	status = ctap2.Status(a.HandleCBOR(context.Background(), []byte{byte(ctap2.CmdReset)})[0])
	require.Equal(t, ctap2.StatusOK, status, "reset: %v", status)
	require.NoError(t, v.Close())

	a, v = vaultKey(t, dir)
	defer v.Close()
	k = &testKey{Authenticator: a, t: t}
	require.False(t, k.infoOptions(k.dev)["clientPin"], "PIN survived reset and restart")
	k.setPIN(2, "1357")
	retries, _ = k.pinRetries()
	require.Equal(t, 8, retries)
}

func TestResetForgetsPINState(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(2, "1234")
	token := k.pinToken(2, "1234", PermGetAssertion, "example.com")
	_, oldSecret := k.sharedSecret(2)
	require.Equal(t, ctap2.ErrPINInvalid, k.wrongPIN())
	status, _ := k.do(ctap2.CmdReset, nil)
	require.Equal(t, ctap2.StatusOK, status)
	require.False(t, k.tokenValid(2, token, PermGetAssertion, "example.com"), "token survived reset")
	_, newSecret := k.sharedSecret(2)
	require.NotEqual(t, oldSecret, newSecret, "key agreement key survived reset")
	rec := k.record()
	require.Nil(t, rec.PINHash)
	require.Zero(t, rec.PINFailures)

	// Outside the reset window nothing is forgotten.
	k.setPIN(2, "1234")
	k.clock.advance(resetWindow + 1)
	status, _ = k.do(ctap2.CmdReset, nil)
	require.Equal(t, ctap2.ErrNotAllowed, status)
	k.pinToken(2, "1234", PermGetAssertion, "example.com")
}

// mcMap is req as a map with integer keys plus extra, so that fields the
// struct omits when empty (a zero-length pinUvAuthParam) can be sent.
func mcMap(req *ctap2.MakeCredentialRequest, extra map[int]any) map[int]any {
	m := map[int]any{1: req.ClientDataHash, 2: req.RP, 3: req.User, 4: req.PubKeyCredParams}
	if req.Options != nil {
		m[7] = req.Options
	}
	for k, v := range extra {
		m[k] = v
	}
	return m
}

func TestMakeCredentialPINUV(t *testing.T) {
	mcUvNotRqd := DefaultProfile()
	mcUvNotRqd.MakeCredUVNotRequired = true
	alwaysUV := DefaultProfile()
	alwaysUV.AlwaysUV = true
	noMcGa := DefaultProfile()
	noMcGa.NoMcGaPermissionsWithClientPIN = true

	type setup struct {
		profile *Profile
		pin     bool
	}
	tests := []struct {
		name     string
		setup    setup
		request  func(k *testKey) any
		want     ctap2.Status
		uv       bool // UV flag in the answer
		touches  int  // presence requests
		credsAdd int
	}{
		{"no PIN, no UV", setup{nil, false}, func(k *testKey) any { return mcRequest("example.com", "u") }, ctap2.StatusOK, false, 1, 0},
		{"PIN set, no token", setup{nil, true}, func(k *testKey) any { return mcRequest("example.com", "u") }, ctap2.ErrPUATRequired, false, 0, 0},
		{"PIN set, token", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, 1, 0},
		{"PIN set, token, rk", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			req.Options = map[string]bool{"rk": true}
			token := k.pinToken(1, "1234", PermMakeCredential, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 1, authParam(1, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, 1, 1},
		{"token with uv=true ignores the option", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			req.Options = map[string]bool{"uv": true}
			token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, 1, 0},
		{"getPinToken token binds on use", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			r, secret := k.tokenRequest(2, "1234", 0, "")
			r.SubCommand = ctap2.PINGetPinToken
			_, resp := k.clientPIN(r)
			token, _ := pinuv.Two.Decrypt(secret, resp.PinUvAuthToken)
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, 1, 0},
		{"token without mc", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			token := k.pinToken(2, "1234", PermGetAssertion, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.ErrPINAuthInvalid, false, 0, 0},
		{"token for another RP", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			token := k.pinToken(2, "1234", PermMakeCredential, "other.example")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.ErrPINAuthInvalid, false, 0, 0},
		{"param over another clientDataHash", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, clientDataHash(2))
			return req
		}, ctap2.ErrPINAuthInvalid, false, 0, 0},
		{"token of protocol 2 sent as protocol 1", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 1, authParam(1, token, req.ClientDataHash)
			return req
		}, ctap2.ErrPINAuthInvalid, false, 0, 0},
		{"expired token", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
			k.clock.advance(initialUsageTimeLimit + 1)
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.ErrPINAuthInvalid, false, 0, 0},
		{"param without protocol", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			req.PinUvAuthParam = make([]byte, 32)
			return req
		}, ctap2.ErrMissingParameter, false, 0, 0},
		{"param with protocol 3", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 3, make([]byte, 32)
			return req
		}, ctap2.ErrInvalidParameter, false, 0, 0},
		{"param without a PIN", setup{nil, false}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, make([]byte, 32)
			return req
		}, ctap2.ErrPINNotSet, false, 0, 0},
		{"zero-length param, PIN set", setup{nil, true}, func(k *testKey) any {
			return mcMap(mcRequest("example.com", "u"), map[int]any{8: []byte{}, 9: 2})
		}, ctap2.ErrPINInvalid, false, 1, 0},
		{"zero-length param, no PIN", setup{nil, false}, func(k *testKey) any {
			return mcMap(mcRequest("example.com", "u"), map[int]any{8: []byte{}})
		}, ctap2.ErrPINNotSet, false, 1, 0},
		{"uv=true without built-in UV", setup{nil, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			req.Options = map[string]bool{"uv": true}
			return req
		}, ctap2.ErrInvalidOption, false, 0, 0},
		{"makeCredUvNotRqd, non-discoverable", setup{mcUvNotRqd, true}, func(k *testKey) any { return mcRequest("example.com", "u") }, ctap2.StatusOK, false, 1, 0},
		{"makeCredUvNotRqd, discoverable", setup{mcUvNotRqd, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			req.Options = map[string]bool{"rk": true}
			return req
		}, ctap2.ErrPUATRequired, false, 0, 0},
		{"alwaysUv, no PIN yet", setup{alwaysUV, false}, func(k *testKey) any { return mcRequest("example.com", "u") }, ctap2.ErrPUATRequired, false, 0, 0},
		{"alwaysUv with makeCredUvNotRqd", setup{func() *Profile { p := DefaultProfile(); p.AlwaysUV, p.MakeCredUVNotRequired = true, true; return p }(), true},
			func(k *testKey) any { return mcRequest("example.com", "u") }, ctap2.ErrPUATRequired, false, 0, 0},
		{"alwaysUv, token", setup{alwaysUV, true}, func(k *testKey) any {
			req := mcRequest("example.com", "u")
			token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, 1, 0},
		{"noMcGaPermissionsWithClientPin, PIN set", setup{noMcGa, true}, func(k *testKey) any { return mcRequest("example.com", "u") }, ctap2.ErrOperationDenied, false, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, tt.setup.profile)
			if tt.setup.pin {
				k.setPIN(2, "1234")
			}
			msg := tt.request(k)
			before := k.record()
			credsBefore, err := k.store.CountCredentials()
			require.NoError(t, err)
			status, body := k.do(ctap2.CmdMakeCredential, msg)
			require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
			require.Len(t, k.presence.requests, tt.touches, "presence requests")
			credsAfter, err := k.store.CountCredentials()
			require.NoError(t, err)
			require.Equal(t, credsBefore+tt.credsAdd, credsAfter, "discoverable credentials")
			require.Equal(t, before, k.record(), "makeCredential changed the device record")
			if status != ctap2.StatusOK {
				return
			}
			var resp ctap2.MakeCredentialResponse
			require.NoError(t, ctap2.Unmarshal(body, &resp))
			ad, err := ctap2.ParseAuthData(resp.AuthData)
			require.NoError(t, err)
			require.Equal(t, tt.uv, ad.Flags&ctap2.FlagUV != 0, "UV flag")
			require.True(t, ad.Flags&ctap2.FlagUP != 0, "UP flag")
		})
	}
}

func TestTokenUsedUpByMakeCredential(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(2, "1234")
	token := k.pinToken(2, "1234", PermMakeCredential|PermGetAssertion|PermLargeBlobWrite, "example.com")
	req := mcRequest("example.com", "u")
	req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
	k.makeCredential(req)
	// clearUserVerifiedFlag and clearPinUvAuthTokenPermissionsExceptLbw
	// (CTAP 2.1 §6.1.2 step 14): the token makes no second credential and
	// no assertion, but may still write large blobs.
	status, _ := k.do(ctap2.CmdMakeCredential, req)
	require.Equal(t, ctap2.ErrPINAuthInvalid, status, "second makeCredential with one token")
	require.Equal(t, PermLargeBlobWrite, k.pin.permissions)
	require.True(t, k.tokenValid(2, token, PermLargeBlobWrite, "example.com"), "lbw gone with the rest")
}

func TestGetAssertionPINUV(t *testing.T) {
	alwaysUV := DefaultProfile()
	alwaysUV.AlwaysUV = true
	tests := []struct {
		name     string
		profile  *Profile
		pin      bool
		request  func(k *testKey, req *ctap2.GetAssertionRequest) any
		want     ctap2.Status
		uv, up   bool
		touches  int
		fullUser bool
	}{
		{"no UV with a PIN set", nil, true, func(k *testKey, req *ctap2.GetAssertionRequest) any { return req }, ctap2.StatusOK, false, true, 1, false},
		{"token", nil, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			token := k.pinToken(2, "1234", PermGetAssertion, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, true, 1, true},
		{"token, up=false", nil, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			token := k.pinToken(1, "1234", PermGetAssertion, "example.com")
			req.Options = map[string]bool{"up": false}
			req.PinUvAuthProtocol, req.PinUvAuthParam = 1, authParam(1, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, false, 0, true},
		{"token without ga", nil, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.ErrPINAuthInvalid, false, false, 0, false},
		{"token for another RP", nil, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			token := k.pinToken(2, "1234", PermGetAssertion, "other.example")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.ErrPINAuthInvalid, false, false, 0, false},
		{"zero-length param", nil, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			return map[int]any{1: req.RPID, 2: req.ClientDataHash, 6: []byte{}, 7: 2}
		}, ctap2.ErrPINInvalid, false, false, 1, false},
		{"uv=true without built-in UV", nil, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			req.Options = map[string]bool{"uv": true}
			return req
		}, ctap2.ErrInvalidOption, false, false, 0, false},
		{"alwaysUv, no token", alwaysUV, true, func(k *testKey, req *ctap2.GetAssertionRequest) any { return req }, ctap2.ErrPUATRequired, false, false, 0, false},
		{"alwaysUv, up=false", alwaysUV, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			req.Options = map[string]bool{"up": false}
			return req
		}, ctap2.StatusOK, false, false, 0, false},
		{"alwaysUv, token", alwaysUV, true, func(k *testKey, req *ctap2.GetAssertionRequest) any {
			token := k.pinToken(2, "1234", PermGetAssertion, "example.com")
			req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
			return req
		}, ctap2.StatusOK, true, true, 1, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, tt.profile)
			// A discoverable credential made before the PIN, when
			// alwaysUv permits, or with a token.
			mc := mcRequest("example.com", "alice")
			mc.Options = map[string]bool{"rk": true}
			if tt.pin {
				k.setPIN(2, "1234")
				token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
				mc.PinUvAuthProtocol, mc.PinUvAuthParam = 2, authParam(2, token, mc.ClientDataHash)
			}
			k.makeCredential(mc)
			k.presence.requests = nil
			before := k.record()

			msg := tt.request(k, &ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(3)})
			status, body := k.do(ctap2.CmdGetAssertion, msg)
			require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
			require.Len(t, k.presence.requests, tt.touches, "presence requests")
			require.Equal(t, before, k.record(), "getAssertion changed the device record")
			if status != ctap2.StatusOK {
				return
			}
			var resp ctap2.GetAssertionResponse
			require.NoError(t, ctap2.Unmarshal(body, &resp))
			ad, err := ctap2.ParseAuthData(resp.AuthData)
			require.NoError(t, err)
			require.Equal(t, tt.uv, ad.Flags&ctap2.FlagUV != 0, "UV flag")
			require.Equal(t, tt.up, ad.Flags&ctap2.FlagUP != 0, "UP flag")
			require.NotNil(t, resp.User)
			require.Equal(t, tt.fullUser, resp.User.Name != "", "user name returned: %+v", resp.User)
		})
	}
}

func TestGetAssertionTokenReuse(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(2, "1234")
	mc := mcRequest("example.com", "alice")
	token := k.pinToken(2, "1234", PermMakeCredential, "example.com")
	mc.PinUvAuthProtocol, mc.PinUvAuthParam = 2, authParam(2, token, mc.ClientDataHash)
	resp, _ := k.makeCredential(mc)
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	credID := ad.Attested.CredentialID

	token = k.pinToken(2, "1234", PermGetAssertion, "example.com")
	ga := &ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(4), AllowList: allow(credID)}
	ga.PinUvAuthProtocol, ga.PinUvAuthParam = 2, authParam(2, token, ga.ClientDataHash)
	// Silent assertions (up=false) do not use the token up.
	ga.Options = map[string]bool{"up": false}
	k.getAssertion(ga)
	k.getAssertion(ga)
	// One with user presence does.
	ga.Options = nil
	k.getAssertion(ga)
	status, _ := k.do(ctap2.CmdGetAssertion, ga)
	require.Equal(t, ctap2.ErrPINAuthInvalid, status, "getAssertion with a used-up token")
}

func TestGetPinTokenBindsOnFirstUse(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(2, "1234")
	for _, rp := range []string{"example.com", "other.example"} {
		mc := mcRequest(rp, "alice")
		mc.Options = map[string]bool{"rk": true}
		token := k.pinToken(2, "1234", PermMakeCredential, rp)
		mc.PinUvAuthProtocol, mc.PinUvAuthParam = 2, authParam(2, token, mc.ClientDataHash)
		k.makeCredential(mc)
	}
	req, secret := k.tokenRequest(2, "1234", 0, "")
	req.SubCommand = ctap2.PINGetPinToken
	status, resp := k.clientPIN(req)
	require.Equal(t, ctap2.StatusOK, status)
	token, err := pinuv.Two.Decrypt(secret, resp.PinUvAuthToken)
	require.NoError(t, err)
	ga := func(rp string) ctap2.Status {
		req := &ctap2.GetAssertionRequest{RPID: rp, ClientDataHash: clientDataHash(6), Options: map[string]bool{"up": false}, PinUvAuthProtocol: 2}
		req.PinUvAuthParam = authParam(2, token, req.ClientDataHash)
		status, _ := k.do(ctap2.CmdGetAssertion, req)
		return status
	}
	require.Equal(t, ctap2.StatusOK, ga("example.com"), "first use of a getPinToken token")
	require.Equal(t, "example.com", k.pin.rpID, "token not bound by its first use")
	require.Equal(t, ctap2.ErrPINAuthInvalid, ga("other.example"), "token used for a second RP")
	require.Equal(t, ctap2.StatusOK, ga("example.com"))
}

package authenticator

import (
	"context"
	"fmt"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// uvProfile is the default profile with plain built-in UV.
func uvProfile(mod func(*Profile)) *Profile {
	p := DefaultProfile()
	p.UV = true
	if mod != nil {
		mod(p)
	}
	return p
}

// newUVKey is a test key with built-in UV driven by a script.
func newUVKey(t *testing.T, p *Profile) (*testKey, *UVScript) {
	k := newTestKey(t, p)
	script := &UVScript{}
	k.useVerifier(script)
	return k, script
}

func TestUVScript(t *testing.T) {
	s := &UVScript{}
	ctx := context.Background()
	require.NoError(t, s.VerifyUser(ctx, VerifyRequest{}), "zero value must match")
	s.Next(false, true, false)
	s.SetDefault(false)
	want := []error{ErrUVNoMatch, nil, ErrUVNoMatch, ErrUVNoMatch}
	for i, w := range want {
		err := s.VerifyUser(ctx, VerifyRequest{Operation: "token"})
		if w == nil {
			require.NoError(t, err, "outcome %d", i)
		} else {
			require.ErrorIs(t, err, w, "outcome %d", i)
		}
	}
	s.SetDefault(true)
	require.NoError(t, s.VerifyUser(ctx, VerifyRequest{}), "default set back to a match")
}

func TestUVScriptOrderAndCancel(t *testing.T) {
	s := &UVScript{}
	s.Next(true, false)
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, s.VerifyUser(cancelled, VerifyRequest{}), context.Canceled)
	require.NoError(t, s.VerifyUser(context.Background(), VerifyRequest{RPID: "a"}), "queued outcome used by a cancelled call")
	require.ErrorIs(t, s.VerifyUser(context.Background(), VerifyRequest{RPID: "b"}), ErrUVNoMatch)
	require.Equal(t, []VerifyRequest{{RPID: "a"}, {RPID: "b"}}, s.Requests())

	// Concurrent use: every queued outcome is used exactly once.
	s = &UVScript{}
	s.SetDefault(false)
	for range 50 {
		s.Next(true)
	}
	var wg sync.WaitGroup
	var mu sync.Mutex
	passed := 0
	for range 100 {
		wg.Go(func() {
			if s.VerifyUser(context.Background(), VerifyRequest{}) == nil {
				mu.Lock()
				passed++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	require.Equal(t, 50, passed)
}

func TestUVToken(t *testing.T) {
	k, script := newUVKey(t, uvProfile(nil))
	require.Equal(t, 8, k.uvRetries())
	token := k.uvToken(2, PermMakeCredential|PermGetAssertion, "example.com")
	require.True(t, k.tokenUserPresent(), "a built-in UV token carries user presence")
	require.Equal(t, []VerifyRequest{{Operation: "token", RPID: "example.com"}}, script.Requests())

	// makeCredential with it needs no touch: the token's user presence
	// stands in (CTAP 2.1 §6.1.2 step 14), and is then used up.
	req := mcRequest("example.com", "u")
	req.PinUvAuthProtocol, req.PinUvAuthParam = 2, authParam(2, token, req.ClientDataHash)
	_, ad := k.makeCredential(req)
	require.Empty(t, k.presence.requests, "touch asked although the token carried presence")
	require.NotZero(t, ad.Flags&ctap2.FlagUV, "UV flag")
	require.NotZero(t, ad.Flags&ctap2.FlagUP, "UP flag")
	require.False(t, k.tokenUserPresent(), "user presence not used up")
}

func TestUVTokenBadInput(t *testing.T) {
	type build func(k *testKey) any
	withUV := func(perms Permission, rpID string, mutate func(*ctap2.ClientPINRequest)) build {
		return func(k *testKey) any {
			r, _ := k.uvTokenRequest(2, perms, rpID)
			if mutate != nil {
				mutate(r)
			}
			return r
		}
	}
	bio := uvProfile(func(p *Profile) { p.BioEnroll = true })
	noMcGa := uvProfile(func(p *Profile) { p.NoMcGaPermissionsWithClientPIN = true })
	tests := []struct {
		name     string
		profile  *Profile
		outcome  []bool
		failures int // UV failures before
		build    build
		want     ctap2.Status
		counted  bool // a UV failure is counted
	}{
		{"missing protocol", nil, nil, 0, withUV(PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.PinUvAuthProtocol = 0 }), ctap2.ErrMissingParameter, false},
		{"missing keyAgreement", nil, nil, 0, withUV(PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.KeyAgreement = nil }), ctap2.ErrMissingParameter, false},
		{"missing permissions", nil, nil, 0, withUV(0, "example.com", nil), ctap2.ErrMissingParameter, false},
		{"permissions 0", nil, nil, 0, func(k *testKey) any {
			r, _ := k.uvTokenRequest(2, 0, "")
			return map[int]any{1: 2, 2: ctap2.PINGetPinUvAuthTokenUsingUvWithPerms, 3: r.KeyAgreement, 9: 0}
		}, ctap2.ErrInvalidParameter, false},
		{"protocol 9", nil, nil, 0, withUV(PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.PinUvAuthProtocol = 9 }), ctap2.ErrInvalidParameter, false},
		{"ga without rpId", nil, nil, 0, withUV(PermGetAssertion, "", nil), ctap2.ErrMissingParameter, false},
		{"be without bioEnroll", nil, nil, 0, withUV(PermBioEnrollment, "", nil), ctap2.ErrUnauthorizedPermission, false},
		{"bad key agreement", nil, nil, 0, withUV(PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.KeyAgreement = badKeyAgreement() }), ctap2.ErrInvalidParameter, false},
		{"no fingerprint enrolled", bio, nil, 0, withUV(PermGetAssertion, "example.com", nil), ctap2.ErrNotAllowed, false},
		{"no match", nil, []bool{false}, 0, withUV(PermGetAssertion, "example.com", nil), ctap2.ErrUVInvalid, true},
		{"last retry fails", nil, []bool{false}, 7, withUV(PermGetAssertion, "example.com", nil), ctap2.ErrUVBlocked, true},
		{"blocked", nil, []bool{true}, 8, withUV(PermGetAssertion, "example.com", nil), ctap2.ErrUVBlocked, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.profile
			if p == nil {
				p = uvProfile(nil)
			}
			k, script := newUVKey(t, p)
			k.setPIN(2, "1234")
			old := k.pinToken(2, "1234", PermCredentialManagement, "")
			require.NoError(t, k.updateDevice(func(d *store.Device) error { d.UVFailures = tt.failures; return nil }))
			script.Next(tt.outcome...)
			before := k.record()
			status, _ := k.do(ctap2.CmdClientPIN, tt.build(k))
			require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
			after := k.record()
			want := tt.failures
			if tt.counted {
				want++
			}
			require.Equal(t, want, after.UVFailures, "UV failures")
			after.UVFailures = before.UVFailures
			require.Equal(t, before, after, "refused request changed the device record")
			require.True(t, k.tokenValid(2, old, PermCredentialManagement, ""), "earlier token void after a refused request")
		})
	}
	t.Run("noMcGaPermissionsWithClientPin allows mc with UV", func(t *testing.T) {
		k, _ := newUVKey(t, noMcGa)
		k.uvToken(2, PermMakeCredential, "example.com")
	})
}

func TestUVRetries(t *testing.T) {
	k, script := newUVKey(t, uvProfile(func(p *Profile) { p.UVRetries = 3 }))
	script.SetDefault(false)
	req := func() ctap2.Status {
		r, _ := k.uvTokenRequest(2, PermGetAssertion, "example.com")
		status, _ := k.clientPIN(r)
		return status
	}
	require.Equal(t, ctap2.ErrUVInvalid, req())
	require.Equal(t, 2, k.uvRetries())
	script.Next(true)
	require.Equal(t, ctap2.StatusOK, req())
	require.Equal(t, 3, k.uvRetries(), "a match did not restore the retries")
	require.Equal(t, ctap2.ErrUVInvalid, req())
	require.Equal(t, ctap2.ErrUVInvalid, req())
	require.Equal(t, ctap2.ErrUVBlocked, req())
	require.Zero(t, k.uvRetries())
	k.PowerCycle()
	script.Next(true)
	require.Equal(t, ctap2.ErrUVBlocked, req(), "UV unblocked by a power cycle")
	require.Len(t, script.Requests(), 5, "the verifier was asked while blocked")

	// Built-in UV falls back on the PIN, whose right entry unblocks it.
	k.setPIN(2, "1234")
	k.pinToken(2, "1234", PermGetAssertion, "example.com")
	require.Equal(t, 3, k.uvRetries(), "the right PIN did not restore the UV retries")
	require.NoError(t, k.updateDevice(func(d *store.Device) error { d.UVFailures = 3; return nil }))

	status, _ := k.do(ctap2.CmdReset, nil)
	require.Equal(t, ctap2.StatusOK, status)
	require.Equal(t, 3, k.uvRetries(), "reset did not restore the UV retries")
	require.Equal(t, ctap2.StatusOK, req())
}

func TestBuiltInUVInRequests(t *testing.T) {
	tests := []struct {
		name     string
		profile  *Profile
		pin      bool
		failures int
		outcome  []bool
		ga       bool
		options  map[string]bool
		want     ctap2.Status
		counted  bool
	}{
		{"mc uv=true", nil, false, 0, []bool{true}, false, map[string]bool{"uv": true}, ctap2.StatusOK, false},
		{"ga uv=true", nil, false, 0, []bool{true}, true, map[string]bool{"uv": true}, ctap2.StatusOK, false},
		{"mc uv=true no match", nil, false, 0, []bool{false}, false, map[string]bool{"uv": true}, ctap2.ErrOperationDenied, true},
		{"ga uv=true no match", nil, false, 0, []bool{false}, true, map[string]bool{"uv": true}, ctap2.ErrOperationDenied, true},
		{"mc no match, PIN to fall back on", nil, true, 0, []bool{false}, false, map[string]bool{"uv": true}, ctap2.ErrPUATRequired, true},
		{"mc UV blocked, no PIN", nil, false, 8, []bool{true}, false, map[string]bool{"uv": true}, ctap2.ErrPINBlocked, false},
		{"ga UV blocked, PIN set", nil, true, 8, []bool{true}, true, map[string]bool{"uv": true}, ctap2.ErrPUATRequired, false},
		{"mc without uv, UV configured, no PIN", nil, false, 0, nil, false, nil, ctap2.ErrOperationDenied, false},
		{"mc uv=true, fingerprint not enrolled", uvProfile(func(p *Profile) { p.BioEnroll = true }), false, 0, nil, false, map[string]bool{"uv": true}, ctap2.ErrInvalidOption, false},
		{"ga alwaysUv uses built-in UV", uvProfile(func(p *Profile) { p.AlwaysUV = true }), false, 0, []bool{true}, true, nil, ctap2.StatusOK, false},
		{"ga alwaysUv, no match", uvProfile(func(p *Profile) { p.AlwaysUV = true }), false, 0, []bool{false}, true, nil, ctap2.ErrOperationDenied, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.profile
			if p == nil {
				p = uvProfile(nil)
			}
			k, script := newUVKey(t, p)
			var credID []byte
			if tt.ga {
				mc := mcRequest("example.com", "alice")
				mc.Options = map[string]bool{"rk": true, "uv": true}
				resp, _ := k.makeCredential(mc)
				ad, err := ctap2.ParseAuthData(resp.AuthData)
				require.NoError(t, err)
				credID = ad.Attested.CredentialID
			}
			if tt.pin {
				k.setPIN(2, "1234")
			}
			require.NoError(t, k.updateDevice(func(d *store.Device) error { d.UVFailures = tt.failures; return nil }))
			k.presence.requests = nil
			script.Next(tt.outcome...)
			before := k.record()
			var status ctap2.Status
			var body []byte
			if tt.ga {
				status, body = k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(5), Options: tt.options})
			} else {
				req := mcRequest("example.com", "bob")
				req.Options = tt.options
				status, body = k.do(ctap2.CmdMakeCredential, req)
			}
			require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
			require.Empty(t, k.presence.requests, "a touch was asked besides built-in UV")
			after := k.record()
			want := tt.failures
			if tt.counted {
				want++
			}
			require.Equal(t, want, after.UVFailures, "UV failures")
			after.UVFailures = before.UVFailures
			require.Equal(t, before, after)
			if status != ctap2.StatusOK {
				return
			}
			var authData []byte
			if tt.ga {
				var resp ctap2.GetAssertionResponse
				require.NoError(t, ctap2.Unmarshal(body, &resp))
				require.Equal(t, credID, resp.Credential.ID)
				require.Equal(t, "alice", resp.User.Name, "user name after UV")
				authData = resp.AuthData
			} else {
				var resp ctap2.MakeCredentialResponse
				require.NoError(t, ctap2.Unmarshal(body, &resp))
				authData = resp.AuthData
			}
			ad, err := ctap2.ParseAuthData(authData)
			require.NoError(t, err)
			require.NotZero(t, ad.Flags&ctap2.FlagUV, "UV flag")
			require.NotZero(t, ad.Flags&ctap2.FlagUP, "UP flag")
		})
	}
}

func TestBuiltInUVCancelled(t *testing.T) {
	k := newTestKey(t, uvProfile(nil))
	ctx, cancel := context.WithCancel(context.Background())
	k.useVerifier(VerifierFunc(func(context.Context, VerifyRequest) error {
		cancel()
		return context.Canceled
	}))
	r, _ := k.uvTokenRequest(2, PermGetAssertion, "example.com")
	msg, err := ctap2.Marshal(r)
	require.NoError(t, err)
	resp := k.HandleCBOR(ctx, append([]byte{byte(ctap2.CmdClientPIN)}, msg...))
	require.Equal(t, byte(ctap2.ErrKeepaliveCancel), resp[0], "got %v", ctap2.Status(resp[0]))
	require.Zero(t, k.record().UVFailures, "a cancelled UV counted as a failure")
}

func TestUVTokenGetAssertionSkipsTouch(t *testing.T) {
	k, _ := newUVKey(t, uvProfile(nil))
	mc := mcRequest("example.com", "alice")
	mc.Options = map[string]bool{"rk": true, "uv": true}
	k.makeCredential(mc)
	k.presence.requests = nil

	token := k.uvToken(2, PermGetAssertion, "example.com")
	ga := &ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(7), PinUvAuthProtocol: 2}
	ga.PinUvAuthParam = authParam(2, token, ga.ClientDataHash)
	resp := k.getAssertion(ga)
	require.Empty(t, k.presence.requests, "touch asked although the token carried presence")
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	require.NotZero(t, ad.Flags&ctap2.FlagUP, "UP flag")
	require.NotZero(t, ad.Flags&ctap2.FlagUV, "UV flag")
	require.Equal(t, "alice", resp.User.Name)
	status, _ := k.do(ctap2.CmdGetAssertion, ga)
	require.Equal(t, ctap2.ErrPINAuthInvalid, status, "second assertion with a used-up token")

	// Past userPresentTimeLimit a token used in time still verifies, but
	// a touch is needed.
	token = k.uvToken(2, PermGetAssertion, "example.com")
	silent := &ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(8), PinUvAuthProtocol: 2, Options: map[string]bool{"up": false}}
	silent.PinUvAuthParam = authParam(2, token, silent.ClientDataHash)
	k.getAssertion(silent)
	k.clock.advance(userPresentTimeLimit + 1)
	ga.PinUvAuthParam = authParam(2, token, ga.ClientDataHash)
	k.getAssertion(ga)
	require.Len(t, k.presence.requests, 1, "no touch asked after the user-present time limit")
}

// TestUVScriptRemembersRecentRequests: a long-running key keeps only the
// most recent requests.
func TestUVScriptRemembersRecentRequests(t *testing.T) {
	s := &UVScript{}
	for i := range uvScriptMemory + 10 {
		require.NoError(t, s.VerifyUser(context.Background(), VerifyRequest{RPID: fmt.Sprint(i)}))
	}
	got := s.Requests()
	require.Len(t, got, uvScriptMemory)
	require.Equal(t, "10", got[0].RPID, "oldest remembered")
	require.Equal(t, fmt.Sprint(uvScriptMemory+9), got[len(got)-1].RPID, "newest")
}

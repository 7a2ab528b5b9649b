package authenticator

import (
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// bareProfile is the default profile without credentialManagement,
// largeBlobs and authenticatorConfig (and what needs them), changed by mod.
func bareProfile(mod func(*Profile)) *Profile {
	p := DefaultProfile()
	p.CredentialManagement, p.LargeBlobs, p.AuthenticatorConfig, p.SetMinPINLength = false, false, false, false
	p.Extensions = slices.DeleteFunc(slices.Clone(p.Extensions), func(e string) bool { return e == ExtLargeBlobKey })
	if mod != nil {
		mod(p)
	}
	return p
}

// tokenValid reports whether token still authenticates a request with
// perm for rpID, without using it up.
func (k *testKey) tokenValid(protocol uint64, token []byte, perm Permission, rpID string) bool {
	msg := clientDataHash(9)
	if k.verifyPinUvAuthParam(protocol, authParam(protocol, token, msg), msg) != nil {
		return false
	}
	return k.pin.permissions&perm != 0 && (k.pin.rpID == "" || k.pin.rpID == rpID)
}

// badKeyAgreement is a COSE key that is not a P-256 point.
func badKeyAgreement() ctap2.RawMessage {
	b, err := ctap2.Marshal(map[int]any{1: 2, 3: -25, -1: 1, -2: make([]byte, 32), -3: make([]byte, 32)})
	if err != nil {
		panic(err)
	}
	return b
}

func TestClientPINSetPIN(t *testing.T) {
	for _, protocol := range []uint64{1, 2} {
		k := newTestKey(t, nil)
		k.setPIN(protocol, "1234")
		rec := k.record()
		sum := sha256.Sum256([]byte("1234"))
		require.Equal(t, sum[:16], rec.PINHash, "protocol %d: stored PIN hash", protocol)
		require.Equal(t, 4, rec.PINCodePoints)
		retries, powerCycle := k.pinRetries()
		require.Equal(t, 8, retries)
		require.False(t, powerCycle)
		require.True(t, k.infoOptions(k.dev)["clientPin"], "getInfo clientPin after setPIN")
		// The PIN works.
		require.Len(t, k.pinToken(protocol, "1234", PermGetAssertion, "example.com"), 32)
	}
}

func TestClientPINSetPINBadInput(t *testing.T) {
	pad := func(pin string, n int) []byte {
		b := make([]byte, n)
		copy(b, pin)
		return b
	}
	tests := []struct {
		name     string
		protocol uint64
		build    func(k *testKey) *ctap2.ClientPINRequest
		want     ctap2.Status
	}{
		{"missing protocol", 2, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(2, "1234")
			r.PinUvAuthProtocol = 0
			return r
		}, ctap2.ErrMissingParameter},
		{"missing keyAgreement", 2, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(2, "1234")
			r.KeyAgreement = nil
			return r
		}, ctap2.ErrMissingParameter},
		{"missing newPinEnc", 2, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(2, "1234")
			r.NewPINEnc = nil
			return r
		}, ctap2.ErrMissingParameter},
		{"missing pinUvAuthParam", 2, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(2, "1234")
			r.PinUvAuthParam = nil
			return r
		}, ctap2.ErrMissingParameter},
		{"protocol 3", 2, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(2, "1234")
			r.PinUvAuthProtocol = 3
			return r
		}, ctap2.ErrInvalidParameter},
		{"key agreement not on the curve", 2, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(2, "1234")
			r.KeyAgreement = badKeyAgreement()
			return r
		}, ctap2.ErrInvalidParameter},
		{"wrong pinUvAuthParam", 2, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(2, "1234")
			r.PinUvAuthParam[0] ^= 1
			return r
		}, ctap2.ErrPINAuthInvalid},
		{"protocol 1 param under protocol 2", 1, func(k *testKey) *ctap2.ClientPINRequest {
			r := k.setPINRequest(1, "1234")
			r.PinUvAuthProtocol = 2
			return r
		}, ctap2.ErrPINAuthInvalid},
		{"padded PIN of 32 bytes", 2, func(k *testKey) *ctap2.ClientPINRequest {
			return k.setPINRequestPadded(2, pad("1234", 32))
		}, ctap2.ErrInvalidParameter},
		{"padded PIN of 80 bytes", 1, func(k *testKey) *ctap2.ClientPINRequest {
			return k.setPINRequestPadded(1, pad("1234", 80))
		}, ctap2.ErrInvalidParameter},
		{"newPinEnc not whole blocks", 1, func(k *testKey) *ctap2.ClientPINRequest {
			p, _ := pinuv.ByVersion(1)
			platformKey, secret := k.sharedSecret(1)
			enc := make([]byte, 70)
			return &ctap2.ClientPINRequest{PinUvAuthProtocol: 1, SubCommand: ctap2.PINSetPIN, KeyAgreement: platformKey,
				NewPINEnc: enc, PinUvAuthParam: p.Authenticate(secret, enc)}
		}, ctap2.ErrPINAuthInvalid},
		{"PIN of 3 digits", 2, func(k *testKey) *ctap2.ClientPINRequest { return k.setPINRequest(2, "123") }, ctap2.ErrPINPolicyViolation},
		{"empty PIN", 2, func(k *testKey) *ctap2.ClientPINRequest { return k.setPINRequest(2, "") }, ctap2.ErrPINPolicyViolation},
		{"3 code points in 6 bytes", 2, func(k *testKey) *ctap2.ClientPINRequest { return k.setPINRequest(2, "ééé") }, ctap2.ErrPINPolicyViolation},
		{"PIN of 64 bytes", 2, func(k *testKey) *ctap2.ClientPINRequest {
			return k.setPINRequestPadded(2, []byte(strings.Repeat("7", 64)))
		}, ctap2.ErrPINPolicyViolation},
		{"PIN not UTF-8", 1, func(k *testKey) *ctap2.ClientPINRequest {
			return k.setPINRequestPadded(1, pad("\xff\xfe\xfd\xfc", 64))
		}, ctap2.ErrPINPolicyViolation},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, nil)
			before := k.record()
			status, _ := k.clientPIN(tt.build(k))
			require.Equal(t, tt.want, status, "setPIN %s: got %v, want %v", tt.name, status, tt.want)
			require.Equal(t, before, k.record(), "refused setPIN changed the device record")
			require.False(t, k.infoOptions(k.dev)["clientPin"], "refused setPIN set a PIN")
			// The key still accepts a first PIN.
			k.setPIN(tt.protocol, "5678")
		})
	}
}

func TestClientPINSetPINLimits(t *testing.T) {
	tests := []struct {
		name, pin string
		codes     int
	}{
		{"4 digits", "1234", 4},
		{"63 bytes", strings.Repeat("8", 63), 63},
		{"4 code points in 8 bytes", "éééé", 4},
		{"emoji", "🔑🔑🔑🔑", 4},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, nil)
			k.setPIN(2, tt.pin)
			require.Equal(t, tt.codes, k.record().PINCodePoints)
			k.pinToken(1, tt.pin, PermGetAssertion, "example.com")
		})
	}
	t.Run("raised minimum", func(t *testing.T) {
		k := newTestKey(t, nil)
		require.NoError(t, k.updateDevice(func(d *store.Device) error { d.MinPINLength = 6; return nil }))
		status, _ := k.clientPIN(k.setPINRequest(2, "12345"))
		require.Equal(t, ctap2.ErrPINPolicyViolation, status, "5-digit PIN under minimum 6")
		k.setPIN(2, "123456")
	})
	t.Run("second setPIN", func(t *testing.T) {
		k := newTestKey(t, nil)
		k.setPIN(2, "1234")
		before := k.record()
		status, _ := k.clientPIN(k.setPINRequest(2, "9999"))
		require.Equal(t, ctap2.ErrNotAllowed, status, "setPIN with a PIN set")
		require.Equal(t, before, k.record())
		k.pinToken(2, "1234", PermGetAssertion, "example.com")
	})
}

func TestClientPINGetKeyAgreement(t *testing.T) {
	k := newTestKey(t, nil)
	tests := []struct {
		name     string
		protocol uint64
		want     ctap2.Status
	}{
		{"protocol 1", 1, ctap2.StatusOK},
		{"protocol 2", 2, ctap2.StatusOK},
		{"missing protocol", 0, ctap2.ErrMissingParameter},
		{"protocol 3", 3, ctap2.ErrInvalidParameter},
	}
	for _, tt := range tests {
		status, resp := k.clientPIN(&ctap2.ClientPINRequest{PinUvAuthProtocol: tt.protocol, SubCommand: ctap2.PINGetKeyAgreement})
		require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
		if status == ctap2.StatusOK {
			_, _, err := pinuv.Encapsulate(pinuv.Two, rand.NewChaCha8(platformSeed), resp.KeyAgreement)
			require.NoError(t, err, "%s: keyAgreement is not a P-256 COSE key", tt.name)
		}
	}
	t.Run("protocol the profile lacks", func(t *testing.T) {
		p := DefaultProfile()
		p.PinUvAuthProtocols = []uint64{2}
		k := newTestKey(t, p)
		status, _ := k.clientPIN(&ctap2.ClientPINRequest{PinUvAuthProtocol: 1, SubCommand: ctap2.PINGetKeyAgreement})
		require.Equal(t, ctap2.ErrInvalidParameter, status)
	})
}

func TestClientPINSubcommands(t *testing.T) {
	noUV := DefaultProfile()
	noPIN := bareProfile(func(p *Profile) { p.ClientPIN, p.UV = false, true })
	none := bareProfile(func(p *Profile) { p.ClientPIN = false })
	noToken := DefaultProfile()
	noToken.PinUvAuthToken = false
	tests := []struct {
		name    string
		profile *Profile
		sub     uint64
		want    ctap2.Status
	}{
		{"unknown 0x08", noUV, 0x08, ctap2.ErrInvalidSubcommand},
		{"unknown 0x0a", noUV, 0x0a, ctap2.ErrInvalidSubcommand},
		{"unknown 0xff", noUV, 0xff, ctap2.ErrInvalidSubcommand},
		{"getUVRetries without UV", noUV, ctap2.PINGetUVRetries, ctap2.ErrInvalidSubcommand},
		{"UV token without UV", noUV, ctap2.PINGetPinUvAuthTokenUsingUvWithPerms, ctap2.ErrInvalidSubcommand},
		{"getPINRetries without clientPIN", noPIN, ctap2.PINGetRetries, ctap2.ErrInvalidSubcommand},
		{"setPIN without clientPIN", noPIN, ctap2.PINSetPIN, ctap2.ErrInvalidSubcommand},
		{"getPINRetries", noUV, ctap2.PINGetRetries, ctap2.StatusOK},
		{"getUVRetries", noPIN, ctap2.PINGetUVRetries, ctap2.StatusOK},
		{"PIN token without pinUvAuthToken", noToken, ctap2.PINGetPinUvAuthTokenUsingPinWithPerms, ctap2.ErrInvalidSubcommand},
		{"no clientPIN at all", none, ctap2.PINGetRetries, ctap2.ErrInvalidCommand},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, tt.profile)
			status, _ := k.clientPIN(&ctap2.ClientPINRequest{PinUvAuthProtocol: 2, SubCommand: tt.sub})
			require.Equal(t, tt.want, status, "subcommand %#x: got %v, want %v", tt.sub, status, tt.want)
		})
	}
	t.Run("missing subCommand", func(t *testing.T) {
		k := newTestKey(t, nil)
		status, _ := k.do(ctap2.CmdClientPIN, map[int]any{1: 2})
		require.Equal(t, ctap2.ErrMissingParameter, status)
	})
}

func TestClientPINTokenBadInput(t *testing.T) {
	type build func(k *testKey) any
	withPIN := func(protocol uint64, perms Permission, rpID string, mutate func(*ctap2.ClientPINRequest)) build {
		return func(k *testKey) any {
			r, _ := k.tokenRequest(protocol, "1234", perms, rpID)
			if mutate != nil {
				mutate(r)
			}
			return r
		}
	}
	noMcGa := DefaultProfile()
	noMcGa.NoMcGaPermissionsWithClientPIN = true
	bare := bareProfile(nil)
	tests := []struct {
		name      string
		profile   *Profile
		build     build
		want      ctap2.Status
		decrement bool // the spec counts the attempt
	}{
		{"missing protocol", nil, withPIN(2, PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.PinUvAuthProtocol = 0 }), ctap2.ErrMissingParameter, false},
		{"missing keyAgreement", nil, withPIN(2, PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.KeyAgreement = nil }), ctap2.ErrMissingParameter, false},
		{"missing pinHashEnc", nil, withPIN(2, PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.PINHashEnc = nil }), ctap2.ErrMissingParameter, false},
		{"missing permissions", nil, withPIN(2, 0, "example.com", nil), ctap2.ErrMissingParameter, false},
		{"protocol 3", nil, withPIN(2, PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) { r.PinUvAuthProtocol = 3 }), ctap2.ErrInvalidParameter, false},
		{"permissions 0", nil, func(k *testKey) any {
			r, _ := k.tokenRequest(2, "1234", 0, "example.com")
			return map[int]any{1: 2, 2: ctap2.PINGetPinUvAuthTokenUsingPinWithPerms, 3: r.KeyAgreement, 6: r.PINHashEnc, 9: 0, 10: "example.com"}
		}, ctap2.ErrInvalidParameter, false},
		{"mc without rpId", nil, withPIN(2, PermMakeCredential, "", nil), ctap2.ErrMissingParameter, false},
		{"ga without rpId", nil, withPIN(1, PermGetAssertion|PermCredentialManagement, "", nil), ctap2.ErrMissingParameter, false},
		{"be without bioEnroll", nil, withPIN(2, PermBioEnrollment, "", nil), ctap2.ErrUnauthorizedPermission, false},
		{"lbw without largeBlobs", bare, withPIN(2, PermLargeBlobWrite, "", nil), ctap2.ErrUnauthorizedPermission, false},
		{"acfg without authnrCfg", bare, withPIN(2, PermAuthenticatorConfig, "", nil), ctap2.ErrUnauthorizedPermission, false},
		{"cm without credMgmt", bare, withPIN(2, PermCredentialManagement, "", nil), ctap2.ErrUnauthorizedPermission, false},
		{"mc with noMcGaPermissionsWithClientPin", noMcGa, withPIN(2, PermMakeCredential, "example.com", nil), ctap2.ErrUnauthorizedPermission, false},
		{"getPinToken with noMcGaPermissionsWithClientPin", noMcGa, func(k *testKey) any {
			r, _ := k.tokenRequest(2, "1234", 0, "")
			r.SubCommand = ctap2.PINGetPinToken
			return r
		}, ctap2.ErrUnauthorizedPermission, false},
		{"getPinToken with permissions", nil, func(k *testKey) any {
			r, _ := k.tokenRequest(2, "1234", PermGetAssertion, "")
			r.SubCommand = ctap2.PINGetPinToken
			return r
		}, ctap2.ErrInvalidParameter, false},
		{"key agreement not on the curve", nil, withPIN(2, PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) {
			r.KeyAgreement = badKeyAgreement()
		}), ctap2.ErrInvalidParameter, false},
		{"wrong PIN", nil, func(k *testKey) any {
			r, _ := k.tokenRequest(2, "4321", PermGetAssertion, "example.com")
			return r
		}, ctap2.ErrPINInvalid, true},
		{"wrong PIN, protocol 1", nil, func(k *testKey) any {
			r, _ := k.tokenRequest(1, "12345", PermGetAssertion, "example.com")
			return r
		}, ctap2.ErrPINInvalid, true},
		{"pinHashEnc of 32 bytes, protocol 1", nil, func(k *testKey) any {
			r, secret := k.tokenRequest(1, "1234", PermGetAssertion, "example.com")
			sum := sha256.Sum256([]byte("1234"))
			r.PINHashEnc, _ = pinuv.One.Encrypt(nil, secret, sum[:])
			return r
		}, ctap2.ErrPINAuthInvalid, true},
		{"pinHashEnc not whole blocks", nil, withPIN(2, PermGetAssertion, "example.com", func(r *ctap2.ClientPINRequest) {
			r.PINHashEnc = r.PINHashEnc[:20]
		}), ctap2.ErrPINAuthInvalid, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, tt.profile)
			k.setPIN(2, "1234")
			// A token issued before must survive a refused request.
			var old []byte
			if !tt.profile.noMcGa() {
				old = k.pinToken(2, "1234", PermGetAssertion, "example.com")
			} else {
				old = k.pinToken(2, "1234", PermLargeBlobWrite, "")
			}
			oldPerm := PermGetAssertion
			if tt.profile.noMcGa() {
				oldPerm = PermLargeBlobWrite
			}
			before := k.record()
			status, _ := k.do(ctap2.CmdClientPIN, tt.build(k))
			require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
			after := k.record()
			wantFailures := 0
			if tt.decrement {
				wantFailures = 1
			}
			require.Equal(t, wantFailures, after.PINFailures, "PIN failures after %s", tt.name)
			after.PINFailures = before.PINFailures
			require.Equal(t, before, after, "refused request changed the device record beyond the retry counter")
			require.True(t, k.tokenValid(2, old, oldPerm, "example.com"), "earlier token void after a refused request")
			// The PIN is unchanged.
			perm, rpID := PermGetAssertion, "example.com"
			if tt.profile.noMcGa() {
				perm, rpID = PermLargeBlobWrite, ""
			}
			k.pinToken(1, "1234", perm, rpID)
		})
	}
}

// noMcGa reports whether p refuses mc and ga to PIN tokens (nil is the
// default profile).
func (p *Profile) noMcGa() bool { return p != nil && p.NoMcGaPermissionsWithClientPIN }

func TestClientPINTokenErrorsWithoutPIN(t *testing.T) {
	k := newTestKey(t, nil)
	before := k.record()
	req, _ := k.tokenRequest(2, "1234", PermGetAssertion, "example.com")
	status, _ := k.clientPIN(req)
	require.Equal(t, ctap2.ErrPINNotSet, status, "token request with no PIN")
	req, _ = k.tokenRequest(2, "1234", 0, "")
	req.SubCommand = ctap2.PINGetPinToken
	status, _ = k.clientPIN(req)
	require.Equal(t, ctap2.ErrPINNotSet, status, "getPinToken with no PIN")
	status, _ = k.clientPIN(k.changePINRequest(2, "1234", "5678"))
	require.Equal(t, ctap2.ErrPINNotSet, status, "changePIN with no PIN")
	require.Equal(t, before, k.record())
}

func TestClientPINToken(t *testing.T) {
	for _, protocol := range []uint64{1, 2} {
		k := newTestKey(t, nil)
		k.setPIN(protocol, "1234")
		t1 := k.pinToken(protocol, "1234", PermGetAssertion|PermCredentialManagement, "example.com")
		require.True(t, k.tokenValid(protocol, t1, PermCredentialManagement, "example.com"))
		other := uint64(3 - protocol)
		require.False(t, k.tokenValid(other, t1, PermCredentialManagement, "example.com"), "token works under the protocol it was not issued for")
		// A new token voids the old one; each is fresh.
		t2 := k.pinToken(protocol, "1234", PermGetAssertion, "example.com")
		require.NotEqual(t, t1, t2, "the same token issued twice")
		require.False(t, k.tokenValid(protocol, t1, PermGetAssertion, "example.com"), "old token still valid")
		require.True(t, k.tokenValid(protocol, t2, PermGetAssertion, "example.com"))
		require.False(t, k.tokenValid(protocol, t2, PermCredentialManagement, ""), "token has a permission not asked for")
		require.Equal(t, "example.com", k.pin.rpID)
		require.False(t, k.tokenUserPresent(), "a PIN token carries user presence")

		// Undefined permission bits are ignored.
		t4 := k.pinToken(protocol, "1234", 0xc0|PermLargeBlobWrite, "")
		require.Equal(t, PermLargeBlobWrite, k.pin.permissions)
		require.True(t, k.tokenValid(protocol, t4, PermLargeBlobWrite, ""))

		// getPinToken: mc and ga, no RP ID until first use.
		req, secret := k.tokenRequest(protocol, "1234", 0, "")
		req.SubCommand = ctap2.PINGetPinToken
		status, resp := k.clientPIN(req)
		require.Equal(t, ctap2.StatusOK, status, "getPinToken: %v", status)
		p, _ := pinuv.ByVersion(protocol)
		t3, err := p.Decrypt(secret, resp.PinUvAuthToken)
		require.NoError(t, err)
		require.Equal(t, PermMakeCredential|PermGetAssertion, k.pin.permissions)
		require.Empty(t, k.pin.rpID)
		require.True(t, k.tokenValid(protocol, t3, PermMakeCredential, "any.example"))
	}
}

func TestClientPINTokenTimers(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(2, "1234")

	token := k.pinToken(2, "1234", PermGetAssertion, "example.com")
	k.clock.advance(initialUsageTimeLimit + 1)
	require.False(t, k.tokenValid(2, token, PermGetAssertion, "example.com"), "unused token valid after the initial usage time limit")

	token = k.pinToken(2, "1234", PermGetAssertion, "example.com")
	k.clock.advance(initialUsageTimeLimit - 1)
	require.True(t, k.tokenValid(2, token, PermGetAssertion, "example.com"), "token expired before the initial usage time limit")
	k.clock.advance(maxUsagePeriod - initialUsageTimeLimit)
	require.True(t, k.tokenValid(2, token, PermGetAssertion, "example.com"), "used token expired before the maximum usage period")
	k.clock.advance(2)
	require.False(t, k.tokenValid(2, token, PermGetAssertion, "example.com"), "token valid after the maximum usage period")

	token = k.pinToken(2, "1234", PermGetAssertion, "example.com")
	k.PowerCycle()
	require.False(t, k.tokenValid(2, token, PermGetAssertion, "example.com"), "token survived a power cycle")
}

func TestClientPINChangePIN(t *testing.T) {
	for _, protocol := range []uint64{1, 2} {
		k := newTestKey(t, nil)
		k.setPIN(protocol, "1234")
		token := k.pinToken(protocol, "1234", PermGetAssertion, "example.com")
		require.NoError(t, k.updateDevice(func(d *store.Device) error { d.ForcePINChange = true; d.PINFailures = 2; return nil }))
		k.changePIN(protocol, "1234", "56789")
		rec := k.record()
		require.Equal(t, pinHash([]byte("56789")), rec.PINHash)
		require.Equal(t, 5, rec.PINCodePoints)
		require.False(t, rec.ForcePINChange, "changePIN left forcePINChange")
		require.Zero(t, rec.PINFailures, "changePIN left failures")
		require.False(t, k.tokenValid(protocol, token, PermGetAssertion, "example.com"), "token issued under the old PIN still valid")
		req, _ := k.tokenRequest(protocol, "1234", PermGetAssertion, "example.com")
		status, _ := k.clientPIN(req)
		require.Equal(t, ctap2.ErrPINInvalid, status, "old PIN after changePIN")
		k.pinToken(protocol, "56789", PermGetAssertion, "example.com")
	}
}

func TestClientPINChangePINBadInput(t *testing.T) {
	type build func(k *testKey) *ctap2.ClientPINRequest
	change := func(old, new string, mutate func(*ctap2.ClientPINRequest)) build {
		return func(k *testKey) *ctap2.ClientPINRequest {
			r := k.changePINRequest(2, old, new)
			if mutate != nil {
				mutate(r)
			}
			return r
		}
	}
	tests := []struct {
		name     string
		build    build
		want     ctap2.Status
		failures int // PIN failures afterwards
		force    bool
	}{
		{"missing protocol", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.PinUvAuthProtocol = 0 }), ctap2.ErrMissingParameter, 0, false},
		{"missing keyAgreement", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.KeyAgreement = nil }), ctap2.ErrMissingParameter, 0, false},
		{"missing pinHashEnc", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.PINHashEnc = nil }), ctap2.ErrMissingParameter, 0, false},
		{"missing newPinEnc", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.NewPINEnc = nil }), ctap2.ErrMissingParameter, 0, false},
		{"missing pinUvAuthParam", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.PinUvAuthParam = nil }), ctap2.ErrMissingParameter, 0, false},
		{"protocol 7", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.PinUvAuthProtocol = 7 }), ctap2.ErrInvalidParameter, 0, false},
		{"bad key agreement", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.KeyAgreement = badKeyAgreement() }), ctap2.ErrInvalidParameter, 0, false},
		{"pinUvAuthParam over newPinEnc only", change("1234", "5678", func(r *ctap2.ClientPINRequest) { r.PinUvAuthParam[3] ^= 0x80 }), ctap2.ErrPINAuthInvalid, 0, false},
		{"wrong current PIN", change("4321", "5678", nil), ctap2.ErrPINInvalid, 1, false},
		{"new PIN too short", change("1234", "567", nil), ctap2.ErrPINPolicyViolation, 0, false},
		{"forced change to the same PIN", change("1234", "1234", nil), ctap2.ErrPINPolicyViolation, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, nil)
			k.setPIN(2, "1234")
			token := k.pinToken(2, "1234", PermCredentialManagement, "")
			if tt.force {
				require.NoError(t, k.updateDevice(func(d *store.Device) error { d.ForcePINChange = true; return nil }))
			}
			k.clock.advance(1)
			require.True(t, k.tokenValid(2, token, PermCredentialManagement, ""))
			before := k.record()
			status, _ := k.clientPIN(tt.build(k))
			require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
			after := k.record()
			require.Equal(t, tt.failures, after.PINFailures, "PIN failures after %s", tt.name)
			after.PINFailures = before.PINFailures
			require.Equal(t, before, after, "refused changePIN changed the device record")
			require.True(t, k.tokenValid(2, token, PermCredentialManagement, ""), "token void after a refused changePIN")
			if !tt.force {
				k.pinToken(2, "1234", PermCredentialManagement, "")
			}
		})
	}
}

func TestClientPINForcePINChange(t *testing.T) {
	k := newTestKey(t, nil)
	k.setPIN(2, "1234")
	require.NoError(t, k.updateDevice(func(d *store.Device) error { d.ForcePINChange = true; d.PINFailures = 3; return nil }))
	req, _ := k.tokenRequest(2, "1234", PermGetAssertion, "example.com")
	status, _ := k.clientPIN(req)
	require.Equal(t, ctap2.ErrPINPolicyViolation, status, "token with forcePINChange")
	req, _ = k.tokenRequest(2, "1234", 0, "")
	req.SubCommand = ctap2.PINGetPinToken
	status, _ = k.clientPIN(req)
	require.Equal(t, ctap2.ErrPINPolicyViolation, status, "getPinToken with forcePINChange")
	// The PIN was right: the retries are back.
	retries, _ := k.pinRetries()
	require.Equal(t, 8, retries)
	require.False(t, k.tokenInUse(), "a token was issued under forcePINChange")
	k.changePIN(2, "1234", "2468")
	k.pinToken(2, "2468", PermGetAssertion, "example.com")
}

package authenticator

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// configProfile is the default profile with enterprise attestation, so
// that every authenticatorConfig subcommand is implemented.
func configProfile() *Profile {
	p := DefaultProfile()
	p.EnterpriseAttestation = EnterprisePlatform
	return p
}

// configRequest builds an authenticatorConfig request map. params, when
// not nil, is encoded once and both sent and authenticated as such; with
// a token the request carries pinUvAuthParam and protocol.
func configRequest(t *testing.T, protocol uint64, token []byte, sub uint64, params any) map[int]any {
	t.Helper()
	req := map[int]any{1: sub}
	var raw []byte
	if params != nil {
		var err error
		raw, err = ctap2.Marshal(params)
		require.NoError(t, err)
		req[2] = ctap2.RawMessage(raw)
	}
	if token != nil {
		req[3] = protocol
		req[4] = authParam(protocol, token, ctap2.ConfigAuthMessage(uint8(sub), raw))
	}
	return req
}

// deviceRecord returns the stored device record.
func (k *testKey) deviceRecord() *store.Device {
	k.t.Helper()
	d, err := k.store.Device()
	require.NoError(k.t, err)
	return d
}

// info returns the decoded getInfo response.
func (k *testKey) info() *ctap2.GetInfoResponse {
	k.t.Helper()
	status, body := k.do(ctap2.CmdGetInfo, nil)
	require.Equal(k.t, ctap2.StatusOK, status, "getInfo: %v", status)
	var info ctap2.GetInfoResponse
	require.NoError(k.t, ctap2.Unmarshal(body, &info))
	return &info
}

func TestConfigWithoutUserVerification(t *testing.T) {
	// No PIN, no built-in UV and alwaysUv off: no pinUvAuthParam is
	// needed (CTAP 2.1 §6.11 step 4).
	k := newTestKey(t, configProfile())
	require.False(t, k.info().Options["ep"], "ep before enableEnterpriseAttestation")

	for range 2 { // enabling twice is no error
		status, _ := k.do(ctap2.CmdConfig, configRequest(t, 0, nil, ctap2.ConfigEnableEnterpriseAttestation, nil))
		require.Equal(t, ctap2.StatusOK, status, "enableEnterpriseAttestation without auth")
	}
	require.True(t, k.info().Options["ep"], "ep after enableEnterpriseAttestation")
	require.True(t, k.deviceRecord().EnterpriseAttestation)

	status, _ := k.do(ctap2.CmdConfig, configRequest(t, 0, nil, ctap2.ConfigToggleAlwaysUV, nil))
	require.Equal(t, ctap2.StatusOK, status, "toggleAlwaysUv without auth")
	require.True(t, k.info().Options["alwaysUv"], "alwaysUv after one toggle")

	// With alwaysUv on, authentication is required even without a PIN.
	before := k.deviceRecord()
	status, _ = k.do(ctap2.CmdConfig, configRequest(t, 0, nil, ctap2.ConfigToggleAlwaysUV, nil))
	require.Equal(t, ctap2.ErrPUATRequired, status, "toggleAlwaysUv without auth while alwaysUv is on")
	require.Equal(t, before, k.deviceRecord(), "state changed by a refused request")
	require.True(t, k.info().Options["alwaysUv"])
}

func TestConfigWithPIN(t *testing.T) {
	for _, protocol := range []uint64{1, 2} {
		t.Run(map[uint64]string{1: "protocol 1", 2: "protocol 2"}[protocol], func(t *testing.T) {
			p := configProfile()
			p.AlwaysUV = true
			k := newTestKey(t, p)
			k.setPIN(protocol, "12345678")
			token := k.pinToken(protocol, "12345678", PermAuthenticatorConfig, "")

			status, _ := k.do(ctap2.CmdConfig, configRequest(t, protocol, token, ctap2.ConfigEnableEnterpriseAttestation, nil))
			require.Equal(t, ctap2.StatusOK, status, "enableEnterpriseAttestation")
			require.True(t, k.info().Options["ep"])

			// The profile's alwaysUv is on; two toggles turn it off and on.
			for _, want := range []bool{false, true} {
				status, _ = k.do(ctap2.CmdConfig, configRequest(t, protocol, token, ctap2.ConfigToggleAlwaysUV, nil))
				require.Equal(t, ctap2.StatusOK, status, "toggleAlwaysUv")
				require.Equal(t, want, k.info().Options["alwaysUv"], "alwaysUv after toggle")
				require.NotNil(t, k.deviceRecord().AlwaysUV)
				require.Equal(t, want, *k.deviceRecord().AlwaysUV)
			}

			params := map[int]any{1: 6, 2: []string{"example.org", "corp.example"}}
			status, _ = k.do(ctap2.CmdConfig, configRequest(t, protocol, token, ctap2.ConfigSetMinPINLength, params))
			require.Equal(t, ctap2.StatusOK, status, "setMinPINLength 6")
			d := k.deviceRecord()
			require.Equal(t, 6, d.MinPINLength)
			require.Equal(t, []string{"example.org", "corp.example"}, d.MinPINLengthRPIDs)
			require.False(t, d.ForcePINChange, "an 8-digit PIN meets a minimum of 6")
			require.Equal(t, uint64(6), k.info().MinPINLength)
		})
	}
}

func TestSetMinPINLengthForcesPINChange(t *testing.T) {
	tests := []struct {
		name      string
		params    map[int]any
		wantMin   int
		wantForce bool
	}{
		{"same length, no force", map[int]any{1: 6}, 6, false},
		{"longer than the PIN", map[int]any{1: 7}, 7, true},
		{"forceChangePin", map[int]any{3: true}, 4, true},
		{"forceChangePin false", map[int]any{3: false}, 4, false},
		{"empty parameters", map[int]any{}, 4, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, configProfile())
			k.setPIN(2, "123456")
			token := k.pinToken(2, "123456", PermAuthenticatorConfig, "")
			status, _ := k.do(ctap2.CmdConfig, configRequest(t, 2, token, ctap2.ConfigSetMinPINLength, tt.params))
			require.Equal(t, ctap2.StatusOK, status, "setMinPINLength %v", tt.params)
			info := k.info()
			require.Equal(t, uint64(tt.wantMin), info.MinPINLength, "minPINLength after %v", tt.params)
			require.Equal(t, tt.wantForce, info.ForcePINChange, "forcePINChange after %v", tt.params)
			require.Equal(t, tt.wantForce, k.deviceRecord().ForcePINChange)
		})
	}
}

func TestSetMinPINLengthWithoutPIN(t *testing.T) {
	// Without a PIN a raised minimum forces nothing: it applies to the
	// first PIN.
	k := newTestKey(t, configProfile())
	status, _ := k.do(ctap2.CmdConfig, configRequest(t, 0, nil, ctap2.ConfigSetMinPINLength, map[int]any{1: 10}))
	require.Equal(t, ctap2.StatusOK, status)
	require.Equal(t, 10, k.deviceRecord().MinPINLength)
	require.False(t, k.deviceRecord().ForcePINChange)
}

func TestConfigBadInput(t *testing.T) {
	const pin = "12345678"
	withPIN := func(t *testing.T, p *Profile, perms Permission) (*testKey, []byte) {
		k := newTestKey(t, p)
		k.setPIN(2, pin)
		return k, k.pinToken(2, pin, perms, "")
	}
	noPIN := func(t *testing.T, p *Profile, _ Permission) (*testKey, []byte) {
		return newTestKey(t, p), nil
	}
	noMinPINExt := configProfile()
	noMinPINExt.Extensions = []string{ExtCredProtect}
	noConfig := configProfile()
	noConfig.AuthenticatorConfig, noConfig.SetMinPINLength = false, false
	noSetMin := configProfile()
	noSetMin.SetMinPINLength = false
	builtInUV := configProfile()
	builtInUV.UV = true

	tests := []struct {
		name    string
		profile *Profile
		setup   func(*testing.T, *Profile, Permission) (*testKey, []byte)
		perms   Permission
		req     func(t *testing.T, token []byte) any // nil token when there is no PIN
		want    ctap2.Status
	}{
		{"no authenticatorConfig", noConfig, noPIN, 0, func(*testing.T, []byte) any {
			return map[int]any{1: ctap2.ConfigToggleAlwaysUV}
		}, ctap2.ErrInvalidCommand},
		{"no subCommand", nil, noPIN, 0, func(*testing.T, []byte) any { return map[int]any{2: map[int]any{}} }, ctap2.ErrMissingParameter},
		{"subCommand not an integer", nil, noPIN, 0, func(*testing.T, []byte) any { return map[int]any{1: "2"} }, ctap2.ErrCBORUnexpectedType},
		{"subCommandParams not a map", nil, noPIN, 0, func(*testing.T, []byte) any {
			return map[int]any{1: ctap2.ConfigSetMinPINLength, 2: []int{6}}
		}, ctap2.ErrCBORUnexpectedType},
		{"not a map", nil, noPIN, 0, func(*testing.T, []byte) any { return []int{1} }, ctap2.ErrCBORUnexpectedType},
		{"unknown subCommand", nil, noPIN, 0, func(*testing.T, []byte) any { return map[int]any{1: 4} }, ctap2.ErrInvalidSubcommand},
		{"vendorPrototype", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			return configRequest(t, 2, tok, ctap2.ConfigVendorPrototype, map[int]any{1: 1})
		}, ctap2.ErrInvalidSubcommand},
		{"enterprise attestation unsupported", DefaultProfile(), noPIN, 0, func(*testing.T, []byte) any {
			return map[int]any{1: ctap2.ConfigEnableEnterpriseAttestation}
		}, ctap2.ErrInvalidSubcommand},
		{"setMinPINLength unsupported", noSetMin, noPIN, 0, func(*testing.T, []byte) any {
			return map[int]any{1: ctap2.ConfigSetMinPINLength, 2: map[int]any{1: 8}}
		}, ctap2.ErrInvalidSubcommand},
		{"PIN set, no pinUvAuthParam", nil, withPIN, PermAuthenticatorConfig, func(*testing.T, []byte) any {
			return map[int]any{1: ctap2.ConfigToggleAlwaysUV}
		}, ctap2.ErrPUATRequired},
		{"built-in UV, no pinUvAuthParam", builtInUV, noPIN, 0, func(*testing.T, []byte) any {
			return map[int]any{1: ctap2.ConfigEnableEnterpriseAttestation}
		}, ctap2.ErrPUATRequired},
		{"no pinUvAuthProtocol", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			r := configRequest(t, 2, tok, ctap2.ConfigToggleAlwaysUV, nil)
			delete(r, 3)
			return r
		}, ctap2.ErrMissingParameter},
		{"unsupported pinUvAuthProtocol", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			r := configRequest(t, 2, tok, ctap2.ConfigToggleAlwaysUV, nil)
			r[3] = 3
			return r
		}, ctap2.ErrInvalidParameter},
		{"MAC over other parameters", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			r := configRequest(t, 2, tok, ctap2.ConfigSetMinPINLength, map[int]any{1: 8})
			r[2] = ctap2.RawMessage{0xa1, 0x01, 0x09} // {1: 9}
			return r
		}, ctap2.ErrPINAuthInvalid},
		{"MAC for another subcommand", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			r := configRequest(t, 2, tok, ctap2.ConfigEnableEnterpriseAttestation, nil)
			r[1] = ctap2.ConfigToggleAlwaysUV
			return r
		}, ctap2.ErrPINAuthInvalid},
		{"token without acfg", nil, withPIN, PermCredentialManagement, func(t *testing.T, tok []byte) any {
			return configRequest(t, 2, tok, ctap2.ConfigToggleAlwaysUV, nil)
		}, ctap2.ErrPINAuthInvalid},
		{"lower minimum", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			return configRequest(t, 2, tok, ctap2.ConfigSetMinPINLength, map[int]any{1: 3})
		}, ctap2.ErrPINPolicyViolation},
		{"minimum above 63", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			return configRequest(t, 2, tok, ctap2.ConfigSetMinPINLength, map[int]any{1: 64})
		}, ctap2.ErrPINPolicyViolation},
		{"newMinPINLength not an integer", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			return configRequest(t, 2, tok, ctap2.ConfigSetMinPINLength, map[int]any{1: "8"})
		}, ctap2.ErrCBORUnexpectedType},
		{"too many RP IDs", nil, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			return configRequest(t, 2, tok, ctap2.ConfigSetMinPINLength, map[int]any{1: 8, 2: []string{"a", "b", "c", "d", "e"}})
		}, ctap2.ErrPINPolicyViolation},
		{"RP IDs without minPinLength extension", noMinPINExt, withPIN, PermAuthenticatorConfig, func(t *testing.T, tok []byte) any {
			return configRequest(t, 2, tok, ctap2.ConfigSetMinPINLength, map[int]any{1: 8, 2: []string{"a"}})
		}, ctap2.ErrPINPolicyViolation},
		{"forceChangePin without a PIN", nil, noPIN, 0, func(t *testing.T, _ []byte) any {
			return configRequest(t, 0, nil, ctap2.ConfigSetMinPINLength, map[int]any{1: 8, 3: true})
		}, ctap2.ErrPINNotSet},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.profile
			if p == nil {
				p = configProfile()
			}
			k, token := tt.setup(t, p, tt.perms)
			before := k.deviceRecord()
			infoBefore := k.info()
			status, _ := k.do(ctap2.CmdConfig, tt.req(t, token))
			require.Equal(t, tt.want, status, "got %v, want %v", status, tt.want)
			require.Equal(t, before, k.deviceRecord(), "stored state changed by a refused request")
			require.Equal(t, infoBefore, k.info(), "getInfo changed by a refused request")
		})
	}
}

func TestConfigMalformedCBOR(t *testing.T) {
	k := newTestKey(t, configProfile())
	before := k.deviceRecord()
	for _, msg := range [][]byte{
		{byte(ctap2.CmdConfig)},                         // no parameters
		{byte(ctap2.CmdConfig), 0xa1, 0x01},             // truncated map
		{byte(ctap2.CmdConfig), 0xa1, 0x01, 0x02, 0x00}, // trailing byte
	} {
		resp := k.HandleCBOR(context.Background(), msg)
		require.Equal(t, ctap2.ErrInvalidCBOR, ctap2.Status(resp[0]), "message %x", msg)
	}
	require.Equal(t, before, k.deviceRecord())
}

// cfgKeyTransport carries CTAP2 messages to a test key in process, so that
// the host-side ctap2.Client methods run against the engine.
type cfgKeyTransport struct{ k *testKey }

func (tr cfgKeyTransport) CBOR(ctx context.Context, msg []byte) ([]byte, error) {
	return tr.k.HandleCBOR(ctx, msg), nil
}

func (tr cfgKeyTransport) Message(ctx context.Context, apdu []byte) ([]byte, error) {
	return tr.k.HandleMessage(ctx, apdu), nil
}

func TestClientConfig(t *testing.T) {
	k := newTestKey(t, configProfile())
	k.setPIN(1, "12345678")
	token := k.pinToken(1, "12345678", PermAuthenticatorConfig, "")
	c := ctap2.NewClient(cfgKeyTransport{k})
	ctx := context.Background()

	params, err := ctap2.Marshal(&ctap2.SetMinPINLengthParams{NewMinPINLength: new(uint64(9))})
	require.NoError(t, err)
	err = c.Config(ctx, &ctap2.ConfigRequest{
		SubCommand:        ctap2.ConfigSetMinPINLength,
		SubCommandParams:  params,
		PinUvAuthProtocol: 1,
		PinUvAuthParam:    authParam(1, token, ctap2.ConfigAuthMessage(ctap2.ConfigSetMinPINLength, params)),
	})
	require.NoError(t, err, "setMinPINLength through the client")
	require.Equal(t, 9, k.deviceRecord().MinPINLength)
	require.True(t, k.deviceRecord().ForcePINChange, "an 8-digit PIN is below the new minimum")

	err = c.Config(ctx, &ctap2.ConfigRequest{SubCommand: ctap2.ConfigToggleAlwaysUV})
	require.ErrorIs(t, err, ctap2.ErrPUATRequired, "toggleAlwaysUv without auth on a key with a PIN")
	require.Error(t, c.Config(ctx, nil), "nil request")
}

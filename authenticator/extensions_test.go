package authenticator

import (
	"bytes"
	"crypto/hmac"
	"crypto/sha256"
	"math/rand/v2"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
	"github.com/softkeydev/softkey/ctap2/u2f"
)

const extTestPIN = "1234"

// extRaw encodes v as one extension's input.
func extRaw(t testing.TB, v any) ctap2.RawMessage {
	t.Helper()
	b, err := ctap2.Marshal(v)
	require.NoError(t, err)
	return b
}

// extOutputs decodes the extensions of authenticator data; nil when the
// authenticator data has none.
func extOutputs(t testing.TB, authData []byte) map[string]ctap2.RawMessage {
	t.Helper()
	ad, err := ctap2.ParseAuthData(authData)
	require.NoError(t, err)
	if ad.Extensions == nil {
		require.Zero(t, ad.Flags&ctap2.FlagED, "ED flag without extensions")
		return nil
	}
	require.NotZero(t, ad.Flags&ctap2.FlagED, "extensions without the ED flag")
	var out map[string]ctap2.RawMessage
	require.NoError(t, ctap2.Unmarshal(ad.Extensions, &out))
	return out
}

// extMakeCredential makes a credential for req, with user verification
// through a fresh pinUvAuthToken when protocol is not zero.
func (k *testKey) extMakeCredential(req *ctap2.MakeCredentialRequest, protocol uint64) (*ctap2.MakeCredentialResponse, map[string]ctap2.RawMessage) {
	k.t.Helper()
	if protocol != 0 {
		token := k.pinToken(protocol, extTestPIN, PermMakeCredential, req.RP.ID)
		req.PinUvAuthProtocol = protocol
		req.PinUvAuthParam = authParam(protocol, token, req.ClientDataHash)
	}
	resp, _ := k.makeCredential(req)
	return resp, extOutputs(k.t, resp.AuthData)
}

// extAssertionRequest adds user verification to req through a fresh
// pinUvAuthToken when protocol is not zero.
func (k *testKey) extAssertionRequest(req *ctap2.GetAssertionRequest, protocol uint64) *ctap2.GetAssertionRequest {
	k.t.Helper()
	if protocol != 0 {
		token := k.pinToken(protocol, extTestPIN, PermGetAssertion, req.RPID)
		req.PinUvAuthProtocol = protocol
		req.PinUvAuthParam = authParam(protocol, token, req.ClientDataHash)
	}
	return req
}

// extHMACInput is the platform's hmac-secret input for salts under
// protocol, with the shared secret that decrypts the output.
func (k *testKey) extHMACInput(protocol uint64, salts ...[]byte) (*ctap2.HMACSecretInput, []byte) {
	k.t.Helper()
	p, err := pinuv.ByVersion(protocol)
	require.NoError(k.t, err)
	platformKey, secret := k.sharedSecret(protocol)
	saltEnc, err := p.Encrypt(rand.NewChaCha8(platformSeed), secret, slices.Concat(salts...))
	require.NoError(k.t, err)
	return &ctap2.HMACSecretInput{
		KeyAgreement:      platformKey,
		SaltEnc:           saltEnc,
		SaltAuth:          p.Authenticate(secret, saltEnc),
		PinUvAuthProtocol: &protocol,
	}, secret
}

// extHMACOutput decrypts an hmac-secret output.
func extHMACOutput(t testing.TB, protocol uint64, secret []byte, raw ctap2.RawMessage) []byte {
	t.Helper()
	require.NotNil(t, raw, "no hmac-secret output")
	var enc []byte
	require.NoError(t, ctap2.Unmarshal(raw, &enc))
	p, err := pinuv.ByVersion(protocol)
	require.NoError(t, err)
	out, err := p.Decrypt(secret, enc)
	require.NoError(t, err)
	return out
}

func extHMAC(key, salt []byte) []byte {
	m := hmac.New(sha256.New, key)
	m.Write(salt)
	return m.Sum(nil)
}

func extSalt(b byte) []byte { return bytes.Repeat([]byte{b}, 32) }

// signCount returns the signature counter of an assertion.
func signCount(t testing.TB, resp *ctap2.GetAssertionResponse) uint32 {
	t.Helper()
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	return ad.SignCount
}

func TestExtensionsCredProtectVisibility(t *testing.T) {
	const protocol = 2
	tests := []struct {
		level uint64
		// whether getAssertion finds the credential
		allowListNoUV, discoverableNoUV, discoverableUV bool
	}{
		{level: 1, allowListNoUV: true, discoverableNoUV: true, discoverableUV: true},
		{level: 2, allowListNoUV: true, discoverableNoUV: false, discoverableUV: true},
		{level: 3, allowListNoUV: false, discoverableNoUV: false, discoverableUV: true},
	}
	for _, tt := range tests {
		k := newTestKey(t, nil)
		k.setPIN(protocol, extTestPIN)
		req := mcRequest("example.com", "alice")
		req.Options = map[string]bool{"rk": true}
		req.Extensions = map[string]ctap2.RawMessage{ExtCredProtect: extRaw(t, tt.level)}
		resp, out := k.extMakeCredential(req, protocol)
		require.Equal(t, extRaw(t, tt.level), out[ExtCredProtect], "level %d: credProtect output", tt.level)
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)
		id := ad.Attested.CredentialID

		check := func(name string, req *ctap2.GetAssertionRequest, want bool) {
			t.Helper()
			status, _ := k.do(ctap2.CmdGetAssertion, req)
			wantStatus := ctap2.ErrNoCredentials
			if want {
				wantStatus = ctap2.StatusOK
			}
			require.Equal(t, wantStatus, status, "level %d, %s: got %v, want %v", tt.level, name, status, wantStatus)
		}
		check("allowList without UV", &ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(2), AllowList: allow(id)}, tt.allowListNoUV)
		check("allowList with UV", k.extAssertionRequest(&ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(2), AllowList: allow(id)}, protocol), true)
		check("discoverable without UV", &ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(2)}, tt.discoverableNoUV)
		check("discoverable with UV", k.extAssertionRequest(&ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(2)}, protocol), tt.discoverableUV)
	}
}

// A credential that needs UV is not revealed by an exclude list without
// UV: the new credential is made; with UV the list excludes it.
func TestExtensionsCredProtectExcludeList(t *testing.T) {
	const protocol = 1
	profile := DefaultProfile()
	profile.MakeCredUVNotRequired = true
	k := newTestKey(t, profile)
	k.setPIN(protocol, extTestPIN)
	req := mcRequest("example.com", "alice")
	req.Extensions = map[string]ctap2.RawMessage{ExtCredProtect: extRaw(t, 3)}
	resp, _ := k.extMakeCredential(req, protocol)
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)

	again := mcRequest("example.com", "bob")
	again.ExcludeList = allow(ad.Attested.CredentialID)
	status, _ := k.do(ctap2.CmdMakeCredential, again)
	require.Equal(t, ctap2.StatusOK, status, "exclude list without UV: got %v, want OK", status)

	again = mcRequest("example.com", "bob")
	again.ExcludeList = allow(ad.Attested.CredentialID)
	token := k.pinToken(protocol, extTestPIN, PermMakeCredential, "example.com")
	again.PinUvAuthProtocol = protocol
	again.PinUvAuthParam = authParam(protocol, token, again.ClientDataHash)
	status, _ = k.do(ctap2.CmdMakeCredential, again)
	require.Equal(t, ctap2.ErrCredentialExcluded, status, "exclude list with UV: got %v", status)
}

func TestExtensionsCredProtectU2F(t *testing.T) {
	for _, tt := range []struct {
		level   uint64
		visible bool
	}{{1, true}, {2, true}, {3, false}} {
		k := newTestKey(t, nil)
		_, plain := k.makeCredential(mcRequest("example.org", "bob"))
		req := mcRequest("example.org", "alice")
		req.Extensions = map[string]ctap2.RawMessage{ExtCredProtect: extRaw(t, tt.level)}
		resp, _ := k.extMakeCredential(req, 0)
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)
		// The level lives inside the sealed ID, which keeps the size of an
		// ES256 ID without extensions and stays a U2F key handle.
		require.Len(t, ad.Attested.CredentialID, len(plain.Attested.CredentialID), "level %d: ID length, want that of an ID without credProtect", tt.level)
		require.LessOrEqual(t, len(ad.Attested.CredentialID), 255, "level %d: an ES256 ID must fit a U2F key handle", tt.level)
		_, sw := k.u2fAuthenticate(u2f.CheckOnly, [32]byte{1}, ctap2.RPIDHash("example.org"), ad.Attested.CredentialID)
		// check-only answers "conditions not satisfied" for a usable key
		// handle and "wrong data" for any other.
		want := u2f.SWWrongData
		if tt.visible {
			want = u2f.SWConditionsNotSatisfied
		}
		require.Equal(t, want, sw, "level %d: check-only: got %v, want %v", tt.level, sw, want)
	}
}

func TestExtensionsHMACSecret(t *testing.T) {
	for _, protocol := range []uint64{1, 2} {
		k := newTestKey(t, nil)
		k.setPIN(protocol, extTestPIN)
		req := mcRequest("example.com", "alice")
		req.Extensions = map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, true)}
		resp, out := k.extMakeCredential(req, protocol)
		require.Equal(t, extRaw(t, true), out[ExtHMACSecret], "protocol %d: makeCredential output", protocol)
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)
		id := ad.Attested.CredentialID
		dev, err := k.device()
		require.NoError(t, err)

		evaluate := func(uv bool, salts ...[]byte) []byte {
			t.Helper()
			in, secret := k.extHMACInput(protocol, salts...)
			req := &ctap2.GetAssertionRequest{
				RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(id),
				Extensions: map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, in)},
			}
			if uv {
				k.extAssertionRequest(req, protocol)
			}
			got := k.getAssertion(req)
			return extHMACOutput(t, protocol, secret, extOutputs(t, got.AuthData)[ExtHMACSecret])
		}
		salt1, salt2 := extSalt(1), extSalt(2)
		first := evaluate(false, salt1)
		require.Equal(t, extHMAC(credRandom(dev, id, false), salt1), first, "protocol %d: HMAC(CredRandomWithoutUV, salt1)", protocol)
		require.Equal(t, first, evaluate(false, salt1), "protocol %d: same salt twice", protocol)
		other := evaluate(false, salt2)
		require.NotEqual(t, first, other, "protocol %d: different salts", protocol)
		require.Equal(t, slices.Concat(first, other), evaluate(false, salt1, salt2), "protocol %d: two salts", protocol)
		withUV := evaluate(true, salt1)
		require.NotEqual(t, first, withUV, "protocol %d: with and without UV", protocol)
		require.Equal(t, extHMAC(credRandom(dev, id, true), salt1), withUV, "protocol %d: HMAC(CredRandomWithUV, salt1)", protocol)
	}
}

// CredRandom is stable across restarts of the same device and differs
// between credentials.
func TestExtensionsCredRandom(t *testing.T) {
	k := newTestKey(t, nil)
	dev, err := k.device()
	require.NoError(t, err)
	id1, id2 := []byte("credential one"), []byte("credential two")
	require.Len(t, credRandom(dev, id1, false), 32)
	require.NotEqual(t, credRandom(dev, id1, false), credRandom(dev, id2, false), "two credentials")
	require.NotEqual(t, credRandom(dev, id1, false), credRandom(dev, id1, true), "with and without UV")

	restarted, err := New(Config{Profile: DefaultProfile(), Store: k.store, Keys: k.keys, Rand: rand.NewChaCha8([32]byte{9})})
	require.NoError(t, err)
	dev2, err := restarted.device()
	require.NoError(t, err)
	require.Equal(t, credRandom(dev, id1, true), credRandom(dev2, id1, true), "after a restart")
}

// A credential made without hmac-secret answers no hmac-secret output.
func TestExtensionsHMACSecretNotRequested(t *testing.T) {
	k := newTestKey(t, nil)
	resp, _ := k.extMakeCredential(mcRequest("example.com", "alice"), 0)
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	in, _ := k.extHMACInput(2, extSalt(1))
	got := k.getAssertion(&ctap2.GetAssertionRequest{
		RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(ad.Attested.CredentialID),
		Extensions: map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, in)},
	})
	require.Nil(t, extOutputs(t, got.AuthData), "extension outputs")
}

func TestExtensionsHMACSecretBadInput(t *testing.T) {
	const protocol = 2
	k := newTestKey(t, nil)
	req := mcRequest("example.com", "alice")
	req.Extensions = map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, true)}
	resp, _ := k.extMakeCredential(req, 0)
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	id := ad.Attested.CredentialID
	assertion := func(ext ctap2.RawMessage) (ctap2.Status, []byte) {
		return k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
			RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(id),
			Extensions: map[string]ctap2.RawMessage{ExtHMACSecret: ext},
		})
	}
	status, body := assertion(extRaw(t, func() *ctap2.HMACSecretInput { in, _ := k.extHMACInput(protocol, extSalt(1)); return in }()))
	require.Equal(t, ctap2.StatusOK, status)
	var before ctap2.GetAssertionResponse
	require.NoError(t, ctap2.Unmarshal(body, &before))

	three := uint64(3)
	tests := []struct {
		name   string
		change func(in *ctap2.HMACSecretInput) any
		want   ctap2.Status
	}{
		{"wrong saltAuth", func(in *ctap2.HMACSecretInput) any { in.SaltAuth[0] ^= 1; return in }, ctap2.ErrPINAuthInvalid},
		{"saltAuth of protocol one", func(in *ctap2.HMACSecretInput) any { in.SaltAuth = in.SaltAuth[:16]; return in }, ctap2.ErrPINAuthInvalid},
		{"saltEnc of three blocks", func(in *ctap2.HMACSecretInput) any {
			_, secret := k.extHMACInput(protocol)
			in.SaltEnc = append(in.SaltEnc, make([]byte, 16)...)
			in.SaltAuth = pinuv.Two.Authenticate(secret, in.SaltEnc)
			return in
		}, ctap2.ErrInvalidLength},
		{"no keyAgreement", func(in *ctap2.HMACSecretInput) any { in.KeyAgreement = nil; return in }, ctap2.ErrMissingParameter},
		{"no saltEnc", func(in *ctap2.HMACSecretInput) any { in.SaltEnc = nil; return in }, ctap2.ErrMissingParameter},
		{"no saltAuth", func(in *ctap2.HMACSecretInput) any { in.SaltAuth = nil; return in }, ctap2.ErrMissingParameter},
		{"keyAgreement not a P-256 key", func(in *ctap2.HMACSecretInput) any {
			in.KeyAgreement = extRaw(t, map[int]any{1: 2, -1: 1, -2: make([]byte, 32), -3: make([]byte, 32)})
			return in
		}, ctap2.ErrInvalidParameter},
		{"protocol 3", func(in *ctap2.HMACSecretInput) any { in.PinUvAuthProtocol = &three; return in }, ctap2.ErrInvalidParameter},
		{"saltEnc as array", func(in *ctap2.HMACSecretInput) any {
			return map[int]any{1: in.KeyAgreement, 2: []int{1, 2, 3}, 3: in.SaltAuth, 4: protocol}
		}, ctap2.ErrCBORUnexpectedType},
		{"a boolean", func(*ctap2.HMACSecretInput) any { return true }, ctap2.ErrCBORUnexpectedType},
		{"null", func(*ctap2.HMACSecretInput) any { return nil }, ctap2.ErrCBORUnexpectedType},
	}
	for _, tt := range tests {
		in, _ := k.extHMACInput(protocol, extSalt(1))
		status, _ := assertion(extRaw(t, tt.change(in)))
		require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
	}
	// A silent probe (up=false) gets no secret (CTAP 2.1 §12.5).
	in, _ := k.extHMACInput(protocol, extSalt(1))
	status, _ = k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
		RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(id),
		Extensions: map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, in)},
		Options:    map[string]bool{"up": false},
	})
	require.Equal(t, ctap2.ErrUnsupportedOption, status, "hmac-secret with up=false")
	// Nothing was signed: the counter moved once, for the next assertion.
	in, _ = k.extHMACInput(protocol, extSalt(1))
	status, body = assertion(extRaw(t, in))
	require.Equal(t, ctap2.StatusOK, status)
	var after ctap2.GetAssertionResponse
	require.NoError(t, ctap2.Unmarshal(body, &after))
	require.Equal(t, signCount(t, &before)+1, signCount(t, &after), "signature counter after refused requests")
}

// hmac-secret-mc (CTAP 2.2) evaluates at makeCredential what getAssertion
// evaluates later with the same UV state.
func TestExtensionsHMACSecretMC(t *testing.T) {
	for _, protocol := range []uint64{1, 2} {
		profile := DefaultProfile()
		profile.Extensions = append(profile.Extensions, ExtHMACSecretMC)
		k := newTestKey(t, profile)
		k.setPIN(protocol, extTestPIN)
		in, secret := k.extHMACInput(protocol, extSalt(5))
		req := mcRequest("example.com", "alice")
		req.Extensions = map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, true), ExtHMACSecretMC: extRaw(t, in)}
		resp, out := k.extMakeCredential(req, protocol)
		atMC := extHMACOutput(t, protocol, secret, out[ExtHMACSecretMC])
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)

		in, secret = k.extHMACInput(protocol, extSalt(5))
		ga := k.extAssertionRequest(&ctap2.GetAssertionRequest{
			RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(ad.Attested.CredentialID),
			Extensions: map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, in)},
		}, protocol)
		got := k.getAssertion(ga)
		require.Equal(t, atMC, extHMACOutput(t, protocol, secret, extOutputs(t, got.AuthData)[ExtHMACSecret]), "protocol %d: makeCredential and getAssertion outputs", protocol)

		// Without hmac-secret: true the input is ignored.
		in, _ = k.extHMACInput(protocol, extSalt(5))
		req = mcRequest("example.com", "bob")
		req.Extensions = map[string]ctap2.RawMessage{ExtHMACSecretMC: extRaw(t, in)}
		_, out = k.extMakeCredential(req, protocol)
		require.Nil(t, out, "protocol %d: outputs of hmac-secret-mc alone", protocol)

		// A wrong saltAuth is refused before anything is stored.
		in, _ = k.extHMACInput(protocol, extSalt(5))
		in.SaltAuth[0] ^= 1
		req = mcRequest("example.com", "carol")
		req.Options = map[string]bool{"rk": true}
		req.Extensions = map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, true), ExtHMACSecretMC: extRaw(t, in)}
		token := k.pinToken(protocol, extTestPIN, PermMakeCredential, "example.com")
		req.PinUvAuthProtocol, req.PinUvAuthParam = protocol, authParam(protocol, token, req.ClientDataHash)
		status, _ := k.do(ctap2.CmdMakeCredential, req)
		require.Equal(t, ctap2.ErrPINAuthInvalid, status, "protocol %d: wrong saltAuth", protocol)
		n, err := k.store.CountCredentials()
		require.NoError(t, err)
		require.Zero(t, n, "protocol %d: credentials stored", protocol)
	}
}

func TestExtensionsCredBlob(t *testing.T) {
	tests := []struct {
		name   string
		rk     bool
		blob   []byte
		stored bool
	}{
		{"32 bytes", true, bytes.Repeat([]byte{7}, 32), true},
		{"empty", true, []byte{}, true},
		{"33 bytes", true, bytes.Repeat([]byte{7}, 33), false},
		{"not discoverable", false, []byte("blob"), false},
	}
	for _, tt := range tests {
		k := newTestKey(t, nil)
		req := mcRequest("example.com", "alice")
		req.Options = map[string]bool{"rk": tt.rk}
		req.Extensions = map[string]ctap2.RawMessage{ExtCredBlob: extRaw(t, tt.blob)}
		resp, out := k.extMakeCredential(req, 0)
		require.Equal(t, extRaw(t, tt.stored), out[ExtCredBlob], "%s: makeCredential output", tt.name)
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)
		id := ad.Attested.CredentialID
		if tt.rk {
			c, err := k.store.Credential(id)
			require.NoError(t, err)
			if tt.stored {
				require.True(t, bytes.Equal(tt.blob, c.CredBlob), "%s: stored blob %x, want %x", tt.name, c.CredBlob, tt.blob)
			} else {
				require.Nil(t, c.CredBlob, "%s: stored blob", tt.name)
			}
		}

		want := []byte{}
		if tt.stored {
			want = tt.blob
		}
		got := k.getAssertion(&ctap2.GetAssertionRequest{
			RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(id),
			Extensions: map[string]ctap2.RawMessage{ExtCredBlob: extRaw(t, true)},
		})
		require.Equal(t, extRaw(t, want), extOutputs(t, got.AuthData)[ExtCredBlob], "%s: getAssertion output", tt.name)

		got = k.getAssertion(&ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(id),
			Extensions: map[string]ctap2.RawMessage{ExtCredBlob: extRaw(t, false)}})
		require.Nil(t, extOutputs(t, got.AuthData), "%s: getCredBlob false", tt.name)
	}
}

func TestExtensionsLargeBlobKey(t *testing.T) {
	k := newTestKey(t, nil)
	req := mcRequest("example.com", "alice")
	req.Options = map[string]bool{"rk": true}
	req.Extensions = map[string]ctap2.RawMessage{ExtLargeBlobKey: extRaw(t, true)}
	resp, out := k.extMakeCredential(req, 0)
	require.Len(t, resp.LargeBlobKey, largeBlobKeySize, "makeCredential largeBlobKey")
	require.Nil(t, out, "largeBlobKey has no authenticator data output")

	second := mcRequest("example.com", "bob")
	second.Options = map[string]bool{"rk": true}
	second.Extensions = map[string]ctap2.RawMessage{ExtLargeBlobKey: extRaw(t, true)}
	other, _ := k.extMakeCredential(second, 0)
	require.NotEqual(t, resp.LargeBlobKey, other.LargeBlobKey, "two credentials' keys")

	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	got := k.getAssertion(&ctap2.GetAssertionRequest{
		RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(ad.Attested.CredentialID),
		Extensions: map[string]ctap2.RawMessage{ExtLargeBlobKey: extRaw(t, true)},
	})
	require.Equal(t, resp.LargeBlobKey, got.LargeBlobKey, "getAssertion largeBlobKey")
	got = k.getAssertion(&ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(ad.Attested.CredentialID)})
	require.Nil(t, got.LargeBlobKey, "largeBlobKey not asked")

	status, _ := k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
		RPID: "example.com", ClientDataHash: clientDataHash(3),
		Extensions: map[string]ctap2.RawMessage{ExtLargeBlobKey: extRaw(t, false)},
	})
	require.Equal(t, ctap2.ErrInvalidOption, status, "getAssertion largeBlobKey false: got %v", status)
}

// Malformed inputs of supported extensions are refused with the status
// the spec gives, and nothing is stored.
func TestExtensionsMakeCredentialBadInput(t *testing.T) {
	tests := []struct {
		name string
		rk   bool
		id   string
		v    any
		want ctap2.Status
	}{
		{"credProtect text", true, ExtCredProtect, "userVerificationRequired", ctap2.ErrCBORUnexpectedType},
		{"credProtect 0", true, ExtCredProtect, 0, ctap2.ErrInvalidParameter},
		{"credProtect 4", true, ExtCredProtect, 4, ctap2.ErrInvalidParameter},
		{"credProtect -1", true, ExtCredProtect, -1, ctap2.ErrCBORUnexpectedType},
		{"credProtect null", true, ExtCredProtect, nil, ctap2.ErrCBORUnexpectedType},
		{"hmac-secret 1", true, ExtHMACSecret, 1, ctap2.ErrCBORUnexpectedType},
		{"credBlob text", true, ExtCredBlob, "blob", ctap2.ErrCBORUnexpectedType},
		{"credBlob array", true, ExtCredBlob, []int{1, 2}, ctap2.ErrCBORUnexpectedType},
		{"largeBlobKey false", true, ExtLargeBlobKey, false, ctap2.ErrInvalidOption},
		{"largeBlobKey without rk", false, ExtLargeBlobKey, true, ctap2.ErrInvalidOption},
		{"largeBlobKey bytes", true, ExtLargeBlobKey, []byte{1}, ctap2.ErrCBORUnexpectedType},
		{"minPinLength map", true, ExtMinPINLength, map[string]int{}, ctap2.ErrCBORUnexpectedType},
	}
	for _, tt := range tests {
		k := newTestKey(t, nil)
		req := mcRequest("example.com", "alice")
		req.Options = map[string]bool{"rk": tt.rk}
		req.Extensions = map[string]ctap2.RawMessage{tt.id: extRaw(t, tt.v)}
		status, _ := k.do(ctap2.CmdMakeCredential, req)
		require.Equal(t, tt.want, status, "%s: got %v, want %v", tt.name, status, tt.want)
		n, err := k.store.CountCredentials()
		require.NoError(t, err)
		require.Zero(t, n, "%s: credentials stored", tt.name)
		require.Empty(t, k.presence.requests, "%s: asked for a touch", tt.name)
	}
}

func TestExtensionsMinPINLength(t *testing.T) {
	k := newTestKey(t, nil)
	require.NoError(t, k.updateDevice(func(d *store.Device) error {
		d.MinPINLength = 6
		d.MinPINLengthRPIDs = []string{"listed.example"}
		return nil
	}))
	for _, tt := range []struct {
		rpID string
		want ctap2.RawMessage
	}{
		{"listed.example", extRaw(t, 6)},
		{"other.example", nil},
	} {
		req := mcRequest(tt.rpID, "alice")
		req.Extensions = map[string]ctap2.RawMessage{ExtMinPINLength: extRaw(t, true)}
		_, out := k.extMakeCredential(req, 0)
		require.Equal(t, tt.want, out[ExtMinPINLength], "%s: minPinLength output", tt.rpID)
	}
}

// Extensions the profile does not list are ignored, even malformed ones.
func TestExtensionsNotInProfileIgnored(t *testing.T) {
	profile := DefaultProfile()
	profile.Extensions = nil
	k := newTestKey(t, profile)
	bad := extRaw(t, "not a valid value for any of them")
	all := map[string]ctap2.RawMessage{}
	for _, id := range []string{ExtCredProtect, ExtHMACSecret, ExtHMACSecretMC, ExtCredBlob, ExtLargeBlobKey, ExtMinPINLength, "unknownExtension"} {
		all[id] = bad
	}
	req := mcRequest("example.com", "alice")
	req.Options = map[string]bool{"rk": true}
	req.Extensions = all
	resp, out := k.extMakeCredential(req, 0)
	require.Nil(t, out, "makeCredential outputs")
	require.Nil(t, resp.LargeBlobKey, "makeCredential largeBlobKey")

	got := k.getAssertion(&ctap2.GetAssertionRequest{RPID: "example.com", ClientDataHash: clientDataHash(3), Extensions: all})
	require.Nil(t, extOutputs(t, got.AuthData), "getAssertion outputs")

	// With the profile's list, the same values are refused.
	k = newTestKey(t, nil)
	req.Extensions = map[string]ctap2.RawMessage{ExtCredProtect: bad}
	status, _ := k.do(ctap2.CmdMakeCredential, req)
	require.Equal(t, ctap2.ErrCBORUnexpectedType, status, "supported extension: got %v", status)
}

func TestCredentialIDFlags(t *testing.T) {
	k := newTestKey(t, nil)
	dev, err := k.device()
	require.NoError(t, err)
	rpIDHash := ctap2.RPIDHash("example.com")
	sealedKey := make([]byte, 32)
	for _, discoverable := range []bool{false, true} {
		for level := range uint8(4) {
			for _, hmacSecret := range []bool{false, true} {
				src := credentialSource{alg: ctap2.AlgES256, discoverable: discoverable, sealedKey: sealedKey, credProtect: level, hmacSecret: hmacSecret}
				id, err := sealCredentialID(dev.credentials, k.rand, rpIDHash, src)
				require.NoError(t, err)
				require.Len(t, id, 66, "%+v: ID length", src)
				got, err := openCredentialID(dev.credentials, rpIDHash, id)
				require.NoError(t, err)
				require.Equal(t, src, *got, "round trip")
			}
		}
	}

	// IDs made before extensions existed (flags 0 or 1) and IDs with
	// flag bits this version does not know open as before.
	for _, flags := range []byte{0x00, 0x01, 0xf1} {
		plain := append([]byte{0xff, 0xff, 0xff, 0xf9, flags}, sealedKey...) // alg -7
		nonce := make([]byte, credentialNonceSize)
		id := dev.credentials.Seal(append([]byte{credentialIDVersion}, nonce...), nonce, plain, credentialAD(rpIDHash))
		got, err := openCredentialID(dev.credentials, rpIDHash, id)
		require.NoError(t, err)
		require.Equal(t, credentialSource{alg: ctap2.AlgES256, discoverable: flags&1 != 0, sealedKey: sealedKey}, *got, "flags %#02x", flags)
		require.True(t, credentialVisible(got, false, false), "flags %#02x: visible as credProtect level 1", flags)
	}
}

// getNextAssertion evaluates hmac-secret for each credential with the
// salts of the getAssertion that began the sequence.
func TestExtensionsHMACSecretNextAssertion(t *testing.T) {
	const protocol = 1
	k := newTestKey(t, nil)
	for _, user := range []string{"alice", "bob"} {
		req := mcRequest("example.com", user)
		req.Options = map[string]bool{"rk": true}
		req.Extensions = map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, true)}
		k.extMakeCredential(req, 0)
	}
	dev, err := k.device()
	require.NoError(t, err)
	in, secret := k.extHMACInput(protocol, extSalt(9))
	first := k.getAssertion(&ctap2.GetAssertionRequest{
		RPID: "example.com", ClientDataHash: clientDataHash(3),
		Extensions: map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, in)},
	})
	require.Equal(t, 2, first.NumberOfCredentials)
	status, body := k.do(ctap2.CmdGetNextAssertion, nil)
	require.Equal(t, ctap2.StatusOK, status, "getNextAssertion: %v", status)
	var next ctap2.GetAssertionResponse
	require.NoError(t, ctap2.Unmarshal(body, &next))
	require.NotEqual(t, first.Credential.ID, next.Credential.ID)
	for _, resp := range []*ctap2.GetAssertionResponse{first, &next} {
		got := extHMACOutput(t, protocol, secret, extOutputs(t, resp.AuthData)[ExtHMACSecret])
		require.Equal(t, extHMAC(credRandom(dev, resp.Credential.ID, false), extSalt(9)), got, "credential %x", resp.Credential.ID)
	}
}

// hmac-secret takes only the PIN/UV auth protocols the profile offers.
func TestExtensionsHMACSecretProtocolNotOffered(t *testing.T) {
	profile := DefaultProfile()
	profile.PinUvAuthProtocols = []uint64{2}
	k := newTestKey(t, profile)
	req := mcRequest("example.com", "alice")
	req.Extensions = map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, true)}
	resp, _ := k.extMakeCredential(req, 0)
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	one, two := uint64(1), uint64(2)
	for _, tt := range []struct {
		name     string
		protocol *uint64
		want     ctap2.Status
	}{
		{"absent, meaning one", nil, ctap2.ErrInvalidParameter},
		{"one", &one, ctap2.ErrInvalidParameter},
		{"two", &two, ctap2.StatusOK},
	} {
		in, _ := k.extHMACInput(2, extSalt(1))
		in.PinUvAuthProtocol = tt.protocol
		status, _ := k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
			RPID: "example.com", ClientDataHash: clientDataHash(3), AllowList: allow(ad.Attested.CredentialID),
			Extensions: map[string]ctap2.RawMessage{ExtHMACSecret: extRaw(t, in)},
		})
		require.Equal(t, tt.want, status, "protocol %s: got %v, want %v", tt.name, status, tt.want)
	}
}

package authenticator

import (
	"crypto/sha256"
	"math/rand/v2"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// The platform's half of the PIN/UV auth protocols, for tests that need a
// PIN or a pinUvAuthToken. Every step goes through authenticatorClientPIN.

// platformSeed seeds the platform's randomness, so that runs repeat.
var platformSeed = [32]byte{7}

// sharedSecret runs getKeyAgreement and returns the platform's key
// agreement key to send and the shared secret.
func (k *testKey) sharedSecret(protocol uint64) (ctap2.RawMessage, []byte) {
	k.t.Helper()
	p, err := pinuv.ByVersion(protocol)
	require.NoError(k.t, err)
	status, body := k.do(ctap2.CmdClientPIN, &ctap2.ClientPINRequest{PinUvAuthProtocol: protocol, SubCommand: ctap2.PINGetKeyAgreement})
	require.Equal(k.t, ctap2.StatusOK, status, "getKeyAgreement: %v", status)
	var resp ctap2.ClientPINResponse
	require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	platformKey, secret, err := pinuv.Encapsulate(p, rand.NewChaCha8(platformSeed), resp.KeyAgreement)
	require.NoError(k.t, err)
	return platformKey, secret
}

// paddedPIN is the PIN as setPIN and changePIN send it: UTF-8, padded
// with zeros to 64 bytes (CTAP 2.1 §6.5.5.5).
func paddedPIN(pin string) []byte {
	b := make([]byte, 64)
	copy(b, pin)
	return b
}

// setPINRequest builds a setPIN request for pin.
func (k *testKey) setPINRequest(protocol uint64, pin string) *ctap2.ClientPINRequest {
	k.t.Helper()
	return k.setPINRequestPadded(protocol, paddedPIN(pin))
}

// setPINRequestPadded builds a setPIN request whose decrypted newPinEnc is
// padded exactly as given, correctly authenticated.
func (k *testKey) setPINRequestPadded(protocol uint64, padded []byte) *ctap2.ClientPINRequest {
	k.t.Helper()
	p, _ := pinuv.ByVersion(protocol)
	platformKey, secret := k.sharedSecret(protocol)
	newPINEnc, err := p.Encrypt(rand.NewChaCha8(platformSeed), secret, padded)
	require.NoError(k.t, err)
	return &ctap2.ClientPINRequest{
		PinUvAuthProtocol: protocol,
		SubCommand:        ctap2.PINSetPIN,
		KeyAgreement:      platformKey,
		NewPINEnc:         newPINEnc,
		PinUvAuthParam:    p.Authenticate(secret, newPINEnc),
	}
}

// setPIN sets the first PIN and requires success.
func (k *testKey) setPIN(protocol uint64, pin string) {
	k.t.Helper()
	status, _ := k.do(ctap2.CmdClientPIN, k.setPINRequest(protocol, pin))
	require.Equal(k.t, ctap2.StatusOK, status, "setPIN: %v", status)
}

// tokenRequest builds a getPinUvAuthTokenUsingPinWithPermissions request
// and returns it with the shared secret that decrypts the answer.
func (k *testKey) tokenRequest(protocol uint64, pin string, perms Permission, rpID string) (*ctap2.ClientPINRequest, []byte) {
	k.t.Helper()
	p, _ := pinuv.ByVersion(protocol)
	platformKey, secret := k.sharedSecret(protocol)
	sum := sha256.Sum256([]byte(pin))
	pinHashEnc, err := p.Encrypt(rand.NewChaCha8(platformSeed), secret, sum[:16])
	require.NoError(k.t, err)
	return &ctap2.ClientPINRequest{
		PinUvAuthProtocol: protocol,
		SubCommand:        ctap2.PINGetPinUvAuthTokenUsingPinWithPerms,
		KeyAgreement:      platformKey,
		PINHashEnc:        pinHashEnc,
		Permissions:       uint64(perms),
		RPID:              rpID,
	}, secret
}

// pinToken obtains a pinUvAuthToken with the PIN and requires success.
func (k *testKey) pinToken(protocol uint64, pin string, perms Permission, rpID string) []byte {
	k.t.Helper()
	req, secret := k.tokenRequest(protocol, pin, perms, rpID)
	status, body := k.do(ctap2.CmdClientPIN, req)
	require.Equal(k.t, ctap2.StatusOK, status, "getPinUvAuthTokenUsingPinWithPermissions: %v", status)
	var resp ctap2.ClientPINResponse
	require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	p, _ := pinuv.ByVersion(protocol)
	token, err := p.Decrypt(secret, resp.PinUvAuthToken)
	require.NoError(k.t, err)
	return token
}

// authParam is the pinUvAuthParam over message with token.
func authParam(protocol uint64, token, message []byte) []byte {
	p, err := pinuv.ByVersion(protocol)
	if err != nil {
		panic(err)
	}
	return p.Authenticate(token, message)
}

// clientPIN sends one clientPIN request and decodes the answer (nil
// unless the status is OK).
func (k *testKey) clientPIN(req *ctap2.ClientPINRequest) (ctap2.Status, *ctap2.ClientPINResponse) {
	k.t.Helper()
	status, body := k.do(ctap2.CmdClientPIN, req)
	if status != ctap2.StatusOK {
		return status, nil
	}
	var resp ctap2.ClientPINResponse
	if len(body) > 0 {
		require.NoError(k.t, ctap2.Unmarshal(body, &resp))
	}
	return status, &resp
}

// pinRetries returns getPINRetries' pinRetries and powerCycleState.
func (k *testKey) pinRetries() (int, bool) {
	k.t.Helper()
	status, resp := k.clientPIN(&ctap2.ClientPINRequest{SubCommand: ctap2.PINGetRetries})
	require.Equal(k.t, ctap2.StatusOK, status, "getPINRetries: %v", status)
	require.NotNil(k.t, resp.PINRetries, "getPINRetries without pinRetries")
	powerCycle := resp.PowerCycleState != nil && *resp.PowerCycleState
	return int(*resp.PINRetries), powerCycle
}

// uvRetries returns getUVRetries' uvRetries.
func (k *testKey) uvRetries() int {
	k.t.Helper()
	status, resp := k.clientPIN(&ctap2.ClientPINRequest{SubCommand: ctap2.PINGetUVRetries})
	require.Equal(k.t, ctap2.StatusOK, status, "getUVRetries: %v", status)
	require.NotNil(k.t, resp.UVRetries, "getUVRetries without uvRetries")
	return int(*resp.UVRetries)
}

// changePINRequest builds a changePIN request from oldPIN to newPIN.
func (k *testKey) changePINRequest(protocol uint64, oldPIN, newPIN string) *ctap2.ClientPINRequest {
	k.t.Helper()
	p, _ := pinuv.ByVersion(protocol)
	platformKey, secret := k.sharedSecret(protocol)
	newPINEnc, err := p.Encrypt(rand.NewChaCha8(platformSeed), secret, paddedPIN(newPIN))
	require.NoError(k.t, err)
	sum := sha256.Sum256([]byte(oldPIN))
	pinHashEnc, err := p.Encrypt(rand.NewChaCha8(platformSeed), secret, sum[:16])
	require.NoError(k.t, err)
	return &ctap2.ClientPINRequest{
		PinUvAuthProtocol: protocol,
		SubCommand:        ctap2.PINChangePIN,
		KeyAgreement:      platformKey,
		NewPINEnc:         newPINEnc,
		PINHashEnc:        pinHashEnc,
		PinUvAuthParam:    p.Authenticate(secret, append(append([]byte{}, newPINEnc...), pinHashEnc...)),
	}
}

// changePIN changes the PIN and requires success.
func (k *testKey) changePIN(protocol uint64, oldPIN, newPIN string) {
	k.t.Helper()
	status, _ := k.do(ctap2.CmdClientPIN, k.changePINRequest(protocol, oldPIN, newPIN))
	require.Equal(k.t, ctap2.StatusOK, status, "changePIN: %v", status)
}

// uvTokenRequest builds a getPinUvAuthTokenUsingUvWithPermissions request
// and returns it with the shared secret that decrypts the answer.
func (k *testKey) uvTokenRequest(protocol uint64, perms Permission, rpID string) (*ctap2.ClientPINRequest, []byte) {
	k.t.Helper()
	platformKey, secret := k.sharedSecret(protocol)
	return &ctap2.ClientPINRequest{
		PinUvAuthProtocol: protocol,
		SubCommand:        ctap2.PINGetPinUvAuthTokenUsingUvWithPerms,
		KeyAgreement:      platformKey,
		Permissions:       uint64(perms),
		RPID:              rpID,
	}, secret
}

// uvToken obtains a pinUvAuthToken with built-in UV and requires success.
func (k *testKey) uvToken(protocol uint64, perms Permission, rpID string) []byte {
	k.t.Helper()
	req, secret := k.uvTokenRequest(protocol, perms, rpID)
	status, resp := k.clientPIN(req)
	require.Equal(k.t, ctap2.StatusOK, status, "getPinUvAuthTokenUsingUvWithPermissions: %v", status)
	p, _ := pinuv.ByVersion(protocol)
	token, err := p.Decrypt(secret, resp.PinUvAuthToken)
	require.NoError(k.t, err)
	return token
}

// useVerifier replaces the key's built-in UV verifier.
func (k *testKey) useVerifier(v Verifier) {
	k.Authenticator.verifier = v
}

// record returns a copy of the stored device record.
func (k *testKey) record() *store.Device {
	k.t.Helper()
	d, err := k.store.Device()
	require.NoError(k.t, err)
	return d.Clone()
}

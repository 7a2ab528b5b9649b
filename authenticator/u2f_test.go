package authenticator

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/x509"
	"fmt"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/u2f"
)

// apdu sends cmd in short form, or in extended form when its data does not
// fit short form's Lc (a TPM backend's key handles do not).
func (k *testKey) apdu(cmd u2f.Command) ([]byte, u2f.StatusWord) {
	k.t.Helper()
	raw, err := u2f.EncodeCommand(cmd, len(cmd.Data) > 255)
	require.NoError(k.t, err)
	data, sw, err := u2f.SplitStatus(k.HandleMessage(context.Background(), raw))
	require.NoError(k.t, err)
	return data, sw
}

func (k *testKey) u2fRegister(challenge, application [32]byte) *u2f.RegisterResult {
	k.t.Helper()
	data, sw := k.apdu(u2f.Command{INS: u2f.InsRegister, Data: u2f.EncodeRegisterRequest(challenge, application), Le: 256})
	require.Equal(k.t, u2f.SWNoError, sw)
	res, err := u2f.ParseRegisterResponse(data)
	require.NoError(k.t, err)
	return res
}

func (k *testKey) u2fAuthenticate(p1 byte, challenge, application [32]byte, keyHandle []byte) ([]byte, u2f.StatusWord) {
	k.t.Helper()
	req, err := u2f.EncodeAuthenticateRequest(challenge, application, keyHandle)
	require.NoError(k.t, err)
	return k.apdu(u2f.Command{INS: u2f.InsAuthenticate, P1: p1, Data: req, Le: 256})
}

func TestU2FVersion(t *testing.T) {
	k := newTestKey(t, nil)
	data, sw := k.apdu(u2f.Command{INS: u2f.InsVersion})
	require.Equal(t, u2f.SWNoError, sw)
	require.Equal(t, "U2F_V2", string(data))
}

func TestU2FRegisterAndAuthenticate(t *testing.T) {
	k := newTestKey(t, nil)
	app := ctap2.RPIDHash("example.org")
	challenge := [32]byte{7}
	reg := k.u2fRegister(challenge, app)

	cert, err := x509.ParseCertificate(reg.AttestationCert)
	require.NoError(t, err)
	verifyWith(t, ctap2.AlgES256, cert.PublicKey, reg.SignedData(challenge, app), reg.Signature)
	userKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), reg.UserPublicKey)
	require.NoError(t, err)

	for want := uint32(1); want <= 2; want++ {
		data, sw := k.u2fAuthenticate(u2f.EnforceUserPresence, challenge, app, reg.KeyHandle)
		require.Equal(t, u2f.SWNoError, sw)
		res, err := u2f.ParseAuthenticateResponse(data)
		require.NoError(t, err)
		require.Equal(t, u2f.UserPresent, res.UserPresence)
		require.Equal(t, want, res.Counter)
		verifyWith(t, ctap2.AlgES256, userKey, res.SignedData(challenge, app), res.Signature)
	}

	data, sw := k.u2fAuthenticate(u2f.DontEnforce, challenge, app, reg.KeyHandle)
	require.Equal(t, u2f.SWNoError, sw)
	res, err := u2f.ParseAuthenticateResponse(data)
	require.NoError(t, err)
	require.Zero(t, res.UserPresence)
}

func TestU2FCheckOnlyAndForeignKeyHandles(t *testing.T) {
	k := newTestKey(t, nil)
	app := ctap2.RPIDHash("example.org")
	reg := k.u2fRegister([32]byte{}, app)

	_, sw := k.u2fAuthenticate(u2f.CheckOnly, [32]byte{}, app, reg.KeyHandle)
	require.Equal(t, u2f.SWConditionsNotSatisfied, sw, "check-only on our key handle")
	_, sw = k.u2fAuthenticate(u2f.CheckOnly, [32]byte{}, ctap2.RPIDHash("other.example"), reg.KeyHandle)
	require.Equal(t, u2f.SWWrongData, sw, "our key handle under another application")
	_, sw = k.u2fAuthenticate(u2f.EnforceUserPresence, [32]byte{}, app, []byte("not a key handle of ours"))
	require.Equal(t, u2f.SWWrongData, sw)
}

func TestU2FPresenceRefused(t *testing.T) {
	k := newTestKey(t, nil)
	app := ctap2.RPIDHash("example.org")
	reg := k.u2fRegister([32]byte{}, app)
	k.presence.err = ErrPresenceDenied
	_, sw := k.apdu(u2f.Command{INS: u2f.InsRegister, Data: u2f.EncodeRegisterRequest([32]byte{}, app)})
	require.Equal(t, u2f.SWConditionsNotSatisfied, sw)
	_, sw = k.u2fAuthenticate(u2f.EnforceUserPresence, [32]byte{}, app, reg.KeyHandle)
	require.Equal(t, u2f.SWConditionsNotSatisfied, sw)
}

// TestU2FAndCTAP2ShareCredentials checks both directions of CTAP1/CTAP2
// credential interop (CTAP 2.1 §10.3 and §10.2).
func TestU2FAndCTAP2ShareCredentials(t *testing.T) {
	k := newTestKey(t, nil)
	app := ctap2.RPIDHash("example.org")

	// U2F credential through CTAP2 getAssertion.
	reg := k.u2fRegister([32]byte{}, app)
	req := &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(3), AllowList: allow(reg.KeyHandle)}
	resp := k.getAssertion(req)
	userKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), reg.UserPublicKey)
	require.NoError(t, err)
	verifyWith(t, ctap2.AlgES256, userKey, append(resp.AuthData, req.ClientDataHash...), resp.Signature)

	// CTAP2 ES256 credential through U2F AUTHENTICATE.
	_, mc := k.makeCredential(mcRequest("example.org", "alice"))
	challenge := [32]byte{9}
	data, sw := k.u2fAuthenticate(u2f.EnforceUserPresence, challenge, app, mc.Attested.CredentialID)
	require.Equal(t, u2f.SWNoError, sw)
	res, err := u2f.ParseAuthenticateResponse(data)
	require.NoError(t, err)
	_, pub, err := ctap2.ParseCOSEKey(mc.Attested.PublicKey)
	require.NoError(t, err)
	verifyWith(t, ctap2.AlgES256, pub, res.SignedData(challenge, app), res.Signature)
}

// TestU2FRefusesEdDSACredential: U2F signs with P-256 only, so a CTAP2
// EdDSA credential is not a key handle of ours for AUTHENTICATE.
func TestU2FRefusesEdDSACredential(t *testing.T) {
	k := newTestKey(t, nil)
	k.skipUnlessBackendMakes(ctap2.AlgEdDSA)
	app := ctap2.RPIDHash("example.org")
	_, ed := k.makeCredential(mcRequest("example.org", "bob", ctap2.AlgEdDSA))
	_, sw := k.u2fAuthenticate(u2f.EnforceUserPresence, [32]byte{9}, app, ed.Attested.CredentialID)
	require.Equal(t, u2f.SWWrongData, sw, "AUTHENTICATE with an EdDSA credential ID")
	require.Empty(t, k.presence.requests[1:], "no touch asked for a key handle that is refused")
}

func TestU2FBadAPDUs(t *testing.T) {
	k := newTestKey(t, nil)
	tests := []struct {
		name string
		apdu []byte
		want u2f.StatusWord
	}{
		{"too short", []byte{0x00, 0x01}, u2f.SWWrongLength},
		{"wrong class", []byte{0x80, 0x03, 0x00, 0x00}, u2f.SWClaNotSupported},
		{"unknown instruction", []byte{0x00, 0x44, 0x00, 0x00}, u2f.SWInsNotSupported},
		{"register with 10 bytes", append([]byte{0x00, 0x01, 0x00, 0x00, 0x0a}, make([]byte, 10)...), u2f.SWWrongLength},
		{"version with data", []byte{0x00, 0x03, 0x00, 0x00, 0x01, 0x00}, u2f.SWWrongLength},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, sw, err := u2f.SplitStatus(k.HandleMessage(context.Background(), tt.apdu))
			require.NoError(t, err)
			require.Equal(t, tt.want, sw)
		})
	}

	p := DefaultProfile()
	p.U2F = false
	off := newTestKey(t, p)
	_, sw := off.apdu(u2f.Command{INS: u2f.InsVersion})
	require.Equal(t, u2f.SWInsNotSupported, sw, "U2F switched off in the profile")
}

// paddedKeys lengthens every sealed key by pad bytes, to make credential IDs
// of a chosen length with any backend.
type paddedKeys struct {
	KeyBackend
	pad int
}

func (p paddedKeys) GenerateKey(alg ctap2.Alg) ([]byte, crypto.Signer, error) {
	sealed, key, err := p.KeyBackend.GenerateKey(alg)
	if err != nil {
		return nil, nil, err
	}
	return append(make([]byte, p.pad), sealed...), key, nil
}

func (p paddedKeys) LoadKey(alg ctap2.Alg, sealed []byte) (crypto.Signer, error) {
	if len(sealed) < p.pad {
		return nil, fmt.Errorf("sealed key of %d bytes is shorter than the %d-byte padding", len(sealed), p.pad)
	}
	return p.KeyBackend.LoadKey(alg, sealed[p.pad:])
}

// TestU2FRegisterKeyHandleLimit: a key handle's length is one byte (U2F Raw
// Message Formats §4.3), so a backend whose key handles would be longer
// cannot register: SW_INS_NOT_SUPPORTED, no data, nothing stored.
func TestU2FRegisterKeyHandleLimit(t *testing.T) {
	app := ctap2.RPIDHash("example.org")
	base := len(newTestKey(t, nil).u2fRegister([32]byte{}, app).KeyHandle)
	require.LessOrEqual(t, base, 255, "key handle without padding")

	for _, tt := range []struct {
		handle int
		want   u2f.StatusWord
	}{{255, u2f.SWNoError}, {256, u2f.SWInsNotSupported}, {base + 300, u2f.SWInsNotSupported}} {
		t.Run(fmt.Sprintf("%d bytes", tt.handle), func(t *testing.T) {
			k := newTestKey(t, nil)
			k.keys = paddedKeys{KeyBackend: k.keys, pad: tt.handle - base}
			before := k.deviceRecord()
			data, sw := k.apdu(u2f.Command{INS: u2f.InsRegister, Data: u2f.EncodeRegisterRequest([32]byte{3}, app), Le: 256})
			require.Equal(t, tt.want, sw, "REGISTER with a %d-byte key handle: got %v, want %v", tt.handle, sw, tt.want)
			if tt.want != u2f.SWNoError {
				require.Empty(t, data, "data of a refused REGISTER")
				require.Equal(t, before, k.deviceRecord(), "device record after a refused REGISTER")
				creds, err := k.store.Credentials()
				require.NoError(t, err)
				require.Empty(t, creds, "credentials after a refused REGISTER")
				return
			}
			reg, err := u2f.ParseRegisterResponse(data)
			require.NoError(t, err)
			require.Len(t, reg.KeyHandle, tt.handle, "key handle")
			got, sw := k.u2fAuthenticate(u2f.EnforceUserPresence, [32]byte{4}, app, reg.KeyHandle)
			require.Equal(t, u2f.SWNoError, sw, "AUTHENTICATE with the %d-byte key handle", tt.handle)
			res, err := u2f.ParseAuthenticateResponse(got)
			require.NoError(t, err)
			userKey, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), reg.UserPublicKey)
			require.NoError(t, err)
			verifyWith(t, ctap2.AlgES256, userKey, res.SignedData([32]byte{4}, app), res.Signature)
		})
	}
}

package authenticator

import (
	"context"
	"crypto/ecdsa"
	"encoding/binary"
	"errors"
	"fmt"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/u2f"
)

// HandleMessage answers one U2F request APDU carried by CTAPHID_MSG (FIDO
// U2F Raw Message Formats v1.2). The answer is the response APDU, ending in
// its status word. U2F credentials and CTAP2 ES256 credentials are one and
// the same: a key handle is a credential ID with the application parameter
// as rpIdHash.
func (a *Authenticator) HandleMessage(ctx context.Context, apdu []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.next = nil
	start := a.now()
	data, err := a.handleU2F(ctx, apdu)
	sw := u2f.SWNoError
	if err != nil {
		data = nil
		if !errors.As(err, &sw) {
			sw = u2f.SWWrongData
		}
	}
	a.log.Debug("u2f", "status", sw, "duration", a.now().Sub(start), "error", err)
	return u2f.WithStatus(data, sw)
}

func (a *Authenticator) handleU2F(ctx context.Context, apdu []byte) ([]byte, error) {
	if !a.profile.U2F {
		return nil, fmt.Errorf("U2F is off in the profile: %w", u2f.SWInsNotSupported)
	}
	cmd, err := u2f.ParseCommand(apdu)
	if err != nil {
		return nil, err
	}
	switch cmd.INS {
	case u2f.InsVersion:
		if len(cmd.Data) != 0 {
			return nil, fmt.Errorf("VERSION with data: %w", u2f.SWWrongLength)
		}
		return []byte(u2f.Version), nil
	case u2f.InsRegister:
		return a.u2fRegister(ctx, cmd.Data)
	case u2f.InsAuthenticate:
		return a.u2fAuthenticate(ctx, cmd.P1, cmd.Data)
	}
	return nil, fmt.Errorf("INS 0x%02X: %w", cmd.INS, u2f.SWInsNotSupported)
}

// u2fMaxKeyHandle is the longest key handle a registration response can
// carry: its length is one byte (U2F Raw Message Formats §4.3).
const u2fMaxKeyHandle = 255

// u2fRegister answers REGISTER (U2F Raw Message Formats §4).
func (a *Authenticator) u2fRegister(ctx context.Context, data []byte) ([]byte, error) {
	challenge, application, err := u2f.ParseRegisterRequest(data)
	if err != nil {
		return nil, err
	}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	if err := a.u2fPresence(ctx, PresenceRequest{Operation: "register"}); err != nil {
		return nil, err
	}
	sealedKey, key, err := a.keys.GenerateKey(ctap2.AlgES256)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	keyHandle, err := sealCredentialID(dev.credentials, a.rand, application, credentialSource{alg: ctap2.AlgES256, sealedKey: sealedKey})
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	if len(keyHandle) > u2fMaxKeyHandle {
		// A key backend whose ES256 blobs make longer credential IDs cannot
		// register U2F credentials at all (CTAP2 makeCredential still can),
		// so REGISTER is answered as a command this authenticator lacks
		// rather than as bad request data.
		return nil, fmt.Errorf("register: the key backend's ES256 key handle is %d bytes, over U2F's %d-byte limit: %w",
			len(keyHandle), u2fMaxKeyHandle, u2f.SWInsNotSupported)
	}
	a.rememberKey(keyHandle, key)
	pub, ok := key.Public().(*ecdsa.PublicKey)
	if !ok {
		return nil, fmt.Errorf("register: key backend returned a %T for ES256", key.Public())
	}
	userPublicKey, err := pub.Bytes()
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	sig, err := attestation.U2FRegisterSignature(dev.batch.Key, application[:], challenge[:], keyHandle, userPublicKey)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	resp, err := u2f.RegisterResponse(userPublicKey, keyHandle, dev.batch.Chain[0], sig)
	if err != nil {
		return nil, fmt.Errorf("register: %w", err)
	}
	return resp, nil
}

// u2fAuthenticate answers AUTHENTICATE (U2F Raw Message Formats §5).
func (a *Authenticator) u2fAuthenticate(ctx context.Context, p1 byte, data []byte) ([]byte, error) {
	challenge, application, keyHandle, err := u2f.ParseAuthenticateRequest(data)
	if err != nil {
		return nil, err
	}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	src, err := openCredentialID(dev.credentials, application, keyHandle)
	if err != nil || src.alg != ctap2.AlgES256 || !credentialVisible(src, true, false) ||
		(src.discoverable && !a.credentialExists(dev, application, keyHandle, false)) {
		return nil, fmt.Errorf("authenticate: key handle is not ours: %w", u2f.SWWrongData)
	}
	var presence byte
	switch p1 {
	case u2f.CheckOnly:
		// §5.1: a key handle of ours is answered with "conditions not
		// satisfied", which tells the host it may ask for a touch.
		return nil, fmt.Errorf("authenticate: check-only: %w", u2f.SWConditionsNotSatisfied)
	case u2f.EnforceUserPresence:
		if err := a.u2fPresence(ctx, PresenceRequest{Operation: "authenticate"}); err != nil {
			return nil, err
		}
		presence = byte(a.flags(true, false) & ctap2.FlagUP)
	case u2f.DontEnforce:
	default:
		return nil, fmt.Errorf("authenticate: P1 0x%02X: %w", p1, u2f.SWWrongData)
	}
	key, err := a.loadKey(keyHandle, src)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	counter, err := a.nextSignCount(keyHandle)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	// The signed data is exactly CTAP2 authenticator data followed by the
	// client data hash, which is why the two protocols can share credentials.
	signed := make([]byte, 0, 32+1+4+32)
	signed = append(signed, application[:]...)
	signed = append(signed, presence)
	signed = binary.BigEndian.AppendUint32(signed, counter)
	signed = append(signed, challenge[:]...)
	sig, err := attestation.Sign(key, ctap2.AlgES256, signed)
	if err != nil {
		return nil, fmt.Errorf("authenticate: %w", err)
	}
	if a.bogusSignature("assertion") {
		sig = make([]byte, len(sig))
	}
	return u2f.AuthenticateResponse(presence, counter, sig), nil
}

// u2fPresence asks for a touch. U2F has no error code for "denied" or
// "cancelled": every failure is "conditions not satisfied", after which the
// host asks again (§4.3, §5.2).
func (a *Authenticator) u2fPresence(ctx context.Context, req PresenceRequest) error {
	if err := a.waitForPresence(ctx, req); err != nil {
		return fmt.Errorf("%v: %w", err, u2f.SWConditionsNotSatisfied)
	}
	return nil
}

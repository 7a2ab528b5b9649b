package pinuv

import (
	"context"
	"crypto/rand"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"

	"github.com/softkeydev/softkey/ctap2"
)

// Permissions a platform asks for with a pinUvAuthToken (CTAP 2.1
// §6.5.5.7).
const (
	PermMakeCredential       = 0x01
	PermGetAssertion         = 0x02
	PermCredentialManagement = 0x04
	PermBioEnrollment        = 0x08
	PermLargeBlobWrite       = 0x10
	PermAuthenticatorConfig  = 0x20
)

// ErrPINTooLong is returned for a PIN that does not fit the 64-byte
// padded form of setPIN and changePIN.
var ErrPINTooLong = errors.New("pinuv: PIN longer than 64 bytes")

// Client is the platform's half of authenticatorClientPIN (CTAP 2.1
// §6.5.5) over a ctap2.Client, with one PIN/UV auth protocol. Errors from
// the authenticator wrap its ctap2.Status.
type Client struct {
	c    *ctap2.Client
	p    Protocol
	rand io.Reader
}

// NewClient returns a client that speaks protocol p through c, drawing
// ephemeral keys and IVs from rnd (nil means crypto/rand).
func NewClient(c *ctap2.Client, p Protocol, rnd io.Reader) *Client {
	if rnd == nil {
		rnd = rand.Reader
	}
	return &Client{c: c, p: p, rand: rnd}
}

// Token is a pinUvAuthToken and the protocol it was issued under.
type Token struct {
	Protocol Protocol
	Token    []byte
}

// Authenticate returns the pinUvAuthParam for message.
func (t *Token) Authenticate(message []byte) []byte {
	return t.Protocol.Authenticate(t.Token, message)
}

// Retries returns the PIN retries left and whether a power cycle is
// needed before the next PIN attempt (getPINRetries, CTAP 2.1 §6.5.5.2).
func (c *Client) Retries(ctx context.Context) (retries int, powerCycle bool, err error) {
	resp, err := c.c.ClientPIN(ctx, &ctap2.ClientPINRequest{SubCommand: ctap2.PINGetRetries})
	if err != nil {
		return 0, false, err
	}
	if resp.PINRetries == nil {
		return 0, false, fmt.Errorf("getPINRetries: no pinRetries: %w", ctap2.ErrMissingParameter)
	}
	if resp.PowerCycleState != nil {
		powerCycle = *resp.PowerCycleState
	}
	return int(*resp.PINRetries), powerCycle, nil
}

// UVRetries returns the built-in UV retries left (getUVRetries,
// CTAP 2.1 §6.5.5.8).
func (c *Client) UVRetries(ctx context.Context) (int, error) {
	resp, err := c.c.ClientPIN(ctx, &ctap2.ClientPINRequest{SubCommand: ctap2.PINGetUVRetries})
	if err != nil {
		return 0, err
	}
	if resp.UVRetries == nil {
		return 0, fmt.Errorf("getUVRetries: no uvRetries: %w", ctap2.ErrMissingParameter)
	}
	return int(*resp.UVRetries), nil
}

// encapsulate runs getKeyAgreement and returns the platform key to send
// and the shared secret.
func (c *Client) encapsulate(ctx context.Context) (ctap2.RawMessage, []byte, error) {
	resp, err := c.c.ClientPIN(ctx, &ctap2.ClientPINRequest{PinUvAuthProtocol: c.p.Version(), SubCommand: ctap2.PINGetKeyAgreement})
	if err != nil {
		return nil, nil, err
	}
	if resp.KeyAgreement == nil {
		return nil, nil, fmt.Errorf("getKeyAgreement: no keyAgreement: %w", ctap2.ErrMissingParameter)
	}
	return Encapsulate(c.p, c.rand, resp.KeyAgreement)
}

// padPIN is the PIN as setPIN and changePIN send it: UTF-8 padded with
// zeros to 64 bytes (CTAP 2.1 §6.5.5.5).
func padPIN(pin string) ([]byte, error) {
	if len(pin) > 64 {
		return nil, ErrPINTooLong
	}
	b := make([]byte, 64)
	copy(b, pin)
	return b, nil
}

// pinHashEnc encrypts LEFT(SHA-256(pin), 16).
func (c *Client) pinHashEnc(secret []byte, pin string) ([]byte, error) {
	sum := sha256.Sum256([]byte(pin))
	return c.p.Encrypt(c.rand, secret, sum[:16])
}

// newPIN agrees on a shared secret with the authenticator and encrypts
// pin, padded, under it: what setPIN and changePIN send.
func (c *Client) newPIN(ctx context.Context, pin string) (platformKey ctap2.RawMessage, secret, newPINEnc []byte, err error) {
	padded, err := padPIN(pin)
	if err != nil {
		return nil, nil, nil, err
	}
	if platformKey, secret, err = c.encapsulate(ctx); err != nil {
		return nil, nil, nil, err
	}
	if newPINEnc, err = c.p.Encrypt(c.rand, secret, padded); err != nil {
		return nil, nil, nil, err
	}
	return platformKey, secret, newPINEnc, nil
}

// SetPIN sets the first PIN (setPIN, CTAP 2.1 §6.5.5.5).
func (c *Client) SetPIN(ctx context.Context, pin string) error {
	platformKey, secret, newPINEnc, err := c.newPIN(ctx, pin)
	if err != nil {
		return err
	}
	_, err = c.c.ClientPIN(ctx, &ctap2.ClientPINRequest{
		PinUvAuthProtocol: c.p.Version(),
		SubCommand:        ctap2.PINSetPIN,
		KeyAgreement:      platformKey,
		NewPINEnc:         newPINEnc,
		PinUvAuthParam:    c.p.Authenticate(secret, newPINEnc),
	})
	return err
}

// ChangePIN replaces the PIN (changePIN, CTAP 2.1 §6.5.5.6).
func (c *Client) ChangePIN(ctx context.Context, oldPIN, newPIN string) error {
	platformKey, secret, newPINEnc, err := c.newPIN(ctx, newPIN)
	if err != nil {
		return err
	}
	pinHashEnc, err := c.pinHashEnc(secret, oldPIN)
	if err != nil {
		return err
	}
	_, err = c.c.ClientPIN(ctx, &ctap2.ClientPINRequest{
		PinUvAuthProtocol: c.p.Version(),
		SubCommand:        ctap2.PINChangePIN,
		KeyAgreement:      platformKey,
		NewPINEnc:         newPINEnc,
		PINHashEnc:        pinHashEnc,
		PinUvAuthParam:    c.p.Authenticate(secret, append(append([]byte{}, newPINEnc...), pinHashEnc...)),
	})
	return err
}

// PINToken gets a pinUvAuthToken with the PIN
// (getPinUvAuthTokenUsingPinWithPermissions, CTAP 2.1 §6.5.5.7.2). rpID
// may be empty unless perms has mc or ga.
func (c *Client) PINToken(ctx context.Context, pin string, perms uint8, rpID string) (*Token, error) {
	platformKey, secret, err := c.encapsulate(ctx)
	if err != nil {
		return nil, err
	}
	pinHashEnc, err := c.pinHashEnc(secret, pin)
	if err != nil {
		return nil, err
	}
	return c.token(ctx, secret, &ctap2.ClientPINRequest{
		PinUvAuthProtocol: c.p.Version(),
		SubCommand:        ctap2.PINGetPinUvAuthTokenUsingPinWithPerms,
		KeyAgreement:      platformKey,
		PINHashEnc:        pinHashEnc,
		Permissions:       uint64(perms),
		RPID:              rpID,
	})
}

// UVToken gets a pinUvAuthToken with built-in user verification
// (getPinUvAuthTokenUsingUvWithPermissions, CTAP 2.1 §6.5.5.7.3).
func (c *Client) UVToken(ctx context.Context, perms uint8, rpID string) (*Token, error) {
	platformKey, secret, err := c.encapsulate(ctx)
	if err != nil {
		return nil, err
	}
	return c.token(ctx, secret, &ctap2.ClientPINRequest{
		PinUvAuthProtocol: c.p.Version(),
		SubCommand:        ctap2.PINGetPinUvAuthTokenUsingUvWithPerms,
		KeyAgreement:      platformKey,
		Permissions:       uint64(perms),
		RPID:              rpID,
	})
}

func (c *Client) token(ctx context.Context, secret []byte, req *ctap2.ClientPINRequest) (*Token, error) {
	resp, err := c.c.ClientPIN(ctx, req)
	if err != nil {
		return nil, err
	}
	if resp.PinUvAuthToken == nil {
		return nil, fmt.Errorf("clientPIN: no pinUvAuthToken: %w", ctap2.ErrMissingParameter)
	}
	token, err := c.p.Decrypt(secret, resp.PinUvAuthToken)
	if err != nil {
		return nil, fmt.Errorf("clientPIN: decrypting pinUvAuthToken: %w", err)
	}
	return &Token{Protocol: c.p, Token: token}, nil
}

package ctap2

import (
	"context"
	"fmt"

	"github.com/softkeydev/softkey/ctap2/u2f"
)

// u2fMaxResponse is the Le the client sends: extended-length 0x0000, "as
// many bytes as you have", as FIDO U2F Raw Message Formats §3.1.2 shows.
const u2fMaxResponse = 65536

// U2FVersion sends U2F_VERSION and returns the version string, "U2F_V2" for
// a conforming device (FIDO U2F Raw Message Formats §6).
func (c *Client) U2FVersion(ctx context.Context) (string, error) {
	data, err := c.u2fCall(ctx, u2f.Command{INS: u2f.InsVersion, Le: u2fMaxResponse})
	if err != nil {
		return "", fmt.Errorf("u2f version: %w", err)
	}
	return string(data), nil
}

// U2FRegister sends U2F_REGISTER with a challenge parameter (the hash of
// the client data) and an application parameter (the hash of the
// application ID), and decodes the registration response (FIDO U2F Raw
// Message Formats §4). A device waiting for a touch answers
// SW_CONDITIONS_NOT_SATISFIED, which comes back as an error wrapping
// [u2f.SWConditionsNotSatisfied]; hosts retry until it changes.
func (c *Client) U2FRegister(ctx context.Context, challenge, application [32]byte) (*u2f.RegisterResult, error) {
	data, err := c.u2fCall(ctx, u2f.Command{
		INS:  u2f.InsRegister,
		Data: u2f.EncodeRegisterRequest(challenge, application),
		Le:   u2fMaxResponse,
	})
	if err != nil {
		return nil, fmt.Errorf("u2f register: %w", err)
	}
	res, err := u2f.ParseRegisterResponse(data)
	if err != nil {
		return nil, fmt.Errorf("u2f register: %w", err)
	}
	return res, nil
}

// U2FAuthenticate sends U2F_AUTHENTICATE with control byte p1
// ([u2f.EnforceUserPresence], [u2f.DontEnforce] or [u2f.CheckOnly]) and
// decodes the authentication response (FIDO U2F Raw Message Formats §5).
//
// A status word other than SW_NO_ERROR comes back as an error wrapping a
// [u2f.StatusWord]. With [u2f.CheckOnly] that is always the case: the device
// answers SW_CONDITIONS_NOT_SATISFIED for a key handle it made and
// SW_WRONG_DATA for any other (§5.1).
func (c *Client) U2FAuthenticate(ctx context.Context, p1 byte, challenge, application [32]byte, keyHandle []byte) (*u2f.AuthenticateResult, error) {
	req, err := u2f.EncodeAuthenticateRequest(challenge, application, keyHandle)
	if err != nil {
		return nil, fmt.Errorf("u2f authenticate: %w", err)
	}
	data, err := c.u2fCall(ctx, u2f.Command{INS: u2f.InsAuthenticate, P1: p1, Data: req, Le: u2fMaxResponse})
	if err != nil {
		return nil, fmt.Errorf("u2f authenticate: %w", err)
	}
	res, err := u2f.ParseAuthenticateResponse(data)
	if err != nil {
		return nil, fmt.Errorf("u2f authenticate: %w", err)
	}
	return res, nil
}

// u2fCall sends one command as an extended-length APDU (FIDO U2F Raw
// Message Formats §3.1.2) and returns the response data, or an error
// wrapping the status word when it is not SW_NO_ERROR.
func (c *Client) u2fCall(ctx context.Context, cmd u2f.Command) ([]byte, error) {
	apdu, err := u2f.EncodeCommand(cmd, true)
	if err != nil {
		return nil, err
	}
	resp, err := c.t.Message(ctx, apdu)
	if err != nil {
		return nil, fmt.Errorf("sending APDU: %w", err)
	}
	data, sw, err := u2f.SplitStatus(resp)
	if err != nil {
		return nil, err
	}
	if sw != u2f.SWNoError {
		return nil, fmt.Errorf("device answered %w", sw)
	}
	return data, nil
}

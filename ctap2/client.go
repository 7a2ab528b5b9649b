package ctap2

import (
	"context"
	"fmt"
)

// Transport carries whole CTAP messages to a device and back, for example
// CTAPHID over a wire (package transport/ctaphid).
type Transport interface {
	// CBOR sends a CTAPHID_CBOR message (command byte and CBOR) and returns
	// the answer (status byte and CBOR).
	CBOR(ctx context.Context, msg []byte) ([]byte, error)
	// Message sends a U2F APDU (CTAPHID_MSG) and returns the response APDU.
	Message(ctx context.Context, apdu []byte) ([]byte, error)
}

// Client speaks CTAP2 and U2F to any device behind a Transport. It is the
// host half that tests, the conformance harness and the hybrid desktop share.
type Client struct {
	t Transport
}

// NewClient returns a client that talks through t.
func NewClient(t Transport) *Client {
	return &Client{t: t}
}

// GetInfo asks for the authenticator's capabilities (CTAP 2.1 §6.4).
func (c *Client) GetInfo(ctx context.Context) (*GetInfoResponse, error) {
	info, err := execute[GetInfoResponse](ctx, c, CmdGetInfo, nil)
	if err != nil {
		return nil, err
	}
	if len(info.Versions) == 0 || info.AAGUID == nil {
		return nil, fmt.Errorf("%s: response without versions or aaguid: %w", CmdGetInfo, ErrMissingParameter)
	}
	return info, nil
}

// MakeCredential asks for a new credential (CTAP 2.1 §6.1). The request is
// sent as it is; the authenticator judges it.
func (c *Client) MakeCredential(ctx context.Context, req *MakeCredentialRequest) (*MakeCredentialResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%s: no request", CmdMakeCredential)
	}
	resp, err := execute[MakeCredentialResponse](ctx, c, CmdMakeCredential, req)
	if err != nil {
		return nil, err
	}
	if resp.Format == "" || resp.AuthData == nil || resp.AttStmt == nil {
		return nil, fmt.Errorf("%s: response without fmt, authData or attStmt: %w", CmdMakeCredential, ErrMissingParameter)
	}
	return resp, nil
}

// GetAssertion asks for an assertion (CTAP 2.1 §6.2). When the response
// counts more than one credential, GetNextAssertion returns the others.
func (c *Client) GetAssertion(ctx context.Context, req *GetAssertionRequest) (*GetAssertionResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%s: no request", CmdGetAssertion)
	}
	return assertion(ctx, c, CmdGetAssertion, req)
}

// GetNextAssertion returns the next assertion of the sequence the last
// GetAssertion began (CTAP 2.1 §6.3).
func (c *Client) GetNextAssertion(ctx context.Context) (*GetAssertionResponse, error) {
	return assertion(ctx, c, CmdGetNextAssertion, nil)
}

func assertion(ctx context.Context, c *Client, cmd Command, req *GetAssertionRequest) (*GetAssertionResponse, error) {
	var params any
	if req != nil {
		params = req
	}
	resp, err := execute[GetAssertionResponse](ctx, c, cmd, params)
	if err != nil {
		return nil, err
	}
	if resp.AuthData == nil || resp.Signature == nil {
		return nil, fmt.Errorf("%s: response without authData or signature: %w", cmd, ErrMissingParameter)
	}
	return resp, nil
}

// Reset asks the authenticator to forget all credentials and its PIN
// (CTAP 2.1 §6.6). Authenticators ask for a touch first.
func (c *Client) Reset(ctx context.Context) error {
	_, err := c.call(ctx, CmdReset, nil)
	return err
}

// Selection asks the authenticator for a touch, so that the user can pick
// it among several (CTAP 2.1 §6.9).
func (c *Client) Selection(ctx context.Context) error {
	_, err := c.call(ctx, CmdSelection, nil)
	return err
}

// ClientPIN sends one authenticatorClientPIN request as it is (CTAP 2.1
// §6.5) and returns the response, empty for subcommands that answer
// nothing. Package pinuv runs the whole flows on top of it.
func (c *Client) ClientPIN(ctx context.Context, req *ClientPINRequest) (*ClientPINResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%s: no request", CmdClientPIN)
	}
	body, err := c.call(ctx, CmdClientPIN, req)
	if err != nil {
		return nil, err
	}
	var resp ClientPINResponse
	if len(body) == 0 {
		return &resp, nil
	}
	if err := Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("%s: decoding response: %w", CmdClientPIN, err)
	}
	return &resp, nil
}

// execute sends a command and decodes its response body into an R.
func execute[R any](ctx context.Context, c *Client, cmd Command, params any) (*R, error) {
	body, err := c.call(ctx, cmd, params)
	if err != nil {
		return nil, err
	}
	var resp R
	if err := Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("%s: decoding response: %w", cmd, err)
	}
	return &resp, nil
}

// call sends a command with its parameters (none when params is nil) and
// returns the response body after the status byte. A status other than
// CTAP2_OK comes back as an error wrapping the Status.
func (c *Client) call(ctx context.Context, cmd Command, params any) ([]byte, error) {
	msg := []byte{byte(cmd)}
	if params != nil {
		enc, err := Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("%s: encoding request: %w", cmd, err)
		}
		msg = append(msg, enc...)
	}
	resp, err := c.t.CBOR(ctx, msg)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", cmd, err)
	}
	if len(resp) == 0 {
		return nil, fmt.Errorf("%s: empty response", cmd)
	}
	if status := Status(resp[0]); status != StatusOK {
		return nil, fmt.Errorf("%s: %w", cmd, status)
	}
	return resp[1:], nil
}

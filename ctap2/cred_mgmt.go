package ctap2

import (
	"context"
	"errors"
	"fmt"
)

// authenticatorCredentialManagement subcommands (CTAP 2.1 §6.8).
const (
	CredMgmtGetCredsMetadata                      = 0x01
	CredMgmtEnumerateRPsBegin                     = 0x02
	CredMgmtEnumerateRPsGetNextRP                 = 0x03
	CredMgmtEnumerateCredentialsBegin             = 0x04
	CredMgmtEnumerateCredentialsGetNextCredential = 0x05
	CredMgmtDeleteCredential                      = 0x06
	CredMgmtUpdateUserInformation                 = 0x07
)

// CredMgmtRequest is the authenticatorCredentialManagement parameter map
// (CTAP 2.1 §6.8). SubCommandParams stays encoded: pinUvAuthParam is
// computed over its bytes exactly as sent.
type CredMgmtRequest struct {
	SubCommand        uint64     `cbor:"1,keyasint"`
	SubCommandParams  RawMessage `cbor:"2,keyasint,omitempty"`
	PinUvAuthProtocol uint64     `cbor:"3,keyasint,omitempty"`
	PinUvAuthParam    []byte     `cbor:"4,keyasint,omitempty"`
}

// AuthMessage is what pinUvAuthParam authenticates: the subcommand byte
// followed by subCommandParams as encoded (CTAP 2.1 §6.8.2-§6.8.6).
func (r *CredMgmtRequest) AuthMessage() []byte {
	return append([]byte{byte(r.SubCommand)}, r.SubCommandParams...)
}

// CredMgmtParams is the subCommandParams map.
type CredMgmtParams struct {
	RPIDHash     []byte                `cbor:"1,keyasint,omitempty"`
	CredentialID *CredentialDescriptor `cbor:"2,keyasint,omitempty"`
	User         *UserEntity           `cbor:"3,keyasint,omitempty"`
}

// CredMgmtResponse is the authenticatorCredentialManagement response map.
// The two counts are pointers because zero is a real answer.
type CredMgmtResponse struct {
	ExistingResidentCredentialsCount             *uint64               `cbor:"1,keyasint,omitempty"`
	MaxPossibleRemainingResidentCredentialsCount *uint64               `cbor:"2,keyasint,omitempty"`
	RP                                           *RPEntity             `cbor:"3,keyasint,omitempty"`
	RPIDHash                                     []byte                `cbor:"4,keyasint,omitempty"`
	TotalRPs                                     uint64                `cbor:"5,keyasint,omitempty"`
	User                                         *UserEntity           `cbor:"6,keyasint,omitempty"`
	CredentialID                                 *CredentialDescriptor `cbor:"7,keyasint,omitempty"`
	PublicKey                                    RawMessage            `cbor:"8,keyasint,omitempty"`
	TotalCredentials                             uint64                `cbor:"9,keyasint,omitempty"`
	CredProtect                                  uint64                `cbor:"10,keyasint,omitempty"`
	LargeBlobKey                                 []byte                `cbor:"11,keyasint,omitempty"`
}

// ParseCredMgmtRequest decodes the parameters of
// authenticatorCredentialManagement. Errors wrap the CTAP status to answer.
func ParseCredMgmtRequest(data []byte) (*CredMgmtRequest, error) {
	var r struct {
		CredMgmtRequest
		SubCommand *uint64 `cbor:"1,keyasint"`
	}
	if err := Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing credentialManagement: %w", err)
	}
	if r.SubCommand == nil {
		return nil, fmt.Errorf("parsing credentialManagement: subCommand: %w", ErrMissingParameter)
	}
	req := r.CredMgmtRequest
	req.SubCommand = *r.SubCommand
	return &req, nil
}

// ParseCredMgmtParams decodes subCommandParams; absent parameters give an
// empty map. A credential descriptor or user entity without its id is
// MISSING_PARAMETER.
func ParseCredMgmtParams(raw RawMessage) (*CredMgmtParams, error) {
	var p CredMgmtParams
	if raw == nil {
		return &p, nil
	}
	if err := Unmarshal(raw, &p); err != nil {
		return nil, fmt.Errorf("parsing credentialManagement subCommandParams: %w", err)
	}
	if p.CredentialID != nil && p.CredentialID.ID == nil {
		return nil, fmt.Errorf("parsing credentialManagement subCommandParams: credentialID.id: %w", ErrMissingParameter)
	}
	if p.User != nil && p.User.ID == nil {
		return nil, fmt.Errorf("parsing credentialManagement subCommandParams: user.id: %w", ErrMissingParameter)
	}
	return &p, nil
}

// PinUvAuthToken is the platform's hold on a pinUvAuthToken: the version of
// the PIN/UV auth protocol it came from and that protocol's
// authenticate(pinUvAuthToken, message) (CTAP 2.1 §6.5.4). Commands that
// need a token take one.
type PinUvAuthToken interface {
	Version() uint64
	Authenticate(message []byte) []byte
}

// CredentialManagement sends one authenticatorCredentialManagement request
// as it is, with cmd CmdCredentialManagement or the prototype
// CmdCredentialManagementPre, and decodes the answer (empty for
// deleteCredential and updateUserInformation).
func (c *Client) CredentialManagement(ctx context.Context, cmd Command, req *CredMgmtRequest) (*CredMgmtResponse, error) {
	if req == nil {
		return nil, fmt.Errorf("%s: no request", cmd)
	}
	body, err := c.call(ctx, cmd, req)
	if err != nil {
		return nil, err
	}
	var resp CredMgmtResponse
	if len(body) == 0 {
		return &resp, nil
	}
	if err := Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("%s: decoding response: %w", cmd, err)
	}
	return &resp, nil
}

// credMgmt builds an authenticated request for subCommand with params
// (nil for none) and sends it.
func (c *Client) credMgmt(ctx context.Context, token PinUvAuthToken, subCommand uint64, params *CredMgmtParams) (*CredMgmtResponse, error) {
	req := &CredMgmtRequest{SubCommand: subCommand}
	if params != nil {
		raw, err := Marshal(params)
		if err != nil {
			return nil, fmt.Errorf("%s: encoding subCommandParams: %w", CmdCredentialManagement, err)
		}
		req.SubCommandParams = raw
	}
	if token != nil {
		req.PinUvAuthProtocol = token.Version()
		req.PinUvAuthParam = token.Authenticate(req.AuthMessage())
	}
	return c.CredentialManagement(ctx, CmdCredentialManagement, req)
}

// CredsMetadata asks how many discoverable credentials exist and how many
// more fit (getCredsMetadata, CTAP 2.1 §6.8.2). The token needs the cm
// permission and no RP ID.
func (c *Client) CredsMetadata(ctx context.Context, token PinUvAuthToken) (existing, remaining uint64, err error) {
	resp, err := c.credMgmt(ctx, token, CredMgmtGetCredsMetadata, nil)
	if err != nil {
		return 0, 0, err
	}
	if resp.ExistingResidentCredentialsCount == nil || resp.MaxPossibleRemainingResidentCredentialsCount == nil {
		return 0, 0, fmt.Errorf("%s: getCredsMetadata response without counts: %w", CmdCredentialManagement, ErrMissingParameter)
	}
	return *resp.ExistingResidentCredentialsCount, *resp.MaxPossibleRemainingResidentCredentialsCount, nil
}

// EnumerateRPs lists the RPs that have discoverable credentials, each
// response with rp and rpIDHash (CTAP 2.1 §6.8.3). None is an empty list.
func (c *Client) EnumerateRPs(ctx context.Context, token PinUvAuthToken) ([]*CredMgmtResponse, error) {
	first, err := c.credMgmt(ctx, token, CredMgmtEnumerateRPsBegin, nil)
	if errors.Is(err, ErrNoCredentials) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return c.enumerateRest(ctx, first, first.TotalRPs, CredMgmtEnumerateRPsGetNextRP)
}

// EnumerateCredentials lists the discoverable credentials of the RP whose
// rpIdHash is given (CTAP 2.1 §6.8.4). None is an empty list.
func (c *Client) EnumerateCredentials(ctx context.Context, token PinUvAuthToken, rpIDHash []byte) ([]*CredMgmtResponse, error) {
	first, err := c.credMgmt(ctx, token, CredMgmtEnumerateCredentialsBegin, &CredMgmtParams{RPIDHash: rpIDHash})
	if errors.Is(err, ErrNoCredentials) {
		return nil, nil
	} else if err != nil {
		return nil, err
	}
	return c.enumerateRest(ctx, first, first.TotalCredentials, CredMgmtEnumerateCredentialsGetNextCredential)
}

// enumerateRest collects the total-1 answers that follow first.
func (c *Client) enumerateRest(ctx context.Context, first *CredMgmtResponse, total, next uint64) ([]*CredMgmtResponse, error) {
	if total == 0 {
		return nil, fmt.Errorf("%s: enumeration without a total: %w", CmdCredentialManagement, ErrMissingParameter)
	}
	out := []*CredMgmtResponse{first}
	for uint64(len(out)) < total {
		resp, err := c.credMgmt(ctx, nil, next, nil)
		if err != nil {
			return nil, err
		}
		out = append(out, resp)
	}
	return out, nil
}

// DeleteCredential removes a discoverable credential (CTAP 2.1 §6.8.5).
func (c *Client) DeleteCredential(ctx context.Context, token PinUvAuthToken, credentialID []byte) error {
	params := &CredMgmtParams{CredentialID: &CredentialDescriptor{Type: PublicKeyCredentialType, ID: credentialID}}
	_, err := c.credMgmt(ctx, token, CredMgmtDeleteCredential, params)
	return err
}

// UpdateUserInformation replaces the name and displayName of a
// discoverable credential's user; user.ID must be the credential's
// (CTAP 2.1 §6.8.6).
func (c *Client) UpdateUserInformation(ctx context.Context, token PinUvAuthToken, credentialID []byte, user UserEntity) error {
	params := &CredMgmtParams{
		CredentialID: &CredentialDescriptor{Type: PublicKeyCredentialType, ID: credentialID},
		User:         &user,
	}
	_, err := c.credMgmt(ctx, token, CredMgmtUpdateUserInformation, params)
	return err
}

package authenticator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// enumerationTimeout bounds how long the getNext subcommands may follow
// their begin subcommand, as for getNextAssertion (CTAP 2.1 §6.3).
const enumerationTimeout = 30 * time.Second

// enumeration is what enumerateRPsGetNextRP or
// enumerateCredentialsGetNextCredential continues from.
type enumeration struct {
	next    uint64 // the getNext subcommand that continues it
	started time.Time

	rps []ctap2.RPEntity // enumerateRPs: the RPs still to answer

	// enumerateCredentials: the credentials still to answer, and the
	// rpIdHash their IDs are sealed to.
	rpIDHash [32]byte
	creds    []*store.Credential
}

// credentialManagement answers authenticatorCredentialManagement and its
// prototype (CTAP 2.1 §6.8, §6.13), which behave the same but for the
// token they take (requirePermissionFor). A profile with credMgmt serves
// both; one with only credentialMgmtPreview serves only the prototype.
func (a *Authenticator) credentialManagement(ctx context.Context, cmd ctap2.Command, params []byte) ([]byte, error) {
	// Any request but a getNext that continues it ends an enumeration,
	// malformed ones included.
	e := a.enumeration
	a.enumeration = nil
	offered := a.profile.CredentialManagement || (cmd == ctap2.CmdCredentialManagementPre && a.profile.CredentialManagementPreview)
	if !offered {
		return nil, fmt.Errorf("credentialManagement: %v not offered: %w", cmd, ctap2.ErrInvalidCommand)
	}
	req, err := ctap2.ParseCredMgmtRequest(params)
	if err != nil {
		return nil, fmt.Errorf("credentialManagement: %w", err)
	}
	switch req.SubCommand {
	case ctap2.CredMgmtEnumerateRPsGetNextRP, ctap2.CredMgmtEnumerateCredentialsGetNextCredential:
		resp, err := a.enumerateNext(e, req.SubCommand)
		if err != nil {
			return nil, fmt.Errorf("credentialManagement: %w", err)
		}
		return resp, nil
	case ctap2.CredMgmtGetCredsMetadata, ctap2.CredMgmtEnumerateRPsBegin, ctap2.CredMgmtEnumerateCredentialsBegin,
		ctap2.CredMgmtDeleteCredential:
	case ctap2.CredMgmtUpdateUserInformation:
		// CTAP 2.1 added updateUserInformation; the prototype of a
		// pre-release key (FIDO_2_1_PRE) ends at deleteCredential.
		if !a.profile.CredentialManagement {
			return nil, fmt.Errorf("credentialManagement: updateUserInformation on a FIDO_2_1_PRE key: %w", ctap2.ErrInvalidSubcommand)
		}
	default:
		return nil, fmt.Errorf("credentialManagement: subcommand %d: %w", req.SubCommand, ctap2.ErrInvalidSubcommand)
	}

	p, err := ctap2.ParseCredMgmtParams(req.SubCommandParams)
	if err != nil {
		return nil, fmt.Errorf("credentialManagement: %w", err)
	}
	if err := checkCredMgmtParams(req.SubCommand, p); err != nil {
		return nil, fmt.Errorf("credentialManagement: %w", err)
	}
	if err := a.credMgmtAuth(cmd, req); err != nil {
		return nil, fmt.Errorf("credentialManagement: %w", err)
	}
	var resp []byte
	switch req.SubCommand {
	case ctap2.CredMgmtGetCredsMetadata:
		resp, err = a.credsMetadata()
	case ctap2.CredMgmtEnumerateRPsBegin:
		resp, err = a.enumerateRPsBegin()
	case ctap2.CredMgmtEnumerateCredentialsBegin:
		resp, err = a.enumerateCredentialsBegin([32]byte(p.RPIDHash))
	case ctap2.CredMgmtDeleteCredential:
		err = a.deleteCredential(p.CredentialID.ID)
	case ctap2.CredMgmtUpdateUserInformation:
		err = a.updateUserInformation(p.CredentialID.ID, p.User)
	}
	if err != nil {
		return nil, fmt.Errorf("credentialManagement: %w", err)
	}
	return resp, nil
}

// checkCredMgmtParams checks that a subcommand has the parameters it
// needs (CTAP 2.1 §6.8.4 step 1, §6.8.5 step 1, §6.8.6 step 1).
func checkCredMgmtParams(subCommand uint64, p *ctap2.CredMgmtParams) error {
	switch subCommand {
	case ctap2.CredMgmtEnumerateCredentialsBegin:
		if p.RPIDHash == nil {
			return fmt.Errorf("rpIDHash: %w", ctap2.ErrMissingParameter)
		}
		if len(p.RPIDHash) != 32 {
			return fmt.Errorf("rpIDHash of %d bytes: %w", len(p.RPIDHash), ctap2.ErrInvalidParameter)
		}
	case ctap2.CredMgmtDeleteCredential:
		if p.CredentialID == nil {
			return fmt.Errorf("credentialID: %w", ctap2.ErrMissingParameter)
		}
	case ctap2.CredMgmtUpdateUserInformation:
		if p.CredentialID == nil {
			return fmt.Errorf("credentialID: %w", ctap2.ErrMissingParameter)
		}
		if p.User == nil {
			return fmt.Errorf("user: %w", ctap2.ErrMissingParameter)
		}
	}
	return nil
}

// credMgmtAuth checks pinUvAuthParam over subCommand || subCommandParams
// and that the pinUvAuthToken has the cm permission (CTAP 2.1 §6.8.2
// steps 1-4 and the same steps of the other subcommands), or for the
// prototype cmd came from getPinToken.
func (a *Authenticator) credMgmtAuth(cmd ctap2.Command, req *ctap2.CredMgmtRequest) error {
	if req.PinUvAuthParam == nil {
		return fmt.Errorf("pinUvAuthParam: %w", ctap2.ErrPUATRequired)
	}
	if err := a.verifyPinUvAuthParam(req.PinUvAuthProtocol, req.PinUvAuthParam, req.AuthMessage()); err != nil {
		return err
	}
	return a.requirePermissionFor(cmd, PermCredentialManagement)
}

// tokenAllowsRP checks the token's permissions RP ID: getCredsMetadata
// and enumerateRPs need a token bound to no RP (rpID ""); the other
// subcommands accept a token bound to the RP they act on
// (CTAP 2.1 §6.8.2 step 5, §6.8.3 step 5, §6.8.4 step 5).
func (a *Authenticator) tokenAllowsRP(rpID string) error {
	if a.pin.rpID == "" || (rpID != "" && a.pin.rpID == rpID) {
		return nil
	}
	return fmt.Errorf("pinUvAuthToken is bound to RP ID %q: %w", a.pin.rpID, ctap2.ErrPINAuthInvalid)
}

// credsMetadata answers getCredsMetadata (CTAP 2.1 §6.8.2).
func (a *Authenticator) credsMetadata() ([]byte, error) {
	if err := a.tokenAllowsRP(""); err != nil {
		return nil, fmt.Errorf("getCredsMetadata: %w", err)
	}
	n, err := a.store.CountCredentials()
	if err != nil {
		return nil, fmt.Errorf("getCredsMetadata: counting credentials: %w", err)
	}
	existing := uint64(n)
	// A profile without a bound says so with the largest count a
	// 32-bit client holds.
	remaining := uint64(math.MaxUint32)
	if limit := a.profile.MaxDiscoverableCredentials; limit > 0 {
		remaining = uint64(max(limit-n, 0))
	}
	return ctap2.Marshal(ctap2.CredMgmtResponse{
		ExistingResidentCredentialsCount:             &existing,
		MaxPossibleRemainingResidentCredentialsCount: &remaining,
	})
}

// enumerateRPsBegin answers enumerateRPsBegin (CTAP 2.1 §6.8.3): the RPs
// in the order their first credential was made.
func (a *Authenticator) enumerateRPsBegin() ([]byte, error) {
	if err := a.tokenAllowsRP(""); err != nil {
		return nil, fmt.Errorf("enumerateRPsBegin: %w", err)
	}
	all, err := a.store.Credentials()
	if err != nil {
		return nil, fmt.Errorf("enumerateRPsBegin: listing credentials: %w", err)
	}
	var rps []ctap2.RPEntity
	index := map[string]int{}
	for _, c := range all {
		i, ok := index[c.RPID]
		if !ok {
			index[c.RPID] = len(rps)
			rps = append(rps, ctap2.RPEntity{ID: c.RPID, Name: c.RPName})
			continue
		}
		if c.RPName != "" {
			rps[i].Name = c.RPName // the newest credential's name
		}
	}
	if len(rps) == 0 {
		return nil, fmt.Errorf("enumerateRPsBegin: %w", ctap2.ErrNoCredentials)
	}
	e := &enumeration{next: ctap2.CredMgmtEnumerateRPsGetNextRP, started: a.now(), rps: rps}
	resp := rpResponse(e.rps[0])
	resp.TotalRPs = uint64(len(rps))
	e.rps = e.rps[1:]
	if len(e.rps) > 0 {
		a.enumeration = e
	}
	return ctap2.Marshal(resp)
}

func rpResponse(rp ctap2.RPEntity) ctap2.CredMgmtResponse {
	hash := ctap2.RPIDHash(rp.ID)
	return ctap2.CredMgmtResponse{RP: &rp, RPIDHash: hash[:]}
}

// enumerateCredentialsBegin answers enumerateCredentialsBegin (CTAP 2.1
// §6.8.4): the RP's credentials, newest first.
func (a *Authenticator) enumerateCredentialsBegin(rpIDHash [32]byte) ([]byte, error) {
	// A token bound to another RP is refused before anything about this
	// one is revealed, including whether it has credentials.
	if a.pin.rpID != "" && ctap2.RPIDHash(a.pin.rpID) != rpIDHash {
		return nil, fmt.Errorf("enumerateCredentialsBegin: pinUvAuthToken is bound to RP ID %q: %w", a.pin.rpID, ctap2.ErrPINAuthInvalid)
	}
	rpID, err := a.rpIDForHash(rpIDHash)
	if err != nil {
		return nil, fmt.Errorf("enumerateCredentialsBegin: %w", err)
	}
	if rpID == "" {
		return nil, fmt.Errorf("enumerateCredentialsBegin: %w", ctap2.ErrNoCredentials)
	}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	stored, err := a.store.CredentialsForRP(rpID)
	if err != nil {
		return nil, fmt.Errorf("enumerateCredentialsBegin: listing credentials: %w", err)
	}
	var creds []*store.Credential
	for _, c := range stored {
		if _, err := openCredentialID(dev.credentials, rpIDHash, c.ID); err != nil {
			// Made under an earlier credential key; nothing can be said
			// about it, as in getAssertion.
			a.log.Warn("stored credential does not open", "rp", rpID, "error", err)
			continue
		}
		creds = append(creds, c)
	}
	if len(creds) == 0 {
		return nil, fmt.Errorf("enumerateCredentialsBegin: %w", ctap2.ErrNoCredentials)
	}
	e := &enumeration{next: ctap2.CredMgmtEnumerateCredentialsGetNextCredential, started: a.now(), rpIDHash: rpIDHash, creds: creds}
	resp, err := a.credentialResponse(dev, rpIDHash, creds[0])
	if err != nil {
		return nil, fmt.Errorf("enumerateCredentialsBegin: %w", err)
	}
	resp.TotalCredentials = uint64(len(creds))
	e.creds = e.creds[1:]
	if len(e.creds) > 0 {
		a.enumeration = e
	}
	return ctap2.Marshal(resp)
}

// rpIDForHash finds the RP ID of the stored credentials whose hash is
// rpIDHash; "" when none has it.
func (a *Authenticator) rpIDForHash(rpIDHash [32]byte) (string, error) {
	all, err := a.store.Credentials()
	if err != nil {
		return "", fmt.Errorf("listing credentials: %w", err)
	}
	for _, c := range all {
		if ctap2.RPIDHash(c.RPID) == rpIDHash {
			return c.RPID, nil
		}
	}
	return "", nil
}

// credentialResponse describes one credential for enumerateCredentials.
func (a *Authenticator) credentialResponse(dev *deviceState, rpIDHash [32]byte, c *store.Credential) (ctap2.CredMgmtResponse, error) {
	src, err := openCredentialID(dev.credentials, rpIDHash, c.ID)
	if err != nil {
		return ctap2.CredMgmtResponse{}, fmt.Errorf("opening credential ID: %w", err)
	}
	key, err := a.loadKey(c.ID, src)
	if err != nil {
		return ctap2.CredMgmtResponse{}, err
	}
	publicKey, err := ctap2.MarshalCOSEKey(src.alg, key.Public())
	if err != nil {
		return ctap2.CredMgmtResponse{}, err
	}
	user := c.User
	return ctap2.CredMgmtResponse{
		User:         &user,
		CredentialID: &ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: c.ID},
		PublicKey:    publicKey,
		CredProtect:  uint64(src.protectionLevel()),
		LargeBlobKey: c.LargeBlobKey,
	}, nil
}

// enumerateNext answers enumerateRPsGetNextRP and
// enumerateCredentialsGetNextCredential: the next item of the enumeration
// the matching begin subcommand started, with no authentication of its own
// (CTAP 2.1 §6.8.3, §6.8.4).
func (a *Authenticator) enumerateNext(e *enumeration, subCommand uint64) ([]byte, error) {
	if e == nil || e.next != subCommand {
		return nil, fmt.Errorf("subcommand %d without an enumeration: %w", subCommand, ctap2.ErrNotAllowed)
	}
	if a.now().Sub(e.started) > enumerationTimeout {
		return nil, fmt.Errorf("enumeration older than %v: %w", enumerationTimeout, ctap2.ErrNotAllowed)
	}
	var resp ctap2.CredMgmtResponse
	switch subCommand {
	case ctap2.CredMgmtEnumerateRPsGetNextRP:
		resp = rpResponse(e.rps[0])
		e.rps = e.rps[1:]
		if len(e.rps) > 0 {
			a.enumeration = e
		}
	default:
		dev, err := a.device()
		if err != nil {
			return nil, err
		}
		c := e.creds[0]
		e.creds = e.creds[1:]
		if resp, err = a.credentialResponse(dev, e.rpIDHash, c); err != nil {
			return nil, err
		}
		if len(e.creds) > 0 {
			a.enumeration = e
		}
	}
	return ctap2.Marshal(resp)
}

// storedCredential loads the discoverable credential a deleteCredential or
// updateUserInformation names, after checking the token may act on its RP.
func (a *Authenticator) storedCredential(id []byte) (*store.Credential, error) {
	c, err := a.store.Credential(id)
	if errors.Is(err, store.ErrNotFound) {
		return nil, ctap2.ErrNoCredentials
	} else if err != nil {
		return nil, fmt.Errorf("loading credential: %w", err)
	}
	if err := a.tokenAllowsRP(c.RPID); err != nil {
		return nil, err
	}
	return c, nil
}

// deleteCredential answers deleteCredential (CTAP 2.1 §6.8.5).
func (a *Authenticator) deleteCredential(id []byte) error {
	if _, err := a.storedCredential(id); err != nil {
		return fmt.Errorf("deleteCredential: %w", err)
	}
	if err := a.store.DeleteCredential(id); err != nil {
		return fmt.Errorf("deleteCredential: %w", err)
	}
	delete(a.loadedKeys, string(id))
	return nil
}

// updateUserInformation answers updateUserInformation (CTAP 2.1 §6.8.6):
// the user handle must stay; name and displayName become the new ones,
// and one absent or empty is removed.
func (a *Authenticator) updateUserInformation(id []byte, user *ctap2.UserEntity) error {
	c, err := a.storedCredential(id)
	if err != nil {
		return fmt.Errorf("updateUserInformation: %w", err)
	}
	if string(c.User.ID) != string(user.ID) {
		return fmt.Errorf("updateUserInformation: user.id differs from the credential's: %w", ctap2.ErrInvalidParameter)
	}
	c.User.Name, c.User.DisplayName = user.Name, user.DisplayName
	if err := a.store.UpdateCredential(c); err != nil {
		return fmt.Errorf("updateUserInformation: %w", err)
	}
	return nil
}

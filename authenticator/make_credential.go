package authenticator

import (
	"context"
	"fmt"
	"slices"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// maxUserIDLength is the largest user handle (WebAuthn L3 §5.4.3).
const maxUserIDLength = 64

// makeCredential answers authenticatorMakeCredential (CTAP 2.1 §6.1.2).
func (a *Authenticator) makeCredential(ctx context.Context, params []byte) ([]byte, error) {
	req, err := ctap2.ParseMakeCredentialRequest(params)
	if err != nil {
		return nil, err
	}
	if err := a.checkCommonParameters(req.ClientDataHash, req.RP.ID, req.ExcludeList); err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	if len(req.User.ID) > maxUserIDLength {
		return nil, fmt.Errorf("makeCredential: user.id of %d bytes: %w", len(req.User.ID), ctap2.ErrInvalidLength)
	}
	presence := PresenceRequest{Operation: "register", RPID: req.RP.ID, UserName: req.User.Name}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	// Steps 1-2: a zero-length pinUvAuthParam asks for a touch to pick
	// the device; a pinUvAuthParam needs a protocol the profile offers.
	if err := a.pinUvAuthForRequest(ctx, dev, req.PinUvAuthParam, req.PinUvAuthProtocol, presence); err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	alg, err := a.chooseAlgorithm(req.PubKeyCredParams)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	discoverable, uvOption, err := a.makeCredentialOptions(dev, req.Options, req.PinUvAuthParam != nil)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	if err := a.makeCredentialNeedsUV(dev, req.PinUvAuthParam != nil, discoverable, uvOption); err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	enterprise, err := a.enterpriseAttestation(req.EnterpriseAttestation, req.RP.ID)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	extensions, err := a.parseRegistrationExtensions(req.Extensions, discoverable)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	userVerified := false // set once PIN/UV auth succeeded
	// Step 11: user verification, with the token or built-in UV.
	switch {
	case req.PinUvAuthParam != nil:
		if err := a.checkRequestToken(dev, req.PinUvAuthProtocol, req.PinUvAuthParam, req.ClientDataHash, PermMakeCredential, req.RP.ID); err != nil {
			return nil, fmt.Errorf("makeCredential: %w", err)
		}
		userVerified = true
	case uvOption:
		verify := VerifyRequest{Operation: "register", RPID: req.RP.ID, UserName: req.User.Name}
		if err := a.builtInUvForRequest(ctx, dev, verify); err != nil {
			return nil, fmt.Errorf("makeCredential: %w", err)
		}
		userVerified = true
	}
	// Step 13: built-in UV on this emulated key took a touch; step 14: a
	// token carries user presence only while its flag is fresh.
	userPresent := uvOption || (req.PinUvAuthParam != nil && a.tokenUserPresent())

	rpIDHash := ctap2.RPIDHash(req.RP.ID)
	// Step 12: a credential on the exclude list is revealed only after a touch.
	for _, d := range req.ExcludeList {
		if d.Type == ctap2.PublicKeyCredentialType && a.credentialExists(dev, rpIDHash, d.ID, userVerified) {
			if err := a.waitForPresence(ctx, presence); err != nil {
				return nil, fmt.Errorf("makeCredential: %w", err)
			}
			return nil, fmt.Errorf("makeCredential: %w", ctap2.ErrCredentialExcluded)
		}
	}
	if discoverable {
		if err := a.checkStoreCapacity(req.RP.ID, req.User.ID); err != nil {
			return nil, fmt.Errorf("makeCredential: %w", err)
		}
	}
	// Step 14: user presence, unless steps 11-13 brought it; then the
	// token's flags and permissions but lbw are used up.
	if !userPresent {
		if err := a.waitForPresence(ctx, presence); err != nil {
			return nil, fmt.Errorf("makeCredential: %w", err)
		}
	}
	if req.PinUvAuthParam != nil {
		a.consumeTokenPresence()
	}

	sealedKey, key, err := a.keys.GenerateKey(alg)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	credID, err := sealCredentialID(dev.credentials, a.rand, rpIDHash, credentialSource{
		alg:          alg,
		discoverable: discoverable,
		sealedKey:    sealedKey,
		credProtect:  extensions.credProtect,
		hmacSecret:   extensions.hmacSecret,
	})
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	if uint64(len(credID)) > a.profile.MaxCredentialIDLength {
		return nil, fmt.Errorf("makeCredential: %v credential ID of %d bytes exceeds the profile's maximum: %w", alg, len(credID), ctap2.ErrUnsupportedAlgorithm)
	}
	publicKey, err := ctap2.MarshalCOSEKey(alg, key.Public())
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	counter, err := a.initialSignCount()
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	extensionOutputs, largeBlobKey, err := a.registrationOutputs(extensions, dev, req.RP.ID, credID, userVerified)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	mode := a.chooseAttestation(req.AttestationFormatsPreference, alg)
	authData, err := (&ctap2.AuthData{
		RPIDHash:  rpIDHash,
		Flags:     a.flags(true, userVerified),
		SignCount: counter,
		Attested: &ctap2.AttestedCredential{
			AAGUID:       a.attestedAAGUID(mode, enterprise),
			CredentialID: credID,
			PublicKey:    publicKey,
		},
		Extensions: extensionOutputs,
	}).Marshal()
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	stmt, err := a.attest(dev, mode, enterprise, authData, req.ClientDataHash, key, alg)
	if err != nil {
		return nil, fmt.Errorf("makeCredential: %w", err)
	}
	a.rememberKey(credID, key)
	// Step 17: a discoverable credential is stored only once everything
	// else has succeeded, and durably before the answer leaves.
	if discoverable {
		err := a.store.PutCredential(&store.Credential{
			ID:      credID,
			RPID:    req.RP.ID,
			RPName:  req.RP.Name,
			User:    *req.User,
			Alg:     alg,
			Created: a.now(),

			CredBlob:     extensions.credBlob,
			LargeBlobKey: largeBlobKey,
		})
		if err != nil {
			return nil, fmt.Errorf("makeCredential: storing credential: %w", err)
		}
	}
	return ctap2.Marshal(ctap2.MakeCredentialResponse{Format: stmt.Format, AuthData: authData, AttStmt: stmt.Stmt, EPAtt: enterprise, LargeBlobKey: largeBlobKey})
}

// checkCommonParameters applies the size rules shared by makeCredential and
// getAssertion.
func (a *Authenticator) checkCommonParameters(clientDataHash []byte, rpID string, list []ctap2.CredentialDescriptor) error {
	if len(clientDataHash) != 32 {
		return fmt.Errorf("clientDataHash of %d bytes: %w", len(clientDataHash), ctap2.ErrInvalidLength)
	}
	if rpID == "" {
		return fmt.Errorf("empty RP ID: %w", ctap2.ErrInvalidParameter)
	}
	if uint64(len(list)) > a.profile.MaxCredentialCountInList {
		return fmt.Errorf("credential list of %d entries: %w", len(list), ctap2.ErrLimitExceeded)
	}
	return nil
}

// chooseAlgorithm picks the first entry of the RP's list that the profile
// supports; unknown types and algorithms are skipped (CTAP 2.1 §6.1.2 step 3).
func (a *Authenticator) chooseAlgorithm(params []ctap2.CredentialParam) (ctap2.Alg, error) {
	for _, p := range params {
		if p.Type == ctap2.PublicKeyCredentialType && slices.Contains(a.profile.Algorithms, p.Alg) {
			return p.Alg, nil
		}
	}
	return 0, fmt.Errorf("no supported algorithm in pubKeyCredParams: %w", ctap2.ErrUnsupportedAlgorithm)
}

// makeCredentialOptions applies the options map (CTAP 2.1 §6.1.2 step 5)
// and reports whether the credential is to be discoverable and whether
// built-in UV is asked for. With a pinUvAuthParam the "uv" option is
// treated as false.
func (a *Authenticator) makeCredentialOptions(dev *deviceState, options map[string]bool, hasPinUvAuthParam bool) (rk, uv bool, err error) {
	uv = options["uv"] && !hasPinUvAuthParam
	if uv && !a.uvConfigured(dev) {
		return false, false, fmt.Errorf("option uv=true without configured built-in user verification: %w", ctap2.ErrInvalidOption)
	}
	if up, ok := options["up"]; ok && !up {
		return false, false, fmt.Errorf("option up=false: %w", ctap2.ErrInvalidOption)
	}
	rk = options["rk"]
	if rk && !a.profile.ResidentKeys {
		return false, false, fmt.Errorf("option rk=true: %w", ctap2.ErrUnsupportedOption)
	}
	return rk, uv, nil
}

// makeCredentialNeedsUV refuses a request that brings no user
// verification when it needs one (CTAP 2.1 §6.1.2 steps 6-10): always
// with alwaysUv, otherwise once the key is protected by a PIN or built-in
// UV, except for a non-discoverable credential under makeCredUvNotRqd.
func (a *Authenticator) makeCredentialNeedsUV(dev *deviceState, hasPinUvAuthParam, rk, uv bool) error {
	alwaysUV, protected := a.alwaysUV(dev), a.protectedByUV(dev)
	if alwaysUV && !protected {
		// Step 6.2: a PIN must be set first.
		return a.uvRequiredError(dev, false)
	}
	if hasPinUvAuthParam || uv {
		return nil
	}
	if alwaysUV {
		return a.uvRequiredError(dev, false) // step 6.4
	}
	if !protected {
		return nil
	}
	if a.profile.MakeCredUVNotRequired && !rk {
		return nil // step 10
	}
	return a.uvRequiredError(dev, true)
}

// checkStoreCapacity refuses a new discoverable credential when the store is
// full, unless it replaces one for the same RP and user.
func (a *Authenticator) checkStoreCapacity(rpID string, userID []byte) error {
	limit := a.profile.MaxDiscoverableCredentials
	if limit <= 0 {
		return nil
	}
	n, err := a.store.CountCredentials()
	if err != nil {
		return fmt.Errorf("counting credentials: %w", err)
	}
	if n < limit {
		return nil
	}
	existing, err := a.store.CredentialsForRP(rpID)
	if err != nil {
		return fmt.Errorf("listing credentials: %w", err)
	}
	for _, c := range existing {
		if string(c.User.ID) == string(userID) {
			return nil
		}
	}
	return fmt.Errorf("%d discoverable credentials stored: %w", n, ctap2.ErrKeyStoreFull)
}

// credentialExists reports whether id is a live credential of this
// authenticator for the RP that an exclude list may reveal: it opens, its
// credProtect level lets it be seen, and a discoverable one is still stored.
func (a *Authenticator) credentialExists(dev *deviceState, rpIDHash [32]byte, id []byte, userVerified bool) bool {
	src, err := openCredentialID(dev.credentials, rpIDHash, id)
	if err != nil || !credentialVisible(src, true, userVerified) {
		return false
	}
	if !src.discoverable {
		return true
	}
	_, err = a.store.Credential(id)
	return err == nil
}

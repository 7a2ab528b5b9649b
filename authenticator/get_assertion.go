package authenticator

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// nextAssertionTimeout bounds how long getNextAssertion may follow
// getAssertion (CTAP 2.1 §6.3: 30 seconds).
const nextAssertionTimeout = 30 * time.Second

// assertionCandidate is a credential an assertion can be made with.
type assertionCandidate struct {
	id     []byte
	source *credentialSource
	stored *store.Credential // discoverable credentials only
}

// assertionSequence is what getNextAssertion continues from.
type assertionSequence struct {
	rpIDHash       [32]byte
	clientDataHash []byte
	flags          ctap2.Flags
	userVerified   bool
	extensions     *assertionExtensions
	remaining      []assertionCandidate
	started        time.Time
}

// getAssertion answers authenticatorGetAssertion (CTAP 2.1 §6.2.2).
func (a *Authenticator) getAssertion(ctx context.Context, params []byte) ([]byte, error) {
	req, err := ctap2.ParseGetAssertionRequest(params)
	if err != nil {
		return nil, err
	}
	if err := a.checkCommonParameters(req.ClientDataHash, req.RPID, req.AllowList); err != nil {
		return nil, fmt.Errorf("getAssertion: %w", err)
	}
	presence := PresenceRequest{Operation: "authenticate", RPID: req.RPID}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	// Steps 1-2: a zero-length pinUvAuthParam asks for a touch to pick
	// the device; a pinUvAuthParam needs a protocol the profile offers.
	if err := a.pinUvAuthForRequest(ctx, dev, req.PinUvAuthParam, req.PinUvAuthProtocol, presence); err != nil {
		return nil, fmt.Errorf("getAssertion: %w", err)
	}
	hasToken := req.PinUvAuthParam != nil
	// Step 4: options. "rk" is not an option of getAssertion; with a
	// pinUvAuthParam "uv" is treated as false.
	uvOption := req.Options["uv"] && !hasToken
	if uvOption && !a.uvConfigured(dev) {
		return nil, fmt.Errorf("getAssertion: option uv=true without configured built-in user verification: %w", ctap2.ErrInvalidOption)
	}
	if _, ok := req.Options["rk"]; ok {
		return nil, fmt.Errorf("getAssertion: option rk: %w", ctap2.ErrUnsupportedOption)
	}
	userPresence := true
	if up, ok := req.Options["up"]; ok {
		userPresence = up
	}
	// Step 5: alwaysUv needs user verification for every assertion with
	// user presence, built-in UV when it is configured.
	if a.alwaysUV(dev) && userPresence {
		switch {
		case !a.protectedByUV(dev):
			return nil, fmt.Errorf("getAssertion: alwaysUv: %w", a.uvRequiredError(dev, false))
		case !hasToken && !uvOption && a.uvConfigured(dev):
			uvOption = true
		case !hasToken && !uvOption:
			return nil, fmt.Errorf("getAssertion: alwaysUv: %w", a.uvRequiredError(dev, false))
		}
	}
	extensions, err := a.parseAssertionExtensions(req.Extensions, userPresence)
	if err != nil {
		return nil, fmt.Errorf("getAssertion: %w", err)
	}
	userVerified := false // set once PIN/UV auth succeeded
	// Step 6: user verification, with the token or built-in UV.
	switch {
	case hasToken:
		if err := a.checkRequestToken(dev, req.PinUvAuthProtocol, req.PinUvAuthParam, req.ClientDataHash, PermGetAssertion, req.RPID); err != nil {
			return nil, fmt.Errorf("getAssertion: %w", err)
		}
		userVerified = true
	case uvOption:
		if err := a.builtInUvForRequest(ctx, dev, VerifyRequest{Operation: "authenticate", RPID: req.RPID}); err != nil {
			return nil, fmt.Errorf("getAssertion: %w", err)
		}
		userVerified = true
	}
	// Built-in UV on this emulated key takes a touch; a token carries
	// user presence only while its flag is fresh (step 9).
	presenceCollected := uvOption || (hasToken && userPresence && a.tokenUserPresent())
	rpIDHash := ctap2.RPIDHash(req.RPID)
	candidates, err := a.findCredentials(dev, req.RPID, rpIDHash, req.AllowList, userVerified)
	if err != nil {
		return nil, fmt.Errorf("getAssertion: %w", err)
	}
	if len(candidates) == 0 {
		return nil, fmt.Errorf("getAssertion: %w", ctap2.ErrNoCredentials)
	}

	// Step 9: user presence; then the token's flags and permissions but
	// lbw are used up.
	if userPresence && !presenceCollected {
		if len(candidates) == 1 && candidates[0].stored != nil {
			presence.UserName = candidates[0].stored.User.Name
		}
		if err := a.waitForPresence(ctx, presence); err != nil {
			return nil, fmt.Errorf("getAssertion: %w", err)
		}
	}
	if userPresence && hasToken {
		a.consumeTokenPresence()
	}
	seq := &assertionSequence{
		rpIDHash:       rpIDHash,
		clientDataHash: req.ClientDataHash,
		flags:          a.flags(userPresence || uvOption, userVerified),
		userVerified:   userVerified,
		extensions:     extensions,
		remaining:      candidates,
		started:        a.now(),
	}
	// With an allow list the first credential found is used; without one,
	// every discoverable credential of the RP is offered in turn.
	numberOfCredentials := 0
	if len(req.AllowList) == 0 && len(candidates) > 1 {
		numberOfCredentials = len(candidates)
	} else {
		seq.remaining = candidates[:1]
	}
	resp, err := a.nextAssertion(seq, numberOfCredentials)
	if err != nil {
		return nil, fmt.Errorf("getAssertion: %w", err)
	}
	if len(seq.remaining) > 0 {
		a.next = seq
	}
	return resp, nil
}

// getNextAssertion answers authenticatorGetNextAssertion (CTAP 2.1 §6.3).
func (a *Authenticator) getNextAssertion() ([]byte, error) {
	seq := a.next
	a.next = nil
	if seq == nil || len(seq.remaining) == 0 {
		return nil, fmt.Errorf("getNextAssertion: no assertion sequence: %w", ctap2.ErrNotAllowed)
	}
	if a.now().Sub(seq.started) > nextAssertionTimeout {
		return nil, fmt.Errorf("getNextAssertion: sequence older than %v: %w", nextAssertionTimeout, ctap2.ErrNotAllowed)
	}
	resp, err := a.nextAssertion(seq, 0)
	if err != nil {
		return nil, fmt.Errorf("getNextAssertion: %w", err)
	}
	if len(seq.remaining) > 0 {
		a.next = seq
	}
	return resp, nil
}

// nextAssertion signs with the first remaining candidate and removes it.
func (a *Authenticator) nextAssertion(seq *assertionSequence, numberOfCredentials int) ([]byte, error) {
	c := seq.remaining[0]
	seq.remaining = seq.remaining[1:]
	key, err := a.loadKey(c.id, c.source)
	if err != nil {
		return nil, err
	}
	counter, err := a.nextSignCount(c.id)
	if err != nil {
		return nil, fmt.Errorf("advancing signature counter: %w", err)
	}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	extensionOutputs, largeBlobKey, err := a.assertionOutputs(seq.extensions, dev, c, seq.userVerified)
	if err != nil {
		return nil, err
	}
	authData, err := (&ctap2.AuthData{RPIDHash: seq.rpIDHash, Flags: seq.flags, SignCount: counter, Extensions: extensionOutputs}).Marshal()
	if err != nil {
		return nil, err
	}
	sig, err := attestation.Sign(key, c.source.alg, append(authData, seq.clientDataHash...))
	if err != nil {
		return nil, fmt.Errorf("signing assertion: %w", err)
	}
	if a.bogusSignature("assertion") {
		sig = make([]byte, len(sig))
	}
	resp := ctap2.GetAssertionResponse{
		Credential:          ctap2.CredentialDescriptor{Type: ctap2.PublicKeyCredentialType, ID: c.id},
		AuthData:            authData,
		Signature:           sig,
		NumberOfCredentials: numberOfCredentials,
		LargeBlobKey:        largeBlobKey,
	}
	if c.stored != nil {
		// Without user verification only the user handle is returned
		// (CTAP 2.1 §6.2.2 step 12).
		resp.User = &ctap2.UserEntity{ID: c.stored.User.ID}
		if seq.userVerified {
			resp.User = &c.stored.User
		}
	}
	return ctap2.Marshal(resp)
}

// findCredentials locates the credentials an assertion may use: those of the
// allow list that this authenticator made for the RP, or without an allow
// list the RP's discoverable credentials, newest first (CTAP 2.1 §6.2.2 step 7).
func (a *Authenticator) findCredentials(dev *deviceState, rpID string, rpIDHash [32]byte, allowList []ctap2.CredentialDescriptor, userVerified bool) ([]assertionCandidate, error) {
	if len(allowList) == 0 {
		stored, err := a.store.CredentialsForRP(rpID)
		if err != nil {
			return nil, fmt.Errorf("listing credentials: %w", err)
		}
		var out []assertionCandidate
		for _, c := range stored {
			src, err := openCredentialID(dev.credentials, rpIDHash, c.ID)
			if err != nil {
				// Made under an earlier credential key; a reset should
				// have removed it. Skipping it is all that can be done.
				a.log.Warn("stored credential does not open", "rp", rpID, "error", err)
				continue
			}
			if !credentialVisible(src, false, userVerified) {
				continue
			}
			out = append(out, assertionCandidate{id: c.ID, source: src, stored: c})
		}
		return out, nil
	}
	for _, d := range allowList {
		if d.Type != ctap2.PublicKeyCredentialType {
			continue
		}
		src, err := openCredentialID(dev.credentials, rpIDHash, d.ID)
		if err != nil || !credentialVisible(src, true, userVerified) {
			continue
		}
		candidate := assertionCandidate{id: d.ID, source: src}
		if src.discoverable {
			stored, err := a.store.Credential(d.ID)
			if errors.Is(err, store.ErrNotFound) {
				continue // deleted
			} else if err != nil {
				return nil, fmt.Errorf("loading credential: %w", err)
			}
			candidate.stored = stored
		}
		return []assertionCandidate{candidate}, nil
	}
	return nil, nil
}

package authenticator

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator/store"
)

// deviceState is the device secrets in usable form.
type deviceState struct {
	credentials cipher.AEAD        // seals credential IDs
	batch       *attestation.Batch // packed full and U2F attestation
}

// device returns the device secrets, creating them on a new store and
// re-issuing the batch certificate when the profile's AAGUID no longer
// matches it (the AAGUID extension must equal authData's, WebAuthn L3 §8.2.1).
func (a *Authenticator) device() (*deviceState, error) {
	if a.dev != nil {
		return a.dev, nil
	}
	d, err := a.store.Device()
	if errors.Is(err, store.ErrNotFound) {
		d = &store.Device{CredentialKey: make([]byte, 32)}
		if _, err := io.ReadFull(a.rand, d.CredentialKey); err != nil {
			return nil, fmt.Errorf("creating credential key: %w", err)
		}
	} else if err != nil {
		return nil, fmt.Errorf("loading device secrets: %w", err)
	}
	aead, err := newCredentialAEAD(d.CredentialKey)
	if err != nil {
		return nil, err
	}
	var batch *attestation.Batch
	if d.AttestationKey != nil {
		batch, err = attestation.ParseBatch(d.AttestationKey, d.AttestationChain)
		if err != nil {
			return nil, fmt.Errorf("loading batch attestation: %w", err)
		}
	}
	if batch == nil || batch.CheckAAGUID(a.profile.AAGUID) != nil {
		if batch, err = a.newBatch(d); err != nil {
			return nil, err
		}
	}
	a.dev = &deviceState{credentials: aead, batch: batch}
	return a.dev, nil
}

// newBatch issues a batch attestation chain for the profile's AAGUID and
// stores it beside the credential key.
func (a *Authenticator) newBatch(d *store.Device) (*attestation.Batch, error) {
	batch, err := attestation.NewBatch(a.rand, a.now(), a.profile.AAGUID, a.profile.CertificateOrganization)
	if err != nil {
		return nil, fmt.Errorf("issuing batch attestation certificate: %w", err)
	}
	if d.AttestationKey, err = batch.MarshalKey(); err != nil {
		return nil, fmt.Errorf("encoding batch attestation key: %w", err)
	}
	d.AttestationChain = batch.Chain
	if err := a.store.SetDevice(d); err != nil {
		return nil, fmt.Errorf("saving device secrets: %w", err)
	}
	return batch, nil
}

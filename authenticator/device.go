package authenticator

import (
	"crypto/cipher"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"slices"
	"time"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator/store"
)

// deviceState is the device secrets in usable form.
type deviceState struct {
	credentials cipher.AEAD        // seals credential IDs
	batch       *attestation.Batch // packed full, fido-u2f and U2F attestation
	enterprise  *attestation.Batch // enterprise attestation, when the profile offers it
	aik         *attestation.Batch // tpm attestation, when the profile offers it; no Key when the AIK is in a TPM
	// record is the stored device record as last saved; change it only
	// through updateDevice.
	record *store.Device
}

// device returns the device secrets, creating them on a new store.
//
// Without a CA in the configuration, the batch chain is the device's own:
// made once, kept in the store, and re-issued when the profile's AAGUID no
// longer matches it (the AAGUID extension must equal authData's, WebAuthn L3
// §8.2.1). With a CA, or when a negative switch wants a broken certificate,
// attestation certificates are issued afresh at each start.
func (a *Authenticator) device() (*deviceState, error) {
	if a.dev != nil {
		return a.dev, nil
	}
	d, err := a.store.Device()
	changed := false
	if errors.Is(err, store.ErrNotFound) {
		d = &store.Device{CredentialKey: make([]byte, 32)}
		if _, err := io.ReadFull(a.rand, d.CredentialKey); err != nil {
			return nil, fmt.Errorf("creating credential key: %w", err)
		}
		changed = true
	} else if err != nil {
		return nil, fmt.Errorf("loading device secrets: %w", err)
	}
	aead, err := newCredentialAEAD(d.CredentialKey)
	if err != nil {
		return nil, err
	}
	dev := &deviceState{credentials: aead, record: d}

	var ca *attestation.CA // issues everything but the stored batch; made on first use
	issuer := func() (*attestation.CA, error) {
		if ca == nil {
			if ca, err = a.issuer(); err != nil {
				return nil, err
			}
		}
		return ca, nil
	}
	switch {
	case a.batch != nil && !a.profile.Negative.breaksCertificate():
		dev.batch = a.batch
	case a.ca == nil && !a.profile.Negative.breaksCertificate():
		var reissued bool
		if dev.batch, reissued, err = a.storedBatch(d); err != nil {
			return nil, err
		}
		changed = changed || reissued
	default:
		ca, err := issuer()
		if err != nil {
			return nil, err
		}
		if dev.batch, err = ca.IssueBatch(a.rand, a.now(), a.profile.AAGUID, a.batchOptions()); err != nil {
			return nil, fmt.Errorf("issuing batch attestation certificate: %w", err)
		}
	}
	if changed {
		if err := a.store.SetDevice(d); err != nil {
			return nil, fmt.Errorf("saving device secrets: %w", err)
		}
	}
	if a.profile.EnterpriseAttestation != "" {
		ca, err := issuer()
		if err != nil {
			return nil, err
		}
		opts := attestation.BatchOptions{Organization: a.profile.CertificateOrganization, SerialNumberExt: deviceSerial(d)}
		if dev.enterprise, err = ca.IssueBatch(a.rand, a.now(), a.profile.AAGUID, opts); err != nil {
			return nil, fmt.Errorf("issuing enterprise attestation certificate: %w", err)
		}
	}
	if slices.Contains(a.profile.AttestationModes(), AttestationTPM) {
		ca, err := issuer()
		if err != nil {
			return nil, err
		}
		if tpm, ok := a.keys.(tpmCertifier); ok {
			dev.aik, err = a.tpmAIK(tpm, ca)
		} else {
			dev.aik, err = attestation.NewAIK(a.rand, a.now(), ca, a.tpmInfo(), a.profile.AAGUID)
		}
		if err != nil {
			return nil, fmt.Errorf("issuing attestation identity key certificate: %w", err)
		}
	}
	a.dev = dev
	return dev, nil
}

// updateDevice applies change to a copy of the device record and stores
// it; only once the store has it durably does the authenticator see the
// new record. If change or the store fails, nothing changes.
func (a *Authenticator) updateDevice(change func(*store.Device) error) error {
	dev, err := a.device()
	if err != nil {
		return err
	}
	d := dev.record.Clone()
	if err := change(d); err != nil {
		return err
	}
	if err := a.store.SetDevice(d); err != nil {
		return fmt.Errorf("saving device state: %w", err)
	}
	dev.record = d
	return nil
}

// storedBatch loads the device's own batch chain, issuing a new one into d
// when there is none or its AAGUID is not the profile's.
func (a *Authenticator) storedBatch(d *store.Device) (batch *attestation.Batch, reissued bool, err error) {
	if d.AttestationKey != nil {
		batch, err = attestation.ParseBatch(d.AttestationKey, d.AttestationChain)
		if err != nil {
			return nil, false, fmt.Errorf("loading batch attestation: %w", err)
		}
		if batch.CheckAAGUID(a.profile.AAGUID) == nil {
			return batch, false, nil
		}
	}
	batch, err = attestation.NewBatch(a.rand, a.now(), a.profile.AAGUID, a.profile.CertificateOrganization)
	if err != nil {
		return nil, false, fmt.Errorf("issuing batch attestation certificate: %w", err)
	}
	if d.AttestationKey, err = batch.MarshalKey(); err != nil {
		return nil, false, fmt.Errorf("encoding batch attestation key: %w", err)
	}
	d.AttestationChain = batch.Chain
	return batch, true, nil
}

// issuer is the CA that issues attestation certificates: the configured
// one, or a fresh one when there is none or the profile wants a chain that
// no metadata names.
func (a *Authenticator) issuer() (*attestation.CA, error) {
	if a.ca != nil && !a.profile.Negative.ForeignRoot {
		return a.ca, nil
	}
	ca, err := attestation.NewCA(a.rand, a.now(), a.profile.CertificateOrganization)
	if err != nil {
		return nil, fmt.Errorf("making an attestation CA: %w", err)
	}
	return ca, nil
}

// breaksCertificate reports whether a switch asks for a batch certificate
// that a relying party must refuse.
func (n Negative) breaksCertificate() bool {
	return n.CertificateAAGUIDMismatch || n.CertificateExpired || n.CertificateNotYetValid || n.ForeignRoot
}

// batchOptions turns the certificate negative switches into issuing options.
func (a *Authenticator) batchOptions() attestation.BatchOptions {
	opts := attestation.BatchOptions{Organization: a.profile.CertificateOrganization}
	n, now := a.profile.Negative, a.now()
	const day = 24 * time.Hour
	switch {
	case n.CertificateExpired:
		opts.NotBefore, opts.NotAfter = now.Add(-2*365*day), now.Add(-day)
	case n.CertificateNotYetValid:
		opts.NotBefore, opts.NotAfter = now.Add(day), now.Add(20*365*day)
	}
	if n.CertificateAAGUIDMismatch {
		other := a.profile.AAGUID
		other[15] ^= 0xff
		opts.CertAAGUID = (*[16]byte)(&other)
	}
	return opts
}

// deviceSerial is the per-device serial number of enterprise attestation
// certificates: stable for the life of the device secrets.
func deviceSerial(d *store.Device) []byte {
	sum := sha256.Sum256(slices.Concat([]byte("softkey enterprise serial"), d.CredentialKey))
	return sum[:8]
}

package tpmkeys

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// Errors that name what went wrong with the TPM and how to fix it. The
// backend wraps them around the TPM's own response code, so errors.Is
// finds both: errors.Is(err, ErrKeyUnavailable), errors.Is(err,
// tpm2.TPMRCIntegrity).
var (
	// ErrKeyUnavailable: a credential key's blobs no longer load because
	// the storage root key they were made under is gone. The credential is
	// lost; it is not data corruption.
	ErrKeyUnavailable = errors.New("credential key no longer loads in this TPM: was the TPM cleared? credentials made before a TPM clear are lost; register again")
	// ErrLockout: the TPM's dictionary-attack protection is locking out
	// authorizations.
	ErrLockout = errors.New("TPM is in dictionary-attack lockout: wait for the lockout to expire or reset it with the lockout password (tpm2_dictionarylockout --clear-lockout)")
	// ErrOwnerAuth: the TPM refused the owner hierarchy password.
	ErrOwnerAuth = errors.New("TPM refused the owner hierarchy password: pass the right owner password, or clear the owner password")
	// ErrNoTPM: no TPM could be reached.
	ErrNoTPM = errors.New("no TPM found")
)

// classify wraps a TPM command's error in the sentinel that explains it,
// keeping the TPM's response code in the chain.
func classify(err error) error {
	var rc tpm2.TPMRC
	if !errors.As(err, &rc) {
		return err
	}
	switch {
	case errors.Is(rc, tpm2.TPMRCLockout):
		return fmt.Errorf("%w: %w", ErrLockout, err)
	case errors.Is(rc, tpm2.TPMRCBadAuth), errors.Is(rc, tpm2.TPMRCAuthFail):
		return fmt.Errorf("%w: %w", ErrOwnerAuth, err)
	}
	return err
}

// classifyLoad is classify for TPM2_Load: a private blob whose integrity
// check fails under the current storage root key was made under another
// seed (TPM 2.0 Part 1 §23.4: the integrity key derives from the parent's
// seed), that is, before a TPM2_Clear or on another TPM.
func classifyLoad(err error) error {
	var rc tpm2.TPMRC
	if errors.As(err, &rc) && (errors.Is(rc, tpm2.TPMRCIntegrity) || errors.Is(rc, tpm2.TPMRCBinding)) {
		return fmt.Errorf("%w: %w", ErrKeyUnavailable, err)
	}
	return classify(err)
}

// parentGone reports whether err says the storage root key's transient
// handle no longer exists: a TPM restart or TPM2_Clear flushed it.
func parentGone(err error) bool {
	var rc tpm2.TPMRC
	if !errors.As(err, &rc) {
		return false
	}
	if errors.Is(rc, tpm2.TPMRCReferenceH0) {
		return true
	}
	var fmt1 tpm2.TPMFmt1Error
	if errors.As(rc, &fmt1) {
		if isHandle, index := fmt1.Handle(); isHandle && index == 1 {
			return errors.Is(rc, tpm2.TPMRCHandle) || errors.Is(rc, tpm2.TPMRCValue)
		}
	}
	return false
}

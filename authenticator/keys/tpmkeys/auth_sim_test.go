//go:build tpmsim

package tpmkeys

import (
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

// TestOwnerAuth: a TPM whose owner set a password refuses the storage
// root key without it.
func TestOwnerAuth(t *testing.T) {
	_, tpm := newSimulator(t)
	password := []byte("owner password")
	_, err := tpm2.HierarchyChangeAuth{
		AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(nil)},
		NewAuth:    tpm2.TPM2BAuth{Buffer: password},
	}.Execute(tpm)
	require.NoError(t, err)

	b, err := New(Config{TPM: tpm, OwnerAuth: password})
	require.NoError(t, err, "with the right owner password")
	_, _, err = b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	require.NoError(t, b.Close())

	_, err = New(Config{TPM: tpm})
	require.ErrorIs(t, err, ErrOwnerAuth, "without the owner password: got %v", err)
	require.ErrorContains(t, err, "owner password")
	// Owner authorizations are exempt from dictionary-attack counting
	// (TPM 2.0 Part 1 §19.8.3), and credential keys are noDA, so wrong
	// passwords never lock the backend out; TestClassify covers the
	// lockout answer.
	for range 5 {
		_, err = New(Config{TPM: tpm, OwnerAuth: []byte("guess")})
		require.ErrorIs(t, err, ErrOwnerAuth, "with a wrong owner password: got %v", err)
	}
	_, err = New(Config{TPM: tpm, OwnerAuth: password})
	require.NoError(t, err, "with the right owner password after wrong ones")
}

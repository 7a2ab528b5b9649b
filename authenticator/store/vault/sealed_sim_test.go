//go:build tpmsim

package vault_test

import (
	"os"
	"path/filepath"
	"testing"

	gtsim "github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/authenticator/store/vault"
)

// startTPM starts the in-process TPM simulator, which has new random
// hierarchy seeds at every start (a machine with another TPM), and a
// backend on it; stop closes both. Only one simulator runs at a time.
func startTPM(t *testing.T) (b *tpmkeys.Backend, stop func()) {
	t.Helper()
	sim, err := gtsim.Get()
	require.NoError(t, err, "starting the TPM simulator")
	b, err = tpmkeys.New(tpmkeys.Config{TPM: transport.FromReadWriter(sim)})
	if err != nil {
		_ = sim.Close()
		require.NoError(t, err, "TPM key backend")
	}
	return b, func() {
		require.NoError(t, b.Close())
		require.NoError(t, sim.Close())
	}
}

// copyDir copies the files of dir to a new directory: the vault copied to
// another machine.
func copyDir(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(to, e.Name()), b, 0o600))
	}
	return to
}

// TestVaultSealedToTPM: a vault sealed by one TPM reopens with it, with the
// passphrase too when it has one; a copy opens neither on another TPM nor
// without one, and the failed opens leave the copy as it was.
func TestVaultSealedToTPM(t *testing.T) {
	for name, pass := range map[string]string{"TPM only": "", "TPM and passphrase": "right"} {
		t.Run(name, func(t *testing.T) {
			opts := func(b *tpmkeys.Backend, pass string) vault.Options {
				o := keyFileOptions()
				if pass != "" {
					o = passphraseOptions(pass)
				}
				if b != nil {
					o.Sealer = b
				}
				return o
			}
			dir := t.TempDir()
			cred := testCred(1, "example.org")

			first, stop := startTPM(t)
			v, err := vault.Open(dir, opts(first, pass))
			require.NoError(t, err, "creating a vault sealed to the TPM")
			require.NoError(t, v.PutCredential(cred))
			require.NoError(t, v.Close())
			require.FileExists(t, filepath.Join(dir, vault.SealedKeyFile))
			require.NoFileExists(t, filepath.Join(dir, vault.KeyFile))

			v, err = vault.Open(dir, opts(first, pass))
			require.NoError(t, err, "reopening with the TPM that sealed it")
			got, err := v.Credential(cred.ID)
			require.NoError(t, err)
			require.Equal(t, cred.User, got.User)
			require.NoError(t, v.Close())
			if pass != "" {
				_, err = vault.Open(dir, opts(first, ""))
				require.ErrorIs(t, err, vault.ErrPassphraseRequired, "the TPM alone")
				_, err = vault.Open(dir, opts(first, "wrong"))
				require.ErrorIs(t, err, vault.ErrWrongKey, "the TPM and a wrong passphrase")
			}
			stop()

			other, stop := startTPM(t)
			defer stop()
			copied := copyDir(t, dir)
			dbHash := fileHash(t, filepath.Join(copied, vault.DBFile))
			_, err = vault.Open(copied, opts(other, pass))
			require.ErrorIs(t, err, vault.ErrWrongKey, "a copy opened with another TPM")
			require.ErrorIs(t, err, tpmkeys.ErrKeyUnavailable, "a copy opened with another TPM")
			require.ErrorContains(t, err, "opens only on the machine, and the TPM, that sealed it")
			t.Logf("opened with another TPM: %v", err)

			_, err = vault.Open(copied, opts(nil, pass))
			require.ErrorIs(t, err, vault.ErrWrongKey, "a copy opened without a TPM")
			require.ErrorContains(t, err, "sealed to a TPM: use --keystore tpm")
			require.Equal(t, dbHash, fileHash(t, filepath.Join(copied, vault.DBFile)), "a failed open changed the copy")
			require.NoFileExists(t, filepath.Join(copied, vault.KeyFile), "a failed open made a key file")
		})
	}
}

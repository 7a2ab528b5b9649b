package main

import (
	"bytes"
	"crypto/rand"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store/vault"
)

// sealingKeys stands in for the TPM backend: a key backend that also seals
// secrets, to this "machine" only.
type sealingKeys struct {
	*keys.Software
	machine string
}

var errNotThisMachine = errors.New("sealed on another machine")

func (s sealingKeys) SealSecret(secret []byte) ([]byte, error) {
	return append([]byte(s.machine), secret...), nil
}

func (s sealingKeys) UnsealSecret(sealed []byte) ([]byte, error) {
	secret, ok := bytes.CutPrefix(sealed, []byte(s.machine))
	if !ok {
		return nil, errNotThisMachine
	}
	return secret, nil
}

func TestVaultSealer(t *testing.T) {
	soft := keys.NewSoftware(rand.Reader)
	sealing := sealingKeys{Software: soft, machine: "machine A"}
	tests := []struct {
		name    string
		flags   keystoreFlags
		backend authenticator.KeyBackend
		want    vault.KeySealer
		wantErr string
	}{
		{"soft keystore", keystoreFlags{keystore: keystoreSoft}, soft, nil, ""},
		{"default keystore, sealing backend", keystoreFlags{}, sealing, nil, ""},
		{"tpm keystore", keystoreFlags{keystore: keystoreTPM}, sealing, sealing, ""},
		{"tpm keystore, backend without sealing", keystoreFlags{keystore: keystoreTPM}, soft, nil, "cannot seal the vault key"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := vaultSealer(tt.flags, tt.backend)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr, "flags %+v, backend %T", tt.flags, tt.backend)
				require.Nil(t, got)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got, "sealer for flags %+v, backend %T", tt.flags, tt.backend)
		})
	}
}

// TestOpenVaultSealed: a vault created with a sealer opens again with it,
// and not without it or with another machine's, with hints that say why.
func TestOpenVaultSealed(t *testing.T) {
	t.Setenv(vault.PassphraseEnv, "")
	dir := t.TempDir()
	sealer := sealingKeys{Software: keys.NewSoftware(rand.Reader), machine: "machine A"}
	v, _, err := openVault(dir, false, false, sealer)
	require.NoError(t, err, "creating a sealed vault")
	require.NoError(t, v.Close())
	require.FileExists(t, filepath.Join(dir, vault.SealedKeyFile))
	db, err := os.ReadFile(filepath.Join(dir, vault.DBFile))
	require.NoError(t, err)

	v, _, err = openVault(dir, false, true, sealer)
	require.NoError(t, err, "reopening with the same sealer")
	require.NoError(t, v.Close())

	for _, tt := range []struct {
		name   string
		sealer vault.KeySealer
		want   error
	}{
		{"no sealer", nil, vault.ErrWrongKey},
		{"another machine", sealingKeys{Software: sealer.Software, machine: "machine B"}, errNotThisMachine},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := openVault(dir, false, false, tt.sealer)
			require.ErrorIs(t, err, tt.want)
			require.ErrorIs(t, err, vault.ErrWrongKey)
			var h *hintError
			require.ErrorAs(t, err, &h, "the error carries hints")
			require.Contains(t, h.hints[len(h.hints)-1], "--keystore tpm", "hints: %q", h.hints)
			after, err := os.ReadFile(filepath.Join(dir, vault.DBFile))
			require.NoError(t, err)
			require.Equal(t, db, after, "a failed open changed the vault")
		})
	}
}

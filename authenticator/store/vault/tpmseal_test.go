package vault

import (
	"bytes"
	"crypto/rand"
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// machineSealer stands in for a TPM: AES-GCM under a key that never
// leaves the "machine".
type machineSealer struct {
	key   []byte
	seals int
}

var errOtherMachine = errors.New("sealed on another machine")

func newMachineSealer(t *testing.T) *machineSealer {
	key := make([]byte, keySize)
	_, err := rand.Read(key)
	require.NoError(t, err)
	return &machineSealer{key: key}
}

func (m *machineSealer) SealSecret(secret []byte) ([]byte, error) {
	m.seals++
	aead, err := newGCM(m.key)
	if err != nil {
		return nil, err
	}
	return seal(aead, rand.Reader, secret, nil)
}

func (m *machineSealer) UnsealSecret(sealed []byte) ([]byte, error) {
	aead, err := newGCM(m.key)
	if err != nil {
		return nil, err
	}
	secret, err := unseal(aead, sealed, nil)
	if err != nil {
		return nil, errOtherMachine
	}
	return secret, nil
}

func TestSealedSecretCreateAndReopen(t *testing.T) {
	path := filepath.Join(t.TempDir(), SealedKeyFile)
	m := newMachineSealer(t)
	secret, err := sealedSecret(path, m, rand.Reader, true)
	require.NoError(t, err)
	require.Len(t, secret, keySize)
	fi, err := os.Stat(path)
	require.NoError(t, err)
	require.Equal(t, fs.FileMode(0o600), fi.Mode().Perm(), "sealed key file mode")
	onDisk, err := os.ReadFile(path)
	require.NoError(t, err)
	require.False(t, bytes.Contains(onDisk, secret), "the sealed key file shows the secret")

	again, err := sealedSecret(path, m, rand.Reader, true)
	require.NoError(t, err)
	require.Equal(t, secret, again, "reopening gave another secret")
	require.Equal(t, 1, m.seals, "reopening sealed a new secret")
}

func TestSealedSecretErrors(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, SealedKeyFile)
	m := newMachineSealer(t)
	_, err := sealedSecret(path, m, rand.Reader, true)
	require.NoError(t, err)
	before, err := os.ReadFile(path)
	require.NoError(t, err)

	wrongSize, err := m.SealSecret(make([]byte, keySize-1))
	require.NoError(t, err)
	tests := []struct {
		name    string
		setup   func(t *testing.T) string // returns the path to open
		sealer  KeySealer
		wantErr error // checked with errors.Is when set
	}{
		{"another machine", func(*testing.T) string { return path }, newMachineSealer(t), errOtherMachine},
		{"missing, not creating", func(*testing.T) string { return filepath.Join(dir, "none") }, m, fs.ErrNotExist},
		{"empty file", func(t *testing.T) string { return writeTemp(t, nil) }, m, nil},
		{"huge file", func(t *testing.T) string { return writeTemp(t, make([]byte, maxSealedKeyFile+1)) }, m, nil},
		{"secret of the wrong size", func(t *testing.T) string { return writeTemp(t, wrongSize) }, m, nil},
		{"a directory", func(*testing.T) string { return dir }, m, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := tt.setup(t)
			secret, err := sealedSecret(p, tt.sealer, rand.Reader, false)
			require.Error(t, err, "opened %s", tt.name)
			require.Nil(t, secret)
			if tt.wantErr != nil {
				require.ErrorIs(t, err, tt.wantErr)
			}
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, before, after, "a failed open changed the sealed key file")
		})
	}
}

func writeTemp(t *testing.T, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), SealedKeyFile)
	require.NoError(t, os.WriteFile(p, data, 0o600))
	return p
}

func TestSealedKEK(t *testing.T) {
	secret := bytes.Repeat([]byte{1}, keySize)
	salt := bytes.Repeat([]byte{3}, saltSize)
	fast := Argon2Params{Time: 1, MemoryKiB: 8, Threads: 1}
	sealedOnly := kdfParams{Kind: kdfSealed, Salt: salt}
	withPassphrase := kdfParams{Kind: kdfArgon2idAndSealed, Salt: salt, Time: fast.Time, MemoryKiB: fast.MemoryKiB, Threads: fast.Threads}

	alone, err := sealedKEK(sealedOnly, secret, nil)
	require.NoError(t, err)
	require.Len(t, alone, keySize)
	both, err := sealedKEK(withPassphrase, secret, []byte("passphrase"))
	require.NoError(t, err)
	otherPassphrase, err := sealedKEK(withPassphrase, secret, []byte("Passphrase"))
	require.NoError(t, err)
	otherSalt, err := sealedKEK(kdfParams{Kind: kdfSealed, Salt: bytes.Repeat([]byte{4}, saltSize)}, secret, nil)
	require.NoError(t, err)
	keyFile, err := keyFileKEK(secret, salt)
	require.NoError(t, err)
	keks := map[string][]byte{"sealed only": alone, "with passphrase": both, "other passphrase": otherPassphrase, "other salt": otherSalt, "key file KDF": keyFile}
	for a, ka := range keks {
		for b, kb := range keks {
			if a != b {
				require.NotEqual(t, ka, kb, "the %s KEK equals the %s one", a, b)
			}
		}
	}

	_, err = sealedKEK(withPassphrase, secret, nil)
	require.ErrorIs(t, err, ErrPassphraseRequired)
	_, err = sealedKEK(kdfParams{Kind: kdfKeyFile, Salt: salt}, secret, nil)
	require.Error(t, err, "a key file KDF is not a sealed one")
}

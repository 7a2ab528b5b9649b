package vault

import (
	"io/fs"
	"maps"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// readDir returns the name and contents of every file in dir.
func readDir(t *testing.T, dir string) map[string][]byte {
	t.Helper()
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	files := make(map[string][]byte, len(entries))
	for _, e := range entries {
		b, err := os.ReadFile(filepath.Join(dir, e.Name()))
		require.NoError(t, err)
		files[e.Name()] = b
	}
	return files
}

// copyVault copies the files of the vault in dir to a new directory, as a
// user copying a vault to another machine would.
func copyVault(t *testing.T, dir string) string {
	t.Helper()
	to := t.TempDir()
	for name, b := range readDir(t, dir) {
		require.NoError(t, os.WriteFile(filepath.Join(to, name), b, 0o600))
	}
	return to
}

func sealedTestOptions(sealer KeySealer, passphrase string) Options {
	o := Options{Sealer: sealer, LockTimeout: 50 * time.Millisecond, Argon2: &Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}}
	if passphrase != "" {
		o.Passphrase = []byte(passphrase)
	}
	return o
}

// makeVault creates a vault with opts holding one credential and returns
// its directory and the credential.
func makeVault(t *testing.T, opts Options) (string, *store.Credential) {
	t.Helper()
	dir := t.TempDir()
	v, err := Open(dir, opts)
	require.NoError(t, err, "creating the vault")
	c := &store.Credential{
		ID: []byte("credential-1"), RPID: "example.org",
		User: ctap2.UserEntity{ID: []byte("user-1"), Name: "alice"},
		Alg:  ctap2.AlgES256, Created: time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC),
	}
	require.NoError(t, v.PutCredential(c))
	require.NoError(t, v.Close())
	return dir, c
}

func TestSealedVaultCreate(t *testing.T) {
	for _, tt := range []struct {
		passphrase string
		kind       string
	}{{"", kdfSealed}, {"pw", kdfArgon2idAndSealed}} {
		t.Run(tt.kind, func(t *testing.T) {
			m := newMachineSealer(t)
			dir, _ := makeVault(t, sealedTestOptions(m, tt.passphrase))
			kind, _, err := KDFForTest(dir)
			require.NoError(t, err)
			require.Equal(t, tt.kind, kind, "KDF kind in the header")
			require.Equal(t, 1, m.seals, "secrets sealed while creating")
			require.FileExists(t, filepath.Join(dir, SealedKeyFile))
			require.NoFileExists(t, filepath.Join(dir, KeyFile), "a sealed vault needs no key file")
		})
	}
}

// TestSealedVaultOpen opens a copy of a vault locked by a KeySealer in
// every way: only the sealer that made it (and the passphrase, when there
// is one) opens it, and a failed open leaves the files as they were.
func TestSealedVaultOpen(t *testing.T) {
	m := newMachineSealer(t)
	sealedDir, cred := makeVault(t, sealedTestOptions(m, ""))
	bothDir, _ := makeVault(t, sealedTestOptions(m, "right"))
	keyFileDir, _ := makeVault(t, Options{LockTimeout: 50 * time.Millisecond})

	noFile := func(t *testing.T, dir string) { require.NoError(t, os.Remove(filepath.Join(dir, SealedKeyFile))) }
	tests := []struct {
		name     string
		dir      string
		opts     Options
		setup    func(t *testing.T, dir string) // changes the copy before opening
		wantErr  []error                        // checked with errors.Is; none means success
		wantText string
	}{
		{name: "sealed: same sealer", dir: sealedDir, opts: sealedTestOptions(m, "")},
		{name: "sealed: same sealer, read-only", dir: sealedDir, opts: Options{Sealer: m, ReadOnly: true}},
		{name: "sealed: another machine", dir: sealedDir, opts: sealedTestOptions(newMachineSealer(t), ""),
			wantErr: []error{ErrWrongKey, errOtherMachine}, wantText: "opens only on the machine, and the TPM, that sealed it"},
		{name: "sealed: no sealer", dir: sealedDir, opts: Options{},
			wantErr: []error{ErrWrongKey}, wantText: "sealed to a TPM: use --keystore tpm"},
		{name: "sealed: passphrase, no sealer", dir: sealedDir, opts: sealedTestOptions(nil, "right"),
			wantErr: []error{ErrWrongKey}, wantText: "sealed to a TPM: use --keystore tpm"},
		{name: "sealed: sealer and a passphrase", dir: sealedDir, opts: sealedTestOptions(m, "right"),
			wantErr: []error{ErrWrongKey}, wantText: "not protected by a passphrase"},
		{name: "sealed: sealed key file missing", dir: sealedDir, opts: sealedTestOptions(m, ""), setup: noFile,
			wantErr: []error{fs.ErrNotExist}, wantText: "sealed key file is missing"},

		{name: "both: sealer and passphrase", dir: bothDir, opts: sealedTestOptions(m, "right")},
		{name: "both: sealer only", dir: bothDir, opts: sealedTestOptions(m, ""),
			wantErr: []error{ErrPassphraseRequired}, wantText: PassphraseEnv},
		{name: "both: passphrase only", dir: bothDir, opts: sealedTestOptions(nil, "right"),
			wantErr: []error{ErrWrongKey}, wantText: "sealed to a TPM: use --keystore tpm"},
		{name: "both: wrong passphrase", dir: bothDir, opts: sealedTestOptions(m, "wrong"),
			wantErr: []error{ErrWrongKey}},
		{name: "both: another machine", dir: bothDir, opts: sealedTestOptions(newMachineSealer(t), "right"),
			wantErr: []error{ErrWrongKey, errOtherMachine}},

		{name: "key file vault with a sealer", dir: keyFileDir, opts: sealedTestOptions(m, ""),
			wantErr: []error{ErrWrongKey}, wantText: "not sealed to a TPM"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := copyVault(t, tt.dir)
			if tt.setup != nil {
				tt.setup(t, dir)
			}
			before := readDir(t, dir)
			v, err := Open(dir, tt.opts)
			if tt.wantErr == nil {
				require.NoError(t, err, "opening with %s", tt.name)
				defer v.Close()
				got, err := v.Credential(cred.ID)
				require.NoError(t, err, "reading the credential back")
				require.Equal(t, cred.User, got.User)
				return
			}
			require.Error(t, err, "opening with %s", tt.name)
			require.Nil(t, v)
			for _, want := range tt.wantErr {
				require.ErrorIs(t, err, want, "opening with %s", tt.name)
			}
			require.ErrorContains(t, err, tt.wantText)
			after := readDir(t, dir)
			require.True(t, maps.EqualFunc(before, after, func(a, b []byte) bool { return string(a) == string(b) }),
				"a failed open changed the vault files: before %v, after %v", fileNames(before), fileNames(after))
		})
	}
}

func fileNames(m map[string][]byte) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}

package vault_test

import (
	"bytes"
	"crypto/sha256"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/authenticator/store/storetest"
	"github.com/softkeydev/softkey/authenticator/store/vault"
	"github.com/softkeydev/softkey/ctap2"
)

var _ authenticator.Store = (*vault.Vault)(nil)

// fastArgon2 keeps passphrase tests quick; the default is for real use.
func fastArgon2() *vault.Argon2Params {
	return &vault.Argon2Params{Time: 1, MemoryKiB: 64, Threads: 1}
}

func passphraseOptions(pass string) vault.Options {
	return vault.Options{Passphrase: []byte(pass), Argon2: fastArgon2(), LockTimeout: 50 * time.Millisecond}
}

func keyFileOptions() vault.Options {
	return vault.Options{LockTimeout: 50 * time.Millisecond}
}

// open opens the vault in dir and closes it when the test ends.
func open(t testing.TB, dir string, opts vault.Options) *vault.Vault {
	t.Helper()
	v, err := vault.Open(dir, opts)
	require.NoError(t, err)
	t.Cleanup(func() { _ = v.Close() })
	return v
}

// fileHash returns the SHA-256 of the file at path.
func fileHash(t *testing.T, path string) [32]byte {
	t.Helper()
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	return sha256.Sum256(b)
}

func testCred(i int, rpID string) *store.Credential {
	return &store.Credential{
		ID:      []byte(fmt.Sprintf("credential-%d", i)),
		RPID:    rpID,
		RPName:  "Example",
		User:    ctap2.UserEntity{ID: []byte(fmt.Sprintf("user-%d", i)), Name: fmt.Sprintf("user%d@example.com", i)},
		Alg:     ctap2.AlgES256,
		Created: time.Date(2025, 1, 1, 0, 0, i, 1234, time.UTC),
	}
}

func TestConformance(t *testing.T) {
	t.Run("KeyFile", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store { return open(t, t.TempDir(), keyFileOptions()) })
	})
	t.Run("Passphrase", func(t *testing.T) {
		storetest.Run(t, func(t *testing.T) storetest.Store {
			return open(t, t.TempDir(), passphraseOptions("correct horse"))
		})
	})
}

func TestNewVaultFiles(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "a", "vault")
	v := open(t, dir, keyFileOptions())
	require.NoError(t, v.Close())

	for name, want := range map[string]fs.FileMode{
		"":            fs.ModeDir | 0o700,
		vault.DBFile:  0o600,
		vault.KeyFile: 0o600,
	} {
		fi, err := os.Stat(filepath.Join(dir, name))
		require.NoError(t, err, name)
		require.Equal(t, want, fi.Mode(), "mode of %q", name)
	}
	key, err := os.ReadFile(filepath.Join(dir, vault.KeyFile))
	require.NoError(t, err)
	require.Len(t, key, 32)
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	require.Len(t, entries, 2, "no temporary files may be left behind")

	// Passphrase vaults make no key file.
	dir = t.TempDir()
	v = open(t, dir, passphraseOptions("pw"))
	require.NoError(t, v.Close())
	require.NoFileExists(t, filepath.Join(dir, vault.KeyFile))
}

func TestReopenKeepsEverything(t *testing.T) {
	for name, opts := range map[string]vault.Options{
		"KeyFile":    keyFileOptions(),
		"Passphrase": passphraseOptions("pw"),
	} {
		t.Run(name, func(t *testing.T) {
			dir := t.TempDir()
			v := open(t, dir, opts)
			dev := &store.Device{
				CredentialKey:    bytes.Repeat([]byte{1}, 32),
				AttestationKey:   []byte("attestation key"),
				AttestationChain: [][]byte{[]byte("leaf")},
			}
			require.NoError(t, v.SetDevice(dev))
			for i, rp := range []string{"a.example", "b.example", "a.example"} {
				require.NoError(t, v.PutCredential(testCred(i, rp)))
			}
			for range 5 {
				_, err := v.IncrementCounter([]byte("counter"))
				require.NoError(t, err)
			}
			before, err := v.Credentials()
			require.NoError(t, err)
			require.NoError(t, v.Close())

			v = open(t, dir, opts)
			gotDev, err := v.Device()
			require.NoError(t, err)
			require.Equal(t, dev, gotDev)
			after, err := v.Credentials()
			require.NoError(t, err)
			require.Equal(t, before, after)
			forRP, err := v.CredentialsForRP("a.example")
			require.NoError(t, err)
			require.Equal(t, []*store.Credential{before[2], before[0]}, forRP)
			n, err := v.IncrementCounter([]byte("counter"))
			require.NoError(t, err)
			require.Equal(t, uint32(6), n, "counters continue")
			require.NoError(t, v.PutCredential(testCred(9, "a.example")))
			c, err := v.Credential(testCred(9, "").ID)
			require.NoError(t, err)
			require.Greater(t, c.Sequence, before[2].Sequence, "sequence continues")
		})
	}
}

func TestPassphrase(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, vault.DBFile)
	v := open(t, dir, passphraseOptions("right"))
	require.NoError(t, v.PutCredential(testCred(1, "example.com")))
	require.NoError(t, v.Close())
	hash := fileHash(t, dbPath)

	_, err := vault.Open(dir, passphraseOptions("wrong"))
	require.ErrorIs(t, err, vault.ErrWrongKey)
	require.EqualError(t, err, "vault: wrong passphrase or key file for "+dir)
	require.Equal(t, hash, fileHash(t, dbPath), "a failed Open must not touch the file")

	_, err = vault.Open(dir, keyFileOptions())
	require.ErrorIs(t, err, vault.ErrPassphraseRequired)
	require.Contains(t, err.Error(), vault.PassphraseEnv)
	require.NoFileExists(t, filepath.Join(dir, vault.KeyFile), "Open must not make a key file for an existing vault")
	require.Equal(t, hash, fileHash(t, dbPath))

	_, err = vault.Open(dir, vault.Options{Passphrase: []byte{}})
	require.ErrorContains(t, err, "empty passphrase")

	v = open(t, dir, passphraseOptions("right"))
	_, err = v.Credential(testCred(1, "").ID)
	require.NoError(t, err)
}

func TestKeyFile(t *testing.T) {
	dir := t.TempDir()
	dbPath := filepath.Join(dir, vault.DBFile)
	keyPath := filepath.Join(dir, vault.KeyFile)
	v := open(t, dir, keyFileOptions())
	require.NoError(t, v.PutCredential(testCred(1, "example.com")))
	require.NoError(t, v.Close())
	hash := fileHash(t, dbPath)
	key, err := os.ReadFile(keyPath)
	require.NoError(t, err)
	restore := func() {
		t.Helper()
		require.NoError(t, os.WriteFile(keyPath, key, 0o600))
		require.NoError(t, os.Chmod(keyPath, 0o600))
	}

	t.Run("Wrong", func(t *testing.T) {
		defer restore()
		require.NoError(t, os.WriteFile(keyPath, bytes.Repeat([]byte{7}, 32), 0o600))
		_, err := vault.Open(dir, keyFileOptions())
		require.ErrorIs(t, err, vault.ErrWrongKey)
		require.EqualError(t, err, "vault: wrong passphrase or key file for "+dir)
		require.Equal(t, hash, fileHash(t, dbPath))
	})
	t.Run("LoosePermissions", func(t *testing.T) {
		defer restore()
		for _, mode := range []fs.FileMode{0o644, 0o640, 0o604, 0o660} {
			require.NoError(t, os.Chmod(keyPath, mode))
			_, err := vault.Open(dir, keyFileOptions())
			require.ErrorContains(t, err, "chmod 600 "+keyPath, "mode %04o", mode)
			require.Equal(t, hash, fileHash(t, dbPath))
		}
	})
	t.Run("WrongLength", func(t *testing.T) {
		defer restore()
		for _, n := range []int{0, 31, 33, 64} {
			require.NoError(t, os.WriteFile(keyPath, make([]byte, n), 0o600))
			_, err := vault.Open(dir, keyFileOptions())
			require.ErrorContains(t, err, "key file", "%d bytes", n)
		}
	})
	t.Run("Missing", func(t *testing.T) {
		defer restore()
		require.NoError(t, os.Remove(keyPath))
		_, err := vault.Open(dir, keyFileOptions())
		require.ErrorIs(t, err, fs.ErrNotExist)
		require.ErrorContains(t, err, "key file")
		require.NoFileExists(t, keyPath, "Open must not make a new key for an existing vault")
		require.Equal(t, hash, fileHash(t, dbPath))
	})
	t.Run("PassphraseForKeyFileVault", func(t *testing.T) {
		_, err := vault.Open(dir, passphraseOptions("pw"))
		require.ErrorIs(t, err, vault.ErrWrongKey)
		require.ErrorContains(t, err, "key file")
	})
	t.Run("LoosePermissionsOnCreate", func(t *testing.T) {
		// A key file left from an earlier vault is checked too.
		dir := t.TempDir()
		require.NoError(t, os.WriteFile(filepath.Join(dir, vault.KeyFile), make([]byte, 32), 0o644))
		require.NoError(t, os.Chmod(filepath.Join(dir, vault.KeyFile), 0o644))
		_, err := vault.Open(dir, keyFileOptions())
		require.ErrorContains(t, err, "chmod 600")
		require.NoFileExists(t, filepath.Join(dir, vault.DBFile))
	})

	v = open(t, dir, keyFileOptions())
	_, err = v.Credential(testCred(1, "").ID)
	require.NoError(t, err)
}

func TestEmptyDBIsInitialised(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, vault.DBFile), nil, 0o600))
	v := open(t, dir, keyFileOptions())
	require.NoError(t, v.PutCredential(testCred(1, "example.com")))
	n, err := v.CountCredentials()
	require.NoError(t, err)
	require.Equal(t, 1, n)
}

func TestReadOnlyAndLocking(t *testing.T) {
	dir := t.TempDir()
	ro := keyFileOptions()
	ro.ReadOnly = true

	_, err := vault.Open(filepath.Join(dir, "none"), ro)
	require.ErrorIs(t, err, fs.ErrNotExist, "ReadOnly must not create a vault")
	require.NoDirExists(t, filepath.Join(dir, "none"))

	w := open(t, dir, keyFileOptions())
	require.NoError(t, w.PutCredential(testCred(1, "example.com")))

	start := time.Now()
	_, err = vault.Open(dir, keyFileOptions())
	require.ErrorIs(t, err, vault.ErrInUse, "second writer")
	require.EqualError(t, err, "vault: opening "+dir+": vault is in use by another process")
	require.Less(t, time.Since(start), 5*time.Second, "Open must not hang")
	_, err = vault.Open(dir, ro)
	require.ErrorIs(t, err, vault.ErrInUse, "reader while a writer runs")
	require.NoError(t, w.Close())

	r1 := open(t, dir, ro)
	r2 := open(t, dir, ro)
	for _, r := range []*vault.Vault{r1, r2} {
		c, err := r.Credential(testCred(1, "").ID)
		require.NoError(t, err)
		require.Equal(t, "example.com", c.RPID)
		require.ErrorIs(t, r.PutCredential(testCred(2, "example.com")), vault.ErrReadOnly)
		require.ErrorIs(t, r.SetDevice(&store.Device{}), vault.ErrReadOnly)
		require.ErrorIs(t, r.DeleteCredential(testCred(1, "").ID), vault.ErrReadOnly)
		_, err = r.IncrementCounter([]byte("c"))
		require.ErrorIs(t, err, vault.ErrReadOnly)
		require.ErrorIs(t, r.Reset(), vault.ErrReadOnly)
	}
	_, err = vault.Open(dir, keyFileOptions())
	require.ErrorIs(t, err, vault.ErrInUse, "writer while readers run")
	require.NoError(t, r1.Close())
	require.NoError(t, r2.Close())
	open(t, dir, keyFileOptions())
}

func TestConcurrentCreate(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "v")
	const n = 4
	type result struct {
		v   *vault.Vault
		err error
	}
	results := make(chan result, n)
	for range n {
		go func() {
			v, err := vault.Open(dir, vault.Options{LockTimeout: 10 * time.Millisecond})
			results <- result{v, err}
		}()
	}
	var opened []*vault.Vault
	for range n {
		r := <-results
		if r.err != nil {
			require.ErrorIs(t, r.err, vault.ErrInUse)
			continue
		}
		opened = append(opened, r.v)
	}
	require.Len(t, opened, 1, "exactly one opener may win")
	require.NoError(t, opened[0].PutCredential(testCred(1, "example.com")))
	require.NoError(t, opened[0].Close())
	v := open(t, dir, keyFileOptions())
	_, err := v.Credential(testCred(1, "").ID)
	require.NoError(t, err)
}

func TestNoPlaintextInFile(t *testing.T) {
	dir := t.TempDir()
	v := open(t, dir, keyFileOptions())
	secrets := map[string][]byte{
		"user name":       []byte("alice.recognisable@example.com"),
		"display name":    []byte("Alice Recognisable"),
		"user ID":         []byte("USERID-7f3a9c1e"),
		"RP ID":           []byte("recognisable-rp.example"),
		"RP name":         []byte("Recognisable RP"),
		"credential ID":   []byte("CREDID-0123456789abcdef"),
		"credential key":  []byte("DEVICE-CREDENTIAL-KEY-32-BYTES!!"),
		"attestation key": []byte("ATTESTATION-PRIVATE-KEY"),
		"counter name":    []byte("COUNTER-NAME-5b1d"),
	}
	require.NoError(t, v.SetDevice(&store.Device{
		CredentialKey:  secrets["credential key"],
		AttestationKey: secrets["attestation key"],
	}))
	require.NoError(t, v.PutCredential(&store.Credential{
		ID:     secrets["credential ID"],
		RPID:   string(secrets["RP ID"]),
		RPName: string(secrets["RP name"]),
		User: ctap2.UserEntity{
			ID:          secrets["user ID"],
			Name:        string(secrets["user name"]),
			DisplayName: string(secrets["display name"]),
		},
		Alg: ctap2.AlgES256,
	}))
	_, err := v.IncrementCounter(secrets["counter name"])
	require.NoError(t, err)
	require.NoError(t, v.Close())

	raw, err := os.ReadFile(filepath.Join(dir, vault.DBFile))
	require.NoError(t, err)
	key, err := os.ReadFile(filepath.Join(dir, vault.KeyFile))
	require.NoError(t, err)
	secrets["key file"] = key
	for what, s := range secrets {
		require.False(t, bytes.Contains(raw, s), "%s %q is in the vault file", what, s)
		h := sha256.Sum256(s)
		require.False(t, bytes.Contains(raw, h[:]), "SHA-256 of %s is in the vault file", what)
	}
}

func TestCounterSaturates(t *testing.T) {
	dir := t.TempDir()
	v := open(t, dir, keyFileOptions())
	name := []byte("c")
	require.NoError(t, v.SetCounterForTest(name, math.MaxUint32-1))
	for range 3 {
		n, err := v.IncrementCounter(name)
		require.NoError(t, err)
		require.Equal(t, uint32(math.MaxUint32), n)
	}
	require.NoError(t, v.Close())
	v = open(t, dir, keyFileOptions())
	n, err := v.IncrementCounter(name)
	require.NoError(t, err)
	require.Equal(t, uint32(math.MaxUint32), n)
}

func TestResetKeepsKey(t *testing.T) {
	dir := t.TempDir()
	v := open(t, dir, passphraseOptions("pw"))
	require.NoError(t, v.SetDevice(&store.Device{CredentialKey: make([]byte, 32)}))
	require.NoError(t, v.PutCredential(testCred(1, "example.com")))
	require.NoError(t, v.Reset())
	require.NoError(t, v.Close())

	_, err := vault.Open(dir, passphraseOptions("other"))
	require.ErrorIs(t, err, vault.ErrWrongKey)
	v = open(t, dir, passphraseOptions("pw"))
	_, err = v.Device()
	require.ErrorIs(t, err, store.ErrNotFound)
	n, err := v.CountCredentials()
	require.NoError(t, err)
	require.Zero(t, n)
}

func TestUseAfterClose(t *testing.T) {
	v := open(t, t.TempDir(), keyFileOptions())
	require.NoError(t, v.Close())
	require.NoError(t, v.Close(), "a second Close is harmless")
	_, err := v.Credential([]byte("x"))
	require.Error(t, err)
	require.Error(t, v.PutCredential(testCred(1, "example.com")))
}

func TestNilArguments(t *testing.T) {
	v := open(t, t.TempDir(), keyFileOptions())
	require.Error(t, v.PutCredential(nil))
	require.Error(t, v.SetDevice(nil))
}

func TestRandFailure(t *testing.T) {
	_, err := vault.Open(t.TempDir(), vault.Options{Rand: bytes.NewReader(nil)})
	require.ErrorContains(t, err, "randomness")
}

func TestPassphraseFromEnv(t *testing.T) {
	t.Setenv(vault.PassphraseEnv, "")
	require.Nil(t, vault.PassphraseFromEnv())
	t.Setenv(vault.PassphraseEnv, "hunter2")
	require.Equal(t, []byte("hunter2"), vault.PassphraseFromEnv())
	require.NoError(t, os.Unsetenv(vault.PassphraseEnv))
	require.Nil(t, vault.PassphraseFromEnv())
}

func TestArgon2Params(t *testing.T) {
	for _, p := range []vault.Argon2Params{
		{Time: 0, MemoryKiB: 64, Threads: 1},
		{Time: 1, MemoryKiB: 7, Threads: 1},
		{Time: 1, MemoryKiB: 64, Threads: 0},
		{Time: 1, MemoryKiB: 5 << 20, Threads: 1},
		{Time: 1000, MemoryKiB: 64, Threads: 1},
	} {
		dir := t.TempDir()
		_, err := vault.Open(dir, vault.Options{Passphrase: []byte("pw"), Argon2: &p})
		require.ErrorContains(t, err, "argon2id", "%+v", p)
		require.NoFileExists(t, filepath.Join(dir, vault.DBFile))
	}
}

// TestDefaultArgon2 creates a vault with the default argon2id cost, checks
// that the header records it, and reports how long an Open takes.
func TestDefaultArgon2(t *testing.T) {
	if testing.Short() {
		t.Skip("default argon2id cost is slow by design")
	}
	dir := t.TempDir()
	opts := vault.Options{Passphrase: []byte("pw")}
	v := open(t, dir, opts)
	require.NoError(t, v.Close())
	kind, p, err := vault.KDFForTest(dir)
	require.NoError(t, err)
	require.Equal(t, "argon2id", kind)
	require.Equal(t, vault.Argon2Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4}, p)

	start := time.Now()
	v = open(t, dir, opts)
	t.Logf("Open with default argon2id %+v took %v", p, time.Since(start))
	require.NoError(t, v.Close())

	// The cost chosen at creation stays with the vault.
	dir = t.TempDir()
	v = open(t, dir, passphraseOptions("pw"))
	require.NoError(t, v.Close())
	_, p, err = vault.KDFForTest(dir)
	require.NoError(t, err)
	require.Equal(t, *fastArgon2(), p)
	v = open(t, dir, vault.Options{Passphrase: []byte("pw")})
	require.NoError(t, v.Close())
}

func BenchmarkVaultPutCredential(b *testing.B) {
	v := open(b, b.TempDir(), keyFileOptions())
	c := testCred(0, "bench.example")
	for i := 0; b.Loop(); i++ {
		c.ID = fmt.Appendf(c.ID[:0], "credential-%d", i)
		c.User.ID = fmt.Appendf(c.User.ID[:0], "user-%d", i%16) // replaces
		if err := v.PutCredential(c); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVaultIncrementCounter(b *testing.B) {
	v := open(b, b.TempDir(), keyFileOptions())
	for b.Loop() {
		if _, err := v.IncrementCounter([]byte("bench")); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVaultCredential(b *testing.B) {
	v := open(b, b.TempDir(), keyFileOptions())
	for i := range 100 {
		if err := v.PutCredential(testCred(i, "bench.example")); err != nil {
			b.Fatal(err)
		}
	}
	id := testCred(50, "").ID
	for b.Loop() {
		if _, err := v.Credential(id); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkVaultOpenDefaultArgon2(b *testing.B) {
	dir := b.TempDir()
	opts := vault.Options{Passphrase: []byte("pw")}
	v, err := vault.Open(dir, opts)
	if err != nil {
		b.Fatal(err)
	}
	if err := v.Close(); err != nil {
		b.Fatal(err)
	}
	for b.Loop() {
		v, err := vault.Open(dir, opts)
		if err != nil {
			b.Fatal(err)
		}
		if err := v.Close(); err != nil {
			b.Fatal(err)
		}
	}
}

package vault_test

import (
	"bytes"
	"encoding/binary"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/authenticator/store/vault"
)

// populated returns a closed key-file vault holding a device, a few
// credentials and counters, with some history (replacements, a delete) so
// that the file has free pages too.
func populated(t *testing.T) (dir string) {
	t.Helper()
	dir = t.TempDir()
	v := open(t, dir, keyFileOptions())
	require.NoError(t, v.SetDevice(&store.Device{CredentialKey: bytes.Repeat([]byte{1}, 32)}))
	for i := range 40 {
		c := testCred(i, []string{"a.example", "b.example", "c.example"}[i%3])
		c.User.DisplayName = string(bytes.Repeat([]byte{'x'}, 200)) // fill pages
		require.NoError(t, v.PutCredential(c))
		_, err := v.IncrementCounter(c.ID)
		require.NoError(t, err)
	}
	require.NoError(t, v.DeleteCredential(testCred(7, "").ID))
	c := testCred(41, "a.example")
	c.User.ID = testCred(3, "").User.ID // replaces credential 3
	require.NoError(t, v.PutCredential(c))
	require.NoError(t, v.Close())
	return dir
}

// requireRejected opens dir, which must fail with ErrCorrupt naming the
// file, and must leave the file as it was.
func requireRejected(t *testing.T, dir string, msgAndArgs ...any) {
	t.Helper()
	path := filepath.Join(dir, vault.DBFile)
	before := fileHash(t, path)
	v, err := vault.Open(dir, keyFileOptions())
	if err == nil {
		_ = v.Close()
	}
	require.ErrorIs(t, err, vault.ErrCorrupt, msgAndArgs...)
	require.ErrorContains(t, err, path, msgAndArgs...)
	require.Equal(t, before, fileHash(t, path), msgAndArgs...)
}

// editDB changes the database directly through bbolt, as damage or an
// attacker could.
func editDB(t *testing.T, dir string, fn func(tx *bbolt.Tx) error) {
	t.Helper()
	db, err := bbolt.Open(filepath.Join(dir, vault.DBFile), 0o600, nil)
	require.NoError(t, err)
	require.NoError(t, db.Update(fn))
	require.NoError(t, db.Close())
}

func TestCorruptWholeFile(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 2))
	for name, damage := range map[string]func([]byte) []byte{
		"Garbage": func(b []byte) []byte {
			for i := range b {
				b[i] = byte(rng.Uint32())
			}
			return b
		},
		"Text":  func([]byte) []byte { return []byte("this is not a vault\n") },
		"Zeros": func(b []byte) []byte { return make([]byte, len(b)) },
		"MetaPagesZeroed": func(b []byte) []byte {
			clear(b[:2*4096])
			return b
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := populated(t)
			path := filepath.Join(dir, vault.DBFile)
			raw, err := os.ReadFile(path)
			require.NoError(t, err)
			require.NoError(t, os.WriteFile(path, damage(raw), 0o600))
			requireRejected(t, dir)
		})
	}
}

func TestCorruptTruncated(t *testing.T) {
	dir := populated(t)
	path := filepath.Join(dir, vault.DBFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, size := range []int{1, 100, 4096, 2 * 4096, 3 * 4096, len(raw) / 2} {
		require.NoError(t, os.WriteFile(path, raw[:size], 0o600))
		requireRejected(t, dir, "truncated to %d of %d bytes", size, len(raw))
	}
}

// TestCorruptByteFlips damages the file in many places, one at a time. Open
// must never panic or write; damage it notices is ErrCorrupt (or, where
// the format version was hit, an unsupported version). Damage to pages
// that nothing references goes unnoticed, and bbolt falls back to the
// older meta page when the newer one is damaged, which is allowed.
func TestCorruptByteFlips(t *testing.T) {
	dir := populated(t)
	path := filepath.Join(dir, vault.DBFile)
	raw, err := os.ReadFile(path)
	require.NoError(t, err)
	// Damage the pages in use, below the high-water mark, at about 600
	// places; past it, the file is slack that bbolt never reads.
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true})
	require.NoError(t, err)
	var used int
	require.NoError(t, db.View(func(tx *bbolt.Tx) error { used = int(tx.Size()); return nil }))
	require.NoError(t, db.Close())
	places := 600
	if testing.Short() {
		places = 100
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var rejected, accepted int
	for off := rng.IntN(7); off < used; off += 1 + rng.IntN(2*used/places) {
		damaged := bytes.Clone(raw)
		n := 1 + rng.IntN(16)
		for i := off; i < off+n && i < len(damaged); i++ {
			damaged[i] ^= byte(1 + rng.IntN(255))
		}
		require.NoError(t, os.WriteFile(path, damaged, 0o600))
		before := fileHash(t, path)
		v, err := vault.Open(dir, keyFileOptions())
		if err != nil {
			rejected++
			if !bytes.Contains([]byte(err.Error()), []byte("format version")) {
				require.ErrorIs(t, err, vault.ErrCorrupt, "offset %d", off)
			}
		} else {
			accepted++
			// Whatever Open accepted must read without trouble.
			_, err := v.Credentials()
			require.NoError(t, err, "offset %d", off)
			_, err = v.Device()
			require.NoError(t, err, "offset %d", off)
			require.NoError(t, v.Close())
		}
		require.Equal(t, before, fileHash(t, path), "offset %d: Open changed the file", off)
	}
	t.Logf("%d damaged copies rejected, %d accepted", rejected, accepted)
	require.NotZero(t, rejected)
}

func TestCorruptRecord(t *testing.T) {
	flip := func(b *bbolt.Bucket) error {
		k, v := b.Cursor().First()
		v = bytes.Clone(v)
		v[len(v)-1] ^= 1
		return b.Put(k, v)
	}
	for name, edit := range map[string]func(tx *bbolt.Tx) error{
		"FlippedCredential": func(tx *bbolt.Tx) error { return flip(tx.Bucket([]byte("creds"))) },
		"FlippedIndex":      func(tx *bbolt.Tx) error { return flip(tx.Bucket([]byte("rp"))) },
		"FlippedCounter":    func(tx *bbolt.Tx) error { return flip(tx.Bucket([]byte("counters"))) },
		"FlippedDevice":     func(tx *bbolt.Tx) error { return flip(tx.Bucket([]byte("device"))) },
		"SwappedCredentials": func(tx *bbolt.Tx) error {
			// Records are bound to their keys: moving one fails.
			b := tx.Bucket([]byte("creds"))
			c := b.Cursor()
			k1, v1 := c.First()
			k2, v2 := c.Next()
			k1, v1, k2, v2 = bytes.Clone(k1), bytes.Clone(v1), bytes.Clone(k2), bytes.Clone(v2)
			if err := b.Put(k1, v2); err != nil {
				return err
			}
			return b.Put(k2, v1)
		},
		"CredentialMovedToCounters": func(tx *bbolt.Tx) error {
			k, v := tx.Bucket([]byte("creds")).Cursor().First()
			return tx.Bucket([]byte("counters")).Put(bytes.Clone(k), bytes.Clone(v))
		},
		"DeletedCredential": func(tx *bbolt.Tx) error {
			k, _ := tx.Bucket([]byte("creds")).Cursor().First()
			return tx.Bucket([]byte("creds")).Delete(bytes.Clone(k))
		},
		"DeletedIndexEntry": func(tx *bbolt.Tx) error {
			k, _ := tx.Bucket([]byte("rp")).Cursor().First()
			return tx.Bucket([]byte("rp")).Delete(bytes.Clone(k))
		},
		"MissingBucket":  func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("counters")) },
		"NoMeta":         func(tx *bbolt.Tx) error { return tx.DeleteBucket([]byte("meta")) },
		"HeaderChecksum": func(tx *bbolt.Tx) error { return flip(tx.Bucket([]byte("meta"))) },
		"WrappedKeyFlip": func(tx *bbolt.Tx) error {
			m := tx.Bucket([]byte("meta"))
			v := bytes.Clone(m.Get([]byte("key")))
			v[20] ^= 1
			return m.Put([]byte("key"), v)
		},
		"NestedBucket": func(tx *bbolt.Tx) error {
			_, err := tx.Bucket([]byte("creds")).CreateBucket([]byte("nested"))
			return err
		},
	} {
		t.Run(name, func(t *testing.T) {
			dir := populated(t)
			editDB(t, dir, edit)
			requireRejected(t, dir)
		})
	}
}

func TestFutureFormatVersion(t *testing.T) {
	dir := populated(t)
	editDB(t, dir, func(tx *bbolt.Tx) error {
		return tx.Bucket([]byte("meta")).Put([]byte("version"), binary.BigEndian.AppendUint32(nil, 2))
	})
	path := filepath.Join(dir, vault.DBFile)
	before := fileHash(t, path)
	_, err := vault.Open(dir, keyFileOptions())
	require.ErrorContains(t, err, path+" has format version 2")
	require.Equal(t, before, fileHash(t, path))
}

// TestCorruptRecordWhileOpen damages a record under an open vault: the
// methods report ErrCorrupt naming the file.
func TestCorruptRecordWhileOpen(t *testing.T) {
	dir := t.TempDir()
	v := open(t, dir, keyFileOptions())
	c := testCred(1, "example.com")
	require.NoError(t, v.PutCredential(c))
	require.NoError(t, v.PutRawForTest(c.ID, []byte("not a sealed record at all")))

	path := filepath.Join(dir, vault.DBFile)
	_, err := v.Credential(c.ID)
	require.ErrorIs(t, err, vault.ErrCorrupt)
	require.ErrorContains(t, err, path)
	_, err = v.CredentialsForRP("example.com")
	require.ErrorIs(t, err, vault.ErrCorrupt)
	_, err = v.Credentials()
	require.ErrorIs(t, err, vault.ErrCorrupt)
	require.ErrorIs(t, v.PutCredential(testCred(2, "example.com")), vault.ErrCorrupt)
	require.ErrorIs(t, v.DeleteCredential(c.ID), vault.ErrCorrupt)
	require.NoError(t, v.Close())

	requireRejected(t, dir)
}

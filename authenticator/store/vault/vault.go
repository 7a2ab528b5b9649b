// Package vault is the persistent, encrypted credential store: a directory
// holding a bbolt database, vault.db, whose every record is sealed with
// AES-256-GCM, and, unless a passphrase protects the vault, the key file
// vault.key that unlocks it.
//
// # Keys
//
// When a vault is created it gets a random 32-byte data key. Two subkeys are
// derived from it with HKDF-SHA256: one seals record values with AES-256-GCM
// (a random nonce per write; the bucket name and record key are the
// additional data, so a sealed value cannot be moved to another record), the
// other keys HMAC-SHA256, which turns credential IDs, RP IDs and counter
// names into bbolt keys. Records are found without decrypting the others,
// and the file does not reveal which relying parties it holds credentials
// for.
//
// The data key is stored wrapped (AES-256-GCM) under a key-encryption key,
// which is either argon2id of the passphrase ([Options.Passphrase]) or
// HKDF-SHA256 of the 32 random bytes in vault.key, or, with
// [Options.Sealer], HKDF-SHA256 of a random secret sealed by a TPM (and of
// the argon2id key, when there is a passphrase too). The meta bucket records
// the format version, the KDF and its parameters, the salt and the wrapped
// data key, so that parameters can change in later versions.
//
// # Safety
//
// Open never overwrites or repairs an existing vault: only a missing or
// empty vault.db is initialised (built under a temporary name and then moved
// into place, so a crash cannot leave half a vault). An existing vault is
// first opened read-only and checked completely before it is opened for
// writing: its page structure (bbolt trusts its pages, so a damaged file
// could otherwise send it into an endless loop or a huge allocation), then
// every record (decrypted, decoded, cross-checked with the RP index), then
// bbolt's own consistency check. A damaged file is reported with
// [ErrCorrupt] and left as it is; panics and memory faults inside bbolt are
// turned into that error rather than crashing the process.
//
// # Durability and concurrency
//
// Every method that changes something runs as one bbolt transaction, which
// is on disk (fsynced) when the method returns. A Vault is safe for
// concurrent use. One process at a time may open a vault for writing; a
// second opener gets [ErrInUse] after [Options.LockTimeout]. Several
// [Options.ReadOnly] openers may share a vault that nobody writes.
package vault

import (
	"crypto/cipher"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/fxamacker/cbor/v2"
	"go.etcd.io/bbolt"
)

// Names of the files in a vault directory.
const (
	DBFile  = "vault.db"
	KeyFile = "vault.key"
)

// DefaultLockTimeout is how long Open waits for another process to release
// a vault when [Options.LockTimeout] is zero.
const DefaultLockTimeout = time.Second

// Errors returned by Open and by the methods of Vault, wrapped with the
// vault's path; test for them with errors.Is.
var (
	// ErrWrongKey means the passphrase or key file does not unlock the
	// vault.
	ErrWrongKey = errors.New("wrong passphrase or key file")
	// ErrPassphraseRequired means the vault is protected by a passphrase
	// and none was given.
	ErrPassphraseRequired = errors.New("vault needs a passphrase")
	// ErrCorrupt means the vault file is damaged: bbolt rejects it, its
	// page structure is unsound, its header is malformed, or a record
	// fails to decrypt or to match its index. The file is left as it is.
	ErrCorrupt = errors.New("vault file is damaged")
	// ErrInUse means another process has the vault open.
	ErrInUse = errors.New("vault is in use by another process")
	// ErrReadOnly is returned by the methods that change a vault opened
	// with Options.ReadOnly.
	ErrReadOnly = errors.New("vault is open read-only")
)

// Options tune Open. The zero value opens or creates a vault protected by
// its key file.
type Options struct {
	// Passphrase protects the vault instead of the key file. It must not
	// be empty; nil means use (or create) vault.key. See PassphraseFromEnv.
	Passphrase []byte
	// Rand supplies keys, salts and nonces; nil means crypto/rand. It must
	// be a cryptographically secure source.
	Rand io.Reader
	// ReadOnly opens an existing vault without taking the write lock, so
	// that several readers (such as `softkey creds list`) may share it.
	// A writer still excludes readers: bbolt's file lock is shared for
	// readers and exclusive for the writer.
	ReadOnly bool
	// LockTimeout bounds the wait for another process to release the
	// vault; zero means DefaultLockTimeout.
	LockTimeout time.Duration
	// Argon2 sets the argon2id cost for a new passphrase-protected vault;
	// nil means the default (see Argon2Params). An existing vault uses the
	// parameters recorded in its header.
	Argon2 *Argon2Params
	// Sealer, when set, locks a new vault with a random secret that it
	// seals (a TPM: softkey --keystore tpm), kept in vault.key.sealed
	// instead of vault.key, so that a copy of the vault directory opens on
	// no other machine. With Passphrase as well, both are needed. A vault
	// locked this way opens only with a Sealer that can unseal its
	// secret; a vault locked otherwise does not open with a Sealer.
	Sealer KeySealer
}

// Vault is a credential store kept in an encrypted bbolt file. It
// implements the authenticator's Store interface.
type Vault struct {
	dir      string
	path     string // dir/vault.db, named in errors about the file
	db       *bbolt.DB
	readOnly bool
	rand     io.Reader

	records cipher.AEAD // seals record values
	index   []byte      // HMAC-SHA256 key for record keys

	enc cbor.EncMode
	dec cbor.DecMode
}

// Close closes the vault's database. The Vault must not be used afterwards.
func (v *Vault) Close() error {
	if err := v.db.Close(); err != nil {
		return fmt.Errorf("vault: closing %s: %w", v.dir, err)
	}
	return nil
}

// corruptError reports damage found in the vault file at path.
func corruptError(path, what string, cause error) error {
	if cause == nil {
		return fmt.Errorf("vault: %s: %w: %s", path, ErrCorrupt, what)
	}
	return fmt.Errorf("vault: %s: %w: %s: %w", path, ErrCorrupt, what, cause)
}

package vault

import (
	"bytes"
	"crypto/aes"
	"crypto/cipher"
	"crypto/hkdf"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/crypto/argon2"
)

// PassphraseEnv names the environment variable PassphraseFromEnv reads.
const PassphraseEnv = "SOFTKEY_VAULT_PASSPHRASE"

// PassphraseFromEnv returns the passphrase in $SOFTKEY_VAULT_PASSPHRASE, or
// nil when the variable is unset or empty (nil selects the key file in
// Options.Passphrase).
func PassphraseFromEnv() []byte {
	s := os.Getenv(PassphraseEnv)
	if s == "" {
		return nil
	}
	return []byte(s)
}

const (
	keySize   = 32 // data key, key-encryption key, key file, subkeys
	saltSize  = 16
	nonceSize = 12 // AES-GCM standard nonce
)

// Argon2Params is the cost of argon2id (RFC 9106) when it turns a
// passphrase into the key-encryption key.
//
// The default is RFC 9106 §4's second recommended option, for settings
// where 2 GiB per derivation is too much: t=3 passes over m=64 MiB with p=4
// lanes. The key is derived once per Open, so a fraction of a second is
// affordable, while each guess costs an attacker 64 MiB of memory traffic
// three times over; 4 lanes let machines with four or more cores finish
// sooner without making a guess cheaper. Tests use far lower settings.
type Argon2Params struct {
	Time      uint32 // passes over memory, at least 1
	MemoryKiB uint32 // at least 8 KiB per lane
	Threads   uint8  // lanes, at least 1
}

func defaultArgon2() Argon2Params {
	return Argon2Params{Time: 3, MemoryKiB: 64 << 10, Threads: 4}
}

// Bounds on argon2id parameters read from a vault header, so that a damaged
// or hostile header cannot make Open spin for hours or exhaust memory.
const (
	maxArgon2Time      = 64
	maxArgon2MemoryKiB = 4 << 20 // 4 GiB
)

func (p Argon2Params) validate() error {
	switch {
	case p.Time < 1 || p.Time > maxArgon2Time:
		return fmt.Errorf("argon2id time %d out of range [1, %d]", p.Time, maxArgon2Time)
	case p.Threads < 1:
		return errors.New("argon2id needs at least one thread")
	case p.MemoryKiB < 8*uint32(p.Threads) || p.MemoryKiB > maxArgon2MemoryKiB:
		return fmt.Errorf("argon2id memory %d KiB out of range [%d, %d]", p.MemoryKiB, 8*uint32(p.Threads), maxArgon2MemoryKiB)
	}
	return nil
}

// KDF kinds recorded in the vault header.
const (
	kdfArgon2id = "argon2id"            // passphrase
	kdfKeyFile  = "keyfile-hkdf-sha256" // vault.key
)

// kdfParams says how the key-encryption key is made. It is stored as CBOR
// under metaKDF.
type kdfParams struct {
	Kind      string `cbor:"1,keyasint"`
	Salt      []byte `cbor:"2,keyasint"`
	Time      uint32 `cbor:"3,keyasint,omitempty"`
	MemoryKiB uint32 `cbor:"4,keyasint,omitempty"`
	Threads   uint8  `cbor:"5,keyasint,omitempty"`
}

func (k kdfParams) argon2() Argon2Params {
	return Argon2Params{Time: k.Time, MemoryKiB: k.MemoryKiB, Threads: k.Threads}
}

func (k kdfParams) validate() error {
	if len(k.Salt) != saltSize {
		return fmt.Errorf("salt is %d bytes, want %d", len(k.Salt), saltSize)
	}
	switch k.Kind {
	case kdfArgon2id, kdfArgon2idAndSealed:
		return k.argon2().validate()
	case kdfKeyFile, kdfSealed:
		if k.Time != 0 || k.MemoryKiB != 0 || k.Threads != 0 {
			return fmt.Errorf("%s KDF with argon2id parameters", k.Kind)
		}
		return nil
	default:
		return fmt.Errorf("unknown KDF %q", k.Kind)
	}
}

// header is the contents of the meta bucket.
type header struct {
	version []byte // metaVersion: formatVersion, big-endian uint32
	kdfRaw  []byte // metaKDF: CBOR kdfParams
	kdf     kdfParams
	wrapped []byte // metaKey: nonce | AES-GCM(KEK, data key)
}

func (h header) equal(o header) bool {
	return bytes.Equal(h.version, o.version) && bytes.Equal(h.kdfRaw, o.kdfRaw) && bytes.Equal(h.wrapped, o.wrapped)
}

// sum is stored under metaSum. It tells a damaged header (ErrCorrupt) from a
// wrong passphrase (ErrWrongKey): without it, any damage to the KDF record
// or the wrapped key would look like a wrong passphrase.
func (h header) sum() []byte {
	d := sha256.New()
	d.Write([]byte("softkey vault header\x00"))
	for _, part := range [][]byte{h.version, h.kdfRaw, h.wrapped} {
		var n [4]byte
		binary.BigEndian.PutUint32(n[:], uint32(len(part)))
		d.Write(n[:])
		d.Write(part)
	}
	return d.Sum(nil)
}

// wrapAD binds the wrapped data key to the header that describes it.
func (h header) wrapAD() []byte {
	ad := []byte("softkey vault data key\x00")
	ad = append(ad, h.version...)
	return append(ad, h.kdfRaw...)
}

// keyFileKEK derives the key-encryption key from the contents of vault.key
// (RFC 5869; the salt is the header's).
func keyFileKEK(secret, salt []byte) ([]byte, error) {
	return hkdf.Key(sha256.New, secret, salt, "softkey vault v1 key-encryption key", keySize)
}

func passphraseKEK(passphrase, salt []byte, p Argon2Params) []byte {
	return argon2.IDKey(passphrase, salt, p.Time, p.MemoryKiB, p.Threads, keySize)
}

// seal encrypts plaintext with aead under a random nonce, returning
// nonce | ciphertext.
func seal(aead cipher.AEAD, rand io.Reader, plaintext, ad []byte) ([]byte, error) {
	out := make([]byte, nonceSize, nonceSize+len(plaintext)+aead.Overhead())
	if _, err := io.ReadFull(rand, out); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	return aead.Seal(out, out, plaintext, ad), nil
}

// unseal reverses seal.
func unseal(aead cipher.AEAD, sealed, ad []byte) ([]byte, error) {
	if len(sealed) < nonceSize+aead.Overhead() {
		return nil, fmt.Errorf("sealed value is %d bytes, too short", len(sealed))
	}
	return aead.Open(nil, sealed[:nonceSize], sealed[nonceSize:], ad)
}

func newGCM(key []byte) (cipher.AEAD, error) {
	block, err := aes.NewCipher(key)
	if err != nil {
		return nil, err
	}
	return cipher.NewGCM(block)
}

// subkeys derives the record-sealing AEAD and the index MAC key from the
// data key, so that neither use of the data key can interfere with the
// other.
func subkeys(dataKey []byte) (cipher.AEAD, []byte, error) {
	recordKey, err := hkdf.Key(sha256.New, dataKey, nil, "softkey vault v1 records", keySize)
	if err != nil {
		return nil, nil, err
	}
	defer clear(recordKey)
	indexKey, err := hkdf.Key(sha256.New, dataKey, nil, "softkey vault v1 index", keySize)
	if err != nil {
		return nil, nil, err
	}
	aead, err := newGCM(recordKey)
	if err != nil {
		return nil, nil, err
	}
	return aead, indexKey, nil
}

// readKeyFile returns the 32 bytes of the key file at path, refusing a file
// that other users could read or write.
func readKeyFile(path string) ([]byte, error) {
	fi, err := os.Stat(path)
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("key file %s is not a regular file", path)
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	if fi, err = f.Stat(); err != nil {
		return nil, err
	}
	if perm := fi.Mode().Perm(); perm&0o077 != 0 {
		return nil, fmt.Errorf("key file %s has permissions %04o, so other users can reach it; "+
			"it must be readable by its owner only (chmod 600 %s)", path, perm, path)
	}
	buf := make([]byte, keySize+1)
	n, err := io.ReadFull(f, buf)
	switch {
	case err == nil:
		return nil, fmt.Errorf("key file %s is longer than %d bytes", path, keySize)
	case errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, io.EOF):
		if n != keySize {
			return nil, fmt.Errorf("key file %s is %d bytes, want %d", path, n, keySize)
		}
		return buf[:keySize], nil
	default:
		return nil, err
	}
}

// createKeyFile writes a new random key file at path with mode 0600 and
// returns its contents. If a key file appeared meanwhile, that one is read
// instead.
func createKeyFile(path string, rand io.Reader) ([]byte, error) {
	secret := make([]byte, keySize)
	if _, err := io.ReadFull(rand, secret); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	switch err := writeNewFile(path, secret); {
	case errors.Is(err, fs.ErrExist):
		clear(secret)
		return readKeyFile(path)
	case err != nil:
		clear(secret)
		return nil, err
	}
	return secret, nil
}

// writeNewFile creates path holding data, mode 0600, all at once: written
// under a temporary name and linked into place (on a file system without
// hard links, created exclusively), so that a concurrent reader never sees
// half a file. An existing file is left alone, and the error is then
// fs.ErrExist.
func writeNewFile(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, filepath.Base(path)+".tmp-*") // mode 0600
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	_, err = tmp.Write(data)
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	if err := os.Link(tmp.Name(), path); errors.Is(err, fs.ErrExist) {
		return err
	} else if err != nil {
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return err
		}
		_, err = f.Write(data)
		if err == nil {
			err = f.Sync()
		}
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			_ = os.Remove(path)
			return err
		}
	}
	return syncDir(dir)
}

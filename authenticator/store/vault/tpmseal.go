package vault

import (
	"crypto/hkdf"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
)

// KeySealer seals a small secret to one machine, so that only that machine
// can unseal it: tpmkeys.Backend does it with the TPM (SealSecret,
// UnsealSecret). A vault whose key-encryption key comes from a sealed
// secret is useless when copied, key files and all, to another machine,
// and after the TPM is cleared.
type KeySealer interface {
	SealSecret(secret []byte) ([]byte, error)
	UnsealSecret(sealed []byte) ([]byte, error)
}

// SealedKeyFile holds the sealed secret of a vault locked by a KeySealer.
// It is not secret by itself (only the sealer can unseal it), but is
// written with mode 0600 like vault.key.
const SealedKeyFile = "vault.key.sealed"

// KDF kinds of vaults locked by a KeySealer: the sealed secret alone, or
// the sealed secret and a passphrase, both of which are then needed.
const (
	kdfSealed            = "sealed-hkdf-sha256"
	kdfArgon2idAndSealed = "argon2id+sealed-hkdf-sha256"
)

// maxSealedKeyFile bounds what is read from the sealed key file; a TPM's
// sealed blob is a few hundred bytes.
const maxSealedKeyFile = 4096

// sealedSecret returns the 32-byte secret sealed in the file at path.
// When the file is missing and create is set, it makes a new random secret,
// seals it, and writes the file (never replacing one that appeared
// meanwhile).
func sealedSecret(path string, sealer KeySealer, rand io.Reader, create bool) ([]byte, error) {
	sealed, err := readSealedKeyFile(path)
	if errors.Is(err, fs.ErrNotExist) && create {
		return createSealedKeyFile(path, sealer, rand)
	}
	if err != nil {
		return nil, err
	}
	secret, err := sealer.UnsealSecret(sealed)
	if err != nil {
		return nil, fmt.Errorf("unsealing %s: %w: it opens only on the machine, and the TPM, that sealed it", path, err)
	}
	if len(secret) != keySize {
		clear(secret)
		return nil, fmt.Errorf("unsealing %s: secret is not %d bytes", path, keySize)
	}
	return secret, nil
}

func readSealedKeyFile(path string) ([]byte, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, err
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("sealed key file %s is not a regular file", path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxSealedKeyFile+1))
	if err != nil {
		return nil, err
	}
	if len(data) == 0 || len(data) > maxSealedKeyFile {
		return nil, fmt.Errorf("sealed key file %s is %d bytes, want 1 to %d", path, len(data), maxSealedKeyFile)
	}
	return data, nil
}

// createSealedKeyFile seals a new random secret and writes it to path; if
// the file appeared meanwhile, its secret is used instead.
func createSealedKeyFile(path string, sealer KeySealer, rand io.Reader) ([]byte, error) {
	secret := make([]byte, keySize)
	if _, err := io.ReadFull(rand, secret); err != nil {
		return nil, fmt.Errorf("reading randomness: %w", err)
	}
	sealed, err := sealer.SealSecret(secret)
	if err != nil {
		clear(secret)
		return nil, fmt.Errorf("sealing the vault key: %w", err)
	}
	switch err := writeNewFile(path, sealed); {
	case errors.Is(err, fs.ErrExist):
		clear(secret)
		return sealedSecret(path, sealer, rand, false)
	case err != nil:
		clear(secret)
		return nil, err
	}
	return secret, nil
}

// sealedKEK derives the key-encryption key of a vault locked by a
// KeySealer from the unsealed secret and, for kdfArgon2idAndSealed, the
// argon2id key of the passphrase as well, so that both are needed
// (RFC 5869; the salt is the header's).
func sealedKEK(kdf kdfParams, secret, passphrase []byte) ([]byte, error) {
	switch kdf.Kind {
	case kdfSealed:
		return hkdf.Key(sha256.New, secret, kdf.Salt, "softkey vault v1 sealed key-encryption key", keySize)
	case kdfArgon2idAndSealed:
		if passphrase == nil {
			return nil, ErrPassphraseRequired
		}
		ikm := passphraseKEK(passphrase, kdf.Salt, kdf.argon2())
		ikm = append(ikm, secret...)
		defer clear(ikm)
		return hkdf.Key(sha256.New, ikm, kdf.Salt, "softkey vault v1 passphrase and sealed key-encryption key", keySize)
	}
	return nil, fmt.Errorf("KDF %q does not use a sealed key", kdf.Kind)
}

package tpmkeys

import (
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
)

// MaxSecretSize is the most SealSecret takes: TPM2B_SENSITIVE_DATA holds
// at most MAX_SYM_DATA bytes (TPM 2.0 Part 2 §11.1.14; 128 in the reference
// profile).
const MaxSecretSize = 128

// sealedDataAttributes are a sealed data object's: fixed to this TPM and
// parent, unsealable with an empty password, exempt from dictionary-attack
// counting. There is no sign or decrypt use, and the data comes from the
// caller (no sensitiveDataOrigin): TPM 2.0 Part 1 §27.2.3.
var sealedDataAttributes = tpm2.TPMAObject{
	FixedTPM:     true,
	FixedParent:  true,
	UserWithAuth: true,
	NoDA:         true,
}

func sealedDataTemplate() tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:             tpm2.TPMAlgKeyedHash,
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: sealedDataAttributes,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgKeyedHash, &tpm2.TPMSKeyedHashParms{
			Scheme: tpm2.TPMTKeyedHashScheme{Scheme: tpm2.TPMAlgNull},
		}),
	}
}

// SealSecret seals secret to this TPM as a sealed data object under the
// storage root key (TPM 2.0 Part 3 §12.1): the result, in the same format
// as a sealed credential key, can be unsealed by this TPM only, and by no
// TPM after a TPM clear. Use it for a small key (at most MaxSecretSize
// bytes), such as the key that encrypts a vault.
func (b *Backend) SealSecret(secret []byte) ([]byte, error) {
	if len(secret) == 0 || len(secret) > MaxSecretSize {
		return nil, fmt.Errorf("sealing a secret of %d bytes: want 1 to %d", len(secret), MaxSecretSize)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var rsp *tpm2.CreateResponse
	err := b.withSRK(func() (err error) {
		rsp, err = tpm2.Create{
			ParentHandle: b.srk,
			InSensitive: tpm2.TPM2BSensitiveCreate{Sensitive: &tpm2.TPMSSensitiveCreate{
				Data: tpm2.NewTPMUSensitiveCreate(&tpm2.TPM2BSensitiveData{Buffer: secret}),
			}},
			InPublic: tpm2.New2B(sealedDataTemplate()),
		}.Execute(b.tpm)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("sealing a secret to the TPM: %w", classify(err))
	}
	return (&blob{public: rsp.OutPublic, private: rsp.OutPrivate}).marshal(), nil
}

var errNotSealedData = errors.New("not a sealed secret")

// UnsealSecret returns the secret that SealSecret sealed. After a TPM
// clear, or on another TPM, it fails with ErrKeyUnavailable.
func (b *Backend) UnsealSecret(sealed []byte) ([]byte, error) {
	kb, err := parseBlob(sealed)
	if err != nil {
		return nil, fmt.Errorf("unsealing a secret: %w", err)
	}
	pub, err := kb.public.Contents()
	if err != nil || pub.Type != tpm2.TPMAlgKeyedHash || pub.ObjectAttributes != sealedDataAttributes {
		return nil, fmt.Errorf("unsealing a secret: %w", errNotSealedData)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var secret []byte
	err = b.withLoaded(kb, func(obj tpm2.NamedHandle) error {
		rsp, err := tpm2.Unseal{ItemHandle: tpm2.AuthHandle{
			Handle: obj.Handle, Name: obj.Name, Auth: tpm2.PasswordAuth(nil),
		}}.Execute(b.tpm)
		if err != nil {
			return classify(err)
		}
		secret = rsp.OutData.Buffer
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("unsealing a secret: %w", err)
	}
	return secret, nil
}

package main

import (
	"errors"
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/term"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/store/vault"
)

// openVault opens the vault in dir (the default directory when empty),
// creating it unless readOnly. The passphrase comes from the terminal with
// prompt, else from $SOFTKEY_VAULT_PASSPHRASE; without either the vault
// uses the key file beside it. A sealer (see vaultSealer) seals the
// vault's key to a TPM; nil leaves it to the key file or passphrase.
func openVault(dir string, prompt, readOnly bool, sealer vault.KeySealer) (*vault.Vault, string, error) {
	if dir == "" {
		d, err := defaultVaultDir()
		if err != nil {
			return nil, "", err
		}
		dir = d
	}
	pass, err := vaultPassphrase(prompt)
	if err != nil {
		return nil, dir, err
	}
	v, err := vault.Open(dir, vault.Options{Passphrase: pass, ReadOnly: readOnly, Sealer: sealer})
	if err != nil {
		return nil, dir, explainVaultError(dir, err)
	}
	return v, dir, nil
}

// vaultSealer returns what seals the vault's key for the keystore the
// flags chose: with --keystore tpm, the TPM backend, so that a copied
// vault is useless without that TPM; with --keystore soft, nil.
func vaultSealer(k keystoreFlags, backend authenticator.KeyBackend) (vault.KeySealer, error) {
	if k.keystore != keystoreTPM {
		return nil, nil
	}
	sealer, ok := backend.(vault.KeySealer)
	if !ok {
		return nil, fmt.Errorf("--keystore tpm: the key backend (%T) cannot seal the vault key", backend)
	}
	return sealer, nil
}

// vaultPassphrase returns the passphrase to open the vault with: typed at
// the terminal with prompt, else $SOFTKEY_VAULT_PASSPHRASE, else nil to
// use the key file.
func vaultPassphrase(prompt bool) ([]byte, error) {
	if !prompt {
		return vault.PassphraseFromEnv(), nil
	}
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, withHints(fmt.Errorf("reading the vault passphrase: %w", err),
			"--passphrase-prompt needs a terminal; set SOFTKEY_VAULT_PASSPHRASE instead")
	}
	defer tty.Close()
	fmt.Fprint(tty, "softkey: vault passphrase: ")
	p, err := term.ReadPassword(int(tty.Fd()))
	fmt.Fprintln(tty)
	if err != nil {
		return nil, fmt.Errorf("reading the vault passphrase: %w", err)
	}
	if len(p) == 0 {
		return nil, errors.New("reading the vault passphrase: the passphrase is empty")
	}
	return p, nil
}

// explainVaultError adds hints to the errors a user can do something about.
func explainVaultError(dir string, err error) error {
	switch {
	case errors.Is(err, vault.ErrWrongKey):
		return withHints(err,
			"the vault was created with another passphrase or key file; it has not been changed",
			"set SOFTKEY_VAULT_PASSPHRASE (or use --passphrase-prompt) with the passphrase it was created with",
			"a vault created with --keystore tpm opens only with --keystore tpm and the TPM that created it (not after a TPM clear), and a vault created without it only without it")
	case errors.Is(err, vault.ErrPassphraseRequired):
		return withHints(err,
			"set SOFTKEY_VAULT_PASSPHRASE, or use --passphrase-prompt")
	case errors.Is(err, vault.ErrInUse):
		return withHints(err,
			"another softkey process has this vault open: stop it first, or pass --vault with another directory")
	case errors.Is(err, fs.ErrNotExist):
		return withHints(err,
			"softkey run --vault "+dir+" creates a vault there")
	case errors.Is(err, vault.ErrCorrupt):
		return withHints(err,
			"the vault file is damaged; softkey never overwrites it, so a backup can still be restored")
	}
	return err
}

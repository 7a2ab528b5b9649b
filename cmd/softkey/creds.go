package main

import (
	"cmp"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/authenticator/store/vault"
)

type credsOptions struct {
	vaultDir         string
	passphrasePrompt bool
	keystore         keystoreFlags
	json             bool
}

func newCredsCommand() *cobra.Command {
	var o credsOptions
	cmd := &cobra.Command{
		Use:   "creds",
		Short: "List and delete the discoverable credentials in a vault",
		Long: `List and delete the discoverable credentials in a vault.

The vault must not be in use: stop the softkey run that serves it first.
The passphrase is taken as by softkey run: $SOFTKEY_VAULT_PASSPHRASE,
--passphrase-prompt, or else the key file beside the vault.`,
		Example: `  softkey creds list
  softkey creds list --vault /tmp/vault --json
  softkey creds delete 3f2a91`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	pf := cmd.PersistentFlags()
	pf.StringVar(&o.vaultDir, "vault", "", "vault directory (default $XDG_DATA_HOME/softkey or ~/.local/share/softkey)")
	pf.BoolVar(&o.passphrasePrompt, "passphrase-prompt", false, "read the vault passphrase from the terminal")
	addKeystoreFlags(pf, &o.keystore)

	list := &cobra.Command{
		Use:   "list",
		Short: "List the discoverable credentials",
		Long: `List the discoverable credentials in the vault, oldest first: relying party,
user name, user ID (hex), credential ID (hex, shortened in the table),
algorithm, creation time, credProtect policy (optional, id-list or
required: CTAP 2.1 §12.1 levels 1 to 3), and whether the credential holds a
credBlob and a largeBlobKey. --json prints every field in full, and
whether the credential was made with hmac-secret.`,
		Example: `  softkey creds list
  softkey creds list --json | jq -r '.[].credential_id'`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			creds, err := loadCredentials(&o)
			if err != nil {
				return err
			}
			if o.json {
				return printCredsJSON(cmd.OutOrStdout(), creds)
			}
			if len(creds) == 0 {
				fmt.Fprintln(cmd.ErrOrStderr(), "softkey: the vault holds no discoverable credentials")
				return nil
			}
			return printCredsTable(cmd.OutOrStdout(), creds)
		},
	}
	list.Flags().BoolVar(&o.json, "json", false, "print a JSON array")

	del := &cobra.Command{
		Use:   "delete CREDENTIAL-ID",
		Short: "Delete a discoverable credential",
		Long: `Delete one discoverable credential, named by its ID in hex or by any prefix
of it that names only one credential (see softkey creds list).`,
		Example: `  softkey creds delete 3f2a91`,
		Args:    usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			return deleteCredential(cmd.OutOrStdout(), &o, args[0])
		},
	}
	cmd.AddCommand(list, del)
	return cmd
}

// loadCredentials reads and describes the vault's credentials, oldest
// first.
func loadCredentials(o *credsOptions) ([]authenticator.CredentialInfo, error) {
	v, dir, closeVault, err := o.openVault(true)
	if err != nil {
		return nil, err
	}
	defer closeVault()
	creds, err := v.Credentials()
	if err != nil {
		return nil, fmt.Errorf("reading the vault %s: %w", dir, err)
	}
	sortCredentials(creds)
	infos, err := authenticator.DescribeCredentials(v, creds)
	if err != nil {
		return nil, fmt.Errorf("reading the vault %s: %w", dir, err)
	}
	return infos, nil
}

// sortCredentials orders credentials oldest first.
func sortCredentials(creds []*store.Credential) {
	slices.SortStableFunc(creds, func(a, b *store.Credential) int {
		return cmp.Or(a.Created.Compare(b.Created), cmp.Compare(a.Sequence, b.Sequence))
	})
}

// credJSON is one credential as `creds list --json` prints it. The field
// names are a stable interface.
type credJSON struct {
	CredentialID    string    `json:"credential_id"`
	RPID            string    `json:"rp_id"`
	RPName          string    `json:"rp_name,omitempty"`
	UserID          string    `json:"user_id"`
	UserName        string    `json:"user_name,omitempty"`
	UserDisplayName string    `json:"user_display_name,omitempty"`
	Algorithm       string    `json:"algorithm"`
	COSEAlgorithm   int64     `json:"cose_algorithm"`
	Created         time.Time `json:"created"`
	// CredProtect is the credProtect level, 1 to 3 (CTAP 2.1 §12.1), and
	// CredProtectPolicy its WebAuthn name.
	CredProtect       uint8  `json:"cred_protect"`
	CredProtectPolicy string `json:"cred_protect_policy"`
	HMACSecret        bool   `json:"hmac_secret"`
	CredBlob          bool   `json:"cred_blob"`
	LargeBlobKey      bool   `json:"large_blob_key"`
}

func printCredsJSON(w io.Writer, infos []authenticator.CredentialInfo) error {
	out := make([]credJSON, 0, len(infos))
	for _, info := range infos {
		c := info.Credential
		out = append(out, credJSON{
			CredentialID:    hex.EncodeToString(c.ID),
			RPID:            c.RPID,
			RPName:          c.RPName,
			UserID:          hex.EncodeToString(c.User.ID),
			UserName:        c.User.Name,
			UserDisplayName: c.User.DisplayName,
			Algorithm:       c.Alg.String(),
			COSEAlgorithm:   int64(c.Alg),
			Created:         c.Created.UTC(),

			CredProtect:       info.CredProtect,
			CredProtectPolicy: authenticator.CredProtectName(info.CredProtect),
			HMACSecret:        info.HMACSecret,
			CredBlob:          info.CredBlob,
			LargeBlobKey:      info.LargeBlobKey,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

func printCredsTable(w io.Writer, infos []authenticator.CredentialInfo) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RP\tUSER\tUSER ID\tCREDENTIAL ID\tALG\tCREATED\tCREDPROTECT\tCREDBLOB\tLARGEBLOBKEY")
	for _, info := range infos {
		c := info.Credential
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			sanitize(c.RPID), sanitize(c.User.Name), shorten(hex.EncodeToString(c.User.ID), 16),
			shorten(hex.EncodeToString(c.ID), 16), c.Alg, c.Created.UTC().Format(time.RFC3339),
			credProtectShort(info.CredProtect), yesNo(info.CredBlob), yesNo(info.LargeBlobKey))
	}
	return tw.Flush()
}

// credProtectShort names a credProtect level in the table.
func credProtectShort(level uint8) string {
	switch level {
	case 0, 1:
		return "optional"
	case 2:
		return "id-list"
	case 3:
		return "required"
	}
	return fmt.Sprint(level)
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

// shorten cuts s to n characters and an ellipsis.
func shorten(s string, n int) string {
	if len(s) <= n {
		return s
	}
	return s[:n] + "…"
}

func deleteCredential(w io.Writer, o *credsOptions, prefix string) error {
	prefix = trimHex(prefix)
	if prefix == "" {
		return errors.New("the credential ID is empty")
	}
	if _, err := hex.DecodeString(prefix + strings.Repeat("0", len(prefix)%2)); err != nil {
		return withHints(fmt.Errorf("%q is not a credential ID in hex", prefix),
			"softkey creds list shows the IDs")
	}
	v, dir, closeVault, err := o.openVault(false)
	if err != nil {
		return err
	}
	defer closeVault()
	creds, err := v.Credentials()
	if err != nil {
		return fmt.Errorf("reading the vault %s: %w", dir, err)
	}
	var matches []*store.Credential
	for _, c := range creds {
		if strings.HasPrefix(hex.EncodeToString(c.ID), prefix) {
			matches = append(matches, c)
		}
	}
	switch len(matches) {
	case 0:
		return withHints(fmt.Errorf("no credential ID in %s starts with %s", dir, prefix),
			"softkey creds list shows the IDs")
	case 1:
	default:
		sortCredentials(matches)
		var ids []string
		for _, c := range matches {
			ids = append(ids, hex.EncodeToString(c.ID))
		}
		return withHints(fmt.Errorf("%d credentials start with %s:\n%s", len(matches), prefix, strings.Join(ids, "\n")),
			"give more of the ID")
	}
	c := matches[0]
	if err := v.DeleteCredential(c.ID); err != nil {
		return fmt.Errorf("deleting credential %x: %w", c.ID, err)
	}
	_, err = fmt.Fprintf(w, "deleted %x (%s, %s)\n", c.ID, sanitize(c.RPID), sanitize(c.User.Name))
	return err
}

// openVault opens the vault, with the TPM that sealed its key when
// --keystore tpm says so. closeVault releases both.
func (o *credsOptions) openVault(readOnly bool) (v *vault.Vault, dir string, closeVault func(), err error) {
	closeKeys := func() {}
	var sealer vault.KeySealer
	if o.keystore.keystore == keystoreTPM {
		backend, closeTPM, err := o.keystore.open(authenticator.DefaultProfile(), slog.New(slog.DiscardHandler))
		if err != nil {
			return nil, "", nil, err
		}
		closeKeys = closeTPM
		if sealer, err = vaultSealer(o.keystore, backend); err != nil {
			closeKeys()
			return nil, "", nil, err
		}
	}
	v, dir, err = openVault(o.vaultDir, o.passphrasePrompt, readOnly, sealer)
	if err != nil {
		closeKeys()
		return nil, dir, nil, err
	}
	return v, dir, func() { v.Close(); closeKeys() }, nil
}

package main

import (
	"crypto/rand"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/metadata"
	"github.com/softkeydev/softkey/authenticator/presets"
)

// mdsNextUpdate is how far ahead an exported BLOB's nextUpdate lies.
const mdsNextUpdate = 30 * 24 * time.Hour

// mdsSignerName is the CN of the certificate that signs exported BLOBs.
const mdsSignerName = "softkey Metadata BLOB Signer"

type mdsExportOptions struct {
	caDir       string
	profiles    []string
	allPresets  bool
	attestation string
	statuses    []string
	out         string
	rootOut     string
}

func newMDSCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "mds",
		Short: "Make FIDO metadata (MDS3 BLOBs) that trust or refuse the key",
		Long: `Make FIDO Metadata Service (MDS3) BLOBs for relying parties under test: a
signed JWT with one metadata statement per model, which trusts softkey's
test CA, or reports a model revoked, compromised or certified. Nothing here
is issued by the FIDO Alliance; the BLOB's legal header says so.`,
		Example: `  softkey mds export --ca ./ca -o blob.jwt --root-out root.pem`,
		Args:    usageArgs(cobra.NoArgs),
		RunE:    func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var o mdsExportOptions
	export := &cobra.Command{
		Use:   "export",
		Short: "Write a signed MDS3 BLOB for profiles served by a CA",
		Long: `Write a signed FIDO MDS3 BLOB (a JWT, ES256, with an x5c chain from the CA)
holding one metadata statement per profile (softkey's own without
--profile; every preset with --all-presets), and, with --root-out, the CA's
root certificate: the one trust anchor a relying party needs, both for the
BLOB's signature and for the attestation of a key run with --ca DIR.

Each statement describes the key softkey run --ca DIR --profile P
[--attestation MODE] makes: its authenticatorGetInfo is that key's getInfo;
its attestationTypes follow its attestation (packed and fido-u2f:
basic_full, tpm: attca, self: basic_surrogate, none: none); its
attestationRootCertificates are the roots its certificates chain to (the
CA's root, or an imported batch's own); keyProtection, matcherProtection
and attachmentHint follow the kind of model. fido-u2f attestation carries a
zero AAGUID, so its model gets a second, U2F entry found by the batch
certificate's key identifier; that needs the batch certificate softkey ca
init or ca import stores for the profile.

Every model is NOT_FIDO_CERTIFIED unless --status says otherwise:
--status softkey=REVOKED or --status yubikey-5=FIDO_CERTIFIED_L1 (by
profile or preset name, or by AAGUID); repeat it to give a history, the
current status last. A relying party that checks status refuses REVOKED,
ATTESTATION_KEY_COMPROMISE, USER_VERIFICATION_BYPASS, USER_KEY_REMOTE_COMPROMISE,
USER_KEY_PHYSICAL_COMPROMISE and RETIRED.`,
		Example: `  # metadata for softkey's own model, and the root to trust
  softkey mds export --ca ./ca -o blob.jwt --root-out root.pem

  # for two presets, one of them revoked
  softkey mds export --ca ./ca --profile yubikey-5 --profile security-key \
      --status security-key=REVOKED -o blob.jwt

  # for a key run with --attestation tpm
  softkey mds export --ca ./ca --attestation tpm -o blob.jwt

  # every preset
  softkey mds export --ca ./ca --all-presets -o all.jwt`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			if o.allPresets && len(o.profiles) > 0 {
				return flagError(cmd, errors.New("--all-presets and --profile contradict each other"))
			}
			return mdsExport(cmd.OutOrStdout(), &o)
		},
	}
	f := export.Flags()
	f.StringVar(&o.caDir, "ca", "", "CA `directory` (default $XDG_DATA_HOME/softkey/ca or ~/.local/share/softkey/ca)")
	f.StringArrayVar(&o.profiles, "profile", nil, "describe this model: "+profileFlagUsage+"; repeatable")
	f.BoolVar(&o.allPresets, "all-presets", false, "describe every preset")
	f.StringVar(&o.attestation, "attestation", "", "describe the keys as softkey run --attestation `mode` runs them")
	f.StringArrayVar(&o.statuses, "status", nil, "a status report, `NAME=STATUS` (NAME: a profile or preset name, or an AAGUID); repeatable")
	f.StringVarP(&o.out, "output", "o", "", "write the BLOB to `file` (default: stdout)")
	f.StringVar(&o.rootOut, "root-out", "", "write the CA's root certificate, PEM, to `file`")
	cmd.AddCommand(export)
	return cmd
}

func mdsExport(stdout io.Writer, o *mdsExportOptions) error {
	store, err := caStoreFor(o.caDir)
	if err != nil {
		return err
	}
	ca, err := store.load()
	if err != nil {
		return err
	}
	args := o.profiles
	switch {
	case o.allPresets:
		args = presets.Names()
	case len(args) == 0:
		args = []string{""}
	}
	var profiles []*authenticator.Profile
	for _, arg := range args {
		p, err := loadProfile(arg)
		if err != nil {
			return err
		}
		if o.attestation != "" {
			if err := p.SetAttestation(o.attestation); err != nil {
				return fmt.Errorf("--attestation: %w", err)
			}
		}
		profiles = append(profiles, p)
	}
	now := time.Now().UTC()
	statuses, err := parseStatuses(o.statuses, profiles, now)
	if err != nil {
		return err
	}

	var entries []mds.Entry
	for _, p := range profiles {
		batch, err := store.batch(p.AAGUID)
		if err != nil {
			return err
		}
		es, err := metadata.Entries(p, metadata.Options{CA: ca, Batch: batch, Status: statuses[p], Now: now})
		if err != nil {
			if errors.Is(err, metadata.ErrU2FNeedsBatch) {
				return withHints(err, "a CA made with softkey ca init --profile "+p.Name+" has one; so does softkey ca import")
			}
			return err
		}
		entries = append(entries, es...)
	}
	signer, chain, err := ca.IssueSigner(rand.Reader, now, mdsSignerName)
	if err != nil {
		return err
	}
	blob, err := mds.EncodeBLOB(entries, int(now.Unix()), now.Add(mdsNextUpdate), signer, chain[:2])
	if err != nil {
		return err
	}
	if o.rootOut != "" {
		root := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: ca.Root.Raw})
		if err := os.WriteFile(o.rootOut, root, 0o644); err != nil {
			return fmt.Errorf("writing --root-out: %w", err)
		}
	}
	if o.out == "" {
		_, err := fmt.Fprintln(stdout, blob)
		return err
	}
	if err := os.WriteFile(o.out, []byte(blob+"\n"), 0o644); err != nil {
		return fmt.Errorf("writing the BLOB: %w", err)
	}
	return nil
}

// parseStatuses reads --status NAME=STATUS flags into each profile's
// status history. Every flag must name an exported profile.
func parseStatuses(flags []string, profiles []*authenticator.Profile, now time.Time) (map[*authenticator.Profile][]mds.StatusReport, error) {
	out := map[*authenticator.Profile][]mds.StatusReport{}
	for _, f := range flags {
		name, value, ok := strings.Cut(f, "=")
		if !ok || name == "" || value == "" {
			return nil, withHints(fmt.Errorf("--status %q is not NAME=STATUS", f), "for example --status softkey=REVOKED")
		}
		status, err := mds.ParseStatus(value)
		if err != nil {
			return nil, withHints(fmt.Errorf("--status %s: unknown status %q", name, value),
				"the statuses are "+strings.Join(statusNames(), ", "))
		}
		matched := false
		for _, p := range profiles {
			if name == p.Name || sameAAGUID(name, p.AAGUID) {
				out[p] = append(out[p], mds.StatusReport{Status: status, EffectiveDate: now})
				matched = true
			}
		}
		if !matched {
			return nil, withHints(fmt.Errorf("--status %s: no exported profile is named %s or has that AAGUID", f, name),
				"export it too: --profile "+name)
		}
	}
	return out, nil
}

// sameAAGUID reports whether s is aaguid written as a UUID, in any case,
// with or without dashes.
func sameAAGUID(s string, aaguid authenticator.AAGUID) bool {
	g, err := authenticator.ParseAAGUID(strings.ToLower(s))
	return err == nil && g == aaguid
}

func statusNames() []string {
	var out []string
	for _, s := range mds.Statuses() {
		out = append(out, string(s))
	}
	return out
}

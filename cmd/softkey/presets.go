package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"
	"go.yaml.in/yaml/v3"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/presets"
)

func newPresetsCommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "presets",
		Short: "List and show the built-in model presets",
		Long: `List and show the built-in presets: profiles that make softkey look like real
authenticator models (security keys, platform authenticators, synced
passkey providers, phones), with their AAGUID, getInfo shape and flags.

A preset never claims a vendor's attestation signature: security key
look-alikes attest with softkey's test CA (trusted only through softkey's
own metadata, softkey mds export), the others with self or no attestation,
as the products they look like do. Run one with softkey run --profile NAME;
copy one with softkey presets show NAME > model.yaml to edit it.`,
		Example: `  softkey presets list
  softkey presets list --json | jq -r '.[] | select(.backup_state) | .name'
  softkey presets show yubikey-5
  softkey run --profile yubikey-5 --ca ./ca`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	var listJSON, markdown bool
	list := &cobra.Command{
		Use:   "list",
		Short: "List the presets",
		Long: `List the presets, by name: the model each looks like, its kind, AAGUID,
attestation mode, backup flags (BE/BS: 0/0 device-bound, 1/1 synced) and
signature counter policy. --json prints every field, with the source of the
AAGUID and the attestation the real product sends; --markdown prints the
README's table, with what a strict relying party will do with each.`,
		Example: `  softkey presets list
  softkey presets list --json
  softkey presets list --markdown`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			switch {
			case listJSON && markdown:
				return flagError(cmd, errors.New("--json and --markdown contradict each other"))
			case listJSON:
				return printPresetsJSON(cmd.OutOrStdout())
			case markdown:
				_, err := io.WriteString(cmd.OutOrStdout(), presetsMarkdown())
				return err
			}
			return printPresetsTable(cmd.OutOrStdout())
		},
	}
	list.Flags().BoolVar(&listJSON, "json", false, "print a JSON array")
	list.Flags().BoolVar(&markdown, "markdown", false, "print a Markdown table, as in the README")

	var showJSON bool
	show := &cobra.Command{
		Use:   "show NAME",
		Short: "Print a preset's profile",
		Long: `Print a preset's profile as YAML, the format softkey run --profile FILE
reads, or as JSON with the same field names.`,
		Example: `  softkey presets show yubikey-5
  softkey presets show icloud-keychain --json
  softkey presets show yubikey-5 > model.yaml && softkey run --profile ./model.yaml`,
		Args: usageArgs(cobra.ExactArgs(1)),
		RunE: func(cmd *cobra.Command, args []string) error {
			if isProfilePath(args[0]) {
				return withHints(fmt.Errorf("%q is a file name, not a preset", args[0]), "'softkey presets list' lists the presets")
			}
			p, err := loadProfile(args[0])
			if err != nil {
				return err
			}
			return printProfile(cmd.OutOrStdout(), p, showJSON)
		},
	}
	show.Flags().BoolVar(&showJSON, "json", false, "print JSON instead of YAML")
	cmd.AddCommand(list, show)
	return cmd
}

// flagsOf writes the BE and BS flags as "BE/BS".
func flagsOf(info presets.Info) string {
	bit := func(b bool) string {
		if b {
			return "1"
		}
		return "0"
	}
	return bit(info.BackupEligible) + "/" + bit(info.BackupState)
}

func printPresetsTable(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tDISPLAY\tKIND\tAAGUID\tATTESTATION\tBE/BS\tCOUNTER")
	for _, info := range presets.Infos() {
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n",
			info.Name, info.Display, info.Kind, info.AAGUID, info.Attestation, flagsOf(info), info.Counter)
	}
	return tw.Flush()
}

// presetJSON is one preset in softkey presets list --json.
type presetJSON struct {
	Name            string   `json:"name"`
	Display         string   `json:"display"`
	Vendor          string   `json:"vendor"`
	Kind            string   `json:"kind"`
	AAGUID          string   `json:"aaguid"`
	Attestation     string   `json:"attestation"`
	RealAttestation string   `json:"real_attestation"`
	BackupEligible  bool     `json:"backup_eligible"`
	BackupState     bool     `json:"backup_state"`
	Counter         string   `json:"counter"`
	Transports      []string `json:"transports"`
	Source          string   `json:"source"`
	StrictRP        string   `json:"strict_rp"`
}

func printPresetsJSON(w io.Writer) error {
	var out []presetJSON
	for _, info := range presets.Infos() {
		out = append(out, presetJSON{
			Name: info.Name, Display: info.Display, Vendor: info.Vendor, Kind: info.Kind,
			AAGUID: info.AAGUID.String(), Attestation: info.Attestation, RealAttestation: info.RealAttestation,
			BackupEligible: info.BackupEligible, BackupState: info.BackupState, Counter: info.Counter,
			Transports: info.Transports, Source: info.Source, StrictRP: strictRP(info),
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}

// presetsMarkdown is the README's preset table.
func presetsMarkdown() string {
	var b strings.Builder
	b.WriteString("| preset | looks like | kind | AAGUID | attestation | BE/BS | counter | what a strict RP will do |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, info := range presets.Infos() {
		fmt.Fprintf(&b, "| `%s` | %s | %s | `%s` | %s | %s | %s | %s |\n",
			info.Name, info.Display, info.Kind, info.AAGUID, info.Attestation, flagsOf(info), info.Counter, strictRP(info))
	}
	return b.String()
}

// strictRP says what a strict relying party does with a preset's key: one
// that verifies attestation against FIDO metadata and checks the flags.
func strictRP(info presets.Info) string {
	var verdict string
	switch info.Attestation {
	case authenticator.AttestationPacked, authenticator.AttestationTPM, authenticator.AttestationFIDOU2F:
		verdict = "accepted only with softkey's BLOB or CA root (`softkey mds export`); refused against the FIDO MDS, as it is not the vendor's signature"
	case authenticator.AttestationSelf:
		verdict = "self attestation: accepted where self attestation is allowed; refused where a certified chain is required"
	case authenticator.AttestationNone:
		verdict = "accepted when the RP allows attestation none; refused where attestation is required"
	}
	switch {
	case info.BackupEligible && info.BackupState:
		verdict += "; a synced passkey (BE=1, BS=1): refused where device-bound keys are required"
	case info.BackupEligible:
		verdict += "; backup eligible (BE=1): refused where device-bound keys are required"
	}
	if info.Counter == authenticator.CounterZero {
		verdict += "; counter 0: no clone detection"
	}
	return verdict
}

// printProfile writes a profile as YAML or, with asJSON, as JSON with the
// YAML's field names.
func printProfile(w io.Writer, p *authenticator.Profile, asJSON bool) error {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(p); err != nil {
		return fmt.Errorf("encoding the profile: %w", err)
	}
	if err := enc.Close(); err != nil {
		return fmt.Errorf("encoding the profile: %w", err)
	}
	data := buf.Bytes()
	if !asJSON {
		_, err := w.Write(data)
		return err
	}
	var generic map[string]any
	if err := yaml.Unmarshal(data, &generic); err != nil {
		return fmt.Errorf("encoding the profile: %w", err)
	}
	jenc := json.NewEncoder(w)
	jenc.SetIndent("", "  ")
	return jenc.Encode(generic)
}

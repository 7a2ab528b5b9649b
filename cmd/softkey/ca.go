package main

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/presets"
)

// defaultCAOrganization is the O of a CA made by softkey ca init.
const defaultCAOrganization = "softkey test CA"

func newCACommand() *cobra.Command {
	cmd := &cobra.Command{
		Use:   "ca",
		Short: "Make, import and show the test attestation CA",
		Long: `Make, import and show the test attestation CA.

The CA is a root and an intermediate certificate (P-256) kept in a
directory, by default $XDG_DATA_HOME/softkey/ca (or ~/.local/share/softkey/ca).
softkey run --ca DIR issues the key's attestation certificates from it, and
softkey mds export signs metadata with it, so that a relying party that
trusts the CA's root trusts the key. Beside the CA the directory keeps batch
attestation certificates, one per AAGUID: issued by softkey ca init, or a
hardware team's own, imported with softkey ca import. Nothing here is
issued by the FIDO Alliance or any vendor; it is for tests only.`,
		Example: `  softkey ca init
  softkey ca init --dir ./ca --profile yubikey-5 --profile softkey
  softkey ca import --dir ./ca --cert batch-chain.pem --key batch-key.pem --profile ./model.yaml
  softkey ca show --dir ./ca`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error { return cmd.Help() },
	}
	cmd.AddCommand(newCAInitCommand(), newCAImportCommand(), newCAShowCommand())
	return cmd
}

func newCAInitCommand() *cobra.Command {
	var (
		dir, organization string
		profiles          []string
	)
	cmd := &cobra.Command{
		Use:   "init",
		Short: "Make a new test CA and batch certificates",
		Long: `Make a new test CA in a directory: a root and an intermediate certificate,
written to ca.pem, with their keys in ca-key.pem (mode 0600). An existing CA
is never overwritten.

For each --profile (softkey's own without one), the CA also issues a batch
attestation certificate that meets every rule of WebAuthn packed
attestation (version 3; subject C, O, OU "Authenticator Attestation", CN;
CA false; the AAGUID extension, not critical), written to batch-AAGUID.pem
and batch-AAGUID-key.pem. A key run with --ca DIR uses it for packed and
fido-u2f attestation, so it stays the same from one start to the next, as
fido-u2f metadata (found by the certificate's key identifier) needs.`,
		Example: `  softkey ca init
  softkey ca init --dir ./ca --organization "Example Corp test CA"
  softkey ca init --dir ./ca --profile softkey --profile yubikey-5 --profile ./model.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return caInit(cmd.OutOrStdout(), dir, organization, profiles)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA `directory` (default $XDG_DATA_HOME/softkey/ca or ~/.local/share/softkey/ca)")
	f.StringVar(&organization, "organization", defaultCAOrganization, "the CA certificates' subject O")
	f.StringArrayVar(&profiles, "profile", nil, "issue a batch certificate for this profile: "+profileFlagUsage+"; repeatable")
	return cmd
}

func caInit(stdout io.Writer, dir, organization string, profileArgs []string) error {
	store, err := caStoreFor(dir)
	if err != nil {
		return err
	}
	if store.exists() {
		return store.existsError()
	}
	if len(profileArgs) == 0 {
		profileArgs = []string{""}
	}
	var profiles []*authenticator.Profile
	for _, arg := range profileArgs {
		p, err := loadProfile(arg)
		if err != nil {
			return err
		}
		profiles = append(profiles, p)
	}
	now := time.Now()
	ca, err := attestation.NewCA(rand.Reader, now, organization)
	if err != nil {
		return withHints(err, "--organization must be 1 to 64 characters")
	}
	type issued struct {
		profile *authenticator.Profile
		batch   *attestation.Batch
	}
	var batches []issued
	seen := map[authenticator.AAGUID]string{}
	for _, p := range profiles {
		if other, dup := seen[p.AAGUID]; dup {
			return fmt.Errorf("profiles %s and %s have the same AAGUID %s; one batch certificate serves both", other, p.Name, p.AAGUID)
		}
		seen[p.AAGUID] = p.Name
		b, err := ca.IssueBatch(rand.Reader, now, p.AAGUID, attestation.BatchOptions{Organization: p.CertificateOrganization})
		if err != nil {
			return fmt.Errorf("profile %s: %w", p.Name, err)
		}
		batches = append(batches, issued{p, b})
	}
	if err := store.create(ca); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "CA: %s (root %q, O=%s)\n", store.path(caCertFile), ca.Root.Subject.CommonName, organization)
	for _, b := range batches {
		path, err := store.saveBatch(b.profile.AAGUID, b.batch)
		if err != nil {
			return err
		}
		fmt.Fprintf(stdout, "batch certificate for %s (AAGUID %s): %s\n", b.profile.Name, b.profile.AAGUID, path)
	}
	return nil
}

func newCAImportCommand() *cobra.Command {
	var dir, certFile, keyFile, profileArg string
	cmd := &cobra.Command{
		Use:   "import",
		Short: "Import a hardware team's batch attestation certificate",
		Long: `Import a batch attestation certificate and key that a hardware team already
has, for the profile's AAGUID, into a CA directory made by softkey ca init.

--cert is the batch certificate followed by each CA certificate up to and
including the root, as PEM; --key is its private key (PKCS #8, SEC 1 or
PKCS #1 PEM, not encrypted). Before anything is stored, softkey checks that
the key is the certificate's, that the chain verifies up to a self-signed
root, that the certificate meets WebAuthn's packed attestation rules, and
that its AAGUID extension is the profile's. The batch is stored as
batch-AAGUID.pem and batch-AAGUID-key.pem (mode 0600); softkey run --ca DIR
--profile ... then attests with it, and softkey mds export names its root
as that model's trust anchor.`,
		Example: `  softkey ca import --cert chain.pem --key key.pem
  softkey ca import --dir ./ca --cert chain.pem --key key.pem --profile ./our-model.yaml`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return caImport(cmd.OutOrStdout(), dir, certFile, keyFile, profileArg)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA `directory` (default $XDG_DATA_HOME/softkey/ca or ~/.local/share/softkey/ca)")
	f.StringVar(&certFile, "cert", "", "PEM `file`: the batch certificate, then its CA certificates up to the root")
	f.StringVar(&keyFile, "key", "", "PEM `file`: the batch certificate's private key")
	f.StringVar(&profileArg, "profile", "", "the model the batch certificate is for: "+profileFlagUsage)
	cmd.MarkFlagRequired("cert")
	cmd.MarkFlagRequired("key")
	return cmd
}

func caImport(stdout io.Writer, dir, certFile, keyFile, profileArg string) error {
	store, err := caStoreFor(dir)
	if err != nil {
		return err
	}
	if _, err := store.load(); err != nil {
		return err
	}
	p, err := loadProfile(profileArg)
	if err != nil {
		return err
	}
	chain, err := os.ReadFile(certFile)
	if err != nil {
		return fmt.Errorf("reading --cert: %w", err)
	}
	key, err := os.ReadFile(keyFile)
	if err != nil {
		return fmt.Errorf("reading --key: %w", err)
	}
	b, err := attestation.ImportBatch(chain, key, p.AAGUID)
	var mismatch *attestation.AAGUIDMismatchError
	if errors.As(err, &mismatch) {
		hints := []string{fmt.Sprintf("the certificate is for the model with AAGUID %s, not profile %s's", authenticator.AAGUID(mismatch.Certificate), p.Name)}
		if names := presetsWithAAGUID(mismatch.Certificate); len(names) > 0 {
			hints = append(hints, "that is the preset "+strings.Join(names, ", ")+": pass --profile "+names[0])
		} else {
			hints = append(hints, "pass --profile with a profile file whose aaguid is "+authenticator.AAGUID(mismatch.Certificate).String())
		}
		return withHints(err, hints...)
	}
	if err != nil {
		return err
	}
	path, err := store.saveBatch(p.AAGUID, b)
	if err != nil {
		return err
	}
	leaf, _ := x509.ParseCertificate(b.Chain[0])
	fmt.Fprintf(stdout, "batch certificate for %s (AAGUID %s): %s\n  subject %s, valid until %s\n",
		p.Name, p.AAGUID, path, leaf.Subject, leaf.NotAfter.UTC().Format(time.DateOnly))
	return nil
}

// presetsWithAAGUID names the presets (and softkey's own profile) that
// have aaguid.
func presetsWithAAGUID(aaguid [16]byte) []string {
	var names []string
	if authenticator.DefaultProfile().AAGUID == aaguid {
		names = append(names, authenticator.DefaultProfile().Name)
	}
	for _, info := range presets.Infos() {
		if info.AAGUID == aaguid {
			names = append(names, info.Name)
		}
	}
	return names
}

func newCAShowCommand() *cobra.Command {
	var (
		dir      string
		jsonFlag bool
	)
	cmd := &cobra.Command{
		Use:   "show",
		Short: "Show the CA and its batch certificates",
		Long: `Show the CA in a directory: the subject, validity and SHA-256 fingerprint of
its root and intermediate certificates, and each stored batch certificate
with the AAGUID and presets it serves and the root it chains to.`,
		Example: `  softkey ca show
  softkey ca show --dir ./ca --json`,
		Args: usageArgs(cobra.NoArgs),
		RunE: func(cmd *cobra.Command, _ []string) error {
			return caShow(cmd.OutOrStdout(), dir, jsonFlag)
		},
	}
	f := cmd.Flags()
	f.StringVar(&dir, "dir", "", "CA `directory` (default $XDG_DATA_HOME/softkey/ca or ~/.local/share/softkey/ca)")
	f.BoolVar(&jsonFlag, "json", false, "print a JSON object")
	return cmd
}

// certJSON describes one certificate in softkey ca show --json.
type certJSON struct {
	Subject   string    `json:"subject"`
	Issuer    string    `json:"issuer"`
	NotBefore time.Time `json:"not_before"`
	NotAfter  time.Time `json:"not_after"`
	SHA256    string    `json:"sha256"`
}

func describeCert(c *x509.Certificate) certJSON {
	sum := sha256.Sum256(c.Raw)
	return certJSON{
		Subject:   c.Subject.String(),
		Issuer:    c.Issuer.String(),
		NotBefore: c.NotBefore.UTC(),
		NotAfter:  c.NotAfter.UTC(),
		SHA256:    fingerprint(sum[:]),
	}
}

// fingerprint writes a digest as colon-separated upper-case hex, as
// openssl x509 -fingerprint does.
func fingerprint(sum []byte) string {
	parts := make([]string, len(sum))
	for i, b := range sum {
		parts[i] = fmt.Sprintf("%02X", b)
	}
	return strings.Join(parts, ":")
}

// batchJSON describes one stored batch in softkey ca show --json.
type batchJSON struct {
	AAGUID   string   `json:"aaguid"`
	Profiles []string `json:"profiles"`
	File     string   `json:"file"`
	certJSON
	// IssuedByCA is true when the batch chains to this CA's root, false
	// for an imported batch with a root of its own.
	IssuedByCA bool     `json:"issued_by_ca"`
	Root       certJSON `json:"root"`
}

type caShowJSON struct {
	Dir          string      `json:"dir"`
	Root         certJSON    `json:"root"`
	Intermediate certJSON    `json:"intermediate"`
	Batches      []batchJSON `json:"batches"`
}

func caShow(stdout io.Writer, dir string, asJSON bool) error {
	store, err := caStoreFor(dir)
	if err != nil {
		return err
	}
	ca, err := store.load()
	if err != nil {
		return err
	}
	stored, err := store.batches()
	if err != nil {
		return err
	}
	out := caShowJSON{Dir: store.dir, Root: describeCert(ca.Root), Intermediate: describeCert(ca.Intermediate), Batches: []batchJSON{}}
	for _, b := range stored {
		root := b.chain[len(b.chain)-1]
		out.Batches = append(out.Batches, batchJSON{
			AAGUID:     b.aaguid.String(),
			Profiles:   append([]string{}, presetsWithAAGUID(b.aaguid)...),
			File:       b.file,
			certJSON:   describeCert(b.chain[0]),
			IssuedByCA: bytes.Equal(root.Raw, ca.Root.Raw),
			Root:       describeCert(root),
		})
	}
	if asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		return enc.Encode(out)
	}
	w := tabwriter.NewWriter(stdout, 0, 4, 2, ' ', 0)
	fmt.Fprintf(w, "directory:\t%s\n", out.Dir)
	for _, c := range []struct {
		name string
		cert certJSON
	}{{"root", out.Root}, {"intermediate", out.Intermediate}} {
		fmt.Fprintf(w, "%s:\t%s\n", c.name, c.cert.Subject)
		fmt.Fprintf(w, "  valid:\t%s to %s\n", c.cert.NotBefore.Format(time.RFC3339), c.cert.NotAfter.Format(time.RFC3339))
		fmt.Fprintf(w, "  sha256:\t%s\n", c.cert.SHA256)
	}
	if len(out.Batches) == 0 {
		fmt.Fprintf(w, "batches:\tnone\n")
	}
	for _, b := range out.Batches {
		profiles := strings.Join(b.Profiles, ", ")
		if profiles == "" {
			profiles = "no preset"
		}
		fmt.Fprintf(w, "batch:\t%s\n", b.Subject)
		fmt.Fprintf(w, "  aaguid:\t%s (%s)\n", b.AAGUID, profiles)
		fmt.Fprintf(w, "  valid:\t%s to %s\n", b.NotBefore.Format(time.RFC3339), b.NotAfter.Format(time.RFC3339))
		fmt.Fprintf(w, "  sha256:\t%s\n", b.SHA256)
		if b.IssuedByCA {
			fmt.Fprintf(w, "  chain:\tissued by this CA\n")
		} else {
			fmt.Fprintf(w, "  chain:\timported, root %s (sha256 %s)\n", b.Root.Subject, b.Root.SHA256)
		}
		fmt.Fprintf(w, "  file:\t%s\n", b.File)
	}
	return w.Flush()
}

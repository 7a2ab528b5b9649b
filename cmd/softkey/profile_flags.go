package main

import (
	"errors"
	"fmt"
	"strings"

	"github.com/spf13/pflag"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/presets"
)

// profileFlagUsage is the help of every --profile flag.
const profileFlagUsage = "a preset `name` (softkey presets list), softkey, or a YAML profile file (default: softkey's own)"

// isProfilePath reports whether a --profile argument names a file rather
// than a preset: it holds a slash or ends in .yaml or .yml.
func isProfilePath(arg string) bool {
	return strings.Contains(arg, "/") || strings.HasSuffix(arg, ".yaml") || strings.HasSuffix(arg, ".yml")
}

// loadProfile returns the profile a --profile argument names: softkey's
// own for "" or its name, a preset, or a YAML file.
func loadProfile(arg string) (*authenticator.Profile, error) {
	switch {
	case arg == "" || arg == authenticator.DefaultProfile().Name:
		return authenticator.DefaultProfile(), nil
	case isProfilePath(arg):
		p, err := authenticator.LoadProfile(arg)
		if err != nil {
			return nil, fmt.Errorf("loading the profile: %w", err)
		}
		return p, nil
	}
	p, err := presets.Get(arg)
	var notFound *presets.NotFoundError
	if errors.As(err, &notFound) {
		var hints []string
		if len(notFound.Suggestions) > 0 {
			hints = append(hints, "did you mean "+strings.Join(notFound.Suggestions, ", ")+"?")
		}
		hints = append(hints, "'softkey presets list' lists the presets; a profile file is a path with a / or ending in .yaml")
		return nil, withHints(fmt.Errorf("loading the profile: no preset named %q", arg), hints...)
	}
	if err != nil {
		return nil, fmt.Errorf("loading the profile: %w", err)
	}
	return p, nil
}

// attestationFlags are softkey run's flags for attestation: the mode, the
// CA that issues the certificates, and the negative switches.
type attestationFlags struct {
	attestation string
	caDir       string
	negative    string
}

func addAttestationFlags(f *pflag.FlagSet, a *attestationFlags) {
	f.StringVar(&a.attestation, "attestation", "", "attestation `mode`: packed, self, tpm, fido-u2f or none (default: the profile's)")
	f.StringVar(&a.caDir, "ca", "", "issue attestation certificates from the CA in `dir` (softkey ca init), using its stored batch for the profile's AAGUID")
	f.StringVar(&a.negative, "negative", "", "comma-separated negative `switches` a strict relying party must reject: "+strings.Join(authenticator.NegativeSwitches(), ", "))
}

// keySetup is what a key is started with: its profile and where its
// attestation certificates come from.
type keySetup struct {
	profile *authenticator.Profile
	ca      *attestation.CA    // nil: the key's own chain, kept in its store
	batch   *attestation.Batch // nil: issued by ca at each start
}

// setup resolves --profile and the attestation flags, checking everything
// before a key starts.
func (a *attestationFlags) setup(profileArg string) (*keySetup, error) {
	p, err := loadProfile(profileArg)
	if err != nil {
		return nil, err
	}
	if a.attestation != "" {
		if err := p.SetAttestation(a.attestation); err != nil {
			return nil, fmt.Errorf("--attestation: %w", err)
		}
	}
	if err := p.Negative.Apply(a.negative); err != nil {
		return nil, withHints(fmt.Errorf("--negative: %w", err),
			"give several as one comma-separated list: --negative bad-up,counter-backwards")
	}
	if err := p.Validate(); err != nil {
		return nil, fmt.Errorf("profile %s: %w", p.Name, err)
	}
	s := &keySetup{profile: p}
	if a.caDir == "" {
		return s, nil
	}
	dir := caStore{dir: a.caDir}
	if s.ca, err = dir.load(); err != nil {
		return nil, err
	}
	if s.batch, err = dir.batch(p.AAGUID); err != nil {
		return nil, err
	}
	return s, nil
}

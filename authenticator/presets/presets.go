// Package presets holds authenticator profiles that make softkey look like
// real authenticator models: security keys, platform authenticators,
// synced passkey providers and phones.
//
// Each preset is an [authenticator.Profile] in the profile YAML format,
// embedded as NAME.yaml, so a preset file can also be copied, edited and
// loaded with [authenticator.LoadProfile]. A preset claims a real model's
// AAGUID and getInfo shape, taken from a public source that [Info] names,
// but never the vendor's attestation signature: a security key look-alike
// signs packed attestation with softkey's test CA, a Windows Hello
// look-alike sends tpm attestation from an AIK that CA certifies, and a
// relying party trusts either only through test metadata that names that
// CA.
//
// # Flags
//
// Security keys and platform authenticators make device-bound credentials
// (BE=0, BS=0); synced passkey providers make backed-up ones (BE=1, BS=1)
// with a zero signature counter and no attestation, as those products do
// (WebAuthn L3 §6.1.3).
package presets

import (
	"embed"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"slices"
	"strings"

	"go.yaml.in/yaml/v3"

	"github.com/softkeydev/softkey/authenticator"
)

// files holds one profile per preset, named NAME.yaml. It is read only.
//
//go:embed *.yaml
var files embed.FS

const fileSuffix = ".yaml"

// Names returns the names of the built-in presets, sorted.
func Names() []string {
	entries, err := fs.ReadDir(files, ".")
	if err != nil {
		panic("presets: internal error: reading embedded presets: " + err.Error())
	}
	var names []string
	for _, e := range entries {
		if name, ok := strings.CutSuffix(e.Name(), fileSuffix); ok && !e.IsDir() {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	return names
}

// NotFoundError reports a preset name that does not exist, with the
// existing names closest to it.
type NotFoundError struct {
	Name        string
	Suggestions []string
}

func (e *NotFoundError) Error() string {
	if len(e.Suggestions) == 0 {
		return fmt.Sprintf("presets: unknown preset %q; none of the %d presets is close", e.Name, len(Names()))
	}
	return fmt.Sprintf("presets: unknown preset %q; did you mean %s?", e.Name, strings.Join(e.Suggestions, ", "))
}

// Get returns the named preset as a new profile, checked with
// [authenticator.Profile.Validate]; each call returns a fresh copy that
// the caller may change. Like [authenticator.LoadProfile], fields a preset
// file leaves out keep [authenticator.DefaultProfile]'s values. An unknown
// name gives a [*NotFoundError] that suggests close names.
func Get(name string) (*authenticator.Profile, error) {
	names := Names()
	if !slices.Contains(names, name) {
		return nil, &NotFoundError{Name: name, Suggestions: suggest(name, names)}
	}
	data, err := files.ReadFile(name + fileSuffix)
	if err != nil {
		return nil, fmt.Errorf("presets: reading %s: %w", name, err)
	}
	p, err := parse(data)
	if err != nil {
		return nil, fmt.Errorf("presets: %s: %w", name, err)
	}
	if p.Name != name {
		return nil, fmt.Errorf("presets: %s: name: %q differs from the preset's file name", name, p.Name)
	}
	return p, nil
}

// parse reads one profile document strictly: unknown fields and a second
// document are errors.
func parse(data []byte) (*authenticator.Profile, error) {
	p := authenticator.DefaultProfile()
	dec := yaml.NewDecoder(strings.NewReader(string(data)))
	dec.KnownFields(true)
	if err := dec.Decode(p); err != nil {
		return nil, fmt.Errorf("parsing profile: %w", err)
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); !errors.Is(err, io.EOF) {
		return nil, errors.New("parsing profile: more than one YAML document")
	}
	if err := p.Validate(); err != nil {
		return nil, err
	}
	return p, nil
}

// maxSuggestions bounds how many close names a NotFoundError offers.
const maxSuggestions = 5

// suggest returns the names closest to name: those within a few edits,
// or containing it or contained in it, nearest first.
func suggest(name string, names []string) []string {
	query := strings.ToLower(strings.TrimSuffix(name, fileSuffix))
	if query == "" {
		return nil
	}
	type candidate struct {
		name     string
		distance int
	}
	limit := max(2, len(query)/4)
	var found []candidate
	for _, n := range names {
		d := editDistance(query, n)
		if d <= limit || strings.Contains(n, query) || strings.Contains(query, n) {
			found = append(found, candidate{n, d})
		}
	}
	slices.SortFunc(found, func(a, b candidate) int {
		if a.distance != b.distance {
			return a.distance - b.distance
		}
		return strings.Compare(a.name, b.name)
	})
	var out []string
	for _, c := range found[:min(len(found), maxSuggestions)] {
		out = append(out, c.name)
	}
	return out
}

// editDistance is the Levenshtein distance between a and b, by bytes.
func editDistance(a, b string) int {
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

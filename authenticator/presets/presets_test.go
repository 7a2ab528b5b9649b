package presets_test

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/authenticator/presets"
)

// minPresets is how many real models the presets must cover at least.
const minPresets = 30

// TestEveryPresetLoads loads each preset: it validates, its name is its
// file name, and no two presets claim one AAGUID.
func TestEveryPresetLoads(t *testing.T) {
	names := presets.Names()
	require.GreaterOrEqual(t, len(names), minPresets, "presets")
	require.True(t, slices.IsSorted(names), "Names is not sorted: %v", names)
	byAAGUID := map[authenticator.AAGUID]string{}
	for _, name := range names {
		p, err := presets.Get(name)
		require.NoError(t, err, "preset %s", name)
		require.Equal(t, name, p.Name, "preset %s: name field", name)
		require.NoError(t, p.Validate(), "preset %s", name)
		require.NotEqual(t, authenticator.AAGUID{}, p.AAGUID, "preset %s: all-zero AAGUID", name)
		if other, dup := byAAGUID[p.AAGUID]; dup {
			t.Errorf("presets %s and %s both claim AAGUID %v", other, name, p.AAGUID)
		}
		byAAGUID[p.AAGUID] = name
	}
}

// TestGetReturnsFreshCopies: changing one profile does not change the
// next one Get returns.
func TestGetReturnsFreshCopies(t *testing.T) {
	a, err := presets.Get("yubikey-5-nfc")
	require.NoError(t, err)
	a.Versions[0] = "changed"
	a.Transports = append(a.Transports[:0], "ble")
	a.Algorithms[0] = 0
	b, err := presets.Get("yubikey-5-nfc")
	require.NoError(t, err)
	require.Equal(t, []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1_PRE"}, b.Versions)
	require.Equal(t, []string{"nfc", "usb"}, b.Transports)
	require.NoError(t, b.Validate())
}

// TestPresetFilesAreProfiles: a preset file, copied out, loads with
// authenticator.LoadProfile as the same profile Get returns.
func TestPresetFilesAreProfiles(t *testing.T) {
	dir := t.TempDir()
	for _, name := range presets.Names() {
		want, err := presets.Get(name)
		require.NoError(t, err)
		path := filepath.Join(dir, name+".yaml")
		require.NoError(t, os.WriteFile(path, presetFile(t, name), 0o600))
		got, err := authenticator.LoadProfile(path)
		require.NoError(t, err, "LoadProfile(%s)", name)
		require.Equal(t, want, got, "preset %s", name)
	}
}

// presetFile returns the embedded YAML of a preset, read from the package
// directory the files are embedded from.
func presetFile(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(name + ".yaml")
	require.NoError(t, err)
	return data
}

// TestInfos checks the side table against the files: one Info per preset,
// in order, each with a display name, vendor, known kind and a source.
func TestInfos(t *testing.T) {
	infos := presets.Infos()
	var names []string
	kinds := map[string]int{}
	for _, info := range infos {
		names = append(names, info.Name)
		require.NotEmpty(t, info.Display, "%s: display name", info.Name)
		require.NotEmpty(t, info.Vendor, "%s: vendor", info.Name)
		require.NotEmpty(t, info.Source, "%s: AAGUID source", info.Name)
		require.NotEmpty(t, info.RealAttestation, "%s: real attestation", info.Name)
		require.Contains(t, []string{presets.KindSecurityKey, presets.KindPlatform, presets.KindSyncedPasskeyProvider, presets.KindPhone}, info.Kind, "%s: kind", info.Name)
		kinds[info.Kind]++
		p, err := presets.Get(info.Name)
		require.NoError(t, err)
		require.Equal(t, p.AAGUID, info.AAGUID, "%s: AAGUID", info.Name)
		if strings.Contains(info.Source, "passkey-authenticator-aaguids") {
			require.Contains(t, info.Source, "dist/"+p.AAGUID.String()+"/meta.json", "%s: community source cites the AAGUID's file", info.Name)
		}
		got, err := presets.Lookup(info.Name)
		require.NoError(t, err)
		require.Equal(t, info, got)
	}
	require.Equal(t, presets.Names(), names, "Infos and Names disagree")
	for _, kind := range []string{presets.KindSecurityKey, presets.KindPlatform, presets.KindSyncedPasskeyProvider, presets.KindPhone} {
		require.Positive(t, kinds[kind], "no preset of kind %s", kind)
	}
}

// TestShapeByKind checks that each preset presents what its kind of
// product does: synced providers BE=1 BS=1 with a zero counter and no
// attestation; security keys device-bound, on USB, with packed attestation
// from softkey's test CA (a look-alike never claims the vendor's
// signature); platforms and phones device-bound.
func TestShapeByKind(t *testing.T) {
	for _, info := range presets.Infos() {
		t.Run(info.Name, func(t *testing.T) {
			p, err := presets.Get(info.Name)
			require.NoError(t, err)
			require.Contains(t, p.Versions, "FIDO_2_0", "every preset speaks CTAP 2.0")
			require.Equal(t, slices.Contains(p.Versions, "U2F_V2"), p.U2F, "u2f follows versions' U2F_V2")
			require.True(t, p.ResidentKeys, "every preset can make discoverable credentials")
			require.Equal(t, "softkey test CA", p.CertificateOrganization, "a look-alike never names a vendor in its certificates")
			switch info.Kind {
			case presets.KindSyncedPasskeyProvider:
				require.True(t, p.BackupEligible, "BE")
				require.True(t, p.BackupState, "BS")
				require.Equal(t, authenticator.CounterZero, p.Counter)
				require.Equal(t, authenticator.AttestationNone, p.Attestation)
				require.Equal(t, []string{"internal", "hybrid"}, p.Transports)
			case presets.KindSecurityKey:
				require.False(t, p.BackupEligible, "BE")
				require.False(t, p.BackupState, "BS")
				require.Equal(t, authenticator.AttestationPacked, p.Attestation)
				require.Contains(t, p.Transports, "usb")
				require.Contains(t, []string{authenticator.CounterGlobal, authenticator.CounterPerCredential}, p.Counter)
				require.True(t, p.ResetWindow, "a security key refuses reset long after power-up")
			case presets.KindPlatform:
				require.False(t, p.BackupEligible, "BE")
				require.Equal(t, []string{"internal"}, p.Transports)
				require.NotEqual(t, authenticator.AttestationPacked, p.Attestation, "no batch certificate on a platform")
			case presets.KindPhone:
				require.False(t, p.BackupEligible, "BE: Authenticator passkeys are device-bound")
				require.Contains(t, p.Transports, "hybrid")
			}
		})
	}
}

// TestRealAttestationComments keeps the files' "# real:" comments and the
// side table's RealAttestation the same.
func TestRealAttestationComments(t *testing.T) {
	for _, info := range presets.Infos() {
		var doc yaml.Node
		require.NoError(t, yaml.Unmarshal(presetFile(t, info.Name), &doc))
		require.Len(t, doc.Content, 1)
		m := doc.Content[0]
		comment := ""
		for i := 0; i+1 < len(m.Content); i += 2 {
			if m.Content[i].Value == "attestation" {
				comment = m.Content[i+1].LineComment
			}
		}
		require.Equal(t, "# real: "+info.RealAttestation, comment, "%s: attestation line comment", info.Name)
	}
}

// TestGetUnknownSuggests: a typo gets a NotFoundError with close names.
func TestGetUnknownSuggests(t *testing.T) {
	tests := []struct {
		name string
		want []string
		msg  string
	}{
		{"yubikey-5nfc", []string{"yubikey-5-nfc"}, `presets: unknown preset "yubikey-5nfc"; did you mean yubikey-5-nfc`},
		{"icloud", []string{"icloud-keychain", "icloud-keychain-managed"}, `did you mean icloud-keychain, icloud-keychain-managed?`},
		{"bitwarden.yaml", []string{"bitwarden"}, `did you mean bitwarden?`},
		{"Bitwarden", []string{"bitwarden"}, `unknown preset "Bitwarden"; did you mean bitwarden?`},
		{"windows-hello", []string{"windows-hello-vbs"}, `did you mean windows-hello-vbs, `},
		{"zzzzzzzzzzzzzz", nil, `presets: unknown preset "zzzzzzzzzzzzzz"; none of the`},
		{"../presets", nil, `unknown preset "../presets"`},
		{"", nil, `unknown preset ""`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p, err := presets.Get(tc.name)
			require.Nil(t, p)
			var nf *presets.NotFoundError
			require.True(t, errors.As(err, &nf), "error %v is not a *NotFoundError", err)
			require.Equal(t, tc.name, nf.Name)
			for _, w := range tc.want {
				require.Contains(t, nf.Suggestions, w)
			}
			if tc.want == nil {
				require.Empty(t, nf.Suggestions)
			}
			require.LessOrEqual(t, len(nf.Suggestions), 5)
			require.Contains(t, err.Error(), tc.msg)
		})
	}
}

// TestCTAP21FieldsFollowVersions checks each preset's PIN, UV and CTAP 2.1
// fields against what its versions and kind allow: a key that speaks
// neither FIDO_2_1 nor FIDO_2_1_PRE has none of the CTAP 2.1 commands and
// options, PIN protocol 1 only and the CTAP 2.0 extensions; a FIDO_2_1 key
// with a PIN or built-in UV offers pinUvAuthToken (CTAP 2.1 §6.4); a
// security key has a PIN, and built-in UV only as a fingerprint sensor;
// platforms, synced providers and phones verify the user themselves
// (option uv) and take no PIN and none of the management commands.
func TestCTAP21FieldsFollowVersions(t *testing.T) {
	for _, info := range presets.Infos() {
		t.Run(info.Name, func(t *testing.T) {
			p, err := presets.Get(info.Name)
			require.NoError(t, err)
			ctap21 := slices.Contains(p.Versions, "FIDO_2_1")
			if !ctap21 && !slices.Contains(p.Versions, "FIDO_2_1_PRE") {
				require.Equal(t, []uint64{1}, p.PinUvAuthProtocols, "a CTAP 2.0 key knows PIN protocol 1 only")
				require.False(t, p.PinUvAuthToken, "pinUvAuthToken on a CTAP 2.0 key")
				require.False(t, p.CredentialManagement, "credMgmt on a CTAP 2.0 key")
				require.False(t, p.LargeBlobs, "largeBlobs on a CTAP 2.0 key")
				require.False(t, p.AuthenticatorConfig, "authnrCfg on a CTAP 2.0 key")
				require.False(t, p.BioEnroll, "bioEnroll on a CTAP 2.0 key")
				require.False(t, p.CredentialManagementPreview, "credentialMgmtPreview on a CTAP 2.0 key")
				require.False(t, p.BioEnrollPreview, "userVerificationMgmtPreview on a CTAP 2.0 key")
				require.False(t, p.MakeCredUVNotRequired, "makeCredUvNotRqd on a CTAP 2.0 key")
				for _, e := range p.Extensions {
					require.Contains(t, []string{authenticator.ExtCredProtect, authenticator.ExtHMACSecret}, e, "extension of a CTAP 2.0 key")
				}
			}
			if ctap21 && (p.ClientPIN || p.UV) {
				require.True(t, p.PinUvAuthToken, "a FIDO_2_1 key with a PIN or UV offers pinUvAuthToken")
			}
			// Only the pre-release keys (FIDO_2_1_PRE without FIDO_2_1)
			// have the prototype commands alone; a FIDO_2_1 key that also
			// speaks FIDO_2_1_PRE lists them with the final ones.
			if p.CredentialManagementPreview || p.BioEnrollPreview {
				require.False(t, ctap21, "prototype commands alone on a FIDO_2_1 key")
				require.Contains(t, p.Versions, "FIDO_2_1_PRE", "prototype commands without FIDO_2_1_PRE")
			}
			switch info.Kind {
			case presets.KindSecurityKey:
				require.True(t, p.ClientPIN, "a security key takes a PIN")
				require.Equal(t, p.UV, p.BioEnroll || p.BioEnrollPreview, "a security key's built-in UV is a fingerprint sensor")
			default:
				require.True(t, p.UV, "option uv: the product verifies the user itself")
				require.False(t, p.ClientPIN, "option clientPin")
				require.False(t, p.CredentialManagement, "credMgmt")
				require.False(t, p.LargeBlobs, "largeBlobs")
				require.False(t, p.AuthenticatorConfig, "authnrCfg")
				require.False(t, p.BioEnroll, "bioEnroll")
				require.False(t, p.CredentialManagementPreview, "credentialMgmtPreview")
				require.False(t, p.BioEnrollPreview, "userVerificationMgmtPreview")
			}
		})
	}
}

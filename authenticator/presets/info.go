package presets

import (
	"fmt"
	"slices"
	"strings"

	"github.com/softkeydev/softkey/authenticator"
)

// Kinds of authenticator a preset can be.
const (
	// KindSecurityKey is a roaming hardware key (USB, NFC).
	KindSecurityKey = "security-key"
	// KindPlatform is an authenticator built into a computer or browser
	// whose credentials stay on the device.
	KindPlatform = "platform"
	// KindSyncedPasskeyProvider is a password manager or platform keychain
	// whose credentials are synced between the user's devices.
	KindSyncedPasskeyProvider = "synced-passkey-provider"
	// KindPhone is a phone app that holds device-bound passkeys and is used
	// from other devices over hybrid.
	KindPhone = "phone"
)

// Info describes a preset: which real model it looks like, where its
// AAGUID comes from, and the flags a relying party will see.
type Info struct {
	// Name is the preset's name, as [Get] takes it.
	Name string
	// Display is the model's name for people.
	Display string
	Vendor  string
	// Kind is one of the Kind constants.
	Kind string
	// Source cites the public document the AAGUID was taken from.
	Source string
	AAGUID authenticator.AAGUID
	// Attestation is the mode softkey uses for this preset (a look-alike
	// never uses the vendor's keys); RealAttestation is what the real
	// product sends.
	Attestation     string
	RealAttestation string
	// BackupEligible and BackupState are the BE and BS flags.
	BackupEligible bool
	BackupState    bool
	// Counter is the signature counter policy.
	Counter    string
	Transports []string
}

// Sources of AAGUIDs. Each names a public document; the community list's
// entries are cited by their per-AAGUID file.
const (
	sourceYubico = "Yubico's AAGUID list (yubi.co/aaguids, mirrored in github.com/JMarkstrom/aaguids aaguids.csv); " +
		"FIDO MDS as listed in Microsoft Entra docs (github.com/MicrosoftDocs/entra-docs docs/identity/authentication/concept-fido2-hardware-vendor.md)"
	sourceMDS = "FIDO MDS as listed in Microsoft Entra docs " +
		"(github.com/MicrosoftDocs/entra-docs docs/identity/authentication/concept-fido2-hardware-vendor.md)"
	sourceWindowsHello = "Microsoft Entra docs, Windows Hello passkey authenticators " +
		"(github.com/MicrosoftDocs/entra-docs docs/identity/authentication/how-to-authentication-entra-passkeys-on-windows.md)"
	sourceAuthenticator = "Microsoft Entra docs, Authenticator AAGUIDs " +
		"(github.com/MicrosoftDocs/entra-docs docs/identity/authentication/how-to-enable-authenticator-passkey.md)"
	sourceCommunity = "github.com/passkeydeveloper/passkey-authenticator-aaguids dist/%s/meta.json"
	// community marks a catalog entry whose source is the community list;
	// Infos names the per-AAGUID file.
	community = "community list"
)

// Real attestation of the product kinds, for RealAttestation.
const (
	realPacked      = "packed, signed by the vendor's batch certificate"
	realNone        = "none"
	realTPM         = "tpm (AttCA: the TPM's attestation identity key)"
	realSelf        = "packed self attestation"
	realNoTPM       = "none (no TPM to certify the key)"
	realAuthApp     = "none (Entra can enforce an attestation backed by App Attest or Play Integrity)"
	vendorYubico    = "Yubico"
	vendorFeitian   = "Feitian"
	vendorGoogle    = "Google"
	vendorMicrosoft = "Microsoft"
)

// header is what a preset's YAML does not say about it.
type header struct {
	name, display, vendor, kind, source, realAttestation string
}

// catalog lists every preset's header.
func catalog() []header {
	return []header{
		{"yubikey-5-nfc", "YubiKey 5 NFC / 5C NFC (firmware 5.2, 5.4)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5-nfc-fw57", "YubiKey 5 NFC / 5C NFC (firmware 5.7)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5-nfc-fw51", "YubiKey 5 NFC (firmware 5.1)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5", "YubiKey 5 / 5C / 5 Nano / 5C Nano (firmware 5.2, 5.4)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5-fw57", "YubiKey 5C / 5 Nano / 5C Nano (firmware 5.7)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5-fw51", "YubiKey 5 / 5C / 5 Nano / 5C Nano (firmware 5.1)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5ci", "YubiKey 5Ci (firmware 5.2, 5.4)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5ci-fw57", "YubiKey 5Ci (firmware 5.7)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5-fips", "YubiKey 5 FIPS Series (firmware 5.4)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-5-nfc-fips", "YubiKey 5 NFC FIPS / 5C NFC FIPS (firmware 5.4)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-bio", "YubiKey Bio, FIDO Edition (firmware 5.5, 5.6)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"yubikey-bio-mpe", "YubiKey Bio, Multi-protocol Edition (firmware 5.7)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"security-key-nfc", "Security Key NFC / C NFC by Yubico (firmware 5.2, 5.4)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"security-key-nfc-fw57", "Security Key NFC / C NFC by Yubico (firmware 5.7)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"security-key", "Security Key by Yubico (firmware 5.2, 5.4)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"security-key-nfc-enterprise", "Security Key NFC by Yubico, Enterprise Edition (firmware 5.7)", vendorYubico, KindSecurityKey, sourceYubico, realPacked},
		{"feitian-epass-fido2", "Feitian ePass FIDO2", vendorFeitian, KindSecurityKey, sourceMDS, realPacked},
		{"feitian-epass-fido2-nfc", "Feitian ePass FIDO2-NFC", vendorFeitian, KindSecurityKey, sourceMDS, realPacked},
		{"feitian-biopass-fido2", "Feitian BioPass FIDO2", vendorFeitian, KindSecurityKey, sourceMDS, realPacked},
		{"feitian-biopass-fido2-pro", "Feitian BioPass FIDO2 Pro", vendorFeitian, KindSecurityKey, sourceMDS, realPacked},
		{"google-titan-v2", "Google Titan Security Key v2", vendorGoogle, KindSecurityKey, sourceMDS, realPacked},
		{"solo", "SoloKeys Solo", "SoloKeys", KindSecurityKey, sourceMDS, realPacked},
		{"solo-tap", "SoloKeys Solo Tap", "SoloKeys", KindSecurityKey, sourceMDS, realPacked},
		{"nitrokey-3-am", "Nitrokey 3 AM", "Nitrokey", KindSecurityKey, sourceMDS, realPacked},
		{"opensk", "OpenSK", vendorGoogle, KindSecurityKey, sourceMDS, realPacked},

		{"windows-hello-hardware", "Windows Hello (hardware, TPM)", vendorMicrosoft, KindPlatform, sourceWindowsHello, realTPM},
		{"windows-hello-vbs", "Windows Hello (VBS hardware)", vendorMicrosoft, KindPlatform, sourceWindowsHello, realTPM},
		{"windows-hello-software", "Windows Hello (software)", vendorMicrosoft, KindPlatform, sourceWindowsHello, realNoTPM},
		{"chrome-on-mac", "Chrome on Mac", vendorGoogle, KindPlatform, community, realSelf},
		{"edge-on-mac", "Edge on Mac", vendorMicrosoft, KindPlatform, community, realSelf},
		{"chromium-browser", "Chromium Browser", "The Chromium Projects", KindPlatform, community, realSelf},

		{"icloud-keychain", "iCloud Keychain (Apple Passwords)", "Apple", KindSyncedPasskeyProvider, community, realNone},
		{"icloud-keychain-managed", "iCloud Keychain (Managed)", "Apple", KindSyncedPasskeyProvider, community, realNone},
		{"google-password-manager", "Google Password Manager", vendorGoogle, KindSyncedPasskeyProvider, community, realNone},
		{"1password", "1Password", "AgileBits", KindSyncedPasskeyProvider, community, realNone},
		{"bitwarden", "Bitwarden", "Bitwarden", KindSyncedPasskeyProvider, community, realNone},
		{"dashlane", "Dashlane", "Dashlane", KindSyncedPasskeyProvider, community, realNone},
		{"nordpass", "NordPass", "Nord Security", KindSyncedPasskeyProvider, community, realNone},
		{"keeper", "Keeper", "Keeper Security", KindSyncedPasskeyProvider, community, realNone},
		{"enpass", "Enpass", "Sinew Software", KindSyncedPasskeyProvider, community, realNone},
		{"keepassxc", "KeePassXC", "KeePassXC", KindSyncedPasskeyProvider, community, realNone},
		{"proton-pass", "Proton Pass", "Proton", KindSyncedPasskeyProvider, community, realNone},
		{"samsung-pass", "Samsung Pass", "Samsung", KindSyncedPasskeyProvider, community, realNone},
		{"lastpass", "LastPass", "LastPass", KindSyncedPasskeyProvider, community, realNone},
		{"microsoft-password-manager", "Microsoft Password Manager", vendorMicrosoft, KindSyncedPasskeyProvider, community, realNone},

		{"microsoft-authenticator-ios", "Microsoft Authenticator (iOS)", vendorMicrosoft, KindPhone, sourceAuthenticator, realAuthApp},
		{"microsoft-authenticator-android", "Microsoft Authenticator (Android)", vendorMicrosoft, KindPhone, sourceAuthenticator, realAuthApp},
	}
}

// Infos describes every preset, sorted by name. The profile-derived fields
// are read from the presets themselves.
func Infos() []Info {
	headers := catalog()
	slices.SortFunc(headers, func(a, b header) int { return strings.Compare(a.name, b.name) })
	out := make([]Info, 0, len(headers))
	for _, h := range headers {
		p, err := Get(h.name)
		if err != nil {
			panic("presets: internal error: " + err.Error())
		}
		source := h.source
		if source == community {
			source = fmt.Sprintf(sourceCommunity, p.AAGUID)
		}
		out = append(out, Info{
			Name:            h.name,
			Display:         h.display,
			Vendor:          h.vendor,
			Kind:            h.kind,
			Source:          source,
			AAGUID:          p.AAGUID,
			Attestation:     p.Attestation,
			RealAttestation: h.realAttestation,
			BackupEligible:  p.BackupEligible,
			BackupState:     p.BackupState,
			Counter:         p.Counter,
			Transports:      slices.Clone(p.Transports),
		})
	}
	return out
}

// Lookup returns the Info of one preset.
func Lookup(name string) (Info, error) {
	for _, info := range Infos() {
		if info.Name == name {
			return info, nil
		}
	}
	return Info{}, &NotFoundError{Name: name, Suggestions: suggest(name, Names())}
}

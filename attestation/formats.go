package attestation

// Formats returns the attestation statement formats this package produces,
// in the order an authenticator would list them in getInfo's
// attestationFormats (CTAP 2.2 §6.4, member 0x16): packed, tpm, fido-u2f,
// none. Each call returns a fresh slice.
func Formats() []string {
	return []string{FormatPacked, FormatTPM, FormatFIDOU2F, FormatNone}
}

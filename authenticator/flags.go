package authenticator

import "github.com/softkeydev/softkey/ctap2"

// flags returns the authenticator data flags for a response, with the
// profile's backup flags (WebAuthn L3 §6.1.3) and its negative switches
// applied.
func (a *Authenticator) flags(userPresent, userVerified bool) ctap2.Flags {
	var f ctap2.Flags
	if userPresent && !a.profile.Negative.BadUP {
		f |= ctap2.FlagUP
	}
	if userVerified && !a.profile.Negative.BadUV {
		f |= ctap2.FlagUV
	}
	if a.profile.BackupEligible {
		f |= ctap2.FlagBE
	}
	if a.profile.BackupState {
		f |= ctap2.FlagBS
	}
	if a.profile.Negative.InconsistentBackupFlags {
		f = f&^ctap2.FlagBE | ctap2.FlagBS
	}
	return f
}

package authenticator

import (
	"fmt"
	"strings"
)

// Names of the negative switches, as [Negative.Apply] takes them and the
// command line's --negative lists them. The first three follow the
// WebDriver virtual authenticator's response overrides (isBogusSignature,
// isBadUP, isBadUV).
const (
	NegativeBogusSignature          = "bogus-signature" // =assertion, =attestation or =both
	NegativeBadUP                   = "bad-up"
	NegativeBadUV                   = "bad-uv"
	NegativeCertAAGUIDMismatch      = "cert-aaguid-mismatch"
	NegativeCertExpired             = "cert-expired"
	NegativeCertNotYetValid         = "cert-not-yet-valid"
	NegativeForeignRoot             = "foreign-root"
	NegativeCounterBackwards        = "counter-backwards"
	NegativeInconsistentBackupFlags = "inconsistent-backup-flags"
)

// NegativeSwitches returns the names [Negative.Apply] accepts, in the
// order of the fields of [Negative], bogus-signature with its values.
func NegativeSwitches() []string {
	return []string{
		NegativeBogusSignature + "=assertion|attestation|both",
		NegativeBadUP,
		NegativeBadUV,
		NegativeCertAAGUIDMismatch,
		NegativeCertExpired,
		NegativeCertNotYetValid,
		NegativeForeignRoot,
		NegativeCounterBackwards,
		NegativeInconsistentBackupFlags,
	}
}

// Apply turns on the switches named in list, a comma-separated list such
// as "bogus-signature=assertion,bad-up". Switches already on stay on; an
// empty list changes nothing. An unknown name, or a bogus-signature
// without one of its values, is an error that lists the valid ones, and
// then n is left as it was.
func (n *Negative) Apply(list string) error {
	out := *n
	for item := range strings.SplitSeq(list, ",") {
		item = strings.TrimSpace(item)
		if item == "" {
			continue
		}
		name, value, hasValue := strings.Cut(item, "=")
		if hasValue != (name == NegativeBogusSignature) {
			if hasValue {
				return fmt.Errorf("negative switch %q takes no value", name)
			}
			return fmt.Errorf("negative switch %q needs a value: %s=assertion, =attestation or =both", name, name)
		}
		switch name {
		case NegativeBogusSignature:
			switch value {
			case "assertion", "attestation", "both":
			default:
				return fmt.Errorf("negative switch %s=%q: want assertion, attestation or both", name, value)
			}
			if out.BogusSignature != "" && out.BogusSignature != value {
				value = "both"
			}
			out.BogusSignature = value
		case NegativeBadUP:
			out.BadUP = true
		case NegativeBadUV:
			out.BadUV = true
		case NegativeCertAAGUIDMismatch:
			out.CertificateAAGUIDMismatch = true
		case NegativeCertExpired:
			out.CertificateExpired = true
		case NegativeCertNotYetValid:
			out.CertificateNotYetValid = true
		case NegativeForeignRoot:
			out.ForeignRoot = true
		case NegativeCounterBackwards:
			out.CounterBackwards = true
		case NegativeInconsistentBackupFlags:
			out.InconsistentBackupFlags = true
		default:
			return fmt.Errorf("unknown negative switch %q; the switches are %s", name, strings.Join(NegativeSwitches(), ", "))
		}
	}
	*n = out
	return nil
}

// Names returns the switches that are on, in the form [Negative.Apply]
// takes, in the order of [NegativeSwitches].
func (n Negative) Names() []string {
	var out []string
	if n.BogusSignature != "" {
		out = append(out, NegativeBogusSignature+"="+n.BogusSignature)
	}
	for _, s := range []struct {
		on   bool
		name string
	}{
		{n.BadUP, NegativeBadUP},
		{n.BadUV, NegativeBadUV},
		{n.CertificateAAGUIDMismatch, NegativeCertAAGUIDMismatch},
		{n.CertificateExpired, NegativeCertExpired},
		{n.CertificateNotYetValid, NegativeCertNotYetValid},
		{n.ForeignRoot, NegativeForeignRoot},
		{n.CounterBackwards, NegativeCounterBackwards},
		{n.InconsistentBackupFlags, NegativeInconsistentBackupFlags},
	} {
		if s.on {
			out = append(out, s.name)
		}
	}
	return out
}

package authenticator

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/require"
)

func TestNegativeApply(t *testing.T) {
	tests := []struct {
		list string
		want Negative
	}{
		{"", Negative{}},
		{" , ", Negative{}},
		{"bogus-signature=assertion", Negative{BogusSignature: "assertion"}},
		{"bogus-signature=attestation", Negative{BogusSignature: "attestation"}},
		{"bogus-signature=both", Negative{BogusSignature: "both"}},
		{"bogus-signature=assertion,bogus-signature=attestation", Negative{BogusSignature: "both"}},
		{"bad-up, bad-uv", Negative{BadUP: true, BadUV: true}},
		{"cert-aaguid-mismatch,cert-expired,cert-not-yet-valid,foreign-root", Negative{
			CertificateAAGUIDMismatch: true, CertificateExpired: true, CertificateNotYetValid: true, ForeignRoot: true,
		}},
		{"counter-backwards,inconsistent-backup-flags", Negative{CounterBackwards: true, InconsistentBackupFlags: true}},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			var n Negative
			require.NoError(t, n.Apply(tt.list))
			require.Equal(t, tt.want, n)
			// Names gives back a list that Apply reads to the same switches.
			var again Negative
			require.NoError(t, again.Apply(strings.Join(n.Names(), ",")))
			require.Equal(t, n, again, "Apply(Names())")
		})
	}
}

func TestNegativeApplyKeepsSwitchesOn(t *testing.T) {
	n := Negative{BadUP: true, BogusSignature: "attestation"}
	require.NoError(t, n.Apply("counter-backwards,bogus-signature=attestation"))
	require.Equal(t, Negative{BadUP: true, BogusSignature: "attestation", CounterBackwards: true}, n)
}

func TestNegativeApplyErrors(t *testing.T) {
	tests := []struct {
		list, want string
	}{
		{"bad-up,sloppy", `unknown negative switch "sloppy"; the switches are bogus-signature=assertion|attestation|both, bad-up, bad-uv, cert-aaguid-mismatch, cert-expired, cert-not-yet-valid, foreign-root, counter-backwards, inconsistent-backup-flags`},
		{"bogus-signature", `negative switch "bogus-signature" needs a value: bogus-signature=assertion, =attestation or =both`},
		{"bogus-signature=sometimes", `negative switch bogus-signature="sometimes": want assertion, attestation or both`},
		{"bad-up=yes", `negative switch "bad-up" takes no value`},
	}
	for _, tt := range tests {
		t.Run(tt.list, func(t *testing.T) {
			n := Negative{BadUV: true}
			require.EqualError(t, n.Apply(tt.list), tt.want)
			require.Equal(t, Negative{BadUV: true}, n, "a failed Apply changes nothing")
		})
	}
}

func TestSetAttestation(t *testing.T) {
	p := DefaultProfile()
	require.NoError(t, p.SetAttestation(AttestationTPM))
	require.Equal(t, AttestationTPM, p.Attestation)
	require.Empty(t, p.AttestationFormats, "a profile without attestation_formats keeps none")
	require.Equal(t, []string{AttestationTPM}, p.AttestationModes())

	p.AttestationFormats = []string{AttestationPacked, AttestationTPM, AttestationNone}
	require.NoError(t, p.SetAttestation(AttestationTPM))
	require.Equal(t, []string{AttestationTPM, AttestationPacked, AttestationNone}, p.AttestationFormats)
	require.NoError(t, p.SetAttestation(AttestationSelf))
	require.Equal(t, []string{AttestationSelf, AttestationTPM, AttestationPacked, AttestationNone}, p.AttestationFormats)
	require.NoError(t, p.Validate())

	require.EqualError(t, p.SetAttestation("basic"), `attestation "basic" is not one of packed, self, tpm, fido-u2f, none`)
	require.Equal(t, AttestationSelf, p.Attestation, "a refused mode changes nothing")
}

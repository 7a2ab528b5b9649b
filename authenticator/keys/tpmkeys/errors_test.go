package tpmkeys

import (
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store/vault"
)

// Response codes as the TPM sends them: format-1 codes carry the number of
// the handle (bits 8-10) or parameter (bits 8-11, with 0x040) in error
// (TPM 2.0 Part 2 §6.6.3).
const (
	rcIntegrityParam1 = tpm2.TPMRC(0x09F | 0x040 | 0x100)
	rcBindingParam2   = tpm2.TPMRC(0x0A5 | 0x040 | 0x200)
	rcHandle1         = tpm2.TPMRC(0x08B | 0x100)
	rcHandle2         = tpm2.TPMRC(0x08B | 0x200)
	rcBadAuthSession1 = tpm2.TPMRC(0x0A2 | 0x800 | 0x100)
)

func TestClassify(t *testing.T) {
	other := errors.New("connection reset")
	tests := []struct {
		name      string
		err       error
		load      bool
		want      error // nil: returned unchanged
		parentGon bool
	}{
		{"integrity on load", rcIntegrityParam1, true, ErrKeyUnavailable, false},
		{"binding on load", rcBindingParam2, true, ErrKeyUnavailable, false},
		{"integrity elsewhere", rcIntegrityParam1, false, nil, false},
		{"lockout", tpm2.TPMRCLockout, false, ErrLockout, false},
		{"lockout on load", tpm2.TPMRCLockout, true, ErrLockout, false},
		{"bad owner password", rcBadAuthSession1, false, ErrOwnerAuth, false},
		{"auth fail", tpm2.TPMRCAuthFail, false, ErrOwnerAuth, false},
		{"parent handle unloaded", tpm2.TPMRCReferenceH0, true, nil, true},
		{"parent handle invalid", rcHandle1, true, nil, true},
		{"second handle invalid", rcHandle2, true, nil, false},
		{"not a TPM error", other, true, nil, false},
		{"wrapped TPM error", fmt.Errorf("sending: %w", rcIntegrityParam1), true, ErrKeyUnavailable, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := classify(tt.err)
			if tt.load {
				got = classifyLoad(tt.err)
			}
			if tt.want == nil {
				require.Equal(t, tt.err, got, "classify(%v)", tt.err)
			} else {
				require.ErrorIs(t, got, tt.want, "classify(%v) = %v", tt.err, got)
				require.ErrorIs(t, got, tt.err, "the TPM's code must stay in the chain")
			}
			require.Equal(t, tt.parentGon, parentGone(tt.err), "parentGone(%v)", tt.err)
		})
	}
}

// The backend seals vault keys.
var _ vault.KeySealer = (*Backend)(nil)

package presets_test

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/presets"
	"github.com/softkeydev/softkey/ctap2"
)

// TestGetInfoMatchesPreset starts an authenticator for each preset and
// checks that authenticatorGetInfo (CTAP 2.1 §6.4) reports the preset's
// versions, AAGUID, algorithms in preference order, transports, options rk
// and up, and limits.
func TestGetInfoMatchesPreset(t *testing.T) {
	for _, name := range presets.Names() {
		t.Run(name, func(t *testing.T) {
			p, err := presets.Get(name)
			require.NoError(t, err)
			a, _ := newKey(t, p)
			info := getInfo(t, a)

			require.Equal(t, p.Versions, info.Versions, "versions")
			require.Equal(t, p.AAGUID[:], info.AAGUID, "aaguid")
			var algs []ctap2.CredentialParam
			for _, alg := range p.Algorithms {
				algs = append(algs, ctap2.CredentialParam{Type: ctap2.PublicKeyCredentialType, Alg: alg})
			}
			require.Equal(t, algs, info.Algorithms, "algorithms")
			require.Equal(t, p.Transports, info.Transports, "transports")
			require.Contains(t, info.Options, "rk", "options")
			require.Equal(t, p.ResidentKeys, info.Options["rk"], "option rk")
			require.True(t, info.Options["up"], "option up")
			require.Equal(t, p.MaxMsgSize, info.MaxMsgSize, "maxMsgSize")
			require.Equal(t, p.MaxCredentialCountInList, info.MaxCredentialCountInList, "maxCredentialCountInList")
			require.Equal(t, p.MaxCredentialIDLength, info.MaxCredentialIDLength, "maxCredentialIdLength")
			require.Equal(t, p.FirmwareVersion, info.FirmwareVersion, "firmwareVersion")
			if p.MaxDiscoverableCredentials > 0 {
				require.NotNil(t, info.RemainingDiscoverableCredentials, "remainingDiscoverableCredentials")
				require.Equal(t, uint64(p.MaxDiscoverableCredentials), *info.RemainingDiscoverableCredentials, "remainingDiscoverableCredentials of an empty key")
			}
		})
	}
}

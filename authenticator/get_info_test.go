package authenticator

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestGetInfoReflectsProfile(t *testing.T) {
	k := newTestKey(t, nil)
	status, body := k.do(ctap2.CmdGetInfo, nil)
	require.Equal(t, ctap2.StatusOK, status)
	var info ctap2.GetInfoResponse
	require.NoError(t, ctap2.Unmarshal(body, &info))

	p := DefaultProfile()
	require.Equal(t, []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1"}, info.Versions)
	require.Equal(t, p.AAGUID[:], info.AAGUID)
	require.Equal(t, map[string]bool{
		"rk": true, "up": true, "plat": false,
		"clientPin": false, "pinUvAuthToken": true,
		"credMgmt": true, "largeBlobs": true,
		"authnrCfg": true, "alwaysUv": false, "setMinPINLength": true,
	}, info.Options)
	require.Equal(t, []uint64{2, 1}, info.PinUvAuthProtocols)
	require.Equal(t, uint64(4), info.MinPINLength)
	require.Equal(t, uint64(4096), info.MaxSerializedLargeBlobArray)
	require.Equal(t, uint64(32), info.MaxCredBlobLength)
	require.Equal(t, uint64(7609), info.MaxMsgSize)
	require.Equal(t, []ctap2.CredentialParam{
		{Type: "public-key", Alg: ctap2.AlgES256},
		{Type: "public-key", Alg: ctap2.AlgEdDSA},
		{Type: "public-key", Alg: ctap2.AlgRS256},
	}, info.Algorithms)
	require.Equal(t, []string{"usb"}, info.Transports)
	require.Equal(t, []string{"credProtect", "hmac-secret", "credBlob", "largeBlobKey", "minPinLength"}, info.Extensions)
	require.NotNil(t, info.RemainingDiscoverableCredentials)
	require.Equal(t, uint64(1000), *info.RemainingDiscoverableCredentials)
}

package authenticator

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestLoadProfile(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "p.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`name: test-model
aaguid: 01020304-0506-0708-090a-0b0c0d0e0f10
algorithms: [EdDSA, ES256]
attestation: none
counter: zero
backup_eligible: true
backup_state: true
`), 0o600))
	p, err := LoadProfile(path)
	require.NoError(t, err)
	require.Equal(t, "test-model", p.Name)
	require.Equal(t, "01020304-0506-0708-090a-0b0c0d0e0f10", p.AAGUID.String())
	require.Equal(t, Algorithms{ctap2.AlgEdDSA, ctap2.AlgES256}, p.Algorithms)
	require.Equal(t, AttestationNone, p.Attestation)
	require.True(t, p.BackupState)
	require.Equal(t, DefaultProfile().MaxMsgSize, p.MaxMsgSize, "unset fields keep defaults")
}

func TestLoadProfileRejects(t *testing.T) {
	tests := map[string]string{
		"unknown field":          "colour: blue\n",
		"bad aaguid":             "aaguid: not-a-uuid\n",
		"unsupported algorithm":  "algorithms: [-35]\n",
		"unknown algorithm name": "algorithms: [ES999]\n",
		"bad attestation":        "attestation: tpm\n",
		"backup state alone":     "backup_state: true\n",
		"message size":           "max_msg_size: 100\n",
	}
	for name, yaml := range tests {
		t.Run(name, func(t *testing.T) {
			path := filepath.Join(t.TempDir(), "p.yaml")
			require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
			_, err := LoadProfile(path)
			require.Error(t, err)
		})
	}
}

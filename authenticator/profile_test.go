package authenticator

import (
	"os"
	"path/filepath"
	"strings"
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
		"bad attestation":        "attestation: android-key\n",
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

func TestProfileUSB(t *testing.T) {
	def := DefaultProfile().USB
	require.Equal(t, USB{VendorID: 0x1209, ProductID: 0x0001, Product: "softkey"}, def,
		"default: pid.codes test IDs, product softkey, serial derived")

	path := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(path, []byte(`usb:
  vendor_id: 0x1050
  product_id: 1031
  product: Test Key
  serial: "0001"
`), 0o600))
	p, err := LoadProfile(path)
	require.NoError(t, err)
	require.Equal(t, USB{VendorID: 0x1050, ProductID: 0x0407, Product: "Test Key", Serial: "0001"}, p.USB)

	require.NoError(t, os.WriteFile(path, []byte("usb:\n  serial: abc\n"), 0o600))
	p, err = LoadProfile(path)
	require.NoError(t, err)
	require.Equal(t, USB{VendorID: 0x1209, ProductID: 0x0001, Product: "softkey", Serial: "abc"}, p.USB,
		"unset usb fields keep defaults")

	longest := DefaultProfile()
	longest.USB.Product = strings.Repeat("p", 127)
	longest.USB.Serial = strings.Repeat("s", 63)
	require.NoError(t, longest.Validate(), "127-byte product and 63-byte serial fit")

	rejects := map[string]struct{ yaml, want string }{
		"vendor ID above 16 bits": {"usb:\n  vendor_id: 65536\n", "uint16"},
		"negative product ID":     {"usb:\n  product_id: -1\n", "uint16"},
		"product ID not a number": {"usb:\n  product_id: yubikey\n", "uint16"},
		"empty product":           {"usb:\n  product: \"\"\n", "usb.product: must not be empty"},
		"product too long":        {"usb:\n  product: " + strings.Repeat("p", 128) + "\n", "usb.product: 128 bytes"},
		"serial too long":         {"usb:\n  serial: " + strings.Repeat("s", 64) + "\n", "usb.serial: 64 bytes"},
		"NUL in serial":           {"usb:\n  serial: \"a\\0b\"\n", "usb.serial: must not hold a NUL byte"},
		"unknown usb field":       {"usb:\n  manufacturer: me\n", "manufacturer"},
	}
	for name, tt := range rejects {
		t.Run(name, func(t *testing.T) {
			require.NoError(t, os.WriteFile(path, []byte(tt.yaml), 0o600))
			_, err := LoadProfile(path)
			require.ErrorContains(t, err, tt.want, "profile:\n%s", tt.yaml)
		})
	}
}

package tpmkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"net"
	"os"
	"path/filepath"
	"testing"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/swtpmtest"
)

// dialSwtpm connects to a swtpm process; the connection is closed when
// the test ends.
func dialSwtpm(t *testing.T, p *swtpmtest.Process) transport.TPMCloser {
	t.Helper()
	tpm, err := Open("swtpm:" + p.Addr)
	require.NoError(t, err, "connecting to swtpm at %s", p.Addr)
	t.Cleanup(func() { _ = tpm.Close() })
	return tpm
}

// TestSwtpm runs the backend on a real swtpm process: make a key, sign,
// restart swtpm on the same state and load the key again, then clear the
// TPM and see the key lost.
func TestSwtpm(t *testing.T) {
	dir := t.TempDir()
	p := swtpmtest.Start(t, dir)
	tpm := dialSwtpm(t, p)

	b, err := New(Config{TPM: tpm})
	require.NoError(t, err)
	info, err := b.Info()
	require.NoError(t, err)
	t.Logf("swtpm: %+v", info)
	require.Equal(t, "IBM", info.Vendor(), "libtpms's manufacturer")
	require.Equal(t, []ctap2.Alg{ctap2.AlgES256, ctap2.AlgRS256}, b.Algorithms())
	sealed, key, err := b.GenerateKey(ctap2.AlgES256)
	require.NoError(t, err)
	digest := sha256.Sum256([]byte("swtpm"))
	sig, err := key.Sign(nil, digest[:], crypto.SHA256)
	require.NoError(t, err)
	require.True(t, ecdsa.VerifyASN1(key.Public().(*ecdsa.PublicKey), digest[:], sig), "signature does not verify")

	// A new swtpm process on the same state directory is the same TPM.
	require.NoError(t, tpm.Close())
	p.Stop()
	p = swtpmtest.Start(t, dir)
	tpm = dialSwtpm(t, p)
	b, err = New(Config{TPM: tpm})
	require.NoError(t, err)
	loaded, err := b.LoadKey(ctap2.AlgES256, sealed)
	require.NoError(t, err, "loading a key after a swtpm restart")
	sig, err = loaded.Sign(nil, digest[:], crypto.SHA256)
	require.NoError(t, err)
	require.True(t, ecdsa.VerifyASN1(key.Public().(*ecdsa.PublicKey), digest[:], sig), "signature after restart does not verify")

	_, err = tpm2.Clear{AuthHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHLockout, Auth: tpm2.PasswordAuth(nil)}}.Execute(tpm)
	require.NoError(t, err, "TPM2_Clear")
	_, err = b.LoadKey(ctap2.AlgES256, sealed)
	require.ErrorIs(t, err, ErrKeyUnavailable, "loading a key after TPM2_Clear: got %v", err)
}

func TestOpenErrors(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	closedPort := ln.Addr().String()
	require.NoError(t, ln.Close())
	notDevice := filepath.Join(t.TempDir(), "tpm")
	require.NoError(t, os.WriteFile(notDevice, nil, 0o600))
	tests := []struct {
		spec string
		want error // nil: any error
	}{
		{"/nonexistent/tpmrm0", ErrNoTPM},
		{"swtpm:" + closedPort, ErrNoTPM},
		{notDevice, nil},
		{"tpm0", nil},
		{"", nil},
	}
	for _, tt := range tests {
		t.Run(tt.spec, func(t *testing.T) {
			tpm, err := Open(tt.spec)
			require.Error(t, err, "Open(%q)", tt.spec)
			require.Nil(t, tpm)
			if tt.want != nil {
				require.ErrorIs(t, err, tt.want, "Open(%q): got %v", tt.spec, err)
			}
		})
	}
}

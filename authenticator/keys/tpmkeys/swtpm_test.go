package tpmkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/sha256"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"
	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/ci"
)

// swtpmProcess is a `swtpm socket` process the test started, and the
// address of its server port.
type swtpmProcess struct {
	cmd  *exec.Cmd
	addr string
}

// startSwtpm starts swtpm on a free loopback port and stops it, by its
// PID, when the test ends or stop is called.
func startSwtpm(t *testing.T, dir string) *swtpmProcess {
	t.Helper()
	path, err := exec.LookPath("swtpm")
	if err != nil {
		ci.Unavailable(t, "swtpm is not installed (Debian: apt-get install swtpm)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := ln.Addr().(*net.TCPAddr)
	require.NoError(t, ln.Close())
	cmd := exec.Command(path, "socket", "--tpm2",
		"--tpmstate", "dir="+dir,
		"--server", fmt.Sprintf("type=tcp,port=%d", addr.Port),
		"--flags", "not-need-init,startup-clear")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	require.NoError(t, cmd.Start(), "starting swtpm")
	p := &swtpmProcess{cmd: cmd, addr: addr.String()}
	t.Cleanup(p.stop)
	return p
}

// dial connects to swtpm, waiting up to 10 s for it to listen: the only
// sign that it is ready.
func (p *swtpmProcess) dial(t *testing.T) transport.TPMCloser {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		tpm, err := Open("swtpm:" + p.addr)
		if err == nil {
			t.Cleanup(func() { _ = tpm.Close() })
			return tpm
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm did not start listening on %s: %v", p.addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// stop ends swtpm with SIGTERM, on which it saves its state, and waits
// for it to exit.
func (p *swtpmProcess) stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

// TestSwtpm runs the backend on a real swtpm process: make a key, sign,
// restart swtpm on the same state and load the key again, then clear the
// TPM and see the key lost.
func TestSwtpm(t *testing.T) {
	dir := t.TempDir()
	p := startSwtpm(t, dir)
	tpm := p.dial(t)

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
	p.stop()
	p = startSwtpm(t, dir)
	tpm = p.dial(t)
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

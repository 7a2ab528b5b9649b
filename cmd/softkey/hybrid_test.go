package main

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/transport/hybrid"
)

// freeUDPAddr returns a loopback UDP address that was free a moment ago.
func freeUDPAddr(t *testing.T) string {
	t.Helper()
	c, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := c.LocalAddr().String()
	require.NoError(t, c.Close())
	return addr
}

// TestHybridThreeProcesses runs a tunnel server, the desktop (softkey
// hybrid qr) and the phone (softkey hybrid phone) as three processes of
// the built binary: registration and sign-in go through the tunnel, and
// the desktop's in-process go-webauthn relying party verifies both. The
// phone offers linking and keeps serving; a second desktop process then
// signs in through the linked phone with no QR code (hybrid-cable.md
// §7.5), woken through the tunnel server's softkey-local contact
// listener.
func TestHybridThreeProcesses(t *testing.T) {
	needInterop(t)
	ctx, cancel := context.WithTimeout(context.Background(), 45*time.Second)
	defer cancel()
	dir := t.TempDir()

	// 1. The tunnel server.
	tunnelAddr := startTunnelServer(ctx, t, dir)
	advertAddr := freeUDPAddr(t)

	// 2. The desktop prints the URI on stderr with --json.
	desktopState := filepath.Join(dir, "desktop-link.json")
	phoneState := filepath.Join(dir, "phone-link.json")
	var qrOut, qrErr syncBuffer
	desktop := exec.CommandContext(ctx, softkeyBin, "hybrid", "qr", "--json", "--link-state", desktopState,
		"--tunnel", tunnelAddr, "--advert-addr", advertAddr, "--rp", "example.org", "--user", "alice", "--timeout", "25s")
	desktop.Stdout = &qrOut
	stderr, err := desktop.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, desktop.Start())
	uris := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		sc.Buffer(nil, 1<<20)
		for sc.Scan() {
			line := sc.Text()
			qrErr.Write([]byte(line + "\n"))
			if strings.HasPrefix(line, "FIDO:/") {
				uris <- line
			}
		}
	}()
	var uri string
	select {
	case uri = <-uris:
	case <-ctx.Done():
		t.Fatal("softkey hybrid qr printed no FIDO:/ URI")
	}

	// 3. The phone answers with the engine, offers linking, and stays up
	// for linked desktops.
	phone := exec.CommandContext(ctx, softkeyBin, "hybrid", "phone", uri, "--link-state", phoneState, "--serve-linked",
		"--tunnel", tunnelAddr, "--advert-addr", advertAddr, "--memory", "--presence", "auto", "--timeout", "40s")
	var phoneOut syncBuffer
	phone.Stdout = &phoneOut
	phoneErr, err := phone.StderrPipe()
	require.NoError(t, err)
	require.NoError(t, phone.Start())
	phoneCopied := make(chan struct{})
	go func() {
		defer close(phoneCopied)
		sc := bufio.NewScanner(phoneErr)
		for sc.Scan() {
			phoneOut.Write([]byte(sc.Text() + "\n"))
		}
	}()
	phoneDone := false
	defer func() {
		if !phoneDone {
			_ = phone.Process.Kill()
			<-phoneCopied
			_ = phone.Wait()
		}
	}()
	waitPhone := func(msg string) {
		t.Helper()
		for !strings.Contains(phoneOut.String(), msg) {
			select {
			case <-time.After(20 * time.Millisecond):
			case <-ctx.Done():
				t.Fatalf("the phone did not log %q; output:\n%s", msg, phoneOut.String())
			}
		}
	}
	waitPhone("the desktop shut the tunnel down")

	<-copied
	require.NoError(t, desktop.Wait(), "softkey hybrid qr:\n%s", qrErr.String())

	var got struct {
		URI               string `json:"uri"`
		CredentialID      string `json:"credentialId"`
		AttestationFormat string `json:"attestationFormat"`
		Registered        bool   `json:"registered"`
		SignatureVerified bool   `json:"signatureVerified"`
		SignCount         uint32 `json:"signCount"`
		Linked            bool   `json:"linked"`
	}
	require.NoError(t, json.Unmarshal([]byte(qrOut.String()), &got), "stdout of softkey hybrid qr: %q", qrOut.String())
	require.Equal(t, uri, got.URI, "uri")
	require.NotEmpty(t, got.CredentialID, "credentialId")
	require.Equal(t, "packed", got.AttestationFormat, "attestationFormat")
	require.True(t, got.Registered, "registered")
	require.True(t, got.SignatureVerified, "signatureVerified")
	require.NotContains(t, qrErr.String(), "level=ERROR")
	require.False(t, got.Linked, "linked")
	for _, f := range []string{desktopState, phoneState} {
		fi, err := os.Stat(f)
		require.NoError(t, err, "link state")
		require.Equal(t, os.FileMode(0o600), fi.Mode().Perm(), "mode of %s", f)
	}

	// 4. A second desktop process signs in through the linked phone: no
	// QR code, no URI.
	var linkedOut, linkedErr syncBuffer
	linked := exec.CommandContext(ctx, softkeyBin, "hybrid", "qr", "--linked", "--json", "--link-state", desktopState,
		"--tunnel", tunnelAddr, "--advert-addr", advertAddr, "--timeout", "20s")
	linked.Stdout, linked.Stderr = &linkedOut, &linkedErr
	require.NoError(t, linked.Run(), "softkey hybrid qr --linked:\n%s\nphone:\n%s", linkedErr.String(), phoneOut.String())
	require.NotContains(t, linkedErr.String(), "FIDO:/", "a linked sign-in shows no QR code")
	var again struct {
		URI               string `json:"uri"`
		CredentialID      string `json:"credentialId"`
		Registered        bool   `json:"registered"`
		SignatureVerified bool   `json:"signatureVerified"`
		SignCount         uint32 `json:"signCount"`
		Linked            bool   `json:"linked"`
	}
	require.NoError(t, json.Unmarshal([]byte(linkedOut.String()), &again), "stdout of softkey hybrid qr --linked: %q", linkedOut.String())
	require.True(t, again.Linked, "linked")
	require.Empty(t, again.URI, "uri")
	require.False(t, again.Registered, "registered")
	require.True(t, again.SignatureVerified, "signatureVerified")
	require.Equal(t, got.CredentialID, again.CredentialID, "credentialId")
	waitPhone("a linked desktop shut the tunnel down")

	require.NoError(t, phone.Process.Signal(os.Interrupt))
	<-phoneCopied
	phoneDone = true
	require.NoError(t, phone.Wait(), "softkey hybrid phone:\n%s", phoneOut.String())
	require.NotContains(t, phoneOut.String(), "level=ERROR")
}

// TestHybridFlagErrors checks that bad input to softkey hybrid qr and
// phone ends with an error and a hint, before anything is started.
func TestHybridFlagErrors(t *testing.T) {
	tests := []struct {
		name string
		args []string
		want string
	}{
		{"phone bad URI", []string{"hybrid", "phone", "FIDO:/123", "--memory"}, "invalid QR code"},
		{"phone not a URI", []string{"hybrid", "phone", "hello", "--memory"}, "hint: pass the FIDO:/ URI"},
		{"phone bad tunnel", []string{"hybrid", "phone", validTestURI(t), "--tunnel", "http://x", "--memory"}, "--tunnel must be a ws:// or wss:// URL"},
		{"qr bad tunnel", []string{"hybrid", "qr", "--tunnel", "127.0.0.1:1"}, "--tunnel must be a ws:// or wss:// URL"},
		{"phone no URI", []string{"hybrid", "phone"}, "accepts 1 arg"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stdout, stderr strings.Builder
			code := softkeyMain(context.Background(), tt.args, &stdout, &stderr)
			require.Equal(t, 1, code, "exit code of softkey %s; stderr:\n%s", strings.Join(tt.args, " "), stderr.String())
			require.Contains(t, stderr.String(), tt.want, "stderr of softkey %s", strings.Join(tt.args, " "))
			require.Empty(t, stdout.String(), "stdout of softkey %s", strings.Join(tt.args, " "))
		})
	}
}

// validTestURI is the URI of a well-formed QR code.
func validTestURI(t *testing.T) string {
	t.Helper()
	d, err := hybrid.NewDesktop(hybrid.DesktopConfig{Scanner: nopScanner{}})
	require.NoError(t, err)
	return d.QR().URI()
}

type nopScanner struct{}

func (nopScanner) Scan(context.Context) (<-chan [hybrid.AdvertSize]byte, error) {
	return nil, errors.New("no scanner")
}

// startTunnelServer starts `softkey tunnel serve` on a free port, stopped
// when the test ends, and returns its ws:// address once it is ready.
func startTunnelServer(ctx context.Context, t *testing.T, dir string) string {
	t.Helper()
	ready := filepath.Join(dir, "tunnel.json")
	var tunnelErr syncBuffer
	server := exec.CommandContext(ctx, softkeyBin, "tunnel", "serve", "--listen", "127.0.0.1:0", "--ready-file", ready)
	server.Stderr = &tunnelErr
	require.NoError(t, server.Start())
	t.Cleanup(func() {
		_ = server.Process.Signal(os.Interrupt)
		_ = server.Wait()
	})
	var info struct {
		Addr string `json:"addr"`
	}
	for {
		if b, err := os.ReadFile(ready); err == nil && json.Unmarshal(b, &info) == nil && info.Addr != "" {
			return info.Addr
		}
		select {
		case <-ctx.Done():
			t.Fatalf("the tunnel server did not get ready; stderr:\n%s", tunnelErr.String())
		case <-time.After(20 * time.Millisecond):
		}
	}
}

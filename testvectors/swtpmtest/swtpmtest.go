// Package swtpmtest starts Debian's swtpm, a software TPM 2.0 in its own
// process, for the tests that need a TPM outside the test binary.
package swtpmtest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"syscall"
	"testing"
	"time"

	"github.com/softkeydev/softkey/testvectors/ci"
)

// Process is a `swtpm socket` process a test started.
type Process struct {
	cmd *exec.Cmd
	// Addr is the HOST:PORT of its server port, which takes raw TPM
	// command frames.
	Addr string
}

// Start starts swtpm on a free loopback port with its state in dir and
// returns once it listens. It is stopped when the test ends. Without
// swtpm the test skips, or fails under CI=true.
func Start(t testing.TB, dir string) *Process {
	t.Helper()
	path, err := exec.LookPath("swtpm")
	if err != nil {
		ci.Unavailable(t, "swtpm is not installed (Debian: apt-get install swtpm)")
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	port := ln.Addr().(*net.TCPAddr).Port
	ln.Close()
	cmd := exec.Command(path, "socket", "--tpm2", "--tpmstate", "dir="+dir,
		"--server", fmt.Sprintf("type=tcp,port=%d", port), "--flags", "not-need-init,startup-clear")
	cmd.Stdout, cmd.Stderr = os.Stderr, os.Stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting swtpm: %v", err)
	}
	p := &Process{cmd: cmd, Addr: addr}
	t.Cleanup(p.Stop)
	// Listening is swtpm's only sign that it is ready.
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := net.Dial("tcp", addr)
		if err == nil {
			conn.Close()
			return p
		}
		if time.Now().After(deadline) {
			t.Fatalf("swtpm did not listen on %s: %v", addr, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Stop ends swtpm with SIGTERM, on which it saves its state, and waits for
// it to exit. Stopping a stopped process does nothing.
func (p *Process) Stop() {
	if p.cmd.ProcessState != nil {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	_ = p.cmd.Wait()
}

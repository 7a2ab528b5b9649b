package main

// Helpers for the interop tests: they start the real softkey binary (built
// by TestMain) and drive it with real clients. A client that is missing
// skips its test, except under CI=true, where it fails: CI must prove what
// the issue promises, never skip it quietly.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"github.com/softkeydev/softkey/testvectors/ci"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// toolTimeout bounds every external command an interop test runs.
const toolTimeout = 60 * time.Second

// needInterop skips in -short mode, where TestMain builds no binary.
func needInterop(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("interop tests start the softkey binary; skipped in -short mode")
	}
	if softkeyBin == "" {
		t.Fatal("internal error: TestMain built no softkey binary")
	}
}

// requireTool returns the path of an external tool. A missing tool skips
// the test, or fails it under CI=true.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err != nil {
		ci.Unavailable(t, "%s is not installed (make deps installs it): %v", name, err)
	}
	return p
}

// syncBuffer collects a process's output safely while it runs.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// keyProcess is one `softkey run` process.
type keyProcess struct {
	t         *testing.T
	cmd       *exec.Cmd
	readyFile string
	ready     readyInfo
	stdout    syncBuffer
	stderr    syncBuffer
	exited    chan struct{}
	waitErr   error
}

// startKey starts `softkey run --presence auto --ready-file F ARGS...` and
// waits, at most 30 s, for the ready file. env adds variables ("K=V").
// The process is stopped when the test ends.
func startKey(t *testing.T, env []string, args ...string) *keyProcess {
	t.Helper()
	return startKeyWith(t, env, nil, args...)
}

// startKeyWith is startKey with a function that adjusts the command before
// it starts.
func startKeyWith(t *testing.T, env []string, setup func(*exec.Cmd), args ...string) *keyProcess {
	t.Helper()
	needInterop(t)
	k := &keyProcess{t: t, readyFile: filepath.Join(t.TempDir(), "ready.json"), exited: make(chan struct{})}
	all := append([]string{"run", "--presence", "auto", "--ready-file", k.readyFile}, args...)
	k.cmd = exec.Command(softkeyBin, all...)
	k.cmd.Env = append(os.Environ(), env...)
	k.cmd.Stdout, k.cmd.Stderr = &k.stdout, &k.stderr
	if setup != nil {
		setup(k.cmd)
	}
	if err := k.cmd.Start(); err != nil {
		t.Fatalf("starting softkey %s: %v", strings.Join(all, " "), err)
	}
	go func() {
		k.waitErr = k.cmd.Wait()
		close(k.exited)
	}()
	t.Cleanup(func() {
		k.terminate()
		if t.Failed() {
			t.Logf("softkey %s\nstdout:\n%s\nstderr:\n%s", strings.Join(all, " "), k.stdout.String(), k.stderr.String())
		}
	})

	// The ready file and the "ready:" line on stdout are both signals; the
	// line may reach our end of the pipe a little after the file exists.
	deadline := time.Now().Add(30 * time.Second)
	var want string
	for {
		if want == "" {
			if data, err := os.ReadFile(k.readyFile); err == nil {
				if err := json.Unmarshal(data, &k.ready); err != nil {
					t.Fatalf("ready file %s: %v\n%s", k.readyFile, err, data)
				}
				want = fmt.Sprintf("ready: %s %s\n", k.ready.Transport, k.ready.where())
			}
		}
		if want != "" && strings.Contains(k.stdout.String(), want) {
			break
		}
		select {
		case <-k.exited:
			t.Fatalf("softkey exited before it was ready: %v\nstderr:\n%s", k.waitErr, k.stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("softkey wrote no ready file and line within 30s (stdout %q, want %q)\nstderr:\n%s", k.stdout.String(), want, k.stderr.String())
		}
	}
	return k
}

// path is the pseudo-terminal of a pty key.
func (k *keyProcess) path() string {
	k.t.Helper()
	if k.ready.Path == "" {
		k.t.Fatalf("ready file %+v names no device path", k.ready)
	}
	return k.ready.Path
}

// addr is the address of a UDP key.
func (k *keyProcess) addr() string {
	k.t.Helper()
	if k.ready.Addr == "" {
		k.t.Fatalf("ready file %+v names no UDP address", k.ready)
	}
	return k.ready.Addr
}

// stop sends SIGTERM and expects a clean exit within 15 s, with the ready
// file removed.
func (k *keyProcess) stop() {
	k.t.Helper()
	if err := k.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		k.t.Fatalf("SIGTERM: %v", err)
	}
	select {
	case <-k.exited:
	case <-time.After(15 * time.Second):
		k.cmd.Process.Kill()
		k.t.Fatalf("softkey did not exit within 15s of SIGTERM\nstderr:\n%s", k.stderr.String())
	}
	if k.waitErr != nil {
		k.t.Fatalf("softkey exited with %v after SIGTERM\nstderr:\n%s", k.waitErr, k.stderr.String())
	}
	if _, err := os.Stat(k.readyFile); !errors.Is(err, os.ErrNotExist) {
		k.t.Errorf("ready file %s still there after a clean stop: %v", k.readyFile, err)
	}
}

// kill sends SIGKILL and waits for the process to be gone.
func (k *keyProcess) kill() {
	k.t.Helper()
	if err := k.cmd.Process.Kill(); err != nil {
		k.t.Fatalf("SIGKILL: %v", err)
	}
	select {
	case <-k.exited:
	case <-time.After(15 * time.Second):
		k.t.Fatal("softkey still running 15s after SIGKILL")
	}
}

// terminate ends the process if it still runs: SIGTERM, then SIGKILL.
func (k *keyProcess) terminate() {
	select {
	case <-k.exited:
		return
	default:
	}
	k.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-k.exited:
	case <-time.After(10 * time.Second):
		k.cmd.Process.Kill()
		<-k.exited
	}
}

// tool runs an external command with stdin, bounded by toolTimeout, and
// returns its stdout. A failure fails the test with the tool's stderr
// verbatim.
func tool(t *testing.T, stdin []byte, env []string, name string, args ...string) []byte {
	t.Helper()
	out, errOut, err := tryTool(t, stdin, env, name, args...)
	if err != nil {
		t.Fatalf("%s %s: %v\nstderr:\n%s\nstdout:\n%s", name, strings.Join(args, " "), err, errOut, out)
	}
	return out
}

// tryTool is tool that returns the failure instead.
func tryTool(t *testing.T, stdin []byte, env []string, name string, args ...string) (stdout, stderr []byte, err error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), toolTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Stdin = bytes.NewReader(stdin)
	cmd.Env = append(os.Environ(), env...)
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	// Without a controlling terminal, no tool can stop to ask for a PIN.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Run()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (timed out after %v)", err, toolTimeout)
	}
	return o.Bytes(), e.Bytes(), err
}

// writeFile writes a test file and returns its path.
func writeFile(t *testing.T, dir, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(dir, name)
	if err := os.WriteFile(p, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return p
}

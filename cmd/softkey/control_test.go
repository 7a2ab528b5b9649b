package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator"
)

// fakeUV records what the control socket tells the verifier.
type fakeUV struct {
	mu       sync.Mutex
	queued   []bool
	defaults []bool
}

func (f *fakeUV) Next(outcomes ...bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.queued = append(f.queued, outcomes...)
}

func (f *fakeUV) SetDefault(pass bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.defaults = append(f.defaults, pass)
}

func (f *fakeUV) state() (queued, defaults []bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]bool(nil), f.queued...), append([]bool(nil), f.defaults...)
}

// controlKey is a control server on a socket in a temporary directory,
// served until the test ends.
type controlKey struct {
	path        string
	uv          *fakeUV
	powerCycles func() int
	clock       *keyClock
}

func startFakeControl(t *testing.T, withUV bool) *controlKey {
	t.Helper()
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := listenControl(path)
	require.NoError(t, err, "listenControl(%s)", path)
	var mu sync.Mutex
	cycles := 0
	k := &controlKey{path: path, uv: &fakeUV{}, powerCycles: func() int {
		mu.Lock()
		defer mu.Unlock()
		return cycles
	}}
	k.clock = &keyClock{}
	cs := &controlServer{
		clock: k.clock,
		powerCycle: func() {
			mu.Lock()
			defer mu.Unlock()
			cycles++
		},
		logger: slog.New(slog.DiscardHandler),
	}
	if withUV {
		cs.uv = k.uv
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		cs.serve(ctx, ln)
	}()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return k
}

// runSoftkey runs the command line in process.
func runSoftkey(args ...string) (code int, stdout, stderr string) {
	var o, e bytes.Buffer
	code = softkeyMain(context.Background(), args, &o, &e)
	return code, o.String(), e.String()
}

func TestControlCommands(t *testing.T) {
	tests := []struct {
		name         string
		args         []string
		wantQueued   []bool
		wantDefaults []bool
		wantCycles   int
		wantClock    time.Duration
	}{
		{name: "next pass", args: []string{"uv", "next", "pass"}, wantQueued: []bool{true}},
		{name: "next fail", args: []string{"uv", "next", "fail"}, wantQueued: []bool{false}},
		{name: "next fail 3", args: []string{"uv", "next", "fail", "3"}, wantQueued: []bool{false, false, false}},
		{name: "default fail", args: []string{"uv", "default", "fail"}, wantDefaults: []bool{false}},
		{name: "default pass", args: []string{"uv", "default", "pass"}, wantDefaults: []bool{true}},
		{name: "power-cycle", args: []string{"power-cycle"}, wantCycles: 1},
		{name: "clock advance", args: []string{"clock", "advance", "11s"}, wantClock: 11 * time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := startFakeControl(t, true)
			code, stdout, stderr := runSoftkey(append(tt.args, "--control", k.path)...)
			require.Equal(t, 0, code, "softkey %v: exit code; stderr:\n%s", tt.args, stderr)
			require.Empty(t, stdout, "softkey %v: stdout", tt.args)
			require.Empty(t, stderr, "softkey %v: stderr", tt.args)
			queued, defaults := k.uv.state()
			require.Equal(t, tt.wantQueued, queued, "softkey %v: queued outcomes", tt.args)
			require.Equal(t, tt.wantDefaults, defaults, "softkey %v: default outcomes set", tt.args)
			require.Equal(t, tt.wantCycles, k.powerCycles(), "softkey %v: power cycles", tt.args)
			require.Equal(t, tt.wantClock, k.clock.offset, "softkey %v: clock offset", tt.args)
		})
	}
}

func TestControlCommandsBadInput(t *testing.T) {
	tests := []struct {
		name      string
		args      []string
		noUV      bool
		wantError string
	}{
		{name: "outcome maybe", args: []string{"uv", "next", "maybe"}, wantError: `softkey: error: the outcome must be pass or fail, not "maybe"`},
		{name: "N zero", args: []string{"uv", "next", "pass", "0"}, wantError: `softkey: error: the count N must be a number from 1 to 1000, not "0"`},
		{name: "N too big", args: []string{"uv", "next", "pass", "1001"}, wantError: `softkey: error: the count N must be a number from 1 to 1000, not "1001"`},
		{name: "N not a number", args: []string{"uv", "next", "fail", "x"}, wantError: `softkey: error: the count N must be a number from 1 to 1000, not "x"`},
		{name: "too many args", args: []string{"uv", "next", "fail", "1", "2"}, wantError: "softkey: error: accepts between 1 and 2 arg(s), received 3"},
		{name: "default missing", args: []string{"uv", "default"}, wantError: "softkey: error: accepts 1 arg(s), received 0"},
		{name: "default maybe", args: []string{"uv", "default", "yes"}, wantError: `softkey: error: the outcome must be pass or fail, not "yes"`},
		{name: "power-cycle arg", args: []string{"power-cycle", "now"}, wantError: `softkey: error: unknown command "now" for "softkey power-cycle"`},
		{name: "no built-in uv", args: []string{"uv", "next", "fail"}, noUV: true, wantError: "refused: the key has no built-in user verification: run it with a profile that sets uv: true"},
		{name: "no built-in uv default", args: []string{"uv", "default", "fail"}, noUV: true, wantError: "refused: the key has no built-in user verification"},
		{name: "clock back", args: []string{"clock", "advance", "-1s"}, wantError: `unknown shorthand flag: '1' in -1s`},
		{name: "clock zero", args: []string{"clock", "advance", "0s"}, wantError: `softkey: error: DURATION must be a Go duration above 0 and at most 24h0m0s, such as 11s, not "0s"`},
		{name: "clock too far", args: []string{"clock", "advance", "25h"}, wantError: `DURATION must be a Go duration above 0`},
		{name: "clock not a duration", args: []string{"clock", "advance", "soon"}, wantError: `not "soon"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := startFakeControl(t, !tt.noUV)
			code, stdout, stderr := runSoftkey(append(tt.args, "--control", k.path)...)
			require.Equal(t, 1, code, "softkey %v: exit code; stderr:\n%s", tt.args, stderr)
			require.Empty(t, stdout, "softkey %v: stdout", tt.args)
			require.Contains(t, stderr, tt.wantError, "softkey %v: stderr", tt.args)
			queued, defaults := k.uv.state()
			require.Empty(t, queued, "softkey %v: the queue must stay empty", tt.args)
			require.Empty(t, defaults, "softkey %v: the default must stay unchanged", tt.args)
			require.Zero(t, k.powerCycles(), "softkey %v: no power cycle", tt.args)
			require.Zero(t, k.clock.offset, "softkey %v: the clock must not move", tt.args)
		})
	}
}

func TestControlNoRunningKey(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, "stale.sock")
	ln, err := net.Listen("unix", stale)
	require.NoError(t, err)
	ln.(*net.UnixListener).SetUnlinkOnClose(false)
	require.NoError(t, ln.Close())

	for _, path := range []string{filepath.Join(dir, "missing.sock"), stale} {
		code, _, stderr := runSoftkey("power-cycle", "--control", path)
		require.Equal(t, 1, code, "power-cycle --control %s: exit code", path)
		want := "softkey: error: no running key at " + path + "\nhint: start one with softkey run --control " + path + "\n"
		require.Equal(t, want, stderr, "power-cycle --control %s: stderr", path)
	}

	// Without --control, the socket in the vault directory is meant.
	vault := filepath.Join(dir, "vault")
	code, _, stderr := runSoftkey("uv", "next", "pass", "--vault", vault)
	require.Equal(t, 1, code)
	require.Contains(t, stderr, "softkey: error: no running key at "+filepath.Join(vault, "control.sock")+"\n")
}

func TestListenControl(t *testing.T) {
	dir := t.TempDir()

	t.Run("mode 0600", func(t *testing.T) {
		path := filepath.Join(dir, "mode.sock")
		ln, err := listenControl(path)
		require.NoError(t, err)
		defer ln.Close()
		fi, err := os.Stat(path)
		require.NoError(t, err)
		require.Equal(t, os.ModeSocket|0o600, fi.Mode(), "socket %s mode", path)
	})

	t.Run("stale socket replaced", func(t *testing.T) {
		path := filepath.Join(dir, "stale.sock")
		old, err := net.Listen("unix", path)
		require.NoError(t, err)
		old.(*net.UnixListener).SetUnlinkOnClose(false)
		require.NoError(t, old.Close())
		ln, err := listenControl(path)
		require.NoError(t, err, "listenControl over a stale socket")
		defer ln.Close()
		k := &controlServer{powerCycle: func() {}, logger: slog.New(slog.DiscardHandler)}
		ctx, cancel := context.WithCancel(context.Background())
		done := make(chan struct{})
		go func() { defer close(done); k.serve(ctx, ln) }()
		defer func() { cancel(); <-done }()
		require.NoError(t, sendControl(context.Background(), path, controlRequest{Command: controlPowerCycle}))
	})

	t.Run("live socket kept", func(t *testing.T) {
		k := startFakeControl(t, true)
		_, err := listenControl(k.path)
		require.ErrorContains(t, err, "another key listens there")
		// The first key still answers.
		require.NoError(t, sendControl(context.Background(), k.path, controlRequest{Command: controlPowerCycle}))
		require.Equal(t, 1, k.powerCycles())
	})

	t.Run("not a socket", func(t *testing.T) {
		path := filepath.Join(dir, "file")
		require.NoError(t, os.WriteFile(path, []byte("keep me"), 0o600))
		_, err := listenControl(path)
		require.ErrorContains(t, err, "the file exists and is not a socket")
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, "keep me", string(data), "the file must be left alone")
	})

	t.Run("path too long", func(t *testing.T) {
		path := filepath.Join(dir, strings.Repeat("x", 110))
		_, err := listenControl(path)
		require.ErrorContains(t, err, "a Unix socket's may be at most 107")
	})
}

// TestControlProtocol speaks the line protocol directly: every line gets
// one answer, and a bad line leaves the connection usable.
func TestControlProtocol(t *testing.T) {
	k := startFakeControl(t, true)
	conn, err := net.Dial("unix", k.path)
	require.NoError(t, err)
	defer conn.Close()
	r := bufio.NewReader(conn)
	exchange := func(line string) controlResponse {
		t.Helper()
		_, err := conn.Write([]byte(line + "\n"))
		require.NoError(t, err)
		answer, err := r.ReadBytes('\n')
		require.NoError(t, err, "answer to %s", line)
		var resp controlResponse
		require.NoError(t, json.Unmarshal(answer, &resp), "answer %q", answer)
		return resp
	}
	tests := []struct {
		line      string
		wantError string // "" for ok
	}{
		{line: `{"command":"uv-next","outcomes":[false,true]}`},
		{line: `not json`, wantError: "decoding the request: invalid character"},
		{line: `{"command":"reboot"}`, wantError: `unknown command "reboot"`},
		{line: `{"command":"uv-next"}`, wantError: "uv-next needs at least one outcome"},
		{line: `{"command":"uv-default"}`, wantError: "uv-default needs pass"},
		{line: `{"command":"uv-next","outcomes":[true],"extra":1}`, wantError: `unknown field "extra"`},
		{line: `{"command":"power-cycle"} {"command":"power-cycle"}`, wantError: "more than one JSON value on the line"},
		{line: `{"command":"uv-default","pass":false}`},
		{line: `{"command":"power-cycle"}`},
	}
	for _, tt := range tests {
		resp := exchange(tt.line)
		if tt.wantError == "" {
			require.Equal(t, controlResponse{OK: true}, resp, "request %s", tt.line)
		} else {
			require.False(t, resp.OK, "request %s", tt.line)
			require.Contains(t, resp.Error, tt.wantError, "request %s", tt.line)
		}
	}
	queued, defaults := k.uv.state()
	require.Equal(t, []bool{false, true}, queued, "only the good uv-next was carried out")
	require.Equal(t, []bool{false}, defaults)
	require.Equal(t, 1, k.powerCycles())

	// A line longer than the limit ends the connection with an error.
	_, err = conn.Write(append(bytes.Repeat([]byte("x"), maxControlLine+1), '\n'))
	require.NoError(t, err)
	answer, err := r.ReadBytes('\n')
	require.NoError(t, err)
	require.Contains(t, string(answer), "token too long")
	_, err = r.ReadBytes('\n')
	require.Error(t, err, "after a too long line the key closes the connection (EOF or reset)")
}

// TestControlDrivesUVScript checks that the control socket's orders reach
// the verifier softkey run gives the authenticator.
func TestControlDrivesUVScript(t *testing.T) {
	script := &authenticator.UVScript{}
	path := filepath.Join(t.TempDir(), "c.sock")
	ln, err := listenControl(path)
	require.NoError(t, err)
	cs := &controlServer{uv: script, powerCycle: func() {}, logger: slog.New(slog.DiscardHandler)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); cs.serve(ctx, ln) }()
	defer func() { cancel(); <-done }()

	for _, args := range [][]string{{"uv", "next", "fail", "2"}, {"uv", "next", "pass"}, {"uv", "default", "fail"}} {
		code, _, stderr := runSoftkey(append(args, "--control", path)...)
		require.Equal(t, 0, code, "softkey %v: %s", args, stderr)
	}
	var got []error
	for range 5 {
		got = append(got, script.VerifyUser(context.Background(), authenticator.VerifyRequest{Operation: "token"}))
	}
	want := []error{authenticator.ErrUVNoMatch, authenticator.ErrUVNoMatch, nil, authenticator.ErrUVNoMatch, authenticator.ErrUVNoMatch}
	require.Equal(t, want, got, "verifications after uv next fail 2, uv next pass, uv default fail")
}

func TestStartControl(t *testing.T) {
	dir := t.TempDir()
	longDir := filepath.Join(dir, strings.Repeat("d", 100))
	notSocket := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(notSocket, nil, 0o600))
	tests := []struct {
		name               string
		explicit, vaultDir string
		wantPath           string
		wantErr            string
		wantLog            string
	}{
		{name: "memory", wantPath: ""},
		{name: "vault default", vaultDir: dir, wantPath: filepath.Join(dir, "control.sock"), wantLog: "control socket"},
		{name: "explicit", explicit: filepath.Join(dir, "x.sock"), vaultDir: dir, wantPath: filepath.Join(dir, "x.sock"), wantLog: "control socket"},
		{name: "default too long", vaultDir: longDir, wantPath: "", wantLog: "no control socket; pass --control PATH for one"},
		{name: "explicit refused", explicit: notSocket, wantErr: "the file exists and is not a socket"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var logs bytes.Buffer
			cs := &controlServer{powerCycle: func() {}, logger: slog.New(slog.NewTextHandler(&logs, nil))}
			path, stop, err := startControl(context.Background(), tt.explicit, tt.vaultDir, cs)
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.wantPath, path)
			require.Contains(t, logs.String(), tt.wantLog)
			if path != "" {
				require.NoError(t, sendControl(context.Background(), path, controlRequest{Command: controlPowerCycle}))
			}
			stop()
			if path != "" {
				_, err := os.Stat(path)
				require.ErrorIs(t, err, os.ErrNotExist, "the socket is removed once stopped")
			}
		})
	}
}

// FuzzControlAnswer checks that any request line gets an answer, never a
// panic, and that a refused request changes nothing.
func FuzzControlAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"command":"uv-next","outcomes":[false,true]}`,
		`{"command":"uv-default","pass":true}`,
		`{"command":"power-cycle"}`,
		`{"command":"power-cycle"} {"command":"power-cycle"}`,
		`{"command":"uv-next","outcomes":null}`,
		`{"command":1}`,
		`[]`,
		``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, line []byte) {
		uv := &fakeUV{}
		cycles := 0
		cs := &controlServer{uv: uv, powerCycle: func() { cycles++ }, logger: slog.New(slog.DiscardHandler)}
		resp := cs.answer(line)
		queued, defaults := uv.state()
		if resp.OK == (resp.Error != "") {
			t.Fatalf("answer(%q) = %+v: want either ok or an error", line, resp)
		}
		if !resp.OK && (len(queued) > 0 || len(defaults) > 0 || cycles > 0) {
			t.Fatalf("answer(%q) refused (%s) but changed the key: queued %v, defaults %v, power cycles %d", line, resp.Error, queued, defaults, cycles)
		}
		if resp.OK && len(queued)+len(defaults)+cycles != max(1, len(queued)) {
			t.Fatalf("answer(%q) ok but did %d things: queued %v, defaults %v, power cycles %d", line, len(queued)+len(defaults)+cycles, queued, defaults, cycles)
		}
	})
}

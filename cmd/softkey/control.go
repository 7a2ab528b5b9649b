package main

// The control socket: a running key takes orders that a test would give a
// person holding a real key (put the right or the wrong finger on the
// sensor next time, unplug and replug it). It is a Unix socket, mode
// 0600, with one JSON object per line each way:
//
//	{"command":"uv-next","outcomes":[false,false,true]}  -> {"ok":true}
//	{"command":"uv-default","pass":false}                -> {"ok":true}
//	{"command":"power-cycle"}                            -> {"ok":true}
//	{"command":"clock-advance","seconds":11}             -> {"ok":true}
//	{"command":"nonsense"}                               -> {"ok":false,"error":"..."}

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"sync"
	"syscall"
	"time"
)

// controlSocketName is the control socket's name in the vault directory.
const controlSocketName = "control.sock"

// maxControlLine bounds one request line.
const maxControlLine = 4096

// controlIdle is how long the key waits for the next line of a connection.
const controlIdle = time.Minute

// Control commands.
const (
	controlUVNext       = "uv-next"
	controlUVDefault    = "uv-default"
	controlPowerCycle   = "power-cycle"
	controlClockAdvance = "clock-advance"
)

// controlRequest is one request line.
type controlRequest struct {
	Command string `json:"command"`
	// Outcomes are the next built-in verifications' results, in order
	// (uv-next): true recognises the user, false does not.
	Outcomes []bool `json:"outcomes,omitempty"`
	// Pass is the result once the queued outcomes are used up (uv-default).
	Pass *bool `json:"pass,omitempty"`
	// Seconds is how far the key's clock moves forward (clock-advance).
	Seconds float64 `json:"seconds,omitempty"`
}

// controlResponse is one response line.
type controlResponse struct {
	OK    bool   `json:"ok"`
	Error string `json:"error,omitempty"`
}

// uvScript is the part of authenticator.UVScript the control socket uses:
// a queue of outcomes for the built-in verifier and the outcome after it.
type uvScript interface {
	Next(outcomes ...bool)
	SetDefault(pass bool)
}

// controlServer carries out control requests for one key.
type controlServer struct {
	// uv is nil when the key's profile has no built-in user verification.
	uv uvScript
	// powerCycle unplugs and replugs the key.
	powerCycle func()
	// clock is the key's clock.
	clock  *keyClock
	logger *slog.Logger
}

// handle carries out one request.
func (s *controlServer) handle(req controlRequest) error {
	switch req.Command {
	case controlUVNext, controlUVDefault:
		if s.uv == nil {
			return errors.New("the key has no built-in user verification: run it with a profile that sets uv: true")
		}
		if req.Command == controlUVDefault {
			if req.Pass == nil {
				return errors.New("uv-default needs pass")
			}
			s.uv.SetDefault(*req.Pass)
			s.logger.Info("control: built-in user verification default", "pass", *req.Pass)
			return nil
		}
		if len(req.Outcomes) == 0 {
			return errors.New("uv-next needs at least one outcome")
		}
		s.uv.Next(req.Outcomes...)
		s.logger.Info("control: built-in user verification outcomes queued", "outcomes", req.Outcomes)
		return nil
	case controlPowerCycle:
		s.powerCycle()
		s.logger.Info("control: power cycle")
		return nil
	case controlClockAdvance:
		if s.clock == nil {
			return errors.New("this key's clock cannot be moved")
		}
		d := time.Duration(req.Seconds * float64(time.Second))
		if err := s.clock.advance(d); err != nil {
			return err
		}
		s.logger.Info("control: clock moved forward", "by", d)
		return nil
	}
	return fmt.Errorf("unknown command %q (want %s, %s, %s or %s)", req.Command, controlUVNext, controlUVDefault, controlPowerCycle, controlClockAdvance)
}

// answer decodes one request line, carries it out and returns the
// response line's content.
func (s *controlServer) answer(line []byte) controlResponse {
	var req controlRequest
	dec := json.NewDecoder(bytes.NewReader(line))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&req); err != nil {
		return controlResponse{Error: "decoding the request: " + err.Error()}
	}
	if dec.More() {
		return controlResponse{Error: "decoding the request: more than one JSON value on the line"}
	}
	if err := s.handle(req); err != nil {
		return controlResponse{Error: err.Error()}
	}
	return controlResponse{OK: true}
}

// serve answers connections on ln until ctx is done, then closes ln and
// waits for the connections to end.
func (s *controlServer) serve(ctx context.Context, ln net.Listener) {
	var wg sync.WaitGroup
	defer wg.Wait()
	defer ln.Close() // also when Accept fails for another reason
	stop := context.AfterFunc(ctx, func() { ln.Close() })
	defer stop()
	var mu sync.Mutex // requests are carried out one at a time
	for {
		conn, err := ln.Accept()
		if err != nil {
			if ctx.Err() == nil && !errors.Is(err, net.ErrClosed) {
				s.logger.Error("control socket", "error", err)
			}
			return
		}
		wg.Go(func() {
			defer conn.Close()
			closeOnDone := context.AfterFunc(ctx, func() { conn.Close() })
			defer closeOnDone()
			s.serveConn(conn, &mu)
		})
	}
}

// serveConn answers the request lines of one connection.
func (s *controlServer) serveConn(conn net.Conn, mu *sync.Mutex) {
	sc := bufio.NewScanner(conn)
	sc.Buffer(make([]byte, 0, 512), maxControlLine)
	enc := json.NewEncoder(conn)
	for {
		conn.SetReadDeadline(time.Now().Add(controlIdle))
		if !sc.Scan() {
			if err := sc.Err(); err != nil && !errors.Is(err, net.ErrClosed) && !errors.Is(err, os.ErrDeadlineExceeded) {
				s.logger.Warn("control socket: reading a request", "error", err)
				enc.Encode(controlResponse{Error: "reading the request: " + err.Error()})
			}
			return
		}
		mu.Lock()
		resp := s.answer(sc.Bytes())
		mu.Unlock()
		if err := enc.Encode(resp); err != nil {
			return
		}
	}
}

// startControl serves cs on the control socket: explicit (--control), or
// else control.sock in vaultDir, or none for a key in memory. It returns
// the socket's path ("" for none) and a function that stops serving and
// removes the socket. Failing to listen on the socket asked for is an
// error; the default one is a convenience, and the key runs without it.
func startControl(ctx context.Context, explicit, vaultDir string, cs *controlServer) (path string, stop func(), err error) {
	path = explicit
	if path == "" && vaultDir != "" {
		path = filepath.Join(vaultDir, controlSocketName)
	}
	if path == "" {
		return "", func() {}, nil
	}
	ln, err := listenControl(path)
	if err != nil && explicit != "" {
		return "", nil, err
	}
	if err != nil {
		cs.logger.Warn("no control socket; pass --control PATH for one", "error", err)
		return "", func() {}, nil
	}
	ctx, cancel := context.WithCancel(ctx)
	done := make(chan struct{})
	go func() {
		defer close(done)
		cs.serve(ctx, ln)
	}()
	cs.logger.Info("control socket", "path", path)
	return path, func() {
		cancel()
		<-done
	}, nil
}

// listenControl listens on the control socket at path, mode 0600. A socket
// file left by a key that is gone is replaced; a live one is an error.
func listenControl(path string) (net.Listener, error) {
	// sun_path holds 108 bytes with the terminating NUL (unix(7)).
	if len(path) > 107 {
		return nil, withHints(fmt.Errorf("control socket %s: the path is %d bytes long; a Unix socket's may be at most 107", path, len(path)),
			"pass --control with a shorter path")
	}
	if fi, err := os.Lstat(path); err == nil {
		if fi.Mode().Type() != fs.ModeSocket {
			return nil, fmt.Errorf("control socket %s: the file exists and is not a socket", path)
		}
		c, err := net.DialTimeout("unix", path, time.Second)
		if err == nil {
			c.Close()
			return nil, withHints(fmt.Errorf("control socket %s: another key listens there", path),
				"stop it first, or pass --control with another path")
		}
		if !errors.Is(err, syscall.ECONNREFUSED) {
			return nil, fmt.Errorf("control socket %s: %w", path, err)
		}
		if err := os.Remove(path); err != nil { // left by a key that was killed
			return nil, fmt.Errorf("control socket %s: removing the stale socket: %w", path, err)
		}
	}
	ln, err := net.Listen("unix", path)
	if err != nil {
		return nil, fmt.Errorf("control socket: %w", err)
	}
	// The socket is created with the umask's mode; only its owner may give
	// orders. (A key's vault directory is 0700 besides.)
	if err := os.Chmod(path, 0o600); err != nil {
		ln.Close()
		return nil, fmt.Errorf("control socket %s: %w", path, err)
	}
	return ln, nil
}

// controlPath is the control socket a command talks to: --control, else
// the one in the vault directory (--vault, else the default vault).
func controlPath(control, vaultDir string) (string, error) {
	if control != "" {
		return control, nil
	}
	if vaultDir == "" {
		d, err := defaultVaultDir()
		if err != nil {
			return "", err
		}
		vaultDir = d
	}
	return filepath.Join(vaultDir, controlSocketName), nil
}

// sendControl sends one request to the key listening at path and returns
// the key's error, if it answers with one.
func sendControl(ctx context.Context, path string, req controlRequest) error {
	var d net.Dialer
	conn, err := d.DialContext(ctx, "unix", path)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) {
			return withHints(fmt.Errorf("no running key at %s", path),
				"start one with softkey run --control "+path)
		}
		return fmt.Errorf("control socket %s: %w", path, err)
	}
	defer conn.Close()
	if deadline, ok := ctx.Deadline(); ok {
		conn.SetDeadline(deadline)
	}
	if err := json.NewEncoder(conn).Encode(req); err != nil {
		return fmt.Errorf("control socket %s: sending: %w", path, err)
	}
	line, err := bufio.NewReader(conn).ReadBytes('\n')
	if err != nil {
		return fmt.Errorf("control socket %s: no answer: %w", path, err)
	}
	var resp controlResponse
	if err := json.Unmarshal(line, &resp); err != nil {
		return fmt.Errorf("control socket %s: answer %q: %w", path, line, err)
	}
	if !resp.OK {
		return fmt.Errorf("the key at %s refused: %s", path, resp.Error)
	}
	return nil
}

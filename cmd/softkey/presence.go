package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
	"unicode"

	"golang.org/x/sys/unix"

	"github.com/softkeydev/softkey/authenticator"
)

// Presence modes accepted by `softkey run --presence`.
const (
	presenceAuto   = "auto"
	presencePrompt = "prompt"
	presenceDeny   = "deny"
)

// denyPresence refuses every request, for testing how relying parties and
// clients handle a user who says no.
type denyPresence struct{}

func (denyPresence) RequestPresence(context.Context, authenticator.PresenceRequest) error {
	return authenticator.ErrPresenceDenied
}

// terminal is what promptPresence needs from the controlling terminal: a
// reader whose blocking reads can be interrupted by a deadline, and a writer
// for the question. An *os.File opened on /dev/tty is one; so is an os.Pipe.
type terminal interface {
	io.ReadWriter
	SetReadDeadline(t time.Time) error
}

// promptPresence asks the person at the terminal to approve each request,
// as touching a real key would. Only one question is on the screen at a
// time; the engine handles one request at a time anyway.
type promptPresence struct {
	term    terminal
	timeout time.Duration

	mu sync.Mutex
}

// newPromptPresence opens the controlling terminal for prompting.
func newPromptPresence(timeout time.Duration) (*promptPresence, error) {
	// os.OpenFile registers a character device with the runtime poller,
	// so SetReadDeadline interrupts a pending read.
	tty, err := os.OpenFile("/dev/tty", os.O_RDWR, 0)
	if err != nil {
		return nil, fmt.Errorf("opening the terminal for --presence prompt: %w", err)
	}
	return &promptPresence{term: tty, timeout: timeout}, nil
}

// Close releases the terminal.
func (p *promptPresence) Close() error {
	if c, ok := p.term.(io.Closer); ok {
		return c.Close()
	}
	return nil
}

// RequestPresence asks "approve? [y/N]" and waits for a line. It answers
// nil for y or yes, ErrPresenceDenied for anything else (including end of
// input), ErrPresenceTimeout when no line comes within the timeout, and
// ctx.Err() when the host cancels (CTAPHID_CANCEL).
func (p *promptPresence) RequestPresence(ctx context.Context, req authenticator.PresenceRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return err
	}
	// Type-ahead must not approve a request the user has not seen yet.
	flushInput(p.term)
	if _, err := fmt.Fprintf(p.term, "softkey: %s — approve? [y/N] ", describePresence(req)); err != nil {
		return fmt.Errorf("writing the presence prompt: %w", err)
	}

	if err := p.term.SetReadDeadline(time.Now().Add(p.timeout)); err != nil {
		return fmt.Errorf("setting the presence timeout: %w", err)
	}
	defer p.term.SetReadDeadline(time.Time{})
	// A cancelled request wakes the blocked read at once.
	stop := context.AfterFunc(ctx, func() { p.term.SetReadDeadline(time.Now()) })
	defer stop()

	answer, err := readLine(p.term)
	switch {
	case ctx.Err() != nil:
		fmt.Fprintln(p.term, "\nsoftkey: request cancelled by the client")
		return ctx.Err()
	case errors.Is(err, os.ErrDeadlineExceeded):
		fmt.Fprintf(p.term, "\nsoftkey: no answer within %v, request timed out\n", p.timeout)
		return authenticator.ErrPresenceTimeout
	case errors.Is(err, io.EOF):
		fmt.Fprintln(p.term, "\nsoftkey: denied")
		return authenticator.ErrPresenceDenied
	case err != nil:
		return fmt.Errorf("reading the presence answer: %w", err)
	}
	switch strings.ToLower(strings.TrimSpace(answer)) {
	case "y", "yes":
		return nil
	}
	fmt.Fprintln(p.term, "softkey: denied")
	return authenticator.ErrPresenceDenied
}

// describePresence words a request for the prompt, for example
// "touch requested to register at example.org for alice". The RP ID and
// user name come from the host, so control characters are escaped: they
// must not reach the terminal.
func describePresence(req authenticator.PresenceRequest) string {
	var b strings.Builder
	b.WriteString("touch requested")
	if req.Operation != "" {
		b.WriteString(" to " + sanitize(req.Operation))
	}
	if req.RPID != "" {
		b.WriteString(" at " + sanitize(req.RPID))
	}
	if req.UserName != "" {
		b.WriteString(" for " + sanitize(req.UserName))
	}
	return b.String()
}

// sanitize escapes every rune that is not printable and cuts very long
// strings, so a host cannot move the cursor, recolour or flood the terminal.
func sanitize(s string) string {
	const maxRunes = 128
	var b strings.Builder
	n := 0
	for _, r := range s {
		if n == maxRunes {
			b.WriteString("…")
			break
		}
		n++
		if unicode.IsPrint(r) {
			b.WriteRune(r)
			continue
		}
		if r <= 0xffff {
			fmt.Fprintf(&b, `\u%04x`, r)
		} else {
			fmt.Fprintf(&b, `\U%08x`, r)
		}
	}
	return b.String()
}

// readLine reads up to a newline, one byte at a time so that nothing past
// the answer is consumed. A terminal in canonical mode delivers whole lines
// anyway; the limit keeps a stuck key from growing the buffer.
func readLine(r io.Reader) (string, error) {
	var line []byte
	var buf [1]byte
	for len(line) < 256 {
		n, err := r.Read(buf[:])
		if n == 1 {
			if buf[0] == '\n' {
				return string(line), nil
			}
			line = append(line, buf[0])
			continue
		}
		if err != nil {
			if errors.Is(err, io.EOF) && len(line) > 0 {
				return string(line), nil
			}
			return "", err
		}
	}
	return string(line), nil
}

// flushInput discards unread terminal input, if t is a terminal.
func flushInput(t terminal) {
	f, ok := t.(*os.File)
	if !ok {
		return
	}
	// SyscallConn, unlike Fd, leaves the file in non-blocking mode so
	// that deadlines keep working.
	rc, err := f.SyscallConn()
	if err != nil {
		return
	}
	rc.Control(func(fd uintptr) {
		unix.IoctlSetInt(int(fd), unix.TCFLSH, unix.TCIFLUSH)
	})
}

// presenceFromFlag builds the Presence that --presence names. The returned
// function releases what it holds (the terminal, for prompt). For desktop,
// a missing display or dialog program is an error here, at start.
func presenceFromFlag(mode string, timeout time.Duration) (authenticator.Presence, func(), error) {
	switch mode {
	case presenceAuto:
		return authenticator.AlwaysPresent, func() {}, nil
	case presenceDeny:
		return denyPresence{}, func() {}, nil
	case presenceDesktop:
		if timeout <= 0 {
			return nil, nil, fmt.Errorf("--presence-timeout must be positive, not %v", timeout)
		}
		p, err := newDesktopPresence(desktopSession{env: os.Environ()}, timeout)
		if err != nil {
			return nil, nil, err
		}
		return p, func() {}, nil
	case presencePrompt:
		if timeout <= 0 {
			return nil, nil, fmt.Errorf("--presence-timeout must be positive, not %v", timeout)
		}
		p, err := newPromptPresence(timeout)
		if err != nil {
			return nil, nil, withHints(err,
				"--presence prompt asks on the controlling terminal (/dev/tty), and this process has none",
				"use --presence auto to approve every request, for example in tests")
		}
		return p, func() { p.Close() }, nil
	}
	return nil, nil, fmt.Errorf("--presence must be auto, prompt, desktop or deny, not %q", mode)
}

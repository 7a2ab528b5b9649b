package main

// A terminal for the tools that ask for a PIN. libfido2's fido2-token,
// fido2-cred and fido2-assert, and OpenSSH's ssh-keygen, read PINs with
// readpassphrase(3), which opens /dev/tty, the controlling terminal: each
// tool runs in a session of its own whose controlling terminal is a fresh
// pseudo-terminal, and the test reads its master, waits for each question
// and types the answer.

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softkeydev/softkey/testvectors/ci"
	"golang.org/x/sys/unix"
)

// ttyTimeout bounds every command run on a terminal.
const ttyTimeout = 30 * time.Second

// ttyPrompt is a question a tool asks on its terminal and what the test
// types in reply (a newline is added).
type ttyPrompt struct {
	prompt string // a part of the question, e.g. "Enter new PIN for "
	answer string
}

// pinPrompt is libfido2's tools' question for the PIN of a device, and
// the reply.
func pinPrompt(pin string) ttyPrompt { return ttyPrompt{"Enter PIN for ", pin} }

// ttyResult is what a command run on a terminal did.
type ttyResult struct {
	stdout, stderr string
	tty            string   // everything the command wrote on the terminal
	err            error    // the exit status
	unasked        []string // the prompts of the script never shown
}

func (r ttyResult) String() string {
	return fmt.Sprintf("exit: %v\nquestions never asked: %q\nstdout:\n%s\nstderr:\n%s\nterminal:\n%s", r.err, r.unasked, r.stdout, r.stderr, r.tty)
}

// mustTTY runs a command with a terminal of its own (see tryTTY) and fails
// the test unless it exits 0 having asked every question in prompts.
func mustTTY(t *testing.T, env []string, prompts []ttyPrompt, name string, args ...string) ttyResult {
	t.Helper()
	return mustTTYIn(t, "", env, prompts, name, args...)
}

// mustTTYIn is mustTTY in the working directory dir ("": the test's).
func mustTTYIn(t *testing.T, dir string, env []string, prompts []ttyPrompt, name string, args ...string) ttyResult {
	t.Helper()
	r := tryTTYIn(t, dir, env, prompts, name, args...)
	if r.err != nil || len(r.unasked) > 0 {
		t.Fatalf("%s %s: want exit 0 with every question asked\n%s", name, strings.Join(args, " "), r)
	}
	return r
}

// tryTTY runs a command with a pseudo-terminal as its controlling
// terminal and its stdin, stdout and stderr going to buffers. Each time
// the terminal shows the next question of prompts, it types the answer.
// The questions must come in that order. A question the script does not
// expect (a line that starts with "Enter " and waits for input) fails the
// test at once, as does a command that runs for more than ttyTimeout: its
// whole process group is killed.
func tryTTY(t *testing.T, env []string, prompts []ttyPrompt, name string, args ...string) ttyResult {
	t.Helper()
	return tryTTYIn(t, "", env, prompts, name, args...)
}

// tryTTYIn is tryTTY in the working directory dir ("": the test's).
func tryTTYIn(t *testing.T, dir string, env []string, prompts []ttyPrompt, name string, args ...string) ttyResult {
	t.Helper()
	master, slave := openPTY(t)
	defer master.Close()

	ctx, cancel := context.WithTimeout(context.Background(), ttyTimeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Dir = dir
	// OpenSSH reads a PIN from the terminal only when stdin is one too.
	cmd.Stdin = slave
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true, Setctty: true, Ctty: 0}
	// Setsid makes the tool a process group leader: kill its helpers too
	// (ssh-keygen runs ssh-sk-helper).
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	err := cmd.Start()
	slave.Close() // the tool's copy is the one that counts: EIO on the master once it exits
	if err != nil {
		t.Fatalf("starting %s: %v", name, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	chunks := readChunks(master)

	var (
		tty        []byte
		done       int // bytes of tty already matched
		next       int // index of the next prompt
		unexpected string
		r          ttyResult
	)
	onOutput := func() {
		for next < len(prompts) {
			i := bytes.Index(tty[done:], []byte(prompts[next].prompt))
			if i < 0 {
				break
			}
			done += i + len(prompts[next].prompt)
			if _, err := master.WriteString(prompts[next].answer + "\n"); err != nil {
				t.Errorf("typing the answer to %q: %v", prompts[next].prompt, err)
			}
			next++
		}
		// A question waits for input: the output stops after ": ".
		if rest := string(tty[done:]); unexpected == "" && strings.HasSuffix(rest, ": ") {
			if i := strings.LastIndex(rest, "Enter "); i >= 0 && !strings.Contains(rest[i:], "\n") {
				unexpected = rest[i:]
				cancel()
			}
		}
	}
wait:
	for {
		select {
		case c, ok := <-chunks:
			if !ok {
				chunks = nil
				continue
			}
			tty = append(tty, c...)
			onOutput()
		case r.err = <-exited:
			break wait
		}
	}
	// What the tool wrote last is still in the master's buffer; the read
	// fails with EIO once it is drained, as no one holds the slave anymore.
	drain := time.NewTimer(5 * time.Second)
	defer drain.Stop()
	for chunks != nil {
		select {
		case c, ok := <-chunks:
			if !ok {
				chunks = nil
			}
			tty = append(tty, c...)
		case <-drain.C:
			chunks = nil
		}
	}

	r.stdout, r.stderr, r.tty = stdout.String(), stderr.String(), string(tty)
	for _, p := range prompts[next:] {
		r.unasked = append(r.unasked, p.prompt)
	}
	switch {
	case unexpected != "":
		t.Fatalf("%s %s asked %q, which the test did not expect (answered %d of %d questions)\n%s", name, strings.Join(args, " "), unexpected, next, len(prompts), r)
	case errors.Is(ctx.Err(), context.DeadlineExceeded):
		t.Fatalf("%s %s did not finish within %v; next question expected: %q\n%s", name, strings.Join(args, " "), ttyTimeout, r.unasked, r)
	}
	return r
}

// readChunks reads the master until it fails, and sends what it reads.
func readChunks(master *os.File) <-chan []byte {
	ch := make(chan []byte, 64)
	go func() {
		defer close(ch)
		buf := make([]byte, 4096)
		for {
			n, err := master.Read(buf)
			if n > 0 {
				ch <- bytes.Clone(buf[:n])
			}
			if err != nil {
				return
			}
		}
	}()
	return ch
}

// openPTY opens a new pseudo-terminal pair; the master is closed when
// the test ends.
func openPTY(t *testing.T) (master, slave *os.File) {
	t.Helper()
	// Opened through os, the master uses the runtime poller, so Close
	// interrupts a Read.
	master, err := os.OpenFile("/dev/ptmx", os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		ci.Unavailable(t, "no pseudo-terminals here: %v", err)
	}
	t.Cleanup(func() { master.Close() })
	rc, err := master.SyscallConn()
	if err != nil {
		t.Fatal(err)
	}
	var n int
	var ioctlErr error
	if err := rc.Control(func(fd uintptr) {
		// unlockpt(3) and ptsname(3).
		if ioctlErr = unix.IoctlSetPointerInt(int(fd), unix.TIOCSPTLCK, 0); ioctlErr == nil {
			n, ioctlErr = unix.IoctlGetInt(int(fd), unix.TIOCGPTN)
		}
	}); err != nil {
		t.Fatal(err)
	}
	if ioctlErr != nil {
		t.Fatalf("unlocking the pseudo-terminal: %v", ioctlErr)
	}
	slave, err = os.OpenFile(fmt.Sprintf("/dev/pts/%d", n), os.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("opening the pseudo-terminal's slave: %v", err)
	}
	return master, slave
}

// TestTTYHarness checks the harness on a shell script that asks on
// /dev/tty as readpassphrase(3) does, so that a broken harness is not
// mistaken for a broken key.
func TestTTYHarness(t *testing.T) {
	sh := requireTool(t, "sh")
	script := `printf 'Enter current PIN for dev: ' >/dev/tty; read a </dev/tty
printf 'Enter new PIN for dev: ' >/dev/tty; read b </dev/tty
echo "current=$a new=$b"; echo oops >&2; exit 3`
	r := tryTTY(t, nil, []ttyPrompt{{"Enter current PIN", "1234"}, {"Enter new PIN", "5678"}}, sh, "-c", script)
	var exit *exec.ExitError
	if !errors.As(r.err, &exit) || exit.ExitCode() != 3 {
		t.Errorf("exit status %v, want 3\n%s", r.err, r)
	}
	if r.stdout != "current=1234 new=5678\n" || r.stderr != "oops\n" || len(r.unasked) != 0 {
		t.Errorf("got stdout %q, stderr %q, unasked %q; want the two answers, oops and none\n%s", r.stdout, r.stderr, r.unasked, r)
	}
	if !strings.Contains(r.tty, "Enter new PIN for dev: ") {
		t.Errorf("terminal shows %q, want both questions", r.tty)
	}

	// A question the script never shows is reported, not waited for.
	r = tryTTY(t, nil, []ttyPrompt{pinPrompt("1234")}, sh, "-c", "echo no question")
	if r.err != nil || len(r.unasked) != 1 {
		t.Errorf("unasked %q, exit %v; want the PIN question unasked and exit 0", r.unasked, r.err)
	}
}

// TestTTYHarnessUnexpectedQuestion runs itself as a child: a question the
// script does not expect fails the test at once, naming the question,
// instead of waiting for the timeout.
func TestTTYHarnessUnexpectedQuestion(t *testing.T) {
	sh := requireTool(t, "sh")
	if os.Getenv("SOFTKEY_TTY_CHILD") == "1" {
		tryTTY(t, nil, []ttyPrompt{pinPrompt("1234")}, sh, "-c", `printf 'Enter PIN for dev: ' >/dev/tty; read a </dev/tty
printf 'Enter new PIN for dev: ' >/dev/tty; read b </dev/tty`)
		return
	}
	start := time.Now()
	// -test.short: the child needs no softkey binary.
	cmd := exec.Command(os.Args[0], "-test.run=^TestTTYHarnessUnexpectedQuestion$", "-test.short", "-test.v")
	cmd.Env = append(os.Environ(), "SOFTKEY_TTY_CHILD=1")
	out, err := cmd.CombinedOutput()
	want := `asked "Enter new PIN for dev: ", which the test did not expect (answered 1 of 1 questions)`
	if err == nil || !strings.Contains(string(out), want) {
		t.Errorf("child: %v\n%s\nwant a failure with %q", err, out, want)
	}
	if elapsed := time.Since(start); elapsed >= ttyTimeout {
		t.Errorf("the child took %v, want a failure before the %v timeout", elapsed, ttyTimeout)
	}
}

package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
	"unicode/utf8"

	"github.com/softkeydev/softkey/authenticator"
)

// presenceDesktop is the --presence mode that asks with a desktop dialog.
const presenceDesktop = "desktop"

// desktopSession is what --presence desktop takes from the process
// environment: where to look for a dialog program ($PATH), whether there is
// a display to show it on, and the environment the dialog runs with.
// Tests give it a PATH of fake programs.
type desktopSession struct {
	env []string // as from os.Environ
}

// getenv returns the last value of key in the environment, as the C
// library does, or "".
func (s desktopSession) getenv(key string) string {
	for i := len(s.env) - 1; i >= 0; i-- {
		if v, ok := strings.CutPrefix(s.env[i], key+"="); ok {
			return v
		}
	}
	return ""
}

// lookPath finds an executable named name in the session's $PATH, as a
// shell would, or returns an error.
func (s desktopSession) lookPath(name string) (string, error) {
	for _, dir := range filepath.SplitList(s.getenv("PATH")) {
		if dir == "" || !filepath.IsAbs(dir) {
			continue // like exec.LookPath, never resolve against the working directory
		}
		path := filepath.Join(dir, name)
		fi, err := os.Stat(path)
		if err == nil && fi.Mode().IsRegular() && fi.Mode().Perm()&0o111 != 0 {
			return path, nil
		}
	}
	return "", fmt.Errorf("%s: %w", name, fs.ErrNotExist)
}

// hasDisplay reports whether the environment names a graphical session
// (X11 or Wayland); whether it can be reached is checkDisplay's concern.
func (s desktopSession) hasDisplay() bool {
	return s.getenv("DISPLAY") != "" || s.getenv("WAYLAND_DISPLAY") != ""
}

// dialogQuestion is what a dialog shows: the request and how long the user
// has to answer it.
type dialogQuestion struct {
	req     authenticator.PresenceRequest
	timeout time.Duration
}

// dialogProgram is a desktop program that can put a yes/no question on the
// screen and say which answer was chosen.
type dialogProgram struct {
	name string
	// args is the program's command line for q, host-supplied strings
	// escaped for the program.
	args func(q dialogQuestion) []string
	// answer turns how the program ended into the request's outcome: nil,
	// ErrPresenceDenied, ErrPresenceTimeout, or an error when the program
	// could not ask.
	answer func(code int, stdout, stderr string) error
	// usable, if set, checks at start that the program found on $PATH can
	// ask at all; if not, the next program is tried.
	usable func(ctx context.Context, s desktopSession, path string) error
	// gtk marks GTK programs, which cannot even print their version
	// without the display: `--version` checks at start that the display
	// can be reached.
	gtk bool
}

// dialogPrograms are the programs --presence desktop tries, in order: the
// dialogs of GNOME (and most other desktops), KDE and yad, then a
// notification with actions.
func dialogPrograms() []dialogProgram {
	return []dialogProgram{zenityDialog(), kdialogDialog(), yadDialog(), notifySendDialog()}
}

// dialogTitle is the window title of every dialog.
const dialogTitle = "softkey: touch requested"

// zenityDialog asks with `zenity --question`. Its text is Pango markup, and
// zenity expands backslash escapes in it (g_strcompress), so both are
// escaped. Deny is the default button: a stray Enter must not approve.
// zenity exits 0 for the OK button, 1 for Cancel or a closed window, 5 when
// its --timeout expires.
func zenityDialog() dialogProgram {
	return dialogProgram{
		name: "zenity",
		gtk:  true,
		args: func(q dialogQuestion) []string {
			return []string{
				"--question",
				"--title=" + dialogTitle,
				"--text=" + escapeBackslashes(markupText(q)),
				"--ok-label=_Approve",
				"--cancel-label=_Deny",
				"--default-cancel",
				"--timeout=" + strconv.Itoa(timeoutSeconds(q.timeout)),
				"--width=420",
			}
		},
		answer: byExitCode("zenity", map[int]error{0: nil, 1: authenticator.ErrPresenceDenied, 5: authenticator.ErrPresenceTimeout}),
	}
}

// byExitCode answers from a dialog's exit status alone: codes maps each
// status the program documents to its outcome (nil approves); any other
// status means the dialog failed.
func byExitCode(name string, codes map[int]error) func(code int, stdout, stderr string) error {
	return func(code int, _, stderr string) error {
		if outcome, ok := codes[code]; ok {
			return outcome
		}
		return dialogFailed(name, code, stderr)
	}
}

// kdialogDialog asks with `kdialog --warningyesno`, whose default button is
// No (KMessageBox::warningYesNo). kdialog shows rich text when the text
// looks like HTML, so the text is always HTML (<qt>) with host-supplied
// strings escaped. It exits 0 for Yes and 1 for No or Escape; it has no
// timeout of its own.
func kdialogDialog() dialogProgram {
	return dialogProgram{
		name: "kdialog",
		args: func(q dialogQuestion) []string {
			details := strings.ReplaceAll(escapeHTML(detailText(q.timeout)), "\n", "<br>")
			text := "<qt><b>" + questionText(q.req, escapeHTML) + "</b><br><br>" + details + "</qt>"
			return []string{
				"--title", dialogTitle,
				"--yes-label", "Approve",
				"--no-label", "Deny",
				"--warningyesno", text,
			}
		},
		answer: byExitCode("kdialog", map[int]error{0: nil, 1: authenticator.ErrPresenceDenied}),
	}
}

// yadDialog asks with yad's default dialog and two buttons, Deny first (it
// has the focus, so Enter denies). Like zenity, yad's text is Pango markup
// with backslash escapes. yad exits with the button's number, 252 for
// Escape or a closed window, 70 when its --timeout expires.
func yadDialog() dialogProgram {
	return dialogProgram{
		name: "yad",
		gtk:  true,
		args: func(q dialogQuestion) []string {
			return []string{
				"--title=" + dialogTitle,
				"--text=" + escapeBackslashes(markupText(q)),
				"--image=dialog-question",
				"--button=_Deny:1",
				"--button=_Approve:0",
				"--timeout=" + strconv.Itoa(timeoutSeconds(q.timeout)),
				"--center",
				"--on-top",
				"--width=420",
			}
		},
		answer: byExitCode("yad", map[int]error{0: nil, 1: authenticator.ErrPresenceDenied, 252: authenticator.ErrPresenceDenied, 70: authenticator.ErrPresenceTimeout}),
	}
}

// notifySendDialog asks with a notification that has Approve and Deny
// actions. notify-send (libnotify 0.7.9 and later) waits for an action
// and prints its name; it prints nothing when the notification is closed
// without one, and says "Wait timeout expired" when --expire-time passes.
// The body is markup for servers that support it, and notify-send expands
// backslash escapes in it. A cancelled request kills notify-send; the
// notification itself then stays until the server expires it, and
// choosing an action on it no longer does anything.
func notifySendDialog() dialogProgram {
	return dialogProgram{
		name: "notify-send",
		args: func(q dialogQuestion) []string {
			return []string{
				"--app-name=softkey",
				"--urgency=critical",
				"--icon=dialog-password",
				"--expire-time=" + strconv.FormatInt(q.timeout.Milliseconds(), 10),
				"--wait",
				"--action=approve=Approve",
				"--action=deny=Deny",
				"--",
				dialogTitle,
				escapeBackslashes(markupText(q)),
			}
		},
		answer: func(code int, stdout, stderr string) error {
			if code != 0 {
				return dialogFailed("notify-send", code, stderr)
			}
			switch strings.TrimSpace(stdout) {
			case "approve":
				return nil
			case "deny":
				return authenticator.ErrPresenceDenied
			case "":
				if strings.Contains(stderr, "Wait timeout expired") {
					return authenticator.ErrPresenceTimeout
				}
				return authenticator.ErrPresenceDenied // closed without a choice
			}
			return fmt.Errorf("notify-send printed an unknown action %q", sanitize(strings.TrimSpace(stdout)))
		},
		usable: func(ctx context.Context, s desktopSession, path string) error {
			// Older notify-send has no --action and would show a
			// notification nobody can answer.
			ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, path, "--help")
			cmd.Env = s.env
			out, err := cmd.Output()
			if err != nil {
				return fmt.Errorf("running %s --help: %w", path, err)
			}
			if !bytes.Contains(out, []byte("--action")) {
				return fmt.Errorf("%s has no --action (libnotify 0.7.9 or later needed)", path)
			}
			return nil
		},
	}
}

// checkDisplay runs a GTK dialog program's --version, which needs the
// display, and reports an error if GTK says it cannot open it. Any other
// outcome is left for the first request to find.
func checkDisplay(ctx context.Context, s desktopSession, path string) error {
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	var stderr limitedBuffer
	cmd := exec.CommandContext(ctx, path, "--version")
	cmd.Env = s.env
	cmd.Stderr = &stderr
	_ = cmd.Run() // only what GTK says about the display matters here
	if msg := stderr.String(); strings.Contains(msg, "cannot open display") {
		return fmt.Errorf("--presence desktop: %s cannot open the display: %s", filepath.Base(path), lastLine(msg))
	}
	return nil
}

// dialogFailed words an exit the program does not use for an answer.
func dialogFailed(name string, code int, stderr string) error {
	if msg := lastLine(stderr); msg != "" {
		return fmt.Errorf("%s exited with status %d: %s", name, code, msg)
	}
	return fmt.Errorf("%s exited with status %d", name, code)
}

// desktopPresence asks for each touch with a dialog on the desktop, through
// the first dialog program found when softkey started. One dialog is on the
// screen at a time.
type desktopPresence struct {
	session desktopSession
	program dialogProgram
	path    string // the program's absolute path
	timeout time.Duration
	// withTimeout bounds each dialog; nil means context.WithTimeout.
	// Tests replace it to end the wait on cue instead of on the clock.
	withTimeout func(ctx context.Context, d time.Duration) (context.Context, context.CancelFunc)

	mu sync.Mutex
}

// newDesktopPresence checks that there is a display and picks the dialog
// program, so that a missing one is reported when softkey starts rather
// than at the first touch.
func newDesktopPresence(s desktopSession, timeout time.Duration) (*desktopPresence, error) {
	alternatives := "or answer at the terminal with --presence prompt (or approve every request with --presence auto, for tests)"
	if !s.hasDisplay() {
		return nil, withHints(
			errors.New("--presence desktop needs a desktop session, and neither $DISPLAY nor $WAYLAND_DISPLAY is set"),
			"run softkey from a terminal inside your desktop session (ssh and sudo usually drop these variables)",
			alternatives)
	}
	var skipped []string
	for _, prog := range dialogPrograms() {
		path, err := s.lookPath(prog.name)
		if err != nil {
			continue
		}
		if prog.usable != nil {
			if err := prog.usable(context.Background(), s, path); err != nil {
				skipped = append(skipped, err.Error())
				continue
			}
		}
		if prog.gtk {
			if err := checkDisplay(context.Background(), s, path); err != nil {
				return nil, withHints(err,
					"run softkey from a terminal inside your desktop session, where $DISPLAY names a display you can reach",
					alternatives)
			}
		}
		return &desktopPresence{session: s, program: prog, path: path, timeout: timeout}, nil
	}
	hints := []string{
		"install one, for example: sudo apt install zenity (GNOME and most desktops), or kdialog (KDE), yad, or libnotify-bin",
		alternatives,
	}
	for _, why := range skipped {
		hints = append(hints, "skipped "+why)
	}
	return nil, withHints(errors.New("--presence desktop found no dialog program it can use on $PATH: zenity, kdialog, yad, or notify-send with --action"), hints...)
}

// RequestPresence shows the dialog and waits for it. Approve answers nil;
// Deny, Escape or closing the dialog answer ErrPresenceDenied; the dialog's
// own timeout or ours answer ErrPresenceTimeout; a cancelled request
// (CTAPHID_CANCEL) kills the dialog and answers ctx.Err().
func (p *desktopPresence) RequestPresence(ctx context.Context, req authenticator.PresenceRequest) error {
	p.mu.Lock()
	defer p.mu.Unlock()

	if err := ctx.Err(); err != nil {
		return err
	}
	withTimeout := p.withTimeout
	if withTimeout == nil {
		withTimeout = context.WithTimeout
	}
	dctx, cancel := withTimeout(ctx, p.timeout)
	defer cancel()

	var stdout, stderr limitedBuffer
	cmd := exec.CommandContext(dctx, p.path, p.program.args(dialogQuestion{req: req, timeout: p.timeout})...)
	cmd.Env = p.session.env
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	// The dialog gets its own process group, so that a wrapper script and
	// everything it started go together.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = time.Second // bounds Wait if something else holds the pipes

	err := cmd.Run()
	switch {
	case ctx.Err() != nil:
		return ctx.Err()
	case dctx.Err() != nil:
		return authenticator.ErrPresenceTimeout
	}
	var exitErr *exec.ExitError
	if err != nil && !errors.As(err, &exitErr) && !errors.Is(err, exec.ErrWaitDelay) {
		return fmt.Errorf("running %s: %w", p.program.name, err)
	}
	code := cmd.ProcessState.ExitCode()
	if code < 0 {
		return fmt.Errorf("%s ended by %v", p.program.name, cmd.ProcessState)
	}
	// GTK programs exit 1, the code for Deny, when they cannot reach the
	// display; that is a failure to ask, not an answer.
	if msg := stderr.String(); strings.Contains(msg, "cannot open display") {
		return fmt.Errorf("%s cannot open the display: %s", p.program.name, lastLine(msg))
	}
	return p.program.answer(code, stdout.String(), stderr.String())
}

// questionText says what a touch would approve, for example "Register with
// example.org as alice?". esc escapes the host-supplied strings for the
// dialog program, after control characters are made visible and long
// strings cut.
func questionText(req authenticator.PresenceRequest, esc func(string) string) string {
	rp := esc(sanitize(clip(req.RPID, 64)))
	user := esc(sanitize(clip(req.UserName, 64)))
	switch req.Operation {
	case "register":
		switch {
		case rp != "" && user != "":
			return "Register with " + rp + " as " + user + "?"
		case rp != "":
			return "Register with " + rp + "?"
		}
		return "Register a new credential?"
	case "authenticate":
		if rp != "" {
			return "Sign in to " + rp + "?"
		}
		return "Sign in with this key?"
	case "reset":
		return "Reset the key: every credential will be lost?"
	case "select":
		return "Use this security key?"
	case "":
		return "Approve a touch?"
	}
	return "Approve a touch to " + esc(sanitize(clip(req.Operation, 32))) + "?"
}

// detailText tells the user what the dialog stands for and how long it
// waits.
func detailText(timeout time.Duration) string {
	return "softkey asks instead of a touch on a hardware key.\n" +
		"The request is refused if you do not answer within " + durationWords(timeout) + "."
}

// markupText is the dialog text in Pango markup: the question in bold,
// then the details.
func markupText(q dialogQuestion) string {
	return "<b>" + questionText(q.req, escapeMarkup) + "</b>\n\n" + escapeMarkup(detailText(q.timeout))
}

// escapeMarkup escapes s for Pango markup (and for notification bodies,
// which use a subset of it).
func escapeMarkup(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}

// escapeHTML escapes s for Qt rich text.
func escapeHTML(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;", `"`, "&quot;", "'", "&#39;").Replace(s)
}

// escapeBackslashes doubles every backslash, for programs that expand
// C-style escapes (g_strcompress) in their text: a host must not turn
// "\n" in its RP ID into a line break.
func escapeBackslashes(s string) string {
	return strings.ReplaceAll(s, `\`, `\\`)
}

// clip cuts s to at most n runes, marking the cut with an ellipsis.
func clip(s string, n int) string {
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	i := 0
	for pos := range s {
		if i == n {
			return s[:pos] + "…"
		}
		i++
	}
	return s
}

// timeoutSeconds rounds d up to whole seconds, at least one, for the
// programs' --timeout options.
func timeoutSeconds(d time.Duration) int {
	s := int((d + time.Second - 1) / time.Second)
	return max(s, 1)
}

// durationWords says d in words: "30 seconds", "1 second", "5 minutes".
func durationWords(d time.Duration) string {
	s := timeoutSeconds(d)
	switch {
	case s == 1:
		return "1 second"
	case s < 120 || s%60 != 0:
		return strconv.Itoa(s) + " seconds"
	}
	return strconv.Itoa(s/60) + " minutes"
}

// lastLine is the last non-empty line of s, sanitized and shortened, for
// error messages.
func lastLine(s string) string {
	lines := strings.Split(strings.TrimSpace(s), "\n")
	return sanitize(clip(strings.TrimSpace(lines[len(lines)-1]), 200))
}

// limitedBuffer keeps the first 4 KiB written to it and discards the rest,
// so a chatty dialog cannot grow softkey's memory.
type limitedBuffer struct {
	buf bytes.Buffer
}

func (b *limitedBuffer) Write(p []byte) (int, error) {
	const limit = 4096
	if room := limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (b *limitedBuffer) String() string { return b.buf.String() }

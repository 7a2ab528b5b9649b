package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softkeydev/softkey/authenticator"
)

// fakeDialog describes a stand-in for zenity, kdialog, yad or notify-send:
// a shell script that records its arguments, prints what it is told and
// exits with a chosen status, or hangs until it is killed.
type fakeDialog struct {
	exit   int
	stdout string
	stderr string
	hang   bool
	help   string // printed for --help (notify-send's check for --action)
	// versionStderr is printed to stderr by --version (the display check of
	// GTK programs), which then exits 1; empty: it prints a version.
	versionStderr string
}

// fakeDesktop is a directory of fake dialog programs, used as $PATH.
type fakeDesktop struct {
	t     *testing.T
	dir   string
	sleep string // absolute path of sleep: $PATH holds only the fakes
}

func newFakeDesktop(t *testing.T) *fakeDesktop {
	t.Helper()
	sleep, err := exec.LookPath("sleep")
	if err != nil {
		t.Skipf("no sleep command: %v", err)
	}
	return &fakeDesktop{t: t, dir: t.TempDir(), sleep: sleep}
}

// shellQuote quotes s for sh.
func shellQuote(s string) string {
	return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'"
}

// add writes the fake program name.
func (d *fakeDesktop) add(name string, f fakeDialog) {
	d.t.Helper()
	var b strings.Builder
	b.WriteString("#!/bin/sh\n")
	fmt.Fprintf(&b, "if [ \"$1\" = --help ]; then printf '%%s\\n' %s; exit 0; fi\n", shellQuote(f.help))
	if f.versionStderr != "" {
		fmt.Fprintf(&b, "if [ \"$1\" = --version ]; then printf '%%s\\n' %s >&2; exit 1; fi\n", shellQuote(f.versionStderr))
	} else {
		b.WriteString("if [ \"$1\" = --version ]; then echo 1.0; exit 0; fi\n")
	}
	fmt.Fprintf(&b, "printf '%%s\\0' \"$@\" > %s\n", shellQuote(d.file(name, "args")))
	fmt.Fprintf(&b, "printf '%%s' %s\n", shellQuote(f.stdout))
	fmt.Fprintf(&b, "printf '%%s' %s >&2\n", shellQuote(f.stderr))
	if f.hang {
		// A child in the same process group that holds stdout, as a
		// wrapper script's dialog would; then both PIDs go to the
		// "started" file (a FIFO when the test waits for them).
		fmt.Fprintf(&b, "%s 300 &\n", shellQuote(d.sleep))
		fmt.Fprintf(&b, "echo \"$$ $!\" > %s\n", shellQuote(d.file(name, "started")))
		b.WriteString("wait\n")
	}
	fmt.Fprintf(&b, "exit %d\n", f.exit)
	if err := os.WriteFile(filepath.Join(d.dir, name), []byte(b.String()), 0o755); err != nil {
		d.t.Fatal(err)
	}
}

func (d *fakeDesktop) file(name, what string) string {
	return filepath.Join(d.dir, name+"."+what)
}

// session is a desktop session whose $PATH holds only the fakes.
func (d *fakeDesktop) session() desktopSession {
	return desktopSession{env: []string{"PATH=" + d.dir, "DISPLAY=:99", "LANG=C.UTF-8"}}
}

// args returns the arguments the fake program name was last run with.
func (d *fakeDesktop) args(name string) []string {
	d.t.Helper()
	data, err := os.ReadFile(d.file(name, "args"))
	if err != nil {
		d.t.Fatalf("%s was not run: %v", name, err)
	}
	return strings.Split(strings.TrimSuffix(string(data), "\x00"), "\x00")
}

// ran reports whether the fake program name was run at all.
func (d *fakeDesktop) ran(name string) bool {
	_, err := os.Stat(d.file(name, "args"))
	return err == nil
}

// started makes the hanging fake's "started" file a FIFO and returns a
// channel that delivers the script's PID and its child's once the script
// has got that far. Reading the FIFO blocks until then: no polling.
func (d *fakeDesktop) started(name string) <-chan [2]int {
	d.t.Helper()
	fifo := d.file(name, "started")
	if err := syscall.Mkfifo(fifo, 0o600); err != nil {
		d.t.Fatal(err)
	}
	ch := make(chan [2]int, 1)
	go func() {
		data, err := os.ReadFile(fifo)
		if err != nil {
			close(ch)
			return
		}
		var pids [2]int
		if _, err := fmt.Sscan(string(data), &pids[0], &pids[1]); err != nil {
			close(ch)
			return
		}
		ch <- pids
	}()
	return ch
}

func (d *fakeDesktop) presence(timeout time.Duration) *desktopPresence {
	d.t.Helper()
	p, err := newDesktopPresence(d.session(), timeout)
	if err != nil {
		d.t.Fatalf("newDesktopPresence: %v", err)
	}
	return p
}

func TestDesktopPresenceAnswers(t *testing.T) {
	isError := errors.New("an error that is neither a denial nor a timeout")
	tests := []struct {
		name    string
		program string
		fake    fakeDialog
		want    error
	}{
		{"zenity approve", "zenity", fakeDialog{exit: 0}, nil},
		{"zenity deny", "zenity", fakeDialog{exit: 1}, authenticator.ErrPresenceDenied},
		{"zenity own timeout", "zenity", fakeDialog{exit: 5}, authenticator.ErrPresenceTimeout},
		{"zenity error", "zenity", fakeDialog{exit: 255, stderr: "something broke"}, isError},
		{"zenity no display", "zenity", fakeDialog{exit: 1, stderr: "(zenity:1): Gtk-WARNING **: cannot open display: :99\n"}, isError},
		{"kdialog approve", "kdialog", fakeDialog{exit: 0}, nil},
		{"kdialog deny", "kdialog", fakeDialog{exit: 1}, authenticator.ErrPresenceDenied},
		{"kdialog error", "kdialog", fakeDialog{exit: 134, stderr: "qt.qpa.xcb: could not connect to display"}, isError},
		{"yad approve", "yad", fakeDialog{exit: 0}, nil},
		{"yad deny", "yad", fakeDialog{exit: 1}, authenticator.ErrPresenceDenied},
		{"yad escape", "yad", fakeDialog{exit: 252}, authenticator.ErrPresenceDenied},
		{"yad own timeout", "yad", fakeDialog{exit: 70}, authenticator.ErrPresenceTimeout},
		{"notify-send approve", "notify-send", fakeDialog{stdout: "approve\n"}, nil},
		{"notify-send deny", "notify-send", fakeDialog{stdout: "deny\n"}, authenticator.ErrPresenceDenied},
		{"notify-send closed", "notify-send", fakeDialog{}, authenticator.ErrPresenceDenied},
		{"notify-send own timeout", "notify-send", fakeDialog{stderr: "Wait timeout expired\n"}, authenticator.ErrPresenceTimeout},
		{"notify-send no server", "notify-send", fakeDialog{exit: 1, stderr: "Could not connect: No such file or directory\n"}, isError},
		{"notify-send odd output", "notify-send", fakeDialog{stdout: "0\n"}, isError},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d := newFakeDesktop(t)
			tt.fake.help = "  -A, --action=[NAME=]Text..."
			d.add(tt.program, tt.fake)
			p := d.presence(10 * time.Second)
			if p.program.name != tt.program {
				t.Fatalf("picked %s, want %s", p.program.name, tt.program)
			}
			err := p.RequestPresence(context.Background(), registerAlice)
			switch {
			case tt.want == isError:
				if err == nil || errors.Is(err, authenticator.ErrPresenceDenied) || errors.Is(err, authenticator.ErrPresenceTimeout) {
					t.Errorf("%s exiting %d (stdout %q, stderr %q): got %v, want another error",
						tt.program, tt.fake.exit, tt.fake.stdout, tt.fake.stderr, err)
				}
			case !errors.Is(err, tt.want):
				t.Errorf("%s exiting %d (stdout %q, stderr %q): got %v, want %v",
					tt.program, tt.fake.exit, tt.fake.stdout, tt.fake.stderr, err, tt.want)
			}
		})
	}
}

func TestDesktopPresenceArgs(t *testing.T) {
	d := newFakeDesktop(t)
	d.add("zenity", fakeDialog{})
	p := d.presence(30 * time.Second)
	tests := []struct {
		req      authenticator.PresenceRequest
		question string
	}{
		{registerAlice, "Register with example.org as alice?"},
		{authenticator.PresenceRequest{Operation: "register", RPID: "example.org"}, "Register with example.org?"},
		{authenticator.PresenceRequest{Operation: "register"}, "Register a new credential?"},
		{authenticator.PresenceRequest{Operation: "authenticate", RPID: "example.org"}, "Sign in to example.org?"},
		{authenticator.PresenceRequest{Operation: "authenticate"}, "Sign in with this key?"},
		{authenticator.PresenceRequest{Operation: "reset"}, "Reset the key: every credential will be lost?"},
		{authenticator.PresenceRequest{Operation: "select"}, "Use this security key?"},
		{authenticator.PresenceRequest{Operation: "frobnicate"}, "Approve a touch to frobnicate?"},
	}
	for _, tt := range tests {
		if err := p.RequestPresence(context.Background(), tt.req); err != nil {
			t.Fatalf("%+v: %v", tt.req, err)
		}
		want := []string{
			"--question",
			"--title=softkey: touch requested",
			"--text=<b>" + tt.question + "</b>\n\n" +
				"softkey asks instead of a touch on a hardware key.\nThe request is refused if you do not answer within 30 seconds.",
			"--ok-label=_Approve",
			"--cancel-label=_Deny",
			"--default-cancel",
			"--timeout=30",
			"--width=420",
		}
		if got := d.args("zenity"); !equalStrings(got, want) {
			t.Errorf("%+v:\ngot  %q\nwant %q", tt.req, got, want)
		}
	}
}

func TestDesktopPresenceProgramArgs(t *testing.T) {
	req := authenticator.PresenceRequest{Operation: "authenticate", RPID: "example.org"}
	tests := []struct {
		program string
		want    []string
	}{
		{"kdialog", []string{
			"--title", "softkey: touch requested",
			"--yes-label", "Approve",
			"--no-label", "Deny",
			"--warningyesno", "<qt><b>Sign in to example.org?</b><br><br>softkey asks instead of a touch on a hardware key.<br>" +
				"The request is refused if you do not answer within 90 seconds.</qt>",
		}},
		{"yad", []string{
			"--title=softkey: touch requested",
			"--text=<b>Sign in to example.org?</b>\n\nsoftkey asks instead of a touch on a hardware key.\n" +
				"The request is refused if you do not answer within 90 seconds.",
			"--image=dialog-question",
			"--button=_Deny:1",
			"--button=_Approve:0",
			"--timeout=90",
			"--center",
			"--on-top",
			"--width=420",
		}},
		{"notify-send", []string{
			"--app-name=softkey",
			"--urgency=critical",
			"--icon=dialog-password",
			"--expire-time=90000",
			"--wait",
			"--action=approve=Approve",
			"--action=deny=Deny",
			"--",
			"softkey: touch requested",
			"<b>Sign in to example.org?</b>\n\nsoftkey asks instead of a touch on a hardware key.\n" +
				"The request is refused if you do not answer within 90 seconds.",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.program, func(t *testing.T) {
			d := newFakeDesktop(t)
			d.add(tt.program, fakeDialog{stdout: "approve", help: "--action"})
			p := d.presence(90 * time.Second)
			if err := p.RequestPresence(context.Background(), req); err != nil {
				t.Fatal(err)
			}
			if got := d.args(tt.program); !equalStrings(got, tt.want) {
				t.Errorf("%s arguments:\ngot  %q\nwant %q", tt.program, got, tt.want)
			}
		})
	}
}

func TestDesktopPresenceEscapesHostStrings(t *testing.T) {
	// An RP ID and user name chosen to restyle the dialog, to forge a
	// second line through the programs' backslash escapes, to move the
	// cursor and to flood the screen.
	evil := authenticator.PresenceRequest{
		Operation: "register",
		RPID:      `evil.example</b><span size="99999">&amp;\nApproved by your admin`,
		UserName:  "bob\x1b[2J\u202e" + strings.Repeat("A", 500),
	}
	tests := []struct {
		program string
		text    func(args []string) string
		want    string // the question as the program receives it
	}{
		{"zenity", func(a []string) string { return strings.TrimPrefix(a[2], "--text=") },
			`<b>Register with evil.example&lt;/b&gt;&lt;span size="99999"&gt;&amp;amp;\\nApproved by your admin as bob\\u001b[2J\\u202e`},
		{"yad", func(a []string) string { return strings.TrimPrefix(a[1], "--text=") },
			`<b>Register with evil.example&lt;/b&gt;&lt;span size="99999"&gt;&amp;amp;\\nApproved by your admin as bob\\u001b[2J\\u202e`},
		{"notify-send", func(a []string) string { return a[len(a)-1] },
			`<b>Register with evil.example&lt;/b&gt;&lt;span size="99999"&gt;&amp;amp;\\nApproved by your admin as bob\\u001b[2J\\u202e`},
		{"kdialog", func(a []string) string { return a[len(a)-1] },
			`<qt><b>Register with evil.example&lt;/b&gt;&lt;span size=&quot;99999&quot;&gt;&amp;amp;\nApproved by your admin as bob\u001b[2J\u202e`},
	}
	for _, tt := range tests {
		t.Run(tt.program, func(t *testing.T) {
			d := newFakeDesktop(t)
			d.add(tt.program, fakeDialog{stdout: "approve", help: "--action"})
			p := d.presence(30 * time.Second)
			if err := p.RequestPresence(context.Background(), evil); err != nil {
				t.Fatal(err)
			}
			text := tt.text(d.args(tt.program))
			if !strings.HasPrefix(text, tt.want) {
				t.Errorf("%s text:\ngot  %q\nwant prefix %q", tt.program, text, tt.want)
			}
			for _, bad := range []string{"<span", "\x1b", "\u202e"} {
				if strings.Contains(text, bad) {
					t.Errorf("%s text contains %q unescaped: %q", tt.program, bad, text)
				}
			}
			// The 500-letter user name is cut to 64 characters and marked.
			if strings.Contains(text, strings.Repeat("A", 65)) || !strings.Contains(text, "A…?") {
				t.Errorf("%s text does not cut the long user name: %q", tt.program, text)
			}
			if len(text) > 600 {
				t.Errorf("%s text is %d bytes long", tt.program, len(text))
			}
		})
	}
}

// assertGone checks that the dialog script (reaped by RequestPresence) no
// longer exists, and that its child has been killed with it: it no longer
// exists, is a zombie waiting for init, or is already exiting.
func assertGone(t *testing.T, pids [2]int) {
	t.Helper()
	if err := syscall.Kill(pids[0], 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("kill -0 %d (the dialog) after it was stopped: %v, want ESRCH", pids[0], err)
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pids[1]))
	if err != nil {
		return // gone
	}
	// Fields after the command name: state, ppid, pgrp, session, tty_nr,
	// tpgid, flags.
	fields := strings.Fields(string(stat[bytes.LastIndexByte(stat, ')')+1:]))
	const pfExiting = 0x4
	flags, _ := strconv.ParseUint(fields[6], 10, 64)
	if state := fields[0]; state != "Z" && state != "X" && flags&pfExiting == 0 {
		t.Errorf("the dialog's child %d is still alive (state %s)", pids[1], state)
		syscall.Kill(pids[1], syscall.SIGKILL)
	}
}

func TestDesktopPresenceCancelKillsDialog(t *testing.T) {
	for _, program := range []string{"zenity", "kdialog", "notify-send"} {
		t.Run(program, func(t *testing.T) {
			d := newFakeDesktop(t)
			d.add(program, fakeDialog{hang: true, help: "--action"})
			started := d.started(program)
			p := d.presence(time.Minute)

			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			seen := make(chan [2]int, 1)
			go func() {
				pids := <-started // the dialog is on the screen
				seen <- pids
				cancel() // CTAPHID_CANCEL
			}()
			start := time.Now()
			err := p.RequestPresence(ctx, registerAlice)
			if !errors.Is(err, context.Canceled) {
				t.Fatalf("cancelled request: got %v, want %v", err, context.Canceled)
			}
			if elapsed := time.Since(start); elapsed > 10*time.Second {
				t.Errorf("cancel took %v to end the dialog", elapsed)
			}
			pids := <-seen
			if pids[0] == 0 {
				t.Fatal("the dialog never said it started")
			}
			assertGone(t, pids)
		})
	}
}

func TestDesktopPresenceOurTimeout(t *testing.T) {
	// kdialog has no timeout of its own, and any dialog may hang:
	// softkey's timeout ends it. Here the timeout fires on cue, once the
	// dialog is up, so the test can check what is left of it.
	d := newFakeDesktop(t)
	d.add("kdialog", fakeDialog{hang: true})
	started := d.started("kdialog")
	p := d.presence(time.Minute)
	seen := make(chan [2]int, 1)
	p.withTimeout = func(ctx context.Context, _ time.Duration) (context.Context, context.CancelFunc) {
		ctx, expire := context.WithCancel(ctx)
		go func() {
			seen <- <-started
			expire()
		}()
		return ctx, expire
	}
	err := p.RequestPresence(context.Background(), registerAlice)
	if !errors.Is(err, authenticator.ErrPresenceTimeout) {
		t.Fatalf("hanging dialog: got %v, want %v", err, authenticator.ErrPresenceTimeout)
	}
	if errors.Is(err, authenticator.ErrPresenceDenied) {
		t.Errorf("a timeout must not read as a denial: %v", err)
	}
	pids := <-seen
	if pids[0] == 0 {
		t.Fatal("the dialog never said it started")
	}
	assertGone(t, pids)

	// The next request gets its own dialog.
	d.add("kdialog", fakeDialog{exit: 0})
	p.withTimeout = nil
	if err := p.RequestPresence(context.Background(), registerAlice); err != nil {
		t.Errorf("request after a timeout: got %v, want approval", err)
	}
}

func TestDesktopPresenceTimeoutClock(t *testing.T) {
	// The real clock: a dialog that hangs is ended after the timeout.
	d := newFakeDesktop(t)
	d.add("kdialog", fakeDialog{hang: true})
	p := d.presence(100 * time.Millisecond)
	start := time.Now()
	err := p.RequestPresence(context.Background(), registerAlice)
	if !errors.Is(err, authenticator.ErrPresenceTimeout) {
		t.Fatalf("hanging dialog: got %v, want %v", err, authenticator.ErrPresenceTimeout)
	}
	if elapsed := time.Since(start); elapsed > 10*time.Second {
		t.Errorf("a 100ms timeout took %v", elapsed)
	}
}

func TestDesktopPresenceAlreadyCancelled(t *testing.T) {
	d := newFakeDesktop(t)
	d.add("zenity", fakeDialog{})
	p := d.presence(time.Minute)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := p.RequestPresence(ctx, registerAlice); !errors.Is(err, context.Canceled) {
		t.Errorf("request with a cancelled context: got %v, want %v", err, context.Canceled)
	}
	if d.ran("zenity") {
		t.Error("a cancelled request showed a dialog")
	}
}

func TestNewDesktopPresenceFallbackOrder(t *testing.T) {
	const withAction = "  -A, --action=[NAME=]Text...  Specifies the actions to display to the user."
	const withoutAction = "  -w, --wait  Wait for the notification to be closed before exiting."
	tests := []struct {
		installed []string
		help      string // notify-send's --help
		want      string
	}{
		{[]string{"zenity", "kdialog", "yad", "notify-send"}, withAction, "zenity"},
		{[]string{"kdialog", "yad", "notify-send"}, withAction, "kdialog"},
		{[]string{"yad", "notify-send"}, withAction, "yad"},
		{[]string{"notify-send"}, withAction, "notify-send"},
		{[]string{"notify-send"}, withoutAction, ""},
		{nil, "", ""},
	}
	for _, tt := range tests {
		d := newFakeDesktop(t)
		for _, name := range tt.installed {
			d.add(name, fakeDialog{help: tt.help})
		}
		p, err := newDesktopPresence(d.session(), time.Minute)
		if tt.want != "" {
			if err != nil {
				t.Errorf("with %v installed: %v", tt.installed, err)
				continue
			}
			if p.program.name != tt.want || p.path != filepath.Join(d.dir, tt.want) {
				t.Errorf("with %v installed: picked %s (%s), want %s", tt.installed, p.program.name, p.path, tt.want)
			}
			continue
		}
		if err == nil {
			t.Errorf("with %v installed (notify-send help %q): picked %s, want an error", tt.installed, tt.help, p.program.name)
			continue
		}
		var out bytes.Buffer
		printError(&out, err)
		for _, want := range []string{"no dialog program", "zenity", "sudo apt install zenity", "--presence prompt"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("with %v installed, the error does not mention %q:\n%s", tt.installed, want, out.String())
			}
		}
		if len(tt.installed) > 0 && !strings.Contains(out.String(), "--action") {
			t.Errorf("the error does not say why notify-send was skipped:\n%s", out.String())
		}
	}
}

func TestNewDesktopPresenceNoDisplay(t *testing.T) {
	d := newFakeDesktop(t)
	d.add("zenity", fakeDialog{})
	tests := []struct {
		env    []string
		wantOK bool
	}{
		{[]string{"PATH=" + d.dir}, false},
		{[]string{"PATH=" + d.dir, "DISPLAY=", "WAYLAND_DISPLAY="}, false},
		{[]string{"PATH=" + d.dir, "DISPLAY=:0"}, true},
		{[]string{"PATH=" + d.dir, "WAYLAND_DISPLAY=wayland-0"}, true},
		{[]string{"PATH=" + d.dir, "DISPLAY=:0", "DISPLAY="}, false}, // the last one counts
	}
	for _, tt := range tests {
		_, err := newDesktopPresence(desktopSession{env: tt.env}, time.Minute)
		if tt.wantOK {
			if err != nil {
				t.Errorf("env %q: %v", tt.env, err)
			}
			continue
		}
		if err == nil {
			t.Errorf("env %q: no error, want one about the display", tt.env)
			continue
		}
		var out bytes.Buffer
		printError(&out, err)
		for _, want := range []string{"$DISPLAY", "$WAYLAND_DISPLAY", "--presence prompt"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("env %q: the error does not mention %q:\n%s", tt.env, want, out.String())
			}
		}
	}
}

func TestNewDesktopPresenceDisplayUnreachable(t *testing.T) {
	// $DISPLAY is set but names no reachable display: GTK programs say so
	// even for --version, so softkey refuses to start.
	for _, program := range []string{"zenity", "yad"} {
		d := newFakeDesktop(t)
		d.add(program, fakeDialog{versionStderr: "(" + program + ":42): Gtk-WARNING **: 04:09:37.995: cannot open display: :99"})
		_, err := newDesktopPresence(d.session(), time.Minute)
		if err == nil {
			t.Errorf("%s cannot open the display: no error", program)
			continue
		}
		var out bytes.Buffer
		printError(&out, err)
		for _, want := range []string{program + " cannot open the display", "cannot open display: :99", "--presence prompt"} {
			if !strings.Contains(out.String(), want) {
				t.Errorf("%s: the error does not mention %q:\n%s", program, want, out.String())
			}
		}
		if d.ran(program) {
			t.Errorf("%s showed a dialog while checking the display", program)
		}
	}
	// kdialog is not GTK: no check, even if its --version would fail.
	d := newFakeDesktop(t)
	d.add("kdialog", fakeDialog{versionStderr: "cannot open display"})
	if _, err := newDesktopPresence(d.session(), time.Minute); err != nil {
		t.Errorf("kdialog: %v", err)
	}
}

func TestPresenceFromFlagDesktop(t *testing.T) {
	t.Setenv("DISPLAY", "")
	t.Setenv("WAYLAND_DISPLAY", "")
	if _, _, err := presenceFromFlag(presenceDesktop, time.Second); err == nil || !strings.Contains(err.Error(), "DISPLAY") {
		t.Errorf("desktop without a display: got %v, want an error about $DISPLAY", err)
	}
	if _, _, err := presenceFromFlag(presenceDesktop, 0); err == nil {
		t.Error("a zero desktop timeout was accepted")
	}
}

func TestDesktopSessionLookPath(t *testing.T) {
	d := newFakeDesktop(t)
	d.add("zenity", fakeDialog{})
	if err := os.WriteFile(filepath.Join(d.dir, "kdialog"), []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.Mkdir(filepath.Join(d.dir, "yad"), 0o755); err != nil {
		t.Fatal(err)
	}
	other := t.TempDir()
	s := desktopSession{env: []string{"PATH=relative:" + other + ":" + d.dir}}
	if got, err := s.lookPath("zenity"); err != nil || got != filepath.Join(d.dir, "zenity") {
		t.Errorf("lookPath(zenity) = %q, %v", got, err)
	}
	for _, name := range []string{"kdialog", "yad", "notify-send"} {
		if got, err := s.lookPath(name); err == nil {
			t.Errorf("lookPath(%s) = %q, want an error (not executable, a directory, missing)", name, got)
		}
	}
}

func TestDurationWords(t *testing.T) {
	tests := []struct {
		d    time.Duration
		want string
	}{
		{time.Second, "1 second"},
		{50 * time.Millisecond, "1 second"},
		{1500 * time.Millisecond, "2 seconds"},
		{30 * time.Second, "30 seconds"},
		{90 * time.Second, "90 seconds"},
		{2 * time.Minute, "2 minutes"},
		{150 * time.Second, "150 seconds"},
	}
	for _, tt := range tests {
		if got := durationWords(tt.d); got != tt.want {
			t.Errorf("durationWords(%v) = %q, want %q", tt.d, got, tt.want)
		}
	}
}

func TestClip(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"example.org", 64, "example.org"},
		{"abcdef", 3, "abc…"},
		{"äöüß", 4, "äöüß"},
		{"äöüßx", 4, "äöüß…"},
		{"", 4, ""},
	}
	for _, tt := range tests {
		if got := clip(tt.s, tt.n); got != tt.want {
			t.Errorf("clip(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func equalStrings(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// TestDesktopPresenceRealZenity shows real zenity dialogs on a virtual X
// server and answers them with xdotool. It is opt-in, not part of CI,
// because it needs X packages no other test does:
//
//	sudo apt install zenity xvfb xdotool imagemagick
//	SOFTKEY_DESKTOP_TEST=1 go test -run RealZenity -v ./cmd/softkey
//
// With SOFTKEY_DESKTOP_SCREENSHOT=file.png it also saves a screenshot of
// the first dialog (imagemagick's import).
func TestDesktopPresenceRealZenity(t *testing.T) {
	if os.Getenv("SOFTKEY_DESKTOP_TEST") != "1" {
		t.Skip("set SOFTKEY_DESKTOP_TEST=1 to show real zenity dialogs under Xvfb")
	}
	for _, tool := range []string{"Xvfb", "zenity", "xdotool"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is missing: sudo apt install zenity xvfb xdotool", tool)
		}
	}
	display := startXvfb(t)
	env := append(os.Environ(), "DISPLAY="+display, "WAYLAND_DISPLAY=", "GDK_BACKEND=x11")
	p, err := newDesktopPresence(desktopSession{env: env}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if p.program.name != "zenity" {
		t.Fatalf("picked %s, want zenity", p.program.name)
	}
	xdotool := func(ctx context.Context, args ...string) (string, error) {
		cmd := exec.CommandContext(ctx, "xdotool", args...)
		cmd.Env = env
		out, err := cmd.Output()
		if err != nil {
			return "", fmt.Errorf("xdotool %s: %w", strings.Join(args, " "), err)
		}
		return strings.TrimSpace(string(out)), nil
	}
	// ask shows the dialog for req, waits until its window is mapped,
	// presses keys in it and returns the answer.
	ask := func(req authenticator.PresenceRequest, screenshot string, keys ...string) error {
		t.Helper()
		answer := make(chan error, 1)
		go func() { answer <- p.RequestPresence(t.Context(), req) }()
		// Find the window, unless the dialog ends first.
		ctx, stop := context.WithCancel(t.Context())
		defer stop()
		found := make(chan string, 1)
		go func() {
			out, err := xdotool(ctx, "search", "--sync", "--onlyvisible", "--name", dialogTitle)
			if err != nil {
				close(found)
				return
			}
			found <- strings.Fields(out)[0]
		}()
		var window string
		select {
		case err := <-answer:
			stop()
			if len(keys) > 0 {
				t.Fatalf("the dialog ended before it was answered: %v", err)
			}
			return err
		case w, ok := <-found:
			if !ok {
				t.Fatal("xdotool found no dialog window")
			}
			window = w
		}
		if screenshot != "" {
			cmd := exec.CommandContext(t.Context(), "import", "-display", display, "-window", "root", screenshot)
			if out, err := cmd.CombinedOutput(); err != nil {
				t.Errorf("screenshot: %v\n%s", err, out)
			} else {
				t.Logf("screenshot of the dialog: %s", screenshot)
			}
		}
		if len(keys) > 0 {
			if _, err := xdotool(t.Context(), append([]string{"windowfocus", "--sync", window, "key"}, keys...)...); err != nil {
				t.Fatal(err)
			}
		}
		return <-answer
	}

	evil := authenticator.PresenceRequest{Operation: "register", RPID: `evil.example</b><big>\nApproved`, UserName: "alice"}
	if err := ask(evil, os.Getenv("SOFTKEY_DESKTOP_SCREENSHOT"), "alt+a"); err != nil {
		t.Errorf("Alt+A (Approve): got %v, want approval", err)
	}
	if err := ask(registerAlice, "", "Return"); !errors.Is(err, authenticator.ErrPresenceDenied) {
		t.Errorf("Enter (Deny is the default button): got %v, want %v", err, authenticator.ErrPresenceDenied)
	}
	if err := ask(registerAlice, "", "Escape"); !errors.Is(err, authenticator.ErrPresenceDenied) {
		t.Errorf("Escape: got %v, want %v", err, authenticator.ErrPresenceDenied)
	}
	p.timeout = time.Second
	if err := ask(authenticator.PresenceRequest{Operation: "authenticate", RPID: "example.org"}, ""); !errors.Is(err, authenticator.ErrPresenceTimeout) {
		t.Errorf("no answer: got %v, want %v", err, authenticator.ErrPresenceTimeout)
	}
}

// startXvfb starts a virtual X server for the test and returns its
// display name. Xvfb writes the display number to a pipe once it accepts
// connections (-displayfd), so nothing polls.
func startXvfb(t *testing.T) string {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	cmd := exec.Command("Xvfb", "-displayfd", "3", "-screen", "0", "800x600x24", "-nolisten", "tcp")
	cmd.ExtraFiles = []*os.File{w} // fd 3
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting Xvfb: %v", err)
	}
	w.Close()
	t.Cleanup(func() {
		cmd.Process.Kill()
		cmd.Wait()
	})
	var n int
	if _, err := fmt.Fscan(r, &n); err != nil {
		t.Fatalf("reading the display number from Xvfb: %v", err)
	}
	return ":" + strconv.Itoa(n)
}

package main

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/transport/uhid"
)

func TestDefaultTransport(t *testing.T) {
	pathErr := func(errno syscall.Errno) error {
		return &fs.PathError{Op: "open", Path: "/dev/uhid", Err: errno}
	}
	tests := []struct {
		name          string
		goos          string
		probe         error
		want          string
		reasonPattern string
	}{
		{"writable", "linux", nil, "uhid", `^/dev/uhid is writable$`},
		{"missing", "linux", pathErr(syscall.ENOENT), "pty", `^/dev/uhid does not exist .*sudo modprobe uhid`},
		{"not writable", "linux", pathErr(syscall.EACCES), "pty",
			`^/dev/uhid is not writable: permission denied; see the README section "Use it in your browser"$`},
		{"EPERM", "linux", pathErr(syscall.EPERM), "pty", `^/dev/uhid is not writable: permission denied`},
		{"no driver", "linux", pathErr(syscall.ENODEV), "pty", `^/dev/uhid cannot be opened: no such device$`},
		{"not Linux", "darwin", nil, "pty", `^uhid is Linux only$`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			probed := ""
			got, reason := defaultTransport(tt.goos, "/dev/uhid", func(path string) error {
				probed = path
				return tt.probe
			})
			if got != tt.want || !regexp.MustCompile(tt.reasonPattern).MatchString(reason) {
				t.Errorf("defaultTransport = %q, %q; want %q, reason matching %q", got, reason, tt.want, tt.reasonPattern)
			}
			if tt.goos == "linux" && probed != "/dev/uhid" {
				t.Errorf("probed %q, want /dev/uhid", probed)
			}
		})
	}
}

func TestCanOpenReadWrite(t *testing.T) {
	dir := t.TempDir()
	if err := canOpenReadWrite(filepath.Join(dir, "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("canOpenReadWrite(missing) = %v, want fs.ErrNotExist", err)
	}
	file := filepath.Join(dir, "file")
	if err := os.WriteFile(file, nil, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := canOpenReadWrite(file); err != nil {
		t.Errorf("canOpenReadWrite(writable file) = %v", err)
	}
	if got, _ := defaultTransport("linux", filepath.Join(dir, "missing"), canOpenReadWrite); got != "pty" {
		t.Errorf("defaultTransport(missing path) = %q, want pty", got)
	}
}

func TestUHIDErrorHints(t *testing.T) {
	tests := []struct {
		name  string
		err   error
		lines []string // lines printError must print, in this order
	}{
		{
			"no device",
			func() error {
				_, err := uhid.Open(uhid.Config{Path: filepath.Join(t.TempDir(), "uhid")})
				return err
			}(),
			[]string{
				"softkey: error: uhid: .*/uhid does not exist: load the module with `sudo modprobe uhid`",
				"hint: load the uhid module: sudo modprobe uhid",
				"hint: to load it at every boot: echo uhid \\| sudo tee /etc/modules-load.d/softkey-uhid.conf",
				"hint: or serve the key on a pseudo-terminal instead: softkey run --transport pty",
			},
		},
		{
			"permission",
			fmt.Errorf("%w: /dev/uhid is not writable", uhid.ErrPermission),
			[]string{
				"softkey: error: uhid: no permission",
				"hint: give the group softkey access to /dev/uhid with softkey's udev rule \\(cmd/softkey/udev/70-softkey-uhid.rules",
				"hint:   echo '" + regexp.QuoteMeta(uhidRule) + "' \\| sudo tee /etc/udev/rules.d/70-softkey-uhid.rules",
				"hint:   sudo groupadd -f softkey && sudo usermod -aG softkey \\$USER",
				"hint: or, until the next boot only: sudo setfacl -m u:\\$USER:rw /dev/uhid",
				"hint: or serve the key on a pseudo-terminal instead",
			},
		},
		{"other", errors.New("uhid: opening /dev/uhid: input/output error"), []string{"softkey: error: uhid: opening"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.err == nil {
				t.Fatal("no error to explain")
			}
			var out bytes.Buffer
			printError(&out, explainUHIDError(tt.err))
			lines := strings.Split(strings.TrimSpace(out.String()), "\n")
			next := 0
			for _, want := range tt.lines {
				re := regexp.MustCompile("^" + want)
				for next < len(lines) && !re.MatchString(lines[next]) {
					next++
				}
				if next == len(lines) {
					t.Errorf("no line matching %q (in order) in\n%s", want, out.String())
					return
				}
			}
			if tt.name == "other" && strings.Contains(out.String(), "hint:") {
				t.Errorf("hints for an error without a fix:\n%s", out.String())
			}
		})
	}
}

// TestUdevRule checks that the rule in the hints is the one softkey ships,
// and that the shipped file has exactly that one rule.
func TestUdevRule(t *testing.T) {
	f, err := os.Open(filepath.Join("udev", "70-softkey-uhid.rules"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var rules []string
	s := bufio.NewScanner(f)
	for s.Scan() {
		if line := strings.TrimSpace(s.Text()); line != "" && !strings.HasPrefix(line, "#") {
			rules = append(rules, line)
		}
	}
	if err := s.Err(); err != nil {
		t.Fatal(err)
	}
	if len(rules) != 1 || rules[0] != uhidRule {
		t.Errorf("rules in the file: %q\nwant only %q", rules, uhidRule)
	}
}

func TestUHIDConfig(t *testing.T) {
	usb := authenticator.DefaultProfile().USB
	cfg, err := uhidConfig(usb, 1<<40, "/var/lib/softkey", nil)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Name != "softkey" || cfg.VendorID != 0x1209 || cfg.ProductID != 0x0001 || cfg.Version != 0xFFFFFFFF {
		t.Errorf("uhidConfig = %+v", cfg)
	}
	if !regexp.MustCompile(`^[0-9A-F]{16}$`).MatchString(cfg.Serial) {
		t.Errorf("derived serial %q, want 16 hex digits", cfg.Serial)
	}
	again, _ := uhidConfig(usb, 1, "/var/lib/softkey/", nil)
	other, _ := uhidConfig(usb, 1, "/var/lib/softkey2", nil)
	if again.Serial != cfg.Serial || other.Serial == cfg.Serial {
		t.Errorf("serials %q (same vault), %q (other vault), want equal to %q and different", again.Serial, other.Serial, cfg.Serial)
	}
	m1, _ := uhidConfig(usb, 1, "", nil)
	m2, _ := uhidConfig(usb, 1, "", nil)
	if m1.Serial == m2.Serial || len(m1.Serial) != 16 {
		t.Errorf("serials in memory %q and %q, want two random ones", m1.Serial, m2.Serial)
	}
	usb.Serial = "PROFILE-SERIAL"
	if cfg, _ := uhidConfig(usb, 1, "/var/lib/softkey", nil); cfg.Serial != "PROFILE-SERIAL" {
		t.Errorf("serial %q, want the profile's", cfg.Serial)
	}
}

// fakeSysfs makes sysfs entries for hidraw nodes: name -> uevent text.
func fakeSysfs(t *testing.T, root string, nodes map[string]string) {
	t.Helper()
	for name, uevent := range nodes {
		dir := filepath.Join(root, "class", "hidraw", name, "device")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "uevent"), []byte(uevent), 0o644); err != nil {
			t.Fatal(err)
		}
	}
}

func hidUevent(name, uniq string) string {
	return "DRIVER=hid-generic\nHID_ID=0003:00001209:00000001\nHID_NAME=" + name + "\nHID_PHYS=softkey\nHID_UNIQ=" + uniq +
		"\nMODALIAS=hid:b0003g0001v00001209p00000001\n"
}

func TestFindHidraw(t *testing.T) {
	want := identityOf(uhid.Config{VendorID: 0x1209, ProductID: 0x0001, Serial: "ABC"}, "softkey")
	root := t.TempDir()
	fakeSysfs(t, root, map[string]string{
		"hidraw0": "HID_ID=0003:00001050:00000407\nHID_NAME=Yubico YubiKey\nHID_UNIQ=\n",
		"hidraw1": hidUevent("softkey", "OTHER"),   // another softkey
		"hidraw2": hidUevent("softkey two", "ABC"), // another name
	})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	// The node appears a little later, as the kernel's worker adds it.
	go func() {
		time.Sleep(100 * time.Millisecond)
		fakeSysfs(t, root, map[string]string{"hidraw7": hidUevent("softkey", "ABC")})
	}()
	got, err := findHidraw(ctx, root, want)
	if err != nil || got != "/dev/hidraw7" {
		t.Errorf("findHidraw = %q, %v; want /dev/hidraw7", got, err)
	}

	// Two matches are no match.
	fakeSysfs(t, root, map[string]string{"hidraw8": hidUevent("softkey", "ABC")})
	short, cancelShort := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelShort()
	if got, err := findHidraw(short, root, want); err == nil || !strings.Contains(err.Error(), "2 hidraw nodes match") {
		t.Errorf("findHidraw with two matches = %q, %v; want an error", got, err)
	}

	// Nothing there: the wait ends with the context.
	empty, cancelEmpty := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancelEmpty()
	start := time.Now()
	if got, err := findHidraw(empty, t.TempDir(), want); err == nil {
		t.Errorf("findHidraw in an empty sysfs = %q", got)
	}
	if waited := time.Since(start); waited > 5*time.Second {
		t.Errorf("findHidraw waited %v after its context ended", waited)
	}
}

func TestReadyInfo(t *testing.T) {
	for _, tt := range []struct {
		r    readyInfo
		want string
	}{
		{readyInfo{Transport: "uhid", Path: "/dev/hidraw3", Name: "softkey"}, "/dev/hidraw3"},
		{readyInfo{Transport: "uhid", Name: "softkey"}, "softkey"},
		{readyInfo{Transport: "udp", Addr: "127.0.0.1:8111"}, "127.0.0.1:8111"},
		{readyInfo{Transport: "pty", Path: "/dev/pts/3"}, "/dev/pts/3"},
	} {
		if got := tt.r.where(); got != tt.want {
			t.Errorf("%+v.where() = %q, want %q", tt.r, got, tt.want)
		}
	}
}

func TestRunUHIDMissing(t *testing.T) {
	var stdout, stderr bytes.Buffer
	o := &runOptions{transport: "uhid", engineFlags: engineFlags{memory: true, presence: "auto"}, logLevel: "info",
		testOnlyUHIDPath: filepath.Join(t.TempDir(), "uhid")}
	err := runKey(context.Background(), o, &stdout, &stderr)
	if !errors.Is(err, uhid.ErrNoDevice) {
		t.Fatalf("runKey = %v, want uhid.ErrNoDevice", err)
	}
	printError(&stderr, err)
	for _, want := range []string{
		"softkey: error: uhid: " + o.testOnlyUHIDPath + " does not exist: load the module with `sudo modprobe uhid`\n",
		"hint: load the uhid module: sudo modprobe uhid\n",
	} {
		if !strings.Contains(stderr.String(), want) {
			t.Errorf("stderr lacks %q:\n%s", want, stderr.String())
		}
	}
	if stdout.Len() != 0 {
		t.Errorf("stdout %q, want nothing", stdout.String())
	}
}

// TestRunDefaultTransport runs a key without --transport where the uhid
// device is missing: it serves a pseudo-terminal and says why.
func TestRunDefaultTransport(t *testing.T) {
	missing := filepath.Join(t.TempDir(), "uhid")
	var stdout, stderr syncBuffer
	o := &runOptions{engineFlags: engineFlags{memory: true, presence: "auto"}, logLevel: "info", testOnlyUHIDPath: missing}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- runKey(ctx, o, &stdout, &stderr) }()

	deadline := time.Now().Add(30 * time.Second)
	for !strings.HasPrefix(stdout.String(), "ready: ") {
		select {
		case err := <-done:
			t.Fatalf("runKey returned before it was ready: %v\nstderr:\n%s", err, stderr.String())
		case <-time.After(20 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("no ready line within 30s\nstderr:\n%s", stderr.String())
		}
	}
	cancel()
	if err := <-done; err != nil {
		t.Errorf("runKey = %v", err)
	}
	if !strings.HasPrefix(stdout.String(), "ready: pty /dev/pts/") {
		t.Errorf("stdout %q, want a pty ready line", stdout.String())
	}
	want := `msg="transport: pty" reason="` + missing + ` does not exist (the uhid module is not loaded: sudo modprobe uhid)"`
	if !strings.Contains(stderr.String(), want) {
		t.Errorf("stderr lacks %s:\n%s", want, stderr.String())
	}
}

package uhid_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/softkeydev/softkey/authenticator"
	"github.com/softkeydev/softkey/testvectors/ci"
)

// vmTimeout bounds one boot of the VM, from qemu's start to its power-off.
// A boot takes about ten seconds under TCG on two cores.
const vmTimeout = 180 * time.Second

// TestVMUHID boots Debian's kernel under qemu (TCG) with an initramfs
// holding busybox, the hid, uhid and hid-generic modules, a static softkey
// and libfido2's tools, runs `softkey run --transport uhid` in it and drives
// the key with fido2-token, fido2-cred and fido2-assert, which find it by
// enumeration as they would a real key. testdata/vm/init is the script the
// VM runs; it reports each step on the serial console, which this test
// reads.
//
// The kernel package is downloaded with apt-get and unpacked (never
// installed) into the user's cache directory, once. The test is skipped
// when qemu, busybox-static, fido2-tools or the kernel cannot be had, unless
// CI=true; `make vm-test` installs what it needs and runs it.
func TestVMUHID(t *testing.T) {
	if testing.Short() {
		t.Skip("boots a VM; skipped with -short")
	}
	start := time.Now()
	for _, tool := range []string{"qemu-system-x86_64", "cpio", "ldd", "apt-get", "apt-cache",
		"dpkg-deb", "fido2-token", "fido2-cred", "fido2-assert"} {
		if _, err := exec.LookPath(tool); err != nil {
			ci.Unavailable(t, "%s not found (make vm-deps installs it)", tool)
		}
	}
	if _, err := os.Stat("/bin/busybox"); err != nil {
		ci.Unavailable(t, "busybox-static not installed (make vm-deps installs it): %v", err)
	}

	watchModule(t)
	kernel := vmKernel(t)
	fetched := time.Now()

	dir := t.TempDir()
	softkey := filepath.Join(dir, "softkey")
	// CGO_ENABLED=0: a static binary, which needs no libraries in the VM.
	run(t, 5*time.Minute, func(cmd *exec.Cmd) {
		cmd.Dir = filepath.Join("..", "..") // the module's root
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	}, "go", "build", "-o", softkey, "./cmd/softkey")

	initrd := filepath.Join(dir, "initramfs.cpio")
	run(t, time.Minute, nil, "sh", filepath.Join("testdata", "vm", "mkinitramfs.sh"),
		initrd, kernel, softkey, filepath.Join("testdata", "vm", "init"))
	built := time.Now()

	boot := bootVM(t, kernel, initrd)
	defer func() {
		if t.Failed() {
			t.Logf("serial console (seconds since qemu started):\n%s", boot.console)
		}
	}()

	t.Logf("vm: boot to userspace %.1fs wall (guest uptime %ss at /init), qemu run %.1fs; "+
		"kernel cache %.1fs, build %.1fs; whole test %.1fs",
		boot.toInit.Seconds(), boot.uptime, boot.total.Seconds(),
		fetched.Sub(start).Seconds(), built.Sub(fetched).Seconds(), time.Since(start).Seconds())
	var steps []string
	for _, name := range boot.order {
		steps = append(steps, fmt.Sprintf("%s %.2fs", name, boot.steps[name].took.Seconds()))
	}
	t.Logf("vm: steps: %s", strings.Join(steps, ", "))

	checkConsole(t, boot)
}

// checkConsole asserts on the steps testdata/vm/init reported.
func checkConsole(t *testing.T, boot vmBoot) {
	t.Helper()
	if !boot.done {
		t.Fatalf("the VM powered off without reaching the end of /init")
	}
	profile := authenticator.DefaultProfile()

	for _, name := range []string{"mounts", "modules", "ready"} {
		if s := boot.step(t, name); s.rc != 0 {
			t.Fatalf("step %q failed (rc=%d):\n%s", name, s.rc, s.out)
		}
	}

	// The ready file, {"transport":"uhid","path":"/dev/hidrawN"}.
	var ready struct{ Transport, Path string }
	if err := json.Unmarshal([]byte(strings.TrimSpace(boot.step(t, "ready").out)), &ready); err != nil {
		t.Errorf("ready file: %v", err)
	}
	if ready.Transport != "uhid" {
		t.Errorf("ready file transport = %q, want uhid", ready.Transport)
	}

	// Enumeration finds the key: "/dev/hidraw0: vendor=0x1209, product=0x0001 (manufacturer product)".
	list := boot.step(t, "fido2-token -L")
	if list.rc != 0 {
		t.Errorf("fido2-token -L: rc=%d:\n%s", list.rc, list.out)
	}
	line := ""
	for l := range strings.Lines(list.out) {
		if boot.device != "" && strings.HasPrefix(l, boot.device+":") {
			line = strings.TrimSpace(l)
		}
	}
	usb := profile.USB
	ids := fmt.Sprintf("vendor=0x%04x, product=0x%04x", usb.VendorID, usb.ProductID)
	switch {
	case line == "":
		t.Errorf("fido2-token -L lists no FIDO device, want softkey's:\n%s", list.out)
	case strings.HasPrefix(ready.Path, "/dev/") && ready.Path != boot.device:
		t.Errorf("fido2-token -L lists %s, but softkey's ready file says %s", boot.device, ready.Path)
	case !strings.Contains(line, ids):
		t.Errorf("fido2-token -L: %q, want the profile's %s", line, ids)
	}
	// libfido2 1.12 (Debian 12) takes manufacturer and product names from a
	// USB parent device, which a uhid device has not, and prints "( )";
	// later versions fall back to the HID name. Either way the kernel must
	// know the device by the profile's product name.
	if m := regexp.MustCompile(`\((.*)\)$`).FindStringSubmatch(line); m != nil &&
		strings.TrimSpace(m[1]) != "" && !strings.Contains(m[1], usb.Product) {
		t.Errorf("fido2-token -L: %q does not name %q", line, usb.Product)
	}
	if ue := boot.step(t, "uevent"); !strings.Contains(ue.out, "HID_NAME="+usb.Product+"\n") {
		t.Errorf("the kernel does not know %s as %q:\n%s", boot.device, usb.Product, ue.out)
	}

	info := boot.step(t, "fido2-token -I")
	if info.rc != 0 {
		t.Errorf("fido2-token -I %s: rc=%d:\n%s", boot.device, info.rc, info.out)
	}
	aaguid := strings.ReplaceAll(profile.AAGUID.String(), "-", "")
	for _, want := range []string{"FIDO_2_0", "FIDO_2_1", "aaguid: " + aaguid} {
		if !strings.Contains(info.out, want) {
			t.Errorf("fido2-token -I %s does not say %q:\n%s", boot.device, want, info.out)
		}
	}

	for _, name := range []string{"fido2-cred", "fido2-assert"} {
		if s := boot.step(t, name); s.rc != 0 {
			t.Errorf("%s (make, then verify): rc=%d:\n%s", name, s.rc, s.out)
		}
	}

	// softkey stops cleanly on SIGTERM, destroying the device.
	if s := boot.step(t, "stop softkey"); s.rc != 0 || !strings.Contains(s.out, "exited with status 0") {
		t.Errorf("stopping softkey: rc=%d:\n%s\nsoftkey's output:\n%s", s.rc, s.out, boot.step(t, "softkey log").out)
	}
}

// watchModule stats every file of the module. The VM runs a softkey built
// from the whole module by a subprocess, which go test's result cache does
// not see; the cache does record what the test itself stats, so a cached
// pass is reused only while no file of the module has changed.
func watchModule(t *testing.T) {
	t.Helper()
	err := filepath.WalkDir(filepath.Join("..", ".."), func(path string, d fs.DirEntry, err error) error {
		switch {
		case err != nil:
			return err
		case d.IsDir() && d.Name() == ".git":
			return filepath.SkipDir
		case d.Type().IsRegular():
			_, err = os.Stat(path)
		}
		return err
	})
	if err != nil {
		t.Fatalf("walking the module: %v", err)
	}
}

// vmKernel returns the directory holding the kernel (vmlinuz, and vmlinux
// when it could be unpacked) and the three modules, fetching them into the
// user's cache directory on first use.
func vmKernel(t *testing.T) string {
	t.Helper()
	cache, err := os.UserCacheDir()
	if err != nil {
		ci.Unavailable(t, "no cache directory for the kernel: %v", err)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Minute) // a 70 MB download
	defer cancel()
	cmd := exec.CommandContext(ctx, "sh", filepath.Join("testdata", "vm", "kernel.sh"),
		filepath.Join(cache, "softkey-vm"))
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.Output()
	if err != nil {
		ci.Unavailable(t, "the kernel package cannot be had: %v\n%s", err, strings.TrimSpace(stderr.String()))
	}
	dir := strings.TrimSpace(string(out))
	for _, f := range []string{"vmlinuz", "hid.ko", "uhid.ko", "hid-generic.ko"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Fatalf("kernel.sh: %v", err)
		}
	}
	return dir
}

// vmBoot is what one boot printed on the serial console.
type vmBoot struct {
	console string
	steps   map[string]vmStep
	order   []string      // step names as they ran
	device  string        // "=== DEVICE": the path the tools used
	uptime  string        // "=== UPTIME": guest seconds at /init
	done    bool          // "=== DONE" was reached
	toInit  time.Duration // qemu's start to /init's first line
	total   time.Duration // qemu's start to its exit
}

// vmStep is one "=== BEGIN name" … "=== END rc=N" block.
type vmStep struct {
	out  string
	rc   int
	took time.Duration // wall time from BEGIN to END
}

func (b vmBoot) step(t *testing.T, name string) vmStep {
	t.Helper()
	s, ok := b.steps[name]
	if !ok {
		t.Fatalf("the console has no step %q", name)
	}
	return s
}

// bootVM runs qemu until the guest powers off or vmTimeout passes.
func bootVM(t *testing.T, kernel, initrd string) vmBoot {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), vmTimeout)
	defer cancel()
	// The uncompressed kernel, when kernel.sh could unpack it, boots through
	// PVH and saves the guest seconds of XZ decompression under TCG.
	image := filepath.Join(kernel, "vmlinux")
	if _, err := os.Stat(image); err != nil {
		image = filepath.Join(kernel, "vmlinuz")
	}
	// accel=kvm hangs on nested build machines; TCG works everywhere.
	cmd := exec.CommandContext(ctx, "qemu-system-x86_64",
		"-machine", "q35,accel=tcg", "-cpu", "max", "-m", "512", "-smp", "2",
		"-nographic", "-no-reboot", "-nic", "none",
		"-kernel", image, "-initrd", initrd,
		"-append", "console=ttyS0 quiet panic=-1 rdinit=/init")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	cmd.WaitDelay = 5 * time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := cmd.Start(); err != nil {
		t.Fatalf("starting qemu: %v", err)
	}

	b := vmBoot{steps: map[string]vmStep{}}
	var (
		console strings.Builder
		name    string
		began   time.Duration
		out     strings.Builder
	)
	sc := bufio.NewScanner(stdout)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		line := strings.TrimRight(sc.Text(), "\r")
		now := time.Since(start)
		fmt.Fprintf(&console, "[%6.2f] %s\n", now.Seconds(), line)
		rest, marker := strings.CutPrefix(line, "=== ")
		if !marker {
			if name != "" {
				out.WriteString(line + "\n")
			}
			continue
		}
		if b.toInit == 0 {
			b.toInit = now
		}
		switch {
		case strings.HasPrefix(rest, "BEGIN "):
			name = strings.TrimPrefix(rest, "BEGIN ")
			began = now
			out.Reset()
		case strings.HasPrefix(rest, "END rc="):
			var rc int
			if _, err := fmt.Sscanf(strings.TrimPrefix(rest, "END rc="), "%d", &rc); err != nil {
				rc = -1
			}
			if name != "" {
				b.steps[name] = vmStep{out: out.String(), rc: rc, took: now - began}
				b.order = append(b.order, name)
			}
			name = ""
		case strings.HasPrefix(rest, "UPTIME "):
			b.uptime = strings.TrimPrefix(rest, "UPTIME ")
		case strings.HasPrefix(rest, "DEVICE "):
			b.device = strings.TrimPrefix(rest, "DEVICE ")
		case strings.HasPrefix(rest, "DONE"):
			b.done = true
		}
	}
	scanErr := sc.Err()
	waitErr := cmd.Wait()
	b.total = time.Since(start)
	b.console = console.String()
	if errors.Is(ctx.Err(), context.DeadlineExceeded) {
		t.Fatalf("the VM did not power off within %v; serial console:\n%s\nqemu stderr:\n%s",
			vmTimeout, b.console, stderr.String())
	}
	if scanErr != nil || waitErr != nil {
		t.Fatalf("qemu: %v %v; serial console:\n%s\nqemu stderr:\n%s",
			waitErr, scanErr, b.console, stderr.String())
	}
	return b
}

// run runs a command, set up by setup when it is not nil, and fails the
// test with its output if it fails or takes longer than timeout.
func run(t *testing.T, timeout time.Duration, setup func(*exec.Cmd), name string, args ...string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.WaitDelay = 5 * time.Second
	if setup != nil {
		setup(cmd)
	}
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(cmd.Args, " "), err, out)
	}
}

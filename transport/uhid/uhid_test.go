//go:build linux

package uhid

import (
	"bytes"
	"context"
	"errors"
	"io"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softkeydev/softkey/transport/ctaphid"
)

const waitLimit = 10 * time.Second

// fakeKernel is the kernel's end of a fake /dev/uhid: a SOCK_SEQPACKET
// socket pair keeps message boundaries as the character device does (one
// event per read and write), and its non-blocking descriptors go through
// the runtime poller as the real one does, so Close interrupting a read is
// tested for real.
type fakeKernel struct {
	t      *testing.T
	f      *os.File
	opened string // the path Open asked for
}

// newFakeKernel returns a Config whose device is the fake kernel's peer.
func newFakeKernel(t *testing.T) (Config, *fakeKernel) {
	t.Helper()
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_SEQPACKET|unix.SOCK_NONBLOCK|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatalf("socketpair: %v", err)
	}
	k := &fakeKernel{t: t, f: os.NewFile(uintptr(fds[0]), "fake-kernel")}
	device := os.NewFile(uintptr(fds[1]), "fake-uhid")
	t.Cleanup(func() {
		k.f.Close()
		device.Close()
	})
	cfg := Config{
		Path: "/dev/fake-uhid",
		open: func(path string) (*os.File, error) {
			k.opened = path
			return device, nil
		},
	}
	return cfg, k
}

// next reads the next event user space wrote, with the bytes as written.
func (k *fakeKernel) next() (event, []byte) {
	k.t.Helper()
	if err := k.f.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		k.t.Fatal(err)
	}
	buf := make([]byte, 2*eventSize)
	n, err := k.f.Read(buf)
	if err != nil {
		k.t.Fatalf("fake kernel: reading an event: %v", err)
	}
	e, err := decodeEvent(buf[:n])
	if err != nil {
		k.t.Fatalf("fake kernel: decoding % x...: %v", buf[:min(n, 16)], err)
	}
	return e, buf[:n]
}

// send queues an event for user space as uhid.c does: the whole struct.
func (k *fakeKernel) send(e event) {
	k.t.Helper()
	b, err := marshalEvent(e)
	if err != nil {
		k.t.Fatalf("fake kernel: %v", err)
	}
	b = append(b, make([]byte, eventSize-len(b))...)
	if _, err := k.f.Write(b); err != nil {
		k.t.Fatalf("fake kernel: writing %v: %v", e.eventType(), err)
	}
}

// openWire opens a wire on a fake kernel and consumes its UHID_CREATE2.
func openWire(t *testing.T, cfg Config, k *fakeKernel) *Wire {
	t.Helper()
	w, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { w.Close() })
	if e, _ := k.next(); e.eventType() != eventCreate2 {
		t.Fatalf("first event %v, want UHID_CREATE2", e.eventType())
	}
	return w
}

// readReport calls ReadReport with a time limit.
func readReport(t *testing.T, w *Wire) []byte {
	t.Helper()
	type result struct {
		report []byte
		err    error
	}
	done := make(chan result, 1)
	go func() {
		r, err := w.ReadReport()
		done <- result{r, err}
	}()
	select {
	case r := <-done:
		if r.err != nil {
			t.Fatalf("ReadReport: %v", r.err)
		}
		return r.report
	case <-time.After(waitLimit):
		t.Fatalf("ReadReport did not return within %v", waitLimit)
		return nil
	}
}

func TestOpenCreatesDevice(t *testing.T) {
	cfg, k := newFakeKernel(t)
	cfg.Name = "softkey test key"
	cfg.Serial = "0123456789ABCDEF"
	cfg.VendorID, cfg.ProductID = 0x1209, 0x0001
	cfg.Version = 0x0102
	w, err := Open(cfg)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	defer w.Close()
	if k.opened != "/dev/fake-uhid" {
		t.Errorf("opened %q, want Config.Path", k.opened)
	}
	if w.Name() != "softkey test key" || w.Path() != "/dev/fake-uhid" {
		t.Errorf("Name() = %q, Path() = %q", w.Name(), w.Path())
	}
	e, raw := k.next()
	want := create2Event{
		Name: "softkey test key", Phys: "softkey", Uniq: "0123456789ABCDEF", Bus: 3,
		Vendor: 0x1209, Product: 0x0001, Version: 0x0102, Descriptor: reportDescriptor[:],
	}
	if !reflect.DeepEqual(e, want) {
		t.Errorf("created %+v\nwant %+v", e, want)
	}
	// Written up to the end of rd_data, the rest left to the kernel's zeros.
	if len(raw) != 4+276+len(reportDescriptor) {
		t.Errorf("UHID_CREATE2 of %d bytes, want %d", len(raw), 4+276+len(reportDescriptor))
	}
}

func TestOpenDefaults(t *testing.T) {
	cfg, k := newFakeKernel(t)
	cfg.Path = ""
	w := openWire(t, cfg, k)
	if k.opened != "/dev/uhid" || w.Path() != "/dev/uhid" {
		t.Errorf("opened %q, Path() = %q, want /dev/uhid", k.opened, w.Path())
	}
	if w.Name() != "softkey" {
		t.Errorf("Name() = %q, want softkey", w.Name())
	}
}

func TestOpenRejectsBadStrings(t *testing.T) {
	for name, cfg := range map[string]Config{
		"name of 128 bytes":  {Name: strings.Repeat("n", 128)},
		"serial of 64 bytes": {Serial: strings.Repeat("s", 64)},
		"NUL in serial":      {Serial: "a\x00b"},
	} {
		t.Run(name, func(t *testing.T) {
			opened := false
			cfg.open = func(string) (*os.File, error) { opened = true; return nil, errors.New("unreachable") }
			if _, err := Open(cfg); err == nil {
				t.Error("Open succeeded, want an error")
			}
			if opened {
				t.Error("Open opened the device before checking its config")
			}
		})
	}
}

func TestOpenCreateFails(t *testing.T) {
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	// Writing to a pipe's read end fails, as a refused UHID_CREATE2 would.
	_, err = Open(Config{open: func(string) (*os.File, error) { return r, nil }})
	if err == nil || !strings.Contains(err.Error(), "creating the device") {
		t.Errorf("Open = %v, want an error about creating the device", err)
	}
	if _, statErr := r.Stat(); !errors.Is(statErr, os.ErrClosed) {
		t.Errorf("the device was not closed after the failure (Stat: %v)", statErr)
	}
}

func TestReadReport(t *testing.T) {
	cfg, k := newFakeKernel(t)
	w := openWire(t, cfg, k)

	report := make([]byte, 64)
	for i := range report {
		report[i] = byte(i + 1)
	}
	k.send(startEvent{DevFlags: 0})
	k.send(bareEvent(eventOpen))
	// A client's usual write: report ID 0, then the report.
	k.send(outputEvent{Data: append([]byte{0}, report...), RType: outputReport})
	if got := readReport(t, w); !bytes.Equal(got, report) {
		t.Errorf("ReadReport = % x\nwant % x", got, report)
	}

	// Ignored: a feature report, a report too long for a packet, an event
	// of an unknown type, the obsolete UHID_OUTPUT_EV.
	k.send(outputEvent{Data: append([]byte{0}, report...), RType: featureReport})
	k.send(outputEvent{Data: append([]byte{0, 0}, report...), RType: outputReport})
	k.send(bareEvent(99))
	k.send(bareEvent(7))
	// The leading report ID 0 is dropped and a short packet padded, as a
	// USB HID stack does.
	k.send(outputEvent{Data: []byte{0, 0xFF, 0xFF, 0xFF, 0xFF, 0x86}, RType: outputReport})
	want := append([]byte{0xFF, 0xFF, 0xFF, 0xFF, 0x86}, make([]byte, 59)...)
	if got := readReport(t, w); !bytes.Equal(got, want) {
		t.Errorf("ReadReport (short report) = % x\nwant % x", got, want)
	}
	// Without a leading 0 (here 0x01), all of it is the packet.
	k.send(outputEvent{Data: report, RType: outputReport})
	if got := readReport(t, w); !bytes.Equal(got, report) {
		t.Errorf("ReadReport (64 bytes, first not 0) = % x\nwant % x", got, report)
	}
	k.send(bareEvent(eventClose))
	k.send(bareEvent(eventStop))
	k.send(outputEvent{Data: append([]byte{0}, report...), RType: outputReport})
	if got := readReport(t, w); !bytes.Equal(got, report) {
		t.Errorf("ReadReport after UHID_CLOSE, UHID_STOP = % x\nwant % x", got, report)
	}
}

func TestReadReportLogs(t *testing.T) {
	cfg, k := newFakeKernel(t)
	var logs syncBuffer
	cfg.Logger = slog.New(slog.NewTextHandler(&logs, &slog.HandlerOptions{Level: slog.LevelDebug}))
	w := openWire(t, cfg, k)
	k.send(startEvent{DevFlags: 2})
	k.send(bareEvent(eventOpen))
	k.send(outputEvent{Data: make([]byte, 65), RType: outputReport})
	readReport(t, w)
	for _, want := range []string{"event=UHID_START", "dev_flags=2", "event=UHID_OPEN"} {
		if !strings.Contains(logs.String(), want) {
			t.Errorf("debug log lacks %q:\n%s", want, logs.String())
		}
	}
}

func TestReportRequestsAnswered(t *testing.T) {
	cfg, k := newFakeKernel(t)
	w := openWire(t, cfg, k)
	report := bytes.Repeat([]byte{0x33}, 64)

	k.send(getReportEvent{ID: 7, RNum: 0, RType: featureReport})
	k.send(setReportEvent{ID: 8, RNum: 0, RType: featureReport, Data: []byte{0, 1, 2}})
	// An output report sent with SET_REPORT (hidraw's HIDIOCSOUTPUT) is
	// taken like UHID_OUTPUT, and acknowledged.
	k.send(setReportEvent{ID: 9, RNum: 0, RType: outputReport, Data: append([]byte{0}, report...)})
	if got := readReport(t, w); !bytes.Equal(got, report) {
		t.Errorf("ReadReport = % x\nwant % x", got, report)
	}
	wantReplies := []event{
		getReportReplyEvent{ID: 7, Err: 5, Data: []byte{}},
		setReportReplyEvent{ID: 8, Err: 5},
		setReportReplyEvent{ID: 9, Err: 0},
	}
	for _, want := range wantReplies {
		if got, _ := k.next(); !reflect.DeepEqual(got, want) {
			t.Errorf("reply %+v, want %+v", got, want)
		}
	}
}

func TestWriteReport(t *testing.T) {
	cfg, k := newFakeKernel(t)
	w := openWire(t, cfg, k)
	report := bytes.Repeat([]byte{0x44}, 64)
	if err := w.WriteReport(report); err != nil {
		t.Fatalf("WriteReport: %v", err)
	}
	got, raw := k.next()
	if want := (input2Event{Data: report}); !reflect.DeepEqual(got, want) {
		t.Errorf("wrote %+v, want %+v", got, want)
	}
	if len(raw) != 4+2+64 {
		t.Errorf("UHID_INPUT2 of %d bytes, want %d", len(raw), 4+2+64)
	}
	for _, n := range []int{0, 63, 65} {
		if err := w.WriteReport(make([]byte, n)); err == nil {
			t.Errorf("WriteReport(%d bytes) succeeded, want an error", n)
		}
	}
}

func TestCloseDestroysAndUnblocksReader(t *testing.T) {
	cfg, k := newFakeKernel(t)
	w := openWire(t, cfg, k)

	readErr := make(chan error, 1)
	go func() {
		_, err := w.ReadReport()
		readErr <- err
	}()
	time.Sleep(50 * time.Millisecond) // let the read block
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if e, _ := k.next(); e.eventType() != eventDestroy {
		t.Errorf("event after Close %v, want UHID_DESTROY", e.eventType())
	}
	select {
	case err := <-readErr:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("ReadReport after Close = %v, want os.ErrClosed", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Close did not unblock ReadReport")
	}
	// The descriptor is closed: the fake kernel sees the end.
	if err := k.f.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatal(err)
	}
	if n, err := k.f.Read(make([]byte, eventSize)); n != 0 || (err != nil && err != io.EOF) {
		t.Errorf("after Close the fake kernel read %d bytes, %v; want end of file", n, err)
	}
	if err := w.Close(); err != nil {
		t.Errorf("second Close = %v, want nil", err)
	}
	if err := w.WriteReport(make([]byte, 64)); !errors.Is(err, os.ErrClosed) {
		t.Errorf("WriteReport after Close = %v, want os.ErrClosed", err)
	}
}

func TestOpenErrors(t *testing.T) {
	dir := t.TempDir()
	regular := filepath.Join(dir, "regular")
	if err := os.WriteFile(regular, nil, 0o600); err != nil {
		t.Fatal(err)
	}

	t.Run("missing", func(t *testing.T) {
		path := filepath.Join(dir, "uhid")
		_, err := Open(Config{Path: path})
		if !errors.Is(err, ErrNoDevice) || !errors.Is(err, fs.ErrNotExist) || errors.Is(err, ErrPermission) {
			t.Fatalf("Open(missing) = %v, want ErrNoDevice and fs.ErrNotExist", err)
		}
		want := "uhid: " + path + " does not exist: load the module with `sudo modprobe uhid`"
		if err.Error() != want {
			t.Errorf("error %q\nwant  %q", err, want)
		}
	})
	t.Run("not a character device", func(t *testing.T) {
		_, err := Open(Config{Path: regular})
		if err == nil || errors.Is(err, ErrNoDevice) || errors.Is(err, ErrPermission) ||
			!strings.Contains(err.Error(), "not a character device") {
			t.Errorf("Open(regular file) = %v, want a plain error naming the problem", err)
		}
		data, _ := os.ReadFile(regular)
		if len(data) != 0 {
			t.Errorf("Open wrote %d bytes into a regular file", len(data))
		}
	})

	// Tests run as root, whom no mode bit stops, so permission and driver
	// errors come from the open function.
	for _, tt := range []struct {
		name       string
		err        error
		kind       error
		wantInText []string
	}{
		{"EACCES", &fs.PathError{Op: "open", Path: "/dev/uhid", Err: syscall.EACCES}, ErrPermission,
			[]string{"/dev/uhid is not writable (permission denied)", udevRule, "group softkey", "sudo setfacl -m u:$USER:rw /dev/uhid"}},
		{"EPERM", syscall.EPERM, ErrPermission, []string{"not writable (operation not permitted)"}},
		{"ENODEV", &fs.PathError{Op: "open", Path: "/dev/uhid", Err: syscall.ENODEV}, ErrNoDevice,
			[]string{"/dev/uhid does not work (no such device)", "sudo modprobe uhid"}},
		{"ENXIO", syscall.ENXIO, ErrNoDevice, []string{"sudo modprobe uhid"}},
		{"ENOENT", syscall.ENOENT, ErrNoDevice, []string{"/dev/uhid does not exist"}},
		{"not Linux", errors.ErrUnsupported, ErrNoDevice, []string{"sudo modprobe uhid"}},
		{"EIO", syscall.EIO, nil, []string{"uhid: opening /dev/uhid: input/output error"}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Open(Config{open: func(string) (*os.File, error) { return nil, tt.err }})
			if err == nil {
				t.Fatal("Open succeeded")
			}
			for _, kind := range []error{ErrNoDevice, ErrPermission} {
				if got, want := errors.Is(err, kind), kind == tt.kind; got != want {
					t.Errorf("errors.Is(%v, %v) = %v, want %v", err, kind, got, want)
				}
			}
			if !errors.Is(err, tt.err) {
				t.Errorf("error %v does not wrap the system error %v", err, tt.err)
			}
			for _, want := range tt.wantInText {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q lacks %q", err, want)
				}
			}
		})
	}
}

// TestServeINIT runs the CTAPHID server on the wire, as softkey run does,
// and checks a CTAPHID_INIT exchange through the fake kernel.
func TestServeINIT(t *testing.T) {
	cfg, k := newFakeKernel(t)
	w := openWire(t, cfg, k)
	s := ctaphid.NewServer(ctaphid.Config{Version: [3]byte{1, 2, 3}, Logger: slog.New(slog.DiscardHandler)})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, w) }()
	defer func() {
		cancel()
		w.Close()
		<-served
	}()

	nonce := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	packet := make([]byte, 65) // report ID 0, then the packet
	copy(packet[1:], []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x86, 0, 8})
	copy(packet[8:], nonce)
	k.send(startEvent{})
	k.send(bareEvent(eventOpen))
	k.send(outputEvent{Data: packet, RType: outputReport})

	e, _ := k.next()
	in, ok := e.(input2Event)
	if !ok {
		t.Fatalf("answer %v, want UHID_INPUT2", e.eventType())
	}
	resp := in.Data
	if len(resp) != 64 || !bytes.Equal(resp[:5], []byte{0xFF, 0xFF, 0xFF, 0xFF, 0x86}) || !bytes.Equal(resp[7:15], nonce) {
		t.Errorf("INIT answer % x: want broadcast CID, INIT and the nonce echoed", resp)
	}
}

// syncBuffer collects log output from several goroutines.
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

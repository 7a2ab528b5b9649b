//go:build linux

package pty

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/ci"
	"github.com/softkeydev/softkey/transport/ctaphid"
)

const waitLimit = 10 * time.Second

// infoHandler answers authenticatorGetInfo with a small getInfo and echoes
// every other CBOR message after status OK.
type infoHandler struct{}

func (infoHandler) HandleCBOR(_ context.Context, msg []byte) []byte {
	if ctap2.Command(msg[0]) != ctap2.CmdGetInfo {
		return append([]byte{0}, msg...)
	}
	info, err := ctap2.Marshal(ctap2.GetInfoResponse{
		Versions:   []string{"FIDO_2_0", "FIDO_2_1"},
		AAGUID:     bytes.Repeat([]byte{0x5C}, 16),
		Options:    map[string]bool{"rk": true, "up": true, "plat": false},
		MaxMsgSize: ctaphid.MaxMessageSize,
	})
	if err != nil {
		return []byte{byte(ctap2.ErrOther)}
	}
	return append([]byte{0}, info...)
}

func (infoHandler) HandleMessage(context.Context, []byte) []byte { return []byte{0x6D, 0x00} }

// serve opens a pty wire and serves a ctaphid server with infoHandler on
// it until the test ends.
func serve(t *testing.T) *Wire {
	t.Helper()
	w, err := Open()
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	s := ctaphid.NewServer(ctaphid.Config{
		Handler: infoHandler{},
		Version: [3]byte{1, 2, 3},
		Logger:  slog.New(slog.DiscardHandler),
	})
	ctx, cancel := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- s.Serve(ctx, w) }()
	t.Cleanup(func() {
		cancel()
		w.Close()
		<-served
	})
	return w
}

// client opens the slave as a hidraw client would.
func client(t *testing.T, w *Wire) *os.File {
	t.Helper()
	f, err := os.OpenFile(w.Path(), os.O_RDWR|syscall.O_NOCTTY, 0)
	if err != nil {
		t.Fatalf("opening %s: %v", w.Path(), err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// chunk is what libfido2 writes for a report: report ID 0, then the report.
func chunk(cid uint32, rest ...byte) []byte {
	c := make([]byte, 65)
	binary.BigEndian.PutUint32(c[1:], cid)
	copy(c[5:], rest)
	return c
}

// readReport reads one 64-byte report from the slave.
func readReport(t *testing.T, f *os.File) []byte {
	t.Helper()
	if err := f.SetReadDeadline(time.Now().Add(waitLimit)); err != nil {
		t.Fatalf("setting read deadline: %v", err)
	}
	r := make([]byte, 64)
	if _, err := io.ReadFull(f, r); err != nil {
		t.Fatalf("reading report: %v", err)
	}
	return r
}

func write(t *testing.T, f *os.File, b []byte) {
	t.Helper()
	if _, err := f.Write(b); err != nil {
		t.Fatalf("writing: %v", err)
	}
}

// allocate does INIT and returns the channel.
func allocate(t *testing.T, f *os.File) uint32 {
	t.Helper()
	nonce := []byte{1, 2, 3, 4, 5, 6, 7, 8}
	write(t, f, chunk(ctaphid.BroadcastCID, append([]byte{0x86, 0, 8}, nonce...)...))
	r := readReport(t, f)
	if binary.BigEndian.Uint32(r) != ctaphid.BroadcastCID || r[4] != 0x86 || r[6] != 17 || !bytes.Equal(r[7:15], nonce) {
		t.Fatalf("INIT answer % x", r[:24])
	}
	if !bytes.Equal(r[19:23], []byte{2, 1, 2, 3}) {
		t.Errorf("protocol and version % x, want 02 01 02 03", r[19:23])
	}
	return binary.BigEndian.Uint32(r[15:])
}

func TestSlaveTermios(t *testing.T) {
	w := serve(t)
	f := client(t, w)
	tio, err := unix.IoctlGetTermios(int(f.Fd()), unix.TCGETS)
	if err != nil {
		t.Fatal(err)
	}
	if tio.Cc[unix.VMIN] != 64 || tio.Cc[unix.VTIME] != 0 {
		t.Errorf("VMIN %d, VTIME %d; want 64, 0", tio.Cc[unix.VMIN], tio.Cc[unix.VTIME])
	}
	if tio.Lflag&(unix.ICANON|unix.ECHO|unix.ISIG) != 0 || tio.Oflag&unix.OPOST != 0 || tio.Iflag&(unix.ICRNL|unix.IXON) != 0 {
		t.Errorf("slave not raw: iflag %#x oflag %#x lflag %#x", tio.Iflag, tio.Oflag, tio.Lflag)
	}
	if !strings.HasPrefix(w.Path(), "/dev/pts/") {
		t.Errorf("Path() = %q", w.Path())
	}
}

func TestFramesThroughPty(t *testing.T) {
	w := serve(t)
	f := client(t, w)
	cid := allocate(t, f)

	// A 100-byte PING: one initialisation and one continuation chunk,
	// each written as libfido2 does, 65 bytes at a time.
	data := make([]byte, 100)
	for i := range data {
		data[i] = byte(i + 1)
	}
	write(t, f, chunk(cid, append([]byte{0x81, 0, 100}, data[:57]...)...))
	write(t, f, chunk(cid, append([]byte{0}, data[57:]...)...))
	first, second := readReport(t, f), readReport(t, f)
	if first[4] != 0x81 || !bytes.Equal(first[7:], data[:57]) || second[4] != 0 || !bytes.Equal(second[5:5+43], data[57:]) {
		t.Fatalf("PING echo\n% x\n% x", first, second)
	}
}

func TestPartialAndJoinedWrites(t *testing.T) {
	w := serve(t)
	f := client(t, w)
	cid := allocate(t, f)
	ping := chunk(cid, 0x81, 0, 4, 'p', 'i', 'n', 'g')

	// One chunk in three writes.
	write(t, f, ping[:10])
	write(t, f, ping[10:40])
	write(t, f, ping[40:])
	if r := readReport(t, f); r[4] != 0x81 || string(r[7:11]) != "ping" {
		t.Fatalf("answer to a split chunk: % x", r[:12])
	}
	// Three chunks in one write.
	write(t, f, bytes.Repeat(ping, 3))
	for i := range 3 {
		if r := readReport(t, f); r[4] != 0x81 || string(r[7:11]) != "ping" {
			t.Fatalf("answer %d to joined chunks: % x", i, r[:12])
		}
	}
}

func TestCloseEndsRead(t *testing.T) {
	w, err := Open()
	if err != nil {
		t.Fatal(err)
	}
	read := make(chan error, 1)
	go func() {
		_, err := w.ReadReport()
		read <- err
	}()
	w.Close()
	select {
	case err := <-read:
		if !errors.Is(err, os.ErrClosed) {
			t.Errorf("ReadReport after Close = %v, want os.ErrClosed", err)
		}
	case <-time.After(waitLimit):
		t.Fatal("Close did not end a blocked ReadReport")
	}
	if err := w.WriteReport(make([]byte, 63)); err == nil {
		t.Error("WriteReport accepted 63 bytes")
	}
}

// requireTool returns the path of an external client, skipping the test
// when it is missing, except under CI=true where its absence fails.
func requireTool(t *testing.T, name string) string {
	t.Helper()
	path, err := exec.LookPath(name)
	if err != nil {
		ci.Unavailable(t, "%s not installed: %v", name, err)
	}
	return path
}

// TestLibfido2 runs fido2-token (libfido2) against the pty: INIT, then
// authenticatorGetInfo, with libfido2's own 65-byte writes.
func TestLibfido2(t *testing.T) {
	tool := requireTool(t, "fido2-token")
	w := serve(t)
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	out, err := exec.CommandContext(ctx, tool, "-I", w.Path()).CombinedOutput()
	if err != nil {
		t.Fatalf("fido2-token -I: %v\n%s", err, out)
	}
	for _, want := range []string{"proto: 0x02", "major: 0x01", "minor: 0x02", "build: 0x03", "FIDO_2_1", "5c5c5c5c", "maxmsgsiz: 7609"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("fido2-token -I output lacks %q:\n%s", want, out)
		}
	}
}

// TestPythonFido2 drives the pty with python-fido2's Linux HID connection,
// which writes a 0x00 report ID before each report and reads 64 bytes.
func TestPythonFido2(t *testing.T) {
	python := "/usr/bin/python3"
	if _, err := os.Stat(python); err != nil {
		python = requireTool(t, "python3")
	}
	if exec.Command(python, "-c", "import fido2").Run() != nil {
		ci.Unavailable(t, "python3-fido2 not installed")
	}
	w := serve(t)
	script := `
import sys
from fido2.hid import CtapHidDevice
from fido2.hid.base import HidDescriptor
from fido2.hid.linux import LinuxCtapHidConnection
from fido2.ctap2 import Ctap2
desc = HidDescriptor(sys.argv[1], 0x1234, 0x5678, 64, 64, None, None) if len(HidDescriptor._fields) == 7 else HidDescriptor(sys.argv[1], 0x1234, 0x5678, 64, 64)
dev = CtapHidDevice(desc, LinuxCtapHidConnection(desc))
print("version", dev.device_version)
print("ping", dev.ping(b"x" * 1000) == b"x" * 1000)
print("versions", Ctap2(dev).get_info().versions)
`
	ctx, cancel := context.WithTimeout(context.Background(), waitLimit)
	defer cancel()
	out, err := exec.CommandContext(ctx, python, "-c", script, w.Path()).CombinedOutput()
	if err != nil {
		t.Fatalf("python-fido2: %v\n%s", err, out)
	}
	for _, want := range []string{"version (1, 2, 3)", "ping True", "FIDO_2_1"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("python-fido2 output lacks %q:\n%s", want, out)
		}
	}
}

//go:build linux

package pty

import (
	"bytes"
	"fmt"
	"os"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/softkeydev/softkey/transport/ctaphid"
)

// chunkSize is what a client writes per report: a report ID and a report.
const chunkSize = 1 + ctaphid.ReportSize

// writeTimeout bounds a write to the master. The slave's input queue is
// small (4 KiB); when a client stops reading, reports are dropped after
// this long, as a hidraw queue drops them, rather than stalling the server.
const writeTimeout = 2 * time.Second

// Wire is a pseudo-terminal carrying CTAPHID reports. Clients open the
// slave at Path. It implements ctaphid.Wire; ReadReport must not be
// called concurrently with itself.
type Wire struct {
	master *os.File
	slave  *os.File
	path   string

	pending []byte // bytes read from the master that do not make a whole chunk yet
	buf     []byte

	writeMu sync.Mutex
}

var _ ctaphid.Wire = (*Wire)(nil)

// Open allocates a pseudo-terminal and sets its slave up for clients. The
// settings are in place before Open returns, hence before any client can
// know the path.
func Open() (*Wire, error) {
	masterFD, err := unix.Open("/dev/ptmx", unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, fmt.Errorf("pty: opening /dev/ptmx: %w", err)
	}
	// A non-blocking descriptor makes an os.File that uses the runtime
	// poller, so that Close interrupts a blocked Read.
	master := os.NewFile(uintptr(masterFD), "/dev/ptmx")
	path, slave, err := openSlave(masterFD)
	if err != nil {
		master.Close()
		return nil, err
	}
	return &Wire{master: master, slave: slave, path: path, buf: make([]byte, 4096)}, nil
}

// openSlave unlocks and opens the slave of a master and makes it raw.
func openSlave(masterFD int) (string, *os.File, error) {
	// unlockpt(3) and ptsname(3).
	if err := unix.IoctlSetPointerInt(masterFD, unix.TIOCSPTLCK, 0); err != nil {
		return "", nil, fmt.Errorf("pty: unlocking slave: %w", err)
	}
	n, err := unix.IoctlGetInt(masterFD, unix.TIOCGPTN)
	if err != nil {
		return "", nil, fmt.Errorf("pty: getting slave number: %w", err)
	}
	path := fmt.Sprintf("/dev/pts/%d", n)
	slaveFD, err := unix.Open(path, unix.O_RDWR|unix.O_NOCTTY|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", nil, fmt.Errorf("pty: opening %s: %w", path, err)
	}
	slave := os.NewFile(uintptr(slaveFD), path)
	if err := makeRaw(slaveFD); err != nil {
		slave.Close()
		return "", nil, fmt.Errorf("pty: setting up %s: %w", path, err)
	}
	return path, slave, nil
}

// makeRaw does what cfmakeraw(3) does, then asks reads to wait for a whole
// report: VMIN=64, VTIME=0.
func makeRaw(fd int) error {
	t, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return fmt.Errorf("reading termios: %w", err)
	}
	t.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	t.Oflag &^= unix.OPOST
	t.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	t.Cflag &^= unix.CSIZE | unix.PARENB
	t.Cflag |= unix.CS8
	t.Cc[unix.VMIN] = ctaphid.ReportSize
	t.Cc[unix.VTIME] = 0
	if err := unix.IoctlSetTermios(fd, unix.TCSETS, t); err != nil {
		return fmt.Errorf("writing termios: %w", err)
	}
	return nil
}

// Path returns the slave's path, /dev/pts/N, for clients to open.
func (w *Wire) Path() string {
	return w.path
}

// ReadReport returns the next report a client wrote. The master is a byte
// stream: reads may split or join the clients' 65-byte writes, so bytes
// are buffered until a whole chunk is there, and its report ID is dropped.
func (w *Wire) ReadReport() ([]byte, error) {
	for len(w.pending) < chunkSize {
		n, err := w.master.Read(w.buf)
		w.pending = append(w.pending, w.buf[:n]...)
		if err != nil {
			return nil, fmt.Errorf("pty: reading %s: %w", w.path, err)
		}
	}
	report := bytes.Clone(w.pending[1:chunkSize])
	w.pending = append(w.pending[:0], w.pending[chunkSize:]...)
	return report, nil
}

// WriteReport sends a report to the client, as the 64 bytes its read
// expects.
func (w *Wire) WriteReport(report []byte) error {
	if len(report) != ctaphid.ReportSize {
		return fmt.Errorf("pty: report of %d bytes, want %d", len(report), ctaphid.ReportSize)
	}
	w.writeMu.Lock()
	defer w.writeMu.Unlock()
	if err := w.master.SetWriteDeadline(time.Now().Add(writeTimeout)); err != nil {
		return fmt.Errorf("pty: setting write deadline on %s: %w", w.path, err)
	}
	if _, err := w.master.Write(report); err != nil {
		return fmt.Errorf("pty: writing %s: %w", w.path, err)
	}
	return nil
}

// Close closes both ends; a blocked ReadReport returns an error wrapping
// os.ErrClosed. Clients still holding the slave get a hangup.
func (w *Wire) Close() error {
	errMaster := w.master.Close()
	errSlave := w.slave.Close()
	if errMaster != nil {
		return fmt.Errorf("pty: closing master: %w", errMaster)
	}
	if errSlave != nil {
		return fmt.Errorf("pty: closing slave: %w", errSlave)
	}
	return nil
}

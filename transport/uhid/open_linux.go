//go:build linux

package uhid

import (
	"fmt"
	"io/fs"
	"os"

	"golang.org/x/sys/unix"
)

// openDevice opens the uhid character device at path for reading and
// writing. The descriptor is non-blocking, so the os.File made from it
// waits for events in the runtime poller (uhid.c implements poll), and
// Close interrupts a Read in progress.
func openDevice(path string) (*os.File, error) {
	fd, err := unix.Open(path, unix.O_RDWR|unix.O_CLOEXEC|unix.O_NONBLOCK, 0)
	if err != nil {
		return nil, &fs.PathError{Op: "open", Path: path, Err: err}
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, &fs.PathError{Op: "stat", Path: path, Err: err}
	}
	if st.Mode&unix.S_IFMT != unix.S_IFCHR {
		unix.Close(fd)
		return nil, fmt.Errorf("%s is not a character device", path)
	}
	return os.NewFile(uintptr(fd), path), nil
}

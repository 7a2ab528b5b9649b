package tpmkeys

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"strings"
	"sync"
	"time"

	"github.com/google/go-tpm/tpm2/transport"
	"github.com/google/go-tpm/tpm2/transport/linuxtpm"
)

// Open connects to the TPM that spec names:
//
//   - a device path such as /dev/tpmrm0, the kernel's resource manager
//     (prefer it to /dev/tpm0, which only one process may hold);
//   - swtpm:HOST:PORT, the server port of a `swtpm socket` process;
//   - simulator, the in-process reference TPM (only in binaries built with
//     -tags tpmsim; its state lives as long as the process).
func Open(spec string) (transport.TPMCloser, error) {
	switch {
	case spec == "simulator":
		return openSimulator()
	case strings.HasPrefix(spec, "swtpm:"):
		return DialSwtpm(strings.TrimPrefix(spec, "swtpm:"))
	case strings.HasPrefix(spec, "/"):
		tpm, err := linuxtpm.Open(spec)
		switch {
		case errors.Is(err, fs.ErrNotExist):
			return nil, fmt.Errorf("%w at %s: this machine has no TPM, or its driver is not loaded", ErrNoTPM, spec)
		case errors.Is(err, fs.ErrPermission):
			return nil, fmt.Errorf("opening TPM %s: %w: add your user to the group that owns it (usually tss) and log in again", spec, err)
		case err != nil:
			return nil, fmt.Errorf("opening TPM %s: %w", spec, err)
		}
		return tpm, nil
	}
	return nil, fmt.Errorf("TPM %q: want a device path (/dev/tpmrm0), swtpm:HOST:PORT or simulator", spec)
}

// swtpmTimeout bounds one command's round trip. RSA key generation is the
// slowest command; a software TPM takes well under a second for it.
const swtpmTimeout = 30 * time.Second

// maxResponseSize bounds a TPM response; the largest TPM 2.0 responses are
// a few kilobytes (TPM 2.0 Part 2 MAX_RESPONSE_SIZE, 4096 in the
// reference profile).
const maxResponseSize = 1 << 16

// swtpm speaks raw TPM command and response frames on its server port, not
// the Microsoft simulator's framing that go-tpm's transport/tcp expects.
type swtpm struct {
	mu   sync.Mutex
	conn net.Conn
}

// DialSwtpm connects to the server port of `swtpm socket --tpm2 --server
// type=tcp,port=PORT`. Start swtpm with --flags not-need-init,startup-clear
// so that the TPM is ready for commands.
func DialSwtpm(addr string) (transport.TPMCloser, error) {
	conn, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return nil, fmt.Errorf("%w at swtpm:%s: %w: is `swtpm socket --tpm2 --server type=tcp,port=PORT` running?", ErrNoTPM, addr, err)
	}
	return &swtpm{conn: conn}, nil
}

// Send writes one command and reads one response: its 10-byte header
// (tag, size, response code; TPM 2.0 Part 1 §18.4), then the rest.
func (s *swtpm) Send(cmd []byte) ([]byte, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if err := s.conn.SetDeadline(time.Now().Add(swtpmTimeout)); err != nil {
		return nil, fmt.Errorf("swtpm: %w", err)
	}
	if _, err := s.conn.Write(cmd); err != nil {
		return nil, fmt.Errorf("swtpm: sending command: %w", err)
	}
	header := make([]byte, 10)
	if _, err := io.ReadFull(s.conn, header); err != nil {
		return nil, fmt.Errorf("swtpm: reading response: %w", err)
	}
	size := binary.BigEndian.Uint32(header[2:6])
	if size < 10 || size > maxResponseSize {
		return nil, fmt.Errorf("swtpm: response of %d bytes", size)
	}
	rsp := make([]byte, size)
	copy(rsp, header)
	if _, err := io.ReadFull(s.conn, rsp[10:]); err != nil {
		return nil, fmt.Errorf("swtpm: reading response: %w", err)
	}
	return rsp, nil
}

// Close closes the connection; swtpm keeps running.
func (s *swtpm) Close() error { return s.conn.Close() }

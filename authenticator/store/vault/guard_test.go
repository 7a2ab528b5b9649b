//go:build unix

package vault

import (
	"errors"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestGuardFault checks that a read past the end of a truncated, memory-
// mapped file, the way bbolt reads a damaged vault, becomes an error
// instead of killing the process.
func TestGuardFault(t *testing.T) {
	path := filepath.Join(t.TempDir(), "mapped")
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	const size = 4 * 4096
	require.NoError(t, f.Truncate(size))
	data, err := syscall.Mmap(int(f.Fd()), 0, size, syscall.PROT_READ, syscall.MAP_SHARED)
	require.NoError(t, err)
	defer syscall.Munmap(data)
	require.NoError(t, f.Truncate(0)) // now every page faults with SIGBUS

	var sink byte
	err = guard(path, func() error {
		sink = data[size-1]
		return nil
	})
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, path)
	_ = sink
}

func TestGuardPanic(t *testing.T) {
	err := guard("/some/vault.db", func() error { panic("invalid page type") })
	require.ErrorIs(t, err, ErrCorrupt)
	require.ErrorContains(t, err, "invalid page type")

	want := errors.New("plain error")
	require.Equal(t, want, guard("/some/vault.db", func() error { return want }))
}

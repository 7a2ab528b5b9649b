package vault

import (
	"bytes"
	"encoding/binary"
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.etcd.io/bbolt"

	"github.com/softkeydev/softkey/authenticator/store"
)

// multiPageVault returns a closed vault whose credentials fill several
// pages, so that its tree has branch pages, and its raw bytes.
func multiPageVault(t *testing.T) (dir string, raw []byte) {
	t.Helper()
	dir = t.TempDir()
	v, err := Open(dir, Options{})
	require.NoError(t, err)
	for i := range 60 {
		c := &store.Credential{ID: fmt.Appendf(nil, "id-%d", i), RPID: "example.com"}
		c.User.ID = fmt.Appendf(nil, "user-%d", i)
		c.User.DisplayName = string(bytes.Repeat([]byte{'x'}, 300))
		require.NoError(t, v.PutCredential(c))
	}
	require.NoError(t, v.DeleteCredential([]byte("id-5")))
	require.NoError(t, v.Close())
	raw, err = os.ReadFile(filepath.Join(dir, DBFile))
	require.NoError(t, err)
	return dir, raw
}

// livePages returns the IDs of the pages of the given type that the
// current tree uses, found through bbolt.
func livePages(t *testing.T, path string, typ string) []int {
	t.Helper()
	db, err := bbolt.Open(path, 0o600, &bbolt.Options{ReadOnly: true, PreLoadFreelist: true})
	require.NoError(t, err)
	defer db.Close()
	var ids []int
	require.NoError(t, db.View(func(tx *bbolt.Tx) error {
		for id := 2; id < int(tx.Size())/db.Info().PageSize; id++ {
			info, err := tx.Page(id)
			if err != nil {
				return err
			}
			if info != nil && info.Type == typ {
				ids = append(ids, id)
			}
		}
		return nil
	}))
	return ids
}

func TestCheckPagesRejects(t *testing.T) {
	dir, raw := multiPageVault(t)
	path := filepath.Join(dir, DBFile)
	const ps = 4096
	branches := livePages(t, path, "branch")
	require.NotEmpty(t, branches, "the test needs a branch page")
	leaves := livePages(t, path, "leaf")
	freelists := livePages(t, path, "freelist")
	require.Len(t, freelists, 1)
	b, l, fl := branches[0]*ps, leaves[len(leaves)-1]*ps, freelists[0]*ps

	ne := binary.NativeEndian
	for name, c := range map[string]struct {
		damage func(d []byte)
		want   string
	}{
		"BranchCycle": {
			func(d []byte) { ne.PutUint64(d[b+pageHeaderSize+8:], uint64(branches[0])) },
			"reached twice",
		},
		"BranchOutOfRange": {
			func(d []byte) { ne.PutUint64(d[b+pageHeaderSize+8:], 1<<40) },
			"outside",
		},
		"BranchToMeta": {
			func(d []byte) { ne.PutUint64(d[b+pageHeaderSize+8:], 1) },
			"outside",
		},
		"HugeOverflow": {
			func(d []byte) { ne.PutUint32(d[l+12:], 0xffffffff) },
			"overflows",
		},
		"WrongPageID": {
			func(d []byte) { ne.PutUint64(d[l:], 12345) },
			"carries ID",
		},
		"ElementOutOfPage": {
			func(d []byte) { ne.PutUint32(d[l+pageHeaderSize+8:], 0x7fffffff) }, // ksize
			"reaches byte",
		},
		"LeafCountTooLarge": {
			func(d []byte) { ne.PutUint16(d[l+10:], 0xfff0) },
			"element count",
		},
		"FreeListNamesLivePage": {
			func(d []byte) {
				ne.PutUint16(d[fl+10:], 1)
				ne.PutUint64(d[fl+pageHeaderSize:], uint64(leaves[0]))
			},
			"both in use and free",
		},
		"FreeListTooLong": {
			func(d []byte) {
				ne.PutUint16(d[fl+10:], 0xffff)
				ne.PutUint64(d[fl+pageHeaderSize:], 1<<60)
			},
			"does not fit",
		},
	} {
		t.Run(name, func(t *testing.T) {
			damaged := bytes.Clone(raw)
			c.damage(damaged)
			require.NoError(t, os.WriteFile(path, damaged, 0o600))
			done := make(chan error, 1)
			go func() {
				v, err := Open(dir, Options{LockTimeout: 50 * time.Millisecond})
				if err == nil {
					_ = v.Close()
				}
				done <- err
			}()
			select {
			case err := <-done:
				require.ErrorIs(t, err, ErrCorrupt)
				require.ErrorContains(t, err, c.want)
			case <-time.After(20 * time.Second):
				t.Fatal("Open hangs on a damaged file")
			}
			after, err := os.ReadFile(path)
			require.NoError(t, err)
			require.Equal(t, damaged, after)
		})
	}

	require.NoError(t, os.WriteFile(path, raw, 0o600))
	v, err := Open(dir, Options{})
	require.NoError(t, err, "the undamaged file opens")
	require.NoError(t, v.Close())
}

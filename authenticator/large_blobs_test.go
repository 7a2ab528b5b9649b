package authenticator

import (
	"bytes"
	"context"
	"encoding/hex"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

// lbInitial is the serialized array of a new key (CTAP 2.1 §6.10.1):
// 0x80 || LEFT(SHA-256(0x80), 16).
const lbInitial = "8076be8b528d0075f7aae98d6fa57a6d3c"

// lbArray is a serialized array of n bytes: a CBOR byte string filling it
// and the hash.
func lbArray(t testing.TB, n int) []byte {
	t.Helper()
	require.GreaterOrEqual(t, n, 40)
	var enc []byte
	for size := n - ctap2.LargeBlobHashSize - 3; ; size-- {
		b, err := ctap2.Marshal([][]byte{bytes.Repeat([]byte{0xA5}, size)})
		require.NoError(t, err)
		if len(b) <= n-ctap2.LargeBlobHashSize {
			enc = b
			break
		}
	}
	enc = append(enc, make([]byte, n-ctap2.LargeBlobHashSize-len(enc))...) // pad to size; opaque to the key
	return ctap2.SealLargeBlobArray(enc)
}

// lbStored is the array in the store, nil for the initial one.
func (k *cmKey) lbStored() []byte {
	k.t.Helper()
	d, err := k.store.Device()
	require.NoError(k.t, err)
	return d.LargeBlobArray
}

func u64(v uint64) *uint64 { return &v }

// lbSet builds a set request for fragment at offset, authenticated with
// tok when it is not nil.
func lbSet(tok *cmToken, offset uint64, fragment []byte, length *uint64) *ctap2.LargeBlobsRequest {
	req := &ctap2.LargeBlobsRequest{Set: fragment, Offset: &offset, Length: length}
	if tok != nil {
		req.PinUvAuthProtocol = u64(tok.protocol)
		req.PinUvAuthParam = tok.Authenticate(ctap2.LargeBlobsSetAuthMessage(uint32(offset), fragment))
	}
	return req
}

func TestLargeBlobsInitialArray(t *testing.T) {
	k := newCMKey(t, nil)
	got, err := k.client().ReadLargeBlobArray(context.Background(), DefaultProfile().MaxMsgSize-64)
	require.NoError(t, err)
	require.Equal(t, lbInitial, hex.EncodeToString(got))
	require.Equal(t, lbInitial, hex.EncodeToString(initialLargeBlobArray()), "engine's initial array")

	tests := []struct {
		offset, get uint64
		want        string
	}{
		{0, 1, "80"},
		{1, 4, "76be8b52"},
		{15, 100, "6d3c"},
		{17, 10, ""}, // offset at the end: empty
		{0, 0, ""},
	}
	for _, tt := range tests {
		got, err := k.client().LargeBlobsGet(context.Background(), tt.offset, tt.get)
		require.NoError(t, err, "get %d at %d", tt.get, tt.offset)
		require.Equal(t, tt.want, hex.EncodeToString(got), "get %d at %d", tt.get, tt.offset)
	}
}

func TestLargeBlobsWriteRead(t *testing.T) {
	tests := []struct {
		name     string
		size     int
		fragment uint64
	}{
		{"one fragment", 100, 7545},
		{"several fragments", 4096, 1000},
		{"fragments of the maximum length", 4096, 7609 - 64},
		{"the smallest array", 17, 7545},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newCMKey(t, nil)
			var array []byte
			if tt.size == 17 {
				array = ctap2.SealLargeBlobArray([]byte{0x80})
			} else {
				array = lbArray(t, tt.size)
			}
			tok := k.token(PermLargeBlobWrite, "")
			require.NoError(t, k.client().WriteLargeBlobArray(context.Background(), tok, array, tt.fragment))
			require.Equal(t, array, k.lbStored(), "stored array")
			got, err := k.client().ReadLargeBlobArray(context.Background(), 500)
			require.NoError(t, err)
			require.Equal(t, array, got, "array read back")

			// A power cycle keeps it; a reset forgets it.
			k.PowerCycle()
			got, err = k.client().ReadLargeBlobArray(context.Background(), 7545)
			require.NoError(t, err)
			require.Equal(t, array, got, "array after a power cycle")
		})
	}
}

func TestLargeBlobsWithoutPIN(t *testing.T) {
	k := &cmKey{testKey: newTestKey(t, nil)}
	array := lbArray(t, 300)
	require.NoError(t, k.client().WriteLargeBlobArray(context.Background(), nil, array, 128))
	require.Equal(t, array, k.lbStored())
}

func TestLargeBlobsFragmentSequence(t *testing.T) {
	array := lbArray(t, 300)
	first, second, third := array[:100], array[100:200], array[200:]
	total := u64(uint64(len(array)))
	type step struct {
		req  func(tok *cmToken) *ctap2.LargeBlobsRequest
		want ctap2.Status
	}
	set := func(offset uint64, fragment []byte, length *uint64) func(*cmToken) *ctap2.LargeBlobsRequest {
		return func(tok *cmToken) *ctap2.LargeBlobsRequest { return lbSet(tok, offset, fragment, length) }
	}
	tests := []struct {
		name   string
		steps  []step
		stored int // the step after which the array is stored; -1 for never
	}{
		{"in order", []step{
			{set(0, first, total), ctap2.StatusOK},
			{set(100, second, nil), ctap2.StatusOK},
			{set(200, third, nil), ctap2.StatusOK},
		}, 2},
		{"a refused fragment leaves the write as it was", []step{
			{set(0, first, total), ctap2.StatusOK},
			{set(200, third, nil), ctap2.ErrInvalidSeq},
			{set(100, second, nil), ctap2.StatusOK},
			{set(200, third, nil), ctap2.StatusOK},
		}, 3},
		{"a fragment sent twice", []step{
			{set(0, first, total), ctap2.StatusOK},
			{set(100, second, nil), ctap2.StatusOK},
			{set(100, second, nil), ctap2.ErrInvalidSeq},
			{set(200, third, nil), ctap2.StatusOK},
		}, 3},
		{"offset zero starts over", []step{
			{set(0, first, total), ctap2.StatusOK},
			{set(100, second, nil), ctap2.StatusOK},
			{set(0, first, total), ctap2.StatusOK},
			{set(200, third, nil), ctap2.ErrInvalidSeq},
			{set(100, second, nil), ctap2.StatusOK},
			{set(200, third, nil), ctap2.StatusOK},
		}, 5},
		{"nothing follows a complete write", []step{
			{set(0, first, total), ctap2.StatusOK},
			{set(100, array[100:], nil), ctap2.StatusOK},
			{set(300, []byte{0}, nil), ctap2.ErrInvalidSeq},
		}, 1},
		{"a fragment past the announced length", []step{
			{set(0, first, total), ctap2.StatusOK},
			{set(100, append(bytes.Clone(array[100:]), 0), nil), ctap2.ErrInvalidParameter},
			{set(100, array[100:], nil), ctap2.StatusOK},
		}, 2},
		{"integrity failure ends the write", []step{
			{set(0, first, total), ctap2.StatusOK},
			{set(100, second, nil), ctap2.StatusOK},
			{set(200, append(bytes.Clone(third[:len(third)-1]), third[len(third)-1]^1), nil), ctap2.ErrIntegrityFailure},
			{set(200, third, nil), ctap2.ErrInvalidSeq},
		}, -1},
		{"an unauthenticated first fragment does not end a write", []step{
			{set(0, first, total), ctap2.StatusOK},
			{func(*cmToken) *ctap2.LargeBlobsRequest { return lbSet(nil, 0, first, total) }, ctap2.ErrPUATRequired},
			{set(100, second, nil), ctap2.StatusOK},
			{set(200, third, nil), ctap2.StatusOK},
		}, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newCMKey(t, nil)
			tok := k.token(PermLargeBlobWrite, "")
			for i, s := range tt.steps {
				req := s.req(&tok)
				status, _ := k.do(ctap2.CmdLargeBlobs, req)
				require.Equal(t, s.want, status, "step %d (offset %d, %d bytes): got %v, want %v", i, *req.Offset, len(req.Set), status, s.want)
				if tt.stored >= 0 && i >= tt.stored {
					require.Equal(t, array, k.lbStored(), "step %d: stored array", i)
				} else {
					require.Nil(t, k.lbStored(), "step %d: array stored too early", i)
				}
			}
		})
	}

	t.Run("power cycle forgets a write", func(t *testing.T) {
		k := newCMKey(t, nil)
		tok := k.token(PermLargeBlobWrite, "")
		status, _ := k.do(ctap2.CmdLargeBlobs, lbSet(&tok, 0, first, total))
		require.Equal(t, ctap2.StatusOK, status)
		k.PowerCycle()
		tok = k.token(PermLargeBlobWrite, "")
		status, _ = k.do(ctap2.CmdLargeBlobs, lbSet(&tok, 100, second, nil))
		require.Equal(t, ctap2.ErrInvalidSeq, status)
		require.Nil(t, k.lbStored())
	})
}

func TestLargeBlobsBadInput(t *testing.T) {
	array := lbArray(t, 300)
	maxFragment := DefaultProfile().MaxMsgSize - 64
	withToken := func(perms Permission, build func(tok *cmToken) *ctap2.LargeBlobsRequest) func(t *testing.T, k *cmKey) any {
		return func(t *testing.T, k *cmKey) any {
			tok := k.token(perms, "")
			return build(&tok)
		}
	}
	lbw := PermLargeBlobWrite
	plain := func(v any) func(*testing.T, *cmKey) any { return func(*testing.T, *cmKey) any { return v } }
	tests := []struct {
		name string
		req  func(t *testing.T, k *cmKey) any
		want ctap2.Status
	}{
		{"not a map", plain([]int{1}), ctap2.ErrCBORUnexpectedType},
		{"get is bytes", plain(map[int]any{1: []byte{1}, 3: 0}), ctap2.ErrCBORUnexpectedType},
		{"negative offset", plain(map[int]any{1: 10, 3: -1}), ctap2.ErrCBORUnexpectedType},
		{"no offset", plain(&ctap2.LargeBlobsRequest{Get: u64(10)}), ctap2.ErrInvalidParameter},
		{"neither get nor set", plain(&ctap2.LargeBlobsRequest{Offset: u64(0)}), ctap2.ErrInvalidParameter},
		{"get and set", plain(&ctap2.LargeBlobsRequest{Get: u64(10), Set: array, Offset: u64(0)}), ctap2.ErrInvalidParameter},
		{"get with length", plain(&ctap2.LargeBlobsRequest{Get: u64(10), Offset: u64(0), Length: u64(10)}), ctap2.ErrInvalidParameter},
		{"get with pinUvAuthParam", plain(&ctap2.LargeBlobsRequest{Get: u64(10), Offset: u64(0), PinUvAuthParam: make([]byte, 32)}), ctap2.ErrInvalidParameter},
		{"get with pinUvAuthProtocol", plain(&ctap2.LargeBlobsRequest{Get: u64(10), Offset: u64(0), PinUvAuthProtocol: u64(2)}), ctap2.ErrInvalidParameter},
		{"get over maxFragmentLength", plain(&ctap2.LargeBlobsRequest{Get: u64(maxFragment + 1), Offset: u64(0)}), ctap2.ErrInvalidLength},
		{"get beyond the array", plain(&ctap2.LargeBlobsRequest{Get: u64(1), Offset: u64(201)}), ctap2.ErrInvalidParameter}, // the stored array has 200 bytes
		{"set over maxFragmentLength", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 0, make([]byte, maxFragment+1), u64(4096))
		}), ctap2.ErrInvalidLength},
		{"first fragment without length", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 0, array, nil)
		}), ctap2.ErrInvalidParameter},
		{"length over the maximum array", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 0, array[:100], u64(DefaultProfile().MaxLargeBlobArray+1))
		}), ctap2.ErrLargeBlobStorageFull},
		{"length under 17", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 0, array[:16], u64(16))
		}), ctap2.ErrInvalidParameter},
		{"length with a later fragment", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 100, array[100:], u64(300))
		}), ctap2.ErrInvalidParameter},
		{"later fragment without a write", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 100, array[100:], nil)
		}), ctap2.ErrInvalidSeq},
		{"fragment past length", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 0, array, u64(299))
		}), ctap2.ErrInvalidParameter},
		{"without pinUvAuthParam", plain(lbSet(nil, 0, array, u64(300))), ctap2.ErrPUATRequired},
		{"without pinUvAuthProtocol", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			req := lbSet(tok, 0, array, u64(300))
			req.PinUvAuthProtocol = nil
			return req
		}), ctap2.ErrMissingParameter},
		{"pinUvAuthProtocol zero", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			req := lbSet(tok, 0, array, u64(300))
			req.PinUvAuthProtocol = u64(0)
			return req
		}), ctap2.ErrInvalidParameter},
		{"unsupported pinUvAuthProtocol", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			req := lbSet(tok, 0, array, u64(300))
			req.PinUvAuthProtocol = u64(3)
			return req
		}), ctap2.ErrInvalidParameter},
		{"pinUvAuthParam over another fragment", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			req := lbSet(tok, 0, array, u64(300))
			req.Set = lbArray(t, 300)
			req.Set[0] ^= 1
			return req
		}), ctap2.ErrPINAuthInvalid},
		{"pinUvAuthParam over another offset", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			req := lbSet(tok, 0, array, u64(300))
			req.PinUvAuthParam = tok.Authenticate(ctap2.LargeBlobsSetAuthMessage(1, array))
			return req
		}), ctap2.ErrPINAuthInvalid},
		{"token without lbw", withToken(PermCredentialManagement, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			return lbSet(tok, 0, array, u64(300))
		}), ctap2.ErrPINAuthInvalid},
		{"array with a wrong hash", withToken(lbw, func(tok *cmToken) *ctap2.LargeBlobsRequest {
			bad := bytes.Clone(array)
			bad[10] ^= 1
			return lbSet(tok, 0, bad, u64(300))
		}), ctap2.ErrIntegrityFailure},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newCMKey(t, nil)
			// A stored array that the bad request must leave alone.
			written := lbArray(t, 200)
			require.NoError(t, k.client().WriteLargeBlobArray(context.Background(), k.token(PermLargeBlobWrite, ""), written, maxFragment))
			status, _ := k.do(ctap2.CmdLargeBlobs, tt.req(t, k))
			require.Equal(t, tt.want, status, "got %v, want %v", status, tt.want)
			require.Equal(t, written, k.lbStored(), "stored array changed")
		})
	}
}

func TestLargeBlobsNotOffered(t *testing.T) {
	p := DefaultProfile()
	p.LargeBlobs = false
	p.Extensions = []string{ExtCredProtect, ExtHMACSecret, ExtCredBlob, ExtMinPINLength} // largeBlobKey needs largeBlobs
	k := newCMKey(t, p)
	for _, req := range []*ctap2.LargeBlobsRequest{
		{Get: u64(10), Offset: u64(0)},
		lbSet(nil, 0, lbArray(t, 100), u64(100)),
	} {
		status, _ := k.do(ctap2.CmdLargeBlobs, req)
		require.Equal(t, ctap2.ErrInvalidCommand, status)
		require.Nil(t, k.lbStored())
	}
}

func TestLargeBlobsSetAuthMessage(t *testing.T) {
	// 32×0xff || 0x0c 0x00 || uint32LE(offset) || SHA-256(fragment)
	// (CTAP 2.1 §6.10.2); SHA-256("") is e3b0c442…
	got := ctap2.LargeBlobsSetAuthMessage(0x01020304, nil)
	want := bytes.Repeat([]byte{0xff}, 32)
	want = append(want, 0x0c, 0x00, 0x04, 0x03, 0x02, 0x01)
	sum, err := hex.DecodeString("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
	require.NoError(t, err)
	require.Equal(t, append(want, sum...), got)
}

// TestLargeBlobsClientChecksHash: the host side refuses an array whose
// hash does not check, as a platform must (CTAP 2.1 §6.10.3).
func TestLargeBlobsClientChecksHash(t *testing.T) {
	k := newCMKey(t, nil)
	d, err := k.store.Device()
	require.NoError(t, err)
	bad := lbArray(t, 100)
	bad[0] ^= 1
	d.LargeBlobArray = bad
	require.NoError(t, k.store.SetDevice(d))
	k.dev = nil // load the record again

	raw, err := k.client().LargeBlobsGet(context.Background(), 0, 1000)
	require.NoError(t, err)
	require.Equal(t, bad, raw, "the key serves what it stores")
	_, err = k.client().ReadLargeBlobArray(context.Background(), 1000)
	require.ErrorIs(t, err, ctap2.ErrIntegrityFailure)
}

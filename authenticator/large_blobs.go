package authenticator

import (
	"context"
	"fmt"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// minLargeBlobArray is the shortest serialized large-blob array: an empty
// CBOR array (one byte) and its 16-byte hash (CTAP 2.1 §6.10.2 step
// 5.b.iii).
const minLargeBlobArray = 1 + ctap2.LargeBlobHashSize

// initialLargeBlobArray is the serialized array of a new or reset key: the
// empty CBOR array 0x80 followed by LEFT(SHA-256(0x80), 16)
// (CTAP 2.1 §6.10.1).
func initialLargeBlobArray() []byte {
	return ctap2.SealLargeBlobArray([]byte{0x80})
}

// largeBlobWrite is a serialized large-blob array being received in
// fragments (CTAP 2.1 §6.10.2 step 5): its announced length and what has
// arrived, whose length is the offset the next fragment must have.
type largeBlobWrite struct {
	expectedLength uint64
	buf            []byte
}

// largeBlobs answers authenticatorLargeBlobs (CTAP 2.1 §6.10.2).
func (a *Authenticator) largeBlobs(ctx context.Context, params []byte) ([]byte, error) {
	if !a.profile.LargeBlobs {
		return nil, fmt.Errorf("largeBlobs: not offered: %w", ctap2.ErrInvalidCommand)
	}
	req, err := ctap2.ParseLargeBlobsRequest(params)
	if err != nil {
		return nil, fmt.Errorf("largeBlobs: %w", err)
	}
	dev, err := a.device()
	if err != nil {
		return nil, err
	}
	if req.Get != nil {
		resp, err := a.largeBlobsGet(dev, req)
		if err != nil {
			return nil, fmt.Errorf("largeBlobs: get: %w", err)
		}
		return resp, nil
	}
	if err := a.largeBlobsSet(dev, req); err != nil {
		return nil, fmt.Errorf("largeBlobs: set: %w", err)
	}
	return nil, nil
}

// maxFragmentLength is the most a get may ask for and a set may carry:
// maxMsgSize minus 64 (CTAP 2.1 §6.10.2).
func (a *Authenticator) maxFragmentLength() uint64 {
	return a.profile.MaxMsgSize - 64
}

// largeBlobArray is the stored serialized array.
func largeBlobArray(dev *deviceState) []byte {
	if dev.record.LargeBlobArray == nil {
		return initialLargeBlobArray()
	}
	return dev.record.LargeBlobArray
}

// largeBlobsGet returns a fragment of the stored array (step 4).
func (a *Authenticator) largeBlobsGet(dev *deviceState, req *ctap2.LargeBlobsRequest) ([]byte, error) {
	switch {
	case req.Length != nil:
		return nil, fmt.Errorf("length with get: %w", ctap2.ErrInvalidParameter)
	case req.PinUvAuthParam != nil || req.PinUvAuthProtocol != nil:
		return nil, fmt.Errorf("pinUvAuthParam or pinUvAuthProtocol with get: %w", ctap2.ErrInvalidParameter)
	case *req.Get > a.maxFragmentLength():
		return nil, fmt.Errorf("%d bytes asked, at most %d: %w", *req.Get, a.maxFragmentLength(), ctap2.ErrInvalidLength)
	}
	array := largeBlobArray(dev)
	offset := *req.Offset
	if offset > uint64(len(array)) {
		return nil, fmt.Errorf("offset %d beyond the %d-byte array: %w", offset, len(array), ctap2.ErrInvalidParameter)
	}
	end := offset + min(*req.Get, uint64(len(array))-offset)
	return ctap2.Marshal(ctap2.LargeBlobsResponse{Config: array[offset:end]})
}

// largeBlobsSet takes one fragment of a new array and, with the last one,
// checks and stores the whole (step 5). The pending write changes only once
// the fragment is accepted, so a refused request leaves it as it was.
func (a *Authenticator) largeBlobsSet(dev *deviceState, req *ctap2.LargeBlobsRequest) error {
	fragment, offset := req.Set, *req.Offset
	if uint64(len(fragment)) > a.maxFragmentLength() {
		return fmt.Errorf("fragment of %d bytes, at most %d: %w", len(fragment), a.maxFragmentLength(), ctap2.ErrInvalidLength)
	}
	pending := a.largeBlobWrite
	if offset == 0 {
		switch {
		case req.Length == nil:
			return fmt.Errorf("first fragment without length: %w", ctap2.ErrInvalidParameter)
		case *req.Length > a.profile.MaxLargeBlobArray:
			return fmt.Errorf("array of %d bytes, at most %d: %w", *req.Length, a.profile.MaxLargeBlobArray, ctap2.ErrLargeBlobStorageFull)
		case *req.Length < minLargeBlobArray:
			return fmt.Errorf("array of %d bytes, at least %d: %w", *req.Length, minLargeBlobArray, ctap2.ErrInvalidParameter)
		}
		pending = &largeBlobWrite{expectedLength: *req.Length}
	} else if req.Length != nil {
		return fmt.Errorf("length with a later fragment: %w", ctap2.ErrInvalidParameter)
	}
	if pending == nil || offset != uint64(len(pending.buf)) {
		return fmt.Errorf("fragment at offset %d out of sequence: %w", offset, ctap2.ErrInvalidSeq)
	}
	if err := a.largeBlobsAuth(dev, req); err != nil {
		return err
	}
	if offset+uint64(len(fragment)) > pending.expectedLength {
		return fmt.Errorf("fragment ends past the announced %d bytes: %w", pending.expectedLength, ctap2.ErrInvalidParameter)
	}
	pending.buf = append(pending.buf, fragment...)
	a.largeBlobWrite = pending
	if uint64(len(pending.buf)) < pending.expectedLength {
		return nil
	}
	// The array is complete: whatever happens now, the write is over.
	a.largeBlobWrite = nil
	if !ctap2.CheckLargeBlobArray(pending.buf) {
		return fmt.Errorf("array hash does not match: %w", ctap2.ErrIntegrityFailure)
	}
	return a.updateDevice(func(d *store.Device) error {
		d.LargeBlobArray = pending.buf
		return nil
	})
}

// largeBlobsAuth checks a set's pinUvAuthParam when the key is protected
// by a PIN or built-in UV, or always requires UV (step 5.e).
func (a *Authenticator) largeBlobsAuth(dev *deviceState, req *ctap2.LargeBlobsRequest) error {
	if !a.pinSet(dev) && !a.uvConfigured(dev) && !a.alwaysUV(dev) {
		return nil
	}
	if req.PinUvAuthParam == nil {
		return fmt.Errorf("pinUvAuthParam: %w", ctap2.ErrPUATRequired)
	}
	if req.PinUvAuthProtocol == nil {
		return fmt.Errorf("pinUvAuthProtocol: %w", ctap2.ErrMissingParameter)
	}
	protocol := *req.PinUvAuthProtocol
	if protocol == 0 {
		return fmt.Errorf("pinUvAuthProtocol 0: %w", ctap2.ErrInvalidParameter)
	}
	if *req.Offset > 1<<32-1 {
		// Cannot be authenticated: the message carries a 32-bit offset.
		return fmt.Errorf("offset %d: %w", *req.Offset, ctap2.ErrInvalidParameter)
	}
	msg := ctap2.LargeBlobsSetAuthMessage(uint32(*req.Offset), req.Set)
	if err := a.verifyPinUvAuthParam(protocol, req.PinUvAuthParam, msg); err != nil {
		return err
	}
	return a.requirePermission(PermLargeBlobWrite)
}

package ctap2

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/binary"
	"fmt"
)

// LargeBlobHashSize is the length of the truncated SHA-256 that ends a
// serialized large-blob array (CTAP 2.1 §6.10.1).
const LargeBlobHashSize = 16

// LargeBlobsRequest is the authenticatorLargeBlobs parameter map
// (CTAP 2.1 §6.10.2). Optional numbers are pointers, as their presence
// matters even when they are zero.
type LargeBlobsRequest struct {
	Get               *uint64 `cbor:"1,keyasint,omitempty"`
	Set               []byte  `cbor:"2,keyasint,omitempty"`
	Offset            *uint64 `cbor:"3,keyasint,omitempty"`
	Length            *uint64 `cbor:"4,keyasint,omitempty"`
	PinUvAuthParam    []byte  `cbor:"5,keyasint,omitempty"`
	PinUvAuthProtocol *uint64 `cbor:"6,keyasint,omitempty"`
}

// LargeBlobsResponse is the authenticatorLargeBlobs response map: a
// fragment of the serialized array for get, nothing for set.
type LargeBlobsResponse struct {
	Config []byte `cbor:"1,keyasint"`
}

// ParseLargeBlobsRequest decodes the parameters of authenticatorLargeBlobs
// and applies CTAP 2.1 §6.10.2 steps 1-3: offset is required and exactly
// one of get and set is present, else INVALID_PARAMETER. Errors wrap the
// CTAP status to answer.
func ParseLargeBlobsRequest(data []byte) (*LargeBlobsRequest, error) {
	var r LargeBlobsRequest
	if err := Unmarshal(data, &r); err != nil {
		return nil, fmt.Errorf("parsing largeBlobs: %w", err)
	}
	switch {
	case r.Offset == nil:
		return nil, fmt.Errorf("parsing largeBlobs: no offset: %w", ErrInvalidParameter)
	case r.Get == nil && r.Set == nil:
		return nil, fmt.Errorf("parsing largeBlobs: neither get nor set: %w", ErrInvalidParameter)
	case r.Get != nil && r.Set != nil:
		return nil, fmt.Errorf("parsing largeBlobs: both get and set: %w", ErrInvalidParameter)
	}
	return &r, nil
}

// LargeBlobsSetAuthMessage is what the pinUvAuthParam of a set
// authenticates: 32×0xff || h'0c00' || uint32LittleEndian(offset) ||
// SHA-256(fragment) (CTAP 2.1 §6.10.2 step 5.e.iv).
func LargeBlobsSetAuthMessage(offset uint32, fragment []byte) []byte {
	msg := bytes.Repeat([]byte{0xff}, 32)
	msg = append(msg, 0x0c, 0x00)
	msg = binary.LittleEndian.AppendUint32(msg, offset)
	sum := sha256.Sum256(fragment)
	return append(msg, sum[:]...)
}

// SealLargeBlobArray serializes a large-blob array: its CBOR encoding
// followed by LEFT(SHA-256(encoding), 16) (CTAP 2.1 §6.10.1).
func SealLargeBlobArray(encodedArray []byte) []byte {
	sum := sha256.Sum256(encodedArray)
	return append(bytes.Clone(encodedArray), sum[:LargeBlobHashSize]...)
}

// CheckLargeBlobArray reports whether serialized ends with the truncated
// hash of what precedes it. The CBOR before the hash is not judged: the
// authenticator stores it opaquely (CTAP 2.1 §6.10.2 step 5.j.i).
func CheckLargeBlobArray(serialized []byte) bool {
	if len(serialized) < LargeBlobHashSize {
		return false
	}
	n := len(serialized) - LargeBlobHashSize
	sum := sha256.Sum256(serialized[:n])
	return bytes.Equal(sum[:LargeBlobHashSize], serialized[n:])
}

// LargeBlobsGet reads up to length bytes of the serialized large-blob
// array from offset; length must not exceed maxMsgSize-64.
func (c *Client) LargeBlobsGet(ctx context.Context, offset, length uint64) ([]byte, error) {
	resp, err := execute[LargeBlobsResponse](ctx, c, CmdLargeBlobs, &LargeBlobsRequest{Get: &length, Offset: &offset})
	if err != nil {
		return nil, err
	}
	if resp.Config == nil {
		return nil, fmt.Errorf("%s: response without config: %w", CmdLargeBlobs, ErrMissingParameter)
	}
	return resp.Config, nil
}

// LargeBlobsSet writes one fragment of a new serialized array at offset.
// total is the whole array's length and is sent with the first fragment
// only. token may be nil on a key without PIN or built-in UV.
func (c *Client) LargeBlobsSet(ctx context.Context, token PinUvAuthToken, offset uint32, fragment []byte, total uint64) error {
	off := uint64(offset)
	req := &LargeBlobsRequest{Set: fragment, Offset: &off}
	if offset == 0 {
		req.Length = &total
	}
	if token != nil {
		v := token.Version()
		req.PinUvAuthProtocol = &v
		req.PinUvAuthParam = token.Authenticate(LargeBlobsSetAuthMessage(offset, fragment))
	}
	_, err := c.call(ctx, CmdLargeBlobs, req)
	return err
}

// ReadLargeBlobArray reads the whole serialized array in fragments of
// maxFragment bytes (maxMsgSize-64) and checks its trailing hash.
func (c *Client) ReadLargeBlobArray(ctx context.Context, maxFragment uint64) ([]byte, error) {
	if maxFragment == 0 {
		return nil, fmt.Errorf("%s: zero fragment length", CmdLargeBlobs)
	}
	var array []byte
	for {
		chunk, err := c.LargeBlobsGet(ctx, uint64(len(array)), maxFragment)
		if err != nil {
			return nil, err
		}
		array = append(array, chunk...)
		if uint64(len(chunk)) < maxFragment {
			break
		}
	}
	if !CheckLargeBlobArray(array) {
		return nil, fmt.Errorf("%s: serialized array of %d bytes: %w", CmdLargeBlobs, len(array), ErrIntegrityFailure)
	}
	return array, nil
}

// WriteLargeBlobArray replaces the serialized array with serialized (which
// must end with its hash, see SealLargeBlobArray), in fragments of
// maxFragment bytes.
func (c *Client) WriteLargeBlobArray(ctx context.Context, token PinUvAuthToken, serialized []byte, maxFragment uint64) error {
	if maxFragment == 0 {
		return fmt.Errorf("%s: zero fragment length", CmdLargeBlobs)
	}
	if uint64(len(serialized)) > 1<<32-1 {
		return fmt.Errorf("%s: serialized array of %d bytes does not fit a 32-bit offset", CmdLargeBlobs, len(serialized))
	}
	for offset := 0; offset < len(serialized); {
		n := min(uint64(len(serialized)-offset), maxFragment)
		if err := c.LargeBlobsSet(ctx, token, uint32(offset), serialized[offset:offset+int(n)], uint64(len(serialized))); err != nil {
			return err
		}
		offset += int(n)
	}
	return nil
}

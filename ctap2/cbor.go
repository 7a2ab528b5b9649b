package ctap2

import (
	"errors"
	"fmt"
	"io"

	"github.com/fxamacker/cbor/v2"
)

// Limits applied to every incoming CBOR message. CTAP 2.1 §8 asks
// authenticators to accept nesting of at least four levels; the bounds here
// are generous for honest requests and small enough that no request can make
// the decoder allocate much.
const (
	maxNesting       = 8
	maxArrayElements = 256
	maxMapPairs      = 64
)

var (
	encMode cbor.EncMode
	decMode cbor.DecMode
)

func init() {
	var err error
	// CTAP 2.1 §8 "Message Encoding": canonical CBOR (RFC 7049 §3.9 order),
	// definite lengths, no tags.
	encMode, err = cbor.CTAP2EncOptions().EncMode()
	if err != nil {
		panic("internal error: building CTAP2 CBOR encoder: " + err.Error())
	}
	decMode, err = cbor.DecOptions{
		DupMapKey:        cbor.DupMapKeyEnforcedAPF,
		IndefLength:      cbor.IndefLengthForbidden,
		TagsMd:           cbor.TagsForbidden,
		MaxNestedLevels:  maxNesting,
		MaxArrayElements: maxArrayElements,
		MaxMapPairs:      maxMapPairs,
		UTF8:             cbor.UTF8RejectInvalid,
	}.DecMode()
	if err != nil {
		panic("internal error: building CTAP2 CBOR decoder: " + err.Error())
	}
}

// Marshal encodes v as CTAP2 canonical CBOR.
func Marshal(v any) ([]byte, error) {
	return encMode.Marshal(v)
}

// Unmarshal decodes one CTAP2 CBOR item into v. Trailing bytes are refused.
// Errors wrap the CTAP status a request decoder should answer with:
// ErrInvalidCBOR for malformed input and ErrCBORUnexpectedType for
// well-formed input of the wrong shape.
func Unmarshal(data []byte, v any) error {
	if err := decMode.Unmarshal(data, v); err != nil {
		return fmt.Errorf("%w: %v", statusForDecodeError(err), err)
	}
	return nil
}

func statusForDecodeError(err error) Status {
	var typeErr *cbor.UnmarshalTypeError
	if errors.As(err, &typeErr) {
		return ErrCBORUnexpectedType
	}
	var keyErr *cbor.InvalidMapKeyTypeError
	if errors.As(err, &keyErr) {
		return ErrCBORUnexpectedType
	}
	if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
		return ErrInvalidCBOR
	}
	var limitErr *cbor.MaxArrayElementsError
	var mapErr *cbor.MaxMapPairsError
	if errors.As(err, &limitErr) || errors.As(err, &mapErr) {
		return ErrLimitExceeded
	}
	return ErrInvalidCBOR
}

// RawMessage is a CBOR item kept undecoded.
type RawMessage = cbor.RawMessage

package tpmkeys

import (
	"bytes"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"
	"golang.org/x/crypto/cryptobyte"
)

// A sealed key is the pair of blobs TPM2_Create returns, as TPM2_Load takes
// them back (TPM 2.0 Part 3 §12.1, §12.2):
//
//	version (1) | TPM2B_PUBLIC (2 + n) | TPM2B_PRIVATE (2 + m)
//
// The private blob is encrypted and integrity-protected under the storage
// root key's seed, so the sealed form is safe to hand out inside a credential
// ID: only the TPM that made it can load it.
const sealedVersion = 0x01

// blob is a credential key's public area and wrapped private area.
type blob struct {
	public  tpm2.TPM2BPublic
	private tpm2.TPM2BPrivate
}

func (b *blob) marshal() []byte {
	var out cryptobyte.Builder
	out.AddUint8(sealedVersion)
	out.AddBytes(tpm2.Marshal(b.public))
	out.AddBytes(tpm2.Marshal(b.private))
	return out.BytesOrPanic()
}

var errMalformed = errors.New("malformed sealed TPM key")

// parseBlob reads a sealed key, rejecting anything that does not marshal
// back to exactly the same bytes.
func parseBlob(sealed []byte) (*blob, error) {
	s := cryptobyte.String(sealed)
	var version uint8
	var pubBytes, privBytes cryptobyte.String
	if !s.ReadUint8(&version) {
		return nil, errMalformed
	}
	if version != sealedVersion {
		return nil, fmt.Errorf("%w: version %d, want %d", errMalformed, version, sealedVersion)
	}
	if !s.ReadUint16LengthPrefixed(&pubBytes) || !s.ReadUint16LengthPrefixed(&privBytes) || !s.Empty() {
		return nil, errMalformed
	}
	// TPM2B_PUBLIC carries its own size; parse it with the prefix so
	// Unmarshal checks the inner structure fills it.
	pub, err := unmarshal[tpm2.TPM2BPublic](sealed[1 : 3+len(pubBytes)])
	if err != nil {
		return nil, fmt.Errorf("%w: public area: %v", errMalformed, err)
	}
	if _, err := pub.Contents(); err != nil {
		return nil, fmt.Errorf("%w: public area: %v", errMalformed, err)
	}
	b := &blob{public: *pub, private: tpm2.TPM2BPrivate{Buffer: bytes.Clone(privBytes)}}
	if !bytes.Equal(b.marshal(), sealed) {
		return nil, fmt.Errorf("%w: public area does not re-encode to the same bytes", errMalformed)
	}
	return b, nil
}

// unmarshal is tpm2.Unmarshal that turns a panic in go-tpm's reflection
// decoder into an error: the bytes may come from a corrupt store.
func unmarshal[T tpm2.Marshallable, P interface {
	*T
	tpm2.Unmarshallable
}](data []byte) (v *T, err error) {
	defer func() {
		if r := recover(); r != nil {
			v, err = nil, fmt.Errorf("decoding %T: %v", v, r)
		}
	}()
	return tpm2.Unmarshal[T, P](data)
}

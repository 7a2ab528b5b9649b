// Package store defines the records an authenticator keeps between
// requests, and an in-memory store for tests and throughput runs. The
// persistent, encrypted store is in package vault.
package store

import (
	"errors"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// ErrNotFound is returned when a record does not exist.
var ErrNotFound = errors.New("store: not found")

// Credential is a discoverable (resident) credential. Its private key is
// inside ID, sealed under the device's credential key, so the record holds no
// key material of its own.
type Credential struct {
	ID      []byte           `cbor:"1,keyasint"`
	RPID    string           `cbor:"2,keyasint"`
	RPName  string           `cbor:"3,keyasint,omitempty"`
	User    ctap2.UserEntity `cbor:"4,keyasint"`
	Alg     ctap2.Alg        `cbor:"5,keyasint"`
	Created time.Time        `cbor:"6,keyasint"`
	// Sequence orders credentials by creation when clocks tie; the store
	// assigns it on PutCredential.
	Sequence uint64 `cbor:"7,keyasint"`
}

// Device holds the secrets that make one authenticator: the key that seals
// credential IDs, and the batch attestation key and chain (empty when the
// profile needs none). Reset replaces it.
type Device struct {
	CredentialKey    []byte   `cbor:"1,keyasint"`           // 32 bytes, AES-256-GCM
	AttestationKey   []byte   `cbor:"2,keyasint,omitempty"` // PKCS #8
	AttestationChain [][]byte `cbor:"3,keyasint,omitempty"` // DER, leaf first
}

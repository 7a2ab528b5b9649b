// Package store defines the records an authenticator keeps between
// requests, and an in-memory store for tests and throughput runs. The
// persistent, encrypted store is in package vault.
package store

import (
	"errors"
	"slices"
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
	// CredBlob is the credBlob extension's value (CTAP 2.1 §12.2).
	CredBlob []byte `cbor:"8,keyasint,omitempty"`
	// LargeBlobKey is the largeBlobKey extension's key (CTAP 2.1 §12.3).
	LargeBlobKey []byte `cbor:"9,keyasint,omitempty"`
}

// Device holds the secrets and settings that make one authenticator: the
// key that seals credential IDs, the batch attestation key and chain (empty
// when the profile needs none), the PIN and its retry counters, what
// authenticatorConfig changed, the large-blob array and the enrolled
// fingerprints. Reset replaces it. Zero values are the state of a new key.
type Device struct {
	CredentialKey    []byte   `cbor:"1,keyasint"`           // 32 bytes, AES-256-GCM
	AttestationKey   []byte   `cbor:"2,keyasint,omitempty"` // PKCS #8
	AttestationChain [][]byte `cbor:"3,keyasint,omitempty"` // DER, leaf first

	// PINHash is LEFT(SHA-256(PIN), 16), nil while no PIN is set
	// (CTAP 2.1 §6.5.5.5).
	PINHash []byte `cbor:"4,keyasint,omitempty"`
	// PINCodePoints is the current PIN's length in Unicode code points,
	// so that a raised minimum PIN length can force a change.
	PINCodePoints int `cbor:"5,keyasint,omitempty"`
	// PINFailures and UVFailures count wrong PINs and failed built-in
	// verifications since the last success: the retries left are the
	// maximum minus these.
	PINFailures int `cbor:"6,keyasint,omitempty"`
	UVFailures  int `cbor:"7,keyasint,omitempty"`
	// MinPINLength, when not zero, replaces the profile's minimum PIN
	// length (authenticatorConfig setMinPINLength, CTAP 2.1 §6.11.4).
	MinPINLength int `cbor:"8,keyasint,omitempty"`
	// MinPINLengthRPIDs may read the minimum PIN length through the
	// minPinLength extension.
	MinPINLengthRPIDs []string `cbor:"9,keyasint,omitempty"`
	ForcePINChange    bool     `cbor:"10,keyasint,omitempty"`
	// AlwaysUV, when set, overrides the profile's alwaysUv
	// (toggleAlwaysUv, CTAP 2.1 §6.11.3).
	AlwaysUV *bool `cbor:"11,keyasint,omitempty"`
	// EnterpriseAttestation is enabled by authenticatorConfig
	// (CTAP 2.1 §6.11.1); off after reset.
	EnterpriseAttestation bool `cbor:"12,keyasint,omitempty"`
	// LargeBlobArray is the serialized large-blob array (CTAP 2.1 §6.10),
	// nil for the initial empty array.
	LargeBlobArray []byte `cbor:"13,keyasint,omitempty"`
	// Templates are the enrolled fingerprints (CTAP 2.1 §6.7).
	Templates []Template `cbor:"14,keyasint,omitempty"`
}

// Template is one enrolled fingerprint of the emulated sensor.
type Template struct {
	ID   []byte `cbor:"1,keyasint"`
	Name string `cbor:"2,keyasint,omitempty"`
}

// Clone returns a deep copy of d, so that a change can be prepared and
// thrown away if storing it fails.
func (d *Device) Clone() *Device {
	c := *d
	c.CredentialKey = slices.Clone(d.CredentialKey)
	c.AttestationKey = slices.Clone(d.AttestationKey)
	c.AttestationChain = slices.Clone(d.AttestationChain)
	c.PINHash = slices.Clone(d.PINHash)
	c.MinPINLengthRPIDs = slices.Clone(d.MinPINLengthRPIDs)
	if d.AlwaysUV != nil {
		v := *d.AlwaysUV
		c.AlwaysUV = &v
	}
	c.LargeBlobArray = slices.Clone(d.LargeBlobArray)
	c.Templates = make([]Template, len(d.Templates))
	for i, t := range d.Templates {
		c.Templates[i] = Template{ID: slices.Clone(t.ID), Name: t.Name}
	}
	if d.Templates == nil {
		c.Templates = nil
	}
	return &c
}

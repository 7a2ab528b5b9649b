package authenticator

import (
	"context"
	"crypto"
	"errors"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// Store keeps what the authenticator must remember: device secrets,
// discoverable credentials and signature counters. Every method that changes
// something has made the change durable when it returns.
type Store interface {
	Device() (*store.Device, error) // store.ErrNotFound before the first SetDevice
	SetDevice(*store.Device) error
	// PutCredential adds c, replacing the credential with the same RP ID
	// and user ID, if any.
	PutCredential(c *store.Credential) error
	Credential(id []byte) (*store.Credential, error)
	// CredentialsForRP returns the RP's credentials, newest first.
	CredentialsForRP(rpID string) ([]*store.Credential, error)
	// Credentials returns every credential, oldest first
	// (credentialManagement enumerates RPs from it).
	Credentials() ([]*store.Credential, error)
	// UpdateCredential replaces the stored credential that has c's ID
	// with c, keeping its place in creation order (its Sequence). c must
	// keep the stored RP ID and user ID; store.ErrNotFound when no
	// credential has the ID.
	UpdateCredential(c *store.Credential) error
	CountCredentials() (int, error)
	DeleteCredential(id []byte) error
	// IncrementCounter adds one to the named signature counter and returns
	// the new value; counters never go backwards.
	IncrementCounter(name []byte) (uint32, error)
	// Reset forgets everything, device secrets included.
	Reset() error
}

// KeyBackend makes and loads credential private keys. The sealed form is
// opaque to the engine: a software backend returns the private key itself
// (the engine then encrypts it into the credential ID), a TPM backend returns
// the TPM's wrapped key blobs.
type KeyBackend interface {
	GenerateKey(alg ctap2.Alg) (sealed []byte, key crypto.Signer, err error)
	LoadKey(alg ctap2.Alg, sealed []byte) (crypto.Signer, error)
}

// PresenceRequest tells the user what a touch would approve.
type PresenceRequest struct {
	Operation string // "register", "authenticate", "reset", "select"
	RPID      string
	UserName  string
}

// Errors a Presence answers with besides approval (nil) and a context error
// (the request was cancelled).
var (
	ErrPresenceDenied  = errors.New("user presence denied")
	ErrPresenceTimeout = errors.New("user presence timed out")
)

// Presence asks the user to confirm presence. It blocks until the user
// approves (nil), denies (ErrPresenceDenied), does not answer in time
// (ErrPresenceTimeout), or ctx is done (CTAPHID_CANCEL).
type Presence interface {
	RequestPresence(ctx context.Context, req PresenceRequest) error
}

// PresenceFunc adapts a function to the Presence interface.
type PresenceFunc func(ctx context.Context, req PresenceRequest) error

// RequestPresence calls f.
func (f PresenceFunc) RequestPresence(ctx context.Context, req PresenceRequest) error {
	return f(ctx, req)
}

// AlwaysPresent approves every request at once, as `--presence auto` does.
var AlwaysPresent Presence = PresenceFunc(func(context.Context, PresenceRequest) error { return nil })

// VerifyRequest tells the user what a built-in user verification would
// approve. Operation "enroll" asks for one fingerprint sample.
type VerifyRequest struct {
	Operation string // "register", "authenticate", "token", "enroll"
	RPID      string
	UserName  string
}

// ErrUVNoMatch is a Verifier's answer when the user was not recognised.
var ErrUVNoMatch = errors.New("user verification did not match")

// Verifier performs built-in user verification (CTAP 2.1 §6.5.2
// performBuiltInUv). It blocks until the user is verified (nil), not
// recognised (ErrUVNoMatch), or ctx is done.
type Verifier interface {
	VerifyUser(ctx context.Context, req VerifyRequest) error
}

// VerifierFunc adapts a function to the Verifier interface.
type VerifierFunc func(ctx context.Context, req VerifyRequest) error

// VerifyUser calls f.
func (f VerifierFunc) VerifyUser(ctx context.Context, req VerifyRequest) error {
	return f(ctx, req)
}

// AlwaysVerified recognises every user at once.
var AlwaysVerified Verifier = VerifierFunc(func(context.Context, VerifyRequest) error { return nil })

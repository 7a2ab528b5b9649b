// Package authenticator is a CTAP2 authenticator as a pure state machine:
// a request goes in (command byte and CBOR, or a U2F APDU), a response comes
// out (status byte and CBOR, or an APDU with its status word). Everything the
// outside world supplies, the clock, randomness, user presence, keys and
// storage, comes through the fields of [Config].
package authenticator

import (
	"context"
	"crypto"
	"crypto/rand"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/ctap2"
)

// Config is what an Authenticator is made from. Profile, Store and Keys are
// required; the others have defaults.
type Config struct {
	Profile *Profile
	Store   Store
	Keys    KeyBackend

	// Presence answers requests for a touch; nil approves every request.
	Presence Presence
	// Verifier decides built-in user verification, when the profile has
	// it; nil verifies every request.
	Verifier Verifier
	// Rand is the source of all randomness; nil means crypto/rand.
	Rand io.Reader
	// Now tells the time; nil means time.Now.
	Now func() time.Time
	// Logger receives one debug line per request; nil discards.
	Logger *slog.Logger
	// CA issues attestation certificates at each start. Nil means the
	// device makes its own batch chain once and keeps it in the store.
	CA *attestation.CA
	// Batch, when set, is the batch attestation key and chain to use as
	// is, for example one a hardware team imported; its AAGUID must be the
	// profile's.
	Batch *attestation.Batch
}

// Authenticator is one CTAP2 authenticator. Its methods are safe for
// concurrent use; requests are handled one at a time, as on a real key.
type Authenticator struct {
	profile  *Profile
	store    Store
	keys     KeyBackend
	presence Presence
	rand     io.Reader
	now      func() time.Time
	log      *slog.Logger
	ca       *attestation.CA
	batch    *attestation.Batch

	mu  sync.Mutex
	dev *deviceState
	// loadedKeys caches recently used credential keys by credential ID.
	loadedKeys map[string]crypto.Signer
	poweredOn  time.Time
	// next holds the state of an assertion sequence that
	// authenticatorGetNextAssertion continues; any other command ends it.
	next *assertionSequence
	// pin is the PIN/UV state that a power cycle forgets.
	pin pinUvState
	// enumeration holds a credentialManagement enumeration that its
	// getNext subcommands continue; any other command ends it.
	enumeration *enumeration
	// largeBlobWrite is a large-blob array being written in fragments
	// (CTAP 2.1 §6.10.2); a power cycle forgets it.
	largeBlobWrite *largeBlobWrite
	// enrollment is the fingerprint enrollment in progress (CTAP 2.1
	// §6.7.4); a power cycle forgets it.
	enrollment *enrollment
	// verifier decides built-in user verification.
	verifier Verifier
}

// New checks the configuration and returns an authenticator. On a new store
// it creates the device secrets.
func New(cfg Config) (*Authenticator, error) {
	if cfg.Profile == nil || cfg.Store == nil || cfg.Keys == nil {
		return nil, errors.New("authenticator: Profile, Store and Keys are required")
	}
	if err := cfg.Profile.Validate(); err != nil {
		return nil, fmt.Errorf("authenticator: %w", err)
	}
	a := &Authenticator{
		profile:  cfg.Profile,
		store:    cfg.Store,
		keys:     cfg.Keys,
		presence: cfg.Presence,
		verifier: cfg.Verifier,
		rand:     cfg.Rand,
		now:      cfg.Now,
		log:      cfg.Logger,
		ca:       cfg.CA,
		batch:    cfg.Batch,
	}
	if a.batch != nil {
		if err := a.batch.CheckAAGUID(a.profile.AAGUID); err != nil {
			return nil, fmt.Errorf("authenticator: batch certificate: %w", err)
		}
	}
	if a.presence == nil {
		a.presence = AlwaysPresent
	}
	if a.verifier == nil {
		a.verifier = AlwaysVerified
	}
	if a.rand == nil {
		a.rand = rand.Reader
	}
	if a.now == nil {
		a.now = time.Now
	}
	if a.log == nil {
		a.log = slog.New(slog.DiscardHandler)
	}
	a.poweredOn = a.now()
	if _, err := a.device(); err != nil {
		return nil, fmt.Errorf("authenticator: %w", err)
	}
	if err := a.initPinUvState(); err != nil {
		return nil, fmt.Errorf("authenticator: %w", err)
	}
	return a, nil
}

// PowerCycle forgets everything that lasts only until power-off, as
// unplugging a real key would.
func (a *Authenticator) PowerCycle() {
	a.mu.Lock()
	defer a.mu.Unlock()
	a.poweredOn = a.now()
	a.next = nil
	a.enumeration = nil
	a.largeBlobWrite = nil
	a.enrollment = nil
	// A new key agreement key, a new token not in use, and no
	// PIN_AUTH_BLOCKED (CTAP 2.1 §6.5.4). Should randomness fail, the key
	// agreement key is made on first use and no token is in use.
	if err := a.initPinUvState(); err != nil {
		a.log.Error("power cycle: PIN/UV state", "error", err)
	}
}

// HandleCBOR answers one CTAPHID_CBOR message: msg is the command byte
// followed by its CBOR parameters; the answer is a status byte followed by
// CBOR. It never fails: every problem becomes a status code.
func (a *Authenticator) HandleCBOR(ctx context.Context, msg []byte) []byte {
	a.mu.Lock()
	defer a.mu.Unlock()
	start := a.now()
	if len(msg) == 0 {
		return []byte{byte(ctap2.ErrInvalidLength)}
	}
	cmd, params := ctap2.Command(msg[0]), msg[1:]
	if cmd != ctap2.CmdGetNextAssertion {
		a.next = nil
	}
	if cmd != ctap2.CmdCredentialManagement && cmd != ctap2.CmdCredentialManagementPre {
		a.enumeration = nil
	}
	resp, err := a.dispatch(ctx, cmd, params)
	status := statusOf(err)
	a.log.Debug("ctap2", "command", cmd, "status", status, "duration", a.now().Sub(start), "error", err)
	if status != ctap2.StatusOK {
		return []byte{byte(status)}
	}
	return append([]byte{byte(ctap2.StatusOK)}, resp...)
}

func (a *Authenticator) dispatch(ctx context.Context, cmd ctap2.Command, params []byte) ([]byte, error) {
	switch cmd {
	case ctap2.CmdGetInfo:
		return a.getInfo()
	case ctap2.CmdMakeCredential:
		return a.makeCredential(ctx, params)
	case ctap2.CmdGetAssertion:
		return a.getAssertion(ctx, params)
	case ctap2.CmdGetNextAssertion:
		return a.getNextAssertion()
	case ctap2.CmdReset:
		return a.reset(ctx)
	case ctap2.CmdSelection:
		return a.selection(ctx)
	case ctap2.CmdClientPIN:
		return a.clientPIN(ctx, params)
	case ctap2.CmdCredentialManagement, ctap2.CmdCredentialManagementPre:
		return a.credentialManagement(ctx, cmd, params)
	case ctap2.CmdBioEnrollment, ctap2.CmdBioEnrollmentPre:
		return a.bioEnrollment(ctx, cmd, params)
	case ctap2.CmdLargeBlobs:
		return a.largeBlobs(ctx, params)
	case ctap2.CmdConfig:
		return a.config(ctx, params)
	}
	return nil, fmt.Errorf("%v: %w", cmd, ctap2.ErrInvalidCommand)
}

// statusOf maps an error to the CTAP status to answer with: the Status it
// wraps, or CTAP1_ERR_OTHER for anything else.
func statusOf(err error) ctap2.Status {
	if err == nil {
		return ctap2.StatusOK
	}
	var s ctap2.Status
	if errors.As(err, &s) {
		return s
	}
	return ctap2.ErrOther
}

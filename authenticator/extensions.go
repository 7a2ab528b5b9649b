package authenticator

import (
	"crypto/aes"
	"crypto/hmac"
	"crypto/sha256"
	"fmt"
	"io"
	"slices"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/pinuv"
)

// credProtect levels (CTAP 2.1 §12.1).
const (
	credProtectOptional         uint8 = 1 // userVerificationOptional
	credProtectOptionalWithList uint8 = 2 // userVerificationOptionalWithCredentialIDList
	credProtectRequired         uint8 = 3 // userVerificationRequired
)

// largeBlobKeySize is the size of a largeBlobKey (CTAP 2.1 §12.3).
const largeBlobKeySize = 32

// registrationExtensions is what a makeCredential request asked of the
// extensions the profile supports (CTAP 2.1 §12); others are ignored.
type registrationExtensions struct {
	credProtect uint8 // 0: not asked
	hmacSecret  bool
	// hmacSecretMC is the hmac-secret-mc input (CTAP 2.2), evaluated
	// once the credential exists; nil when not asked.
	hmacSecretMC *hmacSecretInput
	// credBlobAsked tells that the request carried credBlob; credBlob is
	// what gets stored with the credential, nil when it cannot be.
	credBlobAsked bool
	credBlob      []byte
	largeBlobKey  bool
	minPINLength  bool
}

// parseRegistrationExtensions reads the makeCredential extensions input.
// A malformed value of a supported extension is an error; an unsupported
// extension is ignored, whatever its value (CTAP 2.1 §12).
func (a *Authenticator) parseRegistrationExtensions(in map[string]ctap2.RawMessage, discoverable bool) (*registrationExtensions, error) {
	ext := &registrationExtensions{}
	if raw, ok := a.extensionInput(in, ExtCredProtect); ok {
		var level uint64
		if err := ctap2.UnmarshalExtension(raw, &level); err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtCredProtect, err)
		}
		if level < uint64(credProtectOptional) || level > uint64(credProtectRequired) {
			return nil, fmt.Errorf("extension %s: level %d: %w", ExtCredProtect, level, ctap2.ErrInvalidParameter)
		}
		ext.credProtect = uint8(level)
	}
	if raw, ok := a.extensionInput(in, ExtHMACSecret); ok {
		if err := ctap2.UnmarshalExtension(raw, &ext.hmacSecret); err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtHMACSecret, err)
		}
	}
	// hmac-secret-mc evaluates the secret of a credential made with
	// hmac-secret; without hmac-secret: true there is none, and the input
	// is ignored.
	if raw, ok := a.extensionInput(in, ExtHMACSecretMC); ok && ext.hmacSecret {
		hs, err := a.parseHMACSecretInput(raw)
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtHMACSecretMC, err)
		}
		ext.hmacSecretMC = hs
	}
	if raw, ok := a.extensionInput(in, ExtCredBlob); ok {
		blob, err := ctap2.UnmarshalByteString(raw)
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtCredBlob, err)
		}
		ext.credBlobAsked = true
		// A blob that is too long is not stored, and the output says so
		// (CTAP 2.1 §12.2). Only discoverable credentials have a record
		// to keep it in.
		if discoverable && uint64(len(blob)) <= a.profile.MaxCredBlobLength {
			ext.credBlob = blob
		}
	}
	if raw, ok := a.extensionInput(in, ExtLargeBlobKey); ok {
		if err := ctap2.UnmarshalExtension(raw, &ext.largeBlobKey); err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtLargeBlobKey, err)
		}
		// CTAP 2.1 §12.3: the only valid input is true, and the key lives
		// in the record of a discoverable credential.
		if !ext.largeBlobKey {
			return nil, fmt.Errorf("extension %s: false: %w", ExtLargeBlobKey, ctap2.ErrInvalidOption)
		}
		if !discoverable {
			return nil, fmt.Errorf("extension %s without rk: %w", ExtLargeBlobKey, ctap2.ErrInvalidOption)
		}
	}
	if raw, ok := a.extensionInput(in, ExtMinPINLength); ok {
		if err := ctap2.UnmarshalExtension(raw, &ext.minPINLength); err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtMinPINLength, err)
		}
	}
	return ext, nil
}

// registrationOutputs returns the authenticator data extensions (nil for
// none) and the largeBlobKey to answer with, once the credential exists.
func (a *Authenticator) registrationOutputs(ext *registrationExtensions, dev *deviceState, rpID string, credID []byte, uv bool) (authDataExtensions, largeBlobKey []byte, err error) {
	out := map[string]any{}
	if ext.credProtect != 0 {
		out[ExtCredProtect] = ext.credProtect
	}
	if ext.hmacSecret {
		out[ExtHMACSecret] = true
	}
	if ext.hmacSecretMC != nil {
		enc, err := ext.hmacSecretMC.evaluate(a.rand, credRandom(dev, credID, uv))
		if err != nil {
			return nil, nil, fmt.Errorf("extension %s: %w", ExtHMACSecretMC, err)
		}
		out[ExtHMACSecretMC] = enc
	}
	if ext.credBlobAsked {
		out[ExtCredBlob] = ext.credBlob != nil
	}
	// CTAP 2.1 §12.4: only the RP IDs that authenticatorConfig listed
	// learn the minimum PIN length.
	if ext.minPINLength && slices.Contains(dev.record.MinPINLengthRPIDs, rpID) {
		out[ExtMinPINLength] = uint64(a.minPINLength(dev))
	}
	if ext.largeBlobKey {
		largeBlobKey = make([]byte, largeBlobKeySize)
		if _, err := io.ReadFull(a.rand, largeBlobKey); err != nil {
			return nil, nil, fmt.Errorf("extension %s: drawing the key: %w", ExtLargeBlobKey, err)
		}
	}
	if len(out) > 0 {
		if authDataExtensions, err = ctap2.Marshal(out); err != nil {
			return nil, nil, fmt.Errorf("encoding extension outputs: %w", err)
		}
	}
	return authDataExtensions, largeBlobKey, nil
}

// assertionExtensions is what a getAssertion request asked of the
// extensions the profile supports.
type assertionExtensions struct {
	hmacSecret   *hmacSecretInput // nil when not asked
	credBlob     bool             // getCredBlob
	largeBlobKey bool
}

// parseAssertionExtensions reads the getAssertion extensions input. The
// hmac-secret salts are checked and decrypted here, before anything is
// signed, and kept for getNextAssertion.
func (a *Authenticator) parseAssertionExtensions(in map[string]ctap2.RawMessage, userPresence bool) (*assertionExtensions, error) {
	ext := &assertionExtensions{}
	if raw, ok := a.extensionInput(in, ExtHMACSecret); ok {
		// A silent probe gets no secret (CTAP 2.1 §12.5).
		if !userPresence {
			return nil, fmt.Errorf("extension %s with up=false: %w", ExtHMACSecret, ctap2.ErrUnsupportedOption)
		}
		hs, err := a.parseHMACSecretInput(raw)
		if err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtHMACSecret, err)
		}
		ext.hmacSecret = hs
	}
	if raw, ok := a.extensionInput(in, ExtCredBlob); ok {
		if err := ctap2.UnmarshalExtension(raw, &ext.credBlob); err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtCredBlob, err)
		}
	}
	if raw, ok := a.extensionInput(in, ExtLargeBlobKey); ok {
		if err := ctap2.UnmarshalExtension(raw, &ext.largeBlobKey); err != nil {
			return nil, fmt.Errorf("extension %s: %w", ExtLargeBlobKey, err)
		}
		if !ext.largeBlobKey {
			return nil, fmt.Errorf("extension %s: false: %w", ExtLargeBlobKey, ctap2.ErrInvalidOption)
		}
	}
	return ext, nil
}

// credentialVisible applies credProtect (CTAP 2.1 §12.1): whether a
// credential may be used or revealed, given whether the request named it in
// an allow or exclude list and whether the user was verified.
func credentialVisible(src *credentialSource, listed, uv bool) bool {
	switch src.protectionLevel() {
	case credProtectOptionalWithList:
		return listed || uv
	case credProtectRequired:
		return uv
	}
	return true
}

// assertionOutputs returns the authenticator data extensions (nil for
// none) and the largeBlobKey of one assertion.
func (a *Authenticator) assertionOutputs(ext *assertionExtensions, dev *deviceState, c assertionCandidate, uv bool) (authDataExtensions, largeBlobKey []byte, err error) {
	out := map[string]any{}
	// A credential made without hmac-secret has no secret to evaluate
	// (CTAP 2.1 §12.5): no output.
	if ext.hmacSecret != nil && c.source.hmacSecret {
		enc, err := ext.hmacSecret.evaluate(a.rand, credRandom(dev, c.id, uv))
		if err != nil {
			return nil, nil, fmt.Errorf("extension %s: %w", ExtHMACSecret, err)
		}
		out[ExtHMACSecret] = enc
	}
	if ext.credBlob {
		// A credential without a blob answers an empty one (CTAP 2.1 §12.2).
		blob := []byte{}
		if c.stored != nil && c.stored.CredBlob != nil {
			blob = c.stored.CredBlob
		}
		out[ExtCredBlob] = blob
	}
	if ext.largeBlobKey && c.stored != nil && len(c.stored.LargeBlobKey) > 0 {
		largeBlobKey = c.stored.LargeBlobKey
	}
	if len(out) > 0 {
		if authDataExtensions, err = ctap2.Marshal(out); err != nil {
			return nil, nil, fmt.Errorf("encoding extension outputs: %w", err)
		}
	}
	return authDataExtensions, largeBlobKey, nil
}

// extensionInput returns the request's input for extension id when the
// profile supports it.
func (a *Authenticator) extensionInput(in map[string]ctap2.RawMessage, id string) (ctap2.RawMessage, bool) {
	raw, ok := in[id]
	return raw, ok && a.profile.HasExtension(id)
}

// hmacSecretInput is a checked hmac-secret (or hmac-secret-mc) input: the
// protocol, the shared secret with the platform, and the decrypted salts.
type hmacSecretInput struct {
	protocol     pinuv.Protocol
	sharedSecret []byte
	salts        []byte // salt1, or salt1 | salt2
}

// hmacSaltSize is the size of one hmac-secret salt.
const hmacSaltSize = 32

// parseHMACSecretInput decodes and checks an hmac-secret input
// (CTAP 2.1 §12.5): the protocol must be one the profile offers, the
// platform key must agree with the authenticator's key agreement key,
// saltAuth must be the MAC of saltEnc (else PIN_AUTH_INVALID), and saltEnc
// must hold one or two salts (else INVALID_LENGTH).
func (a *Authenticator) parseHMACSecretInput(raw ctap2.RawMessage) (*hmacSecretInput, error) {
	in, err := ctap2.ParseHMACSecretInput(raw)
	if err != nil {
		return nil, err
	}
	p, err := a.pinUvProtocol(in.Protocol())
	if err != nil {
		return nil, err
	}
	ka, err := a.keyAgreement()
	if err != nil {
		return nil, err
	}
	secret, err := ka.SharedSecret(p, in.KeyAgreement)
	if err != nil {
		return nil, err
	}
	if !p.Verify(secret, in.SaltEnc, in.SaltAuth) {
		return nil, fmt.Errorf("saltAuth: %w", ctap2.ErrPINAuthInvalid)
	}
	n := len(in.SaltEnc)
	if p.Version() == 2 {
		n -= aes.BlockSize // the IV in front
	}
	if n != hmacSaltSize && n != 2*hmacSaltSize {
		return nil, fmt.Errorf("saltEnc of %d bytes: %w", len(in.SaltEnc), ctap2.ErrInvalidLength)
	}
	salts, err := p.Decrypt(secret, in.SaltEnc)
	if err != nil {
		return nil, fmt.Errorf("saltEnc: %v: %w", err, ctap2.ErrInvalidLength)
	}
	return &hmacSecretInput{protocol: p, sharedSecret: secret, salts: salts}, nil
}

// evaluate returns the encrypted hmac-secret output for credRandom:
// encrypt(sharedSecret, HMAC-SHA-256(CredRandom, salt1) [| HMAC-SHA-256(CredRandom, salt2)]).
func (h *hmacSecretInput) evaluate(rnd io.Reader, credRandom []byte) ([]byte, error) {
	out := make([]byte, 0, len(h.salts))
	for salt := range slices.Chunk(h.salts, hmacSaltSize) {
		m := hmac.New(sha256.New, credRandom)
		m.Write(salt)
		out = m.Sum(out)
	}
	return h.protocol.Encrypt(rnd, h.sharedSecret, out)
}

// credRandom is a credential's hmac-secret CredRandom, one with user
// verification and another without (CTAP 2.1 §12.5), derived rather than
// stored, so that non-discoverable credentials have them too:
//
//	K          = HMAC-SHA-256(CredentialKey, "softkey hmac-secret CredRandom")
//	CredRandom = HMAC-SHA-256(K, ("uv" | "no-uv") | 0x00 | credential ID)
//
// The device's credential key makes them secret and stable across restarts
// (a reset replaces it); the credential ID makes them differ per credential.
func credRandom(dev *deviceState, credID []byte, uv bool) []byte {
	k := hmac.New(sha256.New, dev.record.CredentialKey)
	k.Write([]byte("softkey hmac-secret CredRandom"))
	m := hmac.New(sha256.New, k.Sum(nil))
	if uv {
		m.Write([]byte("uv"))
	} else {
		m.Write([]byte("no-uv"))
	}
	m.Write([]byte{0})
	m.Write(credID)
	return m.Sum(nil)
}

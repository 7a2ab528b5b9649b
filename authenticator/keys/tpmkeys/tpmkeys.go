// Package tpmkeys is a credential key backend whose private keys live in a
// TPM 2.0 and never leave it.
//
// Credential keys are made with TPM2_Create under a storage root key (SRK):
// an ECC P-256 primary key under the owner hierarchy, made from the TCG
// template with TPM2_CreatePrimary. The same template on the same owner seed
// gives the same key, so the SRK is simply made again at every start and the
// blobs of earlier keys keep loading. A key's sealed form is its public and
// wrapped private blob; a signature loads it (TPM2_Load), signs (TPM2_Sign)
// and flushes it at once, because the reference TPM holds only three loaded
// objects (TPM 2.0 reference profile MAX_LOADED_OBJECTS).
//
// The backend takes any go-tpm [transport.TPM]: the kernel resource manager
// (/dev/tpmrm0), a swtpm socket, or the in-process simulator (see [Open]).
// It serialises its use of the TPM, so it is safe for concurrent use, but
// nothing else may use the same TPM connection meanwhile.
package tpmkeys

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"errors"
	"fmt"
	"math/big"
	"sync"

	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/softkeydev/softkey/ctap2"
)

// Config is what a [Backend] is made from.
type Config struct {
	// TPM is the connection to use; required. The backend does not close
	// it.
	TPM transport.TPM
	// OwnerAuth is the owner hierarchy password; empty on a TPM whose
	// owner has set none (swtpm, the simulator, most Linux machines).
	OwnerAuth []byte
}

// Backend makes and loads credential keys in a TPM. It implements
// authenticator.KeyBackend.
type Backend struct {
	mu        sync.Mutex
	tpm       transport.TPM
	ownerAuth []byte
	srk       tpm2.NamedHandle // the loaded storage root key
	algs      []ctap2.Alg
}

// New makes the storage root key and finds out which algorithms the TPM
// supports. Close flushes the storage root key.
func New(cfg Config) (*Backend, error) {
	if cfg.TPM == nil {
		return nil, errors.New("tpmkeys: Config.TPM is required")
	}
	b := &Backend{tpm: retrying{cfg.TPM}, ownerAuth: cfg.OwnerAuth}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.createSRK(); err != nil {
		return nil, err
	}
	b.algs = []ctap2.Alg{ctap2.AlgES256}
	// TPM 2.0 Part 3 §10.3: TPM2_TestParms answers whether the TPM could
	// make a key with these parameters, without making one.
	if _, err := (tpm2.TestParms{Parameters: tpm2.TPMTPublicParms{
		Type:       tpm2.TPMAlgRSA,
		Parameters: rsaTemplate().Parameters,
	}}).Execute(b.tpm); err == nil {
		b.algs = append(b.algs, ctap2.AlgRS256)
	}
	return b, nil
}

// Algorithms lists the COSE algorithms the TPM can make keys for, ES256
// first; the profile should offer no others.
func (b *Backend) Algorithms() []ctap2.Alg {
	return append([]ctap2.Alg(nil), b.algs...)
}

// Close flushes the storage root key. It does not close the TPM
// connection.
func (b *Backend) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.srk.Handle == 0 {
		return nil
	}
	_, err := tpm2.FlushContext{FlushHandle: b.srk.Handle}.Execute(b.tpm)
	b.srk = tpm2.NamedHandle{}
	if err != nil {
		return fmt.Errorf("tpmkeys: flushing storage root key: %w", err)
	}
	return nil
}

// createSRK makes the storage root key from the TCG ECC P-256 SRK template
// (TCG TPM v2.0 Provisioning Guidance §7.5.1): its unique field is empty, so
// the key derives from the owner seed alone. b.mu must be held.
func (b *Backend) createSRK() error {
	rsp, err := tpm2.CreatePrimary{
		PrimaryHandle: tpm2.AuthHandle{Handle: tpm2.TPMRHOwner, Auth: tpm2.PasswordAuth(b.ownerAuth)},
		InPublic:      tpm2.New2B(tpm2.ECCSRKTemplate),
	}.Execute(b.tpm)
	if err != nil {
		return fmt.Errorf("tpmkeys: creating storage root key: %w", classify(err))
	}
	b.srk = tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}
	return nil
}

// credentialAttributes are a signing key's: fixed to this TPM and this
// parent, made inside the TPM, usable with an empty password, exempt from
// dictionary-attack counting (it has no secret to guess), signing only.
var credentialAttributes = tpm2.TPMAObject{
	FixedTPM:            true,
	FixedParent:         true,
	SensitiveDataOrigin: true,
	UserWithAuth:        true,
	NoDA:                true,
	SignEncrypt:         true,
}

// ecTemplate is an ES256 credential key: ECDSA P-256 with SHA-256.
func ecTemplate() tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:             tpm2.TPMAlgECC,
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: credentialAttributes,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Scheme: tpm2.TPMTECCScheme{
				Scheme: tpm2.TPMAlgECDSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA,
					&tpm2.TPMSSigSchemeECDSA{HashAlg: tpm2.TPMAlgSHA256}),
			},
			CurveID: tpm2.TPMECCNistP256,
		}),
	}
}

// rsaTemplate is an RS256 credential key: RSASSA-PKCS1-v1_5 with SHA-256,
// 2048 bits, exponent 65537 (0 in the template).
func rsaTemplate() tpm2.TPMTPublic {
	return tpm2.TPMTPublic{
		Type:             tpm2.TPMAlgRSA,
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: credentialAttributes,
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
			Scheme: tpm2.TPMTRSAScheme{
				Scheme: tpm2.TPMAlgRSASSA,
				Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA,
					&tpm2.TPMSSigSchemeRSASSA{HashAlg: tpm2.TPMAlgSHA256}),
			},
			KeyBits: 2048,
		}),
	}
}

// template returns the key template for alg, or an error if this TPM
// cannot make such keys.
func (b *Backend) template(alg ctap2.Alg) (tpm2.TPMTPublic, error) {
	for _, a := range b.algs {
		if a != alg {
			continue
		}
		if alg == ctap2.AlgRS256 {
			return rsaTemplate(), nil
		}
		return ecTemplate(), nil
	}
	return tpm2.TPMTPublic{}, fmt.Errorf("TPM key: %v: %w", alg, ctap2.ErrUnsupportedAlgorithm)
}

// GenerateKey makes a key for alg inside the TPM. The sealed form is the
// key's public and wrapped private blob; the key never leaves the TPM.
func (b *Backend) GenerateKey(alg ctap2.Alg) ([]byte, crypto.Signer, error) {
	tmpl, err := b.template(alg)
	if err != nil {
		return nil, nil, err
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	var rsp *tpm2.CreateResponse
	err = b.withSRK(func() (err error) {
		rsp, err = tpm2.Create{ParentHandle: b.srk, InPublic: tpm2.New2B(tmpl)}.Execute(b.tpm)
		return err
	})
	if err != nil {
		return nil, nil, fmt.Errorf("creating TPM key: %w", classify(err))
	}
	kb := &blob{public: rsp.OutPublic, private: rsp.OutPrivate}
	pub, err := publicKey(alg, kb)
	if err != nil {
		return nil, nil, fmt.Errorf("creating TPM key: %w", err)
	}
	return kb.marshal(), &signer{backend: b, alg: alg, blob: kb, pub: pub}, nil
}

// LoadKey returns a signer for a key that GenerateKey sealed. It loads the
// key once to check that this TPM still can, so a key lost to a TPM clear
// fails here with ErrKeyUnavailable rather than at the first signature.
func (b *Backend) LoadKey(alg ctap2.Alg, sealed []byte) (crypto.Signer, error) {
	if _, err := b.template(alg); err != nil {
		return nil, err
	}
	kb, err := parseBlob(sealed)
	if err != nil {
		return nil, fmt.Errorf("loading TPM key: %w", err)
	}
	pub, err := publicKey(alg, kb)
	if err != nil {
		return nil, fmt.Errorf("loading TPM key: %w", err)
	}
	if area, err := kb.public.Contents(); err != nil || area.ObjectAttributes != credentialAttributes {
		return nil, fmt.Errorf("loading TPM key: %w: not a credential key's attributes", errMalformed)
	}
	b.mu.Lock()
	defer b.mu.Unlock()
	if err := b.withLoaded(kb, func(tpm2.NamedHandle) error { return nil }); err != nil {
		return nil, fmt.Errorf("loading TPM key: %w", err)
	}
	return &signer{backend: b, alg: alg, blob: kb, pub: pub}, nil
}

// withSRK runs f, which uses the storage root key; if the TPM no longer has
// it (a TPM restart flushed it), it makes the key again and runs f once
// more. b.mu must be held.
func (b *Backend) withSRK(f func() error) error {
	err := f()
	if !parentGone(err) {
		return err
	}
	if err := b.createSRK(); err != nil {
		return err
	}
	return f()
}

// withLoaded loads kb, runs f with its handle and flushes it again.
// b.mu must be held.
func (b *Backend) withLoaded(kb *blob, f func(tpm2.NamedHandle) error) error {
	var rsp *tpm2.LoadResponse
	err := b.withSRK(func() (err error) {
		rsp, err = tpm2.Load{ParentHandle: b.srk, InPrivate: kb.private, InPublic: kb.public}.Execute(b.tpm)
		return err
	})
	if err != nil {
		return classifyLoad(err)
	}
	key := tpm2.NamedHandle{Handle: rsp.ObjectHandle, Name: rsp.Name}
	ferr := f(key)
	if _, err := (tpm2.FlushContext{FlushHandle: key.Handle}).Execute(b.tpm); err != nil && ferr == nil {
		ferr = fmt.Errorf("flushing TPM key: %w", err)
	}
	return ferr
}

// publicKey checks that kb's public area is a key of the type alg needs and
// returns it.
func publicKey(alg ctap2.Alg, kb *blob) (crypto.PublicKey, error) {
	pub, err := kb.public.Contents()
	if err != nil {
		return nil, fmt.Errorf("%w: public area: %v", errMalformed, err)
	}
	switch alg {
	case ctap2.AlgES256:
		params, err := pub.Parameters.ECCDetail()
		if pub.Type != tpm2.TPMAlgECC || err != nil || params.CurveID != tpm2.TPMECCNistP256 {
			return nil, fmt.Errorf("%w: not a P-256 key", errMalformed)
		}
		point, err := pub.Unique.ECC()
		if err != nil || len(point.X.Buffer) > 32 || len(point.Y.Buffer) > 32 {
			return nil, fmt.Errorf("%w: bad P-256 point", errMalformed)
		}
		uncompressed := make([]byte, 65)
		uncompressed[0] = 4
		copy(uncompressed[33-len(point.X.Buffer):33], point.X.Buffer)
		copy(uncompressed[65-len(point.Y.Buffer):], point.Y.Buffer)
		key, err := ecdsa.ParseUncompressedPublicKey(elliptic.P256(), uncompressed)
		if err != nil {
			return nil, fmt.Errorf("%w: %v", errMalformed, err)
		}
		return key, nil
	case ctap2.AlgRS256:
		params, err := pub.Parameters.RSADetail()
		if pub.Type != tpm2.TPMAlgRSA || err != nil || params.KeyBits != 2048 {
			return nil, fmt.Errorf("%w: not an RSA-2048 key", errMalformed)
		}
		modulus, err := pub.Unique.RSA()
		if err != nil || len(modulus.Buffer) != 256 {
			return nil, fmt.Errorf("%w: bad RSA modulus", errMalformed)
		}
		e := int(params.Exponent)
		if e == 0 {
			e = 65537 // TPM 2.0 Part 2 §12.2.3.5: 0 means the default exponent
		}
		return &rsa.PublicKey{N: new(big.Int).SetBytes(modulus.Buffer), E: e}, nil
	}
	return nil, fmt.Errorf("TPM key: %v: %w", alg, ctap2.ErrUnsupportedAlgorithm)
}

package tpmkeys

import (
	"crypto"
	"crypto/rsa"
	"encoding/asn1"
	"fmt"
	"io"
	"math/big"

	"github.com/google/go-tpm/tpm2"

	"github.com/softkeydev/softkey/ctap2"
)

// signer is a credential key in the TPM. It holds only the key's blobs:
// every Sign loads the key, signs and flushes it, so any number of signers
// can be alive while the TPM holds at most one of them.
type signer struct {
	backend *Backend
	alg     ctap2.Alg
	blob    *blob
	pub     crypto.PublicKey
}

// Public returns the key's public half.
func (s *signer) Public() crypto.PublicKey { return s.pub }

// Sign signs a SHA-256 digest with TPM2_Sign (TPM 2.0 Part 3 §20.2). An
// ES256 signature is an ASN.1 DER Ecdsa-Sig-Value, an RS256 one the raw
// RSASSA-PKCS1-v1_5 signature, as WebAuthn wants them (WebAuthn §6.5.6).
// The random source is ignored: the TPM draws its own nonces.
func (s *signer) Sign(_ io.Reader, digest []byte, opts crypto.SignerOpts) ([]byte, error) {
	if opts.HashFunc() != crypto.SHA256 || len(digest) != crypto.SHA256.Size() {
		return nil, fmt.Errorf("TPM key: signing needs a SHA-256 digest, got %v with %d bytes", opts.HashFunc(), len(digest))
	}
	if _, isPSS := opts.(*rsa.PSSOptions); isPSS {
		return nil, fmt.Errorf("TPM key: %v key signs with PKCS #1 v1.5 only", s.alg)
	}
	scheme := tpm2.TPMTSigScheme{
		Scheme:  tpm2.TPMAlgECDSA,
		Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256}),
	}
	if s.alg == ctap2.AlgRS256 {
		scheme = tpm2.TPMTSigScheme{
			Scheme:  tpm2.TPMAlgRSASSA,
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256}),
		}
	}
	b := s.backend
	b.mu.Lock()
	defer b.mu.Unlock()
	var sig *tpm2.TPMTSignature
	err := b.withLoaded(s.blob, func(key tpm2.NamedHandle) error {
		rsp, err := tpm2.Sign{
			KeyHandle: key,
			Digest:    tpm2.TPM2BDigest{Buffer: digest},
			InScheme:  scheme,
			// The key is not restricted, so a NULL ticket will do
			// (TPM 2.0 Part 3 §20.2.1).
			Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
		}.Execute(b.tpm)
		if err != nil {
			return classify(err)
		}
		sig = &rsp.Signature
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("signing with TPM key: %w", err)
	}
	return encodeSignature(sig)
}

// encodeSignature turns a TPMT_SIGNATURE into WebAuthn's encoding.
func encodeSignature(sig *tpm2.TPMTSignature) ([]byte, error) {
	switch sig.SigAlg {
	case tpm2.TPMAlgECDSA:
		ec, err := sig.Signature.ECDSA()
		if err != nil {
			return nil, fmt.Errorf("TPM signature: %w", err)
		}
		// asn1 encodes big.Int as a minimal DER INTEGER, as strict
		// relying parties require.
		return asn1.Marshal(struct{ R, S *big.Int }{
			new(big.Int).SetBytes(ec.SignatureR.Buffer),
			new(big.Int).SetBytes(ec.SignatureS.Buffer),
		})
	case tpm2.TPMAlgRSASSA:
		rsa, err := sig.Signature.RSASSA()
		if err != nil {
			return nil, fmt.Errorf("TPM signature: %w", err)
		}
		return rsa.Sig.Buffer, nil
	}
	return nil, fmt.Errorf("TPM signature: unexpected algorithm %v", sig.SigAlg)
}

package attestation

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/rsa"
	"crypto/sha1" // TPM_ALG_SHA1 for RS1 statements
	"crypto/sha256"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/google/go-tpm/tpm2"

	"github.com/softkeydev/softkey/ctap2"
)

// Certification is what a TPM's TPM2_Certify (TPM 2.0 Part 3 §18.2) says
// about a credential key it holds, in the encodings of a "tpm" attestation
// statement (WebAuthn L3 §8.3).
type Certification struct {
	// Alg is the AIK's signature algorithm, the statement's alg: ES256,
	// RS256 or RS1.
	Alg ctap2.Alg
	// PubArea is the credential key's TPMT_PUBLIC, without size prefix.
	PubArea []byte
	// CertInfo is the TPMS_ATTEST the AIK signed, without size prefix.
	CertInfo []byte
	// Signature is the AIK's signature over CertInfo: ASN.1 DER ECDSA for
	// ES256, PKCS #1 v1.5 for RS256 and RS1.
	Signature []byte
}

// TPMCertified returns the "tpm" attestation statement (WebAuthn L3 §8.3)
// for a credential key cred that a TPM certified with its AIK, whose
// certificate chain ([NewAIKFor]) is aikChain, AIK certificate first.
//
// Unlike [TPM], which builds the statement in software, it only checks and
// encodes what the TPM produced: that pubArea holds cred, the key in
// authData's attested credential data; that certInfo is a TPM-generated
// certification of that key (TPM_ST_ATTEST_CERTIFY, attested.name the
// Name of pubArea) whose extraData is the hash of authData ‖
// clientDataHash under the statement's alg (§8.3.2); and that the
// signature verifies under the AIK certificate. A statement that would fail
// a relying party's verification is refused here with the reason.
func TPMCertified(authData, clientDataHash []byte, cred crypto.PublicKey, c Certification, aikChain [][]byte) (Statement, error) {
	fail := func(err error) (Statement, error) {
		return Statement{}, fmt.Errorf("making tpm attestation from a TPM certification: %w", err)
	}
	if err := checkSignedData(authData, clientDataHash); err != nil {
		return fail(err)
	}
	if len(aikChain) == 0 {
		return fail(errors.New("empty AIK certificate chain"))
	}
	aikCert, err := x509.ParseCertificate(aikChain[0])
	if err != nil {
		return fail(fmt.Errorf("AIK certificate: %w", err))
	}
	if err := checkAttestedKey(authData, cred); err != nil {
		return fail(err)
	}

	pub, err := tpm2.Unmarshal[tpm2.TPMTPublic](c.PubArea)
	if err != nil {
		return fail(fmt.Errorf("pubArea: %w", err))
	}
	if key, err := tpm2.Pub(*pub); err != nil || !publicKeyEqual(key, cred) {
		return fail(errors.New("pubArea does not hold the credential key"))
	}
	name, err := tpm2.ObjectName(pub)
	if err != nil {
		return fail(fmt.Errorf("pubArea name: %w", err))
	}

	attest, err := tpm2.Unmarshal[tpm2.TPMSAttest](c.CertInfo)
	if err != nil {
		return fail(fmt.Errorf("certInfo: %w", err))
	}
	if attest.Magic != tpm2.TPMGeneratedValue || attest.Type != tpm2.TPMSTAttestCertify {
		return fail(fmt.Errorf("certInfo is not a TPM certification (magic %#x, type %#x)", attest.Magic, attest.Type))
	}
	certified, err := attest.Attested.Certify()
	if err != nil || !bytes.Equal(certified.Name.Buffer, name.Buffer) {
		return fail(errors.New("certInfo certifies another key than pubArea's"))
	}
	hash, err := tpmStatementHash(c.Alg)
	if err != nil {
		return fail(err)
	}
	h := hash.New()
	h.Write(authData)
	h.Write(clientDataHash)
	if !bytes.Equal(attest.ExtraData.Buffer, h.Sum(nil)) {
		return fail(fmt.Errorf("certInfo extraData is not the %v hash of authData and clientDataHash", hash))
	}
	if err := verifyCertInfo(aikCert.PublicKey, c.Alg, hash, c.CertInfo, c.Signature); err != nil {
		return fail(err)
	}

	stmt, err := ctap2.Marshal(tpmStmt{
		Alg:      c.Alg,
		Sig:      c.Signature,
		Ver:      tpmVersion,
		X5C:      aikChain,
		PubArea:  c.PubArea,
		CertInfo: c.CertInfo,
	})
	if err != nil {
		return fail(fmt.Errorf("encoding: %w", err))
	}
	return Statement{Format: FormatTPM, Stmt: stmt}, nil
}

// tpmStatementHash is the hash of a "tpm" statement's alg.
func tpmStatementHash(alg ctap2.Alg) (crypto.Hash, error) {
	switch alg {
	case ctap2.AlgES256, ctap2.AlgRS256:
		return crypto.SHA256, nil
	case AlgRS1:
		return crypto.SHA1, nil
	}
	return 0, fmt.Errorf("algorithm %s is not one a TPM attestation key signs with (ES256, RS256, RS1)", algName(alg))
}

// verifyCertInfo checks the AIK's signature over certInfo.
func verifyCertInfo(aik crypto.PublicKey, alg ctap2.Alg, hash crypto.Hash, certInfo, sig []byte) error {
	var digest []byte
	if hash == crypto.SHA1 {
		d := sha1.Sum(certInfo)
		digest = d[:]
	} else {
		d := sha256.Sum256(certInfo)
		digest = d[:]
	}
	ok := false
	switch k := aik.(type) {
	case *ecdsa.PublicKey:
		ok = alg == ctap2.AlgES256 && ecdsa.VerifyASN1(k, digest, sig)
	case *rsa.PublicKey:
		ok = alg != ctap2.AlgES256 && rsa.VerifyPKCS1v15(k, hash, digest, sig) == nil
	}
	if !ok {
		return fmt.Errorf("the %s signature over certInfo does not verify under the AIK certificate's %T", algName(alg), aik)
	}
	return nil
}

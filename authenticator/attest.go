package authenticator

import (
	"crypto"
	"crypto/sha256"
	"fmt"
	"slices"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/ctap2"
)

// tpmCertifier is a key backend whose keys live in a TPM that certifies
// them with its own attestation identity key (such as tpmkeys.Backend). With one,
// tpm attestation is the TPM's TPM2_Certify under an AIK certificate
// naming that TPM, instead of a statement built in software.
type tpmCertifier interface {
	AIK() (crypto.PublicKey, error)
	Certify(key crypto.Signer, authData, clientDataHash []byte) (*attestation.Certification, error)
	TPMInfo() (attestation.TPMInfo, error)
}

// statementFormat is the WebAuthn attestation statement format a mode
// produces.
func statementFormat(mode string) string {
	if mode == AttestationSelf {
		return attestation.FormatPacked
	}
	return mode
}

// attestationFormats is getInfo's attestationFormats (CTAP 2.2 §6.4, 0x16):
// the statement formats the modes produce, "none" included.
func (a *Authenticator) attestationFormats() []string {
	var out []string
	for _, m := range append(a.profile.AttestationModes(), AttestationNone) {
		if f := statementFormat(m); !slices.Contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

// chooseAttestation picks the mode for a registration: the first format
// of the request's preference that the profile offers, else the profile's
// default (CTAP 2.2 §6.1.2 step 9, attestationFormatsPreference). fido-u2f
// can only attest P-256 credentials; others get packed instead.
func (a *Authenticator) chooseAttestation(preference []string, alg ctap2.Alg) string {
	mode := a.profile.Attestation
pick:
	for _, f := range preference {
		for _, m := range append(a.profile.AttestationModes(), AttestationNone) {
			if statementFormat(m) == f {
				mode = m
				break pick
			}
		}
	}
	if mode == AttestationFIDOU2F && alg != ctap2.AlgES256 {
		return AttestationPacked
	}
	return mode
}

// attestedAAGUID is the AAGUID written into attested credential data. A
// fido-u2f statement comes with sixteen zero bytes there, as from a U2F
// authenticator, which has none, and whose registration a client converts
// with a zero AAGUID (tpm-and-attestation §3.4, §3.7). A relying party
// finds the model's metadata by the attestation certificate's key
// identifier instead (MDS attestationCertificateKeyIdentifiers).
func (a *Authenticator) attestedAAGUID(mode string, enterprise bool) AAGUID {
	if mode == AttestationFIDOU2F && !enterprise {
		return AAGUID{}
	}
	return a.profile.AAGUID
}

// enterpriseAttestation decides whether a registration gets enterprise
// attestation (CTAP 2.1 §6.1.2 step 9, §7.1). A key that cannot give it,
// or whose enterprise attestation authenticatorConfig has not enabled,
// answers a request for it with INVALID_PARAMETER (§6.1.2 step 9.1).
func (a *Authenticator) enterpriseAttestation(requested uint64, rpID string) (bool, error) {
	if requested == 0 {
		return false, nil
	}
	dev, err := a.device()
	if err != nil {
		return false, err
	}
	if !a.enterpriseAttestationEnabled(dev) {
		return false, fmt.Errorf("enterpriseAttestation %d while enterprise attestation is unsupported or disabled: %w", requested, ctap2.ErrInvalidParameter)
	}
	if requested != 1 && requested != 2 {
		return false, fmt.Errorf("enterpriseAttestation %d: %w", requested, ctap2.ErrInvalidOption)
	}
	// A vendor-facilitated authenticator may treat a platform-managed
	// request like a vendor-facilitated one (§7.1.2), which is what we do.
	if requested == 2 && a.profile.EnterpriseAttestation == EnterprisePlatform {
		return true, nil
	}
	return slices.Contains(a.profile.EnterpriseRPIDs, rpID), nil
}

// attest makes the attestation statement for a new credential.
func (a *Authenticator) attest(dev *deviceState, mode string, enterprise bool, authData, clientDataHash []byte, key crypto.Signer, alg ctap2.Alg) (attestation.Statement, error) {
	var stmt attestation.Statement
	var err error
	switch {
	case enterprise:
		stmt, err = attestation.Packed(authData, clientDataHash, dev.enterprise.Key, dev.enterprise.Chain)
	case mode == AttestationNone:
		return attestation.None(), nil
	case mode == AttestationSelf:
		stmt, err = attestation.Self(authData, clientDataHash, key, alg)
	case mode == AttestationFIDOU2F:
		stmt, err = attestation.FIDOU2F(authData, clientDataHash, dev.batch.Key, dev.batch.Chain[0])
	case mode == AttestationTPM:
		stmt, err = a.tpmAttestation(dev, authData, clientDataHash, key, alg)
	default:
		stmt, err = attestation.Packed(authData, clientDataHash, dev.batch.Key, dev.batch.Chain)
	}
	if err != nil {
		return stmt, fmt.Errorf("%s attestation: %w", mode, err)
	}
	if a.bogusSignature("attestation") {
		return zeroStatementSignature(stmt)
	}
	return stmt, nil
}

// tpmAttestation makes a tpm statement: the TPM's own certification of the
// credential key when the key backend is a TPM that certifies, else one
// built in software with the device's software AIK.
func (a *Authenticator) tpmAttestation(dev *deviceState, authData, clientDataHash []byte, key crypto.Signer, alg ctap2.Alg) (attestation.Statement, error) {
	tpm, ok := a.keys.(tpmCertifier)
	if !ok {
		return attestation.TPM(authData, clientDataHash, key.Public(), alg, dev.aik.Key, dev.aik.Chain, a.tpmInfo())
	}
	// WebAuthn L3 §8.3.2: certInfo's extraData is the hash of authData ‖
	// clientDataHash, which Certify passes as qualifying data.
	c, err := tpm.Certify(key, authData, clientDataHash)
	if err != nil {
		return attestation.Statement{}, err
	}
	return attestation.TPMCertified(authData, clientDataHash, key.Public(), *c, dev.aik.Chain)
}

// tpmAIK issues the AIK certificate for the AIK of the TPM that holds the
// credential keys, naming the manufacturer, model and firmware version the
// TPM reports (WebAuthn L3 §8.3.1). The key stays in the TPM: the returned
// batch has the chain only.
func (a *Authenticator) tpmAIK(tpm tpmCertifier, ca *attestation.CA) (*attestation.Batch, error) {
	aik, err := tpm.AIK()
	if err != nil {
		return nil, err
	}
	info, err := tpm.TPMInfo()
	if err != nil {
		return nil, err
	}
	chain, err := attestation.NewAIKFor(a.rand, a.now(), ca, aik, info, a.profile.AAGUID)
	if err != nil {
		return nil, err
	}
	return &attestation.Batch{Chain: chain}, nil
}

// tpmInfo describes the TPM that software-built tpm attestation (a key
// backend that is not a TPM) claims to come from. It has
// the shape of Windows Hello's statements (an RSA AIK signing with RS1 and a
// credential key with an authPolicy), which is the one every verifier
// accepts: libfido2 takes no other. The manufacturer is the FIDO
// conformance ID, never a real vendor's.
func (a *Authenticator) tpmInfo() attestation.TPMInfo {
	policy := sha256.Sum256([]byte("softkey tpm credential policy"))
	return attestation.TPMInfo{
		Manufacturer:    attestation.TPMManufacturerFIDO,
		Model:           "softkey",
		FirmwareVersion: a.profile.FirmwareVersion << 32,
		AIKAlg:          attestation.AlgRS1,
		AuthPolicy:      policy[:],
	}
}

// bogusSignature reports whether the negative switch zeroes signatures of
// the given kind ("assertion" or "attestation").
func (a *Authenticator) bogusSignature(kind string) bool {
	s := a.profile.Negative.BogusSignature
	return s == kind || s == "both"
}

// zeroStatementSignature replaces the statement's signature by zeros of the
// same length, as the WebDriver isBogusSignature override does.
func zeroStatementSignature(stmt attestation.Statement) (attestation.Statement, error) {
	var m map[string]ctap2.RawMessage
	if err := ctap2.Unmarshal(stmt.Stmt, &m); err != nil {
		return stmt, fmt.Errorf("bogus signature: %w", err)
	}
	var sig []byte
	if err := ctap2.Unmarshal(m["sig"], &sig); err != nil {
		return stmt, fmt.Errorf("bogus signature: %w", err)
	}
	zero, err := ctap2.Marshal(make([]byte, len(sig)))
	if err != nil {
		return stmt, err
	}
	m["sig"] = zero
	if stmt.Stmt, err = ctap2.Marshal(m); err != nil {
		return stmt, fmt.Errorf("bogus signature: %w", err)
	}
	return stmt, nil
}

package attestation

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1" // TPM_ALG_SHA1 for RS1 statements, as Windows Hello's TPMs sign them
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"github.com/google/go-tpm/tpm2"

	"github.com/softkeydev/softkey/ctap2"
)

// FormatTPM is the "tpm" attestation statement format identifier
// (WebAuthn L3 §8.3).
const FormatTPM = "tpm"

// AlgRS1 is RSASSA-PKCS1-v1_5 with SHA-1 (COSE -65535, WebAuthn L3 §5.8.5
// lists it for TPM attestation only). Windows Hello's TPMs sign their "tpm"
// statements with it, and libfido2 verifies no other "tpm" alg.
const AlgRS1 ctap2.Alg = -65535

// TPMManufacturerFIDO is the TPM vendor ID 0xFFFFF1D0 that the FIDO
// Alliance's conformance tools use. It is not in the TCG vendor registry,
// but go-webauthn accepts it alongside the registered vendors, so it is the
// honest choice for a software TPM (tpm-and-attestation §3.3).
const TPMManufacturerFIDO uint32 = 0xFFFFF1D0

// tpmVersion is the "ver" member of a TPM statement (WebAuthn L3 §8.3).
const tpmVersion = "2.0"

// defaultTPMModel is the tpmModel of AIK certificates when TPMInfo leaves it
// empty.
const defaultTPMModel = "softkey"

// TPMInfo describes the TPM a "tpm" attestation statement claims to come
// from. The zero value is a FIDO-conformance TPM with an ECDSA P-256 AIK.
type TPMInfo struct {
	// Manufacturer is TPM_PT_MANUFACTURER (TPM 2.0 Part 2 §6.13), a TCG
	// vendor ID such as 0x49424D00 ("IBM"), 0x4D534654 ("MSFT") or
	// 0x53544D20 ("STM "). NewAIK writes it into the AIK certificate as
	// tpmManufacturer "id:XXXXXXXX". Zero means [TPMManufacturerFIDO].
	// Strict relying parties accept only registered vendors and
	// TPMManufacturerFIDO; any other value makes a negative test.
	Manufacturer uint32
	// Model is tpmModel in the AIK certificate (the TPM's vendor string,
	// TPM_PT_VENDOR_STRING_1..4). Empty means "softkey".
	Model string
	// FirmwareVersion is TPMS_ATTEST.firmwareVersion (TPM 2.0 Part 2
	// §10.12.12), TPM_PT_FIRMWARE_VERSION_1 in the upper and
	// TPM_PT_FIRMWARE_VERSION_2 in the lower 32 bits. NewAIK writes the
	// upper half into the AIK certificate as tpmVersion "id:XXXXXXXX".
	FirmwareVersion uint64
	// Clock, ResetCount and RestartCount fill TPMS_CLOCK_INFO (TPM 2.0
	// Part 2 §10.11.1); safe is YES unless ClockSafe says otherwise.
	// Relying parties ignore them.
	Clock                    uint64
	ResetCount, RestartCount uint32
	// AIKAlg is the algorithm the AIK signs certInfo with, and so the
	// statement's alg and the hash of extraData: [ctap2.AlgES256] (a P-256
	// AIK), [ctap2.AlgRS256] or [AlgRS1] (an RSA AIK). Zero means ES256 for
	// NewAIK and follows the AIK's key type for TPM.
	AIKAlg ctap2.Alg
	// AuthPolicy is the credential key's authPolicy, a SHA-256 policy
	// digest or empty. Keys that tpm2-tools or tpm-fido create have none;
	// Windows Hello's keys have one, and libfido2 insists on 32 bytes.
	AuthPolicy []byte

	// The remaining fields exist to reproduce statements of generators
	// that do not do what a TPM does, such as the W3C WebAuthn test vector
	// script (WebAuthn L3 §16.13). Their zero values are what a TPM does;
	// other values may make relying parties refuse the statement (libfido2
	// expects objectAttributes 0x00040472).

	// ObjectAttributes is the credential key's TPMA_OBJECT (TPM 2.0 Part 2
	// §8.3) in pubArea, written as is, reserved bits included. Zero means
	// 0x00040472 (fixedTPM, fixedParent, sensitiveDataOrigin, userWithAuth,
	// noDA, sign), the attributes of a signing key TPM2_Create makes.
	ObjectAttributes uint32
	// OmitQualifiedNames leaves certInfo's qualifiedSigner and
	// attested.qualifiedName empty instead of writing the Qualified Names
	// of the AIK and the credential key.
	OmitQualifiedNames bool
	// ClockSafe, if not nil, is the byte written as certInfo's
	// clockInfo.safe, a TPMI_YES_NO that a TPM sets to NO (0) or YES (1)
	// only. Nil means YES.
	ClockSafe *uint8
}

// manufacturer returns Manufacturer or its default.
func (info TPMInfo) manufacturer() uint32 {
	if info.Manufacturer == 0 {
		return TPMManufacturerFIDO
	}
	return info.Manufacturer
}

// model returns Model or its default.
func (info TPMInfo) model() string {
	if info.Model == "" {
		return defaultTPMModel
	}
	return info.Model
}

// objectAttributes returns ObjectAttributes or its default.
func (info TPMInfo) objectAttributes() (tpm2.TPMAObject, error) {
	if info.ObjectAttributes == 0 {
		return signingKeyAttributes(false), nil
	}
	attrs, err := tpm2.Unmarshal[tpm2.TPMAObject](binary.BigEndian.AppendUint32(nil, info.ObjectAttributes))
	if err != nil {
		return tpm2.TPMAObject{}, fmt.Errorf("objectAttributes %#08x: %w", info.ObjectAttributes, err)
	}
	return *attrs, nil
}

// signatureAlg resolves AIKAlg against the AIK's public key and returns the
// statement alg with its hash.
func (info TPMInfo) signatureAlg(aik crypto.PublicKey) (ctap2.Alg, crypto.Hash, error) {
	alg := info.AIKAlg
	if alg == 0 {
		var err error
		if alg, err = algForKey(aik); err != nil {
			return 0, 0, err
		}
	}
	switch alg {
	case ctap2.AlgES256:
		if k, ok := aik.(*ecdsa.PublicKey); !ok || k.Curve != elliptic.P256() {
			return 0, 0, fmt.Errorf("%s needs a P-256 ECDSA key, have %T", algName(alg), aik)
		}
		return alg, crypto.SHA256, nil
	case ctap2.AlgRS256, AlgRS1:
		if _, ok := aik.(*rsa.PublicKey); !ok {
			return 0, 0, fmt.Errorf("%s needs an RSA key, have %T", algName(alg), aik)
		}
		if alg == AlgRS1 {
			return alg, crypto.SHA1, nil
		}
		return alg, crypto.SHA256, nil
	}
	return 0, 0, fmt.Errorf("algorithm %s is not one a TPM attestation key signs with (ES256, RS256, RS1)", algName(alg))
}

// algName is alg's name, knowing RS1 as well as the algorithms of ctap2.
func algName(alg ctap2.Alg) string {
	if alg == AlgRS1 {
		return "RS1"
	}
	return alg.String()
}

// tpmStmt is tpmStmtFormat (WebAuthn L3 §8.3). Canonical encoding orders the
// keys alg, sig, ver, x5c, pubArea, certInfo.
type tpmStmt struct {
	Alg      ctap2.Alg `cbor:"alg"`
	Sig      []byte    `cbor:"sig"`
	Ver      string    `cbor:"ver"`
	X5C      [][]byte  `cbor:"x5c"`
	PubArea  []byte    `cbor:"pubArea"`
	CertInfo []byte    `cbor:"certInfo"`
}

// TPM returns a "tpm" attestation statement (WebAuthn L3 §8.3) built in
// software, the way a TPM's TPM2_Certify (TPM 2.0 Part 3 §18.2) would
// produce it for a credential key cred of algorithm credAlg:
//
//   - pubArea is the credential key's TPMT_PUBLIC (TPM 2.0 Part 2 §12.2.4),
//     without a size prefix: an unrestricted signing key (fixedTPM,
//     fixedParent, sensitiveDataOrigin, userWithAuth, noDA, sign), nameAlg
//     SHA-256, info.AuthPolicy, a NULL symmetric and signing scheme, and the
//     key: NIST P-256 for ES256, RSA of 2048, 3072 or 4096 bits for RS256;
//   - certInfo is TPMS_ATTEST (TPM 2.0 Part 2 §10.12.12) of type
//     TPM_ST_ATTEST_CERTIFY with magic TPM_GENERATED_VALUE; extraData is
//     the hash of authData ‖ clientDataHash under the statement alg;
//     attested.name is the Name of pubArea (000B ‖ SHA-256(pubArea),
//     TPM 2.0 Part 1 §16); qualifiedSigner and attested.qualifiedName are
//     the Qualified Names (Part 1 §16) of the AIK as a primary key of the
//     endorsement hierarchy and of the credential key as a primary key of
//     the owner hierarchy; clockInfo and firmwareVersion come from info;
//   - sig is the AIK's signature over certInfo, plain as every verifier
//     expects (not a TPMT_SIGNATURE): ASN.1 DER ECDSA for ES256,
//     PKCS #1 v1.5 for RS256 and RS1;
//   - alg is info.AIKAlg, or follows the AIK's key type; ver is "2.0"; x5c
//     is aikChain, the AIK certificate first (see [NewAIK]).
//
// info.ObjectAttributes, info.OmitQualifiedNames and info.ClockSafe change
// objectAttributes, the Qualified Names and clockInfo.safe from what a TPM
// writes, to reproduce other generators' statements byte for byte.
//
// authData must carry attested credential data whose key is cred. TPM does
// not check that aikChain[0] certifies aik, so that tests can build broken
// statements.
func TPM(authData, clientDataHash []byte, cred crypto.PublicKey, credAlg ctap2.Alg, aik crypto.Signer, aikChain [][]byte, info TPMInfo) (Statement, error) {
	if err := checkSignedData(authData, clientDataHash); err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: %w", err)
	}
	if aik == nil {
		return Statement{}, errors.New("making tpm attestation: no AIK")
	}
	if len(aikChain) == 0 {
		return Statement{}, errors.New("making tpm attestation: empty AIK certificate chain")
	}
	for i, cert := range aikChain {
		if len(cert) == 0 {
			return Statement{}, fmt.Errorf("making tpm attestation: certificate %d of the AIK chain is empty", i)
		}
	}
	if err := checkAttestedKey(authData, cred); err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: %w", err)
	}
	alg, hash, err := info.signatureAlg(aik.Public())
	if err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: AIK: %w", err)
	}
	pub, err := credentialPublic(cred, credAlg, info.AuthPolicy)
	if err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: pubArea: %w", err)
	}
	if pub.ObjectAttributes, err = info.objectAttributes(); err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: pubArea: %w", err)
	}
	credName, err := tpm2.ObjectName(pub)
	if err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: credential key name: %w", err)
	}
	aikPub, err := aikPublic(aik.Public(), hash)
	if err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: AIK: %w", err)
	}
	aikName, err := tpm2.ObjectName(aikPub)
	if err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: AIK name: %w", err)
	}
	var signerQN, credQN []byte
	if !info.OmitQualifiedNames {
		signerQN = qualifiedName(tpm2.TPMRHEndorsement, aikName)
		credQN = qualifiedName(tpm2.TPMRHOwner, credName)
	}
	h := hash.New()
	h.Write(authData)
	h.Write(clientDataHash)
	attest := tpm2.TPMSAttest{
		Magic:           tpm2.TPMGeneratedValue,
		Type:            tpm2.TPMSTAttestCertify,
		QualifiedSigner: tpm2.TPM2BName{Buffer: signerQN},
		ExtraData:       tpm2.TPM2BData{Buffer: h.Sum(nil)},
		ClockInfo: tpm2.TPMSClockInfo{
			Clock:        info.Clock,
			ResetCount:   info.ResetCount,
			RestartCount: info.RestartCount,
			Safe:         true,
		},
		FirmwareVersion: info.FirmwareVersion,
		Attested: tpm2.NewTPMUAttest(tpm2.TPMSTAttestCertify, &tpm2.TPMSCertifyInfo{
			Name:          *credName,
			QualifiedName: tpm2.TPM2BName{Buffer: credQN},
		}),
	}
	certInfo := tpm2.Marshal(attest)
	if info.ClockSafe != nil {
		// go-tpm marshals TPMI_YES_NO from a bool, so it can write only
		// 0 and 1; put the byte in place afterwards.
		certInfo[clockSafeOffset(&attest)] = *info.ClockSafe
	}
	sig, err := signCertInfo(aik, alg, certInfo)
	if err != nil {
		return Statement{}, fmt.Errorf("making tpm attestation: %w", err)
	}
	stmt, err := ctap2.Marshal(tpmStmt{
		Alg:      alg,
		Sig:      sig,
		Ver:      tpmVersion,
		X5C:      aikChain,
		PubArea:  tpm2.Marshal(pub),
		CertInfo: certInfo,
	})
	if err != nil {
		return Statement{}, fmt.Errorf("encoding tpm attestation: %w", err)
	}
	return Statement{Format: FormatTPM, Stmt: stmt}, nil
}

// clockSafeOffset is the offset of clockInfo.safe in the marshaled
// TPMS_ATTEST a (TPM 2.0 Part 2 §10.12.12): after magic, type,
// qualifiedSigner, extraData and the clock, resetCount and restartCount of
// TPMS_CLOCK_INFO (§10.11.1).
func clockSafeOffset(a *tpm2.TPMSAttest) int {
	return 4 + 2 + 2 + len(a.QualifiedSigner.Buffer) + 2 + len(a.ExtraData.Buffer) + 8 + 4 + 4
}

// checkAttestedKey checks that authData carries attested credential data
// whose public key is cred.
func checkAttestedKey(authData []byte, cred crypto.PublicKey) error {
	ad, err := ctap2.ParseAuthData(authData)
	if err != nil {
		return err
	}
	if ad.Attested == nil {
		return errors.New("authenticator data has no attested credential data")
	}
	_, pub, err := ctap2.ParseCOSEKey(ad.Attested.PublicKey)
	if err != nil {
		return fmt.Errorf("credential public key: %w", err)
	}
	if !publicKeyEqual(pub, cred) {
		return errors.New("credential key is not the one in authenticator data")
	}
	return nil
}

// signCertInfo signs certInfo with the AIK as alg prescribes.
func signCertInfo(aik crypto.Signer, alg ctap2.Alg, certInfo []byte) ([]byte, error) {
	if alg != AlgRS1 {
		return Sign(aik, alg, certInfo)
	}
	digest := sha1.Sum(certInfo)
	sig, err := aik.Sign(nil, digest[:], crypto.SHA1)
	if err != nil {
		return nil, fmt.Errorf("signing with RS1: %w", err)
	}
	return sig, nil
}

// signingKeyAttributes are the TPMA_OBJECT bits (TPM 2.0 Part 2 §8.3) of a
// key that TPM2_Create made for signing: 0x00040472 for an unrestricted key.
func signingKeyAttributes(restricted bool) tpm2.TPMAObject {
	return tpm2.TPMAObject{
		FixedTPM:            true,
		FixedParent:         true,
		SensitiveDataOrigin: true,
		UserWithAuth:        true,
		NoDA:                true,
		Restricted:          restricted,
		SignEncrypt:         true,
	}
}

// credentialPublic builds the TPMT_PUBLIC of an unrestricted signing key
// with NULL schemes, as WebAuthn L3 §8.3 verifiers and libfido2 expect it.
func credentialPublic(cred crypto.PublicKey, alg ctap2.Alg, authPolicy []byte) (*tpm2.TPMTPublic, error) {
	if n := len(authPolicy); n != 0 && n != sha256.Size {
		return nil, fmt.Errorf("authPolicy is %d bytes, want empty or %d (a SHA-256 policy digest)", n, sha256.Size)
	}
	pub := &tpm2.TPMTPublic{
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: signingKeyAttributes(false),
		AuthPolicy:       tpm2.TPM2BDigest{Buffer: authPolicy},
	}
	switch alg {
	case ctap2.AlgES256:
		k, ok := cred.(*ecdsa.PublicKey)
		if !ok || k.Curve != elliptic.P256() {
			return nil, fmt.Errorf("credential key for %v is %T, want a P-256 ECDSA key", alg, cred)
		}
		if err := setECCPublic(pub, k, tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull}); err != nil {
			return nil, err
		}
	case ctap2.AlgRS256:
		k, ok := cred.(*rsa.PublicKey)
		if !ok {
			return nil, fmt.Errorf("credential key for %v is %T, want an RSA key", alg, cred)
		}
		if bits := k.N.BitLen(); bits != 2048 && bits != 3072 && bits != 4096 {
			return nil, fmt.Errorf("credential key has %d bits, want 2048, 3072 or 4096", bits)
		}
		if err := setRSAPublic(pub, k, tpm2.TPMTRSAScheme{Scheme: tpm2.TPMAlgNull}); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("credential algorithm %v has no TPM key type (want ES256 or RS256)", alg)
	}
	return pub, nil
}

// aikPublic builds the TPMT_PUBLIC of a restricted signing key, as an AIK
// is, to name it in qualifiedSigner.
func aikPublic(aik crypto.PublicKey, hash crypto.Hash) (*tpm2.TPMTPublic, error) {
	hashAlg := tpm2.TPMAlgSHA256
	if hash == crypto.SHA1 {
		hashAlg = tpm2.TPMAlgSHA1
	}
	pub := &tpm2.TPMTPublic{
		NameAlg:          tpm2.TPMAlgSHA256,
		ObjectAttributes: signingKeyAttributes(true),
	}
	switch k := aik.(type) {
	case *ecdsa.PublicKey:
		scheme := tpm2.TPMTECCScheme{
			Scheme:  tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSigSchemeECDSA{HashAlg: hashAlg}),
		}
		if err := setECCPublic(pub, k, scheme); err != nil {
			return nil, err
		}
	case *rsa.PublicKey:
		scheme := tpm2.TPMTRSAScheme{
			Scheme:  tpm2.TPMAlgRSASSA,
			Details: tpm2.NewTPMUAsymScheme(tpm2.TPMAlgRSASSA, &tpm2.TPMSSigSchemeRSASSA{HashAlg: hashAlg}),
		}
		if err := setRSAPublic(pub, k, scheme); err != nil {
			return nil, err
		}
	default:
		return nil, fmt.Errorf("unsupported key type %T", aik)
	}
	return pub, nil
}

// setECCPublic fills the ECC parameters (TPMS_ECC_PARMS, TPM 2.0 Part 2
// §12.2.3.6) and unique point of pub for a P-256 key.
func setECCPublic(pub *tpm2.TPMTPublic, k *ecdsa.PublicKey, scheme tpm2.TPMTECCScheme) error {
	if k.Curve != elliptic.P256() {
		return fmt.Errorf("ECDSA curve %s is not NIST P-256", k.Curve.Params().Name)
	}
	point, err := k.Bytes() // 0x04 ‖ x ‖ y
	if err != nil {
		return fmt.Errorf("encoding P-256 key: %w", err)
	}
	pub.Type = tpm2.TPMAlgECC
	pub.Parameters = tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
		Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
		Scheme:    scheme,
		CurveID:   tpm2.TPMECCNistP256,
		KDF:       tpm2.TPMTKDFScheme{Scheme: tpm2.TPMAlgNull},
	})
	pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgECC, &tpm2.TPMSECCPoint{
		X: tpm2.TPM2BECCParameter{Buffer: point[1:33]},
		Y: tpm2.TPM2BECCParameter{Buffer: point[33:65]},
	})
	return nil
}

// setRSAPublic fills the RSA parameters (TPMS_RSA_PARMS, TPM 2.0 Part 2
// §12.2.3.5) and modulus of pub. An exponent of 65537 is written as zero,
// the TPM's way of naming the default.
func setRSAPublic(pub *tpm2.TPMTPublic, k *rsa.PublicKey, scheme tpm2.TPMTRSAScheme) error {
	bits := k.N.BitLen()
	if bits%8 != 0 || bits > math.MaxUint16 {
		return fmt.Errorf("RSA modulus of %d bits is not a whole number of bytes", bits)
	}
	if k.E < 3 || int64(k.E) > math.MaxUint32 {
		return fmt.Errorf("RSA exponent %d does not fit TPMS_RSA_PARMS", k.E)
	}
	exponent := uint32(k.E)
	if exponent == 65537 {
		exponent = 0
	}
	pub.Type = tpm2.TPMAlgRSA
	pub.Parameters = tpm2.NewTPMUPublicParms(tpm2.TPMAlgRSA, &tpm2.TPMSRSAParms{
		Symmetric: tpm2.TPMTSymDefObject{Algorithm: tpm2.TPMAlgNull},
		Scheme:    scheme,
		KeyBits:   tpm2.TPMKeyBits(bits),
		Exponent:  exponent,
	})
	pub.Unique = tpm2.NewTPMUPublicID(tpm2.TPMAlgRSA, &tpm2.TPM2BPublicKeyRSA{Buffer: k.N.FillBytes(make([]byte, bits/8))})
	return nil
}

// qualifiedName is the Qualified Name of a primary object of a hierarchy
// (TPM 2.0 Part 1 §16): nameAlg ‖ H(QN(hierarchy) ‖ Name), where a
// hierarchy's Qualified Name is its handle. nameAlg is SHA-256.
func qualifiedName(hierarchy tpm2.TPMHandle, name *tpm2.TPM2BName) []byte {
	h := sha256.New()
	h.Write(binary.BigEndian.AppendUint32(nil, uint32(hierarchy)))
	h.Write(name.Buffer)
	return h.Sum(binary.BigEndian.AppendUint16(nil, uint16(tpm2.TPMAlgSHA256)))
}

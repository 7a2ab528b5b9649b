package attestation

import (
	"crypto/sha256"
	"crypto/x509"
	"encoding/binary"
	"encoding/hex"
	"sync"
	"testing"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// Names of the external verifiers, as keys of oracleCase.except.
const (
	verifierGoWebAuthn = "go-webauthn"
	verifierPython     = "python-fido2"
	verifierLibfido2   = "libfido2"
)

// Documented verifier quirks, the reasons in oracleCase.except.
const (
	pyTPMECCBroken  = "python-fido2 0.9.1 cannot read an EC pubArea: TpmPublicFormat.public_key calls TpmsEccParms.to_curve, which does not exist, and TpmsEccPoint sets x = y (interop.md §2)"
	fido2TPMOnlyRS1 = "libfido2 verifies tpm statements only with alg RS1 (-65535, SHA-1), as Windows Hello signs them"
	fido2TPMPolicy  = "libfido2 wants a 32-byte authPolicy in pubArea, as Windows Hello's keys have"
	noValidityCheck = "checks no certificate validity period"
	noAIKAAGUID     = "does not compare the AIK certificate's AAGUID extension with authenticator data"
	noManufacturer  = "does not check the TPM manufacturer against the TCG vendor list"
	noChain         = "does not verify the certificate chain"
	noAAGUIDCheck   = "does not compare the certificate's AAGUID extension with authenticator data"
)

// formatFixture is the PKI behind the fido-u2f and tpm oracle cases.
type formatFixture struct {
	ca, otherCA *CA
	u2f         *Batch // batch certificate with a zero AAGUID, for fido-u2f
	expiredU2F  *Batch
	ecAIK       *Batch // P-256 AIK
	rsaAIK      *Batch // RSA-2048 AIK
	wrongAIK    *Batch // P-256 AIK whose certificate names another AAGUID
	unlistedAIK *Batch // P-256 AIK of manufacturer 0x00000000
	otherAIK    *Batch // P-256 AIK under otherCA
	expired     *Batch // packed batch certificates breaking one rule each
	notYetValid *Batch
	certAAGUID  *Batch
	enterprise  *Batch
}

// formatFixtures is built once: RSA key generation is slow under -race.
var formatFixtures = sync.OnceValues(func() (*formatFixture, error) {
	now := testNow()
	f := &formatFixture{}
	var err error
	if f.ca, err = NewCA(seeded(20), now, "Softkey Test Vendor"); err != nil {
		return nil, err
	}
	if f.otherCA, err = NewCA(seeded(21), now, "Someone Else"); err != nil {
		return nil, err
	}
	if f.u2f, err = f.ca.IssueBatch(seeded(22), now, [16]byte{}, BatchOptions{CommonName: "U2F Batch"}); err != nil {
		return nil, err
	}
	if f.expiredU2F, err = f.ca.IssueBatch(seeded(23), now, [16]byte{}, BatchOptions{
		NotBefore: now.AddDate(-2, 0, 0), NotAfter: now.AddDate(0, 0, -1)}); err != nil {
		return nil, err
	}
	if f.ecAIK, err = NewAIK(seeded(24), now, f.ca, TPMInfo{}, testAAGUID); err != nil {
		return nil, err
	}
	if f.rsaAIK, err = NewAIK(seeded(25), now, f.ca, TPMInfo{AIKAlg: ctap2.AlgRS256, Manufacturer: 0x4D534654, Model: "SLB9670"}, testAAGUID); err != nil {
		return nil, err
	}
	other := testAAGUID
	other[0] ^= 0xff
	if f.wrongAIK, err = NewAIK(seeded(26), now, f.ca, TPMInfo{}, other); err != nil {
		return nil, err
	}
	if f.unlistedAIK, err = NewAIK(seeded(27), now, f.ca, TPMInfo{Manufacturer: 0x12345678}, testAAGUID); err != nil {
		return nil, err
	}
	if f.otherAIK, err = NewAIK(seeded(28), now, f.otherCA, TPMInfo{}, testAAGUID); err != nil {
		return nil, err
	}
	if f.expired, err = f.ca.IssueBatch(seeded(29), now, testAAGUID, BatchOptions{
		NotBefore: now.AddDate(-3, 0, 0), NotAfter: now.Add(-24 * time.Hour)}); err != nil {
		return nil, err
	}
	if f.notYetValid, err = f.ca.IssueBatch(seeded(30), now, testAAGUID, BatchOptions{
		NotBefore: now.Add(48 * time.Hour)}); err != nil {
		return nil, err
	}
	if f.certAAGUID, err = f.ca.IssueBatch(seeded(31), now, testAAGUID, BatchOptions{CertAAGUID: &other}); err != nil {
		return nil, err
	}
	if f.enterprise, err = f.ca.IssueBatch(seeded(32), now, testAAGUID, BatchOptions{
		CommonName: "Enterprise Attestation", SerialNumberExt: []byte("SK-000042")}); err != nil {
		return nil, err
	}
	return f, nil
})

// windowsHelloPolicy is a SHA-256 policy digest: TPM2_PolicyAuthValue from
// an empty policy (TPM 2.0 Part 3 §23.18), the shape Windows Hello keys have.
func windowsHelloPolicy() []byte {
	h := sha256.New()
	h.Write(make([]byte, sha256.Size))
	h.Write(binary.BigEndian.AppendUint32(nil, 0x0000016B)) // TPM_CC_PolicyAuthValue
	return h.Sum(nil)
}

// formatOracleCases adds fido-u2f from [FIDOU2F], tpm from [TPM] and the
// packed negative modes of [CA.IssueBatch] to the oracle cases.
func formatOracleCases(t *testing.T, creds []credential) []oracleCase {
	t.Helper()
	f, err := formatFixtures()
	if err != nil {
		t.Fatalf("building fixtures: %v", err)
	}
	es256, rs256 := creds[0], creds[2]
	credID := []byte("credential-id-0123456789abcdef")
	anchor := func(b *Batch) *x509.Certificate { return b.Root() }
	var cases []oracleCase

	// fido-u2f (WebAuthn L3 §8.6): x5c holds only the batch certificate, so
	// the relying party anchors at the intermediate as well as the root,
	// and finds the entry by the certificate's key identifier.
	u2fCase := func(name string, b *Batch, cdh, rpCDH []byte) oracleCase {
		authData := makeAuthData(t, es256, [16]byte{}, credID)
		st, err := FIDOU2F(authData, cdh, b.Key, b.Chain[0])
		if err != nil {
			t.Fatalf("FIDOU2F: %v", err)
		}
		leaf, err := x509.ParseCertificate(b.Chain[0])
		if err != nil {
			t.Fatal(err)
		}
		inter, err := x509.ParseCertificate(b.Chain[1])
		if err != nil {
			t.Fatal(err)
		}
		return oracleCase{
			name: name, attObj: attestationObject(t, st, authData), cdh: rpCDH,
			trustRoot: anchor(b), extraAnchors: []*x509.Certificate{inter},
			keyID: hex.EncodeToString(leaf.SubjectKeyId),
		}
	}
	cdh := clientDataHash("FIDOU2F")
	c := u2fCase("fido-u2f/FIDOU2F/ES256", f.u2f, cdh, cdh)
	c.wantOK, c.wantGo, c.wantPy = true, "basic_full", "BASIC"
	cases = append(cases, c)
	c = u2fCase("fido-u2f/FIDOU2F/other client data", f.u2f, cdh, clientDataHash("other"))
	c.goReason = "Signature validation error"
	cases = append(cases, c)
	c = u2fCase("fido-u2f/FIDOU2F/expired batch certificate", f.expiredU2F, cdh, cdh)
	c.goReason = "Attestation certificate is either no longer valid or not yet valid"
	c.except = map[string]string{verifierPython: noValidityCheck, verifierLibfido2: noValidityCheck}
	cases = append(cases, c)

	// tpm (WebAuthn L3 §8.3), AttCA: x5c is the AIK and the intermediate.
	tpmCase := func(name string, cred credential, aik *Batch, info TPMInfo, cdh, rpCDH []byte) oracleCase {
		authData := makeAuthData(t, cred, testAAGUID, credID)
		st, err := TPM(authData, cdh, cred.key.Public(), cred.alg, aik.Key, aik.Chain[:2], info)
		if err != nil {
			t.Fatalf("TPM(%s): %v", name, err)
		}
		return oracleCase{name: name, attObj: attestationObject(t, st, authData), cdh: rpCDH, trustRoot: anchor(aik)}
	}
	ok := func(c oracleCase, except map[string]string) oracleCase {
		c.wantOK, c.wantGo, c.wantPy, c.except = true, "attca", "ATT_CA", except
		return c
	}
	winHello := TPMInfo{AIKAlg: AlgRS1, AuthPolicy: windowsHelloPolicy(), Clock: 123456789, FirmwareVersion: 0x0007005500000000}
	cdh = clientDataHash("tpm")
	cases = append(cases,
		ok(tpmCase("tpm/ES256 credential/ES256 AIK", es256, f.ecAIK, TPMInfo{}, cdh, cdh),
			map[string]string{verifierPython: pyTPMECCBroken, verifierLibfido2: fido2TPMOnlyRS1}),
		ok(tpmCase("tpm/RS256 credential/RS256 AIK", rs256, f.rsaAIK, TPMInfo{}, cdh, cdh),
			map[string]string{verifierLibfido2: fido2TPMOnlyRS1}),
		ok(tpmCase("tpm/RS256 credential/RS1 AIK, Windows Hello shape", rs256, f.rsaAIK, winHello, cdh, cdh), nil),
		ok(tpmCase("tpm/ES256 credential/RS1 AIK, Windows Hello shape", es256, f.rsaAIK, winHello, cdh, cdh),
			map[string]string{verifierPython: pyTPMECCBroken}),
		ok(tpmCase("tpm/ES256 credential/RS1 AIK, no authPolicy", es256, f.rsaAIK, TPMInfo{AIKAlg: AlgRS1}, cdh, cdh),
			map[string]string{verifierPython: pyTPMECCBroken, verifierLibfido2: fido2TPMPolicy}),
	)
	c = tpmCase("tpm/RS256 credential/other client data", rs256, f.rsaAIK, winHello, cdh, clientDataHash("other"))
	c.goReason = "ExtraData is not set to hash of attToBeSigned"
	cases = append(cases, c)
	c = tpmCase("tpm/AIK certificate for another AAGUID", rs256, f.wrongAIK, TPMInfo{}, cdh, cdh)
	c.goReason = "Certificate AAGUID does not match Auth Data certificate"
	c.except = map[string]string{verifierPython: noAIKAAGUID}
	cases = append(cases, c)
	c = tpmCase("tpm/unlisted TPM manufacturer", rs256, f.unlistedAIK, TPMInfo{}, cdh, cdh)
	c.goReason = "Invalid TPM manufacturer"
	c.except = map[string]string{verifierPython: noManufacturer}
	cases = append(cases, c)
	c = tpmCase("tpm/AIK of an untrusted CA", rs256, f.otherAIK, TPMInfo{}, cdh, cdh)
	c.trustRoot = f.ca.Root
	c.goReason = "could not be verified due to an error validating the trust chain"
	cases = append(cases, c)

	// packed with batch certificates from IssueBatch's negative modes.
	packedCase := func(name string, b *Batch) oracleCase {
		cdh := clientDataHash(name)
		authData := makeAuthData(t, es256, testAAGUID, credID)
		st, err := Packed(authData, cdh, b.Key, b.Chain[:2])
		if err != nil {
			t.Fatalf("Packed(%s): %v", name, err)
		}
		return oracleCase{name: name, attObj: attestationObject(t, st, authData), cdh: cdh, trustRoot: b.Root()}
	}
	c = packedCase("packed/enterprise certificate with serial number", f.enterprise)
	c.wantOK, c.wantGo, c.wantPy = true, "basic_full", "BASIC"
	cases = append(cases, c)
	c = packedCase("packed/expired batch certificate", f.expired)
	c.goReason = "Cert in chain is either no longer valid or not yet valid"
	c.except = map[string]string{verifierPython: noValidityCheck, verifierLibfido2: noValidityCheck}
	cases = append(cases, c)
	c = packedCase("packed/batch certificate not yet valid", f.notYetValid)
	c.goReason = "Cert in chain is either no longer valid or not yet valid"
	c.except = map[string]string{verifierPython: noValidityCheck, verifierLibfido2: noValidityCheck}
	cases = append(cases, c)
	c = packedCase("packed/certificate names another AAGUID", f.certAAGUID)
	c.goReason = "AAGUID"
	c.except = map[string]string{verifierLibfido2: noAAGUIDCheck}
	cases = append(cases, c)
	return cases
}

// expectOK returns whether verifier should accept tc, and why when that
// differs from tc.wantOK.
func (tc oracleCase) expectOK(verifier string) (bool, string) {
	if why, ok := tc.except[verifier]; ok {
		return !tc.wantOK, why
	}
	return tc.wantOK, ""
}

package mds_test

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/base64"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/ctap2"
)

// testNow is the day the tests pretend it is when they date reports. The
// certificates are valid around the real time, since go-webauthn checks
// them against its own clock.
var testNow = time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC)

// issued is a throwaway certificate with its key.
type issued struct {
	cert *x509.Certificate
	key  *ecdsa.PrivateKey
}

// b64 is the certificate in the standard base64 go-webauthn's decoder
// takes as its root.
func (c *issued) b64() string { return base64.StdEncoding.EncodeToString(c.cert.Raw) }

// issue makes a P-256 certificate for tmpl, signed by parent (or
// self-signed when parent is nil). Validity runs from an hour ago for a
// year; there are no CRL or OCSP URLs for a verifier to fetch.
func issue(t *testing.T, tmpl *x509.Certificate, parent *issued) *issued {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 120))
	require.NoError(t, err)
	tmpl.SerialNumber = serial
	tmpl.NotBefore = time.Now().Add(-time.Hour)
	tmpl.NotAfter = time.Now().AddDate(1, 0, 0)
	signerCert, signerKey := tmpl, key
	if parent != nil {
		signerCert, signerKey = parent.cert, parent.key
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, signerCert, &key.PublicKey, signerKey)
	require.NoError(t, err)
	cert, err := x509.ParseCertificate(der)
	require.NoError(t, err)
	return &issued{cert: cert, key: key}
}

// newCA issues a CA certificate named cn under parent.
func newCA(t *testing.T, cn string, parent *issued) *issued {
	t.Helper()
	return issue(t, &x509.Certificate{
		Subject:               pkix.Name{Country: []string{"US"}, Organization: []string{"softkey tests"}, CommonName: cn},
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}, parent)
}

// mdsPKI is the chain that signs BLOBs: root, intermediate, signer.
type mdsPKI struct{ root, inter, signer *issued }

func newMDSPKI(t *testing.T) *mdsPKI {
	t.Helper()
	root := newCA(t, "softkey test MDS root", nil)
	inter := newCA(t, "softkey test MDS intermediate", root)
	signer := issue(t, &x509.Certificate{
		Subject:  pkix.Name{Country: []string{"US"}, Organization: []string{"softkey tests"}, CommonName: "softkey test MDS BLOB signer"},
		KeyUsage: x509.KeyUsageDigitalSignature,
	}, inter)
	return &mdsPKI{root: root, inter: inter, signer: signer}
}

// chain is what EncodeBLOB puts in x5c: the signer and its intermediate.
func (p *mdsPKI) chain() []*x509.Certificate {
	return []*x509.Certificate{p.signer.cert, p.inter.cert}
}

// newBatch issues a packed batch attestation certificate for aaguid under
// root, meeting WebAuthn L3 §8.2.1: subject C, O, OU "Authenticator
// Attestation", CN; CA false; the AAGUID extension, not critical.
func newBatch(t *testing.T, root *issued, aaguid mds.AAGUID) *issued {
	t.Helper()
	ext, err := asn1.Marshal(aaguid[:])
	require.NoError(t, err)
	return issue(t, &x509.Certificate{
		Subject: pkix.Name{
			Country:            []string{"US"},
			Organization:       []string{"softkey tests"},
			OrganizationalUnit: []string{"Authenticator Attestation"},
			CommonName:         "softkey test batch",
		},
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		IsCA:                  false,
		ExtraExtensions: []pkix.Extension{
			{Id: asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}, Value: ext},
		},
	}, root)
}

// mustAAGUID parses a UUID.
func mustAAGUID(t *testing.T, s string) mds.AAGUID {
	t.Helper()
	var g mds.AAGUID
	require.NoError(t, g.UnmarshalText([]byte(s)))
	return g
}

// statementFor is a complete FIDO2 statement for a USB security key with
// packed full attestation chaining to attRoot, built from its getInfo the
// way softkey's own metadata is.
func statementFor(t *testing.T, aaguid mds.AAGUID, description string, attRoot *issued) mds.Statement {
	t.Helper()
	info, err := mds.GetInfoFromCTAP(&ctap2.GetInfoResponse{
		Versions:                 []string{"U2F_V2", "FIDO_2_0", "FIDO_2_1"},
		AAGUID:                   aaguid[:],
		Options:                  map[string]bool{"rk": true, "up": true, "plat": false},
		MaxMsgSize:               1200,
		MaxCredentialCountInList: 8,
		MaxCredentialIDLength:    128,
		Transports:               []string{"usb"},
		Algorithms:               []ctap2.CredentialParam{{Type: ctap2.PublicKeyCredentialType, Alg: ctap2.AlgES256}},
		FirmwareVersion:          5,
	})
	require.NoError(t, err)
	alg, err := mds.AuthenticationAlgorithm(ctap2.AlgES256)
	require.NoError(t, err)
	return mds.Statement{
		AAGUID:                       aaguid,
		Description:                  description,
		AuthenticatorVersion:         5,
		ProtocolFamily:               mds.ProtocolFIDO2,
		Schema:                       mds.Schema,
		Upv:                          mds.UpvFromVersions(info.Versions),
		AuthenticationAlgorithms:     []string{alg},
		PublicKeyAlgAndEncodings:     []string{mds.PublicKeyCOSE},
		AttestationTypes:             []mds.AttestationType{mds.AttestationBasicFull},
		UserVerificationDetails:      [][]mds.VerificationMethod{{{UserVerificationMethod: mds.UVPresenceInternal}}},
		KeyProtection:                []string{mds.KeyProtectionHardware, mds.KeyProtectionSecureElement},
		MatcherProtection:            []string{mds.MatcherProtectionOnChip},
		AttachmentHint:               []string{mds.AttachmentExternal, mds.AttachmentWired},
		AttestationRootCertificates:  [][]byte{attRoot.cert.Raw},
		MultiDeviceCredentialSupport: mds.MultiDeviceUnsupported,
		AuthenticatorGetInfo:         info,
	}
}

// entryFor is an entry whose status history is reports, the last one
// current.
func entryFor(t *testing.T, aaguid mds.AAGUID, description string, attRoot *issued, reports ...mds.StatusReport) mds.Entry {
	t.Helper()
	return mds.Entry{
		AAGUID:                 aaguid,
		MetadataStatement:      statementFor(t, aaguid, description, attRoot),
		StatusReports:          reports,
		TimeOfLastStatusChange: testNow,
	}
}

package attestation

import (
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"encoding/asn1"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestNewAIKFor(t *testing.T) {
	ca := testCA(t, 70)
	now := testNow()
	info := TPMInfo{Manufacturer: 0x4D534654, Model: "SW   TPM", FirmwareVersion: 0x2019061400163636}
	p256, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	f, err := formatFixtures()
	require.NoError(t, err)

	for name, aik := range map[string]any{"P-256": p256.Public(), "RSA": f.rsaAIK.Key.Public()} {
		t.Run(name, func(t *testing.T) {
			chain, err := NewAIKFor(seeded(71), now, ca, aik, info, testAAGUID)
			require.NoError(t, err)
			require.Len(t, chain, 3, "AIK certificate, intermediate, root")
			require.Equal(t, ca.Intermediate.Raw, chain[1], "chain[1]")
			require.Equal(t, ca.Root.Raw, chain[2], "chain[2]")
			cert, err := x509.ParseCertificate(chain[0])
			require.NoError(t, err)
			require.True(t, publicKeyEqual(aik, cert.PublicKey), "certified key: got %T, want the AIK", cert.PublicKey)
			require.Equal(t, []byte{0x30, 0x00}, cert.RawSubject, "subject must be empty")
			critical, attrs := sanAttributes(t, cert)
			require.True(t, critical, "SAN must be critical")
			for oid, want := range map[string]string{"2.23.133.2.1": "id:4D534654", "2.23.133.2.2": "SW   TPM", "2.23.133.2.3": "id:20190614"} {
				require.Equal(t, asn1.TagUTF8String, attrs[oid].Tag, "SAN %s tag", oid)
				require.Equal(t, want, string(attrs[oid].Bytes), "SAN %s", oid)
			}
			require.Len(t, cert.UnknownExtKeyUsage, 1)
			require.True(t, cert.UnknownExtKeyUsage[0].Equal(oidAIKCertificate()), "EKU %v, want 2.23.133.8.3", cert.UnknownExtKeyUsage)
			require.True(t, cert.BasicConstraintsValid && !cert.IsCA, "basic constraints: CA=false")
			got, err := certificateAAGUID(cert)
			require.NoError(t, err)
			require.Equal(t, testAAGUID, got, "AAGUID extension")

			again, err := NewAIKFor(seeded(71), now, ca, aik, info, testAAGUID)
			require.NoError(t, err)
			require.Equal(t, chain, again, "the same arguments give the same certificate")
		})
	}

	p384, err := ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	require.NoError(t, err)
	edPub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	for _, tt := range []struct {
		name string
		ca   *CA
		aik  any
		info TPMInfo
		want string
	}{
		{"P-384 AIK", ca, p384.Public(), info, "want P-256"},
		{"Ed25519 AIK", ca, edPub, info, "want a P-256 ECDSA or an RSA key"},
		{"no AIK", ca, nil, info, "want a P-256 ECDSA or an RSA key"},
		{"nil CA", nil, p256.Public(), info, "no CA"},
		{"invalid UTF-8 model", ca, p256.Public(), TPMInfo{Model: "\xff"}, "TPM model"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			chain, err := NewAIKFor(seeded(72), now, tt.ca, tt.aik, tt.info, testAAGUID)
			require.ErrorContains(t, err, tt.want, "NewAIKFor(%s)", tt.name)
			require.Nil(t, chain)
		})
	}
}

// certificationOf takes a tpm statement apart into what a TPM's
// TPM2_Certify returns.
func certificationOf(t *testing.T, st Statement) Certification {
	t.Helper()
	d := decodeTPM(t, st)
	return Certification{Alg: d.stmt.Alg, PubArea: d.stmt.PubArea, CertInfo: d.stmt.CertInfo, Signature: d.stmt.Sig}
}

// TestTPMCertified feeds TPMCertified the certifications that TPM builds
// in software, which are what a TPM returns: it must give back the same
// statement, and refuse every certification that does not fit.
func TestTPMCertified(t *testing.T) {
	f, err := formatFixtures()
	require.NoError(t, err)
	creds := newCredentials(t)
	es256, rs256 := creds[0], creds[2]
	cdh := clientDataHash("tpm certified")

	for _, tt := range []struct {
		name string
		cred credential
		aik  *Batch
		info TPMInfo
	}{
		{"ES256 credential, ES256 AIK", es256, f.ecAIK, TPMInfo{}},
		{"RS256 credential, RS256 AIK", rs256, f.rsaAIK, TPMInfo{}},
		{"ES256 credential, RS1 AIK", es256, f.rsaAIK, TPMInfo{AIKAlg: AlgRS1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			authData := makeAuthData(t, tt.cred, testAAGUID, []byte("tpm-cred"))
			want, err := TPM(authData, cdh, tt.cred.key.Public(), tt.cred.alg, tt.aik.Key, tt.aik.Chain, tt.info)
			require.NoError(t, err)
			got, err := TPMCertified(authData, cdh, tt.cred.key.Public(), certificationOf(t, want), tt.aik.Chain)
			require.NoError(t, err)
			require.Equal(t, want, got, "statement from the certification")
		})
	}

	authData := makeAuthData(t, es256, testAAGUID, []byte("tpm-cred"))
	good, err := TPM(authData, cdh, es256.key.Public(), es256.alg, f.ecAIK.Key, f.ecAIK.Chain, TPMInfo{})
	require.NoError(t, err)
	rsAuthData := makeAuthData(t, rs256, testAAGUID, []byte("tpm-cred"))
	other, err := TPM(rsAuthData, cdh, rs256.key.Public(), rs256.alg, f.ecAIK.Key, f.ecAIK.Chain, TPMInfo{})
	require.NoError(t, err)
	change := func(edit func(c *Certification)) Certification {
		c := certificationOf(t, good)
		edit(&c)
		return c
	}
	tests := []struct {
		name     string
		authData []byte
		cdh      []byte
		cert     Certification
		chain    [][]byte
		want     string
	}{
		{"another clientDataHash", authData, clientDataHash("other"), certificationOf(t, good), f.ecAIK.Chain, "extraData is not the SHA-256 hash"},
		{"short clientDataHash", authData, cdh[:31], certificationOf(t, good), f.ecAIK.Chain, "client data hash is 31 bytes"},
		{"authData of another key", rsAuthData, cdh, certificationOf(t, good), f.ecAIK.Chain, "not the one in authenticator data"},
		{"pubArea of another key", authData, cdh, change(func(c *Certification) { c.PubArea = certificationOf(t, other).PubArea }), f.ecAIK.Chain, "pubArea does not hold the credential key"},
		{"pubArea malformed", authData, cdh, change(func(c *Certification) { c.PubArea = c.PubArea[:10] }), f.ecAIK.Chain, "pubArea"},
		{"certInfo of another key", authData, cdh, change(func(c *Certification) { c.CertInfo = certificationOf(t, other).CertInfo }), f.ecAIK.Chain, "certifies another key"},
		{"certInfo malformed", authData, cdh, change(func(c *Certification) { c.CertInfo = c.CertInfo[:20] }), f.ecAIK.Chain, "certInfo"},
		{"certInfo not TPM-generated", authData, cdh, change(func(c *Certification) { c.CertInfo = append([]byte{0}, c.CertInfo[1:]...) }), f.ecAIK.Chain, "not a TPM certification"},
		{"signature tampered", authData, cdh, change(func(c *Certification) { c.Signature = append([]byte(nil), c.Signature...); c.Signature[10] ^= 1 }), f.ecAIK.Chain, "does not verify"},
		{"alg not the AIK's", authData, cdh, change(func(c *Certification) { c.Alg = ctap2.AlgRS256 }), f.ecAIK.Chain, "does not verify"},
		{"alg EdDSA", authData, cdh, change(func(c *Certification) { c.Alg = ctap2.AlgEdDSA }), f.ecAIK.Chain, "not one a TPM attestation key signs with"},
		{"another AIK's certificate", authData, cdh, certificationOf(t, good), f.otherAIK.Chain, "does not verify"},
		{"no AIK certificate", authData, cdh, certificationOf(t, good), nil, "empty AIK certificate chain"},
		{"AIK certificate malformed", authData, cdh, certificationOf(t, good), [][]byte{[]byte("not DER")}, "AIK certificate"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := TPMCertified(tt.authData, tt.cdh, es256.key.Public(), tt.cert, tt.chain)
			require.Error(t, err, "TPMCertified accepted %s", tt.name)
			require.True(t, strings.Contains(err.Error(), tt.want), "error %q, want it to contain %q", err, tt.want)
			require.Zero(t, st, "statement of a refused certification")
		})
	}
}

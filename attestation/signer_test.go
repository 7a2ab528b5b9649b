package attestation

import (
	"bytes"
	"crypto/x509"
	"encoding/base64"
	"strings"
	"testing"
	"time"

	"github.com/go-webauthn/webauthn/metadata"

	"github.com/softkeydev/softkey/attestation/mds"
	"github.com/softkeydev/softkey/ctap2"
)

func TestIssueSigner(t *testing.T) {
	now := testNow()
	ca, err := NewCA(seeded(1), now, "Softkey Test Vendor")
	if err != nil {
		t.Fatal(err)
	}
	key, chain, err := ca.IssueSigner(seeded(2), now, "Metadata BLOB Signer")
	if err != nil {
		t.Fatalf("IssueSigner: %v", err)
	}
	if len(chain) != 3 || chain[1] != ca.Intermediate || chain[2] != ca.Root {
		t.Fatalf("chain = %d certificates, want signer, intermediate, root", len(chain))
	}
	leaf := chain[0]
	if !publicKeyEqual(key.Public(), leaf.PublicKey) {
		t.Error("the key is not the signing certificate's")
	}
	checks := []struct {
		what string
		ok   bool
	}{
		{"version 3", leaf.Version == 3},
		{"CN", leaf.Subject.CommonName == "Metadata BLOB Signer"},
		{"O of the intermediate", len(leaf.Subject.Organization) == 1 && leaf.Subject.Organization[0] == "Softkey Test Vendor"},
		{"Basic Constraints CA=false", leaf.BasicConstraintsValid && !leaf.IsCA},
		{"key usage digitalSignature only", leaf.KeyUsage == x509.KeyUsageDigitalSignature},
		{"no extended key usage", len(leaf.ExtKeyUsage) == 0 && len(leaf.UnknownExtKeyUsage) == 0},
		{"no CRL or AIA URLs", len(leaf.CRLDistributionPoints) == 0 && len(leaf.OCSPServer) == 0 && len(leaf.IssuingCertificateURL) == 0},
		{"back-dated an hour", !leaf.NotBefore.After(now.Add(-time.Hour))},
		{"subject key identifier", len(leaf.SubjectKeyId) == 20},
	}
	for _, c := range checks {
		if !c.ok {
			t.Errorf("signing certificate: not %s", c.what)
		}
	}
	roots := x509.NewCertPool()
	roots.AddCert(ca.Root)
	inter := x509.NewCertPool()
	inter.AddCert(ca.Intermediate)
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}); err != nil {
		t.Errorf("signing certificate does not chain to the root: %v", err)
	}

	again, chain2, err := ca.IssueSigner(seeded(2), now, "Metadata BLOB Signer")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(chain2[0].Raw, leaf.Raw) || !publicKeyEqual(again.Public(), key.Public()) {
		t.Error("the same rand and clock issued a different signer")
	}
}

func TestIssueSignerErrors(t *testing.T) {
	now := testNow()
	ca, err := NewCA(seeded(1), now, "Softkey Test Vendor")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		ca   *CA
		cn   string
		want string
	}{
		{"no CA", nil, "signer", "issuing metadata signing certificate: no CA"},
		{"no intermediate key", &CA{Root: ca.Root, Intermediate: ca.Intermediate}, "signer", "CA has no intermediate key"},
		{"empty CN", ca, "", `common name "" must be 1 to 64 characters`},
		{"long CN", ca, strings.Repeat("x", 65), "must be 1 to 64 characters"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, _, err := tt.ca.IssueSigner(seeded(2), now, tt.cn)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("IssueSigner error = %v, want it to contain %q", err, tt.want)
			}
		})
	}
	if _, _, err := ca.IssueSigner(nil, now, "signer"); err == nil {
		t.Error("IssueSigner without randomness succeeded")
	}
}

// TestIssueSignerSignsBLOB: a BLOB signed with the signer, with the signer
// and the intermediate in x5c, is accepted by go-webauthn's decoder with
// the CA root as its trust anchor, and refused with another root.
func TestIssueSignerSignsBLOB(t *testing.T) {
	now := time.Now()
	ca, err := NewCA(seeded(1), now, "Softkey Test Vendor")
	if err != nil {
		t.Fatal(err)
	}
	key, chain, err := ca.IssueSigner(seeded(2), now, "Metadata BLOB Signer")
	if err != nil {
		t.Fatal(err)
	}
	aaguid := mds.AAGUID(testAAGUID)
	entry := mds.Entry{
		AAGUID: aaguid,
		MetadataStatement: mds.Statement{
			Description: "softkey signer test", AuthenticatorVersion: 1,
			ProtocolFamily: mds.ProtocolFIDO2, Schema: mds.Schema,
			Upv:                         []mds.Version{{Major: 1, Minor: 0}},
			AuthenticationAlgorithms:    []string{"secp256r1_ecdsa_sha256_raw"},
			PublicKeyAlgAndEncodings:    []string{mds.PublicKeyCOSE},
			AttestationTypes:            []mds.AttestationType{mds.AttestationBasicFull},
			UserVerificationDetails:     [][]mds.VerificationMethod{{{UserVerificationMethod: mds.UVPresenceInternal}}},
			KeyProtection:               []string{mds.KeyProtectionSoftware},
			MatcherProtection:           []string{mds.MatcherProtectionSoftware},
			AttachmentHint:              []string{mds.AttachmentExternal},
			AttestationRootCertificates: [][]byte{ca.Root.Raw},
			AuthenticatorGetInfo: &mds.GetInfo{Versions: []string{"FIDO_2_0"}, AAGUID: aaguid,
				Algorithms: []mds.CredentialType{{Type: "public-key", Alg: ctap2.AlgES256}}},
		},
		StatusReports:          []mds.StatusReport{{Status: mds.StatusNotFIDOCertified, EffectiveDate: now}},
		TimeOfLastStatusChange: now,
	}
	blob, err := mds.EncodeBLOB([]mds.Entry{entry}, 1, now.AddDate(0, 1, 0), key, chain[:2])
	if err != nil {
		t.Fatalf("EncodeBLOB: %v", err)
	}
	decode := func(root *x509.Certificate) error {
		dec, err := metadata.NewDecoder(metadata.WithRootCertificate(base64.StdEncoding.EncodeToString(root.Raw)))
		if err != nil {
			t.Fatal(err)
		}
		payload, err := dec.DecodeBytes([]byte(blob))
		if err != nil {
			return err
		}
		md, err := dec.Parse(payload)
		if err == nil && len(md.Parsed.Entries) != 1 {
			t.Errorf("go-webauthn parsed %d entries, want 1", len(md.Parsed.Entries))
		}
		return err
	}
	if err := decode(ca.Root); err != nil {
		t.Fatalf("go-webauthn refused the BLOB: %v", err)
	}
	other, err := NewCA(seeded(3), now, "Someone Else")
	if err != nil {
		t.Fatal(err)
	}
	if err := decode(other.Root); err == nil {
		t.Error("go-webauthn accepted the BLOB with another root")
	}
}

package attestation

import (
	"bytes"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"io"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

// sanAttributes reads the TPM attributes from an AIK certificate's SAN,
// keeping each value's string tag.
func sanAttributes(t *testing.T, cert *x509.Certificate) (critical bool, attrs map[string]asn1.RawValue) {
	t.Helper()
	for _, ext := range cert.Extensions {
		if !ext.Id.Equal(oidSubjectAltName()) {
			continue
		}
		var names []asn1.RawValue
		if rest, err := asn1.Unmarshal(ext.Value, &names); err != nil || len(rest) != 0 {
			t.Fatalf("SAN %x is not one GeneralNames: %v", ext.Value, err)
		}
		if len(names) != 1 || names[0].Class != asn1.ClassContextSpecific || names[0].Tag != 4 || !names[0].IsCompound {
			t.Fatalf("SAN holds %d names, want one directoryName [4]", len(names))
		}
		var rdns []asn1.RawValue // RDNSequence, keeping raw SETs
		if rest, err := asn1.Unmarshal(names[0].Bytes, &rdns); err != nil || len(rest) != 0 {
			t.Fatalf("directoryName is not a Name: %v", err)
		}
		if len(rdns) != 1 {
			t.Errorf("directoryName has %d RDNs, want 1", len(rdns))
		}
		attrs = map[string]asn1.RawValue{}
		for _, rdn := range rdns {
			var set []struct {
				Type  asn1.ObjectIdentifier
				Value asn1.RawValue
			}
			if _, err := asn1.UnmarshalWithParams(rdn.FullBytes, &set, "set"); err != nil {
				t.Fatalf("RDN: %v", err)
			}
			for _, atv := range set {
				attrs[atv.Type.String()] = atv.Value
			}
		}
		return ext.Critical, attrs
	}
	t.Fatal("no SAN extension")
	return false, nil
}

func TestNewAIK(t *testing.T) {
	ca := testCA(t, 60)
	now := testNow()
	info := TPMInfo{Manufacturer: 0x53544D20, Model: "ST33HTPHAHD4", FirmwareVersion: 0x0001020300000000}
	aik, err := NewAIK(seeded(61), now, ca, info, testAAGUID)
	if err != nil {
		t.Fatalf("NewAIK: %v", err)
	}
	cert, err := x509.ParseCertificate(aik.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	if cert.Version != 3 {
		t.Errorf("version %d", cert.Version)
	}
	if !bytes.Equal(cert.RawSubject, []byte{0x30, 0x00}) || cert.Subject.String() != "" {
		t.Errorf("subject %x is not empty", cert.RawSubject)
	}
	critical, attrs := sanAttributes(t, cert)
	if !critical {
		t.Error("SAN is not critical")
	}
	for oid, want := range map[string]string{"2.23.133.2.1": "id:53544D20", "2.23.133.2.2": "ST33HTPHAHD4", "2.23.133.2.3": "id:00010203"} {
		got := attrs[oid]
		if got.Tag != asn1.TagUTF8String || string(got.Bytes) != want {
			t.Errorf("SAN %s = %q (tag %d), want UTF8String %q", oid, got.Bytes, got.Tag, want)
		}
	}
	if len(cert.UnknownExtKeyUsage) != 1 || !cert.UnknownExtKeyUsage[0].Equal(oidAIKCertificate()) || len(cert.ExtKeyUsage) != 0 {
		t.Errorf("EKU = %v %v, want tcg-kp-AIKCertificate", cert.UnknownExtKeyUsage, cert.ExtKeyUsage)
	}
	if !cert.BasicConstraintsValid || cert.IsCA {
		t.Errorf("basic constraints valid=%v CA=%v", cert.BasicConstraintsValid, cert.IsCA)
	}
	if cert.KeyUsage != x509.KeyUsageDigitalSignature {
		t.Errorf("key usage %v", cert.KeyUsage)
	}
	if got, err := certificateAAGUID(cert); err != nil || got != testAAGUID {
		t.Errorf("AAGUID extension = %x, %v", got, err)
	}
	if !publicKeyEqual(aik.Key.Public(), cert.PublicKey) {
		t.Error("key does not match certificate")
	}
	if len(cert.CRLDistributionPoints)+len(cert.OCSPServer)+len(cert.IssuingCertificateURL) != 0 {
		t.Error("AIK certificate carries URLs")
	}
	// Go refuses the critical SAN it does not parse (a directoryName);
	// relying parties that understand it set it aside and verify the chain.
	roots := x509.NewCertPool()
	roots.AddCert(ca.Root)
	inters := x509.NewCertPool()
	inters.AddCert(ca.Intermediate)
	opts := x509.VerifyOptions{Roots: roots, Intermediates: inters, CurrentTime: now, KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny}}
	if _, err := cert.Verify(opts); err == nil || !strings.Contains(err.Error(), "unhandled critical extension") {
		t.Errorf("Go verified the AIK chain with the SAN critical (%v); expected 'unhandled critical extension'", err)
	}
	stripped := *cert
	stripped.UnhandledCriticalExtensions = nil
	if _, err := stripped.Verify(opts); err != nil {
		t.Errorf("AIK chain does not verify: %v", err)
	}

	again, err := NewAIK(seeded(61), now, ca, info, testAAGUID)
	if err != nil || !bytes.Equal(again.Chain[0], aik.Chain[0]) {
		t.Errorf("NewAIK with a P-256 key is not deterministic: %v", err)
	}

	t.Run("defaults", func(t *testing.T) {
		aik, err := NewAIK(seeded(62), now, ca, TPMInfo{}, testAAGUID)
		if err != nil {
			t.Fatal(err)
		}
		cert, _ := x509.ParseCertificate(aik.Chain[0])
		_, attrs := sanAttributes(t, cert)
		if m, v := string(attrs["2.23.133.2.1"].Bytes), string(attrs["2.23.133.2.3"].Bytes); m != "id:FFFFF1D0" || v != "id:00000000" || string(attrs["2.23.133.2.2"].Bytes) != "softkey" {
			t.Errorf("default SAN = %q, %q, %q", m, attrs["2.23.133.2.2"].Bytes, v)
		}
	})

	t.Run("RSA", func(t *testing.T) {
		f, err := formatFixtures()
		if err != nil {
			t.Fatal(err)
		}
		k, ok := f.rsaAIK.Key.Public().(*rsa.PublicKey)
		if !ok || k.N.BitLen() != 2048 {
			t.Errorf("RS256 AIK key = %T", f.rsaAIK.Key.Public())
		}
		cert, _ := x509.ParseCertificate(f.rsaAIK.Chain[0])
		skid, err := subjectKeyID(k)
		if err != nil || !bytes.Equal(cert.SubjectKeyId, skid) {
			t.Errorf("SubjectKeyId = %x, want %x (%v)", cert.SubjectKeyId, skid, err)
		}
	})

	for _, tt := range []struct {
		name string
		ca   *CA
		rand io.Reader
		info TPMInfo
		want string
	}{
		{"nil CA", nil, seeded(1), TPMInfo{}, "no CA"},
		{"no rand", ca, nil, TPMInfo{}, "no randomness source"},
		{"EdDSA", ca, seeded(1), TPMInfo{AIKAlg: ctap2.AlgEdDSA}, "AIK algorithm EdDSA"},
		{"long model", ca, seeded(1), TPMInfo{Model: strings.Repeat("m", 65)}, "TPM model"},
		{"invalid UTF-8 model", ca, seeded(1), TPMInfo{Model: "\xff"}, "TPM model"},
		{"short rand", ca, io.LimitReader(seeded(1), 45), TPMInfo{}, "drawing serial number"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewAIK(tt.rand, now, tt.ca, tt.info, testAAGUID)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewAIK = %v, %v; want error containing %q", b, err, tt.want)
			}
		})
	}
}

func TestTPMSubjectAltNameEncoding(t *testing.T) {
	// GeneralNames { [4] Name { RDN { manufacturer, model, version } } },
	// with the SET OF in DER order.
	san, err := tpmSubjectAltName(0xFFFFF1D0, "EmuTPM", 0x00010002)
	if err != nil {
		t.Fatal(err)
	}
	var names []asn1.RawValue
	if _, err := asn1.Unmarshal(san, &names); err != nil || len(names) != 1 {
		t.Fatalf("SAN: %v", err)
	}
	var name pkix.RDNSequence
	if _, err := asn1.Unmarshal(names[0].Bytes, &name); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	for _, rdn := range name {
		for _, atv := range rdn {
			got[atv.Type.String()] = atv.Value.(string)
		}
	}
	want := map[string]string{"2.23.133.2.1": "id:FFFFF1D0", "2.23.133.2.2": "EmuTPM", "2.23.133.2.3": "id:00010002"}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %q, want %q", k, got[k], v)
		}
	}
	// DER orders a SET OF by the encodings of its elements (X.690 §11.6).
	var rdns []asn1.RawValue
	if _, err := asn1.Unmarshal(names[0].Bytes, &rdns); err != nil || len(rdns) != 1 {
		t.Fatalf("Name: %v", err)
	}
	rest := rdns[0].Bytes
	var prev []byte
	for len(rest) > 0 {
		var elem asn1.RawValue
		if rest, err = asn1.Unmarshal(rest, &elem); err != nil {
			t.Fatal(err)
		}
		if prev != nil && bytes.Compare(prev, elem.FullBytes) > 0 {
			t.Errorf("SET OF not in DER order: %x before %x", prev, elem.FullBytes)
		}
		prev = elem.FullBytes
	}
}

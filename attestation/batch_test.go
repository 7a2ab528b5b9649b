package attestation

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// parseChain parses a batch's certificates.
func parseChain(t *testing.T, b *Batch) (leaf, inter, root *x509.Certificate) {
	t.Helper()
	if len(b.Chain) != 3 {
		t.Fatalf("chain has %d certificates, want 3", len(b.Chain))
	}
	var certs [3]*x509.Certificate
	for i, der := range b.Chain {
		c, err := x509.ParseCertificate(der)
		if err != nil {
			t.Fatalf("parsing certificate %d: %v", i, err)
		}
		certs[i] = c
	}
	return certs[0], certs[1], certs[2]
}

// subjectAttribute is one attribute of a subject with its string tag.
type subjectAttribute struct {
	oid   string
	tag   cbasn1.Tag
	value string
}

// subjectAttributes walks a DER Name (RFC 5280 §4.1.2.4) keeping each
// value's ASN.1 string type, which crypto/x509 throws away.
func subjectAttributes(t *testing.T, raw []byte) []subjectAttribute {
	t.Helper()
	var out []subjectAttribute
	s := cryptobyte.String(raw)
	var rdns cryptobyte.String
	if !s.ReadASN1(&rdns, cbasn1.SEQUENCE) || !s.Empty() {
		t.Fatalf("subject %x is not one SEQUENCE", raw)
	}
	for !rdns.Empty() {
		var set cryptobyte.String
		if !rdns.ReadASN1(&set, cbasn1.SET) {
			t.Fatalf("subject %x: bad RDN", raw)
		}
		for !set.Empty() {
			var atv cryptobyte.String
			var oid asn1.ObjectIdentifier
			var value cryptobyte.String
			var tag cbasn1.Tag
			if !set.ReadASN1(&atv, cbasn1.SEQUENCE) || !atv.ReadASN1ObjectIdentifier(&oid) ||
				!atv.ReadAnyASN1(&value, &tag) || !atv.Empty() {
				t.Fatalf("subject %x: bad AttributeTypeAndValue", raw)
			}
			out = append(out, subjectAttribute{oid.String(), tag, string(value)})
		}
	}
	return out
}

// TestBatchCertificate checks the batch certificate against every rule of
// WebAuthn L3 §8.2.1 and tpm-and-attestation §3.7, with crypto/x509 and by
// reading the DER.
func TestBatchCertificate(t *testing.T) {
	now := testNow()
	b, err := NewBatch(seeded(1), now, testAAGUID, "Softkey Test Vendor")
	if err != nil {
		t.Fatalf("NewBatch: %v", err)
	}
	leaf, inter, root := parseChain(t, b)

	if leaf.Version != 3 {
		t.Errorf("version = %d, want 3", leaf.Version)
	}
	want := []subjectAttribute{
		{"2.5.4.6", cbasn1.Tag(asn1.TagPrintableString), "US"},
		{"2.5.4.10", cbasn1.Tag(asn1.TagUTF8String), "Softkey Test Vendor"},
		{"2.5.4.11", cbasn1.Tag(asn1.TagUTF8String), "Authenticator Attestation"},
		{"2.5.4.3", cbasn1.Tag(asn1.TagUTF8String), "Batch Attestation"},
	}
	got := subjectAttributes(t, leaf.RawSubject)
	if len(got) != len(want) {
		t.Fatalf("subject attributes = %+v, want %+v", got, want)
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("subject attribute %d = %+v, want %+v", i, got[i], want[i])
		}
	}
	if ou := leaf.Subject.OrganizationalUnit; len(ou) != 1 || ou[0] != "Authenticator Attestation" {
		t.Errorf("OU = %q, want exactly [\"Authenticator Attestation\"]", ou)
	}
	if !leaf.BasicConstraintsValid || leaf.IsCA {
		t.Errorf("basic constraints: valid=%v CA=%v, want present with CA=false", leaf.BasicConstraintsValid, leaf.IsCA)
	}
	if !hasExtension(leaf, "2.5.29.19") {
		t.Error("Basic Constraints extension missing")
	}

	// id-fido-gen-ce-aaguid, byte for byte as tpm-and-attestation §3.2 shows it.
	wantExt, _ := hex.DecodeString("3021060b2b0601040182e51c0101040412" + "0410" + hex.EncodeToString(testAAGUID[:]))
	if !bytes.Contains(leaf.Raw, wantExt) {
		t.Errorf("certificate lacks the non-critical AAGUID extension %x", wantExt)
	}
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidAAGUID()) && ext.Critical {
			t.Error("AAGUID extension is critical")
		}
	}
	if err := b.CheckAAGUID(testAAGUID); err != nil {
		t.Errorf("CheckAAGUID: %v", err)
	}

	for i, c := range []*x509.Certificate{leaf, inter, root} {
		if !c.NotBefore.Before(now.Add(-time.Hour + time.Second)) {
			t.Errorf("certificate %d: NotBefore %v is not backdated an hour from %v", i, c.NotBefore, now)
		}
		if c.NotAfter.Before(now.AddDate(19, 0, 0)) {
			t.Errorf("certificate %d: NotAfter %v is less than 19 years away", i, c.NotAfter)
		}
		if len(c.CRLDistributionPoints)+len(c.OCSPServer)+len(c.IssuingCertificateURL) != 0 {
			t.Errorf("certificate %d carries revocation or AIA URLs", i)
		}
		if hasExtension(c, "2.5.29.31") || hasExtension(c, "1.3.6.1.5.5.7.1.1") {
			t.Errorf("certificate %d has a CRLDP or AIA extension", i)
		}
		if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() < 100 {
			t.Errorf("certificate %d: serial %v is not a large positive number", i, c.SerialNumber)
		}
		if c.Version != 3 {
			t.Errorf("certificate %d: version %d", i, c.Version)
		}
	}
	if leaf.SerialNumber.Cmp(inter.SerialNumber) == 0 || inter.SerialNumber.Cmp(root.SerialNumber) == 0 {
		t.Error("serial numbers repeat")
	}
	if !root.IsCA || !inter.IsCA || !inter.MaxPathLenZero {
		t.Errorf("CA flags: root CA=%v, intermediate CA=%v pathlen0=%v", root.IsCA, inter.IsCA, inter.MaxPathLenZero)
	}
	if !bytes.Equal(b.Root().Raw, root.Raw) {
		t.Error("Root() is not the last certificate")
	}

	roots := x509.NewCertPool()
	roots.AddCert(root)
	inters := x509.NewCertPool()
	inters.AddCert(inter)
	if _, err := leaf.Verify(x509.VerifyOptions{
		Roots: roots, Intermediates: inters, CurrentTime: now,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}); err != nil {
		t.Errorf("chain does not verify: %v", err)
	}
	if !b.Key.Public().(*ecdsa.PublicKey).Equal(leaf.PublicKey) {
		t.Error("Key is not the batch certificate's key")
	}
}

func hasExtension(c *x509.Certificate, oid string) bool {
	for _, ext := range c.Extensions {
		if ext.Id.String() == oid {
			return true
		}
	}
	return false
}

// TestNewBatchDeterministic checks that the chain is a function of the
// rand stream and the arguments.
func TestNewBatchDeterministic(t *testing.T) {
	now := testNow()
	a, err := NewBatch(seeded(7), now, testAAGUID, "Vendor")
	if err != nil {
		t.Fatal(err)
	}
	b, err := NewBatch(seeded(7), now, testAAGUID, "Vendor")
	if err != nil {
		t.Fatal(err)
	}
	for i := range a.Chain {
		if !bytes.Equal(a.Chain[i], b.Chain[i]) {
			t.Errorf("certificate %d differs between runs with the same seed", i)
		}
	}
	ka, _ := a.MarshalKey()
	kb, _ := b.MarshalKey()
	if !bytes.Equal(ka, kb) {
		t.Error("keys differ between runs with the same seed")
	}
	c, err := NewBatch(seeded(8), now, testAAGUID, "Vendor")
	if err != nil {
		t.Fatal(err)
	}
	if bytes.Equal(a.Chain[0], c.Chain[0]) {
		t.Error("different seeds gave the same batch certificate")
	}
}

func TestNewBatchRejects(t *testing.T) {
	tests := []struct {
		name string
		rand io.Reader
		org  string
		want string
	}{
		{"no rand", nil, "Vendor", "no randomness source"},
		{"empty organization", seeded(1), "", "organization"},
		{"long organization", seeded(1), strings.Repeat("x", 65), "organization"},
		{"invalid UTF-8", seeded(1), "Vendor\xff", "organization"},
		{"short rand", io.LimitReader(seeded(1), 100), "Vendor", "EOF"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := NewBatch(tt.rand, testNow(), testAAGUID, tt.org)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("NewBatch = %v, %v; want error containing %q", b, err, tt.want)
			}
		})
	}
	// 64 characters, multi-byte, is fine and stays UTF8String.
	org := strings.Repeat("é", 64)
	b, err := NewBatch(seeded(1), testNow(), testAAGUID, org)
	if err != nil {
		t.Fatalf("NewBatch with 64-character organization: %v", err)
	}
	leaf, _, _ := parseChain(t, b)
	if leaf.Subject.Organization[0] != org {
		t.Errorf("O = %q, want %q", leaf.Subject.Organization[0], org)
	}
}

func TestParseBatch(t *testing.T) {
	a := newTestBatch(t, 1)
	other := newTestBatch(t, 2)
	keyA, err := a.MarshalKey()
	if err != nil {
		t.Fatalf("MarshalKey: %v", err)
	}
	keyOther, err := other.MarshalKey()
	if err != nil {
		t.Fatal(err)
	}

	t.Run("round trip", func(t *testing.T) {
		chain := [][]byte{bytes.Clone(a.Chain[0]), a.Chain[1], a.Chain[2]}
		b, err := ParseBatch(keyA, chain)
		if err != nil {
			t.Fatalf("ParseBatch: %v", err)
		}
		chain[0][0] ^= 0xff // ParseBatch must have copied
		for i := range a.Chain {
			if !bytes.Equal(a.Chain[i], b.Chain[i]) {
				t.Errorf("certificate %d changed", i)
			}
		}
		if !b.Key.Public().(*ecdsa.PublicKey).Equal(a.Key.Public()) {
			t.Error("key changed")
		}
		if err := b.CheckAAGUID(testAAGUID); err != nil {
			t.Errorf("CheckAAGUID: %v", err)
		}
		cdh := clientDataHash("parsed")
		authData := makeAuthData(t, newCredentials(t)[1], testAAGUID, []byte("id"))
		if _, err := Packed(authData, cdh, b.Key, b.Chain); err != nil {
			t.Errorf("Packed with parsed batch: %v", err)
		}
	})

	tests := []struct {
		name  string
		key   []byte
		chain [][]byte
		want  string
	}{
		{"key of another batch", keyOther, a.Chain, "key does not match"},
		{"chain mixed from two batches", keyA, [][]byte{a.Chain[0], other.Chain[1], other.Chain[2]}, "certificate 0 is not signed by certificate 1"},
		{"no certificates", keyA, nil, "no certificates"},
		{"garbage certificate", keyA, [][]byte{a.Chain[0], []byte("junk")}, "certificate 1"},
		{"garbage key", []byte("junk"), a.Chain, "parsing batch attestation key"},
		{"leaf only", keyA, a.Chain[:1], ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ParseBatch(tt.key, tt.chain)
			if tt.want == "" {
				if err != nil {
					t.Fatalf("ParseBatch: %v", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseBatch = %v, %v; want error containing %q", b, err, tt.want)
			}
		})
	}
}

func TestCheckAAGUID(t *testing.T) {
	b := newTestBatch(t, 1)
	other := testAAGUID
	other[0] ^= 0xff
	err := b.CheckAAGUID(other)
	if err == nil || !strings.Contains(err.Error(), hex.EncodeToString(testAAGUID[:])) || !strings.Contains(err.Error(), hex.EncodeToString(other[:])) {
		t.Errorf("CheckAAGUID(other) = %v, want an error naming both AAGUIDs", err)
	}
	if err := (&Batch{}).CheckAAGUID(testAAGUID); err == nil {
		t.Error("CheckAAGUID on an empty batch succeeded")
	}
	if err := (&Batch{Chain: [][]byte{[]byte("junk")}}).CheckAAGUID(testAAGUID); err == nil {
		t.Error("CheckAAGUID on a garbage certificate succeeded")
	}

	value, _ := asn1.Marshal(testAAGUID[:])
	short, _ := asn1.Marshal(testAAGUID[:15])
	tests := []struct {
		name string
		ext  []pkix.Extension
		want string
	}{
		{"present", []pkix.Extension{{Id: oidAAGUID(), Value: value}}, ""},
		{"missing", nil, "no AAGUID extension"},
		{"critical", []pkix.Extension{{Id: oidAAGUID(), Critical: true, Value: value}}, "critical"},
		{"raw bytes", []pkix.Extension{{Id: oidAAGUID(), Value: testAAGUID[:]}}, "parsing AAGUID extension"},
		{"15 bytes", []pkix.Extension{{Id: oidAAGUID(), Value: short}}, "16-byte OCTET STRING"},
		{"trailing bytes", []pkix.Extension{{Id: oidAAGUID(), Value: append(bytes.Clone(value), 0)}}, "16-byte OCTET STRING"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := certificateAAGUID(&x509.Certificate{Extensions: tt.ext})
			if tt.want == "" {
				if err != nil || got != testAAGUID {
					t.Fatalf("certificateAAGUID = %x, %v; want %x", got, err, testAAGUID)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("certificateAAGUID = %x, %v; want error containing %q", got, err, tt.want)
			}
		})
	}
}

func TestRootEdgeCases(t *testing.T) {
	var nilBatch *Batch
	if nilBatch.Root() != nil || (&Batch{}).Root() != nil || (&Batch{Chain: [][]byte{{1}}}).Root() != nil {
		t.Error("Root() of an empty or broken batch is not nil")
	}
	if _, err := nilBatch.MarshalKey(); err == nil {
		t.Error("MarshalKey of a nil batch succeeded")
	}
}

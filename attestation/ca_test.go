package attestation

import (
	"bytes"
	"crypto/sha256"
	"crypto/x509"
	"encoding/asn1"
	"encoding/hex"
	"io"
	"strings"
	"testing"
	"time"
)

// TestNewBatchGolden pins NewBatch's output for a seed and a clock, so that
// refactoring it (it is NewCA followed by IssueBatch) keeps seeded runs
// reproducing byte for byte.
func TestNewBatchGolden(t *testing.T) {
	now := time.Date(2026, 3, 4, 5, 6, 7, 0, time.UTC)
	b, err := NewBatch(seeded(1), now, testAAGUID, "Softkey Test Vendor")
	if err != nil {
		t.Fatal(err)
	}
	h := sha256.New()
	for _, c := range b.Chain {
		h.Write(c)
	}
	key, err := b.MarshalKey()
	if err != nil {
		t.Fatal(err)
	}
	h.Write(key)
	const want = "29cd790f2adc46a8830cc466b2cc35d7b4cdbd46252d35a1055dbd7371570cff"
	if got := hex.EncodeToString(h.Sum(nil)); got != want {
		t.Errorf("NewBatch output hashes to %s, want %s", got, want)
	}
}

func TestNewCA(t *testing.T) {
	now := testNow()
	ca, err := NewCA(seeded(1), now, "Softkey Test Vendor")
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	if !ca.Root.IsCA || ca.Root.MaxPathLen != 1 || !bytes.Equal(ca.Root.RawIssuer, ca.Root.RawSubject) {
		t.Errorf("root: CA=%v pathlen=%d self-issued=%v", ca.Root.IsCA, ca.Root.MaxPathLen, bytes.Equal(ca.Root.RawIssuer, ca.Root.RawSubject))
	}
	if !ca.Intermediate.IsCA || !ca.Intermediate.MaxPathLenZero {
		t.Errorf("intermediate: CA=%v pathlen0=%v", ca.Intermediate.IsCA, ca.Intermediate.MaxPathLenZero)
	}
	if err := ca.Intermediate.CheckSignatureFrom(ca.Root); err != nil {
		t.Errorf("intermediate not signed by root: %v", err)
	}
	if !publicKeyEqual(ca.RootKey.Public(), ca.Root.PublicKey) || !publicKeyEqual(ca.IntermediateKey.Public(), ca.Intermediate.PublicKey) {
		t.Error("keys do not match certificates")
	}
	again, err := NewCA(seeded(1), now, "Softkey Test Vendor")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(again.Root.Raw, ca.Root.Raw) || !bytes.Equal(again.Intermediate.Raw, ca.Intermediate.Raw) {
		t.Error("NewCA is not deterministic")
	}
	for _, tt := range []struct {
		name string
		rand io.Reader
		org  string
		want string
	}{
		{"no rand", nil, "Vendor", "no randomness source"},
		{"no organization", seeded(1), "", "organization"},
		{"short rand", io.LimitReader(seeded(1), 60), "Vendor", "intermediate: deriving key: unexpected EOF"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := NewCA(tt.rand, now, tt.org); err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("NewCA = %v, want error containing %q", err, tt.want)
			}
		})
	}
}

// testCA is a CA for the tests below.
func testCA(t *testing.T, seed byte) *CA {
	t.Helper()
	ca, err := NewCA(seeded(seed), testNow(), "Softkey Test Vendor")
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func leafOf(t *testing.T, b *Batch) *x509.Certificate {
	t.Helper()
	c, err := x509.ParseCertificate(b.Chain[0])
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func TestIssueBatchOptions(t *testing.T) {
	ca := testCA(t, 1)
	now := testNow()
	other := testAAGUID
	other[3] ^= 0x55
	fw := int64(0x050403)
	notBefore := now.AddDate(-2, 0, 0)
	notAfter := now.AddDate(-1, 0, 0)

	t.Run("defaults", func(t *testing.T) {
		b, err := ca.IssueBatch(seeded(2), now, testAAGUID, BatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		leaf := leafOf(t, b)
		if err := checkBatchCertificate(leaf); err != nil {
			t.Errorf("default batch certificate breaks a rule: %v", err)
		}
		if got := leaf.Subject.Organization; len(got) != 1 || got[0] != "Softkey Test Vendor" {
			t.Errorf("O = %q, want the CA's", got)
		}
		if leaf.Subject.CommonName != "Batch Attestation" || leaf.Subject.Country[0] != "US" {
			t.Errorf("subject = %v", leaf.Subject)
		}
		if hasExtension(leaf, oidSerialNumber().String()) || hasExtension(leaf, oidFirmwareVersion().String()) {
			t.Error("default batch certificate carries sernum or fw-version")
		}
		if !bytes.Equal(b.Chain[1], ca.Intermediate.Raw) || !bytes.Equal(b.Chain[2], ca.Root.Raw) {
			t.Error("chain is not batch, intermediate, root")
		}
		if err := leaf.CheckSignatureFrom(ca.Intermediate); err != nil {
			t.Errorf("batch certificate not signed by the intermediate: %v", err)
		}
		if err := b.CheckAAGUID(testAAGUID); err != nil {
			t.Error(err)
		}
		again, err := ca.IssueBatch(seeded(2), now, testAAGUID, BatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(again.Chain[0], b.Chain[0]) {
			t.Error("IssueBatch is not deterministic")
		}
	})

	t.Run("every option", func(t *testing.T) {
		b, err := ca.IssueBatch(seeded(3), now, testAAGUID, BatchOptions{
			Organization: "Other Org", CommonName: "Enterprise Attestation", Country: "SE",
			NotBefore: notBefore, NotAfter: notAfter, CertAAGUID: &other,
			SerialNumberExt: []byte{0xde, 0xad, 0xbe, 0xef}, FirmwareVersion: &fw,
		})
		if err != nil {
			t.Fatal(err)
		}
		leaf := leafOf(t, b)
		if leaf.Subject.Organization[0] != "Other Org" || leaf.Subject.CommonName != "Enterprise Attestation" || leaf.Subject.Country[0] != "SE" {
			t.Errorf("subject = %v", leaf.Subject)
		}
		if !leaf.NotBefore.Equal(notBefore.Truncate(time.Second)) || !leaf.NotAfter.Equal(notAfter.Truncate(time.Second)) {
			t.Errorf("validity %v–%v, want %v–%v", leaf.NotBefore, leaf.NotAfter, notBefore, notAfter)
		}
		if got, err := certificateAAGUID(leaf); err != nil || got != other {
			t.Errorf("certificate AAGUID = %x, %v; want %x", got, err, other)
		}
		if err := b.CheckAAGUID(testAAGUID); err == nil {
			t.Error("CheckAAGUID accepted the profile's AAGUID for a certificate naming another")
		}
		wantExt := map[string]string{
			// OCTET STRING inside extnValue, as for the AAGUID.
			oidSerialNumber().String(): "0404deadbeef",
			// INTEGER.
			oidFirmwareVersion().String(): "0203050403",
		}
		for _, ext := range leaf.Extensions {
			if want, ok := wantExt[ext.Id.String()]; ok {
				if ext.Critical || hex.EncodeToString(ext.Value) != want {
					t.Errorf("extension %v = %x (critical %v), want %s non-critical", ext.Id, ext.Value, ext.Critical, want)
				}
				delete(wantExt, ext.Id.String())
			}
		}
		if len(wantExt) != 0 {
			t.Errorf("missing extensions %v", wantExt)
		}
	})

	t.Run("not yet valid", func(t *testing.T) {
		b, err := ca.IssueBatch(seeded(4), now, testAAGUID, BatchOptions{NotBefore: now.Add(time.Hour)})
		if err != nil {
			t.Fatal(err)
		}
		if leaf := leafOf(t, b); !leaf.NotBefore.After(now) || !leaf.NotAfter.After(leaf.NotBefore) {
			t.Errorf("validity %v–%v", leaf.NotBefore, leaf.NotAfter)
		}
	})

	long := strings.Repeat("x", 65)
	neg := int64(-1)
	for _, tt := range []struct {
		name string
		ca   *CA
		rand io.Reader
		opts BatchOptions
		want string
	}{
		{"nil CA", nil, seeded(1), BatchOptions{}, "no CA"},
		{"CA without intermediate key", &CA{Root: ca.Root, Intermediate: ca.Intermediate}, seeded(1), BatchOptions{}, "no intermediate key"},
		{"no rand", ca, nil, BatchOptions{}, "no randomness source"},
		{"long organization", ca, seeded(1), BatchOptions{Organization: long}, "organization"},
		{"long common name", ca, seeded(1), BatchOptions{CommonName: long}, "common name"},
		{"three-letter country", ca, seeded(1), BatchOptions{Country: "USA"}, `country "USA"`},
		{"lower-case country", ca, seeded(1), BatchOptions{Country: "us"}, `country "us"`},
		{"NotAfter before NotBefore", ca, seeded(1), BatchOptions{NotAfter: now.AddDate(-1, 0, 0)}, "NotAfter"},
		{"empty serial number", ca, seeded(1), BatchOptions{SerialNumberExt: []byte{}}, "serial number extension is 0 bytes"},
		{"long serial number", ca, seeded(1), BatchOptions{SerialNumberExt: make([]byte, 65)}, "serial number extension is 65 bytes"},
		{"negative firmware version", ca, seeded(1), BatchOptions{FirmwareVersion: &neg}, "firmware version -1"},
		{"short rand", ca, io.LimitReader(seeded(1), 10), BatchOptions{}, "deriving key"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			b, err := tt.ca.IssueBatch(tt.rand, now, testAAGUID, tt.opts)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("IssueBatch = %v, %v; want error containing %q", b, err, tt.want)
			}
		})
	}
}

func TestCAPEMRoundTrip(t *testing.T) {
	ca := testCA(t, 5)
	certs, keys, err := ca.MarshalPEM()
	if err != nil {
		t.Fatalf("MarshalPEM: %v", err)
	}
	back, err := ParseCAPEM(certs, keys)
	if err != nil {
		t.Fatalf("ParseCAPEM: %v", err)
	}
	if !back.Root.Equal(ca.Root) || !back.Intermediate.Equal(ca.Intermediate) {
		t.Error("certificates changed")
	}
	if !publicKeyEqual(back.RootKey.Public(), ca.Root.PublicKey) || !publicKeyEqual(back.IntermediateKey.Public(), ca.Intermediate.PublicKey) {
		t.Error("keys changed")
	}
	// A reloaded CA issues exactly what the original does.
	a, err := ca.IssueBatch(seeded(6), testNow(), testAAGUID, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := back.IssueBatch(seeded(6), testNow(), testAAGUID, BatchOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(a.Chain[0], b.Chain[0]) {
		t.Error("reloaded CA issues a different certificate")
	}

	// Order does not matter, text around blocks is ignored.
	blocks := splitPEM(t, certs)
	keyBlocks := splitPEM(t, keys)
	swapped := append([]byte("Bag Attributes\n"), append(blocks[1], blocks[0]...)...)
	if _, err := ParseCAPEM(swapped, append(keyBlocks[1], keyBlocks[0]...)); err != nil {
		t.Errorf("ParseCAPEM with root first: %v", err)
	}

	other := testCA(t, 7)
	otherCerts, otherKeys, err := other.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	otherBlocks := splitPEM(t, otherCerts)
	otherKeyBlocks := splitPEM(t, otherKeys)
	for _, tt := range []struct {
		name        string
		certs, keys []byte
		want        string
	}{
		{"no PEM", []byte("hello"), keys, "no PEM data found"},
		{"one certificate", blocks[0], keys, "found 1 certificates, want 2"},
		{"key instead of certificate", keyBlocks[0], keys, `PEM block 0 is "PRIVATE KEY"`},
		{"two roots", append(blocks[1], otherBlocks[1]...), keys, "both certificates are self-signed"},
		{"two intermediates", append(blocks[0], otherBlocks[0]...), keys, "neither certificate is a self-signed root"},
		{"intermediate of another root", append(otherBlocks[0], blocks[1]...), keys, "is not signed by root"},
		{"one key", certs, keyBlocks[0], "found 1 keys, want 2"},
		{"foreign key", certs, append(keyBlocks[0], otherKeyBlocks[1]...), "key 1 matches neither"},
		{"same key twice", certs, append(keyBlocks[0], keyBlocks[0]...), "key 1 matches neither"},
		{"certificate instead of key", certs, append(keyBlocks[0], blocks[0]...), `PEM block 1 is "CERTIFICATE"`},
		{"encrypted key", certs, []byte("-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\nDEK-Info: AES-128-CBC,00\n\nAAAA\n-----END RSA PRIVATE KEY-----\n"), "encrypted"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			ca, err := ParseCAPEM(tt.certs, tt.keys)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ParseCAPEM = %v, %v; want error containing %q", ca, err, tt.want)
			}
		})
	}
	if _, _, err := (&CA{Root: ca.Root, Intermediate: ca.Intermediate, IntermediateKey: ca.IntermediateKey}).MarshalPEM(); err == nil {
		t.Error("MarshalPEM without a root key succeeded")
	}
}

// splitPEM returns each PEM block of data as its own text.
func splitPEM(t *testing.T, data []byte) [][]byte {
	t.Helper()
	var out [][]byte
	for len(bytes.TrimSpace(data)) > 0 {
		end := bytes.Index(data, []byte("-----END "))
		if end < 0 {
			t.Fatalf("no END line in %q", data)
		}
		nl := bytes.IndexByte(data[end:], '\n')
		out = append(out, bytes.Clone(data[:end+nl+1]))
		data = data[end+nl+1:]
	}
	return out
}

// TestEnterpriseBatch checks the enterprise attestation certificate shape of
// CTAP 2.1 §7.1: a per-device batch certificate with id-fido-gen-ce-sernum,
// otherwise a packed batch certificate.
func TestEnterpriseBatch(t *testing.T) {
	ca := testCA(t, 8)
	serial := []byte("SK-0001-2345")
	b, err := ca.IssueBatch(seeded(9), testNow(), testAAGUID, BatchOptions{CommonName: "Enterprise Attestation", SerialNumberExt: serial})
	if err != nil {
		t.Fatal(err)
	}
	leaf := leafOf(t, b)
	if err := checkBatchCertificate(leaf); err != nil {
		t.Errorf("enterprise certificate breaks a packed rule: %v", err)
	}
	var got []byte
	for _, ext := range leaf.Extensions {
		if ext.Id.Equal(oidSerialNumber()) {
			if ext.Critical {
				t.Error("sernum extension is critical")
			}
			if rest, err := asn1.Unmarshal(ext.Value, &got); err != nil || len(rest) != 0 {
				t.Errorf("sernum extension %x is not one OCTET STRING: %v", ext.Value, err)
			}
		}
	}
	if !bytes.Equal(got, serial) {
		t.Errorf("sernum = %q, want %q", got, serial)
	}
}

package attestation

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"errors"
	"math/big"
	"strings"
	"testing"

	"golang.org/x/crypto/cryptobyte"
	cbasn1 "golang.org/x/crypto/cryptobyte/asn1"
)

// subjectOf encodes a subject from (attribute, value) pairs, one RDN each,
// with C as PrintableString and everything else as UTF8String.
func subjectOf(t *testing.T, attrs ...string) []byte {
	t.Helper()
	oids := map[string]asn1.ObjectIdentifier{"C": oidCountry(), "O": oidOrganization(), "OU": oidOrgUnit(), "CN": oidCommonName()}
	var rdns pkix.RDNSequence
	for i := 0; i+1 < len(attrs); i += 2 {
		tag := asn1.TagUTF8String
		if attrs[i] == "C" {
			tag = asn1.TagPrintableString
		}
		rdns = append(rdns, []pkix.AttributeTypeAndValue{{Type: oids[attrs[i]], Value: asn1.RawValue{Tag: tag, Bytes: []byte(attrs[i+1])}}})
	}
	der, err := asn1.Marshal(rdns)
	if err != nil {
		t.Fatal(err)
	}
	return der
}

// goodBatchTemplate is a batch certificate template that meets every rule.
func goodBatchTemplate(t *testing.T, serial int64) *x509.Certificate {
	t.Helper()
	exts, err := fidoExtensions(testAAGUID, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	nb, na := defaultValidity(testNow())
	return &x509.Certificate{
		SerialNumber:          big.NewInt(serial),
		RawSubject:            subjectOf(t, "C", "SE", "O", "Hardware Team AB", "OU", "Authenticator Attestation", "CN", "HW Batch 7"),
		NotBefore:             nb,
		NotAfter:              na,
		KeyUsage:              x509.KeyUsageDigitalSignature,
		BasicConstraintsValid: true,
		ExtraExtensions:       exts,
	}
}

// craftedBatch issues template for key under ca and returns the PEM chain
// (batch, intermediate, root) and the PEM key.
func craftedBatch(t *testing.T, ca *CA, template *x509.Certificate, key crypto.Signer) (chainPEM, keyPEM []byte) {
	t.Helper()
	der, _, err := issueCertificate(nil, template, ca.Intermediate, key.Public(), ca.IntermediateKey)
	if err != nil {
		t.Fatalf("issuing crafted certificate: %v", err)
	}
	b := &Batch{Key: key, Chain: [][]byte{der, ca.Intermediate.Raw, ca.Root.Raw}}
	chainPEM, keyPEM, err = b.MarshalPEM()
	if err != nil {
		t.Fatal(err)
	}
	return chainPEM, keyPEM
}

func pemOf(ders ...[]byte) []byte {
	var out []byte
	for _, der := range ders {
		out = append(out, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})...)
	}
	return out
}

// asVersion1 re-signs a certificate as X.509 v1: no version field and no
// extensions (RFC 5280 §4.1).
func asVersion1(t *testing.T, der []byte, signer crypto.Signer) []byte {
	t.Helper()
	s := cryptobyte.String(der)
	var cert, tbs cryptobyte.String
	var sigAlg cryptobyte.String
	if !s.ReadASN1(&cert, cbasn1.SEQUENCE) || !cert.ReadASN1(&tbs, cbasn1.SEQUENCE) || !cert.ReadASN1Element(&sigAlg, cbasn1.SEQUENCE) {
		t.Fatal("malformed certificate")
	}
	var b cryptobyte.Builder
	b.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		for !tbs.Empty() {
			var elem cryptobyte.String
			var tag cbasn1.Tag
			if !tbs.ReadAnyASN1Element(&elem, &tag) {
				t.Fatal("malformed TBSCertificate")
			}
			if tag == cbasn1.Tag(0).Constructed().ContextSpecific() || tag == cbasn1.Tag(3).Constructed().ContextSpecific() {
				continue // version, extensions
			}
			b.AddBytes(elem)
		}
	})
	newTBS, err := b.Bytes()
	if err != nil {
		t.Fatal(err)
	}
	sig, err := Sign(signer, -7, newTBS)
	if err != nil {
		t.Fatal(err)
	}
	var out cryptobyte.Builder
	out.AddASN1(cbasn1.SEQUENCE, func(b *cryptobyte.Builder) {
		b.AddBytes(newTBS)
		b.AddBytes(sigAlg)
		b.AddASN1BitString(sig)
	})
	return out.BytesOrPanic()
}

func TestImportBatch(t *testing.T) {
	ca := testCA(t, 10)
	other := testCA(t, 11)
	key, err := deriveP256Key(seeded(12))
	if err != nil {
		t.Fatal(err)
	}
	otherKey, err := deriveP256Key(seeded(13))
	if err != nil {
		t.Fatal(err)
	}

	t.Run("good", func(t *testing.T) {
		chain, keyPEM := craftedBatch(t, ca, goodBatchTemplate(t, 1), key)
		b, err := ImportBatch(chain, keyPEM, testAAGUID)
		if err != nil {
			t.Fatalf("ImportBatch: %v", err)
		}
		if len(b.Chain) != 3 || !bytes.Equal(b.Chain[2], ca.Root.Raw) || !publicKeyEqual(b.Key.Public(), key.Public()) {
			t.Error("imported batch differs")
		}
		// And it attests.
		authData := makeAuthData(t, newCredentials(t)[0], testAAGUID, []byte("id"))
		if _, err := Packed(authData, clientDataHash("import"), b.Key, b.Chain); err != nil {
			t.Errorf("Packed with imported batch: %v", err)
		}
	})

	t.Run("round trip of an issued batch", func(t *testing.T) {
		issued, err := ca.IssueBatch(seeded(14), testNow(), testAAGUID, BatchOptions{})
		if err != nil {
			t.Fatal(err)
		}
		chain, keyPEM, err := issued.MarshalPEM()
		if err != nil {
			t.Fatal(err)
		}
		b, err := ImportBatch(chain, keyPEM, testAAGUID)
		if err != nil {
			t.Fatalf("ImportBatch: %v", err)
		}
		for i := range issued.Chain {
			if !bytes.Equal(issued.Chain[i], b.Chain[i]) {
				t.Errorf("certificate %d changed", i)
			}
		}
	})

	t.Run("SEC 1 key", func(t *testing.T) {
		chain, _ := craftedBatch(t, ca, goodBatchTemplate(t, 2), key)
		der, err := x509.MarshalECPrivateKey(key)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := ImportBatch(chain, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), testAAGUID); err != nil {
			t.Errorf("ImportBatch with an EC PRIVATE KEY: %v", err)
		}
	})

	t.Run("PKCS 1 RSA key", func(t *testing.T) {
		rk, err := rsa.GenerateKey(seeded(15), 2048)
		if err != nil {
			t.Fatal(err)
		}
		chain, _ := craftedBatch(t, ca, goodBatchTemplate(t, 3), rk)
		keyPEM := pem.EncodeToMemory(&pem.Block{Type: "RSA PRIVATE KEY", Bytes: x509.MarshalPKCS1PrivateKey(rk)})
		if _, err := ImportBatch(chain, keyPEM, testAAGUID); err != nil {
			t.Errorf("ImportBatch with an RSA PRIVATE KEY: %v", err)
		}
	})

	// Each case breaks one rule; the error must name it.
	tmpl := func(serial int64, mutate func(*x509.Certificate)) *x509.Certificate {
		c := goodBatchTemplate(t, serial)
		mutate(c)
		return c
	}
	wrong := testAAGUID
	wrong[15] ^= 1
	wrongExt, _ := fidoExtensions(wrong, nil, nil)
	critical, _ := fidoExtensions(testAAGUID, nil, nil)
	critical[0].Critical = true
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ruleCases := []struct {
		name     string
		template *x509.Certificate
		key      crypto.Signer
		want     string
	}{
		{"OU wrong", tmpl(10, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "C", "SE", "O", "HW", "OU", "Foo", "CN", "x")
		}), key, `batch certificate: OU is "Foo", want "Authenticator Attestation"`},
		{"OU missing", tmpl(11, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "C", "SE", "O", "HW", "CN", "x")
		}), key, "batch certificate: subject has 0 OU attributes, want 1"},
		{"OU twice", tmpl(12, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "C", "SE", "O", "HW", "OU", "Authenticator Attestation", "OU", "Authenticator Attestation", "CN", "x")
		}), key, "batch certificate: subject has 2 OU attributes, want 1"},
		{"C missing", tmpl(13, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "O", "HW", "OU", "Authenticator Attestation", "CN", "x")
		}), key, "batch certificate: subject has 0 C attributes, want 1"},
		{"C not alpha-2", tmpl(14, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "C", "SWE", "O", "HW", "OU", "Authenticator Attestation", "CN", "x")
		}), key, `batch certificate: C is "SWE"`},
		{"O missing", tmpl(15, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "C", "SE", "OU", "Authenticator Attestation", "CN", "x")
		}), key, "batch certificate: subject has 0 O attributes, want 1"},
		{"O empty", tmpl(16, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "C", "SE", "O", "", "OU", "Authenticator Attestation", "CN", "x")
		}), key, "batch certificate: O is empty"},
		{"CN missing", tmpl(17, func(c *x509.Certificate) {
			c.RawSubject = subjectOf(t, "C", "SE", "O", "HW", "OU", "Authenticator Attestation")
		}), key, "batch certificate: subject has 0 CN attributes, want 1"},
		{"Basic Constraints missing", tmpl(18, func(c *x509.Certificate) { c.BasicConstraintsValid = false }),
			key, "batch certificate: Basic Constraints extension is missing"},
		{"CA true", tmpl(19, func(c *x509.Certificate) { c.IsCA = true; c.KeyUsage |= x509.KeyUsageCertSign }),
			key, "batch certificate: Basic Constraints has CA=true, want CA=false"},
		{"AAGUID missing", tmpl(20, func(c *x509.Certificate) { c.ExtraExtensions = nil }),
			key, "batch certificate: no AAGUID extension (id-fido-gen-ce-aaguid"},
		{"AAGUID critical", tmpl(21, func(c *x509.Certificate) { c.ExtraExtensions = critical }),
			key, "batch certificate: AAGUID extension is marked critical"},
		{"AAGUID of another model", tmpl(22, func(c *x509.Certificate) { c.ExtraExtensions = wrongExt }),
			key, "batch certificate: AAGUID is 5f0f1e2d-3c4b-5a69-7887-96a5b4c3d2e0, want 5f0f1e2d-3c4b-5a69-7887-96a5b4c3d2e1 (the profile's)"},
		{"P-384 key", goodBatchTemplate(t, 23), p384, "batch certificate: public key: unsupported ECDSA curve P-384"},
	}
	for _, tt := range ruleCases {
		t.Run(tt.name, func(t *testing.T) {
			chain, keyPEM := craftedBatch(t, ca, tt.template, tt.key)
			b, err := ImportBatch(chain, keyPEM, testAAGUID)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ImportBatch = %v, %v; want error containing %q", b, err, tt.want)
			}
			var mismatch *AAGUIDMismatchError
			if isMismatch := errors.As(err, &mismatch); isMismatch != (tt.name == "AAGUID of another model") {
				t.Errorf("errors.As(%v, *AAGUIDMismatchError) = %v", err, isMismatch)
			} else if isMismatch && mismatch.Profile != testAAGUID {
				t.Errorf("AAGUIDMismatchError.Profile = %x, want %x", mismatch.Profile, testAAGUID)
			}
			t.Logf("%v", err)
		})
	}

	good, goodKey := craftedBatch(t, ca, goodBatchTemplate(t, 30), key)
	goodDER, _, err := issueCertificate(nil, goodBatchTemplate(t, 30), ca.Intermediate, key.Public(), ca.IntermediateKey)
	if err != nil {
		t.Fatal(err)
	}
	otherKeyPEM := func() []byte {
		der, _ := x509.MarshalPKCS8PrivateKey(otherKey)
		return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der})
	}()
	// A root that allows no intermediate, and a chain that has one.
	strictRoot := &x509.Certificate{
		SerialNumber: big.NewInt(40), RawSubject: ca.Root.RawSubject, NotBefore: ca.Root.NotBefore, NotAfter: ca.Root.NotAfter,
		KeyUsage: x509.KeyUsageCertSign, BasicConstraintsValid: true, IsCA: true, MaxPathLenZero: true, SubjectKeyId: ca.Root.SubjectKeyId,
	}
	strictRootDER, _, err := issueCertificate(nil, strictRoot, strictRoot, ca.RootKey.Public(), ca.RootKey)
	if err != nil {
		t.Fatal(err)
	}
	v1DER := asVersion1(t, goodDER, ca.IntermediateKey)
	if c, err := x509.ParseCertificate(v1DER); err != nil || c.Version != 1 {
		t.Fatalf("crafting a v1 certificate: %v", err)
	}
	chainCases := []struct {
		name       string
		chain, key []byte
		want       string
	}{
		{"key of another batch", good, otherKeyPEM, "key does not match the batch certificate's public key"},
		{"two keys", good, append(bytes.Clone(goodKey), otherKeyPEM...), "key file holds 2 keys, want 1"},
		{"no key", good, []byte("nothing"), "key: no PEM data found"},
		{"no certificates", []byte(""), goodKey, "certificate chain: no PEM data found"},
		{"garbage certificate", pemOf([]byte("junk")), goodKey, "certificate chain: certificate 0"},
		{"batch certificate alone", pemOf(goodDER), goodKey, "found 1 certificate, want the batch certificate followed by"},
		{"root missing", pemOf(goodDER, ca.Intermediate.Raw), goodKey, `certificate 1 (CN="Attestation Intermediate CA") is not a self-signed root`},
		{"intermediate missing", pemOf(goodDER, ca.Root.Raw), goodKey, `certificate 0 (CN="HW Batch 7") is not issued by certificate 1 (CN="Attestation Root CA")`},
		{"out of order", pemOf(goodDER, ca.Root.Raw, ca.Intermediate.Raw), goodKey, "is not issued by certificate 1"},
		{"another CA's intermediate", pemOf(goodDER, other.Intermediate.Raw, other.Root.Raw), goodKey, "is not signed by certificate 1"},
		{"path length exceeded", pemOf(goodDER, ca.Intermediate.Raw, strictRootDER), goodKey, "allows 0 CA certificates below it, the chain has 1"},
		{"version 1", pemOf(v1DER, ca.Intermediate.Raw, ca.Root.Raw), goodKey, "batch certificate: version is 1, want 3"},
	}
	for _, tt := range chainCases {
		t.Run(tt.name, func(t *testing.T) {
			b, err := ImportBatch(tt.chain, tt.key, testAAGUID)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("ImportBatch = %v, %v; want error containing %q", b, err, tt.want)
			}
			t.Logf("%v", err)
		})
	}
}

// FuzzImportBatch checks that no input makes ImportBatch panic, and that
// whatever it accepts is a batch whose key its certificate certifies.
func FuzzImportBatch(f *testing.F) {
	ca, err := NewCA(seeded(70), testNow(), "Fuzz")
	if err != nil {
		f.Fatal(err)
	}
	b, err := ca.IssueBatch(seeded(71), testNow(), testAAGUID, BatchOptions{})
	if err != nil {
		f.Fatal(err)
	}
	chain, key, err := b.MarshalPEM()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(chain, key)
	f.Add(chain[:len(chain)/2], key)
	f.Add([]byte("-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n"), key)
	f.Fuzz(func(t *testing.T, chain, key []byte) {
		b, err := ImportBatch(chain, key, testAAGUID)
		if err != nil {
			return
		}
		leaf, err := x509.ParseCertificate(b.Chain[0])
		if err != nil || !publicKeyEqual(b.Key.Public(), leaf.PublicKey) {
			t.Fatalf("accepted a batch whose key is not its certificate's: %v", err)
		}
	})
}

// FuzzParseCAPEM checks that no input makes ParseCAPEM panic.
func FuzzParseCAPEM(f *testing.F) {
	ca, err := NewCA(seeded(72), testNow(), "Fuzz")
	if err != nil {
		f.Fatal(err)
	}
	certs, keys, err := ca.MarshalPEM()
	if err != nil {
		f.Fatal(err)
	}
	f.Add(certs, keys)
	f.Add(keys, certs)
	f.Fuzz(func(t *testing.T, certs, keys []byte) {
		ca, err := ParseCAPEM(certs, keys)
		if err != nil {
			return
		}
		if ca.RootKey == nil || ca.IntermediateKey == nil || ca.Intermediate.CheckSignatureFrom(ca.Root) != nil {
			t.Fatal("accepted an incomplete CA")
		}
	})
}

package attestation

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"

	"github.com/google/go-tpm/tpm2"

	"github.com/softkeydev/softkey/ctap2"
)

// decodedTPM is a tpm attStmt taken apart.
type decodedTPM struct {
	stmt    tpmStmt
	pub     *tpm2.TPMTPublic
	attest  *tpm2.TPMSAttest
	certify *tpm2.TPMSCertifyInfo
}

func decodeTPM(t *testing.T, st Statement) decodedTPM {
	t.Helper()
	if st.Format != "tpm" {
		t.Fatalf("Format = %q, want tpm", st.Format)
	}
	var d decodedTPM
	if err := ctap2.Unmarshal(st.Stmt, &d.stmt); err != nil {
		t.Fatalf("decoding attStmt: %v", err)
	}
	var members map[string]ctap2.RawMessage
	if err := ctap2.Unmarshal(st.Stmt, &members); err != nil || len(members) != 6 {
		t.Fatalf("attStmt has %d members (%v), want 6", len(members), err)
	}
	again, err := ctap2.Marshal(d.stmt)
	if err != nil || !bytes.Equal(again, st.Stmt) {
		t.Fatalf("attStmt does not re-encode to itself: %v", err)
	}
	if d.pub, err = tpm2.Unmarshal[tpm2.TPMTPublic](d.stmt.PubArea); err != nil {
		t.Fatalf("parsing pubArea: %v", err)
	}
	if !bytes.Equal(tpm2.Marshal(d.pub), d.stmt.PubArea) {
		t.Fatal("pubArea has trailing bytes")
	}
	if d.attest, err = tpm2.Unmarshal[tpm2.TPMSAttest](d.stmt.CertInfo); err != nil {
		t.Fatalf("parsing certInfo: %v", err)
	}
	if !bytes.Equal(tpm2.Marshal(d.attest), d.stmt.CertInfo) {
		t.Fatal("certInfo has trailing bytes")
	}
	if d.certify, err = d.attest.Attested.Certify(); err != nil {
		t.Fatalf("certInfo.attested: %v", err)
	}
	return d
}

// checkTPMCommon checks what WebAuthn L3 §8.3's verification procedure
// checks, given the statement's hash.
func checkTPMCommon(t *testing.T, d decodedTPM, authData, cdh []byte, hash crypto.Hash) {
	t.Helper()
	if d.stmt.Ver != "2.0" {
		t.Errorf("ver = %q", d.stmt.Ver)
	}
	if err := d.attest.Magic.Check(); err != nil {
		t.Error(err)
	}
	if d.attest.Type != tpm2.TPMSTAttestCertify {
		t.Errorf("type = %v, want TPM_ST_ATTEST_CERTIFY", d.attest.Type)
	}
	h := hash.New()
	h.Write(authData)
	h.Write(cdh)
	if !bytes.Equal(d.attest.ExtraData.Buffer, h.Sum(nil)) {
		t.Errorf("extraData = %x, want %v(authData ‖ clientDataHash)", d.attest.ExtraData.Buffer, hash)
	}
	name := sha256.Sum256(d.stmt.PubArea)
	if want := append([]byte{0x00, 0x0b}, name[:]...); !bytes.Equal(d.certify.Name.Buffer, want) {
		t.Errorf("attested.name = %x, want %x", d.certify.Name.Buffer, want)
	}
	for what, qn := range map[string][]byte{"qualifiedSigner": d.attest.QualifiedSigner.Buffer, "qualifiedName": d.certify.QualifiedName.Buffer} {
		if len(qn) != 34 || qn[0] != 0x00 || qn[1] != 0x0b {
			t.Errorf("%s = %x, want a SHA-256 name", what, qn)
		}
	}
	if !d.attest.ClockInfo.Safe {
		t.Error("clockInfo.safe is NO")
	}
	if a := d.pub.ObjectAttributes; !a.FixedTPM || !a.FixedParent || !a.SensitiveDataOrigin || !a.SignEncrypt || a.Restricted || a.Decrypt || a.STClear {
		t.Errorf("objectAttributes = %+v, want an unrestricted TPM-made signing key", a)
	}
	if d.pub.NameAlg != tpm2.TPMAlgSHA256 {
		t.Errorf("nameAlg = %v", d.pub.NameAlg)
	}
}

func TestTPMES256(t *testing.T) {
	f, err := formatFixtures()
	if err != nil {
		t.Fatal(err)
	}
	cred := newCredentials(t)[0]
	authData := makeAuthData(t, cred, testAAGUID, []byte("tpm-cred"))
	cdh := clientDataHash("tpm es256")
	info := TPMInfo{Clock: 0x0102030405060708, ResetCount: 9, RestartCount: 10, FirmwareVersion: 0x0001000200030004}
	st, err := TPM(authData, cdh, cred.key.Public(), cred.alg, f.ecAIK.Key, f.ecAIK.Chain[:2], info)
	if err != nil {
		t.Fatalf("TPM: %v", err)
	}
	d := decodeTPM(t, st)
	checkTPMCommon(t, d, authData, cdh, crypto.SHA256)
	if d.stmt.Alg != ctap2.AlgES256 {
		t.Errorf("alg = %v, want ES256", d.stmt.Alg)
	}
	// Canonical order alg, sig, ver, x5c, pubArea, certInfo.
	var order []string
	for _, k := range []string{"alg", "sig", "ver", "x5c", "pubArea", "certInfo"} {
		order = append(order, k)
		if !bytes.Contains(st.Stmt, append([]byte{0x60 | byte(len(k))}, k...)) {
			t.Errorf("member %q missing", k)
		}
	}
	last := -1
	for _, k := range order {
		at := bytes.Index(st.Stmt, append([]byte{0x60 | byte(len(k))}, k...))
		if at < last {
			t.Errorf("member %q out of canonical order", k)
		}
		last = at
	}

	// pubArea, byte for byte (TPM 2.0 Part 2 §12.2.4, tpm-and-attestation §3.3).
	point, _ := cred.key.Public().(*ecdsa.PublicKey).Bytes()
	wantPub := "0023" + "000b" + "00040472" + "0000" + "0010" + "0010" + "0003" + "0010" +
		"0020" + hex.EncodeToString(point[1:33]) + "0020" + hex.EncodeToString(point[33:])
	if got := hex.EncodeToString(d.stmt.PubArea); got != wantPub {
		t.Errorf("pubArea =\n%s\nwant\n%s", got, wantPub)
	}
	// certInfo: magic, type, qualifiedSigner, extraData, clockInfo, firmwareVersion, attested.
	if len(d.stmt.CertInfo) != 4+2+36+34+17+8+36+36 {
		t.Errorf("certInfo is %d bytes", len(d.stmt.CertInfo))
	}
	if !bytes.HasPrefix(d.stmt.CertInfo, []byte{0xff, 0x54, 0x43, 0x47, 0x80, 0x17, 0x00, 0x22, 0x00, 0x0b}) {
		t.Errorf("certInfo starts %x", d.stmt.CertInfo[:10])
	}
	if c := d.attest.ClockInfo; c.Clock != info.Clock || c.ResetCount != 9 || c.RestartCount != 10 || d.attest.FirmwareVersion != info.FirmwareVersion {
		t.Errorf("clockInfo %+v, firmwareVersion %x", c, d.attest.FirmwareVersion)
	}
	digest := sha256.Sum256(d.stmt.CertInfo)
	if !ecdsa.VerifyASN1(f.ecAIK.Key.Public().(*ecdsa.PublicKey), digest[:], d.stmt.Sig) || !isDERECDSASignature(d.stmt.Sig) {
		t.Error("sig is not a DER ECDSA signature over certInfo by the AIK")
	}
	if len(d.stmt.X5C) != 2 || !bytes.Equal(d.stmt.X5C[0], f.ecAIK.Chain[0]) {
		t.Error("x5c is not the AIK chain")
	}
	again, err := TPM(authData, cdh, cred.key.Public(), cred.alg, f.ecAIK.Key, f.ecAIK.Chain[:2], info)
	if err != nil || !bytes.Equal(again.Stmt, st.Stmt) {
		t.Errorf("TPM is not deterministic: %v", err)
	}
}

func TestTPMRSA(t *testing.T) {
	f, err := formatFixtures()
	if err != nil {
		t.Fatal(err)
	}
	cred := newCredentials(t)[2]
	rsaPub := cred.key.Public().(*rsa.PublicKey)
	authData := makeAuthData(t, cred, testAAGUID, []byte("tpm-cred"))
	cdh := clientDataHash("tpm rs256")
	aikPub := f.rsaAIK.Key.Public().(*rsa.PublicKey)

	t.Run("RS256", func(t *testing.T) {
		st, err := TPM(authData, cdh, rsaPub, cred.alg, f.rsaAIK.Key, f.rsaAIK.Chain[:2], TPMInfo{})
		if err != nil {
			t.Fatalf("TPM: %v", err)
		}
		d := decodeTPM(t, st)
		checkTPMCommon(t, d, authData, cdh, crypto.SHA256)
		if d.stmt.Alg != ctap2.AlgRS256 {
			t.Errorf("alg = %v, want RS256", d.stmt.Alg)
		}
		params, err := d.pub.Parameters.RSADetail()
		if err != nil {
			t.Fatal(err)
		}
		modulus, err := d.pub.Unique.RSA()
		if err != nil {
			t.Fatal(err)
		}
		if params.KeyBits != 2048 || params.Exponent != 0 || params.Scheme.Scheme != tpm2.TPMAlgNull || params.Symmetric.Algorithm != tpm2.TPMAlgNull {
			t.Errorf("RSA parameters = %+v, want 2048 bits, exponent 0 (65537), NULL schemes", params)
		}
		if !bytes.Equal(modulus.Buffer, rsaPub.N.Bytes()) {
			t.Error("unique is not the credential modulus")
		}
		if len(d.stmt.PubArea) != 2+2+4+2+10+2+256 {
			t.Errorf("pubArea is %d bytes", len(d.stmt.PubArea))
		}
		digest := sha256.Sum256(d.stmt.CertInfo)
		if err := rsa.VerifyPKCS1v15(aikPub, crypto.SHA256, digest[:], d.stmt.Sig); err != nil {
			t.Errorf("sig: %v", err)
		}
	})

	t.Run("RS1 with authPolicy", func(t *testing.T) {
		policy := windowsHelloPolicy()
		st, err := TPM(authData, cdh, rsaPub, cred.alg, f.rsaAIK.Key, f.rsaAIK.Chain[:1], TPMInfo{AIKAlg: AlgRS1, AuthPolicy: policy})
		if err != nil {
			t.Fatalf("TPM: %v", err)
		}
		d := decodeTPM(t, st)
		checkTPMCommon(t, d, authData, cdh, crypto.SHA1)
		if d.stmt.Alg != -65535 {
			t.Errorf("alg = %v, want -65535", d.stmt.Alg)
		}
		if !bytes.Equal(d.pub.AuthPolicy.Buffer, policy) {
			t.Errorf("authPolicy = %x, want %x", d.pub.AuthPolicy.Buffer, policy)
		}
		if len(d.attest.ExtraData.Buffer) != sha1.Size {
			t.Errorf("extraData is %d bytes, want SHA-1", len(d.attest.ExtraData.Buffer))
		}
		digest := sha1.Sum(d.stmt.CertInfo)
		if err := rsa.VerifyPKCS1v15(aikPub, crypto.SHA1, digest[:], d.stmt.Sig); err != nil {
			t.Errorf("sig: %v", err)
		}
	})
}

func TestTPMRejects(t *testing.T) {
	f, err := formatFixtures()
	if err != nil {
		t.Fatal(err)
	}
	creds := newCredentials(t)
	es, ed, rs := creds[0], creds[1], creds[2]
	authData := makeAuthData(t, es, testAAGUID, []byte("id"))
	rsAuthData := makeAuthData(t, rs, testAAGUID, []byte("id"))
	cdh := clientDataHash("tpm rejects")
	chain := f.ecAIK.Chain[:2]
	small, err := rsa.GenerateKey(seeded(50), 1024)
	if err != nil {
		t.Fatal(err)
	}
	smallAuthData := makeAuthData(t, credential{ctap2.AlgRS256, small}, testAAGUID, []byte("id"))
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	noAttested := append([]byte(nil), authData[:minAuthDataSize]...)
	noAttested[32] &^= byte(ctap2.FlagAT)
	for _, tt := range []struct {
		name     string
		authData []byte
		cred     credential
		aik      crypto.Signer
		chain    [][]byte
		info     TPMInfo
		want     string
	}{
		{"EdDSA credential", makeAuthData(t, ed, testAAGUID, []byte("id")), ed, f.ecAIK.Key, chain, TPMInfo{}, "credential algorithm EdDSA has no TPM key type"},
		{"credential differs from authData", authData, credential{ctap2.AlgES256, f.ecAIK.Key}, f.ecAIK.Key, chain, TPMInfo{}, "credential key is not the one in authenticator data"},
		{"ES256 credential, RS256 alg", authData, credential{ctap2.AlgRS256, es.key}, f.ecAIK.Key, chain, TPMInfo{}, "want an RSA key"},
		{"1024-bit RSA credential", smallAuthData, credential{ctap2.AlgRS256, small}, f.ecAIK.Key, chain, TPMInfo{}, "credential key has 1024 bits"},
		{"no attested data", noAttested, es, f.ecAIK.Key, chain, TPMInfo{}, "no attested credential data"},
		{"short client data hash", authData, es, f.ecAIK.Key, chain, TPMInfo{}, ""},
		{"no AIK", authData, es, nil, chain, TPMInfo{}, "no AIK"},
		{"no chain", authData, es, f.ecAIK.Key, nil, TPMInfo{}, "empty AIK certificate chain"},
		{"empty certificate", authData, es, f.ecAIK.Key, [][]byte{chain[0], {}}, TPMInfo{}, "certificate 1 of the AIK chain is empty"},
		{"RS1 with an EC AIK", authData, es, f.ecAIK.Key, chain, TPMInfo{AIKAlg: AlgRS1}, "RS1 needs an RSA key"},
		{"ES256 with an RSA AIK", rsAuthData, rs, f.rsaAIK.Key, chain, TPMInfo{AIKAlg: ctap2.AlgES256}, "ES256 needs a P-256 ECDSA key"},
		{"EdDSA AIK alg", authData, es, f.ecAIK.Key, chain, TPMInfo{AIKAlg: ctap2.AlgEdDSA}, "not one a TPM attestation key signs with"},
		{"P-384 AIK", authData, es, p384, chain, TPMInfo{}, "unsupported ECDSA curve P-384"},
		{"20-byte authPolicy", authData, es, f.ecAIK.Key, chain, TPMInfo{AuthPolicy: make([]byte, 20)}, "authPolicy is 20 bytes"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			c := cdh
			if tt.want == "" {
				c, tt.want = cdh[:31], "client data hash is 31 bytes"
			}
			st, err := TPM(tt.authData, c, tt.cred.key.Public(), tt.cred.alg, tt.aik, tt.chain, tt.info)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("TPM = %+v, %v; want error containing %q", st, err, tt.want)
			}
		})
	}
}

// TestTPMOtherGenerators checks the TPMInfo fields that reproduce other
// generators' statements: each changes its own bytes and no other.
func TestTPMOtherGenerators(t *testing.T) {
	f, err := formatFixtures()
	if err != nil {
		t.Fatal(err)
	}
	cred := newCredentials(t)[0]
	authData := makeAuthData(t, cred, testAAGUID, []byte("tpm-cred"))
	cdh := clientDataHash("tpm other generators")
	base := TPMInfo{Clock: 7, ResetCount: 8, RestartCount: 9, FirmwareVersion: 10}
	build := func(t *testing.T, info TPMInfo) tpmStmt {
		t.Helper()
		st, err := TPM(authData, cdh, cred.key.Public(), cred.alg, f.ecAIK.Key, f.ecAIK.Chain[:1], info)
		if err != nil {
			t.Fatalf("TPM(%+v): %v", info, err)
		}
		var s tpmStmt
		if err := ctap2.Unmarshal(st.Stmt, &s); err != nil {
			t.Fatalf("decoding attStmt: %v", err)
		}
		digest := sha256.Sum256(s.CertInfo)
		if !ecdsa.VerifyASN1(f.ecAIK.Key.Public().(*ecdsa.PublicKey), digest[:], s.Sig) {
			t.Error("sig does not verify over certInfo")
		}
		return s
	}
	def := build(t, base)
	// safe sits after magic, type, qualifiedSigner (2+34), extraData
	// (2+32), clock, resetCount and restartCount.
	const safeAt = 4 + 2 + 36 + 34 + 16
	if def.CertInfo[safeAt] != 1 {
		t.Fatalf("default clockInfo.safe = %#02x, want YES", def.CertInfo[safeAt])
	}

	t.Run("ObjectAttributes", func(t *testing.T) {
		for _, attrs := range []uint32{0x00040000, 0x00040472, 0x80040002} {
			info := base
			info.ObjectAttributes = attrs
			s := build(t, info)
			want := append([]byte(nil), def.PubArea...)
			binary.BigEndian.PutUint32(want[4:8], attrs)
			if !bytes.Equal(s.PubArea, want) {
				t.Errorf("ObjectAttributes %#08x: pubArea =\n%x\nwant\n%x", attrs, s.PubArea, want)
			}
			name := sha256.Sum256(want)
			if !bytes.Contains(s.CertInfo, name[:]) {
				t.Errorf("ObjectAttributes %#08x: attested.name is not the Name of pubArea", attrs)
			}
		}
	})

	t.Run("OmitQualifiedNames", func(t *testing.T) {
		info := base
		info.OmitQualifiedNames = true
		s := build(t, info)
		if !bytes.Equal(s.PubArea, def.PubArea) {
			t.Error("pubArea changed")
		}
		// Default: qualifiedSigner at 6, attested.qualifiedName last.
		want := bytes.Join([][]byte{def.CertInfo[:6], {0, 0}, def.CertInfo[6+36 : len(def.CertInfo)-36], {0, 0}}, nil)
		if !bytes.Equal(s.CertInfo, want) {
			t.Errorf("certInfo =\n%x\nwant\n%x", s.CertInfo, want)
		}
	})

	t.Run("ClockSafe", func(t *testing.T) {
		for _, safe := range []uint8{0, 1, 0x33} {
			info := base
			info.ClockSafe = &safe
			s := build(t, info)
			want := append([]byte(nil), def.CertInfo...)
			want[safeAt] = safe
			if !bytes.Equal(s.CertInfo, want) {
				t.Errorf("ClockSafe %#02x: certInfo =\n%x\nwant\n%x", safe, s.CertInfo, want)
			}
			info.OmitQualifiedNames = true
			// Without qualifiedSigner's 34 bytes, safe moves up.
			if s := build(t, info); s.CertInfo[safeAt-34] != safe {
				t.Errorf("ClockSafe %#02x without qualified names: safe = %#02x", safe, s.CertInfo[safeAt-34])
			}
		}
	})
}

package u2f

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"errors"
	"math/big"
	"testing"
	"time"
)

func fill(b byte) (a [32]byte) {
	for i := range a {
		a[i] = b
	}
	return a
}

func TestRegisterRequest(t *testing.T) {
	ch, app := fill(0x11), fill(0x22)
	data := EncodeRegisterRequest(ch, app)
	if len(data) != 64 || data[0] != 0x11 || data[32] != 0x22 {
		t.Fatalf("EncodeRegisterRequest = %x; want challenge then application", data)
	}
	gotCh, gotApp, err := ParseRegisterRequest(data)
	if err != nil || gotCh != ch || gotApp != app {
		t.Fatalf("ParseRegisterRequest = %x, %x, %v", gotCh, gotApp, err)
	}
	for _, n := range []int{0, 63, 65} {
		_, _, err := ParseRegisterRequest(make([]byte, n))
		if !errors.Is(err, SWWrongLength) {
			t.Errorf("ParseRegisterRequest(%d bytes) = %v, want SW_WRONG_LENGTH", n, err)
		}
	}
}

func TestAuthenticateRequest(t *testing.T) {
	ch, app := fill(0x11), fill(0x22)
	for _, n := range []int{0, 1, 64, 255} {
		kh := bytes.Repeat([]byte{0x33}, n)
		data, err := EncodeAuthenticateRequest(ch, app, kh)
		if err != nil {
			t.Fatalf("EncodeAuthenticateRequest(%d-byte key handle): %v", n, err)
		}
		if len(data) != 65+n || data[64] != byte(n) {
			t.Fatalf("EncodeAuthenticateRequest = %x", data)
		}
		gotCh, gotApp, gotKH, err := ParseAuthenticateRequest(data)
		if err != nil || gotCh != ch || gotApp != app || !bytes.Equal(gotKH, kh) {
			t.Fatalf("ParseAuthenticateRequest = %x, %x, %x, %v", gotCh, gotApp, gotKH, err)
		}
		if n > 0 {
			data[65] ^= 0xff
			if gotKH[0] != 0x33 {
				t.Error("key handle aliases the input")
			}
		}
	}
	if _, err := EncodeAuthenticateRequest(ch, app, make([]byte, 256)); err == nil {
		t.Error("EncodeAuthenticateRequest accepted a 256-byte key handle")
	}

	base, _ := EncodeAuthenticateRequest(ch, app, []byte{1, 2, 3})
	bad := map[string][]byte{
		"empty":                nil,
		"no length byte":       base[:64],
		"length says more":     base[:len(base)-1],
		"length says less":     append(bytes.Clone(base), 0),
		"length 255, 3 bytes":  append(append(bytes.Clone(base[:64]), 0xff), 1, 2, 3),
		"length 0, one byte":   append(bytes.Clone(base[:64]), 0, 9),
		"just the length byte": append(make([]byte, 64), 1),
	}
	for name, data := range bad {
		_, _, kh, err := ParseAuthenticateRequest(data)
		if !errors.Is(err, SWWrongLength) {
			t.Errorf("%s: ParseAuthenticateRequest(%x) = %x, %v; want SW_WRONG_LENGTH", name, data, kh, err)
		}
	}
}

// testCert issues a throwaway self-signed P-256 certificate.
func testCert(t testing.TB, key *ecdsa.PrivateKey) []byte {
	t.Helper()
	der, err := x509.CreateCertificate(nil, &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "U2F test attestation"},
		NotBefore:    time.Unix(0, 0),
		NotAfter:     time.Unix(1<<31, 0),
	}, &x509.Certificate{Subject: pkix.Name{CommonName: "U2F test attestation"}}, &key.PublicKey, key)
	if err != nil {
		t.Fatalf("creating certificate: %v", err)
	}
	return der
}

func TestRegisterResponseRoundTrip(t *testing.T) {
	att, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	user, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	pub, _ := user.PublicKey.Bytes()
	kh := bytes.Repeat([]byte{0x4b}, 96)
	cert := testCert(t, att)
	ch, app := fill(1), fill(2)
	res := &RegisterResult{UserPublicKey: pub, KeyHandle: kh}
	digest := sha256.Sum256(res.SignedData(ch, app))
	sig, err := ecdsa.SignASN1(nil, att, digest[:])
	if err != nil {
		t.Fatal(err)
	}

	data, err := RegisterResponse(pub, kh, cert, sig)
	if err != nil {
		t.Fatalf("RegisterResponse: %v", err)
	}
	if data[0] != 0x05 || !bytes.Equal(data[1:66], pub) || data[66] != byte(len(kh)) {
		t.Fatalf("RegisterResponse layout wrong: %x", data[:68])
	}
	got, err := ParseRegisterResponse(data)
	if err != nil {
		t.Fatalf("ParseRegisterResponse: %v", err)
	}
	if !bytes.Equal(got.UserPublicKey, pub) || !bytes.Equal(got.KeyHandle, kh) ||
		!bytes.Equal(got.AttestationCert, cert) || !bytes.Equal(got.Signature, sig) {
		t.Fatalf("ParseRegisterResponse = %+v", got)
	}
	parsed, err := x509.ParseCertificate(got.AttestationCert)
	if err != nil {
		t.Fatalf("parsing returned certificate: %v", err)
	}
	digest = sha256.Sum256(got.SignedData(ch, app))
	if !ecdsa.VerifyASN1(parsed.PublicKey.(*ecdsa.PublicKey), digest[:], got.Signature) {
		t.Error("signature over SignedData does not verify")
	}

	encErr := []struct {
		name               string
		pub, kh, cert, sig []byte
	}{
		{"short public key", pub[:64], kh, cert, sig},
		{"compressed public key", append([]byte{0x02}, pub[1:]...), kh, cert, sig},
		{"empty key handle", pub, nil, cert, sig},
		{"256-byte key handle", pub, make([]byte, 256), cert, sig},
		{"no certificate", pub, kh, nil, sig},
		{"no signature", pub, kh, cert, nil},
	}
	for _, tt := range encErr {
		if got, err := RegisterResponse(tt.pub, tt.kh, tt.cert, tt.sig); err == nil {
			t.Errorf("%s: RegisterResponse = %x, want an error", tt.name, got)
		}
	}

	parseErr := map[string][]byte{
		"empty":                nil,
		"reserved byte 0x04":   append([]byte{0x04}, data[1:]...),
		"truncated public key": data[:40],
		"public key not 04":    append([]byte{0x05, 0x02}, data[2:]...),
		"zero key handle":      append(append(bytes.Clone(data[:66]), 0), cert...),
		"truncated cert":       data[:67+len(kh)+len(cert)-1],
		"no signature":         data[:67+len(kh)+len(cert)],
		"signature trailing":   append(bytes.Clone(data), 0),
		"signature not DER":    append(bytes.Clone(data[:67+len(kh)+len(cert)]), bytes.Repeat([]byte{1}, 64)...),
	}
	for name, d := range parseErr {
		if got, err := ParseRegisterResponse(d); err == nil {
			t.Errorf("%s: ParseRegisterResponse = %+v, want an error", name, got)
		}
	}
}

func TestAuthenticateResponseRoundTrip(t *testing.T) {
	sig := []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x02}
	data := AuthenticateResponse(UserPresent, 0x01020304, sig)
	if want := append([]byte{0x01, 0x01, 0x02, 0x03, 0x04}, sig...); !bytes.Equal(data, want) {
		t.Fatalf("AuthenticateResponse = %x, want %x", data, want)
	}
	got, err := ParseAuthenticateResponse(data)
	if err != nil || got.UserPresence != UserPresent || got.Counter != 0x01020304 || !bytes.Equal(got.Signature, sig) {
		t.Fatalf("ParseAuthenticateResponse = %+v, %v", got, err)
	}
	ch, app := fill(7), fill(8)
	signed := got.SignedData(ch, app)
	if len(signed) != 69 || signed[0] != 8 || signed[32] != UserPresent || signed[36] != 0x04 || signed[37] != 7 {
		t.Errorf("SignedData = %x; want application | presence | counter | challenge", signed)
	}
	for name, d := range map[string][]byte{
		"empty":           nil,
		"no counter":      {0x01, 0x00},
		"no signature":    data[:5],
		"trailing byte":   append(bytes.Clone(data), 0),
		"not a SEQUENCE":  append(bytes.Clone(data[:5]), 0x04, 0x00),
		"truncated value": data[:len(data)-1],
	} {
		if got, err := ParseAuthenticateResponse(d); err == nil {
			t.Errorf("%s: ParseAuthenticateResponse = %+v, want an error", name, got)
		}
	}
}

func TestStatusFraming(t *testing.T) {
	data := []byte("U2F_V2")
	resp := WithStatus(data[:3:3], SWConditionsNotSatisfied)
	if !bytes.Equal(resp, []byte{'U', '2', 'F', 0x69, 0x85}) {
		t.Fatalf("WithStatus = %x", resp)
	}
	if !bytes.Equal(data, []byte("U2F_V2")) {
		t.Error("WithStatus modified its input")
	}
	got, sw, err := SplitStatus(WithStatus(data, SWNoError))
	if err != nil || sw != SWNoError || !bytes.Equal(got, data) {
		t.Fatalf("SplitStatus = %q, %v, %v", got, sw, err)
	}
	if got, sw, err := SplitStatus([]byte{0x6a, 0x80}); err != nil || sw != SWWrongData || len(got) != 0 {
		t.Fatalf("SplitStatus(6a80) = %x, %v, %v", got, sw, err)
	}
	for _, resp := range [][]byte{nil, {0x90}} {
		if _, _, err := SplitStatus(resp); err == nil {
			t.Errorf("SplitStatus(%x) succeeded", resp)
		}
	}
}

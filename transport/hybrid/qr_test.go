package hybrid

import (
	"crypto/ecdh"
	"encoding/hex"
	"errors"
	"strings"
	"testing"
	"time"
)

// The §10.3 transcript's QR code.
const (
	transcriptPubCompressed   = "0250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce51863"
	transcriptPubUncompressed = "0450b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce5186373d971c315ef6100bda95d6ebbc55e494aae4c4e421e6b59b1637a4cff3fa8be"
	transcriptQRCBOR          = "a60058210250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce518630150101112131415161718191a1b1c1d1e1f0202031a6553f10004f505626761"
	transcriptQRURI           = "FIDO:/507534658874902144890520810253271960412876791035912279736227586515506461231345404432305085311340208920070633618515609790059716415128245800265340480783106107096654083332"
	// chromiumPoint is the compressed point of Chromium's KnownQRs table
	// (v2_handshake_unittest.cc, §10.1).
	chromiumPoint = "03364c15eec34331d2865757421d497e569e1eba6cff9a69d32e90f19e7f6fd15e"
)

func transcriptQR(t testing.TB) *QR {
	q := &QR{
		PublicKey:       [CompressedKeySize]byte(unhex(t, transcriptPubCompressed)),
		Secret:          [QRSecretSize]byte(unhex(t, transcriptSecret)),
		KnownDomains:    2,
		Time:            time.Unix(1700000000, 0),
		SupportsLinking: true,
		RequestType:     GetAssertion,
	}
	return q
}

func TestQRTranscript(t *testing.T) {
	q := transcriptQR(t)
	b, err := q.MarshalCBOR()
	if err != nil || hex.EncodeToString(b) != transcriptQRCBOR {
		t.Errorf("MarshalCBOR() = %x, %v\nwant %s", b, err, transcriptQRCBOR)
	}
	if got := q.URI(); got != transcriptQRURI {
		t.Errorf("URI() = %s\nwant %s", got, transcriptQRURI)
	}
	got, err := ParseURI(transcriptQRURI)
	if err != nil {
		t.Fatalf("ParseURI failed: %v", err)
	}
	if got.URI() != transcriptQRURI || got.PublicKey != q.PublicKey || got.Secret != q.Secret ||
		got.KnownDomains != 2 || !got.Time.Equal(q.Time) || !got.SupportsLinking || got.RequestType != GetAssertion {
		t.Errorf("ParseURI = %+v, want %+v", got, q)
	}
	k, err := got.IdentityKey()
	if err != nil || hex.EncodeToString(k.Bytes()) != transcriptPubUncompressed {
		t.Errorf("IdentityKey() = %v, %v, want %s", k, err, transcriptPubUncompressed)
	}
	c, err := CompressPublicKey(k)
	if err != nil || c != q.PublicKey {
		t.Errorf("CompressPublicKey = %x, %v, want %x", c, err, q.PublicKey)
	}
	// Scanners may change the prefix's case (§3.1).
	for _, prefix := range []string{"fido:/", "Fido:/", "fIdO:/"} {
		if _, err := ParseURI(prefix + transcriptQRURI[len(URIPrefix):]); err != nil {
			t.Errorf("ParseURI with prefix %q: %v", prefix, err)
		}
	}
}

// qrCBOR builds a map from hex-encoded items, each a key and its value, in the order
// given.
func qrCBOR(t testing.TB, items ...string) string {
	t.Helper()
	if len(items) > 23 {
		t.Fatal("too many items")
	}
	return hex.EncodeToString([]byte{0xa0 | byte(len(items))}) + strings.Join(items, "")
}

func TestUnmarshalQR(t *testing.T) {
	const (
		k0  = "00" + "5821" + chromiumPoint
		k1  = "01" + "50" + zeroSecret
		k1s = "01" + "4f" + "000000000000000000000000000000"
		// x = 1 is not the x coordinate of a P-256 point; x = 2^256-1
		// is not a field element.
		badP = "00" + "5821" + "02" + "0000000000000000000000000000000000000000000000000000000000000001"
		badX = "00" + "5821" + "03" + "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
	)
	valid := []struct {
		name string
		cbor string
		want QR
	}{
		{"minimal", qrCBOR(t, k0, k1), QR{}},
		{"Chrome", qrCBOR(t, k0, k1, "0202", "031a6553f100", "04f5", "05626d63"),
			QR{KnownDomains: 2, Time: time.Unix(1700000000, 0), SupportsLinking: true, RequestType: MakeCredential}},
		{"Safari", qrCBOR(t, k0, k1, "0202", "031a6553f100", "04f4", "05626761"),
			QR{KnownDomains: 2, Time: time.Unix(1700000000, 0), RequestType: GetAssertion}},
		{"unknown request type kept", qrCBOR(t, k0, k1, "0563787878"), QR{RequestType: "xxx"}},
		{"dcp", qrCBOR(t, k0, k1, "0563646370"), QR{RequestType: DigitalCredentialPresentation}},
		{"key 6 bool ignored", qrCBOR(t, k0, k1, "06f5"), QR{}},
		{"key 6 array ignored", qrCBOR(t, k0, k1, "06820001"), QR{}},
		{"large key ignored", qrCBOR(t, k0, k1, "1903e7f5"), QR{}},
		{"key 2 zero", qrCBOR(t, k0, k1, "0200"), QR{}},
		{"key 2 large", qrCBOR(t, k0, k1, "021bffffffffffffffff"), QR{KnownDomains: 1<<64 - 1}},
	}
	for _, tc := range valid {
		t.Run(tc.name, func(t *testing.T) {
			tc.want.PublicKey = [CompressedKeySize]byte(unhex(t, chromiumPoint))
			got, err := UnmarshalQR(unhex(t, tc.cbor))
			if err != nil {
				t.Fatalf("UnmarshalQR(%s) failed: %v", tc.cbor, err)
			}
			if got.PublicKey != tc.want.PublicKey || got.Secret != tc.want.Secret || got.KnownDomains != tc.want.KnownDomains ||
				!got.Time.Equal(tc.want.Time) || got.SupportsLinking != tc.want.SupportsLinking || got.RequestType != tc.want.RequestType {
				t.Errorf("UnmarshalQR(%s) = %+v, want %+v", tc.cbor, got, tc.want)
			}
		})
	}
	// Shipping browsers' maps (keys 0..5) re-encode byte for byte (§3.4).
	for _, name := range []string{"Chrome", "Safari"} {
		for _, tc := range valid {
			if tc.name != name {
				continue
			}
			q, _ := UnmarshalQR(unhex(t, tc.cbor))
			if b, err := q.MarshalCBOR(); err != nil || hex.EncodeToString(b) != tc.cbor {
				t.Errorf("%s: MarshalCBOR = %x, %v, want %s", name, b, err, tc.cbor)
			}
		}
	}

	invalid := []struct{ name, cbor string }{
		{"empty", ""},
		{"not a map", "80"},
		{"null", "f6"},
		{"empty map", "a0"},
		{"missing key 0", qrCBOR(t, k1)},
		{"missing key 1", qrCBOR(t, k0)},
		{"key 0 text", qrCBOR(t, "00"+"7821"+strings.Repeat("41", 33), k1)},
		{"key 0 short", qrCBOR(t, "00"+"5820"+chromiumPoint[2:], k1)},
		{"key 0 uncompressed", qrCBOR(t, "00"+"5841"+transcriptPubUncompressed, k1)},
		{"key 0 not on curve", qrCBOR(t, badP, k1)},
		{"key 0 x too large", qrCBOR(t, badX, k1)},
		{"key 0 bad prefix", qrCBOR(t, "00"+"5821"+"05"+chromiumPoint[2:], k1)},
		{"key 1 text", qrCBOR(t, k0, "01"+"70"+strings.Repeat("41", 16))},
		{"key 1 short", qrCBOR(t, k0, k1s)},
		{"key 1 long", qrCBOR(t, k0, "01"+"51"+zeroSecret+"00")},
		{"key 1 int", qrCBOR(t, k0, "0100")},
		{"key 2 negative", qrCBOR(t, k0, k1, "0220")},
		{"key 2 text", qrCBOR(t, k0, k1, "026132")},
		{"key 2 bool", qrCBOR(t, k0, k1, "02f5")},
		{"key 3 bytes", qrCBOR(t, k0, k1, "0341")},
		{"key 3 too large", qrCBOR(t, k0, k1, "031bffffffffffffffff")},
		{"key 4 int", qrCBOR(t, k0, k1, "0401")},
		{"key 4 null", qrCBOR(t, k0, k1, "04f6")},
		{"key 4 float", qrCBOR(t, k0, k1, "04f93c00")},
		{"key 5 bytes", qrCBOR(t, k0, k1, "05426761")},
		{"key 5 invalid UTF-8", qrCBOR(t, k0, k1, "0562ff61")},
		{"duplicate key", qrCBOR(t, k0, k1, k1)},
		{"text key", qrCBOR(t, k0, k1, "6178f5")},
		{"negative key", qrCBOR(t, k0, k1, "20f5")},
		{"trailing byte", qrCBOR(t, k0, k1) + "00"},
		{"truncated", qrCBOR(t, k0, k1)[:40]},
		{"indefinite map", "bf" + k0 + k1 + "ff"},
		{"tagged secret", qrCBOR(t, k0, "01"+"d840"+"50"+zeroSecret)},
	}
	for _, tc := range invalid {
		t.Run(tc.name, func(t *testing.T) {
			got, err := UnmarshalQR(unhex(t, tc.cbor))
			if !errors.Is(err, ErrInvalidQR) {
				t.Errorf("UnmarshalQR(%s) = %+v, %v, want an error wrapping ErrInvalidQR", tc.cbor, got, err)
			}
		})
	}
}

func TestParseURIRejects(t *testing.T) {
	digits := transcriptQRURI[len(URIPrefix):]
	tests := []struct {
		name, uri string
	}{
		{"empty", ""},
		{"prefix only", "FIDO:/"},
		{"short prefix", "FIDO:"},
		{"no slash", "FIDO:" + digits},
		{"double slash", "FIDO://" + digits},
		{"other scheme", "FIDX:/" + digits},
		{"leading space", " FIDO:/" + digits},
		{"trailing newline", transcriptQRURI + "\n"},
		{"trailing letter", transcriptQRURI + "a"},
		{"query", transcriptQRURI + "?x=1"},
		{"bad length", transcriptQRURI[:len(transcriptQRURI)-1]},
		{"chunk overflow", "FIDO:/99999999999999999" + digits[17:]},
		{"not a QR map", "FIDO:/" + EncodeDigits([]byte{0xa0})},
		{"digits of text", "FIDO:/" + EncodeDigits([]byte("hello"))},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := ParseURI(tc.uri)
			if !errors.Is(err, ErrInvalidQR) {
				t.Errorf("ParseURI(%q) = %+v, %v, want an error wrapping ErrInvalidQR", tc.uri, got, err)
			}
		})
	}
	// Digit errors stay inspectable.
	if _, err := ParseURI("FIDO:/1"); !errors.Is(err, ErrDigits) {
		t.Errorf("ParseURI(FIDO:/1) = %v, want an error wrapping ErrDigits", err)
	}
}

func TestQRRoundTrip(t *testing.T) {
	for range 20 {
		k, err := ecdh.P256().GenerateKey(nil)
		if err != nil {
			t.Fatal(err)
		}
		pub, err := CompressPublicKey(k.PublicKey())
		if err != nil {
			t.Fatal(err)
		}
		q := &QR{PublicKey: pub, Secret: [QRSecretSize]byte{1, 2, 3}, KnownDomains: 2, Time: time.Now(), SupportsLinking: true, RequestType: MakeCredential}
		got, err := ParseURI(q.URI())
		if err != nil {
			t.Fatalf("ParseURI(%s) failed: %v", q.URI(), err)
		}
		if got.URI() != q.URI() || !got.Time.Equal(q.Time.Truncate(time.Second)) {
			t.Errorf("round trip of %+v gave %+v", q, got)
		}
		back, err := got.IdentityKey()
		if err != nil || !back.Equal(k.PublicKey()) {
			t.Errorf("IdentityKey() = %v, %v, want %v", back, err, k.PublicKey())
		}
	}
	// Zero and negative times leave key 3 out.
	for _, tm := range []time.Time{{}, time.Unix(-1, 0)} {
		q := transcriptQR(t)
		q.Time = tm
		got, err := ParseURI(q.URI())
		if err != nil || !got.Time.IsZero() {
			t.Errorf("time %v: ParseURI = %+v, %v, want zero time", tm, got, err)
		}
	}
}

func TestCompressPublicKeyRejects(t *testing.T) {
	k, err := ecdh.X25519().GenerateKey(nil)
	if err != nil {
		t.Fatal(err)
	}
	if c, err := CompressPublicKey(k.PublicKey()); err == nil {
		t.Errorf("CompressPublicKey(X25519) = %x, want an error", c)
	}
}

func FuzzParseURI(f *testing.F) {
	f.Add(transcriptQRURI)
	f.Add("fido:/" + transcriptQRURI[len(URIPrefix):])
	f.Add("FIDO:/")
	f.Add("FIDO:/16736865")
	f.Add("FIDO:/" + EncodeDigits(unhex(f, qrCBOR(f, "00"+"5821"+chromiumPoint, "01"+"50"+zeroSecret, "06f5"))))
	f.Fuzz(func(t *testing.T, uri string) {
		q, err := ParseURI(uri)
		if err != nil {
			if q != nil {
				t.Fatalf("ParseURI(%q) returned %+v with error %v", uri, q, err)
			}
			return
		}
		// Parse, encode, parse: the second parse accepts and agrees.
		u := q.URI()
		q2, err := ParseURI(u)
		if err != nil {
			t.Fatalf("ParseURI(%q) accepted, but its re-encoding %q fails: %v", uri, u, err)
		}
		if u2 := q2.URI(); u2 != u {
			t.Fatalf("re-encoding unstable: %q then %q", u, u2)
		}
		if q2.PublicKey != q.PublicKey || q2.Secret != q.Secret || q2.SupportsLinking != q.SupportsLinking || q2.RequestType != q.RequestType {
			t.Fatalf("ParseURI(URI()) = %+v, want %+v", q2, q)
		}
	})
}

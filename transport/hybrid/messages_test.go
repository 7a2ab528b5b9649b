package hybrid

import (
	"bytes"
	"crypto/ecdh"
	"crypto/rand"
	"encoding/hex"
	"reflect"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

func TestParseMessage(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want Message
		ok   bool
	}{
		{"00", Message{Type: MessageShutdown, Payload: []byte{}}, true},
		{"0001", Message{}, false},
		{"0104a0", Message{Type: MessageCTAP, Payload: []byte{0x04, 0xa0}}, true},
		{"02a0", Message{Type: MessageUpdate, Payload: []byte{0xa0}}, true},
		{"037b7d", Message{Type: MessageJSON, Payload: []byte("{}")}, true},
		{"04", Message{}, false},
		{"ff00", Message{}, false},
		{"", Message{}, false},
	} {
		in, _ := hex.DecodeString(tc.in)
		got, err := ParseMessage(in)
		if (err == nil) != tc.ok {
			t.Errorf("ParseMessage(%s) error = %v, want ok=%v", tc.in, err, tc.ok)
			continue
		}
		if tc.ok {
			if got.Type != tc.want.Type || !bytes.Equal(got.Payload, tc.want.Payload) {
				t.Errorf("ParseMessage(%s) = %+v, want %+v", tc.in, got, tc.want)
			}
			if !bytes.Equal(got.Marshal(), in) {
				t.Errorf("Marshal(ParseMessage(%s)) = %x", tc.in, got.Marshal())
			}
		}
	}
	if !bytes.Equal(ShutdownMessage(), []byte{0}) {
		t.Errorf("ShutdownMessage = %x", ShutdownMessage())
	}
}

func TestCTAPFraming(t *testing.T) {
	req := &CTAPRequest{Command: ctap2.CmdGetAssertion, Params: []byte{0xa1, 0x01, 0x61, 0x61}}
	b := req.Marshal()
	if !bytes.Equal(b, []byte{0x01, 0x02, 0xa1, 0x01, 0x61, 0x61}) {
		t.Fatalf("request = %x", b)
	}
	m, err := ParseMessage(b)
	if err != nil {
		t.Fatal(err)
	}
	got, err := ParseCTAPRequest(m.Payload)
	if err != nil || !reflect.DeepEqual(got, req) {
		t.Errorf("ParseCTAPRequest = %+v, %v", got, err)
	}
	if got, err := ParseCTAPRequest([]byte{0x04}); err != nil || got.Command != ctap2.CmdGetInfo || len(got.Params) != 0 {
		t.Errorf("getInfo request = %+v, %v", got, err)
	}

	resp := &CTAPResponse{Status: 0, Data: []byte{0xa1, 0x01, 0x66, 'p', 'a', 'c', 'k', 'e', 'd'}}
	m, err = ParseMessage(resp.Marshal())
	if err != nil {
		t.Fatal(err)
	}
	gotResp, err := ParseCTAPResponse(m.Payload)
	if err != nil || !reflect.DeepEqual(gotResp, resp) {
		t.Errorf("ParseCTAPResponse = %+v, %v", gotResp, err)
	}
	if r, err := ParseCTAPResponse([]byte{0x2e}); err != nil || r.Status != 0x2e {
		t.Errorf("error-only response = %+v, %v", r, err)
	}

	for _, bad := range []string{"", "01a1", "01a0a0", "01ff", "01a2010101 02"} {
		in, _ := hex.DecodeString(bad)
		if _, err := ParseCTAPRequest(in); err == nil {
			t.Errorf("ParseCTAPRequest(%s) succeeded", bad)
		}
		if _, err := ParseCTAPResponse(in); err == nil {
			t.Errorf("ParseCTAPResponse(%s) succeeded", bad)
		}
	}
	// Duplicate map keys are refused.
	if _, err := ParseCTAPRequest([]byte{0x01, 0xa2, 0x01, 0x01, 0x01, 0x02}); err == nil {
		t.Error("duplicate keys accepted")
	}
}

func testLinking(t *testing.T) (*LinkingInfo, *ecdh.PrivateKey, [32]byte) {
	t.Helper()
	phoneID, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	qrKey, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var hash [32]byte
	hash[5] = 9
	sig, err := LinkingSignature(phoneID, qrKey.PublicKey(), hash)
	if err != nil {
		t.Fatal(err)
	}
	return &LinkingInfo{
		ContactID: []byte("fcm-registration-token"),
		PairingID: bytes.Repeat([]byte{8}, 8),
		Secret:    bytes.Repeat([]byte{3}, 32),
		PublicKey: phoneID.PublicKey().Bytes(),
		Name:      "Test phone",
		Signature: sig,
	}, qrKey, hash
}

func TestLinkingSignature(t *testing.T) {
	l, qrKey, hash := testLinking(t)
	if err := l.Verify(qrKey, hash); err != nil {
		t.Fatalf("Verify: %v", err)
	}
	bad := hash
	bad[0] ^= 1
	if err := l.Verify(qrKey, bad); err == nil {
		t.Error("Verify accepted a different handshake hash")
	}
	other, _ := ecdh.P256().GenerateKey(rand.Reader)
	if err := l.Verify(other, hash); err == nil {
		t.Error("Verify accepted a different QR key")
	}
}

func TestPostHandshakeRoundTrip(t *testing.T) {
	l, _, _ := testLinking(t)
	getInfo := []byte{0xa1, 0x01, 0x81, 0x68, 'F', 'I', 'D', 'O', '_', '2', '_', '0'}
	for _, p := range []*PostHandshake{
		{GetInfo: getInfo, Features: []string{"ctap"}},
		{GetInfo: getInfo, Linking: l, Features: []string{"ctap", "dc"}},
		{GetInfo: getInfo},
		{Padding: make([]byte, 10), GetInfo: getInfo},
		{Features: []string{"dc"}},
	} {
		b, err := p.Marshal()
		if err != nil {
			t.Fatal(err)
		}
		got, rev, err := ParsePostHandshake(b)
		if err != nil || rev != Revision1 || !reflect.DeepEqual(got, p) {
			t.Errorf("ParsePostHandshake(%x) = %+v, %d, %v; want %+v", b, got, rev, err, p)
		}
		r0, err := p.MarshalRevision0()
		if err != nil {
			t.Fatal(err)
		}
		if len(r0)%512 != 0 {
			t.Errorf("revision-0 form is %d bytes", len(r0))
		}
		got, rev, err = ParsePostHandshake(r0)
		if err != nil || rev != Revision0 || !reflect.DeepEqual(got, p) {
			t.Errorf("ParsePostHandshake(rev 0) = %+v, %d, %v", got, rev, err)
		}
		// Older revision-0 padding: u8 count to a multiple of 256.
		old := make([]byte, 256)
		copy(old, b)
		old[255] = byte(255 - len(b))
		got, rev, err = ParsePostHandshake(old)
		if err != nil || rev != Revision0 || !reflect.DeepEqual(got, p) {
			t.Errorf("ParsePostHandshake(old rev 0) = %+v, %d, %v", got, rev, err)
		}
	}
	if p := (&PostHandshake{Features: []string{"dc"}}); p.SupportsCTAP() {
		t.Error(`SupportsCTAP with ["dc"] = true`)
	}
	if p := (&PostHandshake{}); !p.SupportsCTAP() {
		t.Error("SupportsCTAP with no features = false")
	}
}

func TestParsePostHandshakeRejects(t *testing.T) {
	l, _, _ := testLinking(t)
	bad := *l
	bad.Secret = bad.Secret[:31]
	badKey := *l
	badKey.PublicKey = bytes.Repeat([]byte{4}, 65)
	noName := *l
	noName.Name = ""
	enc := func(v any) []byte {
		b, err := ctap2.Marshal(v)
		if err != nil {
			t.Fatal(err)
		}
		return b
	}
	for name, in := range map[string][]byte{
		"empty":             nil,
		"not a map":         {0x40},
		"key 1 text":        enc(map[int]any{1: "x"}),
		"key 3 not array":   enc(map[int]any{3: "ctap"}),
		"duplicate key":     {0xa2, 0x01, 0x40, 0x01, 0x40},
		"malformed getInfo": enc(map[int]any{1: []byte{0xa1}}),
		"short secret":      enc(&PostHandshake{Linking: &bad}),
		"bad identity key":  enc(&PostHandshake{Linking: &badKey}),
		"missing name":      enc(&PostHandshake{Linking: &noName}),
		"trailing garbage":  append(enc(&PostHandshake{Features: []string{"ctap"}}), 0xff),
		"bad padding":       append(make([]byte, 510), 0xff, 0xff),
	} {
		if p, rev, err := ParsePostHandshake(in); err == nil {
			t.Errorf("%s: ParsePostHandshake(%x) = %+v, %d", name, in, p, rev)
		}
	}
}

func TestUpdate(t *testing.T) {
	l, _, _ := testLinking(t)
	client, phone := crypterPair()
	for _, linking := range []*LinkingInfo{nil, l} {
		b, err := MarshalUpdate(linking)
		if err != nil {
			t.Fatal(err)
		}
		f := mustEncrypt(t, phone, b)
		if len(f) != 512+gcmTagSize {
			t.Errorf("update frame with linking=%v is %d bytes, want 528", linking != nil, len(f))
		}
		pt, err := client.Decrypt(f)
		if err != nil {
			t.Fatal(err)
		}
		m, err := ParseMessage(pt)
		if err != nil || m.Type != MessageUpdate {
			t.Fatalf("ParseMessage = %+v, %v", m, err)
		}
		u, err := ParseUpdate(m.Payload)
		if err != nil {
			t.Fatal(err)
		}
		if !reflect.DeepEqual(u.Linking, linking) {
			t.Errorf("linking = %+v, want %+v", u.Linking, linking)
		}
		for _, z := range u.Padding {
			if z != 0 {
				t.Fatal("nonzero padding")
			}
		}
	}
	bad := *l
	bad.Signature = nil
	if _, err := ParseUpdate(append([]byte{0xa1, 0x01}, mustMarshal(t, &bad)...)); err == nil {
		t.Error("ParseUpdate accepted linking info without a signature")
	}
	if _, err := ParseUpdate([]byte{0xa1}); err == nil {
		t.Error("ParseUpdate accepted truncated CBOR")
	}
}

func mustMarshal(t *testing.T, v any) []byte {
	t.Helper()
	b, err := ctap2.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func FuzzParsePostHandshake(f *testing.F) {
	getInfo := []byte{0xa1, 0x01, 0x81, 0x68, 'F', 'I', 'D', 'O', '_', '2', '_', '0'}
	p := &PostHandshake{GetInfo: getInfo, Features: []string{"ctap"}}
	b, _ := p.Marshal()
	f.Add(b)
	r0, _ := p.MarshalRevision0()
	f.Add(r0)
	f.Add([]byte{0xa0})
	f.Add([]byte{0xa1, 0x02, 0xa1, 0x01, 0x40})
	f.Fuzz(func(t *testing.T, in []byte) {
		p, rev, err := ParsePostHandshake(in)
		if err != nil {
			return
		}
		if rev != Revision0 && rev != Revision1 {
			t.Fatalf("revision %d", rev)
		}
		// What parsed re-encodes to a revision-1 message that parses and
		// re-encodes to the same bytes.
		out, err := p.Marshal()
		if err != nil {
			t.Fatalf("Marshal after parse: %v", err)
		}
		q, rev2, err := ParsePostHandshake(out)
		if err != nil || rev2 != Revision1 {
			t.Fatalf("re-parse of %x = %d, %v", out, rev2, err)
		}
		out2, err := q.Marshal()
		if err != nil || !bytes.Equal(out, out2) {
			t.Fatalf("re-encoding differs: %x vs %x (%v)", out, out2, err)
		}
	})
}

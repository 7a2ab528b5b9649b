package hybrid

import (
	"bytes"
	"crypto/aes"
	"crypto/ecdh"
	"crypto/elliptic"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"io"
	"math/big"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
	"golang.org/x/crypto/hkdf"
)

// tvDerive is derive() of hybrid-cable.md §2, written out here so the
// transcript test does not depend on derive.go.
func tvDerive(t *testing.T, secret, salt []byte, purpose uint32, n int) []byte {
	t.Helper()
	var info [4]byte
	binary.LittleEndian.PutUint32(info[:], purpose)
	out := make([]byte, n)
	if _, err := io.ReadFull(hkdf.New(sha256.New, secret, salt, info[:]), out); err != nil {
		t.Fatalf("hkdf: %v", err)
	}
	return out
}

// tvSeedToKey is BoringSSL's EC_KEY_derive_from_secret for P-256 (§2).
func tvSeedToKey(t *testing.T, seed []byte) *ecdh.PrivateKey {
	t.Helper()
	d := make([]byte, 48)
	if _, err := io.ReadFull(hkdf.New(sha256.New, seed, nil, []byte("derive EC key P-256")), d); err != nil {
		t.Fatalf("hkdf: %v", err)
	}
	k := new(big.Int).SetBytes(d)
	k.Mod(k, elliptic.P256().Params().N)
	priv, err := ecdh.P256().NewPrivateKey(k.FillBytes(make([]byte, 32)))
	if err != nil {
		t.Fatalf("seed to key: %v", err)
	}
	return priv
}

func nzUnhex(t *testing.T, s string) []byte {
	t.Helper()
	b, err := hex.DecodeString(s)
	if err != nil {
		t.Fatalf("bad hex %q: %v", s, err)
	}
	return b
}

func nzCheckHex(t *testing.T, name string, got []byte, want string) {
	t.Helper()
	if g := hex.EncodeToString(got); g != want {
		t.Errorf("%s:\n got  %s\n want %s", name, g, want)
	}
}

func nzFill(b byte, n int) []byte { return bytes.Repeat([]byte{b}, n) }

// TestKNpsk0Transcript reproduces the deterministic transcript of
// hybrid-cable.md §10.3 byte for byte, both sides.
func TestKNpsk0Transcript(t *testing.T) {
	seed := make([]byte, 32)
	for i := range seed {
		seed[i] = byte(i)
	}
	identity := tvSeedToKey(t, seed)
	nzCheckHex(t, "identity priv", identity.Bytes(), "5cb95a87ceaaae2635ff47b44ba90165a845191589b9b909ea5a15c2cdb74e63")
	pub := identity.PublicKey().Bytes()
	nzCheckHex(t, "identity pub", pub, "0450b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce5186373d971c315ef6100bda95d6ebbc55e494aae4c4e421e6b59b1637a4cff3fa8be")
	// SEC 1 compression: 02|03 by the parity of Y, then X.
	compressed := append([]byte{0x02 | pub[64]&1}, pub[1:33]...)
	nzCheckHex(t, "identity pub compressed", compressed, "0250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce51863")

	qrSecret := nzUnhex(t, "101112131415161718191a1b1c1d1e1f")
	qrCBOR, err := ctap2.Marshal(map[int]any{0: compressed, 1: qrSecret, 2: 2, 3: 1700000000, 4: true, 5: "ga"})
	if err != nil {
		t.Fatal(err)
	}
	nzCheckHex(t, "QR CBOR", qrCBOR, "a60058210250b46f369e1407bfad0838fdfc30a1d69e369c97dc6163a3648b878e8ce518630150101112131415161718191a1b1c1d1e1f0202031a6553f10004f505626761")

	eidKey := tvDerive(t, qrSecret, nil, 1, 64)
	nzCheckHex(t, "eid_key", eidKey, "d388357dfd470f50639279ebbe2f1c9f305c7252bbf6e2b38a7c5a67503243233061d23d211c8db3501c6be8c7e4406ee38cf91864382a2b2891f5265056750b")
	nzCheckHex(t, "tunnel_id", tvDerive(t, qrSecret, nil, 2, 16), "1a909a4708fd664d4c3afa7be11896ef")
	eid := nzUnhex(t, "00a0a1a2a3a4a5a6a7a8a90102030000")
	block, err := aes.NewCipher(eidKey[:32])
	if err != nil {
		t.Fatal(err)
	}
	advert := make([]byte, 16, 20)
	block.Encrypt(advert, eid)
	mac := hmac.New(sha256.New, eidKey[32:])
	mac.Write(advert)
	advert = append(advert, mac.Sum(nil)[:4]...)
	nzCheckHex(t, "advert", advert, "37ec303b42aa1fbfec0ee31e37a36d64d651a4f6")
	var psk [32]byte
	copy(psk[:], tvDerive(t, qrSecret, eid, 3, 32))
	nzCheckHex(t, "psk", psk[:], "e0953cdcefeaaf2bcb1893d05f5707c283f1b1d704927eb83c6b4fb9075494cf")

	// Handshake, e_i = 32×0x11, e_r = 32×0x22.
	ini, err := NewKNInitiator(psk, identity, bytes.NewReader(nzFill(0x11, 32)))
	if err != nil {
		t.Fatal(err)
	}
	msg1, err := ini.WriteMessage()
	if err != nil {
		t.Fatal(err)
	}
	nzCheckHex(t, "msg1", msg1, "040217e617f0b6443928278f96999e69a23a4f2c152bdf6d6cdf66e5b80282d4ed194a7debcb97712d2dda3ca85aa8765a56f45fc758599652f2897c65306e57945ecfe362f22c8834296e271fb67dac27")
	msg2, phone, err := RespondKN(psk, identity.PublicKey(), msg1, bytes.NewReader(nzFill(0x22, 32)))
	if err != nil {
		t.Fatal(err)
	}
	nzCheckHex(t, "msg2", msg2, "04d65a93977caa3d1b081852ff57a79e465f1660577304baead505dd3a48589cf350185e895372df6221ea3a137557e473fddb6755f05bd507c3c533fce9c9128519d400f692c3f5cbcf5227bb833fab3e")
	client, err := ini.ReadMessage(msg2)
	if err != nil {
		t.Fatal(err)
	}
	const k1, k2 = "b1879fc0264149e6d880f118d67b97e8b726eda7e18a93ad5c942f59d3829cc0", "48334f7712b73853a120e338c156fd94da6888266d2b5f35d7b615491c9a2a69"
	const hash = "1fb7ea2b3d59dedcc0170126387b3f168f00d52320e16c41c4e365eac114ad81"
	nzCheckHex(t, "client write (k1)", client.WriteKey[:], k1)
	nzCheckHex(t, "client read (k2)", client.ReadKey[:], k2)
	nzCheckHex(t, "phone read (k1)", phone.ReadKey[:], k1)
	nzCheckHex(t, "phone write (k2)", phone.WriteKey[:], k2)
	nzCheckHex(t, "client handshake hash", client.Hash[:], hash)
	nzCheckHex(t, "phone handshake hash", phone.Hash[:], hash)

	// Post-handshake message: {1: Chromium-phone getInfo, 3: ["ctap"]}.
	// The digest's plaintext is not quite that: its getInfo spells
	// "cable" as "cble" under a 5-byte string header (so key 1 is 78 bytes,
	// 0x4e, and is not well-formed CBOR), and its ciphertext encrypts those
	// exact bytes. We reproduce both byte for byte from the digest's getInfo
	// bytes, and check that the correctly spelled getInfo differs only by
	// that one byte.
	const specPost = "a201584ea50182684649444f5f325f30684649444f5f325f3102816370726603500000000000000000000000000000000004a262726bf5627576f509836563626c656668796272696468696e7465726e616c03816463746170"
	specGetInfo := nzUnhex(t, specPost)[4 : 4+0x4e]
	chromeGetInfo, err := ctap2.Marshal(map[int]any{
		1: []string{"FIDO_2_0", "FIDO_2_1"},
		2: []string{"prf"},
		3: make([]byte, 16),
		4: map[string]bool{"rk": true, "uv": true},
		9: []string{"cable", "hybrid", "internal"},
	})
	if err != nil {
		t.Fatal(err)
	}
	if typo := bytes.Replace(chromeGetInfo, []byte("cable"), []byte("cble"), 1); !bytes.Equal(typo, specGetInfo) {
		t.Errorf("digest getInfo is not Chromium's with the one-byte typo:\n got  %x\n want %x", specGetInfo, typo)
	}
	post, err := (&PostHandshake{GetInfo: specGetInfo, Features: []string{"ctap"}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	nzCheckHex(t, "post-handshake plaintext", post, specPost)
	phoneCrypter := phone.NewCrypter()
	clientCrypter := client.NewCrypter()
	if !clientCrypter.acceptOld || phoneCrypter.acceptOld {
		t.Error("only the initiator's Crypter should accept the old construction")
	}
	ct, err := phoneCrypter.Encrypt(post)
	if err != nil {
		t.Fatal(err)
	}
	nzCheckHex(t, "post-handshake ciphertext", ct, "388b884b3ebe9ea589d82cd5ac9e7842ca37250a74437267a77df989e15bf488f24d8bc337083aa4ddaa3d9f0a595cae2a3a3fe6fb6a0c2b61e03106785456154c4bfe09162c62d08fdeed27b0da4a82e7580f0f2f318bcef9380f5638c7ca4ccc63cbc3368f6ee1de33240f12a6fab9")
	pt, err := clientCrypter.Decrypt(ct)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(pt, post) {
		t.Errorf("decrypted post-handshake = %x, want %x", pt, post)
	}
	// The strict parser refuses the digest's malformed getInfo and accepts
	// the correct one.
	if _, _, err := ParsePostHandshake(pt); err == nil {
		t.Error("ParsePostHandshake accepted a malformed getInfo")
	}
	good, err := (&PostHandshake{GetInfo: chromeGetInfo, Features: []string{"ctap"}}).Marshal()
	if err != nil {
		t.Fatal(err)
	}
	ph, rev, err := ParsePostHandshake(good)
	if err != nil || rev != Revision1 || !bytes.Equal(ph.GetInfo, chromeGetInfo) || !ph.SupportsCTAP() {
		t.Errorf("ParsePostHandshake = %+v, %d, %v", ph, rev, err)
	}
	if clientCrypter.Construction() != ConstructionNew {
		t.Errorf("client construction = %v, want new", clientCrypter.Construction())
	}

	shutdown, err := clientCrypter.Encrypt(ShutdownMessage())
	if err != nil {
		t.Fatal(err)
	}
	nzCheckHex(t, "shutdown ciphertext", shutdown, "3f830bbbee634f5c778d07ef82877f9614f39dea48e53c3f022f4730e1a7f1e34cbc89d0aa0e4c824c81744e257e62d6")
	pt, err = phoneCrypter.Decrypt(shutdown)
	if err != nil {
		t.Fatal(err)
	}
	if m, err := ParseMessage(pt); err != nil || m.Type != MessageShutdown {
		t.Errorf("ParseMessage(shutdown) = %+v, %v", m, err)
	}
}

func TestNKpsk0RoundTrip(t *testing.T) {
	phoneIdentity, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var psk [32]byte
	copy(psk[:], nzFill(0x5a, 32))
	ini, err := NewNKInitiator(psk, phoneIdentity.PublicKey(), nil)
	if err != nil {
		t.Fatal(err)
	}
	if ini.Pattern() != NKpsk0 {
		t.Errorf("Pattern = %v", ini.Pattern())
	}
	msg1, err := ini.WriteMessage()
	if err != nil {
		t.Fatal(err)
	}
	if len(msg1) != HandshakeMessageSize {
		t.Fatalf("msg1 is %d bytes", len(msg1))
	}
	msg2, phone, err := RespondNK(psk, phoneIdentity, msg1, nil)
	if err != nil {
		t.Fatal(err)
	}
	client, err := ini.ReadMessage(msg2)
	if err != nil {
		t.Fatal(err)
	}
	if client.WriteKey != phone.ReadKey || client.ReadKey != phone.WriteKey || client.Hash != phone.Hash {
		t.Fatal("keys or hash differ between sides")
	}
	if client.WriteKey == client.ReadKey {
		t.Fatal("both directions share a key")
	}
	pc, cc := phone.NewCrypter(), NewClientCrypter(client.ReadKey, client.WriteKey)
	for i := range 3 {
		msg := bytes.Repeat([]byte{byte(i)}, 40*i)
		f, err := cc.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		got, err := pc.Decrypt(f)
		if err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("client→phone frame %d: %x, %v", i, got, err)
		}
		f, err = pc.Encrypt(msg)
		if err != nil {
			t.Fatal(err)
		}
		if got, err = cc.Decrypt(f); err != nil || !bytes.Equal(got, msg) {
			t.Fatalf("phone→client frame %d: %x, %v", i, got, err)
		}
	}
}

// TestHandshakeTampering checks that every wrong input ends the handshake
// with ErrHandshakeFailed.
func TestHandshakeTampering(t *testing.T) {
	identity, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	other, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	var psk, wrongPSK [32]byte
	psk[0], wrongPSK[0] = 1, 2

	t.Run("KN wrong PSK at phone", func(t *testing.T) {
		ini, _ := NewKNInitiator(psk, identity, nil)
		msg1, _ := ini.WriteMessage()
		if _, _, err := RespondKN(wrongPSK, identity.PublicKey(), msg1, nil); !errors.Is(err, ErrHandshakeFailed) {
			t.Errorf("RespondKN error = %v, want ErrHandshakeFailed", err)
		}
	})
	t.Run("KN wrong identity at phone", func(t *testing.T) {
		ini, _ := NewKNInitiator(psk, identity, nil)
		msg1, _ := ini.WriteMessage()
		msg2, _, err := RespondKN(psk, other.PublicKey(), msg1, nil)
		if !errors.Is(err, ErrHandshakeFailed) {
			// The pre-message static key enters h, so msg1 fails.
			t.Errorf("RespondKN error = %v, want ErrHandshakeFailed (msg2 %x)", err, msg2)
		}
	})
	t.Run("NK wrong PSK at client", func(t *testing.T) {
		// Simulate a phone that believes a different PSK by tampering the
		// response: run the phone with the right PSK, the client with a wrong one.
		ini, _ := NewNKInitiator(wrongPSK, identity.PublicKey(), nil)
		msg1, _ := ini.WriteMessage()
		if _, _, err := RespondNK(psk, identity, msg1, nil); !errors.Is(err, ErrHandshakeFailed) {
			t.Errorf("RespondNK error = %v, want ErrHandshakeFailed", err)
		}
	})
	t.Run("NK wrong phone key", func(t *testing.T) {
		ini, _ := NewNKInitiator(psk, identity.PublicKey(), nil)
		msg1, _ := ini.WriteMessage()
		if _, _, err := RespondNK(psk, other, msg1, nil); !errors.Is(err, ErrHandshakeFailed) {
			t.Errorf("RespondNK error = %v, want ErrHandshakeFailed", err)
		}
	})
	for _, p := range []Pattern{KNpsk0, NKpsk0} {
		for _, which := range []string{"msg1 key", "msg1 tag", "msg2 key", "msg2 tag", "msg1 short", "msg2 long"} {
			t.Run(p.String()+" "+which, func(t *testing.T) {
				var ini *HandshakeInitiator
				respond := func(m []byte) ([]byte, *HandshakeResult, error) {
					if p == KNpsk0 {
						return RespondKN(psk, identity.PublicKey(), m, nil)
					}
					return RespondNK(psk, identity, m, nil)
				}
				if p == KNpsk0 {
					ini, _ = NewKNInitiator(psk, identity, nil)
				} else {
					ini, _ = NewNKInitiator(psk, identity.PublicKey(), nil)
				}
				msg1, err := ini.WriteMessage()
				if err != nil {
					t.Fatal(err)
				}
				switch which {
				case "msg1 key":
					msg1[40] ^= 1
				case "msg1 tag":
					msg1[70] ^= 1
				case "msg1 short":
					msg1 = msg1[:80]
				}
				msg2, _, err := respond(msg1)
				if which[:4] == "msg1" {
					if !errors.Is(err, ErrHandshakeFailed) {
						t.Errorf("respond error = %v, want ErrHandshakeFailed", err)
					}
					return
				}
				if err != nil {
					t.Fatal(err)
				}
				switch which {
				case "msg2 key":
					msg2[10] ^= 1
				case "msg2 tag":
					msg2[80] ^= 0x80
				case "msg2 long":
					msg2 = append(msg2, 0)
				}
				if _, err := ini.ReadMessage(msg2); !errors.Is(err, ErrHandshakeFailed) {
					t.Errorf("ReadMessage error = %v, want ErrHandshakeFailed", err)
				}
				if _, err := ini.ReadMessage(msg2); err == nil {
					t.Error("second ReadMessage succeeded")
				}
			})
		}
	}
}

func TestHandshakeMisuse(t *testing.T) {
	var psk [32]byte
	if _, err := NewKNInitiator(psk, nil, nil); err == nil {
		t.Error("NewKNInitiator(nil identity) succeeded")
	}
	if _, err := NewNKInitiator(psk, nil, nil); err == nil {
		t.Error("NewNKInitiator(nil peer) succeeded")
	}
	if _, _, err := RespondNK(psk, nil, nil, nil); err == nil {
		t.Error("RespondNK(nil identity) succeeded")
	}
	k, _ := ecdh.P256().GenerateKey(rand.Reader)
	ini, _ := NewKNInitiator(psk, k, bytes.NewReader(nil))
	if _, err := ini.WriteMessage(); err == nil {
		t.Error("WriteMessage with an empty random source succeeded")
	}
	ini, _ = NewKNInitiator(psk, k, nil)
	if _, err := ini.ReadMessage(make([]byte, HandshakeMessageSize)); err == nil {
		t.Error("ReadMessage before WriteMessage succeeded")
	}
	if _, err := ini.WriteMessage(); err != nil {
		t.Fatal(err)
	}
	if _, err := ini.WriteMessage(); err == nil {
		t.Error("second WriteMessage succeeded")
	}
	// An all-0xff scalar is above the group order and must be skipped.
	src := io.MultiReader(bytes.NewReader(nzFill(0xff, 32)), bytes.NewReader(nzFill(0x11, 32)))
	e, err := generateEphemeral(src)
	if err != nil || !bytes.Equal(e.Bytes(), nzFill(0x11, 32)) {
		t.Errorf("generateEphemeral did not reject an out-of-range scalar: %v", err)
	}
}

// BenchmarkKNpsk0Handshake measures a full QR-initiated handshake, both
// sides, in one process.
func BenchmarkKNpsk0Handshake(b *testing.B) {
	identity, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	var psk [32]byte
	for b.Loop() {
		ini, err := NewKNInitiator(psk, identity, nil)
		if err != nil {
			b.Fatal(err)
		}
		msg1, err := ini.WriteMessage()
		if err != nil {
			b.Fatal(err)
		}
		msg2, _, err := RespondKN(psk, identity.PublicKey(), msg1, nil)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := ini.ReadMessage(msg2); err != nil {
			b.Fatal(err)
		}
	}
}

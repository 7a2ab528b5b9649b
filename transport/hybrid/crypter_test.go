package hybrid

import (
	"bytes"
	"errors"
	"testing"
)

func crypterPair() (client, phone *Crypter) {
	var k1, k2 [32]byte
	copy(k1[:], bytes.Repeat([]byte{1}, 32))
	copy(k2[:], bytes.Repeat([]byte{2}, 32))
	return NewClientCrypter(k2, k1), NewCrypter(k1, k2)
}

func TestPadding(t *testing.T) {
	for _, n := range []int{0, 1, 30, 31, 32, 33, 63, 64, 500} {
		msg := bytes.Repeat([]byte{0xaa}, n)
		p := pad(msg)
		if want := (n/32 + 1) * 32; len(p) != want {
			t.Errorf("pad(%d bytes) = %d bytes, want %d", n, len(p), want)
		}
		got, err := unpad(p)
		if err != nil || !bytes.Equal(got, msg) {
			t.Errorf("unpad(pad(%d bytes)) = %x, %v", n, got, err)
		}
	}
	for _, tc := range []struct {
		in   []byte
		want []byte
		ok   bool
	}{
		{nil, nil, false},
		{[]byte{0x01}, nil, false},
		{[]byte{0x00}, []byte{}, true},
		{[]byte{7, 9, 0}, []byte{7, 9}, true},
		// Lenient like Chromium: nonzero padding bytes, any length.
		{[]byte{7, 9, 1}, []byte{7}, true},
		{[]byte{7, 2}, nil, false},
	} {
		got, err := unpad(tc.in)
		if (err == nil) != tc.ok || (tc.ok && !bytes.Equal(got, tc.want)) {
			t.Errorf("unpad(%x) = %x, %v; want %x, ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
}

func mustEncrypt(t *testing.T, c *Crypter, msg []byte) []byte {
	t.Helper()
	f, err := c.Encrypt(msg)
	if err != nil {
		t.Fatal(err)
	}
	return f
}

func TestCrypterRejects(t *testing.T) {
	t.Run("altered ciphertext", func(t *testing.T) {
		client, phone := crypterPair()
		f := mustEncrypt(t, phone, []byte("hello"))
		for i := range f {
			g := bytes.Clone(f)
			g[i] ^= 0x01
			if _, err := client.Decrypt(g); !errors.Is(err, ErrFrameDecrypt) {
				t.Fatalf("byte %d flipped: err = %v, want ErrFrameDecrypt", i, err)
			}
		}
		if got, err := client.Decrypt(f); err != nil || string(got) != "hello" {
			t.Fatalf("original after failures = %q, %v", got, err)
		}
	})
	t.Run("truncated", func(t *testing.T) {
		client, phone := crypterPair()
		f := mustEncrypt(t, phone, []byte("hello"))
		for _, n := range []int{0, 15, 16, len(f) - 1} {
			if _, err := client.Decrypt(f[:n]); !errors.Is(err, ErrFrameDecrypt) {
				t.Errorf("%d bytes: err = %v", n, err)
			}
		}
	})
	t.Run("replayed", func(t *testing.T) {
		client, phone := crypterPair()
		f := mustEncrypt(t, client, []byte("req"))
		if _, err := phone.Decrypt(f); err != nil {
			t.Fatal(err)
		}
		if _, err := phone.Decrypt(f); !errors.Is(err, ErrFrameDecrypt) {
			t.Errorf("replay: err = %v, want ErrFrameDecrypt", err)
		}
	})
	t.Run("reordered", func(t *testing.T) {
		client, phone := crypterPair()
		f0 := mustEncrypt(t, client, []byte("zero"))
		f1 := mustEncrypt(t, client, []byte("one"))
		if _, err := phone.Decrypt(f1); !errors.Is(err, ErrFrameDecrypt) {
			t.Errorf("frame 1 first: err = %v, want ErrFrameDecrypt", err)
		}
		if got, err := phone.Decrypt(f0); err != nil || string(got) != "zero" {
			t.Fatalf("frame 0 = %q, %v", got, err)
		}
		if got, err := phone.Decrypt(f1); err != nil || string(got) != "one" {
			t.Fatalf("frame 1 = %q, %v", got, err)
		}
	})
	t.Run("wrong key", func(t *testing.T) {
		client, phone := crypterPair()
		var other [32]byte
		stranger := NewCrypter(other, other)
		if _, err := stranger.Decrypt(mustEncrypt(t, client, []byte("x"))); !errors.Is(err, ErrFrameDecrypt) {
			t.Errorf("err = %v, want ErrFrameDecrypt", err)
		}
		// A frame reflected back to its sender uses the other key.
		if _, err := phone.Decrypt(mustEncrypt(t, phone, []byte("x"))); !errors.Is(err, ErrFrameDecrypt) {
			t.Errorf("reflected frame: err = %v, want ErrFrameDecrypt", err)
		}
	})
	t.Run("sequence exhausted", func(t *testing.T) {
		client, _ := crypterPair()
		client.writeSeq = maxSequence + 1
		if _, err := client.Encrypt(nil); err == nil {
			t.Error("Encrypt past 2^24-1 succeeded")
		}
		client.readSeq = maxSequence + 1
		if _, err := client.Decrypt(make([]byte, 32)); err == nil {
			t.Error("Decrypt past 2^24-1 succeeded")
		}
	})
}

// oldPhone encrypts like a phone speaking the old construction (§7.1).
func oldPhone(writeKey [32]byte) *Crypter {
	var zero [32]byte
	c := NewCrypter(zero, writeKey)
	c.construction = ConstructionOld
	return c
}

func TestCrypterOldConstruction(t *testing.T) {
	var k1, k2 [32]byte
	k1[0], k2[0] = 1, 2
	// Nonce layout of the two constructions.
	if n, ad := nonceAndAD(ConstructionOld, 0x01020304); !bytes.Equal(n[:], []byte{4, 3, 2, 1, 0, 0, 0, 0, 0, 0, 0, 0}) || !bytes.Equal(ad, []byte{2}) {
		t.Errorf("old nonce/AD = %x/%x", n, ad)
	}
	if n, ad := nonceAndAD(ConstructionNew, 0x01020304); !bytes.Equal(n[:], []byte{0, 0, 0, 0, 0, 0, 0, 0, 1, 2, 3, 4}) || ad != nil {
		t.Errorf("new nonce/AD = %x/%x", n, ad)
	}

	phone := oldPhone(k2)
	client := NewClientCrypter(k2, k1)
	got, err := client.Decrypt(mustEncrypt(t, phone, []byte("post-handshake")))
	if err != nil || string(got) != "post-handshake" {
		t.Fatalf("client decrypting old frame = %q, %v", got, err)
	}
	if client.Construction() != ConstructionOld {
		t.Fatalf("construction = %v, want old", client.Construction())
	}
	if got, err := client.Decrypt(mustEncrypt(t, phone, []byte("second"))); err != nil || string(got) != "second" {
		t.Fatalf("second old frame = %q, %v", got, err)
	}
	// The client now writes old frames too.
	phoneRead := NewCrypter(k1, k2)
	phoneRead.construction = ConstructionOld
	if got, err := phoneRead.Decrypt(mustEncrypt(t, client, []byte("req"))); err != nil || string(got) != "req" {
		t.Fatalf("client old frame = %q, %v", got, err)
	}

	// A phone Crypter (no fallback) refuses old frames.
	strict := NewCrypter(k2, k1)
	if _, err := strict.Decrypt(mustEncrypt(t, oldPhone(k2), []byte("x"))); !errors.Is(err, ErrFrameDecrypt) {
		t.Errorf("strict Crypter accepted an old frame: %v", err)
	}
	// Once settled on new, the client no longer falls back.
	client = NewClientCrypter(k2, k1)
	newPhone := NewCrypter(k1, k2)
	if _, err := client.Decrypt(mustEncrypt(t, newPhone, []byte("x"))); err != nil {
		t.Fatal(err)
	}
	old := oldPhone(k2)
	old.writeSeq = 1
	if _, err := client.Decrypt(mustEncrypt(t, old, []byte("y"))); !errors.Is(err, ErrFrameDecrypt) {
		t.Errorf("client switched construction after the first frame: %v", err)
	}
}

func FuzzDecryptFrame(f *testing.F) {
	client, phone := crypterPair()
	f.Add(mustEncryptF(phone, []byte("hello")))
	f.Add(mustEncryptF(client, nil))
	f.Add(mustEncryptF(oldPhone(keyOf(2)), []byte("old")))
	f.Add([]byte{})
	f.Add(make([]byte, 16))
	f.Fuzz(func(t *testing.T, frame []byte) {
		c := NewClientCrypter(keyOf(2), keyOf(1))
		msg, err := c.Decrypt(frame)
		if err != nil {
			if c.readSeq != 0 {
				t.Fatal("failed decryption advanced the sequence")
			}
			return
		}
		if len(msg) >= len(frame)-gcmTagSize {
			t.Fatalf("message of %d bytes from a frame of %d", len(msg), len(frame))
		}
	})
}

func keyOf(b byte) [32]byte {
	var k [32]byte
	copy(k[:], bytes.Repeat([]byte{b}, 32))
	return k
}

func mustEncryptF(c *Crypter, msg []byte) []byte {
	f, err := c.Encrypt(msg)
	if err != nil {
		panic(err)
	}
	return f
}

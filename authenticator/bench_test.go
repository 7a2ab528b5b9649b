package authenticator

import (
	"context"
	"crypto"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/benchfloor"
)

// The benchmarks time the engine and, interleaved in the same loop, the
// bare cryptography the operation cannot avoid (its floor), and report
// floor/engine as "x-floor": 1.0 means the engine adds nothing.

// getAssertionFloor is one P-256 assertion reduced to its cryptography:
// open the credential ID, hash and sign with the loaded key (the engine
// keeps recently used keys loaded, so rebuilding one is not part of the
// floor).
type getAssertionFloor struct {
	aead     cipher.AEAD
	credID   []byte
	ad       []byte
	authData []byte
	key      *ecdsa.PrivateKey
}

func newGetAssertionFloor(b *testing.B) *getAssertionFloor {
	sealingKey := make([]byte, 32)
	rand.Read(sealingKey)
	block, _ := aes.NewCipher(sealingKey)
	aead, _ := cipher.NewGCM(block)
	scalar := make([]byte, 32)
	rand.Read(scalar)
	scalar[0] &= 0x7f
	id := make([]byte, 13, 100)
	rand.Read(id[1:])
	rpIDHash := ctap2.RPIDHash("example.org")
	id = aead.Seal(id, id[1:13], append([]byte{0xff, 0xff, 0xff, 0xf9, 0}, scalar...), rpIDHash[:])
	key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
	if err != nil {
		b.Fatal(err)
	}
	return &getAssertionFloor{aead: aead, credID: id, ad: rpIDHash[:], authData: make([]byte, 37+32), key: key}
}

func (f *getAssertionFloor) run(b *testing.B) {
	if _, err := f.aead.Open(nil, f.credID[1:13], f.credID[13:], f.ad); err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256(f.authData)
	if _, err := f.key.Sign(nil, digest[:], crypto.SHA256); err != nil {
		b.Fatal(err)
	}
}

func BenchmarkGetAssertion(b *testing.B) {
	k := newTestKey(b, nil)
	k.Authenticator.presence = AlwaysPresent
	_, reg := k.makeCredential(mcRequest("example.org", "alice"))
	params, err := ctap2.Marshal(&ctap2.GetAssertionRequest{
		RPID: "example.org", ClientDataHash: clientDataHash(1), AllowList: allow(reg.Attested.CredentialID),
	})
	if err != nil {
		b.Fatal(err)
	}
	msg := append([]byte{byte(ctap2.CmdGetAssertion)}, params...)
	floor := newGetAssertionFloor(b)
	benchfloor.Compare(b, func() { floor.run(b) }, func() {
		if resp := k.HandleCBOR(context.Background(), msg); resp[0] != 0 {
			b.Fatalf("getAssertion: %v", ctap2.Status(resp[0]))
		}
	})
}

// BenchmarkMakeCredential's floor is one ES256 registration with packed
// attestation reduced to its cryptography: make a key pair, seal it into an
// ID, and sign the attestation with the batch key.
func BenchmarkMakeCredential(b *testing.B) {
	k := newTestKey(b, nil)
	k.Authenticator.presence = AlwaysPresent
	params, err := ctap2.Marshal(mcRequest("example.org", "alice"))
	if err != nil {
		b.Fatal(err)
	}
	msg := append([]byte{byte(ctap2.CmdMakeCredential)}, params...)
	floor := newGetAssertionFloor(b)
	batch, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	benchfloor.Compare(b, func() {
		scalar := make([]byte, 32)
		rand.Read(scalar)
		scalar[0] &= 0x7f
		key, err := ecdsa.ParseRawPrivateKey(elliptic.P256(), scalar)
		if err != nil {
			b.Fatal(err)
		}
		if _, err := key.PublicKey.Bytes(); err != nil {
			b.Fatal(err)
		}
		nonce := make([]byte, 12)
		rand.Read(nonce)
		floor.aead.Seal(nil, nonce, scalar, floor.ad)
		digest := sha256.Sum256(floor.authData)
		if _, err := batch.Sign(nil, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	}, func() {
		if resp := k.HandleCBOR(context.Background(), msg); resp[0] != 0 {
			b.Fatalf("makeCredential: %v", ctap2.Status(resp[0]))
		}
	})
}

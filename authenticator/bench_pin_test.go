package authenticator

import (
	"context"
	"crypto/aes"
	"crypto/cipher"
	"crypto/ecdh"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"io"
	"testing"

	"golang.org/x/crypto/hkdf"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/benchfloor"
)

// BenchmarkGetPinUvAuthToken times getPinUvAuthTokenUsingPinWithPermissions
// with protocol two. Its floor is the cryptography the subcommand cannot
// avoid: one P-256 ECDH, the HKDF of the shared secret, decrypting
// pinHashEnc and encrypting the new token with AES-256-CBC, and hashing
// with SHA-256 once.
func BenchmarkGetPinUvAuthToken(b *testing.B) {
	k := newTestKey(b, nil)
	k.setPIN(2, "1234")
	// The key agreement key changes only after a wrong PIN, so one
	// request can be sent again and again.
	req, _ := k.tokenRequest(2, "1234", PermGetAssertion, "example.org")
	params, err := ctap2.Marshal(req)
	if err != nil {
		b.Fatal(err)
	}
	msg := append([]byte{byte(ctap2.CmdClientPIN)}, params...)

	priv, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	peer, err := ecdh.P256().GenerateKey(rand.Reader)
	if err != nil {
		b.Fatal(err)
	}
	pinHashEnc := make([]byte, 32)
	token := make([]byte, 32)
	out := make([]byte, 48)
	salt := make([]byte, 32)
	floor := func() {
		z, err := priv.ECDH(peer.PublicKey())
		if err != nil {
			b.Fatal(err)
		}
		secret := make([]byte, 64)
		_, _ = io.ReadFull(hkdf.New(sha256.New, z, salt, []byte("CTAP2 HMAC key")), secret[:32])
		_, _ = io.ReadFull(hkdf.New(sha256.New, z, salt, []byte("CTAP2 AES key")), secret[32:])
		block, err := aes.NewCipher(secret[32:])
		if err != nil {
			b.Fatal(err)
		}
		plain := make([]byte, 16)
		cipher.NewCBCDecrypter(block, pinHashEnc[:16]).CryptBlocks(plain, pinHashEnc[16:])
		sha256.Sum256(plain)
		rand.Read(token)
		rand.Read(out[:16])
		cipher.NewCBCEncrypter(block, out[:16]).CryptBlocks(out[16:], token)
	}
	benchfloor.Compare(b, floor, func() {
		if resp := k.HandleCBOR(context.Background(), msg); resp[0] != 0 {
			b.Fatalf("getPinUvAuthTokenUsingPinWithPermissions: %v", ctap2.Status(resp[0]))
		}
	})
}

// BenchmarkGetAssertionPinUvAuthParam times a getAssertion authorised by
// a pinUvAuthToken. Its floor is getAssertion's plus one HMAC-SHA-256.
// The assertions are silent (up=false), which leaves the token usable.
func BenchmarkGetAssertionPinUvAuthParam(b *testing.B) {
	k := newTestKey(b, nil)
	k.Authenticator.presence = AlwaysPresent
	_, reg := k.makeCredential(mcRequest("example.org", "alice"))
	k.setPIN(2, "1234")
	token := k.pinToken(2, "1234", PermGetAssertion, "example.org")
	ga := &ctap2.GetAssertionRequest{
		RPID: "example.org", ClientDataHash: clientDataHash(1), AllowList: allow(reg.Attested.CredentialID),
		Options: map[string]bool{"up": false}, PinUvAuthProtocol: 2,
	}
	ga.PinUvAuthParam = authParam(2, token, ga.ClientDataHash)
	params, err := ctap2.Marshal(ga)
	if err != nil {
		b.Fatal(err)
	}
	msg := append([]byte{byte(ctap2.CmdGetAssertion)}, params...)
	floor := newGetAssertionFloor(b)
	benchfloor.Compare(b, func() {
		floor.run(b)
		mac := hmac.New(sha256.New, token)
		mac.Write(ga.ClientDataHash)
		mac.Sum(nil)
	}, func() {
		if resp := k.HandleCBOR(context.Background(), msg); resp[0] != 0 {
			b.Fatalf("getAssertion: %v", ctap2.Status(resp[0]))
		}
	})
}

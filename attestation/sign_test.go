package attestation

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"errors"
	"io"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

func TestSignVerifies(t *testing.T) {
	msg := []byte("authenticator data followed by client data hash")
	digest := sha256.Sum256(msg)
	for _, cred := range newCredentials(t) {
		t.Run(cred.alg.String(), func(t *testing.T) {
			sig, err := Sign(cred.key, cred.alg, msg)
			if err != nil {
				t.Fatalf("Sign: %v", err)
			}
			switch pub := cred.key.Public().(type) {
			case *ecdsa.PublicKey:
				if !ecdsa.VerifyASN1(pub, digest[:], sig) {
					t.Error("ECDSA signature does not verify")
				}
				if !isDERECDSASignature(sig) {
					t.Errorf("signature %x is not strict DER", sig)
				}
			case ed25519.PublicKey:
				if !ed25519.Verify(pub, msg, sig) {
					t.Error("Ed25519 signature does not verify")
				}
			case *rsa.PublicKey:
				if err := rsa.VerifyPKCS1v15(pub, crypto.SHA256, digest[:], sig); err != nil {
					t.Errorf("RSA signature does not verify: %v", err)
				}
			}
			again, err := Sign(cred.key, cred.alg, msg)
			if err != nil {
				t.Fatalf("Sign again: %v", err)
			}
			if !bytes.Equal(sig, again) {
				t.Errorf("signatures differ between runs:\n%x\n%x", sig, again)
			}
		})
	}
}

func TestSignRejects(t *testing.T) {
	ec, err := ecdsa.GenerateKey(elliptic.P256(), nil)
	if err != nil {
		t.Fatal(err)
	}
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ed := ed25519.NewKeyFromSeed(make([]byte, ed25519.SeedSize))
	tests := []struct {
		name string
		key  crypto.Signer
		alg  ctap2.Alg
		want string
	}{
		{"no key", nil, ctap2.AlgES256, "no key"},
		{"ES256 with Ed25519 key", ed, ctap2.AlgES256, "not a P-256 ECDSA key"},
		{"ES256 with P-384 key", p384, ctap2.AlgES256, "not a P-256 ECDSA key"},
		{"EdDSA with P-256 key", ec, ctap2.AlgEdDSA, "not an Ed25519 key"},
		{"RS256 with P-256 key", ec, ctap2.AlgRS256, "not an RSA key"},
		{"ES384", ec, ctap2.Alg(-35), "unsupported algorithm"},
		{"BER signature", berSigner{ec}, ctap2.AlgES256, "not an ASN.1 DER"},
		{"failing signer", failingSigner{ec}, ctap2.AlgES256, "signer broke"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sig, err := Sign(tt.key, tt.alg, []byte("message"))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Sign = %x, %v; want error containing %q", sig, err, tt.want)
			}
		})
	}
}

// berSigner pads r with a needless zero byte, as some TPM wrappers do.
type berSigner struct{ key *ecdsa.PrivateKey }

func (s berSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s berSigner) Sign(_ io.Reader, digest []byte, _ crypto.SignerOpts) ([]byte, error) {
	// SEQUENCE { INTEGER 00 01, INTEGER 01 }
	return []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01}, nil
}

type failingSigner struct{ key *ecdsa.PrivateKey }

func (s failingSigner) Public() crypto.PublicKey { return s.key.Public() }
func (s failingSigner) Sign(io.Reader, []byte, crypto.SignerOpts) ([]byte, error) {
	return nil, errors.New("signer broke")
}

func TestIsDERECDSASignature(t *testing.T) {
	tests := []struct {
		name string
		sig  []byte
		want bool
	}{
		{"minimal", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x7f}, true},
		{"high bit padded", []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x80, 0x02, 0x01, 0x01}, true},
		{"empty", nil, false},
		{"needless zero", []byte{0x30, 0x07, 0x02, 0x02, 0x00, 0x01, 0x02, 0x01, 0x01}, false},
		{"negative", []byte{0x30, 0x06, 0x02, 0x01, 0x81, 0x02, 0x01, 0x01}, false},
		{"zero", []byte{0x30, 0x06, 0x02, 0x01, 0x00, 0x02, 0x01, 0x01}, false},
		{"empty integer", []byte{0x30, 0x05, 0x02, 0x00, 0x02, 0x01, 0x01}, false},
		{"one integer", []byte{0x30, 0x03, 0x02, 0x01, 0x01}, false},
		{"three integers", []byte{0x30, 0x09, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, false},
		{"trailing byte", []byte{0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01, 0x00}, false},
		{"long-form length", []byte{0x30, 0x81, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01}, false},
		{"raw r||s", bytes.Repeat([]byte{0x11}, 64), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := isDERECDSASignature(tt.sig); got != tt.want {
				t.Errorf("isDERECDSASignature(%x) = %v, want %v", tt.sig, got, tt.want)
			}
		})
	}
}

//go:build tpmsim

package tpmkeys_test

import (
	"context"
	"crypto"
	"crypto/sha256"
	"testing"

	gtsim "github.com/google/go-tpm-tools/simulator"
	"github.com/google/go-tpm/tpm2"
	"github.com/google/go-tpm/tpm2/transport"

	"github.com/softkeydev/softkey/authenticator/keys/tpmkeys"
	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/testvectors/benchfloor"
)

// The benchmarks time an operation and, interleaved in the same loop, the
// bare TPM work it cannot avoid (its floor), and report floor/operation as
// "x-floor": 1.0 means nothing is added to the TPM's own cost.

// signFloor is one bare TPM2_Sign with an ECDSA P-256 key that stays
// loaded: what any TPM-backed assertion has to pay.
type signFloor struct {
	tpm    transport.TPM
	key    tpm2.NamedHandle
	digest []byte
}

// newSignFloor makes the floor's key as a primary key, so it takes one of
// the TPM's three object slots: the backend needs the other two (its
// storage root key and the credential key while it signs).
func newSignFloor(b *testing.B, tpm transport.TPM) *signFloor {
	tmpl := tpm2.TPMTPublic{
		Type:    tpm2.TPMAlgECC,
		NameAlg: tpm2.TPMAlgSHA256,
		ObjectAttributes: tpm2.TPMAObject{
			FixedTPM: true, FixedParent: true, SensitiveDataOrigin: true,
			UserWithAuth: true, NoDA: true, SignEncrypt: true,
		},
		Parameters: tpm2.NewTPMUPublicParms(tpm2.TPMAlgECC, &tpm2.TPMSECCParms{
			Scheme:  tpm2.TPMTECCScheme{Scheme: tpm2.TPMAlgNull},
			CurveID: tpm2.TPMECCNistP256,
		}),
	}
	key, err := tpm2.CreatePrimary{PrimaryHandle: tpm2.TPMRHOwner, InPublic: tpm2.New2B(tmpl)}.Execute(tpm)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _, _ = tpm2.FlushContext{FlushHandle: key.ObjectHandle}.Execute(tpm) })
	digest := sha256.Sum256([]byte("floor"))
	return &signFloor{tpm: tpm, key: tpm2.NamedHandle{Handle: key.ObjectHandle, Name: key.Name}, digest: digest[:]}
}

func (f *signFloor) run(b *testing.B) {
	_, err := tpm2.Sign{
		KeyHandle: f.key,
		Digest:    tpm2.TPM2BDigest{Buffer: f.digest},
		InScheme: tpm2.TPMTSigScheme{
			Scheme:  tpm2.TPMAlgECDSA,
			Details: tpm2.NewTPMUSigScheme(tpm2.TPMAlgECDSA, &tpm2.TPMSSchemeHash{HashAlg: tpm2.TPMAlgSHA256}),
		},
		Validation: tpm2.TPMTTKHashCheck{Tag: tpm2.TPMSTHashCheck, Hierarchy: tpm2.TPMRHNull},
	}.Execute(f.tpm)
	if err != nil {
		b.Fatal(err)
	}
}

// BenchmarkGetAssertionTPM is a whole getAssertion through the engine with
// a TPM credential key, against a bare TPM2_Sign.
func BenchmarkGetAssertionTPM(b *testing.B) {
	k := newTPMKey(b, nil)
	id, _ := k.register("example.org", "alice", ctap2.AlgES256, false)
	params, err := ctap2.Marshal(&ctap2.GetAssertionRequest{
		RPID: "example.org", ClientDataHash: cdh(2),
		AllowList: []ctap2.CredentialDescriptor{{Type: ctap2.PublicKeyCredentialType, ID: id}},
	})
	if err != nil {
		b.Fatal(err)
	}
	msg := append([]byte{byte(ctap2.CmdGetAssertion)}, params...)
	floor := newSignFloor(b, k.tpm)
	benchfloor.Compare(b, func() { floor.run(b) }, func() {
		if resp := k.HandleCBOR(context.Background(), msg); resp[0] != 0 {
			b.Fatalf("getAssertion: %v", ctap2.Status(resp[0]))
		}
	})
}

// BenchmarkSignTPM is the backend's Sign alone (TPM2_Load, TPM2_Sign,
// TPM2_FlushContext) against a bare TPM2_Sign: the price of keeping no key
// loaded between signatures.
func BenchmarkSignTPM(b *testing.B) {
	sim, err := gtsim.Get()
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = sim.Close() })
	tpm := transport.FromReadWriter(sim)
	backend, err := tpmkeys.New(tpmkeys.Config{TPM: tpm})
	if err != nil {
		b.Fatal(err)
	}
	_, key, err := backend.GenerateKey(ctap2.AlgES256)
	if err != nil {
		b.Fatal(err)
	}
	digest := sha256.Sum256([]byte("sign"))
	floor := newSignFloor(b, tpm)
	benchfloor.Compare(b, func() { floor.run(b) }, func() {
		if _, err := key.Sign(nil, digest[:], crypto.SHA256); err != nil {
			b.Fatal(err)
		}
	})
}

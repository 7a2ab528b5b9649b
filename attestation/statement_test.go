package attestation

import (
	"bytes"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"strings"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

func TestNone(t *testing.T) {
	st := None()
	if st.Format != "none" || !bytes.Equal(st.Stmt, []byte{0xa0}) {
		t.Errorf("None() = {%q, %x}, want {\"none\", a0}", st.Format, st.Stmt)
	}
}

// TestStatementEncoding checks that attStmt maps hold exactly the members
// WebAuthn L3 §8.2 defines, in CTAP2 canonical order (alg, sig, x5c).
func TestStatementEncoding(t *testing.T) {
	creds := newCredentials(t)
	batch := newTestBatch(t, 1)
	cdh := clientDataHash("encoding")
	for _, cred := range creds {
		selfAuthData := makeAuthData(t, cred, [16]byte{}, []byte("id"))
		fullAuthData := makeAuthData(t, cred, testAAGUID, []byte("id"))
		self, err := Self(selfAuthData, cdh, cred.key, cred.alg)
		if err != nil {
			t.Fatalf("Self(%v): %v", cred.alg, err)
		}
		full, err := Packed(fullAuthData, cdh, batch.Key, batch.Chain)
		if err != nil {
			t.Fatalf("Packed: %v", err)
		}
		tests := []struct {
			name    string
			st      Statement
			wantAlg ctap2.Alg
			wantX5C [][]byte
		}{
			{"self/" + cred.alg.String(), self, cred.alg, nil},
			{"packed/" + cred.alg.String(), full, ctap2.AlgES256, batch.Chain},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				if tt.st.Format != "packed" {
					t.Errorf("Format = %q, want packed", tt.st.Format)
				}
				var decoded struct {
					Alg ctap2.Alg `cbor:"alg"`
					Sig []byte    `cbor:"sig"`
					X5C [][]byte  `cbor:"x5c"`
				}
				if err := ctap2.Unmarshal(tt.st.Stmt, &decoded); err != nil {
					t.Fatalf("decoding attStmt %x: %v", tt.st.Stmt, err)
				}
				if decoded.Alg != tt.wantAlg {
					t.Errorf("alg = %v, want %v", decoded.Alg, tt.wantAlg)
				}
				if len(decoded.Sig) == 0 {
					t.Error("sig is empty")
				}
				if len(decoded.X5C) != len(tt.wantX5C) {
					t.Fatalf("x5c has %d certificates, want %d", len(decoded.X5C), len(tt.wantX5C))
				}
				for i := range tt.wantX5C {
					if !bytes.Equal(decoded.X5C[i], tt.wantX5C[i]) {
						t.Errorf("x5c[%d] differs from the chain", i)
					}
				}
				var members map[string]ctap2.RawMessage
				if err := ctap2.Unmarshal(tt.st.Stmt, &members); err != nil {
					t.Fatal(err)
				}
				wantMembers := 2
				if tt.wantX5C != nil {
					wantMembers = 3
				}
				if len(members) != wantMembers {
					t.Errorf("attStmt has %d members, want %d", len(members), wantMembers)
				}
				// Canonical order: "alg" first, then "sig", then "x5c".
				head := []byte{0xa0 | byte(wantMembers), 0x63, 'a', 'l', 'g'}
				if !bytes.HasPrefix(tt.st.Stmt, head) {
					t.Errorf("attStmt starts %x, want %x", tt.st.Stmt[:min(len(tt.st.Stmt), 8)], head)
				}
				sigAt := bytes.Index(tt.st.Stmt, []byte{0x63, 's', 'i', 'g'})
				x5cAt := bytes.Index(tt.st.Stmt, []byte{0x63, 'x', '5', 'c'})
				if sigAt < 0 || (tt.wantX5C != nil && x5cAt < sigAt) {
					t.Errorf("members out of canonical order: sig at %d, x5c at %d", sigAt, x5cAt)
				}
				again, err := ctap2.Marshal(packedStmt{Alg: decoded.Alg, Sig: decoded.Sig, X5C: decoded.X5C})
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(again, tt.st.Stmt) {
					t.Errorf("re-encoding attStmt gives\n%x\nwant\n%x", again, tt.st.Stmt)
				}
			})
		}
	}
}

// TestDeterministic checks that a statement reproduces byte for byte.
func TestDeterministic(t *testing.T) {
	creds := newCredentials(t)
	batch := newTestBatch(t, 1)
	cdh := clientDataHash("deterministic")
	for _, cred := range creds {
		authData := makeAuthData(t, cred, testAAGUID, []byte("id"))
		for name, build := range map[string]func() (Statement, error){
			"self":   func() (Statement, error) { return Self(authData, cdh, cred.key, cred.alg) },
			"packed": func() (Statement, error) { return Packed(authData, cdh, batch.Key, batch.Chain) },
		} {
			a, errA := build()
			b, errB := build()
			if errA != nil || errB != nil {
				t.Fatalf("%s/%v: %v, %v", name, cred.alg, errA, errB)
			}
			if !bytes.Equal(a.Stmt, b.Stmt) {
				t.Errorf("%s/%v: statements differ between runs", name, cred.alg)
			}
		}
	}
}

func TestStatementRejects(t *testing.T) {
	creds := newCredentials(t)
	batch := newTestBatch(t, 1)
	cred := creds[0]
	authData := makeAuthData(t, cred, testAAGUID, []byte("id"))
	cdh := clientDataHash("rejects")
	p384, err := ecdsa.GenerateKey(elliptic.P384(), nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		make func() (Statement, error)
		want string
	}{
		{"self/short authData", func() (Statement, error) { return Self(authData[:36], cdh, cred.key, cred.alg) }, "shorter than 37"},
		{"self/short clientDataHash", func() (Statement, error) { return Self(authData, cdh[:31], cred.key, cred.alg) }, "client data hash is 31 bytes"},
		{"self/alg does not fit key", func() (Statement, error) { return Self(authData, cdh, cred.key, ctap2.AlgEdDSA) }, "not an Ed25519 key"},
		{"self/no key", func() (Statement, error) { return Self(authData, cdh, nil, cred.alg) }, "no key"},
		{"packed/long clientDataHash", func() (Statement, error) { return Packed(authData, append(cdh, 0), batch.Key, batch.Chain) }, "client data hash is 33 bytes"},
		{"packed/no key", func() (Statement, error) { return Packed(authData, cdh, nil, batch.Chain) }, "no attestation key"},
		{"packed/no chain", func() (Statement, error) { return Packed(authData, cdh, batch.Key, nil) }, "empty certificate chain"},
		{"packed/empty certificate", func() (Statement, error) { return Packed(authData, cdh, batch.Key, [][]byte{batch.Chain[0], nil}) }, "certificate 1 of the chain is empty"},
		{"packed/P-384 key", func() (Statement, error) { return Packed(authData, cdh, p384, batch.Chain) }, "unsupported ECDSA curve P-384"},
		{"packed/non-standard key", func() (Statement, error) { return Packed(authData, cdh, opaqueSigner{}, batch.Chain) }, "unsupported key type"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			st, err := tt.make()
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("got %+v, %v; want error containing %q", st, err, tt.want)
			}
		})
	}
}

// opaqueSigner has a public key type no COSE algorithm here covers.
type opaqueSigner struct{ crypto.Signer }

func (opaqueSigner) Public() crypto.PublicKey { return struct{}{} }

package attestation

import (
	"crypto/ecdsa"
	"crypto/x509"
	"strings"
	"testing"

	"github.com/go-webauthn/webauthn/metadata"
	"github.com/go-webauthn/webauthn/metadata/providers/memory"
	"github.com/go-webauthn/webauthn/protocol"
	"github.com/go-webauthn/webauthn/protocol/webauthncbor"
	"github.com/go-webauthn/webauthn/protocol/webauthncose"
	"github.com/google/uuid"

	"github.com/softkeydev/softkey/ctap2"
)

// oracleCase is one attestation object for the external verifiers.
type oracleCase struct {
	name      string
	attObj    []byte
	cdh       []byte // the clientDataHash the relying party computed
	trustRoot *x509.Certificate
	wantOK    bool
	wantGo    string // go-webauthn attestation type
	wantPy    string // python-fido2 AttestationType name

	// extraAnchors are further certificates the relying party's metadata
	// lists beside trustRoot (the intermediate, for fido-u2f).
	extraAnchors []*x509.Certificate
	// keyID is the attestation certificate's key identifier, under which
	// metadata lists a zero-AAGUID (fido-u2f) authenticator.
	keyID string
	// except maps a verifier to the documented reason its verdict is the
	// opposite of wantOK.
	except map[string]string
	// goReason is part of go-webauthn's reason for refusing the case.
	goReason string
}

// oracleCases builds the statements every external verifier checks: each
// format with each credential algorithm, and the negative cases a strict
// relying party must refuse.
func oracleCases(t *testing.T) []oracleCase {
	t.Helper()
	creds := newCredentials(t)
	batch := newTestBatch(t, 1)
	otherBatch := newTestBatch(t, 2)
	credID := []byte("credential-id-0123456789abcdef")
	var cases []oracleCase

	for _, cred := range creds {
		name := cred.alg.String()
		cdh := clientDataHash("none-" + name)
		authData := makeAuthData(t, cred, testAAGUID, credID)
		cases = append(cases, oracleCase{
			name: "none/" + name, attObj: attestationObject(t, None(), authData), cdh: cdh,
			wantOK: true, wantGo: "none", wantPy: "NONE",
		})

		cdh = clientDataHash("self-" + name)
		authData = makeAuthData(t, cred, [16]byte{}, credID)
		st, err := Self(authData, cdh, cred.key, cred.alg)
		if err != nil {
			t.Fatalf("Self(%v): %v", cred.alg, err)
		}
		cases = append(cases, oracleCase{
			name: "self/" + name, attObj: attestationObject(t, st, authData), cdh: cdh,
			wantOK: true, wantGo: "basic_surrogate", wantPy: "SELF",
		})
		cases = append(cases, oracleCase{
			name: "self/" + name + "/other client data", attObj: attestationObject(t, st, authData),
			cdh: clientDataHash("something else"),
		})

		for _, chain := range []struct {
			label string
			certs [][]byte
		}{{"full chain", batch.Chain}, {"without root", batch.Chain[:2]}} {
			cdh = clientDataHash("packed-" + name + chain.label)
			authData = makeAuthData(t, cred, testAAGUID, credID)
			st, err = Packed(authData, cdh, batch.Key, chain.certs)
			if err != nil {
				t.Fatalf("Packed(%v): %v", cred.alg, err)
			}
			cases = append(cases, oracleCase{
				name: "packed/" + name + "/" + chain.label, attObj: attestationObject(t, st, authData), cdh: cdh,
				trustRoot: batch.Root(), wantOK: true, wantGo: "basic_full", wantPy: "BASIC",
			})
		}
	}

	// Negative packed cases, ES256 credential.
	cred := creds[0]
	cdh := clientDataHash("packed-negative")
	wrongAAGUID := testAAGUID
	wrongAAGUID[15] ^= 1
	authData := makeAuthData(t, cred, wrongAAGUID, credID)
	st, err := Packed(authData, cdh, batch.Key, batch.Chain[:2])
	if err != nil {
		t.Fatalf("Packed: %v", err)
	}
	cases = append(cases, oracleCase{
		name: "packed/AAGUID differs from certificate", attObj: attestationObject(t, st, authData), cdh: cdh,
		trustRoot: batch.Root(), except: map[string]string{verifierLibfido2: noAAGUIDCheck},
	})

	authData = makeAuthData(t, cred, testAAGUID, credID)
	st, err = Packed(authData, cdh, batch.Key, batch.Chain[:2])
	if err != nil {
		t.Fatalf("Packed: %v", err)
	}
	cases = append(cases, oracleCase{
		name: "packed/untrusted root", attObj: attestationObject(t, st, authData), cdh: cdh,
		trustRoot: otherBatch.Root(), except: map[string]string{verifierLibfido2: noChain},
	})
	st, err = Packed(authData, cdh, otherBatch.Key, batch.Chain[:2])
	if err != nil {
		t.Fatalf("Packed: %v", err)
	}
	cases = append(cases, oracleCase{
		name: "packed/signed by another batch key", attObj: attestationObject(t, st, authData), cdh: cdh,
		trustRoot: batch.Root(),
	})

	// fido-u2f (WebAuthn L3 §8.6) carries U2FRegisterSignature unchanged.
	cdh = clientDataHash("fido-u2f")
	authData = makeAuthData(t, cred, [16]byte{}, credID)
	point, err := cred.key.Public().(*ecdsa.PublicKey).Bytes()
	if err != nil {
		t.Fatal(err)
	}
	rpIDHash := ctap2.RPIDHash(testRPID)
	sig, err := U2FRegisterSignature(batch.Key, rpIDHash[:], cdh, credID, point)
	if err != nil {
		t.Fatalf("U2FRegisterSignature: %v", err)
	}
	stmt, err := ctap2.Marshal(struct {
		Sig []byte   `cbor:"sig"`
		X5C [][]byte `cbor:"x5c"`
	}{sig, batch.Chain[:1]})
	if err != nil {
		t.Fatal(err)
	}
	u2fObj := attestationObject(t, Statement{Format: "fido-u2f", Stmt: stmt}, authData)
	cases = append(cases,
		oracleCase{name: "fido-u2f/ES256", attObj: u2fObj, cdh: cdh, wantOK: true, wantGo: "basic_full", wantPy: "BASIC"},
		oracleCase{name: "fido-u2f/ES256/other client data", attObj: u2fObj, cdh: clientDataHash("x")},
	)
	return append(cases, formatOracleCases(t, creds)...)
}

// TestGoWebAuthn runs go-webauthn's registration steps 13–19 (WebAuthn L3
// §7.1) on every case, with a metadata provider holding the batch root as
// trust anchor whenever the case names one.
func TestGoWebAuthn(t *testing.T) {
	params := []protocol.CredentialParameter{
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgES256},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgEdDSA},
		{Type: protocol.PublicKeyCredentialType, Algorithm: webauthncose.AlgRS256},
	}
	for _, tc := range oracleCases(t) {
		t.Run(tc.name, func(t *testing.T) {
			var obj protocol.AttestationObject
			if err := webauthncbor.Unmarshal(tc.attObj, &obj); err != nil {
				t.Fatalf("decoding attestation object: %v", err)
			}
			if err := obj.AuthData.Unmarshal(obj.RawAuthData); err != nil {
				t.Fatalf("decoding authenticator data: %v", err)
			}
			var mds metadata.Provider
			if tc.trustRoot != nil {
				entry := &metadata.Entry{
					AaGUID: uuid.UUID(testAAGUID),
					MetadataStatement: metadata.Statement{
						AaGUID:                      uuid.UUID(testAAGUID),
						Description:                 "softkey test model",
						AttestationTypes:            metadata.AuthenticatorAttestationTypes{metadata.BasicFull, metadata.AttCA},
						AttestationRootCertificates: append([]*x509.Certificate{tc.trustRoot}, tc.extraAnchors...),
					},
				}
				opts := []memory.Option{memory.WithMetadata(map[uuid.UUID]*metadata.Entry{uuid.UUID(testAAGUID): entry})}
				if tc.keyID != "" {
					opts = append(opts,
						memory.WithMetadataKeyIdentifiers(map[string]*metadata.Entry{tc.keyID: entry}),
						memory.WithValidateEntryKeyIdentifier(true))
				}
				var err error
				if mds, err = memory.New(opts...); err != nil {
					t.Fatalf("building metadata provider: %v", err)
				}
			}
			err := obj.Verify(testRPID, tc.cdh, true, true, mds, params, protocol.AttestationPolicy{}, protocol.SignaturePolicy{})
			wantOK, why := tc.expectOK(verifierGoWebAuthn)
			if wantOK != tc.wantOK {
				t.Logf("go-webauthn is expected to differ: %s", why)
			}
			if wantOK {
				if err != nil {
					t.Fatalf("go-webauthn rejected the attestation: %v (%s)", err, protocolDetail(err))
				}
				if tc.wantOK && obj.Type != tc.wantGo {
					t.Errorf("attestation type = %q, want %q", obj.Type, tc.wantGo)
				}
				return
			}
			if err == nil {
				t.Fatalf("go-webauthn accepted the attestation (type %q), want rejection", obj.Type)
			}
			reason := err.Error() + " " + protocolDetail(err)
			if tc.goReason != "" && !strings.Contains(reason, tc.goReason) {
				t.Errorf("go-webauthn's reason %q does not mention %q", reason, tc.goReason)
			}
			t.Logf("rejected as expected: %s", reason)
		})
	}
}

// protocolDetail digs out go-webauthn's developer detail.
func protocolDetail(err error) string {
	if e, ok := err.(*protocol.Error); ok {
		return e.Details + " " + e.DevInfo
	}
	return ""
}

package authenticator

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/rsa"
	"crypto/sha256"
	"crypto/x509"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

// verifySignature checks sig over msg with a COSE public key.
func verifySignature(t *testing.T, coseKey, msg, sig []byte) {
	t.Helper()
	alg, pub, err := ctap2.ParseCOSEKey(coseKey)
	require.NoError(t, err)
	verifyWith(t, alg, pub, msg, sig)
}

func verifyWith(t *testing.T, alg ctap2.Alg, pub crypto.PublicKey, msg, sig []byte) {
	t.Helper()
	digest := sha256.Sum256(msg)
	switch alg {
	case ctap2.AlgES256:
		require.True(t, ecdsa.VerifyASN1(pub.(*ecdsa.PublicKey), digest[:], sig), "ES256 signature does not verify")
	case ctap2.AlgEdDSA:
		require.True(t, ed25519.Verify(pub.(ed25519.PublicKey), msg, sig), "EdDSA signature does not verify")
	case ctap2.AlgRS256:
		require.NoError(t, rsa.VerifyPKCS1v15(pub.(*rsa.PublicKey), crypto.SHA256, digest[:], sig))
	default:
		t.Fatalf("unexpected alg %v", alg)
	}
}

type packedStatement struct {
	Alg ctap2.Alg `cbor:"alg"`
	Sig []byte    `cbor:"sig"`
	X5C [][]byte  `cbor:"x5c"`
}

func TestMakeCredentialPackedAttestation(t *testing.T) {
	for _, alg := range []ctap2.Alg{ctap2.AlgES256, ctap2.AlgEdDSA, ctap2.AlgRS256} {
		t.Run(alg.String(), func(t *testing.T) {
			k := newTestKey(t, nil)
			k.skipUnlessBackendMakes(alg)
			req := mcRequest("example.org", "alice", ctap2.Alg(-999), alg) // unknown algs are skipped
			resp, ad := k.makeCredential(req)

			require.Equal(t, "packed", resp.Format)
			require.Equal(t, ctap2.RPIDHash("example.org"), ad.RPIDHash)
			require.Equal(t, ctap2.FlagUP|ctap2.FlagAT, ad.Flags)
			require.Equal(t, uint32(0), ad.SignCount)
			require.Equal(t, [16]byte(k.profile.AAGUID), ad.Attested.AAGUID)
			gotAlg, _, err := ctap2.ParseCOSEKey(ad.Attested.PublicKey)
			require.NoError(t, err)
			require.Equal(t, alg, gotAlg)

			var stmt packedStatement
			require.NoError(t, ctap2.Unmarshal(resp.AttStmt, &stmt))
			require.Equal(t, ctap2.AlgES256, stmt.Alg, "batch key is P-256")
			require.Len(t, stmt.X5C, 3)
			leaf, err := x509.ParseCertificate(stmt.X5C[0])
			require.NoError(t, err)
			verifyWith(t, stmt.Alg, leaf.PublicKey, append(resp.AuthData, req.ClientDataHash...), stmt.Sig)
			require.Len(t, k.presence.requests, 1)
			require.Equal(t, PresenceRequest{Operation: "register", RPID: "example.org", UserName: "alice"}, k.presence.requests[0])
		})
	}
}

func TestMakeCredentialSelfAndNoneAttestation(t *testing.T) {
	for _, alg := range []ctap2.Alg{ctap2.AlgEdDSA, ctap2.AlgES256} {
		t.Run("self "+alg.String(), func(t *testing.T) {
			p := DefaultProfile()
			p.Attestation = AttestationSelf
			k := newTestKey(t, p)
			k.skipUnlessBackendMakes(alg)
			req := mcRequest("example.org", "alice", alg)
			resp, ad := k.makeCredential(req)
			require.Equal(t, "packed", resp.Format)
			var stmt packedStatement
			require.NoError(t, ctap2.Unmarshal(resp.AttStmt, &stmt))
			require.Equal(t, alg, stmt.Alg, "self attestation signs with the credential key")
			require.Nil(t, stmt.X5C)
			verifySignature(t, ad.Attested.PublicKey, append(resp.AuthData, req.ClientDataHash...), stmt.Sig)
		})
	}

	p := DefaultProfile()
	p.Attestation = AttestationNone
	k := newTestKey(t, p)
	resp, _ := k.makeCredential(mcRequest("example.org", "alice"))
	require.Equal(t, "none", resp.Format)
	require.Equal(t, []byte{0xa0}, []byte(resp.AttStmt))
}

func TestMakeCredentialBackupFlagsAndGlobalCounter(t *testing.T) {
	p := DefaultProfile()
	p.BackupEligible, p.BackupState = true, true
	p.Counter = CounterGlobal
	k := newTestKey(t, p)
	_, ad1 := k.makeCredential(mcRequest("example.org", "alice"))
	_, ad2 := k.makeCredential(mcRequest("example.com", "bob"))
	require.Equal(t, ctap2.FlagUP|ctap2.FlagBE|ctap2.FlagBS|ctap2.FlagAT, ad1.Flags)
	require.Equal(t, uint32(1), ad1.SignCount)
	require.Equal(t, uint32(2), ad2.SignCount)
}

func TestMakeCredentialDiscoverableReplacesSameUser(t *testing.T) {
	k := newTestKey(t, nil)
	req := mcRequest("example.org", "alice")
	req.Options = map[string]bool{"rk": true}
	_, first := k.makeCredential(req)
	_, second := k.makeCredential(req)
	creds, err := k.store.Credentials()
	require.NoError(t, err)
	require.Len(t, creds, 1, "same RP and user must replace")
	require.Equal(t, second.Attested.CredentialID, creds[0].ID)
	require.NotEqual(t, first.Attested.CredentialID, creds[0].ID)
	require.Equal(t, "alice", creds[0].User.Name)
}

func TestMakeCredentialExcludeList(t *testing.T) {
	k := newTestKey(t, nil)
	_, ad := k.makeCredential(mcRequest("example.org", "alice"))
	id := ad.Attested.CredentialID

	req := mcRequest("example.org", "alice")
	req.ExcludeList = allow([]byte("not ours"), id)
	status, _ := k.do(ctap2.CmdMakeCredential, req)
	require.Equal(t, ctap2.ErrCredentialExcluded, status)
	require.Len(t, k.presence.requests, 2, "an excluded credential is revealed only after a touch")

	// The same ID means nothing to another RP.
	req = mcRequest("example.com", "alice")
	req.ExcludeList = allow(id)
	status, _ = k.do(ctap2.CmdMakeCredential, req)
	require.Equal(t, ctap2.StatusOK, status)
}

func TestMakeCredentialKeyStoreFull(t *testing.T) {
	p := DefaultProfile()
	p.MaxDiscoverableCredentials = 2
	k := newTestKey(t, p)
	for _, user := range []string{"a", "b"} {
		req := mcRequest("example.org", user)
		req.Options = map[string]bool{"rk": true}
		k.makeCredential(req)
	}
	req := mcRequest("example.org", "c")
	req.Options = map[string]bool{"rk": true}
	status, _ := k.do(ctap2.CmdMakeCredential, req)
	require.Equal(t, ctap2.ErrKeyStoreFull, status)

	// Replacing an existing user's credential still works when full.
	req = mcRequest("example.org", "a")
	req.Options = map[string]bool{"rk": true}
	status, _ = k.do(ctap2.CmdMakeCredential, req)
	require.Equal(t, ctap2.StatusOK, status)

	var info ctap2.GetInfoResponse
	status, body := k.do(ctap2.CmdGetInfo, nil)
	require.Equal(t, ctap2.StatusOK, status)
	require.NoError(t, ctap2.Unmarshal(body, &info))
	require.NotNil(t, info.RemainingDiscoverableCredentials)
	require.Equal(t, uint64(0), *info.RemainingDiscoverableCredentials)
}

func TestSeededRunsAreByteIdentical(t *testing.T) {
	p := DefaultProfile()
	p.Attestation = AttestationSelf
	run := func() [][]byte {
		k := newTestKey(t, p)
		k.skipUnlessSeededKeys()
		var out [][]byte
		for _, alg := range []ctap2.Alg{ctap2.AlgES256, ctap2.AlgEdDSA} {
			status, body := k.do(ctap2.CmdMakeCredential, mcRequest("example.org", "alice", alg))
			require.Equal(t, ctap2.StatusOK, status)
			out = append(out, body)
		}
		return out
	}
	require.Equal(t, run(), run())
}

package authenticator

import (
	"crypto/x509"
	"encoding/asn1"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/attestation"
	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// newCAKey returns a test key whose attestation certificates come from ca.
func newCAKey(t *testing.T, p *Profile, ca *attestation.CA) *testKey {
	t.Helper()
	k := &testKey{t: t, store: &store.Memory{}, clock: &testClock{t: time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)}, presence: &testPresence{}}
	rnd := rand.NewChaCha8([32]byte{7})
	a, err := New(Config{Profile: p, Store: k.store, Keys: keys.NewSoftware(rnd), Presence: k.presence, Rand: rnd, Now: k.clock.now, CA: ca})
	require.NoError(t, err)
	k.Authenticator = a
	return k
}

// attestationChain registers a credential and returns the parsed x5c.
func attestationChain(t *testing.T, k *testKey, req *ctap2.MakeCredentialRequest) ([]*x509.Certificate, *ctap2.MakeCredentialResponse) {
	t.Helper()
	resp, _ := k.makeCredential(req)
	var stmt packedStatement
	require.NoError(t, ctap2.Unmarshal(resp.AttStmt, &stmt))
	var chain []*x509.Certificate
	for _, der := range stmt.X5C {
		c, err := x509.ParseCertificate(der)
		require.NoError(t, err)
		chain = append(chain, c)
	}
	require.NotEmpty(t, chain)
	return chain, resp
}

func certAAGUID(t *testing.T, c *x509.Certificate) []byte {
	for _, ext := range c.Extensions {
		if ext.Id.Equal(asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 4}) {
			var v []byte
			_, err := asn1.Unmarshal(ext.Value, &v)
			require.NoError(t, err)
			return v
		}
	}
	t.Fatal("no AAGUID extension")
	return nil
}

func TestAttestationFromConfiguredCA(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ca, err := attestation.NewCA(rand.NewChaCha8([32]byte{1}), now, "Example Vendor")
	require.NoError(t, err)
	p := DefaultProfile()

	chain, _ := attestationChain(t, newCAKey(t, p, ca), mcRequest("example.org", "alice"))
	require.True(t, chain[len(chain)-1].Equal(ca.Root), "chain ends at the configured root")
	require.Equal(t, p.AAGUID[:], certAAGUID(t, chain[0]))
	require.True(t, chain[0].NotBefore.Before(now) && chain[0].NotAfter.After(now))

	tests := []struct {
		name  string
		neg   Negative
		check func(t *testing.T, chain []*x509.Certificate)
	}{
		{"expired", Negative{CertificateExpired: true}, func(t *testing.T, c []*x509.Certificate) {
			require.True(t, c[0].NotAfter.Before(now))
		}},
		{"not yet valid", Negative{CertificateNotYetValid: true}, func(t *testing.T, c []*x509.Certificate) {
			require.True(t, c[0].NotBefore.After(now))
		}},
		{"AAGUID mismatch", Negative{CertificateAAGUIDMismatch: true}, func(t *testing.T, c []*x509.Certificate) {
			require.NotEqual(t, p.AAGUID[:], certAAGUID(t, c[0]))
		}},
		{"foreign root", Negative{ForeignRoot: true}, func(t *testing.T, c []*x509.Certificate) {
			require.False(t, c[len(c)-1].Equal(ca.Root))
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultProfile()
			p.Negative = tt.neg
			chain, _ := attestationChain(t, newCAKey(t, p, ca), mcRequest("example.org", "alice"))
			tt.check(t, chain)
		})
	}
}

func TestEnterpriseAttestationCertificate(t *testing.T) {
	p := DefaultProfile()
	p.EnterpriseAttestation = EnterpriseVendor
	p.EnterpriseRPIDs = []string{"corp.example"}
	k := newTestKey(t, p)

	// With authenticatorConfig, enterprise attestation is off until
	// enableEnterpriseAttestation (CTAP 2.1 §6.11.1).
	req := mcRequest("corp.example", "alice")
	req.EnterpriseAttestation = 1
	status, _ := k.do(ctap2.CmdMakeCredential, req)
	require.Equal(t, ctap2.ErrInvalidParameter, status, "enterprise attestation before enableEnterpriseAttestation")
	require.False(t, k.info().Options["ep"])
	status, _ = k.do(ctap2.CmdConfig, map[int]any{1: ctap2.ConfigEnableEnterpriseAttestation})
	require.Equal(t, ctap2.StatusOK, status, "enableEnterpriseAttestation")
	require.True(t, k.info().Options["ep"])

	sernum := asn1.ObjectIdentifier{1, 3, 6, 1, 4, 1, 45724, 1, 1, 2}
	hasSernum := func(c *x509.Certificate) bool {
		for _, ext := range c.Extensions {
			if ext.Id.Equal(sernum) {
				return true
			}
		}
		return false
	}
	chain, resp := attestationChain(t, k, req)
	require.True(t, resp.EPAtt)
	require.True(t, hasSernum(chain[0]), "enterprise certificate carries the device serial")

	req = mcRequest("example.org", "alice")
	req.EnterpriseAttestation = 1
	chain, resp = attestationChain(t, k, req)
	require.False(t, resp.EPAtt, "unlisted RP gets ordinary attestation")
	require.False(t, hasSernum(chain[0]), "sernum never in an ordinary batch certificate")
}

func TestConfiguredBatchIsUsedAsIs(t *testing.T) {
	now := time.Date(2026, 11, 23, 12, 0, 0, 0, time.UTC)
	ca, err := attestation.NewCA(rand.NewChaCha8([32]byte{1}), now, "Example Vendor")
	require.NoError(t, err)
	p := DefaultProfile()
	batch, err := ca.IssueBatch(rand.NewChaCha8([32]byte{2}), now, p.AAGUID, attestation.BatchOptions{})
	require.NoError(t, err)

	a, err := New(Config{Profile: p, Store: &store.Memory{}, Keys: keys.NewSoftware(nil), Batch: batch, Now: func() time.Time { return now }})
	require.NoError(t, err)
	k := &testKey{Authenticator: a, t: t, presence: &testPresence{}}
	chain, _ := attestationChain(t, k, mcRequest("example.org", "alice"))
	require.Equal(t, batch.Chain[0], chain[0].Raw)

	other := DefaultProfile()
	other.AAGUID[0] ^= 1
	_, err = New(Config{Profile: other, Store: &store.Memory{}, Keys: keys.NewSoftware(nil), Batch: batch})
	require.ErrorContains(t, err, "batch certificate")
}

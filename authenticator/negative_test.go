package authenticator

import (
	"math"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestNegativeSwitches(t *testing.T) {
	register := func(t *testing.T, neg Negative) (*testKey, *ctap2.MakeCredentialResponse, *ctap2.AuthData) {
		p := DefaultProfile()
		p.Negative = neg
		k := newTestKey(t, p)
		resp, ad := k.makeCredential(mcRequest("example.org", "alice"))
		return k, resp, ad
	}
	assert := func(k *testKey, id []byte) (*ctap2.GetAssertionResponse, *ctap2.AuthData) {
		resp := k.getAssertion(&ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(1), AllowList: allow(id)})
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)
		return resp, ad
	}

	t.Run("bad UP", func(t *testing.T) {
		k, _, reg := register(t, Negative{BadUP: true})
		require.Zero(t, reg.Flags&ctap2.FlagUP)
		_, ad := assert(k, reg.Attested.CredentialID)
		require.Zero(t, ad.Flags&ctap2.FlagUP)
		require.NotEmpty(t, k.presence.requests, "the touch is still asked for")
	})
	t.Run("inconsistent backup flags", func(t *testing.T) {
		_, _, reg := register(t, Negative{InconsistentBackupFlags: true})
		require.Equal(t, ctap2.FlagBS, reg.Flags&(ctap2.FlagBE|ctap2.FlagBS))
	})
	t.Run("counter backwards", func(t *testing.T) {
		k, _, reg := register(t, Negative{CounterBackwards: true})
		require.Equal(t, uint32(math.MaxUint32), reg.SignCount)
		_, first := assert(k, reg.Attested.CredentialID)
		_, second := assert(k, reg.Attested.CredentialID)
		require.Less(t, first.SignCount, reg.SignCount)
		require.Less(t, second.SignCount, first.SignCount)
	})
	t.Run("bogus assertion signature", func(t *testing.T) {
		k, resp, reg := register(t, Negative{BogusSignature: "assertion"})
		var stmt packedStatement
		require.NoError(t, ctap2.Unmarshal(resp.AttStmt, &stmt))
		require.NotEqual(t, make([]byte, len(stmt.Sig)), stmt.Sig, "attestation untouched")
		got, _ := assert(k, reg.Attested.CredentialID)
		require.NotEmpty(t, got.Signature)
		require.Equal(t, make([]byte, len(got.Signature)), got.Signature)
	})
	t.Run("bogus attestation signature", func(t *testing.T) {
		k, resp, reg := register(t, Negative{BogusSignature: "attestation"})
		var stmt packedStatement
		require.NoError(t, ctap2.Unmarshal(resp.AttStmt, &stmt))
		require.Len(t, stmt.X5C, 3, "the rest of the statement stays")
		require.Equal(t, make([]byte, len(stmt.Sig)), stmt.Sig)
		got, _ := assert(k, reg.Attested.CredentialID)
		verifySignature(t, reg.Attested.PublicKey, append(got.AuthData, clientDataHash(1)...), got.Signature)
	})
}

func TestAttestationFormatPreference(t *testing.T) {
	p := DefaultProfile()
	p.AttestationFormats = []string{AttestationPacked, AttestationSelf}
	k := newTestKey(t, p)

	var info ctap2.GetInfoResponse
	_, body := k.do(ctap2.CmdGetInfo, nil)
	require.NoError(t, ctap2.Unmarshal(body, &info))
	require.Equal(t, []string{"packed", "none"}, info.AttestationFormats)

	tests := []struct {
		preference []string
		want       string
	}{
		{nil, "packed"},
		{[]string{"none", "packed"}, "none"},
		{[]string{"apple", "packed"}, "packed"},
		{[]string{"apple"}, "packed"},
	}
	for _, tt := range tests {
		req := mcRequest("example.org", "alice")
		req.AttestationFormatsPreference = tt.preference
		resp, _ := k.makeCredential(req)
		require.Equal(t, tt.want, resp.Format, "preference %v", tt.preference)
	}
}

func TestEnterpriseAttestationRequests(t *testing.T) {
	tests := []struct {
		name      string
		mode      string
		config    bool // the key has authenticatorConfig
		enable    bool // enableEnterpriseAttestation is sent first
		requested uint64
		rpID      string
		want      bool
		status    ctap2.Status
	}{
		{"not requested", EnterpriseVendor, false, false, 0, "corp.example", false, ctap2.StatusOK},
		{"vendor, listed RP", EnterpriseVendor, false, false, 1, "corp.example", true, ctap2.StatusOK},
		{"vendor, other RP", EnterpriseVendor, false, false, 1, "example.org", false, ctap2.StatusOK},
		{"vendor treats 2 like 1", EnterpriseVendor, false, false, 2, "example.org", false, ctap2.StatusOK},
		{"platform-managed", EnterprisePlatform, false, false, 2, "example.org", true, ctap2.StatusOK},
		{"platform mode, vendor request, unlisted", EnterprisePlatform, false, false, 1, "example.org", false, ctap2.StatusOK},
		{"unsupported", "", false, false, 1, "corp.example", false, ctap2.ErrInvalidParameter},
		{"bad value", EnterpriseVendor, false, false, 3, "corp.example", false, ctap2.ErrInvalidOption},
		// CTAP 2.1 §6.1.2 step 9.1: disabled is answered like unsupported.
		{"disabled by authenticatorConfig", EnterpriseVendor, true, false, 1, "corp.example", false, ctap2.ErrInvalidParameter},
		{"disabled, bad value", EnterprisePlatform, true, false, 3, "corp.example", false, ctap2.ErrInvalidParameter},
		{"disabled, not requested", EnterpriseVendor, true, false, 0, "corp.example", false, ctap2.StatusOK},
		{"enabled by authenticatorConfig", EnterpriseVendor, true, true, 1, "corp.example", true, ctap2.StatusOK},
		{"enabled, platform-managed", EnterprisePlatform, true, true, 2, "example.org", true, ctap2.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p := DefaultProfile()
			p.EnterpriseAttestation = tt.mode
			p.EnterpriseRPIDs = []string{"corp.example"}
			p.AuthenticatorConfig, p.SetMinPINLength = tt.config, tt.config
			k := newTestKey(t, p)
			if tt.enable {
				status, _ := k.do(ctap2.CmdConfig, map[int]any{1: ctap2.ConfigEnableEnterpriseAttestation})
				require.Equal(t, ctap2.StatusOK, status, "enableEnterpriseAttestation")
			}
			got, err := k.enterpriseAttestation(tt.requested, tt.rpID)
			require.Equal(t, tt.status, statusOf(err), "enterpriseAttestation(%d, %q): %v", tt.requested, tt.rpID, err)
			require.Equal(t, tt.want, got, "enterpriseAttestation(%d, %q)", tt.requested, tt.rpID)
		})
	}
}

func TestAttestationModes(t *testing.T) {
	tests := []struct {
		mode       string
		alg        ctap2.Alg
		want       string
		zeroAAGUID bool
	}{
		{AttestationTPM, ctap2.AlgES256, "tpm", false},
		{AttestationTPM, ctap2.AlgRS256, "tpm", false},
		// fido-u2f comes with a zero AAGUID, as a U2F registration does.
		{AttestationFIDOU2F, ctap2.AlgES256, "fido-u2f", true},
		{AttestationFIDOU2F, ctap2.AlgEdDSA, "packed", false}, // fido-u2f attests P-256 keys only
		{AttestationSelf, ctap2.AlgEdDSA, "packed", false},
		{AttestationNone, ctap2.AlgES256, "none", false},
	}
	for _, tt := range tests {
		t.Run(tt.mode+" "+tt.alg.String(), func(t *testing.T) {
			p := DefaultProfile()
			p.Attestation = tt.mode
			k := newTestKey(t, p)
			k.skipUnlessBackendMakes(tt.alg)
			resp, _ := k.makeCredential(mcRequest("example.org", "alice", tt.alg))
			require.Equal(t, tt.want, resp.Format)
			ad, err := ctap2.ParseAuthData(resp.AuthData)
			require.NoError(t, err)
			want := p.AAGUID
			if tt.zeroAAGUID {
				want = AAGUID{}
			}
			require.Equal(t, want, AAGUID(ad.Attested.AAGUID), "AAGUID in attested credential data")
		})
	}
}

package authenticator

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestGetAssertionWithAllowList(t *testing.T) {
	for _, alg := range []ctap2.Alg{ctap2.AlgES256, ctap2.AlgEdDSA, ctap2.AlgRS256} {
		t.Run(alg.String(), func(t *testing.T) {
			k := newTestKey(t, nil)
			k.skipUnlessBackendMakes(alg)
			_, reg := k.makeCredential(mcRequest("example.org", "alice", alg))
			id := reg.Attested.CredentialID

			for want := uint32(1); want <= 3; want++ {
				req := &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(byte(want)), AllowList: allow([]byte("foreign"), id)}
				resp := k.getAssertion(req)
				require.Equal(t, id, resp.Credential.ID)
				ad, err := ctap2.ParseAuthData(resp.AuthData)
				require.NoError(t, err)
				require.Equal(t, ctap2.FlagUP, ad.Flags)
				require.Equal(t, want, ad.SignCount, "per-credential counter")
				require.Nil(t, resp.User, "a non-discoverable credential has no user")
				verifySignature(t, reg.Attested.PublicKey, append(resp.AuthData, req.ClientDataHash...), resp.Signature)
			}
		})
	}
}

func TestGetAssertionRefusesOtherRPsCredential(t *testing.T) {
	k := newTestKey(t, nil)
	_, reg := k.makeCredential(mcRequest("example.org", "alice"))
	status, _ := k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{
		RPID: "evil.example", ClientDataHash: clientDataHash(1), AllowList: allow(reg.Attested.CredentialID),
	})
	require.Equal(t, ctap2.ErrNoCredentials, status)
}

func TestGetAssertionSilentProbe(t *testing.T) {
	k := newTestKey(t, nil)
	_, reg := k.makeCredential(mcRequest("example.org", "alice"))
	k.presence.requests = nil
	resp := k.getAssertion(&ctap2.GetAssertionRequest{
		RPID: "example.org", ClientDataHash: clientDataHash(1), AllowList: allow(reg.Attested.CredentialID),
		Options: map[string]bool{"up": false},
	})
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	require.NoError(t, err)
	require.Zero(t, ad.Flags&ctap2.FlagUP, "up=false must give an assertion without UP")
	require.Empty(t, k.presence.requests, "up=false must not ask for a touch")
}

func TestGetAssertionDiscoverableSequence(t *testing.T) {
	k := newTestKey(t, nil)
	var ids [][]byte
	for _, user := range []string{"alice", "bob", "carol"} {
		req := mcRequest("example.org", user)
		req.Options = map[string]bool{"rk": true}
		_, reg := k.makeCredential(req)
		ids = append(ids, reg.Attested.CredentialID)
		k.clock.advance(time.Second)
	}
	other := mcRequest("example.com", "dave")
	other.Options = map[string]bool{"rk": true}
	k.makeCredential(other)

	req := &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(9)}
	first := k.getAssertion(req)
	require.Equal(t, 3, first.NumberOfCredentials)
	require.Equal(t, ids[2], first.Credential.ID, "newest first")
	require.Equal(t, &ctap2.UserEntity{ID: []byte("carol")}, first.User, "no name without user verification")

	var got [][]byte
	got = append(got, first.Credential.ID)
	for range 2 {
		status, body := k.do(ctap2.CmdGetNextAssertion, nil)
		require.Equal(t, ctap2.StatusOK, status)
		var next ctap2.GetAssertionResponse
		require.NoError(t, ctap2.Unmarshal(body, &next))
		require.Zero(t, next.NumberOfCredentials)
		got = append(got, next.Credential.ID)
	}
	require.Equal(t, [][]byte{ids[2], ids[1], ids[0]}, got)
	status, _ := k.do(ctap2.CmdGetNextAssertion, nil)
	require.Equal(t, ctap2.ErrNotAllowed, status, "sequence exhausted")
}

func TestGetNextAssertionExpiresAndEndsOnOtherCommands(t *testing.T) {
	k := newTestKey(t, nil)
	for _, user := range []string{"alice", "bob"} {
		req := mcRequest("example.org", user)
		req.Options = map[string]bool{"rk": true}
		k.makeCredential(req)
	}
	req := &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(9)}

	k.getAssertion(req)
	k.clock.advance(31 * time.Second)
	status, _ := k.do(ctap2.CmdGetNextAssertion, nil)
	require.Equal(t, ctap2.ErrNotAllowed, status, "after 30 s")

	k.getAssertion(req)
	k.do(ctap2.CmdGetInfo, nil)
	status, _ = k.do(ctap2.CmdGetNextAssertion, nil)
	require.Equal(t, ctap2.ErrNotAllowed, status, "after another command")

	k.getAssertion(req)
	k.PowerCycle()
	status, _ = k.do(ctap2.CmdGetNextAssertion, nil)
	require.Equal(t, ctap2.ErrNotAllowed, status, "after a power cycle")
}

func TestGetAssertionNoDiscoverableCredentials(t *testing.T) {
	k := newTestKey(t, nil)
	k.makeCredential(mcRequest("example.org", "alice")) // not discoverable
	status, _ := k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(1)})
	require.Equal(t, ctap2.ErrNoCredentials, status)
}

func TestZeroCounterPolicy(t *testing.T) {
	p := DefaultProfile()
	p.Counter = CounterZero
	k := newTestKey(t, p)
	_, reg := k.makeCredential(mcRequest("example.org", "alice"))
	for range 2 {
		resp := k.getAssertion(&ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(1), AllowList: allow(reg.Attested.CredentialID)})
		ad, err := ctap2.ParseAuthData(resp.AuthData)
		require.NoError(t, err)
		require.Zero(t, ad.SignCount)
	}
}

func TestResetForgetsCredentialsWithinWindow(t *testing.T) {
	k := newTestKey(t, nil)
	req := mcRequest("example.org", "alice")
	req.Options = map[string]bool{"rk": true}
	_, reg := k.makeCredential(req)
	_, nonResident := k.makeCredential(mcRequest("example.org", "bob"))

	k.clock.advance(11 * time.Second)
	status, _ := k.do(ctap2.CmdReset, nil)
	require.Equal(t, ctap2.ErrNotAllowed, status, "reset 11 s after power-up")

	k.PowerCycle()
	status, _ = k.do(ctap2.CmdReset, nil)
	require.Equal(t, ctap2.StatusOK, status)
	require.Equal(t, "reset", k.presence.requests[len(k.presence.requests)-1].Operation)

	for _, id := range [][]byte{reg.Attested.CredentialID, nonResident.Attested.CredentialID} {
		status, _ = k.do(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(1), AllowList: allow(id)})
		require.Equal(t, ctap2.ErrNoCredentials, status, "credential must not survive reset")
	}
}

func TestSelection(t *testing.T) {
	k := newTestKey(t, nil)
	status, body := k.do(ctap2.CmdSelection, nil)
	require.Equal(t, ctap2.StatusOK, status)
	require.Empty(t, body)
	k.presence.err = ErrPresenceDenied
	status, _ = k.do(ctap2.CmdSelection, nil)
	require.Equal(t, ctap2.ErrOperationDenied, status)
}

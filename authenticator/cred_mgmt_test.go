package authenticator

import (
	"context"
	"crypto/sha256"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

const cmPIN = "1234"

// cmKeyTransport carries CTAP2 messages to a test key in process, so
// that the host-side ctap2.Client methods run against the engine.
type cmKeyTransport struct{ k *testKey }

func (tr cmKeyTransport) CBOR(ctx context.Context, msg []byte) ([]byte, error) {
	return tr.k.HandleCBOR(ctx, msg), nil
}

func (tr cmKeyTransport) Message(ctx context.Context, apdu []byte) ([]byte, error) {
	return tr.k.HandleMessage(ctx, apdu), nil
}

// cmToken is a pinUvAuthToken as the platform holds it.
type cmToken struct {
	protocol uint64
	token    []byte
}

func (t cmToken) Version() uint64                    { return t.protocol }
func (t cmToken) Authenticate(message []byte) []byte { return authParam(t.protocol, t.token, message) }

// cmCredential is a discoverable credential made for a test.
type cmCredential struct {
	id        []byte
	rpID      string
	user      ctap2.UserEntity
	publicKey []byte // COSE
}

// cmKey is a key with three discoverable credentials, two for
// example.org and one for example.com, and then a PIN.
type cmKey struct {
	*testKey
	creds []cmCredential // in creation order
}

func newCMKey(t testing.TB, profile *Profile) *cmKey {
	t.Helper()
	k := &cmKey{testKey: newTestKey(t, profile)}
	for _, c := range []struct{ rp, user string }{
		{"example.org", "alice"},
		{"example.org", "bob"},
		{"example.com", "carol"},
	} {
		req := mcRequest(c.rp, c.user)
		req.Options = map[string]bool{"rk": true}
		_, ad := k.makeCredential(req)
		k.creds = append(k.creds, cmCredential{
			id:        ad.Attested.CredentialID,
			rpID:      c.rp,
			user:      *req.User,
			publicKey: ad.Attested.PublicKey,
		})
	}
	k.setPIN(2, cmPIN)
	return k
}

// token obtains a pinUvAuthToken with perms, bound to rpID if not empty.
func (k *cmKey) token(perms Permission, rpID string) cmToken {
	k.t.Helper()
	return cmToken{protocol: 2, token: k.pinToken(2, cmPIN, perms, rpID)}
}

func (k *cmKey) client() *ctap2.Client {
	return ctap2.NewClient(cmKeyTransport{k.testKey})
}

// cmRequest builds a request for subCommand, authenticated with tok when
// it is not nil.
func cmRequest(t testing.TB, tok *cmToken, subCommand uint64, params *ctap2.CredMgmtParams) *ctap2.CredMgmtRequest {
	t.Helper()
	req := &ctap2.CredMgmtRequest{SubCommand: subCommand}
	if params != nil {
		raw, err := ctap2.Marshal(params)
		require.NoError(t, err)
		req.SubCommandParams = raw
	}
	if tok != nil {
		req.PinUvAuthProtocol = tok.protocol
		req.PinUvAuthParam = tok.Authenticate(req.AuthMessage())
	}
	return req
}

// storedCreds is everything in the store, for before/after comparisons.
func (k *cmKey) storedCreds() []*store.Credential {
	k.t.Helper()
	all, err := k.store.Credentials()
	require.NoError(k.t, err)
	return all
}

func rpHash(rpID string) []byte {
	h := ctap2.RPIDHash(rpID)
	return h[:]
}

func TestCredMgmtMetadata(t *testing.T) {
	for _, cmd := range []ctap2.Command{ctap2.CmdCredentialManagement, ctap2.CmdCredentialManagementPre} {
		t.Run(cmd.String(), func(t *testing.T) {
			k := newCMKey(t, nil)
			tok := k.token(PermCredentialManagement, "")
			resp, err := k.client().CredentialManagement(context.Background(), cmd, cmRequest(t, &tok, ctap2.CredMgmtGetCredsMetadata, nil))
			require.NoError(t, err)
			require.NotNil(t, resp.ExistingResidentCredentialsCount)
			require.NotNil(t, resp.MaxPossibleRemainingResidentCredentialsCount)
			require.Equal(t, uint64(3), *resp.ExistingResidentCredentialsCount, "existing")
			require.Equal(t, uint64(DefaultProfile().MaxDiscoverableCredentials-3), *resp.MaxPossibleRemainingResidentCredentialsCount, "remaining")

			// The token is not used up: a second request with it succeeds.
			require.NoError(t, k.client().DeleteCredential(context.Background(), tok, k.creds[0].id))
			existing, remaining, err := k.client().CredsMetadata(context.Background(), tok)
			require.NoError(t, err)
			require.Equal(t, uint64(2), existing, "existing after a delete")
			require.Equal(t, uint64(DefaultProfile().MaxDiscoverableCredentials-2), remaining, "remaining after a delete")
		})
	}
}

func TestCredMgmtEnumerateRPs(t *testing.T) {
	k := newCMKey(t, nil)
	tok := k.token(PermCredentialManagement, "")
	rps, err := k.client().EnumerateRPs(context.Background(), tok)
	require.NoError(t, err)
	require.Len(t, rps, 2)
	for i, want := range []string{"example.org", "example.com"} {
		require.NotNil(t, rps[i].RP, "RP %d", i)
		require.Equal(t, ctap2.RPEntity{ID: want, Name: want}, *rps[i].RP, "RP %d", i)
		require.Equal(t, rpHash(want), rps[i].RPIDHash, "rpIDHash %d", i)
	}
	require.Equal(t, uint64(2), rps[0].TotalRPs, "totalRPs in the first answer")
	require.Zero(t, rps[1].TotalRPs, "totalRPs only in the first answer")

	// The enumeration is over: another getNext is not allowed.
	status, _ := k.do(ctap2.CmdCredentialManagement, cmRequest(t, nil, ctap2.CredMgmtEnumerateRPsGetNextRP, nil))
	require.Equal(t, ctap2.ErrNotAllowed, status, "getNextRP after the last RP")
}

func TestCredMgmtEnumerateCredentials(t *testing.T) {
	for _, bound := range []string{"", "example.org"} {
		t.Run("token bound to "+bound, func(t *testing.T) {
			k := newCMKey(t, nil)
			tok := k.token(PermCredentialManagement, bound)
			got, err := k.client().EnumerateCredentials(context.Background(), tok, rpHash("example.org"))
			require.NoError(t, err)
			require.Len(t, got, 2)
			// Newest first, as getAssertion offers them.
			for i, want := range []cmCredential{k.creds[1], k.creds[0]} {
				require.NotNil(t, got[i].User, "credential %d", i)
				require.Equal(t, want.user, *got[i].User, "user of credential %d", i)
				require.Equal(t, &ctap2.CredentialDescriptor{Type: "public-key", ID: want.id}, got[i].CredentialID, "credential %d", i)
				require.Equal(t, want.publicKey, []byte(got[i].PublicKey), "public key of credential %d", i)
				require.Equal(t, uint64(1), got[i].CredProtect, "credProtect of credential %d", i)
				require.Nil(t, got[i].LargeBlobKey, "largeBlobKey of credential %d", i)
			}
			require.Equal(t, uint64(2), got[0].TotalCredentials, "totalCredentials in the first answer")
			require.Zero(t, got[1].TotalCredentials, "totalCredentials only in the first answer")
		})
	}
}

func TestCredMgmtEnumerateCredentialsReportsExtensions(t *testing.T) {
	k := newTestKey(t, nil)
	req := mcRequest("example.net", "dave")
	req.Options = map[string]bool{"rk": true}
	req.Extensions = map[string]ctap2.RawMessage{
		ExtCredProtect:  {0x03}, // userVerificationRequired
		ExtLargeBlobKey: {0xF5}, // true
	}
	made, ad := k.makeCredential(req)
	require.Len(t, made.LargeBlobKey, 32, "largeBlobKey from makeCredential")
	ck := &cmKey{testKey: k}
	ck.setPIN(2, cmPIN)

	got, err := ck.client().EnumerateCredentials(context.Background(), ck.token(PermCredentialManagement, ""), rpHash("example.net"))
	require.NoError(t, err)
	require.Len(t, got, 1)
	require.Equal(t, ad.Attested.CredentialID, got[0].CredentialID.ID)
	require.Equal(t, uint64(3), got[0].CredProtect, "credProtect")
	require.Equal(t, made.LargeBlobKey, got[0].LargeBlobKey, "largeBlobKey")
	require.Equal(t, uint64(1), got[0].TotalCredentials)
}

func TestCredMgmtGetNextState(t *testing.T) {
	next := cmRequest(t, nil, ctap2.CredMgmtEnumerateCredentialsGetNextCredential, nil)
	tests := []struct {
		name    string
		between func(t *testing.T, k *cmKey, tok cmToken)
		want    ctap2.Status
	}{
		{"right after begin", func(*testing.T, *cmKey, cmToken) {}, ctap2.StatusOK},
		{"prototype command continues it", func(t *testing.T, k *cmKey, _ cmToken) {
			status, _ := k.do(ctap2.CmdCredentialManagementPre, next)
			require.Equal(t, ctap2.StatusOK, status)
			// That was the last credential.
		}, ctap2.ErrNotAllowed},
		{"30 seconds later", func(_ *testing.T, k *cmKey, _ cmToken) { k.clock.advance(enumerationTimeout) }, ctap2.StatusOK},
		{"over 30 seconds later", func(_ *testing.T, k *cmKey, _ cmToken) { k.clock.advance(enumerationTimeout + 1) }, ctap2.ErrNotAllowed},
		{"after another command", func(t *testing.T, k *cmKey, _ cmToken) {
			status, _ := k.do(ctap2.CmdGetInfo, nil)
			require.Equal(t, ctap2.StatusOK, status)
		}, ctap2.ErrNotAllowed},
		{"after another subcommand", func(t *testing.T, k *cmKey, tok cmToken) {
			status, _ := k.do(ctap2.CmdCredentialManagement, cmRequest(t, &tok, ctap2.CredMgmtGetCredsMetadata, nil))
			require.Equal(t, ctap2.StatusOK, status)
		}, ctap2.ErrNotAllowed},
		{"after a failed subcommand", func(t *testing.T, k *cmKey, _ cmToken) {
			status, _ := k.do(ctap2.CmdCredentialManagement, cmRequest(t, nil, ctap2.CredMgmtGetCredsMetadata, nil))
			require.Equal(t, ctap2.ErrPUATRequired, status)
		}, ctap2.ErrNotAllowed},
		{"after a malformed request", func(t *testing.T, k *cmKey, _ cmToken) {
			resp := k.HandleCBOR(context.Background(), []byte{byte(ctap2.CmdCredentialManagement), 0xA1})
			require.Equal(t, []byte{byte(ctap2.ErrInvalidCBOR)}, resp)
		}, ctap2.ErrNotAllowed},
		{"getNextRP instead", func(t *testing.T, k *cmKey, _ cmToken) {
			status, _ := k.do(ctap2.CmdCredentialManagement, cmRequest(t, nil, ctap2.CredMgmtEnumerateRPsGetNextRP, nil))
			require.Equal(t, ctap2.ErrNotAllowed, status)
		}, ctap2.ErrNotAllowed},
		{"power cycle", func(_ *testing.T, k *cmKey, _ cmToken) { k.PowerCycle() }, ctap2.ErrNotAllowed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newCMKey(t, nil)
			tok := k.token(PermCredentialManagement, "")
			status, _ := k.do(ctap2.CmdCredentialManagement, cmRequest(t, &tok, ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: rpHash("example.org")}))
			require.Equal(t, ctap2.StatusOK, status, "enumerateCredentialsBegin")
			tt.between(t, k, tok)
			status, body := k.do(ctap2.CmdCredentialManagement, next)
			require.Equal(t, tt.want, status, "getNextCredential: got %v, want %v", status, tt.want)
			if status == ctap2.StatusOK {
				var resp ctap2.CredMgmtResponse
				require.NoError(t, ctap2.Unmarshal(body, &resp))
				require.Equal(t, k.creds[0].id, resp.CredentialID.ID, "second credential is the older one")
			}
		})
	}

	t.Run("without begin", func(t *testing.T) {
		k := newCMKey(t, nil)
		for _, sub := range []uint64{ctap2.CredMgmtEnumerateRPsGetNextRP, ctap2.CredMgmtEnumerateCredentialsGetNextCredential} {
			status, _ := k.do(ctap2.CmdCredentialManagement, cmRequest(t, nil, sub, nil))
			require.Equal(t, ctap2.ErrNotAllowed, status, "subcommand %d", sub)
		}
	})
}

func TestCredMgmtDeleteCredential(t *testing.T) {
	for _, bound := range []string{"", "example.org"} {
		t.Run("token bound to "+bound, func(t *testing.T) {
			k := newCMKey(t, nil)
			tok := k.token(PermCredentialManagement, bound)
			require.NoError(t, k.client().DeleteCredential(context.Background(), tok, k.creds[1].id))

			all := k.storedCreds()
			require.Len(t, all, 2)
			require.Equal(t, k.creds[0].id, all[0].ID)
			require.Equal(t, k.creds[2].id, all[1].ID)
			// getAssertion no longer finds it.
			resp := k.getAssertion(&ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(2)})
			require.Equal(t, k.creds[0].id, resp.Credential.ID)
			require.Zero(t, resp.NumberOfCredentials, "one credential left for example.org")

			err := k.client().DeleteCredential(context.Background(), tok, k.creds[1].id)
			require.ErrorIs(t, err, ctap2.ErrNoCredentials, "deleting it again")
		})
	}
}

func TestCredMgmtUpdateUserInformation(t *testing.T) {
	k := newCMKey(t, nil)
	tok := k.token(PermCredentialManagement, "")
	before := k.storedCreds()

	update := ctap2.UserEntity{ID: []byte("alice"), Name: "alice@example.org"}
	require.NoError(t, k.client().UpdateUserInformation(context.Background(), tok, k.creds[0].id, update))

	after := k.storedCreds()
	require.Len(t, after, 3)
	want := *before[0]
	want.User = update // displayName was absent: removed
	require.Equal(t, &want, after[0], "updated credential keeps everything else, its Sequence included")
	require.Equal(t, before[1:], after[1:], "other credentials")
}

// cmCase is a request built against a fresh cmKey.
type cmCase struct {
	name string
	msg  func(t *testing.T, k *cmKey) []byte
	want ctap2.Status
}

func cmMessage(t *testing.T, cmd ctap2.Command, v any) []byte {
	t.Helper()
	b, err := ctap2.Marshal(v)
	require.NoError(t, err)
	return append([]byte{byte(cmd)}, b...)
}

// cmAuthed is a request authenticated with a fresh token of perms bound
// to rpID.
func cmAuthed(perms Permission, rpID string, subCommand uint64, params *ctap2.CredMgmtParams) func(t *testing.T, k *cmKey) []byte {
	return func(t *testing.T, k *cmKey) []byte {
		tok := k.token(perms, rpID)
		return cmMessage(t, ctap2.CmdCredentialManagement, cmRequest(t, &tok, subCommand, params))
	}
}

func cmRaw(msg ...byte) func(*testing.T, *cmKey) []byte {
	return func(*testing.T, *cmKey) []byte { return msg }
}

func TestCredMgmtBadInput(t *testing.T) {
	cm := PermCredentialManagement
	descriptor := func(id []byte) *ctap2.CredentialDescriptor {
		return &ctap2.CredentialDescriptor{Type: "public-key", ID: id}
	}
	unknownID := make([]byte, 82)
	tests := []cmCase{
		{"empty parameters", cmRaw(0x0A), ctap2.ErrInvalidCBOR},
		{"parameters are an array", cmRaw(0x0A, 0x80), ctap2.ErrCBORUnexpectedType},
		{"missing subCommand", cmRaw(0x0A, 0xA1, 0x03, 0x02), ctap2.ErrMissingParameter},
		{"subCommand is text", cmRaw(0x0A, 0xA1, 0x01, 0x61, 'a'), ctap2.ErrCBORUnexpectedType},
		{"unknown subCommand", cmAuthed(cm, "", 0x08, nil), ctap2.ErrInvalidSubcommand},
		{"subCommand zero", cmAuthed(cm, "", 0x00, nil), ctap2.ErrInvalidSubcommand},
		{"huge subCommand", cmRaw(0x0A, 0xA1, 0x01, 0x19, 0x01, 0x01), ctap2.ErrInvalidSubcommand},
		{"subCommandParams not a map", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			req := &ctap2.CredMgmtRequest{SubCommand: ctap2.CredMgmtEnumerateCredentialsBegin, SubCommandParams: ctap2.RawMessage{0x41, 0x00}, PinUvAuthProtocol: 2}
			req.PinUvAuthParam = tok.Authenticate(req.AuthMessage())
			return cmMessage(t, ctap2.CmdCredentialManagement, req)
		}, ctap2.ErrCBORUnexpectedType},
		{"metadata without pinUvAuthParam", func(t *testing.T, k *cmKey) []byte {
			return cmMessage(t, ctap2.CmdCredentialManagement, &ctap2.CredMgmtRequest{SubCommand: 1, PinUvAuthProtocol: 2})
		}, ctap2.ErrPUATRequired},
		{"metadata without pinUvAuthProtocol", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			return cmMessage(t, ctap2.CmdCredentialManagement, &ctap2.CredMgmtRequest{SubCommand: 1, PinUvAuthParam: tok.Authenticate([]byte{1})})
		}, ctap2.ErrMissingParameter},
		{"unsupported pinUvAuthProtocol", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			return cmMessage(t, ctap2.CmdCredentialManagement, &ctap2.CredMgmtRequest{SubCommand: 1, PinUvAuthProtocol: 3, PinUvAuthParam: tok.Authenticate([]byte{1})})
		}, ctap2.ErrInvalidParameter},
		{"pinUvAuthParam of another subcommand", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			return cmMessage(t, ctap2.CmdCredentialManagement, &ctap2.CredMgmtRequest{SubCommand: 1, PinUvAuthProtocol: 2, PinUvAuthParam: tok.Authenticate([]byte{2})})
		}, ctap2.ErrPINAuthInvalid},
		{"truncated pinUvAuthParam", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			return cmMessage(t, ctap2.CmdCredentialManagement, &ctap2.CredMgmtRequest{SubCommand: 1, PinUvAuthProtocol: 2, PinUvAuthParam: tok.Authenticate([]byte{1})[:16]})
		}, ctap2.ErrPINAuthInvalid},
		{"pinUvAuthParam over changed subCommandParams", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			req := cmRequest(t, &tok, ctap2.CredMgmtDeleteCredential, &ctap2.CredMgmtParams{CredentialID: descriptor(k.creds[0].id)})
			req.SubCommandParams, _ = ctap2.Marshal(&ctap2.CredMgmtParams{CredentialID: descriptor(k.creds[1].id)})
			return cmMessage(t, ctap2.CmdCredentialManagement, req)
		}, ctap2.ErrPINAuthInvalid},
		{"token without cm", cmAuthed(PermLargeBlobWrite, "", ctap2.CredMgmtGetCredsMetadata, nil), ctap2.ErrPINAuthInvalid},
		{"delete with a token without cm", func(t *testing.T, k *cmKey) []byte {
			return cmAuthed(PermLargeBlobWrite, "", ctap2.CredMgmtDeleteCredential, &ctap2.CredMgmtParams{CredentialID: descriptor(k.creds[0].id)})(t, k)
		}, ctap2.ErrPINAuthInvalid},
		{"metadata with an RP-bound token", cmAuthed(cm, "example.org", ctap2.CredMgmtGetCredsMetadata, nil), ctap2.ErrPINAuthInvalid},
		{"enumerateRPs with an RP-bound token", cmAuthed(cm, "example.org", ctap2.CredMgmtEnumerateRPsBegin, nil), ctap2.ErrPINAuthInvalid},
		{"enumerateCredentials of another RP", cmAuthed(cm, "example.org", ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: rpHash("example.com")}), ctap2.ErrPINAuthInvalid},
		{"enumerateCredentials of an unknown RP with a token bound elsewhere", cmAuthed(cm, "example.org", ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: rpHash("unknown.example")}), ctap2.ErrPINAuthInvalid},
		{"enumerateCredentials without rpIDHash", cmAuthed(cm, "", ctap2.CredMgmtEnumerateCredentialsBegin, nil), ctap2.ErrMissingParameter},
		{"enumerateCredentials with empty params", cmAuthed(cm, "", ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{}), ctap2.ErrMissingParameter},
		{"enumerateCredentials with a short rpIDHash", cmAuthed(cm, "", ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: rpHash("example.org")[:31]}), ctap2.ErrInvalidParameter},
		{"enumerateCredentials of an unknown RP", cmAuthed(cm, "", ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: rpHash("unknown.example")}), ctap2.ErrNoCredentials},
		{"enumerateCredentials by RP ID instead of hash", cmAuthed(cm, "", ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: []byte("example.org")}), ctap2.ErrInvalidParameter},
		{"delete without credentialID", cmAuthed(cm, "", ctap2.CredMgmtDeleteCredential, nil), ctap2.ErrMissingParameter},
		{"delete with a credentialID without id", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			raw, err := ctap2.Marshal(map[int]any{2: map[string]any{"type": "public-key"}})
			require.NoError(t, err)
			req := &ctap2.CredMgmtRequest{SubCommand: ctap2.CredMgmtDeleteCredential, SubCommandParams: raw, PinUvAuthProtocol: 2}
			req.PinUvAuthParam = tok.Authenticate(req.AuthMessage())
			return cmMessage(t, ctap2.CmdCredentialManagement, req)
		}, ctap2.ErrMissingParameter},
		{"delete an unknown credential", cmAuthed(cm, "", ctap2.CredMgmtDeleteCredential, &ctap2.CredMgmtParams{CredentialID: descriptor(unknownID)}), ctap2.ErrNoCredentials},
		{"delete with a token bound to another RP", func(t *testing.T, k *cmKey) []byte {
			return cmAuthed(cm, "example.org", ctap2.CredMgmtDeleteCredential, &ctap2.CredMgmtParams{CredentialID: descriptor(k.creds[2].id)})(t, k)
		}, ctap2.ErrPINAuthInvalid},
		{"update without user", func(t *testing.T, k *cmKey) []byte {
			return cmAuthed(cm, "", ctap2.CredMgmtUpdateUserInformation, &ctap2.CredMgmtParams{CredentialID: descriptor(k.creds[0].id)})(t, k)
		}, ctap2.ErrMissingParameter},
		{"update without credentialID", cmAuthed(cm, "", ctap2.CredMgmtUpdateUserInformation, &ctap2.CredMgmtParams{User: &ctap2.UserEntity{ID: []byte("alice"), Name: "x"}}), ctap2.ErrMissingParameter},
		{"update with a user without id", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			raw, err := ctap2.Marshal(map[int]any{2: descriptor(k.creds[0].id), 3: map[string]any{"name": "x"}})
			require.NoError(t, err)
			req := &ctap2.CredMgmtRequest{SubCommand: ctap2.CredMgmtUpdateUserInformation, SubCommandParams: raw, PinUvAuthProtocol: 2}
			req.PinUvAuthParam = tok.Authenticate(req.AuthMessage())
			return cmMessage(t, ctap2.CmdCredentialManagement, req)
		}, ctap2.ErrMissingParameter},
		{"update with another user.id", func(t *testing.T, k *cmKey) []byte {
			return cmAuthed(cm, "", ctap2.CredMgmtUpdateUserInformation, &ctap2.CredMgmtParams{
				CredentialID: descriptor(k.creds[0].id),
				User:         &ctap2.UserEntity{ID: []byte("bob"), Name: "mallory"},
			})(t, k)
		}, ctap2.ErrInvalidParameter},
		{"update an unknown credential", cmAuthed(cm, "", ctap2.CredMgmtUpdateUserInformation, &ctap2.CredMgmtParams{
			CredentialID: descriptor(unknownID),
			User:         &ctap2.UserEntity{ID: []byte("alice"), Name: "x"},
		}), ctap2.ErrNoCredentials},
		{"update with a token bound to another RP", func(t *testing.T, k *cmKey) []byte {
			return cmAuthed(cm, "example.com", ctap2.CredMgmtUpdateUserInformation, &ctap2.CredMgmtParams{
				CredentialID: descriptor(k.creds[0].id),
				User:         &ctap2.UserEntity{ID: []byte("alice"), Name: "x"},
			})(t, k)
		}, ctap2.ErrPINAuthInvalid},
		{"user is not a map", func(t *testing.T, k *cmKey) []byte {
			tok := k.token(cm, "")
			raw, err := ctap2.Marshal(map[int]any{2: descriptor(k.creds[0].id), 3: "alice"})
			require.NoError(t, err)
			req := &ctap2.CredMgmtRequest{SubCommand: ctap2.CredMgmtUpdateUserInformation, SubCommandParams: raw, PinUvAuthProtocol: 2}
			req.PinUvAuthParam = tok.Authenticate(req.AuthMessage())
			return cmMessage(t, ctap2.CmdCredentialManagement, req)
		}, ctap2.ErrCBORUnexpectedType},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newCMKey(t, nil)
			msg := tt.msg(t, k)
			before := k.storedCreds()
			for _, cmd := range []ctap2.Command{ctap2.CmdCredentialManagement, ctap2.CmdCredentialManagementPre} {
				msg[0] = byte(cmd)
				resp := k.HandleCBOR(context.Background(), msg)
				require.Equal(t, []byte{byte(tt.want)}, resp, "%v: got %v, want %v", cmd, ctap2.Status(resp[0]), tt.want)
				require.Equal(t, before, k.storedCreds(), "%v: store changed", cmd)
			}
		})
	}
}

func TestCredMgmtNoCredentials(t *testing.T) {
	k := &cmKey{testKey: newTestKey(t, nil)}
	k.setPIN(2, cmPIN)
	tok := k.token(PermCredentialManagement, "")
	existing, remaining, err := k.client().CredsMetadata(context.Background(), tok)
	require.NoError(t, err)
	require.Zero(t, existing)
	require.Equal(t, uint64(DefaultProfile().MaxDiscoverableCredentials), remaining)

	status, _ := k.do(ctap2.CmdCredentialManagement, cmRequest(t, &tok, ctap2.CredMgmtEnumerateRPsBegin, nil))
	require.Equal(t, ctap2.ErrNoCredentials, status, "enumerateRPsBegin")
	rps, err := k.client().EnumerateRPs(context.Background(), tok)
	require.NoError(t, err)
	require.Empty(t, rps)
}

func TestCredMgmtWithoutPIN(t *testing.T) {
	k := newTestKey(t, nil)
	// Without a PIN there is no token: any pinUvAuthParam is wrong.
	req := &ctap2.CredMgmtRequest{SubCommand: ctap2.CredMgmtGetCredsMetadata, PinUvAuthProtocol: 2, PinUvAuthParam: make([]byte, 32)}
	status, _ := k.do(ctap2.CmdCredentialManagement, req)
	require.Equal(t, ctap2.ErrPINAuthInvalid, status)
}

func TestCredMgmtNotOffered(t *testing.T) {
	p := DefaultProfile()
	p.CredentialManagement = false
	k := newCMKey(t, p)
	// No cm token can be had on this key; the command is refused before
	// pinUvAuthParam is looked at.
	tok := cmToken{protocol: 2, token: make([]byte, 32)}
	before := k.storedCreds()
	for _, cmd := range []ctap2.Command{ctap2.CmdCredentialManagement, ctap2.CmdCredentialManagementPre} {
		req := cmRequest(t, &tok, ctap2.CredMgmtDeleteCredential, &ctap2.CredMgmtParams{CredentialID: &ctap2.CredentialDescriptor{Type: "public-key", ID: k.creds[0].id}})
		status, _ := k.do(cmd, req)
		require.Equal(t, ctap2.ErrInvalidCommand, status, "%v", cmd)
		require.Equal(t, before, k.storedCreds(), "%v: store changed", cmd)
	}
}

// TestCredMgmtAuthMessage pins the message pinUvAuthParam covers to the
// bytes sent: subCommand then subCommandParams as encoded.
func TestCredMgmtAuthMessage(t *testing.T) {
	params, err := ctap2.Marshal(&ctap2.CredMgmtParams{RPIDHash: rpHash("example.org")})
	require.NoError(t, err)
	req := &ctap2.CredMgmtRequest{SubCommand: ctap2.CredMgmtEnumerateCredentialsBegin, SubCommandParams: params}
	sum := sha256.Sum256([]byte("example.org"))
	want := append([]byte{0x04, 0xA1, 0x01, 0x58, 0x20}, sum[:]...)
	require.Equal(t, want, req.AuthMessage())
}

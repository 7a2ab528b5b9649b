package authenticator

import (
	"bytes"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// cborValue encodes v for an extensions map.
func cborValue(t *testing.T, v any) ctap2.RawMessage {
	t.Helper()
	b, err := ctap2.Marshal(v)
	require.NoError(t, err)
	return b
}

func TestDescribeCredentials(t *testing.T) {
	k := newTestKey(t, nil)
	tests := []struct {
		user       string
		extensions map[string]ctap2.RawMessage
		want       CredentialInfo // Credential is filled in below
	}{
		{user: "plain", want: CredentialInfo{CredProtect: 1}},
		{user: "protect-1", extensions: map[string]ctap2.RawMessage{"credProtect": cborValue(t, 1)},
			want: CredentialInfo{CredProtect: 1}},
		{user: "protect-2", extensions: map[string]ctap2.RawMessage{"credProtect": cborValue(t, 2)},
			want: CredentialInfo{CredProtect: 2}},
		{user: "protect-3-hmac", extensions: map[string]ctap2.RawMessage{"credProtect": cborValue(t, 3), "hmac-secret": cborValue(t, true)},
			want: CredentialInfo{CredProtect: 3, HMACSecret: true}},
		{user: "blobs", extensions: map[string]ctap2.RawMessage{"credBlob": cborValue(t, []byte("blob")), "largeBlobKey": cborValue(t, true)},
			want: CredentialInfo{CredProtect: 1, CredBlob: true, LargeBlobKey: true}},
	}
	for _, tt := range tests {
		req := mcRequest("describe.example.com", tt.user)
		req.Options = map[string]bool{"rk": true}
		req.Extensions = tt.extensions
		k.makeCredential(req)
	}
	creds, err := k.store.Credentials()
	require.NoError(t, err)
	require.Len(t, creds, len(tests))
	before := slices.Clone(creds)

	infos, err := DescribeCredentials(k.store, creds)
	require.NoError(t, err)
	require.Len(t, infos, len(tests))
	for i, info := range infos {
		require.Same(t, creds[i], info.Credential, "info %d describes another credential", i)
		var want CredentialInfo
		for _, tt := range tests {
			if string(creds[i].User.ID) == tt.user {
				want = tt.want
			}
		}
		want.Credential = creds[i]
		require.Equal(t, want, info, "credential of user %s", creds[i].User.ID)
	}
	after, err := k.store.Credentials()
	require.NoError(t, err)
	require.Equal(t, before, after, "describing must not change the store")
}

func TestDescribeCredentialsBadInput(t *testing.T) {
	k := newTestKey(t, nil)
	req := mcRequest("describe.example.com", "alice")
	req.Options = map[string]bool{"rk": true}
	k.makeCredential(req)
	creds, err := k.store.Credentials()
	require.NoError(t, err)
	require.Len(t, creds, 1)
	good := creds[0]

	tampered := *good
	tampered.ID = slices.Clone(good.ID)
	tampered.ID[len(tampered.ID)-1] ^= 1
	otherRP := *good
	otherRP.RPID = "other.example.com"
	otherDevice := &store.Memory{}
	require.NoError(t, otherDevice.SetDevice(&store.Device{CredentialKey: bytes.Repeat([]byte{9}, 32)}))

	tests := []struct {
		name    string
		store   Store
		creds   []*store.Credential
		wantErr string
	}{
		{name: "tampered ID", store: k.store, creds: []*store.Credential{&tampered},
			wantErr: "credential ID was not made by this authenticator for this RP"},
		{name: "ID of another RP", store: k.store, creds: []*store.Credential{good, &otherRP},
			wantErr: `^describing credential [0-9a-f]+ of "other.example.com": credential ID was not made`},
		{name: "store without device", store: &store.Memory{}, creds: []*store.Credential{good},
			wantErr: "the store holds credentials but no device secrets"},
		{name: "another device's credential", store: otherDevice, creds: []*store.Credential{good},
			wantErr: "credential ID was not made by this authenticator for this RP"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			devBefore, _ := tt.store.Device()
			infos, err := DescribeCredentials(tt.store, tt.creds)
			require.Error(t, err, "DescribeCredentials(%s)", tt.name)
			require.Regexp(t, tt.wantErr, err.Error())
			require.Nil(t, infos)
			devAfter, _ := tt.store.Device()
			require.Equal(t, devBefore, devAfter, "the device record must not change")
		})
	}

	infos, err := DescribeCredentials(&store.Memory{}, nil)
	require.NoError(t, err, "no credentials need no device")
	require.Empty(t, infos)
}

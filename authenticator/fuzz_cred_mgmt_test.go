package authenticator

import (
	"bytes"
	"context"
	"slices"
	"testing"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

func sameCredentials(a, b []*store.Credential) bool {
	return slices.EqualFunc(a, b, func(x, y *store.Credential) bool {
		return bytes.Equal(x.ID, y.ID) && x.User.Name == y.User.Name && x.User.DisplayName == y.User.DisplayName && x.Sequence == y.Sequence
	})
}

// FuzzCredentialManagement sends arbitrary parameters to
// authenticatorCredentialManagement and its prototype on a key with a PIN,
// a cm token and three credentials: never a panic, always a known status,
// and the credentials change only through a deleteCredential or
// updateUserInformation that the token authenticated.
func FuzzCredentialManagement(f *testing.F) {
	k := newCMKey(f, nil)
	tok := k.token(PermCredentialManagement, "")
	seed := func(req *ctap2.CredMgmtRequest) {
		b, err := ctap2.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(false, b)
		f.Add(true, b)
	}
	descriptor := &ctap2.CredentialDescriptor{Type: "public-key", ID: k.creds[1].id}
	seed(cmRequest(f, &tok, ctap2.CredMgmtGetCredsMetadata, nil))
	seed(cmRequest(f, &tok, ctap2.CredMgmtEnumerateRPsBegin, nil))
	seed(cmRequest(f, nil, ctap2.CredMgmtEnumerateRPsGetNextRP, nil))
	seed(cmRequest(f, &tok, ctap2.CredMgmtEnumerateCredentialsBegin, &ctap2.CredMgmtParams{RPIDHash: rpHash("example.org")}))
	seed(cmRequest(f, nil, ctap2.CredMgmtEnumerateCredentialsGetNextCredential, nil))
	seed(cmRequest(f, &tok, ctap2.CredMgmtDeleteCredential, &ctap2.CredMgmtParams{CredentialID: descriptor}))
	seed(cmRequest(f, &tok, ctap2.CredMgmtUpdateUserInformation, &ctap2.CredMgmtParams{CredentialID: descriptor, User: &ctap2.UserEntity{ID: []byte("bob"), Name: "robert"}}))
	seed(cmRequest(f, &tok, 0x08, nil))

	f.Fuzz(func(t *testing.T, prototype bool, params []byte) {
		cmd := ctap2.CmdCredentialManagement
		if prototype {
			cmd = ctap2.CmdCredentialManagementPre
		}
		before, err := k.store.Credentials()
		if err != nil {
			t.Fatal(err)
		}
		status := checkAnswer(t, k.HandleCBOR(context.Background(), append([]byte{byte(cmd)}, params...)))
		after, err := k.store.Credentials()
		if err != nil {
			t.Fatal(err)
		}
		if sameCredentials(before, after) {
			return
		}
		req, err := ctap2.ParseCredMgmtRequest(params)
		switch {
		case status != ctap2.StatusOK:
			t.Fatalf("credentials changed by a request answered %v", status)
		case err != nil:
			t.Fatalf("credentials changed by a request that does not parse: %v", err)
		case req.SubCommand != ctap2.CredMgmtDeleteCredential && req.SubCommand != ctap2.CredMgmtUpdateUserInformation:
			t.Fatalf("credentials changed by subcommand %d", req.SubCommand)
		case !bytes.Equal(req.PinUvAuthParam, tok.Authenticate(req.AuthMessage())):
			t.Fatal("credentials changed by a request the token did not authenticate")
		}
		// Start over, so that later inputs have credentials to act on.
		k = newCMKey(t, nil)
		tok = k.token(PermCredentialManagement, "")
	})
}

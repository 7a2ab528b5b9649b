package authenticator

import (
	"context"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

// FuzzExtensions puts arbitrary extension maps into otherwise valid
// makeCredential and getAssertion requests: the engine must never panic and
// must always answer a known status, with a CBOR body only on success.
func FuzzExtensions(f *testing.F) {
	profile := DefaultProfile()
	profile.Extensions = append(profile.Extensions, ExtHMACSecretMC)
	k := newTestKey(f, profile)

	// A credential with every extension, for getAssertion to find.
	made := mcRequest("example.com", "alice")
	made.Options = map[string]bool{"rk": true}
	made.Extensions = map[string]ctap2.RawMessage{
		ExtCredProtect:  extRaw(f, 2),
		ExtHMACSecret:   extRaw(f, true),
		ExtCredBlob:     extRaw(f, []byte("blob")),
		ExtLargeBlobKey: extRaw(f, true),
	}
	resp, _ := k.makeCredential(made)
	ad, err := ctap2.ParseAuthData(resp.AuthData)
	if err != nil {
		f.Fatal(err)
	}
	credID := ad.Attested.CredentialID

	hmacInput, _ := k.extHMACInput(2, extSalt(1), extSalt(2))
	hmacInputOne, _ := k.extHMACInput(1, extSalt(1))
	for _, ext := range []map[string]any{
		{ExtCredProtect: 3, ExtHMACSecret: true, ExtCredBlob: []byte("x"), ExtLargeBlobKey: true, ExtMinPINLength: true},
		{ExtHMACSecret: true, ExtHMACSecretMC: hmacInput},
		{ExtHMACSecret: hmacInput, ExtCredBlob: true, ExtLargeBlobKey: true},
		{ExtHMACSecret: hmacInputOne},
		{ExtCredProtect: "x", "other": map[int]int{1: 2}},
	} {
		for op := range uint8(4) {
			f.Add([]byte(extRaw(f, ext)), op)
		}
	}

	f.Fuzz(func(t *testing.T, ext []byte, op uint8) {
		var req map[int]any
		if op&1 == 0 {
			req = map[int]any{
				1: clientDataHash(1),
				2: map[string]string{"id": "example.com"},
				3: map[string]any{"id": []byte("bob"), "name": "bob"},
				4: []map[string]any{{"type": "public-key", "alg": -7}},
				6: ctap2.RawMessage(ext),
				7: map[string]bool{"rk": op&2 != 0},
			}
		} else {
			req = map[int]any{1: "example.com", 2: clientDataHash(2), 4: ctap2.RawMessage(ext)}
			if op&2 != 0 {
				req[3] = allow(credID)
			}
		}
		params, err := ctap2.Marshal(req)
		if err != nil {
			return // not one CBOR item: nothing to put in a request
		}
		cmd := ctap2.CmdMakeCredential
		if op&1 != 0 {
			cmd = ctap2.CmdGetAssertion
		}
		answer := k.HandleCBOR(context.Background(), append([]byte{byte(cmd)}, params...))
		if len(answer) == 0 {
			t.Fatal("empty response")
		}
		status := ctap2.Status(answer[0])
		if !status.Known() {
			t.Fatalf("%v with extensions %x: unknown status %v", cmd, ext, status)
		}
		if status != ctap2.StatusOK && len(answer) != 1 {
			t.Fatalf("%v: error %v with a body", cmd, status)
		}
		if status == ctap2.StatusOK {
			var v any
			if err := ctap2.Unmarshal(answer[1:], &v); err != nil {
				t.Fatalf("%v: success body is not CBOR: %v", cmd, err)
			}
		}
	})
}

package authenticator

import (
	"context"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
	"github.com/softkeydev/softkey/ctap2/u2f"
)

// FuzzHandleCBOR feeds arbitrary messages to the engine: it must never
// panic, and must always answer a known status, with a CBOR body only on
// success.
func FuzzHandleCBOR(f *testing.F) {
	seed := func(cmd ctap2.Command, v any) {
		b, err := ctap2.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(append([]byte{byte(cmd)}, b...))
	}
	rk := mcRequest("example.org", "alice")
	rk.Options = map[string]bool{"rk": true}
	seed(ctap2.CmdMakeCredential, mcRequest("example.org", "alice", ctap2.AlgEdDSA))
	seed(ctap2.CmdMakeCredential, rk)
	seed(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(1)})
	seed(ctap2.CmdGetAssertion, &ctap2.GetAssertionRequest{RPID: "example.org", ClientDataHash: clientDataHash(1), AllowList: allow([]byte{1, 2, 3})})
	f.Add([]byte{byte(ctap2.CmdGetInfo)})
	f.Add([]byte{byte(ctap2.CmdGetNextAssertion)})
	f.Add([]byte{byte(ctap2.CmdReset)})

	k := newTestKey(f, nil)
	f.Fuzz(func(t *testing.T, msg []byte) {
		checkAnswer(t, k.HandleCBOR(context.Background(), msg))
	})
}

// FuzzHandleMessage feeds arbitrary APDUs to the U2F side: never a panic,
// always a status word at the end.
func FuzzHandleMessage(f *testing.F) {
	app := ctap2.RPIDHash("example.org")
	for _, cmd := range []u2f.Command{
		{INS: u2f.InsVersion},
		{INS: u2f.InsRegister, Data: u2f.EncodeRegisterRequest([32]byte{}, app)},
	} {
		raw, err := u2f.EncodeCommand(cmd, false)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(raw)
	}
	k := newTestKey(f, nil)
	f.Fuzz(func(t *testing.T, apdu []byte) {
		if _, _, err := u2f.SplitStatus(k.HandleMessage(context.Background(), apdu)); err != nil {
			t.Fatalf("answer without a status word: %v", err)
		}
	})
}

// checkAnswer fails unless resp is a known status, with a CBOR body only
// on success.
func checkAnswer(t *testing.T, resp []byte) ctap2.Status {
	t.Helper()
	if len(resp) == 0 {
		t.Fatal("empty response")
	}
	status := ctap2.Status(resp[0])
	if !status.Known() {
		t.Fatalf("unknown status %v", status)
	}
	if status != ctap2.StatusOK && len(resp) != 1 {
		t.Fatalf("error %v with a body", status)
	}
	if status == ctap2.StatusOK && len(resp) > 1 {
		var v any
		if err := ctap2.Unmarshal(resp[1:], &v); err != nil {
			t.Fatalf("success body is not CBOR: %v", err)
		}
	}
	return status
}

// seedCBOR encodes v for a fuzz seed; nil stays nil (no parameters).
func seedCBOR(f *testing.F, v any) []byte {
	if v == nil {
		return nil
	}
	b, err := ctap2.Marshal(v)
	if err != nil {
		f.Fatal(err)
	}
	return b
}

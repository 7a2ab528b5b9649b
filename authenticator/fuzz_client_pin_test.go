package authenticator

import (
	"bytes"
	"context"
	"testing"

	"github.com/softkeydev/softkey/authenticator/store"
	"github.com/softkeydev/softkey/ctap2"
)

// fuzzPIN is a PIN no fuzzer input can carry: a token, a PIN change or a
// new PIN can only come from a request that knows it.
const fuzzPIN = "correct horse battery staple 1729"

// clientPINStatuses are the answers authenticatorClientPIN may give.
var clientPINStatuses = map[ctap2.Status]bool{
	ctap2.StatusOK: true, ctap2.ErrInvalidParameter: true, ctap2.ErrCBORUnexpectedType: true,
	ctap2.ErrInvalidCBOR: true, ctap2.ErrMissingParameter: true, ctap2.ErrLimitExceeded: true,
	ctap2.ErrInvalidSubcommand: true, ctap2.ErrNotAllowed: true, ctap2.ErrPINInvalid: true,
	ctap2.ErrPINBlocked: true, ctap2.ErrPINAuthInvalid: true, ctap2.ErrPINAuthBlocked: true,
	ctap2.ErrPINPolicyViolation: true, ctap2.ErrUnauthorizedPermission: true,
}

// FuzzClientPIN feeds arbitrary authenticatorClientPIN parameters to a
// key with a PIN set. It must never panic, must answer a status
// clientPIN can give, and must never issue a token, change or set the
// PIN for a request that does not know the PIN.
func FuzzClientPIN(f *testing.F) {
	k := newTestKey(f, nil)
	k.setPIN(2, fuzzPIN)
	seed := func(v any) {
		b, err := ctap2.Marshal(v)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	for _, protocol := range []uint64{1, 2} {
		seed(&ctap2.ClientPINRequest{SubCommand: ctap2.PINGetRetries})
		seed(&ctap2.ClientPINRequest{PinUvAuthProtocol: protocol, SubCommand: ctap2.PINGetKeyAgreement})
		seed(k.setPINRequest(protocol, "1234"))
		seed(k.changePINRequest(protocol, "1234", "5678"))
		req, _ := k.tokenRequest(protocol, "1234", PermGetAssertion|PermCredentialManagement, "example.com")
		seed(req)
		req, _ = k.tokenRequest(protocol, "1234", 0, "")
		req.SubCommand = ctap2.PINGetPinToken
		seed(req)
		req, _ = k.uvTokenRequest(protocol, PermMakeCredential, "example.com")
		seed(req)
	}
	seed(map[int]any{1: 2, 2: 9, 3: []byte{}, 6: make([]byte, 32), 9: 0})

	pinHash := pinHash([]byte(fuzzPIN))
	f.Fuzz(func(t *testing.T, params []byte) {
		resp := k.HandleCBOR(context.Background(), append([]byte{byte(ctap2.CmdClientPIN)}, params...))
		if len(resp) == 0 {
			t.Fatal("empty response")
		}
		status := ctap2.Status(resp[0])
		if !clientPINStatuses[status] {
			t.Fatalf("clientPIN answered %v", status)
		}
		if status != ctap2.StatusOK && len(resp) > 1 {
			t.Fatalf("%v with a body", status)
		}
		if status == ctap2.StatusOK {
			req, err := ctap2.ParseClientPINRequest(params)
			if err != nil {
				t.Fatalf("OK for parameters that do not parse: %v", err)
			}
			switch req.SubCommand {
			case ctap2.PINGetRetries, ctap2.PINGetKeyAgreement:
			default:
				t.Fatalf("subcommand %#x succeeded without the PIN", req.SubCommand)
			}
		}
		if k.tokenInUse() {
			t.Fatal("a token is in use")
		}
		d, err := k.store.Device()
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(d.PINHash, pinHash) {
			t.Fatal("the PIN changed")
		}
		// Start the next input with retries left and no power cycle due.
		k.pin.pinFailuresSincePowerUp = 0
		if d.PINFailures > 0 {
			if err := k.updateDevice(func(d *store.Device) error { d.PINFailures = 0; return nil }); err != nil {
				t.Fatal(err)
			}
		}
	})
}

package authenticator

import (
	"context"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

// FuzzConfig feeds authenticatorConfig requests to a key with a PIN: the
// message as given, and a request for subCommand with subCommandParams
// that carries a valid pinUvAuthParam, so that the fuzzer reaches the
// subcommands. The engine must never panic, must answer a known status,
// and the minimum PIN length must never go down nor above 63.
func FuzzConfig(f *testing.F) {
	seed := func(sub uint64, params any) {
		f.Add(seedCBOR(f, map[int]any{1: sub}), sub, seedCBOR(f, params))
	}
	seed(ctap2.ConfigEnableEnterpriseAttestation, nil)
	seed(ctap2.ConfigToggleAlwaysUV, nil)
	seed(ctap2.ConfigSetMinPINLength, map[int]any{1: 8})
	seed(ctap2.ConfigSetMinPINLength, map[int]any{1: 10, 2: []string{"example.org"}, 3: true})
	seed(ctap2.ConfigSetMinPINLength, map[int]any{2: []string{"a", "b", "c", "d", "e"}})
	seed(ctap2.ConfigVendorPrototype, map[int]any{1: 1})

	k := newTestKey(f, configProfile())
	k.setPIN(2, "12345678")
	token := k.pinToken(2, "12345678", PermAuthenticatorConfig, "")
	send := func(t *testing.T, msg []byte) {
		resp := k.HandleCBOR(context.Background(), append([]byte{byte(ctap2.CmdConfig)}, msg...))
		if status := ctap2.Status(resp[0]); !status.Known() || (status != ctap2.StatusOK && len(resp) != 1) {
			t.Fatalf("answer %x to %x", resp, msg)
		}
	}
	f.Fuzz(func(t *testing.T, msg []byte, sub uint64, params []byte) {
		dev, err := k.device()
		if err != nil {
			t.Fatal(err)
		}
		before := k.minPINLength(dev)
		send(t, msg)
		req := map[int]any{1: sub, 3: 2, 4: authParam(2, token, ctap2.ConfigAuthMessage(uint8(sub), params))}
		if len(params) > 0 {
			req[2] = ctap2.RawMessage(params)
		}
		if signed, err := ctap2.Marshal(req); err == nil {
			send(t, signed)
		}
		if after := k.minPINLength(dev); after < before || after > maxPINBytes {
			t.Fatalf("minimum PIN length went from %d to %d", before, after)
		}
	})
}

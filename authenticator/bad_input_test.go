package authenticator

import (
	"bytes"
	"context"
	"crypto/sha256"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/authenticator/keys"
	"github.com/softkeydev/softkey/authenticator/store/vault"
	"github.com/softkeydev/softkey/ctap2"
)

type badInput struct {
	name string
	msg  []byte
	want ctap2.Status
}

// badInputs are malformed, truncated and out-of-range requests with the
// status each must get.
func badInputs(t *testing.T) []badInput {
	cbor := func(v any) []byte {
		b, err := ctap2.Marshal(v)
		require.NoError(t, err)
		return b
	}
	valid := cbor(mcRequest("example.org", "alice"))
	hash := clientDataHash(1)
	params := []map[string]any{{"type": "public-key", "alg": -7}}
	rp := map[string]any{"id": "example.org"}
	user := map[string]any{"id": []byte("alice")}
	mc := func(m map[int]any) []byte { return append([]byte{byte(ctap2.CmdMakeCredential)}, cbor(m)...) }
	ga := func(m map[int]any) []byte { return append([]byte{byte(ctap2.CmdGetAssertion)}, cbor(m)...) }
	manyIDs := make([]map[string]any, 65)
	for i := range manyIDs {
		manyIDs[i] = map[string]any{"type": "public-key", "id": []byte{byte(i)}}
	}

	return []badInput{
		{"empty message", nil, ctap2.ErrInvalidLength},
		{"unknown command", []byte{0x66}, ctap2.ErrInvalidCommand},
		{"vendor command", []byte{0xC0, 0xA0}, ctap2.ErrInvalidCommand},
		{"makeCredential without parameters", []byte{0x01}, ctap2.ErrInvalidCBOR},
		{"truncated CBOR", append([]byte{0x01}, valid[:len(valid)-3]...), ctap2.ErrInvalidCBOR},
		{"trailing bytes", append(append([]byte{0x01}, valid...), 0x00), ctap2.ErrInvalidCBOR},
		{"indefinite-length map", []byte{0x01, 0xBF, 0x01, 0x40, 0xFF}, ctap2.ErrInvalidCBOR},
		{"duplicate map key", []byte{0x01, 0xA2, 0x01, 0x40, 0x01, 0x40}, ctap2.ErrInvalidCBOR},
		{"tagged item", []byte{0x01, 0xC1, 0x00}, ctap2.ErrInvalidCBOR},
		{"parameters are an array", []byte{0x01, 0x80}, ctap2.ErrCBORUnexpectedType},
		{"clientDataHash is text", mc(map[int]any{1: "x", 2: rp, 3: user, 4: params}), ctap2.ErrCBORUnexpectedType},
		{"rp is a string", mc(map[int]any{1: hash, 2: "example.org", 3: user, 4: params}), ctap2.ErrCBORUnexpectedType},
		{"option is not a bool", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 7: map[string]any{"rk": 1}}), ctap2.ErrCBORUnexpectedType},
		{"alg is text", mc(map[int]any{1: hash, 2: rp, 3: user, 4: []map[string]any{{"type": "public-key", "alg": "ES256"}}}), ctap2.ErrCBORUnexpectedType},
		{"missing clientDataHash", mc(map[int]any{2: rp, 3: user, 4: params}), ctap2.ErrMissingParameter},
		{"missing rp", mc(map[int]any{1: hash, 3: user, 4: params}), ctap2.ErrMissingParameter},
		{"missing user", mc(map[int]any{1: hash, 2: rp, 4: params}), ctap2.ErrMissingParameter},
		{"missing pubKeyCredParams", mc(map[int]any{1: hash, 2: rp, 3: user}), ctap2.ErrMissingParameter},
		{"missing user.id", mc(map[int]any{1: hash, 2: rp, 3: map[string]any{"name": "a"}, 4: params}), ctap2.ErrMissingParameter},
		{"user.id over 64 bytes", mc(map[int]any{1: hash, 2: rp, 3: map[string]any{"id": bytes.Repeat([]byte{1}, 65)}, 4: params}), ctap2.ErrInvalidLength},
		{"short clientDataHash", mc(map[int]any{1: hash[:31], 2: rp, 3: user, 4: params}), ctap2.ErrInvalidLength},
		{"no supported algorithm", mc(map[int]any{1: hash, 2: rp, 3: user, 4: []map[string]any{{"type": "public-key", "alg": -35}, {"type": "x", "alg": -7}}}), ctap2.ErrUnsupportedAlgorithm},
		{"up=false", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 7: map[string]bool{"up": false}}), ctap2.ErrInvalidOption},
		{"uv=true without UV", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 7: map[string]bool{"uv": true}}), ctap2.ErrInvalidOption},
		{"exclude list too long", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 5: manyIDs}), ctap2.ErrLimitExceeded},
		{"exclude entry without id", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 5: []map[string]any{{"type": "public-key"}}}), ctap2.ErrMissingParameter},
		{"huge list", append([]byte{0x01, 0xA1, 0x05, 0x99, 0xFF, 0xFF}, bytes.Repeat([]byte{0xA0}, 100)...), ctap2.ErrLimitExceeded},
		{"deep nesting", append([]byte{0x01}, bytes.Repeat([]byte{0x81}, 20)...), ctap2.ErrInvalidCBOR},
		{"pinUvAuthParam without protocol", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 8: []byte{1, 2}}), ctap2.ErrMissingParameter},
		{"pinUvAuthParam with a protocol", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 8: []byte{1, 2}, 9: 3}), ctap2.ErrInvalidParameter},
		{"zero-length pinUvAuthParam", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 8: []byte{}}), ctap2.ErrPINNotSet},
		{"enterprise attestation", mc(map[int]any{1: hash, 2: rp, 3: user, 4: params, 10: 1}), ctap2.ErrInvalidParameter},
		{"getAssertion missing rpId", ga(map[int]any{2: hash}), ctap2.ErrMissingParameter},
		{"getAssertion missing clientDataHash", ga(map[int]any{1: "example.org"}), ctap2.ErrMissingParameter},
		{"getAssertion rk option", ga(map[int]any{1: "example.org", 2: hash, 5: map[string]bool{"rk": true}}), ctap2.ErrUnsupportedOption},
		{"getAssertion allow list too long", ga(map[int]any{1: "example.org", 2: hash, 3: manyIDs}), ctap2.ErrLimitExceeded},
		{"getAssertion allow entry of wrong type", ga(map[int]any{1: "example.org", 2: hash, 3: []any{"id"}}), ctap2.ErrCBORUnexpectedType},
		{"getNextAssertion with nothing pending", []byte{0x08}, ctap2.ErrNotAllowed},
	}
}

// TestBadInput checks the status code of each bad input and that the store
// is untouched.
func TestBadInput(t *testing.T) {
	for _, tt := range badInputs(t) {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, nil)
			seed := mcRequest("example.org", "seed")
			seed.Options = map[string]bool{"rk": true}
			k.makeCredential(seed)
			before, err := k.store.Credentials()
			require.NoError(t, err)

			resp := k.HandleCBOR(context.Background(), tt.msg)
			require.Equal(t, []byte{byte(tt.want)}, resp, "got %v, want %v", ctap2.Status(resp[0]), tt.want)

			after, err := k.store.Credentials()
			require.NoError(t, err)
			require.Equal(t, before, after, "store changed by a refused request")
		})
	}
}

// TestBadInputLeavesVaultUntouched sends every bad input to a key on a real
// vault and checks that the vault file did not change by a single byte.
func TestBadInputLeavesVaultUntouched(t *testing.T) {
	dir := t.TempDir()
	v, err := vault.Open(dir, vault.Options{})
	require.NoError(t, err)
	defer v.Close()
	a, err := New(Config{Profile: DefaultProfile(), Store: v, Keys: keys.NewSoftware(nil)})
	require.NoError(t, err)
	seed, err := ctap2.Marshal(&ctap2.MakeCredentialRequest{
		ClientDataHash: clientDataHash(1), RP: &ctap2.RPEntity{ID: "example.org"}, User: &ctap2.UserEntity{ID: []byte{1}},
		PubKeyCredParams: []ctap2.CredentialParam{{Type: "public-key", Alg: ctap2.AlgES256}}, Options: map[string]bool{"rk": true},
	})
	require.NoError(t, err)
	require.Equal(t, byte(0), a.HandleCBOR(context.Background(), append([]byte{byte(ctap2.CmdMakeCredential)}, seed...))[0])

	fileHash := func() [32]byte {
		b, err := os.ReadFile(filepath.Join(dir, vault.DBFile))
		require.NoError(t, err)
		return sha256.Sum256(b)
	}
	before := fileHash()
	for _, tt := range badInputs(t) {
		resp := a.HandleCBOR(context.Background(), tt.msg)
		require.Equal(t, []byte{byte(tt.want)}, resp, tt.name)
	}
	require.Equal(t, before, fileHash(), "vault file changed by refused requests")
}

package authenticator

import (
	"bytes"
	"context"
	"testing"

	"github.com/softkeydev/softkey/ctap2"
)

// FuzzLargeBlobs sends arbitrary parameters to authenticatorLargeBlobs on
// a key with a PIN and an lbw token: never a panic, always a known status,
// and the stored array changes only with the last fragment of a write the
// token authenticated, and then to an array whose hash checks.
func FuzzLargeBlobs(f *testing.F) {
	k := newCMKey(f, nil)
	tok := k.token(PermLargeBlobWrite, "")
	seed := func(req *ctap2.LargeBlobsRequest) {
		b, err := ctap2.Marshal(req)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(b)
	}
	array := lbArray(f, 120)
	seed(&ctap2.LargeBlobsRequest{Get: u64(100), Offset: u64(0)})
	seed(&ctap2.LargeBlobsRequest{Get: u64(5), Offset: u64(17)})
	seed(lbSet(&tok, 0, array, u64(120)))
	seed(lbSet(&tok, 0, array[:60], u64(120)))
	seed(lbSet(&tok, 60, array[60:], nil))
	seed(lbSet(nil, 0, array, u64(120)))

	stored := func(t *testing.T) []byte {
		d, err := k.store.Device()
		if err != nil {
			t.Fatal(err)
		}
		return d.LargeBlobArray
	}
	f.Fuzz(func(t *testing.T, params []byte) {
		before := stored(t)
		status := checkAnswer(t, k.HandleCBOR(context.Background(), append([]byte{byte(ctap2.CmdLargeBlobs)}, params...)))
		after := stored(t)
		if bytes.Equal(before, after) {
			return
		}
		req, err := ctap2.ParseLargeBlobsRequest(params)
		switch {
		case status != ctap2.StatusOK:
			t.Fatalf("array changed by a request answered %v", status)
		case err != nil:
			t.Fatalf("array changed by a request that does not parse: %v", err)
		case req.Set == nil || *req.Offset > 1<<32-1:
			t.Fatal("array changed by a request that is not a set")
		case !bytes.Equal(req.PinUvAuthParam, tok.Authenticate(ctap2.LargeBlobsSetAuthMessage(uint32(*req.Offset), req.Set))):
			t.Fatal("array changed by a set the token did not authenticate")
		case !ctap2.CheckLargeBlobArray(after):
			t.Fatalf("stored array %x does not end with its hash", after)
		}
	})
}

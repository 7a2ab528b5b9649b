package authenticator

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/softkeydev/softkey/ctap2"
)

func TestPresenceOutcomes(t *testing.T) {
	tests := []struct {
		name string
		err  error
		want ctap2.Status
	}{
		{"denied", ErrPresenceDenied, ctap2.ErrOperationDenied},
		{"timeout", ErrPresenceTimeout, ctap2.ErrUserActionTimeout},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k := newTestKey(t, nil)
			k.presence.err = tt.err
			req := mcRequest("example.org", "alice")
			req.Options = map[string]bool{"rk": true}
			status, _ := k.do(ctap2.CmdMakeCredential, req)
			require.Equal(t, tt.want, status)
			n, err := k.store.CountCredentials()
			require.NoError(t, err)
			require.Zero(t, n, "nothing stored without presence")
		})
	}
}

// blockingPresence waits until the request's context ends.
type blockingPresence struct{ waiting chan struct{} }

func (p blockingPresence) RequestPresence(ctx context.Context, _ PresenceRequest) error {
	close(p.waiting)
	<-ctx.Done()
	return ctx.Err()
}

func TestPresenceCancelAndKeepaliveReport(t *testing.T) {
	k := newTestKey(t, nil)
	p := blockingPresence{waiting: make(chan struct{})}
	k.presence = nil
	k.Authenticator.presence = p

	var reports []ctap2.KeepaliveStatus
	ctx, cancel := context.WithCancel(context.Background())
	ctx = ctap2.WithKeepalive(ctx, func(s ctap2.KeepaliveStatus) { reports = append(reports, s) })
	msg, err := ctap2.Marshal(mcRequest("example.org", "alice"))
	require.NoError(t, err)

	done := make(chan []byte)
	go func() { done <- k.HandleCBOR(ctx, append([]byte{byte(ctap2.CmdMakeCredential)}, msg...)) }()
	<-p.waiting
	cancel() // what CTAPHID_CANCEL does
	resp := <-done
	require.Equal(t, []byte{byte(ctap2.ErrKeepaliveCancel)}, resp)
	require.Equal(t, []ctap2.KeepaliveStatus{ctap2.KeepaliveUPNeeded, ctap2.KeepaliveProcessing}, reports)
}

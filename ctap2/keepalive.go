package ctap2

import "context"

// KeepaliveStatus is the status byte of a CTAPHID_KEEPALIVE message
// (CTAP 2.1 §11.2.9.1.7).
type KeepaliveStatus uint8

const (
	KeepaliveProcessing KeepaliveStatus = 1
	KeepaliveUPNeeded   KeepaliveStatus = 2
)

type keepaliveKey struct{}

// WithKeepalive returns a context through which a command handler can tell
// the transport what it is waiting for, so that the transport can send
// KEEPALIVE UPNEEDED while the user is asked for a touch.
func WithKeepalive(ctx context.Context, report func(KeepaliveStatus)) context.Context {
	return context.WithValue(ctx, keepaliveKey{}, report)
}

// ReportKeepalive tells the transport behind ctx (if any) what the
// authenticator is doing now.
func ReportKeepalive(ctx context.Context, status KeepaliveStatus) {
	if report, ok := ctx.Value(keepaliveKey{}).(func(KeepaliveStatus)); ok {
		report(status)
	}
}

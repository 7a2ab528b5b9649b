package tunnel

import (
	"context"
	"errors"
	"fmt"
	"net/http"

	"github.com/coder/websocket"
)

// Conn is a client's connection to a tunnel: the phone's or the desktop's
// end. Each message is one caBLE message (handshake or encrypted frame).
type Conn struct {
	ws     *websocket.Conn
	header http.Header
}

// DialOptions configures [DialWith]. The zero value is usable.
type DialOptions struct {
	// Header is sent with the request (for example
	// X-caBLE-Client-Payload on /cable/contact/).
	Header http.Header
	// HTTPClient dials; nil is http.DefaultClient. Set its transport's
	// TLS config to trust a self-signed server.
	HTTPClient *http.Client
	// MaxMessageSize bounds received messages; zero means
	// DefaultMaxMessageSize.
	MaxMessageSize int64
}

// DialError is returned when the server refuses the upgrade.
type DialError struct {
	StatusCode int // the HTTP status, 0 if there was no response
	Err        error
}

func (e *DialError) Error() string {
	if e.StatusCode != 0 {
		return fmt.Sprintf("tunnel: dialing: HTTP %d: %v", e.StatusCode, e.Err)
	}
	return fmt.Sprintf("tunnel: dialing: %v", e.Err)
}

func (e *DialError) Unwrap() error { return e.Err }

// Dial connects to url (ws:// or wss://, the full endpoint path) with the
// fido.cable subprotocol.
func Dial(ctx context.Context, url string) (*Conn, error) {
	return DialWith(ctx, url, DialOptions{})
}

// DialWith is [Dial] with options.
func DialWith(ctx context.Context, url string, opts DialOptions) (*Conn, error) {
	ws, resp, err := websocket.Dial(ctx, url, &websocket.DialOptions{
		Subprotocols: []string{Subprotocol},
		HTTPHeader:   opts.Header,
		HTTPClient:   opts.HTTPClient,
	})
	if err != nil {
		de := &DialError{Err: err}
		if resp != nil {
			de.StatusCode = resp.StatusCode
		}
		return nil, de
	}
	if ws.Subprotocol() != Subprotocol {
		ws.Close(websocket.StatusProtocolError, "no "+Subprotocol+" subprotocol")
		return nil, &DialError{Err: fmt.Errorf("the server did not select the %s subprotocol", Subprotocol)}
	}
	limit := opts.MaxMessageSize
	if limit <= 0 {
		limit = DefaultMaxMessageSize
	}
	ws.SetReadLimit(limit)
	return &Conn{ws: ws, header: resp.Header}, nil
}

// Header returns the headers of the server's 101 response.
func (c *Conn) Header() http.Header { return c.header }

// RoutingID returns the X-caBLE-Routing-ID the server answered
// /cable/new/ with ("" if none).
func (c *Conn) RoutingID() string { return c.header.Get(RoutingIDHeader) }

// ErrTextMessage is returned by [Conn.Read] on a text message, which caBLE
// does not use; the connection is then closed.
var ErrTextMessage = errors.New("tunnel: text message")

// Read returns the next message. When the tunnel closes, the error
// carries the close status: see [CloseStatus].
func (c *Conn) Read(ctx context.Context) ([]byte, error) {
	typ, msg, err := c.ws.Read(ctx)
	if err != nil {
		return nil, fmt.Errorf("tunnel: reading: %w", err)
	}
	if typ != websocket.MessageBinary {
		c.ws.Close(websocket.StatusUnsupportedData, "text message")
		return nil, ErrTextMessage
	}
	return msg, nil
}

// Write sends msg as one binary message.
func (c *Conn) Write(ctx context.Context, msg []byte) error {
	if err := c.ws.Write(ctx, websocket.MessageBinary, msg); err != nil {
		return fmt.Errorf("tunnel: writing: %w", err)
	}
	return nil
}

// Close closes the connection normally.
func (c *Conn) Close() error {
	if err := c.ws.Close(websocket.StatusNormalClosure, ""); err != nil {
		return fmt.Errorf("tunnel: closing: %w", err)
	}
	return nil
}

// CloseStatus returns the WebSocket close code in err, or -1.
func CloseStatus(err error) int { return int(websocket.CloseStatus(err)) }

// CloseReason returns the close reason in err, or "".
func CloseReason(err error) string {
	var ce websocket.CloseError
	if errors.As(err, &ce) {
		return ce.Reason
	}
	return ""
}

package tunnel

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strings"

	"github.com/coder/websocket"
)

// Contact listeners are a softkey-local stand-in for the push service
// (FCM, APNs) that wakes a real linked phone; they are not part of caBLE.
//
// A linked phone holds a WebSocket (subprotocol fido.cable) open on
//
//	GET /softkey/contact-listen/<base64url(contact ID), no padding>
//
// When a desktop then asks for /cable/contact/ with that contact ID and
// [Config.Contact] is nil, the server sends the phone one binary message,
// the JSON of [ContactRequest] (see [contactWire]), and the phone joins
// the tunnel with /cable/connect/. Without a listener the desktop gets
// 410 Gone, as before. One listener per contact ID: a second one gets
// 409 Conflict.

// ContactListenPrefix starts the path of the contact-listen endpoint.
const ContactListenPrefix = "/softkey/contact-listen/"

// ContactListenPath is the path a phone listens for contacts on.
func ContactListenPath(contactID []byte) string {
	return ContactListenPrefix + base64.RawURLEncoding.EncodeToString(contactID)
}

// contactWire is the JSON of a ContactRequest on a contact listener.
type contactWire struct {
	ContactID     string `json:"contactId"`     // base64url, no padding
	ClientPayload string `json:"clientPayload"` // hex
	RoutingID     string `json:"routingId"`     // hex
	TunnelID      string `json:"tunnelId"`      // hex
}

func (w contactWire) request() (ContactRequest, error) {
	var req ContactRequest
	var err error
	if req.ContactID, err = base64.RawURLEncoding.DecodeString(w.ContactID); err != nil {
		return req, fmt.Errorf("contact ID: %w", err)
	}
	if req.ClientPayload, err = hex.DecodeString(w.ClientPayload); err != nil {
		return req, fmt.Errorf("client payload: %w", err)
	}
	if err := decodeHex(req.RoutingID[:], w.RoutingID, "routing ID"); err != nil {
		return req, err
	}
	if err := decodeHex(req.TunnelID[:], w.TunnelID, "tunnel ID"); err != nil {
		return req, err
	}
	return req, nil
}

// delivery is a contact request on its way to a listener; done gets the
// result of writing it.
type delivery struct {
	req  ContactRequest
	done chan error
}

// listener is one phone's contact-listen connection.
type listener struct {
	reqs chan delivery
	gone chan struct{} // closed when the listener's handler returns
	stop context.CancelFunc
}

// parseListenPath returns the contact ID of a contact-listen path.
func parseListenPath(path string) ([]byte, error) {
	enc, ok := strings.CutPrefix(path, ContactListenPrefix)
	if !ok || len(path) > maxPathLen {
		return nil, ErrBadPath
	}
	id, err := base64.RawURLEncoding.Strict().DecodeString(enc)
	if err != nil || len(id) == 0 || len(id) > MaxContactIDSize {
		return nil, fmt.Errorf("%w: contact ID is not 1 to %d bytes of unpadded base64url", ErrBadPath, MaxContactIDSize)
	}
	return id, nil
}

// serveListen holds a phone's contact-listen connection open and writes
// it the contact requests for its contact ID.
func (s *Server) serveListen(w http.ResponseWriter, r *http.Request, contactID []byte) {
	key := string(contactID)
	ctx, stop := context.WithCancel(context.Background())
	defer stop()
	l := &listener{reqs: make(chan delivery), gone: make(chan struct{}), stop: stop}
	defer close(l.gone)
	s.mu.Lock()
	switch {
	case s.closing:
		s.mu.Unlock()
		s.refuse(w, r, http.StatusServiceUnavailable, "server shutting down")
		return
	case s.listeners[key] != nil:
		s.mu.Unlock()
		s.refuse(w, r, http.StatusConflict, "a phone already listens for this contact ID")
		return
	}
	if s.listeners == nil {
		s.listeners = make(map[string]*listener)
	}
	s.listeners[key] = l
	s.wg.Add(1)
	s.mu.Unlock()
	defer s.wg.Done()
	defer func() {
		s.mu.Lock()
		delete(s.listeners, key)
		s.mu.Unlock()
	}()

	c, err := websocket.Accept(w, r, &websocket.AcceptOptions{Subprotocols: []string{Subprotocol}, InsecureSkipVerify: true})
	if err != nil {
		s.log.Info("tunnel: contact listener refused", "remote", r.RemoteAddr, "reason", err)
		return
	}
	defer c.CloseNow()
	defer context.AfterFunc(s.cut, func() { c.CloseNow() })()
	// The phone sends nothing; CloseRead notices when it hangs up. Its
	// context is not ctx: cancelling a read would cut the connection
	// before the close frame below.
	readCtx := c.CloseRead(context.Background())
	s.log.Info("tunnel: contact listener open", "remote", r.RemoteAddr)
	for {
		select {
		case <-readCtx.Done():
			s.log.Info("tunnel: contact listener closed", "remote", r.RemoteAddr, "reason", "the phone left")
			return
		case <-ctx.Done():
			c.Close(websocket.StatusGoingAway, "server shutting down")
			s.log.Info("tunnel: contact listener closed", "remote", r.RemoteAddr, "reason", "server shutting down")
			return
		case d := <-l.reqs:
			msg, err := json.Marshal(contactWire{
				ContactID:     base64.RawURLEncoding.EncodeToString(d.req.ContactID),
				ClientPayload: hex.EncodeToString(d.req.ClientPayload),
				RoutingID:     upperHex(d.req.RoutingID[:]),
				TunnelID:      upperHex(d.req.TunnelID[:]),
			})
			if err == nil {
				err = c.Write(ctx, websocket.MessageBinary, msg)
			}
			d.done <- err
			if err != nil {
				s.log.Info("tunnel: contact listener closed", "remote", r.RemoteAddr, "reason", err)
				return
			}
		}
	}
}

// contactListener is the Contact hook of a server without
// [Config.Contact]: it hands req to the phone listening for its contact
// ID, or answers [ErrContactGone].
func (s *Server) contactListener(ctx context.Context, req ContactRequest) error {
	s.mu.Lock()
	l := s.listeners[string(req.ContactID)]
	s.mu.Unlock()
	if l == nil {
		return ErrContactGone
	}
	d := delivery{req: req, done: make(chan error, 1)}
	select {
	case l.reqs <- d:
	case <-l.gone:
		return ErrContactGone
	case <-ctx.Done():
		return ctx.Err()
	}
	if err := <-d.done; err != nil {
		return fmt.Errorf("telling the phone: %w", err)
	}
	return nil
}

// stopListeners closes every contact listener (Shutdown).
func (s *Server) stopListeners() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, l := range s.listeners {
		l.stop()
	}
}

// ContactListener is a phone's connection to the contact-listen endpoint.
type ContactListener struct {
	conn *Conn
}

// ListenContacts opens a contact listener on the server at base (ws:// or
// wss://, no path) for contactID. Close it when done.
func ListenContacts(ctx context.Context, base string, contactID []byte, opts DialOptions) (*ContactListener, error) {
	c, err := DialWith(ctx, strings.TrimSuffix(base, "/")+ContactListenPath(contactID), opts)
	if err != nil {
		return nil, err
	}
	return &ContactListener{conn: c}, nil
}

// Next waits for the next contact request.
func (l *ContactListener) Next(ctx context.Context) (ContactRequest, error) {
	msg, err := l.conn.Read(ctx)
	if err != nil {
		return ContactRequest{}, err
	}
	var w contactWire
	if err := json.Unmarshal(msg, &w); err != nil {
		return ContactRequest{}, fmt.Errorf("tunnel: contact listener: %w", err)
	}
	req, err := w.request()
	if err != nil {
		return ContactRequest{}, fmt.Errorf("tunnel: contact listener: %w", err)
	}
	return req, nil
}

// Close hangs up.
func (l *ContactListener) Close() error {
	err := l.conn.Close()
	if err != nil && errors.Is(err, context.Canceled) {
		return nil
	}
	return err
}

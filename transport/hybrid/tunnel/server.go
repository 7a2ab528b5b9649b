// Package tunnel is a caBLE v2 ("hybrid") tunnel server and a small client
// for it (hybrid-cable.md §5.2, §9).
//
// The server relays binary WebSocket messages verbatim between the two
// parties of a tunnel, a phone and a desktop; it never sees plaintext, as
// every message after the Noise handshake is encrypted end to end.
//
// # Endpoints
//
//   - GET /cable/new/<tunnel ID>: the phone opens a tunnel (QR flow). The
//     101 carries the routing ID in the X-caBLE-Routing-ID header.
//   - GET /cable/connect/<routing ID>/<tunnel ID>: the other party joins.
//     Unknown routing or tunnel IDs get 404.
//   - GET /cable/contact/<contact ID>: a desktop reaches a linked phone.
//     The server has no push channel of its own, so it hands the request to
//     [Config.Contact], which wakes the phone out of band with the routing
//     and tunnel IDs of a new tunnel the desktop has opened; the phone then
//     joins with /cable/connect/. Without a Contact hook, the server tells
//     the phone holding GET /softkey/contact-listen/<contact ID> open (a
//     softkey-local stand-in for a push service, not caBLE: see
//     [ContactListenPrefix]). With no such phone, or when the hook returns
//     [ErrContactGone], the answer is 410 Gone (the contact ID is dead). If
//     the desktop sent X-caBLE-Signal-Connection, the server echoes it and
//     sends the desktop a single binary 00 message when the phone joins.
//
// Every endpoint requires the fido.cable subprotocol (400 otherwise).
// Messages sent before the peer joins are queued, up to
// [Config.MaxQueued]; then the tunnel is closed. Tunnels close when a party
// leaves, when the peer does not join in time, when nothing is relayed
// for [Config.IdleTimeout], on a text or oversized message, and on
// [Server.Shutdown]. Each close is logged with its reason and sent to both
// parties in the close frame:
//
//	1000  the other party closed
//	1001  the other party went away, or the server is shutting down
//	1003  a text message
//	1008  the peer never joined, the tunnel was idle, or too many
//	      messages were queued before the peer joined
//	1009  a message over Config.MaxMessageSize
package tunnel

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"
)

// Protocol constants (hybrid-cable.md §5.2).
const (
	Subprotocol            = "fido.cable"
	RoutingIDHeader        = "X-caBLE-Routing-ID"
	ClientPayloadHeader    = "X-caBLE-Client-Payload"
	SignalConnectionHeader = "X-caBLE-Signal-Connection"
)

// Defaults for the zero values of [Config].
const (
	DefaultMaxMessageSize = 1 << 20 // Chromium's limit on incoming messages
	DefaultMaxQueued      = 16
	DefaultMaxTunnels     = 10000
	DefaultJoinTimeout    = 120 * time.Second
	DefaultIdleTimeout    = 120 * time.Second
	maxClientPayload      = 1024 // hex characters of X-caBLE-Client-Payload
)

// Clock is the time source of a [Server]. AfterFunc runs f in its own
// goroutine after d, unless stop is called first; stop reports whether it
// stopped f from running.
type Clock interface {
	Now() time.Time
	AfterFunc(d time.Duration, f func()) (stop func() bool)
}

type realClock struct{}

func (realClock) Now() time.Time { return time.Now() }
func (realClock) AfterFunc(d time.Duration, f func()) func() bool {
	return time.AfterFunc(d, f).Stop
}

// ContactRequest is a desktop's /cable/contact/ request, handed to
// [Config.Contact]. The phone should join with ConnectPath.
type ContactRequest struct {
	ContactID     []byte
	ClientPayload []byte // decoded X-caBLE-Client-Payload (CBOR, not parsed here)
	RoutingID     [RoutingIDSize]byte
	TunnelID      [TunnelIDSize]byte
}

// ConnectPath is the path the phone joins the tunnel with.
func (c ContactRequest) ConnectPath() string {
	return Route{Kind: KindConnect, RoutingID: c.RoutingID, TunnelID: c.TunnelID}.Path()
}

// ErrContactGone, returned by [Config.Contact], answers 410 Gone: the
// desktop should forget the pairing.
var ErrContactGone = errors.New("tunnel: contact ID unknown or revoked")

// Config configures a [Server]. The zero value is usable.
type Config struct {
	// RoutingID is sent on every /cable/new/ and required on
	// /cable/connect/. Zero is "000000".
	RoutingID [RoutingIDSize]byte
	// MaxMessageSize bounds each relayed message; a larger one closes the
	// tunnel with 1009. Zero means DefaultMaxMessageSize.
	MaxMessageSize int64
	// MaxQueued bounds the messages queued per direction, before the peer
	// joins and while it is slow to read. Zero means DefaultMaxQueued.
	MaxQueued int
	// MaxTunnels bounds the open tunnels; more get 503. Zero means
	// DefaultMaxTunnels.
	MaxTunnels int
	// JoinTimeout is how long a tunnel waits for its second party. Zero
	// means DefaultJoinTimeout.
	JoinTimeout time.Duration
	// IdleTimeout closes a joined tunnel that relayed nothing for that
	// long. Zero means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Contact wakes a linked phone for /cable/contact/; nil tells the
	// phone listening on /softkey/contact-listen/ for that contact ID
	// (softkey-local, see [ContactListenPrefix]), or answers 410 if none.
	Contact func(context.Context, ContactRequest) error
	// Clock defaults to the real time.
	Clock Clock
	// Rand makes tunnel IDs for contact requests; nil is crypto/rand.
	Rand io.Reader
	// Logger gets one line per tunnel and per refused request; nil
	// discards.
	Logger *slog.Logger
}

// Server is a tunnel server; it is an [http.Handler]. Hijacked WebSocket
// connections outlive [http.Server.Shutdown]: call [Server.Shutdown] too.
type Server struct {
	cfg Config
	log *slog.Logger

	mu      sync.Mutex
	pending map[[TunnelIDSize]byte]*tunnel // waiting for their second party
	live    map[*tunnel]struct{}
	// listeners are the phones on /softkey/contact-listen/, by contact ID.
	listeners map[string]*listener
	closing   bool
	wg        sync.WaitGroup // handlers and their writers

	cut    context.Context // done when Shutdown gives up waiting
	cutNow context.CancelFunc
}

// NewServer returns a server for cfg.
func NewServer(cfg Config) *Server {
	if cfg.MaxMessageSize <= 0 {
		cfg.MaxMessageSize = DefaultMaxMessageSize
	}
	if cfg.MaxQueued <= 0 {
		cfg.MaxQueued = DefaultMaxQueued
	}
	if cfg.MaxTunnels <= 0 {
		cfg.MaxTunnels = DefaultMaxTunnels
	}
	if cfg.JoinTimeout <= 0 {
		cfg.JoinTimeout = DefaultJoinTimeout
	}
	if cfg.IdleTimeout <= 0 {
		cfg.IdleTimeout = DefaultIdleTimeout
	}
	if cfg.Clock == nil {
		cfg.Clock = realClock{}
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.Reader
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	cut, cutNow := context.WithCancel(context.Background())
	return &Server{
		cut:     cut,
		cutNow:  cutNow,
		cfg:     cfg,
		log:     log,
		pending: make(map[[TunnelIDSize]byte]*tunnel),
		live:    make(map[*tunnel]struct{}),
	}
}

// Tunnels returns the number of open tunnels.
func (s *Server) Tunnels() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.live)
}

// refuse answers a request that is not upgraded, and logs why. Paths
// are not logged: tunnel IDs in them let anyone who reads the log join.
func (s *Server) refuse(w http.ResponseWriter, r *http.Request, code int, reason string) {
	s.log.Info("tunnel: refused", "method", r.Method, "remote", r.RemoteAddr, "status", code, "reason", reason)
	http.Error(w, reason, code)
}

// ServeHTTP implements [http.Handler].
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.EscapedPath(), ContactListenPrefix) {
		id, err := parseListenPath(r.URL.EscapedPath())
		switch {
		case err != nil || r.URL.RawQuery != "":
			s.refuse(w, r, http.StatusNotFound, "not a contact-listen path")
		case r.Method != http.MethodGet:
			w.Header().Set("Allow", http.MethodGet)
			s.refuse(w, r, http.StatusMethodNotAllowed, "method must be GET")
		case !offersSubprotocol(r.Header):
			s.refuse(w, r, http.StatusBadRequest, "the "+Subprotocol+" subprotocol is not offered")
		default:
			s.serveListen(w, r, id)
		}
		return
	}
	route, err := ParseTunnelPath(r.URL.EscapedPath())
	if err != nil || r.URL.RawQuery != "" {
		s.refuse(w, r, http.StatusNotFound, "not a tunnel path")
		return
	}
	if r.Method != http.MethodGet {
		w.Header().Set("Allow", http.MethodGet)
		s.refuse(w, r, http.StatusMethodNotAllowed, "method must be GET")
		return
	}
	if !offersSubprotocol(r.Header) {
		s.refuse(w, r, http.StatusBadRequest, "the "+Subprotocol+" subprotocol is not offered")
		return
	}
	switch route.Kind {
	case KindNew:
		s.serveNew(w, r, route)
	case KindConnect:
		s.serveConnect(w, r, route)
	case KindContact:
		s.serveContact(w, r, route)
	}
}

// offersSubprotocol reports whether Sec-WebSocket-Protocol lists
// fido.cable.
func offersSubprotocol(h http.Header) bool {
	for _, v := range h.Values("Sec-WebSocket-Protocol") {
		for p := range strings.SplitSeq(v, ",") {
			if strings.TrimSpace(p) == Subprotocol {
				return true
			}
		}
	}
	return false
}

// hijackTracker records the connection websocket.Accept takes over, so
// that Shutdown can cut it when a close handshake overruns.
type hijackTracker struct {
	http.ResponseWriter
	conn net.Conn
}

func (h *hijackTracker) Hijack() (net.Conn, *bufio.ReadWriter, error) {
	c, rw, err := http.NewResponseController(h.ResponseWriter).Hijack()
	h.conn = c
	return c, rw, err
}

func (h *hijackTracker) Unwrap() http.ResponseWriter { return h.ResponseWriter }

// accept upgrades the request to a WebSocket connection for side of t.
func (s *Server) accept(w http.ResponseWriter, r *http.Request, t *tunnel) (*websocket.Conn, error) {
	ht := &hijackTracker{ResponseWriter: w}
	c, err := websocket.Accept(ht, r, &websocket.AcceptOptions{
		Subprotocols: []string{Subprotocol},
		// Phones and browsers send Origin: wss://<production host>
		// (hybrid-cable.md §5.2); a same-origin check would refuse them.
		InsecureSkipVerify: true,
	})
	if err != nil {
		return nil, fmt.Errorf("accepting the websocket: %w", err)
	}
	t.track(ht.conn)
	c.SetReadLimit(s.cfg.MaxMessageSize)
	return c, nil
}

// register adds a new pending tunnel, or answers why not.
func (s *Server) register(t *tunnel) (int, string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	switch {
	case s.closing:
		return http.StatusServiceUnavailable, "server shutting down"
	case len(s.live) >= s.cfg.MaxTunnels:
		return http.StatusServiceUnavailable, fmt.Sprintf("limit of %d tunnels reached", s.cfg.MaxTunnels)
	case s.pending[t.id] != nil:
		return http.StatusConflict, "tunnel ID already pending"
	}
	s.pending[t.id] = t
	s.live[t] = struct{}{}
	s.wg.Add(1) // the creator's handler
	t.startJoinTimer()
	return 0, ""
}

func (s *Server) serveNew(w http.ResponseWriter, r *http.Request, route Route) {
	t := s.newTunnel(route.TunnelID, false, false)
	if code, reason := s.register(t); code != 0 {
		s.refuse(w, r, code, reason)
		return
	}
	defer s.wg.Done()
	w.Header().Set(RoutingIDHeader, upperHex(s.cfg.RoutingID[:]))
	c, err := s.accept(w, r, t)
	if err != nil {
		t.close(websocket.StatusProtocolError, "phone: "+err.Error())
		return
	}
	s.log.Info("tunnel: opened", "tunnel", t.name, "by", "phone")
	t.serve(c, 0)
}

func (s *Server) serveContact(w http.ResponseWriter, r *http.Request, route Route) {
	payload, err := hex.DecodeString(r.Header.Get(ClientPayloadHeader))
	if err != nil || len(payload) == 0 || len(payload) > maxClientPayload/2 {
		s.refuse(w, r, http.StatusBadRequest, "missing or malformed "+ClientPayloadHeader)
		return
	}
	req := ContactRequest{ContactID: route.ContactID, ClientPayload: payload, RoutingID: s.cfg.RoutingID}
	if _, err := io.ReadFull(s.cfg.Rand, req.TunnelID[:]); err != nil {
		s.refuse(w, r, http.StatusInternalServerError, "making a tunnel ID: "+err.Error())
		return
	}
	contact := s.cfg.Contact
	if contact == nil {
		contact = s.contactListener
	}
	signal := strings.EqualFold(r.Header.Get(SignalConnectionHeader), "true")
	t := s.newTunnel(req.TunnelID, true, signal)
	if code, reason := s.register(t); code != 0 {
		s.refuse(w, r, code, reason)
		return
	}
	defer s.wg.Done()
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	defer context.AfterFunc(s.cut, cancel)()
	if err := contact(ctx, req); err != nil {
		t.close(websocket.StatusNormalClosure, "contact refused")
		if errors.Is(err, ErrContactGone) {
			s.refuse(w, r, http.StatusGone, err.Error())
		} else {
			s.refuse(w, r, http.StatusBadGateway, "waking the phone: "+err.Error())
		}
		return
	}
	if signal {
		w.Header().Set(SignalConnectionHeader, "true")
	}
	c, err := s.accept(w, r, t)
	if err != nil {
		t.close(websocket.StatusProtocolError, "desktop: "+err.Error())
		return
	}
	s.log.Info("tunnel: opened", "tunnel", t.name, "by", "desktop")
	t.serve(c, 0)
}

func (s *Server) serveConnect(w http.ResponseWriter, r *http.Request, route Route) {
	if route.RoutingID != s.cfg.RoutingID {
		s.refuse(w, r, http.StatusNotFound, "unknown routing ID")
		return
	}
	s.mu.Lock()
	t := s.pending[route.TunnelID]
	if s.closing {
		s.mu.Unlock()
		s.refuse(w, r, http.StatusServiceUnavailable, "server shutting down")
		return
	}
	if t != nil {
		delete(s.pending, route.TunnelID)
		s.wg.Add(1)
	}
	s.mu.Unlock()
	if t == nil {
		s.refuse(w, r, http.StatusNotFound, "unknown tunnel ID")
		return
	}
	defer s.wg.Done()
	t.join(s.cfg.Clock.Now())
	c, err := s.accept(w, r, t)
	if err != nil {
		t.close(websocket.StatusProtocolError, "joiner: "+err.Error())
		return
	}
	s.log.Debug("tunnel: joined", "tunnel", t.name)
	t.serve(c, 1)
}

// forget removes a closed tunnel.
func (s *Server) forget(t *tunnel) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.pending[t.id] == t {
		delete(s.pending, t.id)
	}
	delete(s.live, t)
}

// Shutdown refuses new tunnels, closes every open one (1001, "server
// shutting down") and waits until all their goroutines have returned. If
// ctx ends first (a peer that does not answer the close handshake), it
// cuts the remaining connections, waits for the goroutines, and returns
// the context's error.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	ts := make([]*tunnel, 0, len(s.live))
	for t := range s.live {
		ts = append(ts, t)
	}
	s.mu.Unlock()
	for _, t := range ts {
		t.close(websocket.StatusGoingAway, "server shutting down")
	}
	s.stopListeners()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
	}
	s.cutNow()
	for _, t := range ts {
		t.cutConns()
	}
	<-done
	return fmt.Errorf("tunnel: shutting down: %w", context.Cause(ctx))
}

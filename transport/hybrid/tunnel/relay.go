package tunnel

import (
	"context"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"sync"
	"sync/atomic"
	"time"
	"unicode/utf8"

	"github.com/coder/websocket"
)

// tunnel is one relay between a creator (side 0) and a joiner (side 1).
type tunnel struct {
	s      *Server
	id     [TunnelIDSize]byte
	name   string    // a prefix of the ID, for logs
	roles  [2]string // who each side is, for reasons
	signal bool      // send the joiner's arrival to the creator as 00
	opened time.Time

	in [2]chan []byte // in[i] holds messages from side i to its peer
	// queued[i] counts side i's messages not yet written to its peer
	// (in in[i] or being written); wrote[i] is poked after each write.
	queued [2]atomic.Int64
	wrote  [2]chan struct{}

	ctx    context.Context // canceled by close
	cancel context.CancelFunc
	once   sync.Once
	code   websocket.StatusCode // set once, before cancel
	reason string

	joined atomic.Bool
	last   atomic.Int64 // clock time of the last relayed message, UnixNano

	mu    sync.Mutex
	stop  func() bool // the pending join or idle timer
	raw   []net.Conn  // hijacked connections, for Shutdown to cut
	isCut bool
}

// newTunnel returns a tunnel; its join timer starts when it is
// registered. contact says the desktop opened it, signal that the desktop
// asked for the connect signal.
func (s *Server) newTunnel(id [TunnelIDSize]byte, contact, signal bool) *tunnel {
	t := &tunnel{
		s:      s,
		id:     id,
		name:   hex.EncodeToString(id[:2]),
		roles:  [2]string{"phone", "desktop"},
		signal: signal,
		opened: s.cfg.Clock.Now(),
	}
	if contact {
		t.roles = [2]string{"desktop", "phone"}
	}
	for i := range t.in {
		t.in[i] = make(chan []byte, s.cfg.MaxQueued)
		t.wrote[i] = make(chan struct{}, 1)
	}
	t.ctx, t.cancel = context.WithCancel(context.Background())
	t.stop = func() bool { return false }
	return t
}

// startJoinTimer starts the wait for the second party.
func (t *tunnel) startJoinTimer() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.stop = t.s.cfg.Clock.AfterFunc(t.s.cfg.JoinTimeout, t.check)
}

// track records a hijacked connection; after cutConns it is closed at once.
func (t *tunnel) track(c net.Conn) {
	if c == nil {
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.isCut {
		c.Close()
		return
	}
	t.raw = append(t.raw, c)
}

// cutConns closes the connections without a close handshake.
func (t *tunnel) cutConns() {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.isCut = true
	for _, c := range t.raw {
		c.Close()
	}
}

// join marks the second party's arrival and starts the idle timer.
func (t *tunnel) join(now time.Time) {
	t.joined.Store(true)
	t.last.Store(now.UnixNano())
	if t.signal {
		// The connect signal (hybrid-cable.md §5.2): the joiner has not
		// sent anything yet, so the queue has room.
		t.queued[1].Add(1)
		t.in[1] <- []byte{0}
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() != nil {
		return
	}
	t.stop()
	t.stop = t.s.cfg.Clock.AfterFunc(t.s.cfg.IdleTimeout, t.check)
}

// check runs when a timer fires: it closes a tunnel nobody joined or that
// has been idle, or waits for the rest of the idle time.
func (t *tunnel) check() {
	if !t.joined.Load() {
		t.close(websocket.StatusPolicyViolation,
			fmt.Sprintf("the %s never joined (%v)", t.roles[1], t.s.cfg.JoinTimeout))
		return
	}
	idle := t.s.cfg.Clock.Now().Sub(time.Unix(0, t.last.Load()))
	if idle >= t.s.cfg.IdleTimeout {
		t.close(websocket.StatusPolicyViolation, fmt.Sprintf("idle for %v", t.s.cfg.IdleTimeout))
		return
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.ctx.Err() == nil {
		t.stop = t.s.cfg.Clock.AfterFunc(t.s.cfg.IdleTimeout-idle, t.check)
	}
}

func (t *tunnel) touch() { t.last.Store(t.s.cfg.Clock.Now().UnixNano()) }

// close ends the tunnel once: both sides get code and reason, and the
// first reason is the one logged.
func (t *tunnel) close(code websocket.StatusCode, reason string) {
	t.once.Do(func() {
		t.code, t.reason = code, reason
		t.cancel()
		t.mu.Lock()
		t.stop()
		t.mu.Unlock()
		t.s.forget(t)
		t.s.log.Info("tunnel: closed", "tunnel", t.name, "code", int(code), "reason", reason,
			"age", t.s.cfg.Clock.Now().Sub(t.opened))
	})
}

// serve relays for one side until the tunnel closes, and returns when
// its reader, its writer and the close handshake are done.
func (t *tunnel) serve(c *websocket.Conn, side int) {
	// The close handshake runs apart from the writer: it also unblocks,
	// within the library's 5s, a write stuck on a peer that does not read.
	handshook := make(chan struct{})
	context.AfterFunc(t.ctx, func() {
		defer close(handshook)
		c.Close(t.code, closeReason(t.reason))
	})
	written := make(chan struct{})
	go func() {
		defer close(written)
		t.write(c, side)
	}()
	code, reason := t.read(c, side)
	if code == websocket.StatusNormalClosure {
		t.flush(side)
	}
	t.close(code, reason)
	<-written
	<-handshook
}

// read forwards side's messages to its peer's queue.
func (t *tunnel) read(c *websocket.Conn, side int) (websocket.StatusCode, string) {
	who := t.roles[side]
	for {
		typ, msg, err := c.Read(context.Background())
		switch {
		case errors.Is(err, websocket.ErrMessageTooBig):
			return websocket.StatusMessageTooBig,
				fmt.Sprintf("the %s sent a message over %d bytes", who, t.s.cfg.MaxMessageSize)
		case websocket.CloseStatus(err) != -1:
			return websocket.StatusNormalClosure, fmt.Sprintf("the %s closed (%d)", who, websocket.CloseStatus(err))
		case err != nil:
			return websocket.StatusGoingAway, fmt.Sprintf("the %s went away: %v", who, err)
		case typ != websocket.MessageBinary:
			return websocket.StatusUnsupportedData, fmt.Sprintf("the %s sent a text message", who)
		}
		t.touch()
		t.queued[side].Add(1)
		select {
		case t.in[side] <- msg:
			continue
		default:
		}
		if !t.joined.Load() {
			t.queued[side].Add(-1)
			return websocket.StatusPolicyViolation,
				fmt.Sprintf("the %s sent more than %d messages before the %s joined", who, t.s.cfg.MaxQueued, t.roles[1-side])
		}
		select {
		case t.in[side] <- msg:
		case <-t.ctx.Done():
			t.queued[side].Add(-1)
			return t.code, t.reason
		}
	}
}

// write sends the peer's messages to side until the tunnel closes.
// Writes take no context that ends: the library closes the connection
// abruptly when the context of a write ends while it runs, which would
// race with the close handshake.
func (t *tunnel) write(c *websocket.Conn, side int) {
	for {
		select {
		case <-t.ctx.Done():
			return
		case msg := <-t.in[1-side]:
			err := c.Write(context.Background(), websocket.MessageBinary, msg)
			t.queued[1-side].Add(-1)
			select {
			case t.wrote[1-side] <- struct{}{}:
			default:
			}
			if err != nil {
				// A write fails only on a connection that is gone. Its
				// reader says why, and must: when the side closed
				// normally, its reader has the close status while it
				// flushes, and the tunnel is to close with that, not with
				// this write's failure.
				c.CloseNow()
				return
			}
			t.touch()
		}
	}
}

// flushTimeout bounds how long a side that closed normally waits for its
// last messages to reach the peer before the peer is closed too.
const flushTimeout = 2 * time.Second

// flush waits, for flushTimeout at most, until the messages side sent
// before closing have been written to its peer, so that a last message
// (such as the client's shutdown, hybrid-cable.md §7.2) is not dropped by
// the close. It returns at once if the peer never joined or the tunnel is
// closing for another reason.
func (t *tunnel) flush(side int) {
	if !t.joined.Load() {
		return
	}
	timer := time.NewTimer(flushTimeout)
	defer timer.Stop()
	for t.queued[side].Load() > 0 {
		select {
		case <-t.wrote[side]:
		case <-t.ctx.Done():
			return
		case <-timer.C:
			return
		}
	}
}

// closeReason fits reason in a close frame (125 bytes, of which 2 are the
// code).
func closeReason(reason string) string {
	const max = 123
	if len(reason) <= max {
		return reason
	}
	reason = reason[:max]
	for !utf8.ValidString(reason) { // drop a cut rune
		reason = reason[:len(reason)-1]
	}
	return reason
}

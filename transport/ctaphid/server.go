package ctaphid

import (
	"context"
	"crypto/rand"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	"github.com/softkeydev/softkey/ctap2"
)

// Handler answers the messages a Server does not handle itself. The
// authenticator engine implements it.
type Handler interface {
	// HandleCBOR answers a CTAPHID_CBOR message: msg is a CTAP2 command
	// byte and its CBOR parameters, the answer a status byte and CBOR.
	// ctx is cancelled by CTAPHID_CANCEL (the handler then typically
	// answers CTAP2_ERR_KEEPALIVE_CANCEL) and carries the keepalive
	// reporter of ctap2.WithKeepalive.
	HandleCBOR(ctx context.Context, msg []byte) []byte
	// HandleMessage answers a CTAPHID_MSG message: a U2F request APDU in,
	// a response APDU ending in its status word out.
	HandleMessage(ctx context.Context, apdu []byte) []byte
}

// Defaults and limits of Config.
const (
	// DefaultMsgTimeout is how long a Server waits for the next packet of
	// an incomplete message (CTAP 2.1 §11.2.5.2); the checklist asks for
	// 400 ms to 1 s.
	DefaultMsgTimeout = 500 * time.Millisecond
	// DefaultKeepaliveInterval is how often a Server sends KEEPALIVE
	// while a request runs.
	DefaultKeepaliveInterval = 80 * time.Millisecond
	// MaxKeepaliveInterval is the longest keepalive interval allowed:
	// CTAP 2.1 §11.2.9.1.7 asks for one at least every 100 ms.
	MaxKeepaliveInterval = 100 * time.Millisecond
	// maxLockSeconds is the longest CTAPHID_LOCK (CTAP 2.1 §11.2.9.2.2).
	maxLockSeconds = 10
	// maxChannels bounds the channel table; allocating beyond it forgets
	// the channel used least recently.
	maxChannels = 256
	// cidAttempts bounds the random draws for a fresh channel ID.
	cidAttempts = 16
)

// Config is what a Server is made from. Only Handler is required.
type Config struct {
	// Handler answers CBOR and U2F messages.
	Handler Handler
	// U2F says whether CTAPHID_MSG is passed to Handler.HandleMessage.
	// Without it the INIT answer carries the NMSG capability and MSG is
	// refused with ERR_INVALID_CMD.
	U2F bool
	// Version is the device version (major, minor, build) of the INIT answer.
	Version [3]byte
	// MsgTimeout is how long the server waits for the next packet of an
	// incomplete message before answering ERR_MSG_TIMEOUT; zero means
	// DefaultMsgTimeout.
	MsgTimeout time.Duration
	// KeepaliveInterval is the time between KEEPALIVE messages while a
	// request runs; zero means DefaultKeepaliveInterval, and anything
	// above MaxKeepaliveInterval is lowered to it.
	KeepaliveInterval time.Duration
	// Rand draws channel IDs and nothing else; nil means crypto/rand.
	Rand io.Reader
	// Logger receives a Debug line per report in and out and per
	// transaction; nil discards.
	Logger *slog.Logger
}

// Server is the device half of CTAPHID (CTAP 2.1 §11.2): it allocates
// channels, reassembles messages, answers the CTAPHID commands and passes
// CBOR and U2F messages to its Handler. It serves one wire at a time; its
// channels outlive a Serve call and are forgotten by Reset.
//
// # Arbitration
//
// One channel at a time holds the device (CTAP 2.1 §11.2.5): while it is
// sending a message, waiting for its answer or holding CTAPHID_LOCK,
// initialisation packets of other channels get ERR_CHANNEL_BUSY at once.
// Two exceptions: CTAPHID_CANCEL is never answered, and INIT on the
// broadcast channel still allocates a channel while another channel's
// request runs (not while a message is being received or a lock is held),
// so that a second host can open the device and then learn it is busy.
// Channel 0, non-INIT commands on the broadcast channel and unallocated
// channels get ERR_INVALID_CHANNEL; continuation packets outside a message
// are ignored. On the holding channel, INIT resynchronises (dropping the
// partial message or abandoning the running request, whose answer is then
// never sent), CANCEL cancels, and any other new message gets
// ERR_INVALID_SEQ mid-message or ERR_CHANNEL_BUSY mid-request.
type Server struct {
	handler           Handler
	u2f               bool
	version           [3]byte
	msgTimeout        time.Duration
	keepaliveInterval time.Duration
	rand              io.Reader
	log               *slog.Logger

	mu       sync.Mutex
	serving  bool
	channels map[uint32]uint64 // allocated channel → when last used (a counter)
	uses     uint64
	asm      assembler
	asmTimer *time.Timer
	asmEpoch uint64   // tells the current MSG_TIMEOUT timer from stale ones
	running  *request // the request the handler is working on, if any
	lockCID  uint32   // the channel holding CTAPHID_LOCK, or 0
	lockEnds time.Time
}

// request is a CBOR or MSG message handed to the Handler.
type request struct {
	cid     uint32
	cmd     Command
	size    int
	started time.Time
	cancel  context.CancelFunc
	status  atomic.Uint32 // the ctap2.KeepaliveStatus last reported
}

// NewServer returns a server with cfg's defaults filled in.
func NewServer(cfg Config) *Server {
	s := &Server{
		handler:           cfg.Handler,
		u2f:               cfg.U2F,
		version:           cfg.Version,
		msgTimeout:        cfg.MsgTimeout,
		keepaliveInterval: cfg.KeepaliveInterval,
		rand:              cfg.Rand,
		log:               cfg.Logger,
		channels:          make(map[uint32]uint64),
	}
	if s.msgTimeout <= 0 {
		s.msgTimeout = DefaultMsgTimeout
	}
	if s.keepaliveInterval <= 0 {
		s.keepaliveInterval = DefaultKeepaliveInterval
	}
	s.keepaliveInterval = min(s.keepaliveInterval, MaxKeepaliveInterval)
	if s.rand == nil {
		s.rand = rand.Reader
	}
	if s.log == nil {
		s.log = slog.New(slog.DiscardHandler)
	}
	return s
}

// Reset is a power cycle: it forgets every channel, the lock and any
// partial message, and abandons the running request (its answer is never
// sent). It is safe to call while Serve runs.
func (s *Server) Reset() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.abandonRequest()
	s.dropMessage()
	clear(s.channels)
	s.lockCID = 0
}

// Serve reads reports from w and answers them until ctx is done or
// reading fails. Requests run off the reading goroutine under a context
// derived from ctx; Serve waits for them before it returns, so handlers
// must honour cancellation. Serve returns the read error wrapped, or
// ctx's error. A reader blocked in w.ReadReport when ctx ends stays there
// until the wire is closed.
func (s *Server) Serve(ctx context.Context, w Wire) error {
	sess, err := s.open(ctx, w)
	if err != nil {
		return err
	}
	defer sess.close()

	reports := make(chan []byte)
	failed := make(chan error, 1)
	go func() {
		for {
			report, err := w.ReadReport()
			if err != nil {
				failed <- err
				return
			}
			select {
			case reports <- report:
			case <-sess.done:
				return
			}
		}
	}()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-failed:
			return fmt.Errorf("ctaphid: reading report: %w", err)
		case report := <-reports:
			sess.handle(report)
		}
	}
}

// session is one Serve call: the wire the answers go to and the requests
// running on its behalf.
type session struct {
	s        *Server
	w        Wire
	ctx      context.Context // parent of request contexts
	cancel   context.CancelFunc
	done     chan struct{} // closed when the session ends
	closed   bool          // guarded by s.mu; no more writes once set
	requests sync.WaitGroup
	// worker runs handler calls on one long-lived goroutine, whose stack
	// has already grown to what the handler needs.
	worker chan func()
}

// open starts a session on w.
func (s *Server) open(ctx context.Context, w Wire) (*session, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.serving {
		return nil, errors.New("ctaphid: server is already serving a wire")
	}
	s.serving = true
	sess := &session{s: s, w: w, done: make(chan struct{}), worker: make(chan func())}
	go func() {
		for {
			select {
			case call := <-sess.worker:
				call()
			case <-sess.done:
				return
			}
		}
	}()
	sess.ctx, sess.cancel = context.WithCancel(ctx)
	return sess, nil
}

// close ends the session: it stops writes, abandons the running request
// and any partial message, and waits for request goroutines.
func (sess *session) close() {
	s := sess.s
	s.mu.Lock()
	sess.closed = true
	s.abandonRequest()
	s.dropMessage()
	s.mu.Unlock()

	sess.cancel()
	close(sess.done)
	sess.requests.Wait()

	s.mu.Lock()
	s.serving = false
	s.mu.Unlock()
}

// handle processes one report from the wire.
func (sess *session) handle(report []byte) {
	s := sess.s
	p, ok := parsePacket(report)
	if !ok {
		s.log.Debug("ctaphid: dropping report of wrong size", "len", len(report))
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.logPacket("in", p)
	if p.init {
		sess.initPacket(p, time.Now())
	} else {
		sess.continuation(p, time.Now())
	}
}

// initPacket handles an initialisation packet: it checks the channel,
// answers INIT and CANCEL at once, and starts assembling other messages
// (CTAP 2.1 §11.2.4 and §11.2.9).
func (sess *session) initPacket(p packet, now time.Time) {
	s := sess.s
	// CTAP 2.1 §11.2.3: channel 0 is reserved, the broadcast channel is
	// for INIT only, and other channels must have been allocated.
	switch {
	case p.cid == 0,
		p.cid == BroadcastCID && p.cmd != CmdInit,
		p.cid != BroadcastCID && !s.allocated(p.cid):
		sess.sendError(p.cid, errInvalidChannel)
		return
	}
	switch p.cmd {
	case CmdCancel:
		s.cancelRequest(p.cid)
		return
	case CmdInit:
		sess.init(p, now)
		return
	}
	// CTAP 2.1 §11.2.5: while a channel holds the device, others are busy.
	if s.busyFor(p.cid, now) || s.running != nil {
		sess.sendError(p.cid, errChannelBusy)
		return
	}
	s.touch(p.cid)
	if s.asm.receiving(p.cid) {
		// A new message before the last one was complete.
		s.dropMessage()
		sess.sendError(p.cid, errInvalidSeq)
		return
	}
	if err := s.acceptable(p.cmd, p.size); err != nil {
		sess.sendError(p.cid, errorCode(err))
		return
	}
	m, done, err := s.asm.start(p)
	switch {
	case err != nil:
		sess.sendError(p.cid, errorCode(err))
	case done:
		sess.dispatch(m, now)
	default:
		sess.armTimer()
	}
}

// acceptable checks a message's command and declared length before it is
// assembled, so that hopeless messages are refused at their first packet.
func (s *Server) acceptable(cmd Command, size int) error {
	switch cmd {
	case CmdPing, CmdWink:
	case CmdLock:
		if size != 1 {
			return errInvalidLen
		}
	case CmdCBOR:
		if size == 0 {
			return errInvalidLen
		}
	case CmdMsg:
		if !s.u2f {
			return errInvalidCmd
		}
		if size == 0 {
			return errInvalidLen
		}
	default:
		return errInvalidCmd
	}
	if size > MaxMessageSize {
		return errInvalidLen
	}
	return nil
}

// continuation handles a continuation packet. Packets that belong to no
// message in progress are ignored (CTAP 2.1 §11.2.4).
func (sess *session) continuation(p packet, now time.Time) {
	s := sess.s
	if !s.asm.receiving(p.cid) {
		return
	}
	m, done, err := s.asm.add(p)
	switch {
	case err != nil:
		s.dropMessage()
		sess.sendError(p.cid, errorCode(err))
	case done:
		s.stopTimer()
		sess.dispatch(m, now)
	default:
		sess.armTimer()
	}
}

// init answers CTAPHID_INIT (CTAP 2.1 §11.2.9.1.3). On the broadcast
// channel it allocates a new channel; on an allocated channel it
// resynchronises it (§11.2.5.3), abandoning whatever the channel was doing.
func (sess *session) init(p packet, now time.Time) {
	s := sess.s
	if p.cid == BroadcastCID {
		// Allocating a channel does not disturb a running request, but
		// it must not interleave with a message being received or slip
		// past a lock.
		if s.asm.active || s.lockHolder(now) != 0 {
			sess.sendError(p.cid, errChannelBusy)
			return
		}
	} else if s.busyFor(p.cid, now) {
		sess.sendError(p.cid, errChannelBusy)
		return
	}
	const nonceSize = 8
	if p.size != nonceSize {
		sess.sendError(p.cid, errInvalidLen)
		return
	}
	cid := p.cid
	if cid == BroadcastCID {
		var err error
		if cid, err = s.allocate(); err != nil {
			s.log.Warn("ctaphid: allocating channel failed", "err", err)
			sess.sendError(p.cid, errOther)
			return
		}
	} else {
		if s.asm.receiving(cid) {
			s.dropMessage()
		}
		if s.running != nil && s.running.cid == cid {
			s.abandonRequest()
		}
		s.touch(cid)
	}
	answer := make([]byte, 0, 17)
	answer = append(answer, p.data[:nonceSize]...)
	answer = binary.BigEndian.AppendUint32(answer, cid)
	answer = append(answer, protocolVersion)
	answer = append(answer, s.version[:]...)
	answer = append(answer, byte(s.capabilities()))
	sess.send(message{cid: p.cid, cmd: CmdInit, data: answer})
	s.logTransaction(p.cid, CmdInit, p.size, len(answer), now)
}

// capabilities returns the capabilities byte of the INIT answer.
func (s *Server) capabilities() Capability {
	caps := CapWink | CapCBOR
	if !s.u2f {
		caps |= CapNMSG
	}
	return caps
}

// dispatch acts on a complete message.
func (sess *session) dispatch(m message, now time.Time) {
	s := sess.s
	switch m.cmd {
	case CmdPing:
		// CTAP 2.1 §11.2.9.1.4: echo the data.
		sess.send(m)
		s.logTransaction(m.cid, m.cmd, len(m.data), len(m.data), now)
	case CmdWink:
		// CTAP 2.1 §11.2.9.2.1: nothing to blink here but the log.
		s.log.Info("ctaphid: wink", "channel", cidAttr(m.cid))
		sess.send(message{cid: m.cid, cmd: CmdWink})
		s.logTransaction(m.cid, m.cmd, len(m.data), 0, now)
	case CmdLock:
		sess.lock(m, now)
	case CmdCBOR, CmdMsg:
		sess.startRequest(m, now)
	default:
		sess.sendError(m.cid, errInvalidCmd)
	}
}

// lock answers CTAPHID_LOCK (CTAP 2.1 §11.2.9.2.2): 1 to 10 seconds of
// exclusive access for the channel, 0 to release it early.
func (sess *session) lock(m message, now time.Time) {
	s := sess.s
	seconds := m.data[0]
	if seconds > maxLockSeconds {
		sess.sendError(m.cid, errInvalidPar)
		return
	}
	if seconds == 0 {
		if s.lockCID == m.cid {
			s.lockCID = 0
		}
	} else {
		s.lockCID = m.cid
		s.lockEnds = now.Add(time.Duration(seconds) * time.Second)
	}
	sess.send(message{cid: m.cid, cmd: CmdLock})
	s.logTransaction(m.cid, m.cmd, len(m.data), 0, now)
}

// startRequest hands a CBOR or MSG message to the handler in a goroutine
// of its own, so that the reader keeps answering other channels.
func (sess *session) startRequest(m message, now time.Time) {
	ctx, cancel := context.WithCancel(sess.ctx)
	req := &request{cid: m.cid, cmd: m.cmd, size: len(m.data), started: now, cancel: cancel}
	req.status.Store(uint32(ctap2.KeepaliveProcessing))
	ctx = ctap2.WithKeepalive(ctx, func(status ctap2.KeepaliveStatus) {
		req.status.Store(uint32(status))
	})
	sess.s.running = req
	sess.requests.Add(1)
	go sess.run(ctx, req, m.data)
}

// run waits for the handler's answer, sending KEEPALIVE meanwhile
// (CTAP 2.1 §11.2.9.1.7), then sends the answer. No keepalive follows the
// answer, since both are sent from here.
func (sess *session) run(ctx context.Context, req *request, data []byte) {
	defer sess.requests.Done()
	defer req.cancel()
	answers := make(chan []byte, 1)
	call := func() { answers <- sess.s.call(ctx, req.cmd, data) }
	select {
	case sess.worker <- call:
	default:
		go call() // the worker is still busy with an abandoned request
	}
	ticker := time.NewTicker(sess.s.keepaliveInterval)
	defer ticker.Stop()
	for {
		select {
		case answer := <-answers:
			sess.finish(req, answer)
			return
		case <-ticker.C:
			sess.keepalive(req)
		}
	}
}

// call passes a message to the handler and makes sure the answer can be
// framed: an empty or oversized CBOR answer becomes CTAP1_ERR_OTHER, a
// malformed APDU answer the status word 0x6F00 (no precise diagnosis).
func (s *Server) call(ctx context.Context, cmd Command, data []byte) []byte {
	if cmd == CmdCBOR {
		var answer []byte
		if s.handler != nil {
			answer = s.handler.HandleCBOR(ctx, data)
		}
		if len(answer) == 0 || len(answer) > MaxMessageSize {
			s.log.Warn("ctaphid: unusable CBOR answer from handler", "len", len(answer))
			return []byte{byte(ctap2.ErrOther)}
		}
		return answer
	}
	var answer []byte
	if s.handler != nil {
		answer = s.handler.HandleMessage(ctx, data)
	}
	if len(answer) < 2 || len(answer) > MaxMessageSize {
		s.log.Warn("ctaphid: unusable APDU answer from handler", "len", len(answer))
		return []byte{0x6F, 0x00}
	}
	return answer
}

// keepalive sends the request's current keepalive status, unless the
// request has been abandoned.
func (sess *session) keepalive(req *request) {
	s := sess.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != req {
		return
	}
	sess.send(message{cid: req.cid, cmd: CmdKeepalive, data: []byte{byte(req.status.Load())}})
}

// finish sends a request's answer, unless the request has been abandoned
// by INIT, Reset or the end of the session.
func (sess *session) finish(req *request, answer []byte) {
	s := sess.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.running != req {
		s.log.Debug("ctaphid: dropping answer of abandoned request", "channel", cidAttr(req.cid), "cmd", req.cmd)
		return
	}
	s.running = nil
	sess.send(message{cid: req.cid, cmd: req.cmd, data: answer})
	if req.cmd == CmdCBOR {
		s.logTransaction(req.cid, req.cmd, req.size, len(answer), req.started, slog.String("status", ctap2.Status(answer[0]).Error()))
	} else {
		s.logTransaction(req.cid, req.cmd, req.size, len(answer), req.started, slog.String("sw", fmt.Sprintf("%04X", answer[len(answer)-2:])))
	}
}

// cancelRequest handles CTAPHID_CANCEL (CTAP 2.1 §11.2.9.1.5): it cancels
// the channel's running request, whose handler then answers, and drops the
// channel's partial message. CANCEL itself is never answered.
func (s *Server) cancelRequest(cid uint32) {
	if s.running != nil && s.running.cid == cid {
		s.running.cancel()
	}
	if s.asm.receiving(cid) {
		s.dropMessage()
	}
}

// abandonRequest cancels the running request and forgets it, so that its
// answer is never sent.
func (s *Server) abandonRequest() {
	if s.running != nil {
		s.running.cancel()
		s.running = nil
	}
}

// busyFor reports whether a channel other than cid holds the device: it is
// sending a message, waiting for an answer, or holds the lock.
func (s *Server) busyFor(cid uint32, now time.Time) bool {
	if s.asm.busyWith(cid) || s.running != nil && s.running.cid != cid {
		return true
	}
	holder := s.lockHolder(now)
	return holder != 0 && holder != cid
}

// lockHolder returns the channel holding an unexpired lock, or 0.
func (s *Server) lockHolder(now time.Time) uint32 {
	if s.lockCID != 0 && !now.Before(s.lockEnds) {
		s.lockCID = 0
	}
	return s.lockCID
}

// allocated reports whether cid is an allocated channel.
func (s *Server) allocated(cid uint32) bool {
	_, ok := s.channels[cid]
	return ok
}

// touch marks a channel as just used, for eviction.
func (s *Server) touch(cid uint32) {
	s.uses++
	s.channels[cid] = s.uses
}

// allocate draws a fresh channel ID (CTAP 2.1 §11.2.9.1.3 leaves the
// scheme to the device), forgetting the least recently used idle channel
// when the table is full.
func (s *Server) allocate() (uint32, error) {
	var b [4]byte
	for range cidAttempts {
		if _, err := io.ReadFull(s.rand, b[:]); err != nil {
			return 0, fmt.Errorf("drawing channel ID: %w", err)
		}
		cid := binary.BigEndian.Uint32(b[:])
		if cid == 0 || cid == BroadcastCID || s.allocated(cid) {
			continue
		}
		if len(s.channels) >= maxChannels {
			s.evict()
		}
		s.touch(cid)
		return cid, nil
	}
	return 0, fmt.Errorf("no unused channel ID in %d draws", cidAttempts)
}

// evict forgets the least recently used channel that is not in use.
func (s *Server) evict() {
	var oldest uint32
	var oldestUse uint64
	for cid, use := range s.channels {
		inUse := s.asm.receiving(cid) || s.running != nil && s.running.cid == cid || s.lockCID == cid
		if !inUse && (oldest == 0 || use < oldestUse) {
			oldest, oldestUse = cid, use
		}
	}
	delete(s.channels, oldest)
}

// armTimer (re)starts the MSG_TIMEOUT timer of the message being
// assembled; the timeout counts from the last packet received.
func (sess *session) armTimer() {
	s := sess.s
	s.stopTimer()
	epoch := s.asmEpoch
	s.asmTimer = time.AfterFunc(s.msgTimeout, func() { sess.expire(epoch) })
}

// stopTimer stops the MSG_TIMEOUT timer; a callback already on its way
// finds the epoch changed and does nothing.
func (s *Server) stopTimer() {
	s.asmEpoch++
	if s.asmTimer != nil {
		s.asmTimer.Stop()
		s.asmTimer = nil
	}
}

// dropMessage abandons the message being assembled.
func (s *Server) dropMessage() {
	s.asm.reset()
	s.stopTimer()
}

// expire answers ERR_MSG_TIMEOUT for a message left incomplete.
func (sess *session) expire(epoch uint64) {
	s := sess.s
	s.mu.Lock()
	defer s.mu.Unlock()
	if epoch != s.asmEpoch || !s.asm.active {
		return
	}
	cid := s.asm.cid
	s.dropMessage()
	sess.sendError(cid, errMsgTimeout)
}

// send writes a message to the wire, report by report. The caller holds
// s.mu, which keeps the reports of one message together and in order with
// the rest of the channel's traffic.
func (sess *session) send(m message) {
	s := sess.s
	if sess.closed {
		return
	}
	reports, err := split(m)
	if err != nil {
		s.log.Error("ctaphid: cannot frame answer", "err", err)
		return
	}
	for _, report := range reports {
		if p, ok := parsePacket(report); ok {
			s.logPacket("out", p)
		}
		if err := sess.w.WriteReport(report); err != nil {
			s.log.Warn("ctaphid: writing report failed", "err", err)
			return
		}
	}
}

// sendError answers CTAPHID_ERROR with a code (CTAP 2.1 §11.2.9.1.6).
func (sess *session) sendError(cid uint32, code ctap2.Status) {
	sess.s.log.Debug("ctaphid: error", "channel", cidAttr(cid), "code", code)
	sess.send(message{cid: cid, cmd: CmdError, data: []byte{byte(code)}})
}

// logPacket writes the Debug line for one report.
func (s *Server) logPacket(dir string, p packet) {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	if p.init {
		s.log.Debug("ctaphid: report", "dir", dir, "channel", cidAttr(p.cid), "cmd", p.cmd, "len", p.size)
	} else {
		s.log.Debug("ctaphid: report", "dir", dir, "channel", cidAttr(p.cid), "seq", p.seq)
	}
}

// logTransaction writes the Debug line for one transaction.
func (s *Server) logTransaction(cid uint32, cmd Command, in, out int, start time.Time, extra ...slog.Attr) {
	if !s.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	attrs := append([]slog.Attr{
		slog.String("channel", cidAttr(cid)),
		slog.String("cmd", cmd.String()),
		slog.Int("len", in),
		slog.Int("answer_len", out),
		slog.Duration("duration", time.Since(start)),
	}, extra...)
	s.log.LogAttrs(context.Background(), slog.LevelDebug, "ctaphid: transaction", attrs...)
}

// cidAttr formats a channel ID for logs.
func cidAttr(cid uint32) string {
	return fmt.Sprintf("%08x", cid)
}

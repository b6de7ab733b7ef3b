package ws

import (
	"bufio"
	"context"
	"errors"
	"runtime"
	"sync"
	"time"

	"github.com/coder/websocket"

	"parley/signaling/auth"
)

// idleQueueCap is the largest send queue a session keeps once it has
// drained; a queue that grew for a burst is dropped.
const idleQueueCap = 8

// readLinger is how long a session's reader waits for the next message
// in the runtime's poller before it leaves the socket to the hub's poller
// and ends. A conversation in progress keeps its reader; a socket idle for
// longer costs no goroutine until its next message.
const readLinger = time.Second

// Reader states of a session, under Session.mu.
const (
	readRunning = iota // a goroutine is reading the socket
	readParked         // the hub's poller watches the socket; no goroutine
	readDone           // the session has ended, or is ending
)

// Session is one device's WebSocket.
//
// An idle session costs no goroutine: after readLinger without a message
// its reader hands the socket to the hub's poller and ends, holding no
// buffer. A writer goroutine runs only while frames are queued, and writes
// every frame queued by then with one system call.
type Session struct {
	hub  *Hub
	conn *websocket.Conn
	out  *socketWriter
	in   *socketReader // nil when the connection is not a plain socket
	br   *bufio.Reader // what coder/websocket reads through
	// brMu is held across the close handshake, in which coder/websocket
	// reads br on the closing goroutine, and by the reader while it asks
	// br whether bytes are buffered.
	brMu     sync.Mutex
	memberID string

	ctx       context.Context
	cancelCtx context.CancelFunc

	mu        sync.Mutex
	queue     [][]byte // frames not yet taken by the writer
	spare     [][]byte // the previous batch, reused as the next queue
	pending   int      // frames queued or being written
	writing   bool     // a writer goroutine is running
	ended     bool     // the session's context ended: nothing more is sent
	readState int      // readRunning, readParked or readDone
	// timer fires at the next keepalive ping or at the token's expiry,
	// whichever comes first: one timer per session, not two.
	timer     *time.Timer
	expiresAt time.Time // the access token's expiry
	nextPing  time.Time // zero while a ping through coder/websocket waits for its pong

	pollID uint64 // the session's key in the hub's poller; under the poller's lock

	closeOnce  sync.Once
	endOnce    sync.Once
	finishOnce sync.Once
}

func newSession(h *Hub, conn *websocket.Conn, hw *hijackResponse, claims auth.Claims) *Session {
	s := &Session{
		hub:       h,
		conn:      conn,
		out:       hw.out,
		in:        hw.in,
		br:        hw.br,
		memberID:  claims.MemberID,
		expiresAt: claims.ExpiresAt,
	}
	// The session outlives the HTTP handler's request context only in
	// name: it ends when the socket does, and cancel ends it.
	s.ctx, s.cancelCtx = context.WithCancel(context.Background())
	return s
}

// MemberID is the member the session authenticated as.
func (s *Session) MemberID() string { return s.memberID }

// Context ends when the session closes. Work started for the session
// should stop with it.
func (s *Session) Context() context.Context { return s.ctx }

// start begins serving the session: its timer, and its reader on a
// goroutine of its own.
func (s *Session) start() {
	s.mu.Lock()
	s.nextPing = time.Now().Add(s.hub.cfg.PingInterval)
	s.timer = time.AfterFunc(s.untilTimer(), s.onTimer)
	s.mu.Unlock()
	go s.read(false)
}

// cancel ends the session: its context, and its socket. Reads and writes
// use no context of their own (a context per call costs a timer
// registration per frame); closing the socket ends a blocked read or
// write instead.
func (s *Session) cancel() {
	s.cancelCtx()
	s.endOnce.Do(s.ending)
}

// ending runs once, when the session is cancelled. It closes the socket,
// which ends a running reader; a parked session has no reader, so it is
// finished here.
func (s *Session) ending() {
	s.mu.Lock()
	s.ended = true
	parked := s.readState == readParked
	s.readState = readDone
	s.mu.Unlock()
	_ = s.conn.CloseNow()
	if parked {
		s.finish()
	}
}

// finish releases what the session holds and removes it from the hub. It
// runs once, on whichever goroutine saw the session end last: the reader,
// or ending for a parked session.
func (s *Session) finish() {
	s.finishOnce.Do(func() {
		s.cancelCtx()
		s.stopTimers()
		if p := s.hub.socketPoller(); p != nil && s.in != nil {
			p.forget(s)
		}
		s.hub.end(s)
	})
}

// resume starts a reader for a parked session whose socket became
// readable. The poller calls it.
func (s *Session) resume() {
	s.mu.Lock()
	if s.readState != readParked {
		s.mu.Unlock()
		return
	}
	s.readState = readRunning
	s.mu.Unlock()
	go s.read(true)
}

// read serves inbound messages until the session ends or, after the hub's
// readLinger without a message, until it parks. A reader the poller
// started (resumed) parks again at once if what woke it was only control
// frames, such as the pong answering a keepalive.
func (s *Session) read(resumed bool) {
	for {
		if s.in != nil && s.buffered() == 0 {
			deadline := time.Now()
			if !resumed {
				deadline = deadline.Add(s.hub.readLinger)
			}
			resumed = false
			err := s.in.wait(deadline)
			if err == errReadIdle && s.park() {
				return
			}
			if err == errReadIdle {
				err = s.in.wait(time.Time{})
			}
			if err != nil {
				s.endRead()
				return
			}
		}
		typ, frame, err := s.conn.Read(context.Background())
		if err != nil {
			if st := websocket.CloseStatus(err); st == -1 && s.ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				s.hub.log.Debug("ws: read ended", "member", s.memberID, "err", err)
			}
			s.endRead()
			return
		}
		s.handle(typ, frame)
	}
}

// park hands the socket to the hub's poller. It reports false when the
// reader must go on instead: the session is ending, or there is no poller.
func (s *Session) park() bool {
	p := s.hub.socketPoller()
	if p == nil {
		return false
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.readState != readRunning {
		return false // ending: the reader finishes the session
	}
	s.readState = readParked
	if err := p.arm(s); err != nil {
		s.readState = readRunning
		return false
	}
	return true
}

// endRead ends the session from its reader.
func (s *Session) endRead() {
	s.cancel()
	s.mu.Lock()
	s.readState = readDone
	s.mu.Unlock()
	s.finish()
}

// handle dispatches one inbound message to its handler.
func (s *Session) handle(typ websocket.MessageType, frame []byte) {
	if typ != websocket.MessageText {
		s.refuse("", ErrCodeBadMessage, "send JSON text frames")
		return
	}
	m, err := DecodeMessage(frame)
	if err != nil {
		s.refuse("", ErrCodeBadMessage, "cannot decode message: "+err.Error())
		return
	}
	h, ok := s.hub.handlers[m.Type]
	if !ok {
		s.refuse(m.ID, ErrCodeUnknownType, "unknown message type "+m.Type)
		return
	}
	s.hub.stats.countRequest(m.Type)
	h(s.ctx, s, m)
}

// buffered is how many bytes coder/websocket's reader holds.
func (s *Session) buffered() int {
	s.brMu.Lock()
	defer s.brMu.Unlock()
	return s.br.Buffered()
}

// untilTimer is how long until the timer's next job. The caller holds mu.
func (s *Session) untilTimer() time.Duration {
	next := s.expiresAt
	if !s.nextPing.IsZero() && s.nextPing.Before(next) {
		next = s.nextPing
	}
	return time.Until(next)
}

// onTimer closes a session whose token expired, or pings the client.
func (s *Session) onTimer() {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return
	}
	now := time.Now()
	if !now.Before(s.expiresAt) {
		s.mu.Unlock()
		s.Close(CloseTokenExpired, "access token expired")
		return
	}
	ping := !s.nextPing.IsZero() && !now.Before(s.nextPing)
	if ping {
		s.nextPing = now.Add(s.hub.cfg.PingInterval)
		if s.in == nil {
			s.nextPing = time.Time{} // set again once the pong is in
		}
	}
	s.timer.Reset(s.untilTimer())
	s.mu.Unlock()
	if ping {
		s.keepalive()
	}
}

// keepalive pings the client. A ping still unanswered when the next is due
// closes the socket. On a plain socket the ping and its pong go through the
// socketWriter and socketReader, so an idle session's reader need not run
// to take the pong; over TLS coder/websocket pings and waits for the pong,
// on the timer's goroutine so a slow link cannot hold up the queue.
func (s *Session) keepalive() {
	if s.in == nil {
		s.keepaliveCoder()
		return
	}
	if s.in.awaitingPong.Load() {
		if s.ctx.Err() == nil {
			s.hub.log.Debug("ws: no pong", "member", s.memberID)
			s.Close(websocket.StatusPolicyViolation, "no pong")
		}
		return
	}
	s.in.awaitingPong.Store(true)
	if err := s.out.writeControl(opPing, nil); err != nil && !errors.Is(err, errClosing) {
		s.cancel() // the socket failed
	}
}

// keepaliveCoder pings through coder/websocket, whose reader (the
// session's) hands it the pong, and schedules the next ping once it is in.
func (s *Session) keepaliveCoder() {
	ctx, cancel := context.WithTimeout(s.ctx, s.hub.cfg.PingInterval)
	err := s.conn.Ping(ctx)
	cancel()
	if err != nil {
		if s.ctx.Err() == nil {
			s.hub.log.Debug("ws: ping failed", "member", s.memberID, "err", err)
			s.Close(websocket.StatusPolicyViolation, "no pong")
		}
		return
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !s.ended {
		s.nextPing = time.Now().Add(s.hub.cfg.PingInterval)
		s.timer.Reset(s.untilTimer())
	}
}

// Send queues an encoded message without blocking. When the queue is full
// the client is too slow: the session is closed with CloseTooSlow and Send
// reports false. The client resyncs from its cursors when it reconnects.
func (s *Session) Send(frame []byte) bool {
	s.mu.Lock()
	if s.ended {
		s.mu.Unlock()
		return false
	}
	if s.pending >= s.hub.cfg.SendQueue {
		s.mu.Unlock()
		s.Close(CloseTooSlow, "send queue overflow; reconnect and resync")
		return false
	}
	s.queue = append(s.queue, frame)
	s.pending++
	start := !s.writing
	s.writing = true
	s.mu.Unlock()
	if start {
		go s.writeQueued()
	}
	return true
}

// writeQueued writes queued frames until the queue is empty, then ends.
func (s *Session) writeQueued() {
	// Let the goroutines that are ready to run go first: frames produced
	// together (a send's ack and its own echo, one delivery fanned out
	// to a member's conversations) then leave in one system call. An
	// idle server has no one else ready, and this returns at once.
	runtime.Gosched()
	for {
		s.mu.Lock()
		batch := s.queue
		if len(batch) == 0 || s.ended {
			s.writing = false
			if cap(s.queue) > idleQueueCap {
				s.queue = nil
			}
			if cap(s.spare) > idleQueueCap {
				s.spare = nil
			}
			s.mu.Unlock()
			return
		}
		s.queue, s.spare = s.spare[:0], nil
		s.mu.Unlock()

		err := s.out.writeMessages(batch)
		clear(batch) // the frames may be large; do not keep them alive
		s.mu.Lock()
		s.pending -= len(batch)
		s.spare = batch[:0]
		s.mu.Unlock()
		if err != nil {
			if s.ctx.Err() == nil {
				s.hub.log.Debug("ws: write failed", "member", s.memberID, "err", err)
			}
			s.cancel() // closes the socket; writing stays set, so no writer starts again
			return
		}
	}
}

// Reply sends a message answering req, echoing its id.
func (s *Session) Reply(req Message, typ string, data any) {
	frame, err := Encode(typ, req.ID, data)
	if err != nil {
		s.hub.log.Error("ws: encode reply", "type", typ, "err", err)
		return
	}
	s.Send(frame)
}

// ReplyError sends an "error" message answering req.
func (s *Session) ReplyError(req Message, code, message string) {
	s.hub.stats.countError(req.Type, code)
	s.sendError(req.ID, code, message)
}

// refuse answers a message no handler takes, counted under UnknownType.
func (s *Session) refuse(id, code, message string) {
	s.hub.stats.countRequest(UnknownType)
	s.hub.stats.countError(UnknownType, code)
	s.sendError(id, code, message)
}

func (s *Session) sendError(id, code, message string) {
	frame, err := Encode("error", id, errorData{Code: code, Message: message})
	if err == nil {
		s.Send(frame)
	}
}

// Close ends the session with a close code. It returns at once; the close
// handshake finishes in the background.
func (s *Session) Close(code websocket.StatusCode, reason string) {
	s.closeOnce.Do(func() {
		if code == CloseTooSlow {
			s.hub.stats.tooSlow.Add(1)
		}
		go func() {
			s.out.closeMessages() // waits for a batch being written
			s.brMu.Lock()
			_ = s.conn.Close(code, reason)
			s.brMu.Unlock()
			s.cancel()
		}()
	})
}

func (s *Session) extend(exp time.Time) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiresAt = exp
	if s.timer != nil && !s.ended {
		s.timer.Reset(s.untilTimer())
	}
}

func (s *Session) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	if s.timer != nil {
		s.timer.Stop()
	}
}

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

// Session is one device's WebSocket.
//
// An idle session costs one goroutine, its reader, parked in the runtime's
// poller without a read buffer. A writer goroutine runs only while frames
// are queued, and writes every frame queued by then with one system call.
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

	ctx    context.Context
	cancel context.CancelFunc

	mu      sync.Mutex
	queue   [][]byte // frames not yet taken by the writer
	spare   [][]byte // the previous batch, reused as the next queue
	pending int      // frames queued or being written
	writing bool     // a writer goroutine is running
	ended   bool     // the session's context ended: nothing more is sent
	expiry  *time.Timer
	ping    *time.Timer

	closeOnce sync.Once
}

func newSession(h *Hub, conn *websocket.Conn, hw *hijackResponse, claims auth.Claims) *Session {
	s := &Session{
		hub:      h,
		conn:     conn,
		out:      hw.out,
		in:       hw.in,
		br:       hw.br,
		memberID: claims.MemberID,
	}
	// The session outlives the HTTP handler's request context only in
	// name: run returns when the socket ends, and Close cancels this.
	s.ctx, s.cancel = context.WithCancel(context.Background())
	s.expiry = time.AfterFunc(time.Until(claims.ExpiresAt), func() {
		s.Close(CloseTokenExpired, "access token expired")
	})
	return s
}

// MemberID is the member the session authenticated as.
func (s *Session) MemberID() string { return s.memberID }

// Context ends when the session closes. Work started for the session
// should stop with it.
func (s *Session) Context() context.Context { return s.ctx }

// run serves the session on the calling goroutine until it ends.
func (s *Session) run() {
	// Reads and writes use no context of their own (a context per call
	// costs a timer registration per frame); the session's ending closes
	// the socket instead, which ends a blocked read or write.
	stop := context.AfterFunc(s.ctx, func() {
		s.mu.Lock()
		s.ended = true
		s.mu.Unlock()
		_ = s.conn.CloseNow()
	})
	defer stop()
	defer s.cancel()
	defer s.stopTimers()
	s.mu.Lock()
	s.ping = time.AfterFunc(s.hub.cfg.PingInterval, s.keepalive)
	s.mu.Unlock()
	s.readLoop()
}

func (s *Session) readLoop() {
	for {
		if s.in != nil && s.buffered() == 0 {
			if err := s.in.wait(); err != nil {
				s.cancel()
				return
			}
		}
		typ, frame, err := s.conn.Read(context.Background())
		if err != nil {
			if st := websocket.CloseStatus(err); st == -1 && s.ctx.Err() == nil && !errors.Is(err, context.Canceled) {
				s.hub.log.Debug("ws: read ended", "member", s.memberID, "err", err)
			}
			s.cancel()
			return
		}
		if typ != websocket.MessageText {
			s.refuse("", ErrCodeBadMessage, "send JSON text frames")
			continue
		}
		m, err := DecodeMessage(frame)
		if err != nil {
			s.refuse("", ErrCodeBadMessage, "cannot decode message: "+err.Error())
			continue
		}
		h, ok := s.hub.handlers[m.Type]
		if !ok {
			s.refuse(m.ID, ErrCodeUnknownType, "unknown message type "+m.Type)
			continue
		}
		s.hub.stats.countRequest(m.Type)
		h(s.ctx, s, m)
	}
}

// buffered is how many bytes coder/websocket's reader holds.
func (s *Session) buffered() int {
	s.brMu.Lock()
	defer s.brMu.Unlock()
	return s.br.Buffered()
}

// keepalive pings the client and waits for the pong, on a goroutine of its
// own so a slow link cannot hold up the queue; the next ping is armed
// once this one is answered. A missed pong closes the socket.
func (s *Session) keepalive() {
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
	if !s.ended && s.ping != nil {
		s.ping.Reset(s.hub.cfg.PingInterval)
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
	if s.expiry != nil {
		s.expiry.Reset(time.Until(exp))
	}
}

func (s *Session) stopTimers() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ended = true
	s.expiry.Stop()
	if s.ping != nil {
		s.ping.Stop()
	}
}

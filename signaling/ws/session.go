package ws

import (
	"context"
	"errors"
	"sync"
	"sync/atomic"
	"time"

	"github.com/coder/websocket"

	"parley/signaling/auth"
)

// Session is one device's WebSocket.
type Session struct {
	hub      *Hub
	conn     *websocket.Conn
	memberID string
	send     chan []byte

	ctx    context.Context
	cancel context.CancelFunc

	mu        sync.Mutex
	expiry    *time.Timer
	closeOnce sync.Once
	pinging   atomic.Bool
}

func newSession(h *Hub, conn *websocket.Conn, claims auth.Claims) *Session {
	s := &Session{
		hub:      h,
		conn:     conn,
		memberID: claims.MemberID,
		send:     make(chan []byte, h.cfg.SendQueue),
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

// run serves the session until it ends: the calling goroutine reads, a
// second one writes.
func (s *Session) run() {
	defer s.cancel()
	defer s.stopExpiry()
	go s.writeLoop()
	s.readLoop()
}

func (s *Session) readLoop() {
	for {
		typ, frame, err := s.conn.Read(s.ctx)
		if err != nil {
			if st := websocket.CloseStatus(err); st == -1 && !errors.Is(err, context.Canceled) {
				s.hub.log.Debug("ws: read ended", "member", s.memberID, "err", err)
			}
			s.cancel()
			return
		}
		if typ != websocket.MessageText {
			s.sendError("", ErrCodeBadMessage, "send JSON text frames")
			continue
		}
		m, err := DecodeMessage(frame)
		if err != nil {
			s.sendError("", ErrCodeBadMessage, "cannot decode message: "+err.Error())
			continue
		}
		h, ok := s.hub.handlers[m.Type]
		if !ok {
			s.sendError(m.ID, ErrCodeUnknownType, "unknown message type "+m.Type)
			continue
		}
		h(s.ctx, s, m)
	}
}

func (s *Session) writeLoop() {
	ping := time.NewTicker(s.hub.cfg.PingInterval)
	defer ping.Stop()
	for {
		select {
		case <-s.ctx.Done():
			return
		case frame := <-s.send:
			ctx, cancel := context.WithTimeout(s.ctx, writeTimeout)
			err := s.conn.Write(ctx, websocket.MessageText, frame)
			cancel()
			if err != nil {
				s.cancel()
				return
			}
		case <-ping.C:
			// Ping waits for the pong; waiting here would stop the queue
			// from draining on a slow link, so it runs beside the writer,
			// one at a time.
			if s.pinging.CompareAndSwap(false, true) {
				go s.ping()
			}
		}
	}
}

func (s *Session) ping() {
	defer s.pinging.Store(false)
	ctx, cancel := context.WithTimeout(s.ctx, s.hub.cfg.PingInterval)
	defer cancel()
	if err := s.conn.Ping(ctx); err != nil && s.ctx.Err() == nil {
		s.hub.log.Debug("ws: ping failed", "member", s.memberID, "err", err)
		s.Close(websocket.StatusPolicyViolation, "no pong")
	}
}

// Send queues an encoded message without blocking. When the queue is full
// the client is too slow: the session is closed with CloseTooSlow and Send
// reports false. The client resyncs from its cursors when it reconnects.
func (s *Session) Send(frame []byte) bool {
	select {
	case s.send <- frame:
		return true
	default:
		s.Close(CloseTooSlow, "send queue overflow; reconnect and resync")
		return false
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
	s.sendError(req.ID, code, message)
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
		go func() {
			_ = s.conn.Close(code, reason)
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

func (s *Session) stopExpiry() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.expiry.Stop()
}

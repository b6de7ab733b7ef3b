package ws

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync"
	"time"

	"github.com/coder/websocket"

	"parley/signaling/auth"
)

// Verifier checks access tokens. *auth.Service satisfies it.
type Verifier interface {
	VerifyAccess(token string) (auth.Claims, error)
}

// Members tells whether a member may hold a session.
type Members interface {
	MemberActive(id string) (bool, error)
}

// Handler serves one inbound message type. It runs on the session's reader
// goroutine, so messages from one device are handled in order; a handler
// that blocks delays only its own session.
type Handler func(ctx context.Context, s *Session, m Message)

// Config sets the hub's limits.
type Config struct {
	ReadLimit    int64         // largest inbound message
	SendQueue    int           // outbound messages queued before the session is closed as too slow
	PingInterval time.Duration // keepalive ping period; a missed pong closes the socket
	// OriginPatterns allows cross-origin browser clients (coder/websocket
	// patterns). The request's own host is always allowed.
	OriginPatterns []string
}

// writeTimeout bounds one frame write. A client that cannot take a frame in
// this long is treated like one whose queue overflowed.
const writeTimeout = 10 * time.Second

// Hub owns every WebSocket session of this node.
type Hub struct {
	cfg      Config
	verifier Verifier
	members  Members
	log      *slog.Logger

	handlers map[string]Handler
	stats    hubStats // see Stats

	mu       sync.RWMutex
	sessions map[string][]*Session // by member id; a member has a few devices
	count    int                   // sessions in all
	closed   bool
	wg       sync.WaitGroup

	pollerOnce sync.Once
	poller     *poller // under mu; nil until a session parks, or where there is none
	// readLinger is how long an idle session keeps its reader before it
	// parks; readLinger (the constant) but in tests.
	readLinger time.Duration

	onCount  func(n int)            // metrics hook; may be nil
	onOpen   func(s *Session) error // see OnSession
	onClosed func(s *Session)
}

// NewHub creates a hub. Register handlers with Handle before serving.
func NewHub(cfg Config, verifier Verifier, members Members, logger *slog.Logger) *Hub {
	h := &Hub{
		cfg:        cfg,
		verifier:   verifier,
		members:    members,
		log:        logger,
		handlers:   map[string]Handler{},
		sessions:   map[string][]*Session{},
		readLinger: readLinger,
	}
	h.Handle("ping", func(ctx context.Context, s *Session, m Message) {
		s.Reply(m, "pong", struct{}{})
	})
	h.Handle("auth.refresh", h.handleRefresh)
	return h
}

// Handle registers fn for messages of type typ. It must be called before
// the hub serves its first connection.
func (h *Hub) Handle(typ string, fn Handler) {
	h.handlers[typ] = fn
	h.stats.register(typ)
}

// OnCount sets a function called with the session count after each change,
// for a metrics gauge.
func (h *Hub) OnCount(fn func(n int)) { h.onCount = fn }

// OnSession sets functions called when a session opens, before it reads
// its first message, and when it closes. If open fails, the session is
// closed at once with 1011; closed is called either way.
func (h *Hub) OnSession(open func(s *Session) error, closed func(s *Session)) {
	h.onOpen, h.onClosed = open, closed
}

// DeliverToMember queues an encoded frame on every session of a member on
// this node. It never blocks: a session whose queue is full is closed as
// too slow.
func (h *Hub) DeliverToMember(memberID string, frame []byte) {
	// Send never blocks, so delivering under the read lock is safe and
	// spares this per-message path an allocation.
	h.mu.RLock()
	defer h.mu.RUnlock()
	n := 0
	for _, s := range h.sessions[memberID] {
		if s.Send(frame) {
			n++
		}
	}
	h.stats.delivered.Add(uint64(n))
}

// ServeHTTP authenticates and upgrades a request to a WebSocket session.
// The token comes from "Authorization: Bearer" or, for browsers, which
// cannot set headers on a WebSocket, the access_token query parameter.
func (h *Hub) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	token := r.URL.Query().Get("access_token")
	if hdr := r.Header.Get("Authorization"); len(hdr) > 7 && strings.EqualFold(hdr[:7], "bearer ") {
		token = strings.TrimSpace(hdr[7:])
	}
	if token == "" {
		httpError(w, http.StatusUnauthorized, ErrCodeUnauth, "send an access token in Authorization: Bearer or ?access_token=")
		return
	}
	claims, err := h.verifier.VerifyAccess(token)
	if err != nil {
		code := ErrCodeUnauth
		if errors.Is(err, auth.ErrTokenExpired) {
			code = "token_expired"
		}
		httpError(w, http.StatusUnauthorized, code, "invalid access token: "+err.Error())
		return
	}
	active, err := h.members.MemberActive(claims.MemberID)
	if err != nil {
		h.log.Error("ws: check member", "member", claims.MemberID, "err", err)
		httpError(w, http.StatusInternalServerError, "internal", "internal error")
		return
	}
	if !active {
		httpError(w, http.StatusUnauthorized, "member_disabled", "this account is disabled")
		return
	}

	hw := &hijackResponse{ResponseWriter: w}
	conn, err := websocket.Accept(hw, r, &websocket.AcceptOptions{OriginPatterns: h.cfg.OriginPatterns})
	if err != nil {
		return // Accept has already answered the client
	}
	conn.SetReadLimit(h.cfg.ReadLimit)

	s := newSession(h, conn, hw, claims)
	if !h.add(s) {
		conn.Close(CloseGoingAway, "server shutting down")
		return
	}
	if h.onOpen != nil {
		if err := h.onOpen(s); err != nil {
			h.log.Error("ws: open session", "member", s.memberID, "err", err)
			s.conn.Close(websocket.StatusInternalError, "session setup failed")
			s.stopTimers()
			s.cancel()
			h.end(s)
			return
		}
	}
	// The session reads on a fresh goroutine. Opening it (subscriptions,
	// storage reads) needs a deep stack; the reader of an idle socket
	// needs a small one, so the handler's goroutine, its grown stack and
	// the request end here.
	s.start()
}

// socketPoller returns the hub's poller of idle sockets, starting it on
// first use, or nil where there is none: sessions then keep their
// readers.
func (h *Hub) socketPoller() *poller {
	h.pollerOnce.Do(func() {
		p, err := newPoller()
		if err != nil {
			h.log.Info("ws: idle sockets keep a goroutine each", "err", err)
			return
		}
		h.mu.Lock()
		defer h.mu.Unlock()
		if h.closed {
			p.close()
			return
		}
		h.poller = p
	})
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.poller
}

// end runs the close hook and forgets s.
func (h *Hub) end(s *Session) {
	if h.onClosed != nil {
		h.onClosed(s)
	}
	h.remove(s)
}

func (h *Hub) add(s *Session) bool {
	h.mu.Lock()
	if h.closed {
		h.mu.Unlock()
		return false
	}
	h.sessions[s.memberID] = append(h.sessions[s.memberID], s)
	h.count++
	h.wg.Add(1)
	n := h.count
	h.mu.Unlock()
	h.report(n)
	return true
}

func (h *Hub) remove(s *Session) {
	h.mu.Lock()
	set := h.sessions[s.memberID]
	if i := slices.Index(set, s); i >= 0 {
		h.count--
		if len(set) == 1 {
			delete(h.sessions, s.memberID)
		} else {
			set[i] = set[len(set)-1]
			set[len(set)-1] = nil
			h.sessions[s.memberID] = set[:len(set)-1]
		}
	}
	n := h.count
	h.mu.Unlock()
	h.wg.Done()
	h.report(n)
}

func (h *Hub) report(n int) {
	if h.onCount != nil {
		h.onCount(n)
	}
}

// Count is the number of open sessions on this node.
func (h *Hub) Count() int {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return h.count
}

// MemberSessions returns the member's open sessions on this node.
func (h *Hub) MemberSessions(memberID string) []*Session {
	h.mu.RLock()
	defer h.mu.RUnlock()
	return slices.Clone(h.sessions[memberID])
}

// CloseMember closes every session of a member on this node.
func (h *Hub) CloseMember(memberID string, code websocket.StatusCode, reason string) {
	for _, s := range h.MemberSessions(memberID) {
		s.Close(code, reason)
	}
}

// Shutdown closes every session with 1001 and waits for them to finish, or
// for ctx to end.
func (h *Hub) Shutdown(ctx context.Context) error {
	h.mu.Lock()
	h.closed = true
	var all []*Session
	for _, set := range h.sessions {
		all = append(all, set...)
	}
	h.mu.Unlock()
	for _, s := range all {
		s.Close(CloseGoingAway, "server shutting down")
	}
	done := make(chan struct{})
	go func() { h.wg.Wait(); close(done) }()
	defer func() {
		h.mu.Lock()
		p := h.poller
		h.poller = nil
		h.mu.Unlock()
		if p != nil {
			p.close()
		}
	}()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return fmt.Errorf("websocket sessions still open: %w", ctx.Err())
	}
}

type refreshData struct {
	AccessToken string `json:"access_token"`
}

// handleRefresh extends a session with a fresh access token for the same
// member, so a long-lived socket outlives one token.
func (h *Hub) handleRefresh(ctx context.Context, s *Session, m Message) {
	var d refreshData
	if err := json.Unmarshal(m.Data, &d); err != nil || d.AccessToken == "" {
		s.ReplyError(m, ErrCodeBadMessage, "auth.refresh needs data.access_token")
		return
	}
	claims, err := h.verifier.VerifyAccess(d.AccessToken)
	if err != nil {
		s.ReplyError(m, ErrCodeUnauth, "invalid access token: "+err.Error())
		return
	}
	if claims.MemberID != s.memberID {
		s.ReplyError(m, ErrCodeUnauth, "the token belongs to another member")
		return
	}
	s.extend(claims.ExpiresAt)
	s.Reply(m, "auth.refreshed", map[string]any{"expires_at": claims.ExpiresAt.UTC()})
}

func httpError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{"error": errorData{Code: code, Message: msg}})
}

package signaling

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"os"

	"parley/chat/presence"
	"parley/chat/quickreply"
	"parley/signaling/ws"
)

// Presence request and reply types on the WebSocket; PROTOCOL.md
// documents them. Pushed changes are presence.FramePresence frames.
const (
	msgPresenceSubscribe = "presence.subscribe"
	msgPresenceState     = "presence.state"
)

// Error codes of presence requests, the same as the chat ones.
const (
	codePresenceInvalid  = "invalid_argument"
	codePresenceInternal = "internal"
)

type presenceSubscribe struct {
	Members []string `json:"members"`
}

type presenceStateReply struct {
	Members []presence.State `json:"members"`
}

// registerPresence adds presence.subscribe to the hub: it replaces the
// session's watch list and answers with the current states. Changes are
// then pushed to the session until it subscribes again or closes; the
// hub's close hook unwatches it.
func registerPresence(h *ws.Hub, tr *presence.Tracker, log *slog.Logger) {
	h.Handle(msgPresenceSubscribe, func(ctx context.Context, s *ws.Session, m ws.Message) {
		var req presenceSubscribe
		if err := json.Unmarshal(m.Data, &req); err != nil || len(m.Data) == 0 {
			s.ReplyError(m, codePresenceInvalid, "presence.subscribe: data is missing or malformed")
			return
		}
		err := tr.Watch(s, req.Members, func(states []presence.State) {
			if states == nil {
				states = []presence.State{}
			}
			s.Reply(m, msgPresenceState, presenceStateReply{Members: states})
		})
		switch {
		case errors.Is(err, presence.ErrInvalid):
			s.ReplyError(m, codePresenceInvalid, err.Error())
		case err != nil:
			log.Error("presence subscribe failed", "member", s.MemberID(), "err", err)
			s.ReplyError(m, codePresenceInternal, "internal error")
		}
	})
}

// presenceNodeName is the base of this node's presence name: its NATS
// server name, as the bus defaults it.
func presenceNodeName(cfg Config) string {
	if cfg.NATS.ServerName != "" {
		return cfg.NATS.ServerName
	}
	host, _ := os.Hostname()
	return host
}

// Presence is this node's presence tracker, for tests.
func (s *Server) Presence() *presence.Tracker { return s.presence }

// QuickReplies is the quick-reply store, for tests.
func (s *Server) QuickReplies() *quickreply.Store { return s.quickReplies }

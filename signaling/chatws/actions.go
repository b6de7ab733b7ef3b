package chatws

import (
	"context"
	"log/slog"
	"time"

	"parley/chat/messaging"
	"parley/signaling/ratelimit"
	"parley/signaling/ws"
)

// RegisterActions adds the requests that act on messages already sent:
// chat.recall and chat.forward. Each writes a log entry, so each spends a
// token of sends, the same per-member bucket as chat.send. Register calls
// it.
func RegisterActions(h *ws.Hub, chat *messaging.Service, sends *ratelimit.Keyed, log *slog.Logger) {
	hs := &handlers{chat: chat, sends: sends, log: log}
	h.Handle("chat.recall", hs.recall)
	h.Handle("chat.forward", hs.forward)
}

// recallRequest names the message to recall.
type recallRequest struct {
	ConversationID string `json:"conversation_id"`
	Seq            uint64 `json:"seq"`
}

// recall answers with the ack of the recall entry (duplicate when the
// message was already recalled).
func (hs *handlers) recall(ctx context.Context, s *ws.Session, m ws.Message) {
	var req recallRequest
	if !decode(s, m, &req) {
		return
	}
	if err := hs.sends.Take(s.MemberID(), time.Now()); err != nil {
		hs.fail(s, m, err)
		return
	}
	ack, err := hs.chat.Recall(ctx, s.MemberID(), req.ConversationID, req.Seq)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "chat.ack", ack)
}

// forwardRequest copies messages of one conversation into another.
type forwardRequest struct {
	FromConversationID string   `json:"from_conversation_id"`
	Seqs               []uint64 `json:"seqs"`
	ConversationID     string   `json:"conversation_id"`
	ClientMsgID        string   `json:"client_msg_id"`
}

// forward answers with the ack of the forward entry in the target
// conversation, idempotent by client_msg_id like chat.send.
func (hs *handlers) forward(ctx context.Context, s *ws.Session, m ws.Message) {
	var req forwardRequest
	if !decode(s, m, &req) {
		return
	}
	if err := hs.sends.Take(s.MemberID(), time.Now()); err != nil {
		hs.fail(s, m, err)
		return
	}
	ack, err := hs.chat.Forward(ctx, s.MemberID(), req.FromConversationID, req.Seqs, req.ConversationID, req.ClientMsgID)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "chat.ack", ack)
}

package chatws

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"time"

	"parley/chat/conversation"
	"parley/chat/jsonenc"
	"parley/chat/messaging"
	"parley/chat/msglog"
	"parley/signaling/ratelimit"
	"parley/signaling/ws"
)

// Config sets the limits this package enforces.
type Config struct {
	SendPerSecond int
	SendBurst     int
}

// MaxLimiterEntries bounds each limiter table; see ratelimit.
const MaxLimiterEntries = 1 << 20

// typingLimit lets one member announce typing in one conversation about
// once a second; extra announcements are dropped silently.
var typingLimit = ratelimit.Limit{Every: time.Second, Burst: 2}

// Error codes of chat requests, sent in "error" messages.
const (
	CodeNotMember   = "not_member" // no such conversation, or not a member of it
	CodeForbidden   = "forbidden"
	CodeDissolved   = "dissolved"
	CodeInvalid     = "invalid_argument"
	CodeTooLarge    = "too_large"
	CodeLimit       = "limit_reached"
	CodeRateLimited = "rate_limited"
	CodeNotFound    = "not_found" // no such entry
	CodeInternal    = "internal"
)

type handlers struct {
	chat   *messaging.Service
	sends  *ratelimit.Keyed
	typing *ratelimit.Keyed
	log    *slog.Logger
}

// Register adds the chat request handlers to the hub.
func Register(h *ws.Hub, chat *messaging.Service, cfg Config, log *slog.Logger) {
	hs := &handlers{
		chat: chat,
		sends: ratelimit.New("member", ratelimit.Limit{
			Every: time.Second / time.Duration(cfg.SendPerSecond), Burst: cfg.SendBurst,
		}, MaxLimiterEntries),
		typing: ratelimit.New("typing", typingLimit, MaxLimiterEntries),
		log:    log,
	}
	h.Handle("chat.send", hs.send)
	h.Handle("chat.sync", hs.sync)
	h.Handle("chat.pull", hs.pull)
	h.Handle("chat.history", hs.history)
	h.Handle("chat.read", hs.read)
	h.Handle("chat.delivered", hs.delivered)
	h.Handle("chat.receipts", hs.receipts)
	h.Handle("chat.typing", hs.typingHandler)
	RegisterActions(h, chat, hs.sends, log)
}

// decode reads a request's data strictly; on failure it answers the
// request and reports false.
func decode(s *ws.Session, m ws.Message, v any) bool {
	if err := json.Unmarshal(m.Data, v); err != nil || len(m.Data) == 0 {
		s.ReplyError(m, CodeInvalid, m.Type+": data is missing or malformed")
		return false
	}
	return true
}

// fail answers a request with the error code its cause maps to.
func (hs *handlers) fail(s *ws.Session, m ws.Message, err error) {
	code := CodeInternal
	var rl *ratelimit.Error
	switch {
	case errors.As(err, &rl):
		code = CodeRateLimited
	case errors.Is(err, conversation.ErrNotMember), errors.Is(err, conversation.ErrNotFound):
		code = CodeNotMember
		err = errors.New("no such conversation, or you are not a member of it")
	case errors.Is(err, conversation.ErrForbidden):
		code = CodeForbidden
	case errors.Is(err, conversation.ErrDissolved):
		code = CodeDissolved
	case errors.Is(err, conversation.ErrLimit):
		code = CodeLimit
	case errors.Is(err, messaging.ErrTooLarge), errors.Is(err, msglog.ErrTooLarge):
		code = CodeTooLarge
	case errors.Is(err, messaging.ErrInvalid), errors.Is(err, conversation.ErrInvalid), errors.Is(err, msglog.ErrInvalid):
		code = CodeInvalid
	case errors.Is(err, msglog.ErrNotFound):
		code = CodeNotFound
	}
	if code == CodeInternal {
		hs.log.Error("chat request failed", "type", m.Type, "member", s.MemberID(), "err", err)
		s.ReplyError(m, code, "internal error")
		return
	}
	s.ReplyError(m, code, err.Error())
}

func (hs *handlers) send(ctx context.Context, s *ws.Session, m ws.Message) {
	var req messaging.SendRequest
	if !decode(s, m, &req) {
		return
	}
	if err := hs.sends.Take(s.MemberID(), time.Now()); err != nil {
		hs.fail(s, m, err)
		return
	}
	ack, err := hs.chat.Send(ctx, s.MemberID(), req)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Send(ackFrame(m.ID, ack))
}

// ackFrameOverhead is what an ack frame adds to its ids at most (field
// names, quotes, a 20-digit seq, a UTC time), for sizing its buffer.
const ackFrameOverhead = 192

// ackFrame is the chat.ack reply to request id: what s.Reply(m,
// "chat.ack", ack) sends, appended by hand, as every durable send gets
// one.
func ackFrame(id string, ack messaging.Ack) []byte {
	f := make([]byte, 0, ackFrameOverhead+len(id)+len(ack.ConversationID)+len(ack.ClientMsgID))
	f = append(f, `{"type":"chat.ack"`...)
	if id != "" {
		f = append(f, `,"id":`...)
		f = jsonenc.AppendString(f, id)
	}
	f = append(f, `,"data":`...)
	f = ack.AppendJSON(f)
	return append(f, '}')
}

type syncRequest struct {
	Cursors map[string]uint64 `json:"cursors"`
}

// syncDone is the data of chat.sync.done.
type syncDone struct {
	Conversations []messaging.Summary    `json:"conversations"`
	Limits        messaging.ClientLimits `json:"limits"`
}

// sync streams the missing entries as chat.sync.page frames, then answers
// with chat.sync.done: the summaries, and the chat limits in force, so a
// client that syncs after every connect always holds the current ones.
// Pages go through the session's bounded queue like any frame.
func (hs *handlers) sync(ctx context.Context, s *ws.Session, m ws.Message) {
	var req syncRequest
	if len(m.Data) > 0 && !decode(s, m, &req) {
		return
	}
	sums, err := hs.chat.Sync(s.MemberID(), req.Cursors, func(p messaging.SyncPage) error {
		s.Reply(m, "chat.sync.page", p)
		return ctx.Err()
	})
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	if sums == nil {
		sums = []messaging.Summary{}
	}
	s.Reply(m, "chat.sync.done", syncDone{Conversations: sums, Limits: hs.chat.ClientLimits()})
}

type rangeRequest struct {
	ConversationID string `json:"conversation_id"`
	FromSeq        uint64 `json:"from_seq"`
	BeforeSeq      uint64 `json:"before_seq"`
	Limit          int    `json:"limit"`
}

type entriesReply struct {
	ConversationID string         `json:"conversation_id"`
	Entries        []msglog.Entry `json:"entries"`
}

func (hs *handlers) pull(ctx context.Context, s *ws.Session, m ws.Message) {
	var req rangeRequest
	if !decode(s, m, &req) {
		return
	}
	es, err := hs.chat.Pull(s.MemberID(), req.ConversationID, req.FromSeq, req.Limit)
	hs.replyEntries(s, m, req.ConversationID, es, err)
}

func (hs *handlers) history(ctx context.Context, s *ws.Session, m ws.Message) {
	var req rangeRequest
	if !decode(s, m, &req) {
		return
	}
	es, err := hs.chat.History(s.MemberID(), req.ConversationID, req.BeforeSeq, req.Limit)
	hs.replyEntries(s, m, req.ConversationID, es, err)
}

func (hs *handlers) replyEntries(s *ws.Session, m ws.Message, convID string, es []msglog.Entry, err error) {
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	if es == nil {
		es = []msglog.Entry{}
	}
	s.Reply(m, "chat.entries", entriesReply{ConversationID: convID, Entries: es})
}

type seqRequest struct {
	ConversationID string `json:"conversation_id"`
	Seq            uint64 `json:"seq"`
}

type cursorsReply struct {
	ConversationID string `json:"conversation_id"`
	ReadSeq        uint64 `json:"read_seq"`
	DeliveredSeq   uint64 `json:"delivered_seq"`
}

func (hs *handlers) read(ctx context.Context, s *ws.Session, m ws.Message) {
	var req seqRequest
	if !decode(s, m, &req) {
		return
	}
	cur, err := hs.chat.MarkRead(s.MemberID(), req.ConversationID, req.Seq)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "chat.cursors", cursorsReply{req.ConversationID, cur.Read, cur.Delivered})
}

func (hs *handlers) delivered(ctx context.Context, s *ws.Session, m ws.Message) {
	var req seqRequest
	if !decode(s, m, &req) {
		return
	}
	cur, err := hs.chat.MarkDelivered(s.MemberID(), req.ConversationID, req.Seq)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "chat.cursors", cursorsReply{req.ConversationID, cur.Read, cur.Delivered})
}

func (hs *handlers) receipts(ctx context.Context, s *ws.Session, m ws.Message) {
	var req seqRequest
	if !decode(s, m, &req) {
		return
	}
	r, err := hs.chat.Receipts(s.MemberID(), req.ConversationID, req.Seq)
	if err != nil {
		hs.fail(s, m, err)
		return
	}
	s.Reply(m, "chat.receipts", r)
}

func (hs *handlers) typingHandler(ctx context.Context, s *ws.Session, m ws.Message) {
	var req seqRequest
	if !decode(s, m, &req) {
		return
	}
	if hs.typing.Take(s.MemberID()+"/"+req.ConversationID, time.Now()) != nil {
		return // announcing typing faster is pointless; drop it quietly
	}
	if err := hs.chat.Typing(s.MemberID(), req.ConversationID); err != nil {
		hs.fail(s, m, err)
	}
}

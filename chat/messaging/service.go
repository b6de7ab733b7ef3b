package messaging

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"parley/chat/conversation"
	"parley/chat/fanout"
	"parley/chat/msglog"
	"parley/storage"
)

// Errors the service returns besides those of conversation and msglog.
var (
	ErrInvalid  = errors.New("invalid")
	ErrTooLarge = errors.New("too large")
)

// Members tells whether a member id names an active member of the company.
type Members interface {
	MemberActive(id string) (bool, error)
}

// Events tells other nodes about membership changes, so they can take or
// drop interest for members connected there.
type Events interface {
	MemberJoined(memberID, convID string) error
	MemberLeft(memberID, convID string) error
}

// Limits are the chat limits an operator can tune.
type Limits struct {
	// MaxTextBytes caps the text of one message.
	MaxTextBytes int
	// SyncPageSize is how many entries one sync page carries at most.
	SyncPageSize int
	// SyncPageBytes caps the bodies of one sync page, so a page stays a
	// reasonable WebSocket frame whatever the entries hold.
	SyncPageBytes int
	// SyncMaxEntries caps the entries one sync pushes in all; a client
	// further behind pulls the rest.
	SyncMaxEntries int
	// NewDeviceEntries is how many recent entries per conversation a
	// device without a cursor gets on sync.
	NewDeviceEntries int
	// ReceiptInterval is the coalescing window of live read receipts.
	ReceiptInterval time.Duration
	// RecallWindow is how long after sending a member may recall their
	// own message. Group owners and admins may recall at any time.
	RecallWindow time.Duration
	// UrgentInterval and UrgentMaxRepeats are how often, and how many
	// times, an urgent message reminds those who have not read it, when
	// the send does not say.
	UrgentInterval   time.Duration
	UrgentMaxRepeats int
}

// DefaultLimits are the limits of a stock server.
func DefaultLimits() Limits {
	return Limits{
		MaxTextBytes:     16 << 10,
		SyncPageSize:     200,
		SyncPageBytes:    256 << 10,
		SyncMaxEntries:   2000,
		NewDeviceEntries: 50,
		ReceiptInterval:  100 * time.Millisecond,
		RecallWindow:     24 * time.Hour,
		UrgentInterval:   5 * time.Minute,
		UrgentMaxRepeats: 3,
	}
}

// Service is the chat service of one node.
type Service struct {
	log     *msglog.Log
	convs   *conversation.Store
	fan     *fanout.Fanout
	members Members
	events  Events
	limits  Limits
	logger  *slog.Logger
	db      *storage.DB     // the service's own records (recall markers); nil refuses recalls
	files   FileLookup      // nil refuses file and image messages
	urgent  urgentScheduler // set by SetUrgent; nil refuses urgent messages

	receipts *receiptCoalescer
	stats    serviceStats // see stats.go
	stop     chan struct{}
	wg       sync.WaitGroup
}

// Deps are what the service stands on. All are required but DB and Files.
type Deps struct {
	// DB keeps the service's own records beside the log and the
	// conversation store (the recall markers); nil refuses recalls.
	DB            *storage.DB
	Log           *msglog.Log
	Conversations *conversation.Store
	Fanout        *fanout.Fanout
	Members       Members
	Events        Events
	// Files looks up uploaded files; nil refuses file and image messages.
	Files  FileLookup
	Limits Limits
	Logger *slog.Logger
}

// New creates the service and starts its receipt coalescer. Close stops it.
// Zero limits take their defaults.
func New(d Deps) *Service {
	limits, def := d.Limits, DefaultLimits()
	if limits.ReceiptInterval <= 0 {
		limits.ReceiptInterval = def.ReceiptInterval
	}
	if limits.RecallWindow <= 0 {
		limits.RecallWindow = def.RecallWindow
	}
	if limits.UrgentInterval <= 0 {
		limits.UrgentInterval = def.UrgentInterval
	}
	if limits.UrgentMaxRepeats <= 0 {
		limits.UrgentMaxRepeats = def.UrgentMaxRepeats
	}
	s := &Service{
		log: d.Log, convs: d.Conversations, fan: d.Fanout, members: d.Members, events: d.Events,
		db: d.DB, files: d.Files, limits: limits, logger: d.Logger, stop: make(chan struct{}),
	}
	s.receipts = newReceiptCoalescer(s)
	// Every stored entry is published from here, in seq order per
	// conversation, whichever operation appended it.
	d.Log.OnDurable(s.publishEntry)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.receipts.run(s.stop, limits.ReceiptInterval)
	}()
	return s
}

// Close stops the receipt coalescer after a last flush.
func (s *Service) Close() {
	close(s.stop)
	s.wg.Wait()
}

// Frame types the service sends to devices. PROTOCOL.md documents each.
const (
	FrameMessage      = "chat.message"      // data: an Entry
	FrameConversation = "chat.conversation" // data: a Summary; sent to a member who joined a conversation
	FrameReceipt      = "chat.receipt"      // data: a ReceiptUpdate, to a sender's devices
	FrameTyping       = "chat.typing"       // data: {"conversation_id","member_id"}
	FrameRemoved      = "chat.removed"      // data: a Removed, to the member who left or was removed
)

// Removed tells a member's devices that the member is no longer in a
// conversation, and which entry recorded it.
type Removed struct {
	ConversationID string `json:"conversation_id"`
	Seq            uint64 `json:"seq"`
	Actor          string `json:"actor"`
	Reason         string `json:"reason,omitempty"`
}

// frame encodes one envelope. The bytes are shared by every recipient.
func frame(typ string, data any) ([]byte, error) {
	raw, err := marshal(data)
	if err != nil {
		return nil, fmt.Errorf("encode %s: %w", typ, err)
	}
	return marshal(struct {
		Type string          `json:"type"`
		Data json.RawMessage `json:"data"`
	}{typ, raw})
}

// marshal is json.Marshal without HTML escaping: chat text is full of <, >
// and &, and escaping each to six bytes would inflate stored bodies and
// frames for no reader's benefit.
func marshal(v any) ([]byte, error) {
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return nil, err
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n")), nil
}

// publishEntry fans an entry out to the conversation's online members. The
// log calls it for every new entry, in seq order per conversation, with
// the entry's stored JSON, which becomes the frame's data as it is. A
// failure is logged, not returned: the entry is durable and clients that
// miss it find the gap and pull it.
func (s *Service) publishEntry(e msglog.Entry, raw []byte) {
	s.stats.countStored(e)
	if err := s.fan.Publish(e.ConversationID, messageFrame(raw)); err != nil {
		s.logger.Warn("chat: publish entry", "conversation", e.ConversationID, "seq", e.Seq, "err", err)
	}
}

// messageFramePrefix starts every chat.message frame; the entry's JSON and
// a closing brace follow. frame(FrameMessage, e) writes the same bytes.
const messageFramePrefix = `{"type":"` + FrameMessage + `","data":`

// messageFrame wraps an entry's stored JSON in a chat.message envelope.
func messageFrame(raw []byte) []byte {
	f := make([]byte, 0, len(messageFramePrefix)+len(raw)+1)
	f = append(f, messageFramePrefix...)
	f = append(f, raw...)
	return append(f, '}')
}

// sendToMember delivers a frame to one member's devices, logging failures
// for the same reason as publishEntry.
func (s *Service) sendToMember(memberID, typ string, data any) {
	f, err := frame(typ, data)
	if err == nil {
		err = s.fan.SendToMember(memberID, f)
	}
	if err != nil {
		s.logger.Warn("chat: send to member", "member", memberID, "type", typ, "err", err)
	}
}

// checkActive refuses ids that are not active members of the company.
func (s *Service) checkActive(ids ...string) error {
	for _, id := range ids {
		ok, err := s.members.MemberActive(id)
		if err != nil {
			return fmt.Errorf("check member %s: %w", id, err)
		}
		if !ok {
			return fmt.Errorf("%w: %s is not an active member", ErrInvalid, id)
		}
	}
	return nil
}

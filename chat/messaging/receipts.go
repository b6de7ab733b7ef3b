package messaging

import (
	"fmt"
	"sync"
	"time"

	"parley/chat/conversation"
	"parley/chat/msglog"
)

// MaxReceiptEntries bounds how many of a conversation's newest entries one
// live receipt flush recounts. Older entries' counts are still answered by
// Receipts on request.
const MaxReceiptEntries = 100

// Receipt is who has read one message.
type Receipt struct {
	ConversationID string   `json:"conversation_id"`
	Seq            uint64   `json:"seq"`
	ReadCount      int      `json:"read_count"`
	UnreadCount    int      `json:"unread_count"`
	DeliveredCount int      `json:"delivered_count"`
	Readers        []string `json:"readers"`
	Unreaders      []string `json:"unreaders"`
}

// ReceiptUpdate is a live update of read counts, sent to a sender's
// devices for their own messages.
type ReceiptUpdate struct {
	ConversationID string         `json:"conversation_id"`
	Counts         []ReceiptCount `json:"counts"`
}

// ReceiptCount is the read and delivery state of one message.
type ReceiptCount struct {
	Seq            uint64 `json:"seq"`
	ReadCount      int    `json:"read_count"`
	UnreadCount    int    `json:"unread_count"`
	DeliveredCount int    `json:"delivered_count"`
}

// FrameRead tells a member's other devices how far the member has read.
const FrameRead = "chat.read"

// MarkRead moves memberID's read cursor in convID up to seq (capped at the
// conversation's last entry; a lower seq changes nothing). The member's
// other devices learn the new cursor, and the senders of the newly read
// messages get coalesced receipt updates.
func (s *Service) MarkRead(memberID, convID string, seq uint64) (conversation.Cursors, error) {
	before, cur, changed, err := s.moveCursor(memberID, convID, seq, s.convs.AdvanceRead)
	if err != nil || !changed {
		return cur, err
	}
	s.sendToMember(memberID, FrameRead, map[string]any{"conversation_id": convID, "read_seq": cur.Read})
	s.receipts.note(convID, before.Read+1, cur.Read)
	return cur, nil
}

// MarkDelivered moves memberID's delivery cursor, which clients advance as
// entries reach the device. Senders hear the new delivery counts in the
// same coalesced updates as read counts.
func (s *Service) MarkDelivered(memberID, convID string, seq uint64) (conversation.Cursors, error) {
	before, cur, changed, err := s.moveCursor(memberID, convID, seq, s.convs.AdvanceDelivered)
	if err != nil || !changed {
		return cur, err
	}
	s.receipts.note(convID, before.Delivered+1, cur.Delivered)
	return cur, nil
}

// moveCursor is the shared path of MarkRead and MarkDelivered: check
// membership, cap seq at the last entry, and move one cursor with advance.
func (s *Service) moveCursor(memberID, convID string, seq uint64,
	advance func(convID, memberID string, seq uint64) (conversation.Cursors, bool, error),
) (before, after conversation.Cursors, changed bool, err error) {
	if _, err := s.member(convID, memberID); err != nil {
		return before, after, false, err
	}
	last, err := s.log.LastSeq(convID)
	if err != nil {
		return before, after, false, err
	}
	if before, err = s.convs.Cursors(convID, memberID); err != nil {
		return before, after, false, err
	}
	after, changed, err = advance(convID, memberID, min(seq, last))
	return before, after, changed, err
}

// Receipts says who has read message seq. Only its sender may ask: the
// read list is the sender's to see.
func (s *Service) Receipts(memberID, convID string, seq uint64) (Receipt, error) {
	if _, err := s.member(convID, memberID); err != nil {
		return Receipt{}, err
	}
	e, err := s.log.Get(convID, seq)
	if err != nil {
		return Receipt{}, err
	}
	if e.SenderID != memberID {
		return Receipt{}, fmt.Errorf("%w: only the sender of a message sees who read it", conversation.ErrForbidden)
	}
	read, unread, err := s.convs.Readers(convID, seq, e.SenderID)
	if err != nil {
		return Receipt{}, err
	}
	counts, err := s.convs.ReceiptCounts(convID, []conversation.MessageRef{{Seq: seq, SenderID: e.SenderID}})
	if err != nil {
		return Receipt{}, err
	}
	if read == nil {
		read = []string{}
	}
	if unread == nil {
		unread = []string{}
	}
	return Receipt{
		ConversationID: convID, Seq: seq, ReadCount: len(read), UnreadCount: len(unread),
		DeliveredCount: counts[0].Delivered, Readers: read, Unreaders: unread,
	}, nil
}

// receiptCoalescer gathers read-cursor moves per conversation and, once per
// interval, sends each affected sender one update for their messages.
type receiptCoalescer struct {
	s     *Service
	mu    sync.Mutex
	dirty map[string]seqRange
}

type seqRange struct{ lo, hi uint64 }

func newReceiptCoalescer(s *Service) *receiptCoalescer {
	return &receiptCoalescer{s: s, dirty: map[string]seqRange{}}
}

func (c *receiptCoalescer) note(convID string, lo, hi uint64) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if r, ok := c.dirty[convID]; ok {
		lo, hi = min(lo, r.lo), max(hi, r.hi)
	}
	c.dirty[convID] = seqRange{lo, hi}
}

func (c *receiptCoalescer) run(stop <-chan struct{}, every time.Duration) {
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-t.C:
			c.flush()
		case <-stop:
			c.flush()
			return
		}
	}
}

func (c *receiptCoalescer) flush() {
	c.mu.Lock()
	dirty := c.dirty
	c.dirty = map[string]seqRange{}
	c.mu.Unlock()
	for convID, r := range dirty {
		if err := c.flushConversation(convID, r); err != nil {
			c.s.logger.Warn("chat: receipt update", "conversation", convID, "err", err)
		}
	}
}

// flushConversation recounts the newly read or received entries (at most
// the newest MaxReceiptEntries of them) with one scan of the members'
// cursors, and sends each sender the counts of theirs.
func (c *receiptCoalescer) flushConversation(convID string, r seqRange) error {
	if r.hi >= MaxReceiptEntries && r.lo < r.hi-MaxReceiptEntries+1 {
		r.lo = r.hi - MaxReceiptEntries + 1
	}
	entries, err := c.s.log.Read(convID, r.lo, int(r.hi-r.lo+1))
	if err != nil {
		return err
	}
	var refs []conversation.MessageRef
	for _, e := range entries {
		if e.Seq <= r.hi && e.Type != msglog.TypeSystem {
			refs = append(refs, conversation.MessageRef{Seq: e.Seq, SenderID: e.SenderID})
		}
	}
	if len(refs) == 0 {
		return nil
	}
	counts, err := c.s.convs.ReceiptCounts(convID, refs)
	if err != nil {
		return err
	}
	bySender := map[string][]ReceiptCount{}
	for i, n := range counts {
		sender := refs[i].SenderID
		bySender[sender] = append(bySender[sender], ReceiptCount{
			Seq: n.Seq, ReadCount: n.Read, UnreadCount: n.Eligible - n.Read, DeliveredCount: n.Delivered,
		})
	}
	for sender, counts := range bySender {
		c.s.sendToMember(sender, FrameReceipt, ReceiptUpdate{ConversationID: convID, Counts: counts})
	}
	return nil
}

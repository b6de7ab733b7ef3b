package messaging

import (
	"errors"
	"fmt"

	"parley/chat/conversation"
	"parley/storage"
)

// Summary is one conversation as one member sees it.
type Summary struct {
	Conversation conversation.Conversation `json:"conversation"`
	// PeerID is, on a direct conversation, the other member as seen by
	// the member this summary is for, so a client can show the peer's
	// name and avatar without asking. Groups leave it out. It is computed
	// per viewer: one stored conversation serves both members.
	PeerID       string            `json:"peer_id,omitempty"`
	Role         conversation.Role `json:"role"`
	Muted        bool              `json:"muted"`
	JoinedSeq    uint64            `json:"joined_seq"`
	LastSeq      uint64            `json:"last_seq"`
	ReadSeq      uint64            `json:"read_seq"`
	DeliveredSeq uint64            `json:"delivered_seq"`
	// Unread counts the messages after the member's read cursor that a
	// client shows as unread: other members' messages that were not
	// recalled. System entries, recall entries and the member's own
	// messages never count (see unreadFor).
	Unread uint64 `json:"unread"`
	// HasMore and NextSeq, on sync, say that entries from NextSeq on were
	// not sent and should be pulled.
	HasMore bool   `json:"has_more,omitempty"`
	NextSeq uint64 `json:"next_seq,omitempty"`
}

// Summary describes convID for memberID. Every summary a client gets
// (REST, sync, chat.conversation) is made here.
func (s *Service) Summary(convID, memberID string) (Summary, error) {
	me, err := s.member(convID, memberID)
	if err != nil {
		return Summary{}, err
	}
	conv, err := s.convs.Get(convID)
	if err != nil {
		return Summary{}, err
	}
	// The cursors come before the last seq: a read cursor is capped at
	// the last seq when it moves, so the cursor read here is never past
	// the last seq read after it, and unread is exact for the pair.
	cur, err := s.convs.Cursors(convID, memberID)
	if err != nil {
		return Summary{}, err
	}
	last, err := s.log.LastSeq(convID)
	if err != nil {
		return Summary{}, err
	}
	sum := Summary{
		Conversation: conv, Role: me.Role, Muted: me.Muted, JoinedSeq: me.JoinedSeq,
		LastSeq: last, ReadSeq: cur.Read, DeliveredSeq: cur.Delivered,
	}
	if conv.Kind == conversation.KindDirect {
		if sum.PeerID, err = s.convs.DirectPeer(convID, memberID); err != nil {
			return Summary{}, err
		}
	}
	if sum.Unread, err = s.unreadFor(convID, memberID, cur.Seen(), last); err != nil {
		return Summary{}, err
	}
	return sum, nil
}

// Summaries describes every conversation memberID belongs to.
func (s *Service) Summaries(memberID string) ([]Summary, error) {
	ids, err := s.convs.ListForMember(memberID)
	if err != nil {
		return nil, err
	}
	sums := make([]Summary, 0, len(ids))
	for _, id := range ids {
		sum, err := s.Summary(id, memberID)
		if errors.Is(err, conversation.ErrNotMember) {
			continue // left between the listing and now
		}
		if err != nil {
			return nil, err
		}
		sums = append(sums, sum)
	}
	return sums, nil
}

// unreadFor counts the entries of convID in (seen, last] that memberID
// sees as unread: counted entries (members' messages, see
// msglog.Draft.Counted) that memberID did not send and that were not
// recalled by last.
//
// It reads no entry between seen and last. The log keeps running totals
// of counted entries per conversation and per sender (msglog.Counted, one
// seek each), so
//
//	unread = (all(last) - all(seen)) - (mine(last) - mine(seen)) - recalled
//
// where recalled counts the other members' messages in (seen, last] whose
// recall entry is at or below last: one seek over the recall markers of
// that range, and one entry read per marker found, which for nearly every
// conversation is none. A caught-up conversation (seen == last) costs
// nothing at all. Leaving out one's own messages is cheap because a
// per-sender total is written once per message, by its sender, rather
// than a counter per recipient: a message in a 2,000-member group costs
// two small keys, not 2,000 counter updates.
//
// Everything read is at or below last, which is durable and never changes
// (a recall marker is committed with its recall entry), so the count is
// exact for the pair (seen, last) whatever is sent, recalled or read
// meanwhile.
func (s *Service) unreadFor(convID, memberID string, seen, last uint64) (uint64, error) {
	if last <= seen {
		return 0, nil
	}
	allLast, mineLast, err := s.log.Counted(convID, memberID, last)
	if err != nil {
		return 0, err
	}
	allSeen, mineSeen, err := s.log.Counted(convID, memberID, seen)
	if err != nil {
		return 0, err
	}
	all, mine := allLast-allSeen, mineLast-mineSeen
	if mine >= all {
		return 0, nil
	}
	recalled, err := s.recalledFromOthers(convID, memberID, seen, last)
	if err != nil {
		return 0, err
	}
	return all - mine - min(recalled, all-mine), nil
}

// recalledFromOthers counts the messages of convID in (seen, last] that
// members other than memberID sent and that were recalled by an entry at
// or below last.
func (s *Service) recalledFromOthers(convID, memberID string, seen, last uint64) (uint64, error) {
	if s.db == nil {
		return 0, nil // recalls are off
	}
	var (
		seqs []uint64
		bad  error
	)
	err := s.db.Scan(recalledKey(convID, seen+1), recalledKey(convID, last+1), false, 0, func(k, v []byte) bool {
		if len(v) != 8 {
			bad = fmt.Errorf("recall marker %q is %d bytes, want 8", k, len(v))
			return false
		}
		if storage.Uint64At(v, 0) <= last {
			seqs = append(seqs, storage.Uint64At(k, len(k)-8))
		}
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return 0, fmt.Errorf("recalls of %s in (%d, %d]: %w", convID, seen, last, err)
	}
	var n uint64
	for _, seq := range seqs {
		e, err := s.log.Get(convID, seq)
		if err != nil {
			return 0, fmt.Errorf("recalled entry: %w", err)
		}
		if e.SenderID != memberID {
			n++
		}
	}
	return n, nil
}

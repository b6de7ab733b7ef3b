package conversation

import (
	"encoding/binary"
	"errors"
	"fmt"

	"parley/storage"
)

// encodeCursors is the compact value at chat/cursor/<conv>/<member>: three
// uvarints, read, delivered and joined seq, usually under 12 bytes. It is
// small on purpose: Readers and MemberIDs scan one per member.
func encodeCursors(c Cursors) []byte {
	v := make([]byte, 0, 3*binary.MaxVarintLen64)
	v = binary.AppendUvarint(v, c.Read)
	v = binary.AppendUvarint(v, c.Delivered)
	v = binary.AppendUvarint(v, c.JoinedSeq)
	return v
}

// decodeCursors parses encodeCursors' output.
func decodeCursors(v []byte) (Cursors, error) {
	var c Cursors
	var n int
	for _, dst := range []*uint64{&c.Read, &c.Delivered, &c.JoinedSeq} {
		*dst, n = binary.Uvarint(v)
		if n <= 0 {
			return Cursors{}, errors.New("malformed cursor record")
		}
		v = v[n:]
	}
	return c, nil
}

// Cursors returns memberID's cursors in convID: ErrNotFound if there is no
// such conversation, ErrNotMember if they do not belong to it.
func (s *Store) Cursors(convID, memberID string) (Cursors, error) {
	if err := checkID("conversation id", convID); err != nil {
		return Cursors{}, err
	}
	if err := checkID("member id", memberID); err != nil {
		return Cursors{}, err
	}
	return s.loadCursors(convID, memberID)
}

// loadCursors reads one cursor record, telling a missing conversation from
// a missing member.
func (s *Store) loadCursors(convID, memberID string) (Cursors, error) {
	raw, err := s.db.Get(cursorKey(convID, memberID))
	if errors.Is(err, storage.ErrNotFound) {
		if _, err := s.load(convID); err != nil {
			return Cursors{}, err
		}
		return Cursors{}, fmt.Errorf("member %s of conversation %s: %w", memberID, convID, ErrNotMember)
	}
	if err != nil {
		return Cursors{}, fmt.Errorf("load cursors of %s in %s: %w", memberID, convID, err)
	}
	c, err := decodeCursors(raw)
	if err != nil {
		return Cursors{}, fmt.Errorf("load cursors of %s in %s: %w", memberID, convID, err)
	}
	return c, nil
}

// AdvanceRead moves memberID's read cursor in convID to seq, and the
// delivery cursor with it (what was read was delivered). A seq at or below
// the current read cursor changes nothing and is not an error: acks from
// several devices arrive in any order. It commits (synced) on its own and
// reports whether anything changed.
//
// The caller checks that seq is not beyond the conversation's last seq;
// the store does not know it. It must not be called while holding Lock.
func (s *Store) AdvanceRead(convID, memberID string, seq uint64) (Cursors, bool, error) {
	return s.advance(convID, memberID, func(c *Cursors) bool {
		if seq <= c.Read {
			return false
		}
		c.Read = seq
		if c.Delivered < seq {
			c.Delivered = seq
		}
		return true
	})
}

// AdvanceDelivered moves memberID's delivery cursor in convID to seq when
// that is forward, as AdvanceRead does for the read cursor. The read
// cursor does not move.
func (s *Store) AdvanceDelivered(convID, memberID string, seq uint64) (Cursors, bool, error) {
	return s.advance(convID, memberID, func(c *Cursors) bool {
		if seq <= c.Delivered {
			return false
		}
		c.Delivered = seq
		return true
	})
}

// advance applies move to the stored cursors and commits them if move
// reports a change. The shared conversation lock keeps membership changes
// out (a removed member's cursor must stay deleted); the member's cursor
// lock makes the read-modify-write atomic among concurrent acks.
func (s *Store) advance(convID, memberID string, move func(c *Cursors) bool) (Cursors, bool, error) {
	if err := checkID("conversation id", convID); err != nil {
		return Cursors{}, false, err
	}
	if err := checkID("member id", memberID); err != nil {
		return Cursors{}, false, err
	}
	conv := &s.convLocks[stripe(convID, "")]
	conv.RLock()
	defer conv.RUnlock()
	mu := &s.cursorLocks[stripe(convID, memberID)]
	mu.Lock()
	defer mu.Unlock()

	c, err := s.loadCursors(convID, memberID)
	if err != nil {
		return Cursors{}, false, err
	}
	if !move(&c) {
		return c, false, nil
	}
	b := s.db.NewBatch()
	b.Set(cursorKey(convID, memberID), encodeCursors(c))
	if err := s.db.Commit(b); err != nil {
		return Cursors{}, false, fmt.Errorf("advance cursors of %s in %s: %w", memberID, convID, err)
	}
	return c, true, nil
}

// Readers answers "read by N of M, and who" for the entry seq of convID,
// sent by senderID. read lists the members, other than the sender, who
// had joined at or before seq and whose read cursor is at or past it;
// unread lists the other such members. Members who joined after seq are
// in neither list, so M is len(read)+len(unread). Both lists are in
// member id order.
//
// It is one prefix scan over the conversation's compact cursor records,
// O(members) whatever the length of the log.
func (s *Store) Readers(convID string, seq uint64, senderID string) (read, unread []string, err error) {
	if err := checkID("conversation id", convID); err != nil {
		return nil, nil, err
	}
	c, err := s.load(convID)
	if err != nil {
		return nil, nil, err
	}
	read = make([]string, 0)
	unread = make([]string, 0, c.MemberCount)
	prefix := cursorPrefix(convID)
	var bad error
	err = s.db.ScanPrefix(prefix, func(k, v []byte) bool {
		member := k[len(prefix):]
		if string(member) == senderID {
			return true
		}
		cur, err := decodeCursors(v)
		if err != nil {
			bad = fmt.Errorf("cursor %q: %w", k, err)
			return false
		}
		if cur.JoinedSeq > seq {
			return true
		}
		if cur.Read >= seq {
			read = append(read, string(member))
		} else {
			unread = append(unread, string(member))
		}
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, nil, fmt.Errorf("readers of %s seq %d: %w", convID, seq, err)
	}
	return read, unread, nil
}

// MessageRef names one message for ReceiptCounts.
type MessageRef struct {
	Seq      uint64
	SenderID string
}

// ReceiptCount is how many members have read and received one message, of
// those who could: members other than its sender who had joined by then.
type ReceiptCount struct {
	Seq       uint64
	Read      int
	Delivered int
	Eligible  int
}

// ReceiptCounts counts readers and receivers of many messages with one
// prefix scan over the conversation's cursor records: O(members ×
// messages) simple comparisons, but one pass over storage however many
// messages are asked about.
func (s *Store) ReceiptCounts(convID string, msgs []MessageRef) ([]ReceiptCount, error) {
	if err := checkID("conversation id", convID); err != nil {
		return nil, err
	}
	if _, err := s.load(convID); err != nil {
		return nil, err
	}
	out := make([]ReceiptCount, len(msgs))
	for i, m := range msgs {
		out[i].Seq = m.Seq
	}
	prefix := cursorPrefix(convID)
	var bad error
	err := s.db.ScanPrefix(prefix, func(k, v []byte) bool {
		member := string(k[len(prefix):])
		cur, err := decodeCursors(v)
		if err != nil {
			bad = fmt.Errorf("cursor %q: %w", k, err)
			return false
		}
		for i, m := range msgs {
			if member == m.SenderID || cur.JoinedSeq > m.Seq {
				continue
			}
			out[i].Eligible++
			if cur.Read >= m.Seq {
				out[i].Read++
			}
			if cur.Delivered >= m.Seq {
				out[i].Delivered++
			}
		}
		return true
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return nil, fmt.Errorf("receipt counts of %s: %w", convID, err)
	}
	return out, nil
}

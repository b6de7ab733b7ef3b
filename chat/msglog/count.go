package msglog

import (
	"encoding/binary"
	"fmt"

	"parley/storage"
)

// Counted entries. An unread badge counts messages, not every entry: a
// conversation whose log is mostly system entries (joins, renames) or
// recalls would otherwise show a badge nobody can explain. Counting the
// counted entries between a read cursor and the last seq by reading them
// would cost a scan of the log per conversation per sync, so the log keeps
// running totals instead:
//
//	chat/counted/<conv>/<seq BE8>             -> uvarint: counted entries of conv with seq' <= seq
//	chat/counted-by/<conv>/<sender>/<seq BE8> -> uvarint: the same, of one sender
//
// Only counted entries get keys. "How many counted entries up to seq N"
// is the value of the last key at or below N: one bounded reverse seek,
// O(log n) however long the log, and the number between two seqs is the
// difference of two such reads. Entries never change, so neither do the
// totals up to a durable seq: a reader that fixes the last seq first gets
// an exact answer whatever is appended meanwhile.
//
// The committer writes both keys in the entry's batch. It needs the
// previous totals: the first counted draft of a conversation (or of a
// sender in it) in a batch reads them from disk, where everything up to
// the conversation's last seq is committed (this shard is its only
// writer); later drafts of the batch continue from the running value kept
// in shard.counts. fill clears that scratch, so a rebuilt batch counts
// afresh with the seqs it assigns then.

// countPrefix is the prefix of conv's conversation totals.
func countPrefix(conv string) []byte {
	return storage.KeyPrefix(storage.PrefixChatCounted, conv)
}

// senderCountPrefix is the prefix of one sender's totals in conv.
func senderCountPrefix(conv, sender string) []byte {
	return storage.KeyPrefix(storage.PrefixChatCountedBy, conv, sender)
}

// Counted returns how many counted entries (Draft.Counted) conv holds
// with seq at most seq, and how many of those sender sent (zero when
// sender is empty). seq is capped at the durable watermark, so the totals
// never include an entry a reader cannot see yet. Each total is one
// reverse seek.
func (l *Log) Counted(conv, sender string, seq uint64) (total, bySender uint64, err error) {
	w, err := l.LastSeq(conv)
	if err != nil {
		return 0, 0, err
	}
	seq = min(seq, w)
	if total, err = l.countAt(countPrefix(conv), seq); err != nil {
		return 0, 0, err
	}
	if sender == "" {
		return total, 0, nil
	}
	if err := checkID("sender_id", sender, MaxSenderIDBytes); err != nil {
		return 0, 0, err
	}
	if bySender, err = l.countAt(senderCountPrefix(conv, sender), seq); err != nil {
		return 0, 0, err
	}
	return total, bySender, nil
}

// countAt reads the running total under prefix at seq: the value of the
// last key at or below seq, or 0 when there is none.
func (l *Log) countAt(prefix []byte, seq uint64) (uint64, error) {
	if seq == 0 {
		return 0, nil
	}
	upper := storage.AppendUint64(append([]byte(nil), prefix...), seq+1)
	var (
		n   uint64
		bad error
	)
	err := l.db.Scan(prefix, upper, true, 1, func(k, v []byte) bool {
		var size int
		if n, size = binary.Uvarint(v); size <= 0 {
			bad = fmt.Errorf("malformed count at %q", k)
		}
		return false
	})
	if err == nil {
		err = bad
	}
	if err != nil {
		return 0, fmt.Errorf("count entries up to seq %d: %w", seq, err)
	}
	return n, nil
}

// maxCachedSenders bounds the senders whose totals a conversation's
// cached state keeps; past it the cache starts over, and totals are read
// from disk again.
const maxCachedSenders = 64

// countKey names one running total in the committer's scratch: a
// conversation's (sender empty) or one sender's in it.
type countKey struct {
	st     *convState
	sender string
}

// stageCounts adds to b the running totals of the counted entry e, whose
// conversation's state is st. Each total continues from the batch's
// scratch, else from st's cache of the committed totals, else from disk,
// where everything up to st.last is committed (this shard is the
// conversation's only writer).
func (s *shard) stageCounts(b *storage.Batch, st *convState, e Entry) error {
	for _, k := range []countKey{{st: st}, {st: st, sender: e.SenderID}} {
		var prefix []byte
		if k.sender == "" {
			prefix = countPrefix(e.ConversationID)
		} else {
			prefix = senderCountPrefix(e.ConversationID, k.sender)
		}
		n, ok := s.counts[k]
		if !ok {
			n, ok = st.cachedCount(k.sender)
		}
		if !ok {
			var err error
			if n, err = s.log.countAt(prefix, st.last); err != nil {
				return err
			}
		}
		n++
		s.counts[k] = n
		b.Set(storage.AppendUint64(prefix, e.Seq), binary.AppendUvarint(nil, n))
	}
	return nil
}

// cachedCount is st's committed total for sender ("" for the whole
// conversation), if cached.
func (st *convState) cachedCount(sender string) (uint64, bool) {
	if sender == "" {
		return st.total, st.totalKnown
	}
	n, ok := st.bySender[sender]
	return n, ok
}

// keepCounts caches the totals of a batch that has just committed: they
// are now the committed totals at each conversation's last seq.
func (s *shard) keepCounts() {
	for k, n := range s.counts {
		st := k.st
		if k.sender == "" {
			st.total, st.totalKnown = n, true
			continue
		}
		if _, ok := st.bySender[k.sender]; !ok && len(st.bySender) >= maxCachedSenders {
			st.bySender = nil
		}
		if st.bySender == nil {
			st.bySender = make(map[string]uint64)
		}
		st.bySender[k.sender] = n
	}
}

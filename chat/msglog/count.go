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

// stageCounts adds to b the running totals of the counted entry e, whose
// conversation's last committed seq is st.last.
func (s *shard) stageCounts(b *storage.Batch, st *convState, e Entry) error {
	for _, prefix := range [][]byte{countPrefix(e.ConversationID), senderCountPrefix(e.ConversationID, e.SenderID)} {
		n, ok := s.counts[string(prefix)]
		if !ok {
			var err error
			if n, err = s.log.countAt(prefix, st.last); err != nil {
				return err
			}
		}
		n++
		s.counts[string(prefix)] = n
		b.Set(storage.AppendUint64(prefix, e.Seq), binary.AppendUvarint(nil, n))
	}
	return nil
}

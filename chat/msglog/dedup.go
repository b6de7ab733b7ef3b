package msglog

import (
	"fmt"
	"hash/maphash"
	"slices"

	"parley/storage"
)

// Known client message ids. Every send carries a client_msg_id and nearly
// every one is new, yet proving it new took a Pebble Get of its absent
// dedup record: for a key in the memtable a skiplist search with a cache
// miss per node, about a tenth of the server's CPU per send. So a shard
// keeps, for the busy conversations it has cached, a hash of every dedup
// key the conversation has on disk (convState.ids). A draft whose hash is
// not in the set is new without a lookup; one whose hash is in it (a
// resend, or a hash collision) is looked up on disk as before, so the set
// only ever saves lookups and never decides a resend by itself.
//
// The set must never miss a key that is on disk. It is loaded with one
// scan of the conversation's dedup prefix on the committer, between
// batches, when nothing of the conversation is in flight; after that
// every dedup key the committer writes for the conversation is added to
// it (this shard is the only writer of those keys, and a key is added
// even when its commit fails, since a failed commit may have been
// applied). A restart or an eviction drops the set and the next load reads
// the keys from disk again, so a resend after a restart is found.
//
// Loading costs a scan of every id the conversation ever stored, so a set
// is loaded only once the lookups it would have saved pay for it: after
// about last seq / idsLoadRatio lookups while the conversation is cached.
// The hashes of all sets together are bounded by Options.DedupIDs, split
// over shards; to make room for a new set the least recently used
// conversations' sets are dropped, and a conversation with more ids than
// a shard may hold is looked up on disk for as long as it stays cached.

// DefaultDedupIDs is Options.DedupIDs when it is zero: about 20 MB of
// hashes at most.
const DefaultDedupIDs = 1 << 20

// idsLoadRatio is about how many dedup records a scan reads in the time of
// one lookup of an absent record; a conversation's set is loaded once its
// lookups reach its last seq over this.
const idsLoadRatio = 16

// idHash is the hash of dedup key dk kept in a conversation's set.
func (s *shard) idHash(dk []byte) uint64 {
	return maphash.Bytes(s.log.seed, dk)
}

// findOriginals answers the drafts of reqs that resend entries stored by
// earlier batches. A dedup record of this shard's conversations comes from
// a synced commit that returned, or from before the last restart, so the
// original is durable; the one exception, a commit that failed after
// Pebble applied it, is caught in pin. Drafts whose id a conversation's
// set proves new are not looked up; conversations whose lookups have paid
// for a set get one loaded.
func (s *shard) findOriginals(reqs []*request) {
	var load []*convState
	s.mu.Lock()
	for _, r := range reqs {
		r.dk, r.lookup = nil, false
		if r.d.ClientMsgID == "" {
			continue
		}
		r.dk = dedupKey(r.d.ConversationID, r.d.SenderID, r.d.ClientMsgID)
		r.lookup = true
		st := s.convs[r.d.ConversationID]
		switch {
		case st == nil:
		case st.ids != nil:
			_, r.lookup = st.ids[s.idHash(r.dk)]
		case !st.idsTooMany:
			st.lookups++
			if st.lookups >= 1+st.last/idsLoadRatio && !slices.Contains(load, st) {
				load = append(load, st)
			}
		}
	}
	s.mu.Unlock()

	for _, r := range reqs {
		if !r.lookup {
			continue
		}
		s.log.stats.dedupLookups.Add(1)
		e, found, err := s.log.storedOriginal(r.d)
		switch {
		case err != nil:
			r.err = err
		case found:
			r.e, r.dup = e, true
		}
	}
	for _, st := range load {
		if err := s.loadIDs(st); err != nil {
			s.log.stats.dedupLoadErrors.Add(1) // lookups go on; the next one tries again
		}
	}
}

// loadIDs reads the dedup keys of st's conversation into a new set and,
// if st is still cached and the set fits, installs it. It runs on the
// committer between batches, so every key of the conversation is already
// on disk (or in a failed commit's applied batch, which the scan sees
// too) and none is written while it scans.
func (s *shard) loadIDs(st *convState) error {
	prefix := storage.KeyPrefix(storage.PrefixChatDedup, st.conv)
	limit := s.idsCapacity + 1
	ids := make(map[uint64]struct{})
	err := s.log.db.Scan(prefix, storage.PrefixEnd(prefix), false, limit, func(k, _ []byte) bool {
		ids[s.idHash(k)] = struct{}{}
		return true
	})
	if err != nil {
		return fmt.Errorf("load client msg ids of conversation %s: %w", st.conv, err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.convs[st.conv] != st {
		return nil // evicted while loading: the set would not be kept current
	}
	if len(ids) > s.idsCapacity {
		st.idsTooMany = true
		return nil
	}
	s.makeRoomLocked(st, len(ids))
	st.ids = ids
	s.idsHeld += len(ids)
	return nil
}

// addIDsLocked adds the dedup keys of the drafts the batch wrote to their
// conversations' sets, committed or not (see above), making room as
// needed; a set that cannot grow is dropped.
func (s *shard) addIDsLocked(reqs []*request) {
	for _, r := range reqs {
		st := r.st
		if st == nil || st.ids == nil || r.dk == nil || r.dup || r.dupOf != nil {
			continue
		}
		h := s.idHash(r.dk)
		if _, ok := st.ids[h]; ok {
			continue
		}
		if s.idsHeld >= s.idsCapacity {
			s.makeRoomLocked(st, 1)
			if s.idsHeld >= s.idsCapacity {
				s.dropIDsLocked(st)
				continue
			}
		}
		st.ids[h] = struct{}{}
		s.idsHeld++
	}
}

// makeRoomLocked drops the sets of the least recently used conversations
// other than keep until n more hashes fit, or no other set is left.
func (s *shard) makeRoomLocked(keep *convState, n int) {
	for el := s.lru.Back(); el != nil && s.idsHeld+n > s.idsCapacity; el = el.Prev() {
		if st := el.Value.(*convState); st != keep {
			s.dropIDsLocked(st)
		}
	}
}

// dropIDsLocked forgets st's set; lookups count afresh towards the next
// load.
func (s *shard) dropIDsLocked(st *convState) {
	s.idsHeld -= len(st.ids)
	st.ids, st.lookups = nil, 0
}

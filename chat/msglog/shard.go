package msglog

import (
	"container/list"
	"errors"
	"fmt"
	"sync"
	"time"

	"parley/storage"
)

// request is one Append on its way through a shard. The committer fills
// e, dup and err, then closes done; Append reads them only after that.
type request struct {
	d    Draft
	done chan struct{}

	e   Entry
	raw []byte // e's JSON as stored, for OnDurable
	dup bool
	err error

	// Committer-only scratch.
	st     *convState // pinned state, nil when the draft never entered a batch
	dupOf  *request   // an earlier draft of the same batch with the same dedup key
	dk     []byte     // the draft's dedup key, nil without a client msg id
	lookup bool       // the dedup key may be on disk: look it up (dedup.go)
}

// convState is what a shard remembers about one conversation.
type convState struct {
	conv string

	// last is the highest seq committed for the conversation, next the
	// highest assigned in the batch being built. Only the committer
	// touches them (readers set last when they create the state, under mu).
	last, next uint64

	// Guarded by shard.mu.
	durable uint64        // highest seq whose synced commit returned: reads stop here
	pending int           // drafts of the batch in progress that pinned this state
	failed  bool          // the last commit failed: reload last, never evict
	elem    *list.Element // position in shard.lru

	// Running totals of counted entries up to last (count.go), so the
	// committer need not seek them on disk for every message: total for
	// the conversation when totalKnown, bySender for its recent senders.
	// Only the committer touches them.
	total      uint64
	totalKnown bool
	bySender   map[string]uint64

	// The hashes of every dedup key of the conversation, or nil while not
	// loaded; lookups counts the disk lookups since it was cached or its
	// set dropped; idsTooMany marks a conversation with more ids than the
	// shard may hold (dedup.go). Guarded by shard.mu.
	ids        map[uint64]struct{}
	lookups    uint64
	idsTooMany bool
}

// forgetCounts drops st's cached totals; the next counted entry reads
// them from disk.
func (st *convState) forgetCounts() {
	st.total, st.totalKnown, st.bySender = 0, false, nil
}

// shard is one committer goroutine and the cache of the conversations
// that hash to it.
type shard struct {
	log *Log
	in  chan *request // unbuffered: a draft is "taken" exactly when received

	mu       sync.Mutex
	convs    map[string]*convState
	lru      *list.List // of *convState, most recently used first
	capacity int

	idsHeld     int // hashes in the sets of cached conversations, guarded by mu
	idsCapacity int // the most hashes the sets may hold together (dedup.go)

	first  map[string]*request // committer scratch: first draft per dedup key in a batch
	counts map[countKey]uint64 // committer scratch: running totals of counted entries in a batch (count.go)
}

func newShard(l *Log, capacity, idsCapacity int) *shard {
	return &shard{
		log:         l,
		in:          make(chan *request),
		convs:       make(map[string]*convState),
		lru:         list.New(),
		capacity:    capacity,
		idsCapacity: idsCapacity,
		first:       make(map[string]*request),
		counts:      make(map[countKey]uint64),
	}
}

// run is the committer loop: block for a draft, take every draft already
// waiting (up to MaxBatch), commit them as one synced batch, repeat.
// Between batches it stops when the log is closed; a batch it has taken
// is always finished and answered.
func (s *shard) run() {
	defer s.log.wg.Done()
	max := s.log.opts.MaxBatch
	reqs := make([]*request, 0, max)
	for {
		select {
		case r := <-s.in:
			reqs = append(reqs[:0], r)
		case <-s.log.quit:
			return
		}
	drain:
		for len(reqs) < max {
			select {
			case r := <-s.in:
				reqs = append(reqs, r)
			default:
				break drain
			}
		}
		s.commit(reqs)
		clear(reqs)
	}
}

// commit stores reqs in one batch and answers each of them.
func (s *shard) commit(reqs []*request) {
	s.findOriginals(reqs) // resends of entries stored by earlier batches
	s.pin(reqs)
	start := time.Now()
	err := s.build(reqs, millisNow())
	if err == nil {
		s.keepCounts()
	}
	s.unpin(reqs, err)
	s.log.stats.countCommit(reqs, time.Since(start), err)

	for _, r := range reqs {
		switch {
		case r.err != nil || r.dup:
		case err != nil:
			r.err = err
		case r.dupOf != nil:
			r.e, r.dup = r.dupOf.e, true
		}
	}
	// Seqs were assigned in the order of reqs, so this reports each
	// conversation's new entries in seq order.
	if fn := s.log.onDurable.Load(); fn != nil && err == nil {
		for _, r := range reqs {
			if r.err == nil && !r.dup {
				(*fn)(r.e, r.raw)
			}
		}
	}
	for _, r := range reqs {
		close(r.done)
	}
}

// pin loads the state of every conversation a new draft goes to and marks
// it pending, so it is not evicted while its batch is in flight. It also
// refuses to answer a resend with an original above the watermark, which
// only a failed commit can leave visible.
func (s *shard) pin(reqs []*request) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range reqs {
		if r.err != nil {
			continue
		}
		st, err := s.stateLocked(r.d.ConversationID)
		if r.dup {
			if err == nil && r.e.Seq > st.durable {
				err = fmt.Errorf("original seq %d is not durable (last durable %d) after a failed commit", r.e.Seq, st.durable)
			}
			if err != nil {
				r.e, r.dup, r.err = Entry{}, false, err
			}
			continue
		}
		if err == nil && st.failed {
			// The last commit failed: what it wrote may or may not be
			// visible. Continue after whatever is there, so no seq is
			// reused and none is skipped.
			var last uint64
			if last, err = s.log.lastOnDisk(st.conv); err == nil {
				st.last = last
			}
			st.forgetCounts()
		}
		if err != nil {
			r.err = err
			continue
		}
		st.pending++
		r.st = st
	}
}

// unpin advances the durable watermark of every conversation the batch
// wrote to (commitErr == nil), or marks them failed, and unpins them.
func (s *shard) unpin(reqs []*request, commitErr error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, r := range reqs {
		st := r.st
		if st == nil {
			continue
		}
		st.pending--
		if commitErr != nil {
			st.failed = true
			st.forgetCounts()
			continue
		}
		st.failed = false
		st.last = st.next
		st.durable = st.last
	}
	s.addIDsLocked(reqs)
}

// errRebuild tells build that one draft's OnCommit failed and the batch
// must be built again without it.
var errRebuild = errors.New("rebuild batch")

// build commits every pinned draft in one synced batch and returns the
// commit error. A draft whose OnCommit fails gets that error and the batch
// is rebuilt from scratch without it, so the seqs that make it to disk
// stay gapless; each rebuild drops one draft, so this ends.
func (s *shard) build(reqs []*request, now time.Time) error {
	for {
		err := s.log.db.Update(func(b *storage.Batch) error {
			return s.fill(b, reqs, now)
		})
		if errors.Is(err, errRebuild) {
			continue
		}
		if err != nil {
			return fmt.Errorf("commit batch of %d drafts: %w", len(reqs), err)
		}
		return nil
	}
}

// fill writes the pinned, not yet failed drafts of reqs into b, assigning
// seqs in order. A draft with the same dedup key as an earlier one in the
// batch is a resend of it and writes nothing.
func (s *shard) fill(b *storage.Batch, reqs []*request, now time.Time) error {
	clear(s.first)
	clear(s.counts)
	for _, r := range reqs {
		if r.st != nil {
			r.st.next = r.st.last
			r.dupOf = nil
		}
	}
	for _, r := range reqs {
		if r.st == nil || r.err != nil {
			continue
		}
		d, dk := r.d, r.dk
		if dk != nil {
			if f, ok := s.first[string(dk)]; ok {
				r.dupOf = f
				continue
			}
			s.first[string(dk)] = r
		}
		r.st.next++
		e := Entry{
			ConversationID: d.ConversationID,
			Seq:            r.st.next,
			SenderID:       d.SenderID,
			ClientMsgID:    d.ClientMsgID,
			Type:           d.Type,
			Body:           d.Body,
			CreatedAt:      now,
		}
		raw := e.AppendJSON(make([]byte, 0, len(e.Body)+len(e.ConversationID)+len(e.SenderID)+len(e.ClientMsgID)+len(e.Type)+entryJSONOverhead))
		b.Set(msgKey(d.ConversationID, e.Seq), raw)
		if dk != nil {
			b.Set(dk, storage.AppendUint64(nil, e.Seq))
		}
		if d.Counted {
			if err := s.stageCounts(b, r.st, e); err != nil {
				r.err = fmt.Errorf("count entry: %w", err)
				return errRebuild
			}
		}
		if d.OnCommit != nil {
			if err := callOnCommit(d.OnCommit, b, e); err != nil {
				r.err = err
				return errRebuild
			}
		}
		r.e, r.raw = e, raw
	}
	return nil
}

// callOnCommit runs fn, turning a panic into an error so that one bad
// callback cannot take the committer (and every other sender) down.
func callOnCommit(fn func(*storage.Batch, Entry) error, b *storage.Batch, e Entry) (err error) {
	defer func() {
		if p := recover(); p != nil {
			err = fmt.Errorf("on commit seq %d: panic: %v", e.Seq, p)
		}
	}()
	if err := fn(b, e); err != nil {
		return fmt.Errorf("on commit seq %d: %w", e.Seq, err)
	}
	return nil
}

// watermark returns the durable last seq of conv.
func (s *shard) watermark(conv string) (uint64, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	st, err := s.stateLocked(conv)
	if err != nil {
		return 0, err
	}
	return st.durable, nil
}

// stateLocked returns the cached state of conv, loading it from disk when
// it is not cached. The load happens under mu: a conversation that is not
// cached has nothing in flight (pinned states are never evicted), so
// everything on disk is durable, and holding mu keeps the committer from
// pinning it and writing past that point before the load has read it.
func (s *shard) stateLocked(conv string) (*convState, error) {
	if st, ok := s.convs[conv]; ok {
		s.lru.MoveToFront(st.elem)
		return st, nil
	}
	last, err := s.log.lastOnDisk(conv)
	if err != nil {
		return nil, err
	}
	st := &convState{conv: conv, last: last, next: last, durable: last}
	st.elem = s.lru.PushFront(st)
	s.convs[conv] = st
	s.evictLocked()
	return st, nil
}

// evictLocked drops least recently used states until the cache fits its
// capacity, skipping states that are pinned or failed, and the front one:
// the caller has just inserted it and is about to use it. If every state
// is pinned the cache stays over capacity until the batch ends.
func (s *shard) evictLocked() {
	for el := s.lru.Back(); el != s.lru.Front() && len(s.convs) > s.capacity; {
		st := el.Value.(*convState)
		prev := el.Prev()
		if st.pending == 0 && !st.failed {
			s.lru.Remove(el)
			delete(s.convs, st.conv)
			s.dropIDsLocked(st)
		}
		el = prev
	}
}

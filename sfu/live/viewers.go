package live

import (
	"encoding/json"
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"strconv"
	"strings"
	"time"

	"parley/storage"
)

// liveCounters are one live's counters in memory. seq is rebuilt from
// disk on restart, open and watching from nothing; the rest is stored.
type liveCounters struct {
	seq  uint64            // last viewer record number handed out
	open map[string]string // records joined and not yet left in this process, to their viewer ids
	// watching counts each viewer's open records. Its size is the number
	// watching now: a viewer with two records open (a web viewer whose
	// live.join and WHEP playback are each recorded, or two tabs)
	// watches once.
	watching map[string]int
	saved    storedCounters
	dirty    bool // saved changed since it was last written
}

// openRecord notes that a viewer's record is open, and raises the peak
// when this viewer was not watching yet.
func (c *liveCounters) openRecord(recordID, viewerID string, at time.Time) {
	c.open[recordID] = viewerID
	c.watching[viewerID]++
	if n := len(c.watching); n > c.saved.PeakConcurrent {
		c.saved.PeakConcurrent, c.saved.PeakAt, c.dirty = n, at, true
	}
}

// closeRecord notes that a record is closed; its viewer stops watching
// with their last open record.
func (c *liveCounters) closeRecord(recordID string) {
	v, ok := c.open[recordID]
	if !ok {
		return
	}
	delete(c.open, recordID)
	if c.watching[v]--; c.watching[v] <= 0 {
		delete(c.watching, v)
	}
}

// storedCounters is what a flush writes under PrefixLiveCounters.
type storedCounters struct {
	PeakConcurrent int              `json:"peak_concurrent"`
	PeakAt         time.Time        `json:"peak_at,omitzero"`
	Interactions   map[string]int64 `json:"interactions"`
	ReplayViews    int64            `json:"replay_views"`
}

func viewerPrefix(liveID string) []byte { return storage.KeyPrefix(storage.PrefixLiveViewer, liveID) }

func viewerKey(liveID string, seq uint64) []byte {
	return storage.AppendUint64(viewerPrefix(liveID), seq)
}

func viewerRecordID(liveID string, seq uint64) string {
	return liveID + "." + strconv.FormatUint(seq, 10)
}

func parseViewerRecordID(id string) (liveID string, seq uint64, ok bool) {
	i := strings.LastIndexByte(id, '.')
	if i <= 0 || checkID("record id", id[:i]) != nil {
		return "", 0, false
	}
	seq, err := strconv.ParseUint(id[i+1:], 10, 64)
	if err != nil || seq == 0 {
		return "", 0, false
	}
	return id[:i], seq, true
}

// countersLocked returns the live's counters, loading them from disk on
// first use. The caller holds s.cmu. An unknown live is ErrNotFound.
func (s *Store) countersLocked(liveID string) (*liveCounters, error) {
	if c, ok := s.counters[liveID]; ok {
		return c, nil
	}
	if _, err := s.Get(liveID); err != nil {
		return nil, err
	}
	c := &liveCounters{open: map[string]string{}, watching: map[string]int{}}
	err := s.db.GetJSON(storage.Key(storage.PrefixLiveCounters, liveID), &c.saved)
	if err != nil && !errors.Is(err, storage.ErrNotFound) {
		return nil, fmt.Errorf("load counters of live %s: %w", liveID, err)
	}
	if c.saved.Interactions == nil {
		c.saved.Interactions = map[string]int64{}
	}
	prefix := viewerPrefix(liveID)
	err = s.db.Scan(prefix, storage.PrefixEnd(prefix), true, 1, func(key, _ []byte) bool {
		c.seq = storage.Uint64At(key, len(prefix))
		return false
	})
	if err != nil {
		return nil, fmt.Errorf("load last viewer record of live %s: %w", liveID, err)
	}
	s.counters[liveID] = c
	return c, nil
}

// RecordViewerJoin records that v started watching the live, which must
// be on air (ErrState otherwise), and returns the record's id for
// RecordViewerLeave.
func (s *Store) RecordViewerJoin(liveID string, v Viewer, at time.Time) (string, error) {
	v, err := checkViewer(v)
	if err != nil {
		return "", fmt.Errorf("record viewer of live %s: %w", liveID, err)
	}
	l, err := s.Get(liveID)
	if err != nil {
		return "", err
	}
	if l.Status != StatusLive {
		return "", fmt.Errorf("record viewer of live %s: %w: it is %s, not on air", liveID, ErrState, l.Status)
	}
	at = at.UTC()
	s.cmu.Lock()
	c, err := s.countersLocked(liveID)
	if err == nil && c.seq >= MaxViewerRecords {
		err = fmt.Errorf("%w: a live records at most %d viewer joins", ErrLimit, MaxViewerRecords)
	}
	if err != nil {
		s.cmu.Unlock()
		return "", fmt.Errorf("record viewer of live %s: %w", liveID, err)
	}
	c.seq++
	seq := c.seq
	rec := ViewerRecord{ID: viewerRecordID(liveID, seq), LiveID: liveID, Viewer: v, JoinedAt: at}
	c.openRecord(rec.ID, v.ID, at)
	s.cmu.Unlock()

	b := s.db.NewBatch()
	err = b.SetJSON(viewerKey(liveID, seq), rec)
	if err == nil {
		err = s.db.Commit(b)
	}
	if err != nil {
		s.cmu.Lock()
		c.closeRecord(rec.ID)
		s.cmu.Unlock()
		return "", fmt.Errorf("record viewer of live %s: %w", liveID, err)
	}
	return rec.ID, nil
}

func (s *Store) recordStripe(id string) int {
	h := fnv.New32a()
	h.Write([]byte(id))
	return int(h.Sum32() % recordStripes)
}

// RecordViewerLeave closes a viewer record at at. Closing a closed record
// is not an error; an unknown one is ErrNotFound, a leave before the join
// ErrInvalid.
func (s *Store) RecordViewerLeave(id string, at time.Time) error {
	liveID, seq, ok := parseViewerRecordID(id)
	if !ok {
		return fmt.Errorf("record viewer leave %q: %w", id, ErrNotFound)
	}
	mu := &s.recordLocks[s.recordStripe(id)]
	mu.Lock()
	defer mu.Unlock()
	var rec ViewerRecord
	err := s.db.GetJSON(viewerKey(liveID, seq), &rec)
	if errors.Is(err, storage.ErrNotFound) {
		return fmt.Errorf("record viewer leave %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return fmt.Errorf("record viewer leave %s: %w", id, err)
	}
	if rec.Open() {
		at = at.UTC()
		if at.Before(rec.JoinedAt) {
			return fmt.Errorf("record viewer leave %s: %w", id, invalidf("left_at", "is before the join"))
		}
		rec.LeftAt = at
		b := s.db.NewBatch()
		if err := b.SetJSON(viewerKey(liveID, seq), rec); err != nil {
			return fmt.Errorf("record viewer leave %s: %w", id, err)
		}
		if err := s.db.Commit(b); err != nil {
			return fmt.Errorf("record viewer leave %s: %w", id, err)
		}
	}
	s.cmu.Lock()
	if c, ok := s.counters[liveID]; ok {
		c.closeRecord(id)
	}
	s.cmu.Unlock()
	return nil
}

// CountInteraction adds one to the live's count of kind ("comment",
// "like", "question", "vote", ...: lower-case letters, digits and '_').
// It touches memory only; the count is written with the next flush.
func (s *Store) CountInteraction(liveID, kind string) error {
	if err := checkInteractionKind(kind); err != nil {
		return fmt.Errorf("count interaction on live %s: %w", liveID, err)
	}
	s.cmu.Lock()
	defer s.cmu.Unlock()
	c, err := s.countersLocked(liveID)
	if err != nil {
		return fmt.Errorf("count interaction: %w", err)
	}
	if _, ok := c.saved.Interactions[kind]; !ok && len(c.saved.Interactions) >= MaxInteractionKinds {
		return fmt.Errorf("count interaction on live %s: %w: at most %d kinds", liveID, ErrLimit, MaxInteractionKinds)
	}
	c.saved.Interactions[kind]++
	c.dirty = true
	return nil
}

// CountReplayView adds one to the live's replay views. Like
// CountInteraction it touches memory only.
func (s *Store) CountReplayView(liveID string) error {
	s.cmu.Lock()
	defer s.cmu.Unlock()
	c, err := s.countersLocked(liveID)
	if err != nil {
		return fmt.Errorf("count replay view: %w", err)
	}
	c.saved.ReplayViews++
	c.dirty = true
	return nil
}

// Flush writes every changed counter in one batch.
func (s *Store) Flush() error {
	s.flushMu.Lock()
	defer s.flushMu.Unlock()
	s.cmu.Lock()
	snap := map[string]storedCounters{}
	for id, c := range s.counters {
		if c.dirty {
			sc := c.saved
			sc.Interactions = maps.Clone(sc.Interactions)
			snap[id] = sc
			c.dirty = false
		}
	}
	s.cmu.Unlock()
	if len(snap) == 0 {
		return nil
	}
	b := s.db.NewBatch()
	for id, sc := range snap {
		if _, err := s.Get(id); errors.Is(err, ErrNotFound) {
			continue // deleted since it was counted
		}
		if err := b.SetJSON(storage.Key(storage.PrefixLiveCounters, id), sc); err != nil {
			return fmt.Errorf("flush live counters: %w", err)
		}
	}
	if err := s.db.Commit(b); err != nil {
		s.cmu.Lock()
		for id := range snap {
			if c, ok := s.counters[id]; ok {
				c.dirty = true
			}
		}
		s.cmu.Unlock()
		return fmt.Errorf("flush live counters: %w", err)
	}
	return nil
}

func (s *Store) flushLoop(every time.Duration) {
	defer close(s.done)
	t := time.NewTicker(every)
	defer t.Stop()
	for {
		select {
		case <-s.stop:
			return
		case <-t.C:
			_ = s.Flush() // a failed flush stays dirty and is retried
		}
	}
}

// closeStaleRecords adds to b the closing, at the live's end, of viewer
// records that are open on disk but not in this process: left open by a
// process that stopped. The caller holds every record stripe.
func (s *Store) closeStaleRecords(b *storage.Batch, l Live) error {
	s.cmu.Lock()
	var open map[string]string
	if c, ok := s.counters[l.ID]; ok {
		open = maps.Clone(c.open)
	}
	s.cmu.Unlock()
	recs, err := s.viewerRecords(l.ID)
	if err != nil {
		return err
	}
	for _, r := range recs {
		if _, live := open[r.ID]; !r.Open() || live {
			continue
		}
		_, seq, _ := parseViewerRecordID(r.ID)
		r.LeftAt = later(l.EndedAt, r.JoinedAt)
		if err := b.SetJSON(viewerKey(l.ID, seq), r); err != nil {
			return err
		}
	}
	return nil
}

func (s *Store) viewerRecords(liveID string) ([]ViewerRecord, error) {
	out := []ViewerRecord{}
	var decodeErr error
	err := s.db.ScanPrefix(viewerPrefix(liveID), func(key, value []byte) bool {
		var r ViewerRecord
		if err := json.Unmarshal(value, &r); err != nil {
			decodeErr = fmt.Errorf("decode %q: %w", key, err)
			return false
		}
		out = append(out, r)
		return true
	})
	if err == nil {
		err = decodeErr
	}
	if err != nil {
		return nil, fmt.Errorf("viewer records of live %s: %w", liveID, err)
	}
	return out, nil
}

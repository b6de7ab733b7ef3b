package presence

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"parley/storage"
)

// recordLastSeenLocked keeps the newest last-seen time of member for the
// writer, and wakes it. Times are kept to the millisecond, as stored.
func (t *Tracker) recordLastSeenLocked(member string, at time.Time) {
	at = at.UTC().Truncate(time.Millisecond)
	if cur, ok := t.pending[member]; ok && !at.After(cur) {
		return
	}
	t.pending[member] = at
	select {
	case t.wake <- struct{}{}:
	default:
	}
}

// writeLoop stores pending last-seen times whenever there are some, one
// batch for all of them, so a node closing thousands of sessions at once
// costs a few commits rather than thousands. It stores the rest when the
// tracker closes.
func (t *Tracker) writeLoop() {
	defer t.wg.Done()
	for {
		select {
		case <-t.stop:
			t.flush()
			return
		case <-t.wake:
			t.flush()
		}
	}
}

// flush commits the pending times, never moving a stored time backwards.
// On failure the times stay pending and the next wake retries them.
func (t *Tracker) flush() {
	t.mu.Lock()
	snap := maps.Clone(t.pending)
	t.mu.Unlock()
	if len(snap) == 0 {
		return
	}
	b := t.db.NewBatch()
	for member, at := range snap {
		stored, err := t.loadLastSeen(member)
		if err != nil {
			t.log.Error("store last seen", "member", member, "err", err)
			delete(snap, member) // stays pending for the next try
			continue
		}
		if at.After(stored) {
			b.Set(storage.Key(storage.PrefixPresenceLastSeen, member), storage.AppendUint64(nil, uint64(at.UnixMilli())))
		}
	}
	if err := t.db.Commit(b); err != nil {
		t.log.Error("store last seen", "members", len(snap), "err", err)
		return
	}
	t.mu.Lock()
	for member, at := range snap {
		if t.pending[member].Equal(at) {
			delete(t.pending, member)
		}
	}
	t.mu.Unlock()
}

// storedLastSeen reads the stored times of members, or their pending
// times where later; members never seen are absent. The pending times are
// taken before the store is read: a flush that commits a time and drops
// it from pending in between would otherwise hide it from both reads.
// Callers add the times that became pending since, under the lock.
func (t *Tracker) storedLastSeen(members []string) (map[string]time.Time, error) {
	out := make(map[string]time.Time, len(members))
	t.mu.Lock()
	for _, m := range members {
		if at, ok := t.pending[m]; ok {
			out[m] = at
		}
	}
	t.mu.Unlock()
	for _, m := range members {
		at, err := t.loadLastSeen(m)
		if err != nil {
			return nil, err
		}
		if at.After(out[m]) {
			out[m] = at
		}
	}
	return out, nil
}

// loadLastSeen reads one member's stored time, zero if none.
func (t *Tracker) loadLastSeen(member string) (time.Time, error) {
	raw, err := t.db.Get(storage.Key(storage.PrefixPresenceLastSeen, member))
	if errors.Is(err, storage.ErrNotFound) {
		return time.Time{}, nil
	}
	if err != nil {
		return time.Time{}, fmt.Errorf("load last seen of %s: %w", member, err)
	}
	if len(raw) != 8 {
		return time.Time{}, fmt.Errorf("load last seen of %s: value has %d bytes, want 8", member, len(raw))
	}
	return time.UnixMilli(int64(storage.Uint64At(raw, 0))).UTC(), nil
}

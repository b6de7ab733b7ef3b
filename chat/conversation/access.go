package conversation

import (
	"sync"
	"sync/atomic"
)

// accessCachePerStripe bounds the cached permission records of one lock
// stripe, so the cache holds at most lockStripes × this many.
const accessCachePerStripe = 64

// The access cache keeps, per (conversation, member), what every send
// checks: whether the conversation is dissolved or muted for all, and the
// membership. Without it each send reads both records from Pebble.
//
// It must never let a removed or muted member send, and a staged change
// may still fail to commit, so entries are not updated from staged
// changes: they are dropped, by generation. Each lock stripe has a
// generation counter. Lock makes it odd and its release makes it even
// again, so while a change is between check and commit the stripe's
// entries are not trusted, and after it they are stale: the next check
// reads the committed state from Pebble, whatever the commit did. An
// entry records the generation read before its records were loaded; it
// is used only while the generation is even and still the same. Stage*
// also advance the generation (by two, keeping its parity), which covers
// callers that stage without Lock and commit before they check again.

// accessStripe is the cache of one lock stripe.
type accessStripe struct {
	gen atomic.Uint64 // odd while Lock is held

	mu      sync.Mutex
	entries map[accessKey]accessEntry
}

type accessKey struct{ conv, member string }

// accessEntry is what the permission checks need of a conversation and
// one membership of it.
type accessEntry struct {
	gen       uint64
	dissolved bool
	muteAll   bool
	member    Membership
}

// changed marks convID's cached records stale.
func (s *Store) changed(convID string) {
	s.accessCache[stripe(convID, "")].gen.Add(2)
}

// cachedAccess is access from the cache, loading and caching on a miss.
func (s *Store) cachedAccess(convID, memberID string) (accessEntry, error) {
	st := &s.accessCache[stripe(convID, "")]
	key := accessKey{convID, memberID}
	gen := st.gen.Load()
	stable := gen%2 == 0
	if stable {
		st.mu.Lock()
		e, ok := st.entries[key]
		st.mu.Unlock()
		if ok && e.gen == gen {
			return e, nil
		}
	}
	c, m, err := s.access(convID, memberID)
	if err != nil {
		return accessEntry{}, err
	}
	e := accessEntry{gen: gen, dissolved: c.Dissolved, muteAll: c.MuteAll, member: m}
	if stable {
		st.mu.Lock()
		if st.entries == nil {
			st.entries = make(map[accessKey]accessEntry)
		}
		if _, ok := st.entries[key]; !ok && len(st.entries) >= accessCachePerStripe {
			for k := range st.entries { // drop any one
				delete(st.entries, k)
				break
			}
		}
		st.entries[key] = e
		st.mu.Unlock()
	}
	return e, nil
}

package live

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"sync"
	"time"

	"parley/storage"
)

// recordStripes is how many locks guard viewer records: a leave locks the
// stripe of its record only.
const recordStripes = 32

// Options tune a Store. The zero value is what production uses.
type Options struct {
	// Now is the clock for creation times and for the watch time of
	// viewers still watching. Nil means time.Now.
	Now func() time.Time
	// FlushInterval is how often changed counters are written. Zero means
	// DefaultFlushInterval; negative disables the background writer
	// (Flush, MarkEnded and Close still write), for tests.
	FlushInterval time.Duration
}

// Store keeps lives, their stream keys and viewer statistics in Pebble.
// It is safe for concurrent use. Close it before closing the database.
type Store struct {
	db  *storage.DB
	now func() time.Time

	// mu is held by every change of a live record or its stream key,
	// from its read to its commit.
	mu sync.Mutex

	// cmu guards counters, the in-memory counters of each live touched
	// since the process started (viewers.go).
	cmu      sync.Mutex
	counters map[string]*liveCounters

	// recordLocks guard viewer records by stripe.
	recordLocks [recordStripes]sync.Mutex

	// flushMu orders flushes, so an older snapshot never overwrites a
	// newer one.
	flushMu sync.Mutex

	stop      chan struct{}
	done      chan struct{}
	closeOnce sync.Once
	closeErr  error
}

// New returns the store kept in db and starts its counter writer.
func New(db *storage.DB, opts Options) *Store {
	s := &Store{db: db, now: opts.Now, counters: make(map[string]*liveCounters), stop: make(chan struct{}), done: make(chan struct{})}
	if s.now == nil {
		s.now = time.Now
	}
	every := opts.FlushInterval
	if every == 0 {
		every = DefaultFlushInterval
	}
	if every < 0 {
		close(s.done)
		return s
	}
	go s.flushLoop(every)
	return s
}

// Close stops the counter writer and writes the counters one last time.
// Later calls return the first call's result.
func (s *Store) Close() error {
	s.closeOnce.Do(func() {
		close(s.stop)
		<-s.done
		s.closeErr = s.Flush()
	})
	return s.closeErr
}

// clock is the current time in UTC without a monotonic reading.
func (s *Store) clock() time.Time { return s.now().UTC() }

func liveKey(id string) []byte { return storage.Key(storage.PrefixLive, id) }

// timeKey lists a live by creation time: "live/time/<nanos BE8><id>".
func timeKey(created time.Time, id string) []byte {
	k := storage.AppendUint64([]byte(storage.PrefixLiveByTime), uint64(created.UnixNano()))
	return append(k, id...)
}

func randomToken(n int) string {
	raw := make([]byte, n)
	rand.Read(raw) // never fails
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Create stores a new scheduled live hosted by n.HostID and returns it
// with its stream key. The key is returned only here and by
// RotateStreamKey; the store keeps its hash.
func (s *Store) Create(n NewLive) (Live, string, error) {
	l := Live{ID: rand.Text(), HostID: n.HostID, ScheduledStart: utc(n.ScheduledStart), Status: StatusScheduled,
		Record: n.Record == nil || *n.Record, CreatedAt: s.clock(), LinkToken: randomToken(linkTokenBytes), Sessions: []Session{}}
	if err := checkID("host_id", n.HostID); err != nil {
		return Live{}, "", fmt.Errorf("create live: %w", err)
	}
	var err error
	if l.Title, err = checkText("title", n.Title, 1, MaxTitleRunes, false); err != nil {
		return Live{}, "", fmt.Errorf("create live: %w", err)
	}
	if l.Description, err = checkText("description", n.Description, 0, MaxDescriptionRunes, true); err != nil {
		return Live{}, "", fmt.Errorf("create live: %w", err)
	}
	if l.Guests, err = cleanIDs("guests", n.Guests, MaxGuests, n.HostID); err != nil {
		return Live{}, "", fmt.Errorf("create live: %w", err)
	}
	if l.Scope, err = cleanScope(n.Scope); err != nil {
		return Live{}, "", fmt.Errorf("create live: %w", err)
	}
	key := newStreamKey()
	b := s.db.NewBatch()
	if err := b.SetJSON(liveKey(l.ID), l); err != nil {
		return Live{}, "", fmt.Errorf("create live: %w", err)
	}
	b.Set(timeKey(l.CreatedAt, l.ID), nil)
	setStreamKey(b, l.ID, key)
	if err := s.db.Commit(b); err != nil {
		return Live{}, "", fmt.Errorf("create live: %w", err)
	}
	return l, key, nil
}

// Get returns the live, or ErrNotFound.
func (s *Store) Get(id string) (Live, error) {
	if checkID("live id", id) != nil {
		return Live{}, fmt.Errorf("live %q: %w", id, ErrNotFound)
	}
	var l Live
	err := s.db.GetJSON(liveKey(id), &l)
	if errors.Is(err, storage.ErrNotFound) {
		return Live{}, fmt.Errorf("live %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Live{}, fmt.Errorf("load live %s: %w", id, err)
	}
	return l, nil
}

// modify loads a live under s.mu, lets edit change it, and commits it,
// with whatever extra adds, in one batch.
func (s *Store) modify(id, action string, edit func(l *Live) error, extra func(b *storage.Batch, l Live) error) (Live, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.Get(id)
	if err != nil {
		return Live{}, fmt.Errorf("%s: %w", action, err)
	}
	if err := edit(&l); err != nil {
		return Live{}, fmt.Errorf("%s live %s: %w", action, id, err)
	}
	b := s.db.NewBatch()
	if err := b.SetJSON(liveKey(id), l); err != nil {
		return Live{}, fmt.Errorf("%s live %s: %w", action, id, err)
	}
	if extra != nil {
		if err := extra(b, l); err != nil {
			return Live{}, fmt.Errorf("%s live %s: %w", action, id, err)
		}
	}
	if err := s.db.Commit(b); err != nil {
		return Live{}, fmt.Errorf("%s live %s: %w", action, id, err)
	}
	return l, nil
}

// Update changes a live's title, description, schedule, guests, scope or
// recording choice.
func (s *Store) Update(id string, p Patch) (Live, error) {
	return s.modify(id, "update", func(l *Live) error {
		var err error
		if p.Title != nil {
			if l.Title, err = checkText("title", *p.Title, 1, MaxTitleRunes, false); err != nil {
				return err
			}
		}
		if p.Description != nil {
			if l.Description, err = checkText("description", *p.Description, 0, MaxDescriptionRunes, true); err != nil {
				return err
			}
		}
		if p.ScheduledStart != nil {
			l.ScheduledStart = utc(*p.ScheduledStart)
		}
		if p.Guests != nil {
			if l.Guests, err = cleanIDs("guests", *p.Guests, MaxGuests, l.HostID); err != nil {
				return err
			}
		}
		if p.Scope != nil {
			if l.Scope, err = cleanScope(*p.Scope); err != nil {
				return err
			}
		}
		if p.Record != nil {
			l.Record = *p.Record
		}
		return nil
	}, nil)
}

// Delete removes a live that is not on air (ErrState while it is), with
// its stream key, viewer records and counters.
func (s *Store) Delete(id string) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	l, err := s.Get(id)
	if err != nil {
		return fmt.Errorf("delete: %w", err)
	}
	if l.Status == StatusLive {
		return fmt.Errorf("delete live %s: %w: it is on air; stop the encoder first", id, ErrState)
	}
	b := s.db.NewBatch()
	b.Delete(liveKey(id))
	b.Delete(timeKey(l.CreatedAt, id))
	if err := s.deleteStreamKey(b, id); err != nil {
		return fmt.Errorf("delete live %s: %w", id, err)
	}
	b.DeletePrefix(viewerPrefix(id))
	b.Delete(storage.Key(storage.PrefixLiveCounters, id))
	if err := s.db.Commit(b); err != nil {
		return fmt.Errorf("delete live %s: %w", id, err)
	}
	s.cmu.Lock()
	delete(s.counters, id)
	s.cmu.Unlock()
	return nil
}

// ScanNewest calls visit with every live, newest first, starting after
// the live with id after ("" for the newest), until visit returns false.
// Callers filter by what a member may see; an unknown after is ErrInvalid.
func (s *Store) ScanNewest(after string, visit func(Live) bool) error {
	prefix := []byte(storage.PrefixLiveByTime)
	upper := storage.PrefixEnd(prefix)
	if after != "" {
		cur, err := s.Get(after)
		if err != nil {
			return fmt.Errorf("list lives: %w", invalidf("after", "%q is not a live id from an earlier page", after))
		}
		upper = timeKey(cur.CreatedAt, cur.ID)
	}
	var loadErr error
	err := s.db.Scan(prefix, upper, true, 0, func(key, _ []byte) bool {
		l, err := s.Get(string(key[len(prefix)+8:]))
		if errors.Is(err, ErrNotFound) {
			return true // deleted since the scan began
		}
		if err != nil {
			loadErr = err
			return false
		}
		return visit(l)
	})
	if err == nil {
		err = loadErr
	}
	if err != nil {
		return fmt.Errorf("list lives: %w", err)
	}
	return nil
}

// CheckLinkToken returns the live when token is its viewer link token.
// An unknown live and a wrong token are the same ErrNotFound, and the
// comparison is constant-time.
func (s *Store) CheckLinkToken(id, token string) (Live, error) {
	l, err := s.Get(id)
	if errors.Is(err, ErrNotFound) {
		return Live{}, fmt.Errorf("live link: %w", ErrNotFound)
	}
	if err != nil {
		return Live{}, err
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(l.LinkToken)) != 1 {
		return Live{}, fmt.Errorf("live link: %w", ErrNotFound)
	}
	return l, nil
}

// RotateLinkToken gives the live a new viewer link token; the old link
// stops working at once.
func (s *Store) RotateLinkToken(id string) (Live, error) {
	return s.modify(id, "rotate link of", func(l *Live) error {
		l.LinkToken = randomToken(linkTokenBytes)
		return nil
	}, nil)
}

// MarkLive puts the live on air as of at: a new Session starts, and
// StartedAt is set the first time. A live already on air is left as it
// is. An ended live goes on air again (an encoder that reconnected).
func (s *Store) MarkLive(id string, at time.Time) (Live, error) {
	at = at.UTC()
	return s.modify(id, "go live with", func(l *Live) error {
		if l.Status == StatusLive {
			return nil
		}
		if len(l.Sessions) >= MaxSessions {
			return fmt.Errorf("%w: a live may go on air at most %d times", ErrLimit, MaxSessions)
		}
		if n := len(l.Sessions); n > 0 && at.Before(l.Sessions[n-1].End) {
			at = l.Sessions[n-1].End // never overlap the previous session
		}
		l.Status, l.EndedAt = StatusLive, time.Time{}
		if l.StartedAt.IsZero() {
			l.StartedAt = at
		}
		l.Sessions = append(l.Sessions, Session{Start: at})
		return nil
	}, nil)
}

// MarkEnded takes the live off air as of at (never before the session
// began), closes the session, closes viewer records left open by an
// earlier process, and writes the counters. Ending an ended live is a
// no-op; one that never went on air is ErrState.
func (s *Store) MarkEnded(id string, at time.Time) (Live, error) {
	for i := range s.recordLocks {
		s.recordLocks[i].Lock()
	}
	defer func() {
		for i := range s.recordLocks {
			s.recordLocks[i].Unlock()
		}
	}()
	already := false
	l, err := s.modify(id, "end", func(l *Live) error {
		switch l.Status {
		case StatusLive:
			n := len(l.Sessions) - 1
			end := later(at.UTC(), l.Sessions[n].Start)
			l.Sessions[n].End, l.Status, l.EndedAt = end, StatusEnded, end
			return nil
		case StatusEnded:
			already = true
			return nil
		}
		return fmt.Errorf("%w: the live is %s", ErrState, l.Status)
	}, func(b *storage.Batch, l Live) error {
		if already {
			return nil
		}
		return s.closeStaleRecords(b, l)
	})
	if err != nil {
		return Live{}, err
	}
	if err := s.Flush(); err != nil {
		return Live{}, err
	}
	return l, nil
}

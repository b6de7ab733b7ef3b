package meeting

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"slices"
	"sync"
	"time"

	"parley/storage"
)

// recordStripes is how many locks guard attendance records: a leave locks
// the stripe of its record only, so leaves of different people commit
// concurrently.
const recordStripes = 32

// Options tune a Store. The zero value is what production uses.
type Options struct {
	// Now is the clock for creation times and for the duration of records
	// still open in a running meeting. Nil means time.Now.
	Now func() time.Time
}

// Store keeps meetings and their attendance in Pebble. It is safe for
// concurrent use.
type Store struct {
	db  *storage.DB
	now func() time.Time

	// mu is held by every change of a meeting record, from its read to
	// its commit.
	mu sync.Mutex

	// seqMu guards seqs, the last attendance sequence number handed out
	// per running meeting, loaded from disk on a meeting's first join.
	seqMu sync.Mutex
	seqs  map[string]uint64

	// recordLocks guard attendance records by stripe (recordStripe).
	recordLocks [recordStripes]sync.Mutex
}

// New returns the store kept in db.
func New(db *storage.DB, opts Options) *Store {
	now := opts.Now
	if now == nil {
		now = time.Now
	}
	return &Store{db: db, now: now, seqs: make(map[string]uint64)}
}

// clock is the current time in UTC without a monotonic reading, so a
// returned record equals the stored one.
func (s *Store) clock() time.Time { return s.now().UTC() }

func meetingKey(id string) []byte { return storage.Key(storage.PrefixMeeting, id) }

// memberIndexKey lists meeting id under member, by the meeting's creation
// time: "meet/member/<member>/<created nanos BE8><meeting id>".
func memberIndexKey(member string, created time.Time, id string) []byte {
	k := storage.AppendUint64(storage.KeyPrefix(storage.PrefixMeetingByMember, member), uint64(created.UnixNano()))
	return append(k, id...)
}

func newLinkToken() string {
	raw := make([]byte, linkTokenBytes)
	rand.Read(raw) // never fails
	return base64.RawURLEncoding.EncodeToString(raw)
}

// Create stores a new meeting hosted by n.HostID, with status scheduled
// (an instant meeting too: it becomes active when MarkStarted is called),
// default settings changed by n.Settings, and a fresh link token.
func (s *Store) Create(n NewMeeting) (Meeting, error) {
	if err := checkID("host_id", n.HostID); err != nil {
		return Meeting{}, fmt.Errorf("create meeting: %w", err)
	}
	title, err := checkText("title", n.Title, MaxTitleRunes)
	if err != nil {
		return Meeting{}, fmt.Errorf("create meeting: %w", err)
	}
	start, end := utc(n.ScheduledStart), utc(n.ScheduledEnd)
	if err := checkSchedule(start, end); err != nil {
		return Meeting{}, fmt.Errorf("create meeting: %w", err)
	}
	settings := n.Settings.Apply(DefaultSettings())
	if err := checkSettings(settings); err != nil {
		return Meeting{}, fmt.Errorf("create meeting: %w", err)
	}
	invitees, err := cleanIDs("invitees", n.Invitees, MaxInvitees, n.HostID)
	if err != nil {
		return Meeting{}, fmt.Errorf("create meeting: %w", err)
	}
	m := Meeting{
		ID:             rand.Text(),
		Title:          title,
		HostID:         n.HostID,
		CoHosts:        []string{},
		Invitees:       invitees,
		ScheduledStart: start,
		ScheduledEnd:   end,
		Settings:       settings,
		LinkToken:      newLinkToken(),
		Status:         StatusScheduled,
		CreatedAt:      s.clock(),
		Banned:         []string{},
	}
	b := s.db.NewBatch()
	if err := b.SetJSON(meetingKey(m.ID), m); err != nil {
		return Meeting{}, fmt.Errorf("create meeting: %w", err)
	}
	for _, id := range m.participants() {
		b.Set(memberIndexKey(id, m.CreatedAt, m.ID), nil)
	}
	if err := s.db.Commit(b); err != nil {
		return Meeting{}, fmt.Errorf("create meeting: %w", err)
	}
	return m, nil
}

// utc is t in UTC, or the zero time for a zero t.
func utc(t time.Time) time.Time {
	if t.IsZero() {
		return time.Time{}
	}
	return t.UTC()
}

// Get returns the meeting, or ErrNotFound.
func (s *Store) Get(id string) (Meeting, error) {
	if checkID("meeting id", id) != nil {
		return Meeting{}, fmt.Errorf("meeting %q: %w", id, ErrNotFound)
	}
	var m Meeting
	err := s.db.GetJSON(meetingKey(id), &m)
	if errors.Is(err, storage.ErrNotFound) {
		return Meeting{}, fmt.Errorf("meeting %s: %w", id, ErrNotFound)
	}
	if err != nil {
		return Meeting{}, fmt.Errorf("load meeting %s: %w", id, err)
	}
	return m, nil
}

// modify loads a meeting under s.mu, lets edit change it, and commits the
// record with its member index changes, plus whatever extra adds, in one
// batch.
func (s *Store) modify(id, action string, edit func(m *Meeting) error, extra func(b *storage.Batch, m Meeting) error) (Meeting, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	m, err := s.Get(id)
	if err != nil {
		return Meeting{}, fmt.Errorf("%s: %w", action, err)
	}
	before := m.participants()
	if err := edit(&m); err != nil {
		return Meeting{}, fmt.Errorf("%s meeting %s: %w", action, id, err)
	}
	b := s.db.NewBatch()
	if err := b.SetJSON(meetingKey(m.ID), m); err != nil {
		return Meeting{}, fmt.Errorf("%s meeting %s: %w", action, id, err)
	}
	after := m.participants()
	for _, p := range before {
		if !slices.Contains(after, p) {
			b.Delete(memberIndexKey(p, m.CreatedAt, m.ID))
		}
	}
	for _, p := range after {
		if !slices.Contains(before, p) {
			b.Set(memberIndexKey(p, m.CreatedAt, m.ID), nil)
		}
	}
	if extra != nil {
		if err := extra(b, m); err != nil {
			return Meeting{}, fmt.Errorf("%s meeting %s: %w", action, id, err)
		}
	}
	if err := s.db.Commit(b); err != nil {
		return Meeting{}, fmt.Errorf("%s meeting %s: %w", action, id, err)
	}
	return m, nil
}

// notFinished refuses changes to an ended or cancelled meeting.
func notFinished(m *Meeting) error {
	if m.Finished() {
		return fmt.Errorf("%w: the meeting is %s", ErrState, m.Status)
	}
	return nil
}

// notBanned refuses to give a role to someone banned.
func notBanned(m *Meeting, ids ...string) error {
	for _, id := range ids {
		if slices.Contains(m.Banned, id) {
			return invalidf("member", "%s is banned from this meeting", id)
		}
	}
	return nil
}

// Update changes a meeting's title, schedule, settings or invitees. An
// ended or cancelled meeting cannot change (ErrState), nor can the
// schedule of one that has started.
func (s *Store) Update(id string, p Patch) (Meeting, error) {
	return s.modify(id, "update", func(m *Meeting) error {
		if err := notFinished(m); err != nil {
			return err
		}
		if p.Title != nil {
			title, err := checkText("title", *p.Title, MaxTitleRunes)
			if err != nil {
				return err
			}
			m.Title = title
		}
		if p.ScheduledStart != nil || p.ScheduledEnd != nil {
			if m.Status != StatusScheduled {
				return fmt.Errorf("%w: the schedule of a meeting that has started cannot change", ErrState)
			}
			start, end := m.ScheduledStart, m.ScheduledEnd
			if p.ScheduledStart != nil {
				start = utc(*p.ScheduledStart)
			}
			if p.ScheduledEnd != nil {
				end = utc(*p.ScheduledEnd)
			}
			if err := checkSchedule(start, end); err != nil {
				return err
			}
			m.ScheduledStart, m.ScheduledEnd = start, end
		}
		if p.Settings != nil {
			settings := p.Settings.Apply(m.Settings)
			if err := checkSettings(settings); err != nil {
				return err
			}
			m.Settings = settings
		}
		if p.Invitees != nil {
			invitees, err := cleanIDs("invitees", *p.Invitees, MaxInvitees, m.HostID)
			if err != nil {
				return err
			}
			if err := notBanned(m, invitees...); err != nil {
				return err
			}
			m.Invitees = invitees
		}
		return nil
	}, nil)
}

// Cancel calls off a meeting that has not started. A running meeting is
// ended with MarkEnded instead (ErrState here); cancelling twice is not an
// error.
func (s *Store) Cancel(id string) (Meeting, error) {
	return s.modify(id, "cancel", func(m *Meeting) error {
		switch m.Status {
		case StatusScheduled:
			m.Status = StatusCancelled
			return nil
		case StatusCancelled:
			return nil
		}
		return fmt.Errorf("%w: only a meeting that has not started can be cancelled; it is %s", ErrState, m.Status)
	}, nil)
}

// SetCoHosts replaces the co-hosts. The host is dropped from the list,
// banned members are refused. A co-host may also be an invitee: taking
// the co-host role back leaves them invited.
func (s *Store) SetCoHosts(id string, cohosts []string) (Meeting, error) {
	return s.modify(id, "set co-hosts of", func(m *Meeting) error {
		if err := notFinished(m); err != nil {
			return err
		}
		ids, err := cleanIDs("cohosts", cohosts, MaxCoHosts, m.HostID)
		if err != nil {
			return err
		}
		if err := notBanned(m, ids...); err != nil {
			return err
		}
		m.CoHosts = ids
		return nil
	}, nil)
}

// TransferHost makes newHost the host. The old host stays on the meeting
// as an invitee, so it still appears in their list, without powers; the
// new host leaves the co-host and invitee lists. Transferring to the host
// is a no-op.
func (s *Store) TransferHost(id, newHost string) (Meeting, error) {
	if err := checkID("host_id", newHost); err != nil {
		return Meeting{}, fmt.Errorf("transfer meeting %s: %w", id, err)
	}
	return s.modify(id, "transfer", func(m *Meeting) error {
		if err := notFinished(m); err != nil {
			return err
		}
		if newHost == m.HostID {
			return nil
		}
		if err := notBanned(m, newHost); err != nil {
			return err
		}
		old := m.HostID
		m.HostID = newHost
		m.CoHosts = slices.DeleteFunc(m.CoHosts, func(c string) bool { return c == newHost })
		m.Invitees = slices.DeleteFunc(m.Invitees, func(c string) bool { return c == newHost })
		if !slices.Contains(m.Invitees, old) {
			if len(m.Invitees) >= MaxInvitees {
				return fmt.Errorf("%w: invitees: the old host cannot be kept, the list is full (%d)", ErrLimit, MaxInvitees)
			}
			m.Invitees = append(m.Invitees, old)
		}
		return nil
	}, nil)
}

// RotateLinkToken gives the meeting a new link token; the old link stops
// working at once. Guest tokens already issued stay valid until they
// expire.
func (s *Store) RotateLinkToken(id string) (Meeting, error) {
	return s.modify(id, "rotate link of", func(m *Meeting) error {
		if err := notFinished(m); err != nil {
			return err
		}
		m.LinkToken = newLinkToken()
		return nil
	}, nil)
}

// CheckLinkToken returns the meeting when token is its link token. An
// unknown meeting and a wrong token are the same ErrNotFound, and the
// comparison takes the same time wherever the tokens differ.
func (s *Store) CheckLinkToken(id, token string) (Meeting, error) {
	m, err := s.Get(id)
	if errors.Is(err, ErrNotFound) {
		return Meeting{}, fmt.Errorf("meeting link: %w", ErrNotFound)
	}
	if err != nil {
		return Meeting{}, err
	}
	if subtle.ConstantTimeCompare([]byte(token), []byte(m.LinkToken)) != 1 {
		return Meeting{}, fmt.Errorf("meeting link: %w", ErrNotFound)
	}
	return m, nil
}

// Ban stops who (a member or guest id) from joining again, and takes away
// any co-host role or invitation. The host cannot be banned. Banning twice
// is not an error.
func (s *Store) Ban(id, who string) (Meeting, error) {
	if err := checkID("banned id", who); err != nil {
		return Meeting{}, fmt.Errorf("ban from meeting %s: %w", id, err)
	}
	return s.modify(id, "ban from", func(m *Meeting) error {
		if err := notFinished(m); err != nil {
			return err
		}
		if who == m.HostID {
			return invalidf("banned id", "the host cannot be banned")
		}
		m.CoHosts = slices.DeleteFunc(m.CoHosts, func(c string) bool { return c == who })
		m.Invitees = slices.DeleteFunc(m.Invitees, func(c string) bool { return c == who })
		if slices.Contains(m.Banned, who) {
			return nil
		}
		if len(m.Banned) >= MaxBanned {
			return fmt.Errorf("%w: banned: at most %d", ErrLimit, MaxBanned)
		}
		m.Banned = append(m.Banned, who)
		return nil
	}, nil)
}

// IsBanned reports whether who is banned from the meeting.
func (s *Store) IsBanned(id, who string) (bool, error) {
	m, err := s.Get(id)
	if err != nil {
		return false, err
	}
	return slices.Contains(m.Banned, who), nil
}

// MarkStarted makes a scheduled meeting active, as of at. Starting an
// active meeting again is a no-op; an ended or cancelled one is ErrState.
func (s *Store) MarkStarted(id string, at time.Time) (Meeting, error) {
	return s.modify(id, "start", func(m *Meeting) error {
		switch m.Status {
		case StatusScheduled:
			m.Status, m.StartedAt = StatusActive, at.UTC()
			return nil
		case StatusActive:
			return nil
		}
		return fmt.Errorf("%w: the meeting is %s", ErrState, m.Status)
	}, nil)
}

// MarkEnded ends an active meeting as of at (never before it started) and,
// in the same batch, closes every attendance record still open at that
// time with ReasonMeetingEnded: leaves that were never recorded, because
// a server stopped, end with the meeting. Ending an ended meeting is a
// no-op; a meeting that never started is ErrState (cancel it).
func (s *Store) MarkEnded(id string, at time.Time) (Meeting, error) {
	for i := range s.recordLocks {
		s.recordLocks[i].Lock()
	}
	defer func() {
		for i := range s.recordLocks {
			s.recordLocks[i].Unlock()
		}
	}()
	already := false
	m, err := s.modify(id, "end", func(m *Meeting) error {
		switch m.Status {
		case StatusActive:
			m.Status, m.EndedAt = StatusEnded, later(at.UTC(), m.StartedAt)
			return nil
		case StatusEnded:
			already = true
			return nil
		}
		return fmt.Errorf("%w: the meeting is %s", ErrState, m.Status)
	}, func(b *storage.Batch, m Meeting) error {
		if already {
			return nil
		}
		return s.closeOpenRecords(b, m)
	})
	if err != nil {
		return Meeting{}, err
	}
	// No join is accepted from now on, so the sequence is not needed.
	s.seqMu.Lock()
	delete(s.seqs, id)
	s.seqMu.Unlock()
	return m, nil
}

// ListForMember returns a page of the meetings member hosts, co-hosts or
// is invited to, newest first, and the cursor of the next page ("" when
// there is none). after is a cursor from an earlier page, or "". limit 0
// means DefaultListLimit; at most MaxListLimit.
func (s *Store) ListForMember(member, after string, limit int) ([]Meeting, string, error) {
	if err := checkID("member id", member); err != nil {
		return nil, "", fmt.Errorf("list meetings: %w", err)
	}
	switch {
	case limit == 0:
		limit = DefaultListLimit
	case limit < 0 || limit > MaxListLimit:
		return nil, "", fmt.Errorf("list meetings: %w", invalidf("limit", "must be 1 to %d", MaxListLimit))
	}
	prefix := storage.KeyPrefix(storage.PrefixMeetingByMember, member)
	upper := storage.PrefixEnd(prefix)
	if after != "" {
		cur, err := s.Get(after)
		if err != nil {
			return nil, "", fmt.Errorf("list meetings: %w", invalidf("after", "%q is not a meeting id from an earlier page", after))
		}
		upper = memberIndexKey(member, cur.CreatedAt, cur.ID)
	}
	var ids []string
	err := s.db.Scan(prefix, upper, true, limit+1, func(key, _ []byte) bool {
		ids = append(ids, string(key[len(prefix)+8:]))
		return true
	})
	if err != nil {
		return nil, "", fmt.Errorf("list meetings of %s: %w", member, err)
	}
	next := ""
	if len(ids) > limit {
		ids = ids[:limit]
		next = ids[limit-1]
	}
	out := make([]Meeting, 0, len(ids))
	for _, id := range ids {
		m, err := s.Get(id)
		if err != nil {
			return nil, "", fmt.Errorf("list meetings of %s: %w", member, err)
		}
		out = append(out, m)
	}
	return out, next, nil
}

package rtc

import (
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"sync/atomic"
	"time"

	"parley/sfu/media"
	"parley/sfu/meeting"
)

// Meetings is the durable side of meetings that rooms need. *meeting.Store
// satisfies it.
type Meetings interface {
	Get(id string) (meeting.Meeting, error)
	Update(id string, p meeting.Patch) (meeting.Meeting, error)
	SetCoHosts(id string, cohosts []string) (meeting.Meeting, error)
	TransferHost(id, newHost string) (meeting.Meeting, error)
	Ban(id, who string) (meeting.Meeting, error)
	MarkStarted(id string, at time.Time) (meeting.Meeting, error)
	MarkEnded(id string, at time.Time) (meeting.Meeting, error)
	RecordJoin(meetingID string, a meeting.Attendee, at time.Time) (string, error)
	RecordLeave(id string, at time.Time, reason string) error
}

// Identity is who joins: a member, or a guest. For a guest, ID is the
// guest id its token carries.
type Identity struct {
	ID    string
	Name  string
	Guest bool
}

// JoinOptions are a participant's choices on joining.
type JoinOptions struct {
	// AutoSubscribe subscribes the participant to every track in the room,
	// now and as they are published. Without it the client subscribes to
	// the tracks it picks.
	AutoSubscribe bool
}

// Manager holds the rooms of this node, one per meeting in progress here.
// It is safe for concurrent use.
type Manager struct {
	cfg      Config
	meetings Meetings
	media    *mediaDeps
	log      *slog.Logger
	now      func() time.Time
	totals   media.ForwardTotals // forwarding counters, closed downtracks' and receivers' included; see Stats
	// latency is every meeting receiver's time from packet read to
	// subscriber write; see Stats.
	latency media.LatencyHistogram
	// eventOverflows counts participants' event queues that overflowed:
	// clients too slow to take the room's events, cut off to resume.
	eventOverflows atomic.Uint64

	mu     sync.Mutex
	rooms  map[string]*Room
	closed bool
	wg     sync.WaitGroup // room goroutines
}

// NewManager returns a manager with no rooms. cfg is validated.
func NewManager(cfg Config, meetings Meetings, media MediaDeps, logger *slog.Logger) (*Manager, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("rtc config: %w", err)
	}
	md, err := newMediaDeps(media)
	if err != nil {
		return nil, err
	}
	return &Manager{
		cfg:      cfg,
		meetings: meetings,
		media:    md,
		log:      logger,
		now:      time.Now,
		rooms:    map[string]*Room{},
	}, nil
}

// Config is the configuration the manager runs with.
func (m *Manager) Config() Config { return m.cfg }

// Room returns the room of a meeting in progress on this node, or nil.
func (m *Manager) Room(meetingID string) *Room {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.rooms[meetingID]
}

// RoomCount is the number of rooms open on this node.
func (m *Manager) RoomCount() int {
	m.mu.Lock()
	defer m.mu.Unlock()
	return len(m.rooms)
}

// Join admits who into a meeting's room, opening the room if this is the
// meeting's first participant here. The participant is joined, or waiting
// when the waiting room holds it; the snapshot says which. Its events
// queue until Attach: send the snapshot to the client first, then attach.
//
// Who may join: anyone the meeting does not ban, while it has not ended;
// a guest only when the meeting allows guests. A locked meeting admits
// only its host and co-hosts, and the waiting room holds everyone else.
// A full meeting (Settings.MaxParticipants) admits nobody. Joining again
// as the same member (or guest) replaces the earlier participant.
func (m *Manager) Join(meetingID string, who Identity, opts JoinOptions) (*Participant, Snapshot, error) {
	name, err := checkName(who.Name)
	if err != nil {
		return nil, Snapshot{}, err
	}
	who.Name = name
	rec, err := m.meetings.Get(meetingID)
	if err != nil {
		if errors.Is(err, meeting.ErrNotFound) {
			return nil, Snapshot{}, fmt.Errorf("meeting %s: %w", meetingID, ErrNotFound)
		}
		return nil, Snapshot{}, fmt.Errorf("join meeting %s: %w", meetingID, err)
	}
	for attempt := 0; ; attempt++ {
		room, err := m.openRoom(rec)
		if err != nil {
			return nil, Snapshot{}, err
		}
		p, snap, err := room.join(rec, who, opts)
		if errors.Is(err, errRoomClosed) && attempt < 3 {
			continue // it closed as we arrived; open a fresh one
		}
		return p, snap, err
	}
}

// Resume gives a participant back to a client that lost its connection:
// the same member (for a guest, any guest: its new token has a new guest
// id) with the resume token from its snapshot, within the grace period. The returned snapshot is the room now; send it, then
// Attach, then restart ICE (the server re-offers the subscriber
// connection; the client re-offers the publisher one).
func (m *Manager) Resume(meetingID, participantID, token string, who Identity) (*Participant, Snapshot, error) {
	room := m.Room(meetingID)
	if room == nil {
		return nil, Snapshot{}, fmt.Errorf("resume in meeting %s: %w: the meeting is not in progress on this server", meetingID, ErrResume)
	}
	return room.resume(participantID, token, who)
}

// Refresh rereads a meeting's record and applies it to its room, if open:
// changed settings are announced (a screen share no longer allowed
// stops), changed roles too, and banned participants are removed. Call it
// after changing a meeting outside the room, as the REST API does.
func (m *Manager) Refresh(meetingID string) error {
	room := m.Room(meetingID)
	if room == nil {
		return nil
	}
	rec, err := m.meetings.Get(meetingID)
	if err != nil {
		return fmt.Errorf("refresh meeting %s: %w", meetingID, err)
	}
	room.apply(rec, "")
	return nil
}

// AdmitsGuest reports whether a guest may still be in a meeting: it
// exists, has not ended, admits guests, and has not banned this guest id.
// Renewing a guest's token asks it, so a guest token outlives its 15
// minutes only while the meeting would let the guest join.
func (m *Manager) AdmitsGuest(meetingID, guestID string) error {
	rec, err := m.meetings.Get(meetingID)
	if err != nil {
		return fmt.Errorf("meeting %s: %w", meetingID, storeErr(err))
	}
	switch {
	case rec.Finished():
		return fmt.Errorf("meeting %s is %s: %w", meetingID, rec.Status, ErrEnded)
	case !rec.Settings.AllowGuests:
		return fmt.Errorf("%w: meeting %s does not admit guests", ErrForbidden, meetingID)
	case slices.Contains(rec.Banned, guestID):
		return fmt.Errorf("meeting %s: %w", meetingID, ErrBanned)
	}
	return nil
}

// Close ends every room on the node, as on shutdown: participants are told
// the meeting ended for them (reason server_shutdown) and their
// attendance is closed; the meetings themselves stay active, so clients
// can rejoin on another server or after a restart. No room opens after
// Close.
func (m *Manager) Close() {
	m.mu.Lock()
	m.closed = true
	rooms := make([]*Room, 0, len(m.rooms))
	for _, r := range m.rooms {
		rooms = append(rooms, r)
	}
	m.mu.Unlock()
	for _, r := range rooms {
		r.shutdown()
	}
	m.wg.Wait()
}

var errRoomClosed = errors.New("room closed")

// errClosedManager is returned once Close has begun.
var errClosedManager = fmt.Errorf("%w: the server is shutting down", ErrEnded)

func (m *Manager) openRoom(rec meeting.Meeting) (*Room, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.closed {
		return nil, errClosedManager
	}
	if r := m.rooms[rec.ID]; r != nil {
		return r, nil
	}
	if rec.Finished() {
		return nil, fmt.Errorf("meeting %s is %s: %w", rec.ID, rec.Status, ErrEnded)
	}
	r := newRoom(m, rec)
	m.rooms[rec.ID] = r
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		r.runSpeakers()
	}()
	return r, nil
}

// roomClosed forgets a room that has closed, and ends the meeting if the
// room closed because it emptied and nothing more is planned for it.
func (m *Manager) roomClosed(r *Room, endMeeting bool) {
	m.mu.Lock()
	if m.rooms[r.id] == r {
		delete(m.rooms, r.id)
	}
	m.mu.Unlock()
	if !endMeeting {
		return
	}
	if _, err := m.meetings.MarkEnded(r.id, m.now()); err != nil && !errors.Is(err, meeting.ErrState) {
		m.log.Error("rtc: end meeting", "meeting", r.id, "err", err)
	}
}

// recordJoin starts p's attendance record. p.attendance is held by the
// caller from before p became visible, so no leave can be recorded first.
func (m *Manager) recordJoin(p *Participant) error {
	defer p.attendance.Unlock()
	rec, err := m.meetings.Get(p.room.id)
	if err != nil {
		return fmt.Errorf("record join: %w", err)
	}
	if rec.Status == meeting.StatusScheduled {
		if _, err := m.meetings.MarkStarted(p.room.id, m.now()); err != nil && !errors.Is(err, meeting.ErrState) {
			return fmt.Errorf("start meeting %s: %w", p.room.id, err)
		}
	}
	id, err := m.meetings.RecordJoin(p.room.id, meeting.Attendee{ID: p.userID, Name: p.name, Guest: p.guest}, m.now())
	switch {
	case errors.Is(err, meeting.ErrBanned):
		return fmt.Errorf("join meeting %s: %w", p.room.id, ErrBanned)
	case errors.Is(err, meeting.ErrState):
		return fmt.Errorf("join meeting %s: %w", p.room.id, ErrEnded)
	case errors.Is(err, meeting.ErrLimit):
		return fmt.Errorf("join meeting %s: %w: %w", p.room.id, ErrLimit, err)
	case err != nil:
		return err
	}
	p.recordID = id
	return nil
}

// recordLeave closes p's attendance record, if it has one.
func (m *Manager) recordLeave(p *Participant, reason string) {
	p.attendance.Lock()
	id := p.recordID
	p.recordID = ""
	p.attendance.Unlock()
	if id == "" {
		return
	}
	if err := m.meetings.RecordLeave(id, m.now(), reason); err != nil {
		m.log.Error("rtc: record leave", "meeting", p.room.id, "participant", p.id, "err", err)
	}
}

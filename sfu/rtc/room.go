package rtc

import (
	"cmp"
	"crypto/subtle"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/pion/webrtc/v3"

	"parley/sfu/media"
	"parley/sfu/meeting"
)

// Room is one meeting in progress on this node. Its lock guards who is in
// it, their roles, states and tracks; media work (PeerConnections,
// forwarding) happens outside it, so a slow peer never holds up the room.
type Room struct {
	mgr *Manager
	id  string
	cfg Config
	log *slog.Logger

	mu           sync.Mutex
	rec          meeting.Meeting            // the record as last applied
	participants map[string]*Participant    // joined and reconnecting, by id
	waiting      []*Participant             // in arrival order
	byUser       map[string]*Participant    // everyone, by member or guest id
	tracks       map[string]*publishedTrack // live tracks, by id
	speakers     speakerState
	recording    recordingState
	closed       bool
	stop         chan struct{} // closed with the room: ends the speaker loop

	recorder recorder // its own lock, taken before mu
}

func newRoom(m *Manager, rec meeting.Meeting) *Room {
	return &Room{
		mgr:          m,
		id:           rec.ID,
		cfg:          m.cfg,
		log:          m.log.With("meeting", rec.ID),
		rec:          rec,
		participants: map[string]*Participant{},
		byUser:       map[string]*Participant{},
		tracks:       map[string]*publishedTrack{},
		speakers:     speakerState{detector: media.NewSpeakerDetector()},
		stop:         make(chan struct{}),
	}
}

// ID is the meeting id.
func (r *Room) ID() string { return r.id }

// roleFor is what who is in the meeting rec.
func roleFor(rec meeting.Meeting, who Identity) Role {
	if who.Guest {
		return RoleGuest
	}
	switch rec.RoleOf(who.ID) {
	case meeting.RoleHost:
		return RoleHost
	case meeting.RoleCoHost:
		return RoleCoHost
	}
	return RoleMember
}

// join admits who, given the meeting's current record. See Manager.Join.
func (r *Room) join(rec meeting.Meeting, who Identity, opts JoinOptions) (*Participant, Snapshot, error) {
	r.mu.Lock()
	if r.closed {
		r.mu.Unlock()
		return nil, Snapshot{}, errRoomClosed
	}
	var after afterUnlock
	r.applyLocked(rec, "", &after)
	if r.closed { // applying a ban emptied it
		r.mu.Unlock()
		after.run()
		return nil, Snapshot{}, errRoomClosed
	}
	role := roleFor(rec, who)
	old := r.byUser[who.ID]
	if err := r.admissibleLocked(rec, who, role, old); err != nil {
		r.mu.Unlock()
		after.run()
		return nil, Snapshot{}, err
	}
	p := newParticipant(r, who, role, opts)
	r.byUser[who.ID] = p
	if rec.Settings.WaitingRoom && !role.IsHost() {
		p.state = StateWaiting
		r.waiting = append(r.waiting, p)
		r.waitingChangedLocked()
	} else {
		r.enterLocked(p)
	}
	if old != nil {
		// After p is in, so the room does not empty and close meanwhile.
		r.removeLocked(old, ReasonReplaced, &Event{Type: EventRemoved, Data: RemovedEvent{Reason: ReasonReplaced}}, &after)
	}
	p.events.reset() // the snapshot supersedes anything queued for p so far
	snap := r.snapshotLocked(p)
	r.mu.Unlock()
	after.run()

	if p.state == StateWaiting {
		return p, snap, nil
	}
	if err := r.start(p); err != nil {
		return nil, Snapshot{}, err
	}
	return p, snap, nil
}

// admissibleLocked applies the join rules. old is who's participant
// already in the room, about to be replaced.
func (r *Room) admissibleLocked(rec meeting.Meeting, who Identity, role Role, old *Participant) error {
	switch {
	case rec.Finished():
		return fmt.Errorf("meeting %s is %s: %w", r.id, rec.Status, ErrEnded)
	case who.Guest && !rec.Settings.AllowGuests:
		return fmt.Errorf("%w: meeting %s does not admit guests", ErrForbidden, r.id)
	case slices.Contains(rec.Banned, who.ID):
		return fmt.Errorf("meeting %s: %w", r.id, ErrBanned)
	case rec.Settings.Locked && !role.IsHost():
		return fmt.Errorf("meeting %s: %w", r.id, ErrLocked)
	}
	if rec.Settings.WaitingRoom && !role.IsHost() {
		n := len(r.waiting)
		if old != nil && old.state == StateWaiting {
			n--
		}
		if n >= r.cfg.MaxWaiting {
			return fmt.Errorf("%w: the waiting room of meeting %s is full (%d)", ErrLimit, r.id, r.cfg.MaxWaiting)
		}
		return nil
	}
	return r.hasRoomLocked(old)
}

// hasRoomLocked checks the meeting's capacity for one more participant,
// not counting old, who is about to leave.
func (r *Room) hasRoomLocked(old *Participant) error {
	n := len(r.participants)
	if old != nil && r.participants[old.id] == old {
		n--
	}
	if max := r.rec.Settings.MaxParticipants; n >= max {
		return fmt.Errorf("%w: meeting %s is full (%d participants)", ErrLimit, r.id, max)
	}
	return nil
}

// enterLocked makes p a joined participant and tells the others. Its
// attendance lock stays held until start records the join, so no leave
// is recorded before it.
func (r *Room) enterLocked(p *Participant) {
	p.state = StateJoined
	p.joinedAt = r.mgr.now().UTC()
	p.attendance.Lock()
	if r.rec.Settings.MuteOnEntry && !p.role.IsHost() {
		p.muted[SourceMicrophone] = true
	}
	r.participants[p.id] = p
	r.broadcastLocked(Event{Type: EventParticipantJoined, Data: p.infoLocked()}, p)
}

// start finishes a join outside the room's lock: the attendance record,
// the PeerConnections and the automatic subscriptions. On failure the
// participant leaves again.
func (r *Room) start(p *Participant) error {
	if err := r.mgr.recordJoin(p); err != nil {
		r.leave(p, ReasonLeft, nil)
		return err
	}
	if err := p.openMedia(); err != nil {
		r.leave(p, ReasonLeft, nil)
		return fmt.Errorf("join meeting %s: %w", r.id, err)
	}
	if p.autoSubscribe {
		r.mu.Lock()
		tracks := r.liveTracksLocked(p)
		r.mu.Unlock()
		for _, t := range tracks {
			if err := p.subscribe(t, Preferences{}); err != nil {
				r.log.Debug("rtc: automatic subscription skipped", "participant", p.id, "track", t.id, "err", err)
			}
		}
	}
	return nil
}

// liveTracksLocked lists the tracks p may subscribe to: everyone's but
// its own, those whose media has arrived.
func (r *Room) liveTracksLocked(p *Participant) []*publishedTrack {
	var out []*publishedTrack
	for _, t := range r.tracks {
		if t.owner != p {
			out = append(out, t)
		}
	}
	return out
}

// resume gives p back to a client. See Manager.Resume.
func (r *Room) resume(participantID, token string, who Identity) (*Participant, Snapshot, error) {
	r.mu.Lock()
	p := r.participants[participantID]
	// A member must be the same member. A guest's token expires within
	// minutes and a new one carries a new guest id, so for a guest the
	// resume token alone says who it is.
	if p == nil || subtle.ConstantTimeCompare([]byte(token), []byte(p.resumeToken)) != 1 ||
		p.guest != who.Guest || (!p.guest && p.userID != who.ID) {
		r.mu.Unlock()
		return nil, Snapshot{}, fmt.Errorf("%w: no participant %s with that token in meeting %s", ErrResume, participantID, r.id)
	}
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
	p.sink = nil
	p.events.reset()
	if p.state == StateReconnecting {
		p.state = StateJoined
		r.broadcastLocked(Event{Type: EventParticipantUpdated, Data: p.infoLocked()}, p)
	}
	snap := r.snapshotLocked(p)
	r.mu.Unlock()
	p.restartSubscriberICE()
	r.recordResume(p)
	return p, snap, nil
}

// lost handles p's connection going away (sink, if it is still p's):
// a waiting participant leaves at once; a joined one reconnects, keeping
// its place and its tracks for the grace period.
func (r *Room) lost(p *Participant, sink Sink) {
	r.mu.Lock()
	if p.sink != sink || sink == nil {
		r.mu.Unlock()
		return // a newer connection has it
	}
	p.sink = nil
	switch p.state {
	case StateWaiting:
		var after afterUnlock
		r.removeLocked(p, ReasonDisconnected, nil, &after)
		r.mu.Unlock()
		after.run()
		return
	case StateJoined:
		p.state = StateReconnecting
		p.grace = time.AfterFunc(r.cfg.ReconnectGrace, func() { r.graceExpired(p) })
		r.broadcastLocked(Event{Type: EventParticipantUpdated, Data: p.infoLocked()}, p)
	}
	r.mu.Unlock()
}

func (r *Room) graceExpired(p *Participant) {
	r.mu.Lock()
	if p.state != StateReconnecting {
		r.mu.Unlock()
		return
	}
	var after afterUnlock
	r.removeLocked(p, ReasonDisconnected, nil, &after)
	r.mu.Unlock()
	after.run()
}

// leave takes p out of the room with reason, telling it notice first when
// set.
func (r *Room) leave(p *Participant, reason string, notice *Event) {
	var after afterUnlock
	r.mu.Lock()
	r.removeLocked(p, reason, notice, &after)
	r.mu.Unlock()
	after.run()
}

// removeLocked takes p out of the room: the others hear it left (or the
// hosts that the waiting room changed), its tracks stop, and, after the
// lock, its connections close and its attendance record ends. When the
// room is left empty it closes.
func (r *Room) removeLocked(p *Participant, reason string, notice *Event, after *afterUnlock) {
	if p.state == stateLeft {
		return
	}
	wasWaiting := p.state == StateWaiting
	p.state = stateLeft
	close(p.left)
	if p.grace != nil {
		p.grace.Stop()
		p.grace = nil
	}
	if r.byUser[p.userID] == p {
		delete(r.byUser, p.userID)
	}
	if notice != nil {
		p.events.push(*notice)
	}
	p.events.close()
	p.sink = nil
	if wasWaiting {
		r.waiting = slices.DeleteFunc(r.waiting, func(w *Participant) bool { return w == p })
		r.waitingChangedLocked()
	} else {
		delete(r.participants, p.id)
		for _, t := range p.tracks {
			r.dropTrackLocked(t, "", after) // participant_left covers them
		}
		r.broadcastLocked(Event{Type: EventParticipantLeft, Data: LeftEvent{ParticipantID: p.id, Reason: reason}}, p)
		after.add(func() { r.mgr.recordLeave(p, reason) })
		after.add(func() { r.recordLeave(p) })
	}
	after.add(p.closeMedia)
	if len(r.participants) == 0 && len(r.waiting) == 0 {
		r.closeLocked(reason != ReasonShutdown && reason != ReasonEnded, after)
	}
}

// closeLocked closes the emptied room. endMeeting ends the meeting too,
// when nothing more is planned for it: an instant meeting, or a
// scheduled one past its end.
func (r *Room) closeLocked(endMeeting bool, after *afterUnlock) {
	if r.closed {
		return
	}
	r.closed = true
	close(r.stop)
	after.add(func() { r.stopRecordingFor(RecordingReasonClosed) })
	end := r.rec.ScheduledEnd
	endMeeting = endMeeting && (end.IsZero() || r.mgr.now().After(end))
	after.add(func() { r.mgr.roomClosed(r, endMeeting) })
}

// shutdown ends the room for everyone without ending the meeting.
func (r *Room) shutdown() {
	var after afterUnlock
	r.mu.Lock()
	notice := Event{Type: EventEnded, Data: EndedEvent{Reason: ReasonShutdown}}
	for _, p := range r.everyoneLocked() {
		r.removeLocked(p, ReasonShutdown, &notice, &after)
	}
	r.closeLocked(false, &after)
	r.mu.Unlock()
	after.run()
}

// everyoneLocked is every participant, waiting ones included.
func (r *Room) everyoneLocked() []*Participant {
	out := make([]*Participant, 0, len(r.participants)+len(r.waiting))
	for _, p := range r.participants {
		out = append(out, p)
	}
	return append(out, r.waiting...)
}

// broadcastLocked queues e for every joined participant but except.
// Reconnecting ones get a snapshot when they resume instead.
func (r *Room) broadcastLocked(e Event, except *Participant) {
	for _, p := range r.participants {
		if p != except && p.state == StateJoined {
			p.events.push(e)
		}
	}
}

// toHostsLocked queues e for the joined hosts and co-hosts.
func (r *Room) toHostsLocked(e Event) {
	for _, p := range r.participants {
		if p.state == StateJoined && p.role.IsHost() {
			p.events.push(e)
		}
	}
}

func (r *Room) waitingChangedLocked() {
	r.toHostsLocked(Event{Type: EventWaitingRoom, Data: WaitingRoomEvent{Waiting: r.waitingInfosLocked()}})
}

func (r *Room) waitingInfosLocked() []ParticipantInfo {
	out := make([]ParticipantInfo, 0, len(r.waiting))
	for _, w := range r.waiting {
		out = append(out, w.infoLocked())
	}
	return out
}

// snapshotLocked is the room as p sees it. A waiting participant sees
// only itself and the settings.
func (r *Room) snapshotLocked(p *Participant) Snapshot {
	s := Snapshot{
		MeetingID:     r.id,
		Title:         r.rec.Title,
		Self:          p.infoLocked(),
		ResumeToken:   p.resumeToken,
		Participants:  []ParticipantInfo{},
		Settings:      r.rec.Settings,
		Subscriptions: []string{},
		ICEServers:    r.mgr.media.transport.ICEServers(),

		RecordingAvailable: r.mgr.media.recordingDir != "",
	}
	if s.ICEServers == nil {
		s.ICEServers = []webrtc.ICEServer{}
	}
	if p.state == StateWaiting {
		return s
	}
	for _, o := range r.participants {
		if o != p {
			s.Participants = append(s.Participants, o.infoLocked())
		}
	}
	slices.SortFunc(s.Participants, func(a, b ParticipantInfo) int {
		return cmp.Or(a.JoinedAt.Compare(b.JoinedAt), cmp.Compare(a.ID, b.ID))
	})
	if p.role.IsHost() {
		s.Waiting = r.waitingInfosLocked()
	}
	if info := r.recording.info; info != nil {
		copied := *info
		s.Recording = &copied
	}
	s.Subscriptions = p.subscriptionIDs()
	return s
}

// Participants lists everyone joined or reconnecting, in joining order.
func (r *Room) Participants() []ParticipantInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	out := make([]ParticipantInfo, 0, len(r.participants))
	for _, p := range r.participants {
		out = append(out, p.infoLocked())
	}
	slices.SortFunc(out, func(a, b ParticipantInfo) int {
		return cmp.Or(a.JoinedAt.Compare(b.JoinedAt), cmp.Compare(a.ID, b.ID))
	})
	return out
}

// Waiting lists the waiting room, in arrival order.
func (r *Room) Waiting() []ParticipantInfo {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.waitingInfosLocked()
}

// Settings are the meeting's settings as the room last applied them.
func (r *Room) Settings() meeting.Settings {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rec.Settings
}

// afterUnlock collects the work a locked section leaves for after the
// lock: media teardown and storage writes, which must not run under it.
type afterUnlock []func()

func (a *afterUnlock) add(f func()) { *a = append(*a, f) }

func (a afterUnlock) run() {
	for _, f := range a {
		f()
	}
}

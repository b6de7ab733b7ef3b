package rtc

import (
	"crypto/rand"
	"encoding/base64"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"
)

// Participant is one person in a room: a member or a guest, joined,
// waiting or reconnecting. It is safe for concurrent use.
type Participant struct {
	room          *Room
	id            string
	userID        string
	name          string
	guest         bool
	resumeToken   string
	autoSubscribe bool
	events        *eventQueue
	left          chan struct{} // closed when the participant leaves

	// attendance guards recordID: a join's record is written before any
	// leave can be.
	attendance sync.Mutex
	recordID   string

	// Guarded by room.mu.
	role          Role
	state         State
	joinedAt      time.Time
	sink          Sink
	grace         *time.Timer
	tracks        map[string]*publishedTrack // live, by track id
	declared      map[string]*publishedTrack // by mid, declared and not unpublished
	usedMids      map[string]bool            // every mid ever declared
	muted         map[Source]bool
	unmuteBlocked map[Source]bool // a host muted it and did not allow unmuting

	media participantMedia
}

func newParticipant(r *Room, who Identity, role Role, opts JoinOptions) *Participant {
	p := &Participant{
		room:          r,
		id:            "p_" + randomID(9),
		userID:        who.ID,
		name:          who.Name,
		guest:         who.Guest,
		resumeToken:   randomID(18),
		autoSubscribe: opts.AutoSubscribe,
		left:          make(chan struct{}),
		role:          role,
		tracks:        map[string]*publishedTrack{},
		declared:      map[string]*publishedTrack{},
		usedMids:      map[string]bool{},
		muted:         map[Source]bool{},
		unmuteBlocked: map[Source]bool{},
	}
	p.events = newEventQueue(r.cfg.EventQueue, &r.mgr.eventOverflows, func(s Sink) { r.lost(p, s) })
	p.media.init(p)
	return p
}

// randomID is n random bytes, base64url: 9 bytes make 12 characters.
func randomID(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b) // crypto/rand.Read never fails on supported platforms
	return base64.RawURLEncoding.EncodeToString(b)
}

// checkName trims a display name and checks it: valid UTF-8, no control
// characters, 1 to MaxNameRunes runes.
func checkName(name string) (string, error) {
	name = strings.TrimSpace(name)
	n := utf8.RuneCountInString(name)
	if !utf8.ValidString(name) || n == 0 || n > MaxNameRunes {
		return "", fmt.Errorf("%w: name: must have 1 to %d characters of valid UTF-8", ErrInvalid, MaxNameRunes)
	}
	for _, c := range name {
		if unicode.IsControl(c) {
			return "", fmt.Errorf("%w: name: contains a control character", ErrInvalid)
		}
	}
	return name, nil
}

// ID is the participant's id, unique in its room.
func (p *Participant) ID() string { return p.id }

// UserID is the member id, or the guest id of a guest.
func (p *Participant) UserID() string { return p.userID }

// Guest reports whether the participant joined with a guest token.
func (p *Participant) Guest() bool { return p.guest }

// Room is the room the participant is in.
func (p *Participant) Room() *Room { return p.room }

// Left is closed when the participant has left the room, for whatever
// reason. Its last events (a removal notice) may still be on their way.
func (p *Participant) Left() <-chan struct{} { return p.left }

// Role is the participant's role now.
func (p *Participant) Role() Role {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.role
}

// State is the participant's state now.
func (p *Participant) State() State {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.state
}

// Info is the participant as the others see it.
func (p *Participant) Info() ParticipantInfo {
	p.room.mu.Lock()
	defer p.room.mu.Unlock()
	return p.infoLocked()
}

func (p *Participant) infoLocked() ParticipantInfo {
	info := ParticipantInfo{
		ID:       p.id,
		UserID:   p.userID,
		Name:     p.name,
		Role:     p.role,
		State:    p.state,
		JoinedAt: p.joinedAt,
		Tracks:   make([]TrackInfo, 0, len(p.tracks)),
		Muted:    make([]Source, 0, len(p.muted)),
	}
	for _, t := range p.tracks {
		info.Tracks = append(info.Tracks, t.info)
	}
	slices.SortFunc(info.Tracks, func(a, b TrackInfo) int { return strings.Compare(a.ID, b.ID) })
	for s, m := range p.muted {
		if m {
			info.Muted = append(info.Muted, s)
		}
	}
	slices.Sort(info.Muted)
	return info
}

// Attach starts delivering the participant's events to sink: first those
// queued since it joined or resumed, then each as it happens. Send the
// snapshot from Join or Resume before attaching, so the client has it
// before any event.
func (p *Participant) Attach(sink Sink) {
	p.room.mu.Lock()
	if p.state == stateLeft {
		p.room.mu.Unlock()
		p.events.attach(sink) // deliver a final notice, if any
		return
	}
	p.sink = sink
	p.room.mu.Unlock()
	p.events.attach(sink)
}

// Disconnect tells the room that sink's connection is gone. If sink is
// still the participant's, a joined participant starts reconnecting (its
// place and tracks kept for the grace period) and a waiting one leaves.
func (p *Participant) Disconnect(sink Sink) {
	p.events.detach(sink)
	p.room.lost(p, sink)
}

// Leave takes the participant out of the room.
func (p *Participant) Leave() {
	p.room.leave(p, ReasonLeft, nil)
}

// SetMuted mutes or unmutes one of the participant's sources, published
// or not. Forwarding of a muted track stops at once. Unmuting is refused
// with ErrForbidden when a host muted the source without allowing it.
func (p *Participant) SetMuted(src Source, muted bool) error {
	if src.Kind() == "" {
		return fmt.Errorf("%w: unknown source %q", ErrInvalid, src)
	}
	r := p.room
	r.mu.Lock()
	defer r.mu.Unlock()
	if p.state != StateJoined {
		return fmt.Errorf("%w: %s participants cannot mute", ErrState, p.state)
	}
	if !muted && p.unmuteBlocked[src] {
		return fmt.Errorf("%w: a host muted your %s and has not allowed unmuting", ErrForbidden, src)
	}
	r.setMutedLocked(p, src, muted, "", true)
	return nil
}

// setMutedLocked records p's mute state for src, applies it to the
// published track if there is one, and tells everyone. by is the host's
// participant id, or empty when p did it.
func (r *Room) setMutedLocked(p *Participant, src Source, muted bool, by string, allowUnmute bool) {
	if muted {
		p.muted[src] = true
	} else {
		delete(p.muted, src)
	}
	if by != "" && muted && !allowUnmute {
		p.unmuteBlocked[src] = true
	} else {
		delete(p.unmuteBlocked, src)
	}
	for _, t := range p.tracks {
		if t.info.Source == src {
			t.info.Muted = muted
			t.setMuted(muted)
			r.speakerTrackLocked(t)
		}
	}
	r.broadcastLocked(Event{Type: EventMuted, Data: MuteEvent{
		ParticipantID: p.id, Source: src, Muted: muted, By: by, AllowUnmute: !p.unmuteBlocked[src],
	}}, nil)
}

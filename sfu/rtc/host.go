package rtc

import (
	"errors"
	"fmt"
	"slices"

	"parley/sfu/meeting"
)

// Host controls. Each takes the participant who acts and is refused with
// ErrForbidden unless the actor is joined and a host or co-host (the host
// alone for End, SetCoHost and TransferHost). An action on another
// participant also needs a role above theirs: the host acts on anyone,
// a co-host on members and guests. The signaling layer writes each
// successful action to the audit log.

// authorizeLocked checks that actor may use host controls; hostOnly
// reserves the action to the host.
func (r *Room) authorizeLocked(actor *Participant, hostOnly bool) error {
	switch {
	case r.closed:
		return fmt.Errorf("meeting %s: %w", r.id, ErrEnded)
	case actor.room != r || actor.state != StateJoined:
		return fmt.Errorf("%w: only joined participants use host controls", ErrState)
	case hostOnly && actor.role != RoleHost:
		return fmt.Errorf("%w: only the host may do this", ErrForbidden)
	case !actor.role.IsHost():
		return fmt.Errorf("%w: only the host and co-hosts may do this", ErrForbidden)
	}
	return nil
}

// targetLocked finds the participant an action names, joined,
// reconnecting or waiting, and checks the actor outranks it.
func (r *Room) targetLocked(actor *Participant, targetID string) (*Participant, error) {
	t := r.participants[targetID]
	if t == nil {
		for _, w := range r.waiting {
			if w.id == targetID {
				t = w
			}
		}
	}
	switch {
	case t == nil:
		return nil, fmt.Errorf("%w: participant %s is not in meeting %s", ErrNotFound, targetID, r.id)
	case t == actor:
		return nil, fmt.Errorf("%w: a host control cannot target yourself", ErrInvalid)
	case t.role.rank() >= actor.role.rank():
		return nil, fmt.Errorf("%w: %s cannot act on %s %s", ErrForbidden, actor.role, t.role, t.id)
	}
	return t, nil
}

// Mute mutes a participant's source. With allowUnmute false the
// participant cannot unmute it until a host mutes it again with
// allowUnmute true.
func (r *Room) Mute(actor *Participant, targetID string, src Source, allowUnmute bool) (ParticipantInfo, error) {
	if src.Kind() == "" {
		return ParticipantInfo{}, fmt.Errorf("%w: unknown source %q", ErrInvalid, src)
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.authorizeLocked(actor, false); err != nil {
		return ParticipantInfo{}, err
	}
	t, err := r.targetLocked(actor, targetID)
	if err != nil {
		return ParticipantInfo{}, err
	}
	if t.state == StateWaiting {
		return ParticipantInfo{}, fmt.Errorf("%w: %s is in the waiting room", ErrState, t.id)
	}
	r.setMutedLocked(t, src, true, actor.id, allowUnmute)
	return t.infoLocked(), nil
}

// MuteAll mutes the microphone of everyone but the hosts and co-hosts.
// It returns how many participants it muted.
func (r *Room) MuteAll(actor *Participant, allowUnmute bool) (int, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err := r.authorizeLocked(actor, false); err != nil {
		return 0, err
	}
	n := 0
	for _, p := range r.participants {
		if !p.role.IsHost() {
			r.setMutedLocked(p, SourceMicrophone, true, actor.id, allowUnmute)
			n++
		}
	}
	return n, nil
}

// Remove takes a participant out of the meeting; with ban it may not
// join again (a guest's ban holds for its guest id).
func (r *Room) Remove(actor *Participant, targetID string, ban bool) (ParticipantInfo, error) {
	r.mu.Lock()
	if err := r.authorizeLocked(actor, false); err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	t, err := r.targetLocked(actor, targetID)
	if err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	info := t.infoLocked()
	if !ban {
		var after afterUnlock
		r.removeLocked(t, ReasonRemoved, &Event{Type: EventRemoved, Data: RemovedEvent{By: actor.id, Reason: ReasonRemoved}}, &after)
		r.mu.Unlock()
		after.run()
		return info, nil
	}
	r.mu.Unlock()
	rec, err := r.mgr.meetings.Ban(r.id, t.userID)
	if err != nil {
		return ParticipantInfo{}, fmt.Errorf("ban %s: %w", t.id, storeErr(err))
	}
	r.apply(rec, actor.id) // removes everyone banned
	return info, nil
}

// SetLocked locks or unlocks the meeting: locked, only the host and
// co-hosts may join.
func (r *Room) SetLocked(actor *Participant, locked bool) (meeting.Settings, error) {
	return r.changeSettings(actor, meeting.SettingsPatch{Locked: &locked})
}

// SetScreenShare allows or forbids screen sharing to everyone but the
// host and co-hosts. Forbidding stops the screen shares in progress.
func (r *Room) SetScreenShare(actor *Participant, allowed bool) (meeting.Settings, error) {
	return r.changeSettings(actor, meeting.SettingsPatch{AllowScreenShare: &allowed})
}

// SetWaitingRoom turns the waiting room on or off for later arrivals.
// Turning it off does not admit those already waiting.
func (r *Room) SetWaitingRoom(actor *Participant, on bool) (meeting.Settings, error) {
	return r.changeSettings(actor, meeting.SettingsPatch{WaitingRoom: &on})
}

func (r *Room) changeSettings(actor *Participant, patch meeting.SettingsPatch) (meeting.Settings, error) {
	r.mu.Lock()
	err := r.authorizeLocked(actor, false)
	r.mu.Unlock()
	if err != nil {
		return meeting.Settings{}, err
	}
	rec, err := r.mgr.meetings.Update(r.id, meeting.Patch{Settings: &patch})
	if err != nil {
		return meeting.Settings{}, fmt.Errorf("change settings of meeting %s: %w", r.id, storeErr(err))
	}
	r.apply(rec, actor.id)
	return rec.Settings, nil
}

// Admit lets a participant in from the waiting room, if the meeting has
// room for it.
func (r *Room) Admit(actor *Participant, targetID string) (ParticipantInfo, error) {
	r.mu.Lock()
	if err := r.authorizeLocked(actor, false); err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	t, err := r.targetLocked(actor, targetID)
	if err == nil && t.state != StateWaiting {
		err = fmt.Errorf("%w: %s is not waiting", ErrState, targetID)
	}
	if err == nil {
		err = r.hasRoomLocked(nil)
	}
	if err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	r.waiting = slices.DeleteFunc(r.waiting, func(w *Participant) bool { return w == t })
	r.enterLocked(t)
	r.waitingChangedLocked()
	t.events.push(Event{Type: EventAdmitted, Data: r.snapshotLocked(t)})
	info := t.infoLocked()
	r.mu.Unlock()
	if err := r.start(t); err != nil {
		return ParticipantInfo{}, err
	}
	return info, nil
}

// Deny turns a participant away from the waiting room.
func (r *Room) Deny(actor *Participant, targetID string) (ParticipantInfo, error) {
	r.mu.Lock()
	if err := r.authorizeLocked(actor, false); err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	t, err := r.targetLocked(actor, targetID)
	if err == nil && t.state != StateWaiting {
		err = fmt.Errorf("%w: %s is not waiting", ErrState, targetID)
	}
	if err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	info := t.infoLocked()
	var after afterUnlock
	r.removeLocked(t, ReasonDenied, &Event{Type: EventDenied, Data: ByEvent{By: actor.id}}, &after)
	r.mu.Unlock()
	after.run()
	return info, nil
}

// SetCoHost makes a member participant a co-host, or takes the role
// back. Guests cannot be co-hosts.
func (r *Room) SetCoHost(actor *Participant, targetID string, cohost bool) (ParticipantInfo, error) {
	r.mu.Lock()
	if err := r.authorizeLocked(actor, true); err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	t, err := r.targetLocked(actor, targetID)
	if err == nil && t.guest {
		err = fmt.Errorf("%w: a guest cannot be a co-host", ErrInvalid)
	}
	if err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	cohosts := slices.DeleteFunc(slices.Clone(r.rec.CoHosts), func(c string) bool { return c == t.userID })
	if cohost {
		cohosts = append(cohosts, t.userID)
	}
	r.mu.Unlock()
	rec, err := r.mgr.meetings.SetCoHosts(r.id, cohosts)
	if err != nil {
		return ParticipantInfo{}, fmt.Errorf("set co-hosts of meeting %s: %w", r.id, storeErr(err))
	}
	r.apply(rec, actor.id)
	return t.Info(), nil
}

// TransferHost makes a member participant the host; the actor becomes a
// member. Guests cannot host.
func (r *Room) TransferHost(actor *Participant, targetID string) (ParticipantInfo, error) {
	r.mu.Lock()
	if err := r.authorizeLocked(actor, true); err != nil {
		r.mu.Unlock()
		return ParticipantInfo{}, err
	}
	t, err := r.targetLocked(actor, targetID)
	switch {
	case err != nil:
	case t.guest:
		err = fmt.Errorf("%w: a guest cannot be the host", ErrInvalid)
	case t.state == StateWaiting:
		err = fmt.Errorf("%w: admit %s before making them host", ErrState, t.id)
	}
	r.mu.Unlock()
	if err != nil {
		return ParticipantInfo{}, err
	}
	rec, err := r.mgr.meetings.TransferHost(r.id, t.userID)
	if err != nil {
		return ParticipantInfo{}, fmt.Errorf("transfer meeting %s: %w", r.id, storeErr(err))
	}
	r.apply(rec, actor.id)
	return t.Info(), nil
}

// End ends the meeting for everyone.
func (r *Room) End(actor *Participant) error {
	r.mu.Lock()
	err := r.authorizeLocked(actor, true)
	r.mu.Unlock()
	if err != nil {
		return err
	}
	if _, err := r.mgr.meetings.MarkEnded(r.id, r.mgr.now()); err != nil {
		return fmt.Errorf("end meeting %s: %w", r.id, storeErr(err))
	}
	var after afterUnlock
	r.mu.Lock()
	notice := Event{Type: EventEnded, Data: EndedEvent{By: actor.id, Reason: ReasonEnded}}
	for _, p := range r.everyoneLocked() {
		r.removeLocked(p, ReasonEnded, &notice, &after)
	}
	r.closeLocked(false, &after)
	r.mu.Unlock()
	after.run()
	return nil
}

// apply brings the room in line with the meeting's record: new settings
// are announced (and a screen share no longer allowed stops), changed
// roles are announced, and banned participants are removed. by is the
// participant id of the host whose action changed the record, if any.
func (r *Room) apply(rec meeting.Meeting, by string) {
	var after afterUnlock
	r.mu.Lock()
	if !r.closed {
		r.applyLocked(rec, by, &after)
	}
	r.mu.Unlock()
	after.run()
}

func (r *Room) applyLocked(rec meeting.Meeting, by string, after *afterUnlock) {
	old := r.rec
	r.rec = rec
	if rec.Settings != old.Settings {
		r.broadcastLocked(settingsEvent(rec.Settings), nil)
	}
	for _, p := range r.everyoneLocked() {
		if slices.Contains(rec.Banned, p.userID) {
			r.removeLocked(p, ReasonRemoved, &Event{Type: EventRemoved, Data: RemovedEvent{By: by, Reason: ReasonRemoved, Banned: true}}, after)
			continue
		}
		role := roleFor(rec, Identity{ID: p.userID, Guest: p.guest})
		if role == p.role {
			continue
		}
		wasHost := p.role.IsHost()
		p.role = role
		if p.state == StateWaiting {
			continue
		}
		r.broadcastLocked(Event{Type: EventParticipantUpdated, Data: p.infoLocked()}, nil)
		if role.IsHost() && !wasHost && p.state == StateJoined {
			p.events.push(Event{Type: EventWaitingRoom, Data: WaitingRoomEvent{Waiting: r.waitingInfosLocked()}})
		}
	}
	if rec.Settings.AutoRecord && !old.Settings.AutoRecord && r.autoRecordLocked() {
		after.add(r.autoRecord)
	}
	if !rec.Settings.AllowScreenShare {
		for _, t := range r.tracks {
			if t.info.Source.IsScreenShare() && !t.owner.role.IsHost() {
				r.dropTrackLocked(t, ReasonScreenBlocked, after)
			}
		}
	}
}

// storeErr maps the meeting store's errors to this package's.
func storeErr(err error) error {
	switch {
	case errors.Is(err, meeting.ErrNotFound):
		return fmt.Errorf("%w: %w", ErrNotFound, err)
	case errors.Is(err, meeting.ErrState):
		return fmt.Errorf("%w: %w", ErrEnded, err)
	case errors.Is(err, meeting.ErrLimit):
		return fmt.Errorf("%w: %w", ErrLimit, err)
	case errors.Is(err, meeting.ErrInvalid):
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return err
}

package rtc_test

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"parley/sfu/meeting"
	"parley/sfu/rtc"
)

func TestJoinLeaveRecordsAttendanceAndEndsInstantMeeting(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})

	alice := e.join(t, m.ID, "alice", false)
	if alice.snap.Self.Role != rtc.RoleHost || alice.snap.Self.State != rtc.StateJoined || alice.snap.ResumeToken == "" {
		t.Fatalf("host snapshot: %+v", alice.snap)
	}
	rec, _ := e.meetings.Get(m.ID)
	if rec.Status != meeting.StatusActive {
		t.Fatalf("meeting status after the first join = %s, want active", rec.Status)
	}

	bob := e.join(t, m.ID, "bob", false)
	if bob.snap.Self.Role != rtc.RoleMember || len(bob.snap.Participants) != 1 || bob.snap.Participants[0].ID != alice.p.ID() {
		t.Fatalf("bob's snapshot: %+v", bob.snap)
	}
	joined := alice.ev.waitFor(t, rtc.EventParticipantJoined).Data.(rtc.ParticipantInfo)
	if joined.ID != bob.p.ID() || joined.UserID != "bob" || joined.Name != "Name of bob" {
		t.Fatalf("participant_joined: %+v", joined)
	}

	bob.p.Leave()
	left := alice.ev.waitFor(t, rtc.EventParticipantLeft).Data.(rtc.LeftEvent)
	if left.ParticipantID != bob.p.ID() || left.Reason != rtc.ReasonLeft {
		t.Fatalf("participant_left: %+v", left)
	}
	select {
	case <-bob.p.Left():
	default:
		t.Fatal("Left not closed after Leave")
	}
	alice.p.Leave()
	if n := e.rooms.RoomCount(); n != 0 {
		t.Fatalf("%d rooms open after everyone left", n)
	}
	rec, _ = e.meetings.Get(m.ID)
	if rec.Status != meeting.StatusEnded {
		t.Fatalf("instant meeting status after everyone left = %s, want ended", rec.Status)
	}
	att, err := e.meetings.Attendance(m.ID)
	if err != nil {
		t.Fatal(err)
	}
	if len(att) != 2 {
		t.Fatalf("attendance has %d records, want 2: %+v", len(att), att)
	}
	for _, r := range att {
		if r.Open() || r.LeaveReason != rtc.ReasonLeft {
			t.Fatalf("record not closed as left: %+v", r)
		}
	}
	if _, err := e.tryJoin(m.ID, "carol", false); err == nil {
		t.Fatal("joined an ended meeting")
	} else {
		wantErr(t, err, rtc.ErrEnded)
	}
}

func TestAdmissionRules(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{MaxParticipants: intp(3)})
	alice := e.join(t, m.ID, "alice", false)

	_, err := e.tryJoin("no-such-meeting", "bob", false)
	wantErr(t, err, rtc.ErrNotFound)

	_, err = e.tryJoin(m.ID, "guest:1", true)
	wantErr(t, err, rtc.ErrForbidden) // guests not allowed

	if _, err := e.meetings.Ban(m.ID, "mallory"); err != nil {
		t.Fatal(err)
	}
	_, err = e.tryJoin(m.ID, "mallory", false)
	wantErr(t, err, rtc.ErrBanned)

	if _, err := alice.p.Room().SetLocked(alice.p, true); err != nil {
		t.Fatal(err)
	}
	_, err = e.tryJoin(m.ID, "bob", false)
	wantErr(t, err, rtc.ErrLocked)
	if _, err := alice.p.Room().SetLocked(alice.p, false); err != nil {
		t.Fatal(err)
	}

	if _, err := e.meetings.Update(m.ID, meeting.Patch{Settings: &meeting.SettingsPatch{AllowGuests: boolp(true)}}); err != nil {
		t.Fatal(err)
	}
	guest := e.join(t, m.ID, "guest:1", true)
	if guest.snap.Self.Role != rtc.RoleGuest {
		t.Fatalf("guest role %s", guest.snap.Self.Role)
	}
	e.join(t, m.ID, "bob", false)
	_, err = e.tryJoin(m.ID, "carol", false)
	wantErr(t, err, rtc.ErrLimit) // 3 participants at most

	_, err = e.tryJoin(m.ID, "dave", false)
	wantErr(t, err, rtc.ErrLimit)
	if _, _, err := e.rooms.Join(m.ID, rtc.Identity{ID: "erin", Name: " \x00 "}, rtc.JoinOptions{}); err == nil {
		t.Fatal("joined with a control character for a name")
	} else {
		wantErr(t, err, rtc.ErrInvalid)
	}
}

func TestLockedMeetingAdmitsHostsOnly(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{Locked: boolp(true)})
	if _, err := e.meetings.SetCoHosts(m.ID, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	_, err := e.tryJoin(m.ID, "bob", false)
	wantErr(t, err, rtc.ErrLocked)
	carol := e.join(t, m.ID, "carol", false)
	if carol.snap.Self.Role != rtc.RoleCoHost {
		t.Fatalf("co-host joined as %s", carol.snap.Self.Role)
	}
}

func TestJoiningAgainReplacesTheEarlierParticipant(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	// Alone in the room, alice moves to another device: the room stays.
	e.join(t, m.ID, "alice", false)
	alice := e.join(t, m.ID, "alice", false)
	if rec, _ := e.meetings.Get(m.ID); rec.Status != meeting.StatusActive || e.rooms.Room(m.ID) == nil {
		t.Fatalf("replacing the only participant closed the room (meeting %s)", rec.Status)
	}
	first := e.join(t, m.ID, "bob", false)
	second := e.join(t, m.ID, "bob", false)

	removed := first.ev.waitFor(t, rtc.EventRemoved).Data.(rtc.RemovedEvent)
	if removed.Reason != rtc.ReasonReplaced {
		t.Fatalf("removed reason %q", removed.Reason)
	}
	left := alice.ev.waitFor(t, rtc.EventParticipantLeft).Data.(rtc.LeftEvent)
	if left.ParticipantID != first.p.ID() || left.Reason != rtc.ReasonReplaced {
		t.Fatalf("participant_left %+v", left)
	}
	ps := alice.p.Room().Participants()
	if len(ps) != 2 || !slices.ContainsFunc(ps, func(p rtc.ParticipantInfo) bool { return p.ID == second.p.ID() }) {
		t.Fatalf("participants after the rejoin: %+v", ps)
	}
}

func TestWaitingRoomAdmitAndDeny(t *testing.T) {
	e := newEnv(t, func(c *rtc.Config) { c.MaxWaiting = 2 })
	m := e.meeting(t, "alice", meeting.SettingsPatch{WaitingRoom: boolp(true)})
	alice := e.join(t, m.ID, "alice", false)
	if alice.snap.Self.State != rtc.StateJoined {
		t.Fatal("the host waited")
	}

	bob := e.join(t, m.ID, "bob", false)
	if bob.snap.Self.State != rtc.StateWaiting || len(bob.snap.Participants) != 0 {
		t.Fatalf("waiting snapshot shows the room: %+v", bob.snap)
	}
	w := alice.ev.waitFor(t, rtc.EventWaitingRoom).Data.(rtc.WaitingRoomEvent)
	if len(w.Waiting) != 1 || w.Waiting[0].ID != bob.p.ID() {
		t.Fatalf("waiting room event %+v", w)
	}
	carol := e.join(t, m.ID, "carol", false)
	_, err := e.tryJoin(m.ID, "dave", false)
	wantErr(t, err, rtc.ErrLimit) // waiting room full

	// A member cannot admit; nor can anyone publish from the waiting room.
	_, err = alice.p.Room().Admit(bob.p, carol.p.ID())
	wantErr(t, err, rtc.ErrState)
	wantErr(t, bob.p.Subscribe("t_x", rtc.Preferences{}), rtc.ErrState)

	if _, err := alice.p.Room().Admit(alice.p, bob.p.ID()); err != nil {
		t.Fatal(err)
	}
	snap := bob.ev.waitFor(t, rtc.EventAdmitted).Data.(rtc.Snapshot)
	if snap.Self.State != rtc.StateJoined || len(snap.Participants) != 1 || snap.Participants[0].ID != alice.p.ID() {
		t.Fatalf("admitted snapshot %+v", snap)
	}
	alice.ev.waitFor(t, rtc.EventParticipantJoined)

	if _, err := alice.p.Room().Deny(alice.p, carol.p.ID()); err != nil {
		t.Fatal(err)
	}
	carol.ev.waitFor(t, rtc.EventDenied)
	<-carol.p.Left()
	if got := alice.p.Room().Waiting(); len(got) != 0 {
		t.Fatalf("waiting room after deny: %+v", got)
	}
	att, _ := e.meetings.Attendance(m.ID)
	if len(att) != 2 {
		t.Fatalf("attendance has %d records, want 2 (the denied one never joined)", len(att))
	}
}

func TestHostControlsNeedRank(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	if _, err := e.meetings.SetCoHosts(m.ID, []string{"carol"}); err != nil {
		t.Fatal(err)
	}
	alice := e.join(t, m.ID, "alice", false)
	bob := e.join(t, m.ID, "bob", false)
	carol := e.join(t, m.ID, "carol", false)
	room := alice.p.Room()

	_, err := room.Mute(bob.p, carol.p.ID(), rtc.SourceMicrophone, true)
	wantErr(t, err, rtc.ErrForbidden) // a member
	_, err = room.Mute(carol.p, alice.p.ID(), rtc.SourceMicrophone, true)
	wantErr(t, err, rtc.ErrForbidden) // a co-host on the host
	_, err = room.Remove(carol.p, alice.p.ID(), false)
	wantErr(t, err, rtc.ErrForbidden)
	_, err = room.Mute(alice.p, alice.p.ID(), rtc.SourceMicrophone, true)
	wantErr(t, err, rtc.ErrInvalid) // oneself
	_, err = room.SetCoHost(carol.p, bob.p.ID(), true)
	wantErr(t, err, rtc.ErrForbidden) // host only
	wantErr(t, room.End(carol.p), rtc.ErrForbidden)
	_, err = room.Mute(alice.p, "p_nobody", rtc.SourceMicrophone, true)
	wantErr(t, err, rtc.ErrNotFound)

	if _, err := room.Mute(carol.p, bob.p.ID(), rtc.SourceMicrophone, true); err != nil {
		t.Fatalf("co-host mutes a member: %v", err)
	}
	if _, err := room.SetCoHost(alice.p, bob.p.ID(), true); err != nil {
		t.Fatal(err)
	}
	up := carol.ev.waitMatch(t, rtc.EventParticipantUpdated, func(ev rtc.Event) bool {
		return ev.Data.(rtc.ParticipantInfo).ID == bob.p.ID()
	}).Data.(rtc.ParticipantInfo)
	if up.Role != rtc.RoleCoHost {
		t.Fatalf("bob's role after SetCoHost = %s", up.Role)
	}
	if bob.p.Role() != rtc.RoleCoHost {
		t.Fatal("role not applied to the participant")
	}

	if _, err := room.TransferHost(alice.p, bob.p.ID()); err != nil {
		t.Fatal(err)
	}
	if bob.p.Role() != rtc.RoleHost || alice.p.Role() != rtc.RoleMember {
		t.Fatalf("after transfer: bob %s, alice %s", bob.p.Role(), alice.p.Role())
	}
	rec, _ := e.meetings.Get(m.ID)
	if rec.HostID != "bob" {
		t.Fatalf("stored host %s", rec.HostID)
	}
}

func TestHostMuteBlocksUnmuteAndMuteOnEntry(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{MuteOnEntry: boolp(true)})
	alice := e.join(t, m.ID, "alice", false)
	bob := e.join(t, m.ID, "bob", false)
	if len(alice.snap.Self.Muted) != 0 {
		t.Fatalf("the host was muted on entry: %v", alice.snap.Self.Muted)
	}
	if !slices.Equal(bob.snap.Self.Muted, []rtc.Source{rtc.SourceMicrophone}) {
		t.Fatalf("bob not muted on entry: %v", bob.snap.Self.Muted)
	}
	if err := bob.p.SetMuted(rtc.SourceMicrophone, false); err != nil {
		t.Fatalf("unmute after mute on entry: %v", err)
	}

	room := alice.p.Room()
	if _, err := room.Mute(alice.p, bob.p.ID(), rtc.SourceMicrophone, false); err != nil {
		t.Fatal(err)
	}
	ev := bob.ev.waitMatch(t, rtc.EventMuted, func(ev rtc.Event) bool { return ev.Data.(rtc.MuteEvent).By != "" }).Data.(rtc.MuteEvent)
	if !ev.Muted || ev.AllowUnmute || ev.By != alice.p.ID() || ev.ParticipantID != bob.p.ID() {
		t.Fatalf("mute event %+v", ev)
	}
	wantErr(t, bob.p.SetMuted(rtc.SourceMicrophone, false), rtc.ErrForbidden)

	if _, err := room.Mute(alice.p, bob.p.ID(), rtc.SourceMicrophone, true); err != nil {
		t.Fatal(err)
	}
	if err := bob.p.SetMuted(rtc.SourceMicrophone, false); err != nil {
		t.Fatalf("unmute once allowed: %v", err)
	}

	n, err := room.MuteAll(alice.p, false)
	if err != nil || n != 1 {
		t.Fatalf("MuteAll = %d, %v; want 1 (hosts are spared)", n, err)
	}
	wantErr(t, bob.p.SetMuted(rtc.SourceMicrophone, false), rtc.ErrForbidden)
}

func TestRemoveAndBan(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.join(t, m.ID, "alice", false)
	bob := e.join(t, m.ID, "bob", false)
	carol := e.join(t, m.ID, "carol", false)
	room := alice.p.Room()

	if _, err := room.Remove(alice.p, bob.p.ID(), false); err != nil {
		t.Fatal(err)
	}
	r := bob.ev.waitFor(t, rtc.EventRemoved).Data.(rtc.RemovedEvent)
	if r.Banned || r.By != alice.p.ID() {
		t.Fatalf("removed event %+v", r)
	}
	e.join(t, m.ID, "bob", false) // not banned: may come back

	if _, err := room.Remove(alice.p, carol.p.ID(), true); err != nil {
		t.Fatal(err)
	}
	r = carol.ev.waitFor(t, rtc.EventRemoved).Data.(rtc.RemovedEvent)
	if !r.Banned || r.By != alice.p.ID() {
		t.Fatalf("ban event %+v", r)
	}
	_, err := e.tryJoin(m.ID, "carol", false)
	wantErr(t, err, rtc.ErrBanned)
	att, _ := e.meetings.Attendance(m.ID)
	removed := 0
	for _, a := range att {
		if a.LeaveReason == rtc.ReasonRemoved {
			removed++
		}
	}
	if removed != 2 {
		t.Fatalf("%d attendance records closed as removed, want 2: %+v", removed, att)
	}
}

func TestEndForAll(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{WaitingRoom: boolp(true)})
	alice := e.join(t, m.ID, "alice", false)
	bob := e.join(t, m.ID, "bob", false) // waiting
	if err := alice.p.Room().End(alice.p); err != nil {
		t.Fatal(err)
	}
	for _, who := range []*member{alice, bob} {
		ended := who.ev.waitFor(t, rtc.EventEnded).Data.(rtc.EndedEvent)
		if ended.By != alice.p.ID() || ended.Reason != rtc.ReasonEnded {
			t.Fatalf("ended event %+v", ended)
		}
	}
	if e.rooms.Room(m.ID) != nil {
		t.Fatal("room still open")
	}
	rec, _ := e.meetings.Get(m.ID)
	if rec.Status != meeting.StatusEnded {
		t.Fatalf("status %s", rec.Status)
	}
}

func TestDisconnectResumeAndGraceExpiry(t *testing.T) {
	e := newEnv(t, func(c *rtc.Config) { c.ReconnectGrace = 300 * time.Millisecond })
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.join(t, m.ID, "alice", false)
	bob := e.join(t, m.ID, "bob", false)

	// The sink refusing a frame is the connection going away.
	close(bob.ev.refuse)
	if err := bob.p.SetMuted(rtc.SourceCamera, true); err != nil {
		t.Fatal(err)
	}
	up := alice.ev.waitMatch(t, rtc.EventParticipantUpdated, func(ev rtc.Event) bool {
		return ev.Data.(rtc.ParticipantInfo).State == rtc.StateReconnecting
	}).Data.(rtc.ParticipantInfo)
	if up.ID != bob.p.ID() {
		t.Fatalf("reconnecting: %+v", up)
	}

	_, _, err := e.rooms.Resume(m.ID, bob.p.ID(), "wrong", rtc.Identity{ID: "bob"})
	wantErr(t, err, rtc.ErrResume)
	_, _, err = e.rooms.Resume(m.ID, bob.p.ID(), bob.snap.ResumeToken, rtc.Identity{ID: "mallory"})
	wantErr(t, err, rtc.ErrResume)
	p, snap, err := e.rooms.Resume(m.ID, bob.p.ID(), bob.snap.ResumeToken, rtc.Identity{ID: "bob"})
	if err != nil {
		t.Fatal(err)
	}
	if p != bob.p || snap.Self.State != rtc.StateJoined || !slices.Contains(snap.Self.Muted, rtc.SourceCamera) {
		t.Fatalf("resumed snapshot %+v", snap)
	}
	alice.ev.waitMatch(t, rtc.EventParticipantUpdated, func(ev rtc.Event) bool {
		return ev.Data.(rtc.ParticipantInfo).State == rtc.StateJoined
	})
	fresh := newEventLog()
	p.Attach(fresh)

	// Drop again and let the grace period run out.
	p.Disconnect(fresh)
	left := alice.ev.waitFor(t, rtc.EventParticipantLeft).Data.(rtc.LeftEvent)
	if left.ParticipantID != bob.p.ID() || left.Reason != rtc.ReasonDisconnected {
		t.Fatalf("left %+v", left)
	}
	_, _, err = e.rooms.Resume(m.ID, bob.p.ID(), bob.snap.ResumeToken, rtc.Identity{ID: "bob"})
	wantErr(t, err, rtc.ErrResume)
}

func TestSettingsChangesAreAnnounced(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{})
	alice := e.join(t, m.ID, "alice", false)
	bob := e.join(t, m.ID, "bob", false)
	_, err := alice.p.Room().SetScreenShare(bob.p, false)
	wantErr(t, err, rtc.ErrForbidden)
	if _, err := alice.p.Room().SetScreenShare(alice.p, false); err != nil {
		t.Fatal(err)
	}
	s := bob.ev.waitFor(t, rtc.EventSettings).Data.(meeting.Settings)
	if s.AllowScreenShare {
		t.Fatal("settings event still allows screen share")
	}
	// A change made outside the room (the REST API) reaches it by Refresh.
	if _, err := e.meetings.Update(m.ID, meeting.Patch{Settings: &meeting.SettingsPatch{Locked: boolp(true)}}); err != nil {
		t.Fatal(err)
	}
	if err := e.rooms.Refresh(m.ID); err != nil {
		t.Fatal(err)
	}
	if s := bob.ev.waitFor(t, rtc.EventSettings).Data.(meeting.Settings); !s.Locked {
		t.Fatal("refresh did not announce the lock")
	}
}

// stuckSink never returns from Send until released: a client whose
// connection has stopped taking frames.
type stuckSink struct {
	release chan struct{}
	lost    chan struct{}
	once    sync.Once
}

func (s *stuckSink) Send(rtc.Event) bool { <-s.release; return true }
func (s *stuckSink) Lost()               { s.once.Do(func() { close(s.lost) }) }

func TestSlowClientNeverStallsTheRoom(t *testing.T) {
	e := newEnv(t, func(c *rtc.Config) { c.EventQueue = 16 })
	m := e.meeting(t, "bob", meeting.SettingsPatch{WaitingRoom: boolp(true)})
	host, _, err := e.rooms.Join(m.ID, rtc.Identity{ID: "bob", Name: "Bob"}, rtc.JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stuck := &stuckSink{release: make(chan struct{}), lost: make(chan struct{})}
	defer close(stuck.release)
	host.Attach(stuck)

	// Each arrival in the waiting room is an event for the host; none of
	// the joins may wait for him.
	for i := range 40 {
		if _, err := e.tryJoin(m.ID, fmt.Sprintf("w%d", i), false); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-stuck.lost:
	case <-time.After(5 * time.Second):
		t.Fatal("the overflowing sink was not told it is lost")
	}
	if n := e.rooms.Stats().EventQueueOverflows; n < 1 {
		t.Fatalf("%d event queue overflows counted, want at least 1", n)
	}
	deadline := time.Now().Add(5 * time.Second)
	for host.State() != rtc.StateReconnecting {
		if time.Now().After(deadline) {
			t.Fatalf("the host is %s, want reconnecting", host.State())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestNoticeBeforeAttachIsDelivered: a participant denied between its
// join and the signaling layer attaching its sink still hears why.
func TestNoticeBeforeAttachIsDelivered(t *testing.T) {
	e := newEnv(t, nil)
	m := e.meeting(t, "alice", meeting.SettingsPatch{WaitingRoom: boolp(true)})
	alice := e.join(t, m.ID, "alice", false)
	p, _, err := e.rooms.Join(m.ID, rtc.Identity{ID: "bob", Name: "Bob"}, rtc.JoinOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := alice.p.Room().Deny(alice.p, p.ID()); err != nil {
		t.Fatal(err)
	}
	<-p.Left()
	time.Sleep(20 * time.Millisecond) // let the drain stop, as it would before a slow attach
	late := newEventLog()
	p.Attach(late)
	late.waitFor(t, rtc.EventDenied)
}

package meetingws_test

import (
	"context"
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/coder/websocket"
	"github.com/pion/webrtc/v3"

	"parley/chat/audit"
	"parley/sfu/meeting"
	"parley/sfu/rtc"
	"parley/signaling/auth"
	"parley/signaling/meetingws"
	"parley/signaling/ws"
)

func participantIs(id string, check func(rtc.ParticipantInfo) bool) func(json.RawMessage) bool {
	return func(raw json.RawMessage) bool {
		var p rtc.ParticipantInfo
		_ = json.Unmarshal(raw, &p)
		return p.ID == id && (check == nil || check(p))
	}
}

func TestRequestsBeforeJoiningAndJoinLeave(t *testing.T) {
	st := newStack(t, nil)
	alice := st.dial(t, st.member(t, "alice"))
	bob := st.dial(t, st.member(t, "bob"))
	m := st.meeting(t, "alice", meeting.SettingsPatch{})

	for _, typ := range []string{
		"meeting.leave", "meeting.publish", "meeting.offer", "meeting.unpublish", "meeting.subscriber_answer",
		"meeting.candidate", "meeting.subscribe", "meeting.unsubscribe", "meeting.mute", "meeting.host.mute",
		"meeting.host.mute_all", "meeting.host.remove", "meeting.host.lock", "meeting.host.waiting_room",
		"meeting.host.screen_share", "meeting.host.admit", "meeting.host.deny", "meeting.host.cohost",
		"meeting.host.transfer", "meeting.host.end",
	} {
		data := map[string]any{"sdp": "v=0", "tracks": []any{map[string]string{"mid": "0", "source": "microphone"}},
			"track_id": "t_1", "participant_id": "p_1", "target": "publisher", "locked": true, "enabled": true,
			"allowed": true, "cohost": true, "source": "microphone"}
		alice.fails(typ, data, "not_joined")
	}
	alice.fails("meeting.join", nil, "invalid_argument")
	alice.fails("meeting.join", map[string]any{"meeting_id": ""}, "invalid_argument")
	alice.fails("meeting.join", "not an object", "invalid_argument")
	alice.fails("meeting.join", map[string]any{"meeting_id": "NOSUCHMEETING"}, "not_found")

	var snap rtc.Snapshot
	alice.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &snap)
	if snap.Self.Role != rtc.RoleHost || snap.Self.UserID != "alice" || snap.Self.Name != "Alice" || snap.MeetingID != m.ID {
		t.Fatalf("joined %+v", snap)
	}
	alice.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "already_joined")

	var bobSnap rtc.Snapshot
	bob.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &bobSnap)
	alice.push("meeting.participant_joined", participantIs(bobSnap.Self.ID, nil))

	bob.call("meeting.leave", nil, "meeting.ok", nil)
	var left rtc.LeftEvent
	_ = json.Unmarshal(alice.push("meeting.participant_left", nil), &left)
	if left.ParticipantID != bobSnap.Self.ID || left.Reason != "left" {
		t.Fatalf("participant_left %+v", left)
	}
	bob.fails("meeting.mute", map[string]any{"source": "microphone", "muted": true}, "not_joined")
	bob.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &bobSnap) // the same socket joins again
}

func TestJoinAuthorization(t *testing.T) {
	st := newStack(t, nil)
	aliceTok := st.member(t, "alice")
	m := st.meeting(t, "alice", meeting.SettingsPatch{Locked: boolp(true), MaxParticipants: intp(2)})
	other := st.meeting(t, "alice", meeting.SettingsPatch{AllowGuests: boolp(true)})

	// Locked: the host may enter, a member may not.
	alice := st.join(t, aliceTok, m.ID)
	bob := st.dial(t, st.member(t, "bob"))
	bob.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "locked")
	alice.call("meeting.host.lock", map[string]any{"locked": false}, "meeting.ok", nil)

	// A member not invited may join with the id; a banned one may not.
	var snap rtc.Snapshot
	bob.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &snap)
	if snap.Self.Role != rtc.RoleMember {
		t.Fatalf("bob's role %s", snap.Self.Role)
	}
	if _, err := st.meetings.Ban(m.ID, "mallory"); err != nil {
		t.Fatal(err)
	}
	mallory := st.dial(t, st.member(t, "mallory"))
	mallory.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "banned")

	// Two participants at most.
	carol := st.dial(t, st.member(t, "carol"))
	carol.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "limit_reached")

	// Guests connect to the guest endpoint only, and only to their meeting.
	guestTok := st.guest(t, other.ID, "Visitor")
	if _, err := st.tryDial("/ws", guestTok); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a guest token opened /ws: %v", err)
	}
	if _, err := st.tryDial("/ws/meeting", aliceTok); err == nil || !strings.Contains(err.Error(), "401") {
		t.Fatalf("a member token opened the guest endpoint: %v", err)
	}
	guest := st.dialPath(t, "/ws/meeting", guestTok)
	guest.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "forbidden") // another meeting's token
	guest.fails("chat.send", map[string]any{"conversation_id": "x"}, "unknown_type")
	var gsnap rtc.Snapshot
	guest.call("meeting.join", map[string]any{"meeting_id": other.ID}, "meeting.joined", &gsnap)
	if gsnap.Self.Role != rtc.RoleGuest || gsnap.Self.Name != "Visitor" || !strings.HasPrefix(gsnap.Self.UserID, "guest:") {
		t.Fatalf("guest joined as %+v", gsnap.Self)
	}
	guest.fails("meeting.host.lock", map[string]any{"locked": true}, "forbidden")

	// A guest of a meeting that does not admit guests is refused.
	noGuests := st.dialPath(t, "/ws/meeting", st.guest(t, m.ID, "Visitor"))
	noGuests.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "forbidden")

	// An ended meeting admits nobody.
	alice.call("meeting.host.end", nil, "meeting.ok", nil)
	carol.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting_ended")
}

func TestWaitingRoomOverTheSocket(t *testing.T) {
	st := newStack(t, nil)
	m := st.meeting(t, "alice", meeting.SettingsPatch{WaitingRoom: boolp(true)})
	alice := st.join(t, st.member(t, "alice"), m.ID)
	bob := st.dial(t, st.member(t, "bob"))
	carol := st.dial(t, st.member(t, "carol"))

	var snap rtc.Snapshot
	bob.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &snap)
	if snap.Self.State != rtc.StateWaiting {
		t.Fatalf("bob is %s, want waiting", snap.Self.State)
	}
	bob.fails("meeting.publish", map[string]any{"sdp": "v=0", "tracks": []rtc.PublishTrack{{Mid: "0", Source: "microphone"}}}, "invalid_argument")
	alice.push("meeting.waiting_room", func(raw json.RawMessage) bool {
		var w rtc.WaitingRoomEvent
		_ = json.Unmarshal(raw, &w)
		return len(w.Waiting) == 1 && w.Waiting[0].ID == snap.Self.ID
	})
	bob.fails("meeting.host.admit", map[string]any{"participant_id": snap.Self.ID}, "bad_state")

	alice.call("meeting.host.admit", map[string]any{"participant_id": snap.Self.ID}, "meeting.ok", nil)
	var admitted rtc.Snapshot
	_ = json.Unmarshal(bob.push("meeting.admitted", nil), &admitted)
	if admitted.Self.State != rtc.StateJoined || len(admitted.Participants) != 1 {
		t.Fatalf("admitted %+v", admitted)
	}
	alice.push("meeting.participant_joined", participantIs(snap.Self.ID, nil))

	var csnap rtc.Snapshot
	carol.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &csnap)
	alice.call("meeting.host.deny", map[string]any{"participant_id": csnap.Self.ID}, "meeting.ok", nil)
	carol.push("meeting.denied", nil)
	carol.fails("meeting.leave", nil, "not_joined")
	if got := st.auditActions(t, m.ID); !slices.Equal(got, []string{"meeting.admit", "meeting.deny"}) {
		t.Fatalf("audit actions %v", got)
	}
}

func TestHostControlsOverTheSocket(t *testing.T) {
	st := newStack(t, nil)
	m := st.meeting(t, "alice", meeting.SettingsPatch{})
	alice := st.join(t, st.member(t, "alice"), m.ID)
	bob := st.join(t, st.member(t, "bob"), m.ID)
	carol := st.join(t, st.member(t, "carol"), m.ID)
	daveTok := st.member(t, "dave")
	bobID, carolID := bob.snap.Self.ID, carol.snap.Self.ID

	bob.fails("meeting.host.mute", map[string]any{"participant_id": carolID}, "forbidden")
	alice.fails("meeting.host.mute", map[string]any{"participant_id": "p_nobody"}, "not_found")
	alice.fails("meeting.host.mute", map[string]any{"participant_id": bobID, "source": "nose"}, "invalid_argument")

	alice.call("meeting.host.mute", map[string]any{"participant_id": bobID}, "meeting.ok", nil)
	var mute rtc.MuteEvent
	_ = json.Unmarshal(carol.push("meeting.muted", nil), &mute)
	if mute.ParticipantID != bobID || !mute.Muted || !mute.AllowUnmute || mute.By != alice.snap.Self.ID {
		t.Fatalf("muted %+v", mute)
	}
	bob.call("meeting.mute", map[string]any{"source": "microphone", "muted": false}, "meeting.ok", nil) // allowed
	var muted struct{ Muted int }
	alice.call("meeting.host.mute_all", map[string]any{"allow_unmute": false}, "meeting.ok", &muted)
	if muted.Muted != 2 {
		t.Fatalf("mute_all muted %d", muted.Muted)
	}
	bob.fails("meeting.mute", map[string]any{"source": "microphone", "muted": false}, "forbidden")

	alice.fails("meeting.host.lock", map[string]any{}, "invalid_argument")
	alice.call("meeting.host.lock", map[string]any{"locked": true}, "meeting.ok", nil)
	var settings meeting.Settings
	_ = json.Unmarshal(bob.push("meeting.settings", nil), &settings)
	if !settings.Locked {
		t.Fatal("settings push does not show the lock")
	}
	st.dial(t, daveTok).fails("meeting.join", map[string]any{"meeting_id": m.ID}, "locked")
	alice.call("meeting.host.waiting_room", map[string]any{"enabled": true}, "meeting.ok", nil)
	alice.call("meeting.host.screen_share", map[string]any{"allowed": false}, "meeting.ok", nil)
	rec, _ := st.meetings.Get(m.ID)
	if !rec.Settings.Locked || !rec.Settings.WaitingRoom || rec.Settings.AllowScreenShare {
		t.Fatalf("stored settings %+v", rec.Settings)
	}

	carol.fails("meeting.host.cohost", map[string]any{"participant_id": bobID, "cohost": true}, "forbidden")
	alice.call("meeting.host.cohost", map[string]any{"participant_id": bobID, "cohost": true}, "meeting.ok", nil)
	carol.push("meeting.participant_updated", participantIs(bobID, func(p rtc.ParticipantInfo) bool { return p.Role == rtc.RoleCoHost }))

	bob.call("meeting.host.remove", map[string]any{"participant_id": carolID, "ban": true}, "meeting.ok", nil)
	var removed rtc.RemovedEvent
	_ = json.Unmarshal(carol.push("meeting.removed", nil), &removed)
	if !removed.Banned || removed.By != bobID {
		t.Fatalf("removed %+v", removed)
	}
	carol.fails("meeting.join", map[string]any{"meeting_id": m.ID}, "banned")

	alice.call("meeting.host.transfer", map[string]any{"participant_id": bobID}, "meeting.ok", nil)
	alice.push("meeting.participant_updated", participantIs(bobID, func(p rtc.ParticipantInfo) bool { return p.Role == rtc.RoleHost }))
	alice.fails("meeting.host.end", nil, "forbidden") // no longer the host
	bob.call("meeting.host.end", nil, "meeting.ok", nil)
	var ended rtc.EndedEvent
	_ = json.Unmarshal(alice.push("meeting.ended", nil), &ended)
	if ended.By != bobID {
		t.Fatalf("ended %+v", ended)
	}

	want := []string{"meeting.mute", "meeting.mute_all", "meeting.lock", "meeting.waiting_room", "meeting.screen_share",
		"meeting.cohost", "meeting.remove", "meeting.transfer_host", "meeting.end"}
	if got := st.auditActions(t, m.ID); !slices.Equal(got, want) {
		t.Fatalf("audit actions\n got %v\nwant %v", got, want)
	}
	entries, _, _ := st.audit.Query(auditQuery(m.ID, "meeting.remove"))
	if len(entries) != 1 || entries[0].Actor != "bob" || !strings.Contains(string(entries[0].After), `"user_id":"carol"`) ||
		!strings.Contains(string(entries[0].After), `"ban":true`) {
		t.Fatalf("remove audit entry %+v", entries)
	}
}

func TestMediaRequestsAndLimits(t *testing.T) {
	_, audio := testClips(t)
	st := newStack(t, func(c *rtc.Config) { c.MaxTracksPerParticipant = 1 })
	m := st.meeting(t, "alice", meeting.SettingsPatch{AllowScreenShare: boolp(false)})
	alice := st.join(t, st.member(t, "alice"), m.ID)
	bob := &client{conn: st.dial(t, st.member(t, "bob"))}
	bob.call("meeting.join", map[string]any{"meeting_id": m.ID, "auto_subscribe": false}, "meeting.joined", &bob.snap)
	bob.media(t)

	alice.fails("meeting.publish", map[string]any{"sdp": ""}, "invalid_argument")
	alice.fails("meeting.publish", map[string]any{"sdp": "v=0\r\nnonsense", "tracks": []rtc.PublishTrack{{Mid: "0", Source: "microphone"}}}, "invalid_argument")
	alice.fails("meeting.offer", map[string]any{"sdp": ""}, "invalid_argument")
	alice.fails("meeting.subscriber_answer", map[string]any{"sdp": "v=0"}, "bad_state") // no offer out
	alice.fails("meeting.candidate", map[string]any{"target": "sideways", "candidate": map[string]any{"candidate": ""}}, "invalid_argument")

	mic := alice.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	var pub rtc.TrackInfo
	_ = json.Unmarshal(bob.push("meeting.track_published", nil), &pub)
	if pub.ID != mic.ID || pub.Source != rtc.SourceMicrophone || pub.ParticipantID != alice.snap.Self.ID {
		t.Fatalf("track_published %+v", pub)
	}

	// A second track passes the limit of one. (A browser rolls a refused
	// offer back; Pion cannot, so carol's connection is not used again.)
	carol := st.join(t, st.member(t, "carol"), m.ID)
	carol.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	cam := vp8Track("cam")
	carol.pub.Publish(cam)
	carol.fails("meeting.publish", map[string]any{"sdp": carol.pub.Offer(), "tracks": []rtc.PublishTrack{{Mid: midOf(t, carol.pub.PC, "cam"), Source: rtc.SourceCamera}}}, "limit_reached")

	// Bob picks the track himself; a trickled candidate has no reply.
	bob.fails("meeting.subscribe", map[string]any{"track_id": "t_nothing"}, "not_found")
	bob.fails("meeting.subscribe", map[string]any{"track_id": mic.ID, "layer": "ultra"}, "invalid_argument")
	bob.call("meeting.subscribe", map[string]any{"track_id": mic.ID, "layer": "low", "max_width": 320, "max_height": 180}, "meeting.ok", nil)
	r := bob.sub.NextTrack(15 * time.Second)
	if r.Track.ID() != mic.ID || !morePackets(r, 10, 15*time.Second) {
		t.Fatalf("bob receives %s", r.Track.ID())
	}
	bob.sendNoReply("meeting.candidate", map[string]any{"target": "subscriber", "candidate": map[string]any{"candidate": ""}})
	bob.call("meeting.unsubscribe", map[string]any{"track_id": mic.ID}, "meeting.ok", nil)
	bob.fails("meeting.unsubscribe", map[string]any{"track_id": mic.ID}, "not_found")

	// Bob may not share a screen; mutes and unpublishes are announced.
	screen := vp8Track("screen")
	bob.pub.Publish(screen)
	bob.fails("meeting.publish", map[string]any{"sdp": bob.pub.Offer(), "tracks": []rtc.PublishTrack{{Mid: midOf(t, bob.pub.PC, "screen"), Source: rtc.SourceScreenShare}}}, "forbidden")
	alice.fails("meeting.mute", map[string]any{"source": "nose", "muted": true}, "invalid_argument")
	alice.call("meeting.mute", map[string]any{"source": "microphone", "muted": true}, "meeting.ok", nil)
	bob.push("meeting.muted", func(raw json.RawMessage) bool {
		var e rtc.MuteEvent
		_ = json.Unmarshal(raw, &e)
		return e.ParticipantID == alice.snap.Self.ID && e.Muted && e.By == ""
	})
	alice.fails("meeting.unpublish", map[string]any{"track_id": "t_nothing"}, "not_found")
	alice.call("meeting.unpublish", map[string]any{"track_id": mic.ID}, "meeting.ok", nil)
	var un rtc.UnpublishedEvent
	_ = json.Unmarshal(bob.push("meeting.track_unpublished", nil), &un)
	if un.TrackID != mic.ID || un.Reason != "unpublished" {
		t.Fatalf("track_unpublished %+v", un)
	}
	// The client stops the transceiver and renegotiates with meeting.offer.
	for _, tr := range alice.pub.PC.GetTransceivers() {
		if tr.Sender() != nil && tr.Sender().Track() != nil && tr.Sender().Track().ID() == "mic" {
			if err := alice.pub.PC.RemoveTrack(tr.Sender()); err != nil {
				t.Fatal(err)
			}
		}
	}
	var answer struct{ SDP string }
	alice.call("meeting.offer", map[string]string{"sdp": alice.pub.Offer()}, "meeting.answer", &answer)
	if answer.SDP == "" || alice.pub.PC.SignalingState() != webrtc.SignalingStateHaveLocalOffer {
		t.Fatal("no answer to the renegotiation")
	}
	alice.pub.Accept(answer.SDP)
}

// sendNoReply sends a request that has no reply when it succeeds, and
// checks that none came (not even an error) by the time a ping returns.
func (k *conn) sendNoReply(typ string, data any) {
	k.t.Helper()
	id := "quiet-" + strconv.FormatInt(k.nextID.Add(1), 10)
	ch := make(chan ws.Message, 1)
	k.mu.Lock()
	k.pending[id] = ch
	k.mu.Unlock()
	raw, _ := json.Marshal(data)
	frame, _ := json.Marshal(ws.Message{Type: typ, ID: id, Data: raw})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := k.c.Write(ctx, websocket.MessageText, frame); err != nil {
		k.t.Fatal(err)
	}
	k.call("ping", nil, "pong", nil) // the server handles one socket's messages in order
	k.mu.Lock()
	_, waiting := k.pending[id]
	delete(k.pending, id)
	k.mu.Unlock()
	if !waiting {
		m := <-ch
		k.t.Fatalf("%s got a reply: %s %s", typ, m.Type, m.Data)
	}
}

func auditQuery(meetingID, action string) audit.Query {
	return audit.Query{TargetType: "meeting", TargetID: meetingID, Action: action}
}

// TestGuestResumesWithANewToken: a guest token expires within minutes and
// a new one carries a new guest id, so a guest resumes by its resume
// token; a member cannot take a guest's place with it.
func TestGuestResumesWithANewToken(t *testing.T) {
	st := newStack(t, nil)
	m := st.meeting(t, "alice", meeting.SettingsPatch{AllowGuests: boolp(true)})
	alice := st.join(t, st.member(t, "alice"), m.ID)
	first := st.dialPath(t, "/ws/meeting", st.guest(t, m.ID, "Visitor"))
	var snap rtc.Snapshot
	first.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &snap)
	first.c.CloseNow()
	alice.push("meeting.participant_updated", participantIs(snap.Self.ID, func(p rtc.ParticipantInfo) bool {
		return p.State == rtc.StateReconnecting
	}))

	resume := map[string]any{"meeting_id": m.ID, "participant_id": snap.Self.ID, "resume_token": snap.ResumeToken}
	st.dial(t, st.member(t, "bob")).fails("meeting.resume", resume, "resume_failed")
	again := st.dialPath(t, "/ws/meeting", st.guest(t, m.ID, "Visitor"))
	var back rtc.Snapshot
	again.call("meeting.resume", resume, "meeting.resumed", &back)
	if back.Self.ID != snap.Self.ID || back.Self.UserID != snap.Self.UserID || back.Self.State != rtc.StateJoined {
		t.Fatalf("resumed as %+v", back.Self)
	}
}

// TestGuestRenewsItsToken: a guest renews its token on the guest socket
// under the same guest id and extends the socket with it, for as long as
// the meeting would let it join.
func TestGuestRenewsItsToken(t *testing.T) {
	st := newStack(t, nil)
	m := st.meeting(t, "alice", meeting.SettingsPatch{AllowGuests: boolp(true)})
	alice := st.join(t, st.member(t, "alice"), m.ID)
	tok, err := st.auth.IssueGuest(auth.TokenScope{Kind: auth.ScopeKindMeeting, ID: m.ID}, "Visitor")
	if err != nil {
		t.Fatal(err)
	}
	guest := st.dialPath(t, meetingws.GuestPath, tok.AccessToken)
	var snap rtc.Snapshot
	guest.call("meeting.join", map[string]any{"meeting_id": m.ID}, "meeting.joined", &snap)

	var renewed auth.GuestToken
	guest.call("auth.renew", map[string]string{"access_token": tok.AccessToken}, "auth.renewed", &renewed)
	if renewed.GuestID != tok.GuestID || renewed.AccessToken == tok.AccessToken {
		t.Fatalf("renewed %+v", renewed)
	}
	guest.call("auth.refresh", map[string]string{"access_token": renewed.AccessToken}, "auth.refreshed", nil)
	// Still the same participant, still in the meeting.
	guest.call("meeting.mute", map[string]any{"source": "microphone", "muted": true}, "meeting.ok", nil)

	// Once the host bans the guest, its token is not renewed.
	alice.call("meeting.host.remove", map[string]any{"participant_id": snap.Self.ID, "ban": true}, "meeting.ok", nil)
	guest.fails("auth.renew", map[string]string{"access_token": renewed.AccessToken}, "forbidden")
}

// TestRecordControl: only a host or co-host starts and stops the
// recording; each is audited; a second start is bad_state.
func TestRecordControl(t *testing.T) {
	st := newStack(t, nil)
	m := st.meeting(t, "alice", meeting.SettingsPatch{})
	alice := st.join(t, st.member(t, "alice"), m.ID)
	bob := st.join(t, st.member(t, "bob"), m.ID)
	bob.fails("meeting.host.record", map[string]any{"recording": true}, "forbidden")
	alice.fails("meeting.host.record", map[string]any{}, "invalid_argument")
	alice.fails("meeting.host.record", map[string]any{"recording": false}, "bad_state")

	var started rtc.RecordingInfo
	alice.call("meeting.host.record", map[string]any{"recording": true}, "meeting.ok", &started)
	if started.ID == "" || started.State != rtc.RecordingStarting || started.By != alice.snap.Self.ID {
		t.Fatalf("started %+v", started)
	}
	alice.fails("meeting.host.record", map[string]any{"recording": true}, "bad_state")
	bob.fails("meeting.host.record", map[string]any{"recording": false}, "forbidden")
	var stopped rtc.RecordingInfo
	alice.call("meeting.host.record", map[string]any{"recording": false}, "meeting.ok", &stopped)
	if stopped.ID != started.ID || stopped.State != rtc.RecordingStopped {
		t.Fatalf("stopped %+v", stopped)
	}
	var ev rtc.RecordingEvent
	_ = json.Unmarshal(bob.push("meeting.recording", nil), &ev)
	if ev.ID != started.ID || ev.State != rtc.RecordingStopped || ev.Reason != rtc.RecordingReasonRequested || ev.By != alice.snap.Self.ID {
		t.Fatalf("meeting.recording %+v", ev)
	}
	if got := st.auditActions(t, m.ID); len(got) != 2 || got[0] != meetingws.ActionRecord || got[1] != meetingws.ActionRecord {
		t.Fatalf("audit actions %v", got)
	}
}

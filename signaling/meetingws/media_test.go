package meetingws_test

import (
	"encoding/json"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/pion/sdp/v3"
	"github.com/pion/webrtc/v3"

	"parley/sfu/mediatest"
	"parley/sfu/meeting"
	"parley/sfu/rtc"
)

// clips are small encoded clips, made once per test binary.
var clips struct {
	once         sync.Once
	video, audio mediatest.Clip
	err          error
}

func testClips(t *testing.T) (video, audio mediatest.Clip) {
	t.Helper()
	mediatest.RequireFFmpeg(t)
	clips.once.Do(func() {
		clips.video, clips.err = mediatest.EncodeVideo(mediatest.VideoSpec{
			MimeType: webrtc.MimeTypeVP8, Width: 160, Height: 120, FPS: 15, Duration: 2 * time.Second,
		})
		if clips.err == nil {
			clips.audio, clips.err = mediatest.EncodeAudio(2 * time.Second)
		}
	})
	if clips.err != nil {
		t.Fatal(clips.err)
	}
	return clips.video, clips.audio
}

// received waits for n tracks at a subscriber peer, by track id.
func received(t *testing.T, p *mediatest.Peer, n int) map[string]*mediatest.Received {
	t.Helper()
	out := map[string]*mediatest.Received{}
	for len(out) < n {
		r := p.NextTrack(15 * time.Second)
		out[r.Track.ID()] = r
	}
	return out
}

// morePackets waits until r has received n packets.
func morePackets(r *mediatest.Received, n int, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for len(r.Packets()) < n {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

func hasKeyframe(f []mediatest.ReceivedFrame) bool {
	return slices.ContainsFunc(f, func(x mediatest.ReceivedFrame) bool { return x.Keyframe })
}

func TestEveryoneReceivesEveryTrack(t *testing.T) {
	video, audio := testClips(t)
	st := newStack(t, nil)
	names := []string{"alice", "bob", "carol"}
	tokens := map[string]string{}
	for _, n := range names {
		tokens[n] = st.member(t, n)
	}
	m := st.meeting(t, "alice", meeting.SettingsPatch{})
	var clients []*client
	for _, n := range names {
		clients = append(clients, st.join(t, tokens[n], m.ID))
	}
	owner := map[string]string{} // track id → publisher's participant id
	for _, c := range clients {
		for _, tr := range []rtc.TrackInfo{
			c.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio),
			c.publish(t, rtc.SourceCamera, vp8Track("cam"), video),
		} {
			owner[tr.ID] = c.snap.Self.ID
		}
	}
	for _, c := range clients {
		got := received(t, c.sub, 4)
		for id, from := range owner {
			if from == c.snap.Self.ID {
				if got[id] != nil {
					t.Fatalf("%s receives its own track", from)
				}
				continue
			}
			r := got[id]
			if r == nil {
				t.Fatalf("%s did not receive track %s of %s", c.snap.Self.ID, id, from)
			}
			if r.Track.StreamID() != from {
				t.Fatalf("track %s arrived in stream %s, want %s", id, r.Track.StreamID(), from)
			}
			if r.Track.Kind() == webrtc.RTPCodecTypeVideo && !r.WaitFor(15*time.Second, hasKeyframe) {
				t.Fatalf("%s: no whole keyframe of %s", c.snap.Self.ID, id)
			}
			if !morePackets(r, 20, 15*time.Second) {
				t.Fatalf("%s: too few packets of %s", c.snap.Self.ID, id)
			}
		}
	}
}

func TestHostMuteStopsAudioReachingOthers(t *testing.T) {
	_, audio := testClips(t)
	st := newStack(t, nil)
	alice := st.join(t, st.member(t, "alice"), st.meeting(t, "alice", meeting.SettingsPatch{}).ID)
	meetingID := alice.snap.MeetingID
	bob := st.join(t, st.member(t, "bob"), meetingID)
	carol := st.join(t, st.member(t, "carol"), meetingID)
	mic := bob.publish(t, rtc.SourceMicrophone, opusTrack("mic"), audio)
	heard := []*mediatest.Received{received(t, alice.sub, 1)[mic.ID], received(t, carol.sub, 1)[mic.ID]}
	for _, r := range heard {
		if r == nil || !morePackets(r, 10, 15*time.Second) {
			t.Fatal("bob is not heard")
		}
	}

	alice.call("meeting.host.mute", map[string]any{"participant_id": bob.snap.Self.ID, "allow_unmute": false}, "meeting.ok", nil)
	var ev rtc.MuteEvent
	_ = json.Unmarshal(bob.push("meeting.muted", nil), &ev)
	if !ev.Muted || ev.AllowUnmute || ev.By != alice.snap.Self.ID || ev.Source != rtc.SourceMicrophone {
		t.Fatalf("meeting.muted %+v", ev)
	}
	time.Sleep(200 * time.Millisecond) // packets already on the wire land
	before := []int{len(heard[0].Packets()), len(heard[1].Packets())}
	time.Sleep(500 * time.Millisecond)
	for i, r := range heard {
		if n := len(r.Packets()); n != before[i] {
			t.Fatalf("%d packets of the muted microphone still arrived", n-before[i])
		}
	}
	bob.fails("meeting.mute", map[string]any{"source": "microphone", "muted": false}, "forbidden")
	if got := st.auditActions(t, meetingID); !slices.Contains(got, "meeting.mute") {
		t.Fatalf("audit actions %v", got)
	}
}

// iceUfrag reads the session's or first section's ice-ufrag.
func iceUfrag(t *testing.T, raw string) string {
	t.Helper()
	var d sdp.SessionDescription
	if err := d.UnmarshalString(raw); err != nil {
		t.Fatal(err)
	}
	if v, ok := d.Attribute("ice-ufrag"); ok {
		return v
	}
	v, _ := d.MediaDescriptions[0].Attribute("ice-ufrag")
	return v
}

func TestResumeAfterNetworkChangeRestartsICE(t *testing.T) {
	_, audio := testClips(t)
	st := newStack(t, nil)
	aliceToken, bobToken := st.member(t, "alice"), st.member(t, "bob")
	m := st.meeting(t, "alice", meeting.SettingsPatch{})
	alice := st.join(t, aliceToken, m.ID)
	bob := st.join(t, bobToken, m.ID)
	aliceMic := alice.publish(t, rtc.SourceMicrophone, opusTrack("amic"), audio)
	bobMic := bob.publish(t, rtc.SourceMicrophone, opusTrack("bmic"), audio)
	atAlice := received(t, alice.sub, 1)[bobMic.ID]
	atBob := received(t, bob.sub, 1)[aliceMic.ID]
	if atAlice == nil || atBob == nil || !morePackets(atAlice, 10, 15*time.Second) || !morePackets(atBob, 10, 15*time.Second) {
		t.Fatal("media does not flow before the drop")
	}
	oldSub := iceUfrag(t, bob.sub.PC.RemoteDescription().SDP)
	oldPub := iceUfrag(t, bob.pub.PC.RemoteDescription().SDP)

	// The network changes: the socket dies. Bob is kept, reconnecting.
	close(bob.stop)
	bob.c.CloseNow()
	isBob := func(state rtc.State) func(json.RawMessage) bool {
		return func(raw json.RawMessage) bool {
			var p rtc.ParticipantInfo
			_ = json.Unmarshal(raw, &p)
			return p.ID == bob.snap.Self.ID && p.State == state
		}
	}
	alice.push("meeting.participant_updated", isBob(rtc.StateReconnecting))

	// A new socket resumes the same participant within the grace period.
	k := st.dial(t, bobToken)
	k.fails("meeting.resume", map[string]any{"meeting_id": m.ID, "participant_id": bob.snap.Self.ID, "resume_token": "wrong"}, "resume_failed")
	var snap rtc.Snapshot
	k.call("meeting.resume", map[string]any{
		"meeting_id": m.ID, "participant_id": bob.snap.Self.ID, "resume_token": bob.snap.ResumeToken,
	}, "meeting.resumed", &snap)
	if snap.Self.ID != bob.snap.Self.ID || len(snap.Self.Tracks) != 1 || snap.Self.Tracks[0].ID != bobMic.ID {
		t.Fatalf("resumed as %+v", snap.Self)
	}
	if len(snap.Participants) != 1 || len(snap.Participants[0].Tracks) != 1 || !slices.Contains(snap.Subscriptions, aliceMic.ID) {
		t.Fatalf("resumed snapshot lost the room: %+v", snap)
	}
	bob.conn = k
	bob.media(t) // answers the server's ICE-restart offer on the new socket
	alice.push("meeting.participant_updated", isBob(rtc.StateJoined))

	// Bob restarts ICE on his publisher connection.
	offer, err := bob.pub.PC.CreateOffer(&webrtc.OfferOptions{ICERestart: true})
	if err != nil {
		t.Fatal(err)
	}
	gathered := webrtc.GatheringCompletePromise(bob.pub.PC)
	if err := bob.pub.PC.SetLocalDescription(offer); err != nil {
		t.Fatal(err)
	}
	<-gathered
	var answer struct{ SDP string }
	k.call("meeting.offer", map[string]string{"sdp": bob.pub.PC.LocalDescription().SDP}, "meeting.answer", &answer)
	bob.pub.Accept(answer.SDP)

	deadline := time.Now().Add(10 * time.Second)
	for iceUfrag(t, bob.sub.PC.RemoteDescription().SDP) == oldSub {
		if time.Now().After(deadline) {
			t.Fatal("the server did not restart ICE on the subscriber connection")
		}
		time.Sleep(20 * time.Millisecond)
	}
	if iceUfrag(t, answer.SDP) == oldPub {
		t.Fatal("the publisher answer kept the old ICE credentials")
	}
	bob.sub.WaitConnected(10 * time.Second)
	bob.pub.WaitConnected(10 * time.Second)
	if !morePackets(atAlice, len(atAlice.Packets())+20, 15*time.Second) {
		t.Fatal("bob's audio does not reach alice after the restart")
	}
	if !morePackets(atBob, len(atBob.Packets())+20, 15*time.Second) {
		t.Fatal("alice's audio does not reach bob after the restart")
	}
	for len(alice.pushes) > 0 {
		if m := <-alice.pushes; m.Type == "meeting.participant_left" {
			t.Fatalf("bob left during the resume: %s", m.Data)
		}
	}
}
